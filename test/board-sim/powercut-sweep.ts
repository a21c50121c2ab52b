/**
 * The clip power-cut sweep shared by powercut-clips.test.ts (recording into the queue) and
 * powercut-upload.test.ts (online upload, draining, cloud outage): one camera in XS on the board simulator,
 * enrolled through a TCP gate in front of the real cloud, and the bookkeeping that decides, after every cut
 * and restart, which clips the cloud must hold.
 *
 * A point is swept for k = 1, 2, ... until the work (a clip, or a drain) passes without reaching it. After
 * every cut and restart the cloud must hold EXACTLY the clips whose footer was queued in flash or stored by
 * the cloud before the power went (none lost), each once (ids unique), each opening on the phone with the
 * sequence number the camera gave it, all sequence numbers distinct (none duplicated). A clip cut before its
 * footer was queued is never completed: the sealer's state (clip key, hash chain) lived in RAM, so the design
 * does not resume it; its queued head and segments still go up and stay an incomplete upload that the phone
 * does not list as a clip.
 */
import * as net from "node:net";
import * as path from "node:path";
import type { AddressInfo } from "node:net";
import { CloudClient } from "../../host-tools/phone/client";
import type { SimulatedBoard } from "../../host-tools/board-sim/simulator";
import type { LogRecord } from "../../host-tools/board-sim/services";
import type { World } from "./harness";
import { armCut, nextLog, powerCut, Timeline, until, within } from "./powercut-points";

/**
 * The phases and their points (`once`: reached once per clip or drain, so only k = 1):
 *   offline  recording with the network down, every part goes to the flash queue
 *   online   recording with the cloud reachable, each part straight to the cloud
 *   drain    a queued clip going up when the network returns
 *   outage   recording with the Wi-Fi up and the cloud unreachable
 */
export type Phase = "offline" | "online" | "drain" | "outage";
export interface PlannedPoint {
  phase: Phase;
  point: string;
  once?: boolean;
  /** At least this many cuts must fire (the parts of a clip: head, one segment, final, footer). */
  atLeast?: number;
}

export const QUEUEING_PLAN: PlannedPoint[] = [
  { phase: "offline", point: "log:record.start", once: true },
  { phase: "offline", point: "storage-set:c.seq", once: true },
  { phase: "offline", point: "log:queue.append", atLeast: 4 },
  { phase: "offline", point: "flash-write", atLeast: 4 },
  { phase: "offline", point: "flash-erase" },
  { phase: "offline", point: "log:record.done", once: true },
];

export const UPLOAD_PLAN: PlannedPoint[] = [
  { phase: "online", point: "log:record.start", once: true },
  { phase: "online", point: "log:upload.sent", atLeast: 4 },
  { phase: "online", point: "log:record.done", once: true },
  { phase: "drain", point: "log:upload.sent", atLeast: 4 },
  { phase: "drain", point: "flash-write", atLeast: 4 }, // one ack per part at least
  { phase: "drain", point: "flash-erase" },
  { phase: "drain", point: "log:queue.drained", once: true },
  { phase: "outage", point: "log:upload.defer", once: true },
  { phase: "outage", point: "log:upload.retry", once: true },
];

/** A TCP gate in front of the cloud: the camera's cloud URL. Closed, it cuts every connection (E_NETWORK). */
export class Gate {
  open = true;
  url = "";
  private readonly sockets = new Set<net.Socket>();
  private server: net.Server | undefined;
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
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

export class ClipSweep {
  board!: SimulatedBoard;
  timeline!: Timeline;
  cameraId = "";
  private gate!: Gate;
  /** Clip id prefix (16 hex, as record.start and upload.sent log it) -> sequence: must be complete on the cloud. */
  readonly expected = new Map<string, number>();
  /** Every clip the camera started: prefix -> sequence. */
  readonly started = new Map<string, number>();
  /** Complete clips opened on the phone: prefix -> sequence. */
  readonly opened = new Map<string, number>();
  /** Points (as planned) where at least one cut fired. */
  readonly fired = new Set<string>();
  readonly outcomes: string[] = [];

