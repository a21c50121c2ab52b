/**
 * Issue 12's "done when": one timeline, the camera firmware in XS on two simulated boards, the real cloud, the
 * owner's phone and six other holders, then a table — clip by clip, holder by holder — of who can open what,
 * expected against actual (PROTOCOL §14.5, §14.10–§14.12):
 *
 *   A0 B0  recorded before any share
 *   ---    a DSK (vDsk: camera A video), the cloud's snapshot grant, pool "family" with p1 (key k1)
 *   A1 B1
 *   ---    p2 joins the pool: k2 to p1 and p2, k1 revoked in the same roster; a TDSK (vTdsk: camera A video,
 *          a window of a few seconds)
 *   A2     inside the TDSK's window
 *   ---    the DSK revoked; p1 removed from the pool (k3 to p2 only, k2 revoked); the cloud's grant revoked;
 *          the TDSK's window ends (real time: the camera's clock decides)
 *   A3
 *   ---    share-clip A1 as a token (vClip)
 *
 * Every holder tries every clip from the sealed file (the ciphertext in hand; the cloud's serving is tested in
 * share-e2e and share-clip), and the snapshot of A1 (another stream). vDsk also replays its (revoked) share
 * envelope: E_SHARE_REVOKED, nothing stored. The cloud's rows are its timeline: an image only where its
 * snapshot key was wrapped.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fromBase64Url } from "../../firmware/core/bytes";
import type { SimulatedBoard } from "../../host-tools/board-sim/simulator";
import { shareWithCloud, timeline } from "../../host-tools/phone/cloud-features";
import type { VerifiedClip } from "../../host-tools/phone/phone";
import { addPoolMember, createShare, removePoolMember, revokeShare, shareClip } from "../../host-tools/phone/share";
import { Viewer } from "../../host-tools/viewer/viewer";
import { World } from "../board-sim/harness";

const world = new World();
let tmp: string;
let camA: SimulatedBoard;
let camB: SimulatedBoard;
let camAId = "";
let camBId = "";
const counts = new Map<string, number>();
const CONFIG = {
  clipMs: 600, preRollMs: 0, sensor: { width: 160, height: 120, quality: 20, framesPerSecond: 5 },
  snapshot: { enabled: true, width: 80, height: 60, quality: 25 }, uploadRetryMs: 200, uploadRetryMaxMs: 500, handshakeTimeoutMs: 5000,
};

async function record(board: SimulatedBoard, cameraId: string): Promise<VerifiedClip> {
  await world.record(board);
  const n = (counts.get(cameraId) ?? 0) + 1;
  counts.set(cameraId, n);
  const clips = await world.clips(cameraId, n);
  return clips[clips.length - 1] as VerifiedClip;
}

async function refresh(): Promise<void> {
  expect(await camA.command("roster refresh")).toBe("roster: refreshed");
  expect(await camB.command("roster refresh")).toBe("roster: refreshed");
}

/** The sealed object as the owner downloads it: the ciphertext a holder may have in hand. */
async function sealedFile(id: string): Promise<string> {
  const file = path.join(tmp, `${id}.sealed`);
  const res = await fetch(`${world.cloudUrl}/v1/clips/${id}`, { headers: { authorization: `Bearer ${world.phoneA.state().token}` } });
  if (res.status !== 200) throw new Error(`download ${id}: ${res.status}`);
  fs.writeFileSync(file, Buffer.from(await res.arrayBuffer()));
  return file;
}

