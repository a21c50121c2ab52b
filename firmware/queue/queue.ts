/**
 * ClipQueue: the sealed-clip queue, a log-structured ring over a raw flash partition.
 *
 * Only sealed ciphertext goes in (clip parts exactly as they will be uploaded); the queue never sees keys or
 * plaintext. It survives power cuts at any byte: every entry carries a CRC-32, a torn write is detected and
 * skipped on the next boot, and nothing acknowledged comes back.
 *
 * Layout (see docs/HARDWARE.md, "Clip queue on flash"):
 *   The partition is a ring of erase blocks. A block in use starts with a 20-byte header
 *     "SCQ1" | version 1 | 3 reserved | blockSeq u32be | seqFloor u32be | crc32(bytes 0..15) u32be
 *   (seqFloor: no record sequence number below it was ever handed out, so numbers stay monotonic even when
 *   every older block has been reclaimed)
 *   and holds entries back to back, each 4-byte aligned:
 *     magic 0x5345 u16be | ack u8 | flags u8 | seq u32be | clip u32be | length u32be | payloadCrc u32be |
 *     headerCrc u32be | payload
 *   payloadCrc is the CRC-32 of the payload; headerCrc covers the header bytes before it except the ack byte
 *   (so it covers payloadCrc too). Recovery checks every header but reads and checks payloads only in the
 *   tail block, the only place a power cut can tear a write; payloads elsewhere are checked when read
 *   (peek), so a boot costs a few bytes per record instead of reading the whole partition. A record (one
 *   append) is one entry or several consecutive entries with the same seq (flags FIRST .. LAST), so a record
 *   larger than a block spans blocks. Blocks in use form one run of consecutive blockSeq values around the
 *   ring; the oldest is the head, the newest the tail, where appends go.
 *
 * Power-cut rules:
 *   - appends only ever program erased bytes at the tail; a torn entry fails its CRC, and recovery closes the
 *     tail block so that nothing is written over it;
 *   - ack clears the ack byte of the record's first entry (NOR writes only clear bits, so any value other
 *     than 0xFF means acknowledged; a torn ack is still an ack); a record with any entry's ack byte cleared
 *     is gone, which is also how recovery retires a torn entry it found in the tail block;
 *   - a block is reclaimed only when no live record touches it: its header is first zeroed (so a torn erase
 *     can never bring old records back), then it is erased;
 *   - a new block is erased (unless erased ahead earlier in this boot) before its header is written.
 * When the ring is full the oldest whole clip is dropped (every live record with that clip number) and
 * reported to `onDrop`.
 */
import type { FlashPartition } from "../platform/flash";
import type { Log } from "../platform/log";
import { fail } from "../core/errors";
import { readU16be, readU32be } from "../core/bytes";
import { crc32 } from "./crc32";

export const BLOCK_HEADER = 20;
export const ENTRY_HEADER = 24;
const BLOCK_MAGIC = [0x53, 0x43, 0x51, 0x31]; // "SCQ1"
const BLOCK_VERSION = 1;
const ENTRY_MAGIC = 0x5345; // "SE"
const FLAG_FIRST = 0x01;
const FLAG_LAST = 0x02;
const FLAG_FIXED = 0xa0; // high nibble of every valid flags byte
const ACK_LIVE = 0xff;
const MAX_U32 = 0xffffffff;

export interface QueuedRecord {
  seq: number;
  clip: number;
  payload: Uint8Array;
}

export interface RecordInfo {
  seq: number;
  clip: number;
  length: number;
}

export interface DropReport {
  clip: number;
  records: number;
  bytes: number;
  reason: "full" | "corrupt";
}

export interface QueueStats {
  records: number;
  bytes: number;
  blocks: number;
  blocksInUse: number;
  maxPayload: number;
  /** What recovery found on open. */
  recovered: { records: number; tornEntries: number; incompleteRecords: number; staleBlocks: number };
}

export interface QueueOptions {
  onDrop?: (report: DropReport) => void;
  log?: Log;
}

interface Fragment {
  /** Partition offset of the entry header. */
  offset: number;
  length: number;
}

interface Entry {
  seq: number;
  clip: number;
  length: number;
  /** Where the parts are; the first one holds the ack byte. */
  fragments: Fragment[];
  live: boolean;
  complete: boolean;
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

function isU32(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= MAX_U32;
}

function putU32(out: Uint8Array, offset: number, value: number): void {
  out[offset] = (value >>> 24) & 0xff;
  out[offset + 1] = (value >>> 16) & 0xff;
  out[offset + 2] = (value >>> 8) & 0xff;
  out[offset + 3] = value & 0xff;
}

function allErased(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0xff) return false;
  return true;
}

