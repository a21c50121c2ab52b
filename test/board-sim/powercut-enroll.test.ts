/**
 * Power cuts at every named point of enrollment, with the firmware in XS on the board simulator against the
 * real cloud: every `cut` step the firmware has (read from its sources, so a new step is swept as soon as it
 * exists) and a torn write of every NVS value the enrollment sets (the sequence is recorded from a clean
 * enrollment first). After each cut the board restarts; the camera is then either enrolled (only when the
 * cut came after the commit marker) and registers and records, or not enrolled at all (no p.* or r.* key
 * left) and a fresh setup succeeds.
 */
import * as path from "node:path";
import type { SimulatedBoard } from "../../host-tools/board-sim/simulator";
import { World } from "./harness";
import { armCut, firmwareCutSteps, nextLog, powerCut, until, within } from "./powercut-points";

const world = new World();

beforeAll(() => world.start(), 60000);
afterAll(() => world.close());

/** The steps of CameraStore.commitProvisioning, in the order it reaches them. */
const ENROLLMENT_STEPS = [
  "marker-removed", "wrote-p.key", "wrote-p.cert", "wrote-p.root", "wrote-p.wifi", "wrote-p.cloud", "wrote-p.meta",
  "wrote-roster-chunks", "wrote-roster-pointer", "committed",
];

const provisionKeys = (board: SimulatedBoard) => board.services.nvs.keys().filter((k) => k.startsWith("p.") || k.startsWith("r.")).sort();

async function status(board: SimulatedBoard): Promise<string | undefined> {
  try {
    return await board.command("status", 2000);
  } catch {
    return undefined;
  }
}

test("every cut step in the firmware is a step of the enrollment sweep", () => {
  const inFirmware = firmwareCutSteps();
  expect(inFirmware.length).toBeGreaterThanOrEqual(ENROLLMENT_STEPS.length);
  // A step added to the firmware (store.ts or anywhere else with the cut hook) must be added to the sweep.
  expect(inFirmware.filter((s) => !ENROLLMENT_STEPS.includes(s))).toEqual([]);
  expect(ENROLLMENT_STEPS.filter((s) => !inFirmware.includes(s))).toEqual([]);
});

test("power cut at every named step and every storage write of enrollment, then restart: enrolled or not, never half", async () => {
  // A clean enrollment first: the steps in the order the firmware reaches them, and every NVS `set` it makes.
  const reference = await world.board("enroll-reference");
  await world.setupUrl(reference);
  const steps: string[] = [];
  reference.on("step", (s: string) => steps.push(s));
  const sets: string[] = [];
  let enrolling = true;
  const inner = reference.services.nvs.fault;
  reference.services.nvs.fault = {
    beforeWrite: (key, op) => {
      if (op === "set" && enrolling) sets.push(key);
      return inner.beforeWrite?.(key, op) ?? "ok";
    },
  };
  const { cameraId } = await world.enrolled(reference);
  enrolling = false; // from here on: recording (c.seq), not enrollment
  expect(steps).toEqual(ENROLLMENT_STEPS);
  expect(sets).toEqual(expect.arrayContaining(["p.key", "p.cert", "p.root", "p.wifi", "p.cloud", "p.meta", "r.ptr", "p.ok"]));
  expect(sets[sets.length - 1]).toBe("p.ok");
  await world.record(reference);
  await world.clips(cameraId, 1);
  await reference.stop();

  // Each point: the k-th occurrence of a step, or the k-th `set` of a key, from power-on of a new camera.
  const inFirmware = firmwareCutSteps().sort((a, b) => steps.indexOf(a) - steps.indexOf(b));
  const points: { point: string; k: number }[] = inFirmware.map((s) => ({ point: `step:${s}`, k: 1 }));
  const counts = new Map<string, number>();
  for (const key of sets) {
    counts.set(key, (counts.get(key) ?? 0) + 1);
    points.push({ point: `storage-set:${key}`, k: counts.get(key)! });
  }

  const outcomes: string[] = [];
  let n = 0;
  for (const { point, k } of points) {
    const board = await world.board(`enroll-cut-${n++}`);
    await world.setupUrl(board);
    const armed = armCut(board, point, k);
    const cut = powerCut(board);
    const booted = cut.then(() => nextLog(board, (r) => r.e === "boot"));
    const added = world.add(board).then(() => "added", (error: Error) => `refused: ${error.message}`);
    const first = await within(Promise.race([cut.then(() => "cut"), added]), 20000, `${point}#${k}: the add or the cut`);
    armed.disarm();
    expect([point, first]).toEqual([point, "cut"]); // every point is reached during an enrollment
    expect(await added).toMatch(/^refused/); // the phone never hears "done" from a camera that lost power
    await within(booted, 15000, `${point}#${k}: the new boot`);
    // The boot settles in setup mode (not enrolled) or in normal operation (enrolled).
    const after = await until(async () => {
      const s = await status(board);
      return s && /state=(setup|running|connecting)/.test(s) ? s : undefined;
    }, 15000, `${point}#${k}: the camera after the cut`);
    const enrolled = after.includes("enrolled=yes");
    outcomes.push(`${point}#${k}=${enrolled ? "enrolled" : "not"}`);
    // Only a cut after the commit marker leaves the camera enrolled: the marker is the last write.
    expect([point, k, enrolled]).toEqual([point, k, point === "step:committed"]);
    if (enrolled) {
      // It registers with the cloud and records a clip that the phone lists, verified and complete.
      await board.waitForLog("cloud.registered", 20000, true);
      const id = /camera=(\S+)/.exec(after)![1];
      await world.record(board);
      expect((await world.clips(id, 1)).length).toBe(1);
    } else {
      expect(after).toContain("state=setup");
      expect(provisionKeys(board)).toEqual([]); // nothing of the cut enrollment is left
      const again = await world.enrolled(board);
      expect(await board.command("status")).toContain(`camera=${again.cameraId}`);
    }
    expect(board.logs.some((r) => r.e === "boot.bad-enrollment")).toBe(false);
    await board.stop();
  }
  // One line per point, for the report.
  process.stdout.write(`enrollment power-cut sweep: ${points.length} points (NVS sets: ${sets.join(",")}): ${outcomes.join(" ")}\n`);
  expect(outcomes.filter((o) => o.endsWith("=enrolled"))).toEqual(["step:committed#1=enrolled"]);
}, 180000);
