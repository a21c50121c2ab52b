/**
 * The simulated image sensor: a deterministic sequence of real baseline JPEG frames (jpeg-js, pure JS).
 * Frame n shows a diagonal colour gradient that drifts with n, a box that bounces across the picture and the
 * frame number in large digits, so every frame differs and any frame can be regenerated from its number.
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

  constructor(private readonly now: () => number = Date.now) {}

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
    return { jpeg: syntheticFrame(index, this.options), time, index };
  }
}
