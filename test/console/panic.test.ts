/**
 * Crash decoding in `sealcam console` (host-tools/console/panic.ts):
 * 1. a recorded ESP32-S3 panic text (test/console/fixtures/panic-esp32s3.txt: a LoadProhibited with a register
 *    dump and a CORRUPTED backtrace, an abort() whose backtrace a terminal wrapped in the middle of an entry, an
 *    XS abort) is recognised and its addresses extracted exactly;
 * 2. decoding against a real host ELF: a small C program compiled here with `cc -g -O0`, its functions' addresses
 *    from `nm`, a panic text whose backtrace PCs are those addresses, decoded by binutils' addr2line;
 * 3. the console end to end on a socat pty (the UartBoard stand-in writes the panic): stdout shows the frames;
 * 4. addr2line missing, a wrong ELF, a file that is not an ELF: one clear notice each, the console keeps going.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { main } from "../../host-tools/console/cli";
import {
  BacktraceDecoder,
  chooseAddr2line,
  EM_XTENSA,
  parseAddr2line,
  PanicScanner,
  readElf,
  renderDecoded,
  scanPanicText,
  type BacktraceFrame,
} from "../../host-tools/console/panic";
import type { CliIo } from "../../host-tools/serial/cli-io";
import { NodeSerialLink } from "../../host-tools/serial/link";
import { UartBoard } from "../../host-tools/sim/uart-board";
import { ptyPair, type PtyPair } from "../serial/pty";

const FIXTURE = readFileSync(join(__dirname, "fixtures", "panic-esp32s3.txt"), "utf8");

const SOURCE = `#include <stdio.h>

int sensor_read(const int *frame) {
  return frame[2];
}

static void __attribute__((noinline)) motion_step(const int *frame) {
  printf("%d\\n", sensor_read(frame));
}

void camera_task(const int *frame) {
  motion_step(frame);
}

int main(void) {
  camera_task(NULL);
  return 0;
}
`;
const OTHER = `int main(void) { return 0; }\n`;

let tmp: string;
let elf: string;
let otherElf: string;
let source: string;
/** Function name → its address in the ELF (from nm). */
let addr: Record<string, number>;

const hex8 = (n: number) => "0x" + n.toString(16).padStart(8, "0");
/** The line each function starts on in SOURCE (where gcc puts its first instruction at -O0). */
const lineOf = (fn: string) => String(SOURCE.split("\n").findIndex((l) => new RegExp(`\\b${fn}\\(.*\\{$`).test(l)) + 1);
const sha16 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex").slice(0, 16);

