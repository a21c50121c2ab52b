/**
 * Power cuts at every named point of clip upload, with the firmware in XS on the board simulator against the
 * real cloud, each followed by a restart and reconnection (powercut-sweep.ts has the rules): recording online
 * (`log:record.start`, the k-th `log:upload.sent` — the cloud's reply to the snapshot's head, final, footer,
 * then the clip's head, segment, final, footer — `log:snapshot.done`, `log:record.done`); draining a queued
 * clip and its snapshot (the k-th `log:upload.sent`, where the cloud holds the part and
 * its queue entry is not yet released; the k-th flash write — acks, housekeeping — and erase torn half way;
 * `log:queue.drained`); the cloud unreachable with the Wi-Fi up (`log:upload.defer`, `log:upload.retry`).
 */
import { World } from "./harness";
import { ClipSweep, UPLOAD_PLAN } from "./powercut-sweep";

const world = new World();
const sweep = new ClipSweep(world);

beforeAll(async () => {
  await world.start();
  await sweep.start("cam-cut-upload");
}, 60000);

afterAll(async () => {
  await sweep.stop();
  await world.close();
});

test("power cut at every named point of clip upload, then restart: no clip lost, none duplicated", async () => {
  const t0 = Date.now();
  await sweep.run(UPLOAD_PLAN);
  const summary = await sweep.finish();
  process.stdout.write(`clip upload power-cut sweep, ${Math.round((Date.now() - t0) / 1000)} s: ${summary}\n`);
}, 240000);
