/**
 * File writes for clip bodies: atomic writes (temp file, fsync, rename, fsync the directory) and a body
 * streamed to its offset in an open file while hashed.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as nodeCrypto from "node:crypto";
import { SealcamError } from "../../firmware/core/errors";

export function writeFileAtomic(file: string, data: Uint8Array): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.tmp-${process.pid}-${nodeCrypto.randomBytes(6).toString("hex")}`);
  const fd = fs.openSync(tmp, "wx", 0o600);
  try {
    let offset = 0;
    while (offset < data.length) offset += fs.writeSync(fd, data, offset, data.length - offset);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.renameSync(tmp, file);
  } catch (error) {
    fs.rmSync(tmp, { force: true });
    throw error;
  }
  fsyncDir(dir);
}

export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}


/** writeFileAtomic without blocking the event loop (the fsyncs run on libuv's thread pool). */
export async function writeFileAtomicAsync(file: string, data: Uint8Array): Promise<void> {
  const dir = path.dirname(file);
  await fs.promises.mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.tmp-${process.pid}-${nodeCrypto.randomBytes(6).toString("hex")}`);
  const handle = await fs.promises.open(tmp, "wx", 0o600);
  try {
    let offset = 0;
    while (offset < data.length) offset += (await handle.write(data, offset, data.length - offset)).bytesWritten;
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fs.promises.rename(tmp, file);
  } catch (error) {
    await fs.promises.rm(tmp, { force: true });
    throw error;
  }
  await fsyncDirAsync(dir);
}

export async function fsyncDirAsync(dir: string): Promise<void> {
  const handle = await fs.promises.open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** At most this many received bytes wait for the write in flight before reading pauses. */
const WRITE_GATHER = 256 * 1024;

// The callback forms (cheaper than FileHandle's promises; each is one job on libuv's thread pool).
const writevAt = (fd: number, chunks: Buffer[], position: number) =>
  new Promise<number>((resolve, reject) => fs.writev(fd, chunks, position, (error, n) => (error ? reject(error) : resolve(n))));
const fdatasync = (fd: number) => new Promise<void>((resolve, reject) => fs.fdatasync(fd, (error) => (error ? reject(error) : resolve())));

/** Writes `chunks` (in order) at `position`, all of them: one vectored write, continued if it came up short. */
async function writeAllAt(fd: number, chunks: Buffer[], bytes: number, position: number): Promise<void> {
  const written = await writevAt(fd, chunks, position);
  if (written === bytes) return;
  const rest = Buffer.concat(chunks, bytes).subarray(written);
  for (let done = 0; done < rest.length;) done += await writevAt(fd, [rest.subarray(done)], position + written + done);
}

/**
 * Streams `body` (`length` bytes) into the open file `fd` at `offset` while hashing it, then fdatasyncs it.
 * Writes are asynchronous (the event loop keeps serving): a chunk is written as it arrives, and chunks
 * arriving while a write is in flight are gathered into the next one (one vectored write; at most about
 * WRITE_GATHER bytes in memory). Throws E_FORMAT if the body is longer or shorter than `length`, E_AUTH if
 * its SHA-256 is not `sha256hex`; the bytes written at `offset` are then in no record's range (the caller
 * records the segment only after this returns) and a later write of that segment overwrites them. I/O
 * errors are thrown as they are (the caller decides what they mean).
 */
export async function writeHashedAt(fd: number, body: AsyncIterable<Uint8Array> | Uint8Array, offset: number, length: number, sha256hex: string): Promise<void> {
  const hash = nodeCrypto.createHash("sha256");
  let received = 0;
  let gathered: Buffer[] = [];
  let gatheredBytes = 0;
  let writtenUpTo = offset;
  let writing: Promise<void> | null = null;
  let writeError: unknown = null; // a failed write stops all further writes; thrown at the next check
  const pump = async () => {
    try {
      while (gatheredBytes > 0) {
        const chunks = gathered;
        const bytes = gatheredBytes;
        gathered = [];
        gatheredBytes = 0;
        await writeAllAt(fd, chunks, bytes, writtenUpTo);
        writtenUpTo += bytes;
      }
    } catch (error) {
      writeError = error ?? new Error("write failed");
    } finally {
      writing = null;
    }
  };
  const startWriting = () => {
    if (!writing && !writeError) writing = pump();
  };
  try {
    const chunks: AsyncIterable<Uint8Array> | Uint8Array[] = body instanceof Uint8Array ? [body] : body;
    for await (const c of chunks) {
      if (received + c.length > length) throw new SealcamError("E_FORMAT", "the body is longer than its declared length; nothing was stored");
      const chunk = Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.length);
      hash.update(chunk);
      gathered.push(chunk);
      gatheredBytes += chunk.length;
      received += chunk.length;
      if (writeError) throw writeError;
      startWriting();
      if (gatheredBytes >= WRITE_GATHER && writing) await writing;
    }
    while (writing) await writing;
    if (writeError) throw writeError;
    if (received !== length) throw new SealcamError("E_FORMAT", "the body is shorter than its declared length; send it again");
    if (hash.digest("hex") !== sha256hex) throw new SealcamError("E_AUTH", "the body does not match its declared SHA-256; nothing was stored, send it again");
    await fdatasync(fd);
  } finally {
    while (writing) await writing;
  }
}
