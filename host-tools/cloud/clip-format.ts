/**
 * The one place the cloud reads the sealed-clip format (firmware/core/clip): it needs the clip id, camera id,
 * segment size and sizes to store uploads, and nothing it reads here is trusted beyond that (the phone
 * verifies every signature). See docs/FORMAT.md.
 */
import { toHex } from "../../firmware/core/bytes";
import { fail } from "../../firmware/core/errors";
import { FOOTER_LENGTH, MAX_HEADER_LENGTH, PREAMBLE_LENGTH, SIGNATURE_LENGTH, TAG_LENGTH } from "../../firmware/core/clip/constants";
import { parseClipHead } from "../../firmware/core/clip/head";

export const MAX_HEAD_BYTES = PREAMBLE_LENGTH + MAX_HEADER_LENGTH + SIGNATURE_LENGTH;
export const FOOTER_BYTES = FOOTER_LENGTH;
export const SEGMENT_OVERHEAD = TAG_LENGTH;

export interface HeadInfo {
  clipId: string;
  cameraId: string;
  segmentSize: number;
  startTime: number;
  contentType: string;
}

/** Reads a clip head that must fill `bytes` exactly. Throws E_FORMAT and friends. */
export function readHead(bytes: Uint8Array): HeadInfo {
  const head = parseClipHead(bytes);
  if (head.headLength !== bytes.length) fail("E_TRAILING", "clip head upload has bytes after the head");
  return {
    clipId: toHex(head.header.clipId),
    cameraId: head.header.cameraId,
    segmentSize: head.header.segmentSize,
    startTime: head.header.startTime,
    contentType: head.header.contentType,
  };
}

/** A segment's sealed length is segmentSize + 16, except the last: 16 .. segmentSize + 16. */
export function segmentLengthOk(length: number, segmentSize: number, last: boolean | null): boolean {
  const full = segmentSize + SEGMENT_OVERHEAD;
  if (last === false) return length === full;
  return length >= SEGMENT_OVERHEAD && length <= full;
}
