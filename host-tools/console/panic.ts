/**
 * ESP-IDF crash output in the console's line stream, and its backtraces decoded to function and line.
 *
 * What an ESP32-S3 prints when it panics (ESP-IDF's panic handler; docs.espressif.com "Fatal Errors"):
 *
 *   Guru Meditation Error: Core  0 panic'ed (LoadProhibited). Exception was unhandled.     (or: abort() was called
 *                                                                                           at PC 0x… on core 0,
 *   Core  0 register dump:                                                                  assert failed: …,
 *   PC      : 0x42012f4e  PS      : 0x00060a30  A0      : 0x82010c1d  A1      : 0x3fcebd10  ***ERROR*** A stack
 *   …                                                                                       overflow in task …)
 *   EXCVADDR: 0x00000008  LBEG    : 0x40056f5c  LEND    : 0x40056f72  LCOUNT  : 0xffffffff
 *
 *   Backtrace: 0x42012f4b:0x3fcebd10 0x42010c1a:0x3fcebd40 0x4037c4a1:0x3fcebdd0 |<-CORRUPTED
 *
 *   ELF file SHA256: 5b1e2a3c9d7f8e01
 *
 *   Rebooting...
 *
 * Each backtrace entry is PC:SP. The firmware has already turned each return address into the address of the
 * call instruction (ESP-IDF's esp_cpu_process_stack_pc: window bits replaced, minus 3), so the PCs are looked up
 * as printed, which is also what idf.py monitor does. `|<-CORRUPTED` ends a backtrace whose next frame was not
 * sane; `|<-CONTINUES` one cut at the configured depth.
 *
 * PanicScanner recognises these lines one at a time (pure). BacktraceDecoder runs addr2line once per backtrace
 * line with all its PCs, with a timeout, and never throws: problems come back as one-line notices.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { accessSync, constants as fsConstants, readFileSync, statSync } from "node:fs";
import { basename, delimiter, join } from "node:path";

export interface BacktraceFrame {
  /** The PC as printed (0x + 8 hex digits, lower case). */
  pcText: string;
  pc: number;
  sp: number;
}

export type PanicEvent =
  /** The first line of a crash: a CPU exception, abort(), a failed assert, a stack overflow. */
  | { kind: "panic"; reason: string; core?: number; pc?: number; line: string }
  /** One line of a register dump (`PC      : 0x…  PS      : 0x…`), its registers by name. */
  | { kind: "registers"; core?: number; registers: Record<string, number> }
  /**
   * A backtrace line, or a continuation of one (a wrapped recording: lines of nothing but PC:SP pairs). An entry
   * cut in two by a line break is completed from the next line and counted there.
   */
  | { kind: "backtrace"; frames: BacktraceFrame[]; corrupted: boolean; continues: boolean; continuation: boolean }
  /** `ELF file SHA256: …`: the first hex digits of the SHA-256 of the ELF the running firmware was built from. */
  | { kind: "elf-sha256"; prefix: string }
  /** Moddable's fxAbort: the XS engine stopped the program (not a CPU crash). */
  | { kind: "xs-abort"; reason: string }
  | { kind: "rebooting" };

const GURU = /Guru Meditation Error: Core\s+(\d+) panic'ed \((.*)\)/;
const ABORT = /abort\(\) was called at PC (0x[0-9a-f]{8}) on core (\d+)/i;
const ASSERT = /^\s*assert failed: (.*)$/;
const STACK_OVERFLOW = /\*\*\*ERROR\*\*\* A stack overflow in task (.*) has been detected/;
const REG_HEADER = /^\s*Core\s+(\d+) register dump:/;
const REG_LINE = /^\s*(?:PC|A\d{1,2}|PS|SAR|EXCCAUSE|EXCVADDR|LBEG|LEND|LCOUNT|MEPC|RA|SP)\s*:\s*0x[0-9a-f]{8}/i;
const REG = /\b([A-Z][A-Z0-9]*)\s*:\s*0x([0-9a-f]{8})/gi;
const BACKTRACE = /Backtrace:(.*)$/;
const PAIR = /0x([0-9a-f]{8}):0x([0-9a-f]{8})/gi;
const WHOLE_PAIR = /^0x[0-9a-f]{8}:0x[0-9a-f]{8}$/i;
/** The start of a PC:SP pair, cut by a line break. */
const PAIR_PREFIX = /^(?:0(?:x(?:[0-9a-f]{1,8}(?::(?:0(?:x[0-9a-f]{0,7})?)?)?)?)?)$/i;
const MARKER = /\|<-(CORRUPTED|CONTINUES)/;
const ELF_SHA = /ELF file SHA256:\s*([0-9a-f]{8,64})/i;
const XS_ABORT = /XS abort: (.+?)\s*$/;
const REBOOTING = /^\s*Rebooting\.\.\./;