  constructor(private readonly world: World) {}

  async start(name: string): Promise<void> {
    this.gate = new Gate(this.world.cloud.port);
    await this.gate.start();
    this.board = await this.world.board(name, {
      firmwareConfig: {
        clipMs: 400, // two frames of ~2.5 KB: head, one whole 4 KiB segment, the final segment, footer
        segmentSize: 4096,
        sensor: { width: 160, height: 120, quality: 20, framesPerSecond: 5 },
        uploadRetryMs: 100,
        uploadRetryMaxMs: 200,
        handshakeTimeoutMs: 5000,
      },
    });
    this.timeline = new Timeline(this.board);
    this.cameraId = (await this.world.enrolled(this.board, this.gate.url)).cameraId;
  }

  async stop(): Promise<void> {
    await this.gate?.stop();
  }

  /** Runs a plan; each point must fire at least once (and `atLeast` times when given). */
  async run(plan: PlannedPoint[]): Promise<void> {
    for (const p of plan) {
      const cuts = await this.sweep(p.phase, p.point, p.once ?? false);
      expect([p.phase, p.point, cuts >= (p.atLeast ?? 1)]).toEqual([p.phase, p.point, true]);
      if (p.once) expect([p.phase, p.point, cuts]).toEqual([p.phase, p.point, 1]);
    }
  }

  /** What must hold at the end of a sweep: nothing dropped, refused or failed; every sequence number once. */
  finish(): string {
    const bad = this.timeline.moments.filter(
      (m) => m.kind === "log" && ["queue.drop", "upload.refused", "queue.bad-record", "record.fail", "boot.repair"].includes(m.record.e),
    );
    expect(bad).toEqual([]);
    expect(new Set(this.started.values()).size).toBe(this.started.size);
    expect(this.opened.size).toBe(this.expected.size);
    return `${this.board.powerCuts.length} cuts, ${this.started.size} clips started, ${this.expected.size} complete on the cloud and opened: ${this.outcomes.join("; ")}`;
  }

  private async status(): Promise<string | undefined> {
    try {
      return await this.board.command("status", 2000);
    } catch {
      return undefined;
    }
  }

  /** Waits until the camera is up, enrolled, online and its queue is empty (everything queued reached the cloud). */
  private settled(what: string): Promise<string> {
    return until(async () => {
      const s = await this.status();
      return s && s.includes("enrolled=yes") && s.includes("state=running") && s.includes("queue=0") ? s : undefined;
    }, 30000, `${what}: the camera online with an empty queue`);
  }

  private async offline(): Promise<void> {
    const s = await until(() => this.status(), 10000, "status");
    if (!s.includes("state=running")) return;
    const down = nextLog(this.board, (r) => r.e === "wifi.down");
    this.board.dropNetwork(0);
    await within(down, 10000, "wifi.down");
  }

  /** What the firmware did before the power went: clips it started (recorded) and those whose footer it got rid of. */
  private facts(records: LogRecord[]): string[] {
    const sealed: string[] = [];
    let current = "";
    for (const r of records) {
      const f = r.f ?? {};
      if (r.e === "record.start") {
        current = String(f.clip);
        expect(this.started.has(current)).toBe(false);
        this.started.set(current, Number(f.sequence));
      }
      // The footer is in the flash queue, or the cloud has stored it: the clip must reach the cloud complete.
      if (r.e === "queue.append" && f.part === "footer") sealed.push(current);
      if (r.e === "upload.sent" && f.part === "footer" && f.queued === false) sealed.push(String(f.clip));
    }
    return sealed;
  }

  private expect(sealed: string[]): void {
    for (const clip of sealed) this.expected.set(clip, this.started.get(clip)!);
  }

