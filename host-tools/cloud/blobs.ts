/**
 * Where the cloud keeps clip bodies (docs/CLOUD-API.md "Blob stores"): one interface shaped for how the
 * cloud uses them, two bodies.
 *
 *   files  the data folder (the default; the layout and durability the cloud always had):
 *          `clips/<id>/clip` while uploading (the head, then each segment at its offset), renamed to
 *          `clips/<id>.sealed` once complete (blobs-files.ts).
 *   s3     an S3-compatible object store (`--blobs s3://bucket/prefix`): `uploads/<id>/head` and
 *          `uploads/<id>/seg-<n>` while uploading, composed into `clips/<id>.sealed` by one PutObject or a
 *          multipart upload once complete, then the parts deleted (blobs-s3.ts).
 *
 * The metadata database stays the record of what exists: a segment is "stored" once its row is written,
 * and a row is written only after the store has the bytes. The store itself checks what it can: `finalize`
 * re-reads every piece and refuses (E_STATE, nothing changed) unless the head and each segment are present
 * and hash to what the caller recorded, so a clip is complete only when all its bytes are.
 *
 * Errors are SealcamErrors (E_STATE, E_CONFLICT, E_FORMAT, E_AUTH, E_LIMIT, E_ARGUMENT, E_STORAGE); their
 * messages say what the client can do.
 */
import type { Readable } from "node:stream";
import { SealcamError } from "../../firmware/core/errors";
import { TAG_LENGTH } from "../../firmware/core/clip/constants";

/** 32 lower-case hex characters: the only clip ids a store accepts (they become file names and keys). */
export const BLOB_CLIP_ID = /^[0-9a-f]{32}$/;

/** What a store needs to place an upload's segments: segment i is at headLength + i * (segmentSize + 16). */
export interface UploadLayout {
  /** Length of the stored head (preamble, header, signature). */
  headLength: number;
  /** The clip's plaintext segment size (the header's); each stored segment adds a 16-byte tag. */
  segmentSize: number;
}

/** One segment as the database recorded it. */
export interface SegmentRecord {
  index: number;
  length: number;
  /** Lower-case hex SHA-256 of the segment's stored bytes. */
  sha256: string;
}

/** What finalize composes: the head, segments 0..n-1 in order, then the footer. */
export interface FinalizeInput extends UploadLayout {
  /** Lower-case hex SHA-256 of the head. */
  headSha256: string;
  /** Every segment, indices 0..n-1 in order (anything else is refused, E_STATE). */
  segments: SegmentRecord[];
  /** The footer bytes (64). */
  footer: Uint8Array;
}

export interface FinalizeResult {
  /** Size of the complete clip in bytes. */
  size: number;
  /** "already": the clip was complete with this very footer (a retry after a crash or a lost reply). */
  stored: "new" | "already";
}

/** An inclusive byte range of a complete clip (HTTP Range semantics: start..end, both counted). */
export interface ByteRange {
  start: number;
  end: number;
}

export interface ClipStream {
  /** Size of the whole clip. */
  size: number;
  /** The range this stream covers. */
  range: ByteRange;
  stream: Readable;
}

/**
 * One thing the orphan sweeper may look at. `clip`: a complete clip. `upload`: an upload in progress (all
 * its parts together). `temp`: a leftover of an interrupted write (files body: `.tmp-*`, `tmp/up-*`).
 * `multipart`: an S3 multipart upload never completed nor aborted (a crash inside finalize).
 */
export interface BlobEntry {
  kind: "clip" | "upload" | "temp" | "multipart";
  /** The clip this belongs to, where the name says (not for `temp`). */
  clipId?: string;
  /** The body's own name for it (a path relative to the data folder, or an object key). */
  key: string;
  /** Last modified, ms since the epoch (for an upload: its newest part). */
  lastModified: number;
  /** For `multipart`: the S3 upload id. */
  uploadId?: string;
}

export interface BlobStore {
  readonly kind: "files" | "s3";
  /** Where the bodies are, for logs (no credentials). */
  readonly location: string;

  /**
   * Stores the head of a new upload. "already" when this upload (or the complete clip) has this very head;
   * E_CONFLICT when it has another one (delete it first if it is known to be an orphan).
   */
  putHead(clipId: string, head: Uint8Array): Promise<"new" | "already">;

  /**
   * Stores segment `index` of an upload whose head is stored, streamed from `body` while hashed. Throws
   * E_FORMAT if the body's length is not `length`, E_AUTH if its SHA-256 is not `sha256hex` (what was
   * stored then is in no record's range and a re-send replaces it), E_STATE if the upload is gone. Sending
   * the same segment again is harmless (idempotent).
   */
  putSegment(clipId: string, layout: UploadLayout, index: number, body: AsyncIterable<Uint8Array> | Uint8Array, length: number, sha256hex: string): Promise<void>;

