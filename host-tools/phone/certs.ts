/**
 * Certificate issuing on the phone, with @peculiar/x509 over Node's WebCrypto. Every certificate the account
 * key issues is signed RSASSA-PSS, SHA-256, MGF1-SHA-256, salt 32; firmware/core/x509.ts verifies them. The
 * signatureAlgorithm each one carries must be byte for byte rsaPssSha256AlgorithmIdentifier() (the DER
 * PROTOCOL §2 specifies, also used for rosters): every certificate is checked against it before it leaves here.
 *
 * - root: the account signing key (RSA-2048), self-signed, CA, keyCertSign + cRLSign, pathLen 0;
 * - phone instance key (P-256): keyAgreement (HPKE recipient);
 * - account data key (RSA-2048): keyEncipherment (RSA-OAEP recipient);
 * - camera key (P-256): digitalSignature (clip headers, footers, cloud requests), issued from a CSR;
 * - stream key (P-256, sharing): keyAgreement and the critical stream-scope extension (PROTOCOL §14).
 */
import * as nodeCrypto from "node:crypto";
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { constantTimeEqual, toHex } from "../../firmware/core/bytes";
import { fail } from "../../firmware/core/errors";
import { isCameraId } from "../../firmware/core/request-auth";
import { parseCertificate, rsaPssSha256AlgorithmIdentifier, verifyCertificationRequest, verifyChain } from "../../firmware/core/x509";
import { parseSpki } from "../../firmware/core/keys";
import { encodeStreamScope, streamScopeOidDer, type StreamScope } from "../../firmware/core/stream-scope";
import { derBitString, derSequence, parseDer, sequence } from "../../firmware/core/der";
import { NodeCrypto } from "../platform/node-crypto";

