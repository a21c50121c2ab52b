/**
 * The live-view relay (docs/PROTOCOL.md §13, docs/CLOUD-API.md "Live view"): WebSocket upgrades on the
 * cloud's node:http server, handled with `ws` in noServer mode. Each camera keeps one socket
 * (`GET /v1/camera/live`, authenticated from its signed headers before the upgrade); a phone asks for a
 * session with its own socket (`GET /v1/live/:cameraId?challenge=…`, bearer session). A viewer (no account
 * session) asks on the same path with a proof of a stream key instead (the mailbox's scheme, PROTOCOL §13.6):
 * admitted only while the camera's account's CURRENT roster lists that key with `live` in scope for this
 * camera, now (liveViewerGrant). The relay pairs requester and camera by a channel number and copies opaque
 * bytes: it cannot read a frame, and it stores nothing.
 */
import { randomBytes } from "node:crypto";
import type * as http from "node:http";
import type { Duplex } from "node:stream";
import { WebSocket, WebSocketServer, type RawData } from "ws";
import { fromBase64Url, toHex } from "../../firmware/core/bytes";
import { isSealcamError, type ErrorCode } from "../../firmware/core/errors";
import { verifyRoster } from "../../firmware/core/roster";
import { scopeCovers } from "../../firmware/core/stream-scope";
import type { Crypto } from "../../firmware/platform/crypto";
import { NodeCrypto } from "../platform/node-crypto";
import { HttpError, describeError } from "./http-util";
import type { Store } from "./store";
import type { Logger } from "./log";

export const ENVELOPE_OPEN = 0x10;
export const ENVELOPE_DATA = 0x11;
export const ENVELOPE_CLOSE = 0x12;
/** An end-to-end message is at most 65535 bytes (FORMAT §12.3); the envelope adds 5. */
export const MAX_CAMERA_MESSAGE = 65535 + 5;
export const MAX_REASON = 200;
/** Across nodes (PostgreSQL): the NOTIFY channel, the largest piece of a DATA payload per notification (its
 * base64 and the JSON around it stay under PostgreSQL's 8000-byte payload limit), how long a phone's node waits
 * for the camera's node to answer. */
const RELAY_CHANNEL = "sealcam_live";
const RELAY_CHUNK = 5400;
const RELAY_ANSWER_MS = 5000;

export interface LiveAuth {
  /** Authenticates a camera's upgrade request from its headers (PROTOCOL §7.1); throws an HttpError. */
  camera(req: http.IncomingMessage): Promise<{ cameraId: string; accountId: string }>;
  /** Authenticates a phone's upgrade request (bearer session); throws an HttpError. */
  phone(req: http.IncomingMessage): Promise<{ accountId: string }>;
  /**
   * A viewer's proof of possession of the key whose SPKI hashes to `to` (the mailbox's scheme, PROTOCOL §14.9:
   * headers x-sealcam-viewer-key, x-sealcam-nonce, x-sealcam-proof) over `GET <target>`, target = the request's
   * path and query as sent. Consumes the nonce only when the proof verifies; throws an HttpError (E_AUTH, E_REPLAY).
   * Without it (and cameraAccount) viewers are refused.
   */
  viewerProof?(req: http.IncomingMessage, to: string, target: string): void | Promise<void>;
  /** The account of a registered camera, with its root certificate and current roster (DER), or null. */
  cameraAccount?(cameraId: string): LiveCameraAccount | null | Promise<LiveCameraAccount | null>;
}

export interface LiveCameraAccount {
  accountId: string;
  rootCertificate: Uint8Array;
  roster: Uint8Array;
}

export interface LiveOptions {
  logger?: Logger;
  /** The cloud's store: with PostgreSQL, live sessions are relayed between nodes through LISTEN/NOTIFY. */
  store?: Store;
  /** Phone sessions relayed at once per camera (the camera itself allows 2). Default 4. */
  phonesPerCamera?: number;
  /** Phone sessions at once per account. Default 8. */
  phonesPerAccount?: number;
  /** A phone whose socket holds more unsent bytes than this misses messages (it then sees E_GAP). Default 4 MiB. */
  maxPhoneBuffer?: number;
  /** The cloud's clock (ms), which decides whether a viewer's stream key is in its window. Default Date.now. */
  now?: () => number;
}

