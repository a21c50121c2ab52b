/**
 * The clip head parser sees bytes from the network before anything is verified: whatever it is given, it
 * either returns a header or throws a SealcamError with a code — never a TypeError, RangeError or hang.
 */
import { parseClipHead, decodeHeader } from "../../firmware/core/clip";
import { SealcamError } from "../../firmware/core/errors";
import { crypto, makeParty, seal, sealerOptions } from "../helpers/clip-fixture";

const sealed = seal(sealerOptions(makeParty()), crypto.randomBytes(5000)).whole;
const head = parseClipHead(sealed);
const headerBytes = sealed.subarray(12, head.headLength - 64);

function onlyTypedErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof SealcamError)) throw error;
    expect(error.code).toMatch(/^E_[A-Z_]+$/);
  }
}

test("random mutations of a real head: parsed or refused with a typed error", () => {
  let seed = 12345;
  const next = () => (seed = (seed * 1103515245 + 12345) >>> 0);
  for (let round = 0; round < 3000; round++) {
    const bytes = Uint8Array.from(sealed.subarray(0, head.headLength));
    const edits = 1 + (next() % 4);
    for (let e = 0; e < edits; e++) {
      const at = 12 + (next() % (bytes.length - 12));
      bytes[at] = next() & 0xff;
    }
    onlyTypedErrors(() => parseClipHead(bytes));
  }
});

test("header JSON with structural edits: every one is refused with a typed error", () => {
  const text = new TextDecoder().decode(headerBytes);
  const variants = [
    text.replace('"v":1', '"v":2'),
    text.replace('"seg":4096', '"seg":4095'),
    text.replace('"seg":4096', '"seg":"4096"'),
    text.replace('"seq":7', '"seq":-1'),
    text.replace('"rcpt":[', '"rcpt":[1,'),
    text.replace('"rcpt":[', '"extra":1,"rcpt":['),
    text.replace(/"kid":"[^"]*"/, '"kid":"AAAA"'),
    text.replace('"cam":"cam-test-1"', '"cam":""'),
    text.replace(/"commit":"[^"]*"/, '"commit":"!!"'),
    text.slice(0, -1),
    "[]",
    "{}",
    "null",
  ];
  for (const variant of variants) {
    expect(() => decodeHeader(new TextEncoder().encode(variant))).toThrow(SealcamError);
  }
});

test("random byte strings and truncations never escape as untyped errors", () => {
  for (let length = 0; length < 300; length += 7) onlyTypedErrors(() => parseClipHead(crypto.randomBytes(length)));
  for (let cut = 0; cut < head.headLength; cut += 13) onlyTypedErrors(() => parseClipHead(sealed.subarray(0, cut)));
});
