/**
 * Deleting clips and retention (issue 11 item 5): DELETE /v1/clips/:id by an enrolled phone only (a
 * sign-in-only session is refused, another account's clip is 404), files and rows gone; `phone delete` by
 * a unique prefix; a delete interrupted after its tombstone (or after its files) is finished at the next
 * start; the retention sweep removes exactly the clips past their account's retention (by upload time, the
 * cloud's clock, injected here); uploads never completed are removed after 7 days; files no row accounts for
 * are removed once past the grace period, and nothing else is touched.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { CloudServer } from "../../host-tools/cloud/server";
import { tombstoneClips } from "../../host-tools/cloud/retention";
import { main as phoneMain } from "../../host-tools/phone/cli";
import { request, setUpAccount, uploadClip, type Account, startTestCloud } from "./fixture";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-retention-"));
const dataDir = path.join(tmp, "data");
const clipsDir = path.join(dataDir, "clips");
let clockOffset = 0;
const now = () => Date.now() + clockOffset;
const DAY = 24 * 3600 * 1000;
let cloud: CloudServer;
let owner: Account;
let other: Account;
let sequence = 1;

const start = (port?: number) => startTestCloud({ dataDir, now, sweepIntervalMs: 0, port });

beforeAll(async () => {
  cloud = await start();
  owner = await setUpAccount(cloud.url, tmp, "keeper@example.org", "cam-keeper", now);
  other = await setUpAccount(cloud.url, tmp, "other@example.org", "cam-other", now);
});

afterAll(async () => {
  await cloud?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const listed = async (acct: Account) => ((await request(cloud.url, "GET", "/v1/clips", { token: acct.token })).json.clips as { clipId: string }[]).map((c) => c.clipId);
const rows = async (id: string) => ((await cloud.store.get("SELECT (SELECT COUNT(*) FROM clips WHERE clip_id = ?) + (SELECT COUNT(*) FROM clip_segments WHERE clip_id = ?) AS n", [id, id])) as { n: number }).n;
const filesOf = (id: string) => fs.readdirSync(clipsDir).filter((n) => n.startsWith(id));
const upload = (acct: Account, parts: "all" | "head" = "all") => uploadClip(cloud.url, acct, sequence++, now, parts);
const signInOnly = async (acct: Account) => (await request(cloud.url, "POST", "/v1/sessions", { body: JSON.stringify(acct.creds) })).json.token as string;

async function restart(): Promise<void> {
  const port = cloud.port;
  await cloud.close();
  cloud = await start(port); // the same address, so the phones' saved cloud URL still holds
}

test("DELETE /v1/clips/:id: an enrolled phone deletes its clip — gone from the list, download and head 404, files and rows gone", async () => {
  const clip = await upload(owner);
  expect(filesOf(clip.clipId)).toEqual([`${clip.clipId}.sealed`]);
  const r = await request(cloud.url, "DELETE", `/v1/clips/${clip.clipId}`, { token: owner.token });
  expect(r.status).toBe(200);
  expect(r.json).toEqual({ deleted: clip.clipId });
  expect(await listed(owner)).not.toContain(clip.clipId);
  expect((await request(cloud.url, "GET", `/v1/clips/${clip.clipId}`, { token: owner.token })).status).toBe(404);
  expect((await request(cloud.url, "GET", `/v1/clips/${clip.clipId}/head`, { token: owner.token })).status).toBe(404);
  expect(filesOf(clip.clipId)).toEqual([]);
  expect(await rows(clip.clipId)).toBe(0);
  expect((await request(cloud.url, "DELETE", `/v1/clips/${clip.clipId}`, { token: owner.token })).status).toBe(404);
});

test("an upload in progress can be deleted: its parts and segment rows go too", async () => {
  const clip = await upload(owner, "head");
  expect(filesOf(clip.clipId)).toEqual([clip.clipId]);
  expect((await request(cloud.url, "DELETE", `/v1/clips/${clip.clipId}`, { token: owner.token })).status).toBe(200);
  expect(filesOf(clip.clipId)).toEqual([]);
  expect(await rows(clip.clipId)).toBe(0);
});

test("a sign-in-only session (no enrolled phone) may not delete; another account's clip is 404; nothing changes", async () => {
  const clip = await upload(owner);
  const token = await signInOnly(owner);
  const refused = await request(cloud.url, "DELETE", `/v1/clips/${clip.clipId}`, { token });
  expect(refused.status).toBe(403);
  expect(refused.json).toEqual({ code: "E_AUTH", message: "only an enrolled phone may delete clips" });
  const foreign = await request(cloud.url, "DELETE", `/v1/clips/${clip.clipId}`, { token: other.token });
  expect(foreign.status).toBe(404);
  expect(foreign.json.code).toBe("E_NOT_FOUND");
  expect((await request(cloud.url, "DELETE", `/v1/clips/not-an-id`, { token: owner.token })).status).toBe(400);
  expect((await request(cloud.url, "DELETE", `/v1/clips/${clip.clipId}`, {})).status).toBe(401);
  expect(await listed(owner)).toContain(clip.clipId);
  expect(filesOf(clip.clipId)).toEqual([`${clip.clipId}.sealed`]);
  expect((await request(cloud.url, "DELETE", `/v1/clips/${clip.clipId}`, { token: owner.token })).status).toBe(200);
});

test("phone delete: by a unique prefix with --yes; without --yes and no terminal nothing is deleted", async () => {
  const clip = await upload(owner);
  const argv = ["--home", owner.phone.home, "--cloud", cloud.url];
  const write = jest.spyOn(process.stdout, "write").mockImplementation(() => true);
  try {
    expect(await phoneMain(["delete", clip.clipId.slice(0, 10), ...argv])).toBe(1);
    expect(await listed(owner)).toContain(clip.clipId);
    expect(await phoneMain(["delete", clip.clipId.slice(0, 10) + "...", "--yes", ...argv])).toBe(0);
    expect(write.mock.calls.map((c) => String(c[0])).join("")).toContain(`Deleted clip ${clip.clipId} from the cloud.`);
  } finally {
    write.mockRestore();
  }
  expect(await listed(owner)).not.toContain(clip.clipId);
  expect(filesOf(clip.clipId)).toEqual([]);
  await expect(owner.phone.deleteClip(clip.clipId.slice(0, 10))).rejects.toMatchObject({ code: "E_NOT_FOUND" });
});

test("crash after the tombstone: the clip is already invisible, and the next start removes its files and rows", async () => {
  const clip = await upload(owner);
  const partial = await upload(owner, "head");
  // Step 1 of a delete only, then the process stops (close: no further step runs).
  await tombstoneClips(cloud.store, [clip.clipId, partial.clipId], now());
  expect(await listed(owner)).not.toContain(clip.clipId);
  expect((await request(cloud.url, "GET", `/v1/clips/${clip.clipId}`, { token: owner.token })).status).toBe(404);
  // A camera re-sending the head of a clip being deleted is refused, not a 500.
  await expect(uploadClipHeadAgain(partial)).resolves.toBe(409);
  await cloud.close();
  expect(filesOf(clip.clipId)).toEqual([`${clip.clipId}.sealed`]);
  expect(filesOf(partial.clipId)).toEqual([partial.clipId]);
  await restart();
  expect(filesOf(clip.clipId)).toEqual([]);
  expect(filesOf(partial.clipId)).toEqual([]);
  expect((await rows(clip.clipId)) + (await rows(partial.clipId))).toBe(0);
});

async function uploadClipHeadAgain(clip: { clipId: string; head: Uint8Array }): Promise<number> {
  const { cameraRequest } = await import("./fixture");
  return (await cameraRequest(cloud.url, owner.camera, "PUT", `/v1/clips/${clip.clipId}/head`, clip.head, now())).status;
}

test("crash after the files were removed (row still tombstoned): the next start removes the row", async () => {
  const clip = await upload(owner);
  await tombstoneClips(cloud.store, [clip.clipId], now());
  fs.rmSync(path.join(clipsDir, `${clip.clipId}.sealed`));
  await restart();
  expect(await rows(clip.clipId)).toBe(0);
});

test("retention: set by an enrolled phone only, validated, and the sweep removes exactly the clips uploaded longer ago", async () => {
  // Start from a clean slate of this account's clips.
  for (const id of await listed(owner)) expect((await request(cloud.url, "DELETE", `/v1/clips/${id}`, { token: owner.token })).status).toBe(200);
  const old = await upload(owner);
  const othersOld = await upload(other);
  clockOffset += 2 * DAY;
  const young = await upload(owner);

  const token = await signInOnly(owner);
  expect((await request(cloud.url, "PUT", "/v1/account/retention", { token, body: JSON.stringify({ days: 3 }) })).status).toBe(403);
  for (const bad of [{ days: 0 }, { days: 1.5 }, { days: "3" }, { days: 3651 }, {}, { days: 3, extra: 1 }]) {
    const r = await request(cloud.url, "PUT", "/v1/account/retention", { token: owner.token, body: JSON.stringify(bad) });
    expect([r.status, r.json.code]).toEqual([400, "E_FORMAT"]);
  }
  expect((await request(cloud.url, "GET", "/v1/account", { token: owner.token })).json.retentionDays).toBeNull();
  const set = await request(cloud.url, "PUT", "/v1/account/retention", { token: owner.token, body: JSON.stringify({ days: 3 }) });
  expect(set.status).toBe(200);
  expect(set.json).toEqual({ retentionDays: 3, deleted: 0 });
  expect(await owner.phone.retention()).toBe(3);

  // 1.5 days later the old clip (3.5 days) is past 3 days; the young one (1.5) is not; the other account keeps everything.
  clockOffset += 1.5 * DAY;
  expect(await cloud.sweep()).toEqual({ finished: 0, expired: 1, stale: 0, orphans: 0 });
  expect(await listed(owner)).toEqual([young.clipId]);
  expect(filesOf(old.clipId)).toEqual([]);
  expect(await rows(old.clipId)).toBe(0);
  expect(await listed(other)).toContain(othersOld.clipId);
  expect(filesOf(othersOld.clipId)).toEqual([`${othersOld.clipId}.sealed`]);
  expect(await cloud.sweep()).toEqual({ finished: 0, expired: 0, stale: 0, orphans: 0 });

  // Shortening it to 1 day deletes the young clip (1.5 days) at once; off keeps everything from then on.
  expect(await owner.phone.setRetention(1)).toEqual({ retentionDays: 1, deleted: 1 });
  expect(await listed(owner)).toEqual([]);
  expect(await owner.phone.setRetention(null)).toEqual({ retentionDays: null, deleted: 0 });
  const kept = await upload(owner);
  clockOffset += 10 * DAY;
  expect((await cloud.sweep()).expired).toBe(0);
  expect(await listed(owner)).toContain(kept.clipId);
});

test("uploads never completed are removed 7 days after their head arrived", async () => {
  const clip = await upload(owner, "head");
  clockOffset += 6 * DAY;
  expect((await cloud.sweep()).stale).toBe(0);
  expect(filesOf(clip.clipId)).toEqual([clip.clipId]);
  clockOffset += 1 * DAY + 60_000;
  expect(await cloud.sweep()).toMatchObject({ stale: 1 });
  expect(filesOf(clip.clipId)).toEqual([]);
  expect(await rows(clip.clipId)).toBe(0);
});

test("orphans: files with no row (and a complete clip's leftover parts) are removed once past the grace period; nothing else", async () => {
  const clip = await upload(owner);
  const ghost = "0123456789abcdef0123456789abcdef";
  const ghostDir = "fedcba9876543210fedcba9876543210";
  fs.writeFileSync(path.join(clipsDir, `${ghost}.sealed`), "ciphertext nobody knows");
  fs.mkdirSync(path.join(clipsDir, ghostDir));
  fs.writeFileSync(path.join(clipsDir, ghostDir, "head"), "x");
  fs.mkdirSync(path.join(clipsDir, clip.clipId)); // a crash between assembling the clip and removing its parts
  fs.writeFileSync(path.join(clipsDir, clip.clipId, "seg-0"), "x");
  fs.writeFileSync(path.join(clipsDir, ".tmp-1-abcdef"), "x");
  fs.writeFileSync(path.join(dataDir, "tmp", "up-1-abcdef"), "x");
  fs.writeFileSync(path.join(clipsDir, "NOTES.txt"), "an operator's file");
  // The cloud's clock runs days ahead here: date the files "now" on it (as if just written).
  const t = now() / 1000;
  for (const p of [`${ghost}.sealed`, ghostDir, clip.clipId, ".tmp-1-abcdef", "NOTES.txt"]) fs.utimesSync(path.join(clipsDir, p), t, t);
  fs.utimesSync(path.join(dataDir, "tmp", "up-1-abcdef"), t, t);
  // Within the grace period (10 minutes by default) nothing is touched.
  expect((await cloud.sweep()).orphans).toBe(0);
  clockOffset += 11 * 60_000;
  expect(await cloud.sweep()).toEqual({ finished: 0, expired: 0, stale: 0, orphans: 5 });
  const left = fs.readdirSync(clipsDir);
  for (const gone of [`${ghost}.sealed`, ghostDir, clip.clipId, ".tmp-1-abcdef"]) expect(left).not.toContain(gone);
  expect(left).toEqual(expect.arrayContaining([`${clip.clipId}.sealed`, "NOTES.txt"]));
  expect(fs.readdirSync(path.join(dataDir, "tmp"))).toEqual([]);
  // The real clip still downloads whole.
  const r = await request(cloud.url, "GET", `/v1/clips/${clip.clipId}`, { token: owner.token });
  expect(r.status).toBe(200);
});
