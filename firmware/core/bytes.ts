/**
 * Byte helpers that XS has no built-in for (no Buffer, no TextEncoder without a module, no atob).
 * Nothing here is cryptographic except `constantTimeEqual`, which must stay branch-free on content.
 */
import { fail } from "./errors";

export function concat(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Compares without an early exit, so timing does not reveal where two MACs or keys differ. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/** Overwrites a secret in place; call on every key buffer once it is no longer needed. */
export function wipe(...buffers: (Uint8Array | undefined)[]): void {
  for (const buffer of buffers) if (buffer) buffer.fill(0);
}

export function u16be(value: number): Uint8Array {
  return new Uint8Array([(value >>> 8) & 0xff, value & 0xff]);
}

export function u32be(value: number): Uint8Array {
  return new Uint8Array([(value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff]);
}

/** Unsigned 64-bit big-endian from a safe integer (clip lengths never approach 2^53). */
export function u64be(value: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0) fail("E_ARGUMENT", "u64 value out of range");
  const high = Math.floor(value / 0x100000000);
  return concat(u32be(high), u32be(value >>> 0));
}

export function readU16be(bytes: Uint8Array, offset: number): number {
  return (bytes[offset] << 8) | bytes[offset + 1];
}

export function readU32be(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] << 24) | (bytes[offset + 1] << 16) | (bytes[offset + 2] << 8) | bytes[offset + 3]) >>> 0;
}

const HEX = "0123456789abcdef";

export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i] >> 4] + HEX[bytes[i] & 15];
  return out;
}

export function fromHex(text: string): Uint8Array {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) fail("E_FORMAT", "invalid hex string");
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.substr(i * 2, 2), 16);
  return out;
}

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** RFC 4648 §5 base64url without padding. */
export function toBase64Url(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += B64URL[n >> 18] + B64URL[(n >> 12) & 63] + B64URL[(n >> 6) & 63] + B64URL[n & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i] << 16;
    out += B64URL[n >> 18] + B64URL[(n >> 12) & 63];
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += B64URL[n >> 18] + B64URL[(n >> 12) & 63] + B64URL[(n >> 6) & 63];
  }
  return out;
}

/** Strict decoder: rejects padding, foreign characters and non-canonical trailing bits. */
export function fromBase64Url(text: string): Uint8Array {
  if (text.length % 4 === 1) fail("E_FORMAT", "invalid base64url length");
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let bits = 0;
  let value = 0;
  let o = 0;
  for (let i = 0; i < text.length; i++) {
    const c = B64URL.indexOf(text[i]);
    if (c < 0) fail("E_FORMAT", "invalid base64url character");
    value = (value << 6) | c;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (value >> bits) & 0xff;
    }
  }
  if ((value & ((1 << bits) - 1)) !== 0) fail("E_FORMAT", "non-canonical base64url");
  return out;
}

/** ASCII-only encoding; the formats only ever carry ASCII, and anything else is rejected. */
export function asciiBytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7e) fail("E_FORMAT", "non-ASCII character");
    out[i] = c;
  }
  return out;
}

export function asciiString(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] > 0x7e) fail("E_FORMAT", "non-ASCII byte");
    out += String.fromCharCode(bytes[i]);
  }
  return out;
}

/** UTF-8 encode (for user-supplied text such as Wi-Fi names). */
export function utf8Bytes(text: string): Uint8Array {
  const out: number[] = [];
  for (const ch of text) {
    const c = ch.codePointAt(0) as number;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return new Uint8Array(out);
}

/** Strict UTF-8 decode: rejects overlong forms, surrogates and truncated sequences. */
export function utf8String(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    let c: number;
    let need: number;
    let min: number;
    if (b < 0x80) { c = b; need = 0; min = 0; }
    else if ((b & 0xe0) === 0xc0) { c = b & 0x1f; need = 1; min = 0x80; }
    else if ((b & 0xf0) === 0xe0) { c = b & 0x0f; need = 2; min = 0x800; }
    else if ((b & 0xf8) === 0xf0) { c = b & 0x07; need = 3; min = 0x10000; }
    else fail("E_FORMAT", "invalid UTF-8");
    if (need > 0 && i + need >= bytes.length) fail("E_FORMAT", "truncated UTF-8");
    for (let k = 1; k <= need; k++) {
      const cont = bytes[i + k];
      if ((cont & 0xc0) !== 0x80) fail("E_FORMAT", "invalid UTF-8");
      c = (c << 6) | (cont & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) fail("E_FORMAT", "invalid UTF-8");
    out += String.fromCodePoint(c);
    i += need + 1;
  }
  return out;
}
