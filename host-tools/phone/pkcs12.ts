/**
 * PKCS#12 (RFC 7292) writer and reader for one private key and its certificate, in the form OpenSSL 3 opens
 * without `-legacy`:
 *
 * - the key in a pkcs8ShroudedKeyBag, encrypted with PBES2 (RFC 8018): PBKDF2-HMAC-SHA256 (16-byte salt,
 *   PKCS12_KDF_ITERATIONS iterations) and AES-256-CBC (16-byte IV); the password enters PBKDF2 as its
 *   ASCII bytes, as OpenSSL does for PBES2;
 * - the certificate in a certBag in a plain (unencrypted) data ContentInfo: it is public;
 * - integrity: HMAC-SHA256 over the AuthenticatedSafe, keyed by the RFC 7292 Appendix B KDF (SHA-256, ID 3,
 *   password as a NUL-terminated BMPString, 16-byte salt, PKCS12_KDF_ITERATIONS iterations).
 *
 * The DER is built and read with firmware/core/der.ts; the primitives are node:crypto (OpenSSL).
 */
import * as nodeCrypto from "node:crypto";
import { constantTimeEqual } from "../../firmware/core/bytes";
import {
  children, contextTag, derContext, derInteger, derNull, derOctetString, derOid, derSequence, derSet, parseDer,
  readOctetString, readOid, readSmallInteger, sequence, derTlv, TAG_BMP_STRING, type DerNode,
} from "../../firmware/core/der";
import { fail } from "../../firmware/core/errors";

export const PKCS12_KDF_ITERATIONS = 10000;
const MAX_ITERATIONS = 1_000_000;

const OID_DATA = "1.2.840.113549.1.7.1";
const OID_SHROUDED_KEY_BAG = "1.2.840.113549.1.12.10.1.2";
const OID_CERT_BAG = "1.2.840.113549.1.12.10.1.3";
const OID_X509_CERT = "1.2.840.113549.1.9.22.1";
const OID_LOCAL_KEY_ID = "1.2.840.113549.1.9.21";
const OID_FRIENDLY_NAME = "1.2.840.113549.1.9.20";
const OID_PBES2 = "1.2.840.113549.1.5.13";
const OID_PBKDF2 = "1.2.840.113549.1.5.12";
const OID_HMAC_SHA256 = "1.2.840.113549.2.9";
const OID_AES256_CBC = "2.16.840.1.101.3.4.1.42";
const OID_SHA256 = "2.16.840.1.101.3.4.2.1";

