/**
 * Live view on the camera (docs/PROTOCOL.md §13): one outbound WebSocket to the cloud, signed like every
 * camera request; on each OPEN from the relay a live session (firmware/core/live) sealed to every phone of
 * the current verified roster and to every stream key of it whose scope covers stream `live`, this camera and
 * the session's start on the camera's clock (never a key held by the cloud), carrying the requester's challenge. Frames come from the watcher, the one
 * reader of the camera (`offer`), so recording goes on untouched: a clip triggered meanwhile is recorded
 * from the same frames. Limits: `maxSessions` at once, `maxDurationMs` each, at most `framesPerSecond` per
 * session, and a frame is dropped (never sealed, never queued) when the socket is backed up.
 */
import type { Clock } from "../platform/clock";
import type { Crypto } from "../platform/crypto";
import type { Frame } from "../platform/camera";
import type { WebSocketClient, WebSocketConnection } from "../platform/websocket";
import { asciiBytes, asciiString, concat, readU32be, u32be } from "../core/bytes";
import { signRequest } from "../core/request-auth";
import { LiveSealer, MAX_LIVE_JPEG, CHALLENGE_LENGTH } from "../core/live/index";
import { streamRecipientsFor } from "../core/stream-scope";
import type { CameraIdentity } from "./cloud";
import { describeError, type Events } from "./events";
import type { RosterKeeper } from "./roster-keeper";

export interface LiveConfig {
  /** Offer live view at all (needs platform.webSocket and the motion watcher). */
  enabled: boolean;
  /** Sessions at once; more are refused with E_LIMIT. */
  maxSessions: number;
  /** A session ends (final frame) after this long. */
  maxDurationMs: number;
  /** Frames per second per session at most (never more than the sensor gives). */
  framesPerSecond: number;
  /** A frame is dropped while the socket holds more unsent bytes than this. */
  maxBufferedBytes: number;
  /** Wait before reconnecting the socket. */
  retryMs: number;
  /**
   * The watcher counts as running only if it handed live view a frame within this long (ms); else a new
   * session is refused with E_STATE (motion off, watcher stopped or crashed, sensor delivering nothing).
   */
  watcherStaleMs: number;
}

export const DEFAULT_LIVE: LiveConfig = {
  enabled: true, maxSessions: 2, maxDurationMs: 5 * 60 * 1000, framesPerSecond: 10, maxBufferedBytes: 128 * 1024, retryMs: 2000, watcherStaleMs: 2000,
};

export const LIVE_PATH = "/v1/camera/live";
const OPEN = 0x10;
const DATA = 0x11;
const CLOSE = 0x12;

interface Session {
  channel: number;
  sealer: LiveSealer;
  started: number;
  lastFrame: number;
  dropped: number;
  timer: number;
}

export interface LiveDeps {
  ws: WebSocketClient;
  crypto: Crypto;
  clock: Clock;
  events: Events;
  config: LiveConfig;
  identity: CameraIdentity;
  roster: RosterKeeper;
  cloudUrl: string;
  /** May the socket be up now (Wi-Fi up, registered, running)? */
  online(): boolean;
  /** Does a frame source (the motion watcher) exist and has it been started? */
  hasFrames(): boolean;
}

/** http(s)://host[:port][/prefix] -> ws(s)://host[:port][/prefix]/v1/camera/live */
export function liveUrl(cloudUrl: string): string {
  return cloudUrl.replace(/^http/, "ws").replace(/\/+$/, "") + LIVE_PATH;
}

export class LiveView {
  private conn: WebSocketConnection | undefined;
  private connecting = false;
  private running = false;
  private retryTimer: number | undefined;
  private readonly sessions = new Map<number, Session>();
  /** Clock time of the last frame offered (from the watcher, or the recorder while a clip records). */
  private lastOffered = -Infinity;
  sessionsStarted = 0;
  framesSent = 0;
  framesDropped = 0;

  constructor(private readonly d: LiveDeps) {}

  get active(): number {
    return this.sessions.size;
  }

  get connected(): boolean {
    return this.conn !== undefined;
  }

  /** Keeps the socket up from now on (reconnecting after `retryMs`) while `online()`. */
  start(): void {
    if (!this.d.config.enabled) return;
    this.running = true;
    this.kick();
  }

