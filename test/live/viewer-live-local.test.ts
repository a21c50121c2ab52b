/**
 * `viewer live`'s own decisions before it asks the cloud (PROTOCOL §13.6): with no accepted share whose signed
 * scope covers this camera and `live` at the viewer's clock, it stops with a typed error and contacts nobody
 * (the cloud URL here is a closed port: any request would be E_NETWORK). The full path is live-share.test.ts.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { SealcamError } from "../../firmware/core/errors";
import type { StreamScope } from "../../firmware/core/stream-scope";
import { Viewer, type ViewerShare } from "../../host-tools/viewer/viewer";

const T0 = Date.UTC(2026, 10, 1, 12, 0, 0);
const T1 = Date.UTC(2026, 10, 8, 12, 0, 0);
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-viewer-live-"));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A viewer (closed-port cloud) holding shares with these scopes, whose clock reads `now`. */
function viewerWith(name: string, scopes: StreamScope[], now: number): Viewer {
  const home = path.join(dir, name);
  new Viewer(home).init("http://127.0.0.1:9");
  const state = JSON.parse(fs.readFileSync(path.join(home, "viewer.json"), "utf8"));
  state.account = { accountId: "acct-x", rootCertificate: "AA", rosterVersion: 1 };
  state.shares = scopes.map((scope, i): ViewerShare => ({ shareId: `share${i}`, accountId: "acct-x", streamCertificate: "AA", keyId: "00".repeat(32), scope, acceptedAt: i }));
  fs.writeFileSync(path.join(home, "viewer.json"), JSON.stringify(state), { mode: 0o600 });
  return new Viewer(home, undefined, () => now);
}

async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (error) {
    if (error instanceof SealcamError) return `${error.code}: ${error.message}`;
    throw error;
  }
  return "ok";
}

const scope = (over: Partial<StreamScope>): StreamScope => ({ cameras: ["cam-porch"], streams: ["live"], notBefore: T0, notAfter: T1, holder: "share:x", ...over });

test("no share with live for this camera: E_NO_RECIPIENT, nothing asked of the cloud", async () => {
  const v = viewerWith("video-only", [scope({ streams: ["video"] }), scope({ cameras: ["cam-garden"] })], T0 + 1000);
  expect(await outcome(v.live("cam-porch"))).toMatch(/^E_NO_RECIPIENT: none of this viewer's shares includes live view of camera cam-porch/);
});

test("a live share that ended: E_SHARE_EXPIRED; one that has not started: E_NO_RECIPIENT with its start", async () => {
  expect(await outcome(viewerWith("ended", [scope({})], T1).live("cam-porch"))).toMatch(/^E_SHARE_EXPIRED: share share0 ended at 2026-11-08T12:00:00.000Z/);
  expect(await outcome(viewerWith("early", [scope({})], T0 - 1).live("cam-porch"))).toMatch(/^E_NO_RECIPIENT: .*starts at 2026-11-01T12:00:00.000Z/);
});

test("a share in its window passes the local checks (it fails later, on this fake account); a bad camera id is E_ARGUMENT; no share at all E_STATE", async () => {
  // The stand-in account root here is not a certificate: the viewer got past its share checks to the account's.
  expect(await outcome(viewerWith("ok", [scope({ streams: ["video", "live"], cameras: [] })], T0).live("cam-porch"))).toMatch(/^E_FORMAT: der/);
  expect(await outcome(viewerWith("bad-id", [scope({})], T0).live("CAM porch"))).toMatch(/^E_ARGUMENT/);
  const fresh = new Viewer(path.join(dir, "fresh"));
  fresh.init("http://127.0.0.1:9");
  expect(await outcome(fresh.live("cam-porch"))).toMatch(/^E_STATE/);
});
