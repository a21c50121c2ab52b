/**
 * The cloud's structured log: one JSON object per line (time, level, msg, fields), pino's shape without the
 * dependency. The callers decide what goes in; the request log (server.ts) never passes bodies, tokens,
 * authorization or x-sealcam-* headers, or query strings.
 */

export const LOG_LEVELS = ["debug", "info", "warn", "error", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const RANK: Record<LogLevel, number> = { debug: 20, info: 30, warn: 40, error: 50, silent: Infinity };

export interface LogSink {
  write(line: string): unknown;
}

export type LogFields = Record<string, unknown>;

export interface Logger {
  readonly level: LogLevel;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

/** An error as log fields: its name, message, code (if any) and stack. */
export function errorFields(error: unknown): LogFields {
  // Duck-typed, not instanceof: errors from native modules (SQLite) may come from another realm's Error.
  if (typeof error === "object" && error !== null && typeof (error as Error).message === "string") {
    const e = error as Error & { code?: unknown };
    return { type: typeof e.name === "string" ? e.name : "Error", message: e.message, ...(typeof e.code === "string" ? { code: e.code } : {}), stack: typeof e.stack === "string" ? e.stack : undefined };
  }
  return { type: typeof error, message: String(error) };
}

export function createLogger(level: LogLevel = "info", sink: LogSink = process.stdout, clock: () => number = Date.now): Logger {
  const threshold = RANK[level];
  const emit = (at: Exclude<LogLevel, "silent">, msg: string, fields: LogFields = {}) => {
    if (RANK[at] < threshold) return;
    let line: string;
    try {
      line = JSON.stringify({ time: new Date(clock()).toISOString(), level: at, msg, ...fields });
    } catch {
      line = JSON.stringify({ time: new Date(clock()).toISOString(), level: at, msg, note: "fields could not be serialised" });
    }
    sink.write(line + "\n");
  };
  return {
    level,
    debug: (msg, fields) => emit("debug", msg, fields),
    info: (msg, fields) => emit("info", msg, fields),
    warn: (msg, fields) => emit("warn", msg, fields),
    error: (msg, fields) => emit("error", msg, fields),
  };
}
