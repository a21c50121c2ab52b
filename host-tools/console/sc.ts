/**
 * The firmware's structured log line (firmware/platform/log.ts) and how the console shows it:
 *   SC {"t":<ms since boot>,"l":"debug|info|warn|error","e":"<event>","m":"<text>","f":{<fields>}}
 * Pure: parsing and rendering only. Colours are ANSI and only used when asked (the CLI asks on a TTY).
 */
export type ScLevel = "debug" | "info" | "warn" | "error";

export interface ScRecord {
  t: number;
  l: ScLevel;
  e: string;
  m: string;
  f: Record<string, string | number | boolean>;
}

const LEVELS: readonly string[] = ["debug", "info", "warn", "error"];

/** The record in an `SC {...}` line, or null if the line is not one (or is malformed). */
export function parseSc(line: string): ScRecord | null {
  const m = /^\s*SC (\{.*\})\s*$/.exec(line);
  if (!m) return null;
  let v: unknown;
  try {
    v = JSON.parse(m[1]!);
  } catch {
    return null;
  }
  if (typeof v !== "object" || v === null) return null;
  const o = v as Record<string, unknown>;
  if (typeof o.t !== "number" || typeof o.l !== "string" || !LEVELS.includes(o.l) || typeof o.e !== "string" || typeof o.m !== "string") return null;
  const f: Record<string, string | number | boolean> = {};
  if (o.f !== undefined) {
    if (typeof o.f !== "object" || o.f === null || Array.isArray(o.f)) return null;
    for (const [k, val] of Object.entries(o.f as Record<string, unknown>)) {
      if (typeof val === "string" || typeof val === "number" || typeof val === "boolean") f[k] = val;
      else f[k] = JSON.stringify(val);
    }
  }
  return { t: o.t, l: o.l as ScLevel, e: o.e, m: o.m, f };
}

const COLOURS: Record<ScLevel, string> = { debug: "\x1b[2m", info: "\x1b[32m", warn: "\x1b[33m", error: "\x1b[31;1m" };
const RESET = "\x1b[0m";
const BOLD = "\x1b[1m";
const DIM = "\x1b[2m";

/** "12.345" seconds since boot, right-aligned. */
export function formatUptime(ms: number): string {
  return (Math.max(0, ms) / 1000).toFixed(3).padStart(9);
}

function fieldValue(v: string | number | boolean): string {
  if (typeof v !== "string") return String(v);
  return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
}

/** One line: `    12.345 INFO  setup.start          entering setup mode  ssid=sealcam-4F2A ip=192.168.4.1` */
export function renderSc(r: ScRecord, colour: boolean): string {
  const level = r.l.toUpperCase().padEnd(5);
  const fields = Object.entries(r.f)
    .map(([k, v]) => `${k}=${fieldValue(v)}`)
    .join(" ");
  if (!colour) return `${formatUptime(r.t)} ${level} ${r.e.padEnd(20)} ${r.m}${fields ? "  " + fields : ""}`;
  return `${DIM}${formatUptime(r.t)}${RESET} ${COLOURS[r.l]}${level}${RESET} ${BOLD}${r.e.padEnd(20)}${RESET} ${r.m}${fields ? "  " + DIM + fields + RESET : ""}`;
}

/** Bytes as text a terminal cannot be confused by: printable ASCII as is, the rest as \xNN, plus a hex dump. */
export function renderRaw(bytes: Uint8Array, colour: boolean): string {
  let esc = "";
  for (const b of bytes) {
    if (b >= 0x20 && b < 0x7f && b !== 0x5c) esc += String.fromCharCode(b);
    else if (b === 0x5c) esc += "\\\\";
    else if (b === 0x0d) esc += "\\r";
    else if (b === 0x09) esc += "\\t";
    else esc += "\\x" + b.toString(16).padStart(2, "0");
  }
  const shown = bytes.length > 64 ? bytes.subarray(0, 64) : bytes;
  const hex = Array.from(shown, (b) => b.toString(16).padStart(2, "0")).join(" ") + (bytes.length > 64 ? " …" : "");
  const label = `raw ${bytes.length} byte${bytes.length === 1 ? "" : "s"}:`;
  return colour ? `${DIM}${label}${RESET} ${esc}  ${DIM}[${hex}]${RESET}` : `${label} ${esc}  [${hex}]`;
}
