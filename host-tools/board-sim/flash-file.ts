/**
 * FlashPartition bodies for the host: the simulator's clip-queue partition and the queue's tests.
 *
 * All of them follow NOR flash exactly as the ESP32-S3's SPI flash behaves under esp_partition_*:
 *   - erase sets a whole block to 0xFF;
 *   - write can only clear bits (the stored byte becomes old & new), so writing over programmed bytes
 *     without an erase silently corrupts them, as it would on the chip;
 *   - offsets and lengths are checked against the partition; a bad call throws and changes nothing.
 *
 * `PowerCutFlash` wraps another partition and cuts the power after a budget of bytes: the operation that
 * crosses the budget is left half done (bytes up to the cut are programmed or erased, the byte at the cut
 * is only partly programmed) and it and every later call throw `PowerCut`. Reopen the inner partition to
 * "boot" again.
 */
import * as fs from "node:fs";
import type { FlashPartition } from "../../firmware/platform/flash";
import { SealcamError } from "../../firmware/core/errors";

export const DEFAULT_BLOCK_SIZE = 4096;

function checkRange(flash: FlashPartition, offset: number, length: number): void {
  if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > flash.byteLength)
    throw new SealcamError("E_ARGUMENT", `flash access ${offset}+${length} is outside the ${flash.byteLength}-byte partition`);
}

function checkBlock(flash: FlashPartition, block: number): void {
  if (!Number.isInteger(block) || block < 0 || block >= flash.byteLength / flash.blockSize)
    throw new SealcamError("E_ARGUMENT", `flash block ${block} does not exist`);
}

function checkGeometry(byteLength: number, blockSize: number): void {
  if (!Number.isInteger(blockSize) || blockSize <= 0 || !Number.isInteger(byteLength) || byteLength <= 0 || byteLength % blockSize !== 0)
    throw new SealcamError("E_ARGUMENT", "flash size must be a positive whole number of blocks");
}

/** NOR flash in memory. */
export class MemoryFlash implements FlashPartition {
  readonly byteLength: number;
  readonly blockSize: number;
  readonly bytes: Uint8Array;
  /** Counters, for tests and the simulator's wear report. */
  readonly counts = { reads: 0, writes: 0, bytesWritten: 0, erases: 0 };

  constructor(byteLength: number, blockSize = DEFAULT_BLOCK_SIZE, contents?: Uint8Array) {
    checkGeometry(byteLength, blockSize);
    this.byteLength = byteLength;
    this.blockSize = blockSize;
    this.bytes = new Uint8Array(byteLength).fill(0xff);
    if (contents) this.bytes.set(contents.subarray(0, byteLength));
  }

  read(offset: number, length: number): Uint8Array {
    checkRange(this, offset, length);
    this.counts.reads += 1;
    return this.bytes.slice(offset, offset + length);
  }

  write(offset: number, data: Uint8Array): void {
    checkRange(this, offset, data.length);
    this.counts.writes += 1;
    this.counts.bytesWritten += data.length;
    for (let i = 0; i < data.length; i++) this.bytes[offset + i] &= data[i];
  }

  eraseBlock(block: number): void {
    checkBlock(this, block);
    this.counts.erases += 1;
    this.bytes.fill(0xff, block * this.blockSize, (block + 1) * this.blockSize);
  }
}

/** NOR flash in a file (created full of 0xFF, like a fresh chip); every call goes straight to the file. */
export class FileFlash implements FlashPartition {
  readonly byteLength: number;
  readonly blockSize: number;
  readonly path: string;
  private fd: number;

  constructor(path: string, byteLength: number, blockSize = DEFAULT_BLOCK_SIZE) {
    checkGeometry(byteLength, blockSize);
    this.path = path;
    this.byteLength = byteLength;
    this.blockSize = blockSize;
    const exists = fs.existsSync(path);
    if (exists && fs.statSync(path).size !== byteLength)
      throw new SealcamError("E_STORAGE", `flash file ${path} is ${fs.statSync(path).size} bytes, expected ${byteLength}`);
    // 0600: the queue holds only sealed clips, but it is the camera's data; nobody else needs to read it.
    this.fd = fs.openSync(path, exists ? "r+" : "w+", 0o600);
    if ((fs.fstatSync(this.fd).mode & 0o777) !== 0o600) fs.fchmodSync(this.fd, 0o600);
    if (!exists) {
      const block = new Uint8Array(blockSize).fill(0xff);
      for (let at = 0; at < byteLength; at += blockSize) fs.writeSync(this.fd, block, 0, blockSize, at);
    }
  }

