/**
 * `make build` step: bundles the board simulator's firmware entry (firmware/sim/main.ts, with the camera
 * application) for the XS host into build/xs-bundles/board-sim.js. Run as a small node script (mk/sim.mk)
 * so the sealcam CLI never has to load esbuild at run time.
 */
import * as path from "node:path";
import { bundleFirmware, repoRoot } from "./bundle";
import { SIM_BUNDLE, SIM_ENTRY } from "./xs-runner";

bundleFirmware(SIM_ENTRY, path.join(repoRoot(), SIM_BUNDLE)).then(
  () => process.stdout.write(`bundled ${SIM_ENTRY} -> ${SIM_BUNDLE}\n`),
  (error: unknown) => {
    process.stderr.write(`cannot bundle ${SIM_ENTRY}: ${(error as Error).message}\n`);
    process.exitCode = 1;
  },
);
