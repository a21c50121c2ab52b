/**
 * make bench-xs-mem: memory while the firmware's sealer seals a 1 MB vs a 200 MB clip in XS, streaming.
 * For each clip size, a fresh XS host process (so its peak RSS, VmHWM, belongs to that clip alone):
 *   XS heap: the engine's counters (BoardSim.memory: chunk and slot peaks since a reset taken after a full
 *   collection, just before the clip), i.e. the high-water mark of sealing that clip;
 *   (peaks include garbage not yet collected, so they follow the engine's collection policy; the live marks are
 *   the most the heaps held right after a collection, one of them taken with the clip half sealed);
 *   host RSS: VmRSS of the xs-host process sampled every 10 ms while sealing, and its VmHWM at the end.
 * Run in the 64-bit XS host and, when built, the 32-bit board host (xs-host-board32: the manifest's fixed
 * `creation` heaps). Flat = the 200 MB figures equal the 1 MB ones.
 */
import * as fs from "node:fs";
import * as nodeCrypto from "node:crypto";
import * as path from "node:path";
import { BoardSim, xsHostBinary, xsHostBoard32Binary, type XsMemory } from "../../host-tools/board-sim/board-sim";
import { bundleFirmware, repoRoot } from "../../host-tools/board-sim/bundle";
import { childPids, rssMb } from "../lib/proc";
import { mergeResults, table } from "../lib/results";

const SIZES = [1, 200];
const kib = (n: number) => Number((n / 1024).toFixed(1));

async function measure(binary: string, bundle: string, megabytes: number, rsa: Uint8Array) {
  const sim = new BoardSim();
  await sim.start(binary, bundle, { timeoutMs: 300000 });
  try {
    await sim.once("ready");
    const [pid] = childPids(process.pid, path.basename(binary));
    if (!pid) throw new Error(`no ${path.basename(binary)} child process found`);
    await sim.memory({ collect: true, reset: true });
    const before = rssMb(pid);
    let rssMax = before.rss;
    const timer = setInterval(() => {
      try {
        rssMax = Math.max(rssMax, rssMb(pid).rss);
      } catch {
        /* exited */
      }
    }, 10);
    await sim.request("begin", { rsa });
    await sim.request("write", { megabytes: megabytes / 2 }, 300000);
    await sim.memory({ collect: true }); // live data with the clip half sealed (feeds the live marks)
    await sim.request("write", { megabytes: megabytes / 2 }, 300000);
    const result = (await sim.request("finish")) as { ms: number; sealed: number; segments: number };
    clearInterval(timer);
    const memory: XsMemory = await sim.memory();
    const after = rssMb(pid);
    return {
      megabytes,
      segments: result.segments,
      seal_mb_s: Number((megabytes / (result.ms / 1000)).toFixed(1)),
      xs_chunk_peak_kib: kib(memory.chunkPeak),
      xs_slot_peak_kib: kib(memory.slotPeak * memory.slotSize),
      xs_chunk_live_kib: kib(memory.chunkLive),
      xs_slot_live_kib: kib(memory.slotLive * memory.slotSize),
      xs_largest_chunk_kib: kib(memory.largestChunk),
      xs_chunk_reserved_kib: kib(memory.chunkReserved),
      xs_slot_reserved_kib: kib(memory.slotReserved * memory.slotSize),
      collections: memory.collections,
      rss_before_mb: before.rss,
      rss_max_sampled_mb: Math.max(rssMax, after.rss),
      rss_peak_vmhwm_mb: after.peak,
    };
  } finally {
    await sim.stop();
  }
}

async function main(): Promise<void> {
  const root = repoRoot();
  const bundle = path.join(root, "build", "xs-bundles", "bench-xs-mem.js");
  await bundleFirmware(path.join(root, "bench", "xs-mem", "mem.entry.ts"), bundle);
  const { publicKey } = nodeCrypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  const rsa = new Uint8Array(publicKey.export({ format: "der", type: "pkcs1" }));
  const engines: [string, string][] = [["xs-host (64-bit)", xsHostBinary()]];
  if (fs.existsSync(xsHostBoard32Binary())) engines.push(["xs-host-board32 (32-bit, manifest heaps)", xsHostBoard32Binary()]);
  const rows: Record<string, unknown>[] = [];
  for (const [engine, binary] of engines) {
    for (const megabytes of SIZES) rows.push({ engine, ...(await measure(binary, bundle, megabytes, rsa)) });
  }
  const flat = engines.map(([engine]) => {
    const [small, large] = rows.filter((r) => r.engine === engine) as Record<string, number>[];
    return {
      engine,
      xs_chunk_live_ratio_200_vs_1: Number((large.xs_chunk_live_kib / small.xs_chunk_live_kib).toFixed(3)),
      xs_slot_live_ratio_200_vs_1: Number((large.xs_slot_live_kib / small.xs_slot_live_kib).toFixed(3)),
      xs_chunk_peak_ratio_200_vs_1: Number((large.xs_chunk_peak_kib / small.xs_chunk_peak_kib).toFixed(3)),
      xs_slot_peak_ratio_200_vs_1: Number((large.xs_slot_peak_kib / small.xs_slot_peak_kib).toFixed(3)),
      rss_peak_ratio_200_vs_1: Number((large.rss_peak_vmhwm_mb / small.rss_peak_vmhwm_mb).toFixed(3)),
    };
  });
  mergeResults("xs_mem", {
    rows,
    flat,
    note: "firmware ClipSealer + NativeCrypto in XS, 64 KiB segments, 40000-byte frames from one reused buffer, 1 phone (HPKE) + RSA-OAEP data key; each clip in a fresh host process; XS peaks since a reset after a full collection just before the clip; RSS = the whole xs-host process (engine, Mbed TLS, code)",
  });
  console.log("Memory while sealing in XS (firmware ClipSealer, streaming): 1 MB vs 200 MB clip");
  console.log(
    table([
      ["engine", "clip MB", "segments", "seal MB/s", "XS chunk peak KiB", "XS slot peak KiB", "XS chunk live KiB", "XS slot live KiB", "largest chunk KiB", "GCs", "RSS before MB", "RSS max MB", "VmHWM MB"],
      ...rows.map((r) => [r.engine, r.megabytes, r.segments, r.seal_mb_s, r.xs_chunk_peak_kib, r.xs_slot_peak_kib, r.xs_chunk_live_kib, r.xs_slot_live_kib, r.xs_largest_chunk_kib, r.collections, r.rss_before_mb, r.rss_max_sampled_mb, r.rss_peak_vmhwm_mb] as (string | number)[]),
    ]),
  );
  console.log("\n200 MB / 1 MB: " + flat.map((f) => `${f.engine}: XS chunk live ${f.xs_chunk_live_ratio_200_vs_1}, slot live ${f.xs_slot_live_ratio_200_vs_1}, chunk peak ${f.xs_chunk_peak_ratio_200_vs_1}, slot peak ${f.xs_slot_peak_ratio_200_vs_1}, RSS peak ${f.rss_peak_ratio_200_vs_1}`).join("; "));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
