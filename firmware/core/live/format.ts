/**
 * The live-session format, version 1 (docs/FORMAT.md §12): constants, the signed session header, the key
 * schedule and the two end-to-end message kinds (head, frame). It reuses the clip format's pieces —
 * canonical JSON, HPKE recipient entries, the index+final-flag nonce, frame records — under its own labels,
 * so nothing sealed for a live session can be taken for a clip or the other way round.
 */
import type { Crypto } from "../../platform/crypto";
import { encodeCanonicalBytes, parseCanonicalBytes, type CanonicalValue } from "../canonical-json";
import { asciiBytes, concat, fromBase64Url, readU32be, toBase64Url, u32be, wipe } from "../bytes";
import { fail } from "../errors";
import { isCameraId } from "../request-auth";
import { parseRecipient, recipientValue, type RecipientEntry } from "../clip/header";
import { KEY_ID_LENGTH, MAX_HEADER_LENGTH, SIGNATURE_LENGTH, TAG_LENGTH } from "../clip/constants";

export const LIVE_VERSION = 1;
/** "SEALLIV" followed by the version byte: differs from the clip magic, the footer and request prefixes. */
export const LIVE_MAGIC = concat(asciiBytes("SEALLIV"), new Uint8Array([LIVE_VERSION]));
export const LIVE_PREAMBLE_LENGTH = 12;
export const SESSION_ID_LENGTH = 16;
export const CHALLENGE_LENGTH = 16;
export const SESSION_KEY_LENGTH = 16;
/**
 * Phones and stream keys whose scope covers `live` (the account data key is not a live recipient): a roster
 * holds at most 16 entries, one of them the data key, so at most 15.
 */
export const MAX_LIVE_RECIPIENTS = 15;
/** A whole end-to-end message, kind byte included: the board's WebSocket client sends at most 65535 bytes. */
export const MAX_LIVE_MESSAGE = 65535;
/** kind (1) + session id (16) + u32be index (4) + flags (1). */
export const FRAME_PREFIX_LENGTH = 22;
/** Frame record header inside the plaintext (u32be length || u64be capture ms). */
export const RECORD_HEADER_LENGTH = 12;
/** The largest JPEG one frame message can carry. */
export const MAX_LIVE_JPEG = MAX_LIVE_MESSAGE - FRAME_PREFIX_LENGTH - TAG_LENGTH - RECORD_HEADER_LENGTH;

export const KIND_HEAD = 0x01;
export const KIND_FRAME = 0x02;
export const FLAG_FINAL = 0x01;

export const LABEL_LIVE_WRAP = asciiBytes("sealcam/v1 live-key\0");
/**
 * HPKE info prefix for a stream key's entry (`hpke-p256-sha256-aes128gcm-stream`) in a live head; the session
 * id follows. Differs from the phone's live label and from both clip labels, so a stream key's live wrap opens
 * as nothing else (and no other wrap opens as it).
 */
export const LABEL_LIVE_STREAM_WRAP = asciiBytes("sealcam/v1 live-stream-key\0");
export const LABEL_LIVE_FRAMES = asciiBytes("sealcam/v1 live frames");
export const LABEL_LIVE_COMMIT = asciiBytes("sealcam/v1 live commit");

export interface LiveHeader {
  version: number;
  sessionId: Uint8Array;
  cameraId: string;
  cameraCertHash: Uint8Array;
  rosterVersion: number;
  /** Session start, ms since the Unix epoch (camera clock). */
  startTime: number;
  /** The requester's challenge (a phone's or a viewer's), echoed so an old session cannot be replayed to a new request. */
  challenge: Uint8Array;
  /** The longest the camera will keep this session going, ms. */
  maxDurationMs: number;
  commitment: Uint8Array;
  recipients: RecipientEntry[];
}

const HEADER_KEYS = ["cam", "cert", "commit", "max", "rcpt", "req", "roster", "sid", "t", "v"];

function isObject(value: CanonicalValue): value is { [key: string]: CanonicalValue } {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function binary(value: CanonicalValue | undefined, name: string, length: number): Uint8Array {
  if (typeof value !== "string") return fail("E_FORMAT", `live header: ${name} must be a base64url string`);
  if (value.length > Math.ceil((length * 4) / 3)) fail("E_LIMIT", `live header: ${name} is too long`);
  const bytes = fromBase64Url(value);
  if (bytes.length !== length) fail("E_FORMAT", `live header: ${name} must be ${length} bytes`);
  return bytes;
}

function integer(value: CanonicalValue | undefined, name: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
    return fail("E_FORMAT", `live header: ${name} must be an integer in ${min}..${max}`);
  }
  return value;
}

