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
import type { S3BlobStore } from "../../host-tools/cloud/blobs-s3";
import type { BlobStore } from "../../host-tools/cloud/blobs";
import { ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { request, setUpAccount, uploadClip, type Account, startTestCloud, storedOf, testBlobs, testBlobStore } from "./fixture";

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
/** The cloud's blob store as an operator sees it (stays open while the cloud restarts). */
let blobs: BlobStore;

const start = (port?: number) => startTestCloud({ dataDir, now, sweepIntervalMs: 0, port });

beforeAll(async () => {
  cloud = await start();
  blobs = await testBlobStore(dataDir);
  owner = await setUpAccount(cloud.url, tmp, "keeper@example.org", "cam-keeper", now);
  other = await setUpAccount(cloud.url, tmp, "other@example.org", "cam-other", now);
});

afterAll(async () => {
  await cloud?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const listed = async (acct: Account) => ((await request(cloud.url, "GET", "/v1/clips", { token: acct.token })).json.clips as { clipId: string }[]).map((c) => c.clipId);
const rows = async (id: string) => ((await cloud.store.get("SELECT (SELECT COUNT(*) FROM clips WHERE clip_id = ?) + (SELECT COUNT(*) FROM clip_segments WHERE clip_id = ?) AS n", [id, id])) as { n: number }).n;
const filesOf = (id: string) => storedOf(blobs, id);
const upload = (acct: Account, parts: "all" | "head" = "all") => uploadClip(cloud.url, acct, sequence++, now, parts);
const signInOnly = async (acct: Account) => (await request(cloud.url, "POST", "/v1/sessions", { body: JSON.stringify(acct.creds) })).json.token as string;

async function restart(): Promise<void> {
  const port = cloud.port;
  await cloud.close();
  cloud = await start(port); // the same address, so the phones' saved cloud URL still holds
}

test("DELETE /v1/clips/:id: an enrolled phone deletes its clip — gone from the list, download and head 404, files and rows gone", async () => {
  const clip = await upload(owner);
  expect(await filesOf(clip.clipId)).toEqual([`${clip.clipId}.sealed`]);
  const r = await request(cloud.url, "DELETE", `/v1/clips/${clip.clipId}`, { token: owner.token });
  expect(r.status).toBe(200);
  expect(r.json).toEqual({ deleted: clip.clipId });
  expect(await listed(owner)).not.toContain(clip.clipId);
  expect((await request(cloud.url, "GET", `/v1/clips/${clip.clipId}`, { token: owner.token })).status).toBe(404);
  expect((await request(cloud.url, "GET", `/v1/clips/${clip.clipId}/head`, { token: owner.token })).status).toBe(404);
  expect(await filesOf(clip.clipId)).toEqual([]);
  expect(await rows(clip.clipId)).toBe(0);
  expect((await request(cloud.url, "DELETE", `/v1/clips/${clip.clipId}`, { token: owner.token })).status).toBe(404);
});

test("an upload in progress can be deleted: its parts and segment rows go too", async () => {
  const clip = await upload(owner, "head");
  expect(await filesOf(clip.clipId)).toEqual([clip.clipId]);
  expect((await request(cloud.url, "DELETE", `/v1/clips/${clip.clipId}`, { token: owner.token })).status).toBe(200);
  expect(await filesOf(clip.clipId)).toEqual([]);
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
  expect(await filesOf(clip.clipId)).toEqual([`${clip.clipId}.sealed`]);
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
  expect(await filesOf(clip.clipId)).toEqual([]);
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
  expect(await filesOf(clip.clipId)).toEqual([`${clip.clipId}.sealed`]);
  expect(await filesOf(partial.clipId)).toEqual([partial.clipId]);
  await restart();
  expect(await filesOf(clip.clipId)).toEqual([]);
  expect(await filesOf(partial.clipId)).toEqual([]);
  expect((await rows(clip.clipId)) + (await rows(partial.clipId))).toBe(0);
});

async function uploadClipHeadAgain(clip: { clipId: string; head: Uint8Array }): Promise<number> {
  const { cameraRequest } = await import("./fixture");
  return (await cameraRequest(cloud.url, owner.camera, "PUT", `/v1/clips/${clip.clipId}/head`, clip.head, now())).status;
}

test("crash after the files were removed (row still tombstoned): the next start removes the row", async () => {
  const clip = await upload(owner);
  await tombstoneClips(cloud.store, [clip.clipId], now());
  await blobs.deleteClip(clip.clipId);
  await restart();
  expect(await rows(clip.clipId)).toBe(0);
});

test("crash between the store's finalize and the complete mark: not listed, kept by the sweeper, the footer sent again completes it", async () => {
  const { cameraRequest } = await import("./fixture");
  const clip = await upload(owner, "head");
  for (let i = 0; i < clip.segments.length; i++) {
    expect((await cameraRequest(cloud.url, owner.camera, "PUT", `/v1/clips/${clip.clipId}/segments/${i}`, clip.segments[i], now())).status).toBe(201);
  }
  // The node that received the footer finalized the clip in the store, then died before its row said so.
  const row = (await cloud.store.get("SELECT head_sha256, head_length, segment_size FROM clips WHERE clip_id = ?", [clip.clipId])) as { head_sha256: string; head_length: number; segment_size: number };
  const segments = (await cloud.store.all("SELECT idx, length, sha256 FROM clip_segments WHERE clip_id = ? ORDER BY idx", [clip.clipId])) as { idx: number; length: number; sha256: string }[];
  const finalized = await blobs.finalize(clip.clipId, {
    headLength: row.head_length, segmentSize: row.segment_size, headSha256: row.head_sha256,
    segments: segments.map((s) => ({ index: s.idx, length: s.length, sha256: s.sha256 })), footer: clip.footer,
  });
  expect(finalized.stored).toBe("new");
  await restart();
  // Not complete for anyone; the complete object under an uploading row is no orphan, even past the grace.
  const listedClip = ((await request(cloud.url, "GET", "/v1/clips", { token: owner.token })).json.clips as { clipId: string; complete: boolean }[]).find((c) => c.clipId === clip.clipId);
  expect(listedClip).toMatchObject({ complete: false });
  expect((await request(cloud.url, "GET", `/v1/clips/${clip.clipId}`, { token: owner.token })).status).toBe(404);
  clockOffset += 11 * 60_000;
  expect((await cloud.sweep()).orphans).toBe(0);
  expect(await filesOf(clip.clipId)).toEqual([`${clip.clipId}.sealed`]);
  // The camera re-sends its footer (it never had an answer): the store answers "already", the row is marked.
  const footer = await cameraRequest(cloud.url, owner.camera, "PUT", `/v1/clips/${clip.clipId}/footer?segments=${clip.segments.length}`, clip.footer, now());
  const size = clip.head.length + clip.segments.reduce((n, s) => n + s.length, 0) + clip.footer.length;
  expect([footer.status, footer.json]).toEqual([201, { clipId: clip.clipId, complete: true, size }]);
  // Listed complete, and it downloads and opens whole (head, every segment and the footer verified).
  expect(((await request(cloud.url, "GET", "/v1/clips", { token: owner.token })).json.clips as { clipId: string; complete: boolean }[]).find((c) => c.clipId === clip.clipId)).toMatchObject({ complete: true });
  const opened = await owner.phone.open(clip.clipId, path.join(tmp, "crash-finalize.frames"));
  expect(opened.clipId).toBe(clip.clipId);
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
  expect(await filesOf(old.clipId)).toEqual([]);
  expect(await rows(old.clipId)).toBe(0);
  expect(await listed(other)).toContain(othersOld.clipId);
  expect(await filesOf(othersOld.clipId)).toEqual([`${othersOld.clipId}.sealed`]);
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
  expect(await filesOf(clip.clipId)).toEqual([clip.clipId]);
  clockOffset += 1 * DAY + 60_000;
  expect(await cloud.sweep()).toMatchObject({ stale: 1 });
  expect(await filesOf(clip.clipId)).toEqual([]);
  expect(await rows(clip.clipId)).toBe(0);
});

test("orphans: bodies with no row (and a complete clip's leftover parts) are removed once past the grace period; nothing else", async () => {
  // The clock back to real time: the S3 store dates its objects by its own (real) clock.
  clockOffset = 0;
  const clip = await upload(owner);
  const ghost = "0123456789abcdef0123456789abcdef";
  const ghostDir = "fedcba9876543210fedcba9876543210";
  if (cloud.blobs.kind === "files") {
    fs.writeFileSync(path.join(clipsDir, `${ghost}.sealed`), "ciphertext nobody knows");
    fs.mkdirSync(path.join(clipsDir, ghostDir));
    fs.writeFileSync(path.join(clipsDir, ghostDir, "head"), "x");
    fs.mkdirSync(path.join(clipsDir, clip.clipId)); // a crash between assembling the clip and removing its parts
    fs.writeFileSync(path.join(clipsDir, clip.clipId, "seg-0"), "x");
    fs.writeFileSync(path.join(clipsDir, ".tmp-1-abcdef"), "x");
    fs.writeFileSync(path.join(dataDir, "tmp", "up-1-abcdef"), "x");
    fs.writeFileSync(path.join(clipsDir, "NOTES.txt"), "an operator's file");
    // Dated "now" on the cloud's clock (as if just written).
    const t = now() / 1000;
    for (const p of [`${ghost}.sealed`, ghostDir, clip.clipId, ".tmp-1-abcdef", "NOTES.txt"]) fs.utimesSync(path.join(clipsDir, p), t, t);
    fs.utimesSync(path.join(dataDir, "tmp", "up-1-abcdef"), t, t);
  } else {
    // The same cases as objects: a complete clip and an upload with no row, a complete clip's leftover
    // segment object, and an object of another shape.
    const [, bucket, prefix] = /^s3:\/\/([^/]+)\/(.+)$/.exec((await testBlobs(dataDir)).blobs as string)!;
    const client = (cloud.blobs as S3BlobStore).client;
    for (const key of [`clips/${ghost}.sealed`, `uploads/${ghostDir}/head`, `uploads/${clip.clipId}/seg-0000000000`, "NOTES.txt"]) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}/${key}`, Body: Buffer.from("x") }));
    }
  }
  // Within the grace period (10 minutes by default) nothing is touched.
  expect((await cloud.sweep()).orphans).toBe(0);
  clockOffset += 11 * 60_000;
  if (cloud.blobs.kind === "files") {
    expect(await cloud.sweep()).toEqual({ finished: 0, expired: 0, stale: 0, orphans: 5 });
    const left = fs.readdirSync(clipsDir);
    for (const gone of [`${ghost}.sealed`, ghostDir, clip.clipId, ".tmp-1-abcdef"]) expect(left).not.toContain(gone);
    expect(left).toEqual(expect.arrayContaining([`${clip.clipId}.sealed`, "NOTES.txt"]));
    expect(fs.readdirSync(path.join(dataDir, "tmp"))).toEqual([]);
  } else {
    expect(await cloud.sweep()).toEqual({ finished: 0, expired: 0, stale: 0, orphans: 3 });
    const [, bucket, prefix] = /^s3:\/\/([^/]+)\/(.+)$/.exec((await testBlobs(dataDir)).blobs as string)!;
    const listing = await (cloud.blobs as S3BlobStore).client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/` }));
    const left = (listing.Contents ?? []).map((o) => (o.Key as string).slice(prefix.length + 1));
    for (const gone of [`clips/${ghost}.sealed`, `uploads/${ghostDir}/head`, `uploads/${clip.clipId}/seg-0000000000`]) expect(left).not.toContain(gone);
    expect(left).toEqual(expect.arrayContaining([`clips/${clip.clipId}.sealed`, "NOTES.txt"]));
  }
  // The real clip still downloads whole.
  const r = await request(cloud.url, "GET", `/v1/clips/${clip.clipId}`, { token: owner.token });
  expect(r.status).toBe(200);
});
