/**
 * ClipQueue over NOR flash: FIFO append/peek/ack, records spanning blocks, wrap-around, drop of the oldest
 * whole clip when full, recovery after a power cut at every byte of an append, an ack, a reclaim and an
 * erase-ahead, and random operation sequences (with random power cuts) against a model.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BLOCK_HEADER, ClipQueue, ENTRY_HEADER, type DropReport } from "../../firmware/queue/queue";
import { crc32, crc32Portable, useCrc32 } from "../../firmware/queue/crc32";
import { FileFlash, MemoryFlash, PowerCut, PowerCutFlash } from "../../host-tools/board-sim/flash-file";
import { SealcamError } from "../../firmware/core/errors";

const BS = 256;
const BLOCKS = 8;

/** Deterministic PRNG (xorshift32) so failures reproduce. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

function payload(seed: number, length: number): Uint8Array {
  const next = rng(seed * 7919 + length);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(next() * 256);
  return out;
}

interface ModelRecord {
  seq: number;
  clip: number;
  payload: Uint8Array;
}

function drain(flash: MemoryFlash): ModelRecord[] {
  const copy = new MemoryFlash(flash.byteLength, flash.blockSize, flash.bytes);
  const queue = ClipQueue.open(copy);
  const out: ModelRecord[] = [];
  for (let r = queue.peek(); r; r = queue.peek()) {
    out.push({ seq: r.seq, clip: r.clip, payload: r.payload });
    expect(queue.ack(r.seq)).toBe(true);
  }
  return out;
}

function sameRecords(actual: ModelRecord[], expected: ModelRecord[]): void {
  expect(actual.map((r) => [r.seq, r.clip, r.payload.length])).toEqual(expected.map((r) => [r.seq, r.clip, r.payload.length]));
  for (let i = 0; i < actual.length; i++) expect(Buffer.from(actual[i].payload).equals(Buffer.from(expected[i].payload))).toBe(true);
}

test("crc32 matches the IEEE check value and continues across calls", () => {
  const check = new Uint8Array([..."123456789"].map((c) => c.charCodeAt(0)));
  expect(crc32(check)).toBe(0xcbf43926);
  expect(crc32(check.subarray(4), crc32(check.subarray(0, 4)))).toBe(0xcbf43926);
  expect(crc32(new Uint8Array(0))).toBe(0);
  const zlib = require("node:zlib") as { crc32?: (data: Uint8Array, value?: number) => number };
  if (zlib.crc32) expect(crc32(payload(5, 5000))).toBe(zlib.crc32(payload(5, 5000)));
});

test("useCrc32 installs a faster body only if it computes the same CRC-32", () => {
  const zlibLike = (data: Uint8Array, previous = 0) => crc32Portable(data, previous);
  const wrongInit = (data: Uint8Array, previous = 0) => crc32Portable(data, previous ^ 0xffffffff);
  const noContinuation = (data: Uint8Array) => crc32Portable(data);
  let calls = 0;
  const counting = (data: Uint8Array, previous = 0) => {
    calls += 1;
    return crc32Portable(data, previous);
  };
  try {
    expect(useCrc32(wrongInit)).toBe(false);
    expect(useCrc32(noContinuation)).toBe(false);
    expect(useCrc32(zlibLike)).toBe(true);
    expect(useCrc32(counting)).toBe(true);
    calls = 0;
    const flash = new MemoryFlash(BS * BLOCKS, BS);
    ClipQueue.open(flash).append(1, payload(1, 50));
    expect(calls).toBeGreaterThan(0); // the queue goes through the installed body
    expect(ClipQueue.open(flash).count).toBe(1);
  } finally {
    useCrc32(undefined);
  }
});

test("append, peek and ack are first in, first out, and survive a reopen", () => {
  const flash = new MemoryFlash(BS * BLOCKS, BS);
  const q = ClipQueue.open(flash);
  expect(q.peek()).toBeUndefined();
  const a = q.append(1, payload(1, 10));
  const b = q.append(1, payload(2, 0));
  const c = q.append(2, payload(3, 100));
  expect([a, b, c]).toEqual([1, 2, 3]);
  expect(q.count).toBe(3);
  expect(q.peek()?.seq).toBe(a);
  expect(Array.from(q.peek()!.payload)).toEqual(Array.from(payload(1, 10)));
  expect(q.ack(a)).toBe(true);
  expect(q.ack(a)).toBe(false);
  expect(q.ack(999)).toBe(false);

  const again = ClipQueue.open(flash);
  expect(again.list()).toEqual([
    { seq: b, clip: 1, length: 0 },
    { seq: c, clip: 2, length: 100 },
  ]);
  expect(again.peek()!.payload.length).toBe(0);
  // Sequence numbers keep growing after a reboot, and clip numbers too.
  expect(again.append(3, payload(4, 5))).toBe(4);
  expect(again.nextClip()).toBe(4);
  expect(again.stats()).toMatchObject({ records: 3, bytes: 105, blocks: BLOCKS });
});

test("bad input throws a typed error and changes nothing", () => {
  const flash = new MemoryFlash(BS * BLOCKS, BS);
  const q = ClipQueue.open(flash);
  q.append(1, payload(1, 30));
  const before = flash.bytes.slice();
  const codeOf = (f: () => unknown): string | undefined => {
    try {
      f();
    } catch (error) {
      return error instanceof SealcamError ? error.code : "untyped";
    }
    return undefined;
  };
  expect(codeOf(() => q.append(-1, payload(1, 1)))).toBe("E_ARGUMENT");
  expect(codeOf(() => q.append(2 ** 32, payload(1, 1)))).toBe("E_ARGUMENT");
  expect(codeOf(() => q.append(1.5, payload(1, 1)))).toBe("E_ARGUMENT");
  expect(codeOf(() => q.append(1, payload(1, q.maxPayload + 1)))).toBe("E_LIMIT");
  expect(Buffer.from(flash.bytes).equals(Buffer.from(before))).toBe(true);
  expect(q.count).toBe(1);
  expect(codeOf(() => ClipQueue.open(new MemoryFlash(BS * 2, BS)))).toBe("E_ARGUMENT");
  expect(codeOf(() => ClipQueue.open(new MemoryFlash(100 * 3, 100)))).toBe("E_ARGUMENT");
});

test("a record larger than a block spans blocks and reads back intact", () => {
  const flash = new MemoryFlash(BS * BLOCKS, BS);
  const q = ClipQueue.open(flash);
  expect(q.maxPayload).toBe((BLOCKS - 2) * (BS - BLOCK_HEADER - ENTRY_HEADER));
  const big = payload(9, q.maxPayload);
  q.append(1, payload(8, 7));
  const seq = q.append(1, big);
  const reopened = ClipQueue.open(flash);
  expect(reopened.ack(1)).toBe(true);
  const got = reopened.peek()!;
  expect(got.seq).toBe(seq);
  expect(Buffer.from(got.payload).equals(Buffer.from(big))).toBe(true);
});

test("the ring wraps many times: blocks are reclaimed after ack and reused", () => {
  const flash = new MemoryFlash(BS * BLOCKS, BS);
  let q = ClipQueue.open(flash);
  const expected: ModelRecord[] = [];
  for (let i = 1; i <= 400; i++) {
    const p = payload(i, (i * 37) % 300);
    const seq = q.append(i, p);
    expected.push({ seq, clip: i, payload: p });
    if (expected.length > 3) {
      const oldest = expected.shift()!;
      const got = q.peek()!;
      expect(got.seq).toBe(oldest.seq);
      expect(Buffer.from(got.payload).equals(Buffer.from(oldest.payload))).toBe(true);
      expect(q.ack(got.seq)).toBe(true);
    }
    if (i % 50 === 0) q = ClipQueue.open(flash);
    if (i % 7 === 0) q.maintain();
  }
  sameRecords(drain(flash), expected);
  // 400 records of ~150 bytes through a 2 KiB ring: every block was erased many times, evenly.
  expect(flash.counts.erases).toBeGreaterThan(100);
  expect(q.stats().recovered.tornEntries).toBe(0);
});

test("when full the oldest whole clip is dropped and reported", () => {
  const flash = new MemoryFlash(BS * BLOCKS, BS);
  const drops: DropReport[] = [];
  const logged: string[] = [];
  const q = ClipQueue.open(flash, {
    onDrop: (d) => drops.push(d),
    log: { write: (level, event, _text, fields) => logged.push(`${level} ${event} ${JSON.stringify(fields)}`) },
  });
  // Clip 1: three parts of 150 bytes; clip 2: three parts; then clip 3 until something has to go.
  const kept: ModelRecord[] = [];
  for (const clip of [1, 2])
    for (let part = 0; part < 3; part++) {
      const p = payload(clip * 10 + part, 150);
      kept.push({ seq: q.append(clip, p), clip, payload: p });
    }
  expect(drops).toEqual([]);
  let n = 0;
  while (drops.length === 0) {
    const p = payload(100 + n, 150);
    kept.push({ seq: q.append(3, p), clip: 3, payload: p });
    n += 1;
  }
  expect(drops).toEqual([{ clip: 1, records: 3, bytes: 450, reason: "full" }]);
  expect(logged).toEqual([`warn queue.drop {"clip":1,"records":3,"bytes":450}`]);
  const expected = kept.filter((r) => r.clip !== 1);
  expect(q.list().map((r) => r.seq)).toEqual(expected.map((r) => r.seq));
  sameRecords(drain(flash), expected);
  // The drop is durable: a reboot does not bring clip 1 back.
  expect(ClipQueue.open(flash).list().some((r) => r.clip === 1)).toBe(false);
});

test("a clip that fills the whole ring drops its own oldest parts, never the part being written", () => {
  const flash = new MemoryFlash(BS * BLOCKS, BS);
  const drops: DropReport[] = [];
  const q = ClipQueue.open(flash, { onDrop: (d) => drops.push(d) });
  for (let i = 0; i < 40; i++) q.append(7, payload(i, 200));
  expect(drops.length).toBeGreaterThan(0);
  expect(drops.every((d) => d.clip === 7)).toBe(true);
  const left = drain(flash);
  expect(left.length).toBeGreaterThan(0);
  expect(left[left.length - 1].payload).toEqual(payload(39, 200));
});

/** Builds a queue state with `setup`, then cuts the power at every byte of `op` and checks each recovery. */
function sweep(
  setup: (q: ClipQueue) => void,
  op: (q: ClipQueue) => void,
  check: (recovered: ModelRecord[], before: ModelRecord[], completed: boolean) => void,
): number {
  const base = new MemoryFlash(BS * BLOCKS, BS);
  setup(ClipQueue.open(base));
  const before = drain(base);
  // Measure how many bytes the whole operation changes.
  const probe = new PowerCutFlash(new MemoryFlash(base.byteLength, BS, base.bytes), { budget: Number.MAX_SAFE_INTEGER });
  op(ClipQueue.open(probe));
  const total = probe.spent;
  for (let budget = 0; budget <= total; budget++) {
    const mem = new MemoryFlash(base.byteLength, BS, base.bytes);
    const cutter = new PowerCutFlash(mem, { budget });
    let completed = true;
    try {
      op(ClipQueue.open(cutter));
    } catch (error) {
      if (!(error instanceof PowerCut)) throw error;
      completed = false;
    }
    expect(completed).toBe(budget === total);
    const recovered = drain(mem);
    check(recovered, before, completed);
    // After recovery the queue keeps working: append, reboot, and everything is there.
    const drops: number[] = [];
    const q = ClipQueue.open(mem, { onDrop: (d) => drops.push(d.clip) });
    const extra = payload(budget, 33);
    const seq = q.append(99, extra);
    expect(recovered.every((r) => r.seq < seq)).toBe(true);
    const after = drain(mem);
    sameRecords(after, [...recovered.filter((r) => !drops.includes(r.clip)), { seq, clip: 99, payload: extra }]);
  }
  return total;
}

