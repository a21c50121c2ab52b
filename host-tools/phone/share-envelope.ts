/**
 * The share envelope (docs/PROTOCOL.md §14.8): how an owner's phone hands a stream key's PRIVATE key to a
 * viewer, through the cloud's mailbox, without the cloud learning it.
 *
 *   facts     = { accountId, scope, shareId, streamCertificate, to }          (public; canonical JSON)
 *   enc, ct   = HPKE base mode (RFC 9180, DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-128-GCM) to the
 *               viewer's P-256 key, info = "sealcam/v1 share" || 0x00 || shareId, aad = canonical(facts),
 *               plaintext = the stream key's 32-byte private scalar
 *   sig       = RSASSA-PSS-SHA256 (salt 32) by the account signing key over
 *               "sealcam/v1 share-envelope" || 0x00 || canonical({ct, enc, facts, v})
 *   envelope  = canonical({ct, enc, facts, root, sig, v: 1})                   (base64url on the wire)
 *
 * `root` is the account root certificate: a viewer that has no root pinned yet pins it (trust on first use,
 * with the fingerprint printed for an out-of-band compare); afterwards it must be the pinned root byte for
 * byte (E_FOREIGN_ACCOUNT). Everything except the private scalar is public and the cloud may check it (it does:
 * host-tools/cloud/mailbox.ts). Node and firmware/core only; no key material is ever logged.
 */
import { asciiBytes, concat, constantTimeEqual, fromBase64Url, toBase64Url, toHex } from "../../firmware/core/bytes";
import { encodeCanonicalBytes, parseCanonicalBytes, type CanonicalValue } from "../../firmware/core/canonical-json";
import { fail, SealcamError } from "../../firmware/core/errors";
import { openSingleShot, sealSingleShot } from "../../firmware/core/hpke";
import { parseSpki } from "../../firmware/core/keys";
import type { StreamName, StreamScope } from "../../firmware/core/stream-scope";
import { parseCertificate, verifyChain, verifyRoot, verifySignature, type Certificate } from "../../firmware/core/x509";
import type { Crypto, P256PrivateKey } from "../../firmware/platform/crypto";

export const SHARE_ENVELOPE_VERSION = 1;
/** The most bytes an envelope may have (the mailbox body limit is 16 KiB; base64url of this fits). */
export const SHARE_ENVELOPE_MAX_BYTES = 11 * 1024;
export const SHARE_INFO_PREFIX = "sealcam/v1 share";
export const SHARE_SIGNATURE_LABEL = "sealcam/v1 share-envelope";
/** The invite string's prefix: SEALCAM-INVITE:1:<base64url SPKI of the viewer's P-256 key>. */
export const INVITE_PREFIX = "SEALCAM-INVITE:1:";
const SHARE_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const B64URL = /^[A-Za-z0-9_-]+$/;

export interface ShareFacts {
  shareId: string;
  accountId: string;
  /** The stream certificate DER. */
  streamCertificate: Uint8Array;
  scope: StreamScope;
  /** Hex SHA-256 of the recipient viewer's SPKI (its mailbox address). */
  to: string;
}

export interface ShareEnvelope {
  facts: ShareFacts;
  enc: Uint8Array;
  ct: Uint8Array;
  root: Uint8Array;
  sig: Uint8Array;
}

/** Short fingerprint of a key or certificate: first 10 bytes of SHA-256(der) as 5 groups of 4 hex. */
export function fingerprint(crypto: Crypto, der: Uint8Array): string {
  return toHex(crypto.sha256(der).subarray(0, 10)).match(/.{4}/g)!.join(" ");
}

export function encodeInvite(spki: Uint8Array): string {
  return INVITE_PREFIX + toBase64Url(spki);
}

/** The viewer's SPKI from an invite string; E_FORMAT for anything but a P-256 key in the exact form. */
export function parseInvite(text: string): Uint8Array {
  const trimmed = text.trim();
  if (!trimmed.startsWith(INVITE_PREFIX)) fail("E_FORMAT", `an invite starts with ${INVITE_PREFIX} (print one with 'sealcam viewer init')`);
  const body = trimmed.slice(INVITE_PREFIX.length);
  if (!B64URL.test(body) || body.length > 200) fail("E_FORMAT", "invite: the key is not base64url");
  const spki = fromBase64Url(body);
  let kind: string;
  try {
    kind = parseSpki(spki).kind;
  } catch {
    return fail("E_FORMAT", "invite: not a public key");
  }
  if (kind !== "p256") fail("E_FORMAT", "invite: the viewer key must be P-256");
  return spki;
}

