/**
 * LiveOpener: the phone's side of one live session (docs/FORMAT.md §12.5). Messages arrive through a relay
 * that is not trusted (the cloud), so every check is here:
 *
 *   head:   parses; the camera (resolved by the caller from a certificate verified against the pinned root)
 *           matches `cert`; the signature verifies; `req` is this phone's challenge (E_REPLAY otherwise: an
 *           old session replayed); a recipient entry for one of our keys unwraps under the live label of its
 *           (signed) algorithm — a phone entry under "sealcam/v1 live-key", a stream-key entry under
 *           "sealcam/v1 live-stream-key" — with an unwrapper of that kind (hpkeUnwrapper for a phone,
 *           streamKeyUnwrapper for a viewer's stream key; the other kind is E_UNWRAP); the key matches `commit`.
 *   frames: the session id is this session's (E_SESSION: a frame of another session); the frame opens at the
 *           index and final flag it claims under the session's frame key with the head hash as AAD
 *           (E_SEGMENT: tampered); then its position: the expected index is released; a lower index was
 *           already shown (E_REPLAY); a higher one is held until the next event: if the missing frame then
 *           arrives the relay reordered them (E_REORDER), otherwise a frame was dropped (E_GAP). After the
 *           final frame nothing may follow (E_TRAILING). No frame for `stallMs` is E_STALL; the transport
 *           closing before the final frame is E_TRUNCATED.
 *
 * The first failure is final: the opener wipes its key and refuses everything after it.
 */
import type { Crypto } from "../../platform/crypto";
import { constantTimeEqual, readU32be, wipe } from "../bytes";
import { SealcamError, fail } from "../errors";
import { ALG_HPKE_P256, ALG_HPKE_P256_STREAM, TAG_LENGTH } from "../clip/constants";
import { segmentNonce } from "../clip/keys";
import type { CameraIdentity, Unwrapper } from "../clip/opener";
import {
  FLAG_FINAL,
  FRAME_PREFIX_LENGTH,
  KIND_FRAME,
  KIND_HEAD,
  MAX_LIVE_MESSAGE,
  RECORD_HEADER_LENGTH,
  SESSION_ID_LENGTH,
  deriveLiveKeys,
  liveStreamWrapLabel,
  liveWrapLabel,
  parseLiveHead,
  type LiveHeader,
} from "./format";

export type LiveEvent =
  | { kind: "head"; header: LiveHeader }
  | { kind: "frame"; index: number; time: number; jpeg: Uint8Array }
  | { kind: "end"; frames: number };

export interface LiveOpenerOptions {
  crypto: Crypto;
  /** Looks up the camera named by the header; throw E_CERT if unknown or untrusted. */
  camera(header: LiveHeader): CameraIdentity;
  unwrappers: Unwrapper[];
  /** The 16 random bytes this phone sent with its request. */
  challenge: Uint8Array;
  /** No frame for this long is a stalled stream (E_STALL). Default 5000 ms. */
  stallMs?: number;
  /** The phone's clock, ms. */
  now(): number;
}

type State = "head" | "frames" | "ended" | "failed";

export const DEFAULT_STALL_MS = 5000;

export class LiveOpener {
  readonly #options: LiveOpenerOptions;
  #state: State = "head";
  #header: LiveHeader | undefined;
  #headHash: Uint8Array = new Uint8Array(0);
  #frameKey: Uint8Array | undefined;
  #next = 0;
  /** A later frame that arrived while frame #next was missing: decided at the next event. */
  #held: number | undefined;
  #lastProgress: number;

  constructor(options: LiveOpenerOptions) {
    this.#options = options;
    this.#lastProgress = options.now();
  }

  get header(): LiveHeader | undefined {
    return this.#header;
  }

  /** Frames released so far. */
  get frames(): number {
    return this.#next;
  }

  get ended(): boolean {
    return this.#state === "ended";
  }

  #fail(error: unknown): never {
    this.#state = "failed";
    wipe(this.#frameKey);
    this.#frameKey = undefined;
    if (error instanceof SealcamError) throw error;
    throw new SealcamError("E_INTERNAL", `live opener: ${String(error)}`);
  }

