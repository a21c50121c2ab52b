/**
 * `sealcam flash`: write a build to a camera board over serial.
 *
 *   sealcam flash --port /dev/ttyACM0 --board xiao_esp32s3_sense [--build DIR] [--baud 921600]
 *                 [--erase-config] [--erase-all [--yes]] [--erase-only] [--json] [--verbose]
 *
 * Everything that can be checked without the board (board definition, build files, image sizes against the
 * partitions, confirmation for --erase-all) is checked before the port is opened.
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { isSealcamError, SealcamError } from "../../firmware/core/errors";
import { exitCodeFor, formatError, runTool, type Args } from "../cli-kit";
import { processIo, readLine, type CliIo } from "../serial/cli-io";
import { usbIdsForPath } from "../serial/ports";
import { defaultHwDir } from "../hw/boards";
import { loadFlashBoard } from "./board";
import { flashBoard, type FlashEvents, type Stage } from "./flasher";
import { findBuildFiles, nvsPartition, otadataPartition, planRegions, type FlashPartitionDef, type Region } from "./layout";

interface Renderer {
  events: FlashEvents;
  info(text: string): void;
  done(result: Record<string, unknown>, summary: string[]): void;
  error(e: SealcamError): void;
}

function hex(n: number): string {
  return "0x" + n.toString(16);
}

function makeRenderer(io: CliIo, mode: "json" | "tty" | "plain", verbose: boolean): Renderer {
  const out = (s: string) => io.stdout.write(s);
  if (mode === "json") {
    const emit = (o: Record<string, unknown>) => out(JSON.stringify(o) + "\n");
    return {
      events: {
        stage: (stage, detail) => emit({ event: "stage", stage, detail }),
        progress: (r, sent, total) => emit({ event: "progress", region: r.name, address: r.address, sent, total }),
        log: (line) => (verbose ? emit({ event: "log", line }) : undefined),
      },
      info: (text) => emit({ event: "info", detail: text }),
      done: (result) => emit({ event: "done", ...result }),
      error: (e) => emit({ event: "error", code: e.code, message: e.message }),
    };
  }
  let barOpen = false;
  const closeBar = () => {
    if (barOpen) out("\n");
    barOpen = false;
  };
  const lastStep = new Map<string, number>();
  const stageLine = (stage: Stage, detail: string) => {
    closeBar();
    out(`${stage.padEnd(9)} ${detail}\n`);
  };
  return {
    events: {
      stage: stageLine,
      progress: (r: Region, sent: number, total: number) => {
        const frac = total > 0 ? sent / total : 1;
        if (mode === "tty") {
          const width = Math.max(10, Math.min(40, (io.stdout.columns ?? 80) - 50));
          const filled = Math.round(frac * width);
          out(`\r  ${r.name.padEnd(15)} ${hex(r.address).padStart(8)} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${String(Math.floor(frac * 100)).padStart(3)}%`);
          barOpen = true;
        } else {
          const step = Math.floor(frac * 4); // a line at 0, 25, 50, 75 and 100 %
          if (sent === 0) lastStep.set(r.name, -1);
          if (lastStep.get(r.name) !== step) {
            out(`  ${r.name} ${step * 25}% (${sent}/${total} bytes sent, compressed)\n`);
            lastStep.set(r.name, step);
          }
        }
      },
      log: (line) => {
        if (!verbose) return;
        closeBar();
        out(`  | ${line}\n`);
      },
    },
    info: (text) => {
      closeBar();
      out(`${text}\n`);
    },
    done: (_result, summary) => {
      closeBar();
      for (const line of summary) out(line + "\n");
    },
    error: (e) => {
      closeBar();
      io.stderr.write(formatError("flash", e) + "\n");
    },
  };
}

/** build/firmware/<board> (where `make firmware` leaves it) under the current directory, else under the repository. */
function defaultBuildDir(board: string): string {
  const here = resolve("build", "firmware", board);
  if (existsSync(here)) return here;
  return join(dirname(defaultHwDir()), "build", "firmware", board);
}

function parseBaud(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 9600 || n > 5_000_000) throw new SealcamError("E_ARGUMENT", `--baud ${text}: give a rate such as 115200, 460800 or 921600`);
  return n;
}