function isPrefixOrEqual(recovered: ModelRecord[], before: ModelRecord[], added: ModelRecord | undefined, completed: boolean): void {
  if (completed && added) sameRecords(recovered, [...before, added]);
  else if (recovered.length === before.length) sameRecords(recovered, before);
  else {
    expect(added).toBeDefined();
    sameRecords(recovered, [...before, added!]);
  }
}

test("power cut at every byte of an append inside a block: the record is all there or not at all", () => {
  const newPayload = payload(500, 100);
  const total = sweep(
    (q) => {
      q.append(1, payload(1, 40));
      q.append(1, payload(2, 20));
    },
    (q) => q.append(2, newPayload),
    (recovered, before, completed) => isPrefixOrEqual(recovered, before, { seq: 3, clip: 2, payload: newPayload }, completed),
  );
  expect(total).toBe(ENTRY_HEADER + 100);
});

test("power cut at every byte of an append that spans three blocks (erase + header + parts)", () => {
  const newPayload = payload(501, 600);
  const total = sweep(
    (q) => q.append(1, payload(1, 150)),
    (q) => q.append(2, newPayload),
    (recovered, before, completed) => isPrefixOrEqual(recovered, before, { seq: 2, clip: 2, payload: newPayload }, completed),
  );
  expect(total).toBeGreaterThan(2 * BS + 600);
});

