/**
 * The channel's value codec, shared by both ends (host-channel.ts inside XS, BoardSim in Node): a message
 * travels as ASCII JSON plus binary attachments; every Uint8Array (anywhere in the value) is replaced by
 * {"$bin": index} and sent as an attachment. Portable: no Node or XS-only APIs.
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** What a channel value can hold: JSON values, with Uint8Array where attachments were (undefined fields are dropped). */
export type CodecValue =
  | null
  | boolean
  | number
  | string
  | Uint8Array
  | CodecValue[]
  | { [key: string]: CodecValue | undefined };

export function encodeValue(value: unknown, bins: Uint8Array[]): Json {
  if (value instanceof Uint8Array) return { $bin: bins.push(value) - 1 };
  if (value instanceof ArrayBuffer) return { $bin: bins.push(new Uint8Array(value)) - 1 };
  if (Array.isArray(value)) return value.map((item) => encodeValue(item, bins));
  if (value !== null && typeof value === "object") {
    const out: { [key: string]: Json } = {};
    for (const [key, item] of Object.entries(value)) if (item !== undefined) out[key] = encodeValue(item, bins);
    return out;
  }
  if (value === undefined) return null;
  return value as Json;
}

export function decodeValue(value: Json, bins: Uint8Array[]): CodecValue {
  if (Array.isArray(value)) return value.map((item) => decodeValue(item, bins));
  if (value !== null && typeof value === "object") {
    const index = value.$bin;
    if (typeof index === "number" && Object.keys(value).length === 1) return bins[index];
    const out: { [key: string]: CodecValue } = {};
    for (const [key, item] of Object.entries(value)) out[key] = decodeValue(item, bins);
    return out;
  }
  return value;
}

/** Pure ASCII on the wire: XS strings are CESU-8 inside, so anything past 0x7e goes as a \u escape. */
export function asciiJson(value: Json): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
}
