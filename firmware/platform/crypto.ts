/**
 * Crypto: every primitive the firmware uses, behind one small interface.
 *
 * Two bodies implement it: the camera's native module over mbedtls/PSA (firmware/native, running in XS)
 * and the host's body over node:crypto (host-tools/platform/node-crypto.ts, used by jest and the phone).
 * Code above this interface must not know which one it has.
 *
 * Conventions (both bodies follow them exactly, pinned by test/crypto-conformance):
 * - Bad arguments (wrong lengths, invalid keys or points) throw; an authentication failure is not an
 *   error here: `aesGcmOpen` returns null and the `*Verify` methods return false.
 * - P-256 public keys are 65-byte uncompressed SEC1 points; ECDSA signatures are 64-byte r||s (IEEE P1363)
 *   and are deterministic (RFC 6979 with SHA-256), so sealing is reproducible from an injected RNG.
 * - RSA public keys are PKCS#1 RSAPublicKey DER (the BIT STRING content of an RSA SubjectPublicKeyInfo).
 * - RSA-PSS uses SHA-256, MGF1-SHA-256 and a 32-byte salt; RSA-OAEP uses SHA-256 and MGF1-SHA-256.
 */

/** A P-256 private key that stays inside the provider (a PSA key handle on the camera). */
export interface P256PrivateKey {
  readonly kind: "p256-private";
}

/** Incremental SHA-256, for hashing a clip as it streams past. */
export interface Sha256 {
  update(data: Uint8Array): void;
  /** Returns the 32-byte digest; the object cannot be used afterwards. */
  digest(): Uint8Array;
}

export interface Crypto {
  /** Cryptographically secure random bytes (hardware RNG on the camera). */
  randomBytes(length: number): Uint8Array;

  sha256(data: Uint8Array): Uint8Array;
  createSha256(): Sha256;

  /** RFC 5869 HKDF-SHA256 Extract: returns the 32-byte PRK. */
  hkdfExtract(salt: Uint8Array, ikm: Uint8Array): Uint8Array;
  /** RFC 5869 HKDF-SHA256 Expand; length is 1..8160. */
  hkdfExpand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array;

  /** AES-128-GCM with a 12-byte nonce and 16-byte tag; returns ciphertext || tag. */
  aesGcmSeal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array;
  /** Opens ciphertext || tag; returns null when authentication fails. */
  aesGcmOpen(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | null;

  /** A fresh P-256 key pair from the provider's RNG. */
  p256Generate(): P256PrivateKey;
  /** Imports a 32-byte big-endian private scalar; throws unless 0 < d < n. */
  p256Import(privateScalar: Uint8Array): P256PrivateKey;
  /** The 32-byte private scalar, only for sealed storage on the device that owns the key. */
  p256Export(key: P256PrivateKey): Uint8Array;
  /** The 65-byte uncompressed public point. */
  p256PublicKey(key: P256PrivateKey): Uint8Array;
  /** ECDH: the 32-byte x coordinate of d * peer; throws if peer is not a valid point on the curve. */
  p256Ecdh(key: P256PrivateKey, peerPublicKey: Uint8Array): Uint8Array;
  /** ECDSA-P256-SHA256 over message, deterministic (RFC 6979); returns 64-byte r || s. */
  ecdsaP256Sign(key: P256PrivateKey, message: Uint8Array): Uint8Array;
  ecdsaP256Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
  /** Releases the key; later use throws. Idempotent. */
  p256Destroy(key: P256PrivateKey): void;

  /** RSA-OAEP (SHA-256, MGF1-SHA-256) with the given label; publicKey is PKCS#1 RSAPublicKey DER. */
  rsaOaepSha256Encrypt(publicKey: Uint8Array, plaintext: Uint8Array, label: Uint8Array): Uint8Array;
  /** RSA-PSS (SHA-256, MGF1-SHA-256, salt 32) verification over message. */
  rsaPssSha256Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
}