  /** Connects now if it should and is not connected. */
  kick(): void {
    if (!this.running || this.conn || this.connecting || !this.d.online()) return;
    this.connecting = true;
    void this.connect().finally(() => {
      this.connecting = false;
    });
  }

  private async connect(): Promise<void> {
    const { crypto, clock, identity } = this.d;
    const headers = signRequest(crypto, identity.key, { cameraId: identity.cameraId, method: "GET", path: LIVE_PATH, body: new Uint8Array(0), timestamp: clock.now() });
    let conn: WebSocketConnection;
    try {
      conn = await this.d.ws.connect(liveUrl(this.d.cloudUrl), headers, this.d.config.maxBufferedBytes * 2);
    } catch (error) {
      const { code, message } = describeError(error);
      this.d.events.warn("live.connect-fail", "could not open the live-view link; will retry", { code, reason: message });
      this.retry();
      return;
    }
    if (!this.running) {
      conn.close();
      return;
    }
    this.conn = conn;
    this.d.events.info("live.connected", "live-view link to the cloud is up", {});
    conn.onMessage((data) => this.onMessage(conn, data));
    conn.onClose((reason) => {
      if (this.conn !== conn) return;
      this.conn = undefined;
      for (const s of [...this.sessions.values()]) this.drop(s, "link closed");
      this.d.events.info("live.disconnected", "live-view link closed", { reason: reason.slice(0, 80) });
      this.retry();
    });
  }

  private retry(): void {
    if (!this.running || this.retryTimer !== undefined) return;
    this.retryTimer = this.d.clock.setTimeout(() => {
      this.retryTimer = undefined;
      this.kick();
    }, this.d.config.retryMs);
  }

  private envelope(type: number, channel: number, payload: Uint8Array): Uint8Array {
    return concat(new Uint8Array([type]), u32be(channel), payload);
  }

  private closeChannel(conn: WebSocketConnection, channel: number, reason: string): void {
    conn.send(this.envelope(CLOSE, channel, asciiBytes(reason.slice(0, 200).replace(/[^\x20-\x7e]/g, "?"))));
  }

  private onMessage(conn: WebSocketConnection, data: Uint8Array): void {
    if (data.length < 5) return;
    const channel = readU32be(data, 1);
    if (data[0] === OPEN && data.length === 5 + CHALLENGE_LENGTH) this.open(conn, channel, data.slice(5));
    else if (data[0] === CLOSE) {
      const s = this.sessions.get(channel);
      if (s) this.drop(s, `phone left (${asciiString(data.subarray(5, 85)).replace(/[^\x20-\x7e]/g, "?")})`);
    } else this.d.events.debug("live.ignored", "unknown relay message ignored", { type: data[0] });
  }

