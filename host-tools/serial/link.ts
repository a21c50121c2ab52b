/**
 * SerialLink: the one seam between sealcam's serial tools (flasher, console, simulators) and a serial port.
 * It moves bytes and sets modem lines; it never frames (SLIP and line decoding live in their own modules).
 *
 * Over npm `serialport` with two corrections:
 * - `serialport.set()` resets any line you omit to its default (DTR and RTS high), so the link remembers DTR
 *   and RTS itself and always sends both; ESP32 auto-reset circuits depend on the exact sequence.
 * - a pseudo-terminal has no modem lines (the ioctls fail with "Inappropriate ioctl for device"); when the
 *   device is a pty (detected by its real path under /dev/pts, or `pty: true`) setSignals only records the
 *   state and `linesAvailable` is false. On real hardware an ioctl failure is an error.
 *
 * Reading is pull-based (`read()` takes what has arrived, or waits): nothing is consumed unless a caller
 * asked for it, so bytes are never lost between consumers, and an aborted read consumes nothing.
 */
import { realpathSync } from "node:fs";
import { SerialPort } from "serialport";
import { SealcamError } from "../../firmware/core/errors";

export interface Signals {
  dtr?: boolean;
  rts?: boolean;
  brk?: boolean;
}

export interface SerialLink {
  readonly path: string;
  readonly isOpen: boolean;
  /** False on a pty: DTR/RTS changes are recorded but cannot reach a board. */
  readonly linesAvailable: boolean;
  open(): Promise<void>;
  close(): Promise<void>;
  /** The next bytes that arrived, waiting if none have; null once the port is closed or gone. */
  read(signal?: AbortSignal): Promise<Uint8Array | null>;
  write(data: Uint8Array): Promise<void>;
  /** Changes only the lines given; the others keep their last value. */
  setSignals(signals: Signals): Promise<void>;
  setBaudRate(baudRate: number): Promise<void>;
  /** The last DTR/RTS state set (what a board would see). */
  readonly signals: Readonly<Required<Signals>>;
}

export interface LinkOptions {
  baudRate?: number;
  /** Treat the device as a pty (no modem lines). Detected from the path when omitted. */
  pty?: boolean;
  /** Take the exclusive lock (default). Another process holding the port then fails with E_PORT_BUSY. */
  lock?: boolean;
}

/** True when path (or what it links to) is a Unix98 pty such as socat's `link=` targets. */
export function isPtyPath(path: string): boolean {
  if (path.startsWith("/dev/pts/")) return true;
  try {
    return realpathSync(path).startsWith("/dev/pts/");
  } catch {
    return false;
  }
}

/** Turns the binding's open errors into ones a user can act on. */
export function classifyOpenError(path: string, error: unknown): SealcamError {
  const text = error instanceof Error ? error.message : String(error);
  if (/Cannot lock port|Resource temporarily unavailable|EBUSY|Device or resource busy/i.test(text))
    return new SealcamError("E_PORT_BUSY", `${path} is in use by another program (a console, a monitor or another flash); close it and try again`);
  if (/Permission denied|EACCES/i.test(text))
    return new SealcamError("E_PERMISSION", `permission denied opening ${path}: add yourself to the dialout group (sudo usermod -aG dialout $USER), then log out and in again`);
  if (/No such file or directory|ENOENT|No such device/i.test(text))
    return new SealcamError("E_NOT_FOUND", `no serial port at ${path}: is the board plugged in? (\`sealcam ports\` lists them)`);
  return new SealcamError("E_INTERNAL", `cannot open ${path}: ${text}`);
}

/** The part of serialport's stream the link uses (so tests can hand in serialport's own mock). */
export interface PortLike {
  readonly isOpen: boolean;
  open(cb: (err: Error | null) => void): void;
  close(cb: (err: Error | null) => void): void;
  read(): Buffer | string | null;
  write(data: Buffer, cb: (err: Error | null | undefined) => void): boolean;
  drain(cb: (err: Error | null) => void): void;
  set(options: { dtr: boolean; rts: boolean; brk: boolean }, cb: (err: Error | null) => void): void;
  update(options: { baudRate: number }, cb: (err: Error | null) => void): void;
  on(event: string, listener: (...args: never[]) => void): unknown;
}

