/**
 * The camera application's settings: what `startCamera(platform, config)` accepts, with defaults. Every
 * field is optional; docs/CAMERA.md lists them ("Config keys"). Provisioned data (Wi-Fi, cloud, keys) is not
 * here: it lives in Storage (store.ts).
 */
import type { CameraConfig } from "../platform/camera";
import { fail } from "../core/errors";
import type { MotionSettings } from "./motion";
import { DEFAULT_LIVE, type LiveConfig } from "./live";

/** Recording on its own: motion detection, pre-roll, cooldown, schedule (docs/CAMERA.md, "Motion"). */
export interface MotionConfig extends MotionSettings {
  /** Watch the camera continuously and record on motion (also keeps the pre-roll ring filled). */
  enabled: boolean;
  /** After a clip, motion is not looked at for this long (ms); manual triggers are not held back. */
  cooldownMs: number;
  /** A clip starts this long (ms) before the motion's onset (or the trigger), from the pre-roll ring. */
  preRollMs: number;
  /** Bounds of the pre-roll ring, besides preRollMs (plus the motion confirmation time). */
  preRollMaxFrames: number;
  preRollMaxBytes: number;
  /**
   * When motion (and PIR) may start a clip: "" = always, else comma-separated local-time windows
   * "HH:MM-HH:MM" (an end at or before the start runs past midnight). Until the clock is set (SNTP), always.
   */
  schedule: string;
  /** Local time = UTC + this many minutes (for the schedule). */
  utcOffsetMinutes: number;
  /** Look for motion in at most one frame per this many ms (0: every frame); every frame still goes to the pre-roll. */
  detectIntervalMs: number;
}

export interface CameraAppConfig {
  /** Firmware version string, reported in setup and logs. */
  firmwareVersion: string;
  /** Sensor settings for recording. */
  sensor: CameraConfig;
  /** Length of one clip (ms of capture). */
  clipMs: number;
  /** Hard cap on frames per clip (bounds memory and time even if the sensor runs fast). */
  maxFramesPerClip: number;
  /** Sealed segment size (plaintext bytes per segment), 4096..1048576. */
  segmentSize: number;
  /** Setup mode ends after this long without success (default 15 min). */
  setupTimeoutMs: number;
  /** Setup mode ends after this many failed handshakes (wrong secret, replay, failed confirmation). */
  maxSetupFailures: number;
  /** A started handshake must be confirmed within this time, else it counts as a failure. */
  handshakeTimeoutMs: number;
  /** An established setup session that stays silent this long is dropped (the slot frees up). */
  setupSessionIdleMs: number;
  /** TCP port of the setup API on the access point address. */
  setupPort: number;
  /** The roster is refreshed from the cloud this often, and before a clip when older than this. */
  rosterRefreshMs: number;
  /** First retry delay for uploads and Wi-Fi after a failure; doubles up to uploadRetryMaxMs. */
  uploadRetryMs: number;
  uploadRetryMaxMs: number;
  /** Motion detection and pre-roll (see MotionConfig). */
  motion: MotionConfig;
  /** Live view (docs/PROTOCOL.md §13). */
  live: LiveConfig;
  /** Snapshots (docs/FORMAT.md §3.1, PROTOCOL §14.14): one small preview JPEG per clip, sealed on its own. */
  snapshot: SnapshotConfig;
}

export interface SnapshotConfig {
  /** Take one per clip (needs a Camera with capturePreview; a camera without one seals no snapshot). */
  enabled: boolean;
  /** Preview size: QQVGA 160x120 by default, at most 640x480. */
  width: number;
  height: number;
  /** esp32-camera JPEG quality 0 (best) .. 63. */
  quality: number;
}

/**
 * Off unless the configuration turns it on (`sealcam sim` does; docs/CAMERA.md "Snapshots"): a snapshot is one
 * more sealed object per clip on the queue and the cloud.
 */
export const DEFAULT_SNAPSHOT: SnapshotConfig = { enabled: false, width: 160, height: 120, quality: 20 };

export const DEFAULT_MOTION: MotionConfig = {
  enabled: false,
  gridColumns: 16,
  blockThreshold: 12,
  changedShare: 0.08,
  maxChangedShare: 0.75,
  minEventMs: 600,
  gapMs: 1000,
  cooldownMs: 10_000,
  preRollMs: 2000,
  preRollMaxFrames: 25,
  preRollMaxBytes: 1024 * 1024,
  schedule: "",
  utcOffsetMinutes: 0,
  detectIntervalMs: 0,
};

export const DEFAULT_CONFIG: CameraAppConfig = {
  firmwareVersion: "0.1.0",
  sensor: { width: 640, height: 480, quality: 12, framesPerSecond: 5 },
  clipMs: 10_000,
  maxFramesPerClip: 300,
  segmentSize: 65536,
  setupTimeoutMs: 15 * 60 * 1000,
  maxSetupFailures: 5,
  handshakeTimeoutMs: 30_000,
  setupSessionIdleMs: 120_000,
  setupPort: 80,
  rosterRefreshMs: 10 * 60 * 1000,
  uploadRetryMs: 2000,
  uploadRetryMaxMs: 60_000,
  motion: DEFAULT_MOTION,
  live: DEFAULT_LIVE,
  snapshot: DEFAULT_SNAPSHOT,
};

