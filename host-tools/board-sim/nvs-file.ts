/**
 * The simulated camera's NVS: small named values in a page file under the board's data folder.
 *
 * File format (docs/BOARD-SIM.md, "Storage file"): a sequence of 4096-byte pages, like ESP-IDF NVS.
 * Each page starts with a 16-byte header ("SCNV", version 1, page number u32be, 4 reserved bytes, CRC-32 of
 * the first 12 bytes). Entries follow back to back; unused bytes stay 0xFF ("erased"). An entry is
 *
 *   u8 0x5E (never 0xFF, so an entry cannot look erased) | u8 op (1 set, 2 delete) | u8 keyLength | u8 0 |
 *   u16be valueLength | u16 0 | u32be sequence | u32be CRC-32 over the 12 bytes before it, key and value |
 *   key (ASCII) | value
 *
 * Writes only append, and every append is fsync'ed before `set` returns. On open, entries are replayed in
 * sequence order; the first entry whose CRC fails (a write torn by a power cut) ends the log, so a key holds
 * either its old or its new value, never a mix. When the log grows past `maxPages` (or after a torn tail is
 * found) the live set is rewritten into `nvs.bin.tmp`, fsync'ed and renamed over `nvs.bin`: rename is atomic,
 * so compaction is power-safe too.
 *
 * The file holds the camera's private key, so it and its temp file are created 0600 (owner only), and an
 * existing file with a wider mode (an older simulator's 0644) is narrowed to 0600 when it is opened.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { SealcamError } from "../../firmware/core/errors";
import { crc32Portable } from "../../firmware/queue/crc32";

export const PAGE_SIZE = 4096;
const PAGE_HEADER = 16;
const ENTRY_HEADER = 16;
const ENTRY_MARK = 0x5e;
const MAGIC = [0x53, 0x43, 0x4e, 0x56]; // "SCNV"
const OP_SET = 1;
const OP_DELETE = 2;
export const NVS_KEY_MAX = 15;
export const NVS_VALUE_MAX = 4000;
/** Owner read/write only: the page file holds key material. */
export const PRIVATE_FILE_MODE = 0o600;

/** CRC-32 of bytes[start, end) (the firmware's own portable CRC-32: the same checksum ESP-IDF's NVS uses). */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  return crc32Portable(bytes.subarray(start, end));
}

/** The CRC of an entry at `at` ending at `end`: its first 12 bytes, then key and value. */
function entryCrc(bytes: Uint8Array, at: number, end: number): number {
  return crc32Portable(bytes.subarray(at + ENTRY_HEADER, end), crc32Portable(bytes.subarray(at, at + 12)));
}

/** Thrown by a fault hook to stop a write half way, as a power cut would. */
export class PowerCut extends Error {
  constructor(readonly point: string) {
    super(`power cut at ${point}`);
    this.name = "PowerCut";
  }
}

export interface NvsFaultHook {
  /** Called before an entry is appended; return "torn" to write only part of it and then cut the power. */
  beforeWrite?(key: string, op: "set" | "delete"): "ok" | "torn" | "before";
}

function checkKey(key: string): void {
  if (typeof key !== "string" || key.length < 1 || key.length > NVS_KEY_MAX || !/^[\x21-\x7e]+$/.test(key)) {
    throw new SealcamError("E_ARGUMENT", `storage key must be 1..${NVS_KEY_MAX} printable ascii characters`);
  }
}

export class NvsFile {
  readonly file: string;
  private readonly values = new Map<string, Uint8Array>();
  private fd = -1;
  private sequence = 0;
  private pageCount = 0;
  /** Offset of the first erased byte in the last page. */
  private tail = 0;
  /** How many torn entries were dropped when the file was opened (for logs and tests). */
  tornEntriesDropped = 0;
  fault: NvsFaultHook = {};

  constructor(
    dir: string,
    private readonly maxPages = 64,
  ) {
    if (!fs.existsSync(dir)) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.file = path.join(dir, "nvs.bin");
    this.open();
  }

  private open(): void {
    const tmp = this.file + ".tmp";
    if (fs.existsSync(tmp)) fs.rmSync(tmp); // a compaction cut before its rename: the old file is intact
    if (!fs.existsSync(this.file)) {
      this.rewrite();
      return;
    }
    if ((fs.statSync(this.file).mode & 0o777) !== PRIVATE_FILE_MODE) fs.chmodSync(this.file, PRIVATE_FILE_MODE);
    const data = new Uint8Array(fs.readFileSync(this.file));
    let torn = false;
    let lastPageEnd = PAGE_HEADER;
    const pages = Math.floor(data.length / PAGE_SIZE);
    if (data.length % PAGE_SIZE !== 0) torn = true;
    let validPages = 0;
    outer: for (let p = 0; p < pages; p++) {
      const base = p * PAGE_SIZE;
      const headerOk =
        MAGIC.every((b, i) => data[base + i] === b) &&
        data[base + 4] === 1 &&
        readU32(data, base + 12) === crc32(data, base, base + 12);
      if (!headerOk) {
        torn = true;
        break;
      }
      validPages++;
      let at = base + PAGE_HEADER;
      while (at + ENTRY_HEADER <= base + PAGE_SIZE && data[at] !== 0xff) {
        const keyLength = data[at + 2];
        const valueLength = (data[at + 4] << 8) | data[at + 5];
        const end = at + ENTRY_HEADER + keyLength + valueLength;
        if (data[at] !== ENTRY_MARK || end > base + PAGE_SIZE || readU32(data, at + 12) !== entryCrc(data, at, end)) {
          torn = true;
          this.tornEntriesDropped++;
          break outer;
        }
        const seq = readU32(data, at + 8);
        const op = data[at + 1];
        const key = String.fromCharCode(...data.subarray(at + ENTRY_HEADER, at + ENTRY_HEADER + keyLength));
        if (op === OP_SET) this.values.set(key, data.slice(at + ENTRY_HEADER + keyLength, end));
        else if (op === OP_DELETE) this.values.delete(key);
        if (seq > this.sequence) this.sequence = seq;
        at = end;
      }
      // An entry that starts with 0xFF bytes but is not fully erased is a torn write too.
      for (let i = at; i < base + PAGE_SIZE; i++) {
        if (data[i] !== 0xff) {
          torn = true;
          this.tornEntriesDropped++;
          break outer;
        }
      }
      lastPageEnd = at - base;
    }
    if (torn || validPages === 0) {
      this.rewrite();
      return;
    }
    this.pageCount = validPages;
    this.tail = lastPageEnd;
    this.fd = fs.openSync(this.file, "r+");
  }

