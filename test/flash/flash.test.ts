/**
 * `sealcam flash` end to end against the simulated ESP32-S3 ROM on a socat pty: a real build layout is
 * written, and the emulated flash is read back byte for byte. Then the failures users meet.
 */
import { PassThrough } from "node:stream";
import { main } from "../../host-tools/flash/cli";
import { loadFlashBoard } from "../../host-tools/flash/board";
import { NodeSerialLink } from "../../host-tools/serial/link";
import type { CliIo } from "../../host-tools/serial/cli-io";
import { BOARD, bytes, HW_DIR, writeBuild, type Build } from "./fixtures";
import { simBoard, type SimBoard } from "./sim-harness";
import { rmSync } from "node:fs";

const board = loadFlashBoard(BOARD, HW_DIR);
const NVS = board.partitions.find((p) => p.name === "nvs")!;
const OTADATA = board.partitions.find((p) => p.name === "otadata")!;

interface Run {
  code: number;
  out: string;
  err: string;
}

async function flash(args: string[], options: { tty?: boolean; ttyOut?: boolean; stdin?: string } = {}): Promise<Run> {
  const stdout = new PassThrough() as PassThrough & { isTTY?: boolean; columns?: number };
  if (options.ttyOut) {
    stdout.isTTY = true;
    stdout.columns = 100;
  }
  const stderr = new PassThrough();
  const stdin = new PassThrough() as PassThrough & { isTTY?: boolean };
  let out = "";
  let err = "";
  stdout.on("data", (c) => (out += c));
  stderr.on("data", (c) => (err += c));
  if (options.tty) stdin.isTTY = true;
  if (options.stdin !== undefined) stdin.end(options.stdin);
  const io: CliIo = { stdout, stderr, stdin };
  const code = await main([...args, "--hw-dir", HW_DIR], io);
  return { code, out, err };
}

const eq = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

let build: Build;
/** A smaller app for the tests about erasing (the full-size layout is the first test's subject). */
let small: Build;
const boards: SimBoard[] = [];
async function fresh(options: Parameters<typeof simBoard>[0] = {}): Promise<SimBoard> {
  const b = await simBoard(options);
  boards.push(b);
  return b;
}

beforeAll(() => {
  build = writeBuild(board);
  small = writeBuild(board, { appSize: 150_000 });
});

afterAll(async () => {
  for (const b of boards) await b.close();
  rmSync(build.dir, { recursive: true, force: true });
  rmSync(small.dir, { recursive: true, force: true });
});

