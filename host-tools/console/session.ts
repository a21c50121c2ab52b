/**
 * A console session on one serial port: keeps the port open across board resets and unplugging (reopens with
 * backoff and says so), decodes what arrives into rendered lines, sends command lines, pulses DTR/RTS to reset
 * the board, and tees everything to a log (rendered lines to FILE, the exact bytes to FILE.raw).
 * Output goes to injected sinks; nothing here prints.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import { isSealcamError, SealcamError } from "../../firmware/core/errors";
import { NodeSerialLink, type SerialLink } from "../serial/link";
import { ConsoleDecoder } from "./decode";
import { BacktraceDecoder, PanicScanner, renderDecoded, type BacktraceFrame } from "./panic";
import { renderItem } from "./render";
import { renderQr, setupQrLine } from "./qr";

export interface SessionOptions {
  port: string;
  baud: number;
  colour: boolean;
  /** Rendered device output, one line per call. */
  out: (line: string) => void;
  /** The console's own messages (connected, waiting, reset...). */
  notice: (line: string) => void;
  logFile?: string;
  makeLink?: (port: string, baud: number) => SerialLink;
  /** Reopen backoff: first wait and cap, in ms. */
  backoff?: { firstMs: number; maxMs: number };
  /** A partial line is shown after this long without more bytes (a prompt, or output cut by a reset). */
  partialLineMs?: number;
  /** The firmware ELF: crash backtraces are decoded to function and line (host-tools/console/panic.ts). */
  elf?: string;
  /** addr2line is `${toolchainPrefix}addr2line` (default: chosen from the ELF's machine and PATH). */
  toolchainPrefix?: string;
  /** addr2line's time limit per backtrace, ms. */
  addr2lineTimeoutMs?: number;
  /** Draw a `setup: qr SEALCAM:...` line's label as a QR code under it (screen only; the log keeps the text). */
  qr?: boolean;
}

