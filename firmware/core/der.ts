/**
 * A minimal, strict ASN.1 DER reader and writer: just what certificates, SubjectPublicKeyInfo, the key
 * roster and PKCS#12 need. Strict means DER, not BER: definite minimal lengths, low tag numbers only,
 * minimal INTEGERs, canonical BOOLEAN, BIT STRING unused bits zeroed, and no trailing bytes. Anything else is
 * an E_FORMAT error; inputs over the size limits are E_LIMIT. Pure TypeScript, runs in XS.
 */
import { asciiBytes, asciiString, concat, utf8Bytes, utf8String } from "./bytes";
import { fail } from "./errors";

export const TAG_BOOLEAN = 0x01;
export const TAG_INTEGER = 0x02;
export const TAG_BIT_STRING = 0x03;
export const TAG_OCTET_STRING = 0x04;
export const TAG_NULL = 0x05;
export const TAG_OID = 0x06;
export const TAG_UTF8_STRING = 0x0c;
export const TAG_PRINTABLE_STRING = 0x13;
export const TAG_IA5_STRING = 0x16;
export const TAG_UTC_TIME = 0x17;
export const TAG_GENERALIZED_TIME = 0x18;
export const TAG_BMP_STRING = 0x1e;
export const TAG_SEQUENCE = 0x30;
export const TAG_SET = 0x31;

/** The largest DER object we ever parse (a roster with 32 certificates fits comfortably). */
export const DER_MAX_INPUT = 256 * 1024;
/** Nesting deeper than this is refused: none of our structures come close. */
export const DER_MAX_DEPTH = 24;

export interface DerNode {
  /** The identifier octet (class, constructed bit and tag number; tag numbers >= 31 are refused). */
  readonly tag: number;
  readonly constructed: boolean;
  /** The whole TLV (header and content), a view into the input. */
  readonly der: Uint8Array;
  /** The content octets, a view into the input. */
  readonly content: Uint8Array;
}

/** A context-specific tag byte: [n] with the constructed bit when `constructed`. */
export function contextTag(n: number, constructed: boolean): number {
  return 0x80 | (constructed ? 0x20 : 0) | n;
}

/** Reads one TLV at `offset`; returns the node and the offset just after it. */
export function readTlv(input: Uint8Array, offset: number): { node: DerNode; next: number } {
  if (input.length > DER_MAX_INPUT) fail("E_LIMIT", "der input is too large");
  if (offset + 2 > input.length) fail("E_FORMAT", "der: truncated header");
  const tag = input[offset];
  if ((tag & 0x1f) === 0x1f) fail("E_FORMAT", "der: high tag numbers are not supported");
  let pos = offset + 1;
  const first = input[pos++];
  let length: number;
  if (first < 0x80) {
    length = first;
  } else {
    const count = first & 0x7f;
    if (count === 0) fail("E_FORMAT", "der: indefinite length is not DER");
    if (count > 3) fail("E_LIMIT", "der: length too large");
    if (pos + count > input.length) fail("E_FORMAT", "der: truncated length");
    if (input[pos] === 0) fail("E_FORMAT", "der: non-minimal length");
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + input[pos++];
    if (length < 0x80) fail("E_FORMAT", "der: non-minimal length");
  }
  if (length > input.length - pos) fail("E_FORMAT", "der: truncated content");
  const end = pos + length;
  return {
    node: {
      tag,
      constructed: (tag & 0x20) !== 0,
      der: input.subarray(offset, end),
      content: input.subarray(pos, end),
    },
    next: end,
  };
}

/** Parses exactly one DER object filling `input`; trailing bytes are an error. */
export function parseDer(input: Uint8Array): DerNode {
  const { node, next } = readTlv(input, 0);
  if (next !== input.length) fail("E_FORMAT", "der: trailing bytes after the object");
  checkDepth(node, 0);
  return node;
}

function checkDepth(node: DerNode, depth: number): void {
  if (depth > DER_MAX_DEPTH) fail("E_LIMIT", "der: nesting too deep");
  if (!node.constructed) return;
  let offset = 0;
  while (offset < node.content.length) {
    const { node: child, next } = readTlv(node.content, offset);
    checkDepth(child, depth + 1);
    offset = next;
  }
}

