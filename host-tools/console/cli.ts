/**
 * `sealcam console`: a serial monitor for camera boards.
 *
 *   sealcam console --port /dev/ttyACM0 [--baud 115200] [--log FILE] [--send CMD]... [--duration S] [--no-color]
 *                   [--elf FILE [--toolchain-prefix P]]
 *
 * Device output goes to stdout (SC log lines with uptime, level colours on a TTY and event names; xsbug-framed
 * logs unwrapped; unparseable bytes escaped); the console's own notices go to stderr.
 * On a TTY, single keys: r reset, s status, c type a command, q quit, h help.
 * Otherwise each stdin line is a command for the board (`:reset` and `:quit` are the console's own), and the
 * console quits shortly after stdin ends.
 * With --elf, an ESP-IDF crash's `Backtrace:` line is followed by function and line for each frame (panic.ts).
 */
import { parseArgs } from "node:util";
import { processIo, type CliIo } from "../serial/cli-io";
import type { SerialLink } from "../serial/link";
import { ConsoleSession } from "./session";

const USAGE = `usage: sealcam console --port PORT [options]

Shows a camera board's serial output: structured log lines with time, level and event, Moddable
xsbug-framed logs unwrapped, unparseable bytes escaped. Reconnects when the board resets or the
USB port goes away and comes back.

options:
  --port PORT      serial port (\`sealcam ports\` lists them)
  --baud N         default 115200
  --log FILE       also write the rendered lines to FILE and the exact bytes to FILE.raw (appends)
  --send CMD       send a command once connected (repeatable), e.g. --send status
  --duration S     quit after S seconds
  --linger MS      without a terminal: quit MS after stdin ends (default 1500)
  --no-color       no ANSI colours (also when NO_COLOR is set or stdout is not a terminal)
  --qr             draw a camera's setup label (\`setup: qr SEALCAM:1:...\`) as a QR code under its line
                   (the default on a terminal; --no-qr turns it off); the log keeps only the text
  --elf FILE       the firmware's ELF (xs_esp32.elf of the build that was flashed): after a crash's
                   Backtrace line, show function and file:line for each frame, as idf.py monitor does
  --toolchain-prefix P
                   use P + addr2line (default: xtensa-esp32s3-elf-addr2line, xtensa-esp-elf-addr2line
                   or addr2line, the first on PATH that fits the ELF)

keys (terminal):  r reset the board (DTR/RTS)   s status   c type a command   q quit   h help
stdin (no terminal): one command per line; :reset and :quit are the console's own.
board commands: status, roster [refresh], setup <label secret>, unenroll, factory-reset, help
`;

const KEYS_HELP = "keys: r reset  s status  c command  q quit  h help";

export interface ConsoleTestHooks {
  makeLink?: (port: string, baud: number) => SerialLink;
  backoff?: { firstMs: number; maxMs: number };
}