export class PanicScanner {
  private inBacktrace = false;
  private carry = "";
  private regCore: number | undefined;

  /** One line of device text (no line end) in, what it says about a crash out (usually nothing). */
  line(text: string): PanicEvent[] {
    if (this.inBacktrace) {
      if (this.isContinuation(text)) return [this.backtrace(text, true)];
      this.inBacktrace = false;
      this.carry = "";
    }
    let m: RegExpExecArray | null;
    if ((m = BACKTRACE.exec(text))) {
      this.regCore = undefined;
      this.carry = "";
      return [this.backtrace(m[1]!, false)];
    }
    if ((m = GURU.exec(text))) return [{ kind: "panic", reason: m[2]!, core: Number(m[1]), line: text }];
    if ((m = ABORT.exec(text))) return [{ kind: "panic", reason: "abort()", core: Number(m[2]), pc: parseInt(m[1]!, 16), line: text }];
    if ((m = ASSERT.exec(text))) return [{ kind: "panic", reason: `assert failed: ${m[1]!.trim()}`, line: text }];
    if ((m = STACK_OVERFLOW.exec(text))) return [{ kind: "panic", reason: `stack overflow in task ${m[1]}`, line: text }];
    if ((m = REG_HEADER.exec(text))) {
      this.regCore = Number(m[1]);
      return [];
    }
    if (REG_LINE.test(text)) {
      const registers: Record<string, number> = {};
      for (const r of text.matchAll(REG)) registers[r[1]!.toUpperCase()] = parseInt(r[2]!, 16);
      return [{ kind: "registers", core: this.regCore, registers }];
    }
    if ((m = ELF_SHA.exec(text))) return [{ kind: "elf-sha256", prefix: m[1]!.toLowerCase() }];
    if ((m = XS_ABORT.exec(text))) return [{ kind: "xs-abort", reason: m[1]! }];
    if (REBOOTING.test(text)) return [{ kind: "rebooting" }];
    return [];
  }

  /** The text of a backtrace (line) segment, with a pair cut by the previous line break joined back together. */
  private joined(segment: string): { text: string; marker: RegExpExecArray | null } {
    const marker = MARKER.exec(segment);
    const body = (marker ? segment.slice(0, marker.index) : segment).replace(/\s+$/, "");
    // "… 0x3ffef5d0 0" / "x40175a10:0x3ffef6f0 …": the entry continues at the very start of the next line.
    return { text: this.carry && /^[0-9a-fx:]/i.test(body) ? this.carry + body : body, marker };
  }

  /**
   * The rest of a wrapped backtrace: whole PC:SP pairs only (the first may complete the previous line's cut
   * one, the last may be cut itself), at least one of them, and perhaps the end marker.
   */
  private isContinuation(line: string): boolean {
    const { text, marker } = this.joined(line);
    if (/Backtrace:/.test(line) || (marker && line.slice(marker.index + marker[0].length).trim())) return false;
    const tokens = text.trim().split(/\s+/).filter(Boolean);
    if (tokens.length === 0 || !WHOLE_PAIR.test(tokens[0]!)) return false;
    return tokens.every((t, i) => WHOLE_PAIR.test(t) || (i === tokens.length - 1 && !marker && PAIR_PREFIX.test(t)));
  }

  private backtrace(segment: string, continuation: boolean): PanicEvent {
    this.inBacktrace = true;
    const { text, marker } = this.joined(segment);
    this.carry = "";
    const frames: BacktraceFrame[] = [];
    let end = 0;
    for (const p of text.matchAll(PAIR)) {
      frames.push({ pcText: "0x" + p[1]!.toLowerCase(), pc: parseInt(p[1]!, 16), sp: parseInt(p[2]!, 16) });
      end = p.index + p[0].length;
    }
    const rest = text.slice(end).trim();
    if (!marker && rest && rest.length < 21 && /^[0-9a-fx:]+$/i.test(rest)) this.carry = rest;
    if (marker) this.inBacktrace = false;
    return { kind: "backtrace", frames, corrupted: marker?.[1] === "CORRUPTED", continues: marker?.[1] === "CONTINUES", continuation };
  }
}

