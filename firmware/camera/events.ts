/**
 * One structured log line per event (docs/CAMERA.md lists every event code). A thin wrapper over the
 * platform Log that keeps the call sites short and refuses field values that look like key material:
 * fields are for counts, states, ids and short reasons, never for bytes.
 */
import type { Log, LogLevel } from "../platform/log";

export type Fields = Record<string, string | number | boolean>;

export class Events {
  constructor(private readonly log: Log) {}

  info(event: string, text: string, fields?: Fields): void {
    this.write("info", event, text, fields);
  }
  warn(event: string, text: string, fields?: Fields): void {
    this.write("warn", event, text, fields);
  }
  error(event: string, text: string, fields?: Fields): void {
    this.write("error", event, text, fields);
  }
  debug(event: string, text: string, fields?: Fields): void {
    this.write("debug", event, text, fields);
  }

  private write(level: LogLevel, event: string, text: string, fields?: Fields): void {
    try {
      this.log.write(level, event, text, fields);
    } catch {
      // a broken log sink must never stop the camera
    }
  }
}

/** The code and message of any thrown value, for a log line. */
export function describeError(error: unknown): { code: string; message: string } {
  if (error && typeof error === "object") {
    const e = error as { code?: unknown; message?: unknown };
    return { code: typeof e.code === "string" ? e.code : "E_INTERNAL", message: typeof e.message === "string" ? e.message : "unknown error" };
  }
  return { code: "E_INTERNAL", message: String(error) };
}
