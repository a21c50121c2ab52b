/**
 * Reproduces a sealed-clip test vector (test/vectors/clip-v1/*.json) with any Crypto body: the host's
 * NodeCrypto in jest, the camera's NativeCrypto inside XS. Portable: no Node imports.
 */
import type { Crypto } from "../platform/crypto";
import { concat, fromHex } from "../core/bytes";
import { ClipSealer } from "../core/clip/sealer";
import type { RecipientKey } from "../core/clip/sealer";
import { DeterministicCrypto } from "./deterministic-crypto";

export interface ClipVector {
  name: string;
  description: string;
  expect: string;
  seed: string;
  camera_private: string;
  camera_cert_hash: string;
  phone_private: string;
  phone_key_id: string;
  data_public_pkcs1: string;
  data_private_pkcs8: string;
  data_key_id: string;
  /** Present on vectors with a stream-key recipient (sealed after the phone and the data key). */
  stream_private?: string;
  stream_key_id?: string;
  params: {
    cameraId: string;
    sequence: number;
    startTime: number;
    contentType: string;
    rosterVersion: number;
    segmentSize: number;
    writeChunk: number;
  };
  plaintext?: string;
  oaep: string[];
  sealed: string;
}

export function vectorRecipients(crypto: Crypto, vector: ClipVector): RecipientKey[] {
  const phone = crypto.p256Import(fromHex(vector.phone_private));
  const recipients: RecipientKey[] = [
    { kind: "hpke-p256", keyId: fromHex(vector.phone_key_id), publicKey: crypto.p256PublicKey(phone) },
    { kind: "rsa-oaep-sha256", keyId: fromHex(vector.data_key_id), publicKey: fromHex(vector.data_public_pkcs1) },
  ];
  crypto.p256Destroy(phone);
  if (vector.stream_private !== undefined && vector.stream_key_id !== undefined) {
    const stream = crypto.p256Import(fromHex(vector.stream_private));
    recipients.push({ kind: "hpke-p256-stream", keyId: fromHex(vector.stream_key_id), publicKey: crypto.p256PublicKey(stream) });
    crypto.p256Destroy(stream);
  }
  return recipients;
}

/** Seals the vector's plaintext exactly as the generator did; returns the sealed bytes. */
export function resealVector(base: Crypto, vector: ClipVector, replayOaep: boolean): { sealed: Uint8Array; oaep: Uint8Array[] } {
  const crypto = new DeterministicCrypto(base, fromHex(vector.seed), replayOaep ? vector.oaep.map(fromHex) : undefined);
  const cameraKey = base.p256Import(fromHex(vector.camera_private));
  const sealer = new ClipSealer({
    crypto,
    cameraKey,
    cameraId: vector.params.cameraId,
    cameraCertHash: fromHex(vector.camera_cert_hash),
    sequence: vector.params.sequence,
    startTime: vector.params.startTime,
    contentType: vector.params.contentType,
    recipients: vectorRecipients(base, vector),
    rosterVersion: vector.params.rosterVersion,
    segmentSize: vector.params.segmentSize,
  });
  const plaintext = fromHex(vector.plaintext ?? "");
  const parts: Uint8Array[] = [sealer.head];
  const step = vector.params.writeChunk;
  for (let i = 0; i < plaintext.length; i += step) {
    for (const segment of sealer.write(plaintext.subarray(i, i + step))) parts.push(segment.bytes);
  }
  const { segment, footer } = sealer.finish();
  parts.push(segment.bytes, footer);
  base.p256Destroy(cameraKey);
  return { sealed: concat(...parts), oaep: crypto.oaepOutputs };
}
