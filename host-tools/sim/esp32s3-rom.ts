/**
 * A simulated ESP32-S3 ROM bootloader (and, once "uploaded", its flasher stub), speaking the serial protocol
 * esptool and esptool-js use, over any SerialLink (in tests: one end of a socat pty pair). It keeps an
 * emulated NOR flash in memory (erase sets 0xFF, writes can only clear bits) that tests read back.
 *
 * Protocol (esptool "serial protocol"): SLIP frames; a command is
 *   u8 0x00 | u8 op | u16le len | u32le checksum | data[len]
 * and a response is
 *   u8 0x01 | u8 op | u16le len | u32le value | data… | status u8 (0 ok, 1 fail) | error u8
 * Implemented: SYNC, READ_REG/WRITE_REG (a register file with the eFuse words chip detection reads and the SPI
 * user-command registers used to read the flash id), GET_SECURITY_INFO (chip id 9), MEM_BEGIN/DATA/END (the stub
 * upload; answers "OHAI" like the real stub), FLASH_BEGIN/DATA/END, FLASH_DEFL_BEGIN/DATA/END (zlib inflate),
 * SPI_FLASH_MD5, CHANGE_BAUDRATE, SPI_ATTACH, ERASE_FLASH, ERASE_REGION, READ_FLASH.
 *
 * Faults for tests: pretend to be another chip ("ESP32-C3" answers chip id 5; "ESP32" does not know
 * GET_SECURITY_INFO and has the ESP32 magic value), flip one bit after each write ("bitflip": MD5 mismatch),
 * never answer ("silent").
 */
import { createHash } from "node:crypto";
import { constants as zc, createInflate, type Inflate } from "node:zlib";
import type { SerialLink } from "../serial/link";
import { SlipDecoder, slipEncode } from "../serial/slip";

export type SimChip = "ESP32-S3" | "ESP32-C3" | "ESP32";
export type SimFault = "none" | "silent" | "bitflip";

export interface RomSimOptions {
  /** Emulated flash size in bytes (from the board definition). */
  flashSize: number;
  chip?: SimChip;
  fault?: SimFault;
  /** 6-byte MAC burnt into the eFuse words. */
  mac?: Uint8Array;
  /** Initial flash contents (copied); erased (0xFF) otherwise. */
  image?: Uint8Array;
  /** Debug sink, one line per command. */
  trace?: (line: string) => void;
  /** Called after each completed write or erase (the runnable entry saves the image then). */
  onChange?: () => void;
}

export const OP = {
  FLASH_BEGIN: 0x02,
  FLASH_DATA: 0x03,
  FLASH_END: 0x04,
  MEM_BEGIN: 0x05,
  MEM_END: 0x06,
  MEM_DATA: 0x07,
  SYNC: 0x08,
  WRITE_REG: 0x09,
  READ_REG: 0x0a,
  SPI_SET_PARAMS: 0x0b,
  SPI_ATTACH: 0x0d,
  CHANGE_BAUDRATE: 0x0f,
  FLASH_DEFL_BEGIN: 0x10,
  FLASH_DEFL_DATA: 0x11,
  FLASH_DEFL_END: 0x12,
  SPI_FLASH_MD5: 0x13,
  GET_SECURITY_INFO: 0x14,
  ERASE_FLASH: 0xd0,
  ERASE_REGION: 0xd1,
  READ_FLASH: 0xd2,
} as const;

const OP_NAMES: Record<number, string> = Object.fromEntries(Object.entries(OP).map(([k, v]) => [v, k]));

/** ROM error codes (second status byte). */
const ERR = { INVALID: 0x05, FAILED: 0x06, BAD_CHECKSUM: 0x07, FLASH_WRITE: 0x08, FLASH_READ: 0x09, DEFLATE: 0x0b } as const;

const SECTOR = 0x1000;
const CHIP_MAGIC_REG = 0x40001000;
const EFUSE_BLOCK1 = 0x60007044;
const EFUSE_BLOCK2 = 0x6000705c;
const SPI_BASE = 0x60002000;
const SPI_CMD = SPI_BASE + 0x00;
const SPI_USR2 = SPI_BASE + 0x20;
const SPI_W0 = SPI_BASE + 0x58;
const SPI_CMD_USR = 1 << 18;

