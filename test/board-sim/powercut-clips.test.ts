/**
 * Power cuts at every named point of clip queueing, with the firmware in XS on the board simulator against
 * the real cloud, each followed by a restart and reconnection (powercut-sweep.ts has the rules): recording with
 * the network down, so every part goes through the flash queue — `log:record.start`, the k-th torn `set` of
 * `c.seq` (the clip's sequence, then its snapshot's), the k-th `log:queue.append` (the snapshot's head, final
 * and footer, then the clip's head, segment, final segment, footer queued), the k-th queue flash write and
 * block erase torn half way, `log:snapshot.done`, `log:record.done`. Snapshots are on: each clip's snapshot
 * must follow the same rules as the clip. powercut-upload.test.ts sweeps the upload side.
 * Also here: every log event of the clip path (recorder, uplink, queue) is a swept point or named as not one.
 */
import { World } from "./harness";
import { clipPathEvents } from "./powercut-points";
import { ClipSweep, QUEUEING_PLAN, UPLOAD_PLAN } from "./powercut-sweep";

/** Events of the clip path that are not cut points of a power-cut sweep, and why. */
const NOT_POINTS: Record<string, string> = {
  "record.skip": "a trigger ignored: nothing is written",
  "upload.refused": "the cloud refused a part for good (a protocol error, not a power cut); the sweeps assert it never happens",
  "queue.bad-record": "a record that fails its CRC after boot (flash corruption); the sweeps assert it never happens",
  "queue.maintain": "housekeeping failed (a flash error); its writes and erases are swept as flash points",
  "queue.drop": "the queue is full or a record rotted; the sweeps assert it never happens",
  "snapshot.fail":
    "no snapshot for this clip: the line itself writes nothing (a preview that did not come or did not seal delivered nothing; " +
    "a part the queue could not take failed in a flash write, swept as a flash point); the sweeps assert it never happens",
};

const world = new World();
const sweep = new ClipSweep(world);

beforeAll(async () => {
  await world.start();
  await sweep.start("cam-cut-queueing");
}, 60000);

afterAll(async () => {
  await sweep.stop();
  await world.close();
});

test("every log event of the clip path is a swept cut point or named as not one", () => {
  const events = clipPathEvents();
  const swept = [...QUEUEING_PLAN, ...UPLOAD_PLAN].filter((p) => p.point.startsWith("log:")).map((p) => p.point.slice(4));
  expect(events).toEqual(expect.arrayContaining(["record.start", "queue.append", "upload.sent"]));
  // A new event in recorder.ts, uplink.ts or the queue must join a plan in powercut-sweep.ts or NOT_POINTS here.
  expect(events.filter((e) => !swept.includes(e) && !(e in NOT_POINTS))).toEqual([]);
  expect(swept.filter((e) => !events.includes(e))).toEqual([]);
});

test("power cut at every named point of clip queueing, then restart: no clip lost, none duplicated", async () => {
  const t0 = Date.now();
  await sweep.run(QUEUEING_PLAN);
  // And a last drain of whatever the sweep left queued.
  sweep.board.restoreNetwork();
  await sweep.checkCloudWhenSettled("queueing: final drain");
  const summary = await sweep.finish();
  process.stdout.write(`clip queueing power-cut sweep, ${Math.round((Date.now() - t0) / 1000)} s: ${summary}\n`);
}, 240000);
