/**
 * `sealcam phone live CAMERA` (docs/PROTOCOL.md §13.4): asks the cloud for a live session with a fresh
 * challenge, verifies the camera's signed session head against the pinned root, unwraps the session key
 * with this phone's instance key and opens frames in order (firmware/core/live/opener.ts), optionally
 * writing them as JPEG files; measures frames/s and latency (capture time inside the sealed frame ->
 * decrypted here). Any typed failure of the stream (E_GAP, E_REORDER, E_REPLAY, E_SESSION, E_SEGMENT,
 * E_STALL, E_TRUNCATED ...) ends the watch with that error.
 *
 * The session part (socket, opener, frames, report: runLiveSession) is shared with `sealcam viewer live`
 * (host-tools/viewer/viewer.ts), which opens the same sessions with a stream key and a proof of it instead of
 * a phone's instance key and session.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { WebSocket } from "ws";
import { constantTimeEqual, fromBase64Url, toBase64Url } from "../../firmware/core/bytes";
import { SealcamError, fail } from "../../firmware/core/errors";
import { hpkeUnwrapper, type CameraIdentity, type Unwrapper } from "../../firmware/core/clip/opener";
import { LiveOpener, type LiveHeader } from "../../firmware/core/live/index";
import { isCameraId } from "../../firmware/core/request-auth";
import { parseCertificate, verifyChain, type Certificate } from "../../firmware/core/x509";
import type { P256PrivateKey } from "../../firmware/platform/crypto";
import type { NodeCrypto } from "../platform/node-crypto";
import { CloudClient } from "./client";
import type { Phone } from "./phone";
import { loadInstanceKey } from "./store";
import type { ListedCameraCertificate } from "./verify-head";

export interface LiveOptions {
  /** Stop after this long (ms) and close the session from the phone's side. Default 10 s. */
  durationMs?: number;
  /** Or after this many frames. */
  maxFrames?: number;
  /** Write frame-NNNNN-<ms>.jpg files here (mode 0600). */
  framesDir?: string;
  /** No frame for this long is E_STALL. Default 5000. */
  stallMs?: number;
  /** Connect here instead of the phone's cloud (a test's hostile proxy). */
  cloudUrl?: string;
  /** Each frame as it is released. */
  onFrame?(frame: { index: number; time: number; jpeg: Uint8Array; latencyMs: number }): void;
  /** Aborting it ends the watch from the phone's side, as reaching `durationMs` does (the loopback viewer's Stop). */
  signal?: AbortSignal;
}

