/**
 * The sealed-clip format v1: round trips, streaming, and every way a clip can be tampered with (issue 2, 2-6).
 * Each failure must be its own clear error and must yield no plaintext.
 */
import { ClipOpener, ClipSealer, FrameReader, encodeFrame, openClip, parseClipHead, MAGIC, LABEL_WRAP } from "../../firmware/core/clip";
import { concat, fromHex, toHex } from "../../firmware/core/bytes";
import { openSingleShot } from "../../firmware/core/hpke";
import { deriveClipKeys, segmentNonce } from "../../firmware/core/clip/keys";
import type { HpkeRecipientEntry } from "../../firmware/core/clip/header";
import { expectedCutCode, signHead } from "./clip-model";
import { DeterministicCrypto } from "../../firmware/testing/deterministic-crypto";
import { SealcamError } from "../../firmware/core/errors";
import { crypto, makeParty, openerOptions, seal, sealerOptions } from "../helpers/clip-fixture";
import { pattern } from "../helpers/pattern";

const party = makeParty();
const other = makeParty();

function expectCode(fn: () => unknown, code: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(SealcamError);
  expect((caught as SealcamError).code).toBe(code);
}

describe("round trip", () => {
  test.each([0, 1, 4095, 4096, 4097, 8192, 12289, 50_000])("%d bytes opens with the phone key and the data key", (n) => {
    const plaintext = pattern(n);
    const sealed = seal(sealerOptions(party), plaintext);
    expect(sealed.segments.length).toBe(Math.max(1, Math.ceil(n / 4096)));
    expect(openClip(openerOptions(party, "phone"), sealed.whole).plaintext).toEqual(plaintext);
    expect(openClip(openerOptions(party, "data"), sealed.whole).plaintext).toEqual(plaintext);
  });

  test("segments have the fixed size, the head starts with the magic, and the header says what it should", () => {
    const sealed = seal(sealerOptions(party), pattern(10_000));
    expect(sealed.segments.map((s) => s.length)).toEqual([4112, 4112, 10_000 - 8192 + 16]);
    expect(sealed.whole.subarray(0, 8)).toEqual(MAGIC);
    const head = parseClipHead(sealed.whole);
    expect(head.header).toMatchObject({
      cameraId: "cam-test-1",
      sequence: 7,
      startTime: 1_790_000_000_000,
      contentType: "video/x-sealcam-frames",
      segmentSize: 4096,
      rosterVersion: 3,
    });
    expect(head.header.recipients.map((r) => r.alg)).toEqual(["hpke-p256-sha256-aes128gcm", "rsa-oaep-sha256"]);
    expect(sealed.footer.length).toBe(64);
  });

  test("every clip gets a fresh clip id and key: the same plaintext seals differently", () => {
    const a = seal(sealerOptions(party), pattern(5000));
    const b = seal(sealerOptions(party), pattern(5000));
    expect(parseClipHead(a.whole).header.clipId).not.toEqual(parseClipHead(b.whole).header.clipId);
    expect(toHex(a.segments[0])).not.toBe(toHex(b.segments[0]));
  });

  test("the streaming opener accepts any chunking and releases plaintext segment by segment", () => {
    const plaintext = pattern(30_000, 9);
    const sealed = seal(sealerOptions(party), plaintext, 777);
    for (const step of [1, 13, 4112, 100_000]) {
      const opener = new ClipOpener(openerOptions(party));
      const parts: Uint8Array[] = [];
      for (let i = 0; i < sealed.whole.length; i += step) parts.push(...opener.push(sealed.whole.subarray(i, i + step)));
      parts.push(opener.end().plaintext);
      expect(concat(...parts)).toEqual(plaintext);
    }
  });

  test("the sealer holds at most one segment of plaintext, whatever it is fed", () => {
    const sealer = new ClipSealer(sealerOptions(party));
    expect(sealer.write(pattern(4096))).toHaveLength(0); // may still be the last
    expect(sealer.write(pattern(1))).toHaveLength(1);
    expect(sealer.write(pattern(4096 * 3))).toHaveLength(3);
    sealer.finish();
    expectCode(() => sealer.write(pattern(1)), "E_STATE");
    expectCode(() => sealer.finish(), "E_STATE");
  });

  test("the output does not depend on how the plaintext is fed (copy and zero-copy paths agree)", () => {
    const plaintext = pattern(5 * 4096 + 77, 3);
    const results = [1, 100, 4096, 4097, 8192, 3 * 4096, plaintext.length].map((chunk) => {
      // HPKE recipient only: RSA-OAEP draws its own randomness inside the provider.
      const options = sealerOptions(party, {
        crypto: new DeterministicCrypto(crypto, new Uint8Array(32)),
        recipients: [{ kind: "hpke-p256", keyId: party.phoneKeyId, publicKey: crypto.p256PublicKey(party.phone) }],
      });
      return toHex(seal(options, plaintext, chunk).whole);
    });
    expect(new Set(results).size).toBe(1);
    expect(openClip(openerOptions(party), fromHex(results[0])).plaintext).toEqual(plaintext);
  });

  test("bad sealer options are refused", () => {
    expectCode(() => new ClipSealer(sealerOptions(party, { segmentSize: 1000 })), "E_ARGUMENT");
    expectCode(() => new ClipSealer(sealerOptions(party, { segmentSize: 2 * 1024 * 1024 })), "E_ARGUMENT");
    expectCode(() => new ClipSealer(sealerOptions(party, { recipients: [] })), "E_ARGUMENT");
    expectCode(() => new ClipSealer(sealerOptions(party, { cameraId: "bad id!" })), "E_FORMAT");
  });
});

