/** The flash plan for every real board in hw/, partition-table checks, and which reset sequence is used. */
import { rmSync } from "node:fs";
import { listBoards } from "../../host-tools/hw/boards";
import { loadFlashBoard } from "../../host-tools/flash/board";
import { flashBoard, type FlashEvents } from "../../host-tools/flash/flasher";
import { appPartition, findBuildFiles, nvsPartition, parsePartitionTable, planRegions } from "../../host-tools/flash/layout";
import { NodeSerialLink, type Signals } from "../../host-tools/serial/link";
import { BOARD, HW_DIR, partitionTableBin, writeBuild } from "./fixtures";
import { simBoard } from "./sim-harness";

test("every board in hw/ has an app and an NVS partition, and a realistic build fits", () => {
  const names = listBoards();
  expect(names.length).toBeGreaterThanOrEqual(3);
  for (const name of names) {
    const board = loadFlashBoard(name);
    expect(board.chip).toBe("ESP32-S3");
    expect(appPartition(board).offset).toBe(board.offsets.app);
    expect(nvsPartition(board).size).toBeGreaterThanOrEqual(0x3000);
    const build = writeBuild(board, { appSize: 1_500_000 });
    try {
      const regions = planRegions(board, findBuildFiles(build.dir, name));
      expect(regions.map((r) => [r.name, r.address])).toEqual([
        ["bootloader", board.offsets.bootloader],
        ["partition-table", board.offsets.partitionTable],
        ["app", board.offsets.app],
      ]);
    } finally {
      rmSync(build.dir, { recursive: true, force: true });
    }
  }
});

test("a build whose partition table puts the app elsewhere is refused", () => {
  const board = loadFlashBoard(BOARD, HW_DIR);
  const build = writeBuild(board);
  try {
    const moved = { ...board, partitions: board.partitions.map((p) => (p.type === "app" ? { ...p, offset: 0x20000 } : p)) };
    const table = partitionTableBin(moved);
    expect(parsePartitionTable(table).find((p) => p.type === 0)!.offset).toBe(0x20000);
    require("node:fs").writeFileSync(`${build.dir}/partition-table.bin`, table);
    expect(() => planRegions(board, findBuildFiles(build.dir, BOARD))).toThrow(/has no app partition at 0x10000/);
  } finally {
    rmSync(build.dir, { recursive: true, force: true });
  }
});

class SignalLog extends NodeSerialLink {
  static log: Signals[] = [];
  override async setSignals(s: Signals): Promise<void> {
    SignalLog.log.push({ ...s });
    await super.setSignals(s);
  }
}

test("classic DTR/RTS reset for UART bridges, the USB-Serial/JTAG sequence for 303a:1001", async () => {
  const board = loadFlashBoard(BOARD, HW_DIR);
  const quiet: FlashEvents = { stage: () => undefined, progress: () => undefined, log: () => undefined };
  const sequences: Signals[][] = [];
  for (const usb of [{ vid: 0x10c4, pid: 0xea60 }, { vid: 0x303a, pid: 0x1001 }]) {
    const b = await simBoard();
    SignalLog.log = [];
    try {
      await flashBoard(
        { port: b.port, board, regions: [], baud: 115200, usb, erase: [], eraseAll: false, makeLink: (baudRate) => new SignalLog(b.port, { baudRate }) },
        quiet,
      );
    } finally {
      await b.close();
    }
    sequences.push(SignalLog.log);
  }
  const [classic, jtag] = sequences;
  // ClassicReset: IO0 high + EN low, then IO0 low + EN high (download mode), then both released.
  expect(classic!.slice(0, 3)).toEqual([
    { dtr: false, rts: true, brk: undefined },
    { dtr: true, rts: false, brk: undefined },
    { dtr: false, rts: false, brk: undefined },
  ]);
  // UsbJtagSerialReset drives one line at a time (RTS, then DTR), as the USB-Serial/JTAG peripheral needs.
  expect(jtag!.slice(0, 3)).toEqual([{ rts: false, dtr: undefined, brk: undefined }, { dtr: false, rts: undefined, brk: undefined }, { dtr: false, rts: undefined, brk: undefined }]);
  // Both end with esptool.py's hard reset: EN pulsed through RTS with IO0 (DTR) released, so the app boots.
  for (const seq of [classic!, jtag!])
    expect(seq.slice(-2)).toEqual([{ dtr: false, rts: true, brk: undefined }, { dtr: false, rts: false, brk: undefined }]);
});

test("images that are not ESP32-S3 images are refused before connecting", () => {
  const board = loadFlashBoard(BOARD, HW_DIR);
  const build = writeBuild(board, { appSize: 50_000 });
  const fs = require("node:fs") as typeof import("node:fs");
  try {
    const app = fs.readFileSync(`${build.dir}/app.bin`);
    app[12] = 5; // built for an ESP32-C3
    fs.writeFileSync(`${build.dir}/app.bin`, app);
    expect(() => planRegions(board, findBuildFiles(build.dir, BOARD))).toThrow(/app\.bin was built for ESP32-C3, but board sealcam_test_s3 has an ESP32-S3/);
    fs.writeFileSync(`${build.dir}/app.bin`, fs.readFileSync(`${build.dir}/partition-table.bin`)); // swapped files
    expect(() => planRegions(board, findBuildFiles(build.dir, BOARD))).toThrow(/does not look like an ESP32 app image/);
  } finally {
    rmSync(build.dir, { recursive: true, force: true });
  }
});