export function resolveConfig(partial: Partial<CameraAppConfig> = {}): CameraAppConfig {
  const config: CameraAppConfig = {
    ...DEFAULT_CONFIG, ...partial,
    sensor: { ...DEFAULT_CONFIG.sensor, ...(partial.sensor ?? {}) },
    motion: { ...DEFAULT_MOTION, ...(partial.motion ?? {}) },
    live: { ...DEFAULT_LIVE, ...(partial.live ?? {}) },
    snapshot: { ...DEFAULT_SNAPSHOT, ...(partial.snapshot ?? {}) },
  };
  const positive = (name: keyof CameraAppConfig): void => {
    const v = config[name];
    if (typeof v !== "number" || !(v > 0) || !Number.isFinite(v)) fail("E_ARGUMENT", `config ${name} must be a positive number`);
  };
  for (const name of [
    "clipMs", "maxFramesPerClip", "setupTimeoutMs", "maxSetupFailures", "handshakeTimeoutMs", "setupSessionIdleMs",
    "rosterRefreshMs", "uploadRetryMs", "uploadRetryMaxMs",
  ] as const) positive(name);
  if (!Number.isInteger(config.setupPort) || config.setupPort < 0 || config.setupPort > 65535) fail("E_ARGUMENT", "config setupPort must be 0..65535");
  if (!Number.isInteger(config.segmentSize) || config.segmentSize < 4096 || config.segmentSize > 1048576) {
    fail("E_ARGUMENT", "config segmentSize must be 4096..1048576");
  }
  checkMotion(config.motion);
  checkSnapshot(config.snapshot);
  return config;
}

function checkSnapshot(s: SnapshotConfig): void {
  if (typeof s.enabled !== "boolean") fail("E_ARGUMENT", "config snapshot.enabled must be true or false");
  const range = (name: "width" | "height" | "quality", min: number, max: number): void => {
    const v = s[name];
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) fail("E_ARGUMENT", `config snapshot.${name} must be an integer ${min}..${max}`);
  };
  range("width", 16, 640);
  range("height", 16, 480);
  range("quality", 0, 63);
}

function checkMotion(m: MotionConfig): void {
  const range = (name: keyof MotionConfig, min: number, max: number, integer: boolean): void => {
    const v = m[name];
    if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v)))
      fail("E_ARGUMENT", `config motion.${name} must be ${integer ? "an integer " : "a number "}${min}..${max}`);
  };
  if (typeof m.enabled !== "boolean") fail("E_ARGUMENT", "config motion.enabled must be true or false");
  range("gridColumns", 1, 64, true);
  range("blockThreshold", 1, 255, false);
  range("changedShare", 0.001, 1, false);
  range("maxChangedShare", 0.001, 1, false);
  if (m.maxChangedShare < m.changedShare) fail("E_ARGUMENT", "config motion.maxChangedShare must not be below motion.changedShare");
  range("minEventMs", 0, 60_000, true);
  range("gapMs", 0, 60_000, true);
  range("cooldownMs", 0, 3_600_000, true);
  range("preRollMs", 0, 30_000, true);
  range("preRollMaxFrames", 0, 600, true);
  range("preRollMaxBytes", 0, 16 * 1024 * 1024, true);
  range("utcOffsetMinutes", -14 * 60, 14 * 60, true);
  range("detectIntervalMs", 0, 10_000, true);
  if (typeof m.schedule !== "string") fail("E_ARGUMENT", "config motion.schedule must be a string");
  parseSchedule(m.schedule);
}

/** A schedule window in minutes of the local day: [start, end), wrapping past midnight when end <= start. */
export interface ScheduleWindow {
  start: number;
  end: number;
}

/** Parses "HH:MM-HH:MM,..." ("" = always); a bad schedule is E_ARGUMENT naming what to write. */
export function parseSchedule(text: string): ScheduleWindow[] {
  const windows: ScheduleWindow[] = [];
  const trimmed = text.trim();
  if (trimmed === "") return windows;
  const minute = (t: string): number => {
    const m = /^([0-9]{1,2}):([0-9]{2})$/.exec(t.trim());
    if (!m || Number(m[1]) > 24 || Number(m[2]) > 59 || (Number(m[1]) === 24 && Number(m[2]) !== 0))
      return fail("E_ARGUMENT", `config motion.schedule: "${t.trim().slice(0, 16)}" is not a time; write windows as HH:MM-HH:MM, comma-separated`);
    return Number(m[1]) * 60 + Number(m[2]);
  };
  const parts = trimmed.split(",");
  if (parts.length > 16) fail("E_ARGUMENT", "config motion.schedule: at most 16 windows");
  for (const part of parts) {
    const ends = part.split("-");
    if (ends.length !== 2) fail("E_ARGUMENT", `config motion.schedule: "${part.trim().slice(0, 16)}" is not a window; write HH:MM-HH:MM`);
    const start = minute(ends[0]);
    const end = minute(ends[1]);
    if (start === end) fail("E_ARGUMENT", `config motion.schedule: window "${part.trim().slice(0, 16)}" is empty`);
    windows.push({ start, end });
  }
  return windows;
}

/** The clock is set (SNTP) once it is past 2021-01-01; before that the schedule is always open. */
const CLOCK_SET = Date.UTC(2021, 0, 1);

/** Whether motion may start a clip at `time` (ms since the epoch) under `windows`. */
export function scheduleOpen(windows: ScheduleWindow[], time: number, utcOffsetMinutes: number): boolean {
  if (windows.length === 0 || time < CLOCK_SET) return true;
  const day = 24 * 60;
  const m = ((Math.floor(time / 60_000) + utcOffsetMinutes) % day + day) % day;
  for (const w of windows) {
    if (w.start < w.end ? m >= w.start && m < w.end : m >= w.start || m < w.end) return true;
  }
  return false;
}
