/**
 * Property-based suite over the sealed-clip format (fast-check, fixed seeds, bounded runs): random clips
 * (plaintext sizes including 0 and exact multiples of the segment size, segment sizes 4..64 KiB, 1–3
 * recipients of both kinds, any write chunking) × random mutations (bit flips, cuts, insertions, segment swaps
 * within a clip and across two clips of the same camera and keys, header edits signed again by the camera or
 * not, footer edits, recipient edits, removals and reorders).
 *
 * Properties: an unmutated clip always round-trips, through any chunking of the stream; a mutated clip never
 * yields final plaintext, whatever was released provisionally is a prefix of the true plaintext, and the error
 * is the one docs/FORMAT.md §8 names for that mutation (exact where the format makes it exact).
 *
 * Everything is deterministic (seeded clip randomness, seeded RSA-OAEP, RFC 6979 signatures, fixed keys), so a
 * failure reproduces from the seed and path fast-check prints.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as nodeCrypto from "node:crypto";
import fc from "fast-check";
import { NodeCrypto } from "../../host-tools/platform/node-crypto";
import { rsaOaepUnwrapper } from "../../host-tools/platform/rsa-unwrapper";
import { DeterministicCrypto } from "../../firmware/testing/deterministic-crypto";
import { deriveKeyPair } from "../../firmware/core/hpke";
import { asciiBytes, concat, constantTimeEqual, fromBase64Url, fromHex, toBase64Url, u32be } from "../../firmware/core/bytes";
import { encodeCanonicalBytes, type CanonicalValue } from "../../firmware/core/canonical-json";
import { SealcamError, fail } from "../../firmware/core/errors";
import {
  ALG_HPKE_P256, ALG_RSA_OAEP, ClipOpener, ClipSealer, hpkeUnwrapper, MAGIC, type OpenerOptions, type RecipientKey,
} from "../../firmware/core/clip";
import { SeededOaepCrypto } from "../vectors/seeded-oaep";
import { expectedCutCode } from "./clip-model";
import { pattern as filler } from "../helpers/pattern";

const SEED = 0x5ea1ca;
const base = new NodeCrypto();
const fixed = (label: string) => base.sha256(asciiBytes(`sealcam property suite: ${label}`));
const SPKI_P256 = fromHex("3059301306072a8648ce3d020106082a8648ce3d030107034200");

const keysFile = path.join(__dirname, "..", "vectors", "clip-v1", "keys.json");
const rsaPrivate = nodeCrypto.createPrivateKey({
  key: Buffer.from(fromHex((JSON.parse(fs.readFileSync(keysFile, "utf8")) as { rsa_private_pkcs8: string }).rsa_private_pkcs8)),
  format: "der",
  type: "pkcs8",
});
const rsaPublic = nodeCrypto.createPublicKey(rsaPrivate);
const dataPkcs1 = new Uint8Array(rsaPublic.export({ format: "der", type: "pkcs1" }));
const dataKeyId = base.sha256(new Uint8Array(rsaPublic.export({ format: "der", type: "spki" })));

const cameraKey = deriveKeyPair(base, fixed("camera"));
const cameraPublic = base.p256PublicKey(cameraKey);
const CAMERA_ID = "cam-0123456789abcdef";
const cameraCertHash = fixed("camera certificate");
const phoneA = deriveKeyPair(base, fixed("phone A (ours)"));
const phoneB = deriveKeyPair(base, fixed("phone B (another phone)"));
const keyIdOf = (key: typeof phoneA) => base.sha256(concat(SPKI_P256, base.p256PublicKey(key)));
const phoneAKeyId = keyIdOf(phoneA);
const phoneBKeyId = keyIdOf(phoneB);

type RecipientName = "phoneA" | "phoneB" | "data";
const RECIPIENTS: Record<RecipientName, RecipientKey> = {
  phoneA: { kind: "hpke-p256", keyId: phoneAKeyId, publicKey: base.p256PublicKey(phoneA) },
  phoneB: { kind: "hpke-p256", keyId: phoneBKeyId, publicKey: base.p256PublicKey(phoneB) },
  data: { kind: "rsa-oaep-sha256", keyId: dataKeyId, publicKey: dataPkcs1 },
};

/** The phone opening clips: it holds phone A's instance key and the account data key; it knows one camera. */
const openerOptions: OpenerOptions = {
  crypto: base,
  camera(header) {
    if (header.cameraId !== CAMERA_ID) fail("E_CERT", "no camera with that id");
    return { publicKey: cameraPublic, certificateHash: cameraCertHash };
  },
  unwrappers: [hpkeUnwrapper(base, phoneAKeyId, phoneA), rsaOaepUnwrapper(dataKeyId, rsaPrivate)],
};

