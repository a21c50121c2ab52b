/**
 * X.509 certificates and PKCS#10 requests, just enough for sealcam's two-level hierarchy:
 *
 *   account root (RSA-2048, self-signed, RSASSA-PSS-SHA256)  ->  leaf (phone instance key, account data key,
 *                                                                 camera key), signed RSASSA-PSS-SHA256
 *
 * Certificates the account key issues are signed with RSASSA-PSS, SHA-256, MGF1-SHA-256, salt 32, trailer 1
 * (OID 1.2.840.113549.1.1.10 with explicit parameters, written as rsaPssSha256AlgorithmIdentifier() says:
 * SHA-256 parameters absent); verifiers accept the SHA-256 parameters absent or NULL and refuse anything else. Camera CSRs are
 * signed ECDSA-with-SHA256. Pure TypeScript over the Crypto interface; runs on the camera.
 */
import type { Crypto } from "../platform/crypto";
import { constantTimeEqual } from "./bytes";
import {
  children, contextTag, derContext, derInteger, derOid, derSequence, expectTag, parseDer, readBitString, readBoolean, readNull, readOctetString, readOid,
  readSmallInteger, readString, readTime, readUnsignedInteger, sequence, TAG_INTEGER, TAG_SEQUENCE, TAG_SET,
  type DerNode,
} from "./der";
import { fail } from "./errors";
import { parseSpkiNode, type PublicKeyInfo } from "./keys";
import { isStreamScopeOid, parseStreamScope, type StreamScope } from "./stream-scope";

export const OID_RSASSA_PSS = "1.2.840.113549.1.1.10";
export const OID_MGF1 = "1.2.840.113549.1.1.8";
export const OID_SHA256 = "2.16.840.1.101.3.4.2.1";
export const OID_ECDSA_SHA256 = "1.2.840.10045.4.3.2";
export const OID_COMMON_NAME = "2.5.4.3";
export const OID_BASIC_CONSTRAINTS = "2.5.29.19";
export const OID_KEY_USAGE = "2.5.29.15";
export const OID_EXT_KEY_USAGE = "2.5.29.37";
export const OID_SUBJECT_KEY_ID = "2.5.29.14";
export const OID_AUTHORITY_KEY_ID = "2.5.29.35";

/** keyUsage bits (RFC 5280 §4.2.1.3) as flags. */
export const KU_DIGITAL_SIGNATURE = 1 << 0;
export const KU_KEY_ENCIPHERMENT = 1 << 2;
export const KU_KEY_AGREEMENT = 1 << 4;
export const KU_KEY_CERT_SIGN = 1 << 5;
export const KU_CRL_SIGN = 1 << 6;

export type SignatureAlgorithm = "rsassa-pss-sha256" | "ecdsa-sha256";

/** The largest certificate we accept (ours are under 1.5 KiB). */
export const CERT_MAX_BYTES = 8192;

export interface Certificate {
  readonly der: Uint8Array;
  readonly tbs: Uint8Array;
  readonly serial: Uint8Array;
  readonly issuer: Uint8Array;
  readonly subject: Uint8Array;
  readonly issuerCommonName: string | null;
  readonly subjectCommonName: string | null;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly spki: Uint8Array;
  readonly publicKey: PublicKeyInfo;
  readonly signatureAlgorithm: SignatureAlgorithm;
  /** The signatureAlgorithm AlgorithmIdentifier DER as written (identical inside and outside the TBS). */
  readonly signatureAlgorithmDer: Uint8Array;
  readonly signature: Uint8Array;
  /** basicConstraints cA (false when the extension is absent). */
  readonly isCa: boolean;
  readonly pathLength: number | null;
  /** keyUsage flags (KU_*), or null when the extension is absent. */
  readonly keyUsage: number | null;
  /**
   * The sealcam stream-scope extension (stream-scope.ts, PROTOCOL §14), or null when absent. Present only on
   * stream-key certificates; it must be critical (E_CERT otherwise) and well formed (E_FORMAT otherwise).
   */
  readonly streamScope: StreamScope | null;
}

