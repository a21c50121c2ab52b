/**
 * Power cuts at every named point of clip queueing and upload, with the firmware in XS on the board simulator
 * against the real cloud, each followed by a restart (and the network or cloud coming back). The points:
 *
 *   recording offline (every part goes to the flash queue): `log:record.start`, the torn `set` of `c.seq`,
 *     the k-th `log:queue.append` (after head, segment, final segment, footer are queued), the k-th queue
 *     flash write and block erase torn half way, `log:record.done`;
 *   recording online (straight to the cloud): `log:record.start`, the k-th `log:upload.sent` (the cloud's
 *     reply to head, segment, final, footer), `log:record.done`;
 *   draining the queue: the k-th `log:upload.sent` (the cloud holds the part, its queue entry is not yet
 *     released), the k-th flash write (the acks, housekeeping) and erase torn half way, `log:queue.drained`;
 *   the cloud unreachable: `log:upload.defer`, `log:upload.retry`.
 *
 * Every multi-occurrence point is swept for k = 1, 2, ... until a clip (or drain) passes without reaching it.
 * After every cut and restart the cloud must hold EXACTLY the clips whose footer was queued in flash or
 * stored by the cloud before the power went (none lost), each once (ids unique), each opening on the phone
 * with the sequence number the camera gave it, all sequence numbers distinct (none duplicated). A clip cut
 * before its footer was queued is never completed: the sealer's state (clip key, hash chain) lived in RAM, so
 * the design does not resume it; its queued head and segments still go up and stay an incomplete upload that
 * the phone does not list as a clip.
 */
import * as net from "node:net";
import * as path from "node:path";
import type { AddressInfo } from "node:net";
import { CloudClient } from "../../host-tools/phone/client";
import type { SimulatedBoard } from "../../host-tools/board-sim/simulator";
import type { LogRecord } from "../../host-tools/board-sim/services";
import { World } from "./harness";
import { armCut, clipPathEvents, nextLog, powerCut, Timeline, until, within } from "./powercut-points";

/** The events of the clip path that are swept here as `log:<event>` cut points. */
const SWEPT_EVENTS = ["record.start", "record.done", "queue.append", "upload.sent", "queue.drained", "upload.defer", "upload.retry"];
/** Events of the clip path that are not cut points of a power-cut sweep, and why. */
const NOT_POINTS: Record<string, string> = {
  "record.skip": "a trigger ignored: nothing is written",
  "upload.refused": "the cloud refused a part for good (a protocol error, not a power cut); asserted never to happen here",
  "queue.bad-record": "a record that fails its CRC after boot (flash corruption); asserted never to happen here",
  "queue.maintain": "housekeeping failed (a flash error); its writes and erases are swept as flash points",
  "queue.drop": "the queue is full or a record rotted; asserted never to happen here",
};