// ---------------------------------------------------------------------------------------------------------
// Clips

interface ClipSpec {
  seed: number;
  segmentSize: number;
  /** Plaintext length as a choice, resolved against the segment size. */
  size: { kind: "empty" } | { kind: "exact"; segments: number } | { kind: "any"; length: number };
  recipients: RecipientName[];
  chunk: number;
}

interface Clip {
  spec: ClipSpec;
  plaintext: Uint8Array;
  head: Uint8Array;
  segments: Uint8Array[];
  footer: Uint8Array;
  whole: Uint8Array;
  /** The header JSON as the camera wrote it. */
  header: { [key: string]: CanonicalValue };
}

function plaintextLength(spec: ClipSpec): number {
  if (spec.size.kind === "empty") return 0;
  if (spec.size.kind === "exact") return spec.size.segments * spec.segmentSize;
  return spec.size.length % (3 * spec.segmentSize + 1000);
}

const clipCache = new Map<string, Clip>();

function sealClip(spec: ClipSpec): Clip {
  const cacheKey = JSON.stringify(spec);
  const cached = clipCache.get(cacheKey);
  if (cached) return cached;
  const seed = concat(fixed("clip"), u32be(spec.seed));
  const crypto = new DeterministicCrypto(new SeededOaepCrypto(new DeterministicCrypto(base, concat(seed, asciiBytes("oaep")))), seed);
  const plaintext = filler(plaintextLength(spec), spec.seed);
  const sealer = new ClipSealer({
    crypto,
    cameraKey,
    cameraId: CAMERA_ID,
    cameraCertHash,
    sequence: 1000 + spec.seed,
    startTime: 1_790_000_000_000 + spec.seed,
    contentType: "video/x-sealcam-frames",
    recipients: spec.recipients.map((name) => RECIPIENTS[name]),
    rosterVersion: 4,
    segmentSize: spec.segmentSize,
  });
  const segments: Uint8Array[] = [];
  for (let i = 0; i < plaintext.length; i += spec.chunk) {
    for (const s of sealer.write(plaintext.subarray(i, i + spec.chunk))) segments.push(s.bytes);
  }
  const { segment, footer } = sealer.finish();
  segments.push(segment.bytes);
  const head = sealer.head;
  const headerLength = (head[8] << 24) | (head[9] << 16) | (head[10] << 8) | head[11];
  const header = JSON.parse(new TextDecoder().decode(head.subarray(12, 12 + headerLength))) as { [key: string]: CanonicalValue };
  const clip = { spec, plaintext, head, segments, footer, whole: concat(head, ...segments, footer), header };
  if (clipCache.size > 64) clipCache.clear();
  clipCache.set(cacheKey, clip);
  return clip;
}

