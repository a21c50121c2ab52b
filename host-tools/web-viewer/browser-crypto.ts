/**
 * BrowserCrypto: the browser's body of the firmware's synchronous Crypto interface (docs/VIEWER.md, "The
 * browser as a key holder"), so the web viewer runs the same firmware/core code as the camera, the phone and
 * the CLI viewer (HPKE, the clip opener, X.509 and roster checks, the share envelope).
 *
 * - Symmetric and hash primitives, ECDSA verification and software P-256 keys: the audited @noble libraries
 *   (@noble/hashes, @noble/ciphers, @noble/curves), which are synchronous.
 * - What only WebCrypto can do or should do, asynchronously: RSA-PSS verification (the account key is RSA) and
 *   ECDH with a key the page holds as a NON-EXTRACTABLE CryptoKey (`HeldKey`; its scalar never reaches script).
 *   Those two answer from a table of results WebCrypto computed ahead. A question not in the table is a miss:
 *   it is recorded, and a placeholder answer is returned that fails closed (verify = false, ECDH = zeros).
 *   `settle(run)` runs a synchronous computation, and while it had misses, discards its result (whatever it
 *   returned or threw), asks WebCrypto every missed question, and runs it again. Only a run without a single
 *   miss is returned, so no answer derived from a placeholder ever leaves `settle`.
 *
 * Conventions are those of firmware/platform/crypto.ts exactly (test/crypto/wycheproof-browser.test.ts runs
 * the Wycheproof families the Node body passes). Not available here: RSA-OAEP encryption (the viewer never
 * wraps to RSA) and exporting a HeldKey (E_STATE).
 */
import { gcm } from "@noble/ciphers/aes.js";
import { p256 } from "@noble/curves/nist.js";
import { expand, extract } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { concat, toHex } from "../../firmware/core/bytes";
import { SealcamError, fail } from "../../firmware/core/errors";
import { spkiFromRsa } from "../../firmware/core/keys";
import type { Crypto, P256PrivateKey, Sha256 } from "../../firmware/platform/crypto";
import {
  ScalarP256Key, argument, bytes, checkAesGcm, checkHkdfExpand, checkP256Scalar, checkRandomLength, checkUncompressedPoint,
  ecdsaP256SignDeterministic, generateP256Key, sha256Stream,
} from "../platform/crypto-common";
import type { CryptoKey, SubtleCrypto, WebCrypto } from "./webcrypto";

function uncompressedPoint(point: Uint8Array): void {
  checkUncompressedPoint(point);
  try {
    p256.Point.fromBytes(point).assertValidity();
  } catch {
    throw new SealcamError("E_ARGUMENT", "public key is not a point on P-256");
  }
}

/** A P-256 key whose scalar is in page memory (a key delivered in a share envelope, briefly; HPKE ephemerals). */
class SoftKey extends ScalarP256Key {
  constructor(scalar: Uint8Array) {
    super(scalar, p256.getPublicKey(scalar, false));
  }
}

/** A P-256 key held by WebCrypto as a non-extractable ECDH CryptoKey: only ECDH, answered via `settle`. */
export class HeldKey implements P256PrivateKey {
  readonly kind = "p256-private" as const;
  /** Names the key in the answer table (its public point, hex). */
  readonly id: string;
  constructor(readonly key: CryptoKey, readonly publicKey: Uint8Array) {
    this.id = toHex(publicKey);
  }
}

type EcdhAnswer = Uint8Array | "invalid";
interface Miss {
  id: string;
  ask: () => Promise<void>;
}

/** The most rounds `settle` takes (each round answers at least one new question). */
export const SETTLE_MAX_ROUNDS = 24;

export class BrowserCrypto implements Crypto {
  readonly #subtle: SubtleCrypto;
  readonly #random: (array: Uint8Array) => void;
  readonly #rsa = new Map<string, boolean | "invalid">();
  readonly #ecdh = new Map<string, EcdhAnswer>();
  #misses = new Map<string, Miss>();

  constructor(webCrypto: WebCrypto) {
    this.#subtle = webCrypto.subtle;
    this.#random = (array) => void webCrypto.getRandomValues(array);
  }

  /**
   * Runs `run` (synchronous, free of side effects outside its own return value) until it completes without a
   * question WebCrypto has not answered yet; returns or throws what that complete run returned or threw.
   */
  async settle<T>(run: () => T): Promise<T> {
    for (let round = 0; round < SETTLE_MAX_ROUNDS; round++) {
      this.#misses = new Map();
      let result: T | undefined;
      let error: unknown;
      let threw = false;
      try {
        result = run();
      } catch (e) {
        error = e;
        threw = true;
      }
      const misses = [...this.#misses.values()];
      this.#misses = new Map();
      if (misses.length === 0) {
        if (threw) throw error;
        return result as T;
      }
      for (const miss of misses) await miss.ask();
    }
    return fail("E_INTERNAL", `browser crypto: more than ${SETTLE_MAX_ROUNDS} rounds of WebCrypto questions`);
  }

  randomBytes(length: number): Uint8Array {
    checkRandomLength(length);
    const out = new Uint8Array(length);
    if (length > 0) this.#random(out);
    return out;
  }

  sha256(data: Uint8Array): Uint8Array {
    bytes("data", data);
    return sha256(data);
  }

  createSha256(): Sha256 {
    return sha256Stream(sha256.create());
  }

  hkdfExtract(salt: Uint8Array, ikm: Uint8Array): Uint8Array {
    bytes("salt", salt);
    bytes("ikm", ikm);
    // RFC 5869: an empty salt means HashLen zero bytes, which is also HMAC's padding of an empty key.
    return extract(sha256, ikm, salt.length === 0 ? new Uint8Array(32) : salt);
  }

  hkdfExpand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
    checkHkdfExpand(prk, info, length);
    return expand(sha256, prk, info, length);
  }