/** A panic as ESP-IDF prints it, with these PCs (SPs made up), and the board's ELF SHA256 line. */
function panicText(pcs: number[], elfSha: string, marker = ""): string {
  const bt = pcs.map((pc, i) => `${hex8(pc)}:${hex8(0x3fcebd10 + 0x30 * i)}`).join(" ");
  return [
    "Guru Meditation Error: Core  0 panic'ed (LoadProhibited). Exception was unhandled.",
    "",
    "Core  0 register dump:",
    `PC      : ${hex8(pcs[0]! + 3)}  PS      : 0x00060a30  A0      : 0x82010c1d  A1      : 0x3fcebd10  `,
    "EXCVADDR: 0x00000008  LBEG    : 0x40056f5c  LEND    : 0x40056f72  LCOUNT  : 0xffffffff  ",
    "",
    "",
    `Backtrace: ${bt}${marker ? " " + marker : ""}`,
    "",
    "",
    "",
    "",
    `ELF file SHA256: ${elfSha}`,
    "",
    "Rebooting...",
    "",
  ].join("\r\n");
}

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "sealcam-panic-"));
  source = join(tmp, "crash.c");
  writeFileSync(source, SOURCE);
  writeFileSync(join(tmp, "other.c"), OTHER);
  elf = join(tmp, "crash.elf");
  otherElf = join(tmp, "other.elf");
  execFileSync("cc", ["-g", "-O0", "-o", elf, source], { cwd: tmp });
  execFileSync("cc", ["-g", "-O0", "-o", otherElf, join(tmp, "other.c")], { cwd: tmp });
  addr = {};
  for (const line of execFileSync("nm", [elf], { encoding: "utf8" }).split("\n")) {
    const m = /^([0-9a-f]+) [tT] (\w+)$/.exec(line.trim());
    if (m) addr[m[2]!] = parseInt(m[1]!, 16);
  }
  for (const fn of ["sensor_read", "motion_step", "camera_task", "main"]) expect(addr[fn]).toBeGreaterThan(0);
});

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("1. a recorded panic text", () => {
  test("each crash, its registers and backtrace addresses are extracted exactly", () => {
    const records = scanPanicText(FIXTURE);
    expect(records).toHaveLength(3);

    const [load, abort, xs] = records;
    expect(load!.reason).toBe("LoadProhibited");
    expect(load!.core).toBe(0);
    expect(load!.registers.PC).toBe(0x42012f4e);
    expect(load!.registers.A0).toBe(0x82010c1d);
    expect(load!.registers.EXCCAUSE).toBe(0x1c);
    expect(load!.registers.EXCVADDR).toBe(0x8);
    expect(load!.registers.LCOUNT).toBe(0xffffffff);
    expect(Object.keys(load!.registers)).toHaveLength(24);
    expect(load!.backtraces).toHaveLength(1);
    expect(load!.backtraces[0]!.frames.map((f) => `${f.pcText}:${hex8(f.sp)}`)).toEqual([
      "0x42012f4b:0x3fcebd10",
      "0x42010c1a:0x3fcebd40",
      "0x4200e0d6:0x3fcebd70",
      "0x4200a2b9:0x3fcebda0",
      "0x4037c4a1:0x3fcebdd0",
    ]);
    expect(load!.backtraces[0]!.corrupted).toBe(true);
    expect(load!.backtraces[0]!.continues).toBe(false);
    // The firmware already turned the return address into the call's address (PC - 3): looked up as printed.
    expect(load!.backtraces[0]!.frames[0]!.pc).toBe(load!.registers.PC! - 3);
    expect(load!.elfSha256).toBe("5b1e2a3c9d7f8e01");
    expect(load!.rebooted).toBe(true);

    // Wrapped by the terminal in the middle of an entry ("… 0" / "x4201f2e1:…"), then once more between entries.
    expect(abort!.reason).toBe("abort()");
    expect(abort!.core).toBe(1);
    expect(abort!.abortPc).toBe(0x420217f3);
    expect(abort!.registers).toEqual({});
    expect(abort!.backtraces).toHaveLength(1);
    expect(abort!.backtraces[0]!.frames.map((f) => f.pcText)).toEqual([
      "0x40375c1e",
      "0x4037b6d5",
      "0x40381e4e",
      "0x420217f3",
      "0x42020a9c",
      "0x4201f2e1",
      "0x42009c8f",
      "0x42008a17",
      "0x4037ea5d",
    ]);
    expect(abort!.backtraces[0]!.frames.map((f) => f.sp)).toEqual([
      0x3fcf2c50, 0x3fcf2c70, 0x3fcf2c90, 0x3fcf2d10, 0x3fcf2d30, 0x3fcf2d60, 0x3fcf2d90, 0x3fcf2dc0, 0x3fcf2df0,
    ]);
    expect(abort!.backtraces[0]!.corrupted).toBe(false);
    expect(abort!.backtraces[0]!.continues).toBe(true);
    expect(abort!.rebooted).toBe(true);

    expect(xs!.reason).toBe("XS abort: memory full");
    expect(xs!.backtraces).toEqual([]);
  });

  test("line by line, as the console sees it: nothing from ordinary lines, one event per backtrace line", () => {
    const scanner = new PanicScanner();
    const events = FIXTURE.split("\r\n").filter(Boolean).map((l) => scanner.line(l));
    const kinds = events.flat().map((e) => e.kind);
    expect(kinds).toEqual([
      "panic",
      ...Array(6).fill("registers"),
      "backtrace",
      "elf-sha256",
      "rebooting",
      "panic",
      "backtrace",
      "backtrace",
      "backtrace",
      "elf-sha256",
      "rebooting",
      "xs-abort",
    ]);
    // Boot banners, SC lines and "Saved PC:0x40376b4a" are not crash output.
    expect(events.slice(0, 10).flat()).toEqual([]);
    const bts = events.flat().filter((e) => e.kind === "backtrace");
    expect(bts.map((e) => (e.kind === "backtrace" ? [e.frames.length, e.continuation] : null))).toEqual([
      [5, false],
      [5, false], // the 6th entry is cut in two: it is counted with the next line
      [3, true],
      [1, true],
    ]);
    // After a backtrace, an ordinary line is not taken for its continuation.
    const s = new PanicScanner();
    s.line("Backtrace: 0x42012f4b:0x3fcebd10");
    expect(s.line("cafe 0x1")).toEqual([]);
    expect(s.line("0x42012f4b:0x3fcebd10")).toEqual([]); // no longer in a backtrace
  });

  test("addr2line's output is parsed by address, with inlined functions and discriminators", () => {
    const out = [
      "0x0000000042012f4b",
      "sensor_read",
      "/src/sealcam/native/camera.c:88 (discriminator 2)",
      "motion_step",
      "/src/sealcam/native/motion.c:41",
      "0x0000000040056f5c",
      "??",
      "??:0",
      "0x4200a2b9",
      "fxRunID",
      "??:?",
      "",
    ].join("\n");
    const parsed = parseAddr2line(out);
    expect(parsed).toEqual([
      {
        address: 0x42012f4b,
        locations: [
          { func: "sensor_read", file: "/src/sealcam/native/camera.c", line: "88" },
          { func: "motion_step", file: "/src/sealcam/native/motion.c", line: "41" },
        ],
      },
      { address: 0x40056f5c, locations: [] },
      { address: 0x4200a2b9, locations: [{ func: "fxRunID", file: "??", line: "" }] },
    ]);
    const lines = renderDecoded(
      parsed.map((p) => ({ pcText: hex8(p.address), locations: p.locations, inElf: p.address !== 0x40056f5c })),
      "xs_esp32.elf",
      false,
    );
    expect(lines).toEqual([
      "  0x42012f4b: sensor_read at /src/sealcam/native/camera.c:88",
      "              (inlined by) motion_step at /src/sealcam/native/motion.c:41",
      "  0x40056f5c: ?? (not in xs_esp32.elf: ROM, another image, or a corrupt frame)",
      "  0x4200a2b9: fxRunID at ??",
    ]);
  });
});