export interface PortOpenOptions {
  path: string;
  baudRate: number;
  autoOpen: false;
  lock: boolean;
  hupcl: boolean;
}

export class NodeSerialLink implements SerialLink {
  readonly path: string;
  readonly linesAvailable: boolean;
  private port: PortLike | null = null;
  private baudRate: number;
  private readonly lock: boolean;
  private state: Required<Signals> = { dtr: false, rts: false, brk: false };
  private ended = true;
  private waiters = new Set<() => void>();

  constructor(path: string, options: LinkOptions = {}) {
    this.path = path;
    this.baudRate = options.baudRate ?? 115200;
    this.lock = options.lock ?? true;
    this.linesAvailable = !(options.pty ?? isPtyPath(path));
  }

  protected createPort(options: PortOpenOptions): PortLike {
    return new SerialPort(options);
  }

  get isOpen(): boolean {
    return this.port !== null && !this.ended;
  }

  get signals(): Readonly<Required<Signals>> {
    return { ...this.state };
  }

  async open(): Promise<void> {
    if (this.isOpen) return;
    const port = this.createPort({ path: this.path, baudRate: this.baudRate, autoOpen: false, lock: this.lock, hupcl: false });
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(classifyOpenError(this.path, err)) : resolve())));
    this.port = port;
    this.ended = false;
    const wake = () => {
      for (const w of [...this.waiters]) w();
    };
    port.on("readable", wake);
    // Unplugged, pty gone, or closed by us: reads end (null) either way.
    port.on("close", () => {
      this.ended = true;
      wake();
    });
    port.on("error", () => {
      this.ended = true;
      wake();
    });
  }

  async close(): Promise<void> {
    const port = this.port;
    if (!port) return;
    this.ended = true;
    for (const w of [...this.waiters]) w();
    if (port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
    this.port = null;
  }

  async read(signal?: AbortSignal): Promise<Uint8Array | null> {
    for (;;) {
      const port = this.port;
      if (!port || signal?.aborted) return null;
      const chunk = port.read() as Buffer | null;
      if (chunk && chunk.length > 0) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length);
      if (this.ended) return null;
      await new Promise<void>((resolve) => {
        const done = () => {
          this.waiters.delete(done);
          signal?.removeEventListener("abort", done);
          resolve();
        };
        this.waiters.add(done);
        signal?.addEventListener("abort", done);
      });
    }
  }

  async write(data: Uint8Array): Promise<void> {
    const port = this.port;
    if (!port || this.ended) throw new SealcamError("E_STATE", `${this.path} is not open`);
    await new Promise<void>((resolve, reject) => {
      port.write(Buffer.from(data.buffer, data.byteOffset, data.byteLength), (err) => (err ? reject(err) : undefined));
      port.drain((err) => (err ? reject(err) : resolve()));
    });
  }

  async setSignals(signals: Signals): Promise<void> {
    const next = { ...this.state };
    if (signals.dtr !== undefined) next.dtr = signals.dtr;
    if (signals.rts !== undefined) next.rts = signals.rts;
    if (signals.brk !== undefined) next.brk = signals.brk;
    this.state = next;
    const port = this.port;
    if (!this.linesAvailable || !port) return;
    // Always send every line: serialport fills omitted ones with defaults, which would glitch EN or IO0.
    await new Promise<void>((resolve, reject) =>
      port.set({ dtr: next.dtr, rts: next.rts, brk: next.brk }, (err) =>
        err ? reject(new SealcamError("E_INTERNAL", `cannot set DTR/RTS on ${this.path}: ${err.message}`)) : resolve(),
      ),
    );
  }

  async setBaudRate(baudRate: number): Promise<void> {
    this.baudRate = baudRate;
    const port = this.port;
    if (!port) return;
    await new Promise<void>((resolve, reject) => port.update({ baudRate }, (err) => (err ? reject(err) : resolve())));
  }
}
