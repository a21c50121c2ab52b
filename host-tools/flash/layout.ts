/**
 * What gets written where: the board's flash layout (from its definition) and the build's three images
 * (bootloader, partition table, application), checked against each other before any port is opened.
 * Pure apart from reading the build files.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { SealcamError } from "../../firmware/core/errors";

export interface FlashPartitionDef {
  name: string;
  type: string;
  subtype: string;
  offset: number;
  size: number;
}

/** The part of a board definition (host-tools/hw/boards.ts) the flasher needs. */
export interface FlashBoard {
  name: string;
  chip: string;
  /** Bytes. */
  flashSize: number;
  usb?: { vid: number; pid: number; kind?: string };
  offsets: { bootloader: number; partitionTable: number; app: number };
  partitions: FlashPartitionDef[];
}

export type RegionName = "bootloader" | "partition-table" | "app";

export interface Region {
  name: RegionName;
  file: string;
  address: number;
  data: Uint8Array;
  /** Bytes available at address. */
  limit: number;
}

export interface BuildFiles {
  bootloader: string;
  partitionTable: string;
  app: string;
}

/** ESP-IDF's partition table may be at most 0xC00 bytes (it lives in one 4 KiB sector). */
export const PARTITION_TABLE_MAX = 0xc00;

const hex = (n: number) => "0x" + n.toString(16);

function firstExisting(dir: string, names: string[]): string | undefined {
  for (const name of names) {
    const path = join(dir, name);
    if (existsSync(path) && statSync(path).isFile()) return path;
  }
  return undefined;
}

/**
 * Finds the three images in a build directory. Accepts the flat layout (bootloader.bin, partition-table.bin,
 * app.bin) and the one Moddable/ESP-IDF leave (bootloader/bootloader.bin, partition_table/partition-table.bin,
 * xs_esp32.bin).
 */
export function findBuildFiles(dir: string, board: string): BuildFiles {
  if (!existsSync(dir)) {
    throw new SealcamError(
      "E_NOT_FOUND",
      `no build at ${dir}: run \`make firmware BOARD=${board}\` first, or pass --build DIR`,
    );
  }
  const bootloader = firstExisting(dir, ["bootloader.bin", "bootloader/bootloader.bin"]);
  const partitionTable = firstExisting(dir, ["partition-table.bin", "partitions.bin", "partition_table/partition-table.bin"]);
  const app = firstExisting(dir, ["app.bin", "sealcam.bin", "xs_esp32.bin"]);
  const missing = [
    bootloader ? null : "bootloader.bin",
    partitionTable ? null : "partition-table.bin",
    app ? null : "app.bin (or xs_esp32.bin)",
  ].filter((x): x is string => x !== null);
  if (missing.length > 0 || !bootloader || !partitionTable || !app) {
    throw new SealcamError(
      "E_NOT_FOUND",
      `the build in ${dir} is missing ${missing.join(", ")}: run \`make firmware BOARD=${board}\` again`,
    );
  }
  return { bootloader, partitionTable, app };
}

/** The application partition the board boots first: the one at offsets.app. */
export function appPartition(board: FlashBoard): FlashPartitionDef {
  const part = board.partitions.find((p) => p.offset === board.offsets.app);
  if (!part || part.type !== "app")
    throw new SealcamError("E_FORMAT", `board ${board.name}: no app partition at ${hex(board.offsets.app)} in its partition table`);
  return part;
}

/** The NVS partition (settings, enrollment, keys): what --erase-config wipes. */
export function nvsPartition(board: FlashBoard): FlashPartitionDef {
  const part = board.partitions.find((p) => p.type === "data" && p.subtype === "nvs");
  if (!part) throw new SealcamError("E_FORMAT", `board ${board.name} has no nvs partition`);
  return part;
}

export function otadataPartition(board: FlashBoard): FlashPartitionDef | undefined {
  return board.partitions.find((p) => p.type === "data" && p.subtype === "ota");
}

