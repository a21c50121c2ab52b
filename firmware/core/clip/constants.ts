/** Constants of the sealed-clip format v1. docs/FORMAT.md is the specification; this file mirrors it. */
import { asciiBytes, concat } from "../bytes";

export const FORMAT_VERSION = 1;
/** "SEALCAM" followed by the format version byte. */
export const MAGIC = concat(asciiBytes("SEALCAM"), new Uint8Array([FORMAT_VERSION]));
export const PREAMBLE_LENGTH = 12; // magic (8) + u32be header length
export const SIGNATURE_LENGTH = 64; // ECDSA P-256 r || s
export const FOOTER_LENGTH = 64;
export const TAG_LENGTH = 16;
export const CLIP_ID_LENGTH = 16;
export const CLIP_KEY_LENGTH = 16;
export const KEY_ID_LENGTH = 32;

export const MAX_HEADER_LENGTH = 16384;
export const MIN_SEGMENT_SIZE = 4096;
export const MAX_SEGMENT_SIZE = 1048576;
export const DEFAULT_SEGMENT_SIZE = 65536;
export const MAX_SEGMENTS = 0xffffffff;
export const MAX_RECIPIENTS = 16;

export const ALG_HPKE_P256 = "hpke-p256-sha256-aes128gcm";
export const ALG_RSA_OAEP = "rsa-oaep-sha256";
/** A stream key (sharing, PROTOCOL §14): HPKE as for phones, under its own wrap label (LABEL_WRAP_STREAM). */
export const ALG_HPKE_P256_STREAM = "hpke-p256-sha256-aes128gcm-stream";

export const CONTENT_TYPE_FRAMES = "video/x-sealcam-frames";
/** A snapshot (FORMAT §3.1, §7): one small JPEG, the whole plaintext; its header's `of` names its clip. */
export const CONTENT_TYPE_SNAPSHOT = "image/jpeg";

/** HKDF labels (info strings). */
export const LABEL_PAYLOAD = asciiBytes("sealcam/v1 payload");
export const LABEL_COMMIT = asciiBytes("sealcam/v1 commit");
/** HPKE info and RSA-OAEP label prefix; the 16-byte clip id follows it. */
export const LABEL_WRAP = asciiBytes("sealcam/v1 clip-key\0");
/** HPKE info prefix for stream-key entries; the 16-byte clip id follows it. Never equal to LABEL_WRAP. */
export const LABEL_WRAP_STREAM = asciiBytes("sealcam/v1 stream-key\0");
export const LABEL_FOOTER = asciiBytes("sealcam/v1 footer\0");
