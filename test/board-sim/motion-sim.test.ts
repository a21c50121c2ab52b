/**
 * `sealcam sim` (make sim) records on motion, not on a timer or a trigger: the job sets a scene where someone
 * walks through the room now and then, and every clip it reports was started by the firmware's own motion
 * detector, with pre-roll frames, each walk giving one clip.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { prepareXsFirmware, XsRunner } from "../../host-tools/board-sim/xs-runner";
import { runSim } from "../../host-tools/sim/run-sim";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-simmotion-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
jest.setTimeout(120_000);

test("sealcam sim: two walks through the room, two clips started by motion, with pre-roll", async () => {
  const firmware = await prepareXsFirmware();
  const lines: string[] = [];
  const out = path.join(tmp, "run");
  const report = await runSim({
    outDir: out, clips: 2, clipSeconds: 1, fps: 5, width: 160, height: 120,
    runner: () => new XsRunner(firmware), engineName: "firmware in XS", print: (line) => lines.push(line),
  });
  expect(report.recordedOn).toBe("motion");
  expect(report.clips).toHaveLength(2);
  expect(report.motionEvents).toBe(2);
  const uart = fs.readFileSync(path.join(out, "camera-uart.log"), "utf8").split("\n").filter((l) => l.startsWith("SC "));
  const records = uart.map((l) => JSON.parse(l.slice(3)) as { e: string; f?: Record<string, unknown> });
  const starts = records.filter((r) => r.e === "record.start");
  expect(starts.map((r) => r.f?.reason)).toEqual(["motion", "motion"]);
  for (const s of starts) expect(Number(s.f?.preRoll)).toBeGreaterThanOrEqual(4);
  expect(lines.join("\n")).toMatch(/recording\s+on motion \(scene motion:5\/2\/1, 2 motion events\)/);
  expect(lines.join("\n")).toContain("ciphertext only");

  // Sharing after clip 1 (PROTOCOL §14): the viewer opens clip 2 and not clip 1; the cloud's timeline has clip
  // 2's snapshot and not clip 1's; no clip's video is wrapped to the cloud's key.
  const cells = report.sharing!.rows.map((r) => [r.clip, r.viewerVideo, r.viewerSnapshot, r.cloudSnapshot, r.cloudVideo]);
  expect(cells).toEqual([
    [1, "E_NO_RECIPIENT", "not listed", "not-in-scope", "not a recipient"],
    [2, "opened", "opened", "opened", "not a recipient"],
  ]);
  const viewerFrames = fs.readdirSync(path.join(out, "viewer", "clip-2")).filter((f) => f.startsWith("frame-"));
  expect(viewerFrames).toEqual(fs.readdirSync(report.clips[1].openedByA).filter((f) => f.startsWith("frame-")));
  expect(viewerFrames.length).toBe(report.clips[1].frames);
  const served = fs.readFileSync(path.join(out, "timeline", "clip-2.jpg"));
  expect([served[0], served[1], served[served.length - 2], served[served.length - 1]]).toEqual([0xff, 0xd8, 0xff, 0xd9]);
  expect(lines.join("\n")).toMatch(/who opened what/);
});