/** "ok" when the holder opens it (nothing is kept), else its error code; nothing is left behind on refusal. */
async function attempt(open: (out: string) => Promise<unknown>): Promise<string> {
  const out = path.join(tmp, `attempt-${Math.random().toString(16).slice(2)}.plain`);
  try {
    await open(out);
    fs.rmSync(out, { force: true });
    return "ok";
  } catch (error) {
    if (fs.existsSync(out)) return "LEFT A FILE BEHIND";
    return (error as { code?: string }).code ?? String(error);
  }
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-timeline-"));
  await world.start();
  camA = await world.board("cam-timeline-a", { firmwareConfig: CONFIG });
  camAId = (await world.enrolled(camA)).cameraId;
  camB = await world.board("cam-timeline-b", { firmwareConfig: CONFIG });
  camBId = (await world.enrolled(camB)).cameraId;
}, 90000);
afterAll(async () => {
  await world.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test("who can open what, clip by clip and holder by holder, across shares granted, expired, revoked, rotated and one clip shared", async () => {
  const viewer = (name: string) => {
    const v = new Viewer(path.join(tmp, name));
    return { v, invite: v.init(world.cloudUrl).invite };
  };
  const vDsk = viewer("v-dsk");
  const vTdsk = viewer("v-tdsk");
  const p1 = viewer("p1");
  const p2 = viewer("p2");
  const vClip = viewer("v-clip");

  // Before any share.
  const A0 = await record(camA, camAId);
  const B0 = await record(camB, camBId);

  // A DSK, the cloud's snapshot grant, pool "family" with p1.
  const dsk = await createShare(world.phoneA, { invite: vDsk.invite, cameras: [camAId], streams: ["video"], notAfter: null });
  await shareWithCloud(world.phoneA, { cameras: [], streams: ["snapshot"], notAfter: null });
  await addPoolMember(world.phoneA, "family", p1.invite, { cameras: [camAId], streams: ["video"] });
  await refresh();
  // vDsk keeps a copy of its envelope (to replay it later) before accepting.
  const mailboxPath = `/v1/mailbox/${vDsk.v.address()}`;
  const waiting = (await (await fetch(world.cloudUrl + mailboxPath, { headers: await vDsk.v.proofHeaders("GET", mailboxPath) })).json()) as { messages: { envelope: string }[] };
  const dskEnvelope = fromBase64Url(waiting.messages[0].envelope);
  expect((await vDsk.v.accept()).accepted.map((s) => s.shareId)).toEqual([dsk.shareId]);
  expect((await p1.v.accept()).accepted).toHaveLength(1);

  const A1 = await record(camA, camAId);
  const B1 = await record(camB, camBId);

  // p2 joins: one roster version with k2 (to p1 and p2) and without k1.
  const versionBefore = world.phoneA.state().rosterVersion;
  const joined = await addPoolMember(world.phoneA, "family", p2.invite, { cameras: [camAId], streams: ["video"] });
  expect(joined.rosterVersion).toBe(versionBefore + 1);
  expect(joined.pool.members).toHaveLength(2);
  expect((await p1.v.accept()).accepted).toHaveLength(1);
  expect((await p2.v.accept()).accepted).toHaveLength(1);

  // A TDSK whose window opens on the next whole second and lasts 8 s (the camera's clock decides).
  const notBefore = Math.ceil((Date.now() + 1) / 1000) * 1000;
  const notAfter = notBefore + 8000;
  const tdsk = await createShare(world.phoneA, { invite: vTdsk.invite, cameras: [camAId], streams: ["video"], notBefore, notAfter });
  await refresh();
  expect((await vTdsk.v.accept()).accepted.map((s) => s.shareId)).toEqual([tdsk.shareId]);
  while (Date.now() <= notBefore) await new Promise((r) => setTimeout(r, 50));
  const A2 = await record(camA, camAId);

  // Revocations and a rotation without p1; the TDSK's window ends.
  await revokeShare(world.phoneA, dsk.shareId);
  const removed = await removePoolMember(world.phoneA, "family", p1.v.invite().fingerprint);
  expect(removed.pool!.members).toHaveLength(1);
  expect((await p2.v.accept()).accepted).toHaveLength(1);
  expect((await p1.v.accept()).accepted).toEqual([]); // nothing new for the removed member
  await revokeShare(world.phoneA, "cloud");
  await refresh();
  while (Date.now() <= notAfter) await new Promise((r) => setTimeout(r, 100));
  const A3 = await record(camA, camAId);

  // The timeline's premises, from the camera-signed capture times.
  expect({ A1: A1.startTime < notBefore, A2in: A2.startTime >= notBefore && A2.startTime < notAfter, A3after: A3.startTime >= notAfter })
    .toEqual({ A1: true, A2in: true, A3after: true });

  // One clip shared on its own, as a bearer token.
  const token = (await shareClip(world.phoneA, { clip: A1.clipId, notAfter: Date.now() + 3600_000 })).token!;
  await vClip.v.acceptToken(token);

  // A replayed, revoked share envelope: refused, nothing stored.
  const before = fs.readFileSync(vDsk.v.statePath, "utf8");
  await expect(vDsk.v.acceptShare(dskEnvelope)).rejects.toMatchObject({ code: "E_SHARE_REVOKED" });
  expect(fs.readFileSync(vDsk.v.statePath, "utf8")).toBe(before);

  const S1 = A1.snapshot!.snapshotId;
  const columns: [string, string][] = [["A0", A0.clipId], ["B0", B0.clipId], ["A1", A1.clipId], ["B1", B1.clipId], ["A2", A2.clipId], ["A3", A3.clipId], ["A1 snapshot", S1]];
  const files = new Map<string, string>();
  for (const [, id] of columns) files.set(id, await sealedFile(id));

  const NR = "E_NO_RECIPIENT";
  const expected: Record<string, Record<string, string>> = {
    //               before any share      the DSK, cloud, k1       TDSK window, k2      after revocations   another stream
    owner: { A0: "ok", B0: "ok", A1: "ok", B1: "ok", A2: "ok", A3: "ok", "A1 snapshot": "ok" },
    "vDsk (A video, revoked before A3)": { A0: NR, B0: NR, A1: "ok", B1: NR, A2: "ok", A3: "E_SHARE_REVOKED", "A1 snapshot": NR },
    "vTdsk (A video, A2's window)": { A0: NR, B0: NR, A1: NR, B1: NR, A2: "ok", A3: "E_SHARE_EXPIRED", "A1 snapshot": NR },
    "p1 (pool k1, k2; removed before A3)": { A0: NR, B0: NR, A1: "ok", B1: NR, A2: "ok", A3: "E_SHARE_REVOKED", "A1 snapshot": NR },
    "p2 (pool k2, k3; joined after A1)": { A0: NR, B0: NR, A1: NR, B1: NR, A2: "ok", A3: "ok", "A1 snapshot": NR },
    "vClip (token for A1)": { A0: NR, B0: NR, A1: "ok", B1: NR, A2: NR, A3: NR, "A1 snapshot": NR },
  };
  const holders: [string, (id: string, file: string, out: string) => Promise<unknown>][] = [
    ["owner", (id, _file, out) => world.phoneA.open(id, out)],
    ["vDsk (A video, revoked before A3)", (_id, file, out) => vDsk.v.open(file, out)],
    ["vTdsk (A video, A2's window)", (_id, file, out) => vTdsk.v.open(file, out)],
    ["p1 (pool k1, k2; removed before A3)", (_id, file, out) => p1.v.open(file, out)],
    ["p2 (pool k2, k3; joined after A1)", (_id, file, out) => p2.v.open(file, out)],
    ["vClip (token for A1)", (_id, file, out) => vClip.v.open(file, out)],
  ];
  const actual: Record<string, Record<string, string>> = {};
  for (const [holder, open] of holders) {
    actual[holder] = {};
    for (const [name, id] of columns) actual[holder][name] = await attempt((out) => open(id, files.get(id)!, out));
  }

  // ---- The cloud as a snapshot holder (helper A's snapshot key, PROTOCOL §14.11): its timeline shows an image
  // exactly for the snapshots wrapped to its key — granted after A0/B0, revoked before A3. It never holds video.
  const events = (await timeline(world.phoneA)).events;
  const cloudRow: Record<string, string> = {};
  for (const [name, id] of columns.slice(0, 6)) {
    const e = events.find((x) => x.clipId === id);
    cloudRow[name] = e ? (e.image ? "ok" : "no image") : "no event";
  }
  actual["cloud (snapshot grant after B0, revoked before A3)"] = cloudRow;
  expected["cloud (snapshot grant after B0, revoked before A3)"] = { A0: "no image", B0: "no image", A1: "ok", B1: "ok", A2: "ok", A3: "no image" };
  // ---- end of the cloud rows.

  expect(actual).toEqual(expected);
}, 150000);