interface CameraLink { cameraId: string; accountId: string; ws: WebSocket; phones: Map<number, PhoneLink> }
/** `remote`: the phone's socket is on another node (its `ws` forwards there, see relayAcrossNodes). */
interface PhoneLink { channel: number; accountId: string; camera: CameraLink; ws: WebSocket; remote?: string }

export interface LiveRelay {
  stats(): { cameras: number; phones: number };
  /** Closes every live socket (the server is stopping). */
  closeAll(): void;
}

function envelope(type: number, channel: number, payload: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + payload.length);
  out[0] = type;
  out.writeUInt32BE(channel, 1);
  out.set(payload, 5);
  return out;
}

function reasonText(payload: Buffer): string {
  return payload.subarray(0, MAX_REASON).toString("latin1").replace(/[^\x20-\x7e]/g, "?");
}

/** Answers a refused upgrade with the cloud's usual JSON error body, on the raw socket. */
function refuse(socket: Duplex, error: unknown): void {
  const reply = describeError(error);
  const body = JSON.stringify({ code: reply.code, message: reply.message });
  const reasons: Record<number, string> = { 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 410: "Gone", 429: "Too Many Requests" };
  const status = `${reply.status} ${reasons[reply.status] ?? "Error"}`;
  socket.end(`HTTP/1.1 ${status}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/**
 * May the holder of the stream key `keyId` (proven) watch `cameraId` live now (PROTOCOL §13.6)? The account's
 * current roster, verified against its root, must list the key as a stream key whose scope covers stream
 * `live`, this camera and `now` (the cloud's clock; the camera decides again on its own clock), held by a
 * viewer, never by the cloud. Throws a typed HttpError otherwise, checked in this order:
 *
 *   403 E_SHARE_REVOKED  the current roster does not list the key (revoked, rotated away, or never shared)
 *   403 E_NO_RECIPIENT   listed, but its scope names other cameras, not the `live` stream, or holder `cloud`
 *   403 E_NO_RECIPIENT   listed and covering camera and stream, but `now` is before its notBefore
 *   410 E_SHARE_EXPIRED  listed and covering camera and stream, but `now` is at or after its notAfter
 *
 * Returns the share's holder (for the log).
 */
export function liveViewerGrant(crypto: Crypto, account: LiveCameraAccount, keyId: Uint8Array, cameraId: string, now: number): string {
  let roster;
  try {
    roster = verifyRoster(crypto, account.roster, account.rootCertificate, { minVersion: 1, accountId: account.accountId });
  } catch (error) {
    // The stored roster was verified when it was published; failing now is the cloud's own fault.
    throw new HttpError(500, "E_INTERNAL", `the account's stored roster does not verify (${isSealcamError(error) ? error.code : "error"})`);
  }
  const id = toHex(keyId);
  const key = roster.streamKeys.find((k) => toHex(k.keyId) === id);
  if (!key) throw new HttpError(403, "E_SHARE_REVOKED", "the account's current roster does not list this stream key (the share was revoked, or never made): ask the owner for a share with live view");
  const scope = key.scope;
  if (scope.holder === "cloud" || !scopeCovers({ ...scope, notBefore: 0, notAfter: null }, { cameraId, stream: "live", captureTime: now })) {
    throw new HttpError(403, "E_NO_RECIPIENT", `this share does not include live view of camera ${cameraId}: ask the owner for a share with --stream live`);
  }
  if (now < scope.notBefore) throw new HttpError(403, "E_NO_RECIPIENT", `this share's live view starts at ${new Date(scope.notBefore).toISOString()}`);
  if (scope.notAfter !== null && now >= scope.notAfter) throw new HttpError(410, "E_SHARE_EXPIRED", `this share ended at ${new Date(scope.notAfter).toISOString()}; ask the owner for a new one`);
  return scope.holder;
}

