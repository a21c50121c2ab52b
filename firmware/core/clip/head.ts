/**
 * The head of a sealed clip: preamble (magic, header length), header, camera signature. Parsing it needs
 * no keys, so the cloud can read the clip id, camera id and segment size to store uploads; only a phone
 * that verifies the signature may trust what it says.
 */
import type { Crypto } from "../../platform/crypto";
import { concat, readU32be, u32be } from "../bytes";
import { fail } from "../errors";
import { MAGIC, MAX_HEADER_LENGTH, PREAMBLE_LENGTH, SIGNATURE_LENGTH } from "./constants";
import { decodeHeader, type ClipHeader } from "./header";

export interface ClipHead {
  header: ClipHeader;
  /** Preamble || header: the bytes the camera signed. */
  signedBytes: Uint8Array;
  signature: Uint8Array;
  /** Total head length: preamble + header + signature. */
  headLength: number;
  /** The head bytes themselves. */
  bytes: Uint8Array;
}

export function encodePreamble(headerLength: number): Uint8Array {
  return concat(MAGIC, u32be(headerLength));
}

/** How many bytes the head occupies, from the first 12 bytes; throws E_FORMAT/E_VERSION/E_LIMIT. */
export function headLengthFromPreamble(preamble: Uint8Array): number {
  if (preamble.length < PREAMBLE_LENGTH) fail("E_TRUNCATED", "clip: shorter than its preamble");
  for (let i = 0; i < 7; i++) if (preamble[i] !== MAGIC[i]) fail("E_FORMAT", "clip: not a sealcam clip (bad magic)");
  if (preamble[7] !== MAGIC[7]) fail("E_VERSION", `clip: unsupported format version ${preamble[7]}`);
  const headerLength = readU32be(preamble, 8);
  if (headerLength < 2 || headerLength > MAX_HEADER_LENGTH) fail("E_LIMIT", `clip: header length ${headerLength} out of range`);
  return PREAMBLE_LENGTH + headerLength + SIGNATURE_LENGTH;
}

/** Parses the head at the start of `bytes` (which may continue with segments). Does not verify anything. */
export function parseClipHead(bytes: Uint8Array): ClipHead {
  const headLength = headLengthFromPreamble(bytes);
  if (bytes.length < headLength) fail("E_TRUNCATED", "clip: truncated inside its head");
  const signedEnd = headLength - SIGNATURE_LENGTH;
  const header = decodeHeader(bytes.subarray(PREAMBLE_LENGTH, signedEnd));
  return {
    header,
    signedBytes: bytes.slice(0, signedEnd),
    signature: bytes.slice(signedEnd, headLength),
    headLength,
    bytes: bytes.slice(0, headLength),
  };
}

/** SHA-256 of the whole head; every segment authenticates it as AAD, and the footer signs it. */
export function headHash(crypto: Crypto, head: ClipHead): Uint8Array {
  return crypto.sha256(head.bytes);
}