/** Parses an AlgorithmIdentifier that must be one of the two signature algorithms sealcam accepts. */
export function parseSignatureAlgorithm(node: DerNode): SignatureAlgorithm {
  const items = sequence(node, "signature algorithm", 1, 2);
  const oid = readOid(items[0], "signature algorithm");
  if (oid === OID_ECDSA_SHA256) {
    if (items.length !== 1) fail("E_FORMAT", "ecdsa-with-SHA256 takes no parameters");
    return "ecdsa-sha256";
  }
  if (oid !== OID_RSASSA_PSS) fail("E_FORMAT", `unsupported signature algorithm ${oid}`);
  if (items.length !== 2) fail("E_FORMAT", "rsassa-pss needs explicit parameters");
  const params = sequence(items[1], "rsassa-pss parameters", 3, 4);
  let seen = -1;
  let hashOk = false;
  let mgfOk = false;
  let saltOk = false;
  for (const param of params) {
    const tagNumber = param.tag & 0x1f;
    if ((param.tag & 0xe0) !== 0xa0 || tagNumber <= seen || tagNumber > 3) fail("E_FORMAT", "rsassa-pss: bad parameter tag");
    seen = tagNumber;
    const inner = children(param);
    if (inner.length !== 1) fail("E_FORMAT", "rsassa-pss: bad parameter");
    if (tagNumber === 0) hashOk = isSha256AlgorithmId(inner[0]);
    else if (tagNumber === 1) {
      const mgf = sequence(inner[0], "mgf", 2, 2);
      mgfOk = readOid(mgf[0], "mgf") === OID_MGF1 && isSha256AlgorithmId(mgf[1]);
    } else if (tagNumber === 2) saltOk = readSmallInteger(inner[0], "salt length") === 32;
    else if (readSmallInteger(inner[0], "trailer field") !== 1) fail("E_FORMAT", "rsassa-pss: trailer field must be 1");
  }
  if (!hashOk || !mgfOk || !saltOk) fail("E_FORMAT", "rsassa-pss parameters must be SHA-256, MGF1-SHA-256, salt 32");
  return "rsassa-pss-sha256";
}

function isSha256AlgorithmId(node: DerNode): boolean {
  const items = sequence(node, "hash algorithm", 1, 2);
  if (items.length === 2) readNull(items[1], "hash parameters");
  return readOid(items[0], "hash algorithm") === OID_SHA256;
}

/**
 * The one RSASSA-PSS AlgorithmIdentifier everything the account signing key signs carries (the root, every
 * leaf certificate, every roster): SHA-256, MGF1-SHA-256, salt 32, trailer field 1 (the DEFAULT, so omitted),
 * and the SHA-256 AlgorithmIdentifiers inside it with their parameters ABSENT (RFC 5754 §2: generate absent,
 * accept absent or NULL). 63 bytes; docs/PROTOCOL.md §2 gives them in hex (RSA_PSS_SHA256_ALGORITHM_IDENTIFIER_HEX).
 */
export function rsaPssSha256AlgorithmIdentifier(): Uint8Array {
  const sha256 = derSequence(derOid(OID_SHA256));
  return derSequence(
    derOid(OID_RSASSA_PSS),
    derSequence(
      derContext(0, sha256, true),
      derContext(1, derSequence(derOid(OID_MGF1), sha256), true),
      derContext(2, derInteger(32), true),
    ),
  );
}

/** rsaPssSha256AlgorithmIdentifier() in hex, exactly as docs/PROTOCOL.md §2 prints it. */
export const RSA_PSS_SHA256_ALGORITHM_IDENTIFIER_HEX =
  "303d06092a864886f70d01010a3030a00d300b0609608648016503040201a11a301806092a864886f70d010108300b0609608648016503040201a203020120";

/** The first CommonName in a Name, or null. */
export function commonNameOf(nameDer: Uint8Array): string | null {
  const rdns = sequence(parseDer(nameDer), "name", 0, 64);
  for (const rdn of rdns) {
    expectTag(rdn, TAG_SET, "relative distinguished name");
    for (const attribute of children(rdn)) {
      const [type, value] = sequence(attribute, "name attribute", 2, 2);
      if (readOid(type, "name attribute") === OID_COMMON_NAME) return readString(value, "common name");
    }
  }
  return null;
}