export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  return runTool({
    name: "flash",
    summary: "flash a camera board over serial (esptool-js)",
    commands: {
      summary: "Writes the bootloader, partition table and application of a build to an ESP32-S3 camera board\n" +
        "(esptool protocol: compressed, each region verified by MD5), then resets it.",
      synopsis: "--port PORT --board NAME",
      options: {
        port: { type: "string", arg: "PORT", help: "serial port of the board (`sealcam ports` lists them)" },
        board: { type: "string", arg: "NAME", help: "board definition in hw/NAME (flash layout and chip)" },
        build: { type: "string", arg: "DIR", help: "build output (default: build/firmware/NAME)" },
        baud: { type: "string", arg: "N", default: "921600", help: "baud rate after the stub is running" },
        "erase-config": { type: "boolean", help: "also erase the NVS partition: settings, enrollment and keys (factory reset)" },
        "erase-all": { type: "boolean", help: "erase the whole flash first (asks for confirmation; --yes skips it)" },
        "erase-only": { type: "boolean", help: "write nothing; only do the erases asked for" },
        yes: { type: "boolean", short: "y", help: "do not ask before --erase-all" },
        json: { type: "boolean", help: "one JSON object per line on stdout (stages, progress, result or error)" },
        verbose: { type: "boolean", short: "v", help: "show esptool's own output" },
        // for tests and unusual setups
        "hw-dir": { type: "string", arg: "DIR", hidden: true, help: "board definitions folder" },
        "connect-attempts": { type: "string", arg: "N", hidden: true, help: "connection attempts" },
      },
      run: (parsed) => flash(parsed, io),
    },
  }, argv, io);
}

async function flash(parsed: Args, io: CliIo): Promise<number> {
  const args = {
    port: parsed.string("port"), board: parsed.string("board"), build: parsed.string("build"), baud: parsed.string("baud"),
    "erase-config": parsed.flag("erase-config"), "erase-all": parsed.flag("erase-all"), "erase-only": parsed.flag("erase-only"),
    yes: parsed.flag("yes"), json: parsed.flag("json"), verbose: parsed.flag("verbose"),
    "hw-dir": parsed.string("hw-dir"), "connect-attempts": parsed.string("connect-attempts"),
  };
  // A closed pipe (`| head`) must not kill a flash half-way: the board would be left without a bootloader.
  io.stdout.on("error", () => undefined);
  const mode = args.json ? "json" : io.stdout.isTTY ? "tty" : "plain";
  const ui = makeRenderer(io, mode, args.verbose === true);
  try {
    if (!args.port || !args.board) throw new SealcamError("E_ARGUMENT", "--port and --board are required (`sealcam flash --help`)");
    const baud = parseBaud(args.baud ?? "921600");
    const board = loadFlashBoard(args.board, args["hw-dir"] ? resolve(args["hw-dir"]) : undefined);
    const eraseOnly = args["erase-only"] === true;
    if (eraseOnly && !args["erase-config"] && !args["erase-all"])
      throw new SealcamError("E_ARGUMENT", "--erase-only needs --erase-config or --erase-all");

    let regions: Region[] = [];
    if (!eraseOnly) {
      const buildDir = args.build ? resolve(args.build) : defaultBuildDir(board.name);
      regions = planRegions(board, findBuildFiles(buildDir, board.name));
    }
    const erase: FlashPartitionDef[] = [];
    if (args["erase-config"]) erase.push(nvsPartition(board));
    // A stale otadata could boot another slot than the app just written; idf.py flash resets it the same way.
    const ota = otadataPartition(board);
    if (ota && !eraseOnly) erase.push(ota);

    if (args["erase-all"] && !args.yes) {
      if (!io.stdin.isTTY)
        throw new SealcamError("E_ARGUMENT", "--erase-all wipes the whole flash (settings, keys, queued clips); add --yes to confirm");
      io.stderr.write(`Erase the whole ${board.flashSize / 1048576} MB flash of the board on ${args.port}, including its settings, keys and queued clips? [y/N] `);
      const answer = await readLine(io.stdin);
      if (!answer || !/^y(es)?$/i.test(answer.trim())) {
        io.stderr.write("not erased; nothing was changed\n");
        return 1;
      }
    }

    const usb = usbIdsForPath(args.port);
    const attempts = args["connect-attempts"] ? Number(args["connect-attempts"]) : undefined;
    const result = await flashBoard(
      { port: args.port, board, regions, baud, usb, erase, eraseAll: args["erase-all"] === true, connectAttempts: attempts },
      ui.events,
    );
    const summary = [
      `done      ${result.description} on ${args.port}, ${result.regions.length} region(s) written and verified` +
        (result.erased.length ? `, erased ${result.erased.map((e) => e.name).join(", ")}` : "") +
        ` in ${result.seconds.toFixed(1)} s`,
    ];
    if (!result.resetByLines) summary.push("          press RESET on the board to start the new firmware");
    ui.done({ ...result }, summary);
    return 0;
  } catch (e) {
    const err = isSealcamError(e) ? e : new SealcamError("E_INTERNAL", (e as Error).message ?? String(e));
    ui.error(err);
    return exitCodeFor(err);
  }
}
