/**
 * The board definition, as the flasher sees it. Boards live in hw/<name>/board.json + hw/<name>/partitions.csv
 * (the board-port issue owns them and host-tools/hw/boards.ts); until that loader is here this reads the same
 * two files with the same rules (ESP-IDF partitions.csv: blank offsets follow the previous partition, app
 * partitions align to 64 KiB, data to 4 KiB; sizes as 0x…, …K or …M).
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { SealcamError } from "../../firmware/core/errors";
import type { FlashBoard, FlashPartitionDef } from "./layout";

export function defaultHwRoot(): string {
  // dist/sealcam.cjs and host-tools/flash/*.ts are both two levels below the repository root.
  return resolve(__dirname, "..", "..", "hw");
}

function parseSize(text: string, what: string): number {
  const m = /^\s*(0x[0-9a-f]+|\d+)\s*([KM]?)\s*$/i.exec(text);
  if (!m) throw new SealcamError("E_FORMAT", `${what}: cannot read size '${text}'`);
  const n = m[1]!.toLowerCase().startsWith("0x") ? parseInt(m[1]!, 16) : parseInt(m[1]!, 10);
  const unit = m[2]!.toUpperCase();
  return unit === "K" ? n * 1024 : unit === "M" ? n * 1024 * 1024 : n;
}

export function parsePartitionsCsv(text: string, tableOffset: number, where = "partitions.csv"): FlashPartitionDef[] {
  const parts: FlashPartitionDef[] = [];
  let next = tableOffset + 0x1000;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/#.*/, "").trim();
    if (!line) continue;
    const [name, type, subtype, offset, size] = line.split(",").map((f) => f.trim());
    if (!name || !type || subtype === undefined || !size) throw new SealcamError("E_FORMAT", `${where}: bad line '${raw}'`);
    const align = type === "app" ? 0x10000 : 0x1000;
    const at = offset ? parseSize(offset, where) : Math.ceil(next / align) * align;
    const bytes = parseSize(size, where);
    parts.push({ name, type, subtype, offset: at, size: bytes });
    next = at + bytes;
  }
  return parts;
}

export function loadFlashBoard(name: string, hwRoot = defaultHwRoot()): FlashBoard {
  if (!/^[a-z0-9][a-z0-9_-]*$/i.test(name)) throw new SealcamError("E_ARGUMENT", `bad board name '${name}'`);
  const dir = join(hwRoot, name);
  const jsonPath = join(dir, "board.json");
  if (!existsSync(jsonPath)) throw new SealcamError("E_NOT_FOUND", `unknown board '${name}' (no ${jsonPath}); the boards are the folders in ${hwRoot}`);
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(readFileSync(jsonPath, "utf8")) as Record<string, unknown>;
  } catch (e) {
    throw new SealcamError("E_FORMAT", `${jsonPath}: ${(e as Error).message}`);
  }
  const num = (v: unknown, what: string): number => {
    if (typeof v === "number") return v;
    if (typeof v === "string") return parseSize(v.replace(/B$/i, ""), `${jsonPath} ${what}`);
    throw new SealcamError("E_FORMAT", `${jsonPath}: ${what} missing`);
  };
  const offsets = (json.offsets ?? {}) as Record<string, unknown>;
  const tableOffset = num(offsets.partitionTable ?? 0x8000, "offsets.partitionTable");
  const csvPath = join(dir, "partitions.csv");
  const partitions = parsePartitionsCsv(readFileSync(csvPath, "utf8"), tableOffset, csvPath);
  const firstApp = partitions.find((p) => p.type === "app");
  const usb = json.usb as { vid?: unknown; pid?: unknown; kind?: string } | undefined;
  return {
    name: typeof json.name === "string" ? json.name : name,
    chip: typeof json.chip === "string" ? json.chip : "ESP32-S3",
    flashSize: num(json.flashSize, "flashSize"),
    usb:
      typeof usb?.vid === "string" && typeof usb.pid === "string"
        ? { vid: parseInt(usb.vid.replace(/^0x/i, ""), 16), pid: parseInt(usb.pid.replace(/^0x/i, ""), 16), kind: usb.kind }
        : undefined,
    offsets: {
      bootloader: num(offsets.bootloader ?? 0x0, "offsets.bootloader"),
      partitionTable: tableOffset,
      app: num(offsets.app ?? firstApp?.offset, "offsets.app"),
    },
    partitions,
  };
}