test("power cut at every byte of an append that must drop the oldest clip and reclaim a block", () => {
  const newPayload = payload(502, 180);
  let dropped = 0;
  sweep(
    (q) => {
      // Clip 1 fills the head block exactly (two entries of 20 + 98 + 2 padding), clip 2 one block per record
      // for the other seven: the ring is full and the next block switch must reclaim the head.
      const usable = BS - BLOCK_HEADER;
      for (let i = 0; i < 2; i++) q.append(1, payload(10 + i, usable / 2 - ENTRY_HEADER - 2));
      for (let i = 0; i < BLOCKS - 1; i++) q.append(2, payload(20 + i, usable - ENTRY_HEADER));
      expect(q.stats()).toMatchObject({ records: BLOCKS + 1, blocksInUse: BLOCKS });
    },
    (q) => q.append(3, newPayload),
    (recovered, before, completed) => {
      // Allowed: clip 1 fully present, or some of its records gone (dropped, oldest first); the new record
      // all there or absent; nothing else changes.
      const clip1Before = before.filter((r) => r.clip === 1);
      const clip1After = recovered.filter((r) => r.clip === 1);
      sameRecords(clip1After, clip1Before.slice(clip1Before.length - clip1After.length));
      if (clip1After.length < clip1Before.length) dropped += 1;
      const rest = recovered.filter((r) => r.clip !== 1);
      const restBefore = before.filter((r) => r.clip !== 1);
      isPrefixOrEqual(rest, restBefore, { seq: before.length + 1, clip: 3, payload: newPayload }, completed);
      if (completed) expect(clip1After).toEqual([]);
    },
  );
  expect(dropped).toBeGreaterThan(0);
});

