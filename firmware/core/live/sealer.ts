/**
 * LiveSealer: the camera's side of one live session (docs/FORMAT.md §12). A fresh session id and session
 * key; the key wrapped with HPKE to every phone given (the current verified roster's phones), under the live
 * wrap label, then to every stream key given (those whose scope covers `live`, this camera and the session's
 * start: the camera decides, PROTOCOL §14.3) under the live stream label; a head signed by the camera key; then one sealed frame message per JPEG, index i in the nonce,
 * the last one flagged final. The session key is wiped once wrapped, the frame key when the session ends.
 *
 *   const live = new LiveSealer({...});
 *   send(live.headMessage);
 *   send(live.seal({ time, jpeg }));   // as often as frames come
 *   send(live.finish());               // the final (empty) frame: a clean end
 */
import type { Crypto, P256PrivateKey } from "../../platform/crypto";
import { concat, u32be, wipe } from "../bytes";
import { fail } from "../errors";
import { sealSingleShot } from "../hpke";
import { ALG_HPKE_P256, ALG_HPKE_P256_STREAM } from "../clip/constants";
import { encodeFrame, type ClipFrame } from "../clip/frames";
import type { RecipientEntry } from "../clip/header";
import { segmentNonce } from "../clip/keys";
import {
  CHALLENGE_LENGTH,
  KIND_HEAD,
  LIVE_MAGIC,
  LIVE_VERSION,
  MAX_LIVE_JPEG,
  MAX_LIVE_RECIPIENTS,
  SESSION_ID_LENGTH,
  SESSION_KEY_LENGTH,
  checkKeyId,
  deriveLiveKeys,
  encodeLiveHeader,
  framePrefix,
  liveStreamWrapLabel,
  liveWrapLabel,
} from "./format";

export interface LivePhone {
  keyId: Uint8Array;
  /** 65-byte uncompressed P-256 point. */
  publicKey: Uint8Array;
}

export interface LiveSealerOptions {
  crypto: Crypto;
  cameraKey: P256PrivateKey;
  cameraId: string;
  cameraCertHash: Uint8Array;
  rosterVersion: number;
  /** Every enrolled phone of the verified roster. */
  phones: LivePhone[];
  /**
   * Stream keys whose scope covers this session (stream `live`, this camera, the start time; never a key held
   * by the cloud), in roster order: entries of `hpke-p256-sha256-aes128gcm-stream` after the phones'.
   */
  streams?: LivePhone[];
  startTime: number;
  /** The requesting phone's 16-byte challenge (relayed by the cloud; echoed in the signed header). */
  challenge: Uint8Array;
  maxDurationMs: number;
}

export class LiveSealer {
  readonly sessionId: Uint8Array;
  /** kind 0x01 || the signed head. */
  readonly headMessage: Uint8Array;
  readonly #crypto: Crypto;
  readonly #headHash: Uint8Array;
  #frameKey: Uint8Array | undefined;
  #index = 0;

  constructor(options: LiveSealerOptions) {
    const crypto = options.crypto;
    const streams = options.streams ?? [];
    if (options.phones.length < 1 || options.phones.length + streams.length > MAX_LIVE_RECIPIENTS) {
      fail("E_ARGUMENT", `live: need 1..${MAX_LIVE_RECIPIENTS} recipients, at least one of them a phone`);
    }
    if (options.challenge.length !== CHALLENGE_LENGTH) fail("E_ARGUMENT", "live: the challenge must be 16 bytes");
    this.#crypto = crypto;
    this.sessionId = crypto.randomBytes(SESSION_ID_LENGTH);
    const sessionKey = crypto.randomBytes(SESSION_KEY_LENGTH);
    const label = liveWrapLabel(this.sessionId);
    const streamLabel = liveStreamWrapLabel(this.sessionId);
    let recipients: RecipientEntry[];
    let commitment: Uint8Array;
    try {
      recipients = options.phones.map((phone): RecipientEntry => {
        checkKeyId(phone.keyId);
        const { enc, ciphertext } = sealSingleShot(crypto, phone.publicKey, label, new Uint8Array(0), sessionKey);
        return { alg: ALG_HPKE_P256, kid: phone.keyId, enc, ct: ciphertext };
      });
      // Drawn after the phones' (the vectors' random stream: sid, K, one 32-byte draw per phone, then per stream key).
      for (const key of streams) {
        checkKeyId(key.keyId);
        const { enc, ciphertext } = sealSingleShot(crypto, key.publicKey, streamLabel, new Uint8Array(0), sessionKey);
        recipients.push({ alg: ALG_HPKE_P256_STREAM, kid: key.keyId, enc, ct: ciphertext });
      }
      const keys = deriveLiveKeys(crypto, sessionKey, this.sessionId);
      this.#frameKey = keys.frameKey;
      commitment = keys.commitment;
    } finally {
      wipe(sessionKey);
    }
    const header = encodeLiveHeader({
      version: LIVE_VERSION,
      sessionId: this.sessionId,
      cameraId: options.cameraId,
      cameraCertHash: options.cameraCertHash,
      rosterVersion: options.rosterVersion,
      startTime: options.startTime,
      challenge: options.challenge,
      maxDurationMs: options.maxDurationMs,
      commitment,
      recipients,
    });
    const signed = concat(LIVE_MAGIC, u32be(header.length), header);
    const head = concat(signed, crypto.ecdsaP256Sign(options.cameraKey, signed));
    this.#headHash = crypto.sha256(head);
    this.headMessage = concat(new Uint8Array([KIND_HEAD]), head);
  }

  /** Frames sealed so far (the next frame's index). */
  get frames(): number {
    return this.#index;
  }

  get ended(): boolean {
    return this.#frameKey === undefined;
  }

  #seal(plaintext: Uint8Array, final: boolean): Uint8Array {
    const key = this.#frameKey;
    if (!key) return fail("E_STATE", "live: session already ended");
    if (this.#index > 0xffffffff) fail("E_LIMIT", "live: too many frames");
    const sealed = this.#crypto.aesGcmSeal(key, segmentNonce(this.#index, final), this.#headHash, plaintext);
    const message = concat(framePrefix(this.sessionId, this.#index, final), sealed);
    this.#index++;
    return message;
  }

  /** One frame message (kind 0x02) for one JPEG with its capture time; E_LIMIT if the JPEG is too big to send. */
  seal(frame: ClipFrame): Uint8Array {
    if (frame.jpeg.length > MAX_LIVE_JPEG) fail("E_LIMIT", `live: a ${frame.jpeg.length}-byte frame does not fit one message (at most ${MAX_LIVE_JPEG})`);
    const record = encodeFrame({ time: Math.max(0, Math.floor(frame.time)), jpeg: frame.jpeg });
    try {
      return this.#seal(record, false);
    } finally {
      wipe(record);
    }
  }

  /** The final frame (empty plaintext, final flag): the session ends cleanly. The frame key is wiped. */
  finish(): Uint8Array {
    const message = this.#seal(new Uint8Array(0), true);
    this.abort();
    return message;
  }

  /** Ends without a final frame (the link is gone); wipes the frame key. */
  abort(): void {
    wipe(this.#frameKey);
    this.#frameKey = undefined;
  }
}
