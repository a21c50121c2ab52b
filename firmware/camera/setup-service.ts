/**
 * The setup API (docs/PROTOCOL.md, "Camera setup channel"): HTTP requests in, responses out, no sockets.
 * setup-mode.ts mounts it on the platform HttpServer while the soft access point is up.
 *
 *   GET  /setup/v1/info      public facts only: protocol, access point name, whether a phone holds the slot
 *   POST /setup/v1/hello     handshake message 1 -> message 2
 *   POST /setup/v1/confirm   handshake message 3 -> 204
 *   POST /setup/v1/message   a sealed request frame -> a sealed response frame
 *
 * One phone at a time: the first phone whose hello authenticates holds the slot until setup ends, its
 * handshake times out or its session goes idle; any other hello gets 409. Failed handshakes (wrong secret,
 * replayed hello, bad confirmation, handshake timeout) are counted; at `maxSetupFailures` setup mode ends,
 * and each refusal says how many attempts remain. Malformed requests (wrong length, version or type) are
 * refused with 400 and change nothing: their shape is checked before any handshake state is touched, so a
 * bystander cannot free the slot of a phone whose handshake is in progress.
 *
 * The hashes of the last 64 authenticated hellos' phone ephemeral keys are kept in the camera's storage
 * (CameraStore, `s.hellos`): loaded when setup mode starts and written before the reply to a hello goes
 * out, so a hello captured in one setup session is refused in every later one, across reboots.
 */
import type { Clock } from "../platform/clock";
import type { Crypto } from "../platform/crypto";
import type { HttpRequest, HttpResponse } from "../platform/network";
import { fromHex, toHex, utf8Bytes, utf8String } from "../core/bytes";
import { fail, SealcamError } from "../core/errors";
import { MSG_CONFIRM, SetupResponder, SetupSession, SETUP_PROTOCOL_NAME, SETUP_VERSION } from "../core/setup-channel";
import type { CameraAppConfig } from "./config";
import { describeError, type Events } from "./events";

export type SetupOp = { op: string } & Record<string, unknown>;

export interface SetupHandlers {
  /** The reply payload of message 2 (public camera facts). */
  describe(): Record<string, string | number | boolean>;
  /** Runs one authenticated request; returns the response object or throws a SealcamError. */
  run(request: SetupOp): Promise<Record<string, unknown>>;
  /** Called when the service decides setup mode must end: success, too many failures. */
  end(reason: "success" | "too-many-failures"): void;
}

/** Where the seen-hello list lives across setup sessions and reboots (CameraStore in the app). */
export interface SeenHelloStore {
  loadSeenHellos(): Uint8Array[];
  saveSeenHellos(hashes: Uint8Array[]): void;
}

type Slot =
  | { kind: "idle" }
  | { kind: "handshake"; responder: SetupResponder; since: number }
  | { kind: "session"; session: SetupSession; last: number; busy: boolean };

const MAX_SEEN = 64;
const MAX_BODY = 70 * 1024;
/** Message 3 is exactly `01 03 || AES-GCM("sealcam-setup/1 confirm")`: 2 + 23 + 16 bytes. */
export const CONFIRM_LENGTH = 2 + "sealcam-setup/1 confirm".length + 16;

function jsonResponse(status: number, value: unknown): HttpResponse {
  return { status, headers: { "content-type": "application/json" }, body: utf8Bytes(JSON.stringify(value)) };
}

function errorResponse(status: number, code: string, message: string): HttpResponse {
  return jsonResponse(status, { error: { code, message } });
}

function binary(body: Uint8Array): HttpResponse {
  return { status: 200, headers: { "content-type": "application/octet-stream" }, body };
}

function statusFor(code: string): number {
  switch (code) {
    case "E_AUTH": return 401;
    case "E_CONFLICT": return 409;
    case "E_RATE_LIMIT": return 429;
    case "E_STATE": return 409;
    case "E_LIMIT": return 413;
    default: return 400;
  }
}

export class SetupService {
  private slot: Slot = { kind: "idle" };
  private failures = 0;
  private ended = false;
  private readonly seenHellos: string[];

