/**
 * Live sessions for stream keys (docs/FORMAT.md §12.1, PROTOCOL §13.6): the camera wraps the session key to
 * phones (`hpke-p256-sha256-aes128gcm`, "sealcam/v1 live-key") and to stream keys whose scope covers `live`
 * (`hpke-p256-sha256-aes128gcm-stream`, "sealcam/v1 live-stream-key"). A stream key opens the session with
 * streamKeyUnwrapper and gets the same frames as a phone; a stream key that is not in the head is
 * E_NO_RECIPIENT; no wrap of one kind opens as another (phone entry, clip stream entry, clip phone entry).
 */
import { concat, u32be } from "../../firmware/core/bytes";
import { ALG_HPKE_P256, ALG_HPKE_P256_STREAM } from "../../firmware/core/clip/constants";
import { hpkeUnwrapper, streamKeyUnwrapper, type Unwrapper } from "../../firmware/core/clip/opener";
import { ClipSealer, openClip } from "../../firmware/core/clip";
import { parseClipHead } from "../../firmware/core/clip/head";
import { encodeHeader } from "../../firmware/core/clip/header";
import { sealSingleShot } from "../../firmware/core/hpke";
import {
  LABEL_LIVE_STREAM_WRAP, LABEL_LIVE_WRAP, LiveOpener, LiveSealer, encodeLiveHeader, liveStreamWrapLabel, parseLiveHead,
  type LiveEvent,
} from "../../firmware/core/live";
import { DeterministicCrypto } from "../../firmware/testing/deterministic-crypto";
import { crypto, makeParty, newKeyWithId, type KeyWithId, type Party } from "../helpers/clip-fixture";
import { errorCode as code } from "../helpers/refusal";

type Key = KeyWithId;
const pub = (k: Key) => ({ keyId: k.keyId, publicKey: crypto.p256PublicKey(k.key) });

const challenge = crypto.randomBytes(16);
const START = 1_790_000_000_000;
let party: Party;
let phone: Key;
let stream: Key;
let otherStream: Key;

beforeAll(() => {
  party = makeParty();
  phone = { key: party.phone, keyId: party.phoneKeyId };
  stream = newKeyWithId();
  otherStream = newKeyWithId();
});

function seal(streams: Key[], phones: Key[] = [phone]): { live: LiveSealer; messages: Uint8Array[] } {
  const live = new LiveSealer({
    crypto, cameraKey: party.camera, cameraId: "cam-test-1", cameraCertHash: party.cameraCertHash, rosterVersion: 9,
    phones: phones.map(pub), streams: streams.map(pub), startTime: START, challenge, maxDurationMs: 300_000,
  });
  const messages = [live.headMessage];
  for (let i = 0; i < 3; i++) messages.push(live.seal({ time: START + i * 100, jpeg: concat(new Uint8Array([0xff, 0xd8, i]), new Uint8Array([0xff, 0xd9])) }));
  messages.push(live.finish());
  return { live, messages };
}

function open(messages: Uint8Array[], unwrapper: Unwrapper): LiveEvent[] {
  const o = new LiveOpener({
    crypto, camera: () => ({ publicKey: crypto.p256PublicKey(party.camera), certificateHash: party.cameraCertHash }),
    unwrappers: [unwrapper], challenge, now: () => 0,
  });
  const events = messages.flatMap((m) => o.push(m));
  o.close();
  return events;
}

function openHead(head: Uint8Array, unwrapper: Unwrapper): LiveEvent[] {
  const o = new LiveOpener({
    crypto, camera: () => ({ publicKey: crypto.p256PublicKey(party.camera), certificateHash: party.cameraCertHash }),
    unwrappers: [unwrapper], challenge, now: () => 0,
  });
  return o.push(head);
}

