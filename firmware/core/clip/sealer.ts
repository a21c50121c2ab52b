/**
 * ClipSealer: seals one clip as it is captured, in constant memory (one segment of plaintext at a time).
 *
 *   const sealer = new ClipSealer({...});
 *   send(sealer.head);                                  // preamble || header || camera signature
 *   for (const frame of frames) for (const s of sealer.write(frame)) send(s.bytes);
 *   const { segment, footer } = sealer.finish();       // the final segment and the footer signature
 *
 * A fresh clip key and clip id come from crypto.randomBytes for every sealer; the clip key is wiped as soon
 * as it is wrapped, the payload key when the clip is finished. See docs/FORMAT.md.
 */
import type { Crypto, P256PrivateKey, Sha256 } from "../../platform/crypto";
import { concat, u32be, u64be, wipe } from "../bytes";
import { fail } from "../errors";
import { sealSingleShot } from "../hpke";
import {
  ALG_HPKE_P256,
  ALG_HPKE_P256_STREAM,
  ALG_RSA_OAEP,
  CLIP_ID_LENGTH,
  CLIP_KEY_LENGTH,
  DEFAULT_SEGMENT_SIZE,
  FORMAT_VERSION,
  KEY_ID_LENGTH,
  LABEL_FOOTER,
  LABEL_WRAP,
  LABEL_WRAP_STREAM,
  MAX_RECIPIENTS,
  MAX_SEGMENTS,
  MAX_SEGMENT_SIZE,
  MIN_SEGMENT_SIZE,
} from "./constants";
import { encodeHeader, type RecipientEntry } from "./header";
import { encodePreamble } from "./head";
import { deriveClipKeys, segmentNonce } from "./keys";

/**
 * A key the clip key is wrapped to; keyId = SHA-256 of the key's SubjectPublicKeyInfo DER. `hpke-p256` is a
 * phone, `hpke-p256-stream` a stream key (streamRecipientsFor, stream-scope.ts), `rsa-oaep-sha256` the data key.
 */
export type RecipientKey =
  | { kind: "hpke-p256"; keyId: Uint8Array; publicKey: Uint8Array }
  | { kind: "hpke-p256-stream"; keyId: Uint8Array; publicKey: Uint8Array }
  | { kind: "rsa-oaep-sha256"; keyId: Uint8Array; publicKey: Uint8Array };

export interface SealerOptions {
  crypto: Crypto;
  /** The camera's certified P-256 key. */
  cameraKey: P256PrivateKey;
  cameraId: string;
  /** SHA-256 of the camera certificate DER. */
  cameraCertHash: Uint8Array;
  /** Per-camera monotonic clip counter. */
  sequence: number;
  /** Capture start, ms since the Unix epoch. */
  startTime: number;
  contentType: string;
  recipients: RecipientKey[];
  rosterVersion: number;
  segmentSize?: number;
  /** A snapshot: the id of the clip it previews (header `of`, FORMAT §3.1); contentType must be image/jpeg. */
  snapshotOf?: Uint8Array;
}

export interface SealedSegment {
  index: number;
  bytes: Uint8Array;
}

export class ClipSealer {
  readonly head: Uint8Array;
  readonly clipId: Uint8Array;
  readonly segmentSize: number;
  readonly #crypto: Crypto;
  readonly #cameraKey: P256PrivateKey;
  readonly #headHash: Uint8Array;
  readonly #payloadHash: Sha256;
  #payloadKey: Uint8Array | undefined;
  #pending: Uint8Array;
  #pendingLength = 0;
  /** The caller's last full segment, borrowed without a copy until we know whether it is the final one. */
  #held: Uint8Array | undefined;
  #index = 0;
  #plaintextLength = 0;

