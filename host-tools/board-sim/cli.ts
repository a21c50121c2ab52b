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
import { EXIT, parseWith, runTool, UsageError, type Args, type Options } from "../cli-kit";

/** board-sim's options (cli-kit), shared by `main` and `boardOptions`. */
const OPTIONS: Options = {
  data: { type: "string", arg: "DIR", help: "the board's persistent state (NVS page file, queue flash, label); created if new" },
  cloud: { type: "string", arg: "URL", help: "the only origin the board's network reaches (default: any)" },
  "setup-port": { type: "string", arg: "P", help: "loopback port of the soft AP's setup API (default: a free port; printed)" },
  air: { type: "string", arg: "DIR", help: "the simulated airspace the soft AP appears in, joinable by SSID and its WPA2\npassword (default: SEALCAM_SIM_AIR, else <tmp>/sealcam-air-<uid>)" },
  "uart-link": { type: "string", arg: "PATH", help: "where the UART pty link goes (default: DIR/uart; printed)" },
  scene: { type: "string", arg: "SCENE", help: "what the camera films: motion (a walk of 3 s every 15 s; motion:PERIOD/LENGTH[/FIRST]),\nstill, noise, script:A-B,C-D (walks from A to B s); default motion. The firmware\nrecords on motion it detects in these frames" },
  "no-motion": { type: "boolean", help: "no motion detection: record only on triggers (the camera runs only while recording)" },
  "trigger-every": { type: "string", arg: "S", help: "also a trigger every S seconds (default: only on the 'trigger' command)" },
  "clip-seconds": { type: "string", arg: "S", help: "clip length (default 10)" },
  fps: { type: "string", arg: "N", help: "frames per second (default 5)" },
  width: { type: "string", arg: "W", help: "frame width (default 640)" },
  height: { type: "string", arg: "H", help: "frame height (default 480)" },
  "wifi-ssid": { type: "string", arg: "NAME", help: "the home network the board can join (default: any)" },
  "wifi-password-file": { type: "string", arg: "F", help: "its password: the first line of F (else SEALCAM_WIFI_PASSWORD)" },
  "cut-power-at": { type: "string", arg: "POINT", multiple: true, help: "arm a power cut (repeatable): storage:<key>, log:<event>, step:<name>,\nflash-write[:N], flash-erase[:N]" },
  engine: { type: "string", arg: "ENGINE", help: "xs: the firmware in the XS host (default); node: in this Node process (fallback);\nxs-stress: the GC-stress XS host (collects on every allocation; slow);\nxs-board32: the 32-bit XS host inside the manifest's creation limits" },
  quiet: { type: "boolean", help: "do not echo UART lines; print only milestones, warnings and errors" },
};

const COMMANDS_HELP = "trigger | pir | scene SCENE | net down [S] | net up | cut [POINT] | status | quit";

/** Options that would put a secret in argv: refused, with the way to pass it instead. */
const SECRET_FLAGS: Record<string, string> = {
  "wifi-password": "--wifi-password on the command line is visible to every user (ps); use --wifi-password-file FILE or SEALCAM_WIFI_PASSWORD",
};

type Parsed = Args;

