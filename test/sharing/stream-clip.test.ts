/**
 * The stream-key clip recipient (FORMAT §5, `hpke-p256-sha256-aes128gcm-stream`): sealed with its own HPKE
 * label, opened only by the stream-key unwrapper; a phone entry can never be opened as a stream entry and
 * the other way round, even by someone holding the same P-256 key under both roles.
 */
import * as nodeCrypto from "node:crypto";
import { concat, u32be } from "../../firmware/core/bytes";
import {
  ALG_HPKE_P256, ALG_HPKE_P256_STREAM, ClipSealer, decodeHeader, encodeHeader, hpkeUnwrapper, LABEL_WRAP, LABEL_WRAP_STREAM, MAGIC, openClip,
  parseClipHead, streamKeyUnwrapper, type OpenerOptions, type RecipientKey, type Unwrapper,
} from "../../firmware/core/clip";
import { openSingleShot } from "../../firmware/core/hpke";
import { encodeCanonicalBytes, parseCanonicalBytes, type CanonicalValue } from "../../firmware/core/canonical-json";
import { rsaOaepUnwrapper } from "../../host-tools/platform/rsa-unwrapper";
import { crypto, makeParty, p256Spki, recipients, sealerOptions } from "../helpers/clip-fixture";
import { errorCode } from "../helpers/refusal";

const party = makeParty();
const streamKey = crypto.p256Generate();
const streamKeyId = crypto.sha256(p256Spki(crypto.p256PublicKey(streamKey)));
const streamRecipient: RecipientKey = { kind: "hpke-p256-stream", keyId: streamKeyId, publicKey: crypto.p256PublicKey(streamKey) };
const plaintext = new Uint8Array(10000).map((_, i) => (i * 7) & 0xff);

function seal(list: RecipientKey[], data = plaintext): Uint8Array {
  const sealer = new ClipSealer(sealerOptions(party, { recipients: list }));
  const parts = [sealer.head];
  for (const s of sealer.write(data)) parts.push(s.bytes);
  const { segment, footer } = sealer.finish();
  return concat(...parts, segment.bytes, footer);
}

function opener(unwrappers: Unwrapper[]): OpenerOptions {
  return { crypto, camera: () => ({ publicKey: crypto.p256PublicKey(party.camera), certificateHash: party.cameraCertHash }), unwrappers };
}

function codeOf(fn: () => unknown): string {
  return errorCode(fn, "none");
}

/** The camera signs a header edited by `edit` (a validly signed head: what only a confused or buggy camera could send). */
function resigned(sealed: Uint8Array, edit: (header: ReturnType<typeof decodeHeader>) => ReturnType<typeof decodeHeader>): Uint8Array {
  const head = parseClipHead(sealed);
  const header = encodeHeader(edit(head.header));
  const signed = concat(MAGIC, u32be(header.length), header);
  return concat(signed, crypto.ecdsaP256Sign(party.camera, signed), sealed.subarray(head.headLength));
}

const stream = () => streamKeyUnwrapper(crypto, streamKeyId, streamKey);
const data = () => rsaOaepUnwrapper(party.dataKeyId, party.dataKey);
const phone = () => hpkeUnwrapper(crypto, party.phoneKeyId, party.phone);

test("a clip sealed to phone + data key + stream key opens with each of the three; the entry has the stream alg", () => {
  const sealed = seal([...recipients(party), streamRecipient]);
  const header = parseClipHead(sealed).header;
  expect(header.recipients.map((r) => r.alg)).toEqual([ALG_HPKE_P256, "rsa-oaep-sha256", ALG_HPKE_P256_STREAM]);
  for (const u of [phone(), data(), stream()]) expect(openClip(opener([u]), sealed).plaintext).toEqual(plaintext);
});

test("the stream entry is wrapped under its own label, not the clip-key label (and the phone's the other way)", () => {
  const sealed = seal([...recipients(party), streamRecipient]);
  const header = parseClipHead(sealed).header;
  const entry = header.recipients[2] as { enc: Uint8Array; ct: Uint8Array };
  const empty = new Uint8Array(0);
  expect(openSingleShot(crypto, streamKey, entry.enc, concat(LABEL_WRAP_STREAM, header.clipId), empty, entry.ct)).toHaveLength(16);
  expect(() => openSingleShot(crypto, streamKey, entry.enc, concat(LABEL_WRAP, header.clipId), empty, entry.ct)).toThrow();
  const phoneEntry = header.recipients[0] as { enc: Uint8Array; ct: Uint8Array };
  expect(() => openSingleShot(crypto, party.phone, phoneEntry.enc, concat(LABEL_WRAP_STREAM, header.clipId), empty, phoneEntry.ct)).toThrow();
  expect(new TextDecoder().decode(LABEL_WRAP_STREAM)).toBe("sealcam/v1 stream-key\0");
});

