/**
 * The plaintext of a "video/x-sealcam-frames" clip: a sequence of frame records,
 *   u32be length || u64be capture time (ms since the Unix epoch) || length bytes of JPEG.
 * The camera encodes frames as it captures them; the phone splits the opened plaintext back into frames.
 */
import { concat, readU32be, u32be, u64be } from "../bytes";
import { fail } from "../errors";

export const FRAME_HEADER_LENGTH = 12;
export const MAX_FRAME_LENGTH = 4 * 1024 * 1024;

export interface ClipFrame {
  time: number;
  jpeg: Uint8Array;
}

export function encodeFrame(frame: ClipFrame): Uint8Array {
  if (frame.jpeg.length < 1 || frame.jpeg.length > MAX_FRAME_LENGTH) fail("E_ARGUMENT", "frame: length out of range");
  return concat(u32be(frame.jpeg.length), u64be(frame.time), frame.jpeg);
}

/** Incremental decoder: feed opened plaintext in any chunking; call end() to check nothing is left over. */
export class FrameReader {
  #buffer: Uint8Array = new Uint8Array(0);

  push(chunk: Uint8Array): ClipFrame[] {
    this.#buffer = concat(this.#buffer, chunk);
    const frames: ClipFrame[] = [];
    let offset = 0;
    while (this.#buffer.length - offset >= FRAME_HEADER_LENGTH) {
      const length = readU32be(this.#buffer, offset);
      if (length < 1 || length > MAX_FRAME_LENGTH) fail("E_FORMAT", "frame: length out of range");
      if (this.#buffer.length - offset < FRAME_HEADER_LENGTH + length) break;
      const time = readU32be(this.#buffer, offset + 4) * 0x100000000 + readU32be(this.#buffer, offset + 8);
      frames.push({ time, jpeg: this.#buffer.slice(offset + FRAME_HEADER_LENGTH, offset + FRAME_HEADER_LENGTH + length) });
      offset += FRAME_HEADER_LENGTH + length;
    }
    this.#buffer = this.#buffer.slice(offset);
    return frames;
  }

  end(): void {
    if (this.#buffer.length !== 0) fail("E_FORMAT", "frame: clip ends inside a frame record");
  }
}