  /**
   * Segments the store holds for an upload (index → stored length), or null where the body cannot tell
   * (files: one sparse file; the database's rows are the record). Empty when there is no upload.
   */
  storedSegments(clipId: string, layout: UploadLayout): Promise<Map<number, number> | null>;

  /** The head bytes, of an upload or of a complete clip; null if neither is stored. */
  readHead(clipId: string, headLength: number): Promise<Uint8Array | null>;

  /**
   * Makes the clip complete: head + segments + footer as one object, visible all at once, then removes the
   * upload's parts. Refuses with E_STATE (and changes nothing) if a piece is missing or does not hash to
   * its record. Done again after a crash it finishes the job; with another footer it is E_CONFLICT.
   */
  finalize(clipId: string, input: FinalizeInput): Promise<FinalizeResult>;

  /** Size of the complete clip, or null if it is not complete. */
  clipSize(clipId: string): Promise<number | null>;

  /** Streams a complete clip, or the inclusive byte range of it; null if not complete. E_LIMIT for a range past the end. */
  openClip(clipId: string, range?: ByteRange): Promise<ClipStream | null>;

  /** Removes the complete clip, its upload and any part of it; removing what is not there is no error. */
  deleteClip(clipId: string): Promise<void>;

  /** Everything the sweeper may judge: complete clips, uploads, leftovers, unfinished multipart uploads. */
  list(): AsyncIterable<BlobEntry>;

  /** Removes one listed entry (a clip or upload: everything of that clip id in that state). */
  removeEntry(entry: BlobEntry): Promise<void>;

  close(): Promise<void>;
}

export function blobFail(code: ConstructorParameters<typeof SealcamError>[0], message: string): never {
  throw new SealcamError(code, message);
}

export function checkClipId(clipId: string): void {
  if (!BLOB_CLIP_ID.test(clipId)) blobFail("E_FORMAT", "clip id must be 32 lower-case hex characters");
}

/** Byte offset of segment `index` in the clip. */
export function segmentOffset(layout: UploadLayout, index: number): number {
  return layout.headLength + index * (layout.segmentSize + TAG_LENGTH);
}

export function checkLayout(layout: UploadLayout): void {
  if (!Number.isSafeInteger(layout.headLength) || layout.headLength <= 0) blobFail("E_ARGUMENT", "head length must be a positive integer");
  if (!Number.isSafeInteger(layout.segmentSize) || layout.segmentSize <= 0) blobFail("E_ARGUMENT", "segment size must be a positive integer");
}

export function checkSegmentIndex(index: number): void {
  if (!Number.isSafeInteger(index) || index < 0 || index > 0xffffffff) blobFail("E_FORMAT", "segment index must be 0..2^32-1");
}

/** Checks finalize's input before anything is touched; returns the clip's size. */
export function checkFinalizeInput(input: FinalizeInput): number {
  checkLayout(input);
  if (input.segments.length === 0) blobFail("E_STATE", "a clip needs at least one segment; upload segment 0 and retry");
  let size = input.headLength;
  input.segments.forEach((s, i) => {
    if (s.index !== i) blobFail("E_STATE", `segment ${i} is missing; upload it and retry`);
    if (!Number.isSafeInteger(s.length) || s.length <= 0 || s.length > input.segmentSize + TAG_LENGTH) blobFail("E_SEGMENT", `segment ${i} has an impossible length ${s.length}`);
    if (i < input.segments.length - 1 && s.length !== input.segmentSize + TAG_LENGTH) blobFail("E_SEGMENT", `segment ${i} is short but not the last`);
    if (!/^[0-9a-f]{64}$/.test(s.sha256)) blobFail("E_ARGUMENT", `segment ${i} needs its recorded SHA-256 (64 hex characters)`);
    size += s.length;
  });
  if (!/^[0-9a-f]{64}$/.test(input.headSha256)) blobFail("E_ARGUMENT", "the head's recorded SHA-256 must be 64 hex characters");
  if (input.footer.length === 0) blobFail("E_FORMAT", "the footer is empty");
  return size + input.footer.length;
}

/** Checks a requested range against a clip's size. */
export function checkRange(range: ByteRange | undefined, size: number): ByteRange {
  if (range === undefined) return { start: 0, end: size - 1 };
  if (!Number.isSafeInteger(range.start) || !Number.isSafeInteger(range.end) || range.start < 0 || range.end < range.start) {
    blobFail("E_FORMAT", "a byte range is start..end with 0 <= start <= end");
  }
  if (range.start >= size) blobFail("E_LIMIT", `the range starts past the end of the clip (${size} bytes)`);
  return { start: range.start, end: Math.min(range.end, size - 1) };
}