type CryptoKey = nodeCrypto.webcrypto.CryptoKey;
type CryptoKeyPair = nodeCrypto.webcrypto.CryptoKeyPair;
const webcrypto = nodeCrypto.webcrypto;
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export const PSS_SIGNING = { name: "RSA-PSS", saltLength: 32 } as const;
const RSA_PSS_KEY = { name: "RSA-PSS", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" };
/** Certificates stay valid for 20 years: cameras have no trustworthy clock, and removal goes through the roster. */
const VALIDITY_MS = 20 * 365 * 24 * 3600 * 1000;

function u8(data: ArrayBuffer | Uint8Array): Uint8Array {
  return data instanceof Uint8Array ? data : new Uint8Array(data);
}

function serial(): string {
  const bytes = nodeCrypto.randomBytes(16);
  bytes[0] &= 0x7f;
  bytes[0] |= 0x01;
  return bytes.toString("hex");
}

function validity(now: number): { notBefore: Date; notAfter: Date } {
  return { notBefore: new Date(Math.floor(now / 1000) * 1000 - 60_000), notAfter: new Date(now + VALIDITY_MS) };
}

function cn(text: string): string {
  if (!/^[A-Za-z0-9 .:_-]{1,64}$/.test(text)) fail("E_ARGUMENT", "bad certificate name");
  return `CN=${text}`;
}

/**
 * One encoding for everything the account key signs: refuses a certificate whose signatureAlgorithm is not
 * exactly rsaPssSha256AlgorithmIdentifier() (a library update that changed the encoding would fail here, not
 * in the field).
 */
function checkSignatureAlgorithm(der: Uint8Array): void {
  if (!constantTimeEqual(parseCertificate(der).signatureAlgorithmDer, rsaPssSha256AlgorithmIdentifier())) {
    fail("E_INTERNAL", "certificate issuer wrote an RSASSA-PSS AlgorithmIdentifier other than the one PROTOCOL §2 specifies");
  }
}

export interface AccountSigningKey {
  /** WebCrypto RSA-PSS private key (signs certificates and rosters). */
  privateKey: CryptoKey;
  /** PKCS#8 DER, for the PKCS#12 backup and for RSA-OAEP decryption. */
  pkcs8: Uint8Array;
  rootCertDer: Uint8Array;
}

/** A fresh account signing key and its self-signed root certificate. */
export async function createAccountSigningKey(accountId: string, now = Date.now()): Promise<AccountSigningKey> {
  const keys = (await webcrypto.subtle.generateKey(RSA_PSS_KEY, true, ["sign", "verify"])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: cn(`sealcam account ${accountId}`),
    ...validity(now),
    keys,
    signingAlgorithm: PSS_SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pkcs8 = u8(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey));
  const rootCertDer = u8(cert.rawData);
  checkSignatureAlgorithm(rootCertDer);
  return { privateKey: keys.privateKey, pkcs8, rootCertDer };
}

/** Imports an account signing key from its PKCS#8 DER (after opening the backup). */
export async function importAccountSigningKey(pkcs8: Uint8Array, rootCertDer: Uint8Array): Promise<AccountSigningKey> {
  const privateKey = await webcrypto.subtle.importKey("pkcs8", pkcs8, { name: "RSA-PSS", hash: "SHA-256" }, true, ["sign"]);
  return { privateKey, pkcs8, rootCertDer };
}

/** RSASSA-PSS-SHA256 (salt 32) over `message` with the account signing key. */
export async function signPss(key: AccountSigningKey, message: Uint8Array): Promise<Uint8Array> {
  return u8(await webcrypto.subtle.sign(PSS_SIGNING, key.privateKey, message));
}

export type LeafRole = "phone" | "account-data" | "camera" | "stream";

const USAGE: Record<LeafRole, number> = {
  phone: x509.KeyUsageFlags.keyAgreement,
  "account-data": x509.KeyUsageFlags.keyEncipherment,
  camera: x509.KeyUsageFlags.digitalSignature,
  stream: x509.KeyUsageFlags.keyAgreement,
};

/**
 * The stream-scope OID is 2.25.<128-bit UUID>.1, and the asn1js 3.1 that @peculiar/x509's generator re-encodes
 * extensions with cannot round-trip an arc beyond 2^53 (it writes `06 01 69`, i.e. 2.25, and drops the rest).
 * So the generator writes a placeholder OID of exactly the same DER length (20 content bytes: 2.25 then
 * eighteen arcs of 127 then 1), which is swapped for the real OID in the TBS afterwards; the TBS is then signed
 * again with the account key (RSASSA-PSS, the same AlgorithmIdentifier, which the TBS already carries).
 */
export const SCOPE_PLACEHOLDER_OID = `2.25.${new Array(18).fill("127").join(".")}.1`;
const SCOPE_PLACEHOLDER_DER = new Uint8Array([0x06, 0x14, 0x69, ...new Array(18).fill(0x7f), 0x01]);

/** Swaps SCOPE_PLACEHOLDER_OID for the stream-scope OID in a certificate and signs its TBS again. */
export async function withScopeOid(signer: AccountSigningKey, placeholderCert: Uint8Array): Promise<Uint8Array> {
  const real = streamScopeOidDer();
  if (real.length !== SCOPE_PLACEHOLDER_DER.length) fail("E_INTERNAL", "stream scope OID and its placeholder differ in length");
  const tbs = Uint8Array.from(sequence(parseDer(placeholderCert), "certificate", 3, 3)[0].der);
  let at = -1;
  for (let i = 0; i + SCOPE_PLACEHOLDER_DER.length <= tbs.length; i++) {
    if (constantTimeEqual(tbs.subarray(i, i + SCOPE_PLACEHOLDER_DER.length), SCOPE_PLACEHOLDER_DER)) {
      if (at >= 0) fail("E_INTERNAL", "stream scope placeholder OID found twice");
      at = i;
    }
  }
  if (at < 0) fail("E_INTERNAL", "stream scope placeholder OID not found in the certificate");
  tbs.set(real, at);
  return derSequence(tbs, rsaPssSha256AlgorithmIdentifier(), derBitString(await signPss(signer, tbs)));
}

/**
 * Issues a leaf certificate for `spkiDer` signed by the account signing key. A `stream` leaf needs its scope
 * (use issueStreamCertificate); no other role may carry one.
 */
export async function issueLeafCertificate(
  signer: AccountSigningKey, role: LeafRole, commonName: string, spkiDer: Uint8Array, now = Date.now(), scope?: StreamScope,
): Promise<Uint8Array> {
  if ((role === "stream") !== (scope !== undefined)) fail("E_ARGUMENT", "a stream certificate, and only a stream certificate, carries a stream scope");
  const scopeExtension = scope === undefined ? [] : [new x509.Extension(SCOPE_PLACEHOLDER_OID, true, encodeStreamScope(scope))];
  const root = new x509.X509Certificate(signer.rootCertDer);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: cn(commonName),
    issuer: root.subject,
    ...validity(now),
    publicKey: spkiDer,
    signingKey: signer.privateKey,
    signingAlgorithm: PSS_SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(USAGE[role], true),
      await x509.AuthorityKeyIdentifierExtension.create(root.publicKey),
      ...scopeExtension,
    ],
  });
  const der = scope === undefined ? u8(cert.rawData) : await withScopeOid(signer, u8(cert.rawData));
  checkSignatureAlgorithm(der);
  const crypto = new NodeCrypto();
  const parsed = parseCertificate(der);
  verifyChain(crypto, parsed, parseCertificate(signer.rootCertDer));
  if (scope !== undefined && parsed.streamScope === null) fail("E_INTERNAL", "stream certificate lost its scope extension");
  return der;
}

/**
 * Issues a stream-key certificate (PROTOCOL §14): P-256 key, keyAgreement, the critical stream-scope
 * extension. CN `sealcam stream <holder>`. The scope is checked here (E_ARGUMENT) exactly as verifiers parse it.
 */
export async function issueStreamCertificate(
  signer: AccountSigningKey, spkiDer: Uint8Array, scope: StreamScope, now = Date.now(),
): Promise<Uint8Array> {
  if (parseSpki(spkiDer).kind !== "p256") fail("E_ARGUMENT", "a stream key must be P-256");
  return issueLeafCertificate(signer, "stream", `sealcam stream ${scope.holder}`, spkiDer, now, scope);
}

/**
 * Signs a camera's certificate request (PKCS#10, ECDSA-SHA256, P-256 key) into a camera certificate. The
 * request's signature is verified first; its CN must be a valid camera id, which becomes the certificate CN.
 */
export async function issueCameraCertificate(csrDer: Uint8Array, signer: AccountSigningKey, now = Date.now()): Promise<{ certificateDer: Uint8Array; cameraId: string; keyId: string }> {
  const crypto = new NodeCrypto();
  const request = verifyCertificationRequest(crypto, csrDer);
  if (request.publicKey.kind !== "p256") fail("E_CERT", "a camera key must be P-256");
  const cameraId = request.subjectCommonName;
  if (!cameraId || !isCameraId(cameraId)) fail("E_CERT", "certificate request needs a camera id (lower-case letters, digits, '-') as its CN");
  const certificateDer = await issueLeafCertificate(signer, "camera", cameraId, request.spki, now);
  return { certificateDer, cameraId, keyId: toHex(crypto.sha256(request.spki)) };
}
