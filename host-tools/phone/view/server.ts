/**
 * `sealcam phone view`: the web viewer, first mode (issue 13 §3). The PHONE PROCESS verifies and decrypts;
 * the page in the owner's browser only shows what this server hands it. docs/VIEWER.md describes it.
 *
 * Who may read the owner's video through it, and how that is enforced:
 * - It listens on 127.0.0.1 only (a random port unless `port` is given).
 * - Every request must carry a Host header naming this loopback address and port: a web page whose DNS name
 *   was rebound to 127.0.0.1 sends its own name and gets 403 (DNS-rebinding defence).
 * - Every request must carry the per-run token: the printed URL holds it once (`/?token=...`); that request
 *   sets it as a cookie (HttpOnly, SameSite=Strict, so cross-site requests never carry it) and redirects to
 *   `/`, so the token leaves the address bar. Without it: 403, for the page itself too.
 * - A state-changing request (opening a clip) must also come from this origin (Origin header), and requests
 *   a browser marks as cross-site (Sec-Fetch-Site) are refused.
 * - Every reply carries a strict Content-Security-Policy (scripts, styles and connections from this origin
 *   only, images from it or blob:, no frames, no forms, no inline anything), nosniff, no-referrer, no-store.
 * - Plaintext exists only for clips `Phone.open` verified (camera signature on head and footer, every
 *   segment): decrypted into a folder under the phone's home (0700, 0600 files) removed at close. The frame
 *   endpoint serves only clips in that verified set.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import * as nodeCrypto from "node:crypto";
import type { AddressInfo } from "node:net";
import { SealcamError } from "../../../firmware/core/errors";
import { CONTENT_TYPE_FRAMES } from "../../../firmware/core/clip/constants";
import { isCameraId } from "../../../firmware/core/request-auth";
import { indexFrames, type FrameIndex } from "../video/frames";
import { watchLive, type LiveReport } from "../live";
import type { Phone, SealingFacts, VerifiedClip } from "../phone";

/** The Content-Security-Policy of every reply. */
export const VIEWER_CSP = [
  "default-src 'self'", "img-src 'self' blob:", "script-src 'self'", "style-src 'self'", "connect-src 'self'",
  "object-src 'none'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
].join("; ");

export const COOKIE_NAME = "sealcam_view";

export interface ViewerOptions {
  phone: Phone;
  /** 0 (default): a random free port. */
  port?: number;
  /** The per-run token (default: 32 random bytes, base64url). Tests may fix it; the CLI never does. */
  token?: string;
  /** Where static files live (default: found next to this module or in the repository). */
  staticDir?: string;
}

export interface Viewer {
  /** The URL to open once: it carries the token. */
  url: string;
  origin: string;
  port: number;
  token: string;
  /** The folder decrypted clips are written to (removed by close). */
  workDir: string;
  close(): Promise<void>;
}

/** The longest a Live View the page starts may last on the phone's side (the camera's own limit is shorter). */
export const VIEW_LIVE_MAX_MS = 10 * 60 * 1000;

/** One Live View the page asked for: the phone process verifies and decrypts; the page polls for the newest frame. */
interface LiveWatch {
  state: "starting" | "live" | "ended" | "failed";
  frames: number;
  latest: { index: number; time: number; latencyMs: number; jpeg: Uint8Array } | undefined;
  error: { code: string; message: string } | undefined;
  report: LiveReport | undefined;
  abort: AbortController;
  done: Promise<void>;
}

interface OpenedClip {
  clipId: string;
  cameraId: string;
  sequence: number;
  startTime: number;
  plainFile: string;
  index: FrameIndex;
  sealing: SealingFacts;
}

/** The static page: HTML, one script, one stylesheet (no inline script or style anywhere). */
const STATIC_FILES: Record<string, { file: string; type: string }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/viewer.js": { file: "viewer.js", type: "text/javascript; charset=utf-8" },
  "/viewer.css": { file: "viewer.css", type: "text/css; charset=utf-8" },
};

