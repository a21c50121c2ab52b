/**
 * The files body of BlobStore (blobs.ts): clip bodies in the data folder, byte for byte the layout the cloud
 * has always written, so existing data folders keep working.
 *
 *   clips/<id>/clip      an upload: the head at 0, segment i at head + i * (segmentSize + 16), written in place
 *   clips/<id>.sealed    a complete clip (the upload's file, footer written, cut to size, renamed)
 *   clips/<id>/head, clips/<id>/seg-<n>   an upload begun by an older cloud; converted once into clips/<id>/clip
 *   clips/.tmp-*, clips/<id>/.tmp-*, tmp/up-*   leftovers of interrupted writes (listed as `temp`)
 *
 * Durability: a head is written to a temp file, fsynced, renamed, the folder fsynced; a segment is
 * fdatasynced before putSegment returns; finalize writes the footer, truncates, fsyncs, renames to
 * `.sealed` and fsyncs `clips/`, then removes `clips/<id>/`. A crash leaves either the upload (resumable:
 * finalize again), or the `.sealed` file plus perhaps the upload folder (finalize again answers "already"
 * and removes it; the sweeper finds a folder beside a complete clip too).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as nodeCrypto from "node:crypto";
import { constantTimeEqual } from "../../firmware/core/bytes";
import { fsyncDirAsync, writeFileAtomicAsync, writeHashedAt } from "./files";
import {
  blobFail, checkClipId, checkFinalizeInput, checkLayout, checkRange, checkSegmentIndex, segmentOffset,
  type BlobEntry, type BlobStore, type ByteRange, type ClipStream, type FinalizeInput, type FinalizeResult, type UploadLayout,
} from "./blobs";

const SEALED = /^([0-9a-f]{32})\.sealed$/;
const CLIP_DIR = /^[0-9a-f]{32}$/;
/** finalize re-reads the upload in chunks of this size to check every piece's hash. */
const VERIFY_CHUNK = 1024 * 1024;

/** Finalizes in progress in this process, by clip file. */
const finalizing = new Map<string, Promise<FinalizeResult>>();

const isMissing = (error: unknown) => (error as NodeJS.ErrnoException).code === "ENOENT";

async function exists(file: string): Promise<boolean> {
  try {
    await fs.promises.access(file);
    return true;
  } catch (error) {
    if (isMissing(error)) return false;
    throw error;
  }
}

