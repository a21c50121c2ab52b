/**
 * The board's build-time settings, from the manifest's `config` (mc/config; `make firmware` and mcconfig
 * key=value arguments override them). Read once at boot and checked: a bad value stops the boot with a
 * message naming the key, rather than a camera that misbehaves later.
 */
import { fail } from "../core/errors";
import { DEFAULT_MOTION, DEFAULT_SNAPSHOT, type CameraAppConfig } from "../camera/config";
import type { LogLevel } from "../platform/log";

/** Where the console goes: "native" (our USB console) or "trace" (Moddable's xsbug trace). */
export type ConsoleMode = "trace" | "native";

export interface BoardConfig {
  /** "native" for release builds, "trace" for debug builds (see console-port.ts). */
  consoleMode: ConsoleMode;
  logLevel: LogLevel;
  sntpHost: string;
  /** Label of the clip-queue data partition in partitions.csv. */
  queuePartition: string;
  /** The JPEG quality compiled into the camera driver (manifest defines.camera.jpeg_quality). */
  jpegQuality: number;
  /** GPIO of the record button (BOOT on every supported board), -1 for none. */
  triggerPin: number;
  /** GPIO of a PIR motion sensor's output (active high; board.json `pins.pir`), -1 for none. */
  pirPin: number;
  /** Record on motion the camera sees in its own frames (docs/CAMERA.md, "Motion"). */
  motion: boolean;
  /** Motion schedule, "HH:MM-HH:MM,..." in local time ("" = always), and local time's offset from UTC. */
  motionSchedule: string;
  utcOffsetMinutes: number;
  /** Seal one small preview JPEG per clip (FORMAT §3.1): what the clip lists and the timeline show. */
  snapshots: boolean;
  httpTimeoutMs: number;
  tlsVerify: boolean;
  /** Recording frame size and rate. */
  frameWidth: number;
  frameHeight: number;
  framesPerSecond: number;
  firmwareVersion: string;
}

export const BOARD_DEFAULTS: BoardConfig = {
  consoleMode: "native",
  logLevel: "info",
  sntpHost: "pool.ntp.org",
  queuePartition: "clipq",
  jpegQuality: 12,
  triggerPin: 0,
  pirPin: -1,
  motion: true,
  motionSchedule: "",
  utcOffsetMinutes: 0,
  snapshots: true,
  httpTimeoutMs: 30_000,
  tlsVerify: true,
  frameWidth: 640,
  frameHeight: 480,
  framesPerSecond: 5,
  firmwareVersion: "0.1.0",
};

function pick(raw: Record<string, unknown>, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(raw, key) ? raw[key] : undefined;
}

function asInt(raw: Record<string, unknown>, key: string, fallback: number, min: number, max: number): number {
  const v = pick(raw, key);
  if (v === undefined) return fallback;
  // mcconfig key=value arguments arrive as strings
  const n = typeof v === "string" && /^-?[0-9]+$/.test(v) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) fail("E_ARGUMENT", `config ${key} must be an integer ${min}..${max}`);
  return n;
}

function asText(raw: Record<string, unknown>, key: string, fallback: string, allowed?: readonly string[]): string {
  const v = pick(raw, key);
  if (v === undefined) return fallback;
  if (typeof v !== "string" || v === "" || (allowed && allowed.indexOf(v) < 0))
    fail("E_ARGUMENT", allowed ? `config ${key} must be one of ${allowed.join(", ")}` : `config ${key} must be a non-empty string`);
  return v;
}

function asBool(raw: Record<string, unknown>, key: string, fallback: boolean): boolean {
  const v = pick(raw, key);
  if (v === undefined) return fallback;
  if (v === true || v === "true" || v === 1 || v === "1") return true;
  if (v === false || v === "false" || v === 0 || v === "0") return false;
  return fail("E_ARGUMENT", `config ${key} must be true or false`);
}

/** Reads the sealcam keys of mc/config; unknown keys (Moddable's own, such as sntp or ssid) are ignored. */
export function readBoardConfig(source: unknown): BoardConfig {
  const raw: Record<string, unknown> = typeof source === "object" && source !== null ? (source as Record<string, unknown>) : {};
  const d = BOARD_DEFAULTS;
  return {
    consoleMode: asText(raw, "consoleMode", d.consoleMode, ["native", "trace"]) as ConsoleMode,
    logLevel: asText(raw, "logLevel", d.logLevel, ["debug", "info", "warn", "error"]) as LogLevel,
    sntpHost: asText(raw, "sntp", d.sntpHost),
    queuePartition: asText(raw, "queuePartition", d.queuePartition),
    jpegQuality: asInt(raw, "jpegQuality", d.jpegQuality, 0, 63),
    triggerPin: asInt(raw, "triggerPin", d.triggerPin, -1, 48),
    pirPin: asInt(raw, "pirPin", d.pirPin, -1, 48),
    motion: asBool(raw, "motion", d.motion),
    snapshots: asBool(raw, "snapshots", d.snapshots),
    motionSchedule: typeof pick(raw, "motionSchedule") === "string" ? (pick(raw, "motionSchedule") as string) : d.motionSchedule,
    utcOffsetMinutes: asInt(raw, "utcOffsetMinutes", d.utcOffsetMinutes, -840, 840),
    httpTimeoutMs: asInt(raw, "httpTimeoutMs", d.httpTimeoutMs, 1000, 600_000),
    tlsVerify: asBool(raw, "tlsVerify", d.tlsVerify),
    frameWidth: asInt(raw, "frameWidth", d.frameWidth, 96, 2592),
    frameHeight: asInt(raw, "frameHeight", d.frameHeight, 96, 1944),
    framesPerSecond: asInt(raw, "framesPerSecond", d.framesPerSecond, 1, 30),
    firmwareVersion: asText(raw, "firmwareVersion", d.firmwareVersion),
  };
}

/** The camera application's settings that come from the board build. */
export function cameraAppConfig(board: BoardConfig): Partial<CameraAppConfig> {
  return {
    firmwareVersion: board.firmwareVersion,
    sensor: { width: board.frameWidth, height: board.frameHeight, quality: board.jpegQuality, framesPerSecond: board.framesPerSecond },
    // Untested on hardware: the XS DC decoder is estimated at ~1 s per VGA frame on the S3 (docs/CAMERA.md, "Motion"),
    // so the board looks at one frame per second and motion must last longer and may pause longer.
    motion: {
      ...DEFAULT_MOTION, enabled: board.motion, schedule: board.motionSchedule, utcOffsetMinutes: board.utcOffsetMinutes,
      detectIntervalMs: 1000, minEventMs: 1000, gapMs: 2500,
    },
    // A snapshot per clip by default, as a user of any home camera expects a thumbnail (docs/CAMERA.md).
    snapshot: { ...DEFAULT_SNAPSHOT, enabled: board.snapshots },
  };
}
