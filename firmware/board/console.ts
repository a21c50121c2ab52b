/**
 * SerialConsole on the board: lines out through the console port; lines in by polling the USB Serial/JTAG
 * driver every 50 ms (release builds). In debug builds the xsbug debugger owns the port: output still works
 * (inside xsbug framing) but there is no line input, and the first onLine() says so in the log.
 */
import Timer from "timer";
import type { SerialConsole } from "../platform/console";
import type { Log } from "../platform/log";
import { LineSplitter, type ConsolePort } from "./console-port";

export const POLL_MS = 50;

export class BoardSerialConsole implements SerialConsole {
  private readonly handlers: ((line: string) => void)[] = [];
  private polling: Timer | undefined;
  private readonly splitter = new LineSplitter((line) => {
    for (const handler of this.handlers) handler(line);
  });

  constructor(private readonly port: ConsolePort, private readonly log?: Log) {}

  writeLine(line: string): void {
    this.port.writeLine(line);
  }

  onLine(callback: (line: string) => void): void {
    this.handlers.push(callback);
    if (this.port.mode !== "native") {
      if (this.handlers.length === 1)
        this.log?.write("warn", "console.input", "console input needs a release build; the debugger owns the port");
      return;
    }
    if (!this.polling) {
      this.polling = Timer.repeat(() => {
        for (let bytes = this.port.read(); bytes; bytes = this.port.read()) this.splitter.push(bytes);
      }, POLL_MS);
    }
  }

  close(): void {
    if (this.polling) Timer.clear(this.polling);
    this.polling = undefined;
  }
}