async function readAt(handle: fs.promises.FileHandle, length: number, position: number): Promise<Buffer> {
  const out = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(out, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done === length ? out : out.subarray(0, done);
}

export class FileBlobStore implements BlobStore {
  readonly kind = "files" as const;
  readonly location: string;
  private readonly clipsDir: string;
  private readonly tmpDir: string;

  private constructor(readonly dataDir: string) {
    this.location = dataDir;
    this.clipsDir = path.join(dataDir, "clips");
    this.tmpDir = path.join(dataDir, "tmp");
  }

  static open(dataDir: string): FileBlobStore {
    const dir = path.resolve(dataDir);
    fs.mkdirSync(path.join(dir, "clips"), { recursive: true, mode: 0o700 });
    fs.mkdirSync(path.join(dir, "tmp"), { recursive: true, mode: 0o700 });
    return new FileBlobStore(dir);
  }

  private clipDir(id: string): string {
    return path.join(this.clipsDir, id);
  }
  private partFile(id: string): string {
    return path.join(this.clipsDir, id, "clip");
  }
  private sealedFile(id: string): string {
    return path.join(this.clipsDir, `${id}.sealed`);
  }

  async putHead(clipId: string, head: Uint8Array): Promise<"new" | "already"> {
    checkClipId(clipId);
    if (head.length === 0) blobFail("E_FORMAT", "the head is empty");
    // The upload, the complete clip, an upload begun by an older cloud (its head alone in clips/<id>/head).
    for (const [file, exact] of [[this.partFile(clipId), false], [this.sealedFile(clipId), false], [path.join(this.clipDir(clipId), "head"), true]] as const) {
      const stored = await this.readPrefix(file, head.length + (exact ? 1 : 0));
      if (stored === null) continue;
      if (stored.length === head.length && constantTimeEqual(stored, head)) return "already";
      blobFail("E_CONFLICT", "a different clip with this id is stored");
    }
    await writeFileAtomicAsync(this.partFile(clipId), head);
    return "new";
  }

  async putSegment(clipId: string, layout: UploadLayout, index: number, body: AsyncIterable<Uint8Array> | Uint8Array, length: number, sha256hex: string): Promise<void> {
    checkClipId(clipId);
    checkLayout(layout);
    checkSegmentIndex(index);
    if (!Number.isSafeInteger(length) || length <= 0) blobFail("E_FORMAT", "a segment's length must be a positive integer");
    // Opened and closed synchronously (an existing file, nothing to flush: the fdatasync is asynchronous);
    // the upload's file is looked for (or an older cloud's upload converted) only when it is not there.
    const open = (): number => fs.openSync(this.partFile(clipId), "r+");
    let fd: number;
    try {
      fd = open();
    } catch (error) {
      if (!isMissing(error) && (error as NodeJS.ErrnoException).code !== "ENOTDIR") throw error;
      await this.ensurePartFile(clipId, layout);
      try {
        fd = open();
      } catch (again) {
        if (isMissing(again)) blobFail("E_STATE", "the clip was completed or deleted meanwhile; check its status");
        throw again;
      }
    }
    try {
      await writeHashedAt(fd, body, segmentOffset(layout, index), length, sha256hex);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EFBIG" || code === "EINVAL") blobFail("E_LIMIT", "segment index is beyond what this cloud can store for one clip");
      throw error;
    } finally {
      fs.closeSync(fd);
    }
  }

  async storedSegments(clipId: string): Promise<Map<number, number> | null> {
    checkClipId(clipId);
    return null; // one sparse file: the database's rows say which segments are in it
  }

  async readHead(clipId: string, headLength: number): Promise<Uint8Array | null> {
    checkClipId(clipId);
    if (!Number.isSafeInteger(headLength) || headLength <= 0) blobFail("E_ARGUMENT", "head length must be a positive integer");
    // A clip completing meanwhile moves its head from the upload into the .sealed file: the upload, the
    // clip, then the upload again (a legacy upload is converted on its first segment, so read its head too).
    for (const file of [this.partFile(clipId), this.sealedFile(clipId), path.join(this.clipDir(clipId), "head"), this.partFile(clipId)]) {
      const head = await this.readPrefix(file, headLength);
      if (head !== null && head.length === headLength) return head;
    }
    return null;
  }

  async finalize(clipId: string, input: FinalizeInput): Promise<FinalizeResult> {
    checkClipId(clipId);
    const size = checkFinalizeInput(input);
    // One finalize of a clip at a time in this process (two would write their footers into one file).
    const key = this.sealedFile(clipId);
    for (let busy = finalizing.get(key); busy; busy = finalizing.get(key)) await busy.catch(() => undefined);
    const run = this.finalizeNow(clipId, input, size);
    finalizing.set(key, run);
    try {
      return await run;
    } finally {
      if (finalizing.get(key) === run) finalizing.delete(key);
    }
  }

  private async finalizeNow(clipId: string, input: FinalizeInput, size: number): Promise<FinalizeResult> {
    // Complete already (a crash after the rename but before the caller recorded it, or a lost reply).
    const already = async (): Promise<FinalizeResult | null> => {
      const sealed = await this.sameSealed(clipId, size, input.footer);
      if (sealed === null) return null;
      if (!sealed) blobFail("E_CONFLICT", "the clip was completed with another footer");
      await this.removeUploadDir(clipId);
      return { size, stored: "already" };
    };
    const done = await already();
    if (done) return done;
    try {
      const file = await this.ensurePartFile(clipId, input);
      const handle = await fs.promises.open(file, "r+");
      try {
        await this.verify(handle, input);
        await handle.write(input.footer, 0, input.footer.length, size - input.footer.length);
        await handle.truncate(size);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fs.promises.rename(file, this.sealedFile(clipId));
    } catch (error) {
      // Another process sharing this folder completed it meanwhile (the upload is gone, the clip is there).
      if (isMissing(error) || (error as { code?: string }).code === "E_STATE") {
        const raced = await already();
        if (raced) return raced;
      }
      throw error;
    }
    await fsyncDirAsync(this.clipsDir);
    await this.removeUploadDir(clipId);
    return { size, stored: "new" };
  }

  async clipSize(clipId: string): Promise<number | null> {
    checkClipId(clipId);
    try {
      return (await fs.promises.stat(this.sealedFile(clipId))).size;
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  /** clips/<id>.sealed opened for reading; null if there is none. */
  private async openSealed(clipId: string): Promise<fs.promises.FileHandle | null> {
    try {
      return await fs.promises.open(this.sealedFile(clipId), "r");
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  async openClip(clipId: string, range?: ByteRange): Promise<ClipStream | null> {
    checkClipId(clipId);
    const handle = await this.openSealed(clipId);
    if (!handle) return null;
    try {
      // Sized and streamed from the one open file: a delete meanwhile does not cut the stream short.
      const size = (await handle.stat()).size;
      const r = checkRange(range, size);
      const stream = handle.createReadStream({ start: r.start, end: r.end, autoClose: true });
      return { size, range: r, stream };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async deleteClip(clipId: string): Promise<void> {
    checkClipId(clipId);
    await fs.promises.rm(this.sealedFile(clipId), { force: true });
    await fs.promises.rm(this.clipDir(clipId), { recursive: true, force: true });
    await fsyncDirAsync(this.clipsDir);
  }

  async *list(): AsyncIterable<BlobEntry> {
    const mtime = async (p: string): Promise<number | null> => {
      try {
        return (await fs.promises.lstat(p)).mtimeMs;
      } catch (error) {
        if (isMissing(error)) return null;
        throw error;
      }
    };
    for (const name of await fs.promises.readdir(this.clipsDir)) {
      const p = path.join(this.clipsDir, name);
      const sealed = SEALED.exec(name);
      if (sealed) {
        const t = await mtime(p);
        if (t !== null) yield { kind: "clip", clipId: sealed[1], key: `clips/${name}`, lastModified: t };
      } else if (CLIP_DIR.test(name)) {
        let newest = await mtime(p);
        if (newest === null) continue;
        let inner: string[] = [];
        try {
          inner = await fs.promises.readdir(p);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "ENOTDIR" && !isMissing(error)) throw error;
        }
        for (const child of inner) {
          const t = await mtime(path.join(p, child));
          if (t === null) continue;
          if (child.startsWith(".tmp-")) yield { kind: "temp", key: `clips/${name}/${child}`, lastModified: t };
          else newest = Math.max(newest, t);
        }
        yield { kind: "upload", clipId: name, key: `clips/${name}`, lastModified: newest };
      } else if (name.startsWith(".tmp-")) {
        const t = await mtime(p);
        if (t !== null) yield { kind: "temp", key: `clips/${name}`, lastModified: t };
      }
    }
    for (const name of await fs.promises.readdir(this.tmpDir).catch((error: unknown) => (isMissing(error) ? [] : Promise.reject(error)))) {
      if (!name.startsWith("up-")) continue;
      const t = await mtime(path.join(this.tmpDir, name));
      if (t !== null) yield { kind: "temp", key: `tmp/${name}`, lastModified: t };
    }
  }

  async removeEntry(entry: BlobEntry): Promise<void> {
    const key = entry.key;
    const ok =
      (entry.kind === "clip" && SEALED.test(key.replace(/^clips\//, "")) && key.startsWith("clips/")) ||
      (entry.kind === "upload" && /^clips\/[0-9a-f]{32}$/.test(key)) ||
      (entry.kind === "temp" && (/^clips\/(?:[0-9a-f]{32}\/)?\.tmp-[^/]+$/.test(key) || /^tmp\/up-[^/]+$/.test(key)));
    if (!ok) blobFail("E_ARGUMENT", `not an entry this store lists: ${JSON.stringify(key)}`);
    const p = path.join(this.dataDir, ...key.split("/"));
    await fs.promises.rm(p, { recursive: true, force: true });
    await fsyncDirAsync(path.dirname(p));
  }

  async close(): Promise<void> {
    // nothing held open between calls
  }

  // ------------------------------------------------------------------------------------------ helpers

  /** Up to `length` bytes from the start of `file`; null if there is no such file. */
  private async readPrefix(file: string, length: number): Promise<Buffer | null> {
    let handle: fs.promises.FileHandle;
    try {
      handle = await fs.promises.open(file, "r");
    } catch (error) {
      if (isMissing(error) || (error as NodeJS.ErrnoException).code === "ENOTDIR") return null;
      throw error;
    }
    try {
      return await readAt(handle, length, 0);
    } finally {
      await handle.close();
    }
  }

  /**
   * The upload's file; an upload begun by an older cloud (clips/<id>/head and seg-<n> files) is converted
   * once into the one-file layout. E_STATE if there is no upload.
   */
  private async ensurePartFile(clipId: string, layout: UploadLayout): Promise<string> {
    const file = this.partFile(clipId);
    if (await exists(file)) return file;
    const dir = this.clipDir(clipId);
    const legacyHead = path.join(dir, "head");
    if (!(await exists(legacyHead))) {
      if (await exists(this.sealedFile(clipId))) blobFail("E_STATE", "the clip is complete; it takes no more segments");
      blobFail("E_STATE", "the clip's upload was lost; upload its head again");
    }
    const convert = `${file}.tmp-convert`;
    const handle = await fs.promises.open(convert, "w", 0o600);
    try {
      const head = await fs.promises.readFile(legacyHead);
      await handle.write(head, 0, layout.headLength, 0);
      for (const name of await fs.promises.readdir(dir)) {
        const m = /^seg-(0|[1-9]\d{0,9})$/.exec(name);
        if (!m) continue;
        const bytes = await fs.promises.readFile(path.join(dir, name));
        await handle.write(bytes, 0, bytes.length, segmentOffset(layout, Number(m[1])));
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.promises.rename(convert, file);
    await fsyncDirAsync(dir);
    return file;
  }

  /** Every piece of the upload is there and hashes to its record; E_STATE (nothing changed) if not. */
  private async verify(handle: fs.promises.FileHandle, input: FinalizeInput): Promise<void> {
    const size = (await handle.stat()).size;
    const pieces = [{ name: "the head", offset: 0, length: input.headLength, sha256: input.headSha256, what: "upload its head again" }];
    input.segments.forEach((s) => pieces.push({ name: `segment ${s.index}`, offset: segmentOffset(input, s.index), length: s.length, sha256: s.sha256, what: "upload it again" }));
    for (const piece of pieces) if (piece.offset + piece.length > size) blobFail("E_STATE", `${piece.name} is missing from the store; ${piece.what}`);
    // The pieces lie end to end from offset 0: read in large sequential chunks (one buffer), each chunk's
    // bytes hashed into the piece(s) they belong to.
    const end = pieces[pieces.length - 1].offset + pieces[pieces.length - 1].length;
    const buffer = Buffer.allocUnsafe(Math.min(VERIFY_CHUNK, end));
    let p = 0;
    let hash = nodeCrypto.createHash("sha256");
    for (let at = 0; at < end;) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, end - at), at);
      if (bytesRead === 0) blobFail("E_STATE", `${pieces[p].name} is missing from the store; ${pieces[p].what}`);
      let from = 0;
      while (from < bytesRead) {
        const piece = pieces[p];
        const take = Math.min(bytesRead - from, piece.offset + piece.length - (at + from));
        hash.update(buffer.subarray(from, from + take));
        from += take;
        if (at + from === piece.offset + piece.length) {
          if (hash.digest("hex") !== piece.sha256) blobFail("E_STATE", `${piece.name} is missing or damaged in the store; ${piece.what}`);
          p++;
          hash = nodeCrypto.createHash("sha256");
        }
      }
      at += bytesRead;
    }
  }

  /** Whether clips/<id>.sealed is this clip (size and footer); null if there is none. */
  private async sameSealed(clipId: string, size: number, footer: Uint8Array): Promise<boolean | null> {
    const handle = await this.openSealed(clipId);
    if (!handle) return null;
    try {
      if ((await handle.stat()).size !== size) return false;
      const tail = await readAt(handle, footer.length, size - footer.length);
      return tail.length === footer.length && constantTimeEqual(tail, footer);
    } finally {
      await handle.close();
    }
  }

  private async removeUploadDir(clipId: string): Promise<void> {
    await fs.promises.rm(this.clipDir(clipId), { recursive: true, force: true });
    await fsyncDirAsync(this.clipsDir);
  }
}
