/**
 * Where the board's console lines go: one USB Serial/JTAG port shared by Log and SerialConsole.
 *
 * Two modes, chosen at build time (manifest config `consoleMode`, set by `make firmware FLAVOR=...`):
 *   "trace"  (debug builds, mcconfig -d): lines go out through trace(), which Moddable's debugger wraps in
 *            xsbug framing (<?xs.ID?><xsbug><log>SC {...}</log></xsbug>); `sealcam console` unwraps it. The
 *            debugger owns the port, so console input is not available.
 *   "native" (release builds): Moddable suppresses trace() output, so lines are written through our native
 *            module to the USB Serial/JTAG driver, and input is read from it (polled).
 * See docs/HARDWARE.md ("Serial console on the board").
 */
import { fail } from "../core/errors";
import { utf8Bytes, utf8String } from "../core/bytes";
import { consoleRead, consoleWrite } from "./system";

import type { ConsoleMode } from "./config";

export type { ConsoleMode };

export const MAX_LINE = 1024;

export class ConsolePort {
  constructor(readonly mode: ConsoleMode) {
    if (mode !== "trace" && mode !== "native") fail("E_ARGUMENT", "console mode must be trace or native");
  }

  /** Writes one line; the terminator is added here. Control characters inside the line are replaced. */
  writeLine(line: string): void {
    const clean = line.replace(/[\r\n]/g, " ");
    if (this.mode === "trace") trace(clean + "\n");
    else consoleWrite(utf8Bytes(clean + "\r\n"));
  }

  /** Bytes received since the last call (native mode only). */
  read(): Uint8Array | undefined {
    return this.mode === "native" ? consoleRead() : undefined;
  }
}

/** Splits a byte stream into lines (LF or CR LF), dropping over-long lines rather than growing without bound. */
export class LineSplitter {
  private pending: number[] = [];
  private overflow = false;

  constructor(private readonly onLine: (line: string) => void) {}

  push(bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      if (b === 0x0a) {
        if (!this.overflow) {
          if (this.pending.length > 0 && this.pending[this.pending.length - 1] === 0x0d) this.pending.pop();
          let line: string | undefined;
          try {
            line = utf8String(new Uint8Array(this.pending));
          } catch {
            line = undefined; // not UTF-8: line noise, dropped
          }
          if (line !== undefined) this.onLine(line);
        }
        this.pending = [];
        this.overflow = false;
      } else if (this.pending.length >= MAX_LINE) {
        this.overflow = true;
      } else {
        this.pending.push(b);
      }
    }
  }
}