  constructor(options: SealerOptions) {
    const crypto = options.crypto;
    const segmentSize = options.segmentSize ?? DEFAULT_SEGMENT_SIZE;
    if (!Number.isInteger(segmentSize) || segmentSize < MIN_SEGMENT_SIZE || segmentSize > MAX_SEGMENT_SIZE) {
      fail("E_ARGUMENT", `sealer: segment size must be ${MIN_SEGMENT_SIZE}..${MAX_SEGMENT_SIZE}`);
    }
    if (options.recipients.length < 1 || options.recipients.length > MAX_RECIPIENTS) {
      fail("E_ARGUMENT", `sealer: need 1..${MAX_RECIPIENTS} recipients`);
    }
    this.#crypto = crypto;
    this.#cameraKey = options.cameraKey;
    this.segmentSize = segmentSize;

    this.clipId = crypto.randomBytes(CLIP_ID_LENGTH);
    const clipKey = crypto.randomBytes(CLIP_KEY_LENGTH);
    const wrapLabel = concat(LABEL_WRAP, this.clipId);
    const streamLabel = concat(LABEL_WRAP_STREAM, this.clipId);
    let entries: RecipientEntry[];
    let commitment: Uint8Array;
    try {
      entries = options.recipients.map((recipient): RecipientEntry => {
        if (recipient.keyId.length !== KEY_ID_LENGTH) fail("E_ARGUMENT", "sealer: recipient key id must be 32 bytes");
        if (recipient.kind === "hpke-p256") {
          const { enc, ciphertext } = sealSingleShot(crypto, recipient.publicKey, wrapLabel, new Uint8Array(0), clipKey);
          return { alg: ALG_HPKE_P256, kid: recipient.keyId, enc, ct: ciphertext };
        }
        if (recipient.kind === "hpke-p256-stream") {
          const { enc, ciphertext } = sealSingleShot(crypto, recipient.publicKey, streamLabel, new Uint8Array(0), clipKey);
          return { alg: ALG_HPKE_P256_STREAM, kid: recipient.keyId, enc, ct: ciphertext };
        }
        if (recipient.kind === "rsa-oaep-sha256") {
          return { alg: ALG_RSA_OAEP, kid: recipient.keyId, ct: crypto.rsaOaepSha256Encrypt(recipient.publicKey, clipKey, wrapLabel) };
        }
        return fail("E_ARGUMENT", "sealer: unknown recipient kind");
      });
      const keys = deriveClipKeys(crypto, clipKey, this.clipId);
      this.#payloadKey = keys.payloadKey;
      commitment = keys.commitment;
    } finally {
      wipe(clipKey);
    }

    const header = encodeHeader({
      version: FORMAT_VERSION,
      clipId: this.clipId,
      cameraId: options.cameraId,
      cameraCertHash: options.cameraCertHash,
      sequence: options.sequence,
      startTime: options.startTime,
      contentType: options.contentType,
      segmentSize,
      rosterVersion: options.rosterVersion,
      commitment,
      recipients: entries,
      snapshotOf: options.snapshotOf,
    });
    const signed = concat(encodePreamble(header.length), header);
    this.head = concat(signed, crypto.ecdsaP256Sign(this.#cameraKey, signed));
    this.#headHash = crypto.sha256(this.head);
    this.#payloadHash = crypto.createSha256();
    this.#pending = new Uint8Array(segmentSize);
  }

  /** Seals `plaintext` as the next segment; it is either the pending buffer or a full segment of the caller's. */
  #seal(plaintext: Uint8Array, last: boolean): SealedSegment {
    const key = this.#payloadKey;
    if (!key) return fail("E_STATE", "sealer: clip already finished");
    if (this.#index > MAX_SEGMENTS) fail("E_LIMIT", "sealer: too many segments");
    const bytes = this.#crypto.aesGcmSeal(key, segmentNonce(this.#index, last), this.#headHash, plaintext);
    this.#payloadHash.update(bytes);
    this.#plaintextLength += plaintext.length;
    return { index: this.#index++, bytes };
  }

  #sealPending(last: boolean): SealedSegment {
    const segment = this.#seal(this.#pending.subarray(0, this.#pendingLength), last);
    // Not wiped per segment: the next segment overwrites it, and finish()/abort() wipe it. (Wiping every
    // segment doubled the sealer's cost in XS; the same plaintext sits in the camera's frame buffers anyway.)
    this.#pendingLength = 0;
    return segment;
  }

  /**
   * Adds plaintext; returns the segments that are complete. A full segment is held back until more data
   * arrives, because only then is it known not to be the final one.
   *
   * Zero-copy: full segments of `data` are sealed in place, and when `data` ends on a full segment the
   * sealer keeps a reference to that last segment (no copy) until the next write() or finish(). Do not
   * modify `data` before then. Only partial segments are copied.
   */
  write(data: Uint8Array): SealedSegment[] {
    if (!this.#payloadKey) fail("E_STATE", "sealer: clip already finished");
    const out: SealedSegment[] = [];
    const size = this.segmentSize;
    let offset = 0;
    while (offset < data.length) {
      if (this.#held) {
        out.push(this.#seal(this.#held, false));
        this.#held = undefined;
      }
      if (this.#pendingLength === 0 && data.length - offset >= size) {
        const segment = data.subarray(offset, offset + size);
        offset += size;
        if (offset < data.length) out.push(this.#seal(segment, false));
        else this.#held = segment;
        continue;
      }
      if (this.#pendingLength === size) out.push(this.#sealPending(false));
      const take = Math.min(size - this.#pendingLength, data.length - offset);
      this.#pending.set(data.subarray(offset, offset + take), this.#pendingLength);
      this.#pendingLength += take;
      offset += take;
    }
    return out;
  }

  /** Seals the final segment and signs the footer; the sealer cannot be used afterwards. */
  finish(): { segment: SealedSegment; footer: Uint8Array; plaintextLength: number; segmentCount: number } {
    let segment: SealedSegment;
    if (this.#held) {
      segment = this.#seal(this.#held, true);
      this.#held = undefined;
    } else {
      segment = this.#sealPending(true);
    }
    wipe(this.#pending);
    const payloadHash = this.#payloadHash.digest();
    const message = concat(LABEL_FOOTER, this.#headHash, u32be(this.#index), u64be(this.#plaintextLength), payloadHash);
    const footer = this.#crypto.ecdsaP256Sign(this.#cameraKey, message);
    wipe(this.#payloadKey);
    this.#payloadKey = undefined;
    return { segment, footer, plaintextLength: this.#plaintextLength, segmentCount: this.#index };
  }

  /** Abandons the clip (e.g. power is going away) and wipes the payload key. */
  abort(): void {
    wipe(this.#payloadKey, this.#pending);
    this.#payloadKey = undefined;
    this.#held = undefined;
  }
}