/** Parses a DER certificate (X.509 v3). Structure only: no signature check (see verifyCertificateSignature). */
export function parseCertificate(der: Uint8Array): Certificate {
  if (der.length > CERT_MAX_BYTES) fail("E_LIMIT", "certificate is too large");
  const [tbsNode, outerAlg, sigNode] = sequence(parseDer(der), "certificate", 3, 3);
  const tbsItems = sequence(tbsNode, "tbsCertificate", 7, 10);
  let i = 0;
  if (tbsItems[0].tag !== contextTag(0, true)) fail("E_FORMAT", "certificate must be version 3");
  const versionItems = children(tbsItems[i++]);
  if (versionItems.length !== 1 || readSmallInteger(versionItems[0], "version") !== 2) fail("E_FORMAT", "certificate must be version 3");
  const serialNode = expectTag(tbsItems[i++], TAG_INTEGER, "serial number");
  if (serialNode.content.length === 0 || serialNode.content.length > 21) fail("E_FORMAT", "bad serial number");
  const innerAlg = tbsItems[i++];
  const signatureAlgorithm = parseSignatureAlgorithm(innerAlg);
  if (!constantTimeEqual(innerAlg.der, outerAlg.der)) fail("E_FORMAT", "certificate signature algorithms disagree");
  const issuer = expectTag(tbsItems[i++], TAG_SEQUENCE, "issuer");
  const [notBeforeNode, notAfterNode] = sequence(tbsItems[i++], "validity", 2, 2);
  const notBefore = readTime(notBeforeNode, "notBefore");
  const notAfter = readTime(notAfterNode, "notAfter");
  const subject = expectTag(tbsItems[i++], TAG_SEQUENCE, "subject");
  const spkiNode = tbsItems[i++];
  const publicKey = parseSpkiNode(spkiNode);
  let isCa = false;
  let pathLength: number | null = null;
  let keyUsage: number | null = null;
  let streamScope: StreamScope | null = null;
  for (; i < tbsItems.length; i++) {
    const item = tbsItems[i];
    if (item.tag === contextTag(1, false) || item.tag === contextTag(2, false)) continue; // unique ids: ignored
    if (item.tag !== contextTag(3, true) || i !== tbsItems.length - 1) fail("E_FORMAT", "unexpected field in tbsCertificate");
    const wrapped = children(item);
    if (wrapped.length !== 1) fail("E_FORMAT", "bad extensions");
    const seen: string[] = [];
    for (const extension of sequence(wrapped[0], "extensions", 1, 32)) {
      const parts = sequence(extension, "extension", 2, 3);
      if (isStreamScopeOid(parts[0])) {
        // Its 128-bit UUID arc is beyond readOid; matched by its DER instead.
        if (streamScope !== null) fail("E_FORMAT", "duplicate stream scope extension");
        if (parts.length !== 3 || !readBoolean(parts[1], "critical")) fail("E_CERT", "the stream scope extension must be critical");
        streamScope = parseStreamScope(readOctetString(parts[2], "extension value"));
        continue;
      }
      const oid = readOid(parts[0], "extension id");
      if (seen.indexOf(oid) >= 0) fail("E_FORMAT", `duplicate extension ${oid}`);
      seen.push(oid);
      const critical = parts.length === 3 ? readBoolean(parts[1], "critical") : false;
      if (parts.length === 3 && !critical) fail("E_FORMAT", "critical FALSE must be omitted in DER");
      const value = readOctetString(parts[parts.length - 1], "extension value");
      if (oid === OID_BASIC_CONSTRAINTS) {
        const bc = sequence(parseDer(value), "basicConstraints", 0, 2);
        let k = 0;
        if (k < bc.length && bc[k].tag === 0x01) {
          isCa = readBoolean(bc[k++], "cA");
          if (!isCa) fail("E_FORMAT", "cA FALSE must be omitted in DER");
        }
        if (k < bc.length) pathLength = readSmallInteger(bc[k++], "pathLenConstraint");
        if (k !== bc.length) fail("E_FORMAT", "bad basicConstraints");
      } else if (oid === OID_KEY_USAGE) {
        const bits = readBitString(parseDer(value), "keyUsage", false).bytes;
        keyUsage = 0;
        for (let b = 0; b < 9; b++) {
          const byte = bits[b >> 3] ?? 0;
          if ((byte >> (7 - (b & 7))) & 1) keyUsage |= 1 << b;
        }
      } else if (critical && oid !== OID_EXT_KEY_USAGE) {
        fail("E_CERT", `unknown critical extension ${oid}`);
      }
    }
  }
  const signature = readBitString(sigNode, "signature", true).bytes;
  return {
    der,
    tbs: tbsNode.der,
    serial: serialNode.content,
    issuer: issuer.der,
    subject: subject.der,
    issuerCommonName: commonNameOf(issuer.der),
    subjectCommonName: commonNameOf(subject.der),
    notBefore,
    notAfter,
    spki: spkiNode.der,
    publicKey,
    signatureAlgorithm,
    signatureAlgorithmDer: outerAlg.der,
    signature,
    isCa,
    pathLength,
    keyUsage,
    streamScope,
  };
}

/** An ECDSA-Sig-Value DER (SEQUENCE { r, s }) as 64-byte r || s. */
export function ecdsaDerToRaw(der: Uint8Array): Uint8Array {
  const [rNode, sNode] = sequence(parseDer(der), "ecdsa signature", 2, 2);
  const r = readUnsignedInteger(rNode, "r");
  const s = readUnsignedInteger(sNode, "s");
  if (r.length > 32 || s.length > 32) fail("E_FORMAT", "ecdsa signature component too large");
  const out = new Uint8Array(64);
  out.set(r, 32 - r.length);
  out.set(s, 64 - s.length);
  return out;
}