export class ClipQueue {
  private readonly flash: FlashPartition;
  private readonly blockSize: number;
  private readonly blocks: number;
  private readonly fragmentCapacity: number;
  private readonly onDrop?: (report: DropReport) => void;
  private readonly log?: Log;

  /** blockSeq of each block in use; 0 for a free block. */
  private readonly blockSeq: number[];
  /** Live records with a fragment in each block. */
  private readonly liveIn: number[];
  /** Blocks known to be erased (erased ahead during this boot). */
  private readonly erased: boolean[];
  private head = -1;
  private tail = -1;
  private tailOffset = 0;
  private tailClosed = true;
  private nextBlockSeq = 1;
  private nextSeq = 1;
  private maxClip = 0;
  /** Every record still physically present, oldest first (acknowledged ones until their block is reclaimed). */
  private entries: Entry[] = [];
  private recovered = { records: 0, tornEntries: 0, incompleteRecords: 0, staleBlocks: 0 };

  private constructor(flash: FlashPartition, options: QueueOptions) {
    const { byteLength, blockSize } = flash;
    if (!Number.isInteger(blockSize) || blockSize < 128 || blockSize % 4 !== 0)
      fail("E_ARGUMENT", "queue flash block size must be a multiple of 4, at least 128");
    if (!Number.isInteger(byteLength) || byteLength % blockSize !== 0)
      fail("E_ARGUMENT", "queue flash size must be a whole number of blocks");
    const blocks = byteLength / blockSize;
    if (blocks < 3) fail("E_ARGUMENT", "queue flash needs at least 3 blocks");
    this.flash = flash;
    this.blockSize = blockSize;
    this.blocks = blocks;
    this.fragmentCapacity = blockSize - BLOCK_HEADER - ENTRY_HEADER;
    this.onDrop = options.onDrop;
    this.log = options.log;
    this.blockSeq = new Array<number>(blocks).fill(0);
    this.liveIn = new Array<number>(blocks).fill(0);
    this.erased = new Array<boolean>(blocks).fill(false);
  }

  /** Opens the queue on a partition: scans it, recovers from any power cut, and is ready to append. */
  static open(flash: FlashPartition, options: QueueOptions = {}): ClipQueue {
    const queue = new ClipQueue(flash, options);
    queue.recover();
    return queue;
  }

  /** The largest payload one append accepts (a record may span all but two blocks). */
  get maxPayload(): number {
    return (this.blocks - 2) * this.fragmentCapacity;
  }

  /** A clip number larger than any in the queue (use one per clip; the queue drops whole clips). */
  nextClip(): number {
    if (this.maxClip >= MAX_U32) fail("E_LIMIT", "clip numbers exhausted; erase the queue");
    this.maxClip += 1;
    return this.maxClip;
  }

  /** Appends one record (a sealed clip part) and returns its sequence number. */
  append(clip: number, payload: Uint8Array): number {
    if (!isU32(clip)) fail("E_ARGUMENT", "clip number must be an unsigned 32-bit integer");
    if (!(payload instanceof Uint8Array)) fail("E_ARGUMENT", "payload must be bytes");
    if (payload.length > this.maxPayload)
      fail("E_LIMIT", `clip part of ${payload.length} bytes is larger than the queue allows (${this.maxPayload})`);
    if (this.nextSeq > MAX_U32) fail("E_LIMIT", "queue sequence numbers exhausted; erase the queue");
    const entry: Entry = { seq: this.nextSeq, clip, length: payload.length, fragments: [], live: true, complete: false };
    this.nextSeq += 1;
    if (clip > this.maxClip) this.maxClip = clip;
    this.entries.push(entry);
    try {
      let done = 0;
      do {
        let space = this.tailClosed || this.tail < 0 ? 0 : this.blockSize - this.tailOffset;
        let avail = space - ENTRY_HEADER;
        const remaining = payload.length - done;
        if (avail < 0 || (remaining > 0 && avail < 4)) {
          this.openBlock();
          space = this.blockSize - this.tailOffset;
          avail = space - ENTRY_HEADER;
        }
        const length = remaining <= avail ? remaining : avail & ~3;
        const flags = FLAG_FIXED | (done === 0 ? FLAG_FIRST : 0) | (done + length === payload.length ? FLAG_LAST : 0);
        const offset = this.tail * this.blockSize + this.tailOffset;
        this.flash.write(offset, this.encodeEntry(flags, entry.seq, clip, payload.subarray(done, done + length)));
        entry.fragments.push({ offset, length });
        this.liveIn[this.tail] += 1;
        this.tailOffset += align4(ENTRY_HEADER + length);
        done += length;
      } while (done < payload.length);
      entry.complete = true;
      return entry.seq;
    } catch (error) {
      // The flash failed under us: forget the half-written record and never write behind it again.
      this.entries.pop();
      for (const fragment of entry.fragments) this.liveIn[this.blockOf(fragment.offset)] -= 1;
      this.tailClosed = true;
      throw error;
    }
  }

