/**
 * Graceful shutdown of `sealcam cloud serve` (issue 11 item 5), the real CLI in a child process: on SIGTERM
 * it stops accepting, lets an upload in flight finish, closes the database and exits 0; an upload that does
 * not finish within --grace is cut, leaves nothing half-stored, and resumes on the next start.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { openStore } from "../../host-tools/cloud/store";
import { signRequest } from "../../firmware/core/request-auth";
import { cameraRequest, crypto, request, setUpAccount, startChildCloudCli, uploadClip, type Account, type ChildCloudCli, startTestCloud, testBlobStore, testDb, TEST_DB } from "./fixture";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-shutdown-"));

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Starts a camera-signed PUT of `body` and sends only its first `sent` bytes; `finish()` sends the rest. */
function slowPut(base: string, acct: Account, p: string, body: Uint8Array, sent: number) {
  const headers = signRequest(crypto, acct.camera.key, { cameraId: acct.camera.id, method: "PUT", path: p, body, timestamp: Date.now() });
  let req!: http.ClientRequest;
  const reply = new Promise<{ status: number; json: Record<string, unknown> }>((resolve, reject) => {
    req = http.request(base + p, { method: "PUT", headers: { ...headers, "content-length": body.length }, agent: false }, (res) => {
      let text = "";
      res.on("data", (d: Buffer) => (text += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on("error", reject);
  });
  req.write(body.subarray(0, sent));
  return { reply, nonce: headers["x-sealcam-nonce"], finish: () => req.end(body.subarray(sent)) };
}

async function until(what: string, condition: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 1000 && !(await condition()); i++) await new Promise((r) => setTimeout(r, 10));
  if (!(await condition())) throw new Error(`timed out waiting for ${what}`);
}

/**
 * The cloud is receiving the segment. Files body: the first bytes sent are in the clip's file after its
 * head. S3 body (a segment is put whole once received): the request's nonce is recorded, so its handler
 * checked the signature and is reading the body.
 */
async function uploadStarted(dataDir: string, clip: { clipId: string; head: Uint8Array }, nonce: string): Promise<boolean> {
  if (TEST_DB === "sqlite") {
    try {
      return fs.statSync(path.join(dataDir, "clips", clip.clipId, "clip")).size > clip.head.length;
    } catch {
      return false;
    }
  }
  const store = await openStore((await testDb(dataDir)) as string);
  try {
    return (await store.get("SELECT 1 AS one FROM nonces WHERE nonce = ?", [nonce])) !== undefined;
  } finally {
    await store.close();
  }
}

const logRecords = (cloud: ChildCloudCli) => cloud.stdout().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);

test("SIGTERM during a slow upload: no new connections, the upload completes (201), the process exits 0", async () => {
  const dataDir = path.join(tmp, "graceful");
  const cloud = await startChildCloudCli(["serve", "--port", "0", "--data", dataDir, "--log-level", "info"], tmp);
  const owner = await setUpAccount(cloud.url, tmp, "graceful@example.org", "cam-graceful");
  const clip = await uploadClip(cloud.url, owner, 1, Date.now, "head");
  const seg = clip.segments[0];
  const put = slowPut(cloud.url, owner, `/v1/clips/${clip.clipId}/segments/0`, seg, 1000);
  // The cloud has the request (its log says nothing yet: a line is written when a request ends).
  await until("the upload to start", () => uploadStarted(dataDir, clip, put.nonce));

  cloud.child.kill("SIGTERM");
  await until("the shutdown to begin", () => /SIGTERM: finishing requests in flight/.test(cloud.stderr()));
  await expect(request(cloud.url, "GET", "/v1/health")).rejects.toMatchObject({ code: "ECONNREFUSED" });
  put.finish();
  const reply = await put.reply;
  expect(reply).toEqual({ status: 201, json: { index: 0, stored: "new" } });
  expect(await cloud.exited).toBe(0);

  // Stored whole, and the log tells the story: the upload's line, then a clean stop with nothing cut.
  const store = await openStore((await testDb(dataDir)) ?? path.join(dataDir, "cloud.sqlite"));
  expect(await store.all("SELECT idx, length FROM clip_segments WHERE clip_id = ?", [clip.clipId])).toEqual([{ idx: 0, length: seg.length }]);
  await store.close();
  if (TEST_DB === "sqlite") {
    // An upload in progress is one file: the head, then each segment at its offset (written once, in place).
    expect(fs.readFileSync(path.join(dataDir, "clips", clip.clipId, "clip")).subarray(clip.head.length, clip.head.length + seg.length)).toEqual(Buffer.from(seg));
  } else {
    expect(await (await testBlobStore(dataDir)).storedSegments(clip.clipId, { headLength: clip.head.length, segmentSize: 4096 })).toEqual(new Map([[0, seg.length]]));
  }
  const records = logRecords(cloud);
  expect(records.find((r) => r.route === "/v1/clips/:id/segments/:n")).toMatchObject({ msg: "request", method: "PUT", status: 201, cameraId: "cam-graceful" });
  const msgs = records.map((r) => r.msg);
  expect(msgs.filter((m) => m !== "request")).toEqual(["listening", "shutting down", "stopped"]);
  expect(msgs.indexOf("shutting down")).toBeLessThan(msgs.findIndex((m, i) => m === "request" && records[i].status === 201 && records[i].route === "/v1/clips/:id/segments/:n"));
  expect(records.find((r) => r.msg === "shutting down")).toMatchObject({ inFlight: 1 });
  expect(records.find((r) => r.msg === "stopped")).toMatchObject({ cut: 0 });
});

test("an upload that outlasts --grace is cut: nothing half-stored, the process exits 0, the upload resumes after restart", async () => {
  const dataDir = path.join(tmp, "cut");
  const cloud = await startChildCloudCli(["serve", "--port", "0", "--data", dataDir, "--log-level", "info", "--grace", "1"], tmp);
  const owner = await setUpAccount(cloud.url, tmp, "cut@example.org", "cam-cut");
  const clip = await uploadClip(cloud.url, owner, 1, Date.now, "head");
  const put = slowPut(cloud.url, owner, `/v1/clips/${clip.clipId}/segments/0`, clip.segments[0], 1000);
  put.reply.catch(() => undefined); // the connection is cut: the camera sees a network error and retries later
  await until("the upload to start", () => uploadStarted(dataDir, clip, put.nonce));
  cloud.child.kill("SIGTERM");
  expect(await cloud.exited).toBe(0);
  await expect(put.reply).rejects.toThrow();
  const records = logRecords(cloud);
  expect(records.find((r) => r.msg === "stopped")).toMatchObject({ cut: 1 });
  expect(records.find((r) => r.route === "/v1/clips/:id/segments/:n")).toMatchObject({ msg: "request", status: 0, aborted: true, cameraId: "cam-cut" });
  if (TEST_DB === "sqlite") expect(fs.readdirSync(path.join(dataDir, "tmp"))).toEqual([]);

  // The next start: the status shows the head but no segment; the camera resumes and completes the clip.
  const again = await startTestCloud({ dataDir });
  try {
    const status = await cameraRequest(again.url, owner.camera, "GET", `/v1/clips/${clip.clipId}/status`);
    expect(status.json).toEqual({ clipId: clip.clipId, head: true, segments: [], complete: false });
    for (let i = 0; i < clip.segments.length; i++) expect((await cameraRequest(again.url, owner.camera, "PUT", `/v1/clips/${clip.clipId}/segments/${i}`, clip.segments[i])).status).toBe(201);
    const footer = await cameraRequest(again.url, owner.camera, "PUT", `/v1/clips/${clip.clipId}/footer?segments=${clip.segments.length}`, clip.footer);
    expect(footer.status).toBe(201);
  } finally {
    await again.close();
  }
});
