/**
 * The build helpers behind `make firmware` / `make flash`: the environment check (what to install when the
 * Moddable SDK or ESP-IDF is missing), the mcconfig -p value per board, and collecting mcconfig's images into
 * the layout the flasher reads. The make targets themselves run here up to the missing-SDK stop.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { checkBuild, collect, doctor, EXTRA_IDF_INCLUDES, findBinDir, platformArgument, writeIdfCflags } from "../../host-tools/hw/cli";
import { loadBoard } from "../../host-tools/hw/boards";

const ROOT = path.join(__dirname, "..", "..");
const HW = path.join(ROOT, "hw");
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-hwcli-"));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function executable(file: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, "#!/bin/sh\nexit 0\n");
  fs.chmodSync(file, 0o755);
}

test("doctor names every missing piece and how to install it", () => {
  const report = doctor({ PATH: "/nonexistent" });
  expect(report.ok).toBe(false);
  expect(report.problems.join("\n")).toMatch(/MODDABLE is not set/);
  expect(report.problems.join("\n")).toMatch(/IDF_PATH is not set/);
  const wrong = doctor({ PATH: "/nonexistent", MODDABLE: dir, IDF_PATH: dir });
  expect(wrong.problems.join("\n")).toMatch(/does not look like a Moddable SDK checkout/);
  expect(wrong.problems.join("\n")).toMatch(/not an ESP-IDF checkout/);
});

test("doctor accepts an SDK whose mcconfig is built and an ESP-IDF whose idf.py is on PATH", () => {
  const moddable = path.join(dir, "moddable");
  const idf = path.join(dir, "esp-idf");
  fs.mkdirSync(path.join(moddable, "build", "devices", "esp32"), { recursive: true });
  fs.mkdirSync(path.join(moddable, "modules"), { recursive: true });
  const hostDir = process.platform === "darwin" ? "mac" : "lin";
  executable(path.join(moddable, "build", "bin", hostDir, "release", "mcconfig"));
  executable(path.join(idf, "tools", "idf.py"));
  const withoutExport = doctor({ PATH: "/nonexistent", MODDABLE: moddable, IDF_PATH: idf });
  expect(withoutExport.problems).toEqual(["idf.py is not on PATH: run `source $IDF_PATH/export.sh` in this shell"]);
  const ready = doctor({ PATH: path.join(idf, "tools"), MODDABLE: moddable, IDF_PATH: idf });
  expect(ready).toEqual({
    ok: true,
    problems: [],
    mcconfig: path.join(moddable, "build", "bin", hostDir, "release", "mcconfig"),
    idfPy: path.join(idf, "tools", "idf.py"),
  });
});

test("the mcconfig platform: Moddable's own targets by name, ours by absolute folder", () => {
  expect(platformArgument(loadBoard("xiao_esp32s3_sense", HW))).toBe("esp32/xiao_esp32s3_sense");
  expect(platformArgument(loadBoard("lilygo_t_camera_plus_s3", HW))).toBe("esp32/lilygo_t_camera_plus_s3");
  expect(platformArgument(loadBoard("esp32s3_eye", HW))).toBe(`esp32:${path.join(HW, "esp32s3_eye")}`);
});

test("collect copies mcconfig's three images and writes flasher.json with the board's offsets", () => {
  const board = loadBoard("xiao_esp32s3_sense", HW);
  const out = path.join(dir, "mc-out");
  const bin = path.join(out, "bin", "esp32", "xiao_esp32s3_sense", "release", "sealcam");
  fs.mkdirSync(bin, { recursive: true });
  fs.writeFileSync(path.join(bin, "bootloader.bin"), Buffer.from([0xe9, 1]));
  fs.writeFileSync(path.join(bin, "partition-table.bin"), Buffer.from([0xaa, 0x50]));
  expect(findBinDir(board, out, "release")).toBeUndefined(); // no app image yet
  expect(() => collect(board, out, path.join(dir, "dest0"), "release")).toThrow(/no xs_esp32.bin/);
  fs.writeFileSync(path.join(bin, "xs_esp32.bin"), Buffer.from([0xe9, 2, 3]));
  const dest = path.join(dir, "dest");
  const manifest = collect(board, out, dest, "release");
  expect(fs.readdirSync(dest).sort()).toEqual(["bootloader.bin", "flasher.json", "partition-table.bin", "xs_esp32.bin"]);
  expect(JSON.parse(fs.readFileSync(path.join(dest, "flasher.json"), "utf8"))).toEqual(manifest);
  expect(manifest.images).toEqual([
    { file: "bootloader.bin", offset: "0x0" },
    { file: "partition-table.bin", offset: "0x8000" },
    { file: "xs_esp32.bin", offset: "0x10000" },
  ]);
  expect(manifest.partitions.find((p) => p.name === "clipq")).toEqual({ name: "clipq", type: "data", subtype: "0x40", offset: "0x310000", size: "0x4f0000" });
  // An app larger than the factory partition is refused before anything reaches a board.
  fs.truncateSync(path.join(bin, "xs_esp32.bin"), 0x300001);
  expect(() => collect(board, out, path.join(dir, "dest2"), "release")).toThrow(/factory partition holds 3145728/);
  fs.rmSync(path.join(bin, "bootloader.bin"));
  expect(() => collect(board, out, path.join(dir, "dest3"), "release")).toThrow(/lacks bootloader.bin/);
});

test("the ESP-IDF include folders go to a gcc response file, one flag per line (one build value, no spaces)", () => {
  const idf = path.join(dir, "idf-for-cflags");
  fs.mkdirSync(path.join(idf, EXTRA_IDF_INCLUDES[0]), { recursive: true });
  const out = path.join(dir, "cflags", "idf-cflags.rsp");
  const missing = writeIdfCflags(idf, out);
  expect(missing).toEqual(EXTRA_IDF_INCLUDES.slice(1));
  expect(fs.readFileSync(out, "utf8").trim().split("\n")).toEqual(EXTRA_IDF_INCLUDES.map((d) => `-I${path.join(idf, d)}`));
  // The manifest points C_FLAGS_SUBPLATFORM at it, with an empty checked-in default for hand-run mcconfig.
  const esp32 = JSON.parse(fs.readFileSync(path.join(ROOT, "manifests", "esp32.json"), "utf8")) as { build: Record<string, string> };
  expect(esp32.build).toEqual({ "SEALCAM_IDF_CFLAGS ?=": "./idf-cflags.rsp", C_FLAGS_SUBPLATFORM: "@$(SEALCAM_IDF_CFLAGS)" });
  expect(fs.readFileSync(path.join(ROOT, "manifests", "idf-cflags.rsp"), "utf8")).toBe("");
});

test("check-build runs the tsc and xsc steps of the makefile mcconfig generated, and reports failures", () => {
  // A stand-in SDK: mcconfig writes a makefile like the real one (verified with SDK 8.2.3); xsc fails on "bad".
  const sdk = path.join(dir, "fake-sdk");
  const bin = path.join(sdk, "build", "bin", process.platform === "darwin" ? "mac" : "lin", "release");
  fs.mkdirSync(path.join(sdk, "build", "devices", "esp32"), { recursive: true });
  fs.mkdirSync(path.join(sdk, "modules"), { recursive: true });
  fs.mkdirSync(bin, { recursive: true });
  const src = path.join(dir, "src");
  fs.mkdirSync(src, { recursive: true });
  fs.writeFileSync(path.join(src, "good.ts"), "export const x: number = 1;\n");
  fs.writeFileSync(path.join(src, "bad.ts"), "export const y: number = 'text';\n");
  const mcconfig = `#!/usr/bin/env node
const fs = require("fs");
const args = process.argv.slice(2);
const out = args[args.indexOf("-o") + 1];
const plat = args[args.indexOf("-p") + 1];
const d = out + "/tmp/esp32/xiao_esp32s3_sense/release/sealcam";
fs.mkdirSync(d + "/modules", { recursive: true });
for (const n of ["good", "bad"])
  fs.writeFileSync(d + "/modules/" + n + "-tsconfig.json", JSON.stringify({ compilerOptions: { strict: true, noEmit: true, types: [] }, files: [${JSON.stringify(src)} + "/" + n + ".ts"] }));
const lines = [
  "MODULES_DIR = " + d + "/modules",
  "TMP_DIR = " + d,
  "all:",
  "\\ttsc -p $(MODULES_DIR)/good-tsconfig.json",
  "\\ttsc -p $(MODULES_DIR)/bad-tsconfig.json",
  "\\txsc ${ROOT}/firmware/board/good.js -c -e -o $(@D) -r good",
  "\\txsc $(TMP_DIR)/tsc/bad.js -o $(@D)",
  "\\txsc /elsewhere/sdk.js -o $(@D)",
];
fs.writeFileSync(d + "/makefile", lines.join("\\n") + "\\n");
fs.writeFileSync(d + "/platform.txt", plat);
`;
  fs.writeFileSync(path.join(bin, "mcconfig"), mcconfig);
  fs.chmodSync(path.join(bin, "mcconfig"), 0o755);
  fs.writeFileSync(path.join(bin, "xsc"), '#!/bin/sh\ncase "$1" in *bad*) echo "xsc: syntax error" >&2; exit 1;; esac\nexit 0\n');
  fs.chmodSync(path.join(bin, "xsc"), 0o755);
  const out = path.join(dir, "check-out");
  const report = checkBuild(
    loadBoard("xiao_esp32s3_sense", HW),
    path.join(ROOT, "manifests", "manifest.json"),
    out,
    { PATH: `${bin}:${process.env.PATH}`, MODDABLE: sdk },
    path.join(ROOT, "node_modules", "typescript", "bin", "tsc"),
    ROOT,
  );
  const tmp = path.join(out, "tmp", "esp32", "xiao_esp32s3_sense", "release", "sealcam");
  expect(fs.readFileSync(path.join(tmp, "platform.txt"), "utf8").trim()).toBe("esp32/xiao_esp32s3_sense");
  expect(report.tsc.total).toBe(2);
  expect(report.tsc.failed.map((f) => path.basename(f.config))).toEqual(["bad-tsconfig.json"]);
  expect(report.tsc.failed[0].output).toMatch(/not assignable to type 'number'/);
  expect(report.xsc.total).toBe(2); // ours and tsc output; the SDK's own module is not ours to check
  expect(report.xsc.failed).toHaveLength(1);
  expect(report.xsc.failed[0].output).toMatch(/syntax error/);
});

function make(args: string[], env: NodeJS.ProcessEnv): { status: number | null; out: string } {
  // -o: never reinstall node_modules from inside a test
  const result = spawnSync("make", ["-s", "--no-print-directory", "-o", "node_modules/.sealcam-installed", ...args], {
    cwd: ROOT,
    env,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  return { status: result.status, out: result.stdout + result.stderr };
}

test("make firmware stops with install instructions when the SDK is missing, and make flash asks for what it needs", () => {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
  const noBoard = make(["firmware"], env);
  expect(noBoard.status).not.toBe(0);
  expect(noBoard.out).toMatch(/say which board: BOARD=<name>, one of: esp32s3_eye lilygo_t_camera_plus_s3 xiao_esp32s3_sense/);
  const unknown = make(["firmware", "BOARD=esp32_cam"], env);
  expect(unknown.out).toMatch(/unknown board 'esp32_cam'/);
  const noSdk = make(["firmware", "BOARD=xiao_esp32s3_sense"], env);
  expect(noSdk.status).not.toBe(0);
  expect(noSdk.out).toMatch(/MODDABLE is not set/);
  expect(noSdk.out).toMatch(/xs-dev setup --device esp32/);
  expect(noSdk.out).toMatch(/documentation\/devices\/esp32.md/);
  const noPort = make(["flash", "BOARD=xiao_esp32s3_sense"], env);
  expect(noPort.out).toMatch(/say which serial port/);
  const notBuilt = make(["flash", "BOARD=esp32s3_eye", "PORT=/dev/null", "FIRMWARE_DIR=build/none"], env);
  expect(notBuilt.out).toMatch(/no images in build\/none; run make firmware BOARD=esp32s3_eye first/);
});
