/**
 * The clip header (the whitepaper's "manifest"): canonical JSON, signed by the camera. This module only
 * converts between bytes and a validated `ClipHeader`; it does no cryptography.
 */
import { encodeCanonicalBytes, parseCanonicalBytes, type CanonicalValue } from "../canonical-json";
import { fromBase64Url, toBase64Url } from "../bytes";
import { fail } from "../errors";
import { isCameraId } from "../request-auth";
import {
  ALG_HPKE_P256,
  ALG_HPKE_P256_STREAM,
  ALG_RSA_OAEP,
  CLIP_ID_LENGTH,
  CONTENT_TYPE_SNAPSHOT,
  FORMAT_VERSION,
  KEY_ID_LENGTH,
  MAX_HEADER_LENGTH,
  MAX_RECIPIENTS,
  MAX_SEGMENT_SIZE,
  MIN_SEGMENT_SIZE,
} from "./constants";

export interface HpkeRecipientEntry {
  alg: typeof ALG_HPKE_P256;
  kid: Uint8Array;
  enc: Uint8Array;
  ct: Uint8Array;
}

/** An entry wrapped to a stream key (FORMAT §5): the same fields as a phone's, its own algorithm and label. */
export interface StreamRecipientEntry {
  alg: typeof ALG_HPKE_P256_STREAM;
  kid: Uint8Array;
  enc: Uint8Array;
  ct: Uint8Array;
}

export interface RsaRecipientEntry {
  alg: typeof ALG_RSA_OAEP;
  kid: Uint8Array;
  ct: Uint8Array;
}

/** An entry of an algorithm this decoder does not know (reserved for later, e.g. stream keys): kept, never used. */
export interface OtherRecipientEntry {
  alg: string;
  kid: Uint8Array;
  fields: Record<string, string>;
}

export type RecipientEntry = HpkeRecipientEntry | StreamRecipientEntry | RsaRecipientEntry | OtherRecipientEntry;

export interface ClipHeader {
  version: number;
  clipId: Uint8Array;
  cameraId: string;
  cameraCertHash: Uint8Array;
  sequence: number;
  startTime: number;
  contentType: string;
  segmentSize: number;
  rosterVersion: number;
  commitment: Uint8Array;
  recipients: RecipientEntry[];
  /**
   * `of` (FORMAT §3.1): present only on a snapshot, the id of the clip this object is the preview of. Signed
   * with the rest of the header, so the link is the camera's word, never the cloud's. A snapshot's `type`
   * is `image/jpeg`.
   */
  snapshotOf?: Uint8Array;
}

/**
 * Content types (FORMAT §3): RFC 6838 restricted names in lower case, `type/subtype`, each 1..63 characters,
 * starting with a letter or digit; no parameters. At most 127 characters.
 */
export const CONTENT_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,62}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}$/;
const ALG = /^[a-z0-9-]{1,40}$/;
const FIELD = /^[a-z]{1,16}$/;
const HEADER_KEYS = ["cam", "cert", "clip", "commit", "rcpt", "roster", "seg", "seq", "t", "type", "v"];

function isObject(value: CanonicalValue): value is { [key: string]: CanonicalValue } {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function binary(value: CanonicalValue | undefined, name: string, min: number, max: number): Uint8Array {
  if (typeof value !== "string") return fail("E_FORMAT", `header: ${name} must be a base64url string`);
  if (value.length > Math.ceil((max * 4) / 3)) fail("E_LIMIT", `header: ${name} is too long`);
  const bytes = fromBase64Url(value);
  if (bytes.length < min || bytes.length > max) fail("E_FORMAT", `header: ${name} must be ${min === max ? min : `${min}..${max}`} bytes`);
  return bytes;
}

function integer(value: CanonicalValue | undefined, name: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
    return fail("E_FORMAT", `header: ${name} must be an integer in ${min}..${max}`);
  }
  return value;
}

function text(value: CanonicalValue | undefined, name: string, pattern: RegExp): string {
  if (typeof value !== "string" || !pattern.test(value)) return fail("E_FORMAT", `header: ${name} is missing or malformed`);
  return value;
}

/** The camera id grammar is the one every part of sealcam uses: isCameraId (request-auth.ts). */
function cameraIdOf(value: CanonicalValue | undefined): string {
  if (typeof value !== "string" || !isCameraId(value)) return fail("E_FORMAT", "header: cam must be a camera id (lower-case letters, digits, '-'; 1..64)");
  return value;
}

function exactKeys(object: { [key: string]: CanonicalValue }, keys: string[], what: string): void {
  const present = Object.keys(object).sort();
  if (present.length !== keys.length || present.some((key, i) => key !== [...keys].sort()[i])) {
    fail("E_FORMAT", `header: ${what} must have exactly the fields ${keys.join(", ")}`);
  }
}

