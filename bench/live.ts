/**
 * Live view on the simulator (docs/PROTOCOL.md §13): glass-to-glass latency (the capture time sealed inside
 * each frame -> decrypted on the phone) and frames/s, through the real cloud relay, the firmware in the XS
 * engine and the phone's verification, on loopback. One phone for 10 s, then two phones at once.
 * Results: bench/results/latest.json, section "live". Goal (issue 13): p50 added by sealcam <= 150 ms.
 */
import * as path from "node:path";
import { watchLive, type LiveReport } from "../host-tools/phone/live";
import { Phone } from "../host-tools/phone/phone";
import { CREDENTIALS, World } from "../test/board-sim/harness";
import { mergeResults, table } from "./lib/results";

const SECONDS = Number(process.env.LIVE_BENCH_SECONDS ?? 10);
const SENSOR = { width: 320, height: 240, quality: 12, framesPerSecond: 15 };

async function main(): Promise<void> {
  const world = new World();
  try {
    await world.start();
    const phoneB = new Phone({ home: path.join(world.dir, "phone-b"), cloud: world.cloudUrl });
    await phoneB.recover(CREDENTIALS, world.passphrase, "phone-b");
    const board = await world.board("cam", {
      firmwareConfig: {
        clipMs: 2000, sensor: SENSOR, uploadRetryMs: 200, uploadRetryMaxMs: 500, handshakeTimeoutMs: 5000,
        motion: { enabled: true }, live: { framesPerSecond: SENSOR.framesPerSecond, maxDurationMs: 300_000 },
      },
    });
    const connected = board.waitForLog("live.connected", 30000);
    const { cameraId } = await world.enrolled(board);
    await connected;
    // Warm-up (JIT, sockets).
    await watchLive(world.phoneA, cameraId, { durationMs: 1500 });

    const one = await watchLive(world.phoneA, cameraId, { durationMs: SECONDS * 1000 });
    const two = await Promise.all([
      watchLive(world.phoneA, cameraId, { durationMs: SECONDS * 1000 }),
      watchLive(phoneB, cameraId, { durationMs: SECONDS * 1000 }),
    ]);
    const row = (name: string, r: LiveReport) => [name, r.frames, r.framesPerSecond.toFixed(1), r.latencyMs.p50, r.latencyMs.p99, r.latencyMs.max];
    console.log(`live view on the simulator: ${SENSOR.width}x${SENSOR.height} at ${SENSOR.framesPerSecond} frames/s, ${SECONDS} s per run, loopback`);
    console.log(table([
      ["run", "frames", "frames/s", "p50 ms", "p99 ms", "max ms"],
      row("one phone", one), row("two phones: A", two[0]), row("two phones: B", two[1]),
    ]));
    const summary = (r: LiveReport) => ({ frames: r.frames, frames_per_s: +r.framesPerSecond.toFixed(2), latency_p50_ms: r.latencyMs.p50, latency_p99_ms: r.latencyMs.p99, latency_max_ms: r.latencyMs.max });
    mergeResults("live", {
      what: "glass-to-glass on the board simulator: capture time sealed in the frame -> decrypted on the phone, through the cloud relay, loopback",
      sensor: SENSOR, seconds: SECONDS, one_phone: summary(one), two_phones: two.map(summary), goal_p50_ms: 150,
    });
  } finally {
    await world.close();
  }
}

main().then(() => process.exit(0), (error: unknown) => {
  console.error(error);
  process.exit(1);
});
