/**
 * ClipOpener: verifies and decrypts a sealed clip as it streams in (the phone's side).
 *
 * Order of checks: head parses -> the camera (resolved by the caller from a certificate it verified)
 * matches the header's certificate hash -> the header signature verifies -> a recipient entry for one of our
 * keys unwraps the clip key -> the key matches the header's commitment -> every segment authenticates at
 * its position -> the footer signature covers the whole payload.
 *
 * `push` returns plaintext as soon as each segment authenticates under the committed clip key. That proves
 * the data is the clip the header describes, but only `end()` proves the camera produced all of it (a
 * recipient could otherwise re-encrypt), and only `end()` detects truncation. Callers that write files keep
 * the output provisional (temp file) until `end()` returns.
 */
import type { Crypto, P256PrivateKey } from "../../platform/crypto";
import { concat, constantTimeEqual, u32be, u64be, wipe } from "../bytes";
import { SealcamError, fail } from "../errors";
import { openSingleShot } from "../hpke";
import {
  ALG_HPKE_P256,
  ALG_HPKE_P256_STREAM,
  ALG_RSA_OAEP,
  CLIP_KEY_LENGTH,
  FOOTER_LENGTH,
  LABEL_FOOTER,
  LABEL_WRAP,
  LABEL_WRAP_STREAM,
  PREAMBLE_LENGTH,
  TAG_LENGTH,
} from "./constants";
import type { ClipHeader, RecipientEntry } from "./header";
import { headLengthFromPreamble, parseClipHead, type ClipHead } from "./head";
import { deriveClipKeys, segmentNonce } from "./keys";

/** The camera that must have sealed this clip, as the caller established it from a verified certificate. */
export interface CameraIdentity {
  /** 65-byte uncompressed P-256 public key from the camera certificate. */
  publicKey: Uint8Array;
  /** SHA-256 of the camera certificate DER. */
  certificateHash: Uint8Array;
}

/** One private key of ours that may unwrap clip keys. */
export interface Unwrapper {
  keyId: Uint8Array;
  /**
   * Returns the 16-byte clip key, or throws SealcamError E_UNWRAP. `wrapLabel` is the label of the entry's
   * algorithm: "sealcam/v1 clip-key\0" || clip id, or for stream entries "sealcam/v1 stream-key\0" || clip id.
   */
  unwrap(entry: RecipientEntry, wrapLabel: Uint8Array): Uint8Array;
}

export interface OpenerOptions {
  crypto: Crypto;
  /** Looks up the camera named by the header (camera id); throw E_CERT if unknown or untrusted. */
  camera(header: ClipHeader): CameraIdentity;
  unwrappers: Unwrapper[];
}

/** Unwraps HPKE entries addressed to a phone's P-256 instance key (never a stream-key entry: E_UNWRAP). */
export function hpkeUnwrapper(crypto: Crypto, keyId: Uint8Array, instanceKey: P256PrivateKey): Unwrapper {
  return {
    keyId,
    unwrap(entry, wrapLabel) {
      if (entry.alg !== ALG_HPKE_P256 || !("enc" in entry)) fail("E_UNWRAP", "recipient entry is not a phone (hpke) entry");
      const key = openSingleShot(crypto, instanceKey, entry.enc, wrapLabel, new Uint8Array(0), entry.ct);
      if (key.length !== CLIP_KEY_LENGTH) fail("E_UNWRAP", "unwrapped clip key has the wrong length");
      return key;
    },
  };
}

/**
 * Unwraps entries addressed to a stream key (PROTOCOL §14): only `hpke-p256-sha256-aes128gcm-stream` entries,
 * opened under the stream label. A phone entry naming this key's id is E_UNWRAP, never opened.
 */
