/**
 * The clip queue inside the XS engine (test/queue/xs.entry.ts through the XS host): the same code the camera
 * runs, on the camera's JavaScript engine. Timings are printed, not asserted.
 */
import { runInXs } from "../../host-tools/board-sim/board-sim";

test("the clip queue runs in XS: wrap, drops, power cuts at every byte, and timings", async () => {
  const report = (await runInXs("test/queue/xs.entry.ts", { timeoutMs: 120000 })) as { passed: string[]; failed: unknown[]; notes: string[] };
  expect(report.failed).toEqual([]);
  expect(report.passed).toHaveLength(3);
  process.stdout.write(`clip queue in XS (this host):\n  ${report.notes.join("\n  ")}\n`);
});
