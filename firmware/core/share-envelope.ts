/**
 * Share envelopes (docs/PROTOCOL.md §14.8, §14.11): signed, HPKE-sealed messages by which an owner's phone hands
 * a secret to someone else without the cloud learning it. Portable (firmware/core): the phone, the viewer,
 * the cloud and the vector reproductions in XS run this one code. Three kinds, each with its own HPKE info
 * label and its own signature label, so none can be taken for another (or for a clip, live or phone wrap):
 *
 *   share envelope       (mailbox) a stream key's private scalar, to a viewer's key          "sealcam/v1 share"
 *   clip share envelope  (beside a clip) ONE clip's key, to a fresh temporary key (TDSK)     "sealcam/v1 clip-share"
 *   clip share key       (mailbox) that TDSK's private scalar, to a viewer's key             "sealcam/v1 clip-share-key"
 *
 * Each is  canonical({ct, enc, facts, root, sig, v: 1})  with
 *   enc, ct = HPKE base mode (RFC 9180, DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-128-GCM),
 *             info = <label> || 0x00 || <id>, aad = canonical(facts)
 *   sig     = RSASSA-PSS-SHA256 (salt 32) by the account signing key over <sig label> || 0x00 || canonical({ct, enc, facts, v})
 *   root    = the account root certificate (the viewer pins it on first use; afterwards it must be the pinned one).
 * Everything except the sealed secret is public and the cloud checks it (host-tools/cloud/mailbox.ts).
 * No key material is ever logged.
 */
import { asciiBytes, concat, constantTimeEqual, fromBase64Url, toBase64Url, toHex } from "./bytes";
import { ALG_HPKE_P256, ALG_HPKE_P256_STREAM, ALG_RSA_OAEP } from "./clip/constants";
import { encodeCanonicalBytes, parseCanonicalBytes, type CanonicalValue } from "./canonical-json";
import { fail, SealcamError } from "./errors";
import { openSingleShot, sealSingleShot } from "./hpke";
import { parseSpki } from "./keys";
import type { StreamName, StreamScope } from "./stream-scope";
import { parseCertificate, verifyChain, verifyRoot, verifySignature, type Certificate } from "./x509";
import type { Crypto, P256PrivateKey } from "../platform/crypto";

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
  return parseSigned(bytes, "share envelope", ["accountId", "scope", "shareId", "streamCertificate", "to"], (f): ShareFacts => {
    if (typeof f.shareId !== "string" || !SHARE_ID.test(f.shareId)) fail("E_FORMAT", "share envelope: bad share id");
    if (typeof f.accountId !== "string" || f.accountId.length < 1 || f.accountId.length > 128) fail("E_FORMAT", "share envelope: bad account id");
    if (typeof f.to !== "string" || !HEX64.test(f.to)) fail("E_FORMAT", "share envelope: `to` must be 64 lower-case hex characters");
    return { shareId: f.shareId, accountId: f.accountId, streamCertificate: b64(f.streamCertificate, "streamCertificate"), scope: parseScope(f.scope), to: f.to };
  });
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
  // A grant to the cloud (PROTOCOL §14.14) has holder "cloud" and a share id "cloud-<hex>".
  const holder = stream.streamScope.holder;
  if (holder !== `share:${envelope.facts.shareId}` && !(holder === "cloud" && envelope.facts.shareId.startsWith("cloud-"))) fail("E_FORMAT", "share envelope: the certificate's holder is not this share");
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

// ---------------------------------------------------------------------------------------------------------
// Clip shares (PROTOCOL §14.11): one existing clip, to a fresh temporary key (TDSK), until `notAfter`.

export const CLIP_SHARE_INFO_PREFIX = "sealcam/v1 clip-share";
export const CLIP_SHARE_SIGNATURE_LABEL = "sealcam/v1 clip-share-envelope";
export const CLIP_SHARE_KEY_INFO_PREFIX = "sealcam/v1 clip-share-key";
export const CLIP_SHARE_KEY_SIGNATURE_LABEL = "sealcam/v1 clip-share-key-envelope";
/** The bearer token of a clip share: this prefix, then base64url of the TDSK's 32-byte private scalar. */
export const CLIP_SHARE_TOKEN_PREFIX = "sealcam-share:1:";
const HEX32 = /^[0-9a-f]{32}$/;

