/**
 * An index of the frames in a verified `video/x-sealcam-frames` plaintext file (docs/FORMAT.md §7), read
 * with positional reads: record headers and the start of each JPEG only, never the whole clip in memory.
 * The video writers copy each JPEG from the file by its offset.
 */
import * as fs from "node:fs";
import { readU32be } from "../../../firmware/core/bytes";
import { FRAME_HEADER_LENGTH, MAX_FRAME_LENGTH } from "../../../firmware/core/clip/frames";
import { fail } from "../../../firmware/core/errors";

/** The frame interval assumed for a clip of one frame (no second timestamp to measure it from). */
export const DEFAULT_FRAME_MS = 100;

export interface IndexedFrame {
  /** Byte offset of the JPEG in the plaintext file. */
  offset: number;
  length: number;
  /** Capture time, ms since the Unix epoch. */
  time: number;
}

export interface FrameIndex {
  frames: IndexedFrame[];
  width: number;
  height: number;
  /** The largest JPEG, bytes. */
  maxLength: number;
  /** The average capture interval, ms: (last - first) / (frames - 1); DEFAULT_FRAME_MS for one frame or no progress. */
  intervalMs: number;
  /** The clip's duration as a video: last - first timestamp + one average interval, ms. */
  durationMs: number;
}

/**
 * The picture size a baseline or progressive JPEG declares in its SOFn segment, or null when `bytes` (the start
 * of the JPEG) ends before one is found. E_FORMAT when it is not a JPEG.
 */
export function jpegSize(bytes: Uint8Array, complete: boolean): { width: number; height: number } | null {
  if (bytes.length < 2 || bytes[0] !== 0xff || bytes[1] !== 0xd8) fail("E_FORMAT", "frame is not a JPEG (no start-of-image marker)");
  let p = 2;
  for (;;) {
    if (p >= bytes.length) break;
    if (bytes[p] !== 0xff) fail("E_FORMAT", "frame is not a well-formed JPEG (marker expected)");
    while (p < bytes.length && bytes[p] === 0xff) p++;
    if (p >= bytes.length) break;
    const marker = bytes[p++];
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;
    if (marker === 0xd9 || marker === 0xda) fail("E_FORMAT", "frame is a JPEG without a frame header (SOF)");
    if (p + 2 > bytes.length) break;
    const length = (bytes[p] << 8) | bytes[p + 1];
    if (length < 2) fail("E_FORMAT", "frame is not a well-formed JPEG (segment length)");
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) {
      if (p + 7 > bytes.length) break;
      const height = (bytes[p + 3] << 8) | bytes[p + 4];
      const width = (bytes[p + 5] << 8) | bytes[p + 6];
      if (width === 0 || height === 0) fail("E_FORMAT", "frame is a JPEG with a zero width or height");
      return { width, height };
    }
    p += length;
  }
  if (complete) fail("E_FORMAT", "frame is a JPEG without a frame header (SOF)");
  return null;
}

function readAt(fd: number, length: number, position: number): Uint8Array {
  const buffer = new Uint8Array(length);
  let got = 0;
  while (got < length) {
    const n = fs.readSync(fd, buffer, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return buffer.subarray(0, got);
}

/** The size of one JPEG at `offset`: reads its first 4 KiB, more only when its SOF comes later. */
function frameSize(fd: number, frame: IndexedFrame, number: number): { width: number; height: number } {
  for (let window = 4096; ; window *= 4) {
    const take = Math.min(window, frame.length);
    try {
      const size = jpegSize(readAt(fd, take, frame.offset), take === frame.length);
      if (size) return size;
    } catch (error) {
      if (error instanceof Error) error.message = `frame ${number}: ${error.message}`;
      throw error;
    }
  }
}

/**
 * Indexes the frame records of a plaintext file (FORMAT §7): E_FORMAT for a record length of 0 or over 4 MiB,
 * a record crossing the end, a frame that is not a JPEG, or frames of different sizes (one video has one
 * picture size; `--frames` still gives each JPEG); E_FORMAT also for a clip with no frames at all.
 */
export function indexFrames(plaintextFile: string): FrameIndex {
  const fd = fs.openSync(plaintextFile, "r");
  try {
    const size = fs.fstatSync(fd).size;
    const frames: IndexedFrame[] = [];
    let position = 0;
    let width = 0;
    let height = 0;
    let maxLength = 0;
    while (position < size) {
      const header = readAt(fd, FRAME_HEADER_LENGTH, position);
      if (header.length < FRAME_HEADER_LENGTH) fail("E_FORMAT", "frame: clip ends inside a frame record");
      const length = readU32be(header, 0);
      if (length < 1 || length > MAX_FRAME_LENGTH) fail("E_FORMAT", "frame: length out of range");
      if (position + FRAME_HEADER_LENGTH + length > size) fail("E_FORMAT", "frame: clip ends inside a frame record");
      const frame = { offset: position + FRAME_HEADER_LENGTH, length, time: readU32be(header, 4) * 0x100000000 + readU32be(header, 8) };
      const picture = frameSize(fd, frame, frames.length + 1);
      if (frames.length === 0) ({ width, height } = picture);
      else if (picture.width !== width || picture.height !== height) {
        fail("E_FORMAT", `frame ${frames.length + 1} is ${picture.width}x${picture.height}, frame 1 ${width}x${height}: a video has one picture size (use --frames for the JPEGs)`);
      }
      frames.push(frame);
      maxLength = Math.max(maxLength, length);
      position = frame.offset + length;
    }
    if (frames.length === 0) fail("E_FORMAT", "the clip holds no frames: there is no video to write");
    const span = frames[frames.length - 1].time - frames[0].time;
    const intervalMs = frames.length > 1 && span > 0 ? span / (frames.length - 1) : DEFAULT_FRAME_MS;
    return { frames, width, height, maxLength, intervalMs, durationMs: Math.max(0, span) + intervalMs };
  } finally {
    fs.closeSync(fd);
  }
}

/** Copies `length` bytes at `offset` of `fromFd` to the current position of `toFd`, in bounded chunks. */
export function copyRange(fromFd: number, offset: number, length: number, toFd: number, chunk: Uint8Array): void {
  let done = 0;
  while (done < length) {
    const want = Math.min(chunk.length, length - done);
    const n = fs.readSync(fromFd, chunk, 0, want, offset + done);
    if (n === 0) fail("E_TRUNCATED", "plaintext file ended early while writing the video");
    writeAll(toFd, chunk.subarray(0, n));
    done += n;
  }
}

export function writeAll(fd: number, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.length;) done += fs.writeSync(fd, bytes, done, bytes.length - done);
}
