/**
 * The live-session format (docs/FORMAT.md §12) in Node: two phones open the same session; a phone outside
 * the roster cannot; a hostile relay that reorders, drops, replays (within and across sessions) or tampers
 * is caught with its own code; stalls and cut streams; live and clip wraps cannot stand in for each other.
 */
import { concat, u32be } from "../../firmware/core/bytes";
import { ClipSealer, hpkeUnwrapper, openClip } from "../../firmware/core/clip";
import { parseClipHead } from "../../firmware/core/clip/head";
import {
  LiveOpener,
  LiveSealer,
  liveWrapLabel,
  parseLiveHead,
  MAX_LIVE_JPEG,
  type LiveEvent,
  type LiveOpenerOptions,
  type LiveSealerOptions,
} from "../../firmware/core/live";
import { crypto, makeParty, newKeyWithId, openerOptions, sealerOptions, type KeyWithId, type Party } from "../helpers/clip-fixture";
import { errorCode as code } from "../helpers/refusal";

type Phone = KeyWithId;

const challenge = crypto.randomBytes(16);
let party: Party;
let phoneB: Phone;

beforeAll(() => {
  party = makeParty();
  phoneB = newKeyWithId();
});

function sealer(phones: Phone[], overrides: Partial<LiveSealerOptions> = {}): LiveSealer {
  return new LiveSealer({
    crypto,
    cameraKey: party.camera,
    cameraId: "cam-test-1",
    cameraCertHash: party.cameraCertHash,
    rosterVersion: 4,
    phones: phones.map((p) => ({ keyId: p.keyId, publicKey: crypto.p256PublicKey(p.key) })),
    startTime: 1_790_000_000_000,
    challenge,
    maxDurationMs: 300_000,
    ...overrides,
  });
}

const phoneA = (): Phone => ({ key: party.phone, keyId: party.phoneKeyId });

function opener(phone: Phone, clock = { t: 0 }, overrides: Partial<LiveOpenerOptions> = {}): LiveOpener {
  return new LiveOpener({
    crypto,
    camera: () => ({ publicKey: crypto.p256PublicKey(party.camera), certificateHash: party.cameraCertHash }),
    unwrappers: [hpkeUnwrapper(crypto, phone.keyId, phone.key)],
    challenge,
    stallMs: 5000,
    now: () => clock.t,
    ...overrides,
  });
}

const jpeg = (n: number): Uint8Array => concat(new Uint8Array([0xff, 0xd8]), u32be(n), new Uint8Array(100).fill(n & 0xff), new Uint8Array([0xff, 0xd9]));

function frames(events: LiveEvent[]): { index: number; time: number; jpeg: Uint8Array }[] {
  return events.flatMap((e) => (e.kind === "frame" ? [e] : []));
}

test("two phones open the same session and get the same frames, in order, with their capture times", () => {
  const live = sealer([phoneA(), phoneB]);
  const messages = [live.headMessage];
  for (let i = 0; i < 5; i++) messages.push(live.seal({ time: 1_790_000_000_000 + i * 100, jpeg: jpeg(i) }));
  messages.push(live.finish());
  for (const phone of [phoneA(), phoneB]) {
    const o = opener(phone);
    const events = messages.flatMap((m) => o.push(m));
    expect(events[0].kind).toBe("head");
    const got = frames(events);
    expect(got.map((f) => f.index)).toEqual([0, 1, 2, 3, 4]);
    expect(got.map((f) => f.time)).toEqual([0, 1, 2, 3, 4].map((i) => 1_790_000_000_000 + i * 100));
    got.forEach((f, i) => expect(Buffer.from(f.jpeg).equals(Buffer.from(jpeg(i)))).toBe(true));
    expect(events[events.length - 1]).toEqual({ kind: "end", frames: 6 });
    expect(o.ended).toBe(true);
    o.close(); // clean
  }
});

test("a phone that is not in the roster cannot open the session (E_NO_RECIPIENT)", () => {
  const live = sealer([phoneA()]);
  expect(code(() => opener(phoneB).push(live.headMessage))).toBe("E_NO_RECIPIENT");
});

test("an old session replayed to a new request is refused (challenge, E_REPLAY)", () => {
  const live = sealer([phoneA()], { challenge: crypto.randomBytes(16) });
  expect(code(() => opener(phoneA()).push(live.headMessage))).toBe("E_REPLAY");
});

