/**
 * The pre-roll ring: the most recent frames (JPEG + capture time), so a clip can start before the motion
 * that started it. Bounded three ways: by age (`windowMs` before the newest frame), by frame count and by
 * JPEG bytes; the oldest frames go first and their bytes are wiped (they are plaintext). `take(since)`
 * hands the frames captured at or after `since` to the recorder (which seals them like any other frame)
 * and empties the ring.
 */
import { wipe } from "../core/bytes";
import type { Frame } from "../platform/camera";

export interface PreRollLimits {
  windowMs: number;
  maxFrames: number;
  maxBytes: number;
}

export class PreRoll {
  private frames: Frame[] = [];
  private total = 0;

  constructor(private readonly limits: PreRollLimits) {}

  get count(): number {
    return this.frames.length;
  }

  get bytes(): number {
    return this.total;
  }

  /** Adds the newest frame; drops (and wipes) the oldest ones past the limits. A frame alone over maxBytes is not kept. */
  push(frame: Frame): void {
    if (this.limits.maxFrames <= 0 || frame.jpeg.length > this.limits.maxBytes) {
      wipe(frame.jpeg);
      this.clear();
      return;
    }
    this.frames.push(frame);
    this.total += frame.jpeg.length;
    const oldest = frame.time - this.limits.windowMs;
    while (
      this.frames.length > 0 &&
      (this.frames.length > this.limits.maxFrames || this.total > this.limits.maxBytes || this.frames[0].time < oldest)
    ) {
      const dropped = this.frames.shift() as Frame;
      this.total -= dropped.jpeg.length;
      wipe(dropped.jpeg);
    }
  }

  /** The frames captured at or after `since`, oldest first; the ring is empty afterwards. */
  take(since: number): Frame[] {
    const kept: Frame[] = [];
    for (const frame of this.frames) {
      if (frame.time >= since) kept.push(frame);
      else wipe(frame.jpeg);
    }
    this.frames = [];
    this.total = 0;
    return kept;
  }

  clear(): void {
    for (const frame of this.frames) wipe(frame.jpeg);
    this.frames = [];
    this.total = 0;
  }
}