  get(key: string): Uint8Array | undefined {
    checkKey(key);
    const value = this.values.get(key);
    return value ? value.slice() : undefined;
  }

  keys(): string[] {
    return [...this.values.keys()].sort();
  }

  set(key: string, value: Uint8Array): void {
    checkKey(key);
    if (!(value instanceof Uint8Array)) throw new SealcamError("E_ARGUMENT", "storage value must be bytes");
    if (value.length > NVS_VALUE_MAX) {
      throw new SealcamError("E_LIMIT", `storage value for ${key} is ${value.length} bytes, at most ${NVS_VALUE_MAX}`);
    }
    this.append(OP_SET, key, value);
    this.values.set(key, value.slice());
  }

  delete(key: string): void {
    checkKey(key);
    if (!this.values.has(key)) return;
    this.append(OP_DELETE, key, new Uint8Array(0));
    this.values.delete(key);
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }

  private encode(op: number, key: string, value: Uint8Array): Uint8Array {
    const entry = new Uint8Array(ENTRY_HEADER + key.length + value.length);
    entry[0] = ENTRY_MARK;
    entry[1] = op;
    entry[2] = key.length;
    entry[4] = value.length >> 8;
    entry[5] = value.length & 0xff;
    writeU32(entry, 8, ++this.sequence);
    for (let i = 0; i < key.length; i++) entry[ENTRY_HEADER + i] = key.charCodeAt(i);
    entry.set(value, ENTRY_HEADER + key.length);
    writeU32(entry, 12, entryCrc(entry, 0, entry.length));
    return entry;
  }

  private append(op: number, key: string, value: Uint8Array): void {
    const decision = this.fault.beforeWrite?.(key, op === OP_SET ? "set" : "delete") ?? "ok";
    if (decision === "before") throw new PowerCut(`storage ${key}`);
    if (this.pageCount >= this.maxPages && this.tail + ENTRY_HEADER + key.length + value.length > PAGE_SIZE) {
      this.rewrite();
    }
    const entry = this.encode(op, key, value);
    try {
      if (this.tail + entry.length > PAGE_SIZE) {
        const page = newPage(this.pageCount);
        fs.writeSync(this.fd, page, 0, page.length, this.pageCount * PAGE_SIZE);
        this.pageCount++;
        this.tail = PAGE_HEADER;
      }
      const offset = (this.pageCount - 1) * PAGE_SIZE + this.tail;
      if (decision === "torn") {
        // Half the entry reaches the medium, then the power goes.
        const half = Math.max(1, entry.length >> 1);
        fs.writeSync(this.fd, entry, 0, half, offset);
        fs.fsyncSync(this.fd);
        throw new PowerCut(`storage ${key}`);
      }
      fs.writeSync(this.fd, entry, 0, entry.length, offset);
      fs.fsyncSync(this.fd);
      this.tail += entry.length;
    } catch (error) {
      if (error instanceof PowerCut) throw error;
      throw new SealcamError("E_STORAGE", `storage write failed: ${(error as Error).message}`);
    }
  }

  /** Writes the live set into a fresh file and renames it into place (atomic). */
  private rewrite(): void {
    const pages: Uint8Array[] = [newPage(0)];
    let tail = PAGE_HEADER;
    this.sequence = 0;
    for (const [key, value] of this.values) {
      const entry = this.encode(OP_SET, key, value);
      if (tail + entry.length > PAGE_SIZE) {
        pages.push(newPage(pages.length));
        tail = PAGE_HEADER;
      }
      pages[pages.length - 1].set(entry, tail);
      tail += entry.length;
    }
    const tmp = this.file + ".tmp";
    const fd = fs.openSync(tmp, "w", PRIVATE_FILE_MODE);
    fs.fchmodSync(fd, PRIVATE_FILE_MODE); // the mode above is masked by the umask, and ignored for an existing file
    for (const page of pages) fs.writeSync(fd, page);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    if (this.fd >= 0) fs.closeSync(this.fd);
    fs.renameSync(tmp, this.file);
    const dirFd = fs.openSync(path.dirname(this.file), "r");
    fs.fsyncSync(dirFd);
    fs.closeSync(dirFd);
    this.fd = fs.openSync(this.file, "r+");
    this.pageCount = pages.length;
    this.tail = tail;
  }
}

function newPage(index: number): Uint8Array {
  const page = new Uint8Array(PAGE_SIZE).fill(0xff);
  page.set(MAGIC, 0);
  page[4] = 1;
  page.fill(0, 5, 8);
  writeU32(page, 8, index);
  writeU32(page, 12, crc32(page, 0, 12));
  return page;
}

function readU32(bytes: Uint8Array, at: number): number {
  return ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
}

function writeU32(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >>> 24;
  bytes[at + 1] = (value >>> 16) & 0xff;
  bytes[at + 2] = (value >>> 8) & 0xff;
  bytes[at + 3] = value & 0xff;
}
