/**
 * Live View for shared viewers (PROTOCOL §13.6, FORMAT §12.1) on the board simulator: the camera firmware in XS
 * wraps each live session to its phones and to the stream keys whose scope covers `live`; the real cloud admits a
 * viewer's socket only on a proof of such a key listed by the account's current roster; the viewer opens the
 * session with its stream key. A video-only viewer is refused by the cloud (E_NO_RECIPIENT) and, handed a
 * session anyway, finds no entry for its key (E_NO_RECIPIENT). After revocation a running session goes on to its
 * end; a new request is refused (E_SHARE_REVOKED) and new heads carry no entry for the revoked key.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { WebSocket } from "ws";
import { fromBase64Url, fromHex, toBase64Url, toHex } from "../../firmware/core/bytes";
import { ALG_HPKE_P256, ALG_HPKE_P256_STREAM } from "../../firmware/core/clip/constants";
import { streamKeyUnwrapper } from "../../firmware/core/clip/opener";
import { spkiFromP256 } from "../../firmware/core/keys";
import { LiveOpener, parseLiveHead } from "../../firmware/core/live";
import { parseCertificate } from "../../firmware/core/x509";
import type { SimulatedBoard } from "../../host-tools/board-sim/simulator";
import { proofMessage } from "../../host-tools/cloud/mailbox";
import { main as phoneMain } from "../../host-tools/phone/cli";
import { watchLive } from "../../host-tools/phone/live";
import { createShare, revokeShare } from "../../host-tools/phone/share";
import { main as viewerMain } from "../../host-tools/viewer/cli";
import { Viewer } from "../../host-tools/viewer/viewer";
import { World } from "../board-sim/harness";
import { liveCamera } from "../helpers/live-camera";
import { runCli } from "../helpers/run-cli";
import { refusalCode as code } from "../helpers/refusal";

jest.setTimeout(120_000);

const world = new World();
let board: SimulatedBoard;
let cameraId = "";
let liveViewer: Viewer;
let videoViewer: Viewer;
let liveShareId = "";


/** The stream key a viewer accepted for `shareId` (its keystore, 0600): scalar, key id, SPKI. */
function streamKeyOf(viewer: Viewer, shareId: string): { scalar: Uint8Array; keyId: Uint8Array; spki: Uint8Array } {
  const share = viewer.state().shares.find((s) => s.shareId === shareId)!;
  const keys = JSON.parse(fs.readFileSync(viewer.keystorePath, "utf8")) as { streams: Record<string, string> };
  return { scalar: fromHex(keys.streams[share.keyId]), keyId: fromHex(share.keyId), spki: parseCertificate(fromBase64Url(share.streamCertificate)).spki };
}

/** The mailbox's proof of `key` for `GET target` (a fresh challenge), as the viewer makes it. */
async function proof(key: { scalar: Uint8Array; spki: Uint8Array }, target: string, signWith?: Uint8Array): Promise<Record<string, string>> {
  const c = world.phoneA.crypto;
  const to = toHex(c.sha256(key.spki));
  const { nonce } = (await (await fetch(`${world.cloudUrl}/v1/mailbox/${to}/challenge`)).json()) as { nonce: string };
  const priv = c.p256Import(signWith ?? key.scalar);
  try {
    return { "x-sealcam-viewer-key": toBase64Url(key.spki), "x-sealcam-nonce": nonce, "x-sealcam-proof": toBase64Url(c.ecdsaP256Sign(priv, proofMessage(to, nonce, "GET", target))) };
  } finally {
    c.p256Destroy(priv);
  }
}

/** Opens a live socket by hand: the cloud's refusal ({status, code}) or the first message (the head). */
function rawLive(headers: Record<string, string>, challenge: Uint8Array): Promise<{ status: number; code: string; head?: Buffer }> {
  const url = `${world.cloudUrl.replace(/^http/, "ws")}/v1/live/${cameraId}?challenge=${toBase64Url(challenge)}`;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers, perMessageDeflate: false });
    ws.once("unexpected-response", (_req, res) => {
      const chunks: Buffer[] = [];
      res.on("data", (d: Buffer) => chunks.push(d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, code: (JSON.parse(Buffer.concat(chunks).toString()) as { code: string }).code }));
    });
    ws.once("message", (data: Buffer) => {
      resolve({ status: 101, code: "ok", head: Buffer.from(data) });
      ws.close();
    });
    // Closed before any message: the camera refused the session ("E_LIMIT: ..."); its code is the outcome.
    ws.once("close", (_code, reason) => resolve({ status: 101, code: /^(E_[A-Z_]+):/.exec(reason.toString())?.[1] ?? "closed" }));
    ws.once("error", (e) => (e.message.includes("Unexpected server response") ? undefined : reject(e)));
  });
}

