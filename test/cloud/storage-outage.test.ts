/**
 * A blob-store outage is retryable: with the object store unreachable, camera uploads and downloads are
 * answered 503 E_STORAGE with a Retry-After (the camera's uplink retries any 5xx), and nothing is recorded
 * (the row of a segment is written only after the store has its bytes).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startS3rver, type S3rverHandle } from "../helpers/s3rver";
import { STORAGE_RETRY_AFTER } from "../../host-tools/cloud/http-util";
import type { CloudServer } from "../../host-tools/cloud/server";
import { cameraRequest, request, setUpAccount, startTestCloud, uploadClip } from "./fixture";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-outage-"));
let s3: S3rverHandle;
let cloud: CloudServer;

beforeAll(async () => {
  s3 = await startS3rver();
  process.env.AWS_ACCESS_KEY_ID = s3.storeOptions.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = s3.storeOptions.credentials.secretAccessKey;
  cloud = await startTestCloud({ dataDir: path.join(tmp, "data"), blobs: `s3://${s3.bucket}/outage`, s3Endpoint: s3.endpoint });
});

afterAll(async () => {
  await cloud?.close();
  await s3?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test("the object store down: 503 E_STORAGE with Retry-After for uploads and downloads, nothing recorded", async () => {
  const owner = await setUpAccount(cloud.url, tmp, "outage@example.org", "cam-outage");
  const done = await uploadClip(cloud.url, owner, 1);
  const clip = await uploadClip(cloud.url, owner, 2, Date.now, "head");
  await s3.stop();
  const seg = await cameraRequest(cloud.url, owner.camera, "PUT", `/v1/clips/${clip.clipId}/segments/0`, clip.segments[0]);
  expect([seg.status, seg.json.code, seg.headers["retry-after"]]).toEqual([503, "E_STORAGE", String(STORAGE_RETRY_AFTER)]);
  expect(seg.json.message).toMatch(/object store/);
  const status = await cameraRequest(cloud.url, owner.camera, "GET", `/v1/clips/${clip.clipId}/status`);
  expect(status.json).toEqual({ clipId: clip.clipId, head: true, segments: [], complete: false });
  const download = await request(cloud.url, "GET", `/v1/clips/${done.clipId}`, { token: owner.token });
  expect([download.status, download.json.code, download.headers["retry-after"]]).toEqual([503, "E_STORAGE", String(STORAGE_RETRY_AFTER)]);
});
