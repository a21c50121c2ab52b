/**
 * Canonical JSON: the one encoding sealcam signs. A value has exactly one byte form, so a signature over
 * the bytes is a signature over the value, and a decoder can refuse any other spelling.
 *
 * Rules: objects with keys sorted by code unit and no duplicates; no whitespace; integers only (safe,
 * non-negative or negative, no exponent, no leading zeros); strings of printable ASCII without `"` and `\`
 * (so no escapes exist); true/false; arrays; no null, no floats.
 */
import { asciiBytes, asciiString } from "./bytes";
import { fail } from "./errors";

export type CanonicalValue = string | number | boolean | CanonicalValue[] | { [key: string]: CanonicalValue };

function isPlainString(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return false;
  }
  return true;
}

export function encodeCanonical(value: CanonicalValue): string {
  if (typeof value === "string") {
    if (!isPlainString(value)) fail("E_FORMAT", "canonical json: strings must be printable ASCII without quotes or backslashes");
    return `"${value}"`;
  }
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) fail("E_FORMAT", "canonical json: numbers must be safe integers");
    return String(value);
  }
  if (typeof value === "boolean") return value ? "true" : "false";
  if (Array.isArray(value)) return `[${value.map(encodeCanonical).join(",")}]`;
  if (value === null || typeof value !== "object") fail("E_FORMAT", "canonical json: unsupported value");
  const keys = Object.keys(value).sort();
  return `{${keys.map((key) => `${encodeCanonical(key)}:${encodeCanonical(value[key])}`).join(",")}}`;
}

export function encodeCanonicalBytes(value: CanonicalValue): Uint8Array {
  return asciiBytes(encodeCanonical(value));
}

/** Parses bytes that must already be canonical; anything else (spaces, key order, escapes) is E_FORMAT. */
export function parseCanonicalBytes(bytes: Uint8Array, maxLength: number): CanonicalValue {
  if (bytes.length > maxLength) fail("E_LIMIT", `canonical json: ${bytes.length} bytes exceeds the limit of ${maxLength}`);
  let text: string;
  try {
    text = asciiString(bytes);
  } catch {
    return fail("E_FORMAT", "canonical json: not ASCII");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fail("E_FORMAT", "canonical json: not valid JSON");
  }
  let again: string;
  try {
    again = encodeCanonical(value as CanonicalValue);
  } catch {
    return fail("E_FORMAT", "canonical json: value outside the canonical subset");
  }
  if (again !== text) fail("E_FORMAT", "canonical json: not in canonical form");
  return value as CanonicalValue;
}