/** What a clip share envelope states (public, signed, the HPKE aad). */
export interface ClipShareFacts {
  accountId: string;
  /** The clip's id, 32 lower-case hex. */
  clipId: string;
  /** Hex SHA-256 of the clip's head (preamble, header, signature) as the camera signed it. */
  headHash: string;
  /** The TDSK's SubjectPublicKeyInfo DER (P-256). */
  key: Uint8Array;
  /** ms since the epoch: the share ends here (exclusive). */
  notAfter: number;
  shareId: string;
}

/** What a clip share key envelope (the TDSK delivered to a viewer through the mailbox) states. */
export interface ClipShareKeyFacts {
  accountId: string;
  clipId: string;
  key: Uint8Array;
  notAfter: number;
  shareId: string;
  /** Hex SHA-256 of the viewer's SPKI (its mailbox address). */
  to: string;
}

export interface SignedEnvelope<F> {
  facts: F;
  enc: Uint8Array;
  ct: Uint8Array;
  root: Uint8Array;
  sig: Uint8Array;
}

export function clipShareFactsValue(f: ClipShareFacts): CanonicalValue {
  return { accountId: f.accountId, clipId: f.clipId, headHash: f.headHash, key: toBase64Url(f.key), notAfter: f.notAfter, shareId: f.shareId };
}

export function clipShareKeyFactsValue(f: ClipShareKeyFacts): CanonicalValue {
  return { accountId: f.accountId, clipId: f.clipId, key: toBase64Url(f.key), notAfter: f.notAfter, shareId: f.shareId, to: f.to };
}

function labelled(label: string, id: Uint8Array): Uint8Array {
  return concat(asciiBytes(label), new Uint8Array([0]), id);
}

function signedEnvelopeBytes(label: string, facts: CanonicalValue, enc: Uint8Array, ct: Uint8Array): Uint8Array {
  return labelled(label, encodeCanonicalBytes({ ct: toBase64Url(ct), enc: toBase64Url(enc), facts, v: SHARE_ENVELOPE_VERSION }));
}

async function sealSigned(
  crypto: Crypto, infoLabel: string, infoId: Uint8Array, sigLabel: string, facts: CanonicalValue, recipient: Uint8Array,
  secret: Uint8Array, root: Uint8Array, sign: (message: Uint8Array) => Promise<Uint8Array>,
): Promise<Uint8Array> {
  const { enc, ciphertext } = sealSingleShot(crypto, recipient, labelled(infoLabel, infoId), encodeCanonicalBytes(facts), secret);
  const sig = await sign(signedEnvelopeBytes(sigLabel, facts, enc, ciphertext));
  return encodeCanonicalBytes({ ct: toBase64Url(ciphertext), enc: toBase64Url(enc), facts, root: toBase64Url(root), sig: toBase64Url(sig), v: SHARE_ENVELOPE_VERSION });
}

function p256Point(spki: Uint8Array, what: string): Uint8Array {
  let key;
  try {
    key = parseSpki(spki);
  } catch {
    return fail("E_FORMAT", `${what}: the key is not a public key`);
  }
  if (key.kind !== "p256") fail("E_FORMAT", `${what}: the key must be P-256`);
  return key.point65;
}

/**
 * Seals ONE clip's key to a TDSK (its P-256 SPKI in facts.key) and signs it: the clip share envelope stored
 * beside the clip. info = "sealcam/v1 clip-share" || 0x00 || clip id (16 bytes); plaintext = the 16-byte clip key.
 */
export function sealClipShareEnvelope(
  crypto: Crypto, facts: ClipShareFacts, clipKey: Uint8Array, root: Uint8Array, sign: (message: Uint8Array) => Promise<Uint8Array>,
): Promise<Uint8Array> {
  if (clipKey.length !== 16) fail("E_ARGUMENT", "a clip key is 16 bytes");
  checkClipShareFacts(facts, "clip share");
  return sealSigned(crypto, CLIP_SHARE_INFO_PREFIX, fromHex32(facts.clipId), CLIP_SHARE_SIGNATURE_LABEL, clipShareFactsValue(facts), p256Point(facts.key, "clip share"), clipKey, root, sign);
}

/**
 * Seals a TDSK's private scalar to a viewer (the mailbox kind for `share-clip --to`). info =
 * "sealcam/v1 clip-share-key" || 0x00 || shareId; plaintext = the 32-byte scalar.
 */