  /** The oldest record not yet acknowledged, or undefined when the queue is empty. */
  peek(): QueuedRecord | undefined {
    for (;;) {
      const entry = this.entries.find((e) => e.live && e.complete);
      if (!entry) return undefined;
      const payload = this.readRecord(entry);
      if (payload) return { seq: entry.seq, clip: entry.clip, payload };
      // The flash changed under us since boot: drop the record rather than hand out garbage.
      this.kill(entry);
      this.report({ clip: entry.clip, records: 1, bytes: entry.length, reason: "corrupt" });
    }
  }

  /** Removes a record after its upload succeeded. Returns false if it was not in the queue (already gone). */
  ack(seq: number): boolean {
    const entry = this.entries.find((e) => e.seq === seq && e.live && e.complete);
    if (!entry) return false;
    this.kill(entry);
    return true;
  }

  /** Records waiting, oldest first, without their payloads. */
  list(): RecordInfo[] {
    return this.entries.filter((e) => e.live && e.complete).map((e) => ({ seq: e.seq, clip: e.clip, length: e.length }));
  }

  get count(): number {
    let n = 0;
    for (const e of this.entries) if (e.live && e.complete) n += 1;
    return n;
  }

  stats(): QueueStats {
    let records = 0;
    let bytes = 0;
    for (const e of this.entries)
      if (e.live && e.complete) {
        records += 1;
        bytes += e.length;
      }
    let blocksInUse = 0;
    for (const s of this.blockSeq) if (s !== 0) blocksInUse += 1;
    return { records, bytes, blocks: this.blocks, blocksInUse, maxPayload: this.maxPayload, recovered: { ...this.recovered } };
  }

  /**
   * Housekeeping for idle time: reclaims fully acknowledged blocks at the head and erases the next free block
   * ahead of the tail, so the next block switch costs one header write instead of an erase.
   */
  maintain(): void {
    while (this.head >= 0 && this.head !== this.tail && this.liveIn[this.head] === 0) this.reclaimHead();
    const next = this.tail < 0 ? 0 : (this.tail + 1) % this.blocks;
    if (next !== this.head && this.blockSeq[next] === 0 && !this.erased[next]) {
      this.flash.eraseBlock(next);
      this.erased[next] = true;
    }
  }

  // ---- internals -----------------------------------------------------------------------------------------

  private blockOf(offset: number): number {
    return Math.floor(offset / this.blockSize);
  }

  private encodeEntry(flags: number, seq: number, clip: number, payload: Uint8Array): Uint8Array {
    const out = new Uint8Array(ENTRY_HEADER + payload.length);
    out[0] = ENTRY_MAGIC >> 8;
    out[1] = ENTRY_MAGIC & 0xff;
    out[2] = ACK_LIVE;
    out[3] = flags;
    putU32(out, 4, seq);
    putU32(out, 8, clip);
    putU32(out, 12, payload.length);
    out.set(payload, ENTRY_HEADER);
    putU32(out, 16, crc32(payload));
    putU32(out, 20, this.headerCrc(out));
    return out;
  }

  private headerCrc(header: Uint8Array): number {
    return crc32(header.subarray(3, 20), crc32(header.subarray(0, 2)));
  }

  private encodeBlockHeader(seq: number): Uint8Array {
    const out = new Uint8Array(BLOCK_HEADER);
    out.set(BLOCK_MAGIC, 0);
    out[4] = BLOCK_VERSION;
    putU32(out, 8, seq);
    putU32(out, 12, this.nextSeq);
    putU32(out, 16, crc32(out.subarray(0, 16)));
    return out;
  }