/** What goes out, in device order: rendered lines (stdout) and notices that belong between them. */
interface Out {
  lines: string[];
  /** Lines for the screen only, never the log (the QR drawing of a label line). */
  screen?: string[];
  notices?: string[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const ANSI = /\x1b\[[0-9;]*m/g;

export class ConsoleSession {
  private link: SerialLink | null = null;
  private stopped = false;
  private loop: Promise<void> | null = null;
  private decoder = new ConsoleDecoder();
  private partialTimer: NodeJS.Timeout | null = null;
  private log: WriteStream | null = null;
  private raw: WriteStream | null = null;
  private connectWaiters: (() => void)[] = [];
  private panics = new PanicScanner();
  private backtraces: BacktraceDecoder | null = null;
  /** Notices about crash decoding already given (each problem is said once per session). */
  private said = new Set<string>();
  /** Output waits here behind a backtrace being decoded, so the decoded frames follow their line. */
  private queue: (Out | Promise<Out>)[] = [];
  private pumping = false;
  private drainWaiters: (() => void)[] = [];
  private wake: (() => void) | null = null;
  /** Set when the port can never be opened (permission denied): the session has ended. */
  fatal: SealcamError | null = null;
  connections = 0;

  constructor(private readonly o: SessionOptions) {
    if (o.elf !== undefined) {
      this.backtraces = new BacktraceDecoder({ elf: o.elf, toolchainPrefix: o.toolchainPrefix, timeoutMs: o.addr2lineTimeoutMs });
    }
  }

  get connected(): boolean {
    return this.link !== null;
  }

  start(): void {
    if (this.o.logFile) {
      this.log = createWriteStream(this.o.logFile, { flags: "a" });
      this.raw = createWriteStream(this.o.logFile + ".raw", { flags: "a" });
    }
    if (this.backtraces) {
      const loaded = this.backtraces.loadElf();
      if ("problem" in loaded) this.sayOnce("elf", `${loaded.problem}: crash backtraces will be shown undecoded`);
    }
    this.loop = this.run();
  }

  /** Resolves at the next (or current) connection. */
  waitConnected(): Promise<void> {
    if (this.link) return Promise.resolve();
    return new Promise((resolve) => this.connectWaiters.push(resolve));
  }

  /** Resolves when the session ends (stop(), or a fatal error). */
  done(): Promise<void> {
    return this.loop ?? Promise.resolve();
  }

  private notice(text: string): void {
    this.o.notice(text);
    this.log?.write(`-- ${text}\n`);
  }

  private sayOnce(key: string, text: string): void {
    if (this.said.has(key)) return;
    this.said.add(key);
    this.notice(text);
  }

  private emitNow(out: Out): void {
    for (const line of out.lines) {
      this.o.out(line);
      this.log?.write((this.o.colour ? line.replace(ANSI, "") : line) + "\n");
    }
    for (const line of out.screen ?? []) this.o.out(line);
    for (const n of out.notices ?? []) this.notice(n);
  }

  private enqueue(out: Out | Promise<Out>): void {
    this.queue.push(out);
    this.pump();
  }

  private pump(): void {
    while (!this.pumping && this.queue.length > 0) {
      const head = this.queue[0]!;
      if (!(head instanceof Promise)) {
        this.queue.shift();
        this.emitNow(head);
        continue;
      }
      this.pumping = true;
      void head.then((out) => {
        this.queue.shift();
        this.pumping = false;
        this.emitNow(out);
        this.pump();
      });
    }
    if (!this.pumping && this.queue.length === 0) for (const w of this.drainWaiters.splice(0)) w();
  }

  /** Resolves when every line received so far has been shown (a backtrace decode may hold them briefly). */
  drained(): Promise<void> {
    if (!this.pumping && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private render(items: ReturnType<ConsoleDecoder["push"]>): void {
    for (const item of items) {
      this.enqueue({ lines: renderItem(item, this.o.colour) });
      if (item.kind === "text") {
        for (const line of item.text.split("\n")) {
          this.crash(line);
          const label = this.o.qr ? setupQrLine(line) : undefined;
          if (label !== undefined) {
            try {
              this.enqueue({ lines: [], screen: renderQr(label, this.o.colour) });
            } catch {
              // not encodable: the text line stays
            }
          }
        }
      }
    }
  }

  /** Crash output in a line: decode a backtrace (after its line), check the ELF against the board's. */
  private crash(line: string): void {
    for (const ev of this.panics.line(line)) {
      if (ev.kind === "backtrace" && ev.frames.length > 0) {
        if (this.backtraces) this.enqueue(this.decode(this.backtraces, ev.frames));
        else this.sayOnce("no-elf", "a crash backtrace: run the console with --elf <the firmware's .elf> to see function and line for each frame (docs/CONSOLE.md)");
      } else if (ev.kind === "elf-sha256" && this.backtraces) {
        const loaded = this.backtraces.loadElf();
        if ("elf" in loaded && !loaded.elf.sha256.startsWith(ev.prefix) && !this.said.has(`sha:${ev.prefix}`)) {
          this.said.add(`sha:${ev.prefix}`);
          this.enqueue({
            lines: [],
            notices: [
              `the board runs a different build than ${this.o.elf} (board's ELF SHA256 ${ev.prefix}, the file's ${loaded.elf.sha256.slice(0, ev.prefix.length)}): decoded frames above may be wrong; pass the .elf of the build that was flashed`,
            ],
          });
        }
      } else if (ev.kind === "xs-abort") {
        this.enqueue({ lines: [], notices: [`the XS engine stopped the program (XS abort: ${ev.reason}): a JavaScript-level failure, not a CPU crash (docs/CONSOLE.md)`] });
      }
    }
  }

  private async decode(decoder: BacktraceDecoder, frames: BacktraceFrame[]): Promise<Out> {
    try {
      const r = await decoder.decode(frames);
      if (r.ok) return { lines: renderDecoded(r.frames, this.o.elf!.split("/").pop()!, this.o.colour) };
      if (this.said.has(r.key)) return { lines: [] };
      this.said.add(r.key);
      return { lines: [], notices: [r.problem] };
    } catch (e) {
      // Never let decoding take the console down.
      return { lines: [], notices: this.said.has("internal") ? [] : (this.said.add("internal"), [`backtrace not decoded: ${(e as Error).message}`]) };
    }
  }

  private received(chunk: Uint8Array): void {
    this.raw?.write(chunk);
    this.render(this.decoder.push(chunk));
    if (this.partialTimer) clearTimeout(this.partialTimer);
    this.partialTimer = null;
    if (this.decoder.pending > 0) {
      this.partialTimer = setTimeout(() => {
        this.partialTimer = null;
        this.render(this.decoder.flush());
      }, this.o.partialLineMs ?? 300);
    }
  }

  private async run(): Promise<void> {
    const make = this.o.makeLink ?? ((port: string, baud: number) => new NodeSerialLink(port, { baudRate: baud }));
    const first = this.o.backoff?.firstMs ?? 100;
    const max = this.o.backoff?.maxMs ?? 2000;
    let wait = first;
    let lastReason = "";
    while (!this.stopped) {
      const link = make(this.o.port, this.o.baud);
      try {
        await link.open();
      } catch (e) {
        const err = isSealcamError(e) ? e : new SealcamError("E_INTERNAL", String(e));
        if (err.code === "E_PERMISSION") {
          this.fatal = err;
          this.notice(err.message);
          break;
        }
        if (err.message !== lastReason) this.notice(`waiting for ${this.o.port}: ${err.message}`);
        lastReason = err.message;
        await this.pause(wait);
        wait = Math.min(max, wait * 2);
        continue;
      }
      wait = first;
      lastReason = "";
      this.connections++;
      this.link = link;
      this.notice(
        this.connections === 1
          ? `connected to ${this.o.port} at ${this.o.baud} baud${link.linesAvailable ? "" : " (a pty: no DTR/RTS reset)"}`
          : `reconnected to ${this.o.port}`,
      );
      for (const w of this.connectWaiters.splice(0)) w();
      for (;;) {
        const chunk = await link.read();
        if (chunk === null) break;
        this.received(chunk);
      }
      this.link = null;
      this.render(this.decoder.flush());
      await link.close().catch(() => undefined);
      if (!this.stopped) this.notice(`${this.o.port} went away (board reset or unplugged?); waiting for it to come back`);
    }
    if (this.partialTimer) clearTimeout(this.partialTimer);
    await this.drained();
    await new Promise<void>((r) => (this.log ? this.log.end(r) : r()));
    await new Promise<void>((r) => (this.raw ? this.raw.end(r) : r()));
  }

  private async pause(ms: number): Promise<void> {
    await Promise.race([sleep(ms), new Promise<void>((r) => (this.wake = r))]);
    this.wake = null;
  }

  /** Sends one command line (CR LF ended). False when the port is not open right now. */
  async send(line: string): Promise<boolean> {
    const link = this.link;
    if (!link) {
      this.notice(`not connected: '${line.split(" ")[0]}' not sent`);
      return false;
    }
    this.log?.write(`>> ${line.startsWith("setup ") ? "setup ***" : line}\n`);
    await link.write(new TextEncoder().encode(line + "\r\n"));
    return true;
  }

  /** EN low for 100 ms through RTS (DTR high keeps IO0 high, so the board boots the app, not the ROM loader). */
  async reset(): Promise<void> {
    const link = this.link;
    if (!link) {
      this.notice("not connected: cannot reset");
      return;
    }
    if (!link.linesAvailable) {
      this.notice(`${this.o.port} has no DTR/RTS lines (a pty): press RESET on the board`);
      return;
    }
    this.notice("resetting the board (RTS pulse)");
    await link.setSignals({ dtr: false, rts: true });
    await sleep(100);
    await link.setSignals({ dtr: false, rts: false });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    for (const w of this.connectWaiters.splice(0)) w();
    await this.link?.close();
    await this.loop;
  }
}