  constructor(
    private readonly crypto: Crypto,
    private readonly clock: Clock,
    private readonly events: Events,
    private readonly psk: Uint8Array,
    private readonly ssid: string,
    private readonly config: CameraAppConfig,
    private readonly handlers: SetupHandlers,
    private readonly seenStore: SeenHelloStore,
  ) {
    this.seenHellos = seenStore.loadSeenHellos().map((h) => toHex(h));
  }

  get failureCount(): number {
    return this.failures;
  }

  get slotState(): "idle" | "handshake" | "session" {
    return this.slot.kind;
  }

  /** Stops answering (setup mode is over) and forgets all keys. */
  close(): void {
    this.ended = true;
    this.release();
  }

  async handle(request: HttpRequest): Promise<HttpResponse> {
    try {
      if (this.ended) return errorResponse(410, "E_STATE", "setup mode has ended");
      this.expire();
      const path = request.path.split("?")[0];
      if (request.body.length > MAX_BODY) return errorResponse(413, "E_LIMIT", "request body too large");
      if (path === "/setup/v1/info") {
        if (request.method !== "GET") return errorResponse(405, "E_FORMAT", "use GET");
        return jsonResponse(200, { protocol: SETUP_PROTOCOL_NAME, ssid: this.ssid, busy: this.slot.kind !== "idle" });
      }
      if (request.method !== "POST") return errorResponse(405, "E_FORMAT", "use POST");
      if (path === "/setup/v1/hello") return this.hello(request.body);
      if (path === "/setup/v1/confirm") return this.confirm(request.body);
      if (path === "/setup/v1/message") return await this.message(request.body);
      return errorResponse(404, "E_NOT_FOUND", "no such setup endpoint");
    } catch (error) {
      const { code, message } = describeError(error);
      this.events.warn("setup.reject", "setup request refused", { code, reason: message });
      return errorResponse(statusFor(code), code, message);
    }
  }

  /** What a refused phone is told about the attempts that remain (the phone prints it). */
  private attemptsLeft(): string {
    const left = this.config.maxSetupFailures - this.failures;
    if (left <= 0) return "too many failed attempts, setup mode has ended: restart it on the camera (power-cycle it or type `setup <label secret>` on its console)";
    return `${left} attempt${left === 1 ? "" : "s"} left before setup mode ends`;
  }

  private fail(reason: string): void {
    this.failures++;
    this.events.warn("setup.fail", "setup handshake failed", { reason, failures: this.failures, max: this.config.maxSetupFailures });
    if (this.failures >= this.config.maxSetupFailures && !this.ended) {
      this.ended = true;
      this.release();
      this.events.warn("setup.locked", "too many failed setup attempts; setup mode ends", { failures: this.failures });
      this.handlers.end("too-many-failures");
    }
  }

  private release(): void {
    if (this.slot.kind === "session") this.slot.session.close();
    this.slot = { kind: "idle" };
  }

  /** Frees a slot whose handshake or session has gone stale. */
  private expire(): void {
    const now = this.clock.now();
    if (this.slot.kind === "handshake" && now - this.slot.since > this.config.handshakeTimeoutMs) {
      this.slot = { kind: "idle" };
      this.fail("handshake-timeout");
    } else if (this.slot.kind === "session" && !this.slot.busy && now - this.slot.last > this.config.setupSessionIdleMs) {
      this.events.info("setup.idle", "setup session idle; slot freed");
      this.release();
    }
  }