  private open(conn: WebSocketConnection, channel: number, challenge: Uint8Array): void {
    const { config, events, clock } = this.d;
    if (this.sessions.has(channel)) return;
    if (this.sessions.size >= config.maxSessions) {
      events.info("live.refused", "live session refused: limit reached", { sessions: this.sessions.size });
      this.closeChannel(conn, channel, `E_LIMIT: at most ${config.maxSessions} live sessions at once`);
      return;
    }
    if (!this.watching) {
      events.info("live.refused", "live session refused: the motion watcher is not running", {});
      this.closeChannel(conn, channel, this.d.hasFrames()
        ? `E_STATE: the camera's motion watcher has delivered no frame for ${config.watcherStaleMs} ms (sensor stopped or failed); restart the camera, then try again`
        : "E_STATE: the camera's motion watcher is off (live view needs it): turn motion detection on in the camera's config, then try again");
      return;
    }
    let sealer: LiveSealer;
    const roster = this.d.roster.current;
    let streamCount = 0;
    try {
      const phones = [];
      for (const r of roster.recipients) if (r.kind === "hpke-p256") phones.push({ keyId: r.keyId, publicKey: r.publicKey });
      const startTime = clock.now();
      // The camera's decision (PROTOCOL §14.3) with stream "live" and the session's start on its own clock;
      // a key held by the cloud never gets live view, whatever its scope lists. The roster's one limit of 16
      // entries (one the data key) keeps phones + stream keys within the head's 15.
      const liveKeys = { streamKeys: roster.streamKeys.filter((k) => k.scope.holder !== "cloud") };
      const streams = streamRecipientsFor(liveKeys, { cameraId: this.d.identity.cameraId, stream: "live", captureTime: startTime })
        .map((k) => ({ keyId: k.keyId, publicKey: k.publicKey }));
      streamCount = streams.length;
      sealer = new LiveSealer({
        crypto: this.d.crypto, cameraKey: this.d.identity.key, cameraId: this.d.identity.cameraId,
        cameraCertHash: this.d.crypto.sha256(this.d.identity.certificate), rosterVersion: roster.version, phones, streams,
        startTime, challenge, maxDurationMs: config.maxDurationMs,
      });
    } catch (error) {
      const { code, message } = describeError(error);
      this.closeChannel(conn, channel, `${code}: ${message}`);
      return;
    }
    const session: Session = { channel, sealer, started: clock.now(), lastFrame: -Infinity, dropped: 0, timer: 0 };
    session.timer = clock.setTimeout(() => this.end(session, "end: maximum duration"), config.maxDurationMs);
    this.sessions.set(channel, session);
    this.sessionsStarted++;
    conn.send(this.envelope(DATA, channel, sealer.headMessage));
    events.info("live.start", "live session started", { channel, roster: roster.version, streams: streamCount, sessions: this.sessions.size });
  }

  /**
   * Is the motion watcher running, as live view needs it (PROTOCOL §13): it exists (motion on), was started,
   * and handed over a frame within `watcherStaleMs`.
   */
  get watching(): boolean {
    return this.d.hasFrames() && this.d.clock.now() - this.lastOffered <= this.d.config.watcherStaleMs;
  }

  /** A captured frame (from the watcher or the recorder): sealed into each session that wants one now. */
  offer(frame: Frame): void {
    this.lastOffered = this.d.clock.now();
    const conn = this.conn;
    if (!conn || this.sessions.size === 0) return;
    const { config } = this.d;
    const interval = 1000 / config.framesPerSecond;
    for (const s of [...this.sessions.values()]) {
      if (frame.time - s.lastFrame < interval * 0.9) continue;
      if (frame.jpeg.length > MAX_LIVE_JPEG || conn.buffered > config.maxBufferedBytes) {
        // Dropped before sealing: the phone sees contiguous indices at a lower rate.
        s.dropped++;
        this.framesDropped++;
        continue;
      }
      s.lastFrame = frame.time;
      if (!conn.send(this.envelope(DATA, s.channel, s.sealer.seal(frame)))) {
        this.drop(s, "link full");
        continue;
      }
      this.framesSent++;
    }
  }

  /** A clean end: the final frame, then CLOSE. */
  private end(s: Session, reason: string): void {
    if (this.sessions.get(s.channel) !== s) return;
    this.sessions.delete(s.channel);
    this.d.clock.clearTimeout(s.timer);
    const conn = this.conn;
    if (conn) {
      conn.send(this.envelope(DATA, s.channel, s.sealer.finish()));
      this.closeChannel(conn, s.channel, reason);
    } else s.sealer.abort();
    this.d.events.info("live.end", "live session ended", { channel: s.channel, frames: s.sealer.frames, dropped: s.dropped, reason: reason.slice(0, 60) });
  }

  /** The phone or the link is gone: no final frame can reach anyone. */
  private drop(s: Session, reason: string): void {
    if (this.sessions.get(s.channel) !== s) return;
    this.sessions.delete(s.channel);
    this.d.clock.clearTimeout(s.timer);
    s.sealer.abort();
    this.d.events.info("live.end", "live session ended", { channel: s.channel, frames: s.sealer.frames, dropped: s.dropped, reason: reason.slice(0, 60) });
  }

  /** Setup mode, unenroll, power-off: sessions end cleanly and the socket closes. */
  stop(): void {
    this.running = false;
    for (const s of [...this.sessions.values()]) this.end(s, "end: the camera stopped live view");
    if (this.retryTimer !== undefined) this.d.clock.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const conn = this.conn;
    this.conn = undefined;
    conn?.close();
  }
}
