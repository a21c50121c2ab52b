/**
 * Public keys as they travel in certificates: SubjectPublicKeyInfo (RFC 5280) for P-256 (id-ecPublicKey on
 * prime256v1, uncompressed point) and RSA (rsaEncryption, NULL parameters). A key's id everywhere in sealcam
 * is SHA-256 of its SubjectPublicKeyInfo DER (`keyIdOfSpki`).
 */
import type { Crypto } from "../platform/crypto";
import {
  children, derBitString, derNull, derOid, derSequence, parseDer, readBitString, readNull, readOid,
  readUnsignedInteger, sequence, type DerNode,
} from "./der";
import { fail } from "./errors";

export const OID_EC_PUBLIC_KEY = "1.2.840.10045.2.1";
export const OID_PRIME256V1 = "1.2.840.10045.3.1.7";
export const OID_RSA_ENCRYPTION = "1.2.840.113549.1.1.1";

export type PublicKeyInfo =
  | { kind: "p256"; point65: Uint8Array }
  | { kind: "rsa"; pkcs1Der: Uint8Array; modulusBits: number };

/** Parses a SubjectPublicKeyInfo node; refuses every algorithm but P-256 and RSA 2048..4096 bits. */
export function parseSpkiNode(node: DerNode): PublicKeyInfo {
  const [algorithm, keyBits] = sequence(node, "subjectPublicKeyInfo", 2, 2);
  const algItems = sequence(algorithm, "spki algorithm", 1, 2);
  const oid = readOid(algItems[0], "spki algorithm");
  const key = readBitString(keyBits, "subjectPublicKey", true).bytes;
  if (oid === OID_EC_PUBLIC_KEY) {
    if (algItems.length !== 2 || readOid(algItems[1], "ec curve") !== OID_PRIME256V1) {
      fail("E_FORMAT", "only P-256 (prime256v1) elliptic-curve keys are supported");
    }
    if (key.length !== 65 || key[0] !== 0x04) fail("E_FORMAT", "P-256 key must be an uncompressed point");
    return { kind: "p256", point65: key };
  }
  if (oid === OID_RSA_ENCRYPTION) {
    if (algItems.length !== 2) fail("E_FORMAT", "rsa key: parameters must be NULL");
    readNull(algItems[1], "rsa parameters");
    const [n, e] = sequence(parseDer(key), "RSAPublicKey", 2, 2);
    const modulus = readUnsignedInteger(n, "rsa modulus");
    const exponent = readUnsignedInteger(e, "rsa exponent");
    const modulusBits = modulus.length * 8 - Math.clz32(modulus[0]) + 24;
    if (modulusBits < 2048 || modulusBits > 4096) fail("E_FORMAT", "rsa key must be 2048..4096 bits");
    if (exponent.length > 4 || (exponent[exponent.length - 1] & 1) === 0 || (exponent.length === 1 && exponent[0] < 3)) {
      fail("E_FORMAT", "rsa key: bad public exponent");
    }
    return { kind: "rsa", pkcs1Der: key, modulusBits };
  }
  return fail("E_FORMAT", `unsupported public key algorithm ${oid}`);
}

export function parseSpki(spkiDer: Uint8Array): PublicKeyInfo {
  return parseSpkiNode(parseDer(spkiDer));
}

/** The SubjectPublicKeyInfo DER of a 65-byte uncompressed P-256 point. */
export function spkiFromP256(point65: Uint8Array): Uint8Array {
  if (point65.length !== 65 || point65[0] !== 0x04) fail("E_ARGUMENT", "P-256 key must be a 65-byte uncompressed point");
  return derSequence(derSequence(derOid(OID_EC_PUBLIC_KEY), derOid(OID_PRIME256V1)), derBitString(point65));
}

/** The SubjectPublicKeyInfo DER of a PKCS#1 RSAPublicKey. */
export function spkiFromRsa(pkcs1Der: Uint8Array): Uint8Array {
  children(parseDer(pkcs1Der));
  return derSequence(derSequence(derOid(OID_RSA_ENCRYPTION), derNull()), derBitString(pkcs1Der));
}

/** A key's id: SHA-256 of its SubjectPublicKeyInfo DER (32 bytes). */
export function keyIdOfSpki(crypto: Crypto, spkiDer: Uint8Array): Uint8Array {
  parseSpki(spkiDer);
  return crypto.sha256(spkiDer);
}