export function streamKeyUnwrapper(crypto: Crypto, keyId: Uint8Array, streamKey: P256PrivateKey): Unwrapper {
  return {
    keyId,
    unwrap(entry, wrapLabel) {
      if (entry.alg !== ALG_HPKE_P256_STREAM || !("enc" in entry)) fail("E_UNWRAP", "recipient entry is not a stream-key entry");
      const key = openSingleShot(crypto, streamKey, entry.enc, wrapLabel, new Uint8Array(0), entry.ct);
      if (key.length !== CLIP_KEY_LENGTH) fail("E_UNWRAP", "unwrapped clip key has the wrong length");
      return key;
    },
  };
}

function isKnownAlgorithm(entry: RecipientEntry): boolean {
  return entry.alg === ALG_HPKE_P256 || entry.alg === ALG_HPKE_P256_STREAM || entry.alg === ALG_RSA_OAEP;
}

type State = "head" | "body" | "done" | "failed";

export class ClipOpener {
  readonly #options: OpenerOptions;
  #state: State = "head";
  /**
   * Bytes received but not yet consumed, owned by the opener (the caller may reuse its chunk buffers). In the
   * head state: the head so far. In the body state: a buffer of one segment + tag + footer, of which the first
   * #pendingLength bytes are the unopened rest of the stream (never more than that: see push).
   */
  #buffer: Uint8Array = new Uint8Array(0);
  #pendingLength = 0;
  #head: ClipHead | undefined;
  #headHash: Uint8Array = new Uint8Array(0);
  #payloadKey: Uint8Array | undefined;
  #payloadHash: ReturnType<Crypto["createSha256"]> | undefined;
  #index = 0;
  #plaintextLength = 0;
  #camera: CameraIdentity | undefined;

  constructor(options: OpenerOptions) {
    this.#options = options;
  }

  /** The verified header, once the head has been processed. */
  get header(): ClipHeader | undefined {
    return this.#state === "head" ? undefined : this.#head?.header;
  }

  #fail(error: unknown): never {
    this.#state = "failed";
    wipe(this.#payloadKey, this.#buffer);
    this.#payloadKey = undefined;
    if (error instanceof SealcamError) throw error;
    throw new SealcamError("E_INTERNAL", `opener: ${String(error)}`);
  }

  /**
   * Head state: copies from `chunk` only as much of the head as is still missing (the preamble first, then the
   * rest of the head once the preamble gives its length) and returns how many bytes of `chunk` it took.
   */
  #takeHead(chunk: Uint8Array): number {
    let taken = 0;
    for (;;) {
      const have = this.#buffer.length;
      const need = have < PREAMBLE_LENGTH ? PREAMBLE_LENGTH : headLengthFromPreamble(this.#buffer);
      const take = Math.min(need - have, chunk.length - taken);
      if (take <= 0) return taken;
      this.#buffer = concat(this.#buffer, chunk.subarray(taken, taken + take));
      taken += take;
    }
  }

