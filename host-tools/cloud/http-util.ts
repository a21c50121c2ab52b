/**
 * Small HTTP helpers for the cloud: bounded body reading, JSON replies, typed errors as 4xx JSON
 * `{code, message}`, and strict field validation. Nothing here touches storage.
 */
import * as fs from "node:fs";
import * as nodeCrypto from "node:crypto";
import * as path from "node:path";
import { pipeline } from "node:stream/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { fromBase64Url } from "../../firmware/core/bytes";
import { SealcamError, fail, isSealcamError, type ErrorCode } from "../../firmware/core/errors";

/** Bodies of requests made with a phone session (checked before the body is read). */
export const JSON_LIMIT = 256 * 1024;
/** Bodies of requests anyone may make (create an account, sign in). */
export const PUBLIC_JSON_LIMIT = 4 * 1024;

const STATUS: Partial<Record<ErrorCode, number>> = {
  E_FORMAT: 400, E_ARGUMENT: 400, E_VERSION: 400, E_CERT: 400, E_SIGNATURE: 400, E_ROSTER: 400, E_SEGMENT: 400,
  E_TRUNCATED: 400, E_TRAILING: 400,
  E_LIMIT: 413, E_AUTH: 401, E_NOT_FOUND: 404, E_CONFLICT: 409, E_STATE: 409, E_RATE_LIMIT: 429,
};

export class HttpError extends SealcamError {
  readonly status: number;
  /** Seconds, sent as Retry-After (429 replies). */
  readonly retryAfter: number | undefined;
  constructor(status: number, code: ErrorCode, message: string, retryAfter?: number) {
    super(code, message);
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

export function httpFail(status: number, code: ErrorCode, message: string): never {
  throw new HttpError(status, code, message);
}

/** 429 E_RATE_LIMIT with a Retry-After of `seconds` (at least 1). */
export function rateLimited(message: string, seconds: number): never {
  throw new HttpError(429, "E_RATE_LIMIT", message, Math.max(1, Math.ceil(seconds)));
}

export function sendJson(res: ServerResponse, status: number, value: unknown, extra: Record<string, string> = {}): void {
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(status, { ...extra, "content-type": "application/json", "content-length": body.length, "cache-control": "no-store" });
  res.end(body);
}

/** Streams a stored clip file. */
export function sendFile(res: ServerResponse, file: string, size: number): void {
  res.writeHead(200, { "content-type": "application/octet-stream", "content-length": size, "cache-control": "no-store" });
  const stream = fs.createReadStream(file);
  stream.on("error", () => res.destroy());
  stream.pipe(res);
}

/** What the client is told about a failure: a typed 4xx, or for anything unexpected only 500 E_INTERNAL. */
export function describeError(error: unknown): { status: number; code: string; message: string; retryAfter?: number } {
  if (error instanceof HttpError) return { status: error.status, code: error.code, message: error.message, retryAfter: error.retryAfter };
  if (isSealcamError(error) && STATUS[error.code]) return { status: STATUS[error.code] as number, code: error.code, message: error.message };
  return { status: 500, code: "E_INTERNAL", message: "internal error" };
}

export function sendError(res: ServerResponse, error: unknown): void {
  const reply = describeError(error);
  sendJson(res, reply.status, { code: reply.code, message: reply.message }, reply.retryAfter ? { "retry-after": String(reply.retryAfter) } : {});
}

/** Reads the whole body, refusing (413 E_LIMIT) anything longer than `limit` before buffering it. */
export function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const declared = req.headers["content-length"];
    if (declared !== undefined && Number(declared) > limit) {
      req.resume();
      reject(new HttpError(413, "E_LIMIT", `request body is larger than ${limit} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let length = 0;
    let failed = false;
    req.on("data", (chunk: Buffer) => {
      if (failed) return;
      length += chunk.length;
      if (length > limit) {
        failed = true;
        reject(new HttpError(413, "E_LIMIT", `request body is larger than ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (!failed) resolve(new Uint8Array(Buffer.concat(chunks)));
    });
    req.on("error", (e) => {
      if (!failed) reject(e);
    });
  });
}

/**
 * The body length a request declares, checked before a byte of the body is read: chunked bodies are refused
 * (411), a Content-Length over `limit` is 413. No Content-Length and no Transfer-Encoding means no body.
 */
export function declaredLength(req: IncomingMessage, limit: number): number {
  if (req.headers["transfer-encoding"] !== undefined) httpFail(411, "E_FORMAT", "send the body with a Content-Length (chunked bodies are not accepted)");
  const text = req.headers["content-length"];
  if (text === undefined) return 0;
  if (!/^\d{1,15}$/.test(text)) httpFail(400, "E_FORMAT", "bad Content-Length");
  const length = Number(text);
  if (length > limit) httpFail(413, "E_LIMIT", `request body is larger than ${limit} bytes`);
  return length;
}