/** Partition entries in an ESP-IDF binary partition table (32-byte records, magic 0xAA50, then an MD5 record). */
export function parsePartitionTable(bin: Uint8Array): { name: string; type: number; subtype: number; offset: number; size: number }[] {
  const out: { name: string; type: number; subtype: number; offset: number; size: number }[] = [];
  const view = new DataView(bin.buffer, bin.byteOffset, bin.byteLength);
  for (let o = 0; o + 32 <= bin.length; o += 32) {
    const magic = view.getUint16(o, true);
    if (magic === 0xffff || magic === 0xebeb) break;
    if (magic !== 0x50aa) throw new SealcamError("E_FORMAT", `partition table: bad entry magic at ${hex(o)}`);
    let name = "";
    for (let i = 0; i < 16 && bin[o + 12 + i] !== 0; i++) name += String.fromCharCode(bin[o + 12 + i]!);
    out.push({ type: bin[o + 2]!, subtype: bin[o + 3]!, offset: view.getUint32(o + 4, true), size: view.getUint32(o + 8, true), name });
  }
  return out;
}

/** ESP image chip ids (esp_image_format.h `esp_chip_id_t`). */
const CHIP_IDS: Record<number, string> = { 0: "ESP32", 2: "ESP32-S2", 5: "ESP32-C3", 9: "ESP32-S3", 12: "ESP32-C2", 13: "ESP32-C6", 16: "ESP32-H2", 18: "ESP32-P4" };

/**
 * An ESP image starts with magic 0xE9; its extended header names the chip it was built for (u16 at byte 12).
 * Catches swapped files and builds for another chip before anything is written.
 */
export function checkImageHeader(region: Region, board: FlashBoard): void {
  const d = region.data;
  if (d.length < 24 || d[0] !== 0xe9)
    throw new SealcamError("E_FORMAT", `${region.file} does not look like an ESP32 ${region.name} image (no 0xE9 magic): check the build`);
  const chipId = d[12]! | (d[13]! << 8);
  const chip = CHIP_IDS[chipId] ?? `chip id ${chipId}`;
  if (chip !== board.chip)
    throw new SealcamError("E_WRONG_CHIP", `${region.file} was built for ${chip}, but board ${board.name} has an ${board.chip}: rebuild with \`make firmware BOARD=${board.name}\``);
}

/**
 * Reads the images and checks each fits where it goes (before any port is opened): the bootloader below the
 * partition table, the table in its sector, the app in its partition. If the build's partition table puts the
 * app somewhere else than the board definition, that is refused too (the board would not boot what we write).
 */
export function planRegions(board: FlashBoard, files: BuildFiles): Region[] {
  const read = (path: string) => new Uint8Array(readFileSync(path));
  const app = appPartition(board);
  const regions: Region[] = [
    { name: "bootloader", file: files.bootloader, address: board.offsets.bootloader, data: read(files.bootloader), limit: board.offsets.partitionTable - board.offsets.bootloader },
    { name: "partition-table", file: files.partitionTable, address: board.offsets.partitionTable, data: read(files.partitionTable), limit: PARTITION_TABLE_MAX },
    { name: "app", file: files.app, address: app.offset, data: read(files.app), limit: app.size },
  ];
  for (const r of regions) {
    if (r.data.length === 0) throw new SealcamError("E_FORMAT", `${r.file} is empty`);
    if (r.data.length > r.limit) {
      const where = r.name === "app" ? `the ${app.name} partition (${r.limit} bytes at ${hex(r.address)})` : `its ${r.limit}-byte slot at ${hex(r.address)}`;
      throw new SealcamError("E_LIMIT", `${r.name} image ${r.file} is ${r.data.length} bytes, larger than ${where}: shrink the build or change the board's partitions.csv`);
    }
    if (r.address + r.data.length > board.flashSize)
      throw new SealcamError("E_LIMIT", `${r.name} image ends past the ${board.flashSize}-byte flash of ${board.name}`);
  }
  for (const r of [regions[0]!, regions[2]!]) checkImageHeader(r, board);
  if (regions[1]!.data[0] !== 0xaa || regions[1]!.data[1] !== 0x50)
    throw new SealcamError("E_FORMAT", `${regions[1]!.file} is not an ESP-IDF partition table (no 0xAA50 magic)`);
  const table = parsePartitionTable(regions[1]!.data);
  const builtApp = table.find((p) => p.type === 0x00 && p.offset === app.offset);
  if (table.length > 0 && !builtApp) {
    throw new SealcamError(
      "E_FORMAT",
      `the build's partition table has no app partition at ${hex(app.offset)} (board ${board.name} expects one): rebuild with \`make firmware BOARD=${board.name}\``,
    );
  }
  return regions;
}