  #openHead(): void {
    const crypto = this.#options.crypto;
    const head = parseClipHead(this.#buffer);
    const header = head.header;
    const camera = this.#options.camera(header);
    if (!constantTimeEqual(camera.certificateHash, header.cameraCertHash)) {
      fail("E_CERT", "clip names a different camera certificate than the one on record for this camera");
    }
    if (!crypto.ecdsaP256Verify(camera.publicKey, head.signedBytes, head.signature)) {
      fail("E_SIGNATURE", "clip header signature does not verify with the camera's key");
    }
    const wrapLabel = concat(LABEL_WRAP, header.clipId);
    const streamLabel = concat(LABEL_WRAP_STREAM, header.clipId);
    let clipKey: Uint8Array | undefined;
    let sawOurKey = false;
    for (const unwrapper of this.#options.unwrappers) {
      // Entries of a reserved (unknown) algorithm are ignored, as FORMAT §5 requires: one naming our key id is
      // as good as none. A known algorithm that does not fit our key is E_UNWRAP (the unwrapper says so).
      const entry = header.recipients.find((r) => constantTimeEqual(r.kid, unwrapper.keyId));
      if (!entry || !isKnownAlgorithm(entry)) continue;
      sawOurKey = true;
      try {
        // The label follows the entry's (signed) algorithm: a stream entry is only ever opened as one.
        clipKey = unwrapper.unwrap(entry, entry.alg === ALG_HPKE_P256_STREAM ? streamLabel : wrapLabel);
        break;
      } catch (error) {
        if (!(error instanceof SealcamError)) throw error;
      }
    }
    if (!clipKey) {
      if (!sawOurKey) fail("E_NO_RECIPIENT", "clip is not sealed to any key this phone holds");
      fail("E_UNWRAP", "clip key does not unwrap with this phone's keys (tampered recipient entry)");
    }
    const keys = deriveClipKeys(crypto, clipKey, header.clipId);
    wipe(clipKey);
    if (!constantTimeEqual(keys.commitment, header.commitment)) {
      wipe(keys.payloadKey);
      fail("E_COMMIT", "unwrapped clip key does not match the header's commitment");
    }
    this.#head = head;
    this.#camera = camera;
    this.#headHash = crypto.sha256(head.bytes);
    this.#payloadKey = keys.payloadKey;
    this.#payloadHash = crypto.createSha256();
    // From here on: one segment + tag + footer is the most push() ever leaves unopened.
    this.#buffer = new Uint8Array(header.segmentSize + TAG_LENGTH + FOOTER_LENGTH);
    this.#pendingLength = 0;
    this.#state = "body";
  }