const OURS: RecipientName[] = ["phoneA", "data"];
const clipSpec: fc.Arbitrary<ClipSpec> = fc.record({
  seed: fc.nat({ max: 1_000_000 }),
  segmentSize: fc.oneof(fc.constant(4096), fc.constant(65536), fc.integer({ min: 4096, max: 65536 })),
  size: fc.oneof(
    fc.constant({ kind: "empty" as const }),
    fc.record({ kind: fc.constant("exact" as const), segments: fc.integer({ min: 1, max: 3 }) }),
    fc.record({ kind: fc.constant("any" as const), length: fc.nat() }),
  ),
  recipients: fc.shuffledSubarray<RecipientName>(["phoneA", "phoneB", "data"], { minLength: 1 }).filter((r) => r.some((n) => OURS.includes(n))),
  chunk: fc.oneof(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 4096, max: 70000 })),
});

/** Two clips of the same camera and keys (same segment size), for swaps across clips. */
const clipPair = clipSpec.chain((a) => clipSpec.map((b) => [a, { ...b, segmentSize: a.segmentSize, seed: b.seed === a.seed ? b.seed + 1 : b.seed }] as const));

// ---------------------------------------------------------------------------------------------------------
// Opening

interface Outcome {
  code: string | null;
  released: Uint8Array;
  final?: Uint8Array;
}

/** Streams `bytes` into an opener in chunks of `step`; collects what it releases and how it ends. */
function openStreaming(bytes: Uint8Array, step: number): Outcome {
  const opener = new ClipOpener(openerOptions);
  const released: Uint8Array[] = [];
  try {
    for (let i = 0; i < bytes.length; i += step) released.push(...opener.push(bytes.subarray(i, i + step)));
    const last = opener.end();
    released.push(last.plaintext);
    return { code: null, released: concat(...released), final: concat(...released) };
  } catch (error) {
    if (!(error instanceof SealcamError)) throw error;
    return { code: error.code, released: concat(...released) };
  }
}

function isPrefix(prefix: Uint8Array, of: Uint8Array): boolean {
  return prefix.length <= of.length && constantTimeEqual(prefix, of.subarray(0, prefix.length));
}

/** The mutated stream must fail with one of `codes`, release only a prefix of the true plaintext, never all of it as final. */
function expectRefused(clip: Clip, bytes: Uint8Array, codes: readonly string[], step: number, what: string): void {
  const outcome = openStreaming(bytes, step);
  if (outcome.code === null) throw new Error(`${what}: the mutated clip opened (${outcome.released.length} bytes of plaintext)`);
  if (!codes.includes(outcome.code)) throw new Error(`${what}: ${outcome.code}, FORMAT §8 says ${codes.join(" or ")}`);
  if (!isPrefix(outcome.released, clip.plaintext)) throw new Error(`${what}: released plaintext that is not the clip's`);
}

// Whole, or chunks of 1000..70000 bytes (the opener copies its buffer per push; byte-sized pushes are covered in clip.test.ts).
const step = fc.oneof(fc.constant(1 << 30), fc.integer({ min: 1000, max: 70_000 }));

function layout(clip: Clip) {
  const headLength = clip.head.length;
  const footerStart = clip.whole.length - 64;
  const full = clip.spec.segmentSize + 16;
  const finalLength = clip.segments[clip.segments.length - 1].length;
  return { headLength, footerStart, full, finalIsFull: finalLength === full, signatureStart: headLength - 64 };
}

// ---------------------------------------------------------------------------------------------------------
// Header and recipient edits

type Json = { [key: string]: CanonicalValue };

/** A head over `header`: signed again by the camera, or carrying the original signature. */
function headOver(clip: Clip, headerBytes: Uint8Array, resign: boolean): Uint8Array {
  const signed = concat(MAGIC, u32be(headerBytes.length), headerBytes);
  const signature = resign ? base.ecdsaP256Sign(cameraKey, signed) : clip.head.subarray(clip.head.length - 64);
  return concat(signed, signature);
}

function withHead(clip: Clip, head: Uint8Array): Uint8Array {
  return concat(head, ...clip.segments, clip.footer);
}

const randomB64 = (length: number, seed: number) => toBase64Url(filler(length, seed + 7));

