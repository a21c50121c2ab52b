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

/**
 * The line JSON.stringify({ time, level, msg, ...fields }) would give, built field by field (one call per
 * value, no merged object): the request log writes one per request. Fields named time, level or msg, and
 * undefined or function values, are handled as the spread and JSON.stringify would.
 */
function jsonLine(time: string, level: string, msg: string, fields: LogFields): string {
  const head = { time: JSON.stringify(time), level: JSON.stringify(level), msg: JSON.stringify(msg) };
  let rest = "";
  for (const key in fields) {
    if (!Object.prototype.hasOwnProperty.call(fields, key)) continue;
    const value = JSON.stringify(fields[key]);
    if (value === undefined) {
      if (key === "time" || key === "level" || key === "msg") delete (head as Record<string, string | undefined>)[key];
      continue;
    }
    if (key === "time" || key === "level" || key === "msg") head[key] = value;
    else rest += `,${JSON.stringify(key)}:${value}`;
  }
  const parts: string[] = [];
  for (const key of ["time", "level", "msg"] as const) if (head[key] !== undefined) parts.push(`"${key}":${head[key]}`);
  return `{${parts.join(",")}${parts.length ? rest : rest.slice(1)}}`;
}

export function createLogger(level: LogLevel = "info", sink: LogSink = process.stdout, clock: () => number = Date.now): Logger {
  const threshold = RANK[level];
  const emit = (at: Exclude<LogLevel, "silent">, msg: string, fields: LogFields = {}) => {
    if (RANK[at] < threshold) return;
    let line: string;
    try {
      line = jsonLine(new Date(clock()).toISOString(), at, msg, fields);
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
