/**
 * Stream keys (sharing, docs/PROTOCOL.md §14): a stream key is a P-256 key pair whose certificate, issued by
 * the account signing key, carries its scope in a critical extension of ours:
 *
 *   id-sealcam-streamScope  OBJECT IDENTIFIER ::= { 2 25 48297816842202846688339590819533159073 1 }
 *
 *   StreamScope ::= SEQUENCE {
 *     cameras    SEQUENCE SIZE (0..64) OF UTF8String,  -- camera ids; empty = every camera of the account
 *     streams    SEQUENCE SIZE (1..4) OF UTF8String,   -- "video" | "snapshot" | "audio" | "live", no repeats
 *     notBefore  GeneralizedTime,                      -- whole seconds, UTC
 *     notAfter   GeneralizedTime OPTIONAL,             -- absent: a DSK; present: a TDSK, notAfter > notBefore
 *     holder     UTF8String }                          -- "share:<id>" | "viewer:<id>" | "cloud"
 *
 * The arc 2.25.<uuid> is the OID form of a UUID (ITU-T X.667 | ISO/IEC 9834-8): it needs no registration.
 * sealcam's arc is the UUID 2455d238-3abb-4999-b148-06dec2c1faa1; `.1` under it is the scope extension.
 *
 * This module parses and encodes the scope (pure DER, no crypto) and decides which stream keys a clip is
 * wrapped to (`streamRecipientsFor`): from the verified roster and the clip's own capture time only.
 * Pure TypeScript; runs on the camera.
 */
import { constantTimeEqual, fromHex, utf8String } from "./bytes";
import {
  children, derGeneralizedTime, derSequence, derUtf8String, expectTag, parseDer, readTime, sequence,
  TAG_GENERALIZED_TIME, TAG_SEQUENCE, TAG_UTF8_STRING, type DerNode,
} from "./der";
import { fail } from "./errors";
import { isCameraId } from "./request-auth";

/** sealcam's private OID arc: 2.25 + the UUID 2455d238-3abb-4999-b148-06dec2c1faa1 as an integer (X.667). */
export const OID_SEALCAM_ARC = "2.25.48297816842202846688339590819533159073";
/** The stream-scope certificate extension. */
export const OID_STREAM_SCOPE = `${OID_SEALCAM_ARC}.1`;
/**
 * The DER of OID_STREAM_SCOPE (tag, length, content). Compared byte for byte: its 128-bit arc is larger than
 * the generic OID reader (der.ts readOid, arcs up to 2^32) decodes.
 */
export const OID_STREAM_SCOPE_DER_HEX = "061469c8d5e98e87abdaa6b3b1a481dbec9687f52101";
const OID_STREAM_SCOPE_DER = fromHex(OID_STREAM_SCOPE_DER_HEX);

export type StreamName = "video" | "snapshot" | "audio" | "live";
export const STREAM_NAMES: readonly StreamName[] = ["video", "snapshot", "audio", "live"];
/** The most cameras one scope may name (an account never has more; keeps a certificate small). */
export const SCOPE_MAX_CAMERAS = 64;
const HOLDER = /^(cloud|(share|viewer):[a-z0-9][a-z0-9-]{0,63})$/;

export interface StreamScope {
  /** Camera ids; empty means every camera of the account. */
  cameras: string[];
  streams: StreamName[];
  /** ms since the Unix epoch, whole seconds. */
  notBefore: number;
  /** ms since the Unix epoch, whole seconds; null for a DSK (no end). */
  notAfter: number | null;
  holder: string;
}

/** True when `node` is exactly the stream-scope OID. */
export function isStreamScopeOid(node: DerNode): boolean {
  return node.der.length === OID_STREAM_SCOPE_DER.length && constantTimeEqual(node.der, OID_STREAM_SCOPE_DER);
}

/** The stream-scope OID's DER (for writers). */
export function streamScopeOidDer(): Uint8Array {
  return Uint8Array.from(OID_STREAM_SCOPE_DER);
}

export function isStreamName(value: string): value is StreamName {
  return (STREAM_NAMES as readonly string[]).indexOf(value) >= 0;
}

function utf8(node: DerNode, what: string): string {
  if (node.tag !== TAG_UTF8_STRING) fail("E_FORMAT", `stream scope: ${what} must be a UTF8String`);
  return utf8String(node.content);
}

function generalizedTime(node: DerNode, what: string): number {
  if (node.tag !== TAG_GENERALIZED_TIME) fail("E_FORMAT", `stream scope: ${what} must be a GeneralizedTime`);
  return readTime(node, what);
}

