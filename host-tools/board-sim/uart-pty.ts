/**
 * The simulated board's UART on a pseudo-terminal. `socat` owns the pty (raw, no echo) and relays it to its
 * stdin/stdout, which this class drives: lines the firmware writes go out with "\r\n"; every line a client
 * types (ended by CR or LF) is handed to `onLine`.
 *
 * The simulator also holds the pty's slave side open without reading it, so clients may attach and detach
 * at will (the pty survives them) and a reset of the firmware (the XS process) does not touch it: a client
 * attached across a reset sees the new boot lines, as on a real board. Like a UART with nobody listening,
 * output is dropped (not queued without bound) when no client reads for a long time.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const MAX_BACKLOG = 64 * 1024;

export class UartPty {
  private socat: ChildProcess | undefined;
  private holdFd = -1;
  private partial = "";
  private lineHandler: (line: string) => void = () => {};
  private closed = false;
  /** The /dev/pts/N behind the link. */
  devicePath = "";
  droppedLines = 0;

  constructor(readonly linkPath: string) {}

  async open(): Promise<void> {
    fs.mkdirSync(path.dirname(this.linkPath), { recursive: true });
    try {
      fs.rmSync(this.linkPath, { force: true });
    } catch {
      // a stale link that cannot be removed fails below with a clear message
    }
    const child = spawn("socat", [`pty,raw,echo=0,link=${this.linkPath}`, "STDIO"], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    this.socat = child;
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdout!.on("data", (chunk: Buffer) => this.receive(chunk.toString("latin1")));
    child.stdin!.on("error", () => {});
    const exited = new Promise<never>((_, reject) => {
      child.once("error", (error) => reject(new Error(`uart: cannot run socat: ${error.message}`)));
      child.once("exit", (code) => {
        if (!this.closed) reject(new Error(`uart: socat exited (${code}): ${stderr.trim()}`));
      });
    });
    exited.catch(() => {});
    const deadline = Date.now() + 5000;
    while (!fs.existsSync(this.linkPath)) {
      if (Date.now() > deadline) throw new Error(`uart: ${this.linkPath} did not appear: ${stderr.trim()}`);
      await Promise.race([new Promise((resolve) => setTimeout(resolve, 20)), exited]);
    }
    this.devicePath = fs.realpathSync(this.linkPath);
    this.holdFd = fs.openSync(this.devicePath, fs.constants.O_RDWR | fs.constants.O_NOCTTY | fs.constants.O_NONBLOCK);
  }

  onLine(handler: (line: string) => void): void {
    this.lineHandler = handler;
  }

  writeLine(line: string): void {
    const stdin = this.socat?.stdin;
    if (!stdin || this.closed || stdin.destroyed) return;
    if (stdin.writableLength > MAX_BACKLOG) {
      this.droppedLines++;
      return;
    }
    stdin.write(line.replace(/[\r\n]+/g, " ") + "\r\n", "latin1");
  }

  private receive(text: string): void {
    this.partial += text;
    for (;;) {
      const match = /[\r\n]/.exec(this.partial);
      if (!match) break;
      const line = this.partial.slice(0, match.index);
      this.partial = this.partial.slice(match.index + 1);
      if (line.length > 0) this.lineHandler(line);
    }
    if (this.partial.length > 4096) this.partial = "";
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.holdFd >= 0) fs.closeSync(this.holdFd);
    this.holdFd = -1;
    const child = this.socat;
    if (child && child.exitCode === null && child.signalCode === null) {
      let timer: NodeJS.Timeout | undefined;
      const done = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await Promise.race([done, new Promise((resolve) => (timer = setTimeout(resolve, 2000)))]);
      clearTimeout(timer);
    }
    fs.rmSync(this.linkPath, { force: true });
  }
}
