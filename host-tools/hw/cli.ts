/**
 * Board build helpers for mk/board.mk (bundled to build/hw-tools.cjs), also usable as `sealcam hw ...`:
 *
 *   hw validate [root]                      every manifest/board/partition rule (validate.ts)
 *   hw doctor                               is a Moddable SDK + ESP-IDF installed and usable? what to install
 *   hw platform <board>                     the mcconfig -p value for a board
 *   hw subplatform <board>                  the subplatform name mcconfig builds it as (output folders)
 *   hw cflags <IDF_PATH> <out.rsp>          the gcc response file with the extra ESP-IDF include folders
 *   hw check-build <board> <out-dir>        with only the Moddable SDK tools (no ESP-IDF): mcconfig generates the
 *                                           build, then mcconfig's per-module tsc and the SDK's xsc run on ours
 *   hw collect <board> <mcconfig-out> <dest> [--flavor release|debug]
 *                                           copies bootloader.bin, partition-table.bin, xs_esp32.bin into
 *                                           <dest> and writes <dest>/flasher.json (layout in docs/HARDWARE.md)
 */
import { findOnPath } from "../cli-kit/which";
import { labelCommand } from "./label";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { defaultHwDir, findPartition, loadBoard, type Board } from "./boards";
import { formatProblems, validateAll } from "./validate";
import { SealcamError } from "../../firmware/core/errors";
import { EXIT, runTool, UsageError } from "../cli-kit";

export const IMAGES = ["bootloader.bin", "partition-table.bin", "xs_esp32.bin"] as const;

export const INSTALL_HELP = [
  "Install the Moddable SDK and ESP-IDF v6.0 for ESP32-S3, either",
  "  - with xs-dev (https://github.com/HipsterBrown/xs-dev):",
  "      npm install -g xs-dev && xs-dev setup && xs-dev setup --device esp32",
  "  - or by hand, following Moddable's guide:",
  "      https://github.com/Moddable-OpenSource/moddable/blob/public/documentation/devices/esp32.md",
  "then, in the shell that runs make:",
  "  export MODDABLE=~/Projects/moddable        (the SDK checkout; its build/bin/<os>/release on PATH)",
  "  source ~/esp32/esp-idf/export.sh            (sets IDF_PATH and puts idf.py on PATH)",
].join("\n");

export interface DoctorReport {
  ok: boolean;
  problems: string[];
  mcconfig?: string;
  idfPy?: string;
}

/** Checks the environment make firmware needs; every problem names what to do about it. */
export function doctor(env: NodeJS.ProcessEnv = process.env): DoctorReport {
  const problems: string[] = [];
  const moddable = env.MODDABLE;
  let mcconfig: string | undefined;
  if (!moddable) problems.push("MODDABLE is not set: it must point at your Moddable SDK checkout");
  else if (!fs.existsSync(path.join(moddable, "build", "devices", "esp32")) || !fs.existsSync(path.join(moddable, "modules")))
    problems.push(`MODDABLE=${moddable} does not look like a Moddable SDK checkout (no build/devices/esp32 or modules/)`);
  else {
    const os = process.platform === "darwin" ? "mac" : "lin";
    const built = path.join(moddable, "build", "bin", os, "release", "mcconfig");
    mcconfig = findOnPath("mcconfig", env) ?? (fs.existsSync(built) ? built : undefined);
    if (!mcconfig) problems.push(`mcconfig is not built or not on PATH (expected ${built}); build the SDK tools (xs-dev setup does it)`);
  }
  const idf = env.IDF_PATH;
  if (!idf) problems.push("IDF_PATH is not set: source the ESP-IDF export.sh (ESP-IDF v6.0, the version Moddable 8.2 pins)");
  else if (!fs.existsSync(path.join(idf, "tools", "idf.py"))) problems.push(`IDF_PATH=${idf} is not an ESP-IDF checkout (no tools/idf.py)`);
  const idfPy = findOnPath("idf.py", env);
  if (idf && !idfPy) problems.push("idf.py is not on PATH: run `source $IDF_PATH/export.sh` in this shell");
  return { ok: problems.length === 0, problems, mcconfig, idfPy };
}

/** The value for `mcconfig -p`: an SDK target, or our own target folder by absolute path. */
export function platformArgument(board: Board): string {
  return board.targetDir ? `esp32:${board.targetDir}` : board.moddableTarget;
}

