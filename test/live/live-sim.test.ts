/**
 * Live view end to end on the board simulator: the firmware (in XS) keeps its WebSocket to the real cloud,
 * the phones watch through the real relay. Two phones at once decrypt the same frames; the camera's limits
 * (2 sessions, maximum duration); recording goes on during live view (the clip uploads and opens); a
 * hostile relay (a WebSocket proxy in front of the cloud) that reorders, drops, replays another session's
 * frame, tampers or stalls is caught with its typed code; a phone removed from the roster cannot open a
 * new session.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { WebSocket, WebSocketServer } from "ws";
import { toBase64Url } from "../../firmware/core/bytes";
import { SealcamError } from "../../firmware/core/errors";
import { hpkeUnwrapper } from "../../firmware/core/clip/opener";
import { LiveOpener, parseLiveHead } from "../../firmware/core/live";
import { parseCertificate } from "../../firmware/core/x509";
import { watchLive, type LiveOptions, type LiveReport } from "../../host-tools/phone/live";
import { Phone } from "../../host-tools/phone/phone";
import { main } from "../../host-tools/phone/cli";
import { CloudClient } from "../../host-tools/phone/client";
import { loadInstanceKey } from "../../host-tools/phone/store";
import type { SimulatedBoard } from "../../host-tools/board-sim/simulator";
import { CREDENTIALS, World } from "../board-sim/harness";
import { liveCamera } from "../helpers/live-camera";
import { refusalCode as code } from "../helpers/refusal";

jest.setTimeout(120_000);

const world = new World();
let board: SimulatedBoard;
let cameraId: string;
let phoneB: Phone;
const servers: http.Server[] = [];

beforeAll(async () => {
  await world.start();
  phoneB = new Phone({ home: path.join(world.dir, "phone-b"), cloud: world.cloudUrl });
  await phoneB.recover(CREDENTIALS, world.passphrase, "phone-b");
  ({ board, cameraId } = await liveCamera(world, "cam", { maxDurationMs: 4000 }));
}, 120_000);

afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
  await world.close();
});

test("two phones watch at once and decrypt the same frames; a third session is refused (E_LIMIT)", async () => {
  const seen: Map<number, string>[] = [new Map(), new Map()];
  const watch = (phone: Phone, i: number): Promise<LiveReport> =>
    watchLive(phone, cameraId, { maxFrames: 8, onFrame: (f) => seen[i].set(f.time, Buffer.from(f.jpeg).toString("base64")) });
  const a = watch(world.phoneA, 0);
  const b = watch(phoneB, 1);
  // Both sessions running: a third is over the camera's limit.
  await new Promise((r) => setTimeout(r, 600));
  expect(await code(watchLive(world.phoneA, cameraId, { maxFrames: 1 }))).toBe("E_LIMIT");
  const [ra, rb] = await Promise.all([a, b]);
  expect(ra.frames).toBe(8);
  expect(rb.frames).toBe(8);
  expect(ra.sessionId).not.toBe(rb.sessionId);
  const common = [...seen[0].keys()].filter((t) => seen[1].has(t));
  expect(common.length).toBeGreaterThanOrEqual(4);
  for (const t of common) expect(seen[1].get(t)).toBe(seen[0].get(t));
  expect(ra.latencyMs.p50).toBeGreaterThanOrEqual(0);
});

test("the camera ends a session at its maximum duration (final frame: a clean end)", async () => {
  const report = await watchLive(world.phoneA, cameraId, { durationMs: 20_000 });
  expect(report.endedBy).toBe("camera");
  expect(report.frames).toBeGreaterThan(5);
  expect(report.seconds).toBeLessThan(4.5);
});

test("recording continues during live view: a clip triggered meanwhile is sealed, uploaded and opens", async () => {
  const watching = watchLive(world.phoneA, cameraId, { durationMs: 3000 });
  await new Promise((r) => setTimeout(r, 500));
  const done = await world.record(board);
  expect(Number(done.frames)).toBeGreaterThan(0);
  const report = await watching;
  expect(report.frames).toBeGreaterThan(10);
  const clips = await world.clips(cameraId, 1);
  const out = path.join(world.dir, "clip.plain");
  const frames = path.join(world.dir, "clip-frames");
  const opened = await world.phoneA.open(clips[clips.length - 1].clipId, out, frames);
  expect(opened.frames).toBe(Number(done.frames));
  expect(fs.readdirSync(frames).length).toBe(opened.frames);
});

/** A hostile relay: a WebSocket proxy for /v1/live that lets `mutate` rewrite the stream to the phone. */
async function hostileProxy(mutate: (index: number, message: Buffer, send: (m: Buffer) => void) => void): Promise<string> {
  const upstream = world.cloudUrl.replace(/^http/, "ws");
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  wss.on("connection", (client, req) => {
    const up = new WebSocket(upstream + (req.url ?? ""), { headers: { authorization: req.headers.authorization ?? "" }, perMessageDeflate: false });
    let n = 0;
    up.on("message", (data: Buffer) => mutate(n++, Buffer.from(data), (m) => client.readyState === WebSocket.OPEN && client.send(m)));
    up.on("close", (c, r) => client.readyState === WebSocket.OPEN && client.close(c === 1005 ? 1000 : c, r.toString()));
    client.on("close", () => up.close());
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

test("a hostile relay is caught: reorder E_REORDER, drop E_GAP, another session's frame E_SESSION, tamper E_SEGMENT, stall E_STALL", async () => {
  const opts = (cloudUrl: string): LiveOptions => ({ cloudUrl, durationMs: 8000, stallMs: 1500 });
  // Messages: 0 = head, 1.. = frames 0...
  let held: Buffer | undefined;
  const reorder = await hostileProxy((i, m, send) => {
    if (i === 2) held = m;
    else {
      send(m);
      if (i === 3 && held) send(held);
    }
  });
  expect(await code(watchLive(world.phoneA, cameraId, opts(reorder)))).toBe("E_REORDER");

  const drop = await hostileProxy((i, m, send) => i !== 2 && send(m));
  expect(await code(watchLive(world.phoneA, cameraId, opts(drop)))).toBe("E_GAP");

  const tamper = await hostileProxy((i, m, send) => {
    if (i === 3) m[m.length - 5] ^= 0x20;
    send(m);
  });
  expect(await code(watchLive(world.phoneA, cameraId, opts(tamper)))).toBe("E_SEGMENT");

  // Record a frame of one session, then play it into the next one.
  let recorded: Buffer | undefined;
  const replay = await hostileProxy((i, m, send) => {
    if (!recorded && i === 2) {
      recorded = Buffer.from(m);
      send(m);
    } else if (recorded && i === 2) send(recorded);
    else send(m);
  });
  await watchLive(world.phoneA, cameraId, { cloudUrl: replay, maxFrames: 3 });
  expect(recorded).toBeDefined();
  expect(await code(watchLive(world.phoneA, cameraId, opts(replay)))).toBe("E_SESSION");

  const stall = await hostileProxy((i, m, send) => i < 3 && send(m));
  expect(await code(watchLive(world.phoneA, cameraId, opts(stall)))).toBe("E_STALL");
});

test("sealcam phone live CAMERA --frames DIR --seconds N writes verified frames and prints frames/s and latency", async () => {
  const dir = path.join(world.dir, "live-frames");
  const lines: string[] = [];
  const log = jest.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  let status: number;
  try {
    jest.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
      lines.push("ERR " + String(chunk));
      return true;
    });
    status = await main(["live", cameraId, "--home", world.phoneA.home, "--cloud", world.cloudUrl, "--seconds", "2", "--frames", dir]);
  } finally {
    log.mockRestore();
    jest.restoreAllMocks();
  }
  const text = lines.join("");
  expect(text).not.toMatch(/^ERR/m);
  expect(status).toBe(0);
  expect(text).toMatch(new RegExp(`from camera ${cameraId}`));
  expect(text).toMatch(/\d+ frames in [\d.]+ s: [\d.]+ frames\/s; latency capture -> decrypted p50 \d+ ms, p99 \d+ ms/);
  const files = fs.readdirSync(dir);
  expect(files.length).toBeGreaterThan(5);
  expect(files.every((f) => /^frame-\d{5}-\d+\.jpg$/.test(f))).toBe(true);
  expect(fs.statSync(path.join(dir, files[0])).mode & 0o077).toBe(0);
  expect(Buffer.from(fs.readFileSync(path.join(dir, files[0]))).subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
});

test("a phone removed from the roster cannot open a new session (cloud: E_AUTH; camera: not a recipient)", async () => {
  const bKeyId = phoneB.state().phoneKeyId;
  const bKey = loadInstanceKey(phoneB.home, phoneB.crypto);
  const bKeyIdBytes = phoneB.crypto.sha256(parseCertificate(Buffer.from(phoneB.state().instanceCertificate, "base64url")).spki);
  await world.phoneA.removePhone(bKeyId);
  expect(await board.command("roster refresh")).toBe("roster: refreshed");
  expect(await code(watchLive(phoneB, cameraId, { maxFrames: 1 }))).toBe("E_AUTH");

  // Even handed the raw session by the cloud, phone B's key is not among the recipients.
  const challenge = world.phoneA.crypto.randomBytes(16);
  const head = await new Promise<Buffer>((resolve, reject) => {
    const ws = new WebSocket(`${world.cloudUrl.replace(/^http/, "ws")}/v1/live/${cameraId}?challenge=${toBase64Url(challenge)}`, {
      headers: { authorization: `Bearer ${world.phoneA.state().token}` },
    });
    ws.once("message", (data: Buffer) => {
      resolve(Buffer.from(data));
      ws.close();
    });
    ws.once("error", reject);
  });
  const header = parseLiveHead(head.subarray(1)).header;
  expect(header.recipients.map((r) => Buffer.from(r.kid).toString("hex"))).toEqual([world.phoneA.state().phoneKeyId]);
  const account = await new CloudClient(world.cloudUrl, world.phoneA.state().token).json<{ cameraCertificates: { certificate: string }[] }>("GET", "/v1/account");
  const der = account.cameraCertificates.map((c) => new Uint8Array(Buffer.from(c.certificate, "base64url")))
    .find((d) => Buffer.from(phoneB.crypto.sha256(d)).equals(Buffer.from(header.cameraCertHash)))!;
  const cert = parseCertificate(der);
  const opener = new LiveOpener({
    crypto: phoneB.crypto,
    camera: () => ({ publicKey: cert.publicKey.kind === "p256" ? cert.publicKey.point65 : new Uint8Array(65), certificateHash: header.cameraCertHash }),
    unwrappers: [hpkeUnwrapper(phoneB.crypto, bKeyIdBytes, bKey)],
    challenge,
    now: () => Date.now(),
  });
  let refused = "ok";
  try {
    opener.push(new Uint8Array(head));
  } catch (error) {
    refused = (error as SealcamError).code;
  }
  expect(refused).toBe("E_NO_RECIPIENT");
  phoneB.crypto.p256Destroy(bKey);
});
