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
 * console quits shortly after stdin ends (with --duration, only when the duration ends).
 * Exit 1 when it never connected to the port (docs/CLI.md).
 * With --elf, an ESP-IDF crash's `Backtrace:` line is followed by function and line for each frame (panic.ts).
 */
import { isSealcamError, SealcamError } from "../../firmware/core/errors";
import { EXIT, report, runTool, type Args } from "../cli-kit";
import { processIo, type CliIo } from "../serial/cli-io";
import { NodeSerialLink, type SerialLink } from "../serial/link";
import { ConsoleSession } from "./session";

const KEYS_HELP = "keys: r reset  s status  c command  q quit  h help";

export interface ConsoleTestHooks {
  makeLink?: (port: string, baud: number) => SerialLink;
  backoff?: { firstMs: number; maxMs: number };
}

export async function main(argv: string[], io: CliIo = processIo(), hooks: ConsoleTestHooks = {}): Promise<number> {
  return runTool({
    name: "console",
    summary: "serial console for a camera board",
    commands: {
      summary: "Shows a camera board's serial output: structured log lines with time, level and event, Moddable\n" +
        "xsbug-framed logs unwrapped, unparseable bytes escaped. Reconnects when the board resets or the\n" +
        "USB port goes away and comes back.",
      synopsis: "--port PORT",
      options: {
        port: { type: "string", arg: "PORT", help: "serial port (`sealcam ports` lists them)" },
        baud: { type: "string", arg: "N", default: "115200", help: "baud rate" },
        log: { type: "string", arg: "FILE", help: "also write the rendered lines to FILE and the exact bytes to FILE.raw (appends)" },
        send: { type: "string", arg: "CMD", multiple: true, help: "send a command once connected (repeatable), e.g. --send status" },
        duration: { type: "string", arg: "S", help: "quit after S seconds (stdin ending does not quit earlier)" },
        linger: { type: "string", arg: "MS", default: "1500", help: "without a terminal and without --duration: quit MS after stdin ends" },
        "no-color": { type: "boolean", help: "no ANSI colours (also when NO_COLOR is set or stdout is not a terminal)" },
        qr: { type: "boolean", help: "draw a camera's setup label (`setup: qr SEALCAM:1:...`) as a QR code under its line\n(the default on a terminal; --no-qr turns it off); the log keeps only the text" },
        "no-qr": { type: "boolean", help: "never draw setup labels as QR codes" },
        elf: { type: "string", arg: "FILE", help: "the firmware's ELF (xs_esp32.elf of the build that was flashed): after a crash's\nBacktrace line, show function and file:line for each frame, as idf.py monitor does" },
        "toolchain-prefix": { type: "string", arg: "P", help: "use P + addr2line (default: xtensa-esp32s3-elf-addr2line, xtensa-esp-elf-addr2line\nor addr2line, the first on PATH that fits the ELF)" },
      },
      details: [
        "keys (terminal):  r reset the board (DTR/RTS)   s status   c type a command   q quit   h help",
        "stdin (no terminal): one command per line; :reset and :quit are the console's own.",
        "board commands: status, roster [refresh], record [seconds], setup <label secret>, unenroll, factory-reset, help",
        "",
        "Exit 0 when it stopped as asked; 1 when it never connected to PORT (or the port cannot be opened).",
      ].join("\n"),
      run: (parsed) => consoleMain(parsed, io, hooks),
    },
  }, argv, io);
}

async function consoleMain(parsed: Args, io: CliIo, hooks: ConsoleTestHooks): Promise<number> {
  const port = parsed.required("port", "--port PORT is required (`sealcam ports` lists them)");
  const baud = parsed.int("baud", 300, 10_000_000)!;
  const duration = parsed.number("duration", 0.001, 31_536_000);
  const linger = parsed.int("linger", 0, 3_600_000)!;
  const args = {
    port, log: parsed.string("log"), send: parsed.list("send"), elf: parsed.string("elf"),
    "toolchain-prefix": parsed.string("toolchain-prefix"), "no-color": parsed.flag("no-color"), qr: parsed.flag("qr"), "no-qr": parsed.flag("no-qr"),
  };
  // The last reason the port would not open, for an honest exit when it never did.
  let lastOpenError: unknown;
  const makeLink = hooks.makeLink ?? ((p: string, b: number) => new NodeSerialLink(p, { baudRate: b }));
  const watchedLink = (p: string, b: number): SerialLink => {
    const link = makeLink(p, b);
    const open = link.open.bind(link);
    link.open = async () => {
      try {
        return await open();
      } catch (error) {
        lastOpenError = error;
        throw error;
      }
    };
    return link;
  };
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
    makeLink: watchedLink,
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
  if (duration !== undefined) timers.push(setTimeout(quit, duration * 1000));

  const sendWhenConnected = async (line: string) => {
    await session.waitConnected();
    if (session.connected) await session.send(line);
  };

  void (async () => {
    for (const cmd of args.send) await sendWhenConnected(cmd);
  })();

  let cleanupInput: () => void = () => undefined;
  if (interactive) {
    cleanupInput = interactiveKeys(io, session, quit);
    notice(KEYS_HELP);
  } else {
    // With --duration, stdin ending (a script's `< /dev/null`, a closed pipe) does not end the logging early.
    cleanupInput = stdinCommands(io, session, quit, duration === undefined ? linger : null, sendWhenConnected);
  }

  await quitting;
  for (const t of timers) clearTimeout(t);
  cleanupInput();
  await session.stop();
  if (session.fatal) return report(io, "console", session.fatal);
  if (session.connections === 0) {
    const reason = lastOpenError === undefined ? "" : ` (${(lastOpenError as Error).message ?? String(lastOpenError)})`;
    const code = isSealcamError(lastOpenError) ? lastOpenError.code : "E_NOT_FOUND";
    return report(io, "console", new SealcamError(code, `never connected to ${port}${reason}; check the port with 'sealcam ports' and that no other program holds it`));
  }
  return EXIT.OK;
}

function stdinCommands(
  io: CliIo,
  session: ConsoleSession,
  quit: () => void,
  lingerMs: number | null,
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
    if (lingerMs === null) return;
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