/** A viewer's live request carries the mailbox's proof headers instead of a bearer session. */
function isViewerRequest(req: http.IncomingMessage): boolean {
  return req.headers.authorization === undefined && req.headers["x-sealcam-viewer-key"] !== undefined;
}

/**
 * Hooks the relay into `server`: its "upgrade" event, and its closeAllConnections (called by the cloud's
 * close and shutdown), which also closes the live sockets (they left the HTTP server's bookkeeping at upgrade).
 */
export function attachLiveRelay(server: http.Server, auth: LiveAuth, options: LiveOptions = {}): LiveRelay {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_CAMERA_MESSAGE, perMessageDeflate: false });
  const cameras = new Map<string, CameraLink>();
  const phonesByAccount = new Map<string, number>();
  const phonesPerCamera = options.phonesPerCamera ?? 4;
  const phonesPerAccount = options.phonesPerAccount ?? 8;
  const maxPhoneBuffer = options.maxPhoneBuffer ?? 4 * 1024 * 1024;
  const now = options.now ?? (() => Date.now());
  const crypto = new NodeCrypto();
  let nextChannel = 1;
  const log = options.logger;

  function dropPhone(phone: PhoneLink, notifyCamera: boolean, reason: string): void {
    if (phone.camera.phones.get(phone.channel) !== phone) return;
    phone.camera.phones.delete(phone.channel);
    if (phone.remote !== undefined) remotePhones.delete(phone.remote);
    else phonesByAccount.set(phone.accountId, (phonesByAccount.get(phone.accountId) ?? 1) - 1);
    if (notifyCamera && phone.camera.ws.readyState === WebSocket.OPEN) {
      phone.camera.ws.send(envelope(ENVELOPE_CLOSE, phone.channel, Buffer.from(reason, "latin1")));
    }
    log?.info("live.phone-closed", { cameraId: phone.camera.cameraId, channel: phone.channel, reason: reason.slice(0, 80) });
  }

  function closePhone(phone: PhoneLink, code: number, reason: string): void {
    dropPhone(phone, false, reason);
    // A close reason is at most 123 bytes.
    if (phone.ws.readyState === WebSocket.OPEN) phone.ws.close(code, reason.slice(0, 120));
  }

  function onCamera(ws: WebSocket, id: { cameraId: string; accountId: string }): void {
    const previous = cameras.get(id.cameraId);
    const link: CameraLink = { ...id, ws, phones: new Map() };
    cameras.set(id.cameraId, link);
    if (previous) {
      for (const phone of [...previous.phones.values()]) closePhone(phone, 1011, "E_NETWORK: the camera reconnected");
      previous.ws.close(1000, "replaced by a new connection");
    }
    log?.info("live.camera", { cameraId: id.cameraId });
    if (store) {
      void store.run("INSERT INTO live_cameras (camera_id, account_id, node_id, connected_at) VALUES (?, ?, ?, ?) ON CONFLICT (camera_id) DO UPDATE SET account_id = excluded.account_id, node_id = excluded.node_id, connected_at = excluded.connected_at",
        [id.cameraId, id.accountId, nodeId, Date.now()]).catch(() => undefined);
      void broadcast({ to: "*", t: "camera", sid: "", cam: id.cameraId });
    }
    ws.on("message", (data, isBinary) => {
      const bytes = toBuffer(data);
      if (!isBinary || bytes.length < 5) return;
      const phone = link.phones.get(bytes.readUInt32BE(1));
      if (!phone) return;
      if (bytes[0] === ENVELOPE_DATA) {
        if (phone.ws.bufferedAmount > maxPhoneBuffer) return; // the phone is too slow: it will see E_GAP
        phone.ws.send(bytes.subarray(5), { binary: true });
      } else if (bytes[0] === ENVELOPE_CLOSE) {
        closePhone(phone, 1000, reasonText(bytes.subarray(5)));
      }
    });
    ws.on("close", () => {
      if (cameras.get(id.cameraId) === link) {
        cameras.delete(id.cameraId);
        if (store) void store.run("DELETE FROM live_cameras WHERE camera_id = ? AND node_id = ?", [id.cameraId, nodeId]).catch(() => undefined);
      }
      for (const phone of [...link.phones.values()]) closePhone(phone, 1011, "E_NETWORK: the camera went offline");
      log?.info("live.camera-closed", { cameraId: id.cameraId });
    });
    ws.on("error", () => ws.terminate());
  }

  function onPhone(ws: WebSocket, accountId: string, camera: CameraLink, challenge: Uint8Array, viewerKey?: string): void {
    const channel = nextChannel;
    nextChannel = nextChannel >= 0xffffffff ? 1 : nextChannel + 1;
    const phone: PhoneLink = { channel, accountId, camera, ws };
    camera.phones.set(channel, phone);
    phonesByAccount.set(accountId, (phonesByAccount.get(accountId) ?? 0) + 1);
    log?.info(viewerKey ? "live.viewer" : "live.phone", { cameraId: camera.cameraId, channel, ...(viewerKey ? { key: viewerKey.slice(0, 16) } : {}) });
    // Nothing from the phone is relayed: it only ever closes.
    ws.on("close", () => dropPhone(phone, true, "end: the phone left"));
    ws.on("error", () => ws.terminate());
    camera.ws.send(envelope(ENVELOPE_OPEN, channel, challenge));
  }

  // ------------------------------------------------------------------------------ across nodes (PostgreSQL)
  /**
   * Several nodes over one PostgreSQL: the node holding a camera's socket records it in `live_cameras`; a
   * phone (or viewer) whose request reaches another node is relayed through NOTIFY on channel `sealcam_live`,
   * messages addressed by node id: `open` (phone node → camera node; the camera node runs the same per-camera
   * checks, picks the channel and sends OPEN to the camera), `opened`/`refused` (the answer; the phone node
   * completes or refuses the upgrade), `data` (camera node → phone node: one DATA payload in base64 chunks of
   * at most RELAY_CHUNK bytes, `more` on all but the last), `close` (the camera or its socket ended the
   * session), `end` (the phone left). A camera connecting on one node closes its older socket on another
   * (`camera`). The relay still only copies opaque bytes; NOTIFY payloads are not stored.
   */
  const store = options.store?.dialect === "postgres" ? options.store : null;
  const nodeId = randomBytes(6).toString("hex");
  interface RelayMessage {
    to: string; from?: string; t: "open" | "opened" | "refused" | "data" | "close" | "end" | "camera"; sid: string;
    cam?: string; acct?: string; ch?: string; key?: string; d?: string; more?: 1; code?: number; reason?: string; status?: number; ecode?: string; message?: string;
  }
  interface RemoteSession { cameraNode: string; accountId: string; ws: WebSocket | null; queue: Buffer[]; parts: Buffer[]; ended: { code: number; reason: string } | null; answer: (m: RelayMessage) => void }
  /** Phone node: sessions whose camera is elsewhere, by session id. */
  const remotes = new Map<string, RemoteSession>();
  /** Camera node: phones on other nodes, by session id. */
  const remotePhones = new Map<string, PhoneLink>();
  // One outgoing queue per node keeps every session's messages in order.
  let outbox: Promise<void> = Promise.resolve();
  const broadcast = (m: RelayMessage): Promise<void> => {
    if (!store) return Promise.resolve();
    const text = JSON.stringify({ ...m, from: nodeId });
    outbox = outbox.then(() => store.notify(RELAY_CHANNEL, text)).catch((error: unknown) => log?.warn("live.relay-failed", { message: (error as Error).message }));
    return outbox;
  };

  /** The camera node's stand-in for a phone socket on another node. */
  function remoteSocket(phoneNode: string, sid: string): WebSocket {
    const sink = {
      readyState: WebSocket.OPEN as number,
      bufferedAmount: 0,
      send(data: Buffer) {
        for (let at = 0; at < data.length || at === 0; at += RELAY_CHUNK) {
          const piece = data.subarray(at, at + RELAY_CHUNK);
          void broadcast({ to: phoneNode, t: "data", sid, d: piece.toString("base64"), ...(at + RELAY_CHUNK < data.length ? { more: 1 as const } : {}) });
          if (data.length === 0) break;
        }
      },
      close(code: number, reason: string) {
        if (sink.readyState !== WebSocket.OPEN) return;
        sink.readyState = WebSocket.CLOSED;
        void broadcast({ to: phoneNode, t: "close", sid, code, reason });
      },
    };
    return sink as unknown as WebSocket;
  }

  function onRelay(text: string): void {
    let m: RelayMessage;
    try {
      m = JSON.parse(text) as RelayMessage;
    } catch {
      return;
    }
    if (m.from === nodeId || (m.to !== nodeId && m.to !== "*") || typeof m.sid !== "string") return;
    if (m.t === "camera") {
      // The camera connected on another node: its socket here is stale.
      const here = m.cam ? cameras.get(m.cam) : undefined;
      if (here) here.ws.close(1000, "replaced by a new connection");
    } else if (m.t === "open") {
      const camera = cameras.get(m.cam ?? "");
      const refuse = (status: number, ecode: string, message: string) => void broadcast({ to: m.from!, t: "refused", sid: m.sid, status, ecode, message });
      if (!camera || camera.accountId !== m.acct || camera.ws.readyState !== WebSocket.OPEN) return refuse(404, "E_NOT_FOUND", `camera ${m.cam} is not online for live view`);
      if (camera.phones.size >= phonesPerCamera) return refuse(429, "E_RATE_LIMIT", `at most ${phonesPerCamera} live sessions per camera`);
      const channel = nextChannel;
      nextChannel = nextChannel >= 0xffffffff ? 1 : nextChannel + 1;
      const phone: PhoneLink = { channel, accountId: camera.accountId, camera, ws: remoteSocket(m.from!, m.sid), remote: m.sid };
      camera.phones.set(channel, phone);
      remotePhones.set(m.sid, phone);
      log?.info(m.key ? "live.viewer" : "live.phone", { cameraId: camera.cameraId, channel, node: m.from, ...(m.key ? { key: m.key.slice(0, 16) } : {}) });
      void broadcast({ to: m.from!, t: "opened", sid: m.sid });
      camera.ws.send(envelope(ENVELOPE_OPEN, channel, Buffer.from(m.ch ?? "", "base64")));
    } else if (m.t === "end") {
      const phone = remotePhones.get(m.sid);
      if (!phone) return;
      (phone.ws as unknown as { readyState: number }).readyState = WebSocket.CLOSED;
      dropPhone(phone, true, "end: the phone left");
    } else {
      const remote = remotes.get(m.sid);
      if (!remote || m.from !== remote.cameraNode) return;
      if (m.t === "opened" || m.t === "refused") return remote.answer(m);
      if (m.t === "data") {
        remote.parts.push(Buffer.from(m.d ?? "", "base64"));
        if (m.more) return;
        const message = Buffer.concat(remote.parts);
        remote.parts = [];
        if (!remote.ws) remote.queue.push(message);
        else if (remote.ws.readyState === WebSocket.OPEN && remote.ws.bufferedAmount <= maxPhoneBuffer) remote.ws.send(message, { binary: true });
      } else if (m.t === "close") {
        remotes.delete(m.sid);
        const code = m.code === 1000 || m.code === 1011 ? m.code : 1011;
        const reason = String(m.reason ?? "").slice(0, 120);
        if (remote.ws) {
          if (remote.ws.readyState === WebSocket.OPEN) remote.ws.close(code, reason);
        } else {
          remote.ended = { code, reason };
          remote.answer({ to: nodeId, t: "refused", sid: m.sid, status: 404, ecode: "E_NOT_FOUND", message: reason });
        }
      }
    }
  }
  if (store) void store.listen(RELAY_CHANNEL, onRelay).catch((error: unknown) => log?.error("live.relay-listen-failed", { message: (error as Error).message }));

  /** A phone (or viewer) on this node, its camera's socket on another: ask that node, then upgrade. */
  async function remoteUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, cameraId: string, accountId: string, challenge: Uint8Array, viewerKey?: string): Promise<void> {
    const row = await store!.get<{ node_id: string; account_id: string }>("SELECT node_id, account_id FROM live_cameras WHERE camera_id = ?", [cameraId]);
    if (!row || row.account_id !== accountId || row.node_id === nodeId) throw new HttpError(404, "E_NOT_FOUND", `camera ${cameraId} is not online for live view`);
    if ((phonesByAccount.get(accountId) ?? 0) >= phonesPerAccount) throw new HttpError(429, "E_RATE_LIMIT", `at most ${phonesPerAccount} live sessions per account`);
    const sid = randomBytes(12).toString("hex");
    let timer: NodeJS.Timeout | undefined;
    const answer = new Promise<RelayMessage>((resolve) => {
      remotes.set(sid, { cameraNode: row.node_id, accountId, ws: null, queue: [], parts: [], ended: null, answer: resolve });
      // A node that died with the camera's socket leaves its row behind: no answer means not online.
      timer = setTimeout(() => resolve({ to: nodeId, t: "refused", sid, status: 404, ecode: "E_NOT_FOUND", message: `camera ${cameraId} is not online for live view` }), RELAY_ANSWER_MS);
    });
    await broadcast({ to: row.node_id, t: "open", sid, cam: cameraId, acct: accountId, ch: Buffer.from(challenge).toString("base64"), ...(viewerKey ? { key: viewerKey } : {}) });
    const reply = await answer;
    clearTimeout(timer);
    const remote = remotes.get(sid);
    if (reply.t !== "opened" || !remote) {
      remotes.delete(sid);
      throw new HttpError(reply.status ?? 404, (reply.ecode ?? "E_NOT_FOUND") as ErrorCode, reply.message ?? `camera ${cameraId} is not online for live view`);
    }
    phonesByAccount.set(accountId, (phonesByAccount.get(accountId) ?? 0) + 1);
    log?.info(viewerKey ? "live.viewer" : "live.phone", { cameraId, node: row.node_id });
    wss.handleUpgrade(req, socket, head, (ws) => {
      remote.ws = ws;
      ws.on("close", () => {
        phonesByAccount.set(accountId, (phonesByAccount.get(accountId) ?? 1) - 1);
        if (remotes.delete(sid)) void broadcast({ to: remote.cameraNode, t: "end", sid });
      });
      ws.on("error", () => ws.terminate());
      for (const message of remote.queue.splice(0)) ws.send(message, { binary: true });
      if (remote.ended) ws.close(remote.ended.code, remote.ended.reason);
    });
  }

  function challengeOf(url: URL): Uint8Array {
    const text = url.searchParams.get("challenge") ?? "";
    let challenge: Uint8Array;
    try {
      challenge = fromBase64Url(text);
    } catch {
      challenge = new Uint8Array(0);
    }
    if (challenge.length !== 16) throw new HttpError(400, "E_FORMAT", "query 'challenge' must be 16 random bytes, base64url");
    return challenge;
  }

  /**
   * A viewer (PROTOCOL §13.6): the proof of a stream key over this request, then that key's live grant in the
   * camera account's current roster, then the same camera and limit checks as a phone's. Every refusal is an
   * HTTP error before any upgrade; the camera hears of nothing unless all pass.
   */
  async function upgradeViewer(req: http.IncomingMessage, socket: Duplex, head: Buffer, cameraId: string, url: URL): Promise<void> {
    // The checks may wait (a storage that answers asynchronously): a socket error meanwhile ends just this socket.
    socket.on("error", () => socket.destroy());
    try {
      const challenge = challengeOf(url);
      if (!auth.viewerProof || !auth.cameraAccount) throw new HttpError(401, "E_AUTH", "this cloud does not admit viewers to live view");
      const keyText = req.headers["x-sealcam-viewer-key"];
      if (typeof keyText !== "string" || !/^[A-Za-z0-9_-]{1,200}$/.test(keyText)) throw new HttpError(401, "E_AUTH", "malformed proof headers");
      const keyId = crypto.sha256(fromBase64Url(keyText));
      const to = toHex(keyId);
      await auth.viewerProof(req, to, req.url ?? "");
      const account = await auth.cameraAccount(cameraId);
      if (!account) throw new HttpError(404, "E_NOT_FOUND", `camera ${cameraId} is not online for live view`);
      liveViewerGrant(crypto, account, keyId, cameraId, now());
      const camera = cameras.get(cameraId);
      if (!camera && store) return await remoteUpgrade(req, socket, head, cameraId, account.accountId, challenge, to);
      if (!camera || camera.accountId !== account.accountId || camera.ws.readyState !== WebSocket.OPEN) {
        throw new HttpError(404, "E_NOT_FOUND", `camera ${cameraId} is not online for live view`);
      }
      if (camera.phones.size >= phonesPerCamera) throw new HttpError(429, "E_RATE_LIMIT", `at most ${phonesPerCamera} live sessions per camera`);
      if ((phonesByAccount.get(account.accountId) ?? 0) >= phonesPerAccount) {
        throw new HttpError(429, "E_RATE_LIMIT", `at most ${phonesPerAccount} live sessions per account`);
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        if (camera.ws.readyState !== WebSocket.OPEN || cameras.get(camera.cameraId) !== camera) {
          ws.close(1011, "E_NETWORK: the camera went offline");
          return;
        }
        onPhone(ws, account.accountId, camera, challenge, to);
      });
    } catch (error) {
      refuse(socket, error);
    }
  }

  async function upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://localhost");
    } catch {
      return refuse(socket, new HttpError(400, "E_FORMAT", "bad request path"));
    }
    try {
      if (url.pathname === "/v1/camera/live") {
        const id = await auth.camera(req);
        wss.handleUpgrade(req, socket, head, (ws) => onCamera(ws, id));
        return;
      }
      const m = /^\/v1\/live\/([a-z0-9][a-z0-9-]{0,63})$/.exec(url.pathname);
      if (!m) throw new HttpError(404, "E_NOT_FOUND", "no such endpoint");
      if (isViewerRequest(req)) {
        await upgradeViewer(req, socket, head, m[1], url);
        return;
      }
      const phone = await auth.phone(req);
      const challenge = challengeOf(url);
      const camera = cameras.get(m[1]);
      if (!camera && store) return await remoteUpgrade(req, socket, head, m[1], phone.accountId, challenge);
      if (!camera || camera.accountId !== phone.accountId || camera.ws.readyState !== WebSocket.OPEN) {
        throw new HttpError(404, "E_NOT_FOUND", `camera ${m[1]} is not online for live view`);
      }
      if (camera.phones.size >= phonesPerCamera) throw new HttpError(429, "E_RATE_LIMIT", `at most ${phonesPerCamera} live sessions per camera`);
      if ((phonesByAccount.get(phone.accountId) ?? 0) >= phonesPerAccount) {
        throw new HttpError(429, "E_RATE_LIMIT", `at most ${phonesPerAccount} live sessions per account`);
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        // The camera may have gone between the checks and the handshake.
        if (camera.ws.readyState !== WebSocket.OPEN || cameras.get(camera.cameraId) !== camera) {
          ws.close(1011, "E_NETWORK: the camera went offline");
          return;
        }
        onPhone(ws, phone.accountId, camera, challenge);
      });
    } catch (error) {
      refuse(socket, error);
    }
  }

  server.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void upgrade(req, socket, head));
  const closeAll = (): void => {
    for (const client of wss.clients) client.terminate();
  };
  const closeAllConnections = server.closeAllConnections.bind(server);
  server.closeAllConnections = () => {
    closeAll();
    closeAllConnections();
  };
  return {
    stats: () => ({ cameras: cameras.size, phones: [...cameras.values()].reduce((n, c) => n + c.phones.size, 0) }),
    closeAll,
  };
}