  /** The cloud holds exactly the expected clips, each once, each opening on the phone with its own sequence. */
  async checkCloud(label: string): Promise<void> {
    const client = new CloudClient(this.world.cloudUrl, this.world.phoneA.state().token);
    const listing = await client.json<{ clips: { clipId: string; cameraId: string; complete: boolean }[] }>("GET", "/v1/clips");
    const complete = listing.clips.filter((c) => c.cameraId === this.cameraId && c.complete).map((c) => c.clipId);
    expect([label, new Set(complete).size]).toEqual([label, complete.length]);
    expect([label, complete.map((id) => id.slice(0, 16)).sort()]).toEqual([label, [...this.expected.keys()].sort()]);
    for (const id of complete) {
      const prefix = id.slice(0, 16);
      if (this.opened.has(prefix)) continue;
      const dir = path.join(this.world.dir, "opened", id);
      const clip = await this.world.phoneA.open(id, path.join(dir, "clip.frames"), dir);
      expect([label, clip.clipId, clip.cameraId, clip.sequence]).toEqual([label, id, this.cameraId, this.expected.get(prefix)]);
      expect(clip.frames).toBeGreaterThan(0);
      this.opened.set(prefix, clip.sequence);
    }
    expect([label, new Set(this.opened.values()).size]).toEqual([label, this.opened.size]); // no sequence number twice
  }

  /** With the network and the cloud up: waits for an empty queue, then checks the cloud. */
  async checkCloudWhenSettled(label: string): Promise<void> {
    this.gate.open = true;
    this.board.restoreNetwork();
    await this.settled(label);
    await this.checkCloud(label);
  }

  /**
   * One point, one k: brings the camera into the phase's state, arms the cut, does the work (a clip, or a
   * drain), and returns whether the cut fired. After a cut: restart, reconnect, check the cloud.
   */
  private async runPoint(phase: Phase, point: string, k: number): Promise<boolean> {
    const board = this.board;
    const label = `${phase} ${point}#${k}`;
    if (phase === "offline" || phase === "drain") await this.offline();
    else await this.settled(label);
    if (phase === "drain") {
      // A clip sealed into the queue while offline: it must reach the cloud whatever happens below.
      const mark = this.timeline.mark;
      const done = nextLog(board, (r) => r.e === "record.done" || r.e === "record.fail");
      board.trigger("sweep");
      expect((await within(done, 20000, `${label}: the queued clip`)).e).toBe("record.done");
      this.expect(this.facts(this.timeline.beforeCut(mark)));
    }
    if (phase === "outage") this.gate.close();
    const cuts = board.powerCuts.length;
    const mark = this.timeline.mark;
    const cut = powerCut(board);
    const booted = cut.then(() => nextLog(board, (r) => r.e === "boot"));
    const armed = armCut(board, point, k);
    if (phase === "drain") {
      board.restoreNetwork();
      await Promise.race([cut, this.settled(label)]);
    } else {
      const done = nextLog(board, (r) => r.e === "record.done" || r.e === "record.fail");
      board.trigger("sweep");
      await within(Promise.race([cut, done]), 20000, `${label}: the clip or the cut`);
      done.cancel();
    }
    armed.disarm();
    const hit = board.powerCuts.length > cuts;
    if (!hit) cut.cancel();
    this.expect(this.facts(this.timeline.beforeCut(mark)));
    if (hit) {
      this.fired.add(`${phase} ${point}`);
      // The new boot; then, with the network and the cloud back, an empty queue and the cloud check.
      await within(booted, 15000, `${label}: the new boot`);
      await this.checkCloudWhenSettled(label);
    } else {
      this.gate.open = true;
      if (phase !== "offline") await this.checkCloudWhenSettled(label);
    }
    return hit;
  }

  /** Sweeps k = 1, 2, ... until the work passes without reaching the point (or k = 1 only); returns the cuts. */
  async sweep(phase: Phase, point: string, once = false): Promise<number> {
    let cuts = 0;
    for (let k = 1; k <= 40; k++) {
      if (!(await this.runPoint(phase, point, k))) break;
      cuts++;
      if (once) break;
    }
    this.outcomes.push(`${phase} ${point}: ${cuts}`);
    return cuts;
  }
}
