/**
 * The simulated image sensor: a deterministic sequence of real baseline JPEG frames (jpeg-js, pure JS).
 * Without a scene, frame n shows a diagonal colour gradient that drifts with n, a box that bounces across the
 * picture and the frame number in large digits, so every frame differs and any frame can be regenerated from
 * its number. With a scene (`still`, `noise`, `motion`, `script:A-B,...`), the picture is a fixed room
 * (gradient and furniture) with a small frame counter, and the scene decides what changes: nothing, sensor
 * noise and light flicker, or a person-sized figure walking across during motion windows. The firmware sees
 * only these JPEGs: its motion thumbnail (firmware/camera/jpeg-dc.ts) comes from the same bytes as on a board.
 */
import * as jpeg from "jpeg-js";

/** 3x5 digit glyphs, one row per 3-bit number (MSB = left pixel). */
const DIGITS: number[][] = [
  [7, 5, 5, 5, 7],
  [2, 6, 2, 2, 7],
  [7, 1, 7, 4, 7],
  [7, 1, 7, 1, 7],
  [5, 5, 7, 1, 1],
  [7, 4, 7, 1, 7],
  [7, 4, 7, 5, 7],
  [7, 1, 1, 1, 1],
  [7, 5, 7, 5, 7],
  [7, 5, 7, 1, 7],
];

/** esp32-camera quality (0 best .. 63 worst) to a libjpeg-style 1..100 quality. */
export function jpegQuality(espQuality: number): number {
  const q = Math.round(100 - Math.min(63, Math.max(0, espQuality)) * 1.4);
  return Math.max(10, Math.min(95, q));
}

export interface FrameOptions {
  width: number;
  height: number;
  /** esp32-camera quality 0..63. */
  quality: number;
}

/** What the synthetic camera films (docs/BOARD-SIM.md, "Synthetic camera"). */
export type Scene =
  | { kind: "drift" }
  | { kind: "still" }
  | { kind: "noise" }
  /** Motion windows [start, end) in seconds of scene time. */
  | { kind: "motion"; windows: { start: number; end: number }[]; period?: number };

/** `still`, `noise`, `motion` (a walk of 3 s every 15 s, the first at 4 s; or `motion:PERIOD/LENGTH/FIRST`), `script:A-B,C-D` (seconds). */
export function parseScene(text: string): Scene {
  const t = text.trim();
  if (t === "drift" || t === "still" || t === "noise") return { kind: t };
  const periodic = /^motion(?::([0-9.]+)\/([0-9.]+)(?:\/([0-9.]+))?)?$/.exec(t);
  if (periodic) {
    const period = periodic[1] ? Number(periodic[1]) : 15;
    const length = periodic[2] ? Number(periodic[2]) : 3;
    const first = periodic[3] ? Number(periodic[3]) : 4;
    if (!(period > 0 && length > 0 && length < period && first >= 0)) throw new Error("scene motion:PERIOD/LENGTH[/FIRST] needs 0 < LENGTH < PERIOD (seconds)");
    return { kind: "motion", windows: [{ start: first, end: first + length }], period };
  }
  const script = /^script:(.+)$/.exec(t);
  if (script) {
    const windows = script[1].split(",").map((w) => {
      const m = /^([0-9.]+)-([0-9.]+)$/.exec(w.trim());
      if (!m || !(Number(m[2]) > Number(m[1]))) throw new Error(`scene script window "${w}" must be START-END seconds, END after START`);
      return { start: Number(m[1]), end: Number(m[2]) };
    });
    return { kind: "motion", windows };
  }
  throw new Error(`unknown scene "${t}": use still, noise, motion[:PERIOD/LENGTH[/FIRST]] or script:A-B,C-D (seconds)`);
}

/** Where the walker is at scene time `t` (seconds): its progress 0..1 across the picture, or undefined when off screen. */
export function walkerAt(scene: Scene, t: number): number | undefined {
  if (scene.kind !== "motion") return undefined;
  for (const w of scene.windows) {
    let start = w.start;
    let end = w.end;
    if (scene.period && t >= start) {
      const k = Math.floor((t - start) / scene.period);
      start += k * scene.period;
      end += k * scene.period;
    }
    if (t >= start && t < end) return (t - start) / (end - start);
  }
  return undefined;
}