export function sealClipShareKeyEnvelope(
  crypto: Crypto, facts: ClipShareKeyFacts, viewerPublicKey: Uint8Array, tdskScalar: Uint8Array, root: Uint8Array, sign: (message: Uint8Array) => Promise<Uint8Array>,
): Promise<Uint8Array> {
  checkClipShareFacts(facts, "clip share key");
  if (!HEX64.test(facts.to)) fail("E_ARGUMENT", "clip share key: `to` must be 64 lower-case hex characters");
  return sealSigned(crypto, CLIP_SHARE_KEY_INFO_PREFIX, asciiBytes(facts.shareId), CLIP_SHARE_KEY_SIGNATURE_LABEL, clipShareKeyFactsValue(facts), viewerPublicKey, tdskScalar, root, sign);
}

function fromHex32(text: string): Uint8Array {
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function checkClipShareFacts(f: { accountId: string; clipId: string; key: Uint8Array; notAfter: number; shareId: string; headHash?: string }, what: string): void {
  if (!SHARE_ID.test(f.shareId)) fail("E_FORMAT", `${what}: bad share id`);
  if (f.accountId.length < 1 || f.accountId.length > 128) fail("E_FORMAT", `${what}: bad account id`);
  if (!HEX32.test(f.clipId)) fail("E_FORMAT", `${what}: clipId must be 32 lower-case hex characters`);
  if (f.headHash !== undefined && !HEX64.test(f.headHash)) fail("E_FORMAT", `${what}: headHash must be 64 lower-case hex characters`);
  if (!Number.isSafeInteger(f.notAfter) || f.notAfter <= 0) fail("E_FORMAT", `${what}: notAfter must be a positive integer (ms since the epoch)`);
  p256Point(f.key, what);
}

/**
 * The envelope form every signed envelope shares (canonical JSON, exact fields, version 1): `read` reads and
 * checks the facts (exactly `factKeys`), then enc, ct, root and sig are decoded. Checks nothing cryptographic.
 */
function parseSigned<F>(bytes: Uint8Array, what: string, factKeys: string[], read: (f: { [k: string]: CanonicalValue }) => F): SignedEnvelope<F> {
  const value = parseCanonicalBytes(bytes, SHARE_ENVELOPE_MAX_BYTES);
  if (!isObject(value)) fail("E_FORMAT", `${what}: not an object`);
  field(value, "the envelope", ["ct", "enc", "facts", "root", "sig", "v"]);
  if (value.v !== SHARE_ENVELOPE_VERSION) fail("E_VERSION", `${what}: version ${String(value.v)} is not supported (1)`);
  const f = value.facts;
  if (!isObject(f)) fail("E_FORMAT", `${what}: facts must be an object`);
  field(f, "facts", factKeys);
  const facts = read(f);
  return { facts, enc: b64(value.enc, "enc"), ct: b64(value.ct, "ct"), root: b64(value.root, "root"), sig: b64(value.sig, "sig") };
}

function str(v: CanonicalValue, what: string): string {
  if (typeof v !== "string") fail("E_FORMAT", `${what} must be a string`);
  return v;
}

function int(v: CanonicalValue, what: string): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v)) fail("E_FORMAT", `${what} must be an integer`);
  return v;
}

/** Parses a clip share envelope (exact canonical form and fields). Checks nothing cryptographic. */
export function parseClipShareEnvelope(bytes: Uint8Array): SignedEnvelope<ClipShareFacts> {
  return parseSigned(bytes, "clip share", ["accountId", "clipId", "headHash", "key", "notAfter", "shareId"], (f) => {
    const facts: ClipShareFacts = {
      accountId: str(f.accountId, "clip share: accountId"), clipId: str(f.clipId, "clip share: clipId"), headHash: str(f.headHash, "clip share: headHash"),
      key: b64(f.key, "key"), notAfter: int(f.notAfter, "clip share: notAfter"), shareId: str(f.shareId, "clip share: shareId"),
    };
    checkClipShareFacts(facts, "clip share");
    return facts;
  });
}

/** Parses a clip share key envelope (exact canonical form and fields). Checks nothing cryptographic. */
export function parseClipShareKeyEnvelope(bytes: Uint8Array): SignedEnvelope<ClipShareKeyFacts> {
  return parseSigned(bytes, "clip share key", ["accountId", "clipId", "key", "notAfter", "shareId", "to"], (f) => {
    const facts: ClipShareKeyFacts = {
      accountId: str(f.accountId, "clip share key: accountId"), clipId: str(f.clipId, "clip share key: clipId"), key: b64(f.key, "key"),
      notAfter: int(f.notAfter, "clip share key: notAfter"), shareId: str(f.shareId, "clip share key: shareId"), to: str(f.to, "clip share key: to"),
    };
    checkClipShareFacts(facts, "clip share key");
    if (!HEX64.test(facts.to)) fail("E_FORMAT", "clip share key: `to` must be 64 lower-case hex characters");
    return facts;
  });
}

