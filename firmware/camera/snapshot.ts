/**
 * Snapshots (docs/FORMAT.md §3.1, PROTOCOL §14.14): at trigger time the camera takes one small preview JPEG
 * (Camera.capturePreview) and seals it as its OWN sealed object in the clip format: one segment whose plaintext
 * is the JPEG itself, content type `image/jpeg`, and the header field `of` naming the clip it previews. The
 * link is inside the camera-signed header, so a phone pairs snapshot and clip from verified heads only.
 *
 * Recipients: every phone and the account data key, as for a clip; and each stream key whose verified scope
 * covers this camera, the `snapshot` stream and the snapshot's capture time (streamRecipientsFor). That is
 * how the cloud, once the owner grants it a snapshot-only key, can open snapshots and nothing else.
 *
 * The sealed parts go to the uplink like a clip's (same queue, same upload API), BEFORE the clip's own parts,
 * so a preview alert can arrive while the clip is still recording. The preview's plaintext is wiped as soon
 * as it is sealed. Pure firmware; runs in XS.
 */
import type { Frame } from "../platform/camera";
import type { Crypto, P256PrivateKey } from "../platform/crypto";
import { toHex, wipe } from "../core/bytes";
import { fail } from "../core/errors";
import { ClipSealer, type RecipientKey } from "../core/clip/sealer";
import { CONTENT_TYPE_SNAPSHOT, MAX_SEGMENT_SIZE, MIN_SEGMENT_SIZE } from "../core/clip/constants";
import { streamRecipientsFor, type StreamKey } from "../core/stream-scope";
import type { ClipPart } from "./parts";

/** What sealing a snapshot needs of the camera (the recorder passes its own). */
export interface SnapshotSealing {
  crypto: Crypto;
  cameraKey: P256PrivateKey;
  cameraId: string;
  cameraCertHash: Uint8Array;
  /** A fresh clip sequence number (the snapshot is a sealed object of its own: FORMAT §3 `seq`). */
  sequence: number;
  /** The verified roster the clip is sealed to. */
  roster: { version: number; recipients: RecipientKey[]; streamKeys: readonly StreamKey[] };
}

export interface SealedSnapshot {
  /** The snapshot's own object id (16 bytes). */
  id: Uint8Array;
  /** head, final segment, footer: in upload order. */
  parts: ClipPart[];
  jpegBytes: number;
  sealedBytes: number;
  /** How many stream keys it was wrapped to (scope `snapshot`). */
  streams: number;
}

/** A JPEG starts with SOI (FF D8) and ends with EOI (FF D9). */
export function looksLikeJpeg(bytes: Uint8Array): boolean {
  const n = bytes.length;
  return n >= 4 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[n - 2] === 0xff && bytes[n - 1] === 0xd9;
}

/**
 * Seals `preview` as the snapshot of clip `clipOf`. The JPEG is the whole plaintext, in one segment (the segment
 * size is the JPEG's length, at least 4096). Wipes the preview. Throws E_FORMAT (not a JPEG) or E_LIMIT (over
 * 1 MiB) and then seals nothing.
 */
export function sealSnapshot(s: SnapshotSealing, preview: Frame, clipOf: Uint8Array): SealedSnapshot {
  const jpeg = preview.jpeg;
  try {
    if (!looksLikeJpeg(jpeg)) fail("E_FORMAT", "snapshot: the camera's preview is not a JPEG");
    if (jpeg.length > MAX_SEGMENT_SIZE) fail("E_LIMIT", `snapshot: the preview is larger than ${MAX_SEGMENT_SIZE} bytes; lower snapshot width/height`);
    const startTime = Math.max(0, Math.floor(preview.time));
    const streams = streamRecipientsFor(s.roster, { cameraId: s.cameraId, stream: "snapshot", captureTime: startTime });
    const sealer = new ClipSealer({
      crypto: s.crypto,
      cameraKey: s.cameraKey,
      cameraId: s.cameraId,
      cameraCertHash: s.cameraCertHash,
      sequence: s.sequence,
      startTime,
      contentType: CONTENT_TYPE_SNAPSHOT,
      recipients: streams.length > 0 ? s.roster.recipients.concat(streams) : s.roster.recipients,
      rosterVersion: s.roster.version,
      segmentSize: Math.max(MIN_SEGMENT_SIZE, jpeg.length),
      snapshotOf: clipOf,
    });
    const id = sealer.clipId;
    const written = sealer.write(jpeg);
    const { segment, footer } = sealer.finish();
    if (written.length !== 0 || segment.index !== 0) fail("E_STATE", "snapshot: expected exactly one segment");
    const parts: ClipPart[] = [
      { kind: "head", clipId: id, index: 0, bytes: sealer.head },
      { kind: "final", clipId: id, index: 0, bytes: segment.bytes },
      { kind: "footer", clipId: id, index: 1, bytes: footer },
    ];
    return { id, parts, jpegBytes: jpeg.length, sealedBytes: sealer.head.length + segment.bytes.length + footer.length, streams: streams.length };
  } finally {
    wipe(jpeg);
  }
}

/** Hex of an id, for logs (the first 16 characters, as clips are logged). */
export function shortId(id: Uint8Array): string {
  return toHex(id).slice(0, 16);
}