/** A head phone A's own session carries (the cloud relays it to phone A, its account's phone). */
async function phoneHead(): Promise<{ head: Buffer; challenge: Uint8Array }> {
  let challenge = world.phoneA.crypto.randomBytes(16);
  let r = await rawLive({ authorization: `Bearer ${world.phoneA.state().token}` }, challenge);
  // Sessions that just ended may still count against the camera's limit of 2 for a moment: a few tries.
  for (let i = 0; i < 20 && r.code === "E_LIMIT"; i++) {
    await new Promise((res) => setTimeout(res, 100));
    challenge = world.phoneA.crypto.randomBytes(16);
    r = await rawLive({ authorization: `Bearer ${world.phoneA.state().token}` }, challenge);
  }
  expect(r.code).toBe("ok");
  // The socket closed at once: the camera drops the session when the phone leaves.
  await new Promise((res) => setTimeout(res, 300));
  return { head: r.head!, challenge };
}

/** Opens a head with a stream key (the camera trusted from the account's certificates). */
async function openHeadWith(head: Buffer, challenge: Uint8Array, key: { scalar: Uint8Array; keyId: Uint8Array }): Promise<string> {
  const c = world.phoneA.crypto;
  const header = parseLiveHead(head.subarray(1)).header;
  const account = (await (await fetch(`${world.cloudUrl}/v1/account`, { headers: { authorization: `Bearer ${world.phoneA.state().token}` } })).json()) as { cameraCertificates: { certificate: string }[] };
  const der = account.cameraCertificates.map((x) => fromBase64Url(x.certificate)).find((d) => Buffer.from(c.sha256(d)).equals(Buffer.from(header.cameraCertHash)))!;
  const cert = parseCertificate(der);
  const priv = c.p256Import(key.scalar);
  const opener = new LiveOpener({
    crypto: c,
    camera: () => ({ publicKey: cert.publicKey.kind === "p256" ? cert.publicKey.point65 : new Uint8Array(65), certificateHash: c.sha256(der) }),
    unwrappers: [streamKeyUnwrapper(c, key.keyId, priv)],
    challenge,
    now: () => Date.now(),
  });
  try {
    return code((async () => opener.push(new Uint8Array(head)))());
  } finally {
    c.p256Destroy(priv);
  }
}

beforeAll(async () => {
  await world.start();
  ({ board, cameraId } = await liveCamera(world, "cam-live-share", { maxDurationMs: 6000 }));

  liveViewer = new Viewer(path.join(world.dir, "viewer-live"));
  const { invite } = liveViewer.init(world.cloudUrl);
  videoViewer = new Viewer(path.join(world.dir, "viewer-video"));
  const video = videoViewer.init(world.cloudUrl);
  // The owner shares video + live with one viewer through the CLI, video only with the other.
  const shared = await runCli(phoneMain, ["share", "--home", world.phoneA.home, "--cloud", world.cloudUrl, "--to", invite, "--camera", cameraId, "--stream", "video", "--stream", "live", "--yes"]);
  expect(shared.err).toBe("");
  expect(shared.code).toBe(0);
  liveShareId = /Shared: share ([0-9a-f]{12})/.exec(shared.out)![1];
  await createShare(world.phoneA, { invite: video.invite, cameras: [cameraId], streams: ["video"], notAfter: null });
  expect(await board.command("roster refresh")).toBe("roster: refreshed");
  expect((await liveViewer.accept()).accepted.map((s) => s.scope.streams)).toEqual([["video", "live"]]);
  expect((await videoViewer.accept()).accepted.map((s) => s.scope.streams)).toEqual([["video"]]);
}, 120_000);

