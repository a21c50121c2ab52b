/**
 * Helpers for the clip tests: re-signing a head with the camera key (headers a camera could have signed), and
 * the code FORMAT §8's table says an opener gives for a whole clip cut to its first `length` bytes.
 */
import type { Crypto, P256PrivateKey } from "../../firmware/platform/crypto";
import { concat } from "../../firmware/core/bytes";
import { encodePreamble } from "../../firmware/core/clip/head";
import { encodeHeader, type ClipHeader } from "../../firmware/core/clip/header";
import { FOOTER_LENGTH, PREAMBLE_LENGTH, TAG_LENGTH } from "../../firmware/core/clip/constants";

/** A head over `header` signed by `cameraKey` (bypasses the sealer, so any header the encoder accepts). */
export function signHead(crypto: Crypto, cameraKey: P256PrivateKey, header: ClipHeader): Uint8Array {
  const bytes = encodeHeader(header);
  const signed = concat(encodePreamble(bytes.length), bytes);
  return concat(signed, crypto.ecdsaP256Sign(cameraKey, signed));
}

/** The same, from raw header bytes (for headers the encoder would refuse). */
export function signRawHead(crypto: Crypto, cameraKey: P256PrivateKey, headerBytes: Uint8Array): Uint8Array {
  const signed = concat(encodePreamble(headerBytes.length), headerBytes);
  return concat(signed, crypto.ecdsaP256Sign(cameraKey, signed));
}

export interface ClipShape {
  headLength: number;
  segmentSize: number;
  /** Sealed lengths of the segments, the last one final. */
  segmentLengths: number[];
}

/**
 * FORMAT §8, "Cut streams": the code for a valid clip cut to its first `length` bytes (length < whole).
 * Inside the head: E_TRUNCATED. After the head, with d = bytes kept after the last complete non-final
 * segment (or after the head): d < 16 + 64 -> E_TRUNCATED, otherwise E_SEGMENT.
 */
export function expectedCutCode(shape: ClipShape, length: number): "E_TRUNCATED" | "E_SEGMENT" {
  if (length < PREAMBLE_LENGTH || length < shape.headLength) return "E_TRUNCATED";
  const full = shape.segmentSize + TAG_LENGTH;
  const nonFinal = shape.segmentLengths.length - 1;
  const body = length - shape.headLength;
  const complete = Math.min(nonFinal, Math.floor(body / full));
  const d = body - complete * full;
  return d < TAG_LENGTH + FOOTER_LENGTH ? "E_TRUNCATED" : "E_SEGMENT";
}
