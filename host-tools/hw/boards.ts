/**
 * Board definitions: hw/<board>/board.json and hw/<board>/partitions.csv, read the same way by the build
 * (mk/board.mk), the manifest validator (host-tools/hw/validate.ts) and the flasher (host-tools/flash).
 * The schema is documented in docs/HARDWARE.md ("board.json"); keep the two in step.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { SealcamError } from "../../firmware/core/errors";

export type UsbKind = "usb-serial-jtag" | "uart";

export interface CameraPins {
  powerdown: number;
  reset: number;
  xclk: number;
  pclk: number;
  href: number;
  vsync: number;
  scl: number;
  sda: number;
  d0: number;
  d1: number;
  d2: number;
  d3: number;
  d4: number;
  d5: number;
  d6: number;
  d7: number;
}

export const CAMERA_PIN_NAMES: readonly (keyof CameraPins)[] = [
  "powerdown", "reset", "xclk", "pclk", "href", "vsync", "scl", "sda",
  "d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7",
];

export interface Partition {
  name: string;
  /** "app", "data", or a numeric type 0x40..0xFE. */
  type: string;
  subtype: string;
  offset: number;
  size: number;
  flags: string[];
  /** 1-based line in partitions.csv, for messages. */
  line: number;
}

export interface Board {
  schema: 1;
  name: string;
  title: string;
  chip: "ESP32-S3";
  flashSize: string;
  flashBytes: number;
  flashMode: string;
  flashFreq: string;
  psram: { size: string; bytes: number; mode: "octal" | "quad" };
  usb: { vid: string; pid: string; kind: UsbKind };
  sensor: string;
  pins: { camera: CameraPins } & Record<string, unknown>;
  /** Moddable platform id, "esp32/<subplatform>". */
  moddableTarget: string;
  /** Absolute path of our own Moddable target folder, when the SDK has none for this board. */
  targetDir?: string;
  offsets: { bootloader: number; partitionTable: number; app: number };
  partitionsPath: string;
  partitions: Partition[];
  status: string;
  notes: string;
  /** Absolute path of hw/<board>. */
  dir: string;
}

/** The repository's hw/ folder (works from sources under jest and from the esbuild bundle in dist/). */
export function defaultHwDir(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "hw");
    if (fs.existsSync(path.join(dir, "package.json")) && fs.existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) return path.resolve("hw");
  }
}

/** "0x1000", "4096", "24K", "4M", "8MB", "16MB" -> bytes. */
export function parseSize(text: string): number {
  const t = text.trim();
  let value: number;
  let m: RegExpExecArray | null;
  if (/^0x[0-9a-f]+$/i.test(t)) value = parseInt(t, 16);
  else if (/^[0-9]+$/.test(t)) value = parseInt(t, 10);
  else if ((m = /^([0-9]+)\s*(K|KB|M|MB)$/i.exec(t))) value = parseInt(m[1], 10) * (m[2].toUpperCase().startsWith("K") ? 1024 : 1024 * 1024);
  else throw new SealcamError("E_FORMAT", `'${text}' is not a size (use 0x..., a byte count, or K/M suffixes)`);
  if (!Number.isSafeInteger(value)) throw new SealcamError("E_FORMAT", `'${text}' is too large`);
  return value;
}

/**
 * Parses an ESP-IDF partitions.csv. Unlike gen_esp32part.py, every offset must be given: the flasher and
 * the docs need them explicit. Comments (#) and blank lines are skipped.
 */
