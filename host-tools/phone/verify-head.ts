/**
 * What a phone may believe about a clip before (or without) opening it: the head alone, verified.
 *
 * A clip's head (preamble, header, camera signature; docs/FORMAT.md §3) is signed by the camera. The phone
 * trusts it only when the camera certificate whose SHA-256 is the header's `cert` chains to the phone's
 * pinned account root, names the header's camera id as its CN and holds a P-256 key under which the head
 * signature verifies. Then clip id, camera id, sequence, start time, content type, segment size and roster
 * version are facts; everything else the cloud says about a clip (size, upload time, "complete") is not.
 *
 * `cameraIdentity` is the certificate check the opener also uses (Phone.open), so listing and opening agree.
 */
import { constantTimeEqual, fromBase64Url, toHex } from "../../firmware/core/bytes";
import { fail } from "../../firmware/core/errors";
import type { ClipHeader } from "../../firmware/core/clip/header";
import { parseClipHead } from "../../firmware/core/clip/head";
import type { CameraIdentity } from "../../firmware/core/clip/opener";
import { parseCertificate, verifyChain, type Certificate } from "../../firmware/core/x509";
import type { Crypto } from "../../firmware/platform/crypto";

/** A camera certificate as `GET /v1/account` lists it (`cameraCertificates[]`): untrusted until verified. */
export interface ListedCameraCertificate {
  certificate: string; // base64url DER
}

/** The signed facts of a clip head. */
export interface VerifiedClipHead {
  clipId: string; // 32 lower-case hex characters
  cameraId: string;
  sequence: number;
  startTime: number;
  contentType: string;
  segmentSize: number;
  rosterVersion: number;
  header: ClipHeader;
}

/**
 * Finds the camera certificate the header names (by SHA-256) among the listed ones and verifies it:
 * chains to the pinned root, CN = the header's camera id, a P-256 key. Throws E_CERT otherwise.
 */
export function cameraIdentity(crypto: Crypto, header: ClipHeader, root: Certificate, listed: ListedCameraCertificate[]): CameraIdentity {
  let der: Uint8Array | undefined;
  for (const entry of listed) {
    if (typeof entry?.certificate !== "string") continue;
    let candidate: Uint8Array;
    try {
      candidate = fromBase64Url(entry.certificate);
    } catch {
      continue;
    }
    if (constantTimeEqual(crypto.sha256(candidate), header.cameraCertHash)) {
      der = candidate;
      break;
    }
  }
  if (!der) return fail("E_CERT", `no certificate of camera ${header.cameraId} matches this clip`);
  const cert = verifyChain(crypto, parseCertificate(der), root);
  if (cert.subjectCommonName !== header.cameraId || cert.publicKey.kind !== "p256") fail("E_CERT", "camera certificate does not match the clip");
  return { publicKey: cert.publicKey.point65, certificateHash: crypto.sha256(der) };
}

/**
 * Verifies a clip head served on its own (`GET /v1/clips/:id/head`): exactly one head, no trailing bytes,
 * the camera certificate as in `cameraIdentity`, the camera's ECDSA P-256 signature over preamble || header.
 * Throws a SealcamError (E_FORMAT/E_VERSION/E_LIMIT/E_TRUNCATED/E_TRAILING, E_CERT, E_SIGNATURE) otherwise.
 */
export function verifyClipHead(crypto: Crypto, headBytes: Uint8Array, root: Certificate, listed: ListedCameraCertificate[]): VerifiedClipHead {
  const head = parseClipHead(headBytes);
  if (head.headLength !== headBytes.length) fail("E_TRAILING", `clip head has ${headBytes.length - head.headLength} bytes after its signature`);
  const header = head.header;
  const camera = cameraIdentity(crypto, header, root, listed);
  if (!crypto.ecdsaP256Verify(camera.publicKey, head.signedBytes, head.signature)) {
    fail("E_SIGNATURE", "clip header signature does not verify with the camera's key");
  }
  return {
    clipId: toHex(header.clipId),
    cameraId: header.cameraId,
    sequence: header.sequence,
    startTime: header.startTime,
    contentType: header.contentType,
    segmentSize: header.segmentSize,
    rosterVersion: header.rosterVersion,
    header,
  };
}

/**
 * What the user asked for, bound to what the signature covers: the clip id always, and the camera id,
 * sequence and start time when the caller had them (from a verified listing). E_FORMAT names both clips.
 */
export function checkClipBinding(
  header: ClipHeader, asked: { clipId?: string; cameraId?: string; sequence?: number; startTime?: number },
): void {
  const got = toHex(header.clipId);
  if (asked.clipId !== undefined && asked.clipId !== got) {
    fail("E_FORMAT", `clip served under id ${asked.clipId} is clip ${got}: the cloud sent another clip; nothing was written`);
  }
  const what = asked.clipId ?? got;
  if (asked.cameraId !== undefined && asked.cameraId !== header.cameraId) {
    fail("E_FORMAT", `clip ${what} is from camera ${header.cameraId}, not ${asked.cameraId} as listed; nothing was written`);
  }
  if (asked.sequence !== undefined && asked.sequence !== header.sequence) {
    fail("E_FORMAT", `clip ${what} has sequence ${header.sequence}, not ${asked.sequence} as listed; nothing was written`);
  }
  if (asked.startTime !== undefined && asked.startTime !== header.startTime) {
    fail("E_FORMAT", `clip ${what} starts at ${header.startTime}, not ${asked.startTime} as listed; nothing was written`);
  }
}
