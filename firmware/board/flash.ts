/**
 * FlashPartition on the board: Moddable's `flash` over an ESP-IDF data partition found by label (the
 * `clipq` partition in hw/<board>/partitions.csv). esp_partition_write programs bits from 1 to 0 only and
 * esp_partition_erase_range sets a 4 KiB sector to 0xFF: the NOR semantics the queue is written for.
 */
import Flash from "flash";
import { fail } from "../core/errors";
import type { FlashPartition } from "../platform/flash";

export class BoardFlash implements FlashPartition {
  private readonly flash: Flash;
  readonly byteLength: number;
  readonly blockSize: number;

  constructor(readonly label: string) {
    try {
      this.flash = new Flash(label);
    } catch {
      fail("E_STORAGE", `no '${label}' data partition: flash the partition table for this board (make flash)`);
    }
    this.byteLength = this.flash.byteLength;
    this.blockSize = this.flash.blockSize;
  }

  private range(offset: number, length: number): void {
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > this.byteLength)
      fail("E_ARGUMENT", `flash access ${offset}+${length} is outside the ${this.byteLength}-byte partition`);
  }

  read(offset: number, length: number): Uint8Array {
    this.range(offset, length);
    if (length === 0) return new Uint8Array(0);
    return new Uint8Array(this.flash.read(offset, length) as ArrayBuffer);
  }

  write(offset: number, data: Uint8Array): void {
    this.range(offset, data.length);
    if (data.length === 0) return;
    try {
      this.flash.write(offset, data.length, data);
    } catch (error) {
      fail("E_STORAGE", `flash write failed: ${error instanceof Error ? error.message : "esp_partition_write"}`);
    }
  }

  eraseBlock(block: number): void {
    if (!Number.isInteger(block) || block < 0 || block >= this.byteLength / this.blockSize)
      fail("E_ARGUMENT", `flash block ${block} does not exist`);
    try {
      this.flash.erase(block);
    } catch (error) {
      fail("E_STORAGE", `flash erase failed: ${error instanceof Error ? error.message : "esp_partition_erase_range"}`);
    }
  }
}