describe("tampering is detected, each with its own error and no plaintext", () => {
  const plaintext = pattern(3 * 4096 + 100, 5);
  const sealed = seal(sealerOptions(party), plaintext);
  const headLength = sealed.head.length;

  function open(bytes: Uint8Array, use: "phone" | "data" | "both" = "both") {
    return openClip(openerOptions(party, use), bytes);
  }

  test("a flipped bit anywhere fails (sampled across the whole clip)", () => {
    const positions = new Set<number>();
    for (let i = 0; i < sealed.whole.length; i += 97) positions.add(i);
    for (let i = 0; i < 200; i++) positions.add(i); // every byte of preamble and early header
    positions.add(sealed.whole.length - 1);
    for (const position of positions) {
      const bad = Uint8Array.from(sealed.whole);
      bad[position] ^= 0x01;
      let threw = false;
      try {
        open(bad);
      } catch (error) {
        threw = error instanceof SealcamError;
      }
      if (!threw) throw new Error(`flip at ${position} was not detected`);
    }
  });

  test("header bytes changed -> E_SIGNATURE (or E_FORMAT when it no longer parses)", () => {
    const bad = Uint8Array.from(sealed.whole);
    const text = Buffer.from(bad.subarray(12, headLength - 64)).toString("latin1");
    const at = 12 + text.indexOf('"seq":7') + 6;
    bad[at] = "8".charCodeAt(0);
    expectCode(() => open(bad), "E_SIGNATURE");
  });

  test("a forged signature (another camera key) -> E_SIGNATURE", () => {
    const forged = seal(sealerOptions(party, { cameraKey: other.camera }), plaintext);
    expectCode(() => open(forged.whole), "E_SIGNATURE");
  });

  test("a swapped signature from another clip -> E_SIGNATURE", () => {
    const another = seal(sealerOptions(party), plaintext);
    const bad = concat(sealed.head.subarray(0, headLength - 64), another.head.subarray(another.head.length - 64), ...sealed.segments, sealed.footer);
    expectCode(() => open(bad), "E_SIGNATURE");
  });

  test("a header from another clip in front of these segments -> E_SEGMENT", () => {
    const another = seal(sealerOptions(party), plaintext);
    expectCode(() => open(concat(another.head, ...sealed.segments, sealed.footer)), "E_SEGMENT");
  });

  test("a camera certificate other than the one on record -> E_CERT", () => {
    const options = openerOptions(party);
    options.camera = () => ({ publicKey: crypto.p256PublicKey(party.camera), certificateHash: crypto.randomBytes(32) });
    expectCode(() => openClip(options, sealed.whole), "E_CERT");
  });

  test("a clip not sealed to us -> E_NO_RECIPIENT", () => {
    // (the fixture shares one RSA data key between parties, so use only the other phone's key)
    const options = openerOptions(other, "phone");
    options.camera = () => ({ publicKey: crypto.p256PublicKey(party.camera), certificateHash: party.cameraCertHash });
    expectCode(() => openClip(options, sealed.whole), "E_NO_RECIPIENT");
  });

  test("a recipient entry that does not unwrap -> E_UNWRAP", () => {
    // Seal to the phone's key id but a different public key: the entry names us, yet is not for our key.
    const wrong = seal(
      sealerOptions(party, {
        recipients: [{ kind: "hpke-p256", keyId: party.phoneKeyId, publicKey: crypto.p256PublicKey(other.phone) }],
      }),
      plaintext,
    );
    expectCode(() => open(wrong.whole, "phone"), "E_UNWRAP");
  });

  test("a dropped middle segment -> E_SEGMENT", () => {
    const s = sealed.segments;
    expectCode(() => open(concat(sealed.head, s[0], s[2], s[3], sealed.footer)), "E_SEGMENT");
  });

  test("reordered segments -> E_SEGMENT", () => {
    const s = sealed.segments;
    expectCode(() => open(concat(sealed.head, s[1], s[0], s[2], s[3], sealed.footer)), "E_SEGMENT");
  });

  test("a duplicated segment -> E_SEGMENT", () => {
    const s = sealed.segments;
    expectCode(() => open(concat(sealed.head, s[0], s[0], s[1], s[2], s[3], sealed.footer)), "E_SEGMENT");
  });

  test("the final segment cut off (clip ends after a full segment) -> E_TRUNCATED", () => {
    const s = sealed.segments;
    expectCode(() => open(concat(sealed.head, s[0], s[1], s[2], sealed.footer)), "E_TRUNCATED");
  });

  test("the final segment truncated inside -> E_SEGMENT; footer missing -> E_TRUNCATED or E_SEGMENT", () => {
    const s = sealed.segments;
    expectCode(() => open(concat(sealed.head, s[0], s[1], s[2], s[3].subarray(0, 50), sealed.footer)), "E_SEGMENT");
    expectCode(() => open(sealed.head), "E_TRUNCATED");
    expectCode(() => open(sealed.whole.subarray(0, 40)), "E_TRUNCATED");
  });

  test("an extension after a full final segment -> E_TRAILING; after a short one -> E_SEGMENT", () => {
    const exact = seal(sealerOptions(party), pattern(2 * 4096));
    const extra = seal(sealerOptions(party), pattern(5000));
    expectCode(() => open(concat(exact.head, ...exact.segments, extra.segments[0], exact.footer)), "E_TRAILING");
    expectCode(() => open(concat(sealed.whole, extra.segments[0])), "E_SEGMENT");
    expectCode(() => open(concat(sealed.head, ...sealed.segments, sealed.segments[3], sealed.footer)), "E_SEGMENT");
  });

  test("segments spliced in from another clip -> E_SEGMENT", () => {
    const another = seal(sealerOptions(party), plaintext);
    const s = sealed.segments;
    expectCode(() => open(concat(sealed.head, s[0], another.segments[1], s[2], s[3], sealed.footer)), "E_SEGMENT");
  });

  test("a footer from another clip, or a recipient re-encrypting the payload -> E_FOOTER", () => {
    const another = seal(sealerOptions(party), plaintext);
    expectCode(() => open(concat(sealed.head, ...sealed.segments, another.footer)), "E_FOOTER");
  });

  test("garbage and wrong magic/version are refused before any crypto", () => {
    expectCode(() => open(crypto.randomBytes(500)), "E_FORMAT");
    const v2 = Uint8Array.from(sealed.whole);
    v2[7] = 2;
    expectCode(() => open(v2), "E_VERSION");
    const huge = Uint8Array.from(sealed.whole);
    huge.set([0xff, 0xff, 0xff, 0xff], 8);
    expectCode(() => open(huge), "E_LIMIT");
  });

  test("an opener that failed stays failed", () => {
    const opener = new ClipOpener(openerOptions(party));
    const bad = Uint8Array.from(sealed.whole);
    bad[headLength + 10] ^= 1;
    expect(() => opener.push(bad)).toThrow(SealcamError);
    expectCode(() => opener.push(new Uint8Array(1)), "E_STATE");
  });
});

