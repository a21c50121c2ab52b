/**
 * The live-session vectors (test/vectors/live-v1, docs/FORMAT.md §12) inside XS with the native module: the
 * firmware's LiveSealer reproduces the valid session byte for byte from its seed, its LiveOpener opens it for
 * both phones to exactly the vector's frames, and refuses every broken vector with the code Node gives
 * (test/live/vectors.test.ts). Needs `make build` (build/xs-host/xs-host).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { runInXs } from "../../host-tools/board-sim/board-sim";
import type { LiveVector } from "../../firmware/testing/live-vectors";

const DIR = path.join(__dirname, "..", "vectors", "live-v1");
const names = fs.readdirSync(DIR).filter((f) => f.endsWith(".json")).map((f) => f.slice(0, -5)).sort();
const read = (name: string): string => fs.readFileSync(path.join(DIR, `${name}.json`), "utf8");

test("live vectors reseal and open in XS; every broken one fails with its code", async () => {
  const broken = names.filter((n) => (JSON.parse(read(n)) as LiveVector).expect !== "ok");
  const report = (await runInXs("test/xs/live.entry.ts", {
    timeoutMs: 100000,
    handlers: {
      "live-vector-names": () => JSON.stringify(names),
      "live-vector": (name) => read(name as string),
    },
  })) as { passed: string[]; failed: unknown[]; notes: string[] };
  expect(report.failed).toEqual([]);
  expect(report.passed).toHaveLength(3);
  expect(report.notes).toEqual(broken.map((n) => `${n}: ${(JSON.parse(read(n)) as LiveVector).expect}`));
}, 110000);