/** One crash in a recorded text, everything the scanner found in it, in order. */
export interface PanicRecord {
  reason?: string;
  core?: number;
  /** abort()'s caller, from `abort() was called at PC …`. */
  abortPc?: number;
  registers: Record<string, number>;
  backtraces: { frames: BacktraceFrame[]; corrupted: boolean; continues: boolean }[];
  elfSha256?: string;
  rebooted: boolean;
}

/** Every crash in a recorded console text (a log, a paste). XS aborts come back as records with that reason. */
export function scanPanicText(text: string): PanicRecord[] {
  const scanner = new PanicScanner();
  const records: PanicRecord[] = [];
  let cur: PanicRecord | null = null;
  const open = (): PanicRecord => {
    if (!cur) {
      cur = { registers: {}, backtraces: [], rebooted: false };
      records.push(cur);
    }
    return cur;
  };
  for (const line of text.split(/\r?\n/)) {
    for (const ev of scanner.line(line.replace(/\r+$/, ""))) {
      switch (ev.kind) {
        case "panic":
        case "xs-abort":
          cur = null;
          open().reason = ev.kind === "panic" ? ev.reason : `XS abort: ${ev.reason}`;
          if (ev.kind === "panic") {
            open().core = ev.core;
            if (ev.pc !== undefined) open().abortPc = ev.pc;
          }
          break;
        case "registers":
          Object.assign(open().registers, ev.registers);
          break;
        case "backtrace": {
          const r = open();
          const last = r.backtraces[r.backtraces.length - 1];
          if (ev.continuation && last) {
            last.frames.push(...ev.frames);
            last.corrupted ||= ev.corrupted;
            last.continues ||= ev.continues;
          } else r.backtraces.push({ frames: [...ev.frames], corrupted: ev.corrupted, continues: ev.continues });
          break;
        }
        case "elf-sha256":
          open().elfSha256 = ev.prefix;
          break;
        case "rebooting":
          if (cur) (cur as PanicRecord).rebooted = true;
          cur = null;
          break;
      }
    }
  }
  return records;
}

// ---------------------------------------------------------------------------------------------------------------
// The ELF: what kind of machine, which address ranges hold code, and its SHA-256 (to compare with the board's).

export interface ElfInfo {
  path: string;
  machine: number;
  /** [start, end) of every section with SHF_EXECINSTR. */
  code: [number, number][];
  sha256: string;
}

export const EM_XTENSA = 94;
export const EM_RISCV = 243;

/** Reads an ELF's header and section table. Throws Error with a message a person can act on. */
export function readElf(path: string): ElfInfo {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(code === "ENOENT" ? `${path} does not exist` : `cannot read ${path}: ${(e as Error).message}`);
  }
  if (bytes.length < 52 || bytes.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${path} is not an ELF file (give the firmware's .elf, not the .bin)`);
  const is64 = bytes[4] === 2;
  const le = bytes[5] !== 2;
  const u16 = (o: number) => (le ? bytes.readUInt16LE(o) : bytes.readUInt16BE(o));
  const u32 = (o: number) => (le ? bytes.readUInt32LE(o) : bytes.readUInt32BE(o));
  const word = (o: number) => (is64 ? Number(le ? bytes.readBigUInt64LE(o) : bytes.readBigUInt64BE(o)) : u32(o));
  const machine = u16(18);
  const shoff = word(is64 ? 40 : 32);
  const shentsize = u16(is64 ? 58 : 46);
  const shnum = u16(is64 ? 60 : 48);
  const code: [number, number][] = [];
  for (let i = 0; i < shnum; i++) {
    const o = shoff + i * shentsize;
    if (o + shentsize > bytes.length) throw new Error(`${path} is a truncated ELF file`);
    const flags = word(o + 8);
    const addr = word(o + (is64 ? 16 : 12));
    const size = word(o + (is64 ? 32 : 20));
    if (flags & 0x4 && size > 0) code.push([addr, addr + size]);
  }
  code.sort((a, b) => a[0] - b[0]);
  return { path, machine, code, sha256: createHash("sha256").update(bytes).digest("hex") };
}

export function inCode(elf: ElfInfo, pc: number): boolean {
  return elf.code.some(([s, e]) => pc >= s && pc < e);
}

// ---------------------------------------------------------------------------------------------------------------
// addr2line

export interface DecodedLocation {
  func: string;
  file: string;
  line: string;
}

export interface DecodedFrame {
  pcText: string;
  /** The innermost location first; more than one when the PC is in inlined code. Empty when not found. */
  locations: DecodedLocation[];
  /** False when the PC lies outside the ELF's code (ROM, another image, a corrupt frame). */
  inElf: boolean;
}

/** Parses `addr2line -f -i -a -C` output (not pretty-printed: one address line, then function and file:line pairs). */
export function parseAddr2line(output: string): { address: number; locations: DecodedLocation[] }[] {
  const out: { address: number; locations: DecodedLocation[] }[] = [];
  let cur: { address: number; locations: DecodedLocation[] } | null = null;
  let func: string | null = null;
  for (const raw of output.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line) continue;
    if (/^0x[0-9a-f]+$/i.test(line)) {
      cur = { address: parseInt(line, 16), locations: [] };
      out.push(cur);
      func = null;
      continue;
    }
    if (!cur) continue;
    if (func === null) {
      func = line;
      continue;
    }
    const m = /^(.*):(\d+|\?)(?: \(discriminator \d+\))?$/.exec(line);
    const file = m ? m[1]! : line;
    const ln = m && m[2] !== "?" ? m[2]! : "";
    if (func !== "??" || file !== "??") cur.locations.push({ func, file, line: ln === "0" ? "" : ln });
    func = null;
  }
  return out;
}