  read(offset: number, length: number): Uint8Array {
    checkRange(this, offset, length);
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const n = fs.readSync(this.fd, out, done, length - done, offset + done);
      if (n <= 0) throw new SealcamError("E_STORAGE", `flash file ${this.path} is shorter than expected`);
      done += n;
    }
    return out;
  }

  write(offset: number, data: Uint8Array): void {
    checkRange(this, offset, data.length);
    const merged = this.read(offset, data.length);
    for (let i = 0; i < data.length; i++) merged[i] &= data[i];
    fs.writeSync(this.fd, merged, 0, merged.length, offset);
  }

  eraseBlock(block: number): void {
    checkBlock(this, block);
    fs.writeSync(this.fd, new Uint8Array(this.blockSize).fill(0xff), 0, this.blockSize, block * this.blockSize);
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }
}

/** Thrown by PowerCutFlash once the power is gone. */
export class PowerCut extends Error {
  constructor() {
    super("power cut");
    this.name = "PowerCut";
  }
}

export interface PowerCutOptions {
  /** Bytes that may still change (programmed or erased) before the power goes. */
  budget: number;
  /**
   * What the byte at the cut becomes. "partial" (default): a write leaves it half programmed (old & (new | 0xF0)),
   * an erase leaves it half erased (old | 0x0F). "none": the cut falls cleanly between bytes.
   */
  tornByte?: "partial" | "none";
}

/** Wraps a partition and cuts the power after `budget` bytes have changed, in the middle of an operation. */
export class PowerCutFlash implements FlashPartition {
  readonly byteLength: number;
  readonly blockSize: number;
  private remaining: number;
  private readonly torn: "partial" | "none";
  private dead = false;
  /** How many bytes were changed before the cut (equal to the budget once cut). */
  spent = 0;

  constructor(private readonly inner: FlashPartition, options: PowerCutOptions) {
    this.byteLength = inner.byteLength;
    this.blockSize = inner.blockSize;
    this.remaining = options.budget;
    this.torn = options.tornByte ?? "partial";
  }

  get cut(): boolean {
    return this.dead;
  }

  /** Sets a new budget from now on (the partition must still have power). */
  arm(budget: number): void {
    if (this.dead) throw new PowerCut();
    this.remaining = budget;
  }

  read(offset: number, length: number): Uint8Array {
    if (this.dead) throw new PowerCut();
    return this.inner.read(offset, length);
  }

  write(offset: number, data: Uint8Array): void {
    if (this.dead) throw new PowerCut();
    checkRange(this, offset, data.length);
    if (data.length <= this.remaining) {
      this.inner.write(offset, data);
      this.remaining -= data.length;
      this.spent += data.length;
      return;
    }
    const whole = this.remaining;
    if (whole > 0) this.inner.write(offset, data.subarray(0, whole));
    if (this.torn === "partial") this.inner.write(offset + whole, new Uint8Array([data[whole] | 0xf0]));
    this.spent += whole;
    this.remaining = 0;
    this.dead = true;
    throw new PowerCut();
  }

  eraseBlock(block: number): void {
    if (this.dead) throw new PowerCut();
    checkBlock(this, block);
    if (this.blockSize <= this.remaining) {
      this.inner.eraseBlock(block);
      this.remaining -= this.blockSize;
      this.spent += this.blockSize;
      return;
    }
    // A torn erase: the first bytes are erased, the byte at the cut half erased, the rest untouched.
    const start = block * this.blockSize;
    const old = this.inner.read(start, this.blockSize);
    const whole = this.remaining;
    const after = old.slice();
    after.fill(0xff, 0, whole);
    if (this.torn === "partial") after[whole] = old[whole] | 0x0f;
    this.inner.eraseBlock(block);
    this.inner.write(start, after);
    this.spent += whole;
    this.remaining = 0;
    this.dead = true;
    throw new PowerCut();
  }
}