/** A deterministic PRNG (mulberry32) for the noise scene (tests use it for their own seeded inputs). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Frame `index` of `scene` at scene time `t` seconds. */
export function sceneFrame(scene: Scene, index: number, t: number, options: FrameOptions): Uint8Array {
  if (scene.kind === "drift") return syntheticFrame(index, options);
  const width = Math.max(16, Math.min(1600, Math.floor(options.width)));
  const height = Math.max(16, Math.min(1200, Math.floor(options.height)));
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      rgba[o] = 150 + Math.floor((x * 60) / width);
      rgba[o + 1] = 140 + Math.floor((y * 60) / height);
      rgba[o + 2] = 120 + Math.floor(((x + y) * 40) / (width + height));
      rgba[o + 3] = 255;
    }
  }
  // Furniture: a dark cupboard and a window, so the room has edges.
  fillRect(rgba, width, Math.floor(width * 0.72), Math.floor(height * 0.35), Math.floor(width * 0.2), Math.floor(height * 0.6), [70, 50, 40]);
  fillRect(rgba, width, Math.floor(width * 0.1), Math.floor(height * 0.15), Math.floor(width * 0.25), Math.floor(height * 0.25), [200, 220, 245]);
  const p = walkerAt(scene, t);
  if (p !== undefined) {
    const w = Math.max(4, Math.floor(width / 5));
    const h = Math.floor(height * 0.7);
    const x = Math.floor(-w + p * (width + w));
    const y = height - h;
    fillRect(rgba, width, x, y, w, h, [40, 40, 60]);
    fillRect(rgba, width, x + Math.floor(w / 4), y - Math.floor(h / 6), Math.floor(w / 2), Math.floor(h / 6), [210, 170, 140]);
  }
  // A small frame counter, bottom right (changes every frame, as a timestamp overlay would).
  const text = String(index);
  const scale = Math.max(1, Math.floor(height / 80));
  const plateW = (text.length * 4 + 1) * scale;
  const x0 = width - plateW;
  const y0 = height - 7 * scale;
  fillRect(rgba, width, x0, y0, plateW, 7 * scale, [0, 0, 0]);
  for (let c = 0; c < text.length; c++) {
    const glyph = DIGITS[text.charCodeAt(c) - 48];
    for (let row = 0; row < 5; row++) {
      for (let col = 0; col < 3; col++) {
        if (glyph[row] & (4 >> col)) fillRect(rgba, width, x0 + (1 + c * 4 + col) * scale, y0 + (1 + row) * scale, scale, scale, [255, 255, 0]);
      }
    }
  }
  if (scene.kind === "noise") {
    // Sensor noise (about ±10 levels per pixel) and light flicker (the whole picture ±6 levels).
    const random = prng(index * 2654435761);
    const flicker = Math.round(6 * Math.sin(index * 1.3));
    for (let o = 0; o < rgba.length; o += 4) {
      const n = Math.round((random() + random() - 1) * 10) + flicker;
      for (let c = 0; c < 3; c++) {
        const v = rgba[o + c] + n;
        rgba[o + c] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
    }
  }
  const encoded = jpeg.encode({ width, height, data: rgba }, jpegQuality(options.quality));
  return new Uint8Array(encoded.data.buffer, encoded.data.byteOffset, encoded.data.byteLength);
}

export function syntheticFrame(index: number, options: FrameOptions): Uint8Array {
  const width = Math.max(16, Math.min(1600, Math.floor(options.width)));
  const height = Math.max(16, Math.min(1200, Math.floor(options.height)));
  const rgba = new Uint8Array(width * height * 4);
  const shift = (index * 7) % 256;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      rgba[o] = (((x * 255) / width + shift) & 0xff) >>> 0;
      rgba[o + 1] = (((y * 255) / height + shift * 2) & 0xff) >>> 0;
      rgba[o + 2] = ((((x + y) * 255) / (width + height) + 128) & 0xff) >>> 0;
      rgba[o + 3] = 255;
    }
  }
  // The bouncing box.
  const box = Math.max(8, Math.floor(Math.min(width, height) / 5));
  const spanX = width - box;
  const spanY = height - box;
  const bx = bounce(index * 11, spanX);
  const by = bounce(index * 5, spanY);
  fillRect(rgba, width, bx, by, box, box, [240, 240, 240]);
  fillRect(rgba, width, bx + 2, by + 2, box - 4, box - 4, [200, 30, 30]);
  // The frame number, top left, on a black plate.
  const text = String(index);
  const scale = Math.max(2, Math.floor(height / 40));
  fillRect(rgba, width, 0, 0, (text.length * 4 + 1) * scale, 7 * scale, [0, 0, 0]);
  for (let c = 0; c < text.length; c++) {
    const glyph = DIGITS[text.charCodeAt(c) - 48];
    for (let row = 0; row < 5; row++) {
      for (let col = 0; col < 3; col++) {
        if (glyph[row] & (4 >> col)) {
          fillRect(rgba, width, (1 + c * 4 + col) * scale, (1 + row) * scale, scale, scale, [255, 255, 0]);
        }
      }
    }
  }
  const encoded = jpeg.encode({ width, height, data: rgba }, jpegQuality(options.quality));
  return new Uint8Array(encoded.data.buffer, encoded.data.byteOffset, encoded.data.byteLength);
}