test("a stream-key holder cannot open a clip without its entry (E_NO_RECIPIENT), nor use a phone's entry", () => {
  expect(codeOf(() => openClip(opener([stream()]), seal(recipients(party))))).toBe("E_NO_RECIPIENT");
});

test("phone entry replayed as a stream entry: the stream unwrapper refuses it (E_UNWRAP), also relabelled and re-signed", () => {
  // The same P-256 key is the phone's and the holder's (the worst case: one key presented under both roles).
  const sameKey: RecipientKey = { kind: "hpke-p256", keyId: streamKeyId, publicKey: crypto.p256PublicKey(streamKey) };
  const sealed = seal([sameKey, recipients(party)[1]]);
  // As it is: a phone entry naming the stream key's id is not a stream entry.
  expect(codeOf(() => openClip(opener([stream()]), sealed))).toBe("E_UNWRAP");
  // Relabelled to the stream alg (and signed again by the camera): the HPKE label does not match.
  const relabelled = resigned(sealed, (h) => ({ ...h, recipients: h.recipients.map((r) => (r.alg === ALG_HPKE_P256 ? { ...r, alg: ALG_HPKE_P256_STREAM } as never : r)) }));
  expect(parseClipHead(relabelled).header.recipients[0].alg).toBe(ALG_HPKE_P256_STREAM);
  expect(codeOf(() => openClip(opener([stream()]), relabelled))).toBe("E_UNWRAP");
  // The key itself can open the original as a phone: the refusal is the label and the alg, not the key.
  expect(openClip(opener([hpkeUnwrapper(crypto, streamKeyId, streamKey)]), sealed).plaintext).toEqual(plaintext);
});

test("stream entry replayed as a phone entry: the phone unwrapper refuses it (E_UNWRAP), also relabelled and re-signed", () => {
  const phoneAsStream: RecipientKey = { kind: "hpke-p256-stream", keyId: party.phoneKeyId, publicKey: crypto.p256PublicKey(party.phone) };
  const sealed = seal([phoneAsStream, recipients(party)[1]]);
  expect(codeOf(() => openClip(opener([phone()]), sealed))).toBe("E_UNWRAP");
  const relabelled = resigned(sealed, (h) => ({ ...h, recipients: h.recipients.map((r) => (r.alg === ALG_HPKE_P256_STREAM ? { ...r, alg: ALG_HPKE_P256 } as never : r)) }));
  expect(codeOf(() => openClip(opener([phone()]), relabelled))).toBe("E_UNWRAP");
  expect(openClip(opener([streamKeyUnwrapper(crypto, party.phoneKeyId, party.phone)]), sealed).plaintext).toEqual(plaintext);
});

test("stream entries in the header: exactly alg, ct, enc, kid with the phone entry's sizes (E_FORMAT), counted in the 16", () => {
  const sealed = seal([...recipients(party), streamRecipient]);
  const head = parseClipHead(sealed);
  const json = parseCanonicalBytes(head.signedBytes.subarray(12), 16384) as { [k: string]: CanonicalValue };
  const withRcpt = (entry: CanonicalValue) => encodeCanonicalBytes({ ...json, rcpt: [entry] });
  const entry = (json.rcpt as CanonicalValue[])[2] as { [k: string]: CanonicalValue };
  expect(decodeHeader(withRcpt(entry)).recipients[0].alg).toBe(ALG_HPKE_P256_STREAM);
  expect(codeOf(() => decodeHeader(withRcpt({ ...entry, x: "a" })))).toBe("E_FORMAT");
  expect(codeOf(() => decodeHeader(withRcpt({ alg: entry.alg, ct: entry.ct, kid: entry.kid })))).toBe("E_FORMAT");
  expect(codeOf(() => decodeHeader(withRcpt({ ...entry, enc: entry.ct })))).toBe("E_FORMAT");
  const seventeen: RecipientKey[] = [...recipients(party), streamRecipient];
  for (let i = 0; i < 14; i++) seventeen.push({ kind: "hpke-p256-stream", keyId: crypto.randomBytes(32), publicKey: crypto.p256PublicKey(crypto.p256Generate()) });
  expect(codeOf(() => seal(seventeen))).toBe("E_ARGUMENT");
  expect(codeOf(() => seal(seventeen.slice(0, 16)))).toBe("none");
});

test("an opener holding a phone key and a stream key opens with whichever entry is there", () => {
  const both = [phone(), stream()];
  expect(openClip(opener(both), seal([streamRecipient, recipients(party)[1]])).plaintext).toEqual(plaintext);
  expect(openClip(opener(both), seal(recipients(party))).plaintext).toEqual(plaintext);
  void nodeCrypto;
});