type HeaderEdit = "seq" | "t" | "roster" | "type" | "seg" | "clip" | "commit" | "cert" | "cam" | "v" | "extra" | "space";

function editHeader(clip: Clip, edit: HeaderEdit, n: number): { bytes: Uint8Array; signedCode: string; unsignedCode: string } {
  const h: Json = { ...clip.header };
  const S = clip.spec.segmentSize;
  let raw: string | undefined;
  // What the opener says when the camera signed the edited header (signedCode) and when it did not.
  let signedCode = "E_SEGMENT"; // the head hash changed, so no segment authenticates
  let unsignedCode = "E_SIGNATURE";
  switch (edit) {
    case "seq": h.seq = (h.seq as number) + 1 + (n % 1000); break;
    case "t": h.t = (h.t as number) + 1 + n; break;
    case "roster": h.roster = (h.roster as number) + 1 + (n % 7); break;
    case "type": h.type = ["video/mp4", "a/b", "video/x-sealcam-frames2", "application/vnd.x+json"][n % 4]; break;
    case "seg": h.seg = 4096 + ((S - 4096 + 1 + (n % 60000)) % (1048576 - 4096 + 1)); break;
    case "clip": h.clip = randomB64(16, n); signedCode = "E_UNWRAP"; break; // the wrap label names the clip id
    case "commit": h.commit = randomB64(32, n); signedCode = "E_COMMIT"; break;
    case "cert": h.cert = randomB64(32, n); signedCode = unsignedCode = "E_CERT"; break;
    case "cam": h.cam = `cam-${(n % 1000).toString(16)}x`; signedCode = unsignedCode = "E_CERT"; break;
    case "v": h.v = 2 + (n % 5); signedCode = unsignedCode = "E_VERSION"; break;
    case "extra": h.note = "x"; signedCode = unsignedCode = "E_FORMAT"; break;
    case "space": raw = new TextDecoder().decode(encodeCanonicalBytes(h)).replace(",", ", "); signedCode = unsignedCode = "E_FORMAT"; break;
  }
  const bytes = raw !== undefined ? asciiBytes(raw) : encodeCanonicalBytes(h);
  return { bytes, signedCode, unsignedCode };
}

type RecipientEdit = "remove" | "rotate" | "corrupt-ct" | "corrupt-enc" | "other-kid" | "reserved-alg" | "swap-kind" | "duplicate" | "seventeen";

interface Entry {
  value: Json;
  /** Unchanged from what the camera wrote (so it still unwraps, if it is ours). */
  intact: boolean;
}

