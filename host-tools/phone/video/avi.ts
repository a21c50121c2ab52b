/**
 * MJPEG in AVI (AVI 1.0, "RIFF AVI "): the camera's JPEG frames as they are, no transcoding.
 *
 *   RIFF 'AVI '
 *     LIST 'hdrl'  avih (main header)  LIST 'strl' [ strh ('vids', 'MJPG')  strf (BITMAPINFOHEADER, 'MJPG') ]
 *     LIST 'movi'  one '00dc' chunk per frame (the JPEG bytes, padded to an even length)
 *     idx1         one 16-byte entry per frame: '00dc', AVIIF_KEYFRAME, offset from the 'movi' fourcc, size
 *
 * AVI has one frame rate per stream: it is the clip's average capture interval (from the frame timestamps),
 * as a rate of 1,000,000 / interval-in-µs, so the file lasts (last - first timestamp) + one interval. Sizes
 * are computed from an index of the verified plaintext before a byte is written; frames are copied from the
 * plaintext file in chunks. Without OpenDML extensions an AVI must stay under 1 GiB: a larger one is E_LIMIT.
 */
import * as fs from "node:fs";
import { fail } from "../../../firmware/core/errors";
import { copyRange, writeAll, type FrameIndex } from "./frames";

/** The largest AVI 1.0 file players read reliably (the RIFF 'AVI ' limit without OpenDML 'AVIX' extensions). */
export const AVI_MAX_BYTES = 1024 * 1024 * 1024;

const AVIF_HASINDEX = 0x10;
const AVIIF_KEYFRAME = 0x10;
/** RIFF header 12 + hdrl LIST 12 + avih 64 + strl LIST 12 + strh 64 + strf 48 + movi LIST header 12. */
const HEADERS_BYTES = 12 + 12 + 64 + 12 + 64 + 48 + 12;

function fourcc(view: DataView, at: number, code: string): void {
  for (let i = 0; i < 4; i++) view.setUint8(at + i, code.charCodeAt(i));
}

/** The AVI's size in bytes for these frames (headers, padded chunks, index). */
export function aviSize(index: FrameIndex): number {
  let movi = 0;
  for (const f of index.frames) movi += 8 + f.length + (f.length & 1);
  return HEADERS_BYTES + movi + 8 + 16 * index.frames.length;
}

/** The stream's time base: dwScale / dwRate seconds per frame, µs resolution. */
export function aviTiming(index: FrameIndex): { scale: number; rate: number } {
  return { scale: Math.max(1, Math.round(index.intervalMs * 1000)), rate: 1_000_000 };
}

function headers(index: FrameIndex, fileSize: number): Uint8Array {
  const bytes = new Uint8Array(HEADERS_BYTES);
  const v = new DataView(bytes.buffer);
  const n = index.frames.length;
  const { scale, rate } = aviTiming(index);
  const buffer = index.maxLength + (index.maxLength & 1);
  let p = 0;
  const tag = (code: string) => { fourcc(v, p, code); p += 4; };
  const u32 = (x: number) => { v.setUint32(p, x >>> 0, true); p += 4; };
  const u16 = (x: number) => { v.setUint16(p, x, true); p += 2; };

  tag("RIFF"); u32(fileSize - 8); tag("AVI ");
  tag("LIST"); u32(4 + 64 + 12 + 64 + 48); tag("hdrl");
  // avih: MainAVIHeader.
  tag("avih"); u32(56);
  u32(scale); // dwMicroSecPerFrame
  u32(Math.min(0xffffffff, Math.ceil((buffer * rate) / scale))); // dwMaxBytesPerSec
  u32(0); // dwPaddingGranularity
  u32(AVIF_HASINDEX); // dwFlags
  u32(n); // dwTotalFrames
  u32(0); // dwInitialFrames
  u32(1); // dwStreams
  u32(buffer + 8); // dwSuggestedBufferSize
  u32(index.width);
  u32(index.height);
  p += 16; // dwReserved[4]
  tag("LIST"); u32(4 + 64 + 48); tag("strl");
  // strh: AVIStreamHeader.
  tag("strh"); u32(56);
  tag("vids"); tag("MJPG");
  u32(0); // dwFlags
  u16(0); u16(0); // wPriority, wLanguage
  u32(0); // dwInitialFrames
  u32(scale); u32(rate); // dwScale, dwRate: rate / scale frames per second
  u32(0); // dwStart
  u32(n); // dwLength, in frames
  u32(buffer + 8); // dwSuggestedBufferSize
  u32(0xffffffff); // dwQuality: default
  u32(0); // dwSampleSize: variable (video)
  u16(0); u16(0); u16(Math.min(0xffff, index.width)); u16(Math.min(0xffff, index.height)); // rcFrame
  // strf: BITMAPINFOHEADER.
  tag("strf"); u32(40);
  u32(40); // biSize
  u32(index.width); u32(index.height);
  u16(1); u16(24); // biPlanes, biBitCount
  tag("MJPG"); // biCompression
  u32(Math.min(0xffffffff, index.width * index.height * 3)); // biSizeImage
  u32(0); u32(0); u32(0); u32(0); // biXPelsPerMeter, biYPelsPerMeter, biClrUsed, biClrImportant
  // movi LIST header: size = 'movi' + the chunks.
  tag("LIST"); u32(fileSize - HEADERS_BYTES + 4 - 8 - 16 * n); tag("movi");
  if (p !== HEADERS_BYTES) fail("E_INTERNAL", "avi: header layout");
  return bytes;
}

/**
 * Writes the frames of `plaintextFile` (indexed by `indexFrames`) as an MJPEG AVI to `outFd` (a new, empty
 * file). E_LIMIT before anything is written when the file would pass `maxBytes` (AVI_MAX_BYTES).
 */
export function writeAvi(plaintextFile: string, index: FrameIndex, outFd: number, maxBytes = AVI_MAX_BYTES): { bytes: number } {
  const size = aviSize(index);
  if (size > maxBytes) {
    fail("E_LIMIT", `this clip makes a ${size}-byte AVI, over the ${maxBytes}-byte limit of AVI files without OpenDML; write --video FILE.mp4 instead`);
  }
  writeAll(outFd, headers(index, size));
  const inFd = fs.openSync(plaintextFile, "r");
  const entries = new Uint8Array(8 + 16 * index.frames.length);
  const idx = new DataView(entries.buffer);
  fourcc(idx, 0, "idx1");
  idx.setUint32(4, 16 * index.frames.length, true);
  try {
    const chunk = new Uint8Array(1 << 20);
    const chunkHeader = new Uint8Array(8);
    const ch = new DataView(chunkHeader.buffer);
    fourcc(ch, 0, "00dc");
    let moviOffset = 4; // from the 'movi' fourcc
    index.frames.forEach((f, i) => {
      ch.setUint32(4, f.length, true);
      writeAll(outFd, chunkHeader);
      copyRange(inFd, f.offset, f.length, outFd, chunk);
      if (f.length & 1) writeAll(outFd, new Uint8Array(1));
      const e = 8 + 16 * i;
      fourcc(idx, e, "00dc");
      idx.setUint32(e + 4, AVIIF_KEYFRAME, true);
      idx.setUint32(e + 8, moviOffset, true);
      idx.setUint32(e + 12, f.length, true);
      moviOffset += 8 + f.length + (f.length & 1);
    });
  } finally {
    fs.closeSync(inFd);
  }
  writeAll(outFd, entries);
  return { bytes: size };
}
