/**
 * The share envelope vectors (test/vectors/share-v1) inside XS with the native module, as the camera's engine
 * runs firmware/core/share-envelope.ts: resealed byte for byte, opened, refused variants refused with the codes
 * Node gives (test/sharing/share-vectors.test.ts), and the clip share opening its clip vector.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { runInXs } from "../../host-tools/board-sim/board-sim";

const DIR = path.join(__dirname, "..", "vectors");
const vectors = fs.readdirSync(path.join(DIR, "share-v1")).filter((f) => f.endsWith(".json")).sort().map((f) => JSON.parse(fs.readFileSync(path.join(DIR, "share-v1", f), "utf8")) as unknown);
const clip = fs.readFileSync(path.join(DIR, "clip-v1", "ok-stream-recipient.json"), "utf8");

test("share envelope vectors in XS (NativeCrypto)", async () => {
  const report = (await runInXs("test/sharing/xs-share.entry.ts", {
    timeoutMs: 50000,
    handlers: { "share-vectors": () => JSON.stringify(vectors), "clip-vector": () => clip },
  })) as { passed: string[]; failed: unknown[] };
  expect(report.failed).toEqual([]);
  expect(report.passed).toHaveLength(2 * vectors.length + 1);
}, 60000);
