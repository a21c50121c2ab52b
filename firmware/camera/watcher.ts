/**
 * Recording on its own: while the camera is enrolled, the watcher is the one reader of the Camera. Every
 * frame goes into the pre-roll ring (preroll.ts) and, as a 1/8-scale luma thumbnail (jpeg-dc.ts), into the
 * motion detector (motion.ts). A motion event inside the schedule and outside the cooldown starts a clip
 * whose first frames are the ring's frames from `preRollMs` before the motion's onset. Manual triggers
 * (button, console `record`, simulator) and PIR go through the same path (so they get pre-roll too); PIR
 * obeys the schedule and the cooldown like motion, manual triggers do not. While a clip records, the
 * recorder reads the camera itself; detection resumes, with a fresh reference frame, when it is done.
 */
import type { Camera, Frame } from "../platform/camera";
import type { Clock } from "../platform/clock";
import { wipe } from "../core/bytes";
import { parseSchedule, scheduleOpen, type CameraAppConfig, type ScheduleWindow } from "./config";
import type { Events } from "./events";
import { lumaThumbnail } from "./jpeg-dc";
import { MotionDetector } from "./motion";
import { PreRoll } from "./preroll";
import type { ClipReport, FrameSource } from "./recorder";

/** Records one clip from `source` (the app checks state and roster first). */
export type RecordFn = (reason: string, source: FrameSource) => Promise<ClipReport | undefined>;

interface Request {
  reason: string;
  /** Capture time the clip is anchored at (motion onset or trigger time). */
  anchor: number;
  /** Capture length after the anchor. */
  clipMs: number;
  done: (report: ClipReport | undefined) => void;
}

/** Trigger reasons held to the schedule and cooldown like camera motion. */
const AUTOMATIC = ["motion", "pir"];

export class Watcher {
  private running = false;
  private loop: Promise<void> | undefined;
  private request: Request | undefined;
  private recording = false;
  private cooldownUntil = 0;
  private readonly ring: PreRoll;
  private readonly detector: MotionDetector;
  private readonly schedule: ScheduleWindow[];
  private wake: (() => void) | undefined;
  private lastLook = -Infinity;
  private timer: number | undefined;
  framesSeen = 0;
  events = 0;
  /** Every fresh frame, as it is read (live view, live.ts); must not keep or change the frame. */
  onFrame: ((frame: Frame) => void) | undefined;

  constructor(
    private readonly camera: Camera,
    private readonly clock: Clock,
    private readonly log: Events,
    private readonly config: CameraAppConfig,
    private readonly record: RecordFn,
  ) {
    const m = config.motion;
    // The ring also spans the time motion needs to be confirmed (minEventMs), so the onset's pre-roll is still there.
    this.ring = new PreRoll({ windowMs: m.preRollMs + m.minEventMs + 1000 / config.sensor.framesPerSecond, maxFrames: m.preRollMaxFrames, maxBytes: m.preRollMaxBytes });
    this.detector = new MotionDetector(m);
    this.schedule = parseSchedule(m.schedule);
  }

