/**
 * `sealcam sim [--out DIR] [--clips N] [--clip-seconds S] [--fps N] [--engine xs|node]`: the main job, the
 * whole system end to end on this host (host-tools/sim/run-sim.ts). Exits 0 on success; on any failure,
 * non-zero with the step that failed.
 */
import * as path from "node:path";
import { createRunner } from "../board-sim/cli";
import { runSim, SimFailure } from "./run-sim";

const USAGE = `usage: sealcam sim [options]

  --out DIR           where every output goes (default: ./.sim/run; emptied first)
  --clips N           clips to record (default 3)
  --clip-seconds S    clip length (default 2)
  --fps N             frames per second (default 5)
  --size WxH          frame size (default 640x480)
  --engine xs|node    the camera firmware in the XS host (default) or in this Node process;
                      xs-stress: the GC-stress XS host (every allocation collects; slow, use short clips)`;

export async function main(argv: string[]): Promise<number> {
  const opts: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--help" || arg === "-h") {
      process.stdout.write(USAGE + "\n");
      return 0;
    }
    const value = argv[i + 1];
    if (!arg.startsWith("--") || value === undefined || !["out", "clips", "clip-seconds", "fps", "size", "engine"].includes(arg.slice(2))) {
      process.stderr.write(`sealcam sim: bad argument '${arg}'\n\n${USAGE}\n`);
      return 2;
    }
    opts[arg.slice(2)] = value;
    i++;
  }
  const clips = Number(opts.clips ?? "3");
  const clipSeconds = Number(opts["clip-seconds"] ?? "2");
  const fps = Number(opts.fps ?? "5");
  const size = /^(\d{2,4})x(\d{2,4})$/.exec(opts.size ?? "640x480");
  const engine = opts.engine ?? "xs";
  if (!(Number.isInteger(clips) && clips >= 1 && clips <= 20) || !(clipSeconds >= 0.5 && clipSeconds <= 60) ||
      !(Number.isInteger(fps) && fps >= 1 && fps <= 30) || !size) {
    process.stderr.write(`sealcam sim: --clips 1..20, --clip-seconds 0.5..60, --fps 1..30, --size WxH\n`);
    return 2;
  }
  const print = (line: string) => process.stdout.write(line + "\n");
  print(`sealcam sim: cloud + two phones + one camera (firmware in ${engine === "node" ? "Node" : "the XS engine"}), end to end`);
  try {
    const runner = await createRunner(engine);
    const report = await runSim({
      outDir: path.resolve(opts.out ?? ".sim/run"),
      clips,
      clipSeconds,
      fps,
      width: Number(size[1]),
      height: Number(size[2]),
      runner,
      engineName: engine === "node" ? "firmware in Node" : engine === "xs-stress" ? "firmware in XS, GC stress" : "firmware in XS",
      print,
    });
    print(`sealcam sim: OK (${report.clips.length} clips sealed, uploaded and opened by two phones; outputs in ${report.outDir})`);
    return 0;
  } catch (error) {
    const message = error instanceof SimFailure ? error.message : (error as Error).message ?? String(error);
    process.stderr.write(`sealcam sim: FAILED at ${message}\n`);
    return 1;
  }
}