describe("2. decoding against a real host ELF", () => {
  test("the ELF's machine and code ranges are read from its headers", () => {
    const info = readElf(elf);
    expect(info.machine).toBe(62); // x86-64 here; EM_XTENSA (94) for an ESP32-S3 build
    for (const fn of ["sensor_read", "main"]) expect(info.code.some(([s, e]) => addr[fn]! >= s && addr[fn]! < e)).toBe(true);
    expect(info.code.some(([s, e]) => 0x42012f4b >= s && 0x42012f4b < e)).toBe(false);
    expect(info.sha256.slice(0, 16)).toBe(sha16(elf));
    expect(() => readElf(source)).toThrow(/is not an ELF file/);
  });

  test("backtrace PCs become function and file:line, in backtrace order, through one addr2line run", async () => {
    const pcs = [addr.sensor_read!, addr.motion_step!, addr.camera_task!, addr.main!, addr.sensor_read!, 0x40056f5c];
    const [record] = scanPanicText(panicText(pcs, sha16(elf), "|<-CORRUPTED"));
    const frames = record!.backtraces[0]!.frames;
    expect(frames.map((f) => f.pc)).toEqual(pcs);
    const result = await new BacktraceDecoder({ elf }).decode(frames);
    if (!result.ok) throw new Error(result.problem);
    expect(result.tool).toMatch(/(^|\/)addr2line$/);
    expect(renderDecoded(result.frames, "crash.elf", false)).toEqual([
      `  ${hex8(addr.sensor_read!)}: sensor_read at ${source}:${lineOf("sensor_read")}`,
      `  ${hex8(addr.motion_step!)}: motion_step at ${source}:${lineOf("motion_step")}`,
      `  ${hex8(addr.camera_task!)}: camera_task at ${source}:${lineOf("camera_task")}`,
      `  ${hex8(addr.main!)}: main at ${source}:${lineOf("main")}`,
      `  ${hex8(addr.sensor_read!)}: sensor_read at ${source}:${lineOf("sensor_read")}`,
      `  0x40056f5c: ?? (not in crash.elf: ROM, another image, or a corrupt frame)`,
    ]);
  });

  test("the toolchain's addr2line is preferred for an Xtensa ELF, binutils' for a host one", () => {
    const bin = join(tmp, "bin");
    execFileSync("mkdir", ["-p", bin]);
    for (const t of ["xtensa-esp32s3-elf-addr2line", "addr2line"]) {
      writeFileSync(join(bin, t), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    }
    expect(chooseAddr2line(EM_XTENSA, { pathEnv: bin }).tool).toBe(join(bin, "xtensa-esp32s3-elf-addr2line"));
    expect(chooseAddr2line(62, { pathEnv: bin }).tool).toBe(join(bin, "addr2line"));
    expect(chooseAddr2line(EM_XTENSA, { pathEnv: join(tmp, "nowhere") })).toEqual({
      tool: null,
      tried: ["xtensa-esp32s3-elf-addr2line", "xtensa-esp-elf-addr2line", "addr2line"],
    });
    expect(chooseAddr2line(EM_XTENSA, { toolchainPrefix: join(bin, "xtensa-esp32s3-elf-") }).tool).toBe(join(bin, "xtensa-esp32s3-elf-addr2line"));
  });
});

test("4. an addr2line that hangs is stopped at the time limit; one that fails is reported, never thrown", async () => {
  const bin = join(tmp, "bad-tools");
  execFileSync("mkdir", ["-p", bin]);
  writeFileSync(join(bin, "hang-addr2line"), "#!/bin/sh\nexec sleep 30\n", { mode: 0o755 });
  writeFileSync(join(bin, "fail-addr2line"), "#!/bin/sh\necho \"addr2line: $6: file format not recognized\" >&2\nexit 1\n", { mode: 0o755 });
  const frames: BacktraceFrame[] = [{ pcText: hex8(addr.main!), pc: addr.main!, sp: 0x3fcebd10 }];

  const started = Date.now();
  const hung = await new BacktraceDecoder({ elf, toolchainPrefix: join(bin, "hang-"), timeoutMs: 300 }).decode(frames);
  expect(Date.now() - started).toBeLessThan(5000);
  expect(hung).toEqual({ ok: false, key: "tool-failed", problem: "hang-addr2line failed on crash.elf: no answer in 300 ms; backtraces are shown undecoded" });

  const failed = await new BacktraceDecoder({ elf, toolchainPrefix: join(bin, "fail-") }).decode(frames);
  expect(failed).toEqual({
    ok: false,
    key: "tool-failed",
    problem: `fail-addr2line failed on crash.elf: ${elf}: file format not recognized; backtraces are shown undecoded`,
  });
});

describe("3-4. in sealcam console, on a pty", () => {
  let pair: PtyPair;
  const links: NodeSerialLink[] = [];

  beforeAll(async () => {
    pair = await ptyPair();
  });
  afterEach(async () => {
    // A failed test must not leave the device end open for the next one.
    for (const l of links.splice(0)) await l.close().catch(() => undefined);
  });
  afterAll(async () => {
    await pair.dispose();
  });

  async function attach(): Promise<{ board: UartBoard }> {
    const board = new UartBoard();
    const link = new NodeSerialLink(pair.device);
    await link.open();
    links.push(link);
    void board.serve(link);
    return { board };
  }

  function startConsole(args: string[]) {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const stdin = new PassThrough();
    let out = "";
    let err = "";
    stdout.on("data", (c) => (out += c));
    stderr.on("data", (c) => (err += c));
    const io: CliIo = { stdout, stderr, stdin };
    const exit = main(["--port", pair.host, ...args], io, { backoff: { firstMs: 50, maxMs: 200 } });
    return { out: () => out, err: () => err, stdin, exit };
  }

  async function until(what: string, check: () => boolean, ms = 10000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  const count = (text: string, needle: string) => text.split(needle).length - 1;
  const pcs = () => [addr.sensor_read!, addr.motion_step!, addr.camera_task!, addr.main!];

  test("3. a crash's backtrace is followed by function and line for each frame, then output continues", async () => {
    const { board } = await attach();
    const c = startConsole(["--elf", elf]);
    await until("connected", () => c.err().includes("connected to"));
    await board.boot();
    await board.write(panicText(pcs(), sha16(elf), "|<-CORRUPTED"));
    await board.log("info", "after.crash", "still running");
    await until("decoded frames", () => c.out().includes("after.crash"));
    const lines = c.out().split("\n");
    const bt = lines.findIndex((l) => l.startsWith("Backtrace: "));
    expect(bt).toBeGreaterThan(0);
    expect(lines.slice(bt + 1, bt + 5)).toEqual([
      `  ${hex8(addr.sensor_read!)}: sensor_read at ${source}:${lineOf("sensor_read")}`,
      `  ${hex8(addr.motion_step!)}: motion_step at ${source}:${lineOf("motion_step")}`,
      `  ${hex8(addr.camera_task!)}: camera_task at ${source}:${lineOf("camera_task")}`,
      `  ${hex8(addr.main!)}: main at ${source}:${lineOf("main")}`,
    ]);
    // Then the rest of the panic, and the next boot, in order.
    expect(lines.slice(bt + 5, bt + 7)).toEqual([`ELF file SHA256: ${sha16(elf)}`, "Rebooting..."]);
    expect(lines[bt + 7]).toMatch(/INFO  after\.crash\s+still running/);
    expect(c.err()).not.toMatch(/different build|not found|not decoded/);
    // An XS-level abort (Moddable's fxAbort; xsbug-framed in a debug build) is named as such, not decoded.
    await board.xsbugLog("XS abort: memory full");
    await until("xs abort notice", () => c.err().includes("XS abort: memory full"));
    expect(c.err()).toContain("-- the XS engine stopped the program (XS abort: memory full): a JavaScript-level failure, not a CPU crash (docs/CONSOLE.md)");
    expect(c.out()).toMatch(/\[xs [0-9a-f]{8}\] XS abort: memory full/);
    c.stdin.write(":quit\n");
    expect(await c.exit).toBe(0);
  });

  test("4a. no addr2line: one notice, backtraces shown undecoded, the console keeps running", async () => {
    const { board } = await attach();
    const c = startConsole(["--elf", elf, "--toolchain-prefix", join(tmp, "no-such-dir") + "/xtensa-esp32s3-elf-"]);
    await until("connected", () => c.err().includes("connected to"));
    await board.write(panicText(pcs(), sha16(elf)));
    await board.write(panicText(pcs(), sha16(elf)));
    await board.log("info", "after.crash", "still running");
    await until("output after two crashes", () => c.out().includes("after.crash"));
    await until("notice", () => c.err().includes("addr2line: not found"));
    expect(count(c.err(), "addr2line: not found")).toBe(1);
    expect(c.err()).toContain(`${join(tmp, "no-such-dir")}/xtensa-esp32s3-elf-addr2line: not found (check --toolchain-prefix); backtraces are shown undecoded`);
    expect(count(c.out(), "Backtrace: ")).toBe(2);
    expect(c.out()).not.toContain("sensor_read at");
    c.stdin.write("status\n");
    await until("status answer", () => c.out().includes("status: state=setup"));
    c.stdin.write(":quit\n");
    expect(await c.exit).toBe(0);
  });

  test("4b. a wrong ELF: the board's ELF SHA256 differs (once), or no address is in its code (once)", async () => {
    const { board } = await attach();
    const c = startConsole(["--elf", otherElf]);
    await until("connected", () => c.err().includes("connected to"));
    // The board runs crash.elf; the console was given other.elf.
    await board.write(panicText(pcs(), sha16(elf)));
    await board.write(panicText(pcs(), sha16(elf)));
    // An ESP32-S3 backtrace against a host ELF: no address is code in it.
    await board.write(panicText([0x42012f4b, 0x42010c1a], sha16(elf)));
    await board.write(panicText([0x42012f4b, 0x42010c1a], sha16(elf)));
    await board.log("info", "after.crash", "still running");
    await until("output after the crashes", () => c.out().includes("after.crash"));
    await until("notices", () => c.err().includes("different build") && c.err().includes("no backtrace address lies in"));
    expect(count(c.err(), "different build")).toBe(1);
    expect(c.err()).toContain(
      `-- the board runs a different build than ${otherElf} (board's ELF SHA256 ${sha16(elf)}, the file's ${sha16(otherElf)}): decoded frames above may be wrong; pass the .elf of the build that was flashed`,
    );
    expect(count(c.err(), "no backtrace address lies in")).toBe(1);
    expect(c.err()).toContain("-- no backtrace address lies in other.elf's code: it is not the firmware this board runs (pass the .elf of the build that was flashed)");
    expect(count(c.out(), "Backtrace: ")).toBe(4);
    c.stdin.write(":quit\n");
    expect(await c.exit).toBe(0);
  });

  test("4c. --elf that is not an ELF, or without --elf: one notice each, nothing else changes", async () => {
    const { board } = await attach();
    const c = startConsole(["--elf", source]);
    await until("connected", () => c.err().includes("connected to"));
    expect(c.err()).toContain(`-- ${source} is not an ELF file (give the firmware's .elf, not the .bin): crash backtraces will be shown undecoded`);
    await board.write(panicText(pcs(), sha16(elf)));
    await board.log("info", "after.crash", "still running");
    await until("output", () => c.out().includes("after.crash"));
    expect(count(c.err(), "is not an ELF file")).toBe(1);
    c.stdin.write(":quit\n");
    expect(await c.exit).toBe(0);

    const d = startConsole([]);
    await until("connected", () => d.err().includes("connected to"));
    await board.write(panicText(pcs(), sha16(elf)));
    await board.write(panicText(pcs(), sha16(elf)));
    await board.log("info", "after.crash", "still running");
    await until("output", () => d.out().includes("after.crash"));
    expect(count(d.err(), "run the console with --elf")).toBe(1);
    expect(count(d.out(), "Backtrace: ")).toBe(2);
    d.stdin.write(":quit\n");
    expect(await d.exit).toBe(0);
  });
});
