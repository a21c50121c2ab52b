/**
 * A simulated camera for the Live View tests (test/live, test/viewer): the firmware in XS with short clips, a
 * small sensor and Live View on, enrolled in the test world, returned once its live channel to the cloud is
 * connected. LIVE_DEBUG=1 prints the board's log records.
 */
import type { SimulatedBoard } from "../../host-tools/board-sim/simulator";
import type { World } from "../board-sim/harness";

export const LIVE_SENSOR = { width: 160, height: 120, quality: 20, framesPerSecond: 10 };

export interface LiveCameraOptions {
  /** Motion detection (the watcher Live View needs); default on. */
  motion?: boolean;
  /** The longest live session the camera gives (ms). */
  maxDurationMs: number;
  /** A snapshot per clip (firmwareConfig.snapshot); default none. */
  snapshot?: { enabled: boolean; width: number; height: number; quality: number };
}

export async function liveCamera(world: World, name: string, options: LiveCameraOptions): Promise<{ board: SimulatedBoard; cameraId: string }> {
  const board = await world.board(name, {
    firmwareConfig: {
      clipMs: 800, sensor: LIVE_SENSOR, uploadRetryMs: 200, uploadRetryMaxMs: 500, handshakeTimeoutMs: 5000,
      motion: { enabled: options.motion ?? true },
      ...(options.snapshot ? { snapshot: options.snapshot } : {}),
      live: { maxSessions: 2, maxDurationMs: options.maxDurationMs, framesPerSecond: 10, retryMs: 300 },
    },
  });
  if (process.env.LIVE_DEBUG) board.on("log", (r: { e: string; m: string; f?: unknown }) => console.log(r.e, r.m, JSON.stringify(r.f ?? {})));
  const connected = board.waitForLog("live.connected", 30000);
  const cameraId = (await world.enrolled(board)).cameraId;
  await connected;
  return { board, cameraId };
}