  /** [blockSeq, seqFloor] of a block in use, or [0, 0] for a free (erased, torn or zeroed) block. */
  private readBlockHeader(block: number): [number, number] {
    const h = this.flash.read(block * this.blockSize, BLOCK_HEADER);
    for (let i = 0; i < 4; i++) if (h[i] !== BLOCK_MAGIC[i]) return [0, 0];
    if (h[4] !== BLOCK_VERSION) return [0, 0];
    if (crc32(h.subarray(0, 16)) !== readU32be(h, 16)) return [0, 0];
    return [readU32be(h, 8), readU32be(h, 12)];
  }

  /** Reads and re-verifies a record; undefined if any fragment no longer checks out. */
  private readRecord(entry: Entry): Uint8Array | undefined {
    const out = new Uint8Array(entry.length);
    let at = 0;
    for (const fragment of entry.fragments) {
      const raw = this.flash.read(fragment.offset, ENTRY_HEADER + fragment.length);
      const header = raw.subarray(0, ENTRY_HEADER);
      const payload = raw.subarray(ENTRY_HEADER);
      if (readU32be(header, 20) !== this.headerCrc(header) || readU32be(header, 16) !== crc32(payload)) return undefined;
      out.set(payload, at);
      at += fragment.length;
    }
    return out;
  }

  private kill(entry: Entry): void {
    if (!entry.live) return;
    this.flash.write(entry.fragments[0].offset + 2, new Uint8Array([0]));
    entry.live = false;
    for (const fragment of entry.fragments) this.liveIn[this.blockOf(fragment.offset)] -= 1;
  }

  private report(report: DropReport): void {
    this.log?.write("warn", "queue.drop", report.reason === "full" ? "queue full: oldest clip dropped" : "corrupt record dropped", {
      clip: report.clip,
      records: report.records,
      bytes: report.bytes,
    });
    this.onDrop?.(report);
  }

  private dropOldestClip(): void {
    const oldest = this.entries.find((e) => e.live && e.complete);
    if (!oldest) fail("E_INTERNAL", "queue block pinned by a record in progress");
    const clip = oldest.clip;
    let records = 0;
    let bytes = 0;
    for (const e of this.entries)
      if (e.live && e.complete && e.clip === clip) {
        this.kill(e);
        records += 1;
        bytes += e.length;
      }
    this.report({ clip, records, bytes, reason: "full" });
  }

  /** Frees the head block, dropping the oldest clips until nothing live touches it. */
  private reclaimHead(): void {
    const block = this.head;
    while (this.liveIn[block] > 0) this.dropOldestClip();
    // Zero the header first: from here on, whatever a torn erase leaves behind is not a block in use.
    this.flash.write(block * this.blockSize, new Uint8Array(BLOCK_HEADER));
    this.blockSeq[block] = 0;
    const start = block * this.blockSize;
    const end = start + this.blockSize;
    this.entries = this.entries.filter(
      (e) => e.live || e.fragments.length === 0 || e.fragments[0].offset < start || e.fragments[0].offset >= end,
    );
    if (block === this.tail) {
      this.head = -1;
      this.tail = -1;
      this.tailClosed = true;
    } else {
      this.head = (block + 1) % this.blocks;
    }
    this.flash.eraseBlock(block);
    this.erased[block] = true;
  }

  private openBlock(): void {
    const next = this.tail < 0 ? (this.head < 0 ? 0 : this.head) : (this.tail + 1) % this.blocks;
    if (next === this.head && this.tail >= 0) this.reclaimHead();
    if (this.blockSeq[next] !== 0) fail("E_INTERNAL", "queue ring out of order");
    if (!this.erased[next]) this.flash.eraseBlock(next);
    this.erased[next] = false;
    const seq = this.nextBlockSeq;
    this.nextBlockSeq += 1;
    this.flash.write(next * this.blockSize, this.encodeBlockHeader(seq));
    this.blockSeq[next] = seq;
    this.tail = next;
    if (this.head < 0) this.head = next;
    this.tailOffset = BLOCK_HEADER;
    this.tailClosed = false;
  }