/** The children of a constructed node, in order. */
export function children(node: DerNode): DerNode[] {
  if (!node.constructed) fail("E_FORMAT", "der: expected a constructed value");
  const out: DerNode[] = [];
  let offset = 0;
  while (offset < node.content.length) {
    const { node: child, next } = readTlv(node.content, offset);
    out.push(child);
    offset = next;
  }
  return out;
}

export function expectTag(node: DerNode, tag: number, what: string): DerNode {
  if (node.tag !== tag) fail("E_FORMAT", `der: ${what}: unexpected tag 0x${node.tag.toString(16)}`);
  return node;
}

/** Children of a SEQUENCE, checking the count is within [min, max]. */
export function sequence(node: DerNode, what: string, min: number, max: number): DerNode[] {
  expectTag(node, TAG_SEQUENCE, what);
  const items = children(node);
  if (items.length < min || items.length > max) fail("E_FORMAT", `der: ${what}: wrong number of elements`);
  return items;
}

/** The unsigned big-endian magnitude of a non-negative INTEGER (no sign byte). */
export function readUnsignedInteger(node: DerNode, what: string): Uint8Array {
  expectTag(node, TAG_INTEGER, what);
  const c = node.content;
  if (c.length === 0) fail("E_FORMAT", `der: ${what}: empty integer`);
  if (c.length > 1 && ((c[0] === 0 && c[1] < 0x80) || (c[0] === 0xff && c[1] >= 0x80))) {
    fail("E_FORMAT", `der: ${what}: non-minimal integer`);
  }
  if (c[0] >= 0x80) fail("E_FORMAT", `der: ${what}: negative integer`);
  return c[0] === 0 && c.length > 1 ? c.subarray(1) : c;
}

/** A non-negative INTEGER that fits a safe JS number. */
export function readSmallInteger(node: DerNode, what: string): number {
  const magnitude = readUnsignedInteger(node, what);
  if (magnitude.length > 6) fail("E_LIMIT", `der: ${what}: integer too large`);
  let value = 0;
  for (let i = 0; i < magnitude.length; i++) value = value * 256 + magnitude[i];
  return value;
}

export function readBoolean(node: DerNode, what: string): boolean {
  expectTag(node, TAG_BOOLEAN, what);
  if (node.content.length !== 1) fail("E_FORMAT", `der: ${what}: bad boolean`);
  if (node.content[0] === 0xff) return true;
  if (node.content[0] === 0) return false;
  return fail("E_FORMAT", `der: ${what}: non-canonical boolean`);
}

export function readNull(node: DerNode, what: string): void {
  expectTag(node, TAG_NULL, what);
  if (node.content.length !== 0) fail("E_FORMAT", `der: ${what}: bad null`);
}

export function readOctetString(node: DerNode, what: string): Uint8Array {
  return expectTag(node, TAG_OCTET_STRING, what).content;
}

/** A BIT STRING's bits; `requireWholeBytes` refuses unused bits (keys and signatures). */
export function readBitString(node: DerNode, what: string, requireWholeBytes: boolean): { unusedBits: number; bytes: Uint8Array } {
  expectTag(node, TAG_BIT_STRING, what);
  const c = node.content;
  if (c.length === 0) fail("E_FORMAT", `der: ${what}: empty bit string`);
  const unusedBits = c[0];
  if (unusedBits > 7 || (c.length === 1 && unusedBits !== 0)) fail("E_FORMAT", `der: ${what}: bad unused bits`);
  if (requireWholeBytes && unusedBits !== 0) fail("E_FORMAT", `der: ${what}: bit string is not whole bytes`);
  if (unusedBits !== 0 && (c[c.length - 1] & ((1 << unusedBits) - 1)) !== 0) {
    fail("E_FORMAT", `der: ${what}: unused bits are not zero`);
  }
  return { unusedBits, bytes: c.subarray(1) };
}