  /** True when `sealed` authenticates as segment `index` with the given final flag (the plaintext is wiped). */
  #opensAs(sealed: Uint8Array, last: boolean): boolean {
    const plain = this.#options.crypto.aesGcmOpen(this.#payloadKey as Uint8Array, segmentNonce(this.#index, last), this.#headHash, sealed);
    if (!plain) return false;
    wipe(plain);
    return true;
  }

  /**
   * Opens segment #index. `tail` is everything left in the stream from this segment's start (only for the final
   * segment): when the final segment fails, it tells a cut stream (E_TRUNCATED) from a damaged one (E_SEGMENT).
   */
  #openSegment(sealed: Uint8Array, last: boolean, tail?: Uint8Array): Uint8Array {
    const crypto = this.#options.crypto;
    const key = this.#payloadKey as Uint8Array;
    const plain = crypto.aesGcmOpen(key, segmentNonce(this.#index, last), this.#headHash, sealed);
    if (!plain) {
      // Work out what happened, for an error a person can act on (FORMAT §8); nothing here releases plaintext.
      const full = (this.#head as ClipHead).header.segmentSize + TAG_LENGTH;
      if (!last && this.#opensAs(sealed, true)) {
        fail("E_TRAILING", `clip has data after its final segment (segment ${this.#index} is the final one)`);
      }
      if (last && tail && tail.length >= full && this.#opensAs(tail.subarray(0, full), false)) {
        // A whole non-final segment, followed by at most 64 bytes: the stream stops where more segments were due.
        fail("E_TRUNCATED", `clip is truncated: it ends after segment ${this.#index}, which is not the final segment`);
      }
      fail("E_SEGMENT", `segment ${this.#index} failed authentication (tampered, cut, reordered, duplicated or from another clip)`);
    }
    if (last && plain.length === 0 && this.#index > 0) {
      wipe(plain);
      fail("E_FORMAT", "clip: empty final segment after other segments");
    }
    this.#payloadHash?.update(sealed);
    this.#plaintextLength += plain.length;
    this.#index++;
    return plain;
  }

  /** Feeds sealed bytes; returns the plaintext of every segment that is now known not to be the last. */
  push(chunk: Uint8Array): Uint8Array[] {
    if (this.#state === "done" || this.#state === "failed") fail("E_STATE", `opener: already ${this.#state}`);
    try {
      let input = chunk;
      if (this.#state === "head") {
        input = chunk.subarray(this.#takeHead(chunk));
        if (this.#buffer.length < PREAMBLE_LENGTH || this.#buffer.length < headLengthFromPreamble(this.#buffer)) return [];
        this.#openHead();
      }
      return this.#pushBody(input);
    } catch (error) {
      return this.#fail(error);
    }
  }

  /**
   * The stream from here is pending (#buffer[0, #pendingLength), owned) followed by `chunk` (the caller's,
   * borrowed for this call only). A segment is non-final only if more than a footer follows it. Whole segments
   * are opened where they lie, without a copy; only a segment that straddles pending and chunk is assembled,
   * and only the unopened rest (at most one segment + tag + footer) is copied into pending.
   */
  #pushBody(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    const full = (this.#head as ClipHead).header.segmentSize + TAG_LENGTH;
    const pending = this.#buffer;
    const held = this.#pendingLength;
    const total = held + chunk.length;
    let offset = 0;
    while (total - offset > full + FOOTER_LENGTH) {
      let sealed: Uint8Array;
      if (offset + full <= held) sealed = pending.subarray(offset, offset + full);
      else if (offset >= held) sealed = chunk.subarray(offset - held, offset - held + full);
      else sealed = concat(pending.subarray(offset, held), chunk.subarray(0, offset + full - held));
      out.push(this.#openSegment(sealed, false));
      offset += full;
    }
    // Keep the rest: total - offset <= full + FOOTER_LENGTH = pending's capacity.
    if (offset < held) {
      pending.copyWithin(0, offset, held);
      pending.set(chunk, held - offset);
    } else {
      pending.set(chunk.subarray(offset - held), 0);
    }
    this.#pendingLength = total - offset;
    return out;
  }

  /** Ends the stream: opens the final segment and verifies the footer. Returns the final plaintext. */
  end(): { plaintext: Uint8Array; header: ClipHeader; segmentCount: number; plaintextLength: number } {
    if (this.#state === "done" || this.#state === "failed") fail("E_STATE", `opener: already ${this.#state}`);
    try {
      if (this.#state === "head") fail("E_TRUNCATED", "clip is truncated inside its head");
      const head = this.#head as ClipHead;
      // push() leaves at most S + 16 + 64 bytes: the final segment and the footer, if the stream is whole.
      const stream = this.#buffer.subarray(0, this.#pendingLength);
      const rest = stream.length - FOOTER_LENGTH;
      if (rest < TAG_LENGTH) fail("E_TRUNCATED", "clip is truncated: no room left for a final segment and the footer");
      const plaintext = this.#openSegment(stream.subarray(0, rest), true, stream);
      const footer = stream.subarray(rest);
      const crypto = this.#options.crypto;
      const payloadHash = (this.#payloadHash as ReturnType<Crypto["createSha256"]>).digest();
      const message = concat(LABEL_FOOTER, this.#headHash, u32be(this.#index), u64be(this.#plaintextLength), payloadHash);
      if (!crypto.ecdsaP256Verify((this.#camera as CameraIdentity).publicKey, message, footer)) {
        wipe(plaintext);
        fail("E_FOOTER", "clip footer signature does not verify: the payload is not what the camera sealed");
      }
      wipe(this.#payloadKey);
      this.#payloadKey = undefined;
      this.#state = "done";
      return { plaintext, header: head.header, segmentCount: this.#index, plaintextLength: this.#plaintextLength };
    } catch (error) {
      return this.#fail(error);
    }
  }
}

/** Opens a whole sealed clip held in memory. */
export function openClip(options: OpenerOptions, sealed: Uint8Array): { header: ClipHeader; plaintext: Uint8Array } {
  const opener = new ClipOpener(options);
  const parts = opener.push(sealed);
  const last = opener.end();
  parts.push(last.plaintext);
  return { header: last.header, plaintext: concat(...parts) };
}