/** A mailbox message is a share envelope (a stream key) or a clip share key envelope (a TDSK), told apart by its facts. */
export type MailboxEnvelope = { kind: "stream"; envelope: ShareEnvelope } | { kind: "clip-key"; envelope: SignedEnvelope<ClipShareKeyFacts> };

export function parseMailboxEnvelope(bytes: Uint8Array): MailboxEnvelope {
  const value = parseCanonicalBytes(bytes, SHARE_ENVELOPE_MAX_BYTES);
  const facts = isObject(value) ? value.facts : null;
  if (facts !== null && isObject(facts) && "clipId" in facts) return { kind: "clip-key", envelope: parseClipShareKeyEnvelope(bytes) };
  return { kind: "stream", envelope: parseShareEnvelope(bytes) };
}

/** The root of a signed envelope, valid, self-signed and naming `accountId`; the signature verifies under it. */
function checkSignedBy(crypto: Crypto, root: Uint8Array, accountId: string, message: Uint8Array, sig: Uint8Array, what: string): Certificate {
  let cert: Certificate;
  try {
    cert = parseCertificate(root);
    verifyRoot(crypto, cert);
  } catch (error) {
    if (error instanceof SealcamError) fail("E_CERT", `${what}: the account root is not valid (${error.message})`);
    throw error;
  }
  if (cert.subjectCommonName !== `sealcam account ${accountId}`) fail("E_CERT", `${what}: the root does not name the envelope's account`);
  if (!verifySignature(crypto, "rsassa-pss-sha256", cert.publicKey, message, sig)) {
    fail("E_SIGNATURE", `${what}: the account signature does not verify (altered, or not signed by this account)`);
  }
  return cert;
}

/** The public checks of a clip share envelope (the cloud on POST, the viewer on accept): root and signature. */
export function checkClipShareEnvelope(crypto: Crypto, envelope: SignedEnvelope<ClipShareFacts>): Certificate {
  return checkSignedBy(crypto, envelope.root, envelope.facts.accountId, signedEnvelopeBytes(CLIP_SHARE_SIGNATURE_LABEL, clipShareFactsValue(envelope.facts), envelope.enc, envelope.ct), envelope.sig, "clip share");
}

/** The public checks of a clip share key envelope: root and signature. */
export function checkClipShareKeyEnvelope(crypto: Crypto, envelope: SignedEnvelope<ClipShareKeyFacts>): Certificate {
  return checkSignedBy(crypto, envelope.root, envelope.facts.accountId, signedEnvelopeBytes(CLIP_SHARE_KEY_SIGNATURE_LABEL, clipShareKeyFactsValue(envelope.facts), envelope.enc, envelope.ct), envelope.sig, "clip share key");
}

/**
 * Opens a clip share envelope with the TDSK, for the clip `clip` as served (its id and the SHA-256 of its
 * head), at time `now`. In order: the envelope is for this TDSK (E_MISADDRESSED); root and signature
 * (E_CERT/E_SIGNATURE); it names exactly this clip and head (E_MISADDRESSED); `now < notAfter`
 * (E_SHARE_EXPIRED); HPKE opens to a 16-byte key (E_UNWRAP). Returns the clip key (the caller's opener then
 * checks it against the header's commitment).
 */
export function openClipShareEnvelope(
  crypto: Crypto, envelope: SignedEnvelope<ClipShareFacts>, tdsk: P256PrivateKey, clip: { clipId: string; headHash: string }, now: number,
): Uint8Array {
  const point = p256Point(envelope.facts.key, "clip share");
  if (!constantTimeEqual(point, crypto.p256PublicKey(tdsk))) fail("E_MISADDRESSED", "this clip share is sealed to another key than this share's; not opened");
  checkClipShareEnvelope(crypto, envelope);
  if (envelope.facts.clipId !== clip.clipId || envelope.facts.headHash !== clip.headHash) {
    fail("E_MISADDRESSED", `this clip share is for clip ${envelope.facts.clipId.slice(0, 16)}… with another head than the clip served (${clip.clipId.slice(0, 16)}…); not opened`);
  }
  if (now >= envelope.facts.notAfter) fail("E_SHARE_EXPIRED", `this clip share ended at ${new Date(envelope.facts.notAfter).toISOString()}; ask the owner for a new one`);
  if (envelope.enc.length !== 65) fail("E_FORMAT", "clip share: enc must be 65 bytes");
  const key = openSingleShot(crypto, tdsk, envelope.enc, labelled(CLIP_SHARE_INFO_PREFIX, fromHex32(envelope.facts.clipId)), encodeCanonicalBytes(clipShareFactsValue(envelope.facts)), envelope.ct);
  if (key.length !== 16) {
    key.fill(0);
    fail("E_UNWRAP", "clip share: the sealed key is not a clip key");
  }
  return key;
}