const CHIPS: Record<SimChip, { magic: number; chipId: number | null }> = {
  "ESP32-S3": { magic: 0x00000009, chipId: 9 },
  "ESP32-C3": { magic: 0x1b31506f, chipId: 5 },
  ESP32: { magic: 0x00f01d83, chipId: null },
};

/** JEDEC size byte for a flash of this many bytes (0x17 = 8 MB). */
function sizeCode(bytes: number): number {
  return 0x12 + Math.max(0, Math.round(Math.log2(bytes / (256 * 1024))));
}

const u32 = (d: Uint8Array, o: number) => (d[o]! | (d[o + 1]! << 8) | (d[o + 2]! << 16) | (d[o + 3]! << 24)) >>> 0;
function le32(v: number): Uint8Array {
  return new Uint8Array([v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff]);
}

class CommandError extends Error {
  constructor(readonly errorCode: number, message: string) {
    super(message);
  }
}

interface WriteSession {
  kind: "plain" | "deflate";
  offset: number;
  size: number;
  blockSize: number;
  blocks: number;
  nextSeq: number;
  written: number;
  inflater?: Inflate;
  failed?: Error;
}

export class Esp32s3RomSim {
  readonly flash: Uint8Array;
  readonly chip: SimChip;
  fault: SimFault;
  /** Commands seen, by name (for tests and the runnable entry's summary). */
  readonly counts: Record<string, number> = {};
  /** Regions written (offset, length) in order, and bits flipped by the bitflip fault. */
  readonly writes: { offset: number; length: number }[] = [];
  readonly flips: number[] = [];
  baudRate = 115200;
  stubRunning = false;
  private regs = new Map<number, number>();
  private session: WriteSession | null = null;
  private memLoaded = 0;
  private decoder = new SlipDecoder();
  private readonly trace: (line: string) => void;
  private readonly onChange: () => void;

  constructor(options: RomSimOptions) {
    if (!Number.isInteger(options.flashSize) || options.flashSize < SECTOR || options.flashSize % SECTOR !== 0)
      throw new RangeError("flashSize must be a positive multiple of 4096");
    this.flash = new Uint8Array(options.flashSize).fill(0xff);
    if (options.image) this.flash.set(options.image.subarray(0, options.flashSize));
    this.chip = options.chip ?? "ESP32-S3";
    this.fault = options.fault ?? "none";
    this.trace = options.trace ?? (() => undefined);
    this.onChange = options.onChange ?? (() => undefined);
    const mac = options.mac ?? new Uint8Array([0x74, 0x4d, 0xbd, 0x5e, 0xa1, 0x07]);
    this.regs.set(CHIP_MAGIC_REG, CHIPS[this.chip].magic);
    // eFuse BLOCK1 (ESP32-S3 layout): MAC in words 0-1; word3: pkg 0 (QFN56), minor-rev low bits = 2,
    // no embedded flash; word4: embedded PSRAM 8 MB (AP_3v3), like the ESP32-S3R8 on camera boards.
    this.regs.set(EFUSE_BLOCK1, ((mac[2]! << 24) | (mac[3]! << 16) | (mac[4]! << 8) | mac[5]!) >>> 0);
    this.regs.set(EFUSE_BLOCK1 + 4, (mac[0]! << 8) | mac[1]!);
    this.regs.set(EFUSE_BLOCK1 + 12, 2 << 18);
    this.regs.set(EFUSE_BLOCK1 + 16, (1 << 3) | (1 << 7));
    this.regs.set(EFUSE_BLOCK2 + 16, 0);
  }

  /** The flash id the SPI RDID command returns: manufacturer 0xEF (Winbond), type 0x40, size code. */
  get flashId(): number {
    return (sizeCode(this.flash.length) << 16) | (0x40 << 8) | 0xef;
  }

  /** Back to the ROM (what EN/RESET does): the stub is gone, any write session is dropped. */
  reset(): void {
    this.stubRunning = false;
    this.session?.inflater?.destroy();
    this.session = null;
    this.decoder.reset();
    this.baudRate = 115200;
  }