export function scopeValue(scope: StreamScope): CanonicalValue {
  const value: { [k: string]: CanonicalValue } = {
    cameras: [...scope.cameras], streams: [...scope.streams], notBefore: scope.notBefore, holder: scope.holder,
  };
  if (scope.notAfter !== null) value.notAfter = scope.notAfter;
  return value;
}

export function factsValue(facts: ShareFacts): CanonicalValue {
  return {
    accountId: facts.accountId, scope: scopeValue(facts.scope), shareId: facts.shareId,
    streamCertificate: toBase64Url(facts.streamCertificate), to: facts.to,
  };
}

function shareInfo(shareId: string): Uint8Array {
  return concat(asciiBytes(SHARE_INFO_PREFIX), new Uint8Array([0]), asciiBytes(shareId));
}

function signedBytes(facts: ShareFacts, enc: Uint8Array, ct: Uint8Array): Uint8Array {
  const body = encodeCanonicalBytes({ ct: toBase64Url(ct), enc: toBase64Url(enc), facts: factsValue(facts), v: SHARE_ENVELOPE_VERSION });
  return concat(asciiBytes(SHARE_SIGNATURE_LABEL), new Uint8Array([0]), body);
}

/** Seals a stream private scalar to the viewer and signs the envelope (sign: RSASSA-PSS by the account key). */
export async function sealShareEnvelope(
  crypto: Crypto, facts: ShareFacts, viewerPublicKey: Uint8Array, streamScalar: Uint8Array, root: Uint8Array,
  sign: (message: Uint8Array) => Promise<Uint8Array>,
): Promise<Uint8Array> {
  const aad = encodeCanonicalBytes(factsValue(facts));
  const { enc, ciphertext } = sealSingleShot(crypto, viewerPublicKey, shareInfo(facts.shareId), aad, streamScalar);
  const sig = await sign(signedBytes(facts, enc, ciphertext));
  return encodeCanonicalBytes({
    ct: toBase64Url(ciphertext), enc: toBase64Url(enc), facts: factsValue(facts), root: toBase64Url(root), sig: toBase64Url(sig), v: SHARE_ENVELOPE_VERSION,
  });
}

function field(o: { [k: string]: CanonicalValue }, name: string, keys: string[]): void {
  const got = Object.keys(o).sort().join(",");
  if (got !== [...keys].sort().join(",")) fail("E_FORMAT", `share envelope: ${name} must have exactly ${keys.join(", ")}`);
}

function b64(value: CanonicalValue, what: string): Uint8Array {
  if (typeof value !== "string" || !B64URL.test(value)) fail("E_FORMAT", `share envelope: ${what} must be base64url`);
  return fromBase64Url(value);
}

function isObject(value: CanonicalValue): value is { [k: string]: CanonicalValue } {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseScope(value: CanonicalValue): StreamScope {
  if (!isObject(value)) fail("E_FORMAT", "share envelope: scope must be an object");
  const keys = ["cameras", "holder", "notBefore", "streams"];
  if ("notAfter" in value) keys.push("notAfter");
  field(value, "scope", keys);
  const list = (v: CanonicalValue, what: string): string[] => {
    if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) fail("E_FORMAT", `share envelope: scope ${what} must be a list of strings`);
    return v as string[];
  };
  const int = (v: CanonicalValue, what: string): number => {
    if (typeof v !== "number") fail("E_FORMAT", `share envelope: scope ${what} must be an integer`);
    return v;
  };
  if (typeof value.holder !== "string") fail("E_FORMAT", "share envelope: scope holder must be a string");
  return {
    cameras: list(value.cameras, "cameras"), streams: list(value.streams, "streams") as StreamName[],
    notBefore: int(value.notBefore, "notBefore"), notAfter: "notAfter" in value ? int(value.notAfter, "notAfter") : null, holder: value.holder,
  };
}

/** Parses an envelope's bytes (canonical JSON, exact fields). Checks nothing cryptographic. Throws E_FORMAT/E_LIMIT/E_VERSION. */
export function parseShareEnvelope(bytes: Uint8Array): ShareEnvelope {
  const value = parseCanonicalBytes(bytes, SHARE_ENVELOPE_MAX_BYTES);
  if (!isObject(value)) fail("E_FORMAT", "share envelope: not an object");
  field(value, "the envelope", ["ct", "enc", "facts", "root", "sig", "v"]);
  if (value.v !== SHARE_ENVELOPE_VERSION) fail("E_VERSION", `share envelope: version ${String(value.v)} is not supported (1)`);
  const f = value.facts;
  if (!isObject(f)) fail("E_FORMAT", "share envelope: facts must be an object");
  field(f, "facts", ["accountId", "scope", "shareId", "streamCertificate", "to"]);
  if (typeof f.shareId !== "string" || !SHARE_ID.test(f.shareId)) fail("E_FORMAT", "share envelope: bad share id");
  if (typeof f.accountId !== "string" || f.accountId.length < 1 || f.accountId.length > 128) fail("E_FORMAT", "share envelope: bad account id");
  if (typeof f.to !== "string" || !HEX64.test(f.to)) fail("E_FORMAT", "share envelope: `to` must be 64 lower-case hex characters");
  const facts: ShareFacts = {
    shareId: f.shareId, accountId: f.accountId, streamCertificate: b64(f.streamCertificate, "streamCertificate"), scope: parseScope(f.scope), to: f.to,
  };
  return { facts, enc: b64(value.enc, "enc"), ct: b64(value.ct, "ct"), root: b64(value.root, "root"), sig: b64(value.sig, "sig") };
}