test("power cut during an ack: the record is either still queued or gone, nothing else moves", () => {
  sweep(
    (q) => {
      for (let i = 0; i < 4; i++) q.append(1, payload(i, 50));
    },
    (q) => {
      q.ack(2);
    },
    (recovered, before, completed) => {
      const without = before.filter((r) => r.seq !== 2);
      if (completed || recovered.length === without.length) sameRecords(recovered, without);
      else sameRecords(recovered, before);
    },
  );
});

test("power cut during erase-ahead and head reclaim in maintain() loses nothing", () => {
  sweep(
    (q) => {
      for (let i = 0; i < 8; i++) q.append(1, payload(i, 100));
      for (let seq = 1; seq <= 5; seq++) q.ack(seq);
    },
    (q) => q.maintain(),
    (recovered, before) => sameRecords(recovered, before),
  );
});

test("torn garbage after the last good entry closes the tail block instead of being written over", () => {
  const flash = new MemoryFlash(BS * BLOCKS, BS);
  const q = ClipQueue.open(flash);
  q.append(1, payload(1, 20));
  // A stray programmed byte well after the last entry (as a torn write in any order could leave).
  flash.write(BLOCK_HEADER + 120, new Uint8Array([0x12]));
  const again = ClipQueue.open(flash);
  const seq = again.append(2, payload(2, 20));
  expect(again.stats().blocksInUse).toBe(2);
  sameRecords(drain(flash), [
    { seq: 1, clip: 1, payload: payload(1, 20) },
    { seq, clip: 2, payload: payload(2, 20) },
  ]);
});

test("a bit flip in a stored record drops that record at peek instead of returning garbage", () => {
  const flash = new MemoryFlash(BS * BLOCKS, BS);
  const drops: DropReport[] = [];
  const q = ClipQueue.open(flash, { onDrop: (d) => drops.push(d) });
  q.append(1, payload(1, 20));
  q.append(2, payload(2, 20));
  flash.write(BLOCK_HEADER + ENTRY_HEADER + 3, new Uint8Array([0x00]));
  expect(q.peek()!.seq).toBe(2);
  expect(drops).toEqual([{ clip: 1, records: 1, bytes: 20, reason: "corrupt" }]);
  // After a reboot the damaged record is not even found.
  expect(ClipQueue.open(flash).list().map((r) => r.seq)).toEqual([2]);
});

test("boot reads only headers outside the tail block; a decayed payload there is caught at peek", () => {
  const flash = new MemoryFlash(BS * BLOCKS, BS);
  const q = ClipQueue.open(flash);
  q.append(1, payload(1, 100));
  q.append(2, payload(2, 300)); // spans into the second block
  q.append(3, payload(3, 10));
  flash.write(BLOCK_HEADER + ENTRY_HEADER + 5, new Uint8Array([0x00])); // record 1's payload, block 0
  const before = flash.counts.reads;
  const drops: DropReport[] = [];
  const again = ClipQueue.open(flash, { onDrop: (d) => drops.push(d) });
  // Recovery read the block headers, the entry headers and the tail's payloads only.
  expect(flash.counts.reads - before).toBeLessThan(BLOCKS + 8);
  expect(again.list().map((r) => r.seq)).toEqual([1, 2, 3]);
  expect(again.peek()!.seq).toBe(2);
  expect(drops).toEqual([{ clip: 1, records: 1, bytes: 100, reason: "corrupt" }]);
  sameRecords(drain(flash), [
    { seq: 2, clip: 2, payload: payload(2, 300) },
    { seq: 3, clip: 3, payload: payload(3, 10) },
  ]);
});