const asStream = (k: Key) => streamKeyUnwrapper(crypto, k.keyId, k.key);
const asPhone = (k: Key) => hpkeUnwrapper(crypto, k.keyId, k.key);
const frameBytes = (events: LiveEvent[]) => events.flatMap((e) => (e.kind === "frame" ? [Buffer.from(e.jpeg).toString("hex") + "@" + e.time] : []));

test("the head lists the phones, then the stream keys under their own algorithm; both open it to the same frames", () => {
  const { messages } = seal([stream, otherStream]);
  const header = parseLiveHead(messages[0].subarray(1)).header;
  expect(header.recipients.map((r) => r.alg)).toEqual([ALG_HPKE_P256, ALG_HPKE_P256_STREAM, ALG_HPKE_P256_STREAM]);
  expect(header.recipients.map((r) => Buffer.from(r.kid).toString("hex"))).toEqual([phone, stream, otherStream].map((k) => Buffer.from(k.keyId).toString("hex")));
  const byPhone = open(messages, asPhone(phone));
  const byStream = open(messages, asStream(stream));
  expect(frameBytes(byStream)).toHaveLength(3);
  expect(frameBytes(byStream)).toEqual(frameBytes(byPhone));
  expect(byStream[byStream.length - 1]).toEqual({ kind: "end", frames: 4 });
  expect(frameBytes(open(messages, asStream(otherStream)))).toEqual(frameBytes(byPhone));
});

test("a stream key the camera did not wrap to (no live in scope, revoked) is E_NO_RECIPIENT at the head", () => {
  const { messages } = seal([otherStream]);
  expect(code(() => open(messages, asStream(stream)))).toBe("E_NO_RECIPIENT");
  // A session with phones only (what every camera sent before stream keys) has no entry for it either.
  expect(code(() => open(seal([]).messages, asStream(stream)))).toBe("E_NO_RECIPIENT");
});

test("kinds never stand in for each other: a stream key's entry opened as a phone's, and a phone's as a stream key's, are E_UNWRAP", () => {
  const { messages } = seal([stream]);
  // The same P-256 key used as a phone key on its stream entry: the phone unwrapper refuses the algorithm.
  expect(code(() => open(messages, asPhone(stream)))).toBe("E_UNWRAP");
  expect(code(() => open(messages, asStream(phone)))).toBe("E_UNWRAP");
});

/** Re-signs a head whose stream entry was replaced with `entry`. */
function withStreamEntry(messages: Uint8Array[], make: (sid: Uint8Array, sessionKey: Uint8Array) => { alg: string; enc: Uint8Array; ct: Uint8Array }, sessionKey: Uint8Array): Uint8Array {
  const header = parseLiveHead(messages[0].subarray(1)).header;
  const made = make(header.sessionId, sessionKey);
  const recipients = header.recipients.map((r) => (r.alg === ALG_HPKE_P256_STREAM ? { alg: made.alg, kid: r.kid, enc: made.enc, ct: made.ct } : r));
  const bytes = encodeLiveHeader({ ...header, recipients: recipients as typeof header.recipients });
  const signed = concat(new Uint8Array([0x53, 0x45, 0x41, 0x4c, 0x4c, 0x49, 0x56, 0x01]), u32be(bytes.length), bytes);
  return concat(new Uint8Array([0x01]), signed, crypto.ecdsaP256Sign(party.camera, signed));
}

