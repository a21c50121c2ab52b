/**
 * Runnable ESP32-S3 ROM simulator (bundled to dist/esp32s3-rom.cjs by mk/flash.mk):
 *
 *   node dist/esp32s3-rom.cjs --pty DIR [options]       makes DIR/ttyHOST <-> DIR/ttyDEV with socat and serves ttyDEV
 *   node dist/esp32s3-rom.cjs --port DEVICE [options]   serves an existing device end
 *     --flash-size 8MB | --board NAME   emulated flash size (default 8MB)
 *     --chip ESP32-S3|ESP32-C3|ESP32    pretend to be another chip
 *     --fault none|silent|bitflip       never answer, or flip a bit after each write
 *     --image FILE                      initial flash contents
 *     --dump FILE                       write the flash image here after every write/erase and at exit
 *     --verbose                         one line per command on stderr
 *
 * Then: sealcam flash --port DIR/ttyHOST --board NAME. Prints "ready <host port>" on stdout when serving;
 * exits on SIGTERM/SIGINT (removing the ptys it made) or when the port closes.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, constants, existsSync, mkdirSync, openSync, readFileSync, realpathSync, renameSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { loadBoard, parseSize } from "../hw/boards";
import { NodeSerialLink } from "../serial/link";
import { Esp32s3RomSim, type SimChip, type SimFault } from "./esp32s3-rom";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function run(argv: string[]): Promise<number> {
  const { values: a } = parseArgs({
    args: argv,
    options: {
      port: { type: "string" },
      pty: { type: "string" },
      "flash-size": { type: "string" },
      board: { type: "string" },
      chip: { type: "string", default: "ESP32-S3" },
      fault: { type: "string", default: "none" },
      image: { type: "string" },
      dump: { type: "string" },
      verbose: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (!a.port === !a.pty) {
    process.stderr.write("esp32s3-rom: give exactly one of --port DEVICE or --pty DIR\n");
    return 2;
  }
  if (!["ESP32-S3", "ESP32-C3", "ESP32"].includes(a.chip!) || !["none", "silent", "bitflip"].includes(a.fault!)) {
    process.stderr.write("esp32s3-rom: --chip ESP32-S3|ESP32-C3|ESP32, --fault none|silent|bitflip\n");
    return 2;
  }
  const flashSize = a.board ? loadBoard(a.board).flashBytes : parseSize(a["flash-size"] ?? "8MB");

  let socat: ChildProcess | null = null;
  let holdFd = -1;
  let device = a.port ? resolve(a.port) : "";
  let host = "";
  if (a.pty) {
    const dir = resolve(a.pty);
    mkdirSync(dir, { recursive: true });
    device = join(dir, "ttyDEV");
    host = join(dir, "ttyHOST");
    const child = spawn("socat", [`pty,raw,echo=0,link=${device}`, `pty,raw,echo=0,link=${host}`], { stdio: "ignore" });
    socat = child;
    process.once("exit", () => child.kill("SIGTERM"));
    for (let i = 0; i < 300 && !(existsSync(device) && existsSync(host)); i++) await sleep(10);
    if (!existsSync(device)) {
      process.stderr.write("esp32s3-rom: socat did not create the ptys (is socat installed?)\n");
      socat.kill();
      return 1;
    }
    // Hold the host end open so socat outlives a flasher that closes and reopens it (several runs in a row).
    holdFd = openSync(realpathSync(host), constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);
  }

  const dump = a.dump ? resolve(a.dump) : null;
  const save = () => {
    if (!dump) return;
    writeFileSync(dump + ".tmp", sim.flash);
    renameSync(dump + ".tmp", dump);
  };
  const sim: Esp32s3RomSim = new Esp32s3RomSim({
    flashSize,
    chip: a.chip as SimChip,
    fault: a.fault as SimFault,
    image: a.image ? new Uint8Array(readFileSync(a.image)) : undefined,
    trace: a.verbose ? (l) => process.stderr.write(l + "\n") : undefined,
    onChange: save,
  });
  save();
  const link = new NodeSerialLink(device);
  await link.open();
  const stop = async () => {
    await link.close();
  };
  process.once("SIGTERM", () => void stop());
  process.once("SIGINT", () => void stop());
  process.stdout.write(`ready ${host || device}\n`);
  await sim.serve(link);
  save();
  if (holdFd >= 0) closeSync(holdFd);
  if (socat) socat.kill("SIGTERM");
  if (a.verbose) process.stderr.write(`esp32s3-rom: ${JSON.stringify(sim.counts)}\n`);
  return 0;
}

run(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (e: unknown) => {
    process.stderr.write(`esp32s3-rom: ${(e as Error).message}\n`);
    process.exitCode = 1;
  },
);
