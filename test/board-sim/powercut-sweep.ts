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
 *
 * Snapshots are on (FORMAT §3.1): each recording first seals its clip's snapshot, a sealed object of its own
 * (head, final segment, footer; its own sequence number), and delivers it BEFORE the clip's parts, then logs
 * `snapshot.done` and only then `record.start`. The same rule covers them: a snapshot whose footer was queued
 * or stored by the cloud before the power went must be complete on the cloud exactly once, listed by the
 * phone as a snapshot (never as a clip), open there with its signed `of` naming its clip and a sequence number
 * no other object has; any other snapshot (cut mid-way) is never listed complete. The footer of a snapshot
 * queued in the cut that stopped the camera before `snapshot.done` is expected without a known id; the cloud
 * check names it: a complete snapshot the sweep did not know whose `of` names a clip that never started.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import type { AddressInfo } from "node:net";
import { CloudClient } from "../../host-tools/phone/client";
import type { VerifiedClip } from "../../host-tools/phone/phone";
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
  /**
   * At least this many cuts must fire (the parts of a recording: the snapshot's head, final, footer, then the
   * clip's head, one segment, final, footer).
   */
  atLeast?: number;
}

export const QUEUEING_PLAN: PlannedPoint[] = [
  { phase: "offline", point: "log:record.start", once: true },
  { phase: "offline", point: "storage-set:c.seq", atLeast: 2 }, // the clip's sequence, then its snapshot's
  { phase: "offline", point: "log:queue.append", atLeast: 7 },
  { phase: "offline", point: "flash-write", atLeast: 7 },
  { phase: "offline", point: "flash-erase" },
  { phase: "offline", point: "log:snapshot.done", once: true },
  { phase: "offline", point: "log:record.done", once: true },
];