test("hostile relay: reordering, dropping, duplicating, another session's frame, tampering", () => {
  const live = sealer([phoneA()]);
  const f = [0, 1, 2, 3].map((i) => live.seal({ time: i, jpeg: jpeg(i) }));
  const other = sealer([phoneA()]);
  const foreign = other.seal({ time: 0, jpeg: jpeg(0) });

  const run = (sequence: Uint8Array[], end?: "close" | "stall"): string => {
    const clock = { t: 0 };
    const o = opener(phoneA(), clock);
    return code(() => {
      o.push(live.headMessage);
      for (const m of sequence) o.push(m);
      if (end === "close") o.close();
      if (end === "stall") {
        clock.t += 6000;
        o.checkStall();
      }
    });
  };
  expect(run([f[0], f[1], f[2]])).toBe("ok");
  expect(run([f[0], f[2], f[1]])).toBe("E_REORDER");
  expect(run([f[0], f[2], f[3]])).toBe("E_GAP");
  expect(run([f[0], f[2]], "close")).toBe("E_GAP");
  expect(run([f[0], f[2]], "stall")).toBe("E_GAP");
  expect(run([f[0], f[1], f[1]])).toBe("E_REPLAY");
  expect(run([f[0], foreign])).toBe("E_SESSION");
  // Another session's frame relabelled with this session's id: it does not authenticate here.
  const relabelled = concat(foreign.subarray(0, 1), live.sessionId, foreign.subarray(17));
  expect(run([f[0], relabelled])).toBe("E_SEGMENT");
  for (const at of [17, 21, 30, f[1].length - 1]) {
    const bad = f[1].slice();
    bad[at] ^= 0x01;
    expect(run([f[0], bad])).toBe("E_SEGMENT");
  }
  // The final flag set on a non-final frame (or cleared on the final one) fails authentication.
  const flagged = f[1].slice();
  flagged[21] = 1;
  expect(run([f[0], flagged])).toBe("E_SEGMENT");
  expect(run([f[0]], "close")).toBe("E_TRUNCATED");
});

test("a stalled stream is E_STALL after stallMs without a frame, not before", () => {
  const clock = { t: 0 };
  const live = sealer([phoneA()]);
  const o = opener(phoneA(), clock);
  o.push(live.headMessage);
  clock.t = 4999;
  o.checkStall();
  o.push(live.seal({ time: 1, jpeg: jpeg(1) }));
  clock.t = 9998;
  o.checkStall();
  clock.t = 10_000;
  expect(code(() => o.checkStall())).toBe("E_STALL");
  expect(code(() => o.push(live.seal({ time: 2, jpeg: jpeg(2) })))).toBe("E_STATE");
});

test("nothing after the final frame; a frame before the head; a second head", () => {
  const live = sealer([phoneA()]);
  const f0 = live.seal({ time: 0, jpeg: jpeg(0) });
  const end = live.finish();
  const o = opener(phoneA());
  o.push(live.headMessage);
  o.push(f0);
  o.push(end);
  expect(code(() => o.push(f0))).toBe("E_TRAILING");
  expect(code(() => opener(phoneA()).push(f0))).toBe("E_STATE");
  const o2 = opener(phoneA());
  o2.push(live.headMessage);
  expect(code(() => o2.push(live.headMessage))).toBe("E_STATE");
});

test("head checks: wrong certificate, bad signature, tampered recipient, trailing bytes", () => {
  const live = sealer([phoneA()]);
  expect(code(() => opener(phoneA(), { t: 0 }, { camera: () => ({ publicKey: crypto.p256PublicKey(party.camera), certificateHash: new Uint8Array(32) }) }).push(live.headMessage))).toBe("E_CERT");
  const sig = live.headMessage.slice();
  sig[sig.length - 1] ^= 1;
  expect(code(() => opener(phoneA()).push(sig))).toBe("E_SIGNATURE");
  expect(code(() => opener(phoneA()).push(concat(live.headMessage, new Uint8Array(1))))).toBe("E_TRAILING");
  expect(code(() => opener(phoneA()).push(new Uint8Array([9, 1, 2])))).toBe("E_FORMAT");
});

test("a live wrap never opens as a clip wrap, nor a clip wrap as a live wrap (distinct HPKE info)", () => {
  const live = sealer([phoneA()]);
  const head = parseLiveHead(live.headMessage.subarray(1));
  const entry = head.header.recipients[0];
  const unwrapper = hpkeUnwrapper(crypto, party.phoneKeyId, party.phone);
  expect(unwrapper.unwrap(entry, liveWrapLabel(head.header.sessionId))).toHaveLength(16);
  const clipLabel = concat(new TextEncoder().encode("sealcam/v1 clip-key\0"), head.header.sessionId);
  expect(code(() => unwrapper.unwrap(entry, clipLabel))).toBe("E_UNWRAP");

  const clip = new ClipSealer(sealerOptions(party));
  const done = clip.finish();
  const sealed = concat(clip.head, done.segment.bytes, done.footer);
  expect(openClip(openerOptions(party, "phone"), sealed).plaintext).toHaveLength(0);
  const clipEntry = parseClipHead(sealed).header.recipients.find((r) => r.alg === "hpke-p256-sha256-aes128gcm")!;
  expect(code(() => unwrapper.unwrap(clipEntry, liveWrapLabel(clip.clipId)))).toBe("E_UNWRAP");
});

test("the camera refuses a frame too big for one message (E_LIMIT) and nothing is sealed", () => {
  const live = sealer([phoneA()]);
  expect(code(() => live.seal({ time: 0, jpeg: new Uint8Array(MAX_LIVE_JPEG + 1) }))).toBe("E_LIMIT");
  expect(live.frames).toBe(0);
  expect(live.seal({ time: 0, jpeg: new Uint8Array(MAX_LIVE_JPEG).fill(1) }).length).toBe(65535);
});
