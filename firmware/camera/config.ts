/**
 * The camera application's settings: what `startCamera(platform, config)` accepts, with defaults. Every
 * field is optional; docs/CAMERA.md lists them ("Config keys"). Provisioned data (Wi-Fi, cloud, keys) is not
 * here: it lives in Storage (store.ts).
 */
import type { CameraConfig } from "../platform/camera";
import { fail } from "../core/errors";

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
}

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
};

export function resolveConfig(partial: Partial<CameraAppConfig> = {}): CameraAppConfig {
  const config: CameraAppConfig = { ...DEFAULT_CONFIG, ...partial, sensor: { ...DEFAULT_CONFIG.sensor, ...(partial.sensor ?? {}) } };
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
  return config;
}
