/**
 * Motion detection on small grayscale frames (one job: frames in, "motion started" out). The thumbnail
 * (jpeg-dc.ts: one pixel per 8x8 block of the JPEG) is averaged into a fixed grid of blocks; each block is
 * compared with the same block of the previous frame after removing the change of the whole picture's mean
 * brightness (so auto-exposure drift and light flicker do not count); a block "changed" when its difference
 * exceeds `blockThreshold` grey levels. A frame shows motion when the share of changed blocks is at least
 * `changedShare`, and not more than `maxChangedShare` (above that the whole picture changed at once: a light
 * switched, the IR filter flipped; the frame becomes the new reference and nothing is reported). A motion
 * *event* starts once motion has lasted `minEventMs` without a gap longer than `gapMs`; it is reported once,
 * with the time of its first motion frame (the onset). Cooldown and the schedule are the caller's
 * (watcher.ts), since they depend on clips, not frames.
 */
import type { GrayFrame } from "./jpeg-dc";

export interface MotionSettings {
  /** Grid columns (blocks across); rows follow the picture's aspect ratio. */
  gridColumns: number;
  /** A block changed when its mean moved by more than this many grey levels (0..255), after exposure compensation. */
  blockThreshold: number;
  /** Motion when at least this share (0..1) of the blocks changed. */
  changedShare: number;
  /** Above this share the whole picture changed (lights, exposure, IR switch): ignored, reference reset. */
  maxChangedShare: number;
  /** Motion must last this long (ms, from its first frame) before an event is reported. */
  minEventMs: number;
  /** Motion frames may be this far apart (ms) and still belong to one event. */
  gapMs: number;
}

export interface MotionResult {
  /** The share of blocks that changed in this frame (0..1); 0 for the first frame of a new reference. */
  share: number;
  /** This frame shows motion. */
  motion: boolean;
  /** Set on the one frame where an event becomes long enough: the capture time of its first motion frame. */
  eventOnset?: number;
  /** The whole picture changed at once (ignored). */
  globalChange: boolean;
}

export class MotionDetector {
  private previous: Float64Array | undefined;
  private previousMean = 0;
  private columns = 0;
  private rows = 0;
  private sourceW = 0;
  private sourceH = 0;
  private onset: number | undefined;
  private lastMotion = 0;
  private reported = false;

  constructor(private readonly settings: MotionSettings) {}

  /** Forgets the reference frame and any motion in progress (after a clip, after the camera restarts). */
  reset(): void {
    this.previous = undefined;
    this.onset = undefined;
    this.reported = false;
  }

  /** Feeds one frame (its capture time in ms); frames must come in time order. */
  update(frame: GrayFrame, time: number): MotionResult {
    const blocks = this.blocks(frame);
    let mean = 0;
    for (let i = 0; i < blocks.length; i++) mean += blocks[i];
    mean /= blocks.length;
    const previous = this.previous;
    const previousMean = this.previousMean;
    this.previous = blocks;
    this.previousMean = mean;
    if (!previous || previous.length !== blocks.length) {
      this.onset = undefined;
      return { share: 0, motion: false, globalChange: false };
    }
    const shift = mean - previousMean;
    let changed = 0;
    const threshold = this.settings.blockThreshold;
    for (let i = 0; i < blocks.length; i++) {
      const d = blocks[i] - previous[i] - shift;
      if (d > threshold || d < -threshold) changed++;
    }
    const share = changed / blocks.length;
    if (share > this.settings.maxChangedShare) {
      this.onset = undefined;
      this.reported = false;
      return { share, motion: false, globalChange: true };
    }
    const motion = share >= this.settings.changedShare;
    if (this.onset !== undefined && time - this.lastMotion > this.settings.gapMs) {
      this.onset = undefined; // the last event (or candidate) is over
      this.reported = false;
    }
    if (!motion) return { share, motion, globalChange: false };
    if (this.onset === undefined) {
      this.onset = time;
      this.reported = false;
    }
    this.lastMotion = time;
    if (!this.reported && time - this.onset >= this.settings.minEventMs) {
      this.reported = true;
      return { share, motion, eventOnset: this.onset, globalChange: false };
    }
    return { share, motion, globalChange: false };
  }

  /** Block means of the grid over `frame`. */
  private blocks(frame: GrayFrame): Float64Array {
    const { width, height, pixels } = frame;
    if (width !== this.sourceW || height !== this.sourceH) {
      this.sourceW = width;
      this.sourceH = height;
      this.columns = Math.max(1, Math.min(width, Math.floor(this.settings.gridColumns)));
      this.rows = Math.max(1, Math.min(height, Math.round((this.columns * height) / width)));
      this.previous = undefined;
    }
    const columns = this.columns;
    const rows = this.rows;
    const sums = new Float64Array(columns * rows);
    const counts = new Uint32Array(columns * rows);
    for (let y = 0; y < height; y++) {
      const row = Math.floor((y * rows) / height) * columns;
      const line = y * width;
      for (let x = 0; x < width; x++) {
        const b = row + Math.floor((x * columns) / width);
        sums[b] += pixels[line + x];
        counts[b]++;
      }
    }
    for (let i = 0; i < sums.length; i++) sums[i] /= counts[i];
    return sums;
  }
}
