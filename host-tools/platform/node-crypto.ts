/**
 * NodeCrypto: the host body of the firmware's Crypto interface, over node:crypto (OpenSSL).
 * Used by jest, the phone and the cloud. It follows the conventions in firmware/platform/crypto.ts exactly;
 * test/crypto/ pins it to Wycheproof and RFC vectors, and test/xs/ checks the camera's native body against it.
 *
 * One deviation from "node:crypto only": ECDSA signing uses @noble/curves, because OpenSSL as exposed by
 * Node cannot do deterministic (RFC 6979) ECDSA, and the firmware's signatures must be reproducible from
 * an injected RNG so test vectors pin them byte for byte (crypto-common.ts, shared with the browser's body).
 * Verification stays on OpenSSL.
 */
import * as nodeCrypto from "node:crypto";
import type { Crypto, P256PrivateKey, Sha256 } from "../../firmware/platform/crypto";
import { SealcamError } from "../../firmware/core/errors";
import { toBase64Url, wipe } from "../../firmware/core/bytes";
import {
  ScalarP256Key, argument, bytes, checkAesGcm, checkHkdfExpand, checkP256Scalar, checkRandomLength, checkUncompressedPoint,
  ecdsaP256SignDeterministic, generateP256Key, sha256Stream,
} from "./crypto-common";

function nodePublicKey(scalar: Uint8Array): Uint8Array {
  const ecdh = nodeCrypto.createECDH("prime256v1");
  ecdh.setPrivateKey(Buffer.from(scalar));
  return new Uint8Array(ecdh.getPublicKey());
}

class NodeP256Key extends ScalarP256Key {
  constructor(scalar: Uint8Array) {
    super(scalar, nodePublicKey(scalar));
  }
}

function asKey(key: P256PrivateKey): NodeP256Key {
  argument(key instanceof NodeP256Key, "not a key from this crypto provider");
  return key as NodeP256Key;
}

function p256PublicKeyObject(point: Uint8Array): nodeCrypto.KeyObject {
  checkUncompressedPoint(point);
  try {
    return nodeCrypto.createPublicKey({
      key: { kty: "EC", crv: "P-256", x: toBase64Url(point.subarray(1, 33)), y: toBase64Url(point.subarray(33)) },
      format: "jwk",
    });
  } catch {
    throw new SealcamError("E_ARGUMENT", "public key is not a point on P-256");
  }
}

/**
 * P-256 public keys already imported for ECDSA verification, keyed by the 65-byte point (hex), least recently
 * used first. A phone verifies two signatures per clip, mostly from the same few cameras, and a JWK import costs
 * more than the verify. Only points that imported successfully are kept (a bad point throws every time, as
 * before), KeyObjects are immutable, and public keys are not secrets, so a hit behaves exactly like an import.
 */
const VERIFY_KEY_CACHE_SIZE = 64;
const verifyKeys = new Map<string, nodeCrypto.KeyObject>();

function cachedP256PublicKeyObject(point: Uint8Array): nodeCrypto.KeyObject {
  bytes("public key", point, 65);
  const id = Buffer.from(point.buffer, point.byteOffset, point.byteLength).toString("hex");
  const hit = verifyKeys.get(id);
  if (hit) {
    verifyKeys.delete(id);
    verifyKeys.set(id, hit);
    return hit;
  }
  const keyObject = p256PublicKeyObject(point);
  verifyKeys.set(id, keyObject);
  if (verifyKeys.size > VERIFY_KEY_CACHE_SIZE) verifyKeys.delete(verifyKeys.keys().next().value as string);
  return keyObject;
}

function rsaPublicKeyObject(pkcs1Der: Uint8Array): nodeCrypto.KeyObject {
  bytes("RSA public key", pkcs1Der);
  try {
    return nodeCrypto.createPublicKey({ key: Buffer.from(pkcs1Der), format: "der", type: "pkcs1" });
  } catch {
    throw new SealcamError("E_ARGUMENT", "not a PKCS#1 RSAPublicKey");
  }
}

const u8 = (b: Buffer | Uint8Array): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength).slice();

export class NodeCrypto implements Crypto {
  randomBytes(length: number): Uint8Array {
    checkRandomLength(length);
    return u8(nodeCrypto.randomBytes(length));
  }

  sha256(data: Uint8Array): Uint8Array {
    bytes("data", data);
    return u8(nodeCrypto.createHash("sha256").update(data).digest());
  }

  createSha256(): Sha256 {
    const hash = nodeCrypto.createHash("sha256");
    return sha256Stream({ update: (data) => hash.update(data), digest: () => u8(hash.digest()) });
  }

  hkdfExtract(salt: Uint8Array, ikm: Uint8Array): Uint8Array {
    bytes("salt", salt);
    bytes("ikm", ikm);
    return u8(nodeCrypto.createHmac("sha256", salt).update(ikm).digest());
  }

