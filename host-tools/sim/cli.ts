/**
 * `sealcam sim [--out DIR] [--clips N] [--clip-seconds S] [--fps N] [--engine xs|node]`: the main job, the
 * whole system end to end on this host (host-tools/sim/run-sim.ts). Exits 0 on success; on any failure,
 * non-zero with the step that failed.
 */
import * as path from "node:path";
import { EXIT, report, runTool, UsageError, type Args, type Context } from "../cli-kit";
import { createRunner } from "../board-sim/cli";
import { runSim, SimFailure } from "./run-sim";

export async function main(argv: string[]): Promise<number> {
  return runTool({
    name: "sim",
    summary: "the whole system, simulated end to end",
    commands: {
      summary: "the whole system on this host: a cloud, two phones and one camera (firmware in XS), end to end",
      options: {
        out: { type: "string", arg: "DIR", default: ".sim/run", help: "where every output goes (emptied first)" },
        clips: { type: "string", arg: "N", default: "3", help: "clips to record (1..20)" },
        "clip-seconds": { type: "string", arg: "S", default: "2", help: "clip length (0.5..60)" },
        fps: { type: "string", arg: "N", default: "5", help: "frames per second (1..30)" },
        size: { type: "string", arg: "WxH", default: "640x480", help: "frame size" },
        engine: { type: "string", arg: "ENGINE", default: "xs", help: "xs: the camera firmware in the XS host; node: in this Node process;\nxs-stress: the GC-stress XS host (every allocation collects; slow, use short clips)" },
      },
      details: "Exit 0 when every clip was sealed, uploaded and opened by both phones; 1 with the step that failed.",
      run: sim,
    },
  }, argv);
}

async function sim(args: Args, ctx: Context): Promise<number> {
  const clips = args.int("clips", 1, 20)!;
  const clipSeconds = args.number("clip-seconds", 0.5, 60)!;
  const fps = args.int("fps", 1, 30)!;
  const size = /^(\d{2,4})x(\d{2,4})$/.exec(args.string("size")!);
  if (!size) throw new UsageError(`--size must be WxH, e.g. 640x480, not '${args.string("size")}'`);
  const engine = args.string("engine")!;
  if (!["xs", "xs-stress", "node"].includes(engine)) throw new UsageError(`--engine must be xs, xs-stress or node, not '${engine}'`);
  const opts = { out: args.string("out")! };
  const print = ctx.out;
  print(`sealcam sim: cloud + two phones + one camera (firmware in ${engine === "node" ? "Node" : "the XS engine"}), end to end`);
  try {
    const runner = await createRunner(engine);
    const report = await runSim({
      outDir: path.resolve(opts.out),
      clips,
      clipSeconds,
      fps,
      width: Number(size[1]),
      height: Number(size[2]),
      runner,
      engineName: engine === "node" ? "firmware in Node" : engine === "xs-stress" ? "firmware in XS, GC stress" : "firmware in XS",
      print,
    });
    print(`sealcam sim: OK (${report.clips.length} clips sealed, uploaded and opened by two phones${report.sharing ? `, ${report.sharing.rows.filter((r) => r.viewerVideo === "opened").length} by the viewer they were shared with, their snapshots by the cloud's timeline` : ""}; outputs in ${report.outDir})`);
    return EXIT.OK;
  } catch (error) {
    const message = error instanceof SimFailure ? error.message : (error as Error).message ?? String(error);
    return report(ctx.io, "sim", Object.assign(new Error(`FAILED at ${message}`), { code: (error as { code?: string }).code ?? "E_INTERNAL" }));
  }
}