function bounce(t: number, span: number): number {
  if (span <= 0) return 0;
  const period = span * 2;
  const p = t % period;
  return p <= span ? p : period - p;
}

function fillRect(rgba: Uint8Array, width: number, x0: number, y0: number, w: number, h: number, rgb: number[]): void {
  const height = rgba.length / 4 / width;
  for (let y = Math.max(0, y0); y < Math.min(height, y0 + h); y++) {
    for (let x = Math.max(0, x0); x < Math.min(width, x0 + w); x++) {
      const o = (y * width + x) * 4;
      rgba[o] = rgb[0];
      rgba[o + 1] = rgb[1];
      rgba[o + 2] = rgb[2];
    }
  }
}

/**
 * Paces frames at the configured rate, as a sensor does: `next()` resolves when the next frame is due.
 * Frame numbers continue across start/stop so a clip's frames are distinct from the previous clip's.
 */
export class SyntheticCamera {
  private running = false;
  private options: FrameOptions & { framesPerSecond: number } = { width: 320, height: 240, quality: 12, framesPerSecond: 5 };
  private nextDue = 0;
  frameIndex = 0;
  framesProduced = 0;
  previewsTaken = 0;
  /** What the camera films; scene time counts from `sceneStart` (ms, the `now` clock). */
  scene: Scene = { kind: "drift" };
  sceneStart = 0;

  constructor(private readonly now: () => number = Date.now) {
    this.sceneStart = now();
  }

  /** Films `scene` from now on (its time starts now). */
  setScene(scene: Scene): void {
    this.scene = scene;
    this.sceneStart = this.now();
  }

  /** Scene time in seconds at `time` (ms). */
  sceneTime(time: number): number {
    return (time - this.sceneStart) / 1000;
  }

  start(options: FrameOptions & { framesPerSecond: number }): void {
    if (!(options.framesPerSecond > 0 && options.framesPerSecond <= 60)) {
      throw new Error("camera framesPerSecond must be in 1..60");
    }
    this.options = { ...options };
    this.running = true;
    this.nextDue = this.now();
  }

  stop(): void {
    this.running = false;
  }

  get isRunning(): boolean {
    return this.running;
  }

  /**
   * A preview (a clip's snapshot): the scene as it is now, at the preview's size and quality, whether or not
   * the frame stream runs; the stream's own pacing and frame numbers are untouched. Throws on a size outside
   * 16..640 x 16..480 (the board's preview sizes are QQVGA and QVGA).
   */
  preview(options: FrameOptions): { jpeg: Uint8Array; time: number } {
    const { width, height, quality } = options;
    if (!(Number.isInteger(width) && Number.isInteger(height) && width >= 16 && width <= 640 && height >= 16 && height <= 480)) {
      throw new Error("camera preview size must be 16..640 x 16..480");
    }
    const time = this.now();
    this.previewsTaken++;
    return { jpeg: sceneFrame(this.scene, this.frameIndex, this.sceneTime(time), { width, height, quality }), time };
  }

  /** The next frame (paced), or undefined if the camera is stopped. */
  async next(): Promise<{ jpeg: Uint8Array; time: number; index: number } | undefined> {
    if (!this.running) return undefined;
    const wait = this.nextDue - this.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    if (!this.running) return undefined;
    const time = this.now();
    this.nextDue = Math.max(this.nextDue + 1000 / this.options.framesPerSecond, time);
    const index = this.frameIndex++;
    this.framesProduced++;
    return { jpeg: sceneFrame(this.scene, index, this.sceneTime(time), this.options), time, index };
  }
}
