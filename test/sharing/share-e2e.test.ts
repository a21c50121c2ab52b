/**
 * Sharing end to end (PROTOCOL §14.8–14.10) with the camera firmware in XS: the owner shares camera A's video
 * with a viewer through the cloud mailbox; the camera refreshes its roster and wraps the next clip to the
 * share's stream key; the viewer accepts, lists and opens exactly that. A clip from before the share and a
 * second camera's clip are not the viewer's (E_NO_RECIPIENT); after revocation the next clip is not, the earlier
 * one still is. Envelopes tampered, addressed to another viewer or signed by another account are refused with
 * their own codes and change nothing; a replayed proof is refused.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fromBase64Url, toBase64Url } from "../../firmware/core/bytes";
import type { SimulatedBoard } from "../../host-tools/board-sim/simulator";
import { Phone } from "../../host-tools/phone/phone";
import { createShare, listShares, revokeShare } from "../../host-tools/phone/share";
import { Viewer } from "../../host-tools/viewer/viewer";
import { World } from "../board-sim/harness";
import { clipRecorder } from "../helpers/next-clip";

const world = new World();
let camA: SimulatedBoard;
let camB: SimulatedBoard;
let camAId = "";
let camBId = "";
let tmp: string;

const recordClip = clipRecorder(world);
async function nextClip(board: SimulatedBoard, cameraId: string): Promise<string> {
  return (await recordClip(board, cameraId)).clipId;
}

async function mailbox(viewer: Viewer, headers: Record<string, string> = {}): Promise<Response> {
  const p = `/v1/mailbox/${viewer.address()}`;
  return fetch(world.cloudUrl + p, { headers: Object.keys(headers).length ? headers : await viewer.proofHeaders("GET", p) });
}

async function post(phone: Phone, to: string, envelope: Uint8Array): Promise<{ status: number; code: string }> {
  const res = await fetch(`${world.cloudUrl}/v1/mailbox`, {
    method: "POST", headers: { authorization: `Bearer ${phone.state().token}`, "content-type": "application/json" },
    body: JSON.stringify({ to, envelope: toBase64Url(envelope) }),
  });
  return { status: res.status, code: ((await res.json()) as { code?: string }).code ?? "" };
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-share-"));
  await world.start();
  camA = await world.board("cam-share-a");
  camAId = (await world.enrolled(camA)).cameraId;
  camB = await world.board("cam-share-b");
  camBId = (await world.enrolled(camB)).cameraId;
}, 60000);
afterAll(async () => {
  await world.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test("share camera A's video with a viewer: who opens what, before and after revocation", async () => {
  const viewer = new Viewer(path.join(tmp, "viewer"));
  const { invite, fingerprint } = viewer.init(world.cloudUrl);
  expect(invite).toMatch(/^SEALCAM-INVITE:1:[A-Za-z0-9_-]+$/);
  expect(fingerprint).toMatch(/^[0-9a-f]{4}( [0-9a-f]{4}){4}$/);
  expect(fs.statSync(viewer.keystorePath).mode & 0o777).toBe(0o600);

  const before = await nextClip(camA, camAId);
  const shared = await createShare(world.phoneA, { invite, cameras: [camAId], streams: ["video"], notAfter: null });
  expect(shared.viewerFingerprint).toBe(fingerprint);
  const listed = await listShares(world.phoneA);
  expect(listed.map((s) => s.shareId)).toEqual([shared.shareId]);
  expect(await camA.command("roster refresh")).toBe("roster: refreshed");
  expect(await camB.command("roster refresh")).toBe("roster: refreshed");

  const accepted = await viewer.accept();
  expect(accepted.refused).toEqual([]);
  expect(accepted.accepted.map((s) => s.shareId)).toEqual([shared.shareId]);
  expect(accepted.pinnedNow).toBe(true);
  expect(fs.statSync(viewer.keystorePath).mode & 0o777).toBe(0o600);

  const during = await nextClip(camA, camAId);
  const other = await nextClip(camB, camBId);
  const list = await viewer.clips();
  expect(list.refused).toEqual([]);
  expect(list.clips.map((c) => c.clipId)).toEqual([during]);
  const opened = await viewer.open(during, undefined, path.join(tmp, "frames-during"));
  expect(opened.frames).toBeGreaterThan(0);
  expect(opened.shareId).toBe(shared.shareId);
  await expect(viewer.open(before, path.join(tmp, "x"))).rejects.toMatchObject({ code: "E_NO_RECIPIENT" });
  await expect(viewer.open(other, path.join(tmp, "x"))).rejects.toMatchObject({ code: "E_NO_RECIPIENT" });
  expect(fs.existsSync(path.join(tmp, "x"))).toBe(false);

  // Revocation: the next clip is not wrapped to the share; the shared one still opens.
  await revokeShare(world.phoneA, shared.shareId);
  expect(await listShares(world.phoneA)).toEqual([]);
  expect(await camA.command("roster refresh")).toBe("roster: refreshed");
  const after = await nextClip(camA, camAId);
  await expect(viewer.open(after, path.join(tmp, "x"))).rejects.toMatchObject({ code: "E_SHARE_REVOKED" });
  // Handed the sealed file itself, the viewer tells why from the signed head: the share covers it, but was revoked.
  const file = path.join(tmp, "after.sealed");
  fs.writeFileSync(file, await (await fetch(`${world.cloudUrl}/v1/clips/${after}`, { headers: { authorization: `Bearer ${world.phoneA.state().token}` } })).arrayBuffer().then((b) => Buffer.from(b)));
  await expect(viewer.open(file, path.join(tmp, "x"))).rejects.toMatchObject({ code: "E_SHARE_REVOKED" });
  expect((await viewer.open(during, path.join(tmp, "during.plain"))).bytes).toBeGreaterThan(0);
  expect((await viewer.clips()).clips.map((c) => c.clipId)).toEqual([during]);
}, 90000);

test("mailbox: tampered, misaddressed and foreign envelopes are refused with their own codes; nothing changes", async () => {
  const viewer = new Viewer(path.join(tmp, "viewer2"));
  const { invite } = viewer.init(world.cloudUrl);
  const bystander = new Viewer(path.join(tmp, "bystander"));
  bystander.init(world.cloudUrl);

  // A second account with its own signing key.
  const phoneB = new Phone({ home: path.join(tmp, "phone-b"), cloud: world.cloudUrl });
  await phoneB.enroll({ email: "other@example.com", password: "another long password" }, "phone-b");

  const good = await createShare(world.phoneA, { invite, cameras: [camAId], streams: ["video"], notAfter: null });
  const [message] = ((await (await mailbox(viewer)).json()) as { messages: { envelope: string }[] }).messages;
  const envelope = fromBase64Url(message.envelope);

  // Addressed to someone else: the cloud refuses it when `to` differs; the viewer refuses it when posted to its box by hand.
  expect(await post(world.phoneA, bystander.address(), envelope)).toEqual({ status: 400, code: "E_MISADDRESSED" });
  expect(() => bystander.acceptEnvelope(envelope)).toThrow(expect.objectContaining({ code: "E_MISADDRESSED" }));
  // Tampered: one byte of the ciphertext flipped. The cloud and the viewer both see the signature fail.
  const text = new TextDecoder().decode(envelope);
  const ct = /"ct":"([^"]+)"/.exec(text)![1];
  const flipped = ct.slice(0, 5) + (ct[5] === "A" ? "B" : "A") + ct.slice(6);
  const tampered = new TextEncoder().encode(text.replace(ct, flipped));
  expect(await post(world.phoneA, viewer.address(), tampered)).toEqual({ status: 400, code: "E_SIGNATURE" });
  expect(() => viewer.acceptEnvelope(tampered)).toThrow(expect.objectContaining({ code: "E_SIGNATURE" }));
  expect(viewer.state().shares).toEqual([]);
  expect(viewer.state().account).toBeNull();

  // The real one is accepted (pins account A), then a share from account B is refused.
  const accepted = await viewer.accept();
  expect(accepted.accepted.map((s) => s.shareId)).toEqual([good.shareId]);
  await createShare(phoneB, { invite, cameras: [], streams: ["video"], notAfter: null });
  const stateBefore = fs.readFileSync(viewer.statePath, "utf8");
  const keysBefore = fs.readFileSync(viewer.keystorePath, "utf8");
  const second = await viewer.accept();
  expect(second.accepted).toEqual([]);
  expect(second.refused.map((r) => r.code)).toEqual(["E_FOREIGN_ACCOUNT"]);
  expect(fs.readFileSync(viewer.statePath, "utf8")).toBe(stateBefore);
  expect(fs.readFileSync(viewer.keystorePath, "utf8")).toBe(keysBefore);
  // Account A's phone cannot post an envelope signed by account B.
  const foreign = ((await (await mailbox(viewer)).json()) as { messages: { envelope: string }[] }).messages[0].envelope;
  expect(await post(world.phoneA, viewer.address(), fromBase64Url(foreign))).toEqual({ status: 403, code: "E_FOREIGN_ACCOUNT" });

  // Proofs: a replayed one, one made with another key, none at all.
  const headers = await viewer.proofHeaders("GET", `/v1/mailbox/${viewer.address()}`);
  expect((await mailbox(viewer, headers)).status).toBe(200);
  const replay = await mailbox(viewer, headers);
  expect({ status: replay.status, code: ((await replay.json()) as { code: string }).code }).toEqual({ status: 401, code: "E_REPLAY" });
  const stolen = await bystander.proofHeaders("GET", `/v1/mailbox/${viewer.address()}`);
  const wrong = await mailbox(viewer, stolen);
  expect({ status: wrong.status, code: ((await wrong.json()) as { code: string }).code }).toEqual({ status: 401, code: "E_AUTH" });
  const none = await fetch(`${world.cloudUrl}/v1/shared/${viewer.address()}/clips`);
  expect({ status: none.status, code: ((await none.json()) as { code: string }).code }).toEqual({ status: 401, code: "E_AUTH" });

  await revokeShare(world.phoneA, good.shareId);
}, 60000);