function numberFlag(parsed: Parsed, name: string, min: number, max: number): number | undefined {
  return parsed.number(name, min, max);
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
  const file = parsed.string("wifi-password-file");
  if (file !== undefined) {
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (error) {
      throw new UsageError(`cannot read --wifi-password-file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    return text.split(/\r?\n/)[0];
  }
  return env.SEALCAM_WIFI_PASSWORD;
}

/** Parses argv (and SEALCAM_WIFI_PASSWORD); returns the options or an error message for the user. */
export function boardOptions(argv: string[], env: Record<string, string | undefined> = process.env): BoardCliOptions | string {
  try {
    return optionsFromArgs(parseWith(OPTIONS, argv, SECRET_FLAGS), env);
  } catch (error) {
    return (error as Error).message;
  }
}

function optionsFromArgs(parsed: Args, env: Record<string, string | undefined>): BoardCliOptions {
  const help = parsed.flag("help");
  const dataDir = parsed.string("data");
  if (!dataDir && !help) throw new UsageError("--data DIR is required");
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
  const motion = !parsed.flag("no-motion");
  if (motion) firmwareConfig.motion = { enabled: true };
  const scene = parsed.string("scene") ?? (motion ? "motion" : undefined);
  try {
    if (scene !== undefined) parseScene(scene);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const cloud = parsed.string("cloud");
  if (cloud !== undefined && !/^https?:\/\/[^/]+\/?$/.test(cloud)) throw new UsageError("--cloud must be an http(s) origin, e.g. http://127.0.0.1:8080");
  const engine = parsed.string("engine") ?? "xs";
  if (!ENGINES.includes(engine)) throw new UsageError(`--engine must be ${ENGINES.join(", ")}, not '${engine}'`);
  return {
    dataDir: dataDir ?? "",
    engine,
    setupPort: parsed.int("setup-port", 0, 65535) ?? 0,
    airDir: parsed.string("air") ?? defaultAirDir(env),
    uartLink: parsed.string("uart-link"),
    triggerEverySeconds: numberFlag(parsed, "trigger-every", 0.5, 86400),
    scene,
    firmwareConfig,
    network: {
      ssid: parsed.string("wifi-ssid"),
      password: wifiPassword(parsed, env),
      allowedOrigin: cloud ? new URL(cloud).origin : undefined,
    },
    cutPowerAt: parsed.list("cut-power-at"),
    quiet: parsed.flag("quiet"),
    help,
  };
}

const ENGINES = ["xs", "xs-stress", "xs-board32", "node"];

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
  return runTool({
    name: "board-sim",
    summary: "run one camera: the firmware in XS on this host",
    refused: SECRET_FLAGS,
    commands: {
      summary: "Runs one simulated camera until Ctrl-C (SIGINT), SIGTERM or the 'quit' command (docs/BOARD-SIM.md).\n" +
        "No secret is taken on the command line (visible in `ps`).",
      synopsis: "--data DIR",
      options: OPTIONS,
      details: `stdin commands: ${COMMANDS_HELP}\n` +
        "Piped stdin that ends does not stop the board (it runs until a signal).\n" +
        "Exit 0 after a clean stop (quit, Ctrl-C, SIGTERM); 1 when the firmware stopped on its own (a crash).",
      run: (args) => runBoard(optionsFromArgs(args, process.env)),
    },
  }, argv);
}

async function runBoard(options: BoardCliOptions): Promise<number> {
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
    throw Object.assign(new Error(`cannot start: ${(error as Error).message}`), { code: (error as { code?: string }).code ?? "E_STATE" });
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

  // Stop on SIGINT/SIGTERM, 'quit'/'exit', or (on a terminal) the end of input; then release stdin and the
  // signal handlers, or the open readline would keep this process alive after the firmware stopped.
  let stop: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (stop = resolve));
  const onSignal = () => stop();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  let rl: readline.Interface | null = null;
  if (process.stdin.isTTY || !process.stdin.readableEnded) {
    rl = readline.createInterface({ input: process.stdin });
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
        } else if (command === "quit" || command === "exit") stop();
        else if (command) say(`unknown command '${command}' (${COMMANDS_HELP})`);
      } catch (error) {
        say((error as Error).message);
      }
    });
    rl.on("close", () => {
      if (!process.stdin.isTTY) return; // piped stdin ended: keep running until a signal
      stop();
    });
  }
  const crashed = new Promise<string>((resolve) => board.once("crash", resolve));
  const outcome = await Promise.race([done.then(() => ""), crashed]);
  process.removeListener("SIGINT", onSignal);
  process.removeListener("SIGTERM", onSignal);
  rl?.close();
  process.stdin.pause();
  process.stdin.unref?.();
  await board.stop();
  if (outcome) throw Object.assign(new Error(`firmware stopped: ${outcome}`), { code: "E_STATE" });
  return EXIT.OK;
}