  private hello(body: Uint8Array): HttpResponse {
    if (this.slot.kind !== "idle") {
      this.events.warn("setup.busy", "another phone tried to join during setup");
      return errorResponse(409, "E_CONFLICT", "another phone is setting up this camera");
    }
    const responder = new SetupResponder(this.crypto, this.psk);
    let reply: Uint8Array;
    try {
      reply = responder.readHello(body, utf8Bytes(JSON.stringify(this.handlers.describe()))).reply;
    } catch (error) {
      const { code } = describeError(error);
      if (code !== "E_AUTH") throw error;
      this.fail("wrong-secret");
      return fail("E_AUTH", `wrong setup secret (check the label) or a damaged message; ${this.attemptsLeft()}`);
    }
    const seen = toHex(this.crypto.sha256(responder.peerEphemeral as Uint8Array));
    if (this.seenHellos.indexOf(seen) >= 0) {
      this.fail("replayed-hello");
      fail("E_AUTH", `replayed setup hello; ${this.attemptsLeft()}`);
    }
    this.seenHellos.push(seen);
    if (this.seenHellos.length > MAX_SEEN) this.seenHellos.shift();
    // Persisted before the reply goes out: if this write fails, so does the hello.
    this.seenStore.saveSeenHellos(this.seenHellos.map((h) => fromHex(h)));
    this.slot = { kind: "handshake", responder, since: this.clock.now() };
    this.events.info("setup.hello", "setup handshake started");
    return binary(reply);
  }

  private confirm(body: Uint8Array): HttpResponse {
    if (this.slot.kind !== "handshake") fail("E_STATE", "no setup handshake in progress");
    // The shape first: a malformed confirmation is refused before the responder is touched, so the
    // handshake in progress keeps its slot and can still complete.
    if (body.length < 2) fail("E_FORMAT", "setup confirmation too short");
    if (body[0] !== SETUP_VERSION) fail("E_VERSION", `unsupported setup protocol version ${body[0]}`);
    if (body[1] !== MSG_CONFIRM) fail("E_FORMAT", `expected setup message type ${MSG_CONFIRM}, got ${body[1]}`);
    if (body.length !== CONFIRM_LENGTH) fail("E_FORMAT", `setup confirmation must be ${CONFIRM_LENGTH} bytes`);
    let session: SetupSession;
    try {
      session = this.slot.responder.readConfirm(body);
    } catch (error) {
      // A well-formed confirmation that does not open has spent the responder: this handshake is over
      // and it counts as a failure (PROTOCOL §6.2).
      this.slot = { kind: "idle" };
      this.fail("bad-confirmation");
      const { code } = describeError(error);
      if (code === "E_AUTH") fail("E_AUTH", `setup confirmation does not authenticate; start over; ${this.attemptsLeft()}`);
      throw error;
    }
    this.slot = { kind: "session", session, last: this.clock.now(), busy: false };
    this.events.info("setup.session", "setup channel established", { channel: toHex(session.id.subarray(0, 4)) });
    return { status: 204, headers: {}, body: new Uint8Array(0) };
  }

  private async message(body: Uint8Array): Promise<HttpResponse> {
    const slot = this.slot;
    if (slot.kind !== "session") fail("E_STATE", "no setup session; say hello first");
    if (slot.busy) fail("E_CONFLICT", "a setup request is already running");
    const plaintext = slot.session.open(body); // E_AUTH / E_FORMAT: refused, nothing changed
    let request: SetupOp;
    try {
      const parsed = JSON.parse(utf8String(plaintext)) as unknown;
      if (!parsed || typeof parsed !== "object" || typeof (parsed as { op?: unknown }).op !== "string") fail("E_FORMAT", "setup request needs an op");
      request = parsed as SetupOp;
    } catch (error) {
      if (error instanceof SealcamError) throw error;
      return fail("E_FORMAT", "setup request is not JSON");
    }
    slot.busy = true;
    slot.last = this.clock.now();
    let response: Record<string, unknown>;
    let success = false;
    try {
      response = { ok: true, ...(await this.handlers.run(request)) };
      success = request.op === "provision";
    } catch (error) {
      const { code, message } = describeError(error);
      this.events.warn("setup.op-fail", "setup request failed", { op: request.op.slice(0, 24), code, reason: message });
      response = { ok: false, error: { code, message } };
    } finally {
      slot.busy = false;
      slot.last = this.clock.now();
    }
    const frame = slot.session.seal(utf8Bytes(JSON.stringify(response)));
    if (success) {
      this.ended = true;
      this.handlers.end("success");
    }
    return binary(frame);
  }
}