function checkScope(scope: StreamScope, code: "E_FORMAT" | "E_ARGUMENT"): void {
  if (scope.cameras.length > SCOPE_MAX_CAMERAS) fail(code, `stream scope: at most ${SCOPE_MAX_CAMERAS} cameras`);
  for (let i = 0; i < scope.cameras.length; i++) {
    if (!isCameraId(scope.cameras[i])) fail(code, "stream scope: a camera is not a camera id (lower-case letters, digits, '-')");
    if (scope.cameras.indexOf(scope.cameras[i]) !== i) fail(code, `stream scope: camera ${scope.cameras[i]} named twice`);
  }
  if (scope.streams.length < 1) fail(code, "stream scope: names no stream");
  for (let i = 0; i < scope.streams.length; i++) {
    if (!isStreamName(scope.streams[i])) fail(code, `stream scope: unknown stream "${String(scope.streams[i]).slice(0, 32)}" (video, snapshot, audio, live)`);
    if (scope.streams.indexOf(scope.streams[i]) !== i) fail(code, `stream scope: stream ${scope.streams[i]} named twice`);
  }
  if (!Number.isSafeInteger(scope.notBefore) || scope.notBefore < 0 || scope.notBefore % 1000 !== 0) {
    fail(code, "stream scope: notBefore must be whole seconds since the epoch");
  }
  if (scope.notAfter !== null) {
    if (!Number.isSafeInteger(scope.notAfter) || scope.notAfter % 1000 !== 0) fail(code, "stream scope: notAfter must be whole seconds since the epoch");
    if (scope.notAfter <= scope.notBefore) fail(code, "stream scope: notAfter must be later than notBefore");
  }
  if (!HOLDER.test(scope.holder)) fail(code, 'stream scope: holder must be "share:<id>", "viewer:<id>" or "cloud"');
}

/** Parses the extension value (the DER inside the extnValue OCTET STRING). Throws E_FORMAT. */
export function parseStreamScope(der: Uint8Array): StreamScope {
  const items = sequence(parseDer(der), "stream scope", 4, 5);
  const cameraNodes = children(expectTag(items[0], TAG_SEQUENCE, "stream scope cameras"));
  if (cameraNodes.length > SCOPE_MAX_CAMERAS) fail("E_FORMAT", `stream scope: at most ${SCOPE_MAX_CAMERAS} cameras`);
  const cameras = cameraNodes.map((n) => utf8(n, "camera"));
  const streamNodes = children(expectTag(items[1], TAG_SEQUENCE, "stream scope streams"));
  if (streamNodes.length > STREAM_NAMES.length) fail("E_FORMAT", "stream scope: too many streams");
  const streams = streamNodes.map((n) => utf8(n, "stream")) as StreamName[];
  const notBefore = generalizedTime(items[2], "notBefore");
  const notAfter = items.length === 5 ? generalizedTime(items[3], "notAfter") : null;
  const holder = utf8(items[items.length - 1], "holder");
  const scope: StreamScope = { cameras, streams, notBefore, notAfter, holder };
  checkScope(scope, "E_FORMAT");
  return scope;
}

/** The extension value DER for `scope` (what the phone puts in a stream certificate). Throws E_ARGUMENT. */
export function encodeStreamScope(scope: StreamScope): Uint8Array {
  checkScope(scope, "E_ARGUMENT");
  const items = [
    derSequence(...scope.cameras.map(derUtf8String)),
    derSequence(...scope.streams.map(derUtf8String)),
    derGeneralizedTime(scope.notBefore),
  ];
  if (scope.notAfter !== null) items.push(derGeneralizedTime(scope.notAfter));
  items.push(derUtf8String(scope.holder));
  return derSequence(...items);
}

/** A verified stream key from the roster (roster.ts fills this from a `stream` entry). */
export interface StreamKey {
  keyId: Uint8Array;
  /** 65-byte uncompressed P-256 point. */
  publicKey: Uint8Array;
  scope: StreamScope;
}

/** What the camera knows about a clip when it decides its stream recipients. */
export interface ClipScopeQuery {
  cameraId: string;
  stream: StreamName;
  /** The clip's capture start (the header's `t`), ms since the epoch, from the camera's own clock. */
  captureTime: number;
}

/** True when `scope` covers a clip of `query`: camera listed (or all), stream listed, captureTime in [notBefore, notAfter). */
export function scopeCovers(scope: StreamScope, query: ClipScopeQuery): boolean {
  if (scope.cameras.length > 0 && scope.cameras.indexOf(query.cameraId) < 0) return false;
  if (scope.streams.indexOf(query.stream) < 0) return false;
  if (query.captureTime < scope.notBefore) return false;
  if (scope.notAfter !== null && query.captureTime >= scope.notAfter) return false;
  return true;
}

/**
 * The stream keys a clip is wrapped to, in roster order, in the shape the sealer takes: every stream key of
 * the VERIFIED roster whose scope covers this camera, this stream and this capture time. Nothing else goes
 * in: not the cloud's word, not the time of upload. Pure; throws E_ARGUMENT on a malformed query.
 */
export function streamRecipientsFor(
  roster: { streamKeys: readonly StreamKey[] }, query: ClipScopeQuery,
): { kind: "hpke-p256-stream"; keyId: Uint8Array; publicKey: Uint8Array }[] {
  if (!isCameraId(query.cameraId)) fail("E_ARGUMENT", "streamRecipientsFor: bad camera id");
  if (!isStreamName(query.stream)) fail("E_ARGUMENT", "streamRecipientsFor: unknown stream");
  if (!Number.isSafeInteger(query.captureTime) || query.captureTime < 0) fail("E_ARGUMENT", "streamRecipientsFor: bad capture time");
  const out: { kind: "hpke-p256-stream"; keyId: Uint8Array; publicKey: Uint8Array }[] = [];
  for (const key of roster.streamKeys) {
    if (scopeCovers(key.scope, query)) out.push({ kind: "hpke-p256-stream", keyId: key.keyId, publicKey: key.publicKey });
  }
  return out;
}
