/**
 * Live-session test vectors (test/vectors/live-v1/*.json, docs/FORMAT.md §12): the vector shape, a sealer that
 * reproduces a valid session from the vector's inputs with any Crypto body (NodeCrypto in jest, NativeCrypto
 * inside XS), and a runner that pushes a vector's messages through a LiveOpener and reports what happened.
 * Portable: no Node imports.
 *
 * A vector is a sequence of end-to-end messages as the phone receives them from the relay. `kind: "clip"`
 * vectors are sealed clips instead (FORMAT §5–§8), opened with the clip opener: they show that a live wrap
 * never opens as a clip wrap. Vectors with `streams` also wrap the session to stream keys (FORMAT §12.1); an
 * opener whose `kind` is "stream" opens with streamKeyUnwrapper, any other with hpkeUnwrapper (a phone).
 */
import type { Crypto } from "../platform/crypto";
import { fromHex, toHex } from "../core/bytes";
import { SealcamError } from "../core/errors";
import { hpkeUnwrapper, openClip, streamKeyUnwrapper } from "../core/clip";
import { LiveOpener, LiveSealer, type LiveEvent } from "../core/live";
import { DeterministicCrypto } from "./deterministic-crypto";

export interface LiveVectorKey {
  /** P-256 private scalar, hex. */
  private: string;
  /** SHA-256 of the key's SubjectPublicKeyInfo DER, hex. */
  key_id: string;
  /** "stream": a stream key (its entries are `hpke-p256-sha256-aes128gcm-stream`); absent: a phone. */
  kind?: "stream";
}

export interface LiveVectorFrame {
  /** Capture time, ms since the Unix epoch. */
  time: number;
  jpeg: string;
}

export interface LiveVector {
  name: string;
  description: string;
  /** "ok", or the SealcamError code the phone must fail with. */
  expect: string;
  kind: "live" | "clip";
  /** DeterministicCrypto seed (hex) the session (or clip) was sealed with. */
  seed: string;
  /** The camera the phone trusts (its certificate hash is `camera_cert_hash`). */
  camera_private: string;
  camera_cert_hash: string;
  /** The phones the session key is wrapped to, in order. */
  phones: LiveVectorKey[];
  /** The stream keys it is wrapped to after the phones, in order (absent: none). */
  streams?: LiveVectorKey[];
  /** The phone that opens the vector. */
  opener: LiveVectorKey;
  /** The opener's challenge (hex, 16 bytes). */
  challenge: string;
  /** The sealer's inputs: `challenge` is the one the camera echoed. */
  params: { cameraId: string; rosterVersion: number; startTime: number; maxDurationMs: number; challenge: string };
  /** Frames given to the sealer, in order (the final, empty frame is not listed); for "ok", what the opener releases. */
  frames: LiveVectorFrame[];
  /** kind "live": the messages, hex, in the order the relay delivers them. */
  messages: string[];
  /** kind "live", broken vectors: index of the message whose push fails (messages.length: the close after the last). */
  fails_at?: number;
  /** kind "clip": the sealed clip, hex. */
  sealed?: string;
}

function phoneKeys(crypto: Crypto, phones: LiveVectorKey[]): { keyId: Uint8Array; publicKey: Uint8Array }[] {
  return phones.map((p) => {
    const key = crypto.p256Import(fromHex(p.private));
    const publicKey = crypto.p256PublicKey(key);
    crypto.p256Destroy(key);
    return { keyId: fromHex(p.key_id), publicKey };
  });
}

/** Seals a session as the generator did: head, one message per frame, the final frame. */
export function sealLiveSession(base: Crypto, vector: LiveVector, cameraPrivate: string = vector.camera_private): Uint8Array[] {
  const crypto = new DeterministicCrypto(base, fromHex(vector.seed));
  const cameraKey = base.p256Import(fromHex(cameraPrivate));
  try {
    const sealer = new LiveSealer({
      crypto,
      cameraKey,
      cameraId: vector.params.cameraId,
      cameraCertHash: fromHex(vector.camera_cert_hash),
      rosterVersion: vector.params.rosterVersion,
      phones: phoneKeys(base, vector.phones),
      streams: phoneKeys(base, vector.streams ?? []),
      startTime: vector.params.startTime,
      challenge: fromHex(vector.params.challenge),
      maxDurationMs: vector.params.maxDurationMs,
    });
    const messages = [sealer.headMessage];
    for (const frame of vector.frames) messages.push(sealer.seal({ time: frame.time, jpeg: fromHex(frame.jpeg) }));
    messages.push(sealer.finish());
    return messages;
  } finally {
    base.p256Destroy(cameraKey);
  }
}

export interface LiveVectorResult {
  /** "ok" when every message was accepted and the session ended cleanly; else the SealcamError code. */
  code: string;
  /** Index of the message whose push failed (messages.length: the close); -1 when ok. */
  at: number;
  /** Frames released before the end or the failure. */
  frames: LiveVectorFrame[];
  ended: boolean;
}

/** Opens a vector the way a phone would (kind "clip": with the clip opener) and reports the outcome. */
export function runLiveVector(crypto: Crypto, vector: LiveVector): LiveVectorResult {
  const camera = crypto.p256Import(fromHex(vector.camera_private));
  const identity = { publicKey: crypto.p256PublicKey(camera), certificateHash: fromHex(vector.camera_cert_hash) };
  crypto.p256Destroy(camera);
  const phoneKey = crypto.p256Import(fromHex(vector.opener.private));
  const unwrappers = [(vector.opener.kind === "stream" ? streamKeyUnwrapper : hpkeUnwrapper)(crypto, fromHex(vector.opener.key_id), phoneKey)];
  const frames: LiveVectorFrame[] = [];
  let at = 0;
  try {
    if (vector.kind === "clip") {
      openClip({ crypto, camera: () => identity, unwrappers }, fromHex(vector.sealed ?? ""));
      return { code: "ok", at: -1, frames, ended: true };
    }
    const opener = new LiveOpener({ crypto, camera: () => identity, unwrappers, challenge: fromHex(vector.challenge), now: () => 0 });
    const take = (events: LiveEvent[]): void => {
      for (const e of events) if (e.kind === "frame") frames.push({ time: e.time, jpeg: toHex(e.jpeg) });
    };
    for (; at < vector.messages.length; at++) take(opener.push(fromHex(vector.messages[at])));
    opener.close();
    return { code: "ok", at: -1, frames, ended: opener.ended };
  } catch (error) {
    if (error instanceof SealcamError) return { code: error.code, at, frames, ended: false };
    throw error;
  } finally {
    crypto.p256Destroy(phoneKey);
  }
}
