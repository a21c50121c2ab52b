/**
 * Test helper: a realistic build for the fixture board (sizes like a Moddable ESP32-S3 build: a ~21 KB
 * second-stage bootloader, a 0xC00-byte binary partition table, a ~1.2 MB application with a mix of code-like
 * and incompressible bytes), written to a temp directory. Deterministic. Not a test file.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FlashBoard } from "../../host-tools/flash/layout";

export const HW_DIR = join(__dirname, "fixtures", "hw");
export const BOARD = "sealcam_test_s3";

/** xorshift32, so every run writes the same bytes. */
export function bytes(length: number, seed: number, compressible = 0.5): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    // Runs of repeated "instruction" bytes mixed with noise compress about like real firmware.
    out[i] = (x & 0xff) / 256 < compressible ? (i >> 4) & 0x3f : x & 0xff;
  }
  return out;
}

export function espImage(length: number, seed: number): Uint8Array {
  const img = bytes(length, seed);
  img.set([0xe9, 0x03, 0x02, 0x2f], 0); // magic, segments, DIO, 8 MB / 80 MHz
  img.set([0x09, 0x00], 12); // extended header: chip id 9 = ESP32-S3
  return img;
}

const TYPES: Record<string, number> = { app: 0x00, data: 0x01 };
const SUBTYPES: Record<string, number> = { factory: 0x00, ota: 0x00, nvs: 0x02, phy: 0x01 };

export function partitionTableBin(board: FlashBoard): Uint8Array {
  const bin = new Uint8Array(0xc00).fill(0xff);
  const view = new DataView(bin.buffer);
  let o = 0;
  for (const p of board.partitions) {
    view.setUint16(o, 0x50aa, true);
    bin[o + 2] = TYPES[p.type] ?? Number(p.type);
    bin[o + 3] = p.type === "data" && p.subtype === "ota" ? 0x00 : (SUBTYPES[p.subtype] ?? Number(p.subtype));
    view.setUint32(o + 4, p.offset, true);
    view.setUint32(o + 8, p.size, true);
    bin.fill(0, o + 12, o + 28);
    for (let i = 0; i < p.name.length; i++) bin[o + 12 + i] = p.name.charCodeAt(i);
    view.setUint32(o + 28, 0, true);
    o += 32;
  }
  bin.fill(0xff, o, o + 16);
  bin[o] = 0xeb;
  bin[o + 1] = 0xeb;
  bin.set(createHash("md5").update(bin.subarray(0, o)).digest(), o + 16);
  return bin;
}

export interface Build {
  dir: string;
  bootloader: Uint8Array;
  partitionTable: Uint8Array;
  app: Uint8Array;
}

export function writeBuild(board: FlashBoard, options: { appSize?: number; omit?: string } = {}): Build {
  const dir = mkdtempSync(join(tmpdir(), "sealcam-build-"));
  const build: Build = {
    dir,
    bootloader: espImage(21 * 1024 + 112, 11),
    partitionTable: partitionTableBin(board),
    app: espImage(options.appSize ?? 1_200_000, 23),
  };
  const files: [string, Uint8Array][] = [
    ["bootloader.bin", build.bootloader],
    ["partition-table.bin", build.partitionTable],
    ["app.bin", build.app],
  ];
  for (const [name, data] of files) if (name !== options.omit) writeFileSync(join(dir, name), data);
  return build;
}
