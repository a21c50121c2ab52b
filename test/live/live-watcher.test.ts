/**
 * Live view needs the motion watcher running (docs/PROTOCOL.md §13.3), end to end with the firmware in XS:
 * a camera whose motion detection is off refuses a live session with E_STATE saying to turn it on; a camera
 * whose sensor stopped delivering frames (the watcher gets nothing) refuses with E_STATE saying so; once
 * frames flow again, live view works.
 */
import * as path from "node:path";
import { watchLive } from "../../host-tools/phone/live";
import type { SimulatedBoard } from "../../host-tools/board-sim/simulator";
import { World } from "../board-sim/harness";
import { LIVE_SENSOR, liveCamera } from "../helpers/live-camera";
import { refusal } from "../helpers/refusal";

jest.setTimeout(120_000);

const world = new World();
let watching: SimulatedBoard;
let blind: SimulatedBoard;
let watchingId: string;
let blindId: string;

function camera(name: string, motion: boolean): Promise<{ board: SimulatedBoard; cameraId: string }> {
  return liveCamera(world, name, { motion, maxDurationMs: 4000 });
}

beforeAll(async () => {
  await world.start();
  ({ board: watching, cameraId: watchingId } = await camera("watching", true));
  ({ board: blind, cameraId: blindId } = await camera("blind", false));
}, 120_000);

afterAll(async () => {
  await world.close();
});

test("motion detection off: live view is refused with E_STATE and a message saying to turn it on", async () => {
  const error = await refusal(watchLive(world.phoneA, blindId, { durationMs: 5000 }), "live view was not refused");
  expect(error.code).toBe("E_STATE");
  expect(error.message).toMatch(/motion watcher is off .*turn motion detection on/);
  expect(blind.logs.some((r) => r.e === "live.start")).toBe(false);
});

test("the sensor stops delivering frames: refused with E_STATE; frames flow again: live view works", async () => {
  // Running first: a session opens and frames advance.
  const before = await watchLive(world.phoneA, watchingId, { maxFrames: 3, durationMs: 8000 });
  expect(before.frames).toBe(3);

  // The host camera stops answering (the watcher keeps asking and gets nothing), for longer than watcherStaleMs.
  watching.services.camera.stop();
  await new Promise((r) => setTimeout(r, 2600));
  const error = await refusal(watchLive(world.phoneA, watchingId, { durationMs: 5000 }), "live view was not refused");
  expect(error.code).toBe("E_STATE");
  expect(error.message).toMatch(/no frame for 2000 ms .*restart the camera/);
  expect(watching.logs.some((r) => r.e === "live.refused")).toBe(true);

  watching.services.camera.start(LIVE_SENSOR);
  await new Promise((r) => setTimeout(r, 500));
  const after = await watchLive(world.phoneA, watchingId, { maxFrames: 3, durationMs: 8000, framesDir: path.join(world.dir, "after") });
  expect(after.frames).toBe(3);
});
