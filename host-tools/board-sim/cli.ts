/**
 * `sealcam board-sim --data DIR [...]`: runs one simulated camera until interrupted (docs/BOARD-SIM.md,
 * "The simulated board"). Commands on stdin: trigger, pir, scene SCENE, net down [S], net up, cut [POINT],
 * status, quit. The camera records on motion in its synthetic scene (--scene, default motion).
 * No secret is taken on the command line (visible in `ps`): the home Wi-Fi password comes from
 * --wifi-password-file or SEALCAM_WIFI_PASSWORD.
 */
import * as fs from "node:fs";
import * as readline from "node:readline";
import type { LogRecord, NetworkConfig } from "./services";
import { SimulatedBoard, type FirmwareRunner, type SimulatedBoardOptions } from "./simulator";
import { parseScene } from "./synthetic-camera";
import { defaultAirDir } from "./air";

const USAGE = `usage: sealcam board-sim --data DIR [options]

  --data DIR            the board's persistent state (NVS page file, queue flash, label); created if new
  --cloud URL           the only origin the board's network reaches (default: any)
  --setup-port P        loopback port of the soft AP's setup API (default: a free port; printed)
  --air DIR             the simulated airspace the soft AP appears in, joinable by SSID and its WPA2
                        password (default: SEALCAM_SIM_AIR, else <tmp>/sealcam-air-<uid>)
  --uart-link PATH      where the UART pty link goes (default: DIR/uart; printed)
  --scene SCENE         what the camera films: motion (a walk of 3 s every 15 s; motion:PERIOD/LENGTH[/FIRST]),
                        still, noise, script:A-B,C-D (walks from A to B s); default motion. The firmware
                        records on motion it detects in these frames
  --no-motion           no motion detection: record only on triggers (the camera runs only while recording)
  --trigger-every S     also a trigger every S seconds (default: only on the 'trigger' command)
  --clip-seconds S      clip length (default 10)          --fps N      frames per second (default 5)
  --width W --height H  frame size (default 640x480)
  --wifi-ssid NAME      the home network the board can join (default: any); its password from
  --wifi-password-file F  (first line of F) or the SEALCAM_WIFI_PASSWORD environment variable
  --cut-power-at POINT  arm a power cut (repeatable): storage:<key>, log:<event>, step:<name>,
                        flash-write[:N], flash-erase[:N]
  --engine xs|node      run the firmware in the XS host (default) or in this Node process (fallback);
                        xs-stress: the GC-stress XS host (collects on every allocation; slow)
                        xs-board32: the 32-bit XS host inside the manifest's creation limits
  --quiet               do not echo UART lines; print only milestones, warnings and errors

stdin commands: trigger | pir | scene SCENE | net down [S] | net up | cut [POINT] | status | quit`;

interface Parsed {
  flags: Map<string, string[]>;
  bools: Set<string>;
}

const VALUE_FLAGS = new Set([
  "data", "cloud", "setup-port", "uart-link", "trigger-every", "clip-seconds", "fps", "width", "height",
  "wifi-ssid", "wifi-password-file", "cut-power-at", "engine", "scene", "air",
]);
/** Options that would put a secret in argv: refused, with the way to pass it instead. */
const SECRET_FLAGS: Record<string, string> = {
  "wifi-password": "--wifi-password on the command line is visible to every user (ps); use --wifi-password-file FILE or SEALCAM_WIFI_PASSWORD",
};
const BOOL_FLAGS = new Set(["quiet", "help", "no-motion"]);

function parse(argv: string[]): Parsed | string {
  const flags = new Map<string, string[]>();
  const bools = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "-h") {
      bools.add("help");
      continue;
    }
    if (!arg.startsWith("--")) return `unexpected argument '${arg}'`;
    const name = arg.slice(2);
    if (SECRET_FLAGS[name]) return SECRET_FLAGS[name];
    if (BOOL_FLAGS.has(name)) {
      bools.add(name);
      continue;
    }
    if (!VALUE_FLAGS.has(name)) return `unknown option --${name}`;
    const value = argv[++i];
    if (value === undefined) return `--${name} needs a value`;
    flags.set(name, [...(flags.get(name) ?? []), value]);
  }
  return { flags, bools };
}

function numberFlag(parsed: Parsed, name: string, min: number, max: number): number | undefined {
  const value = parsed.flags.get(name)?.at(-1);
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max) throw new Error(`--${name} must be a number in ${min}..${max}`);
  return n;
}