  /** Serves the link until it closes. */
  async serve(link: SerialLink): Promise<void> {
    for (;;) {
      const chunk = await link.read();
      if (chunk === null) break;
      for (const frame of await this.receive(chunk)) await link.write(frame);
    }
  }

  /** Feeds raw bytes from the host; returns the raw bytes (SLIP frames) to send back. */
  async receive(chunk: Uint8Array): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    for (const packet of this.decoder.push(chunk).packets) {
      for (const reply of await this.handle(packet)) out.push(slipEncode(reply));
    }
    return out;
  }

  /** One decoded command packet in, zero or more response packets (unframed) out. */
  async handle(packet: Uint8Array): Promise<Uint8Array[]> {
    if (packet.length < 8 || packet[0] !== 0x00) return []; // not a command (e.g. a READ_FLASH ack)
    const op = packet[1]!;
    const len = packet[2]! | (packet[3]! << 8);
    const checksum = u32(packet, 4);
    const data = packet.subarray(8, 8 + len);
    const name = OP_NAMES[op] ?? `0x${op.toString(16)}`;
    this.counts[name] = (this.counts[name] ?? 0) + 1;
    if (this.fault === "silent") return [];
    this.trace(`${this.stubRunning ? "stub" : "rom"} ${name} len=${len}`);
    if (data.length !== len) return [this.reply(op, 0, new Uint8Array(0), ERR.INVALID)];
    try {
      return await this.dispatch(op, data, checksum);
    } catch (error) {
      if (error instanceof CommandError) {
        this.trace(`  error 0x${error.errorCode.toString(16)}: ${error.message}`);
        return [this.reply(op, 0, new Uint8Array(0), error.errorCode)];
      }
      throw error;
    }
  }

  private reply(op: number, value: number, body: Uint8Array = new Uint8Array(0), error = 0): Uint8Array {
    // The ESP32 ROM sends 4 status bytes, the ESP32-S3 ROM and every stub 2.
    const statusLen = this.chip === "ESP32" && !this.stubRunning ? 4 : 2;
    const payload = new Uint8Array(body.length + statusLen);
    payload.set(body);
    payload[body.length] = error ? 1 : 0;
    payload[body.length + 1] = error;
    const pkt = new Uint8Array(8 + payload.length);
    pkt[0] = 0x01;
    pkt[1] = op;
    pkt[2] = payload.length & 0xff;
    pkt[3] = payload.length >> 8;
    pkt.set(le32(value), 4);
    pkt.set(payload, 8);
    return pkt;
  }

  private checkData(block: Uint8Array, checksum: number): void {
    let x = 0xef;
    for (const b of block) x ^= b;
    if (x !== (checksum & 0xff)) throw new CommandError(ERR.BAD_CHECKSUM, "data checksum mismatch");
  }

  private range(offset: number, size: number): void {
    if (offset < 0 || size < 0 || offset + size > this.flash.length)
      throw new CommandError(ERR.FAILED, `0x${offset.toString(16)}+0x${size.toString(16)} is outside the flash`);
  }

  private erase(offset: number, size: number): void {
    const start = Math.floor(offset / SECTOR) * SECTOR;
    const end = Math.min(this.flash.length, Math.ceil((offset + size) / SECTOR) * SECTOR);
    this.flash.fill(0xff, start, end);
  }

  /** NOR semantics: programming can only clear bits. */
  private program(offset: number, bytes: Uint8Array): void {
    const n = Math.min(bytes.length, this.flash.length - offset);
    if (n < bytes.length && bytes.subarray(n).some((b) => b !== 0xff))
      throw new CommandError(ERR.FLASH_WRITE, "write past the end of the flash");
    for (let i = 0; i < n; i++) this.flash[offset + i]! &= bytes[i]!;
  }

  private finishWrite(session: WriteSession): void {
    this.writes.push({ offset: session.offset, length: session.written });
    if (this.fault === "bitflip" && session.written > 0) {
      const at = session.offset + Math.floor(session.written / 2);
      this.flash[at]! ^= 0x10;
      this.flips.push(at);
    }
    this.onChange();
  }

  private async dispatch(op: number, data: Uint8Array, checksum: number): Promise<Uint8Array[]> {
    const chip = CHIPS[this.chip];
    switch (op) {
      case OP.SYNC: {
        if (data.length !== 36 || data[0] !== 0x07 || data[1] !== 0x07 || data[2] !== 0x12 || data[3] !== 0x20)
          throw new CommandError(ERR.INVALID, "bad sync pattern");
        // The ROM answers a SYNC eight times with a non-zero value. A running stub answers with 0, which is
        // how esptool notices it is still talking to the stub (no reset lines on a pty, so after one flash the
        // simulated chip is still in the stub when the next run connects) and skips the upload.
        return Array.from({ length: 8 }, () => this.reply(op, this.stubRunning ? 0 : 0x20120707));
      }
      case OP.READ_REG:
        return [this.reply(op, this.regs.get(u32(data, 0)) ?? 0)];
      case OP.WRITE_REG: {
        for (let o = 0; o + 16 <= data.length; o += 16) {
          const addr = u32(data, o);
          const value = u32(data, o + 4);
          const mask = u32(data, o + 8);
          const old = this.regs.get(addr) ?? 0;
          this.regs.set(addr, ((old & ~mask) | (value & mask)) >>> 0);
          if (addr === SPI_CMD && value & SPI_CMD_USR) this.spiCommand();
        }
        return [this.reply(op, 0)];
      }
      case OP.GET_SECURITY_INFO: {
        if (chip.chipId === null) {
          // What an ESP32 ROM does with a command it does not know: a failure reply under another op code.
          return [this.reply(0x00, 0, new Uint8Array(0), ERR.INVALID)];
        }
        const body = new Uint8Array(20);
        body.set(le32(chip.chipId), 12);
        body.set(le32(1), 16);
        return [this.reply(op, 0, body)];
      }
      case OP.SPI_ATTACH:
      case OP.SPI_SET_PARAMS:
        return [this.reply(op, 0)];
      case OP.MEM_BEGIN:
        this.memLoaded = 0;
        return [this.reply(op, 0)];
      case OP.MEM_DATA: {
        const size = u32(data, 0);
        const block = data.subarray(16, 16 + size);
        if (block.length !== size) throw new CommandError(ERR.INVALID, "short MEM_DATA block");
        this.checkData(block, checksum);
        this.memLoaded += size;
        return [this.reply(op, 0)];
      }
      case OP.MEM_END: {
        const noEntry = u32(data, 0);
        const entry = u32(data, 4);
        const replies = [this.reply(op, 0)];
        if (noEntry === 0 && entry !== 0 && this.memLoaded > 0) {
          // The uploaded stub starts and greets the host.
          this.stubRunning = true;
          replies.push(new TextEncoder().encode("OHAI"));
        }
        return replies;
      }
      case OP.FLASH_BEGIN:
      case OP.FLASH_DEFL_BEGIN: {
        const size = u32(data, 0);
        const blocks = u32(data, 4);
        const blockSize = u32(data, 8);
        const offset = u32(data, 12);
        this.range(offset, op === OP.FLASH_BEGIN ? Math.min(size, this.flash.length - offset) : size);
        this.session?.inflater?.destroy();
        const session: WriteSession = { kind: op === OP.FLASH_BEGIN ? "plain" : "deflate", offset, size, blockSize, blocks, nextSeq: 0, written: 0 };
        if (size > 0) this.erase(offset, size);
        if (session.kind === "deflate") {
          const inflater = createInflate();
          inflater.on("error", (e) => (session.failed = e));
          inflater.on("data", (chunk: Buffer) => {
            try {
              this.program(offset + session.written, chunk);
              session.written += chunk.length;
            } catch (e) {
              session.failed = e as Error;
            }
          });
          session.inflater = inflater;
        }
        this.session = size > 0 || blocks > 0 ? session : null;
        return [this.reply(op, 0)];
      }
      case OP.FLASH_DATA:
      case OP.FLASH_DEFL_DATA: {
        const session = this.session;
        const kind = op === OP.FLASH_DATA ? "plain" : "deflate";
        if (!session || session.kind !== kind) throw new CommandError(ERR.FAILED, "no flash write in progress");
        const size = u32(data, 0);
        const seq = u32(data, 4);
        const block = data.subarray(16, 16 + size);
        if (block.length !== size) throw new CommandError(ERR.INVALID, "short data block");
        this.checkData(block, checksum);
        if (seq !== session.nextSeq) {
          // A retried block the device already has: acknowledge without writing it twice.
          if (seq < session.nextSeq) return [this.reply(op, 0)];
          throw new CommandError(ERR.FAILED, `block ${seq} out of order (expected ${session.nextSeq})`);
        }
        if (kind === "plain") {
          const offset = session.offset + seq * session.blockSize;
          this.range(offset, 0);
          this.program(offset, block);
          session.written = Math.min(session.size, (seq + 1) * session.blockSize);
        } else {
          const inflater = session.inflater!;
          inflater.write(block);
          await new Promise<void>((resolve) => inflater.flush(zc.Z_SYNC_FLUSH, () => resolve()));
          if (session.failed) {
            const failed = session.failed;
            this.session = null;
            throw new CommandError(failed instanceof CommandError ? failed.errorCode : ERR.DEFLATE, failed.message);
          }
        }
        session.nextSeq++;
        return [this.reply(op, 0)];
      }
      case OP.FLASH_END:
      case OP.FLASH_DEFL_END: {
        const session = this.session;
        if (session) {
          session.inflater?.end();
          this.finishWrite(session);
          this.session = null;
        }
        const stay = data.length >= 4 ? u32(data, 0) : 1;
        const replies = [this.reply(op, 0)];
        if (stay === 0) this.reset(); // "reboot": the application would run now
        return replies;
      }
      case OP.SPI_FLASH_MD5: {
        const addr = u32(data, 0);
        const size = u32(data, 4);
        this.range(addr, size);
        const digest = createHash("md5").update(this.flash.subarray(addr, addr + size)).digest();
        // The ROM answers in hex text (32 bytes), the stub in 16 raw bytes.
        const body = this.stubRunning ? new Uint8Array(digest) : new TextEncoder().encode(digest.toString("hex"));
        return [this.reply(op, 0, body)];
      }
      case OP.CHANGE_BAUDRATE: {
        // A pty has no baud rate, so only record it. (Changing it on the device end would also be wrong:
        // serialport's update() flushes the tty queues, dropping this very reply before socat relays it.)
        this.baudRate = u32(data, 0);
        return [this.reply(op, 0)];
      }
      case OP.ERASE_FLASH:
        if (!this.stubRunning) throw new CommandError(ERR.INVALID, "ERASE_FLASH needs the stub");
        this.flash.fill(0xff);
        this.onChange();
        return [this.reply(op, 0)];
      case OP.ERASE_REGION: {
        if (!this.stubRunning) throw new CommandError(ERR.INVALID, "ERASE_REGION needs the stub");
        const offset = u32(data, 0);
        const size = u32(data, 4);
        if (offset % SECTOR !== 0 || size % SECTOR !== 0) throw new CommandError(ERR.FAILED, "erase region must be 4 KiB aligned");
        this.range(offset, size);
        this.flash.fill(0xff, offset, offset + size);
        this.onChange();
        return [this.reply(op, 0)];
      }
      case OP.READ_FLASH: {
        if (!this.stubRunning) throw new CommandError(ERR.INVALID, "READ_FLASH needs the stub");
        const offset = u32(data, 0);
        const length = u32(data, 4);
        const packetSize = u32(data, 8) || SECTOR;
        this.range(offset, length);
        const bytes = this.flash.slice(offset, offset + length);
        const replies: Uint8Array[] = [this.reply(op, 0)];
        for (let o = 0; o < length; o += packetSize) replies.push(bytes.subarray(o, Math.min(length, o + packetSize)));
        replies.push(new Uint8Array(createHash("md5").update(bytes).digest()));
        return replies;
      }
      default:
        return [this.reply(0x00, 0, new Uint8Array(0), ERR.INVALID)];
    }
  }

  /** Runs the SPI user command the host set up in the SPI registers (only RDID is needed). */
  private spiCommand(): void {
    const command = (this.regs.get(SPI_USR2) ?? 0) & 0xff;
    if (command === 0x9f) this.regs.set(SPI_W0, this.flashId);
    this.regs.set(SPI_CMD, (this.regs.get(SPI_CMD) ?? 0) & ~SPI_CMD_USR);
  }
}