describe("FORMAT §8: each way a stream can end wrong has one documented code", () => {
  const plaintext = pattern(3 * 4096 + 100, 11);
  const sealed = seal(sealerOptions(party), plaintext);
  const shape = { headLength: sealed.head.length, segmentSize: 4096, segmentLengths: sealed.segments.map((s) => s.length) };
  const open = (bytes: Uint8Array) => openClip(openerOptions(party, "phone"), bytes);

  test("cut at a segment boundary before the final segment -> E_TRUNCATED (not E_SEGMENT)", () => {
    const s = sealed.segments;
    expectCode(() => open(concat(sealed.head, s[0])), "E_TRUNCATED");
    expectCode(() => open(concat(sealed.head, s[0], s[1])), "E_TRUNCATED");
    expectCode(() => open(concat(sealed.head, s[0], s[1], s[2])), "E_TRUNCATED");
  });

  test("every cut near the head, each segment boundary and the end gives the table's code", () => {
    const cuts = new Set<number>();
    for (let at = 0; at < 200; at++) cuts.add(at);
    const boundaries = [sealed.head.length];
    for (const segment of sealed.segments) boundaries.push(boundaries[boundaries.length - 1] + segment.length);
    boundaries.push(sealed.whole.length);
    for (const b of boundaries) for (let at = b - 20; at <= b + 100; at++) if (at >= 0 && at < sealed.whole.length) cuts.add(at);
    const seen = new Set<string>();
    for (const cut of [...cuts].sort((a, b) => a - b)) {
      const expected = expectedCutCode(shape, cut);
      seen.add(expected);
      let code = "none";
      try {
        open(sealed.whole.subarray(0, cut));
      } catch (error) {
        code = (error as SealcamError).code;
      }
      if (code !== expected) throw new Error(`cut at ${cut} of ${sealed.whole.length}: ${code}, table says ${expected}`);
    }
    expect([...seen].sort()).toEqual(["E_SEGMENT", "E_TRUNCATED"]);
  });

  test("a stream under 12 bytes -> E_TRUNCATED, whatever the bytes", () => {
    for (let n = 0; n < 12; n++) {
      expectCode(() => open(sealed.whole.subarray(0, n)), "E_TRUNCATED");
      expectCode(() => open(new Uint8Array(n).fill(0x41)), "E_TRUNCATED");
    }
  });

  test("extra bytes after the footer: E_TRAILING after a full final segment, E_SEGMENT otherwise", () => {
    const exact = seal(sealerOptions(party), pattern(2 * 4096, 4));
    for (const extra of [1, 15, 64, 5000]) {
      expectCode(() => open(concat(exact.whole, new Uint8Array(extra))), "E_TRAILING");
      expectCode(() => open(concat(sealed.whole, new Uint8Array(extra))), "E_SEGMENT");
    }
  });

  test("an empty final segment after other segments -> E_FORMAT (made by someone holding the clip key)", () => {
    const header = parseClipHead(sealed.head).header;
    const entry = header.recipients[0] as HpkeRecipientEntry;
    const clipKey = openSingleShot(crypto, party.phone, entry.enc, concat(LABEL_WRAP, header.clipId), new Uint8Array(0), entry.ct);
    const { payloadKey } = deriveClipKeys(crypto, clipKey, header.clipId);
    const empty = crypto.aesGcmSeal(payloadKey, segmentNonce(1, true), crypto.sha256(sealed.head), new Uint8Array(0));
    expectCode(() => open(concat(sealed.head, sealed.segments[0], empty, sealed.footer)), "E_FORMAT");
  });

  test("a frame record that crosses the end of the plaintext -> E_FORMAT", () => {
    const frame = encodeFrame({ time: 1, jpeg: pattern(100) });
    const reader = new FrameReader();
    expect(reader.push(frame.subarray(0, 50))).toEqual([]);
    expectCode(() => reader.end(), "E_FORMAT");
    const zero = new FrameReader();
    expectCode(() => zero.push(new Uint8Array(12)), "E_FORMAT");
  });

  test("our kid on an entry of the other known algorithm -> E_UNWRAP; on a reserved algorithm -> ignored (E_NO_RECIPIENT)", () => {
    const header = parseClipHead(sealed.head).header;
    const rsaShaped = { alg: "rsa-oaep-sha256" as const, kid: party.phoneKeyId, ct: pattern(256, 2) };
    const mismatched = signHead(crypto, party.camera, { ...header, recipients: [rsaShaped, header.recipients[1]] });
    expectCode(() => open(concat(mismatched, ...sealed.segments, sealed.footer)), "E_UNWRAP");
    const reserved = { alg: "x-stream-key", kid: party.phoneKeyId, fields: { ct: "AAAA" } };
    const unknown = signHead(crypto, party.camera, { ...header, recipients: [reserved, header.recipients[1]] });
    expectCode(() => open(concat(unknown, ...sealed.segments, sealed.footer)), "E_NO_RECIPIENT");
    // With the data key as well, the reserved entry is skipped and the data key's entry unwraps and commits;
    // the segments then fail only because this re-signed head is not the head they were sealed under.
    expectCode(() => openClip(openerOptions(party, "both"), concat(unknown, ...sealed.segments, sealed.footer)), "E_SEGMENT");
  });
});