test("random operations with random power cuts match a model", () => {
  const rounds = Number(process.env.SEALCAM_QUEUE_ROUNDS ?? 12); // raise for a soak run
  for (let round = 0; round < rounds; round++) {
    const next = rng(1000 + round);
    const mem = new MemoryFlash(BS * BLOCKS, BS);
    let model: ModelRecord[] = [];
    let cutter = new PowerCutFlash(mem, { budget: Number.MAX_SAFE_INTEGER });
    let droppedNow: DropReport[] = [];
    const boot = (): ClipQueue => ClipQueue.open(cutter, { onDrop: (d) => droppedNow.push(d) });
    let q = boot();
    let clip = 1;
    for (let step = 0; step < 150; step++) {
      const roll = next();
      // Sometimes arm a power cut a few bytes into the next operation.
      if (next() < 0.15) cutter.arm(Math.floor(next() * 400));
      droppedNow = [];
      let pending: { kind: "append"; record: ModelRecord } | { kind: "ack"; seq: number } | { kind: "other" } = { kind: "other" };
      const oldestClip = model.length > 0 ? model[0].clip : -1;
      try {
        if (roll < 0.55) {
          if (next() < 0.3) clip += 1;
          const p = payload(round * 1000 + step, Math.floor(next() * 500));
          pending = { kind: "append", record: { seq: -1, clip, payload: p } };
          pending.record.seq = q.append(clip, p);
        } else if (roll < 0.85) {
          const head = model[0];
          if (head) {
            pending = { kind: "ack", seq: head.seq };
            expect(q.peek()!.seq).toBe(head.seq);
            expect(q.ack(head.seq)).toBe(true);
          }
        } else if (roll < 0.95) {
          q.maintain();
        } else {
          q = boot(); // plain reboot
        }
        // Completed: apply to the model exactly.
        for (const d of droppedNow) model = model.filter((r) => r.clip !== d.clip);
        if (pending.kind === "append") model.push(pending.record);
        if (pending.kind === "ack") {
          const seq = pending.seq;
          model = model.filter((r) => r.seq !== seq);
        }
        sameRecords(drain(mem), model);
      } catch (error) {
        if (!(error instanceof PowerCut)) throw error;
        // Reboot on good power and reconcile: only the interrupted operation may be half visible.
        for (const d of droppedNow) model = model.filter((r) => r.clip !== d.clip);
        cutter = new PowerCutFlash(mem, { budget: Number.MAX_SAFE_INTEGER });
        q = boot();
        const recovered = drain(mem);
        const present = new Set(recovered.map((r) => r.seq));
        const missing = model.filter((r) => !present.has(r.seq));
        for (const r of missing) {
          const allowed =
            (pending.kind === "ack" && r.seq === pending.seq) || (pending.kind === "append" && r.clip === oldestClip);
          expect({ missing: r.seq, allowed }).toEqual({ missing: r.seq, allowed: true });
        }
        model = model.filter((r) => present.has(r.seq));
        const extra = recovered.filter((r) => !model.some((m) => m.seq === r.seq));
        if (extra.length > 0) {
          expect(pending.kind).toBe("append");
          expect(extra.length).toBe(1);
          if (pending.kind === "append") {
            expect(extra[0].clip).toBe(pending.record.clip);
            expect(Buffer.from(extra[0].payload).equals(Buffer.from(pending.record.payload))).toBe(true);
          }
          model.push(extra[0]);
        }
        sameRecords(recovered, model);
      }
    }
  }
});

test("the queue works the same over a file-backed partition", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-queue-"));
  try {
    const file = path.join(dir, "clipq.bin");
    const flash = new FileFlash(file, 4096 * 4, 4096);
    const q = ClipQueue.open(flash);
    const big = payload(77, 6000);
    q.append(1, big);
    q.append(2, payload(78, 10));
    flash.close();
    const reopened = new FileFlash(file, 4096 * 4, 4096);
    const again = ClipQueue.open(reopened);
    expect(again.list()).toEqual([
      { seq: 1, clip: 1, length: 6000 },
      { seq: 2, clip: 2, length: 10 },
    ]);
    expect(Buffer.from(again.peek()!.payload).equals(Buffer.from(big))).toBe(true);
    reopened.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