function editRecipients(clip: Clip, edit: RecipientEdit, index: number, n: number): { bytes: Uint8Array; signedCode: string; unsignedCode: string } | null {
  const entries: Entry[] = (clip.header.rcpt as Json[]).map((value) => ({ value: { ...value }, intact: true }));
  const i = index % entries.length;
  let unsignedCode = "E_SIGNATURE";
  let forced: string | undefined;
  switch (edit) {
    case "remove":
      if (entries.length < 2) return null; // an empty rcpt is a parse error; covered by "duplicate"/"seventeen"
      entries.splice(i, 1);
      break;
    case "rotate":
      if (entries.length < 2) return null;
      entries.push(entries.shift() as Entry);
      break;
    case "corrupt-ct": {
      const ct = fromBase64Url(entries[i].value.ct as string);
      ct[n % ct.length] ^= 1 << (n % 8);
      entries[i] = { value: { ...entries[i].value, ct: toBase64Url(ct) }, intact: false };
      break;
    }
    case "corrupt-enc": {
      if (entries[i].value.alg !== ALG_HPKE_P256) return null;
      const enc = fromBase64Url(entries[i].value.enc as string);
      enc[1 + (n % 64)] ^= 1 << (n % 8);
      entries[i] = { value: { ...entries[i].value, enc: toBase64Url(enc) }, intact: false };
      break;
    }
    case "other-kid":
      entries[i] = { value: { ...entries[i].value, kid: randomB64(32, n) }, intact: false };
      break;
    case "reserved-alg":
      entries[i] = { value: { ...entries[i].value, alg: `x-reserved-${n % 100}` }, intact: false };
      break;
    case "swap-kind": {
      // Our kid of one kind on an entry of the other known kind.
      const kid = entries[i].value.kid as string;
      entries[i] = entries[i].value.alg === ALG_RSA_OAEP
        ? { value: { alg: ALG_HPKE_P256, kid, enc: toBase64Url(base.p256PublicKey(phoneB)), ct: randomB64(32, n) }, intact: false }
        : { value: { alg: ALG_RSA_OAEP, kid, ct: randomB64(256, n) }, intact: false };
      break;
    }
    case "duplicate":
      entries.splice(i, 0, { value: { ...entries[i].value }, intact: false });
      forced = "E_FORMAT";
      break;
    case "seventeen":
      while (entries.length < 17) entries.push({ value: { alg: ALG_HPKE_P256, kid: randomB64(32, n + entries.length), enc: entries[0].value.enc ?? toBase64Url(base.p256PublicKey(phoneB)), ct: randomB64(32, n) }, intact: false });
      forced = "E_LIMIT";
      break;
  }
  const bytes = encodeCanonicalBytes({ ...clip.header, rcpt: entries.map((e) => e.value) });
  if (forced) return { bytes, signedCode: forced, unsignedCode: forced };
  // FORMAT §5/§8: an intact entry of ours opens the key (and then the changed head fails the segments); else
  // an entry naming one of our keys with a known alg is E_UNWRAP; else the clip is not for us.
  const ours = (e: Entry) => {
    const kid = fromBase64Url(e.value.kid as string);
    return constantTimeEqual(kid, phoneAKeyId) ? ALG_HPKE_P256 : constantTimeEqual(kid, dataKeyId) ? ALG_RSA_OAEP : null;
  };
  const usable = entries.some((e) => e.intact && ours(e) === e.value.alg);
  const named = entries.some((e) => ours(e) !== null && (e.value.alg === ALG_HPKE_P256 || e.value.alg === ALG_RSA_OAEP));
  const signedCode = usable ? "E_SEGMENT" : named ? "E_UNWRAP" : "E_NO_RECIPIENT";
  return { bytes, signedCode, unsignedCode };
}

// ---------------------------------------------------------------------------------------------------------
// Properties

const RUNS = { roundTrip: 60, flip: 150, cut: 150, insert: 100, swap: 60, across: 60, header: 100, recipients: 100, footer: 40 };
const params = (numRuns: number) => ({ seed: SEED, numRuns, endOnFailure: true });

test("unmutated clips always round-trip, through any chunking of the stream", () => {
  fc.assert(
    fc.property(clipSpec, step, (spec, chunk) => {
      const clip = sealClip(spec);
      const outcome = openStreaming(clip.whole, chunk);
      expect(outcome.code).toBeNull();
      expect(constantTimeEqual(outcome.final as Uint8Array, clip.plaintext)).toBe(true);
      expect(clip.segments.length).toBe(Math.max(1, Math.ceil(clip.plaintext.length / spec.segmentSize)));
    }),
    params(RUNS.roundTrip),
  );
});