/** Checks `signature` over `message` with `key` for one of the accepted algorithms. */
export function verifySignature(
  crypto: Crypto, algorithm: SignatureAlgorithm, key: PublicKeyInfo, message: Uint8Array, signature: Uint8Array,
): boolean {
  if (algorithm === "rsassa-pss-sha256") {
    if (key.kind !== "rsa") return false;
    return crypto.rsaPssSha256Verify(key.pkcs1Der, message, signature);
  }
  if (key.kind !== "p256") return false;
  let raw: Uint8Array;
  try {
    raw = ecdsaDerToRaw(signature);
  } catch {
    return false;
  }
  return crypto.ecdsaP256Verify(key.point65, message, raw);
}

/** True when `cert` carries a valid signature by `issuerKey`. */
export function verifyCertificateSignature(crypto: Crypto, cert: Certificate, issuerKey: PublicKeyInfo): boolean {
  return verifySignature(crypto, cert.signatureAlgorithm, issuerKey, cert.tbs, cert.signature);
}

/**
 * Checks the account root: self-issued, self-signed with RSASSA-PSS by its own RSA key, a CA that may sign
 * certificates. Throws E_CERT otherwise.
 */
export function verifyRoot(crypto: Crypto, root: Certificate): void {
  if (root.publicKey.kind !== "rsa") fail("E_CERT", "account root must hold an RSA key");
  if (!constantTimeEqual(root.issuer, root.subject)) fail("E_CERT", "account root is not self-issued");
  if (!root.isCa) fail("E_CERT", "account root is not a CA");
  if (root.keyUsage !== null && (root.keyUsage & KU_KEY_CERT_SIGN) === 0) fail("E_CERT", "account root may not sign certificates");
  if (root.signatureAlgorithm !== "rsassa-pss-sha256" || !verifyCertificateSignature(crypto, root, root.publicKey)) {
    fail("E_CERT", "account root signature is invalid");
  }
}

export interface ChainOptions {
  /** Milliseconds since the epoch; when given, both certificates must be valid at that time. */
  now?: number;
}

/**
 * Verifies our two-level chain: `root` is the account root (checked with verifyRoot) and `cert` is a leaf it
 * issued (issuer name = root subject, RSASSA-PSS signature by the root key, not a CA, not the root's key).
 * Throws E_CERT with the reason; returns the leaf on success.
 */
export function verifyChain(crypto: Crypto, cert: Certificate, root: Certificate, options: ChainOptions = {}): Certificate {
  verifyRoot(crypto, root);
  if (!constantTimeEqual(cert.issuer, root.subject)) fail("E_CERT", "certificate was not issued by the account root");
  if (cert.isCa) fail("E_CERT", "a leaf certificate may not be a CA");
  if (constantTimeEqual(cert.spki, root.spki)) fail("E_CERT", "a leaf may not carry the root key");
  if (cert.signatureAlgorithm !== "rsassa-pss-sha256" || !verifyCertificateSignature(crypto, cert, root.publicKey)) {
    fail("E_CERT", "certificate signature does not verify with the account root");
  }
  if (options.now !== undefined) {
    for (const c of [root, cert]) {
      if (options.now < c.notBefore || options.now > c.notAfter) fail("E_CERT", "certificate is outside its validity period");
    }
  }
  return cert;
}

export interface CertificationRequest {
  readonly der: Uint8Array;
  readonly subject: Uint8Array;
  readonly subjectCommonName: string | null;
  readonly spki: Uint8Array;
  readonly publicKey: PublicKeyInfo;
}

/** Parses a PKCS#10 request and checks its self-signature (ECDSA-SHA256 for P-256 keys). Throws E_SIGNATURE. */
export function verifyCertificationRequest(crypto: Crypto, der: Uint8Array): CertificationRequest {
  if (der.length > CERT_MAX_BYTES) fail("E_LIMIT", "certificate request is too large");
  const [info, alg, sigNode] = sequence(parseDer(der), "certification request", 3, 3);
  const infoItems = sequence(info, "certificationRequestInfo", 3, 4);
  if (readSmallInteger(infoItems[0], "csr version") !== 0) fail("E_FORMAT", "certificate request must be version 1");
  const subject = expectTag(infoItems[1], TAG_SEQUENCE, "csr subject");
  const spkiNode = infoItems[2];
  const publicKey = parseSpkiNode(spkiNode);
  if (infoItems.length === 4 && infoItems[3].tag !== contextTag(0, true)) fail("E_FORMAT", "bad csr attributes");
  const algorithm = parseSignatureAlgorithm(alg);
  const signature = readBitString(sigNode, "csr signature", true).bytes;
  if (!verifySignature(crypto, algorithm, publicKey, info.der, signature)) {
    fail("E_SIGNATURE", "certificate request signature is invalid");
  }
  return { der, subject: subject.der, subjectCommonName: commonNameOf(subject.der), spki: spkiNode.der, publicKey };
}