/** Is `name` an executable file on PATH (or, with a slash, at that path)? Its full path if so. */
export function findExecutable(name: string, pathEnv = process.env.PATH ?? ""): string | null {
  const candidates = name.includes("/") ? [name] : pathEnv.split(delimiter).filter(Boolean).map((d) => join(d, name));
  for (const c of candidates) {
    try {
      if (statSync(c).isFile()) {
        accessSync(c, fsConstants.X_OK);
        return c;
      }
    } catch {
      /* not here */
    }
  }
  return null;
}

export interface DecoderOptions {
  elf: string;
  /** e.g. `xtensa-esp32s3-elf-` or `/opt/esp/tools/…/bin/xtensa-esp-elf-`: addr2line is `${prefix}addr2line`. */
  toolchainPrefix?: string;
  /** addr2line's time limit per backtrace (default 10 s). */
  timeoutMs?: number;
  /** PATH to search (default process.env.PATH). */
  pathEnv?: string;
}

export type DecodeResult =
  | { ok: true; frames: DecodedFrame[]; tool: string }
  /** Why nothing could be decoded; `key` is stable so a caller can say it once. */
  | { ok: false; key: string; problem: string };

/** The addr2line to use for this ELF, first found wins; null (with what was tried) if none is installed. */
export function chooseAddr2line(machine: number, o: Pick<DecoderOptions, "toolchainPrefix" | "pathEnv">): { tool: string | null; tried: string[] } {
  const tried =
    o.toolchainPrefix !== undefined
      ? [`${o.toolchainPrefix}addr2line`]
      : machine === EM_XTENSA
        ? ["xtensa-esp32s3-elf-addr2line", "xtensa-esp-elf-addr2line", "addr2line"]
        : machine === EM_RISCV
          ? ["riscv32-esp-elf-addr2line", "addr2line"]
          : ["addr2line"];
  for (const t of tried) {
    const found = findExecutable(t, o.pathEnv);
    if (found) return { tool: found, tried };
  }
  return { tool: null, tried };
}

export class BacktraceDecoder {
  private elf: ElfInfo | null = null;
  private elfStamp = "";

  constructor(private readonly o: DecoderOptions) {}

  /** The ELF (re-read when the file changes, e.g. after a rebuild), or why it cannot be used. */
  loadElf(): { elf: ElfInfo } | { problem: string } {
    let stamp: string;
    try {
      const st = statSync(this.o.elf);
      stamp = `${st.size}:${st.mtimeMs}`;
    } catch {
      return { problem: `--elf ${this.o.elf} does not exist` };
    }
    if (this.elf && stamp === this.elfStamp) return { elf: this.elf };
    try {
      this.elf = readElf(this.o.elf);
      this.elfStamp = stamp;
      return { elf: this.elf };
    } catch (e) {
      this.elf = null;
      return { problem: (e as Error).message };
    }
  }