/** The page's folder: next to this file (sources, jest) or in the repository above the bundled CLI (dist/). */
export function defaultStaticDir(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    for (const candidate of [path.join(dir, "static"), path.join(dir, "host-tools", "phone", "view", "static")]) {
      if (fs.existsSync(path.join(candidate, "index.html")) && fs.existsSync(path.join(candidate, "viewer.js"))) return candidate;
    }
    if (path.dirname(dir) === dir) throw new Error(`cannot find the viewer's page (host-tools/phone/view/static) from ${__dirname}`);
  }
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && nodeCrypto.timingSafeEqual(x, y);
}

function cookieValue(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

function securityHeaders(): Record<string, string> {
  return {
    "content-security-policy": VIEWER_CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
  };
}

function send(res: http.ServerResponse, status: number, type: string, body: Uint8Array | string, extra: Record<string, string> = {}): void {
  const bytes = typeof body === "string" ? Buffer.from(body) : body;
  res.writeHead(status, { ...securityHeaders(), "content-type": type, "content-length": String(bytes.length), ...extra });
  res.end(bytes);
}

function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  send(res, status, "application/json; charset=utf-8", JSON.stringify(value));
}

function sendError(res: http.ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { error: { code, message } });
}

/** Reads one JPEG of a verified plaintext by its offset. */
function readFrame(file: string, offset: number, length: number): Uint8Array {
  const fd = fs.openSync(file, "r");
  try {
    const out = new Uint8Array(length);
    let got = 0;
    while (got < length) {
      const n = fs.readSync(fd, out, got, length - got, offset + got);
      if (n === 0) throw new SealcamError("E_TRUNCATED", "decrypted clip ended early");
      got += n;
    }
    return out;
  } finally {
    fs.closeSync(fd);
  }
}

