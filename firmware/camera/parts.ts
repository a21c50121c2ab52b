/**
 * A sealed clip travels as parts: its head, its segments (the last one flagged), its footer. Every part is
 * ciphertext or signed public header bytes straight from the ClipSealer; nothing here ever holds a frame.
 * The queue stores parts in this encoding:
 *
 *   u8 version (1) || u8 kind || clip id (16) || u32be index || bytes
 *   kind: 1 head, 2 segment, 3 final segment, 4 footer
 */
import { concat, readU32be, u32be } from "../core/bytes";
import { fail } from "../core/errors";

export type PartKind = "head" | "segment" | "final" | "footer";

export interface ClipPart {
  kind: PartKind;
  clipId: Uint8Array;
  /** Segment index (segments); the number of segments for the footer; 0 for the head. */
  index: number;
  bytes: Uint8Array;
}

const KINDS: PartKind[] = ["head", "segment", "final", "footer"];
const HEADER = 2 + 16 + 4;

export function encodePart(part: ClipPart): Uint8Array {
  if (part.clipId.length !== 16) fail("E_ARGUMENT", "clip id must be 16 bytes");
  return concat(new Uint8Array([1, KINDS.indexOf(part.kind) + 1]), part.clipId, u32be(part.index), part.bytes);
}

export function decodePart(data: Uint8Array): ClipPart {
  if (data.length < HEADER || data[0] !== 1 || data[1] < 1 || data[1] > 4) fail("E_FORMAT", "not a queued clip part");
  return { kind: KINDS[data[1] - 1], clipId: data.slice(2, 18), index: readU32be(data, 18), bytes: data.subarray(HEADER) };
}
