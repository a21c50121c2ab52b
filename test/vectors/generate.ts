/**
 * Generates test/vectors/clip-v1/*.json: sealed-clip vectors from fixed keys and injected randomness.
 * Run with `make vectors`. Output is fully deterministic: the RSA key is fixed in keys.json, and for the
 * generator only, RSA-OAEP's seed is drawn from the same seeded stream (./seeded-oaep.ts: EME-OAEP encoded per
 * RFC 8017 §7.1.1 over a raw RSA public operation) — product code always uses the provider's own OAEP.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as nodeCrypto from "node:crypto";
import { NodeCrypto } from "../../host-tools/platform/node-crypto";
import { DeterministicCrypto } from "../../firmware/testing/deterministic-crypto";
import type { ClipVector } from "../../firmware/testing/clip-vectors";
import { concat, fromHex, toHex, u32be, u16be } from "../../firmware/core/bytes";
import { deriveKeyPair } from "../../firmware/core/hpke";
import { encodeFrame } from "../../firmware/core/clip/frames";
import { ClipSealer, type RecipientKey } from "../../firmware/core/clip/sealer";
import { ALG_HPKE_P256 } from "../../firmware/core/clip/constants";
import { generateRosterVectors } from "./roster-vectors";
import { generateLiveVectors } from "./live-vectors";
import { generateShareVectors } from "./share-vectors";
import { parseClipHead } from "../../firmware/core/clip/head";
import { encodeHeader } from "../../firmware/core/clip/header";
import { FOOTER_LENGTH } from "../../firmware/core/clip/constants";
import { SeededOaepCrypto } from "./seeded-oaep";
import { deriveClipKeys, segmentNonce } from "../../firmware/core/clip/keys";

const OUT = path.join(process.cwd(), "test", "vectors", "clip-v1"); // run from the repository root (make vectors)
const base = new NodeCrypto();

interface Keys {
  rsa_private_pkcs8: string;
}

function loadKeys(): Keys {
  const file = path.join(OUT, "keys.json");
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, "utf8")) as Keys;
  const { privateKey } = nodeCrypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  const keys = { rsa_private_pkcs8: toHex(new Uint8Array(privateKey.export({ format: "der", type: "pkcs8" }))) };
  fs.mkdirSync(OUT, { recursive: true });
  fs.writeFileSync(file, JSON.stringify(keys, null, 2) + "\n");
  return keys;
}

const keys = loadKeys();
const rsaPrivate = nodeCrypto.createPrivateKey({ key: Buffer.from(fromHex(keys.rsa_private_pkcs8)), format: "der", type: "pkcs8" });
const rsaPublic = nodeCrypto.createPublicKey(rsaPrivate);
const fixed = (label: string) => base.sha256(new TextEncoder().encode(`sealcam test vector key: ${label}`));
const cameraKey = deriveKeyPair(base, fixed("camera"));
const phoneKey = deriveKeyPair(base, fixed("phone"));
const strangerKey = deriveKeyPair(base, fixed("stranger"));
const streamKey = deriveKeyPair(base, fixed("stream"));
const spkiPrefix = fromHex("3059301306072a8648ce3d020106082a8648ce3d030107034200");

const common = {
  camera_private: toHex(base.p256Export(cameraKey)),
  camera_cert_hash: toHex(fixed("camera certificate")),
  phone_private: toHex(base.p256Export(phoneKey)),
  phone_key_id: toHex(base.sha256(concat(spkiPrefix, base.p256PublicKey(phoneKey)))),
  data_public_pkcs1: toHex(new Uint8Array(rsaPublic.export({ format: "der", type: "pkcs1" }))),
  data_private_pkcs8: keys.rsa_private_pkcs8,
  data_key_id: toHex(base.sha256(new Uint8Array(rsaPublic.export({ format: "der", type: "spki" })))),
};

const params = {
  cameraId: "cam-vector-1",
  sequence: 42,
  startTime: 1_790_000_000_000,
  contentType: "video/x-sealcam-frames",
  rosterVersion: 5,
  segmentSize: 4096,
  writeChunk: 1000,
};

function plaintextOf(length: number, label: string): Uint8Array {
  const stream = new DeterministicCrypto(base, fixed(`plaintext ${label}`));
  return stream.randomBytes(length);
}

interface Sealed {
  head: Uint8Array;
  segments: Uint8Array[];
  footer: Uint8Array;
  oaep: Uint8Array[];
}

const streamFields = {
  stream_private: toHex(base.p256Export(streamKey)),
  stream_key_id: toHex(base.sha256(concat(spkiPrefix, base.p256PublicKey(streamKey)))),
};
const streamRecipient: RecipientKey = { kind: "hpke-p256-stream", keyId: fromHex(streamFields.stream_key_id), publicKey: base.p256PublicKey(streamKey) };

function sealWith(seed: Uint8Array, plaintext: Uint8Array, overrides: Partial<typeof params> = {}, phonePublic = base.p256PublicKey(phoneKey), extra: RecipientKey[] = [], only?: RecipientKey[]): Sealed {
  const stream = new DeterministicCrypto(base, seed);
  const crypto = new DeterministicCrypto(new SeededOaepCrypto(stream), seed);
  const p = { ...params, ...overrides };
  const sealer = new ClipSealer({
    crypto,
    cameraKey,
    cameraId: p.cameraId,
    cameraCertHash: fromHex(common.camera_cert_hash),
    sequence: p.sequence,
    startTime: p.startTime,
    contentType: p.contentType,
    recipients: only ?? [
      { kind: "hpke-p256", keyId: fromHex(common.phone_key_id), publicKey: phonePublic },
      { kind: "rsa-oaep-sha256", keyId: fromHex(common.data_key_id), publicKey: fromHex(common.data_public_pkcs1) },
      ...extra,
    ],
    rosterVersion: p.rosterVersion,
    segmentSize: p.segmentSize,
  });
  const segments: Uint8Array[] = [];
  for (let i = 0; i < plaintext.length; i += p.writeChunk) {
    for (const s of sealer.write(plaintext.subarray(i, i + p.writeChunk))) segments.push(s.bytes);
  }
  const { segment, footer } = sealer.finish();
  segments.push(segment.bytes);
  return { head: sealer.head, segments, footer, oaep: crypto.oaepOutputs };
}

const vectors: ClipVector[] = [];
function add(name: string, description: string, expect: string, seedLabel: string, sealed: Uint8Array, extra: Partial<ClipVector> = {}, oaep: Uint8Array[] = []): void {
  vectors.push({
    name,
    description,
    expect,
    seed: toHex(fixed(`seed ${seedLabel}`)),
    ...common,
    params,
    oaep: oaep.map(toHex),
    sealed: toHex(sealed),
    ...extra,
  });
}

function valid(name: string, description: string, plaintext: Uint8Array, overrides: Partial<typeof params> = {}): Sealed {
  const sealed = sealWith(fixed(`seed ${name}`), plaintext, overrides);
  add(name, description, "ok", name, concat(sealed.head, ...sealed.segments, sealed.footer), {
    plaintext: toHex(plaintext),
    params: { ...params, ...overrides },
  }, sealed.oaep);
  return sealed;
}

const whole = (s: Sealed) => concat(s.head, ...s.segments, s.footer);
function flip(bytes: Uint8Array, at: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  out[at] ^= 0x01;
  return out;
}

valid("ok-empty", "an empty clip: one final segment holding only a tag", new Uint8Array(0));
valid("ok-one-segment", "100 bytes in a single final segment", plaintextOf(100, "one"));
valid("ok-exact-segments", "exactly two full segments: the second is final and full", plaintextOf(8192, "exact"));
const frames = concat(
  encodeFrame({ time: 1_790_000_000_000, jpeg: concat(fromHex("ffd8ffe0"), plaintextOf(3000, "f1"), fromHex("ffd9")) }),
  encodeFrame({ time: 1_790_000_000_200, jpeg: concat(fromHex("ffd8ffe0"), plaintextOf(2500, "f2"), fromHex("ffd9")) }),
);
valid("ok-frames", "two JPEG frame records (video/x-sealcam-frames)", frames);
const base3 = valid("ok-three-segments", "two full segments and a short final one", plaintextOf(2 * 4096 + 500, "three"), { writeChunk: 333 });

const h = base3.head;
const s = base3.segments;
const headerStart = 12;
add("bad-magic", "first byte of the magic changed", "E_FORMAT", "x", flip(whole(base3), 0));
add("bad-version", "format version byte 2", "E_VERSION", "x", (() => { const w = whole(base3); w[7] = 2; return w; })());
add("header-length-too-large", "header length field beyond the 16 KiB limit", "E_LIMIT", "x", (() => { const w = whole(base3); w.set([0, 1, 0, 0], 8); return w; })());
add("header-bit-flipped", "a bit of the header's camera id changed", "E_SIGNATURE", "x", flip(whole(base3), headerStart + new TextDecoder().decode(h).indexOf("cam-vector-1") - headerStart + 2));
add("signature-bit-flipped", "a bit of the camera's header signature changed", "E_SIGNATURE", "x", flip(whole(base3), h.length - 10));
add("segment-bit-flipped", "a bit inside segment 1 changed", "E_SEGMENT", "x", flip(whole(base3), h.length + 4112 + 100));
add("tag-bit-flipped", "a bit of segment 0's tag changed", "E_SEGMENT", "x", flip(whole(base3), h.length + 4111));
add("segment-dropped", "segment 1 removed", "E_SEGMENT", "x", concat(h, s[0], s[2], base3.footer));
add("segments-reordered", "segments 0 and 1 swapped", "E_SEGMENT", "x", concat(h, s[1], s[0], s[2], base3.footer));
add("segment-duplicated", "segment 0 repeated", "E_SEGMENT", "x", concat(h, s[0], s[0], s[1], s[2], base3.footer));
add("final-segment-truncated", "the final segment cut short", "E_SEGMENT", "x", concat(h, s[0], s[1], s[2].subarray(0, 100), base3.footer));
const exact = sealWith(fixed("seed ok-exact-segments"), plaintextOf(8192, "exact"));
add("final-segment-missing", "the final segment removed (the clip now ends on a non-final segment)", "E_TRUNCATED", "x", concat(exact.head, exact.segments[0], exact.footer));
add("trailing-segment", "a segment appended after a full final segment", "E_TRAILING", "x", concat(exact.head, ...exact.segments, s[0], exact.footer));
add("footer-bit-flipped", "a bit of the footer signature changed", "E_FOOTER", "x", flip(whole(base3), whole(base3).length - 5));
add("footer-missing", "the footer removed", "E_SEGMENT", "x", concat(h, ...s));
add("only-head", "the head alone", "E_TRUNCATED", "x", h);
const other = sealWith(fixed("seed other clip"), plaintextOf(2 * 4096 + 500, "three"));
add("segment-from-other-clip", "segment 1 replaced by segment 1 of another clip with the same plaintext", "E_SEGMENT", "x", concat(h, s[0], other.segments[1], s[2], base3.footer));
add("header-from-other-clip", "another clip's head in front of these segments", "E_SEGMENT", "x", concat(other.head, ...s, base3.footer));
add("footer-from-other-clip", "another clip's footer", "E_FOOTER", "x", concat(h, ...s, other.footer));

// Re-signed heads: valid camera signature over a header that breaks a later rule.
function resign(headerBytes: Uint8Array): Uint8Array {
  const signed = concat(fromHex("5345414c43414d01"), u32be(headerBytes.length), headerBytes);
  return concat(signed, base.ecdsaP256Sign(cameraKey, signed));
}
const parsed = parseClipHead(h);
const badCommit = encodeHeader({ ...parsed.header, commitment: fixed("not the commitment") });
add("commitment-mismatch", "header (validly signed) commits to a different key", "E_COMMIT", "x", concat(resign(badCommit), ...s, base3.footer));
const headerText = new TextDecoder().decode(parsed.signedBytes.subarray(12));
add("header-not-canonical", "header (validly signed) with a space after the first comma", "E_FORMAT", "x",
  concat(resign(new TextEncoder().encode(headerText.replace(",", ", "))), ...s, base3.footer));
const stranger = sealWith(fixed("seed stranger"), plaintextOf(100, "one"), {}, base.p256PublicKey(strangerKey));
const strangerHeader = parseClipHead(stranger.head).header;
const noRecipient = encodeHeader({ ...strangerHeader, recipients: strangerHeader.recipients.slice(0, 1).map((r) => ({ ...r, kid: fixed("someone else") })) });
add("no-recipient", "sealed only to a key id this phone does not hold", "E_NO_RECIPIENT", "x", concat(resign(noRecipient), ...stranger.segments, stranger.footer));
const wrongKey = encodeHeader({ ...strangerHeader, recipients: strangerHeader.recipients.slice(0, 1) });
add("recipient-wrong-key", "an hpke entry with our key id, wrapped to another key", "E_UNWRAP", "x", concat(resign(wrongKey), ...stranger.segments, stranger.footer));

// FORMAT §8's table, one vector per row that needs one.
add("cut-at-segment-boundary", "the stream ends right after a non-final segment (no final segment, no footer)", "E_TRUNCATED", "x", concat(h, s[0], s[1]));
add("short-stream", "11 bytes: shorter than the preamble", "E_TRUNCATED", "x", whole(base3).subarray(0, 11));
add("cut-inside-final-segment", "the stream ends 100 bytes into the final segment (80 or more after the last non-final one)", "E_SEGMENT", "x", concat(h, s[0], s[1], s[2].subarray(0, 100)));
add("trailing-bytes-after-short-final", "bytes appended after the footer of a clip whose final segment is short", "E_SEGMENT", "x", concat(whole(base3), new Uint8Array(10)));
{
  // Someone holding the clip key (any recipient) seals an empty final segment after segment 0.
  const drawn = new DeterministicCrypto(base, fixed("seed ok-three-segments")).randomBytes(32);
  const keys = deriveClipKeys(base, drawn.subarray(16, 32), drawn.subarray(0, 16));
  const empty = base.aesGcmSeal(keys.payloadKey, segmentNonce(1, true), base.sha256(h), new Uint8Array(0));
  add("empty-final-segment", "an authentic but empty final segment after segment 0", "E_FORMAT", "x", concat(h, s[0], empty, base3.footer));
}
const phoneEntry = strangerHeader.recipients[0];
const reservedAlg = encodeHeader({ ...strangerHeader, recipients: [{ alg: "x-stream-key", kid: fromHex(common.phone_key_id), fields: { ct: "AAAA" } }] });
add("recipient-reserved-alg", "the only entry with our key id has a reserved alg (ignored)", "E_NO_RECIPIENT", "x", concat(resign(reservedAlg), ...stranger.segments, stranger.footer));
const mismatched = encodeHeader({ ...strangerHeader, recipients: [{ alg: "rsa-oaep-sha256", kid: fromHex(common.phone_key_id), ct: concat(phoneEntry.kid, phoneEntry.kid, phoneEntry.kid, phoneEntry.kid, phoneEntry.kid, phoneEntry.kid, phoneEntry.kid, phoneEntry.kid) }] });
add("recipient-alg-mismatch", "our P-256 key id on an rsa-oaep-sha256 entry", "E_UNWRAP", "x", concat(resign(mismatched), ...stranger.segments, stranger.footer));
add("camera-id-upper-case", "header (validly signed) whose cam has an upper-case letter", "E_FORMAT", "x",
  concat(resign(new TextEncoder().encode(headerText.replace('"cam":"cam-vector-1"', '"cam":"Cam-vector-1"'))), ...s, base3.footer));
add("content-type-parameter", "header (validly signed) whose type carries a parameter", "E_FORMAT", "x",
  concat(resign(new TextEncoder().encode(headerText.replace('"type":"video/x-sealcam-frames"', '"type":"video/x-sealcam-frames;v=1"'))), ...s, base3.footer));
// Stream keys (PROTOCOL §14): a clip sealed to the phone, the data key and one stream key (sealed third, so
// its DeriveKeyPair input is the second 32-byte draw after the clip id and key); and the two ways a phone must
// refuse a stream entry naming its key (FORMAT §5: another known algorithm is E_UNWRAP).
{
  const plain = plaintextOf(2 * 4096 + 700, "stream");
  const sealed = sealWith(fixed("seed ok-stream-recipient"), plain, {}, base.p256PublicKey(phoneKey), [streamRecipient]);
  add("ok-stream-recipient", "phone + account data key + one stream key (hpke-p256-sha256-aes128gcm-stream)", "ok", "ok-stream-recipient",
    whole(sealed), { plaintext: toHex(plain), ...streamFields }, sealed.oaep);
  // A stream entry wrapped (stream label) to the phone's own key, under the phone's key id: not a phone entry.
  const phoneAsStream: RecipientKey = { kind: "hpke-p256-stream", keyId: fromHex(common.phone_key_id), publicKey: base.p256PublicKey(phoneKey) };
  const misused = sealWith(fixed("seed stream misuse"), plaintextOf(100, "one"), {}, undefined, [], [phoneAsStream]);
  const misusedHeader = parseClipHead(misused.head).header;
  const onlyStream = encodeHeader(misusedHeader);
  add("recipient-stream-entry-for-phone", "the only entry with our key id is a stream-key entry (phone openers refuse it)", "E_UNWRAP", "x",
    concat(resign(onlyStream), ...misused.segments, misused.footer));
  const relabelled = encodeHeader({ ...misusedHeader, recipients: misusedHeader.recipients.map((r) => ({ ...r, alg: ALG_HPKE_P256 }) as never) });
  add("recipient-stream-entry-relabelled", "a stream-key entry for our key relabelled as a phone entry (camera-signed): the HPKE label differs", "E_UNWRAP", "x",
    concat(resign(relabelled), ...misused.segments, misused.footer));
}
void u16be;
void FOOTER_LENGTH;

fs.mkdirSync(OUT, { recursive: true });
for (const file of fs.readdirSync(OUT)) if (file !== "keys.json" && file.endsWith(".json")) fs.unlinkSync(path.join(OUT, file));
for (const vector of vectors) fs.writeFileSync(path.join(OUT, `${vector.name}.json`), JSON.stringify(vector, null, 1) + "\n");
process.stdout.write(`wrote ${vectors.length} vectors to ${path.relative(process.cwd(), OUT)}\n`);
void generateRosterVectors(path.join(process.cwd(), "test", "vectors", "roster-v1")).then((message) => process.stdout.write(`${message}\n`));
process.stdout.write(`${generateLiveVectors(path.join(process.cwd(), "test", "vectors", "live-v1"))}\n`);
void generateShareVectors(path.join(process.cwd(), "test", "vectors", "share-v1")).then((message) => process.stdout.write(`${message}\n`));