afterAll(async () => {
  await world.close();
});

test("phone share --to cloud --stream live is refused before any request (E_ARGUMENT); --stream other is a usage error", async () => {
  const before = (await world.roster()).length;
  const cloud = await runCli(phoneMain, ["share", "--home", world.phoneA.home, "--cloud", world.cloudUrl, "--to", "cloud", "--stream", "live", "--yes"]);
  expect(cloud.code).toBe(2);
  expect(cloud.err).toMatch(/\[E_ARGUMENT\]/);
  const bad = await runCli(phoneMain, ["share", "--home", world.phoneA.home, "--cloud", world.cloudUrl, "--to", videoViewer.invite().invite, "--stream", "audio-live", "--yes"]);
  expect(bad.code).toBe(2);
  expect(bad.err).toMatch(/video, snapshot or live/);
  expect((await world.roster()).length).toBe(before);
});

test("a viewer with a live share watches live while phone A watches too: both decrypt the same frames", async () => {
  const seen = [new Map<number, string>(), new Map<number, string>()];
  const phone = watchLive(world.phoneA, cameraId, { maxFrames: 8, onFrame: (f) => seen[0].set(f.time, Buffer.from(f.jpeg).toString("base64")) });
  const viewer = liveViewer.live(cameraId, { maxFrames: 8, onFrame: (f) => seen[1].set(f.time, Buffer.from(f.jpeg).toString("base64")) });
  const [rp, rv] = await Promise.all([phone, viewer]);
  expect(rv.shareId).toBe(liveShareId);
  expect(rp.frames).toBe(8);
  expect(rv.frames).toBe(8);
  expect(rv.sessionId).not.toBe(rp.sessionId);
  // Advancing: capture times strictly increase.
  const times = [...seen[1].keys()];
  expect(times.every((t, i) => i === 0 || t > times[i - 1])).toBe(true);
  const common = [...seen[0].keys()].filter((t) => seen[1].has(t));
  expect(common.length).toBeGreaterThanOrEqual(4);
  for (const t of common) expect(seen[1].get(t)).toBe(seen[0].get(t));
  for (const jpeg of seen[1].values()) expect(Buffer.from(jpeg, "base64").subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));

  // The head of a phone's session lists the phone, then the live share's key as a stream entry (not the video-only one).
  const { head } = await phoneHead();
  const rcpt = parseLiveHead(head.subarray(1)).header.recipients.map((r) => `${r.alg}:${toHex(r.kid)}`);
  const liveKey = streamKeyOf(liveViewer, liveShareId);
  expect(rcpt).toEqual([`${ALG_HPKE_P256}:${world.phoneA.state().phoneKeyId}`, `${ALG_HPKE_P256_STREAM}:${toHex(liveKey.keyId)}`]);
});

test("sealcam viewer live CAMERA --frames DIR --seconds N writes verified frames and prints frames/s and latency", async () => {
  const dir = path.join(world.dir, "viewer-live-frames");
  const r = await runCli(viewerMain, ["live", cameraId, "--home", liveViewer.home, "--seconds", "2", "--frames", dir]);
  expect(r.err).toBe("");
  expect(r.code).toBe(0);
  expect(r.out).toMatch(new RegExp(`from camera ${cameraId} \\(roster v\\d+\\), verified and decrypted on this viewer`));
  expect(r.out).toMatch(/\d+ frames in [\d.]+ s: [\d.]+ frames\/s; latency capture -> decrypted p50 \d+ ms, p99 \d+ ms/);
  expect(r.out).toMatch(new RegExp(`Watched with share ${liveShareId}`));
  const files = fs.readdirSync(dir).sort();
  expect(files.length).toBeGreaterThan(5);
  expect(files.every((f) => /^frame-\d{5}-\d+\.jpg$/.test(f))).toBe(true);
  expect(fs.statSync(path.join(dir, files[0])).mode & 0o077).toBe(0);
  const help = await runCli(viewerMain, ["live", "--help"]);
  expect(help.code).toBe(0);
  expect(help.out).toMatch(/--seconds/);
});

