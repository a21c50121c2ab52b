/**
 * The S3 body of BlobStore (blobs.ts): clip bodies in an S3-compatible object store, AWS SDK v3.
 *
 * Keys, under `<prefix>/`:
 *   uploads/<id>/head            an upload's head
 *   uploads/<id>/seg-<nnnnnnnnnn> segment n (ten digits, so a listing is in segment order)
 *   clips/<id>.sealed            a complete clip
 *
 * finalize: list the upload; check the head and every segment are there with their recorded lengths; read
 * each piece back and check its SHA-256; then write clips/<id>.sealed as ONE PutObject (clips up to
 * minPartSize) or ONE multipart upload (larger clips: parts of at least minPartSize gathered from the
 * pieces, the footer in the last part, which may be small; a piece that is itself at least minPartSize
 * and starts a part is copied server-side by UploadPartCopy where the store implements it). Either way the
 * object appears whole or not at all. Then the upload's objects are deleted.
 *
 * What a crash leaves, and who finds it (docs/CLOUD-API.md "Blob stores"):
 *   - during putSegment: at most that segment object (it is put only after its hash was checked); no row
 *     names it, a re-send overwrites it.
 *   - during finalize, before CompleteMultipartUpload: an unfinished multipart upload (invisible, but
 *     billed): finalize again starts a new one; `list()` reports the old one as `multipart` (from
 *     ListMultipartUploads) for the sweeper to abort; a bucket lifecycle rule AbortIncompleteMultipartUpload
 *     is the backstop where listing is not implemented.
 *   - after the object is complete, before the parts are deleted: finalize again answers "already" and
 *     deletes them; the sweeper sees `upload` entries of a complete clip and removes them.
 *   - during deleteClip: whatever was not yet deleted, listed as `clip`/`upload` with no row: the sweeper.
 */
import { Readable } from "node:stream";
import * as nodeCrypto from "node:crypto";
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectCommand,
  DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command,
  PutObjectCommand, S3Client, UploadPartCommand, UploadPartCopyCommand, type CompletedPart, type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { SealcamError, isSealcamError } from "../../firmware/core/errors";
import { constantTimeEqual } from "../../firmware/core/bytes";
import {
  blobFail, checkClipId, checkFinalizeInput, checkLayout, checkRange, checkSegmentIndex,
  type BlobEntry, type BlobStore, type ByteRange, type ClipStream, type FinalizeInput, type FinalizeResult, type UploadLayout,
} from "./blobs";

/** S3's smallest part (all but the last part of a multipart upload must be at least this). */
export const S3_MIN_PART = 5 * 1024 * 1024;
/** Segment objects read ahead while a clip is composed. */
const READ_AHEAD = 4;

export interface S3BlobStoreOptions {
  bucket: string;
  /** Key prefix without a trailing slash ("" for the bucket's root). */
  prefix: string;
  endpoint?: string;
  region?: string;
  forcePathStyle?: boolean;
  credentials?: S3ClientConfig["credentials"];
  /**
   * Parts of a multipart upload are at least this (default 5 MiB, S3's minimum); clips no larger are one
   * PutObject. Only tests against a server that does not enforce S3's minimum set it lower.
   */
  minPartSize?: number;
  /** Use UploadPartCopy for pieces of at least minPartSize (default true; off by itself where NotImplemented). */
  copyParts?: boolean;
  /** One request to the store, at most (default 60 s; then it fails and the SDK retries, 3 attempts). */
  requestTimeoutMs?: number;
  /** Connecting to the store, at most (default 5 s). */
  connectTimeoutMs?: number;
}