function sameScope(a: StreamScope, b: StreamScope): boolean {
  return a.holder === b.holder && a.notBefore === b.notBefore && a.notAfter === b.notAfter &&
    a.cameras.join("\n") === b.cameras.join("\n") && a.streams.join("\n") === b.streams.join("\n");
}

/**
 * The public checks anyone can make (the cloud on POST, the viewer before opening): the root is a valid
 * self-signed account root naming facts.accountId; the signature verifies under it; the stream certificate
 * chains to it, carries a scope equal to facts.scope with holder `share:<shareId>`. Returns the parsed root and
 * stream certificate. Throws E_SIGNATURE / E_CERT / E_FORMAT.
 */
export function checkShareEnvelope(crypto: Crypto, envelope: ShareEnvelope): { root: Certificate; stream: Certificate } {
  let root: Certificate;
  try {
    root = parseCertificate(envelope.root);
    verifyRoot(crypto, root);
  } catch (error) {
    if (error instanceof SealcamError) fail("E_CERT", `share envelope: the account root is not valid (${error.message})`);
    throw error;
  }
  if (root.subjectCommonName !== `sealcam account ${envelope.facts.accountId}`) fail("E_CERT", "share envelope: the root does not name the envelope's account");
  const ok = verifySignature(crypto, "rsassa-pss-sha256", root.publicKey, signedBytes(envelope.facts, envelope.enc, envelope.ct), envelope.sig);
  if (!ok) fail("E_SIGNATURE", "share envelope: the account signature does not verify (altered, or not signed by this account)");
  const stream = verifyChain(crypto, parseCertificate(envelope.facts.streamCertificate), root);
  if (!stream.streamScope) fail("E_CERT", "share envelope: the certificate is not a stream-key certificate (no scope)");
  if (stream.publicKey.kind !== "p256") fail("E_CERT", "share envelope: the stream key is not P-256");
  if (!sameScope(stream.streamScope, envelope.facts.scope)) fail("E_FORMAT", "share envelope: the stated scope differs from the certificate's");
  if (stream.streamScope.holder !== `share:${envelope.facts.shareId}`) fail("E_FORMAT", "share envelope: the certificate's holder is not this share");
  return { root, stream };
}

/**
 * The viewer's open: addressed to `myAddress` (else E_MISADDRESSED), public checks, then HPKE open with the
 * viewer key and the delivered key must be the certificate's (E_CERT). Returns the stream private key.
 */
export function openShareEnvelope(crypto: Crypto, envelope: ShareEnvelope, myAddress: string, viewerKey: P256PrivateKey): { key: P256PrivateKey; stream: Certificate; root: Certificate } {
  if (envelope.facts.to !== myAddress) fail("E_MISADDRESSED", `this share is addressed to ${envelope.facts.to.slice(0, 16)}…, not to this viewer's key; it was not accepted`);
  const { root, stream } = checkShareEnvelope(crypto, envelope);
  const aad = encodeCanonicalBytes(factsValue(envelope.facts));
  if (envelope.enc.length !== 65) fail("E_FORMAT", "share envelope: enc must be 65 bytes");
  const scalar = openSingleShot(crypto, viewerKey, envelope.enc, shareInfo(envelope.facts.shareId), aad, envelope.ct);
  if (scalar.length !== 32) fail("E_UNWRAP", "share envelope: the delivered key is not a P-256 scalar");
  let key: P256PrivateKey;
  try {
    key = crypto.p256Import(scalar);
  } catch {
    return fail("E_UNWRAP", "share envelope: the delivered key is not a P-256 key");
  } finally {
    scalar.fill(0);
  }
  const point = stream.publicKey.kind === "p256" ? stream.publicKey.point65 : new Uint8Array(0);
  if (!constantTimeEqual(crypto.p256PublicKey(key), point)) {
    crypto.p256Destroy(key);
    fail("E_CERT", "share envelope: the delivered key does not match the stream certificate");
  }
  return { key, stream, root };
}