const sha256hexOf = (data: Uint8Array) => nodeCrypto.createHash("sha256").update(data).digest("hex");

function bodyMismatch(): never {
  return httpFail(401, "E_AUTH", "the body does not match its signed x-sealcam-content-sha256; nothing was stored");
}

/**
 * Reads a small body (the caller has checked `length` against a small limit) and checks it against the
 * declared lower-case hex SHA-256, when one is given.
 */
export async function receiveBody(req: IncomingMessage, length: number, sha256hex?: string): Promise<Uint8Array> {
  const raw = await readBody(req, length);
  if (raw.length !== length) httpFail(400, "E_FORMAT", "body length differs from Content-Length");
  if (sha256hex !== undefined && sha256hexOf(raw) !== sha256hex) bodyMismatch();
  return raw;
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
 * Streams a body of `length` bytes into the existing file `file` at `offset` while hashing it, then
 * fdatasyncs it. Writes are asynchronous (the event loop keeps serving): a chunk is written as it arrives,
 * and chunks arriving while a write is in flight are gathered into the next one (one vectored write; at most
 * about WRITE_GATHER bytes in memory). If the stream breaks, or the length or SHA-256 differ from what was
 * declared, it throws; the bytes written at `offset` are then in no row's range (the caller records a
 * segment only after this returns), and a later upload of that segment overwrites them.
 */
export async function receiveAt(req: IncomingMessage, file: string, offset: number, length: number, sha256hex: string): Promise<void> {
  const hash = nodeCrypto.createHash("sha256");
  // Opened and closed synchronously: an existing file, no data to flush (the fdatasync below is asynchronous).
  const fd = fs.openSync(file, "r+");
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
    for await (const chunk of req as AsyncIterable<Buffer>) {
      if (received + chunk.length > length) httpFail(400, "E_FORMAT", "body is longer than Content-Length");
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
    if (received !== length) httpFail(400, "E_FORMAT", "body length differs from Content-Length");
    if (hash.digest("hex") !== sha256hex) bodyMismatch();
    await fdatasync(fd);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EFBIG" || code === "EINVAL") httpFail(413, "E_LIMIT", "segment index is beyond what this cloud can store for one clip");
    throw error;
  } finally {
    while (writing) await writing;
    fs.closeSync(fd);
  }
}

export type Json = Record<string, unknown>;

export function parseJsonObject(bytes: Uint8Array): Json {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch {
    return httpFail(400, "E_FORMAT", "request body is not valid JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) httpFail(400, "E_FORMAT", "request body must be a JSON object");
  return value as Json;
}

/** Refuses unknown fields, so a typo never silently does nothing. */
export function onlyFields(body: Json, allowed: string[]): void {
  for (const key of Object.keys(body)) if (!allowed.includes(key)) httpFail(400, "E_FORMAT", `unknown field '${key}'`);
}

export function str(body: Json, name: string, pattern: RegExp, optional = false): string {
  const value = body[name];
  if (value === undefined && optional) return "";
  if (typeof value !== "string" || !pattern.test(value)) httpFail(400, "E_FORMAT", `field '${name}' is missing or malformed`);
  return value;
}

/** A base64url field decoded, between min and max bytes. */
export function bin(body: Json, name: string, min: number, max: number): Uint8Array {
  const value = body[name];
  if (typeof value !== "string" || value.length > Math.ceil((max * 4) / 3) + 4) httpFail(400, "E_FORMAT", `field '${name}' is missing or too long`);
  let bytes: Uint8Array;
  try {
    bytes = fromBase64Url(value);
  } catch {
    return httpFail(400, "E_FORMAT", `field '${name}' is not base64url`);
  }
  if (bytes.length < min || bytes.length > max) httpFail(400, "E_FORMAT", `field '${name}' has the wrong length`);
  return bytes;
}

export function obj(body: Json, name: string): Json {
  const value = body[name];
  if (typeof value !== "object" || value === null || Array.isArray(value)) httpFail(400, "E_FORMAT", `field '${name}' must be an object`);
  return value as Json;
}

/** Runs `fn`, turning parse/verification failures of client data into 400s with their own code. */
export function clientCheck<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof HttpError) throw error;
    if (isSealcamError(error)) throw new HttpError(STATUS[error.code] ?? 400, error.code, error.message);
    throw error;
  }
}

export { fail };