export function decodeLiveHeader(bytes: Uint8Array): LiveHeader {
  const value = parseCanonicalBytes(bytes, MAX_HEADER_LENGTH);
  if (!isObject(value)) return fail("E_FORMAT", "live header: must be an object");
  if (value.v !== LIVE_VERSION) fail("E_VERSION", `live header: unsupported version ${String(value.v)}`);
  const present = Object.keys(value).sort();
  if (present.length !== HEADER_KEYS.length || present.some((k, i) => k !== HEADER_KEYS[i])) {
    fail("E_FORMAT", `live header: must have exactly the fields ${HEADER_KEYS.join(", ")}`);
  }
  const rcpt = value.rcpt;
  if (!Array.isArray(rcpt) || rcpt.length < 1) return fail("E_FORMAT", "live header: rcpt must be a non-empty array");
  if (rcpt.length > MAX_LIVE_RECIPIENTS) fail("E_LIMIT", `live header: more than ${MAX_LIVE_RECIPIENTS} recipients`);
  const recipients = rcpt.map(parseRecipient);
  const kids: string[] = [];
  for (const r of recipients) {
    const kid = toBase64Url(r.kid);
    if (kids.indexOf(kid) >= 0) fail("E_FORMAT", "live header: duplicate recipient key id");
    kids.push(kid);
  }
  const cam = value.cam;
  if (typeof cam !== "string" || !isCameraId(cam)) return fail("E_FORMAT", "live header: cam must be a camera id");
  return {
    version: LIVE_VERSION,
    sessionId: binary(value.sid, "sid", SESSION_ID_LENGTH),
    cameraId: cam,
    cameraCertHash: binary(value.cert, "cert", 32),
    rosterVersion: integer(value.roster, "roster", 0, Number.MAX_SAFE_INTEGER),
    startTime: integer(value.t, "t", 0, Number.MAX_SAFE_INTEGER),
    challenge: binary(value.req, "req", CHALLENGE_LENGTH),
    maxDurationMs: integer(value.max, "max", 1000, 24 * 3600 * 1000),
    commitment: binary(value.commit, "commit", 32),
    recipients,
  };
}

/** Encodes and decodes again, so a camera never sends a header a phone would refuse. */
export function encodeLiveHeader(header: LiveHeader): Uint8Array {
  const bytes = encodeCanonicalBytes({
    v: header.version,
    sid: toBase64Url(header.sessionId),
    cam: header.cameraId,
    cert: toBase64Url(header.cameraCertHash),
    roster: header.rosterVersion,
    t: header.startTime,
    req: toBase64Url(header.challenge),
    max: header.maxDurationMs,
    commit: toBase64Url(header.commitment),
    rcpt: header.recipients.map(recipientValue),
  });
  decodeLiveHeader(bytes);
  return bytes;
}

export interface LiveHead {
  header: LiveHeader;
  /** Preamble || header: what the camera signed. */
  signedBytes: Uint8Array;
  signature: Uint8Array;
  /** The whole head (preamble, header, signature). */
  bytes: Uint8Array;
}

/** Parses a head exactly filling `bytes` (the head message without its kind byte). Verifies nothing. */
export function parseLiveHead(bytes: Uint8Array): LiveHead {
  if (bytes.length < LIVE_PREAMBLE_LENGTH) fail("E_TRUNCATED", "live head: shorter than its preamble");
  for (let i = 0; i < 7; i++) if (bytes[i] !== LIVE_MAGIC[i]) fail("E_FORMAT", "live head: not a sealcam live session (bad magic)");
  if (bytes[7] !== LIVE_VERSION) fail("E_VERSION", `live head: unsupported version ${bytes[7]}`);
  const headerLength = readU32be(bytes, 8);
  if (headerLength < 2 || headerLength > MAX_HEADER_LENGTH) fail("E_LIMIT", `live head: header length ${headerLength} out of range`);
  const total = LIVE_PREAMBLE_LENGTH + headerLength + SIGNATURE_LENGTH;
  if (bytes.length < total) fail("E_TRUNCATED", "live head: truncated");
  if (bytes.length > total) fail("E_TRAILING", "live head: bytes after the signature");
  const signedEnd = total - SIGNATURE_LENGTH;
  return {
    header: decodeLiveHeader(bytes.subarray(LIVE_PREAMBLE_LENGTH, signedEnd)),
    signedBytes: bytes.slice(0, signedEnd),
    signature: bytes.slice(signedEnd),
    bytes: bytes.slice(),
  };
}

export interface LiveKeys {
  frameKey: Uint8Array;
  commitment: Uint8Array;
}

/** prk = HKDF-Extract(sid, K); frame key and commitment under the live labels. */
export function deriveLiveKeys(crypto: Crypto, sessionKey: Uint8Array, sessionId: Uint8Array): LiveKeys {
  const prk = crypto.hkdfExtract(sessionId, sessionKey);
  const keys = { frameKey: crypto.hkdfExpand(prk, LABEL_LIVE_FRAMES, 16), commitment: crypto.hkdfExpand(prk, LABEL_LIVE_COMMIT, 32) };
  wipe(prk);
  return keys;
}

export function liveWrapLabel(sessionId: Uint8Array): Uint8Array {
  return concat(LABEL_LIVE_WRAP, sessionId);
}

/** The HPKE info of a stream key's entry in a live head: "sealcam/v1 live-stream-key\0" || sid (43 bytes). */
export function liveStreamWrapLabel(sessionId: Uint8Array): Uint8Array {
  return concat(LABEL_LIVE_STREAM_WRAP, sessionId);
}

/** Frame message prefix: kind || sid || u32be(index) || flags. */
export function framePrefix(sessionId: Uint8Array, index: number, final: boolean): Uint8Array {
  return concat(new Uint8Array([KIND_FRAME]), sessionId, u32be(index), new Uint8Array([final ? FLAG_FINAL : 0]));
}

export function checkKeyId(keyId: Uint8Array): void {
  if (keyId.length !== KEY_ID_LENGTH) fail("E_ARGUMENT", "live: recipient key id must be 32 bytes");
}