/**
 * Opens a clip share key envelope addressed to `myAddress` with the viewer's key: addressed here
 * (E_MISADDRESSED), root and signature, HPKE opens to a P-256 scalar whose public key is facts.key (E_CERT).
 * Returns the TDSK private key.
 */
export function openClipShareKeyEnvelope(crypto: Crypto, envelope: SignedEnvelope<ClipShareKeyFacts>, myAddress: string, viewerKey: P256PrivateKey): P256PrivateKey {
  if (envelope.facts.to !== myAddress) fail("E_MISADDRESSED", `this clip share is addressed to ${envelope.facts.to.slice(0, 16)}…, not to this viewer's key; it was not accepted`);
  checkClipShareKeyEnvelope(crypto, envelope);
  if (envelope.enc.length !== 65) fail("E_FORMAT", "clip share key: enc must be 65 bytes");
  const scalar = openSingleShot(crypto, viewerKey, envelope.enc, labelled(CLIP_SHARE_KEY_INFO_PREFIX, asciiBytes(envelope.facts.shareId)), encodeCanonicalBytes(clipShareKeyFactsValue(envelope.facts)), envelope.ct);
  let key: P256PrivateKey;
  try {
    if (scalar.length !== 32) fail("E_UNWRAP", "clip share key: the delivered key is not a P-256 scalar");
    key = crypto.p256Import(scalar);
  } catch (error) {
    if (error instanceof SealcamError) throw error;
    return fail("E_UNWRAP", "clip share key: the delivered key is not a P-256 key");
  } finally {
    scalar.fill(0);
  }
  if (!constantTimeEqual(crypto.p256PublicKey(key), p256Point(envelope.facts.key, "clip share key"))) {
    crypto.p256Destroy(key);
    fail("E_CERT", "clip share key: the delivered key is not the one the envelope states");
  }
  return key;
}

/** The bearer token for a clip share: whoever holds it may open the clip until notAfter. */
export function encodeClipShareToken(tdskScalar: Uint8Array): string {
  return CLIP_SHARE_TOKEN_PREFIX + toBase64Url(tdskScalar);
}

/** The TDSK scalar of a token (E_FORMAT otherwise). The caller wipes it. */
export function parseClipShareToken(text: string): Uint8Array {
  const t = text.trim();
  if (!t.startsWith(CLIP_SHARE_TOKEN_PREFIX)) fail("E_FORMAT", `a clip share token starts with ${CLIP_SHARE_TOKEN_PREFIX} (what 'sealcam phone share-clip' printed)`);
  const body = t.slice(CLIP_SHARE_TOKEN_PREFIX.length);
  if (!/^[A-Za-z0-9_-]{43}$/.test(body)) fail("E_FORMAT", "clip share token: the key is not 32 bytes of base64url");
  return fromBase64Url(body);
}

/**
 * An unwrapper for the clip opener that hands over a clip key obtained elsewhere (a clip share): it names the
 * first recipient entry of a known algorithm so the opener consults it, ignores the entry, and returns the key.
 * The opener still checks that key against the header's signed commitment (E_COMMIT) and every segment.
 */
export function givenClipKeyUnwrapper(recipients: { kid: Uint8Array; alg: string }[], clipKey: Uint8Array): { keyId: Uint8Array; unwrap: () => Uint8Array } {
  const entry = recipients.find((r) => r.alg === ALG_HPKE_P256 || r.alg === ALG_HPKE_P256_STREAM || r.alg === ALG_RSA_OAEP);
  if (!entry) return fail("E_NO_RECIPIENT", "the clip has no recipient entry of a known algorithm");
  return { keyId: entry.kid, unwrap: () => Uint8Array.from(clipKey) };
}