test("a flipped bit anywhere: the code of the region it lands in", () => {
  fc.assert(
    fc.property(clipSpec, fc.nat(), fc.integer({ min: 0, max: 7 }), step, (spec, at, bit, chunk) => {
      const clip = sealClip(spec);
      const { headLength, footerStart, signatureStart } = layout(clip);
      const pos = at % clip.whole.length;
      const bytes = Uint8Array.from(clip.whole);
      bytes[pos] ^= 1 << bit;
      let codes: string[];
      if (pos < 7) codes = ["E_FORMAT"];
      else if (pos === 7) codes = ["E_VERSION"];
      else if (pos < 12) codes = ["E_LIMIT", "E_FORMAT", "E_TRUNCATED"]; // the header length now points elsewhere
      else if (pos < signatureStart) codes = ["E_FORMAT", "E_VERSION", "E_CERT", "E_SIGNATURE"]; // header text
      else if (pos < headLength) codes = ["E_SIGNATURE"];
      else if (pos < footerStart) codes = ["E_SEGMENT"];
      else codes = ["E_FOOTER"];
      expectRefused(clip, bytes, codes, chunk, `bit ${bit} of byte ${pos}/${clip.whole.length}`);
    }),
    params(RUNS.flip),
  );
});

test("a cut at any offset: E_TRUNCATED or E_SEGMENT exactly as the table of cut streams says", () => {
  fc.assert(
    fc.property(clipSpec, fc.nat(), fc.boolean(), step, (spec, at, nearBoundary, chunk) => {
      const clip = sealClip(spec);
      const { headLength, full } = layout(clip);
      // Half the cuts land within 100 bytes of a segment boundary, where the table changes its answer.
      let cut = at % clip.whole.length;
      if (nearBoundary) {
        const boundary = headLength + full * (at % clip.segments.length);
        cut = Math.min(clip.whole.length - 1, Math.max(0, boundary - 20 + (at % 121)));
      }
      const shape = { headLength, segmentSize: spec.segmentSize, segmentLengths: clip.segments.map((s) => s.length) };
      expectRefused(clip, clip.whole.subarray(0, cut), [expectedCutCode(shape, cut)], chunk, `cut at ${cut}/${clip.whole.length}`);
    }),
    params(RUNS.cut),
  );
});

test("inserted bytes: E_TRAILING after a full final segment, E_SEGMENT elsewhere in the body, head codes in the head", () => {
  fc.assert(
    fc.property(clipSpec, fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 80 }), step, (spec, at, extra, chunk) => {
      const clip = sealClip(spec);
      const { headLength, footerStart, finalIsFull, signatureStart } = layout(clip);
      const pos = at % (clip.whole.length + 1);
      const bytes = concat(clip.whole.subarray(0, pos), extra, clip.whole.subarray(pos));
      let codes: string[];
      if (pos < 12) codes = ["E_FORMAT", "E_VERSION", "E_LIMIT", "E_TRUNCATED"];
      else if (pos < signatureStart) codes = ["E_FORMAT", "E_VERSION", "E_LIMIT", "E_CERT", "E_SIGNATURE"];
      else if (pos < headLength) codes = ["E_SIGNATURE"];
      else if (pos >= footerStart && finalIsFull) codes = ["E_TRAILING"];
      else codes = ["E_SEGMENT"];
      expectRefused(clip, bytes, codes, chunk, `${extra.length} bytes inserted at ${pos}/${clip.whole.length}`);
    }),
    params(RUNS.insert),
  );
});

test("two segments of a clip swapped: E_SEGMENT", () => {
  fc.assert(
    fc.property(clipSpec, fc.nat(), fc.nat(), step, (spec, a, b, chunk) => {
      const clip = sealClip(spec);
      fc.pre(clip.segments.length >= 2);
      const i = a % clip.segments.length;
      const j = (i + 1 + (b % (clip.segments.length - 1))) % clip.segments.length;
      const segments = [...clip.segments];
      [segments[i], segments[j]] = [segments[j], segments[i]];
      expectRefused(clip, concat(clip.head, ...segments, clip.footer), ["E_SEGMENT"], chunk, `segments ${i} and ${j} swapped`);
    }),
    params(RUNS.swap),
  );
});

