/**
 * Log on the board: one `SC {...}` line per event (format in firmware/platform/log.ts, parsed by
 * `sealcam console`), written to the console port (trace() in debug builds, the USB Serial/JTAG driver in
 * release builds). "t" is milliseconds since boot (Time.ticks).
 */
import Time from "time";
import type { Log, LogLevel } from "../platform/log";
import type { ConsolePort } from "./console-port";

const LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

export class BoardLog implements Log {
  constructor(private readonly port: ConsolePort, private readonly minimum: LogLevel = "info") {}

  write(level: LogLevel, event: string, text: string, fields?: Record<string, string | number | boolean>): void {
    if (LEVELS.indexOf(level) < LEVELS.indexOf(this.minimum)) return;
    const record: { t: number; l: LogLevel; e: string; m: string; f?: Record<string, string | number | boolean> } = {
      t: Time.ticks,
      l: level,
      e: event,
      m: text,
    };
    if (fields && Object.keys(fields).length > 0) record.f = fields;
    this.port.writeLine("SC " + JSON.stringify(record));
  }
}
