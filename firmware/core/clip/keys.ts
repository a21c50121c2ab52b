/**
 * The clip key schedule. The random 16-byte clip key is what recipients unwrap; the payload key and the
 * commitment are derived from it with the clip id as salt, so the same key never encrypts two clips and no
 * second key can open a clip to a different plaintext (the header commits to the key).
 */
import type { Crypto } from "../../platform/crypto";
import { concat, u32be, wipe } from "../bytes";
import { LABEL_COMMIT, LABEL_PAYLOAD } from "./constants";

export interface ClipKeys {
  payloadKey: Uint8Array;
  commitment: Uint8Array;
}

export function deriveClipKeys(crypto: Crypto, clipKey: Uint8Array, clipId: Uint8Array): ClipKeys {
  const prk = crypto.hkdfExtract(clipId, clipKey);
  const keys = {
    payloadKey: crypto.hkdfExpand(prk, LABEL_PAYLOAD, 16),
    commitment: crypto.hkdfExpand(prk, LABEL_COMMIT, 32),
  };
  wipe(prk);
  return keys;
}

/** 7 zero bytes || u32be segment index || 0x01 on the final segment, else 0x00. */
export function segmentNonce(index: number, last: boolean): Uint8Array {
  return concat(new Uint8Array(7), u32be(index), new Uint8Array([last ? 1 : 0]));
}
