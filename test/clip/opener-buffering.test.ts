/**
 * The opener borrows each pushed chunk only for the duration of push(): it opens whole segments where they lie
 * in the chunk and copies only what it cannot open yet. A caller that reuses (overwrites) its chunk buffer after
 * every push must still get the exact plaintext, the same header, and the same errors for cut or extended streams.
 */
import { ClipOpener, parseClipHead } from "../../firmware/core/clip";
import { concat } from "../../firmware/core/bytes";
import { SealcamError } from "../../firmware/core/errors";
import { makeParty, openerOptions, seal, sealerOptions } from "../helpers/clip-fixture";
import { pattern } from "../helpers/pattern";

const party = makeParty();

/** Pushes `stream` through one reused buffer of `step` bytes, scribbled over after every push. */
function openThroughReusedBuffer(stream: Uint8Array, step: number) {
  const opener = new ClipOpener(openerOptions(party));
  const buffer = new Uint8Array(step);
  const released: Uint8Array[] = [];
  let error: unknown;
  try {
    for (let i = 0; i < stream.length; i += step) {
      const n = Math.min(step, stream.length - i);
      buffer.set(stream.subarray(i, i + n));
      released.push(...opener.push(buffer.subarray(0, n)));
      buffer.fill(0xa5);
    }
    const last = opener.end();
    released.push(last.plaintext);
    return { plaintext: concat(...released), header: last.header, error };
  } catch (caught) {
    error = caught;
  }
  return { plaintext: concat(...released), header: opener.header, error };
}

// 4 KiB segments (+16 tag = 4112 sealed bytes): steps below, at, across and far above one segment, and the
// head's own size, so segments lie in pending, in the chunk, and across both.
const STEPS = [1, 7, 64, 4111, 4112, 4113, 4112 + 64, 2 * 4112 + 1, 10_000, 1 << 20];

describe("the opener never keeps a reference to a pushed chunk", () => {
  const plaintext = pattern(7 * 4096 + 1234, 4);
  const sealed = seal(sealerOptions(party), plaintext);

  test.each(STEPS)("whole clip through a reused %d-byte buffer opens exactly", (step) => {
    const result = openThroughReusedBuffer(sealed.whole, step);
    expect(result.error).toBeUndefined();
    expect(result.plaintext).toEqual(plaintext);
    expect(result.header?.cameraId).toBe("cam-test-1");
    expect(result.header?.clipId).toEqual(parseClipHead(sealed.whole).header.clipId);
  });

  test.each(STEPS)("a clip cut after a whole segment, reused %d-byte buffer: E_TRUNCATED, a true prefix released", (step) => {
    const cut = sealed.whole.subarray(0, sealed.head.length + 3 * 4112 + 64);
    const result = openThroughReusedBuffer(cut, step);
    expect(result.error).toBeInstanceOf(SealcamError);
    expect((result.error as SealcamError).code).toBe("E_TRUNCATED");
    expect(result.plaintext).toEqual(plaintext.subarray(0, result.plaintext.length));
    expect(result.plaintext.length).toBeLessThanOrEqual(3 * 4096);
  });

  test.each(STEPS)("bytes after a full final segment's footer, reused %d-byte buffer: E_TRAILING, a true prefix released", (step) => {
    const whole = pattern(7 * 4096, 5);
    const extended = concat(seal(sealerOptions(party), whole).whole, pattern(4112 + 65, 9));
    const result = openThroughReusedBuffer(extended, step);
    expect(result.error).toBeInstanceOf(SealcamError);
    expect((result.error as SealcamError).code).toBe("E_TRAILING");
    expect(result.plaintext).toEqual(whole.subarray(0, result.plaintext.length));
    expect(result.plaintext.length).toBeLessThan(whole.length);
  });
});