export interface LiveReport {
  cameraId: string;
  sessionId: string;
  rosterVersion: number;
  frames: number;
  seconds: number;
  framesPerSecond: number;
  /** Capture (camera clock) -> decrypted (phone clock), ms; p50/p99/max. */
  latencyMs: { p50: number; p99: number; max: number };
  /** How the session ended: "phone" (we closed it), "camera" (final frame). */
  endedBy: "phone" | "camera";
  cameraReason?: string;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** The camera named by a live head, from the account's registered certificates, chained to the pinned root. */
export function liveCamera(crypto: NodeCrypto, header: LiveHeader, wanted: string, root: Certificate, listed: ListedCameraCertificate[]): CameraIdentity {
  if (header.cameraId !== wanted) fail("E_CERT", `the live session is from camera ${header.cameraId}, not ${wanted}`);
  for (const entry of listed) {
    if (typeof entry?.certificate !== "string") continue;
    let der: Uint8Array;
    try {
      der = fromBase64Url(entry.certificate);
    } catch {
      continue;
    }
    if (!constantTimeEqual(crypto.sha256(der), header.cameraCertHash)) continue;
    const cert = verifyChain(crypto, parseCertificate(der), root);
    if (cert.subjectCommonName !== header.cameraId || cert.publicKey.kind !== "p256") fail("E_CERT", "camera certificate does not match the live session");
    return { publicKey: cert.publicKey.point65, certificateHash: crypto.sha256(der) };
  }
  return fail("E_CERT", `no certificate of camera ${header.cameraId} matches the live session`);
}

export async function watchLive(phone: Phone, cameraId: string, options: LiveOptions = {}): Promise<LiveReport> {
  if (!isCameraId(cameraId)) fail("E_ARGUMENT", "CAMERA must be a camera id (see `sealcam phone cameras`)");
  const crypto = phone.crypto;
  const state = phone.state();
  const root = parseCertificate(fromBase64Url(state.rootCertificate));
  const cloudUrl = options.cloudUrl ?? state.cloud;
  const account = await new CloudClient(state.cloud, state.token).json<{ cameraCertificates?: ListedCameraCertificate[] }>("GET", "/v1/account");
  const certificates = Array.isArray(account.cameraCertificates) ? account.cameraCertificates : [];
  const myKeyId = crypto.sha256(parseCertificate(fromBase64Url(state.instanceCertificate)).spki);
  const challenge = crypto.randomBytes(16);
  const instanceKey: P256PrivateKey = loadInstanceKey(phone.home, crypto);
  try {
    return await runLiveSession({
      crypto, cameraId, challenge,
      url: liveSocketUrl(cloudUrl, cameraId, challenge),
      headers: { authorization: `Bearer ${state.token}` },
      camera: (header) => liveCamera(crypto, header, cameraId, root, certificates),
      unwrappers: [hpkeUnwrapper(crypto, myKeyId, instanceKey)],
    }, options);
  } finally {
    crypto.p256Destroy(instanceKey);
  }
}

/** ws(s)://host[:port]/v1/live/CAMERA?challenge=<b64u>: the requester's socket (PROTOCOL §13.2, §13.6). */
export function liveSocketUrl(cloudUrl: string, cameraId: string, challenge: Uint8Array): string {
  return `${cloudUrl.replace(/^http/, "ws").replace(/\/+$/, "")}/v1/live/${cameraId}?challenge=${toBase64Url(challenge)}`;
}

/** Who asks for a session and with what it opens it: a phone (bearer, instance key) or a viewer (proof, stream key). */
export interface LiveSessionParams {
  crypto: NodeCrypto;
  cameraId: string;
  /** The 16 random bytes in `url`'s query, which the camera echoes in the signed head. */
  challenge: Uint8Array;
  url: string;
  /** The upgrade request's credentials: a phone's bearer session, or a viewer's proof headers. */
  headers: Record<string, string>;
  camera(header: LiveHeader): CameraIdentity;
  unwrappers: Unwrapper[];
}

/**
 * One live session, requester side (PROTOCOL §13.4): opens the socket, feeds every message to a LiveOpener
 * (FORMAT §12.5), writes released frames, and reports. A refusal by the cloud (HTTP error before the upgrade)
 * or by the camera (CLOSE "E_…: …" before the head) is that typed error; a failure of the stream is its code.
 */
export async function runLiveSession(p: LiveSessionParams, options: LiveOptions = {}): Promise<LiveReport> {
  const { crypto, cameraId, challenge, url } = p;
  if (options.framesDir) fs.mkdirSync(options.framesDir, { recursive: true, mode: 0o700 });
  const opener = new LiveOpener({
    crypto,
    camera: p.camera,
    unwrappers: p.unwrappers,
    challenge,
    stallMs: options.stallMs,
    now: () => Date.now(),
  });
  const latencies: number[] = [];
  let firstAt = 0;
  let lastAt = 0;
  let sessionId = "";
  let rosterVersion = 0;
  return await new Promise<LiveReport>((resolve, reject) => {
    const ws = new WebSocket(url, { headers: p.headers, perMessageDeflate: false, maxPayload: 65535, handshakeTimeout: 15000 });
    let settled = false;
    const timers: NodeJS.Timeout[] = [];
    const finish = (error: unknown, endedBy: "phone" | "camera" = "phone", cameraReason?: string): void => {
      if (settled) return;
      settled = true;
      for (const t of timers) clearTimeout(t);
      clearInterval(stall);
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(1000);
      if (error) {
        reject(error);
        return;
      }
      const sorted = latencies.slice().sort((a, b) => a - b);
      const seconds = latencies.length > 1 ? (lastAt - firstAt) / 1000 : 0;
      resolve({
        cameraId, sessionId, rosterVersion, frames: latencies.length, seconds,
        framesPerSecond: seconds > 0 ? (latencies.length - 1) / seconds : 0,
        latencyMs: { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.length ? sorted[sorted.length - 1] : 0 },
        endedBy, cameraReason,
      });
    };
    const stall = setInterval(() => {
      try {
        opener.checkStall();
      } catch (error) {
        finish(error);
      }
    }, 250);
    ws.once("unexpected-response", (_req, res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        let code = res.statusCode === 401 ? "E_AUTH" : res.statusCode === 404 ? "E_NOT_FOUND" : res.statusCode === 429 ? "E_RATE_LIMIT" : "E_NETWORK";
        let message = `the cloud refused live view (${res.statusCode})`;
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString()) as { code?: string; message?: string };
          if (typeof body.code === "string" && /^E_[A-Z_]+$/.test(body.code)) code = body.code;
          if (typeof body.message === "string") message = body.message.slice(0, 200);
        } catch {
          // keep the status
        }
        finish(new SealcamError(code as SealcamError["code"], message));
      });
    });
    ws.on("error", (error) => finish(new SealcamError("E_NETWORK", `live view: ${error.message}`)));
    ws.once("open", () => {
      timers.push(setTimeout(() => finish(undefined, "phone"), options.durationMs ?? 10_000));
    });
    if (options.signal?.aborted) finish(undefined, "phone");
    options.signal?.addEventListener("abort", () => finish(undefined, "phone"), { once: true });
    ws.on("message", (data: Buffer, isBinary) => {
      if (settled || !isBinary) return;
      try {
        for (const event of opener.push(new Uint8Array(data))) {
          if (event.kind === "head") {
            sessionId = toBase64Url(event.header.sessionId);
            rosterVersion = event.header.rosterVersion;
          } else if (event.kind === "frame") {
            const now = Date.now();
            const latencyMs = now - event.time;
            if (latencies.length === 0) firstAt = now;
            lastAt = now;
            latencies.push(latencyMs);
            if (options.framesDir) {
              const name = `frame-${String(event.index).padStart(5, "0")}-${event.time}.jpg`;
              fs.writeFileSync(path.join(options.framesDir, name), event.jpeg, { mode: 0o600 });
            }
            options.onFrame?.({ index: event.index, time: event.time, jpeg: event.jpeg, latencyMs });
            if (options.maxFrames !== undefined && latencies.length >= options.maxFrames) finish(undefined, "phone");
          } else {
            finish(undefined, "camera");
          }
        }
      } catch (error) {
        finish(error);
      }
    });
    ws.on("close", (code, reason) => {
      if (settled) return;
      const text = reason.toString();
      if (opener.ended) return finish(undefined, "camera", text);
      // The camera refused or failed the session before its head ("E_LIMIT: ..."): that is the error.
      const m = /^(E_[A-Z_]+): (.*)$/.exec(text);
      if (m && opener.header === undefined) return finish(new SealcamError(m[1] as SealcamError["code"], m[2]));
      try {
        opener.close();
      } catch (error) {
        return finish(error);
      }
      finish(new SealcamError("E_TRUNCATED", `live view closed (${code} ${text})`));
    });
  });
}

/** The lines `phone live` and `viewer live` print for a report; `who` is "this phone" or "this viewer". */
export function liveReportLines(r: LiveReport, who: string, framesDir?: string): string[] {
  return [
    `Live session ${r.sessionId.slice(0, 11)} from camera ${r.cameraId} (roster v${r.rosterVersion}), verified and decrypted on ${who}.`,
    `${r.frames} frames in ${r.seconds.toFixed(1)} s: ${r.framesPerSecond.toFixed(1)} frames/s; latency capture -> decrypted p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, max ${r.latencyMs.max} ms${framesDir ? `; frames in ${framesDir}` : ""}.`,
    r.endedBy === "camera" ? `The camera ended the session${r.cameraReason ? ` (${r.cameraReason})` : ""}.` : `Session ended by ${who}.`,
  ];
}