const errorName = (error: unknown): string => (error as { name?: string }).name ?? "";
const httpStatus = (error: unknown): number | undefined => (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
const isNotFound = (error: unknown) => ["NoSuchKey", "NotFound", "NoSuchUpload"].includes(errorName(error)) || httpStatus(error) === 404;
const isNotImplemented = (error: unknown) => ["NotImplemented", "MethodNotAllowed"].includes(errorName(error)) || httpStatus(error) === 501 || httpStatus(error) === 405;

/** Anything the store answered that is not a SealcamError becomes E_STORAGE (no credentials, no bodies). */
function storageError(error: unknown): Error {
  if (isSealcamError(error)) return error;
  const name = errorName(error) || "Error";
  const status = httpStatus(error);
  const message = (error as Error).message ?? String(error);
  const out = new SealcamError("E_STORAGE", `the object store failed (${name}${status ? ` ${status}` : ""}: ${message}); check the store and retry`);
  (out as Error & { cause?: unknown }).cause = error;
  return out;
}

/** The first `length` bytes of a stream (the rest is not read: the source is destroyed). */
function firstBytes(source: Readable, length: number): Readable {
  return Readable.from((async function* () {
    let left = length;
    for await (const chunk of source as AsyncIterable<Buffer>) {
      if (chunk.length >= left) {
        yield chunk.subarray(0, left);
        return;
      }
      left -= chunk.length;
      yield chunk;
    }
  })(), { objectMode: false });
}

const pad = (n: number) => String(n).padStart(10, "0");

async function bodyBytes(body: unknown): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

interface Piece {
  name: string;
  key: string | null;
  length: number;
  sha256: string | null;
  bytes: Uint8Array | null;
  what: string;
}

export class S3BlobStore implements BlobStore {
  readonly kind = "s3" as const;
  readonly location: string;
  readonly client: S3Client;
  private readonly bucket: string;
  private readonly base: string;
  private readonly minPartSize: number;
  private copyParts: boolean;
  private multipartListing = true;

  private constructor(options: S3BlobStoreOptions) {
    this.bucket = options.bucket;
    this.base = options.prefix === "" ? "" : `${options.prefix}/`;
    this.location = `s3://${options.bucket}/${options.prefix}`;
    this.minPartSize = options.minPartSize ?? S3_MIN_PART;
    this.copyParts = options.copyParts ?? true;
    // An explicit endpoint (MinIO, Ceph RGW, s3rver) without a region in the environment signs for us-east-1.
    const region = options.region ?? (options.endpoint !== undefined && !process.env.AWS_REGION ? "us-east-1" : undefined);
    this.client = new S3Client({
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      ...(region === undefined ? {} : { region }),
      requestHandler: { connectionTimeout: options.connectTimeoutMs ?? 5000, requestTimeout: options.requestTimeoutMs ?? 60_000, throwOnRequestTimeout: true },
      ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
      forcePathStyle: options.forcePathStyle ?? false,
      // Checksums only where S3 requires them (DeleteObjects): plain bodies, no aws-chunked encoding,
      // which S3-compatible stores do not all speak. Each piece's SHA-256 is checked here instead.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
  }

  static open(options: S3BlobStoreOptions): S3BlobStore {
    if (options.minPartSize !== undefined && (!Number.isSafeInteger(options.minPartSize) || options.minPartSize < 1)) blobFail("E_ARGUMENT", "minPartSize must be a positive integer");
    return new S3BlobStore(options);
  }

  /**
   * Opens the store and checks that the bucket answers a listing under the prefix, so that a wrong name,
   * region or credentials show at start and not at the first upload.
   */
  static async connect(options: S3BlobStoreOptions): Promise<S3BlobStore> {
    const store = S3BlobStore.open(options);
    try {
      await store.client.send(new ListObjectsV2Command({ Bucket: store.bucket, Prefix: store.base, MaxKeys: 1 }));
      return store;
    } catch (error) {
      store.client.destroy();
      const name = errorName(error);
      const message = (error as Error).message ?? "";
      if (/region is missing/i.test(message)) blobFail("E_ARGUMENT", "no AWS region: set AWS_REGION (or give --s3-endpoint for a store that needs none)");
      if (name === "CredentialsProviderError" || /credential/i.test(message)) blobFail("E_ARGUMENT", "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE");
      if (name === "NoSuchBucket") blobFail("E_STORAGE", `the bucket ${JSON.stringify(store.bucket)} does not exist at the object store; create it or fix --blobs`);
      if (name === "AccessDenied" || name === "InvalidAccessKeyId" || name === "SignatureDoesNotMatch") blobFail("E_STORAGE", `the object store refused to list ${store.location} (${name}); check the credentials and the bucket policy`);
      throw storageError(error);
    }
  }

  private clipKey(id: string): string {
    return `${this.base}clips/${id}.sealed`;
  }
  private uploadPrefix(id: string): string {
    return `${this.base}uploads/${id}/`;
  }
  private headKey(id: string): string {
    return `${this.uploadPrefix(id)}head`;
  }
  private segmentKey(id: string, index: number): string {
    return `${this.uploadPrefix(id)}seg-${pad(index)}`;
  }

  async putHead(clipId: string, head: Uint8Array): Promise<"new" | "already"> {
    checkClipId(clipId);
    if (head.length === 0) blobFail("E_FORMAT", "the head is empty");
    try {
      const stored = (await this.getBytes(this.headKey(clipId))) ?? (await this.getBytes(this.clipKey(clipId), { start: 0, end: head.length - 1 }));
      if (stored !== null) {
        if (stored.length === head.length && constantTimeEqual(stored, head)) return "already";
        blobFail("E_CONFLICT", "a different clip with this id is stored");
      }
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.headKey(clipId), Body: Buffer.from(head), ContentLength: head.length }));
      return "new";
    } catch (error) {
      throw storageError(error);
    }
  }

  async putSegment(clipId: string, layout: UploadLayout, index: number, body: AsyncIterable<Uint8Array> | Uint8Array, length: number, sha256hex: string): Promise<void> {
    checkClipId(clipId);
    checkLayout(layout);
    checkSegmentIndex(index);
    if (!Number.isSafeInteger(length) || length <= 0) blobFail("E_FORMAT", "a segment's length must be a positive integer");
    // Held whole (a segment is at most 1 MiB + 16) so that only bytes whose hash was checked are ever put.
    const data = Buffer.alloc(length);
    let received = 0;
    const chunks: AsyncIterable<Uint8Array> | Uint8Array[] = body instanceof Uint8Array ? [body] : body;
    for await (const chunk of chunks) {
      if (received + chunk.length > length) blobFail("E_FORMAT", "the segment is longer than its declared length; nothing was recorded");
      data.set(chunk, received);
      received += chunk.length;
    }
    if (received !== length) blobFail("E_FORMAT", "the segment is shorter than its declared length; send it again");
    if (nodeCrypto.createHash("sha256").update(data).digest("hex") !== sha256hex) blobFail("E_AUTH", "the segment does not match its declared SHA-256; send it again");
    try {
      if (!(await this.exists(this.headKey(clipId)))) {
        if (await this.exists(this.clipKey(clipId))) blobFail("E_STATE", "the clip is complete; it takes no more segments");
        blobFail("E_STATE", "the clip's upload was lost; upload its head again");
      }
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.segmentKey(clipId, index), Body: data, ContentLength: length }));
    } catch (error) {
      throw storageError(error);
    }
  }

  async storedSegments(clipId: string): Promise<Map<number, number> | null> {
    checkClipId(clipId);
    try {
      const out = new Map<number, number>();
      const prefix = `${this.uploadPrefix(clipId)}seg-`;
      for await (const o of this.listObjects(prefix)) {
        const m = /^\d{10}$/.exec(o.key.slice(prefix.length));
        if (m) out.set(Number(m[0]), o.size);
      }
      return out;
    } catch (error) {
      throw storageError(error);
    }
  }

  async readHead(clipId: string, headLength: number): Promise<Uint8Array | null> {
    checkClipId(clipId);
    if (!Number.isSafeInteger(headLength) || headLength <= 0) blobFail("E_ARGUMENT", "head length must be a positive integer");
    try {
      // The head object goes only after the complete clip exists: head object first, then the clip.
      const head = (await this.getBytes(this.headKey(clipId))) ?? (await this.getBytes(this.clipKey(clipId), { start: 0, end: headLength - 1 }));
      return head !== null && head.length === headLength ? head : null;
    } catch (error) {
      throw storageError(error);
    }
  }

  async finalize(clipId: string, input: FinalizeInput): Promise<FinalizeResult> {
    checkClipId(clipId);
    const size = checkFinalizeInput(input);
    try {
      const done = await this.sameComplete(clipId, size, input.footer);
      if (done !== null) {
        if (!done) blobFail("E_CONFLICT", "the clip was completed with another footer");
        await this.deleteUpload(clipId);
        return { size, stored: "already" };
      }
      const stored = new Map<string, number>();
      for await (const o of this.listObjects(this.uploadPrefix(clipId))) stored.set(o.key, o.size);
      const pieces: Piece[] = [{ name: "the head", key: this.headKey(clipId), length: input.headLength, sha256: input.headSha256, bytes: null, what: "upload its head again" }];
      if (stored.get(this.headKey(clipId)) !== input.headLength) {
        if (await this.sameComplete(clipId, size, input.footer)) return { size, stored: "already" }; // completed meanwhile
        blobFail("E_STATE", "the clip's upload was lost; upload its head again");
      }
      for (const s of input.segments) {
        const key = this.segmentKey(clipId, s.index);
        if (stored.get(key) !== s.length) blobFail("E_STATE", `segment ${s.index} is missing from the store; upload it again`);
        pieces.push({ name: `segment ${s.index}`, key, length: s.length, sha256: s.sha256, bytes: null, what: "upload it again" });
      }
      pieces.push({ name: "the footer", key: null, length: input.footer.length, sha256: null, bytes: input.footer, what: "" });
      try {
        if (size <= this.minPartSize) await this.putWhole(clipId, pieces, size);
        else await this.putMultipart(clipId, pieces);
      } catch (error) {
        // Another node completed the clip meanwhile and removed the upload under this one's reads.
        if ((error as { code?: string }).code === "E_STATE" && (await this.sameComplete(clipId, size, input.footer))) return { size, stored: "already" };
        throw error;
      }
      await this.deleteUpload(clipId);
      return { size, stored: "new" };
    } catch (error) {
      throw storageError(error);
    }
  }

  async clipSize(clipId: string): Promise<number | null> {
    checkClipId(clipId);
    try {
      return await this.sizeOf(this.clipKey(clipId));
    } catch (error) {
      throw storageError(error);
    }
  }

  async openClip(clipId: string, range?: ByteRange): Promise<ClipStream | null> {
    checkClipId(clipId);
    try {
      const head = await this.headObject(this.clipKey(clipId));
      if (head === null) return null;
      const r = checkRange(range, head.size);
      // IfMatch: the object read is the one sized (a clip is never rewritten, but a delete may come between).
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.clipKey(clipId), Range: `bytes=${r.start}-${r.end}`, ...(head.etag ? { IfMatch: head.etag } : {}) }));
      const wanted = r.end - r.start + 1;
      const got = out.ContentLength ?? -1;
      const startsAt = /^bytes (\d+)-/.exec(out.ContentRange ?? "");
      if (got < wanted || (startsAt !== null && Number(startsAt[1]) !== r.start)) {
        (out.Body as Readable).destroy();
        blobFail("E_STORAGE", `the object store answered another range than bytes=${r.start}-${r.end}; check the store`);
      }
      // Some S3-compatible stores send more than a range asked for (s3rver: bytes=0-0 as the whole object).
      return { size: head.size, range: r, stream: got === wanted ? (out.Body as Readable) : firstBytes(out.Body as Readable, wanted) };
    } catch (error) {
      if (isNotFound(error) || httpStatus(error) === 412) return null;
      throw storageError(error);
    }
  }

  async deleteClip(clipId: string): Promise<void> {
    checkClipId(clipId);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.clipKey(clipId) }));
      await this.deleteUpload(clipId);
      for await (const m of this.listMultipart(this.clipKey(clipId))) {
        await this.abortMultipart(m.key, m.uploadId as string);
      }
    } catch (error) {
      throw storageError(error);
    }
  }

  async *list(): AsyncIterable<BlobEntry> {
    let upload: BlobEntry | null = null;
    try {
      for await (const o of this.listObjects(this.base)) {
        const rest = o.key.slice(this.base.length);
        const clip = /^clips\/([0-9a-f]{32})\.sealed$/.exec(rest);
        const part = /^uploads\/([0-9a-f]{32})\//.exec(rest);
        // An upload's objects are listed together (keys sort): one entry per upload, with its newest time.
        if (upload && (!part || part[1] !== upload.clipId)) {
          yield upload;
          upload = null;
        }
        if (clip) yield { kind: "clip", clipId: clip[1], key: o.key, lastModified: o.lastModified };
        else if (part) {
          if (upload) upload.lastModified = Math.max(upload.lastModified, o.lastModified);
          else upload = { kind: "upload", clipId: part[1], key: this.uploadPrefix(part[1]), lastModified: o.lastModified };
        }
      }
      if (upload) yield upload;
      for await (const m of this.listMultipart(`${this.base}clips/`)) yield m;
    } catch (error) {
      throw storageError(error);
    }
  }

  async removeEntry(entry: BlobEntry): Promise<void> {
    const id = entry.clipId ?? "";
    try {
      if (entry.kind === "clip" && entry.key === this.clipKey(id)) {
        await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: entry.key }));
      } else if (entry.kind === "upload" && entry.key === this.uploadPrefix(id)) {
        await this.deleteUpload(id);
      } else if (entry.kind === "multipart" && entry.uploadId !== undefined && entry.key.startsWith(`${this.base}clips/`)) {
        await this.abortMultipart(entry.key, entry.uploadId);
      } else {
        blobFail("E_ARGUMENT", `not an entry this store lists: ${JSON.stringify(entry.key)}`);
      }
    } catch (error) {
      throw storageError(error);
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  // ------------------------------------------------------------------------------------------ helpers

  private async headObject(key: string): Promise<{ size: number; etag?: string } | null> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { size: out.ContentLength ?? 0, etag: out.ETag };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  private async sizeOf(key: string): Promise<number | null> {
    return (await this.headObject(key))?.size ?? null;
  }

  private async exists(key: string): Promise<boolean> {
    return (await this.headObject(key)) !== null;
  }

  /** The object's bytes (or an inclusive range of them); null if there is no such object. */
  private async getBytes(key: string, range?: ByteRange): Promise<Buffer | null> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }));
      return await bodyBytes(out.Body);
    } catch (error) {
      if (isNotFound(error)) return null;
      if (httpStatus(error) === 416) return Buffer.alloc(0); // a range past the end: nothing there
      throw error;
    }
  }

  private async *listObjects(prefix: string): AsyncIterable<{ key: string; size: number; lastModified: number }> {
    let token: string | undefined;
    do {
      const out = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
      for (const o of out.Contents ?? []) {
        if (o.Key !== undefined) yield { key: o.Key, size: o.Size ?? 0, lastModified: o.LastModified?.getTime() ?? 0 };
      }
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
  }

  /** Unfinished multipart uploads under `prefix`; nothing where the store does not implement the listing. */
  private async *listMultipart(prefix: string): AsyncIterable<BlobEntry> {
    if (!this.multipartListing) return;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      let out;
      try {
        out = await this.client.send(new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: prefix, ...(keyMarker ? { KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker } : {}) }));
      } catch (error) {
        if (isNotImplemented(error)) {
          this.multipartListing = false;
          return;
        }
        throw error;
      }
      for (const u of out.Uploads ?? []) {
        const m = /([0-9a-f]{32})\.sealed$/.exec(u.Key ?? "");
        if (u.Key && u.UploadId) yield { kind: "multipart", clipId: m?.[1], key: u.Key, uploadId: u.UploadId, lastModified: u.Initiated?.getTime() ?? 0 };
      }
      if (!out.IsTruncated) return;
      keyMarker = out.NextKeyMarker;
      uploadIdMarker = out.NextUploadIdMarker;
    }
  }

  private async abortMultipart(key: string, uploadId: string): Promise<void> {
    try {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }));
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  /** Deletes every object of the upload (1000 keys per request). */
  private async deleteUpload(clipId: string): Promise<void> {
    let keys: string[] = [];
    const flush = async () => {
      if (keys.length === 0) return;
      const out = await this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }));
      const failed = (out.Errors ?? []).filter((e) => e.Code !== "NoSuchKey");
      if (failed.length > 0) blobFail("E_STORAGE", `the object store kept ${failed.length} of the upload's objects (${failed[0].Code}); the sweeper will retry`);
      keys = [];
    };
    for await (const o of this.listObjects(this.uploadPrefix(clipId))) {
      keys.push(o.key);
      if (keys.length === 1000) await flush();
    }
    await flush();
  }

  /** Whether clips/<id>.sealed is this clip (size and footer); null if there is none. */
  private async sameComplete(clipId: string, size: number, footer: Uint8Array): Promise<boolean | null> {
    const stored = await this.sizeOf(this.clipKey(clipId));
    if (stored === null) return null;
    if (stored !== size) return false;
    const tail = await this.getBytes(this.clipKey(clipId), { start: size - footer.length, end: size - 1 });
    return tail !== null && tail.length === footer.length && constantTimeEqual(tail, footer);
  }

  /** One piece's bytes, checked against its length and SHA-256 (E_STATE, naming the piece, if not). */
  private async readPiece(p: Piece): Promise<Uint8Array> {
    if (p.bytes) return p.bytes;
    const bytes = await this.getBytes(p.key as string);
    if (bytes === null || bytes.length !== p.length) blobFail("E_STATE", `${p.name} is missing from the store; ${p.what}`);
    if (p.sha256 !== null && nodeCrypto.createHash("sha256").update(bytes).digest("hex") !== p.sha256) blobFail("E_STATE", `${p.name} is damaged in the store; ${p.what}`);
    return bytes;
  }

  /**
   * The pieces' bytes in order, each checked against its length and SHA-256, READ_AHEAD objects in flight.
   * `skip(i)` pieces are not read (they are copied server-side).
   */
  private async *readPieces(pieces: Piece[], skip: (i: number) => boolean): AsyncIterable<{ index: number; bytes: Uint8Array | null }> {
    const inFlight = new Map<number, Promise<Uint8Array>>();
    const start = (i: number) => {
      if (i >= pieces.length || inFlight.has(i) || skip(i)) return;
      const promise = this.readPiece(pieces[i]);
      promise.catch(() => undefined); // awaited in order below; an early failure must not go unhandled
      inFlight.set(i, promise);
    };
    try {
      for (let i = 0; i < pieces.length; i++) {
        for (let j = i; j < Math.min(pieces.length, i + READ_AHEAD); j++) start(j);
        if (skip(i)) {
          yield { index: i, bytes: null };
          continue;
        }
        start(i); // skipped when the window passed it, but no longer skipped
        const bytes = await (inFlight.get(i) as Promise<Uint8Array>);
        inFlight.delete(i);
        yield { index: i, bytes };
      }
    } finally {
      await Promise.allSettled(inFlight.values());
    }
  }

  private async putWhole(clipId: string, pieces: Piece[], size: number): Promise<void> {
    const body = Buffer.alloc(size);
    let at = 0;
    for await (const { bytes } of this.readPieces(pieces, () => false)) {
      body.set(bytes as Uint8Array, at);
      at += (bytes as Uint8Array).length;
    }
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.clipKey(clipId), Body: body, ContentLength: size }));
  }

  private async putMultipart(clipId: string, pieces: Piece[]): Promise<void> {
    const key = this.clipKey(clipId);
    const created = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ContentType: "application/octet-stream" }));
    const uploadId = created.UploadId as string;
    const parts: CompletedPart[] = [];
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    const uploadPending = async () => {
      if (pendingBytes === 0) return;
      const body = Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      const PartNumber = parts.length + 1;
      const out = await this.client.send(new UploadPartCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber, Body: body, ContentLength: body.length }));
      parts.push({ PartNumber, ETag: out.ETag });
    };
    // A piece is copied server-side only where it can be a whole part by itself: big enough, with nothing
    // gathered before it (which would then be a part too small). Decided up front so it is not read.
    const copyPlan = new Set<number>();
    if (this.copyParts) {
      let gathered = 0;
      pieces.forEach((p, i) => {
        if (p.key !== null && gathered === 0 && p.length >= this.minPartSize) copyPlan.add(i);
        else gathered = (gathered + p.length) >= this.minPartSize ? 0 : gathered + p.length;
      });
    }
    try {
      for await (const { index, bytes: read } of this.readPieces(pieces, (i) => copyPlan.has(i))) {
        let bytes = read;
        if (bytes === null) {
          const PartNumber = parts.length + 1; // nothing is pending before a copied piece (see the plan)
          const etag = await this.copyPart(key, uploadId, pieces[index], PartNumber);
          if (etag !== null) {
            parts.push({ PartNumber, ETag: etag });
            continue;
          }
          copyPlan.clear(); // the store does not implement UploadPartCopy: read this piece and the rest
          bytes = await this.readPiece(pieces[index]);
        }
        pending.push(bytes);
        pendingBytes += bytes.length;
        if (pendingBytes >= this.minPartSize) await uploadPending();
      }
      await uploadPending();
      await this.client.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
    } catch (error) {
      await this.abortMultipart(key, uploadId).catch(() => undefined); // else the sweeper (or a lifecycle rule) aborts it
      throw error;
    }
  }

  /**
   * UploadPartCopy of one piece as part `partNumber`; returns its ETag, or null if the store does not
   * implement UploadPartCopy (then this store stops trying and reads pieces instead).
   */
  private async copyPart(key: string, uploadId: string, piece: Piece, partNumber: number): Promise<string | null> {
    try {
      const out = await this.client.send(new UploadPartCopyCommand({
        Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber: partNumber,
        CopySource: `${this.bucket}/${(piece.key as string).split("/").map(encodeURIComponent).join("/")}`,
      }));
      if (!out.CopyPartResult?.ETag) blobFail("E_STORAGE", "the object store answered UploadPartCopy without an ETag");
      return out.CopyPartResult.ETag;
    } catch (error) {
      if (isNotImplemented(error)) {
        this.copyParts = false;
        return null;
      }
      throw error;
    }
  }
}