/** What the metadata database says of a clip id: a complete clip, an upload in progress, or no row at all. */
export type ClipState = "complete" | "uploading" | null;

export interface OrphanSweep {
  /** Entries removed, by kind. */
  removed: { clip: number; upload: number; temp: number; multipart: number };
  /** Entries left because they changed at or after the cutoff (may still be being written). */
  recent: number;
}

/**
 * The sweeper's orphan step over any store (the rules of docs/CLOUD-API.md §Deletion and retention, step 4):
 * a complete clip with no row; an upload with no row, or of a clip that is complete (a crash between
 * completing it and removing the parts); leftovers of interrupted writes; unfinished multipart uploads.
 * Only entries last changed before `cutoff` (ms since the epoch) are removed; a row that is there is never
 * second-guessed (an upload of a clip whose row says "uploading" stays, however old: stale uploads are
 * deleted through their rows).
 */
export async function removeOrphanBlobs(store: BlobStore, stateOf: (clipId: string) => ClipState | Promise<ClipState>, cutoff: number): Promise<OrphanSweep> {
  const result: OrphanSweep = { removed: { clip: 0, upload: 0, temp: 0, multipart: 0 }, recent: 0 };
  const doomed: BlobEntry[] = [];
  for await (const entry of store.list()) {
    let orphan: boolean;
    if (entry.kind === "temp" || entry.kind === "multipart") orphan = true;
    else {
      const state = await stateOf(entry.clipId as string);
      orphan = entry.kind === "clip" ? state === null : state !== "uploading";
    }
    if (!orphan) continue;
    if (entry.lastModified >= cutoff) result.recent++;
    else doomed.push(entry); // removed after the listing: some stores list from a snapshot of pages
  }
  for (const entry of doomed) {
    await store.removeEntry(entry);
    result.removed[entry.kind]++;
  }
  return result;
}

/** Where clip bodies go, parsed from `--blobs` (and `--s3-endpoint`). */
export type BlobsConfig =
  | { kind: "files"; dataDir: string }
  | { kind: "s3"; bucket: string; prefix: string; endpoint?: string; region?: string; forcePathStyle?: boolean };

/**
 * `--blobs`: absent or "files" → the data folder; `s3://bucket[/prefix]` → that bucket. The endpoint, region
 * and credentials come from the standard AWS environment (AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL,
 * AWS_REGION, AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_PROFILE ...); `--s3-endpoint URL` overrides the
 * endpoint and selects path-style addressing (what MinIO, Ceph RGW and s3rver expect).
 */
export function parseBlobsOption(value: string | undefined, dataDir: string, s3Endpoint?: string): BlobsConfig {
  if (value === undefined || value === "" || value === "files") {
    if (s3Endpoint !== undefined) blobFail("E_ARGUMENT", "--s3-endpoint needs --blobs s3://bucket/prefix");
    return { kind: "files", dataDir };
  }
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(value);
  if (!m) blobFail("E_ARGUMENT", `--blobs must be "files" or s3://bucket/prefix (a bucket name of 3-63 lower-case letters, digits, dots, hyphens), not ${JSON.stringify(value)}`);
  const prefix = (m[2] ?? "").replace(/\/+$/, "");
  if (prefix.split("/").some((p, i, all) => (p === "" && all.length > 1) || p === "." || p === "..") || /[\u0000-\u001f\\]/.test(prefix)) {
    blobFail("E_ARGUMENT", `--blobs prefix ${JSON.stringify(prefix)} must be plain path segments separated by single slashes`);
  }
  const config: BlobsConfig = { kind: "s3", bucket: m[1], prefix };
  if (s3Endpoint !== undefined) {
    let url: URL;
    try {
      url = new URL(s3Endpoint);
    } catch {
      return blobFail("E_ARGUMENT", `--s3-endpoint must be a URL such as http://127.0.0.1:9000, not ${JSON.stringify(s3Endpoint)}`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") blobFail("E_ARGUMENT", "--s3-endpoint must be an http:// or https:// URL");
    if (url.username || url.password) blobFail("E_ARGUMENT", "--s3-endpoint must not carry credentials; use the AWS environment variables");
    config.endpoint = url.origin;
    config.forcePathStyle = true;
  }
  return config;
}

/** Opens the store a config names (the S3 body's SDK is loaded only when asked for). */
export async function openBlobStore(config: BlobsConfig): Promise<BlobStore> {
  if (config.kind === "files") {
    const { FileBlobStore } = await import("./blobs-files");
    return FileBlobStore.open(config.dataDir);
  }
  const { S3BlobStore } = await import("./blobs-s3");
  return S3BlobStore.connect(config);
}
