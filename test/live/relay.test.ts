/**
 * The cloud's live-view relay (host-tools/cloud/live.ts) on a real cloud: camera upgrades authenticated from
 * signed headers before the 101, phone upgrades from the bearer session, opaque bytes relayed both ways,
 * clean ends from either side, per-camera limits, nothing for cameras of other accounts.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import WebSocket from "ws";
import { toBase64Url } from "../../firmware/core/bytes";
import { signRequest } from "../../firmware/core/request-auth";
import { startCloud, type CloudServer } from "../../host-tools/cloud/server";
import { ENVELOPE_CLOSE, ENVELOPE_DATA, ENVELOPE_OPEN } from "../../host-tools/cloud/live";
import { crypto, setUpAccount, type Account } from "../cloud/fixture";

let dir: string;
let cloud: CloudServer;
let acct: Account;
const open: WebSocket[] = [];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-live-relay-"));
  cloud = await startCloud({ dataDir: path.join(dir, "cloud"), port: 0 });
  acct = await setUpAccount(cloud.url, dir, "live@example.org", "cam-live-1");
}, 60_000);

afterAll(async () => {
  for (const ws of open) ws.terminate();
  await cloud.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const wsUrl = (p: string): string => cloud.url.replace(/^http/, "ws") + p;

/** Connects; resolves with the socket once open, or with the HTTP status the upgrade was refused with. */
function connect(p: string, headers: Record<string, string>): Promise<WebSocket | number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl(p), { headers, perMessageDeflate: false });
    open.push(ws);
    ws.once("open", () => resolve(ws));
    ws.once("unexpected-response", (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
    });
    ws.once("error", (e) => reject(e));
  });
}

function cameraHeaders(timestamp = Date.now()): Record<string, string> {
  return signRequest(crypto, acct.camera.key, { cameraId: acct.camera.id, method: "GET", path: "/v1/camera/live", body: new Uint8Array(0), timestamp });
}

const phoneHeaders = (): Record<string, string> => ({ authorization: `Bearer ${acct.token}` });
const challenge = (): string => toBase64Url(crypto.randomBytes(16));

function nextMessage(ws: WebSocket): Promise<Buffer> {
  return new Promise((resolve) => ws.once("message", (data: Buffer) => resolve(Buffer.from(data))));
}

function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })));
}

const envelope = (type: number, channel: number, payload: Uint8Array): Buffer => {
  const b = Buffer.alloc(5 + payload.length);
  b[0] = type;
  b.writeUInt32BE(channel, 1);
  b.set(payload, 5);
  return b;
};

test("a camera upgrade needs valid signed headers; a phone upgrade a session; an offline camera is 404", async () => {
  expect(await connect("/v1/camera/live", {})).toBe(401);
  const forged = cameraHeaders();
  forged["x-sealcam-signature"] = toBase64Url(new Uint8Array(64).fill(7));
  expect(await connect("/v1/camera/live", forged)).toBe(401);
  expect(await connect("/v1/camera/live", cameraHeaders(Date.now() - 10 * 60 * 1000))).toBe(401);
  expect(await connect(`/v1/live/${acct.camera.id}?challenge=${challenge()}`, {})).toBe(401);
  expect(await connect(`/v1/live/${acct.camera.id}?challenge=${challenge()}`, phoneHeaders())).toBe(404);
});

test("relay: OPEN with the phone's challenge, DATA byte for byte, CLOSE both ways, camera loss, limits", async () => {
  const camera = (await connect("/v1/camera/live", cameraHeaders())) as WebSocket;
  expect(typeof camera).toBe("object");
  // A replayed camera upgrade (same nonce) is refused.
  const headers = cameraHeaders();
  const replaced = closed(camera);
  const first = (await connect("/v1/camera/live", headers)) as WebSocket;
  expect(await connect("/v1/camera/live", headers)).toBe(401);
  // The newer socket replaced the older: use it.
  await replaced;
  const cam = first;

  const c1 = challenge();
  const opened = nextMessage(cam);
  const phone = (await connect(`/v1/live/${acct.camera.id}?challenge=${c1}`, phoneHeaders())) as WebSocket;
  const open1 = await opened;
  expect(open1[0]).toBe(ENVELOPE_OPEN);
  expect(toBase64Url(open1.subarray(5))).toBe(c1);
  const channel = open1.readUInt32BE(1);

  const payload = crypto.randomBytes(40_000);
  const got = nextMessage(phone);
  cam.send(envelope(ENVELOPE_DATA, channel, payload));
  expect(Buffer.compare(await got, Buffer.from(payload))).toBe(0);
  // Data for a channel that does not exist goes nowhere; the phone's own messages are not relayed.
  cam.send(envelope(ENVELOPE_DATA, channel + 1000, payload));

  const phoneClosed = closed(phone);
  cam.send(envelope(ENVELOPE_CLOSE, channel, Buffer.from("end: maximum duration")));
  expect(await phoneClosed).toEqual({ code: 1000, reason: "end: maximum duration" });

  // The phone leaving tells the camera.
  const opened2 = nextMessage(cam);
  const phone2 = (await connect(`/v1/live/${acct.camera.id}?challenge=${challenge()}`, phoneHeaders())) as WebSocket;
  const channel2 = (await opened2).readUInt32BE(1);
  const told = nextMessage(cam);
  phone2.close();
  const close2 = await told;
  expect(close2[0]).toBe(ENVELOPE_CLOSE);
  expect(close2.readUInt32BE(1)).toBe(channel2);

  // At most 4 phone sessions per camera at the relay.
  const phones: WebSocket[] = [];
  for (let i = 0; i < 4; i++) {
    const o = nextMessage(cam);
    phones.push((await connect(`/v1/live/${acct.camera.id}?challenge=${challenge()}`, phoneHeaders())) as WebSocket);
    await o;
  }
  expect(await connect(`/v1/live/${acct.camera.id}?challenge=${challenge()}`, phoneHeaders())).toBe(429);
  expect(await connect(`/v1/live/${acct.camera.id}?challenge=short`, phoneHeaders())).toBe(400);

  // The camera going away ends every phone's session.
  const ends = phones.map(closed);
  cam.terminate();
  for (const end of await Promise.all(ends)) expect(end.code).toBe(1011);
  expect(await connect(`/v1/live/${acct.camera.id}?challenge=${challenge()}`, phoneHeaders())).toBe(404);
}, 30_000);
