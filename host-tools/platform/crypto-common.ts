/**
 * What the host bodies of the firmware's Crypto interface share, whatever computes their primitives: the
 * argument checks in the conventions of firmware/platform/crypto.ts, the P-256 private scalar's range, a
 * P-256 private key whose scalar is in script memory, key generation by rejection sampling, deterministic
 * ECDSA signing (RFC 6979, @noble/curves) and the one-shot SHA-256 stream.
 *
 * Used by NodeCrypto (node-crypto.ts, over OpenSSL) and BrowserCrypto (host-tools/web-viewer/browser-crypto.ts,
 * over @noble and WebCrypto). PORTABLE: no Node built-ins, because the browser bundle imports it.
 */
import { p256 } from "@noble/curves/nist.js";
import { wipe } from "../../firmware/core/bytes";
import { SealcamError } from "../../firmware/core/errors";
import type { P256PrivateKey, Sha256 } from "../../firmware/platform/crypto";

const P256_ORDER = BigInt("0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");

/** E_ARGUMENT with `message` unless `condition` holds. */
export function argument(condition: boolean, message: string): void {
  if (!condition) throw new SealcamError("E_ARGUMENT", message);
}

/** E_ARGUMENT unless `value` is a Uint8Array (of exactly `length` bytes, when given). */
export function bytes(name: string, value: Uint8Array, length?: number): void {
  argument(value instanceof Uint8Array, `${name} must be a Uint8Array`);
  if (length !== undefined) argument(value.length === length, `${name} must be ${length} bytes, got ${value.length}`);
}

/** True if the 32-byte big-endian `scalar` is a P-256 private key: in 1..n-1. */
export function p256ScalarIsValid(scalar: Uint8Array): boolean {
  let value = 0n;
  for (const b of scalar) value = (value << 8n) | BigInt(b);
  return value > 0n && value < P256_ORDER;
}

/** A public key's shape: a 65-byte uncompressed point (whether it is on the curve is the body's to check). */
export function checkUncompressedPoint(point: Uint8Array): void {
  bytes("public key", point, 65);
  argument(point[0] === 0x04, "public key must be an uncompressed point (0x04 prefix)");
}

/** randomBytes' bound (firmware/platform/crypto.ts: 0..65536). */
export function checkRandomLength(length: number): void {
  argument(Number.isInteger(length) && length >= 0 && length <= 65536, "random length out of range");
}

/** hkdfExpand's arguments: PRK at least HashLen, L in 1..255·HashLen (RFC 5869 §2.3). */
export function checkHkdfExpand(prk: Uint8Array, info: Uint8Array, length: number): void {
  bytes("prk", prk);
  bytes("info", info);
  argument(prk.length >= 32, "prk must be at least 32 bytes");
  argument(Number.isInteger(length) && length >= 1 && length <= 255 * 32, "hkdf length must be 1..8160");
}

/** AES-128-GCM's arguments: a 16-byte key, a 12-byte nonce, the AAD and the data (`name`: plaintext or sealed). */
export function checkAesGcm(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, name: string, data: Uint8Array): void {
  bytes("key", key, 16);
  bytes("nonce", nonce, 12);
  bytes("aad", aad);
  bytes(name, data);
}

/** p256Import's argument: 32 bytes in 1..n-1. */
export function checkP256Scalar(privateScalar: Uint8Array): void {
  bytes("private key", privateScalar, 32);
  argument(p256ScalarIsValid(privateScalar), "private key must be in 1..n-1");
}

/**
 * A P-256 private key whose scalar is in script memory (a copy, wiped by destroy). Each Crypto body subclasses
 * it, so that a key from one body is refused by another ("not a key from this crypto provider").
 */
export class ScalarP256Key implements P256PrivateKey {
  readonly kind = "p256-private" as const;
  #scalar: Uint8Array | undefined;
  constructor(scalar: Uint8Array, readonly publicKey: Uint8Array) {
    this.#scalar = Uint8Array.from(scalar);
  }
  /** The scalar itself (not a copy); E_STATE once destroyed. */
  get scalar(): Uint8Array {
    if (!this.#scalar) throw new SealcamError("E_STATE", "p256 key was destroyed");
    return this.#scalar;
  }
  /** A copy of the scalar (p256Export). */
  exportScalar(): Uint8Array {
    return Uint8Array.from(this.scalar);
  }
  /** A copy of the public point (p256PublicKey); E_STATE once destroyed. */
  exportPublicKey(): Uint8Array {
    void this.scalar; // throws if destroyed
    return Uint8Array.from(this.publicKey);
  }
  destroy(): void {
    if (this.#scalar) wipe(this.#scalar);
    this.#scalar = undefined;
  }
}

/** p256Generate: random scalars until one is in 1..n-1 (rejection sampling); the candidate is wiped. */
export function generateP256Key<K>(randomBytes: (length: number) => Uint8Array, make: (scalar: Uint8Array) => K): K {
  for (;;) {
    const scalar = randomBytes(32);
    if (p256ScalarIsValid(scalar)) {
      const key = make(scalar);
      wipe(scalar);
      return key;
    }
  }
}

/** ECDSA P-256 over SHA-256 with the RFC 6979 deterministic nonce, s not normalised (PSA does not normalise either). */
export function ecdsaP256SignDeterministic(scalar: Uint8Array, message: Uint8Array): Uint8Array {
  return p256.sign(message, scalar, { prehash: true, lowS: false, format: "compact", extraEntropy: false });
}

/** A Sha256 stream over an incremental hash: digest once; update or digest after that is E_STATE. */
export function sha256Stream(hash: { update(data: Uint8Array): unknown; digest(): Uint8Array }): Sha256 {
  let live: typeof hash | undefined = hash;
  return {
    update(data: Uint8Array) {
      if (!live) throw new SealcamError("E_STATE", "sha256 already finished");
      live.update(data);
    },
    digest() {
      if (!live) throw new SealcamError("E_STATE", "sha256 already finished");
      const out = live.digest();
      live = undefined;
      return out;
    },
  };
}
