/**
 * Runs inside the XS engine (the camera's JavaScript engine, via the XS host): the clip queue over a NOR flash
 * in XS memory, a power cut at every byte of a block-spanning append with recovery, and timings of the
 * queue's own work in XS (CRC-32, append, boot scan, peek), reported as notes.
 */
import { ClipQueue, type DropReport } from "../../firmware/queue/queue";
import { crc32 } from "../../firmware/queue/crc32";
import type { FlashPartition } from "../../firmware/platform/flash";
import { assert, note, run, test } from "../xs/harness";

class Nor implements FlashPartition {
  readonly bytes: Uint8Array;
  constructor(readonly byteLength: number, readonly blockSize: number, from?: Uint8Array) {
    this.bytes = new Uint8Array(byteLength).fill(0xff);
    if (from) this.bytes.set(from);
  }
  read(offset: number, length: number): Uint8Array {
    return this.bytes.slice(offset, offset + length);
  }
  write(offset: number, data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) this.bytes[offset + i] &= data[i];
  }
  eraseBlock(block: number): void {
    this.bytes.fill(0xff, block * this.blockSize, (block + 1) * this.blockSize);
  }
}

class Cut extends Error {}

/** Cuts after `budget` changed bytes (the byte at the cut half programmed). */
class CuttingNor implements FlashPartition {
  readonly byteLength: number;
  readonly blockSize: number;
  constructor(private readonly inner: Nor, private budget: number) {
    this.byteLength = inner.byteLength;
    this.blockSize = inner.blockSize;
  }
  read(offset: number, length: number): Uint8Array {
    return this.inner.read(offset, length);
  }
  write(offset: number, data: Uint8Array): void {
    if (data.length <= this.budget) {
      this.budget -= data.length;
      this.inner.write(offset, data);
      return;
    }
    this.inner.write(offset, data.subarray(0, this.budget));
    this.inner.write(offset + this.budget, new Uint8Array([data[this.budget] | 0xf0]));
    throw new Cut("power cut");
  }
  eraseBlock(block: number): void {
    if (this.blockSize <= this.budget) {
      this.budget -= this.blockSize;
      this.inner.eraseBlock(block);
      return;
    }
    this.inner.bytes.fill(0xff, block * this.blockSize, block * this.blockSize + this.budget);
    throw new Cut("power cut");
  }
}

function pattern(seed: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    out[i] = x >>> 16;
  }
  return out;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function drain(flash: Nor): { seq: number; payload: Uint8Array }[] {
  const q = ClipQueue.open(new Nor(flash.byteLength, flash.blockSize, flash.bytes));
  const out: { seq: number; payload: Uint8Array }[] = [];
  for (let r = q.peek(); r; r = q.peek()) {
    out.push({ seq: r.seq, payload: r.payload });
    q.ack(r.seq);
  }
  return out;
}

test("append, wrap, drop and reopen in XS", () => {
  const flash = new Nor(8 * 512, 512);
  const drops: DropReport[] = [];
  let q = ClipQueue.open(flash, { onDrop: (d) => drops.push(d) });
  const kept: { seq: number; payload: Uint8Array }[] = [];
  for (let i = 1; i <= 200; i++) {
    const p = pattern(i, (i * 53) % 700);
    kept.push({ seq: q.append(i, p), payload: p });
    if (kept.length > 2) {
      const r = q.peek();
      assert(r !== undefined && r.seq === kept[0].seq && same(r.payload, kept[0].payload), `record ${kept[0].seq} read back`);
      q.ack(r.seq);
      kept.shift();
    }
    if (i % 40 === 0) q = ClipQueue.open(flash, { onDrop: (d) => drops.push(d) });
  }
  const left = drain(flash);
  assert(left.length === kept.length && left.every((r, i) => r.seq === kept[i].seq && same(r.payload, kept[i].payload)), "contents after wrap");
  assert(drops.length === 0, "nothing dropped while acks keep up");
  for (let i = 0; i < 30; i++) q.append(1000 + i, pattern(i, 400));
  assert(drops.length > 0, "a full queue drops its oldest clips");
});

test("power cut at every byte of a block-spanning append, recovered in XS", () => {
  const base = new Nor(8 * 256, 256);
  const q = ClipQueue.open(base);
  q.append(1, pattern(1, 150));
  const before = drain(base);
  const added = pattern(2, 600);
  let completed = 0;
  for (let budget = 0; completed === 0 && budget < 5000; budget++) {
    const mem = new Nor(base.byteLength, base.blockSize, base.bytes);
    try {
      ClipQueue.open(new CuttingNor(mem, budget)).append(2, added);
      completed += 1;
    } catch (error) {
      if (!(error instanceof Cut)) throw error;
    }
    const after = drain(mem);
    const ok =
      (after.length === before.length && same(after[0].payload, before[0].payload)) ||
      (after.length === before.length + 1 && same(after[1].payload, added));
    assert(ok, `budget ${budget}: recovery is all or nothing`);
    const again = ClipQueue.open(mem);
    again.append(3, pattern(3, 40));
    assert(drain(mem).length === after.length + 1, `budget ${budget}: appends after recovery`);
  }
  assert(completed > 0, "the sweep reached a complete append");
});

test("timings of the queue's own work in XS", () => {
  const segment = pattern(9, 65536 + 160); // one sealed 64 KiB segment with its framing
  let t = Date.now();
  let c = 0;
  for (let i = 0; i < 4; i++) c = crc32(segment, c);
  note(`crc32 of a 64 KiB segment (portable JavaScript body): ${((Date.now() - t) / 4).toFixed(1)} ms (${c.toString(16)})`);
  const flash = new Nor(256 * 4096, 4096); // 1 MiB partition
  const q = ClipQueue.open(flash);
  t = Date.now();
  let n = 0;
  while (q.stats().blocksInUse < 250) {
    q.append(n, segment);
    n += 1;
  }
  note(`append of a 64 KiB segment (crc + 17 entries + block switches): ${((Date.now() - t) / n).toFixed(1)} ms`);
  t = Date.now();
  const booted = ClipQueue.open(flash);
  note(`boot scan of a 1 MiB queue holding ${booted.count} segments: ${Date.now() - t} ms`);
  t = Date.now();
  const r = booted.peek();
  note(`peek (read + verify) of one segment: ${Date.now() - t} ms`);
  assert(r !== undefined && same(r.payload, segment), "segment read back");
});

void run();