test("labels: a stream entry wrapped under the phone's live label, or under the clip stream label, does not unwrap (E_UNWRAP)", () => {
  // A sealer whose random stream we control, so the session key is known to the test.
  const seed = crypto.randomBytes(32);
  const live = new LiveSealer({
    crypto: new DeterministicCrypto(crypto, seed), cameraKey: party.camera, cameraId: "cam-test-1", cameraCertHash: party.cameraCertHash, rosterVersion: 9,
    phones: [pub(phone)], streams: [pub(stream)], startTime: START, challenge, maxDurationMs: 300_000,
  });
  // The sealer draws the session id, then the session key (FORMAT §12.7): draw the same from the same seed.
  const replay = new DeterministicCrypto(crypto, seed);
  replay.randomBytes(16);
  const sessionKey = replay.randomBytes(16);
  const messages = [live.headMessage, live.seal({ time: START, jpeg: new Uint8Array([0xff, 0xd8, 0xff, 0xd9]) }), live.finish()];
  // The honest head opens with the stream key (and the test's session key is the real one).
  expect(code(() => open(messages, asStream(stream)))).toBe("ok");
  const resealed = (info: Uint8Array) => (sid: Uint8Array, k: Uint8Array) => {
    const { enc, ciphertext } = sealSingleShot(crypto, crypto.p256PublicKey(stream.key), concat(info, sid), new Uint8Array(0), k);
    return { alg: ALG_HPKE_P256_STREAM, enc, ct: ciphertext };
  };
  // Only the head is pushed: frames are bound to the head's hash, which re-signing changes.
  const head = (info: Uint8Array) => code(() => openHead(withStreamEntry(messages, resealed(info), sessionKey), asStream(stream)));
  // Control: re-wrapped under the right label it opens (so what follows fails only because of the label).
  expect(head(LABEL_LIVE_STREAM_WRAP)).toBe("ok");
  expect(head(LABEL_LIVE_WRAP)).toBe("E_UNWRAP");
  expect(head(new TextEncoder().encode("sealcam/v1 stream-key\0"))).toBe("E_UNWRAP");
  expect(Buffer.from(liveStreamWrapLabel(new Uint8Array(16))).length).toBe(43);
});

test("a stream key's live wrap presented as a clip's stream entry (camera re-signed) does not open the clip (E_UNWRAP)", () => {
  const { messages } = seal([stream]);
  const liveEntry = parseLiveHead(messages[0].subarray(1)).header.recipients.find((r) => r.alg === ALG_HPKE_P256_STREAM)!;
  const sealer = new ClipSealer({
    crypto, cameraKey: party.camera, cameraId: "cam-test-1", cameraCertHash: party.cameraCertHash, sequence: 1, startTime: START,
    contentType: "video/x-sealcam-frames", recipients: [{ kind: "hpke-p256-stream", ...pub(stream) }], rosterVersion: 9, segmentSize: 4096,
  });
  const segments = Array.from(sealer.write(new Uint8Array([1, 2, 3])), (s) => s.bytes);
  const { segment, footer } = sealer.finish();
  const h = parseClipHead(sealer.head).header;
  // Control: the honest clip opens with the stream key.
  expect(code(() => openClip({ crypto, camera: () => ({ publicKey: crypto.p256PublicKey(party.camera), certificateHash: party.cameraCertHash }), unwrappers: [asStream(stream)] },
    concat(sealer.head, ...segments, segment.bytes, footer)))).toBe("ok");
  const swapped = encodeHeader({ ...h, recipients: [liveEntry] });
  const signed = concat(new Uint8Array([0x53, 0x45, 0x41, 0x4c, 0x43, 0x41, 0x4d, 0x01]), u32be(swapped.length), swapped);
  const clip = concat(signed, crypto.ecdsaP256Sign(party.camera, signed), ...segments, segment.bytes, footer);
  expect(code(() => openClip({ crypto, camera: () => ({ publicKey: crypto.p256PublicKey(party.camera), certificateHash: party.cameraCertHash }), unwrappers: [asStream(stream)] }, clip))).toBe("E_UNWRAP");
});

test("recipients are bounded: phones + stream keys at most 15, at least one phone; refused with E_ARGUMENT", () => {
  const keys = Array.from({ length: 15 }, () => newKeyWithId());
  expect(parseLiveHead(seal(keys.slice(0, 14)).messages[0].subarray(1)).header.recipients).toHaveLength(15);
  expect(code(() => seal(keys.slice(0, 15)))).toBe("E_ARGUMENT");
  expect(code(() => seal([stream], []))).toBe("E_ARGUMENT");
});