export function parsePartitionsCsv(text: string): Partition[] {
  const out: Partition[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    const hash = raw.indexOf("#");
    const line = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (line === "") continue;
    const cells = line.split(",").map((c) => c.trim());
    while (cells.length > 5 && cells[cells.length - 1] === "") cells.pop();
    if (cells.length < 5 || cells.length > 6)
      throw new SealcamError("E_FORMAT", `partitions.csv line ${i + 1}: expected name, type, subtype, offset, size[, flags]`);
    const [name, type, subtype, offset, size, flags] = cells;
    if (!/^[A-Za-z0-9_]{1,16}$/.test(name))
      throw new SealcamError("E_FORMAT", `partitions.csv line ${i + 1}: name '${name}' must be 1-16 letters, digits or _`);
    if (!/^(app|data|0x[4-9a-f][0-9a-f])$/i.test(type))
      throw new SealcamError("E_FORMAT", `partitions.csv line ${i + 1}: type '${type}' must be app, data or 0x40-0xFE`);
    if (subtype === "") throw new SealcamError("E_FORMAT", `partitions.csv line ${i + 1}: subtype is missing`);
    if (offset === "") throw new SealcamError("E_FORMAT", `partitions.csv line ${i + 1}: give '${name}' an explicit offset`);
    const at = (what: string, value: string): number => {
      try {
        return parseSize(value);
      } catch (error) {
        throw new SealcamError("E_FORMAT", `partitions.csv line ${i + 1}: ${what} ${(error as Error).message}`);
      }
    };
    out.push({
      name,
      type: type.toLowerCase(),
      subtype: subtype.toLowerCase(),
      offset: at("offset", offset),
      size: at("size", size),
      flags: flags ? flags.split(":").map((f) => f.trim()).filter((f) => f !== "") : [],
      line: i + 1,
    });
  }
  return out;
}

function str(value: unknown, key: string, file: string): string {
  if (typeof value !== "string" || value === "") throw new SealcamError("E_FORMAT", `${file}: '${key}' must be a non-empty string`);
  return value;
}

function obj(value: unknown, key: string, file: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new SealcamError("E_FORMAT", `${file}: '${key}' must be an object`);
  return value as Record<string, unknown>;
}

function hexOffset(value: unknown, key: string, file: string): number {
  if (typeof value !== "string" || !/^0x[0-9a-f]+$/i.test(value))
    throw new SealcamError("E_FORMAT", `${file}: '${key}' must be a hex string like "0x8000"`);
  return parseInt(value, 16);
}