export async function main(argv: string[], io: CliIo = processIo(), hooks: ConsoleTestHooks = {}): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        port: { type: "string" },
        baud: { type: "string", default: "115200" },
        log: { type: "string" },
        send: { type: "string", multiple: true },
        duration: { type: "string" },
        linger: { type: "string", default: "1500" },
        "no-color": { type: "boolean", default: false },
        qr: { type: "boolean" },
        "no-qr": { type: "boolean", default: false },
        elf: { type: "string" },
        "toolchain-prefix": { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
    }).values;
  } catch (e) {
    io.stderr.write(`sealcam console: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    io.stdout.write(USAGE);
    return 0;
  }
  const baud = Number(args.baud);
  if (!args.port || !Number.isInteger(baud) || baud <= 0) {
    io.stderr.write(`sealcam console: ${args.port ? `bad --baud ${args.baud}` : "--port is required"}\n\n${USAGE}`);
    return 2;
  }
  const colour = io.stdout.isTTY === true && !args["no-color"] && !process.env.NO_COLOR;
  const interactive = io.stdin.isTTY === true && typeof io.stdin.setRawMode === "function";
  const notice = (text: string) => io.stderr.write(`-- ${text}\n`);

  const session = new ConsoleSession({
    port: args.port,
    baud,
    colour,
    out: (line) => io.stdout.write(line + "\n"),
    notice,
    logFile: args.log,
    makeLink: hooks.makeLink,
    backoff: hooks.backoff,
    elf: args.elf,
    toolchainPrefix: args["toolchain-prefix"],
    qr: !args["no-qr"] && (args.qr === true || io.stdout.isTTY === true),
  });
  session.start();

  let quit: () => void = () => undefined;
  const quitting = new Promise<void>((resolve) => (quit = resolve));
  void session.done().then(quit);
  const timers: NodeJS.Timeout[] = [];
  if (args.duration) timers.push(setTimeout(quit, Number(args.duration) * 1000));

  const sendWhenConnected = async (line: string) => {
    await session.waitConnected();
    if (session.connected) await session.send(line);
  };

  void (async () => {
    for (const cmd of args.send ?? []) await sendWhenConnected(cmd);
  })();

  let cleanupInput: () => void = () => undefined;
  if (interactive) {
    cleanupInput = interactiveKeys(io, session, quit);
    notice(KEYS_HELP);
  } else {
    cleanupInput = stdinCommands(io, session, quit, Number(args.linger), sendWhenConnected);
  }

  await quitting;
  for (const t of timers) clearTimeout(t);
  cleanupInput();
  await session.stop();
  if (session.fatal) {
    io.stderr.write(`sealcam console: ${session.fatal.message} [${session.fatal.code}]\n`);
    return 1;
  }
  return 0;
}

function stdinCommands(
  io: CliIo,
  session: ConsoleSession,
  quit: () => void,
  lingerMs: number,
  send: (line: string) => Promise<void>,
): () => void {
  let buf = "";
  let chain = Promise.resolve();
  let lingerTimer: NodeJS.Timeout | null = null;
  const handle = (line: string) => {
    const cmd = line.trim();
    if (!cmd) return;
    chain = chain.then(async () => {
      if (cmd === ":quit") quit();
      else if (cmd === ":reset") {
        await session.waitConnected();
        await session.reset();
      } else await send(cmd);
    });
  };
  const onData = (chunk: Buffer | string) => {
    buf += chunk.toString();
    let i: number;
    while ((i = buf.search(/\r?\n/)) >= 0) {
      handle(buf.slice(0, i));
      buf = buf.slice(i + (buf[i] === "\r" ? 2 : 1));
    }
  };
  const onEnd = () => {
    if (buf) handle(buf);
    buf = "";
    void chain.then(() => {
      lingerTimer = setTimeout(quit, lingerMs);
    });
  };
  io.stdin.on("data", onData);
  io.stdin.on("end", onEnd);
  io.stdin.resume();
  return () => {
    if (lingerTimer) clearTimeout(lingerTimer);
    io.stdin.off("data", onData);
    io.stdin.off("end", onEnd);
    io.stdin.pause();
  };
}

function interactiveKeys(io: CliIo, session: ConsoleSession, quit: () => void): () => void {
  const stdin = io.stdin;
  stdin.setRawMode?.(true);
  let typing: string | null = null;
  const prompt = () => io.stderr.write(`\r\x1b[Kcommand> ${typing ?? ""}`);
  const onData = (chunk: Buffer | string) => {
    const text = chunk.toString();
    for (const ch of text) {
      if (typing !== null) {
        if (ch === "\r" || ch === "\n") {
          const line = typing.trim();
          typing = null;
          io.stderr.write("\n");
          if (line) void session.send(line);
        } else if (ch === "\x1b" || ch === "\x03") {
          typing = null;
          io.stderr.write("\r\x1b[K");
        } else if (ch === "\x7f" || ch === "\b") {
          typing = typing.slice(0, -1);
          prompt();
        } else if (ch >= " ") {
          typing += ch;
          // Echo the command, but never the label secret after "setup ".
          io.stderr.write(/^setup\s/i.test(typing) && ch !== " " ? "*" : ch);
        }
        continue;
      }
      switch (ch) {
        case "q":
        case "\x03":
        case "\x04":
          quit();
          return;
        case "r":
          void session.reset();
          break;
        case "s":
          void session.send("status");
          break;
        case "c":
          typing = "";
          prompt();
          break;
        case "h":
        case "?":
          io.stderr.write(`-- ${KEYS_HELP}\n`);
          break;
        default:
          break;
      }
    }
  };
  stdin.on("data", onData);
  stdin.resume();
  return () => {
    stdin.off("data", onData);
    stdin.setRawMode?.(false);
    stdin.pause();
  };
}

