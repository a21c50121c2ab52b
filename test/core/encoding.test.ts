/** Byte helpers, canonical JSON and frame records: the encodings every format is built from. */
import * as nodeCrypto from "node:crypto";
import {
  constantTimeEqual, fromBase64Url, fromHex, toBase64Url, toHex, u64be, utf8Bytes, utf8String,
} from "../../firmware/core/bytes";
import { encodeCanonical, parseCanonicalBytes } from "../../firmware/core/canonical-json";
import { encodeFrame, FrameReader } from "../../firmware/core/clip/frames";
import { concat } from "../../firmware/core/bytes";

const ascii = (s: string) => new TextEncoder().encode(s);

describe("bytes", () => {
  test("base64url matches Node's encoder for every length 0..64 and round-trips", () => {
    for (let n = 0; n <= 64; n++) {
      const data = new Uint8Array(nodeCrypto.randomBytes(n));
      const text = toBase64Url(data);
      expect(text).toBe(Buffer.from(data).toString("base64url"));
      expect(fromBase64Url(text)).toEqual(data);
    }
  });

  test("base64url decoding is strict", () => {
    expect(() => fromBase64Url("AQ==")).toThrow(expect.objectContaining({ code: "E_FORMAT" }));
    expect(() => fromBase64Url("A+8")).toThrow(expect.objectContaining({ code: "E_FORMAT" }));
    expect(() => fromBase64Url("AR")).toThrow(expect.objectContaining({ code: "E_FORMAT" })); // non-zero trailing bits
    expect(() => fromBase64Url("A")).toThrow(expect.objectContaining({ code: "E_FORMAT" }));
  });

  test("hex round-trips and rejects odd or foreign input", () => {
    expect(toHex(fromHex("00ff10ab"))).toBe("00ff10ab");
    expect(() => fromHex("abc")).toThrow();
    expect(() => fromHex("zz")).toThrow();
  });

  test("constant-time compare", () => {
    expect(constantTimeEqual(fromHex("0102"), fromHex("0102"))).toBe(true);
    expect(constantTimeEqual(fromHex("0102"), fromHex("0103"))).toBe(false);
    expect(constantTimeEqual(fromHex("0102"), fromHex("01"))).toBe(false);
  });

  test("u64be and UTF-8 agree with Node", () => {
    expect(toHex(u64be(2 ** 40 + 5))).toBe("0000010000000005");
    for (const s of ["", "wifi-ß", "家のネットワーク", "emoji 📷"]) {
      expect(utf8Bytes(s)).toEqual(new Uint8Array(Buffer.from(s, "utf8")));
      expect(utf8String(utf8Bytes(s))).toBe(s);
    }
    expect(() => utf8String(fromHex("c0af"))).toThrow(); // overlong
    expect(() => utf8String(fromHex("eda080"))).toThrow(); // surrogate
    expect(() => utf8String(fromHex("e282"))).toThrow(); // truncated
  });
});

describe("canonical JSON", () => {
  test("sorts keys, strips whitespace and round-trips", () => {
    expect(encodeCanonical({ b: 1, a: [true, "x", { d: 2, c: -3 }] })).toBe('{"a":[true,"x",{"c":-3,"d":2}],"b":1}');
    expect(parseCanonicalBytes(ascii('{"a":1,"b":"x"}'), 100)).toEqual({ a: 1, b: "x" });
  });

  test.each([
    ['{"b":1,"a":2}', "unsorted keys"],
    ['{"a":1, "b":2}', "whitespace"],
    ['{"a":1.5}', "a float"],
    ['{"a":1e3}', "an exponent"],
    ['{"a":01}', "a leading zero"],
    ['{"a":null}', "null"],
    ['{"a":"\\u0041"}', "an escape"],
    ['{"a":1,"a":1}', "a duplicate key"],
    ['{"a":-0}', "negative zero"],
    ["[1,]", "invalid JSON"],
  ])("rejects %s (%s)", (text) => {
    expect(() => parseCanonicalBytes(ascii(text), 100)).toThrow(expect.objectContaining({ code: "E_FORMAT" }));
  });

  test("enforces the size limit and refuses to encode what it cannot represent", () => {
    expect(() => parseCanonicalBytes(ascii('{"a":"' + "x".repeat(200) + '"}'), 100)).toThrow(expect.objectContaining({ code: "E_LIMIT" }));
    expect(() => encodeCanonical({ a: 0.5 })).toThrow();
    expect(() => encodeCanonical({ a: 'quote"' })).toThrow();
  });
});

describe("frame records", () => {
  test("frames survive any chunking of the plaintext", () => {
    const frames = [1, 5000, 70_000].map((n, i) => ({ time: 1_790_000_000_000 + i * 200, jpeg: new Uint8Array(nodeCrypto.randomBytes(n)) }));
    const bytes = concat(...frames.map(encodeFrame));
    for (const step of [1, 7, 4096, bytes.length]) {
      const reader = new FrameReader();
      const out = [];
      for (let i = 0; i < bytes.length; i += step) out.push(...reader.push(bytes.subarray(i, i + step)));
      reader.end();
      expect(out).toEqual(frames);
    }
  });

  test("a plaintext that ends inside a record, or a zero-length record, is refused", () => {
    const reader = new FrameReader();
    reader.push(encodeFrame({ time: 1, jpeg: new Uint8Array(10) }).subarray(0, 15));
    expect(() => reader.end()).toThrow(expect.objectContaining({ code: "E_FORMAT" }));
    expect(() => new FrameReader().push(new Uint8Array(12))).toThrow(expect.objectContaining({ code: "E_FORMAT" }));
  });
});
