/**
 * test/vectors/live-v1/*.json: live-session vectors (docs/FORMAT.md §12) from fixed keys and seeded randomness
 * (firmware/testing/deterministic-crypto.ts), so every byte is reproducible: ECDSA is RFC 6979, HPKE's
 * ephemeral keys and the session id and key come from the seed, and no RSA is involved. `make vectors` writes
 * them (test/vectors/generate.ts); test/live/vectors.test.ts rebuilds them all and compares with the files.
 *
 * ok-two-phones: a session sealed by the clip vectors' camera key to two phones (the clip vectors' phone and
 * "phone b"), for a fixed challenge: three JPEG frames and the final frame. Every broken vector is built from
 * it (or from a second session sealed with another seed) and names the code LiveOpener must fail with.
 *
 * ok-phone-and-stream: a session sealed to the clip vectors' phone and their stream key (a share whose scope
 * covers `live`), opened by the stream key; stream-not-a-recipient and stream-entry-under-phone-label are the
 * stream key's refusals (FORMAT §12.1).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Crypto } from "../../firmware/platform/crypto";
import { NodeCrypto } from "../../host-tools/platform/node-crypto";
import { concat, fromHex, toHex, u32be } from "../../firmware/core/bytes";
import { deriveKeyPair, sealSingleShot } from "../../firmware/core/hpke";
import { spkiFromP256 } from "../../firmware/core/keys";
import { ClipSealer } from "../../firmware/core/clip/sealer";
import { parseClipHead } from "../../firmware/core/clip/head";
import { encodeHeader, type RecipientEntry } from "../../firmware/core/clip/header";
import { ALG_HPKE_P256_STREAM } from "../../firmware/core/clip/constants";
import { KIND_HEAD, LIVE_MAGIC, MAX_LIVE_MESSAGE, encodeLiveHeader, liveWrapLabel, parseLiveHead } from "../../firmware/core/live";
import { DeterministicCrypto } from "../../firmware/testing/deterministic-crypto";
import { sealLiveSession, type LiveVector, type LiveVectorKey } from "../../firmware/testing/live-vectors";

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  for (let i = 0; i + needle.length <= haystack.length; i++) {
    let j = 0;
    while (j < needle.length && haystack[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  throw new Error("live vectors: pattern not found");
}

export function buildLiveVectors(base: Crypto): LiveVector[] {
  const fixed = (label: string) => base.sha256(new TextEncoder().encode(`sealcam test vector key: ${label}`));
  const keyOf = (label: string): LiveVectorKey => {
    const key = deriveKeyPair(base, fixed(label));
    return { private: toHex(base.p256Export(key)), key_id: toHex(base.sha256(spkiFromP256(base.p256PublicKey(key)))) };
  };
  const phoneA = keyOf("phone");
  const phoneB = keyOf("phone b");
  const stranger = keyOf("stranger");
  const camera = keyOf("camera");
  const otherCamera = keyOf("other camera");
  const jpeg = (length: number, label: string): string =>
    toHex(concat(fromHex("ffd8ffe0"), new DeterministicCrypto(base, fixed(`live jpeg ${label}`)).randomBytes(length), fromHex("ffd9")));
  const startTime = 1_790_000_000_000;
  const challenge = toHex(fixed("live challenge").subarray(0, 16));

  const okInputs: LiveVector = {
    name: "ok-two-phones",
    description: "a live session sealed to two phones for one challenge: three JPEG frames, then the final (empty) frame",
    expect: "ok",
    kind: "live",
    seed: toHex(fixed("seed live ok-two-phones")),
    camera_private: camera.private,
    camera_cert_hash: toHex(fixed("camera certificate")),
    phones: [phoneA, phoneB],
    opener: phoneB,
    challenge,
    params: { cameraId: "cam-vector-1", rosterVersion: 5, startTime, maxDurationMs: 300_000, challenge },
    frames: [
      { time: startTime + 40, jpeg: jpeg(1500, "0") },
      { time: startTime + 140, jpeg: jpeg(900, "1") },
      { time: startTime + 240, jpeg: jpeg(2200, "2") },
    ],
    messages: [],
  };
  const m = sealLiveSession(base, okInputs);
  const vectors: LiveVector[] = [{ ...okInputs, messages: m.map(toHex) }];
  const [head, f0, f1, f2, fin] = m;

  const broken = (name: string, description: string, expect: string, messages: Uint8Array[], failsAt: number, extra: Partial<LiveVector> = {}): void => {
    vectors.push({ ...okInputs, name, description, expect, messages: messages.map(toHex), fails_at: failsAt, opener: phoneA, ...extra });
  };
  const flip = (bytes: Uint8Array, at: number): Uint8Array => {
    const out = Uint8Array.from(bytes);
    out[at] ^= 0x01;
    return out;
  };

  const other = sealLiveSession(base, { ...okInputs, seed: toHex(fixed("seed live other session")) });
  broken("frame-from-other-session", "frame 1 replaced by frame 1 of another session of the same camera", "E_SESSION", [head, f0, other[2], f2, fin], 2);
  broken("frames-reordered", "frames 1 and 2 swapped by the relay", "E_REORDER", [head, f0, f2, f1, fin], 3);
  broken("frame-dropped", "frame 1 dropped by the relay (frame 2 held, then the final frame comes instead)", "E_GAP", [head, f0, f2, fin], 3);
  broken("frame-replayed", "frame 1 delivered twice", "E_REPLAY", [head, f0, f1, f1, f2, fin], 3);
  broken("frame-bit-flipped", "a bit inside frame 1's ciphertext changed", "E_SEGMENT", [head, f0, flip(f1, 22 + 100), f2, fin], 2);
  broken("final-flag-cleared", "the final frame's flag cleared (flags 0x00): it no longer opens at its nonce", "E_SEGMENT", [head, f0, f1, f2, flip(fin, 21)], 4);
  broken("final-flag-set", "frame 2's final flag set (flags 0x01): it no longer opens at its nonce", "E_SEGMENT", [head, f0, f1, flip(f2, 21), fin], 3);
  broken("message-after-final", "frame 0 delivered again after the final frame", "E_TRAILING", [head, f0, f1, f2, fin, f0], 5);
  const forged = sealLiveSession(base, okInputs, otherCamera.private);
  broken("head-signed-by-other-key", "the same session signed by another P-256 key than the camera's", "E_SIGNATURE", forged, 0);
  broken("head-bit-flipped", "a bit of the signed header changed (inside the camera id)", "E_SIGNATURE", [flip(head, indexOf(head, new TextEncoder().encode('"cam":"cam-vector-1"')) + 9), f0, f1, f2, fin], 0);
  broken("phone-not-a-recipient", "opened by a phone the session is not sealed to", "E_NO_RECIPIENT", m, 0, { opener: stranger });
  const oldChallenge = toHex(fixed("live old challenge").subarray(0, 16));
  const replayed = sealLiveSession(base, { ...okInputs, seed: toHex(fixed("seed live old session")), params: { ...okInputs.params, challenge: oldChallenge } });
  broken("head-other-challenge", "a whole session recorded for an earlier request (another challenge) replayed", "E_REPLAY", replayed, 0);
  broken("message-oversize", "frame 1 padded with zero bytes to 65536 bytes (one more than a message may have)", "E_LIMIT",
    [head, f0, concat(f1, new Uint8Array(MAX_LIVE_MESSAGE + 1 - f1.length)), f2, fin], 2);
  broken("message-empty", "an empty message", "E_LIMIT", [head, f0, new Uint8Array(0), f1, f2, fin], 2);
  broken("cut-before-final", "the transport ends after frame 2, before the final frame", "E_TRUNCATED", [head, f0, f1, f2], 4);

  // A live wrap presented as a clip wrap: a clip sealed (deterministically) to phone a, whose phone entry is
  // replaced by the live head's entry for phone a (same key id, HPKE under the live label) and re-signed by
  // the camera. The clip opener unwraps with the clip label: HPKE fails, E_UNWRAP.
  {
    const seed = fixed("seed live wrap as clip wrap");
    const cameraKey = base.p256Import(fromHex(camera.private));
    const phonePublic = base.p256PublicKey(base.p256Import(fromHex(phoneA.private)));
    const sealer = new ClipSealer({
      crypto: new DeterministicCrypto(base, seed),
      cameraKey,
      cameraId: "cam-vector-1",
      cameraCertHash: fromHex(okInputs.camera_cert_hash),
      sequence: 42,
      startTime,
      contentType: "video/x-sealcam-frames",
      recipients: [{ kind: "hpke-p256", keyId: fromHex(phoneA.key_id), publicKey: phonePublic }],
      rosterVersion: 5,
      segmentSize: 4096,
    });
    const segments = Array.from(sealer.write(fromHex(okInputs.frames[0].jpeg)), (s) => s.bytes);
    const { segment, footer } = sealer.finish();
    const clipHeader = parseClipHead(sealer.head).header;
    const liveEntry = parseLiveHead(head.subarray(1)).header.recipients[0];
    const swapped = encodeHeader({ ...clipHeader, recipients: [liveEntry] });
    const signed = concat(fromHex("5345414c43414d01"), u32be(swapped.length), swapped);
    const clip = concat(signed, base.ecdsaP256Sign(cameraKey, signed), ...segments, segment.bytes, footer);
    vectors.push({
      ...okInputs,
      name: "live-wrap-as-clip-wrap",
      description: "a clip whose phone entry is the live head's wrap for that phone (camera re-signed): the clip label does not open it",
      expect: "E_UNWRAP",
      kind: "clip",
      seed: toHex(seed),
      opener: phoneA,
      messages: [],
      sealed: toHex(clip),
    });
  }

  // A stream key (the clip vectors' "stream" key) beside phone a: the head lists the phone entry, then the
  // stream entry (`…-stream`, HPKE info "sealcam/v1 live-stream-key\0" || sid). Opened by the stream key.
  const stream: LiveVectorKey = { ...keyOf("stream"), kind: "stream" };
  const streamInputs: LiveVector = {
    ...okInputs,
    name: "ok-phone-and-stream",
    description: "a live session sealed to a phone and to a stream key whose scope covers live; opened by the stream key (and by the phone)",
    seed: toHex(fixed("seed live ok-phone-and-stream")),
    phones: [phoneA],
    streams: [stream],
    opener: stream,
  };
  const sm = sealLiveSession(base, streamInputs);
  vectors.push({ ...streamInputs, messages: sm.map(toHex) });
  broken("stream-not-a-recipient", "the two-phone session opened by a stream key it is not sealed to (a share without live, or revoked)", "E_NO_RECIPIENT", m, 0, { opener: stream });
  // The stream entry wrapped under the phone's live label (same key id, algorithm `…-stream`), re-signed by
  // the camera: the stream key unwraps under the live stream label, so HPKE fails.
  {
    const sealedWith = new DeterministicCrypto(base, fromHex(streamInputs.seed));
    const sid = sealedWith.randomBytes(16);
    const sessionKey = sealedWith.randomBytes(16);
    const header = parseLiveHead(sm[0].subarray(1)).header;
    const streamPublic = base.p256PublicKey(base.p256Import(fromHex(stream.private)));
    const { enc, ciphertext } = sealSingleShot(new DeterministicCrypto(base, fixed("seed live stream entry under phone label")), streamPublic, liveWrapLabel(sid), new Uint8Array(0), sessionKey);
    const recipients = header.recipients.map((r): RecipientEntry => (r.alg === ALG_HPKE_P256_STREAM ? { alg: ALG_HPKE_P256_STREAM, kid: r.kid, enc, ct: ciphertext } : r));
    const bytes = encodeLiveHeader({ ...header, recipients });
    const signed = concat(LIVE_MAGIC, u32be(bytes.length), bytes);
    const cameraKey = base.p256Import(fromHex(camera.private));
    const relabelled = concat(new Uint8Array([KIND_HEAD]), signed, base.ecdsaP256Sign(cameraKey, signed));
    vectors.push({
      ...streamInputs, name: "stream-entry-under-phone-label",
      description: "the stream key's entry wrapped under the phone's live label (\"sealcam/v1 live-key\"), re-signed by the camera: the live stream label does not open it",
      expect: "E_UNWRAP", messages: [relabelled, ...sm.slice(1)].map(toHex), fails_at: 0,
    });
  }
  return vectors;
}

export function generateLiveVectors(dir: string): string {
  const vectors = buildLiveVectors(new NodeCrypto());
  fs.mkdirSync(dir, { recursive: true });
  for (const file of fs.readdirSync(dir)) if (file.endsWith(".json")) fs.unlinkSync(path.join(dir, file));
  for (const vector of vectors) fs.writeFileSync(path.join(dir, `${vector.name}.json`), JSON.stringify(vector, null, 1) + "\n");
  return `wrote ${vectors.length} vectors to ${path.relative(process.cwd(), dir)}`;
}