  async decode(frames: BacktraceFrame[]): Promise<DecodeResult> {
    const loaded = this.loadElf();
    if ("problem" in loaded) return { ok: false, key: "elf", problem: `${loaded.problem}: backtraces are shown undecoded` };
    const elf = loaded.elf;
    const name = basename(elf.path);
    const wanted = [...new Set(frames.filter((f) => inCode(elf, f.pc)).map((f) => f.pcText))];
    if (frames.length > 0 && wanted.length === 0) {
      return {
        ok: false,
        key: "mismatch",
        problem: `no backtrace address lies in ${name}'s code: it is not the firmware this board runs (pass the .elf of the build that was flashed)`,
      };
    }
    const { tool, tried } = chooseAddr2line(elf.machine, this.o);
    if (!tool) {
      const hint =
        this.o.toolchainPrefix !== undefined
          ? "check --toolchain-prefix"
          : elf.machine === EM_XTENSA
            ? "install the ESP-IDF toolchain and run `. $IDF_PATH/export.sh`, or pass --toolchain-prefix"
            : "install binutils, or pass --toolchain-prefix";
      return { ok: false, key: "tool", problem: `${tried.join(", ")}: not found (${hint}); backtraces are shown undecoded` };
    }
    let found = new Map<number, DecodedLocation[]>();
    if (wanted.length > 0) {
      const run = await runTool(tool, ["-f", "-i", "-a", "-C", "-e", elf.path, ...wanted], this.o.timeoutMs ?? 10_000);
      if (!run.ok) return { ok: false, key: "tool-failed", problem: `${basename(tool)} failed on ${name}: ${run.problem}; backtraces are shown undecoded` };
      found = new Map(parseAddr2line(run.stdout).map((r) => [r.address, r.locations]));
    }
    return {
      ok: true,
      tool,
      frames: frames.map((f) => ({ pcText: f.pcText, inElf: inCode(elf, f.pc), locations: inCode(elf, f.pc) ? (found.get(f.pc) ?? []) : [] })),
    };
  }
}

function runTool(tool: string, args: string[], timeoutMs: number): Promise<{ ok: true; stdout: string } | { ok: false; problem: string }> {
  return new Promise((resolve) => {
    let stdout = "";
    let stderr = "";
    let settled = false;
    const done = (r: { ok: true; stdout: string } | { ok: false; problem: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    let child;
    try {
      child = spawn(tool, args, { stdio: ["ignore", "pipe", "pipe"] });
    } catch (e) {
      resolve({ ok: false, problem: (e as Error).message });
      return;
    }
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      done({ ok: false, problem: `no answer in ${timeoutMs} ms` });
    }, timeoutMs);
    child.stdout.on("data", (c: Buffer) => {
      if (stdout.length < 4 << 20) stdout += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      if (stderr.length < 4096) stderr += c.toString();
    });
    child.on("error", (e) => done({ ok: false, problem: e.message }));
    child.on("close", (code) => {
      if (code === 0) done({ ok: true, stdout });
      else done({ ok: false, problem: (stderr.trim().split("\n")[0] || `exit code ${code}`).replace(/^.*?addr2line: /, "") });
    });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering, as idf.py monitor shows it (`--- 0x42012f4b: sensor_read at …/sensor.c:42`), indented under the line.

const YELLOW = "\x1b[33m";
const DIM = "\x1b[2m";
const RESET = "\x1b[0m";

export function renderDecoded(frames: DecodedFrame[], elfName: string, colour: boolean): string[] {
  const lines: string[] = [];
  const at = (l: DecodedLocation) => `${l.func} at ${l.file}${l.line ? ":" + l.line : ""}`;
  for (const f of frames) {
    if (!f.inElf || f.locations.length === 0) {
      const why = f.inElf ? "no line information" : `not in ${elfName}: ROM, another image, or a corrupt frame`;
      lines.push(colour ? `  ${DIM}${f.pcText}: ?? (${why})${RESET}` : `  ${f.pcText}: ?? (${why})`);
      continue;
    }
    const [first, ...inlinedBy] = f.locations;
    lines.push(colour ? `  ${f.pcText}: ${YELLOW}${at(first!)}${RESET}` : `  ${f.pcText}: ${at(first!)}`);
    for (const l of inlinedBy) lines.push(`  ${" ".repeat(f.pcText.length)}  (inlined by) ${at(l)}`);
  }
  return lines;
}