/** Reads and checks the shape of one board.json (the layout rules are in validate.ts). */
export function parseBoard(json: unknown, dir: string, file = "board.json"): Board {
  const b = obj(json, "(root)", file);
  if (b.schema !== 1) throw new SealcamError("E_VERSION", `${file}: 'schema' must be 1`);
  const name = str(b.name, "name", file);
  if (name !== path.basename(dir)) throw new SealcamError("E_FORMAT", `${file}: name '${name}' must match its folder '${path.basename(dir)}'`);
  const chip = str(b.chip, "chip", file);
  if (chip !== "ESP32-S3") throw new SealcamError("E_FORMAT", `${file}: chip must be "ESP32-S3"`);
  const flashSize = str(b.flashSize, "flashSize", file);
  const psram = obj(b.psram, "psram", file);
  const psramMode = str(psram.mode, "psram.mode", file);
  if (psramMode !== "octal" && psramMode !== "quad") throw new SealcamError("E_FORMAT", `${file}: psram.mode must be "octal" or "quad"`);
  const usb = obj(b.usb, "usb", file);
  const kind = str(usb.kind, "usb.kind", file);
  if (kind !== "usb-serial-jtag" && kind !== "uart") throw new SealcamError("E_FORMAT", `${file}: usb.kind must be "usb-serial-jtag" or "uart"`);
  const vid = str(usb.vid, "usb.vid", file).toLowerCase();
  const pid = str(usb.pid, "usb.pid", file).toLowerCase();
  if (!/^[0-9a-f]{4}$/.test(vid) || !/^[0-9a-f]{4}$/.test(pid))
    throw new SealcamError("E_FORMAT", `${file}: usb.vid and usb.pid must be 4 hex digits, e.g. "303a"`);
  const pins = obj(b.pins, "pins", file);
  const camera = obj(pins.camera, "pins.camera", file);
  for (const pin of CAMERA_PIN_NAMES)
    if (typeof camera[pin] !== "number" || !Number.isInteger(camera[pin]))
      throw new SealcamError("E_FORMAT", `${file}: pins.camera.${pin} must be a GPIO number (-1 for none)`);
  // pins.pir: the GPIO of a PIR motion sensor (its output, active high), null where the board has none.
  if (pins.pir !== undefined && pins.pir !== null && !(typeof pins.pir === "number" && Number.isInteger(pins.pir)))
    throw new SealcamError("E_FORMAT", `${file}: pins.pir must be a GPIO number, or null where the board has no PIR sensor`);
  const moddableTarget = str(b.moddableTarget, "moddableTarget", file);
  if (!/^esp32\/[a-z0-9_]+$/.test(moddableTarget)) throw new SealcamError("E_FORMAT", `${file}: moddableTarget must look like "esp32/<name>"`);
  const offsets = obj(b.offsets, "offsets", file);
  const partitionsFile = str(b.partitions, "partitions", file);
  const partitionsPath = path.resolve(dir, partitionsFile);
  if (!fs.existsSync(partitionsPath)) throw new SealcamError("E_NOT_FOUND", `${file}: partitions file ${partitionsFile} does not exist`);
  const targetDir = b.targetDir === undefined ? undefined : path.resolve(dir, str(b.targetDir, "targetDir", file));
  return {
    schema: 1,
    name,
    title: str(b.title, "title", file),
    chip: "ESP32-S3",
    flashSize,
    flashBytes: parseSize(flashSize),
    flashMode: str(b.flashMode, "flashMode", file),
    flashFreq: str(b.flashFreq, "flashFreq", file),
    psram: { size: str(psram.size, "psram.size", file), bytes: parseSize(str(psram.size, "psram.size", file)), mode: psramMode },
    usb: { vid, pid, kind },
    sensor: str(b.sensor, "sensor", file),
    pins: { ...pins, camera: camera as unknown as CameraPins },
    moddableTarget,
    targetDir,
    offsets: {
      bootloader: hexOffset(offsets.bootloader, "offsets.bootloader", file),
      partitionTable: hexOffset(offsets.partitionTable, "offsets.partitionTable", file),
      app: hexOffset(offsets.app, "offsets.app", file),
    },
    partitionsPath,
    partitions: parsePartitionsCsv(fs.readFileSync(partitionsPath, "utf8")),
    status: str(b.status, "status", file),
    notes: typeof b.notes === "string" ? b.notes : "",
    dir,
  };
}

/** Names of every board folder under hw/ (those with a board.json). */
export function listBoards(hwDir = defaultHwDir()): string[] {
  return fs
    .readdirSync(hwDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && fs.existsSync(path.join(hwDir, e.name, "board.json")))
    .map((e) => e.name)
    .sort();
}

export function loadBoard(name: string, hwDir = defaultHwDir()): Board {
  if (!/^[a-z0-9_]+$/.test(name)) throw new SealcamError("E_ARGUMENT", `'${name}' is not a board name`);
  const dir = path.join(hwDir, name);
  const file = path.join(dir, "board.json");
  if (!fs.existsSync(file))
    throw new SealcamError("E_NOT_FOUND", `unknown board '${name}'; known boards: ${listBoards(hwDir).join(", ")}`);
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (error) {
    throw new SealcamError("E_FORMAT", `hw/${name}/board.json is not valid JSON: ${(error as Error).message}`);
  }
  return parseBoard(json, dir, `hw/${name}/board.json`);
}

/** The partition the queue lives in, and the app partition the flasher writes xs_esp32.bin to. */
export function findPartition(board: Board, name: string): Partition {
  const p = board.partitions.find((x) => x.name === name);
  if (!p) throw new SealcamError("E_NOT_FOUND", `board ${board.name} has no '${name}' partition`);
  return p;
}