export interface FlasherManifest {
  schema: 1;
  board: string;
  chip: "ESP32-S3";
  flavor: "release" | "debug";
  flashSize: string;
  flashMode: string;
  flashFreq: string;
  /** Image files in this folder and where they go (hex strings, as in board.json). */
  images: { file: string; offset: string }[];
  partitions: { name: string; type: string; subtype: string; offset: string; size: string }[];
}

function hex(n: number): string {
  return "0x" + n.toString(16);
}

/** Finds mcconfig's bin folder for this build: <out>/bin/esp32/<sub>/<flavor>/<NAME>. */
export function findBinDir(board: Board, outDir: string, flavor: "release" | "debug"): string | undefined {
  const sub = board.moddableTarget.split("/")[1];
  for (const name of ["sealcam", "manifests"]) {
    const dir = path.join(outDir, "bin", "esp32", sub, flavor, name);
    if (fs.existsSync(path.join(dir, "xs_esp32.bin"))) return dir;
  }
  return undefined;
}

export function collect(board: Board, outDir: string, dest: string, flavor: "release" | "debug"): FlasherManifest {
  const bin = findBinDir(board, outDir, flavor);
  if (!bin) throw new Error(`no xs_esp32.bin under ${path.join(outDir, "bin", "esp32")}: did mcconfig finish?`);
  const missing = IMAGES.filter((f) => !fs.existsSync(path.join(bin, f)));
  if (missing.length > 0) throw new Error(`${bin} lacks ${missing.join(", ")}`);
  const app = findPartition(board, "factory");
  const size = fs.statSync(path.join(bin, "xs_esp32.bin")).size;
  if (size > app.size) throw new Error(`xs_esp32.bin is ${size} bytes but the factory partition holds ${app.size}`);
  fs.mkdirSync(dest, { recursive: true });
  for (const f of IMAGES) fs.copyFileSync(path.join(bin, f), path.join(dest, f));
  const manifest: FlasherManifest = {
    schema: 1,
    board: board.name,
    chip: "ESP32-S3",
    flavor,
    flashSize: board.flashSize,
    flashMode: board.flashMode,
    flashFreq: board.flashFreq,
    images: [
      { file: "bootloader.bin", offset: hex(board.offsets.bootloader) },
      { file: "partition-table.bin", offset: hex(board.offsets.partitionTable) },
      { file: "xs_esp32.bin", offset: hex(board.offsets.app) },
    ],
    partitions: board.partitions.map((p) => ({ name: p.name, type: p.type, subtype: p.subtype, offset: hex(p.offset), size: hex(p.size) })),
  };
  fs.writeFileSync(path.join(dest, "flasher.json"), JSON.stringify(manifest, null, 2) + "\n");
  return manifest;
}

/** Include folders (relative to IDF_PATH) our native C needs that Moddable's make.esp32.mk does not list. */
export const EXTRA_IDF_INCLUDES = [
  "components/esp_driver_usb_serial_jtag/include",
  "components/mbedtls/mbedtls/tf-psa-crypto/include",
  "components/mbedtls/mbedtls/tf-psa-crypto/drivers/builtin/include",
  "components/mbedtls/port/include",
];

/**
 * The gcc response file behind C_FLAGS_SUBPLATFORM ("@file"): one -I per line. Returns the folders that do
 * not exist in this ESP-IDF (reported, not fatal: the compiler then says which header it misses).
 */
export function writeIdfCflags(idfPath: string, out: string): string[] {
  const lines = EXTRA_IDF_INCLUDES.map((dir) => `-I${path.join(idfPath, dir)}`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, lines.join("\n") + "\n");
  return EXTRA_IDF_INCLUDES.filter((dir) => !fs.existsSync(path.join(idfPath, dir)));
}

export interface CheckReport {
  makefile: string;
  tsc: { total: number; failed: { config: string; output: string }[] };
  xsc: { total: number; failed: { command: string; output: string }[] };
}

/**
 * What can be built of a board firmware without ESP-IDF: mcconfig generates the build (manifest parsing,
 * platform matching, partitions, defines, sdkconfig merge), then every TypeScript module is compiled with the
 * tsconfig mcconfig wrote for it, and every one of our modules (TypeScript output and native bindings) is
 * compiled to XS bytecode with the SDK's xsc. Linking and the C/IDF part need the ESP-IDF toolchain.
 */
