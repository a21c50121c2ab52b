/**
 * DeterministicCrypto: wraps a real Crypto so that every random draw comes from a seeded stream. Used to
 * generate and reproduce test vectors byte for byte, on the host and inside XS on the camera engine.
 * Never used outside tests.
 *
 * Stream: block i = SHA-256(seed || u32be(i)), i = 0, 1, ...; randomBytes(n) takes the next n bytes.
 * RSA-OAEP is randomised inside the provider and cannot be seeded through PSA or OpenSSL, so its outputs are
 * replayed from the vector (`oaepReplay`); the vector test separately proves they decrypt to the clip key.
 */
import type { Crypto, P256PrivateKey, Sha256 } from "../platform/crypto";
import { concat, u32be } from "../core/bytes";
import { fail } from "../core/errors";
import { deriveKeyPair } from "../core/hpke";

export class DeterministicCrypto implements Crypto {
  readonly #base: Crypto;
  readonly #seed: Uint8Array;
  #block = 0;
  #pool: Uint8Array = new Uint8Array(0);
  readonly #oaepReplay: Uint8Array[] | undefined;
  /** Every RSA-OAEP output produced (or replayed), in order, for recording into a vector. */
  readonly oaepOutputs: Uint8Array[] = [];

  constructor(base: Crypto, seed: Uint8Array, oaepReplay?: Uint8Array[]) {
    this.#base = base;
    this.#seed = Uint8Array.from(seed);
    this.#oaepReplay = oaepReplay ? [...oaepReplay] : undefined;
  }

  randomBytes(length: number): Uint8Array {
    while (this.#pool.length < length) {
      this.#pool = concat(this.#pool, this.#base.sha256(concat(this.#seed, u32be(this.#block++))));
    }
    const out = this.#pool.slice(0, length);
    this.#pool = this.#pool.slice(length);
    return out;
  }

  sha256(data: Uint8Array): Uint8Array { return this.#base.sha256(data); }
  createSha256(): Sha256 { return this.#base.createSha256(); }
  hkdfExtract(salt: Uint8Array, ikm: Uint8Array): Uint8Array { return this.#base.hkdfExtract(salt, ikm); }
  hkdfExpand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array { return this.#base.hkdfExpand(prk, info, length); }
  aesGcmSeal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    return this.#base.aesGcmSeal(key, nonce, aad, plaintext);
  }
  aesGcmOpen(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | null {
    return this.#base.aesGcmOpen(key, nonce, aad, sealed);
  }
  p256Generate(): P256PrivateKey { return deriveKeyPair(this, this.randomBytes(32)); }
  p256Import(privateScalar: Uint8Array): P256PrivateKey { return this.#base.p256Import(privateScalar); }
  p256Export(key: P256PrivateKey): Uint8Array { return this.#base.p256Export(key); }
  p256PublicKey(key: P256PrivateKey): Uint8Array { return this.#base.p256PublicKey(key); }
  p256Ecdh(key: P256PrivateKey, peer: Uint8Array): Uint8Array { return this.#base.p256Ecdh(key, peer); }
  ecdsaP256Sign(key: P256PrivateKey, message: Uint8Array): Uint8Array { return this.#base.ecdsaP256Sign(key, message); }
  ecdsaP256Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    return this.#base.ecdsaP256Verify(publicKey, message, signature);
  }
  p256Destroy(key: P256PrivateKey): void { this.#base.p256Destroy(key); }
  rsaOaepSha256Encrypt(publicKey: Uint8Array, plaintext: Uint8Array, label: Uint8Array): Uint8Array {
    let out: Uint8Array;
    if (this.#oaepReplay) {
      const next = this.#oaepReplay.shift();
      if (!next) return fail("E_STATE", "deterministic crypto: no recorded RSA-OAEP output left to replay");
      out = next;
    } else {
      out = this.#base.rsaOaepSha256Encrypt(publicKey, plaintext, label);
    }
    this.oaepOutputs.push(out);
    return out;
  }
  rsaPssSha256Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    return this.#base.rsaPssSha256Verify(publicKey, message, signature);
  }
}