  private recover(): void {
    let maxSeq = 0;
    let tail = -1;
    const floors = new Array<number>(this.blocks).fill(0);
    for (let b = 0; b < this.blocks; b++) {
      const [seq, floor] = this.readBlockHeader(b);
      this.blockSeq[b] = seq;
      floors[b] = floor;
      if (seq > maxSeq) {
        maxSeq = seq;
        tail = b;
      }
    }
    if (tail < 0) return; // empty: the first append opens block 0
    if (maxSeq >= MAX_U32) fail("E_STORAGE", "queue block sequence exhausted; erase the queue");
    this.nextBlockSeq = maxSeq + 1;
    // The blocks in use are the run of consecutive blockSeq values that ends at the tail.
    const chain = [tail];
    for (let b = (tail + this.blocks - 1) % this.blocks; b !== tail; b = (b + this.blocks - 1) % this.blocks) {
      if (this.blockSeq[b] === 0 || this.blockSeq[b] !== this.blockSeq[chain[0]] - 1) break;
      chain.unshift(b);
    }
    const inChain = new Array<boolean>(this.blocks).fill(false);
    for (const b of chain) inChain[b] = true;
    for (let b = 0; b < this.blocks; b++)
      if (this.blockSeq[b] !== 0 && !inChain[b]) {
        // A leftover from an older run: make sure it can never be mistaken for a block in use.
        this.flash.write(b * this.blockSize, new Uint8Array(BLOCK_HEADER));
        this.blockSeq[b] = 0;
        this.recovered.staleBlocks += 1;
      }
    this.head = chain[0];
    this.tail = tail;

    let current: { entry: Entry; acked: boolean } | undefined;
    let maxRecordSeq = 0;
    const abandon = (): void => {
      if (current) this.recovered.incompleteRecords += 1;
      current = undefined;
    };
    for (const block of chain) {
      const base = block * this.blockSize;
      let offset = BLOCK_HEADER;
      let clean = true;
      while (offset + ENTRY_HEADER <= this.blockSize) {
        const header = this.flash.read(base + offset, ENTRY_HEADER);
        if (allErased(header)) break;
        const length = readU32be(header, 12);
        const flags = header[3];
        if (
          readU16be(header, 0) !== ENTRY_MAGIC ||
          (flags & 0xfc) !== FLAG_FIXED ||
          length > this.blockSize - offset - ENTRY_HEADER ||
          readU32be(header, 20) !== this.headerCrc(header)
        ) {
          clean = false; // a torn or damaged header: nothing after it in this block can be trusted
          break;
        }
        if (block === tail && readU32be(header, 16) !== crc32(this.flash.read(base + offset + ENTRY_HEADER, length))) {
          // A torn payload (the header made it, the data did not). Clear its ack byte: once this block is no
          // longer the tail its payloads are not re-read at boot, and a record with any cleared fragment is
          // dead. The header stays valid, so the scan can step over it by its length.
          this.flash.write(base + offset + 2, new Uint8Array([0]));
          clean = false;
          abandon();
          offset += align4(ENTRY_HEADER + length);
          continue;
        }
        const seq = readU32be(header, 4);
        const clip = readU32be(header, 8);
        if (seq > maxRecordSeq) maxRecordSeq = seq;
        if (clip > this.maxClip) this.maxClip = clip;
        const fragment = { offset: base + offset, length };
        if (flags & FLAG_FIRST) {
          abandon();
          current = {
            entry: { seq, clip, length: 0, fragments: [], live: true, complete: false },
            acked: header[2] !== ACK_LIVE,
          };
        } else if (!current || current.entry.seq !== seq || current.entry.clip !== clip) {
          abandon(); // an orphan continuation: its first part was reclaimed or torn
        }
        if (current) {
          if (header[2] !== ACK_LIVE) current.acked = true;
          current.entry.fragments.push(fragment);
          current.entry.length += length;
          if (flags & FLAG_LAST) {
            const entry = current.entry;
            entry.complete = true;
            entry.live = !current.acked;
            this.entries.push(entry);
            if (entry.live) {
              this.recovered.records += 1;
              for (const f of entry.fragments) this.liveIn[this.blockOf(f.offset)] += 1;
            }
            current = undefined;
          }
        }
        offset += align4(ENTRY_HEADER + length);
      }
      if (!clean) this.recovered.tornEntries += 1;
      if (block === tail) {
        this.tailOffset = offset;
        // Write only after programmed-clean space: anything but 0xFF past the last good entry is a torn write.
        this.tailClosed = !clean || !allErased(this.flash.read(base + offset, this.blockSize - offset));
      }
    }
    abandon();
    let floor = 0;
    for (const b of chain) if (floors[b] > floor) floor = floors[b];
    this.nextSeq = Math.max(maxRecordSeq + 1, floor, 1);
  }
}