export function checkBuild(board: Board, manifest: string, outDir: string, env: NodeJS.ProcessEnv, tsc: string, ours: string): CheckReport {
  const mcconfig = doctor(env).mcconfig ?? findOnPath("mcconfig", env);
  if (!mcconfig) throw new Error("mcconfig not found: set MODDABLE and build the SDK tools (see docs/HARDWARE.md)");
  const sub = board.moddableTarget.split("/")[1];
  fs.mkdirSync(outDir, { recursive: true }); // mcconfig -o wants an existing folder
  const run = (cmd: string, args: string[], cwd?: string) => spawnSync(cmd, args, { cwd, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const gen = run(mcconfig, ["-o", outDir, "-p", platformArgument(board), path.basename(manifest)], path.dirname(manifest));
  if (gen.status !== 0) throw new Error(`mcconfig failed:\n${gen.stdout}${gen.stderr}`);
  const tmp = path.join(outDir, "tmp", "esp32", sub, "release", "sealcam");
  const makefile = path.join(tmp, "makefile");
  if (!fs.existsSync(makefile)) throw new Error(`mcconfig wrote no makefile at ${makefile}`);
  const text = fs.readFileSync(makefile, "utf8");
  const vars = (name: string): string => (new RegExp(`^${name}\\s*=\\s*(.*)$`, "m").exec(text)?.[1] ?? "").trim();
  const modulesDir = vars("MODULES_DIR");
  const tmpDir = vars("TMP_DIR");
  const configs = [...text.matchAll(/\btsc -p \$\(MODULES_DIR\)(\S+)/g)].map((m) => modulesDir + m[1]);
  const report: CheckReport = { makefile, tsc: { total: configs.length, failed: [] }, xsc: { total: 0, failed: [] } };
  for (const config of configs) {
    const r = run(process.execPath, [tsc, "-p", config]);
    if (r.status !== 0) report.tsc.failed.push({ config, output: (r.stdout + r.stderr).trim() });
  }
  const xscOut = path.join(outDir, "xsc-check");
  fs.mkdirSync(xscOut, { recursive: true });
  const xscLines = text.split("\n").filter((l) => /^\txsc /.test(l) && (l.includes(ours) || l.includes("/tsc/")));
  report.xsc.total = xscLines.length;
  for (const line of xscLines) {
    const args = line.trim().split(/\s+/).slice(1).map((a) => a.replace("$(TMP_DIR)", tmpDir).replace("$(@D)", xscOut));
    const r = run(path.join(path.dirname(mcconfig), "xsc"), args);
    if (r.status !== 0) report.xsc.failed.push({ command: line.trim(), output: (r.stdout + r.stderr).trim() });
  }
  return report;
}

const out = (line: string) => process.stdout.write(line + "\n");
const BOARD = { min: 1, max: 1 };

/** `sealcam hw <command>` (also build/hw-tools.cjs for mk/board.mk). */
export async function main(argv: string[]): Promise<number> {
  return runTool({
    name: "hw",
    summary: "board definitions and firmware build helpers",
    commands: [
      {
        name: "validate", args: "[ROOT]", positionals: { min: 0, max: 1 }, options: {},
        summary: "check every manifest/board/partition rule (default root: this repository)",
        run: async (args) => {
          const root = path.resolve(args.positionals[0] ?? path.dirname(defaultHwDir()));
          const problems = validateAll({ root });
          if (problems.length > 0) {
            process.stderr.write(formatProblems(problems, root) + "\n");
            throw new SealcamError("E_FORMAT", `${problems.length} problem(s) in manifests/ or hw/`);
          }
          out("hw: manifests, boards and partition tables are consistent");
          return EXIT.OK;
        },
      },
      {
        name: "doctor", options: {},
        summary: "is a Moddable SDK + ESP-IDF installed and usable? what to install (exit 1 when not)",
        run: async () => {
          const report = doctor();
          if (report.ok) {
            out(`hw: Moddable SDK (${report.mcconfig}) and ESP-IDF (${report.idfPy}) found`);
            return EXIT.OK;
          }
          process.stderr.write(["make firmware needs the Moddable SDK and ESP-IDF, and this shell lacks them:", ...report.problems.map((p) => "  - " + p), "", INSTALL_HELP, ""].join("\n"));
          return EXIT.FAILED;
        },
      },
      {
        name: "platform", args: "BOARD", positionals: BOARD, options: {},
        summary: "the mcconfig -p value for a board",
        run: async (args) => (out(platformArgument(loadBoard(args.positionals[0]))), EXIT.OK),
      },
      {
        name: "subplatform", args: "BOARD", positionals: BOARD, options: {},
        summary: "the subplatform name mcconfig builds a board as (output folders)",
        run: async (args) => (out(loadBoard(args.positionals[0]).moddableTarget.split("/")[1]), EXIT.OK),
      },
      {
        name: "cflags", args: "IDF_PATH OUT.rsp", positionals: { min: 2, max: 2 }, options: {},
        summary: "write the gcc response file with the extra ESP-IDF include folders",
        run: async (args) => {
          const [idfPath, outFile] = args.positionals;
          const missing = writeIdfCflags(idfPath, path.resolve(outFile));
          for (const dir of missing) process.stderr.write(`hw: warning: ${path.join(idfPath, dir)} does not exist in this ESP-IDF\n`);
          return EXIT.OK;
        },
      },
      {
        name: "check-build", args: "BOARD OUT_DIR", positionals: { min: 2, max: 2 }, options: {},
        summary: "with only the Moddable SDK tools (no ESP-IDF): mcconfig generates the build, then mcconfig's\n" +
          "per-module tsc and the SDK's xsc run on our modules",
        run: async (args) => {
          const [name, outDir] = args.positionals;
          const root = path.dirname(defaultHwDir());
          const report = checkBuild(
            loadBoard(name),
            path.join(root, "manifests", "manifest.json"),
            path.resolve(outDir),
            process.env,
            path.join(root, "node_modules", "typescript", "bin", "tsc"),
            root,
          );
          out(`hw: mcconfig generated ${report.makefile}`);
          out(`hw: tsc ${report.tsc.total - report.tsc.failed.length}/${report.tsc.total} modules compiled with mcconfig's tsconfig`);
          out(`hw: xsc ${report.xsc.total - report.xsc.failed.length}/${report.xsc.total} of our modules compiled to XS bytecode`);
          for (const f of report.tsc.failed) process.stderr.write(`tsc ${f.config}\n${f.output}\n`);
          for (const f of report.xsc.failed) process.stderr.write(`${f.command}\n${f.output}\n`);
          return report.tsc.failed.length + report.xsc.failed.length === 0 ? EXIT.OK : EXIT.FAILED;
        },
      },
      {
        name: "collect", args: "BOARD MCCONFIG_OUT DEST", positionals: { min: 3, max: 3 },
        options: { flavor: { type: "string", arg: "FLAVOR", default: "release", help: "release or debug" } },
        summary: "copy bootloader.bin, partition-table.bin, xs_esp32.bin into DEST and write DEST/flasher.json",
        run: async (args) => {
          const [name, outDir, dest] = args.positionals;
          const flavor = args.string("flavor");
          if (flavor !== "release" && flavor !== "debug") throw new UsageError(`--flavor must be release or debug, not '${flavor}'`);
          const manifest = collect(loadBoard(name), path.resolve(outDir), path.resolve(dest), flavor);
          out(`hw: images for ${manifest.board} in ${dest}: ${manifest.images.map((i) => `${i.file}@${i.offset}`).join(" ")}`);
          return EXIT.OK;
        },
      },
      {
        name: "label", synopsis: "(--label-file F | --data DIR) --out FILE.svg|FILE.png",
        options: {
          "label-file": { type: "string", arg: "F", help: "a file holding the label string (SEALCAM:1:...)" },
          data: { type: "string", arg: "DIR", help: "a board-sim data folder (its label.txt)" },
          out: { type: "string", arg: "FILE", help: "the label to write: FILE.svg or FILE.png (written 0600)" },
        },
        summary: "a printable camera label (QR of the label string + text)",
        run: async (args) => {
          const rest: string[] = [];
          for (const name of ["label-file", "data", "out"]) {
            const value = args.string(name);
            if (value !== undefined) rest.push(`--${name}`, value);
          }
          return labelCommand(rest, out);
        },
      },
    ],
  }, argv);
}
