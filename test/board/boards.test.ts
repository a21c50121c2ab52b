/**
 * host-tools/hw/boards.ts: the board.json / partitions.csv loader the build, the validator and the flasher
 * share. Pins the exact layout of every board (the flasher writes to these offsets).
 */
import * as path from "node:path";
import { findPartition, listBoards, loadBoard, parsePartitionsCsv, parseSize } from "../../host-tools/hw/boards";
import { SealcamError } from "../../firmware/core/errors";

const HW = path.join(__dirname, "..", "..", "hw");

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (error) {
    return error instanceof SealcamError ? error.code : "untyped";
  }
  return undefined;
}

test("parseSize reads hex, decimal and K/M suffixes", () => {
  expect(parseSize("0x8000")).toBe(0x8000);
  expect(parseSize("4096")).toBe(4096);
  expect(parseSize("24K")).toBe(24 * 1024);
  expect(parseSize("4M")).toBe(4 * 1024 * 1024);
  expect(parseSize("8MB")).toBe(8 * 1024 * 1024);
  expect(parseSize(" 16MB ")).toBe(16 * 1024 * 1024);
  expect(codeOf(() => parseSize("lots"))).toBe("E_FORMAT");
  expect(codeOf(() => parseSize("-1"))).toBe("E_FORMAT");
});

test("parsePartitionsCsv reads the ESP-IDF format with comments, blank lines, sizes and flags", () => {
  const parts = parsePartitionsCsv(
    [
      "# Name, Type, SubType, Offset, Size, Flags",
      "",
      "nvs,      data, nvs,     0x9000,  24K,",
      "phy_init, data, phy,     0xf000,  0x1000   # trailing comment",
      "factory,  app,  factory, 0x10000, 3M, readonly",
      "secure,   data, 0x40,    0x310000, 0x1000, encrypted:readonly",
    ].join("\r\n"),
  );
  expect(parts.map((p) => [p.name, p.type, p.subtype, p.offset, p.size, p.flags, p.line])).toEqual([
    ["nvs", "data", "nvs", 0x9000, 0x6000, [], 3],
    ["phy_init", "data", "phy", 0xf000, 0x1000, [], 4],
    ["factory", "app", "factory", 0x10000, 0x300000, ["readonly"], 5],
    ["secure", "data", "0x40", 0x310000, 0x1000, ["encrypted", "readonly"], 6],
  ]);
});

test("parsePartitionsCsv refuses what the flasher could not place", () => {
  expect(() => parsePartitionsCsv("nvs, data, nvs, , 0x6000")).toThrow(/line 1: give 'nvs' an explicit offset/);
  expect(() => parsePartitionsCsv("nvs, data, nvs, 0x9000")).toThrow(/line 1: expected/);
  expect(() => parsePartitionsCsv("x, code, nvs, 0x9000, 0x1000")).toThrow(/type 'code'/);
  expect(() => parsePartitionsCsv("a-very-long-partition-name, data, nvs, 0x9000, 0x1000")).toThrow(/name/);
  expect(() => parsePartitionsCsv("nvs, data, nvs, 0x9000, big")).toThrow(/line 1: size/);
  expect(() => parsePartitionsCsv("nvs, data, , 0x9000, 0x1000")).toThrow(/subtype/);
});

test("every board folder loads, and the layouts are exactly the documented ones", () => {
  expect(listBoards(HW)).toEqual(["esp32s3_eye", "lilygo_t_camera_plus_s3", "xiao_esp32s3_sense"]);
  for (const name of listBoards(HW)) {
    const board = loadBoard(name, HW);
    expect(board.chip).toBe("ESP32-S3");
    expect(board.offsets).toEqual({ bootloader: 0, partitionTable: 0x8000, app: 0x10000 });
    expect(board.usb).toEqual({ vid: "303a", pid: "1001", kind: "usb-serial-jtag" });
    expect(board.partitionsPath).toBe(path.join(HW, name, "partitions.csv"));
    const layout = board.partitions.map((p) => [p.name, p.type, p.subtype, p.offset, p.size]);
    expect(layout.slice(0, 3)).toEqual([
      ["nvs", "data", "nvs", 0x9000, 0x6000],
      ["phy_init", "data", "phy", 0xf000, 0x1000],
      ["factory", "app", "factory", 0x10000, 0x300000],
    ]);
    const queue = findPartition(board, "clipq");
    expect([queue.type, queue.subtype, queue.offset]).toEqual(["data", "0x40", 0x310000]);
    expect(queue.offset + queue.size).toBe(board.flashBytes); // the queue takes the rest of the flash
  }
  expect(loadBoard("xiao_esp32s3_sense", HW).flashBytes).toBe(8 * 1024 * 1024);
  expect(loadBoard("lilygo_t_camera_plus_s3", HW).flashBytes).toBe(16 * 1024 * 1024);
  const eye = loadBoard("esp32s3_eye", HW);
  expect(eye.targetDir).toBe(path.join(HW, "esp32s3_eye"));
  expect(eye.moddableTarget).toBe("esp32/esp32s3_eye");
  expect(eye.pins.camera.xclk).toBe(15);
  expect(loadBoard("xiao_esp32s3_sense", HW).targetDir).toBeUndefined();
});

test("unknown or malformed board names fail with a message that lists the known boards", () => {
  expect(() => loadBoard("esp32_cam", HW)).toThrow(/unknown board 'esp32_cam'; known boards: esp32s3_eye, lilygo_t_camera_plus_s3, xiao_esp32s3_sense/);
  expect(codeOf(() => loadBoard("../etc", HW))).toBe("E_ARGUMENT");
  expect(codeOf(() => findPartition(loadBoard("esp32s3_eye", HW), "ota_0"))).toBe("E_NOT_FOUND");
});