/** Everything `main` needs to build the board, from argv and the environment (no runner, nothing started). */
export interface BoardCliOptions {
  dataDir: string;
  engine: string;
  setupPort: number;
  airDir: string;
  uartLink: string | undefined;
  triggerEverySeconds: number | undefined;
  scene: string | undefined;
  firmwareConfig: Record<string, unknown>;
  network: NetworkConfig;
  cutPowerAt: string[];
  quiet: boolean;
  help: boolean;
}

/** The home Wi-Fi password: first line of --wifi-password-file, else SEALCAM_WIFI_PASSWORD, else none. */
function wifiPassword(parsed: Parsed, env: Record<string, string | undefined>): string | undefined {
  const file = parsed.flags.get("wifi-password-file")?.at(-1);
  if (file !== undefined) {
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (error) {
      throw new Error(`cannot read --wifi-password-file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    return text.split(/\r?\n/)[0];
  }
  return env.SEALCAM_WIFI_PASSWORD;
}

/** Parses argv (and SEALCAM_WIFI_PASSWORD); returns the options or an error message for the user. */
export function boardOptions(argv: string[], env: Record<string, string | undefined> = process.env): BoardCliOptions | string {
  const parsed = parse(argv);
  if (typeof parsed === "string") return parsed;
  const help = parsed.bools.has("help");
  const dataDir = parsed.flags.get("data")?.at(-1);
  if (!dataDir && !help) return "--data DIR is required";
  try {
    const firmwareConfig: Record<string, unknown> = {};
    const clipSeconds = numberFlag(parsed, "clip-seconds", 0.2, 600);
    if (clipSeconds !== undefined) firmwareConfig.clipMs = Math.round(clipSeconds * 1000);
    const sensor: Record<string, number> = {};
    const fps = numberFlag(parsed, "fps", 1, 30);
    if (fps !== undefined) sensor.framesPerSecond = fps;
    const width = numberFlag(parsed, "width", 16, 1600);
    if (width !== undefined) sensor.width = width;
    const height = numberFlag(parsed, "height", 16, 1200);
    if (height !== undefined) sensor.height = height;
    if (Object.keys(sensor).length > 0) firmwareConfig.sensor = sensor;
    const motion = !parsed.bools.has("no-motion");
    if (motion) firmwareConfig.motion = { enabled: true };
    const scene = parsed.flags.get("scene")?.at(-1) ?? (motion ? "motion" : undefined);
    if (scene !== undefined) parseScene(scene);
    const cloud = parsed.flags.get("cloud")?.at(-1);
    if (cloud !== undefined && !/^https?:\/\/[^/]+\/?$/.test(cloud)) throw new Error("--cloud must be an http(s) origin, e.g. http://127.0.0.1:8080");
    return {
      dataDir: dataDir ?? "",
      engine: parsed.flags.get("engine")?.at(-1) ?? "xs",
      setupPort: numberFlag(parsed, "setup-port", 0, 65535) ?? 0,
      airDir: parsed.flags.get("air")?.at(-1) ?? defaultAirDir(env),
      uartLink: parsed.flags.get("uart-link")?.at(-1),
      triggerEverySeconds: numberFlag(parsed, "trigger-every", 0.5, 86400),
      scene,
      firmwareConfig,
      network: {
        ssid: parsed.flags.get("wifi-ssid")?.at(-1),
        password: wifiPassword(parsed, env),
        allowedOrigin: cloud ? new URL(cloud).origin : undefined,
      },
      cutPowerAt: parsed.flags.get("cut-power-at") ?? [],
      quiet: parsed.bools.has("quiet"),
      help,
    };
  } catch (error) {
    return (error as Error).message;
  }
}

/** The runner for `--engine`: the XS host (issue 4's BoardSim), its GC-stress build, or this Node process. */
export async function createRunner(engine: string): Promise<() => FirmwareRunner> {
  if (engine === "node") {
    const { InProcessRunner } = await import("./simulator");
    const { inProcessMain } = await import("./in-process");
    return () => new InProcessRunner(inProcessMain);
  }
  if (engine === "xs" || engine === "xs-stress" || engine === "xs-board32") {
    const { XsRunner, prepareXsFirmware } = await import("./xs-runner");
    const stress = engine === "xs-stress";
    const prepared = await prepareXsFirmware({ stress, board32: engine === "xs-board32" });
    return () => new XsRunner(prepared, stress ? { XS_STRESS: "1" } : {});
  }
  throw new Error(`--engine must be xs, xs-stress, xs-board32 or node`);
}

export async function main(argv: string[]): Promise<number> {
  const options = boardOptions(argv);
  if (typeof options === "string") {
    process.stderr.write(`sealcam board-sim: ${options}\n\n${USAGE}\n`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  let board: SimulatedBoard;
  try {
    const runner = await createRunner(options.engine);
    const boardOptions: SimulatedBoardOptions = {
      dataDir: options.dataDir,
      runner,
      setupPort: options.setupPort,
      airDir: options.airDir,
      uartLink: options.uartLink,
      triggerEverySeconds: options.triggerEverySeconds,
      scene: options.scene,
      firmwareConfig: options.firmwareConfig,
      network: options.network,
      cutPowerAt: options.cutPowerAt,
    };
    board = new SimulatedBoard(boardOptions);
  } catch (error) {
    process.stderr.write(`sealcam board-sim: ${(error as Error).message}\n`);
    return 2;
  }
  const quiet = options.quiet;
  const say = (text: string) => process.stdout.write(`[board-sim] ${text}\n`);
  board.on("notice", (text: string) => say(text));
  if (!quiet) board.on("uart", (line: string) => process.stdout.write(`uart> ${line}\n`));
  else {
    // Quiet: only the milestones and the problems.
    const milestones = new Set(["setup.start", "setup.end", "camera.enrolled", "cloud.registered", "record.done", "queue.drained", "roster.update", "wifi.up", "wifi.down"]);
    board.on("log", (record: LogRecord) => {
      if (milestones.has(record.e) || record.l === "warn" || record.l === "error") {
        say(`${record.l} ${record.e}: ${record.m}${record.f ? " " + JSON.stringify(record.f) : ""}`);
      }
    });
  }
  await board.start();
  say(`camera ${board.factory.ssid} (mac ${board.factory.mac}), data in ${board.dataDir}`);
  say(`label: ${board.dataDir}/label.txt (private: it gives the setup secret and the access point's password)`);
  say(`soft AP on the simulated air in ${options.airDir} (join it with: sealcam phone add-camera --label-file ${board.dataDir}/label.txt --join ...)`);
  if (board.uartPath) say(`UART on ${board.uartPath} -> ${board.uart!.devicePath} (sealcam console --port ${board.uartPath})`);

  const done = new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
    if (process.stdin.isTTY || !process.stdin.readableEnded) {
      const rl = readline.createInterface({ input: process.stdin });
      rl.on("line", (line) => {
        const [command, ...args] = line.trim().split(/\s+/);
        try {
          if (command === "trigger") board.trigger("command");
          else if (command === "pir") board.pir();
          else if (command === "scene" && args[0]) board.setScene(args[0]);
          else if (command === "net" && args[0] === "down") board.dropNetwork(Number(args[1] ?? "0"));
          else if (command === "net" && args[0] === "up") board.restoreNetwork();
          else if (command === "cut" && args[0]) board.cutPowerAt(args[0]);
          else if (command === "cut") void board.cutPower("command");
          else if (command === "status") {
            say(`boot ${board.bootCount}, wifi ${board.services.wifiState}, network ${board.services.networkUp ? "up" : "down"}, ` +
              `setup ${board.setupUrl || "-"}, frames ${board.services.camera.framesProduced}, http requests ${board.services.httpRequests}`);
          } else if (command === "quit" || command === "exit") resolve();
          else if (command) say(`unknown command '${command}' (trigger, pir, scene SCENE, net down [S], net up, cut [POINT], status, quit)`);
        } catch (error) {
          say((error as Error).message);
        }
      });
      rl.on("close", () => {
        if (!process.stdin.isTTY) return; // piped stdin ended: keep running until a signal
        resolve();
      });
    }
  });
  const crashed = new Promise<string>((resolve) => board.once("crash", resolve));
  const outcome = await Promise.race([done.then(() => ""), crashed]);
  await board.stop();
  if (outcome) {
    process.stderr.write(`sealcam board-sim: firmware stopped: ${outcome}\n`);
    return 1;
  }
  return 0;
}
