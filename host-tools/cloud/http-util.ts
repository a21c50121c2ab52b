/**
 * Small HTTP helpers for the cloud: bounded body reading, JSON replies, typed errors as 4xx JSON
 * `{code, message}`, and strict field validation. Nothing here touches storage.
 */
import * as nodeCrypto from "node:crypto";
import { pipeline } from "node:stream/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Readable } from "node:stream";
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
  // The blob store (or its network) failed: nothing was recorded, and the same request may well succeed soon.
  E_STORAGE: 503,
};
/** Retry-After (seconds) of a 503 E_STORAGE: a store outage is retryable (cameras retry 5xx anyway). */
export const STORAGE_RETRY_AFTER = 5;

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

/** Streams a stored clip (`size` bytes, from the blob store); a failure mid-way cuts the connection. */
export function sendStream(res: ServerResponse, stream: Readable, size: number): void {
  res.writeHead(200, { "content-type": "application/octet-stream", "content-length": size, "cache-control": "no-store" });
  pipeline(stream, res).catch(() => res.destroy());
}

/** What the client is told about a failure: a typed 4xx, or for anything unexpected only 500 E_INTERNAL. */
export function describeError(error: unknown): { status: number; code: string; message: string; retryAfter?: number } {
  if (error instanceof HttpError) return { status: error.status, code: error.code, message: error.message, retryAfter: error.retryAfter };
  if (isSealcamError(error) && STATUS[error.code]) {
    return { status: STATUS[error.code] as number, code: error.code, message: error.message, ...(error.code === "E_STORAGE" ? { retryAfter: STORAGE_RETRY_AFTER } : {}) };
  }
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
