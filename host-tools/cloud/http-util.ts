/**
 * Small HTTP helpers for the cloud: bounded body reading, JSON replies, typed errors as 4xx JSON
 * `{code, message}`, and strict field validation. Nothing here touches storage.
 */
import * as fs from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { fromBase64Url } from "../../firmware/core/bytes";
import { SealcamError, fail, isSealcamError, type ErrorCode } from "../../firmware/core/errors";

export const JSON_LIMIT = 256 * 1024;

const STATUS: Partial<Record<ErrorCode, number>> = {
  E_FORMAT: 400, E_ARGUMENT: 400, E_VERSION: 400, E_CERT: 400, E_SIGNATURE: 400, E_ROSTER: 400, E_SEGMENT: 400,
  E_TRUNCATED: 400, E_TRAILING: 400,
  E_LIMIT: 413, E_AUTH: 401, E_NOT_FOUND: 404, E_CONFLICT: 409, E_STATE: 409, E_RATE_LIMIT: 429,
};

export class HttpError extends SealcamError {
  readonly status: number;
  constructor(status: number, code: ErrorCode, message: string) {
    super(code, message);
    this.status = status;
  }
}

export function httpFail(status: number, code: ErrorCode, message: string): never {
  throw new HttpError(status, code, message);
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(status, { "content-type": "application/json", "content-length": body.length, "cache-control": "no-store" });
  res.end(body);
}

/** Streams a stored clip file. */
export function sendFile(res: ServerResponse, file: string, size: number): void {
  res.writeHead(200, { "content-type": "application/octet-stream", "content-length": size, "cache-control": "no-store" });
  const stream = fs.createReadStream(file);
  stream.on("error", () => res.destroy());
  stream.pipe(res);
}

export function sendError(res: ServerResponse, error: unknown): void {
  if (error instanceof HttpError) return sendJson(res, error.status, { code: error.code, message: error.message });
  if (isSealcamError(error)) return sendJson(res, STATUS[error.code] ?? 500, { code: STATUS[error.code] ? error.code : "E_INTERNAL", message: STATUS[error.code] ? error.message : "internal error" });
  sendJson(res, 500, { code: "E_INTERNAL", message: "internal error" });
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
