/**
 * Camera-authenticated cloud requests. The camera signs every request with its certified P-256 key
 * (ECDSA-P256-SHA256, 64-byte r||s) over this canonical string:
 *
 *   "sealcam-v1-request\n" + METHOD + "\n" + path-with-query + "\n" + timestamp + "\n" + nonce + "\n"
 *     + hex(SHA-256(body))
 *
 * and sends five headers: x-sealcam-camera (camera id), x-sealcam-timestamp (ms since epoch, decimal),
 * x-sealcam-nonce (16 random bytes, base64url), x-sealcam-signature (base64url) and
 * x-sealcam-content-sha256 (lower-case hex of the body's SHA-256, the same value the signature covers). The
 * last one lets the cloud check the signature from the headers alone, before it reads a byte of the body;
 * it then hashes the body as it arrives and refuses it if it differs. The cloud checks the signature with the
 * camera's registered certificate, the timestamp window and that the nonce is new (replay cache in SQLite,
 * host side). Pure TypeScript over the Crypto interface; runs on the camera.
 */
import type { Crypto, P256PrivateKey } from "../platform/crypto";
import { asciiBytes, fromBase64Url, fromHex, toBase64Url, toHex } from "./bytes";
import { fail } from "./errors";

export const REQUEST_AUTH_PREFIX = "sealcam-v1-request";
export const HEADER_CAMERA = "x-sealcam-camera";
export const HEADER_TIMESTAMP = "x-sealcam-timestamp";
export const HEADER_NONCE = "x-sealcam-nonce";
export const HEADER_SIGNATURE = "x-sealcam-signature";
export const HEADER_CONTENT_SHA256 = "x-sealcam-content-sha256";
/** Requests whose timestamp is further than this from the verifier's clock are refused. */
export const REQUEST_WINDOW_MS = 5 * 60 * 1000;

const CAMERA_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;
const METHOD = /^[A-Z]{3,7}$/;
const PATH = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/%?]{0,1023}$/;

export function isCameraId(text: string): boolean {
  return CAMERA_ID.test(text);
}

/** The exact bytes that are signed. */
export function canonicalRequest(method: string, path: string, timestamp: number, nonce: string, bodyHash: Uint8Array): Uint8Array {
  if (!METHOD.test(method)) fail("E_FORMAT", "request-auth: bad method");
  if (!PATH.test(path)) fail("E_FORMAT", "request-auth: bad path");
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) fail("E_FORMAT", "request-auth: bad timestamp");
  if (bodyHash.length !== 32) fail("E_ARGUMENT", "request-auth: body hash must be 32 bytes");
  return asciiBytes(
    REQUEST_AUTH_PREFIX + "\n" + method + "\n" + path + "\n" + String(timestamp) + "\n" + nonce + "\n" + toHex(bodyHash),
  );
}

export interface SignRequestInput {
  cameraId: string;
  method: string;
  /** Path and query exactly as sent ("/v1/clips/abc/segments/3"). */
  path: string;
  /** The body, or its SHA-256 (`bodyHash`) when streaming. */
  body?: Uint8Array;
  bodyHash?: Uint8Array;
  /** ms since epoch (the camera's clock). */
  timestamp: number;
}

/** The camera side: returns the five headers to send with the request. */
export function signRequest(crypto: Crypto, key: P256PrivateKey, input: SignRequestInput): Record<string, string> {
  if (!isCameraId(input.cameraId)) fail("E_ARGUMENT", "request-auth: bad camera id");
  const bodyHash = input.bodyHash ?? crypto.sha256(input.body ?? new Uint8Array(0));
  const nonce = toBase64Url(crypto.randomBytes(16));
  const message = canonicalRequest(input.method, input.path, input.timestamp, nonce, bodyHash);
  const signature = crypto.ecdsaP256Sign(key, message);
  return {
    [HEADER_CAMERA]: input.cameraId,
    [HEADER_TIMESTAMP]: String(input.timestamp),
    [HEADER_NONCE]: nonce,
    [HEADER_SIGNATURE]: toBase64Url(signature),
    [HEADER_CONTENT_SHA256]: toHex(bodyHash),
  };
}

export interface RequestAuthHeaders {
  cameraId: string;
  timestamp: number;
  nonce: string;
  signature: Uint8Array;
  /** The SHA-256 of the body the camera declares (and signs); the verifier must check the body against it. */
  bodyHash: Uint8Array;
}

/** Reads and syntax-checks the five headers (lower-case names); throws E_AUTH when any is missing or bad. */
export function parseRequestAuthHeaders(headers: Record<string, string | string[] | undefined>): RequestAuthHeaders {
  const one = (name: string): string => {
    const value = headers[name];
    if (typeof value !== "string" || value.length === 0 || value.length > 200) fail("E_AUTH", `missing or bad ${name} header`);
    return value;
  };
  const cameraId = one(HEADER_CAMERA);
  if (!isCameraId(cameraId)) fail("E_AUTH", "bad camera id");
  const timestampText = one(HEADER_TIMESTAMP);
  if (!/^(0|[1-9]\d{0,15})$/.test(timestampText)) fail("E_AUTH", "bad timestamp");
  const nonce = one(HEADER_NONCE);
  if (!/^[A-Za-z0-9_-]{22}$/.test(nonce)) fail("E_AUTH", "bad nonce");
  let signature: Uint8Array;
  try {
    signature = fromBase64Url(one(HEADER_SIGNATURE));
  } catch {
    return fail("E_AUTH", "bad signature encoding");
  }
  if (signature.length !== 64) fail("E_AUTH", "bad signature length");
  const hashText = one(HEADER_CONTENT_SHA256);
  if (!/^[0-9a-f]{64}$/.test(hashText)) fail("E_AUTH", `bad ${HEADER_CONTENT_SHA256} header (64 lower-case hex characters)`);
  return { cameraId, timestamp: Number(timestampText), nonce, signature, bodyHash: fromHex(hashText) };
}

/**
 * The cloud side (minus the replay cache, which needs storage): checks the timestamp window and the
 * signature with the camera's public key. Throws E_AUTH.
 */
export function verifyRequest(
  crypto: Crypto,
  publicKey: Uint8Array,
  auth: RequestAuthHeaders,
  request: { method: string; path: string; bodyHash: Uint8Array },
  now: number,
  windowMs: number = REQUEST_WINDOW_MS,
): void {
  if (Math.abs(now - auth.timestamp) > windowMs) fail("E_AUTH", "request timestamp is outside the allowed window (check the camera clock)");
  const message = canonicalRequest(request.method, request.path, auth.timestamp, auth.nonce, request.bodyHash);
  if (!crypto.ecdsaP256Verify(publicKey, message, auth.signature)) fail("E_AUTH", "request signature is invalid");
}