export const UPLOAD_PLAN: PlannedPoint[] = [
  { phase: "online", point: "log:record.start", once: true },
  { phase: "online", point: "log:upload.sent", atLeast: 7 },
  { phase: "online", point: "log:snapshot.done", once: true },
  { phase: "online", point: "log:record.done", once: true },
  { phase: "drain", point: "log:upload.sent", atLeast: 7 },
  { phase: "drain", point: "flash-write", atLeast: 7 }, // one ack per part at least
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

/** An object whose footer left the camera before the cut: a clip, or a snapshot (its id unknown when only queued). */
type Sealed = { kind: "clip"; id: string } | { kind: "snapshot"; id: string | undefined; of: string | undefined };

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
  /** Every snapshot the camera sealed (`snapshot.done`): clip prefix -> snapshot prefix. */
  readonly snapshotOf = new Map<string, string>();
  /** Snapshot prefix -> the prefix of the clip it previews ("" until known): must be complete on the cloud. */
  readonly expectedSnapshots = new Map<string, string>();
  /** Snapshots that must be complete on the cloud whose id the camera had not logged before the cut. */
  unnamedSnapshots = 0;
  /** How many of those the cloud check named (by their signed `of`, a clip that never started). */
  namedByCheck = 0;
  /** Complete snapshots opened on the phone: prefix -> sequence. */
  readonly openedSnapshots = new Map<string, number>();
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
        snapshot: { enabled: true, width: 160, height: 120, quality: 20 }, // one ~2.5 KB JPEG: head, final, footer
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

  /** What must hold at the end of a sweep (settled): nothing dropped, refused or failed; every sequence number once. */
  async finish(): Promise<string> {
    const bad = this.timeline.moments.filter(
      (m) => m.kind === "log" && ["queue.drop", "upload.refused", "queue.bad-record", "record.fail", "boot.repair", "snapshot.fail"].includes(m.record.e),
    );
    expect(bad).toEqual([]);
    expect(new Set(this.started.values()).size).toBe(this.started.size);
    expect(this.opened.size).toBe(this.expected.size);
    expect([this.unnamedSnapshots, this.openedSnapshots.size]).toEqual([0, this.expectedSnapshots.size]);
    const sequences = [...this.opened.values(), ...this.openedSnapshots.values()];
    expect(new Set(sequences).size).toBe(sequences.length);
    await this.checkListing();
    return `${this.board.powerCuts.length} cuts, ${this.started.size} clips started, ${this.expected.size} complete on the cloud and opened, ` +
      `${this.snapshotOf.size} snapshots sealed, ${this.expectedSnapshots.size} complete and opened (${this.namedByCheck} queued unnamed): ${this.outcomes.join("; ")}`;
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

  /**
   * What the firmware did before the power went: clips it started (recorded), snapshots it sealed, and the
   * objects whose footer it got rid of (queued in flash, or stored by the cloud). A recording delivers its
   * snapshot's parts before `snapshot.done` and `record.start`, so a part delivered before `record.start` is
   * the snapshot's; `queue.append` names no object, so a snapshot footer queued just before the cut has no id.
   */
  private facts(records: LogRecord[]): Sealed[] {
    const sealed: Sealed[] = [];
    let current = "";
    let snapshot: Extract<Sealed, { kind: "snapshot" }> | undefined; // this recording's, once its footer went
    let inSnapshot = true; // the parts delivered now are the recording's snapshot's
    for (const r of records) {
      const f = r.f ?? {};
      if (r.e === "snapshot.done") {
        const id = String(f.snapshot);
        const of = String(f.clip);
        expect(inSnapshot).toBe(true);
        expect(this.snapshotOf.has(of)).toBe(false);
        this.snapshotOf.set(of, id);
        expect(snapshot).toBeDefined(); // its footer went before it was done
        if (snapshot!.id !== undefined) expect(snapshot!.id).toBe(id);
        snapshot!.id = id;
        snapshot!.of = of;
        inSnapshot = false;
      }
      if (r.e === "record.start") {
        current = String(f.clip);
        expect(this.started.has(current)).toBe(false);
        // Snapshots are on and the preview never fails here: every clip starts after its own snapshot.
        expect([current, this.snapshotOf.has(current)]).toEqual([current, true]);
        this.started.set(current, Number(f.sequence));
        inSnapshot = false;
      }
      if (r.e === "record.done" || r.e === "record.fail") {
        current = "";
        snapshot = undefined;
        inSnapshot = true;
      }
      // The footer is in the flash queue, or the cloud has stored it: the object must reach the cloud complete.
      const footer =
        (r.e === "queue.append" && f.part === "footer") || (r.e === "upload.sent" && f.part === "footer" && f.queued === false);
      if (!footer) continue;
      const id = r.e === "upload.sent" ? String(f.clip) : undefined;
      if (inSnapshot) {
        expect(snapshot).toBeUndefined();
        snapshot = { kind: "snapshot", id, of: undefined };
        sealed.push(snapshot);
      } else {
        expect(current).not.toBe("");
        if (id !== undefined) expect(id).toBe(current);
        sealed.push({ kind: "clip", id: current });
      }
    }
    return sealed;
  }

  private expect(sealed: Sealed[]): void {
    for (const s of sealed) {
      if (s.kind === "clip") this.expected.set(s.id, this.started.get(s.id)!);
      else if (s.id === undefined) this.unnamedSnapshots++;
      else this.expectedSnapshots.set(s.id, s.of ?? "");
    }
  }

  /**
   * The cloud holds exactly the expected clips and snapshots, each once, each opening on the phone: clips with
   * the sequence the camera gave them, snapshots as a JPEG whose signed `of` names their clip, with a sequence
   * number no clip the camera started had. (How the phone lists them is checked once, in `finish`: the
   * listing only grows, and verifying every head after every cut would cost more than the sweep.)
   */
  async checkCloud(label: string): Promise<void> {
    const phone = this.world.phoneA;
    const client = new CloudClient(this.world.cloudUrl, phone.state().token);
    const listing = await client.json<{ clips: { clipId: string; cameraId: string; complete: boolean }[] }>("GET", "/v1/clips");
    const complete = listing.clips.filter((c) => c.cameraId === this.cameraId && c.complete).map((c) => c.clipId);
    expect([label, new Set(complete).size]).toEqual([label, complete.length]);
    const prefixes = complete.map((id) => id.slice(0, 16));
    const clips = complete.filter((id) => this.expected.has(id.slice(0, 16)));
    const snapshots = complete.filter((id) => this.expectedSnapshots.has(id.slice(0, 16)));
    // A complete object the sweep did not know by id: only a snapshot queued just before a cut stopped the
    // camera ahead of `snapshot.done` (and so of its clip's `record.start`).
    const unnamed = complete.filter((id) => !this.expected.has(id.slice(0, 16)) && !this.expectedSnapshots.has(id.slice(0, 16)));
    expect([label, [...this.expected.keys(), ...this.expectedSnapshots.keys()].filter((p) => !prefixes.includes(p))]).toEqual([label, []]);
    expect([label, unnamed.length]).toEqual([label, this.unnamedSnapshots]);
    this.unnamedSnapshots = 0;

    for (const id of clips) {
      const prefix = id.slice(0, 16);
      if (this.opened.has(prefix)) continue;
      const dir = path.join(this.world.dir, "opened", id);
      const clip = await phone.open(id, path.join(dir, "clip.frames"), dir);
      expect([label, clip.clipId, clip.cameraId, clip.sequence, clip.snapshotOf]).toEqual([label, id, this.cameraId, this.expected.get(prefix), undefined]);
      expect(clip.frames).toBeGreaterThan(0);
      this.opened.set(prefix, clip.sequence);
    }
    for (const id of [...snapshots, ...unnamed]) {
      const prefix = id.slice(0, 16);
      if (this.openedSnapshots.has(prefix)) continue;
      const out = path.join(this.world.dir, "opened", `${id}.jpg`);
      const opened = await phone.open(id, out);
      expect([label, opened.clipId, opened.cameraId, typeof opened.snapshotOf]).toEqual([label, id, this.cameraId, "string"]);
      const of = opened.snapshotOf!.slice(0, 16);
      if (unnamed.includes(id)) {
        // Its clip never started, and no snapshot.done named it.
        expect([label, of, this.started.has(of), this.snapshotOf.has(of)]).toEqual([label, of, false, false]);
        this.expectedSnapshots.set(prefix, of);
        this.namedByCheck++;
      }
      if (this.expectedSnapshots.get(prefix) === "") this.expectedSnapshots.set(prefix, of); // sent, cut before snapshot.done
      expect([label, of]).toEqual([label, this.expectedSnapshots.get(prefix)]);
      const jpeg = fs.readFileSync(out);
      expect([label, opened.bytes, jpeg.length > 4, jpeg[0], jpeg[1], jpeg[jpeg.length - 2], jpeg[jpeg.length - 1]])
        .toEqual([label, jpeg.length, true, 0xff, 0xd8, 0xff, 0xd9]);
      // Its own sequence number: never one a clip the camera started had.
      expect([label, [...this.started.values()].includes(opened.sequence)]).toEqual([label, false]);
      this.openedSnapshots.set(prefix, opened.sequence);
    }
    // No sequence number twice, clips and snapshots together.
    const sequences = [...this.opened.values(), ...this.openedSnapshots.values()];
    expect([label, new Set(sequences).size]).toEqual([label, sequences.length]);
  }

  /**
   * How the phone lists what the sweep left (from verified heads, complete or not): every head verifies; the
   * complete clips and snapshots are exactly those opened; snapshots apart from clips; every listed clip paired
   * with the complete snapshot the camera sealed for it; no sequence number on two objects, incomplete ones too.
   */
  private async checkListing(): Promise<void> {
    const listing = await this.world.phoneA.listing();
    expect(listing.clips.filter((c) => !c.verified)).toEqual([]);
    const clips = listing.clips.filter((c): c is VerifiedClip => c.verified && c.cameraId === this.cameraId);
    const snapshots = listing.snapshots.filter((s) => s.cameraId === this.cameraId);
    const ids = (list: VerifiedClip[]) => list.filter((c) => c.complete).map((c) => c.clipId.slice(0, 16)).sort();
    expect(ids(clips)).toEqual([...this.opened.keys()].sort());
    expect(ids(snapshots)).toEqual([...this.openedSnapshots.keys()].sort());
    expect(clips.filter((c) => c.snapshotOf !== undefined)).toEqual([]);
    for (const clip of clips) {
      const prefix = clip.clipId.slice(0, 16);
      expect([prefix, clip.snapshot?.snapshotId.slice(0, 16), clip.snapshot?.complete]).toEqual([prefix, this.snapshotOf.get(prefix), true]);
    }
    const sequences = [...clips, ...snapshots].map((c) => c.sequence);
    expect(new Set(sequences).size).toBe(sequences.length);
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
