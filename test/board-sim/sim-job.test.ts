/**
 * The main job (`sealcam sim`) as a library, small: one short clip, firmware in XS. It must end with a report
 * whose clip was opened by both phones with equal plaintext, and a cloud holding only ciphertext; and the
 * cloud scanner must really find a planted plaintext frame.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { prepareXsFirmware, XsRunner } from "../../host-tools/board-sim/xs-runner";
import { runSim, scanForPlaintext } from "../../host-tools/sim/run-sim";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-simjob-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test("sealcam sim runs end to end and reports ciphertext only", async () => {
  const firmware = await prepareXsFirmware();
  const lines: string[] = [];
  const out = path.join(tmp, "run");
  const report = await runSim({
    outDir: out, clips: 1, clipSeconds: 0.6, fps: 5, width: 160, height: 120,
    runner: () => new XsRunner(firmware), engineName: "firmware in XS", print: (line) => lines.push(line),
  });
  expect(report.clips).toHaveLength(1);
  const [clip] = report.clips;
  expect(clip.frames).toBeGreaterThan(0);
  expect(clip.recipients).toBe(2); // phone A's instance key and the account data key
  expect(report.plaintextFound).toEqual([]);
  expect(report.cloudFilesScanned).toBeGreaterThan(0);
  const framesA = fs.readdirSync(clip.openedByA).filter((f) => f.endsWith(".jpg"));
  const framesB = fs.readdirSync(clip.openedByB).filter((f) => f.endsWith(".jpg"));
  expect(framesA).toHaveLength(clip.frames);
  expect(framesB).toEqual(framesA);
  expect(lines.some((l) => /phone A: passphrase \(write it down\): (\S+ ){9}\S+$/.test(l))).toBe(true);
  expect(lines.join("\n")).toContain("ciphertext only");
  expect(fs.existsSync(path.join(out, "report.json"))).toBe(true);

  // The scanner is not blind: a frame planted in the cloud's folder is found, by its bytes and its JFIF start.
  const frame = fs.readFileSync(path.join(clip.openedByA, framesA[0]));
  fs.writeFileSync(path.join(out, "cloud", "clips", "planted.bin"), Buffer.concat([Buffer.alloc(100, 7), frame]));
  const scan = scanForPlaintext(path.join(out, "cloud"), [frame], out);
  expect(scan.found.some((f) => f.includes("planted.bin") && f.includes("JPEG start"))).toBe(true);
  expect(scan.found.some((f) => f.includes("planted.bin") && f.includes("bytes of frame 1"))).toBe(true);

  // A folder the job did not make is never emptied.
  const foreign = path.join(tmp, "foreign");
  fs.mkdirSync(foreign);
  fs.writeFileSync(path.join(foreign, "keep.txt"), "mine");
  await expect(runSim({
    outDir: foreign, clips: 1, clipSeconds: 0.6, fps: 5, width: 160, height: 120,
    runner: () => new XsRunner(firmware), engineName: "firmware in XS", print: () => {},
  })).rejects.toThrow(/not empty/);
  expect(fs.readFileSync(path.join(foreign, "keep.txt"), "utf8")).toBe("mine");
});