function u8(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

function checkPassword(password: string): void {
  if (!/^[\x20-\x7e]{1,256}$/.test(password)) fail("E_ARGUMENT", "pkcs12 password must be printable ASCII");
}

function bmpPassword(password: string): Uint8Array {
  const out = new Uint8Array(password.length * 2 + 2);
  for (let i = 0; i < password.length; i++) out[i * 2 + 1] = password.charCodeAt(i);
  return out;
}

/** RFC 7292 Appendix B.2 key derivation with SHA-256 (u = 32, v = 64). */
export function pkcs12Kdf(password: string, salt: Uint8Array, id: number, iterations: number, length: number): Uint8Array {
  const u = 32;
  const v = 64;
  const pass = bmpPassword(password);
  const fill = (src: Uint8Array): Uint8Array => {
    const out = new Uint8Array(src.length === 0 ? 0 : v * Math.ceil(src.length / v));
    for (let i = 0; i < out.length; i++) out[i] = src[i % src.length];
    return out;
  };
  const D = new Uint8Array(v).fill(id);
  const I = Buffer.concat([fill(salt), fill(pass)]);
  const out = new Uint8Array(length);
  for (let block = 0, done = 0; done < length; block++) {
    let A = nodeCrypto.createHash("sha256").update(D).update(I).digest();
    for (let r = 1; r < iterations; r++) A = nodeCrypto.createHash("sha256").update(A).digest();
    out.set(A.subarray(0, Math.min(u, length - done)), done);
    done += u;
    if (done >= length) break;
    const B = new Uint8Array(v);
    for (let i = 0; i < v; i++) B[i] = A[i % u];
    for (let j = 0; j < I.length; j += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = I[j + k] + B[k] + carry;
        I[j + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  pass.fill(0);
  return out;
}

function bagAttributes(localKeyId: Uint8Array, friendlyName: string): Uint8Array {
  const bmp = bmpPassword(friendlyName).subarray(0, friendlyName.length * 2);
  return derSet(
    derSequence(derOid(OID_LOCAL_KEY_ID), derSet(derOctetString(localKeyId))),
    derSequence(derOid(OID_FRIENDLY_NAME), derSet(derTlv(TAG_BMP_STRING, bmp))),
  );
}

function dataContentInfo(content: Uint8Array): Uint8Array {
  return derSequence(derOid(OID_DATA), derContext(0, derOctetString(content), true));
}

export interface Pkcs12Input {
  /** PKCS#8 PrivateKeyInfo DER. */
  privateKeyPkcs8: Uint8Array;
  certificateDer: Uint8Array;
  password: string;
  friendlyName: string;
  iterations?: number;
}

/** Builds a PFX (DER). */
export function writePkcs12(input: Pkcs12Input): Uint8Array {
  checkPassword(input.password);
  const iterations = input.iterations ?? PKCS12_KDF_ITERATIONS;
  const localKeyId = u8(nodeCrypto.createHash("sha256").update(input.certificateDer).digest());
  const attributes = bagAttributes(localKeyId, input.friendlyName);

  const salt = u8(nodeCrypto.randomBytes(16));
  const iv = u8(nodeCrypto.randomBytes(16));
  const key = nodeCrypto.pbkdf2Sync(Buffer.from(input.password, "ascii"), salt, iterations, 32, "sha256");
  const cipher = nodeCrypto.createCipheriv("aes-256-cbc", key, iv);
  const encrypted = u8(Buffer.concat([cipher.update(input.privateKeyPkcs8), cipher.final()]));
  key.fill(0);
  const pbes2 = derSequence(
    derOid(OID_PBES2),
    derSequence(
      derSequence(
        derOid(OID_PBKDF2),
        derSequence(derOctetString(salt), derInteger(iterations), derSequence(derOid(OID_HMAC_SHA256), derNull())),
      ),
      derSequence(derOid(OID_AES256_CBC), derOctetString(iv)),
    ),
  );
  const keyBag = derSequence(
    derOid(OID_SHROUDED_KEY_BAG),
    derContext(0, derSequence(pbes2, derOctetString(encrypted)), true),
    attributes,
  );
  const certBag = derSequence(
    derOid(OID_CERT_BAG),
    derContext(0, derSequence(derOid(OID_X509_CERT), derContext(0, derOctetString(input.certificateDer), true)), true),
    attributes,
  );
  const authSafe = derSequence(dataContentInfo(derSequence(keyBag)), dataContentInfo(derSequence(certBag)));

  const macSalt = u8(nodeCrypto.randomBytes(16));
  const macKey = pkcs12Kdf(input.password, macSalt, 3, iterations, 32);
  const mac = u8(nodeCrypto.createHmac("sha256", macKey).update(authSafe).digest());
  macKey.fill(0);
  const macData = derSequence(
    derSequence(derSequence(derOid(OID_SHA256), derNull()), derOctetString(mac)),
    derOctetString(macSalt),
    derInteger(iterations),
  );
  return derSequence(derInteger(3), dataContentInfo(authSafe), macData);
}

function explicitChild(node: DerNode, n: number, what: string): DerNode {
  if (node.tag !== contextTag(n, true)) fail("E_FORMAT", `pkcs12: ${what}: expected [${n}]`);
  const items = children(node);
  if (items.length !== 1) fail("E_FORMAT", `pkcs12: ${what}: bad explicit tag`);
  return items[0];
}

function readDataContentInfo(node: DerNode, what: string): Uint8Array {
  const [type, content] = sequence(node, what, 2, 2);
  if (readOid(type, what) !== OID_DATA) fail("E_FORMAT", `pkcs12: ${what}: only plain data content is supported`);
  return readOctetString(explicitChild(content, 0, what), what);
}

function iterationsOf(node: DerNode): number {
  const n = readSmallInteger(node, "iterations");
  if (n < 1 || n > MAX_ITERATIONS) fail("E_LIMIT", "pkcs12: iteration count out of range");
  return n;
}

export interface Pkcs12Contents {
  privateKeyPkcs8: Uint8Array;
  certificateDer: Uint8Array;
}

/**
 * Opens a PFX written by writePkcs12: checks the HMAC-SHA256 MAC first (wrong password or tampering:
 * E_UNWRAP), then decrypts the key bag. Refuses every algorithm but those above.
 */
export function readPkcs12(pfx: Uint8Array, password: string): Pkcs12Contents {
  checkPassword(password);
  const [version, authSafeInfo, macData] = sequence(parseDer(pfx), "pfx", 3, 3);
  if (readSmallInteger(version, "pfx version") !== 3) fail("E_FORMAT", "pkcs12: version must be 3");
  const authSafe = readDataContentInfo(authSafeInfo, "authSafe");
  const [digestInfo, macSaltNode, macIterNode] = sequence(macData, "macData", 3, 3);
  const [digestAlg, digestNode] = sequence(digestInfo, "mac digest", 2, 2);
  const digestAlgItems = sequence(digestAlg, "mac algorithm", 1, 2);
  if (readOid(digestAlgItems[0], "mac algorithm") !== OID_SHA256) fail("E_FORMAT", "pkcs12: mac must be HMAC-SHA256");
  const macSalt = readOctetString(macSaltNode, "mac salt");
  const macKey = pkcs12Kdf(password, macSalt, 3, iterationsOf(macIterNode), 32);
  const expected = u8(nodeCrypto.createHmac("sha256", macKey).update(authSafe).digest());
  macKey.fill(0);
  if (!constantTimeEqual(expected, readOctetString(digestNode, "mac"))) {
    fail("E_UNWRAP", "backup does not open: wrong key, or the backup was altered");
  }
  let privateKeyPkcs8: Uint8Array | null = null;
  let certificateDer: Uint8Array | null = null;
  for (const info of sequence(parseDer(authSafe), "authenticatedSafe", 1, 8)) {
    for (const bag of sequence(parseDer(readDataContentInfo(info, "safe contents")), "safeContents", 0, 8)) {
      const items = sequence(bag, "safeBag", 2, 3);
      const bagId = readOid(items[0], "bag id");
      const value = explicitChild(items[1], 0, "bag value");
      if (bagId === OID_SHROUDED_KEY_BAG) {
        if (privateKeyPkcs8) fail("E_FORMAT", "pkcs12: more than one key");
        privateKeyPkcs8 = decryptShroudedKey(value, password);
      } else if (bagId === OID_CERT_BAG) {
        const [certType, certValue] = sequence(value, "certBag", 2, 2);
        if (readOid(certType, "cert type") !== OID_X509_CERT) fail("E_FORMAT", "pkcs12: only x509 certificates");
        if (certificateDer) fail("E_FORMAT", "pkcs12: more than one certificate");
        certificateDer = readOctetString(explicitChild(certValue, 0, "cert value"), "certificate");
      } else {
        fail("E_FORMAT", `pkcs12: unsupported bag ${bagId}`);
      }
    }
  }
  if (!privateKeyPkcs8 || !certificateDer) fail("E_FORMAT", "pkcs12: needs one key and one certificate");
  return { privateKeyPkcs8, certificateDer: Uint8Array.from(certificateDer) };
}

function decryptShroudedKey(node: DerNode, password: string): Uint8Array {
  const [algorithm, encryptedNode] = sequence(node, "encryptedPrivateKeyInfo", 2, 2);
  const [algOid, params] = sequence(algorithm, "key encryption", 2, 2);
  if (readOid(algOid, "key encryption") !== OID_PBES2) fail("E_FORMAT", "pkcs12: key must be PBES2-encrypted");
  const [kdf, scheme] = sequence(params, "pbes2 params", 2, 2);
  const [kdfOid, kdfParams] = sequence(kdf, "kdf", 2, 2);
  if (readOid(kdfOid, "kdf") !== OID_PBKDF2) fail("E_FORMAT", "pkcs12: kdf must be PBKDF2");
  const kdfItems = sequence(kdfParams, "pbkdf2 params", 2, 4);
  const salt = readOctetString(kdfItems[0], "pbkdf2 salt");
  const iterations = iterationsOf(kdfItems[1]);
  let k = 2;
  if (k < kdfItems.length && kdfItems[k].tag === 0x02) {
    if (readSmallInteger(kdfItems[k], "key length") !== 32) fail("E_FORMAT", "pkcs12: key length must be 32");
    k++;
  }
  if (k >= kdfItems.length) fail("E_FORMAT", "pkcs12: prf must be hmacWithSHA256");
  const prf = sequence(kdfItems[k], "prf", 1, 2);
  if (readOid(prf[0], "prf") !== OID_HMAC_SHA256) fail("E_FORMAT", "pkcs12: prf must be hmacWithSHA256");
  const [schemeOid, ivNode] = sequence(scheme, "encryption scheme", 2, 2);
  if (readOid(schemeOid, "encryption scheme") !== OID_AES256_CBC) fail("E_FORMAT", "pkcs12: cipher must be AES-256-CBC");
  const iv = readOctetString(ivNode, "iv");
  if (iv.length !== 16) fail("E_FORMAT", "pkcs12: bad iv");
  const key = nodeCrypto.pbkdf2Sync(Buffer.from(password, "ascii"), salt, iterations, 32, "sha256");
  try {
    const decipher = nodeCrypto.createDecipheriv("aes-256-cbc", key, iv);
    return u8(Buffer.concat([decipher.update(readOctetString(encryptedNode, "encrypted key")), decipher.final()]));
  } catch {
    return fail("E_UNWRAP", "backup key does not decrypt");
  } finally {
    key.fill(0);
  }
}