test("across two clips of the same camera and keys: a segment, the head or the footer of the other clip", () => {
  fc.assert(
    fc.property(clipPair, fc.nat(), fc.nat(), fc.constantFrom("replace", "insert", "head", "footer"), step, ([specA, specB], a, b, kind, chunk) => {
      const A = sealClip(specA);
      const B = sealClip(specB);
      const i = a % A.segments.length;
      const j = b % B.segments.length;
      let bytes: Uint8Array;
      let codes: string[];
      if (kind === "replace") {
        const segments = [...A.segments];
        segments[i] = B.segments[j];
        bytes = concat(A.head, ...segments, A.footer);
        codes = ["E_SEGMENT"];
      } else if (kind === "insert") {
        // B's segment j inserted before A's segment i, or after A's final segment (i = count).
        const at = a % (A.segments.length + 1);
        bytes = concat(A.head, ...A.segments.slice(0, at), B.segments[j], ...A.segments.slice(at), A.footer);
        codes = [at === A.segments.length && layout(A).finalIsFull ? "E_TRAILING" : "E_SEGMENT"];
      } else if (kind === "head") {
        bytes = concat(B.head, ...A.segments, A.footer);
        codes = ["E_SEGMENT"];
      } else {
        bytes = concat(A.head, ...A.segments, B.footer);
        codes = ["E_FOOTER"];
      }
      expectRefused(A, bytes, codes, chunk, `${kind} across clips (A ${i}, B ${j})`);
    }),
    params(RUNS.across),
  );
});

const headerEdit = fc.constantFrom<HeaderEdit>("seq", "t", "roster", "type", "seg", "clip", "commit", "cert", "cam", "v", "extra", "space");

test("header edits, signed again by the camera or not: each field's documented code", () => {
  fc.assert(
    fc.property(clipSpec, headerEdit, fc.nat(), fc.boolean(), step, (spec, edit, n, resign, chunk) => {
      const clip = sealClip(spec);
      const { bytes, signedCode, unsignedCode } = editHeader(clip, edit, n);
      expectRefused(clip, withHead(clip, headOver(clip, bytes, resign)), [resign ? signedCode : unsignedCode], chunk,
        `header ${edit} (${resign ? "signed again" : "old signature"})`);
    }),
    params(RUNS.header),
  );
});

const recipientEdit = fc.constantFrom<RecipientEdit>("remove", "rotate", "corrupt-ct", "corrupt-enc", "other-kid", "reserved-alg", "swap-kind", "duplicate", "seventeen");

test("recipient edits, removals and reorders, signed again or not: E_SEGMENT / E_UNWRAP / E_NO_RECIPIENT as §5 says", () => {
  fc.assert(
    fc.property(clipSpec, recipientEdit, fc.nat(), fc.nat(), fc.boolean(), step, (spec, edit, index, n, resign, chunk) => {
      const clip = sealClip(spec);
      const edited = editRecipients(clip, edit, index, n);
      fc.pre(edited !== null);
      const { bytes, signedCode, unsignedCode } = edited as NonNullable<typeof edited>;
      expectRefused(clip, withHead(clip, headOver(clip, bytes, resign)), [resign ? signedCode : unsignedCode], chunk,
        `recipients ${edit} at ${index} of ${spec.recipients.join(",")} (${resign ? "signed again" : "old signature"})`);
    }),
    params(RUNS.recipients),
  );
});

test("footer edits: another footer, random bytes, or a valid signature over other data -> E_FOOTER", () => {
  fc.assert(
    fc.property(clipSpec, fc.uint8Array({ minLength: 64, maxLength: 64 }), fc.boolean(), step, (spec, random, signed, chunk) => {
      const clip = sealClip(spec);
      // A camera signature, but over a message other than this clip's footer message.
      const footer = signed ? base.ecdsaP256Sign(cameraKey, concat(asciiBytes("sealcam/v1 footer\0"), random)) : random;
      fc.pre(!constantTimeEqual(footer, clip.footer));
      expectRefused(clip, concat(clip.head, ...clip.segments, footer), ["E_FOOTER"], chunk, "footer replaced");
    }),
    params(RUNS.footer),
  );
});