test("a video-only viewer: the cloud refuses its key (E_NO_RECIPIENT), forged or missing proofs (E_AUTH); a head handed over anyway has no entry for it", async () => {
  const share = videoViewer.state().shares[0];
  // The viewer itself knows its share has no live view: nothing is asked of the cloud.
  expect(await code(videoViewer.live(cameraId, { maxFrames: 1 }))).toBe("E_NO_RECIPIENT");

  // The cloud, asked directly with a valid proof of the video-only key: refused before any upgrade.
  const key = streamKeyOf(videoViewer, share.shareId);
  const challenge = world.phoneA.crypto.randomBytes(16);
  const target = `/v1/live/${cameraId}?challenge=${toBase64Url(challenge)}`;
  expect(await rawLive(await proof(key, target), challenge)).toEqual({ status: 403, code: "E_NO_RECIPIENT" });
  // A proof of the live share's key signed by another key (the video one): E_AUTH.
  const liveKey = streamKeyOf(liveViewer, liveShareId);
  expect(await rawLive(await proof(liveKey, target, key.scalar), challenge)).toEqual({ status: 401, code: "E_AUTH" });
  // A valid proof for another request (another challenge): E_AUTH. No credentials at all: E_AUTH.
  const otherTarget = `/v1/live/${cameraId}?challenge=${toBase64Url(world.phoneA.crypto.randomBytes(16))}`;
  expect(await rawLive(await proof(liveKey, otherTarget), challenge)).toEqual({ status: 401, code: "E_AUTH" });
  expect(await rawLive({}, challenge)).toEqual({ status: 401, code: "E_AUTH" });
  // A proof replayed: E_REPLAY (the nonce counts once).
  const once = await proof(liveKey, target);
  const first = await rawLive(once, challenge);
  expect(first.status).toBe(101);
  await new Promise((r) => setTimeout(r, 300));
  expect(await rawLive(once, challenge)).toEqual({ status: 401, code: "E_REPLAY" });
  // A key that no roster lists (a fresh one): E_SHARE_REVOKED (revoked or never shared).
  const stranger = world.phoneA.crypto.p256Generate();
  const strangerKey = { scalar: world.phoneA.crypto.p256Export(stranger), spki: spkiFromP256(world.phoneA.crypto.p256PublicKey(stranger)) };
  world.phoneA.crypto.p256Destroy(stranger);
  expect(await rawLive(await proof(strangerKey, target), challenge)).toEqual({ status: 403, code: "E_SHARE_REVOKED" });

  // A hostile relay handing the video-only viewer a session anyway: the camera wrapped none to its key.
  const { head, challenge: headChallenge } = await phoneHead();
  expect(await openHeadWith(head, headChallenge, key)).toBe("E_NO_RECIPIENT");
  expect(await openHeadWith(head, headChallenge, liveKey)).toBe("ok");
});

test("revocation: a running session goes on to its end; a new request is refused (E_SHARE_REVOKED) and new heads have no entry for the key", async () => {
  const liveKey = streamKeyOf(liveViewer, liveShareId);
  const frames: number[] = [];
  const running = liveViewer.live(cameraId, { durationMs: 2500, onFrame: (f) => frames.push(f.time) });
  await new Promise((r) => setTimeout(r, 700));
  await revokeShare(world.phoneA, liveShareId);
  expect(await board.command("roster refresh")).toBe("roster: refreshed");
  const revokedAt = Date.now();
  const report = await running;
  expect(report.endedBy).toBe("phone");
  expect(frames.filter((t) => t > revokedAt).length).toBeGreaterThan(3);

  expect(await code(liveViewer.live(cameraId, { maxFrames: 1 }))).toBe("E_SHARE_REVOKED");
  const cliRefusal = await runCli(viewerMain, ["live", cameraId, "--home", liveViewer.home, "--seconds", "1"]);
  expect(cliRefusal.code).toBe(1);
  expect(cliRefusal.err).toMatch(/^sealcam viewer: .*\[E_SHARE_REVOKED\]/m);
  const { head, challenge } = await phoneHead();
  expect(parseLiveHead(head.subarray(1)).header.recipients.map((r) => r.alg)).toEqual([ALG_HPKE_P256]);
  expect(await openHeadWith(head, challenge, liveKey)).toBe("E_NO_RECIPIENT");
});
