/**
 * RFC 9180 HPKE for one suite: DHKEM(P-256, HKDF-SHA256) = 0x0010, HKDF-SHA256 = 0x0001, AES-128-GCM = 0x0001.
 * Base mode (0x00) wraps clip keys to phones; PSK mode (0x01) is available for protocols that have a shared
 * secret. Composed only from the Crypto interface; checked against RFC 9180 Appendix A.3 and @hpke/core.
 *
 * Ephemeral keys come from DeriveKeyPair(randomBytes(32)) (RFC 9180 §7.1.3 allows GenerateKeyPair to be
 * implemented that way), so a sealer driven by an injected RNG is reproducible byte for byte.
 */
import type { Crypto, P256PrivateKey } from "../platform/crypto";
import { asciiBytes, concat, u16be, wipe } from "./bytes";
import { SealcamError, fail } from "./errors";

export const KEM_ID = 0x0010;
export const KDF_ID = 0x0001;
export const AEAD_ID = 0x0001;
export const N_ENC = 65;
export const N_K = 16;
export const N_N = 12;
export const N_T = 16;

export type HpkeMode = "base" | "psk";

const VERSION_LABEL = asciiBytes("HPKE-v1");
const KEM_SUITE = concat(asciiBytes("KEM"), u16be(KEM_ID));
const HPKE_SUITE = concat(asciiBytes("HPKE"), u16be(KEM_ID), u16be(KDF_ID), u16be(AEAD_ID));
const P256_ORDER = [
  0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
  0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

function labeledExtract(crypto: Crypto, suite: Uint8Array, salt: Uint8Array, label: string, ikm: Uint8Array): Uint8Array {
  return crypto.hkdfExtract(salt, concat(VERSION_LABEL, suite, asciiBytes(label), ikm));
}

function labeledExpand(
  crypto: Crypto,
  suite: Uint8Array,
  prk: Uint8Array,
  label: string,
  info: Uint8Array,
  length: number,
): Uint8Array {
  return crypto.hkdfExpand(prk, concat(u16be(length), VERSION_LABEL, suite, asciiBytes(label), info), length);
}

/** True if the 32-byte big-endian candidate is in 1..n-1 (a public bound, so the early exit leaks nothing). */
function isValidScalar(candidate: Uint8Array): boolean {
  let zero = true;
  for (const b of candidate) if (b !== 0) zero = false;
  if (zero) return false;
  for (let i = 0; i < 32; i++) {
    if (candidate[i] < P256_ORDER[i]) return true;
    if (candidate[i] > P256_ORDER[i]) return false;
  }
  return false;
}

/** RFC 9180 §7.1.3 DeriveKeyPair for P-256. */
export function deriveKeyPair(crypto: Crypto, ikm: Uint8Array): P256PrivateKey {
  const prk = labeledExtract(crypto, KEM_SUITE, new Uint8Array(0), "dkp_prk", ikm);
  for (let counter = 0; counter < 256; counter++) {
    const candidate = labeledExpand(crypto, KEM_SUITE, prk, "candidate", new Uint8Array([counter]), 32);
    if (isValidScalar(candidate)) {
      const key = crypto.p256Import(candidate);
      wipe(candidate, prk);
      return key;
    }
    wipe(candidate);
  }
  wipe(prk);
  return fail("E_CRYPTO", "hpke: DeriveKeyPair found no valid scalar");
}

function extractAndExpand(crypto: Crypto, dh: Uint8Array, kemContext: Uint8Array): Uint8Array {
  const prk = labeledExtract(crypto, KEM_SUITE, new Uint8Array(0), "eae_prk", dh);
  const shared = labeledExpand(crypto, KEM_SUITE, prk, "shared_secret", kemContext, 32);
  wipe(prk);
  return shared;
}

/** DHKEM Encap with a given ephemeral key (the caller derives it from randomness). */
export function encap(crypto: Crypto, recipientPublicKey: Uint8Array, ephemeral: P256PrivateKey): { shared: Uint8Array; enc: Uint8Array } {
  if (recipientPublicKey.length !== N_ENC || recipientPublicKey[0] !== 0x04) {
    fail("E_ARGUMENT", "hpke: recipient key must be a 65-byte uncompressed P-256 point");
  }
  const enc = crypto.p256PublicKey(ephemeral);
  const dh = crypto.p256Ecdh(ephemeral, recipientPublicKey);
  const shared = extractAndExpand(crypto, dh, concat(enc, recipientPublicKey));
  wipe(dh);
  return { shared, enc };
}

export function decap(crypto: Crypto, enc: Uint8Array, recipient: P256PrivateKey): Uint8Array {
  if (enc.length !== N_ENC || enc[0] !== 0x04) fail("E_FORMAT", "hpke: enc must be a 65-byte uncompressed point");
  let dh: Uint8Array;
  try {
    dh = crypto.p256Ecdh(recipient, enc);
  } catch {
    return fail("E_UNWRAP", "hpke: enc is not a valid P-256 point");
  }
  const shared = extractAndExpand(crypto, dh, concat(enc, crypto.p256PublicKey(recipient)));
  wipe(dh);
  return shared;
}

/** An HPKE context: seals or opens a sequence of messages; the sequence number is internal and never reused. */
export class HpkeContext {
  readonly #crypto: Crypto;
  readonly #key: Uint8Array;
  readonly #baseNonce: Uint8Array;
  readonly exporterSecret: Uint8Array;
  #sequence = 0;

  constructor(crypto: Crypto, key: Uint8Array, baseNonce: Uint8Array, exporterSecret: Uint8Array) {
    this.#crypto = crypto;
    this.#key = key;
    this.#baseNonce = baseNonce;
    this.exporterSecret = exporterSecret;
  }

  /** Exposed for test vectors only. */
  get keyForTesting(): Uint8Array {
    return this.#key;
  }
  get baseNonceForTesting(): Uint8Array {
    return this.#baseNonce;
  }

  #nonce(): Uint8Array {
    if (this.#sequence >= 0xffffffff) fail("E_LIMIT", "hpke: message limit reached");
    const nonce = Uint8Array.from(this.#baseNonce);
    let seq = this.#sequence;
    for (let i = 11; i >= 8 && seq > 0; i--) {
      nonce[i] ^= seq & 0xff;
      seq = Math.floor(seq / 256);
    }
    return nonce;
  }

  seal(aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    const out = this.#crypto.aesGcmSeal(this.#key, this.#nonce(), aad, plaintext);
    this.#sequence++;
    return out;
  }

  /** Returns null if the ciphertext does not authenticate; the sequence only advances on success. */
  open(aad: Uint8Array, ciphertext: Uint8Array): Uint8Array | null {
    const out = this.#crypto.aesGcmOpen(this.#key, this.#nonce(), aad, ciphertext);
    if (out) this.#sequence++;
    return out;
  }

  /** RFC 9180 §5.3 secret export. */
  export(context: Uint8Array, length: number): Uint8Array {
    return labeledExpand(this.#crypto, HPKE_SUITE, this.exporterSecret, "sec", context, length);
  }

  destroy(): void {
    wipe(this.#key, this.#baseNonce, this.exporterSecret);
  }
}

export interface PskInput {
  psk: Uint8Array;
  pskId: Uint8Array;
}

function keySchedule(crypto: Crypto, shared: Uint8Array, info: Uint8Array, psk?: PskInput): HpkeContext {
  if (psk && (psk.psk.length < 32 || psk.pskId.length === 0)) {
    fail("E_ARGUMENT", "hpke: psk must be at least 32 bytes and psk_id non-empty");
  }
  const mode = psk ? 0x01 : 0x00;
  const pskBytes = psk ? psk.psk : new Uint8Array(0);
  const pskId = psk ? psk.pskId : new Uint8Array(0);
  const empty = new Uint8Array(0);
  const pskIdHash = labeledExtract(crypto, HPKE_SUITE, empty, "psk_id_hash", pskId);
  const infoHash = labeledExtract(crypto, HPKE_SUITE, empty, "info_hash", info);
  const context = concat(new Uint8Array([mode]), pskIdHash, infoHash);
  const secret = labeledExtract(crypto, HPKE_SUITE, shared, "secret", pskBytes);
  const key = labeledExpand(crypto, HPKE_SUITE, secret, "key", context, N_K);
  const baseNonce = labeledExpand(crypto, HPKE_SUITE, secret, "base_nonce", context, N_N);
  const exporter = labeledExpand(crypto, HPKE_SUITE, secret, "exp", context, 32);
  wipe(secret);
  return new HpkeContext(crypto, key, baseNonce, exporter);
}

/** SetupBaseS / SetupPSKS. The ephemeral key defaults to DeriveKeyPair(randomBytes(32)). */
export function setupSender(
  crypto: Crypto,
  recipientPublicKey: Uint8Array,
  info: Uint8Array,
  options: { psk?: PskInput; ephemeral?: P256PrivateKey } = {},
): { enc: Uint8Array; context: HpkeContext } {
  let ephemeral = options.ephemeral;
  const ownEphemeral = !ephemeral;
  if (!ephemeral) {
    const ikm = crypto.randomBytes(32);
    ephemeral = deriveKeyPair(crypto, ikm);
    wipe(ikm);
  }
  try {
    const { shared, enc } = encap(crypto, recipientPublicKey, ephemeral);
    const context = keySchedule(crypto, shared, info, options.psk);
    wipe(shared);
    return { enc, context };
  } finally {
    if (ownEphemeral) crypto.p256Destroy(ephemeral);
  }
}

/** SetupBaseR / SetupPSKR. */
export function setupRecipient(
  crypto: Crypto,
  enc: Uint8Array,
  recipient: P256PrivateKey,
  info: Uint8Array,
  options: { psk?: PskInput } = {},
): HpkeContext {
  const shared = decap(crypto, enc, recipient);
  const context = keySchedule(crypto, shared, info, options.psk);
  wipe(shared);
  return context;
}

/** Single-shot seal (RFC 9180 §6.1): returns enc and the ciphertext of one message. */
export function sealSingleShot(
  crypto: Crypto,
  recipientPublicKey: Uint8Array,
  info: Uint8Array,
  aad: Uint8Array,
  plaintext: Uint8Array,
): { enc: Uint8Array; ciphertext: Uint8Array } {
  const { enc, context } = setupSender(crypto, recipientPublicKey, info);
  const ciphertext = context.seal(aad, plaintext);
  context.destroy();
  return { enc, ciphertext };
}

/** Single-shot open; throws E_UNWRAP if the message does not authenticate under this key. */
export function openSingleShot(
  crypto: Crypto,
  recipient: P256PrivateKey,
  enc: Uint8Array,
  info: Uint8Array,
  aad: Uint8Array,
  ciphertext: Uint8Array,
): Uint8Array {
  const context = setupRecipient(crypto, enc, recipient, info);
  const plaintext = context.open(aad, ciphertext);
  context.destroy();
  if (!plaintext) throw new SealcamError("E_UNWRAP", "hpke: ciphertext does not open with this key");
  return plaintext;
}