/** A TCP gate in front of the cloud: the camera's cloud URL. Closed, it cuts every connection (E_NETWORK). */
class Gate {
  open = true;
  private readonly sockets = new Set<net.Socket>();
  private server: net.Server | undefined;
  url = "";
  constructor(private readonly port: number) {}
  async start(): Promise<void> {
    this.server = net.createServer((socket) => {
      if (!this.open) return void socket.destroy();
      const upstream = net.connect(this.port, "127.0.0.1");
      for (const s of [socket, upstream]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
        s.on("error", () => undefined);
      }
      socket.pipe(upstream).pipe(socket);
      socket.on("close", () => upstream.destroy());
      upstream.on("close", () => socket.destroy());
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", () => resolve()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  close(): void {
    this.open = false;
    for (const s of this.sockets) s.destroy();
  }
  async stop(): Promise<void> {
    this.close();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}

const world = new World();
let gate: Gate;
let board: SimulatedBoard;
let timeline: Timeline;
let cameraId = "";

/** Clip id prefix (16 hex, as record.start and upload.sent log it) -> sequence: must be complete on the cloud. */
const expected = new Map<string, number>();
/** Every clip the camera started: prefix -> sequence. */
const started = new Map<string, number>();
/** Complete clips opened on the phone: prefix -> sequence. */
const opened = new Map<string, number>();
const fired = new Set<string>();
const outcomes: string[] = [];

beforeAll(async () => {
  await world.start();
  gate = new Gate(world.cloud.port);
  await gate.start();
  board = await world.board("cam-cuts", {
    firmwareConfig: {
      clipMs: 400, // two frames of ~2.5 KB: head, one whole 4 KiB segment, the final segment, footer
      segmentSize: 4096,
      sensor: { width: 160, height: 120, quality: 20, framesPerSecond: 5 },
      uploadRetryMs: 100,
      uploadRetryMaxMs: 200,
      handshakeTimeoutMs: 5000,
    },
  });
  timeline = new Timeline(board);
  cameraId = (await world.enrolled(board, gate.url)).cameraId;
}, 60000);

afterAll(async () => {
  await gate?.stop();
  await world.close();
});

async function status(): Promise<string | undefined> {
  try {
    return await board.command("status", 2000);
  } catch {
    return undefined;
  }
}

/** Waits until the camera is up, enrolled, online and its queue is empty (everything queued reached the cloud). */
async function settled(what: string): Promise<string> {
  return until(async () => {
    const s = await status();
    return s && s.includes("enrolled=yes") && s.includes("state=running") && s.includes("queue=0") ? s : undefined;
  }, 30000, `${what}: the camera online with an empty queue`);
}

async function offline(): Promise<void> {
  const s = await until(status, 10000, "status");
  if (!s.includes("state=running")) return;
  const down = nextLog(board, (r) => r.e === "wifi.down");
  board.dropNetwork(0);
  await within(down, 10000, "wifi.down");
}

/** What the firmware did before the power went: the clips it started and those whose footer it got rid of. */
function facts(records: LogRecord[]): { sealed: string[] } {
  const sealed: string[] = [];
  let current = "";
  for (const r of records) {
    const f = r.f ?? {};
    if (r.e === "record.start") {
      current = String(f.clip);
      expect(started.has(current)).toBe(false);
      started.set(current, Number(f.sequence));
    }
    // The footer is in the flash queue, or the cloud has stored it: the clip must reach the cloud complete.
    if (r.e === "queue.append" && f.part === "footer") sealed.push(current);
    if (r.e === "upload.sent" && f.part === "footer" && f.queued === false) sealed.push(String(f.clip));
  }
  return { sealed };
}

/** The cloud holds exactly the expected clips, each once, each opening on the phone with its own sequence. */
async function checkCloud(label: string): Promise<void> {
  const client = new CloudClient(world.cloudUrl, world.phoneA.state().token);
  const listing = await client.json<{ clips: { clipId: string; cameraId: string; complete: boolean }[] }>("GET", "/v1/clips");
  const complete = listing.clips.filter((c) => c.cameraId === cameraId && c.complete).map((c) => c.clipId);
  expect([label, new Set(complete).size]).toEqual([label, complete.length]);
  expect([label, complete.map((id) => id.slice(0, 16)).sort()]).toEqual([label, [...expected.keys()].sort()]);
  for (const id of complete) {
    const prefix = id.slice(0, 16);
    if (opened.has(prefix)) continue;
    const dir = path.join(world.dir, "opened", id);
    const clip = await world.phoneA.open(id, path.join(dir, "clip.frames"), dir);
    expect([label, clip.clipId, clip.cameraId, clip.sequence]).toEqual([label, id, cameraId, expected.get(prefix)]);
    expect(clip.frames).toBeGreaterThan(0);
    opened.set(prefix, clip.sequence);
  }
  expect([label, new Set(opened.values()).size]).toEqual([label, opened.size]); // no sequence number twice
}

/** After a cut: the new boot, then (with the network and cloud back) an empty queue and the cloud check. */
async function afterCut(label: string, booted: Promise<unknown>): Promise<void> {
  await within(booted, 15000, `${label}: the new boot`);
  if (!gate.open) gate.open = true;
  board.restoreNetwork();
  await settled(label);
  await checkCloud(label);
}

type Phase = "offline" | "online" | "drain" | "outage";

/**
 * One point, one k: brings the camera into the phase's state, arms the cut, does the work (a clip, or a
 * drain), and returns whether the cut fired. After a cut: restart, reconnect, check the cloud.
 */
async function runPoint(phase: Phase, point: string, k: number): Promise<boolean> {
  const label = `${phase} ${point}#${k}`;
  if (phase === "offline" || phase === "drain") await offline();
  else await settled(label);
  if (phase === "drain") {
    // A clip sealed into the queue while offline: it must reach the cloud whatever happens below.
    const mark = timeline.mark;
    const done = nextLog(board, (r) => r.e === "record.done" || r.e === "record.fail");
    board.trigger("sweep");
    expect((await within(done, 20000, `${label}: the queued clip`)).e).toBe("record.done");
    for (const clip of facts(timeline.since(mark).flatMap((m) => (m.kind === "log" ? [m.record] : []))).sealed) expected.set(clip, started.get(clip)!);
  }
  if (phase === "outage") gate.close();
  const cuts = board.powerCuts.length;
  const mark = timeline.mark;
  const cut = powerCut(board);
  const booted = cut.then(() => nextLog(board, (r) => r.e === "boot"));
  const armed = armCut(board, point, k);
  if (phase === "drain") {
    board.restoreNetwork();
    await Promise.race([cut, settled(label)]);
  } else {
    const done = nextLog(board, (r) => r.e === "record.done" || r.e === "record.fail");
    board.trigger("sweep");
    await within(Promise.race([cut, done]), 20000, `${label}: the clip or the cut`);
    done.cancel();
  }
  armed.disarm();
  const hit = board.powerCuts.length > cuts;
  if (!hit) cut.cancel();
  for (const clip of facts(timeline.beforeCut(mark)).sealed) expected.set(clip, started.get(clip)!);
  if (hit) {
    fired.add(point.startsWith("log:") ? point.slice(4) : point);
    await afterCut(label, booted);
  } else {
    if (phase === "outage") gate.open = true;
    if (phase !== "offline") {
      await settled(label);
      await checkCloud(label);
    }
  }
  return hit;
}

/** Sweeps k = 1, 2, ... until the work passes without reaching the point (or k = 1 only); returns the cuts. */
async function sweep(phase: Phase, point: string, once = false): Promise<number> {
  let cuts = 0;
  for (let k = 1; k <= 40; k++) {
    if (!(await runPoint(phase, point, k))) break;
    cuts++;
    if (once) break;
  }
  outcomes.push(`${phase} ${point}: ${cuts}`);
  return cuts;
}

test("every log event of the clip path is a swept cut point or named as not one", () => {
  const events = clipPathEvents();
  expect(events).toEqual(expect.arrayContaining(["record.start", "queue.append", "upload.sent"]));
  // A new event in recorder.ts, uplink.ts or the queue must join SWEPT_EVENTS (and a sweep) or NOT_POINTS.
  expect(events.filter((e) => !SWEPT_EVENTS.includes(e) && !(e in NOT_POINTS))).toEqual([]);
  expect(SWEPT_EVENTS.filter((e) => !events.includes(e))).toEqual([]);
});

test("power cut at every named point of clip queueing and upload, then restart: no clip lost, none duplicated", async () => {
  const t0 = Date.now();
  // Recording with the network down: every part goes through the flash queue.
  expect(await sweep("offline", "log:record.start", true)).toBe(1);
  expect(await sweep("offline", "storage-set:c.seq", true)).toBe(1);
  expect(await sweep("offline", "log:queue.append")).toBeGreaterThanOrEqual(4); // head, segment, final, footer
  expect(await sweep("offline", "flash-write")).toBeGreaterThanOrEqual(4);
  await sweep("offline", "flash-erase");
  expect(await sweep("offline", "log:record.done", true)).toBe(1);
  // Recording online: each part straight to the cloud.
  expect(await sweep("online", "log:record.start", true)).toBe(1);
  expect(await sweep("online", "log:upload.sent")).toBeGreaterThanOrEqual(4);
  expect(await sweep("online", "log:record.done", true)).toBe(1);
  // Draining a queued clip when the network returns.
  expect(await sweep("drain", "log:upload.sent")).toBeGreaterThanOrEqual(4);
  expect(await sweep("drain", "flash-write")).toBeGreaterThanOrEqual(4); // one ack per part at least
  await sweep("drain", "flash-erase");
  expect(await sweep("drain", "log:queue.drained", true)).toBe(1);
  // The cloud unreachable while the Wi-Fi is up.
  expect(await sweep("outage", "log:upload.defer", true)).toBe(1);
  expect(await sweep("outage", "log:upload.retry", true)).toBe(1);

  // Every swept event was reached; nothing was dropped, refused or failed on the way.
  expect(SWEPT_EVENTS.filter((e) => !fired.has(e))).toEqual([]);
  const bad = timeline.moments.filter((m) => m.kind === "log" && ["queue.drop", "upload.refused", "queue.bad-record", "record.fail", "boot.repair"].includes(m.record.e));
  expect(bad).toEqual([]);
  // Sequence numbers: every clip the camera started has its own, even across cuts.
  expect(new Set(started.values()).size).toBe(started.size);
  expect(opened.size).toBe(expected.size);
  process.stdout.write(
    `clip power-cut sweep: ${board.powerCuts.length} cuts, ${started.size} clips started, ${expected.size} complete on the cloud and opened, ` +
      `${Math.round((Date.now() - t0) / 1000)} s: ${outcomes.join("; ")}\n`,
  );
}, 240000);