describe("sealcam flash against the ROM simulator", () => {
  test("writes bootloader, partition table and app at the board's offsets and nothing else", async () => {
    const before = bytes(8 << 20, 99, 0); // a flash full of old data
    const b = await fresh({ image: before });
    const run = await flash(["--port", b.port, "--board", BOARD, "--build", build.dir]);
    expect(run.err).toBe("");
    expect(run.code).toBe(0);
    const flash8 = b.sim.flash;
    expect(eq(flash8.subarray(0x0, build.bootloader.length), build.bootloader)).toBe(true);
    expect(eq(flash8.subarray(0x8000, 0x8000 + build.partitionTable.length), build.partitionTable)).toBe(true);
    expect(eq(flash8.subarray(0x10000, 0x10000 + build.app.length), build.app)).toBe(true);
    // otadata is reset so the factory app boots; NVS (settings, keys) is left alone without --erase-config.
    expect(flash8.subarray(OTADATA.offset, OTADATA.offset + OTADATA.size).every((x) => x === 0xff)).toBe(true);
    expect(eq(flash8.subarray(NVS.offset, NVS.offset + NVS.size), before.subarray(NVS.offset, NVS.offset + NVS.size))).toBe(true);
    // Past the app's last erased sector, the old contents are untouched.
    const appEnd = 0x10000 + Math.ceil(build.app.length / 0x1000) * 0x1000;
    expect(eq(flash8.subarray(appEnd), before.subarray(appEnd))).toBe(true);
    // The protocol went the way esptool's does: stub, compressed writes, one MD5 per region.
    expect(b.sim.stubRunning).toBe(true);
    expect(b.sim.counts.FLASH_DEFL_BEGIN).toBe(3);
    expect(b.sim.counts.SPI_FLASH_MD5).toBe(3 + 1); // three regions + the otadata erase check
    expect(b.sim.baudRate).toBe(921600);
    expect(run.out).toMatch(/chip\s+ESP32-S3 \(QFN56\) \(revision v0\.2\), MAC 74:4d:bd:5e:a1:07/);
    expect(run.out).toMatch(/verify\s+app MD5 [0-9a-f]{32} matches/);
    expect(run.out).toMatch(/app 100% /);
    expect(run.out).toMatch(/no DTR\/RTS lines \(pty\)/);
  });

  test("--erase-config erases exactly the NVS partition", async () => {
    const before = bytes(8 << 20, 7, 0);
    const b = await fresh({ image: before });
    const run = await flash(["--port", b.port, "--board", BOARD, "--build", small.dir, "--erase-config", "--json"]);
    expect(run.code).toBe(0);
    const f = b.sim.flash;
    expect(f.subarray(NVS.offset, NVS.offset + NVS.size).every((x) => x === 0xff)).toBe(true);
    // The clip queue and everything past the app keep their old bytes (exactness is the next test's subject).
    const clips = board.partitions.find((p) => p.name === "clipq")!;
    expect(eq(f.subarray(clips.offset), before.subarray(clips.offset))).toBe(true);
    const events = run.out.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.find((e) => e.event === "stage" && e.stage === "erase" && String(e.detail).startsWith("nvs"))).toBeTruthy();
    const done = events.at(-1)!;
    expect(done.event).toBe("done");
    expect(done.erased).toEqual([
      { name: "nvs", offset: NVS.offset, size: NVS.size },
      { name: "otadata", offset: OTADATA.offset, size: OTADATA.size },
    ]);
    const progress = events.filter((e) => e.event === "progress" && e.region === "app");
    expect(progress.length).toBeGreaterThan(2);
    expect(progress.at(-1)!.sent).toBe(progress.at(-1)!.total);
  });

  test("--erase-config --erase-only is a factory reset that writes nothing else", async () => {
    const before = bytes(8 << 20, 5, 0);
    const b = await fresh({ image: before });
    const run = await flash(["--port", b.port, "--board", BOARD, "--erase-config", "--erase-only"]);
    expect(run.code).toBe(0);
    const f = b.sim.flash;
    expect(f.subarray(NVS.offset, NVS.offset + NVS.size).every((x) => x === 0xff)).toBe(true);
    expect(eq(f.subarray(0, NVS.offset), before.subarray(0, NVS.offset))).toBe(true);
    expect(eq(f.subarray(NVS.offset + NVS.size), before.subarray(NVS.offset + NVS.size))).toBe(true);
    expect(b.sim.counts.FLASH_DEFL_BEGIN ?? 0).toBe(0);
  });

  test("--erase-all asks first, and without a terminal needs --yes", async () => {
    const b = await fresh({ image: bytes(8 << 20, 3, 0) });
    const noTty = await flash(["--port", b.port, "--board", BOARD, "--erase-all", "--erase-only"]);
    expect(noTty.code).toBe(2);
    expect(noTty.err).toMatch(/add --yes to confirm/);
    const declined = await flash(["--port", b.port, "--board", BOARD, "--erase-all", "--erase-only"], { tty: true, stdin: "n\n" });
    expect(declined.code).toBe(1);
    expect(declined.err).toMatch(/\[y\/N\]/);
    expect(b.sim.counts.SYNC ?? 0).toBe(0); // refused before the port was opened
    const accepted = await flash(["--port", b.port, "--board", BOARD, "--erase-all", "--erase-only"], { tty: true, stdin: "y\n" });
    expect(accepted.code).toBe(0);
    expect(b.sim.flash.every((x) => x === 0xff)).toBe(true);
  });

  test("--erase-all --yes then a full write leaves only the images", async () => {
    const b = await fresh({ image: bytes(8 << 20, 4, 0) });
    const run = await flash(["--port", b.port, "--board", BOARD, "--build", small.dir, "--erase-all", "--yes"]);
    expect(run.code).toBe(0);
    const expected = new Uint8Array(8 << 20).fill(0xff);
    expected.set(small.bootloader, 0);
    expected.set(small.partitionTable, 0x8000);
    expected.set(small.app, 0x10000);
    expect(eq(b.sim.flash, expected)).toBe(true);
  });

  test("on a terminal each region gets a progress bar", async () => {
    const b = await fresh();
    const run = await flash(["--port", b.port, "--board", BOARD, "--build", small.dir], { ttyOut: true });
    expect(run.code).toBe(0);
    for (const [region, at] of [["bootloader", "0x0"], ["partition-table", "0x8000"], ["app", "0x10000"]])
      expect(run.out).toContain(`\r  ${region.padEnd(15)} ${at.padStart(8)} [${"#".repeat(40)}] 100%\n`);
    expect(run.out).toMatch(/\r  app\s+0x10000 \[\.{40}\]   0%/);
  });

  test("a chip that is not the board's is refused before anything is written", async () => {
    for (const chip of ["ESP32-C3", "ESP32"] as const) {
      const b = await fresh({ chip });
      const run = await flash(["--port", b.port, "--board", BOARD, "--build", build.dir]);
      expect(run.code).toBe(1);
      expect(run.err).toContain(`is an ${chip}, but board ${BOARD} has an ESP32-S3`);
      expect(run.err).toContain("[E_WRONG_CHIP]");
      expect(b.sim.counts.MEM_BEGIN ?? 0).toBe(0);
      expect(b.sim.flash.every((x) => x === 0xff)).toBe(true);
    }
  });

  test("a bit error in the flash fails the MD5 check with a non-zero exit", async () => {
    const b = await fresh({ fault: "bitflip" });
    const run = await flash(["--port", b.port, "--board", BOARD, "--build", build.dir]);
    expect(run.code).toBe(1);
    expect(run.err).toMatch(/verify failed: the bootloader at 0x0 reads back different .* \(MD5 mismatch\)/);
    expect(run.err).toContain("[E_VERIFY]");
  });

  test("a board that never answers gets the BOOT/RESET hint", async () => {
    const b = await fresh({ fault: "silent" });
    const run = await flash(["--port", b.port, "--board", BOARD, "--build", build.dir, "--connect-attempts", "2"]);
    expect(run.code).toBe(1);
    expect(run.err).toMatch(/no answer from the chip on .*: hold BOOT, tap RESET, release BOOT/);
    expect(run.err).toContain("[E_TIMEOUT]");
    expect(b.sim.counts.SYNC).toBeGreaterThan(0); // it was asked
  });

  test("an app larger than its partition is refused before connecting", async () => {
    const big = writeBuild(board, { appSize: 0x300000 + 1 });
    const b = await fresh();
    try {
      const run = await flash(["--port", b.port, "--board", BOARD, "--build", big.dir]);
      expect(run.code).toBe(1);
      expect(run.err).toMatch(/app image .* is 3145729 bytes, larger than the factory partition \(3145728 bytes at 0x10000\)/);
      expect(run.err).toContain("[E_LIMIT]");
      expect(b.sim.counts.SYNC ?? 0).toBe(0);
    } finally {
      rmSync(big.dir, { recursive: true, force: true });
    }
  });

  test("missing build files are named", async () => {
    const partial = writeBuild(board, { omit: "partition-table.bin" });
    try {
      const run = await flash(["--port", "/dev/null", "--board", BOARD, "--build", partial.dir]);
      expect(run.code).toBe(1);
      expect(run.err).toMatch(/is missing partition-table\.bin: run `make firmware BOARD=sealcam_test_s3` again \[E_NOT_FOUND\]/);
      const none = await flash(["--port", "/dev/null", "--board", BOARD, "--build", partial.dir + "-nope"]);
      expect(none.err).toMatch(/no build at .*: run `make firmware BOARD=sealcam_test_s3` first/);
      const noBoard = await flash(["--port", "/dev/null", "--board", "no_such_board", "--build", partial.dir]);
      expect(noBoard.err).toMatch(/unknown board 'no_such_board'; known boards: sealcam_test_s3/);
    } finally {
      rmSync(partial.dir, { recursive: true, force: true });
    }
  });

  test("a port that does not exist is named", async () => {
    const run = await flash(["--port", "/dev/ttyACM97", "--board", BOARD, "--build", small.dir]);
    expect(run.code).toBe(1);
    expect(run.err).toMatch(/no serial port at \/dev\/ttyACM97: is the board plugged in\? .* \[E_NOT_FOUND\]/);
  });

  test("a port another program holds is reported as busy", async () => {
    const b = await fresh();
    const other = new NodeSerialLink(b.port);
    await other.open();
    try {
      const run = await flash(["--port", b.port, "--board", BOARD, "--build", build.dir]);
      expect(run.code).toBe(1);
      expect(run.err).toMatch(/is in use by another program .* \[E_PORT_BUSY\]/);
    } finally {
      await other.close();
    }
  });
});