/** One recipient entry (FORMAT §5); also used by live-session headers (FORMAT §12). */
export function parseRecipient(value: CanonicalValue): RecipientEntry {
  if (!isObject(value)) return fail("E_FORMAT", "header: recipient must be an object");
  const alg = text(value.alg, "rcpt.alg", ALG);
  const kid = binary(value.kid, "rcpt.kid", KEY_ID_LENGTH, KEY_ID_LENGTH);
  if (alg === ALG_HPKE_P256) {
    exactKeys(value, ["alg", "ct", "enc", "kid"], "an hpke recipient");
    return { alg, kid, enc: binary(value.enc, "rcpt.enc", 65, 65), ct: binary(value.ct, "rcpt.ct", 32, 32) };
  }
  if (alg === ALG_HPKE_P256_STREAM) {
    exactKeys(value, ["alg", "ct", "enc", "kid"], "a stream-key recipient");
    return { alg, kid, enc: binary(value.enc, "rcpt.enc", 65, 65), ct: binary(value.ct, "rcpt.ct", 32, 32) };
  }
  if (alg === ALG_RSA_OAEP) {
    exactKeys(value, ["alg", "ct", "kid"], "an rsa recipient");
    return { alg, kid, ct: binary(value.ct, "rcpt.ct", 256, 512) };
  }
  const fields: Record<string, string> = {};
  const names = Object.keys(value).filter((key) => key !== "alg" && key !== "kid");
  if (names.length > 8) fail("E_LIMIT", "header: too many fields in a recipient");
  for (const name of names) {
    if (!FIELD.test(name)) fail("E_FORMAT", "header: malformed recipient field name");
    const field = value[name];
    if (typeof field !== "string" || field.length > 2048) fail("E_FORMAT", "header: malformed recipient field");
    fields[name] = field;
  }
  return { alg, kid, fields };
}

export function decodeHeader(bytes: Uint8Array): ClipHeader {
  const value = parseCanonicalBytes(bytes, MAX_HEADER_LENGTH);
  if (!isObject(value)) return fail("E_FORMAT", "header: must be an object");
  if (value.v !== FORMAT_VERSION) fail("E_VERSION", `header: unsupported format version ${String(value.v)}`);
  const snapshot = "of" in value;
  exactKeys(value, snapshot ? HEADER_KEYS.concat("of") : HEADER_KEYS, "the header");
  const rcpt = value.rcpt;
  if (!Array.isArray(rcpt) || rcpt.length < 1) return fail("E_FORMAT", "header: rcpt must be a non-empty array");
  if (rcpt.length > MAX_RECIPIENTS) fail("E_LIMIT", `header: more than ${MAX_RECIPIENTS} recipients`);
  const recipients = rcpt.map(parseRecipient);
  const kids = new Set(recipients.map((r) => toBase64Url(r.kid)));
  if (kids.size !== recipients.length) fail("E_FORMAT", "header: duplicate recipient key id");
  const header: ClipHeader = {
    version: FORMAT_VERSION,
    clipId: binary(value.clip, "clip", CLIP_ID_LENGTH, CLIP_ID_LENGTH),
    cameraId: cameraIdOf(value.cam),
    cameraCertHash: binary(value.cert, "cert", 32, 32),
    sequence: integer(value.seq, "seq", 0, Number.MAX_SAFE_INTEGER),
    startTime: integer(value.t, "t", 0, Number.MAX_SAFE_INTEGER),
    contentType: text(value.type, "type", CONTENT_TYPE),
    segmentSize: integer(value.seg, "seg", MIN_SEGMENT_SIZE, MAX_SEGMENT_SIZE),
    rosterVersion: integer(value.roster, "roster", 0, Number.MAX_SAFE_INTEGER),
    commitment: binary(value.commit, "commit", 32, 32),
    recipients,
  };
  if (snapshot) {
    const of = binary(value.of, "of", CLIP_ID_LENGTH, CLIP_ID_LENGTH);
    if (header.contentType !== CONTENT_TYPE_SNAPSHOT) fail("E_FORMAT", `header: a snapshot (of) must have type ${CONTENT_TYPE_SNAPSHOT}`);
    if (toBase64Url(of) === toBase64Url(header.clipId)) fail("E_FORMAT", "header: a snapshot cannot be the snapshot of itself");
    header.snapshotOf = of;
  }
  return header;
}

export function recipientValue(entry: RecipientEntry): CanonicalValue {
  if ((entry.alg === ALG_HPKE_P256 || entry.alg === ALG_HPKE_P256_STREAM) && "enc" in entry) {
    return { alg: entry.alg, kid: toBase64Url(entry.kid), enc: toBase64Url(entry.enc), ct: toBase64Url(entry.ct) };
  }
  if (entry.alg === ALG_RSA_OAEP && "ct" in entry) return { alg: entry.alg, kid: toBase64Url(entry.kid), ct: toBase64Url(entry.ct) };
  const other = entry as OtherRecipientEntry;
  return { ...other.fields, alg: other.alg, kid: toBase64Url(other.kid) };
}

/** Encodes and then decodes again, so the sealer can never emit a header the opener would refuse. */
export function encodeHeader(header: ClipHeader): Uint8Array {
  const fields: { [key: string]: CanonicalValue } = {
    v: header.version,
    clip: toBase64Url(header.clipId),
    cam: header.cameraId,
    cert: toBase64Url(header.cameraCertHash),
    seq: header.sequence,
    t: header.startTime,
    type: header.contentType,
    seg: header.segmentSize,
    roster: header.rosterVersion,
    commit: toBase64Url(header.commitment),
    rcpt: header.recipients.map(recipientValue),
  };
  if (header.snapshotOf !== undefined) fields.of = toBase64Url(header.snapshotOf);
  const bytes = encodeCanonicalBytes(fields);
  decodeHeader(bytes);
  return bytes;
}