/** An OBJECT IDENTIFIER as dotted text ("1.2.840.113549.1.1.10"). */
export function readOid(node: DerNode, what: string): string {
  expectTag(node, TAG_OID, what);
  const c = node.content;
  if (c.length === 0 || c.length > 64) fail("E_FORMAT", `der: ${what}: bad oid length`);
  const arcs: number[] = [];
  let value = 0;
  let started = false;
  for (let i = 0; i < c.length; i++) {
    const b = c[i];
    if (!started && b === 0x80) fail("E_FORMAT", `der: ${what}: non-minimal oid arc`);
    started = true;
    value = value * 128 + (b & 0x7f);
    if (value > 0xffffffff) fail("E_LIMIT", `der: ${what}: oid arc too large`);
    if ((b & 0x80) === 0) {
      arcs.push(value);
      value = 0;
      started = false;
    }
  }
  if (started) fail("E_FORMAT", `der: ${what}: truncated oid`);
  const first = arcs[0];
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return head.concat(arcs.slice(1)).join(".");
}

/** UTF8String, PrintableString or IA5String as text. */
export function readString(node: DerNode, what: string): string {
  if (node.tag === TAG_UTF8_STRING) return utf8String(node.content);
  if (node.tag === TAG_PRINTABLE_STRING) {
    const text = asciiString(node.content);
    if (!/^[A-Za-z0-9 '()+,\-./:=?]*$/.test(text)) fail("E_FORMAT", `der: ${what}: bad printable string`);
    return text;
  }
  if (node.tag === TAG_IA5_STRING) return asciiString(node.content);
  return fail("E_FORMAT", `der: ${what}: expected a string`);
}

/** UTCTime (YYMMDDHHMMSSZ) or GeneralizedTime (YYYYMMDDHHMMSSZ) as milliseconds since the epoch. */
export function readTime(node: DerNode, what: string): number {
  const text = asciiString(node.content);
  let year: number;
  let rest: string;
  if (node.tag === TAG_UTC_TIME) {
    if (!/^\d{12}Z$/.test(text)) fail("E_FORMAT", `der: ${what}: bad UTCTime`);
    const yy = parseInt(text.substr(0, 2), 10);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
    rest = text.substr(2);
  } else if (node.tag === TAG_GENERALIZED_TIME) {
    if (!/^\d{14}Z$/.test(text)) fail("E_FORMAT", `der: ${what}: bad GeneralizedTime`);
    year = parseInt(text.substr(0, 4), 10);
    rest = text.substr(4);
  } else {
    return fail("E_FORMAT", `der: ${what}: expected a time`);
  }
  const month = parseInt(rest.substr(0, 2), 10);
  const day = parseInt(rest.substr(2, 2), 10);
  const hour = parseInt(rest.substr(4, 2), 10);
  const minute = parseInt(rest.substr(6, 2), 10);
  const second = parseInt(rest.substr(8, 2), 10);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) {
    fail("E_FORMAT", `der: ${what}: time out of range`);
  }
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  if (new Date(ms).getUTCDate() !== day) fail("E_FORMAT", `der: ${what}: no such date`);
  return ms;
}

// ---------------------------------------------------------------------------------------------------------
// Writer

function encodeLength(length: number): Uint8Array {
  if (length < 0x80) return new Uint8Array([length]);
  if (length < 0x100) return new Uint8Array([0x81, length]);
  if (length < 0x10000) return new Uint8Array([0x82, length >> 8, length & 0xff]);
  if (length < 0x1000000) return new Uint8Array([0x83, length >> 16, (length >> 8) & 0xff, length & 0xff]);
  return fail("E_LIMIT", "der: value too large to encode");
}

/** One TLV from a tag byte and content. */
export function derTlv(tag: number, content: Uint8Array): Uint8Array {
  return concat(new Uint8Array([tag]), encodeLength(content.length), content);
}

export function derSequence(...items: Uint8Array[]): Uint8Array {
  return derTlv(TAG_SEQUENCE, concat(...items));
}

/** A SET OF, with elements sorted as DER requires. */
export function derSet(...items: Uint8Array[]): Uint8Array {
  const sorted = items.slice().sort(compareBytes);
  return derTlv(TAG_SET, concat(...sorted));
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** A non-negative INTEGER from a safe number or an unsigned big-endian magnitude. */
export function derInteger(value: number | Uint8Array): Uint8Array {
  let magnitude: Uint8Array;
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value) || value < 0) fail("E_ARGUMENT", "der: integer out of range");
    const bytes: number[] = [];
    let v = value;
    do {
      bytes.unshift(v % 256);
      v = Math.floor(v / 256);
    } while (v > 0);
    magnitude = new Uint8Array(bytes);
  } else {
    let start = 0;
    while (start < value.length - 1 && value[start] === 0) start++;
    magnitude = value.length === 0 ? new Uint8Array([0]) : value.subarray(start);
  }
  const content = magnitude[0] >= 0x80 ? concat(new Uint8Array([0]), magnitude) : magnitude;
  return derTlv(TAG_INTEGER, content);
}