  get busy(): boolean {
    return this.recording || this.request !== undefined;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops watching (setup mode, unenroll, power-off); a clip in progress finishes on its own. */
  stop(): Promise<void> | undefined {
    if (!this.running) return this.loop;
    this.running = false;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.wake?.();
    this.camera.stop();
    return this.loop;
  }

  /**
   * A trigger (button, console, PIR, simulator). Resolves with the clip, or undefined if it was not recorded
   * (busy, outside the schedule, in the cooldown, watcher stopped).
   */
  trigger(reason: string, clipMs = this.config.clipMs): Promise<ClipReport | undefined> {
    const now = this.clock.now();
    if (AUTOMATIC.indexOf(reason) >= 0 && !this.allowed(reason, now)) return Promise.resolve(undefined);
    return this.enqueue(reason, now, clipMs);
  }

  private enqueue(reason: string, anchor: number, clipMs: number): Promise<ClipReport | undefined> {
    if (!this.running || this.busy) {
      this.log.debug("record.skip", "trigger ignored: already recording", { reason: reason.slice(0, 24) });
      return Promise.resolve(undefined);
    }
    return new Promise((done) => {
      this.request = { reason, anchor, clipMs, done };
      this.wake?.();
    });
  }

  /** Schedule and cooldown for motion and PIR. */
  private allowed(reason: string, time: number): boolean {
    if (!scheduleOpen(this.schedule, time, this.config.motion.utcOffsetMinutes)) {
      this.log.debug("motion.ignored", "motion outside the schedule", { reason });
      return false;
    }
    if (time < this.cooldownUntil) {
      this.log.debug("motion.ignored", "motion during the cooldown", { reason, remainingMs: this.cooldownUntil - time });
      return false;
    }
    return true;
  }

  private async run(): Promise<void> {
    const interval = 1000 / this.config.sensor.framesPerSecond;
    this.camera.start(this.config.sensor);
    try {
      while (this.running) {
        const request = this.request;
        if (request) {
          await this.recordClip(request);
          continue;
        }
        const started = this.clock.now();
        const frame = await this.camera.readFrame();
        if (!this.running) {
          if (frame) wipe(frame.jpeg);
          break;
        }
        if (frame) {
          this.onFrame?.(frame);
          this.look(frame);
        }
        // A camera that answers at once (no pacing of its own) must not starve everything else.
        await this.sleep(Math.max(frame ? 0 : interval, interval - (this.clock.now() - started)));
      }
    } finally {
      this.ring.clear();
      // stop() already stopped the camera; stopping it again later could stop a new watcher's camera.
      if (this.running) {
        this.running = false;
        this.camera.stop();
      }
      const request = this.request;
      this.request = undefined;
      request?.done(undefined);
    }
  }

  private look(frame: Frame): void {
    this.framesSeen++;
    this.ring.push(frame);
    if (!this.config.motion.enabled) return;
    if (frame.time - this.lastLook < this.config.motion.detectIntervalMs) return;
    this.lastLook = frame.time;
    let thumbnail;
    try {
      thumbnail = lumaThumbnail(frame.jpeg);
    } catch {
      thumbnail = undefined;
    }
    if (!thumbnail) return;
    const result = this.detector.update(thumbnail, frame.time);
    if (result.globalChange) this.log.debug("motion.global", "the whole picture changed; ignored", { share: Math.round(result.share * 100) });
    if (result.eventOnset === undefined) return;
    this.events++;
    const fields = { onset: result.eventOnset, share: Math.round(result.share * 100) };
    if (!this.allowed("motion", frame.time)) return;
    this.log.info("motion.event", "motion detected", fields);
    this.request = {
      reason: "motion", anchor: result.eventOnset, clipMs: this.config.clipMs,
      done: () => undefined,
    };
  }

  private async recordClip(request: Request): Promise<void> {
    this.recording = true;
    this.request = undefined;
    const preRoll = this.ring.take(request.anchor - this.config.motion.preRollMs);
    const camera = this.camera;
    let report: ClipReport | undefined;
    try {
      report = await this.record(request.reason, {
        first: preRoll,
        anchor: request.anchor,
        clipMs: request.clipMs,
        next: async () => {
          const frame = await camera.readFrame();
          if (frame) this.onFrame?.(frame);
          return frame;
        },
      });
    } finally {
      for (const frame of preRoll) wipe(frame.jpeg);
      this.recording = false;
      this.detector.reset();
      this.cooldownUntil = this.clock.now() + this.config.motion.cooldownMs;
      request.done(report);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = () => {
        if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
        this.timer = undefined;
        this.wake = undefined;
        resolve();
      };
      this.timer = this.clock.setTimeout(() => {
        this.timer = undefined;
        this.wake = undefined;
        resolve();
      }, Math.max(0, Math.floor(ms)));
    });
  }
}