  hkdfExpand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
    checkHkdfExpand(prk, info, length);
    // RFC 5869 §2.3, composed from HMAC-SHA256 (Node exposes only the combined extract+expand).
    const out = new Uint8Array(length);
    let previous: Uint8Array = new Uint8Array(0);
    for (let i = 0, offset = 0; offset < length; i++) {
      const block = u8(
        nodeCrypto.createHmac("sha256", prk).update(previous).update(info).update(new Uint8Array([i + 1])).digest(),
      );
      out.set(block.subarray(0, Math.min(32, length - offset)), offset);
      offset += 32;
      previous = block;
    }
    return out;
  }

  aesGcmSeal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    checkAesGcm(key, nonce, aad, "plaintext", plaintext);
    const cipher = nodeCrypto.createCipheriv("aes-128-gcm", key, nonce, { authTagLength: 16 });
    cipher.setAAD(aad);
    const out = new Uint8Array(plaintext.length + 16);
    const body = cipher.update(plaintext);
    const final = cipher.final();
    out.set(body, 0);
    out.set(final, body.length);
    out.set(cipher.getAuthTag(), plaintext.length);
    return out;
  }

  aesGcmOpen(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | null {
    checkAesGcm(key, nonce, aad, "sealed", sealed);
    if (sealed.length < 16) return null;
    const decipher = nodeCrypto.createDecipheriv("aes-128-gcm", key, nonce, { authTagLength: 16 });
    decipher.setAAD(aad);
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    const body = decipher.update(sealed.subarray(0, sealed.length - 16));
    try {
      const final = decipher.final();
      // GCM's final() adds no bytes. When update() gave the plaintext its own ArrayBuffer (not a slice of
      // Node's small-Buffer pool), hand that memory over as a plain Uint8Array instead of copying it.
      if (final.length === 0 && body.byteOffset === 0 && body.buffer.byteLength === body.length && body.length > 0) {
        return new Uint8Array(body.buffer, 0, body.length);
      }
      const out = new Uint8Array(body.length + final.length);
      out.set(body, 0);
      out.set(final, body.length);
      return out;
    } catch {
      wipe(body);
      return null;
    }
  }

  p256Generate(): P256PrivateKey {
    return generateP256Key((length) => this.randomBytes(length), (scalar) => new NodeP256Key(scalar));
  }

  p256Import(privateScalar: Uint8Array): P256PrivateKey {
    checkP256Scalar(privateScalar);
    return new NodeP256Key(privateScalar);
  }

  p256Export(key: P256PrivateKey): Uint8Array {
    return asKey(key).exportScalar();
  }

  p256PublicKey(key: P256PrivateKey): Uint8Array {
    return asKey(key).exportPublicKey();
  }

  p256Ecdh(key: P256PrivateKey, peerPublicKey: Uint8Array): Uint8Array {
    const k = asKey(key);
    p256PublicKeyObject(peerPublicKey); // validates the point
    const ecdh = nodeCrypto.createECDH("prime256v1");
    ecdh.setPrivateKey(Buffer.from(k.scalar));
    try {
      return u8(ecdh.computeSecret(Buffer.from(peerPublicKey)));
    } catch {
      throw new SealcamError("E_ARGUMENT", "peer public key is not a valid P-256 point");
    }
  }

  ecdsaP256Sign(key: P256PrivateKey, message: Uint8Array): Uint8Array {
    bytes("message", message);
    return ecdsaP256SignDeterministic(asKey(key).scalar, message);
  }

  ecdsaP256Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    bytes("message", message);
    bytes("signature", signature);
    const keyObject = cachedP256PublicKeyObject(publicKey);
    if (signature.length !== 64) return false;
    return nodeCrypto.verify("sha256", message, { key: keyObject, dsaEncoding: "ieee-p1363" }, signature);
  }

  p256Destroy(key: P256PrivateKey): void {
    asKey(key).destroy();
  }

  rsaOaepSha256Encrypt(publicKey: Uint8Array, plaintext: Uint8Array, label: Uint8Array): Uint8Array {
    bytes("plaintext", plaintext);
    bytes("label", label);
    const key = rsaPublicKeyObject(publicKey);
    const modulusBytes = ((key.asymmetricKeyDetails?.modulusLength ?? 0) + 7) >> 3;
    argument(plaintext.length <= modulusBytes - 66, "plaintext too long for RSA-OAEP-SHA256 with this key");
    return u8(
      nodeCrypto.publicEncrypt(
        { key, padding: nodeCrypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256", oaepLabel: label },
        plaintext,
      ),
    );
  }

  rsaPssSha256Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    bytes("message", message);
    bytes("signature", signature);
    const key = rsaPublicKeyObject(publicKey);
    return nodeCrypto.verify(
      "sha256",
      message,
      { key, padding: nodeCrypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
      signature,
    );
  }
}