export async function startViewer(options: ViewerOptions): Promise<Viewer> {
  const phone = options.phone;
  const token = options.token ?? nodeCrypto.randomBytes(32).toString("base64url");
  if (!/^[A-Za-z0-9_-]{32,}$/.test(token)) throw new SealcamError("E_ARGUMENT", "viewer token must be 32+ base64url characters");
  const staticDir = options.staticDir ?? defaultStaticDir();
  const assets = new Map<string, { type: string; body: Buffer }>();
  for (const [route, { file, type }] of Object.entries(STATIC_FILES)) assets.set(route, { type, body: fs.readFileSync(path.join(staticDir, file)) });
  // The phone's state must be readable before anything is served (fails early when not enrolled).
  phone.state();
  const workDir = fs.mkdtempSync(path.join(phone.home, "view-"));
  fs.chmodSync(workDir, 0o700);

  /** Clips the last listing showed as verified: the only ones the page may open. */
  let listed = new Map<string, VerifiedClip>();
  /** Clips `Phone.open` verified and decrypted: the only ones whose frames are served. */
  const opened = new Map<string, OpenedClip>();
  const opening = new Map<string, Promise<OpenedClip>>();
  let port = 0;
  let closed = false;

  const openClip = async (clipId: string): Promise<OpenedClip> => {
    const done = opened.get(clipId);
    if (done) return done;
    const pending = opening.get(clipId);
    if (pending) return pending;
    const clip = listed.get(clipId);
    if (!clip) throw new SealcamError("E_NOT_FOUND", "that clip is not among the verified clips listed: reload the clip list");
    const work = async (): Promise<OpenedClip> => {
      const dir = fs.mkdtempSync(path.join(workDir, "clip-"));
      const plainFile = path.join(dir, "clip.plain");
      try {
        const result = await phone.open(clipId, plainFile, undefined, { cameraId: clip.cameraId, sequence: clip.sequence, startTime: clip.startTime });
        if (result.sealing.contentType !== CONTENT_TYPE_FRAMES) {
          throw new SealcamError("E_FORMAT", `clip holds ${result.sealing.contentType}, not video frames: the viewer cannot play it`);
        }
        const index = indexFrames(plainFile);
        const entry: OpenedClip = {
          clipId: result.clipId, cameraId: result.cameraId, sequence: result.sequence, startTime: result.startTime, plainFile, index, sealing: result.sealing,
        };
        if (closed) throw new SealcamError("E_STATE", "the viewer is closing");
        opened.set(clipId, entry);
        return entry;
      } catch (error) {
        fs.rmSync(dir, { recursive: true, force: true });
        throw error;
      }
    };
    const promise = work().finally(() => opening.delete(clipId));
    opening.set(clipId, promise);
    return promise;
  };

  /**
   * A listed clip's snapshot (FORMAT §3.1), opened by `Phone.open` like a clip (head, segment, footer verified;
   * its signed `of` must name this clip, same camera), kept in memory once opened. Only clips of the last
   * listing, and only the snapshot that listing paired with them from verified heads.
   */
  const snapshots = new Map<string, Promise<Uint8Array>>();
  const openSnapshot = (clipId: string): Promise<Uint8Array> => {
    const known = snapshots.get(clipId);
    if (known) return known;
    const clip = listed.get(clipId);
    const snapshotId = clip?.snapshot?.snapshotId;
    if (!clip || !snapshotId) return Promise.reject(new SealcamError("E_NOT_FOUND", "that clip has no verified snapshot in the last listing: reload the clip list"));
    const work = (async () => {
      const dir = fs.mkdtempSync(path.join(workDir, "snap-"));
      try {
        const file = path.join(dir, "snapshot.jpg");
        const result = await phone.open(snapshotId, file, undefined, { cameraId: clip.cameraId });
        if (result.snapshotOf !== clipId) throw new SealcamError("E_FORMAT", "the snapshot's signed header does not name this clip");
        return new Uint8Array(fs.readFileSync(file));
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    })();
    snapshots.set(clipId, work);
    work.catch(() => snapshots.delete(clipId));
    return work;
  };

  /** The recipients with what each is, from the current roster (verified against the pinned root). */
  const describeRecipients = async (sealing: SealingFacts) => {
    let roles = new Map<string, { role: string; name: string | null }>();
    try {
      roles = new Map((await phone.roster()).entries.map((e) => [e.keyId, { role: e.role, name: e.name }]));
    } catch {
      // The roster is only for labels; the facts below stand without it.
    }
    return sealing.recipients.map((r) => {
      const known = roles.get(r.keyId);
      return {
        alg: r.alg, keyId: r.keyId,
        role: r.keyId === sealing.phoneKeyId ? "this phone" : known ? (known.role === "account-data" ? "account data key" : known.role) : "not in the current roster",
        name: known?.name ?? null,
        openedWith: (sealing.openedWith === "phone" && r.keyId === sealing.phoneKeyId) || (sealing.openedWith === "account-data" && known?.role === "account-data"),
      };
    });
  };

  const clipSummary = async (c: OpenedClip) => ({
    clipId: c.clipId, cameraId: c.cameraId, sequence: c.sequence, startTime: c.startTime,
    width: c.index.width, height: c.index.height, durationMs: c.index.durationMs,
    frames: c.index.frames.map((f) => ({ time: f.time })),
    sealing: {
      cameraSignatureValid: true, segments: c.sealing.segments, rosterVersion: c.sealing.rosterVersion, contentType: c.sealing.contentType,
      openedWith: c.sealing.openedWith, recipients: await describeRecipients(c.sealing),
    },
  });

  /** Live View: at most one per camera; frames are kept in memory only (the newest one), never on disk. */
  const lives = new Map<string, LiveWatch>();
  const stopLive = async (cameraId: string): Promise<void> => {
    const live = lives.get(cameraId);
    if (!live) return;
    live.abort.abort();
    await live.done;
  };
  const startLive = async (cameraId: string): Promise<LiveWatch> => {
    await stopLive(cameraId);
    const abort = new AbortController();
    const live: LiveWatch = { state: "starting", frames: 0, latest: undefined, error: undefined, report: undefined, abort, done: Promise.resolve() };
    live.done = watchLive(phone, cameraId, {
      durationMs: VIEW_LIVE_MAX_MS, signal: abort.signal,
      onFrame: (frame) => {
        live.state = "live";
        live.frames++;
        live.latest = { index: frame.index, time: frame.time, latencyMs: frame.latencyMs, jpeg: Uint8Array.from(frame.jpeg) };
      },
    }).then((report) => {
      live.report = report;
      live.state = "ended";
    }, (error: unknown) => {
      live.state = "failed";
      live.error = error instanceof SealcamError ? { code: error.code, message: error.message } : { code: "E_INTERNAL", message: "live view failed; see the viewer's terminal" };
      if (!(error instanceof SealcamError)) process.stderr.write(`sealcam phone view: ${(error as Error).stack ?? String(error)}\n`);
    });
    lives.set(cameraId, live);
    return live;
  };
  const liveStatus = (live: LiveWatch) => ({
    state: live.state, frames: live.frames, error: live.error ?? null,
    frame: live.latest ? { index: live.latest.index, time: live.latest.time, latencyMs: live.latest.latencyMs } : null,
    ended: live.report ? { by: live.report.endedBy, reason: live.report.cameraReason ?? null, framesPerSecond: live.report.framesPerSecond, latencyMs: live.report.latencyMs } : null,
  });

  const api = async (req: http.IncomingMessage, res: http.ServerResponse, route: string): Promise<void> => {
    const method = req.method ?? "GET";
    const live = /^\/api\/live\/([^/]{1,64})(?:\/(start|stop|frame))?$/.exec(route);
    if (live) {
      const [, cameraId, action] = live;
      if (!isCameraId(cameraId)) return sendError(res, 400, "E_ARGUMENT", "not a camera id");
      if (method === "POST" && action === "start") return sendJson(res, 200, liveStatus(await startLive(cameraId)));
      if (method === "POST" && action === "stop") {
        await stopLive(cameraId);
        const watch = lives.get(cameraId);
        return sendJson(res, 200, watch ? liveStatus(watch) : { state: "ended" });
      }
      const watch = lives.get(cameraId);
      if (!watch) return sendError(res, 404, "E_NOT_FOUND", "no live view of this camera was started here");
      if (method === "GET" && action === undefined) return sendJson(res, 200, liveStatus(watch));
      if (method === "GET" && action === "frame") {
        if (!watch.latest) return sendError(res, 404, "E_NOT_FOUND", "no live frame yet");
        return send(res, 200, "image/jpeg", watch.latest.jpeg, { "x-sealcam-frame": String(watch.latest.index) });
      }
      return sendError(res, 405, "E_ARGUMENT", "method not allowed");
    }
    if (method === "GET" && route === "/api/cameras") return sendJson(res, 200, { cameras: await phone.cameras() });
    if (method === "GET" && route === "/api/clips") {
      const clips = await phone.clips();
      listed = new Map(clips.filter((c): c is VerifiedClip => c.verified).map((c) => [c.clipId, c]));
      return sendJson(res, 200, {
        clips: clips.map((c) => c.verified
          ? {
            verified: true, clipId: c.clipId, cameraId: c.cameraId, sequence: c.sequence, startTime: c.startTime, contentType: c.contentType,
            rosterVersion: c.rosterVersion, uploadComplete: c.complete, durationMs: opened.get(c.clipId)?.index.durationMs ?? null,
            frames: opened.get(c.clipId)?.index.frames.length ?? null,
            snapshot: c.snapshot && c.snapshot.complete ? { snapshotId: c.snapshot.snapshotId } : null,
          }
          : { verified: false, clipId: c.clipId, reason: c.reason }),
      });
    }
    let m = /^\/api\/clips\/([0-9a-f]{32})\/open$/.exec(route);
    if (m && method === "POST") {
      try {
        return sendJson(res, 200, await clipSummary(await openClip(m[1])));
      } catch (error) {
        if (error instanceof SealcamError) return sendError(res, 422, error.code, error.message);
        throw error;
      }
    }
    m = /^\/api\/clips\/([0-9a-f]{32})\/snapshot$/.exec(route);
    if (m && method === "GET") {
      try {
        return send(res, 200, "image/jpeg", await openSnapshot(m[1]));
      } catch (error) {
        if (error instanceof SealcamError) return sendError(res, 422, error.code, error.message);
        throw error;
      }
    }
    m = /^\/api\/clips\/([0-9a-f]{32})\/frames\/(\d{1,7})$/.exec(route);
    if (m && method === "GET") {
      const clip = opened.get(m[1]);
      if (!clip) return sendError(res, 404, "E_NOT_FOUND", "that clip is not opened (and verified) in this viewer");
      const frame = clip.index.frames[Number(m[2])];
      if (!frame) return sendError(res, 404, "E_NOT_FOUND", "no such frame");
      return send(res, 200, "image/jpeg", readFrame(clip.plainFile, frame.offset, frame.length));
    }
    return sendError(res, 404, "E_NOT_FOUND", "no such endpoint");
  };

  const server = http.createServer((req, res) => {
    void (async () => {
      const host = req.headers.host ?? "";
      if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) {
        return send(res, 403, "text/plain; charset=utf-8", `403: this viewer answers only to http://127.0.0.1:${port}/ (Host was not that address)\n`);
      }
      if (req.headers["sec-fetch-site"] === "cross-site" || req.headers["sec-fetch-site"] === "same-site") {
        return send(res, 403, "text/plain; charset=utf-8", "403: cross-site requests are refused\n");
      }
      const url = new URL(req.url ?? "/", `http://${host}`);
      const given = url.searchParams.get("token");
      if (url.pathname === "/" && given !== null) {
        if (!sameSecret(given, token)) return send(res, 403, "text/plain; charset=utf-8", "403: wrong token: open the URL `sealcam phone view` printed\n");
        return send(res, 303, "text/plain; charset=utf-8", "", {
          location: "/",
          "set-cookie": `${COOKIE_NAME}=${token}; HttpOnly; SameSite=Strict; Path=/`,
        });
      }
      const cookie = cookieValue(req.headers.cookie, COOKIE_NAME);
      if (cookie === null || !sameSecret(cookie, token)) {
        return send(res, 403, "text/plain; charset=utf-8", "403: open the URL `sealcam phone view` printed (it carries this run's token)\n");
      }
      const method = req.method ?? "GET";
      if (method !== "GET" && method !== "HEAD") {
        // A state-changing request comes from this page only.
        if (req.headers.origin !== `http://${host}`) return send(res, 403, "text/plain; charset=utf-8", "403: request from another origin\n");
      }
      req.resume();
      const asset = assets.get(url.pathname);
      if (asset && method === "GET") return send(res, 200, asset.type, asset.body);
      if (url.pathname.startsWith("/api/")) return api(req, res, url.pathname);
      return send(res, 404, "text/plain; charset=utf-8", "404\n");
    })().catch((error: unknown) => {
      if (res.headersSent) return res.destroy();
      if (error instanceof SealcamError) sendError(res, 502, error.code, error.message);
      else sendError(res, 500, "E_INTERNAL", "the viewer failed; see its terminal");
      if (!(error instanceof SealcamError)) process.stderr.write(`sealcam phone view: ${(error as Error).stack ?? String(error)}\n`);
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
    });
  } catch (error) {
    fs.rmSync(workDir, { recursive: true, force: true });
    throw error;
  }
  port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;
  return {
    url: `${origin}/?token=${token}`, origin, port, token, workDir,
    close: async () => {
      closed = true;
      await Promise.allSettled([...lives.keys()].map((cameraId) => stopLive(cameraId)));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.allSettled([...opening.values()]);
      opened.clear();
      fs.rmSync(workDir, { recursive: true, force: true });
    },
  };
}