export function derBoolean(value: boolean): Uint8Array {
  return derTlv(TAG_BOOLEAN, new Uint8Array([value ? 0xff : 0]));
}

export function derNull(): Uint8Array {
  return new Uint8Array([TAG_NULL, 0]);
}

export function derOctetString(bytes: Uint8Array): Uint8Array {
  return derTlv(TAG_OCTET_STRING, bytes);
}

/** A BIT STRING of whole bytes. */
export function derBitString(bytes: Uint8Array): Uint8Array {
  return derTlv(TAG_BIT_STRING, concat(new Uint8Array([0]), bytes));
}

export function derOid(dotted: string): Uint8Array {
  if (!/^[0-2](\.(0|[1-9]\d*))+$/.test(dotted)) fail("E_ARGUMENT", "der: bad oid");
  const arcs = dotted.split(".").map((a) => parseInt(a, 10));
  const values = [arcs[0] * 40 + arcs[1]].concat(arcs.slice(2));
  const out: number[] = [];
  for (const value of values) {
    if (value > 0xffffffff) fail("E_ARGUMENT", "der: oid arc too large");
    const groups: number[] = [];
    let v = value;
    do {
      groups.unshift(v % 128);
      v = Math.floor(v / 128);
    } while (v > 0);
    for (let i = 0; i < groups.length; i++) out.push(groups[i] | (i < groups.length - 1 ? 0x80 : 0));
  }
  return derTlv(TAG_OID, new Uint8Array(out));
}

export function derUtf8String(text: string): Uint8Array {
  return derTlv(TAG_UTF8_STRING, utf8Bytes(text));
}

export function derPrintableString(text: string): Uint8Array {
  if (!/^[A-Za-z0-9 '()+,\-./:=?]*$/.test(text)) fail("E_ARGUMENT", "der: not a printable string");
  return derTlv(TAG_PRINTABLE_STRING, asciiBytes(text));
}

function pad(value: number, width: number): string {
  let text = String(value);
  while (text.length < width) text = "0" + text;
  return text;
}

/** GeneralizedTime "YYYYMMDDHHMMSSZ" (whole seconds). */
export function derGeneralizedTime(ms: number): Uint8Array {
  const d = new Date(ms);
  const text =
    pad(d.getUTCFullYear(), 4) + pad(d.getUTCMonth() + 1, 2) + pad(d.getUTCDate(), 2) +
    pad(d.getUTCHours(), 2) + pad(d.getUTCMinutes(), 2) + pad(d.getUTCSeconds(), 2) + "Z";
  return derTlv(TAG_GENERALIZED_TIME, asciiBytes(text));
}

/** UTCTime "YYMMDDHHMMSSZ" (years 1950..2049). */
export function derUtcTime(ms: number): Uint8Array {
  const d = new Date(ms);
  const year = d.getUTCFullYear();
  if (year < 1950 || year > 2049) fail("E_ARGUMENT", "der: UTCTime year out of range");
  const text =
    pad(year % 100, 2) + pad(d.getUTCMonth() + 1, 2) + pad(d.getUTCDate(), 2) +
    pad(d.getUTCHours(), 2) + pad(d.getUTCMinutes(), 2) + pad(d.getUTCSeconds(), 2) + "Z";
  return derTlv(TAG_UTC_TIME, asciiBytes(text));
}

/** [n] EXPLICIT (constructed, wrapping one encoded value) or [n] IMPLICIT primitive content. */
export function derContext(n: number, content: Uint8Array, constructed: boolean): Uint8Array {
  if (n < 0 || n > 30) fail("E_ARGUMENT", "der: context tag out of range");
  return derTlv(contextTag(n, constructed), content);
}