  #gap(): never {
    return fail("E_GAP", `live: frame ${this.#next} never arrived (frame ${String(this.#held)} came instead): the relay dropped it`);
  }

  #openHead(bytes: Uint8Array): LiveEvent {
    const crypto = this.#options.crypto;
    const head = parseLiveHead(bytes);
    const header = head.header;
    const camera = this.#options.camera(header);
    if (!constantTimeEqual(camera.certificateHash, header.cameraCertHash)) fail("E_CERT", "live session names another certificate than the camera's");
    if (!crypto.ecdsaP256Verify(camera.publicKey, head.signedBytes, head.signature)) fail("E_SIGNATURE", "live session header signature does not verify with the camera's key");
    if (!constantTimeEqual(header.challenge, this.#options.challenge)) {
      fail("E_REPLAY", "live session was not started for this request (an old session replayed)");
    }
    const label = liveWrapLabel(header.sessionId);
    const streamLabel = liveStreamWrapLabel(header.sessionId);
    let key: Uint8Array | undefined;
    let sawOurKey = false;
    for (const unwrapper of this.#options.unwrappers) {
      // Entries of other algorithms (reserved ones, or RSA: never a live recipient) are ignored.
      const entry = header.recipients.find((r) => constantTimeEqual(r.kid, unwrapper.keyId));
      if (!entry || (entry.alg !== ALG_HPKE_P256 && entry.alg !== ALG_HPKE_P256_STREAM)) continue;
      sawOurKey = true;
      try {
        // The label follows the entry's signed algorithm: a stream entry only ever opens as one.
        key = unwrapper.unwrap(entry, entry.alg === ALG_HPKE_P256_STREAM ? streamLabel : label);
        break;
      } catch (error) {
        if (!(error instanceof SealcamError)) throw error;
      }
    }
    if (!key) {
      if (!sawOurKey) fail("E_NO_RECIPIENT", "live session is not sealed to this key (is it still in the camera's roster, with live view in its share?)");
      fail("E_UNWRAP", "live session key does not unwrap with this key");
    }
    const keys = deriveLiveKeys(crypto, key, header.sessionId);
    wipe(key);
    if (!constantTimeEqual(keys.commitment, header.commitment)) {
      wipe(keys.frameKey);
      fail("E_COMMIT", "live session key does not match the header's commitment");
    }
    this.#header = header;
    this.#headHash = crypto.sha256(head.bytes);
    this.#frameKey = keys.frameKey;
    this.#state = "frames";
    this.#lastProgress = this.#options.now();
    return { kind: "head", header };
  }

  #openFrame(message: Uint8Array): LiveEvent[] {
    if (message.length < FRAME_PREFIX_LENGTH + TAG_LENGTH) fail("E_FORMAT", "live: frame message too short");
    const header = this.#header as LiveHeader;
    if (!constantTimeEqual(message.subarray(1, 1 + SESSION_ID_LENGTH), header.sessionId)) {
      fail("E_SESSION", "live: a frame of another session (replayed or misrouted by the relay)");
    }
    const index = readU32be(message, 1 + SESSION_ID_LENGTH);
    const flags = message[1 + SESSION_ID_LENGTH + 4];
    if ((flags & ~FLAG_FINAL) !== 0) fail("E_FORMAT", "live: unknown frame flags");
    const final = flags === FLAG_FINAL;
    const plain = this.#options.crypto.aesGcmOpen(this.#frameKey as Uint8Array, segmentNonce(index, final), this.#headHash, message.subarray(FRAME_PREFIX_LENGTH));
    if (!plain) fail("E_SEGMENT", `live: frame ${index} failed authentication (tampered, or not this session's)`);
    // Authentic: now its position.
    if (this.#held !== undefined) {
      wipe(plain);
      if (index === this.#next) fail("E_REORDER", `live: frame ${index} arrived after frame ${this.#held}: the relay reordered frames`);
      this.#gap();
    }
    if (index < this.#next) {
      wipe(plain);
      fail("E_REPLAY", `live: frame ${index} was already shown (replayed or duplicated)`);
    }
    if (index > this.#next) {
      wipe(plain);
      this.#held = index;
      return [];
    }
    this.#next++;
    this.#lastProgress = this.#options.now();
    const events: LiveEvent[] = [];
    if (plain.length > 0) {
      const length = plain.length >= RECORD_HEADER_LENGTH ? readU32be(plain, 0) : -1;
      if (length < 1 || length !== plain.length - RECORD_HEADER_LENGTH) {
        wipe(plain);
        fail("E_FORMAT", `live: frame ${index} does not hold exactly one frame record`);
      }
      const time = readU32be(plain, 4) * 0x100000000 + readU32be(plain, 8);
      events.push({ kind: "frame", index, time, jpeg: plain.slice(RECORD_HEADER_LENGTH) });
      wipe(plain);
    } else if (!final) {
      fail("E_FORMAT", `live: frame ${index} is empty`);
    }
    if (final) {
      wipe(this.#frameKey);
      this.#frameKey = undefined;
      this.#state = "ended";
      events.push({ kind: "end", frames: this.#next });
    }
    return events;
  }

  /** One end-to-end message from the relay; returns what it released. */
  push(message: Uint8Array): LiveEvent[] {
    if (this.#state === "failed") fail("E_STATE", "live opener: already failed");
    try {
      if (message.length < 1 || message.length > MAX_LIVE_MESSAGE) fail("E_LIMIT", `live: message of ${message.length} bytes (1..${MAX_LIVE_MESSAGE})`);
      if (this.#state === "ended") fail("E_TRAILING", "live: a message after the session's final frame");
      const kind = message[0];
      if (kind === KIND_HEAD) {
        if (this.#state !== "head") fail("E_STATE", "live: a second session head");
        return [this.#openHead(message.subarray(1))];
      }
      if (kind !== KIND_FRAME) fail("E_FORMAT", `live: unknown message kind ${kind}`);
      if (this.#state === "head") fail("E_STATE", "live: a frame before the session head");
      return this.#openFrame(message);
    } catch (error) {
      return this.#fail(error);
    }
  }

  /** Call from a timer: E_STALL after `stallMs` without progress (E_GAP if a frame is known to be missing). */
  checkStall(): void {
    if (this.#state !== "head" && this.#state !== "frames") return;
    const stallMs = this.#options.stallMs ?? DEFAULT_STALL_MS;
    const idle = this.#options.now() - this.#lastProgress;
    if (idle < stallMs) return;
    try {
      if (this.#held !== undefined) this.#gap();
      fail("E_STALL", `live: no ${this.#state === "head" ? "session head" : "frame"} for ${Math.round(idle / 100) / 10} s: the stream stalled`);
    } catch (error) {
      this.#fail(error);
    }
  }

  /** The transport closed: fine after the final frame; otherwise E_GAP (a frame was missing) or E_TRUNCATED. */
  close(): void {
    if (this.#state === "ended" || this.#state === "failed") return;
    try {
      if (this.#held !== undefined) this.#gap();
      fail("E_TRUNCATED", this.#state === "head" ? "live: the stream ended before the session head" : "live: the stream ended without the session's final frame");
    } catch (error) {
      this.#fail(error);
    }
  }
}