  aesGcmSeal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    checkAesGcm(key, nonce, aad, "plaintext", plaintext);
    return gcm(key, nonce, aad).encrypt(plaintext);
  }

  aesGcmOpen(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | null {
    checkAesGcm(key, nonce, aad, "sealed", sealed);
    if (sealed.length < 16) return null;
    try {
      return gcm(key, nonce, aad).decrypt(sealed);
    } catch {
      return null;
    }
  }

  p256Generate(): P256PrivateKey {
    return generateP256Key((length) => this.randomBytes(length), (scalar) => new SoftKey(scalar));
  }

  p256Import(privateScalar: Uint8Array): P256PrivateKey {
    checkP256Scalar(privateScalar);
    return new SoftKey(privateScalar);
  }

  #soft(key: P256PrivateKey): SoftKey {
    if (key instanceof HeldKey) fail("E_STATE", "this key is held by the browser (non-extractable): only ECDH is possible with it");
    argument(key instanceof SoftKey, "not a key from this crypto provider");
    return key as SoftKey;
  }

  p256Export(key: P256PrivateKey): Uint8Array {
    return this.#soft(key).exportScalar();
  }

  p256PublicKey(key: P256PrivateKey): Uint8Array {
    if (key instanceof HeldKey) return Uint8Array.from(key.publicKey);
    return this.#soft(key).exportPublicKey();
  }

  p256Ecdh(key: P256PrivateKey, peerPublicKey: Uint8Array): Uint8Array {
    if (key instanceof HeldKey) {
      checkUncompressedPoint(peerPublicKey);
      const id = `${key.id}:${toHex(peerPublicKey)}`;
      const answer = this.#ecdh.get(id);
      if (answer === "invalid") throw new SealcamError("E_ARGUMENT", "peer public key is not a valid P-256 point");
      if (answer) return Uint8Array.from(answer);
      const peer = Uint8Array.from(peerPublicKey);
      this.#misses.set(id, { id, ask: () => this.#askEcdh(id, key, peer) });
      return new Uint8Array(32);
    }
    const k = this.#soft(key);
    uncompressedPoint(peerPublicKey);
    return p256.getSharedSecret(k.scalar, peerPublicKey, true).slice(1);
  }

  async #askEcdh(id: string, key: HeldKey, peer: Uint8Array): Promise<void> {
    let publicKey: CryptoKey;
    try {
      publicKey = await this.#subtle.importKey("raw", peer, { name: "ECDH", namedCurve: "P-256" }, false, []);
    } catch {
      this.#ecdh.set(id, "invalid");
      return;
    }
    const bits = await this.#subtle.deriveBits({ name: "ECDH", public: publicKey }, key.key, 256);
    this.#ecdh.set(id, new Uint8Array(bits));
  }

  ecdsaP256Sign(key: P256PrivateKey, message: Uint8Array): Uint8Array {
    bytes("message", message);
    return ecdsaP256SignDeterministic(this.#soft(key).scalar, message);
  }

  ecdsaP256Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    bytes("message", message);
    bytes("signature", signature);
    uncompressedPoint(publicKey);
    if (signature.length !== 64) return false;
    try {
      return p256.verify(signature, message, publicKey, { prehash: true, lowS: false, format: "compact" });
    } catch {
      return false;
    }
  }

  p256Destroy(key: P256PrivateKey): void {
    if (key instanceof HeldKey) return; // the CryptoKey lives in IndexedDB; nothing of it is in script memory
    this.#soft(key).destroy();
  }

  rsaOaepSha256Encrypt(): Uint8Array {
    return fail("E_STATE", "RSA-OAEP encryption is not available in the browser viewer (it only opens clips)");
  }

  rsaPssSha256Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    bytes("RSA public key", publicKey);
    bytes("message", message);
    bytes("signature", signature);
    const id = toHex(sha256(concat(sha256(publicKey), sha256(message), sha256(signature))));
    const answer = this.#rsa.get(id);
    if (answer === "invalid") throw new SealcamError("E_ARGUMENT", "not a PKCS#1 RSAPublicKey");
    if (answer !== undefined) return answer;
    const [k, m, s] = [Uint8Array.from(publicKey), Uint8Array.from(message), Uint8Array.from(signature)];
    this.#misses.set(id, { id, ask: () => this.#askRsa(id, k, m, s) });
    return false;
  }

  async #askRsa(id: string, pkcs1: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<void> {
    let key: CryptoKey;
    try {
      key = await this.#subtle.importKey("spki", spkiFromRsa(pkcs1), { name: "RSA-PSS", hash: "SHA-256" }, false, ["verify"]);
    } catch {
      this.#rsa.set(id, "invalid");
      return;
    }
    let ok = false;
    try {
      ok = await this.#subtle.verify({ name: "RSA-PSS", saltLength: 32 }, key, signature, message);
    } catch {
      ok = false;
    }
    this.#rsa.set(id, ok);
  }
}
