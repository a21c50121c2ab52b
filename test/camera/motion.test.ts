/**
 * Motion detection in Node, on real JPEGs (issue 11 item 3): the DC-only luma thumbnail agrees with a full
 * decode; the detector finds a walk across the picture once, and not a still scene, sensor noise with light
 * flicker, a single-frame glitch or a light switched on; the pre-roll ring keeps its bounds; the schedule
 * and the motion config refuse bad input. The same code runs in XS in test/board-sim/motion.test.ts.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as jpeg from "jpeg-js";
import { lumaThumbnail, type GrayFrame } from "../../firmware/camera/jpeg-dc";
import { MotionDetector } from "../../firmware/camera/motion";
import { PreRoll } from "../../firmware/camera/preroll";
import { DEFAULT_MOTION, parseSchedule, resolveConfig, scheduleOpen } from "../../firmware/camera/config";
import { parseScene, sceneFrame, walkerAt } from "../../host-tools/board-sim/synthetic-camera";

const SIZE = { width: 160, height: 120, quality: 12 };
const FPS = 5;

/** Block means of a full decode (BT.601 luma), the reference the DC thumbnail must match. */
function referenceThumbnail(bytes: Uint8Array): GrayFrame {
  const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });
  const w = Math.ceil(img.width / 8);
  const h = Math.ceil(img.height / 8);
  const pixels = new Uint8Array(w * h);
  for (let by = 0; by < h; by++) {
    for (let bx = 0; bx < w; bx++) {
      let sum = 0;
      let n = 0;
      for (let y = by * 8; y < Math.min(img.height, by * 8 + 8); y++) {
        for (let x = bx * 8; x < Math.min(img.width, bx * 8 + 8); x++) {
          const o = (y * img.width + x) * 4;
          sum += 0.299 * img.data[o] + 0.587 * img.data[o + 1] + 0.114 * img.data[o + 2];
          n++;
        }
      }
      pixels[by * w + bx] = Math.round(sum / n);
    }
  }
  return { width: w, height: h, pixels };
}

function maxDifference(a: GrayFrame, b: GrayFrame): number {
  expect([a.width, a.height]).toEqual([b.width, b.height]);
  let max = 0;
  for (let i = 0; i < a.pixels.length; i++) max = Math.max(max, Math.abs(a.pixels[i] - b.pixels[i]));
  return max;
}

/** Runs the detector over `seconds` of a scene; returns the event onsets (scene seconds) and the largest share. */
function watch(sceneText: string, seconds: number, settings = DEFAULT_MOTION): { onsets: number[]; maxShare: number } {
  const scene = parseScene(sceneText);
  const detector = new MotionDetector(settings);
  const onsets: number[] = [];
  let maxShare = 0;
  for (let i = 0; i < seconds * FPS; i++) {
    const t = i / FPS;
    const thumb = lumaThumbnail(sceneFrame(scene, i, t, SIZE));
    if (!thumb) throw new Error("synthetic frame not decodable");
    const r = detector.update(thumb, i * (1000 / FPS));
    maxShare = Math.max(maxShare, r.share);
    if (r.eventOnset !== undefined) onsets.push(r.eventOnset / 1000);
  }
  return { onsets, maxShare };
}

describe("DC-only luma thumbnail", () => {
  test("matches a full decode's 8x8 block means on the synthetic camera's JPEGs (within JPEG rounding)", () => {
    for (const scene of ["still", "script:0-1", "noise", "drift"]) {
      const bytes = sceneFrame(parseScene(scene), 3, 0.5, SIZE);
      const thumb = lumaThumbnail(bytes);
      expect(thumb).toBeDefined();
      expect(thumb!.width).toBe(20);
      expect(thumb!.height).toBe(15);
      expect(maxDifference(thumb!, referenceThumbnail(bytes))).toBeLessThanOrEqual(4);
    }
  });

  test("handles 4:2:2, 4:2:0 and grayscale JPEGs from another encoder (ffmpeg fixtures)", () => {
    for (const name of ["yuvj422p", "yuvj420p", "gray"]) {
      const bytes = new Uint8Array(fs.readFileSync(path.join(__dirname, "fixtures", "motion", `${name}.jpg`)));
      const thumb = lumaThumbnail(bytes);
      expect(thumb).toBeDefined();
      expect([thumb!.width, thumb!.height]).toEqual([22, 15]);
      expect(maxDifference(thumb!, referenceThumbnail(bytes))).toBeLessThanOrEqual(4);
    }
  });

  test("refuses what it cannot read (not a JPEG, cut short, progressive marker) by returning undefined, never throwing", () => {
    const good = sceneFrame(parseScene("still"), 1, 0, SIZE);
    expect(lumaThumbnail(new Uint8Array([1, 2, 3, 4]))).toBeUndefined();
    expect(lumaThumbnail(good.subarray(0, 200))).toBeUndefined();
    const progressive = good.slice();
    const sof = progressive.findIndex((b, i) => b === 0xff && progressive[i + 1] === 0xc0);
    progressive[sof + 1] = 0xc2;
    expect(lumaThumbnail(progressive)).toBeUndefined();
    for (let cut = 0; cut < good.length; cut += 97) expect(() => lumaThumbnail(good.subarray(0, cut))).not.toThrow();
  });
});

describe("motion detector", () => {
  test("a walk across the picture: exactly one event, its onset at the walk's start", () => {
    const { onsets, maxShare } = watch("script:2-5", 8);
    expect(maxShare).toBeGreaterThan(DEFAULT_MOTION.changedShare);
    expect(onsets).toHaveLength(1);
    // the walker enters from the left edge: the first frames show a sliver; onset within 0.6 s of the start
    expect(onsets[0]).toBeGreaterThanOrEqual(2);
    expect(onsets[0]).toBeLessThanOrEqual(2.6);
  });

  test("a still scene (with a frame counter overlay) and a noisy, flickering one: no event", () => {
    const still = watch("still", 6);
    expect(still.onsets).toEqual([]);
    expect(still.maxShare).toBeLessThan(DEFAULT_MOTION.changedShare);
    const noise = watch("noise", 6);
    expect(noise.onsets).toEqual([]);
    expect(noise.maxShare).toBeLessThan(DEFAULT_MOTION.changedShare);
  });

  test("motion shorter than minEventMs is no event; a longer minimum delays the onset report, not the onset", () => {
    // one walk of 0.4 s: two or three motion frames
    expect(watch("script:2-2.4", 5, { ...DEFAULT_MOTION, minEventMs: 1000 }).onsets).toEqual([]);
    const slow = watch("script:2-5", 8, { ...DEFAULT_MOTION, minEventMs: 1500 });
    expect(slow.onsets).toHaveLength(1);
    expect(slow.onsets[0]).toBeLessThanOrEqual(2.6);
  });

  test("two walks far apart are two events; the whole picture changing at once (a light) is none", () => {
    expect(watch("script:1-3,6-8", 10).onsets).toHaveLength(2);
    const detector = new MotionDetector(DEFAULT_MOTION);
    const dark: GrayFrame = { width: 20, height: 15, pixels: new Uint8Array(300).fill(40) };
    const lit: GrayFrame = { width: 20, height: 15, pixels: dark.pixels.map((v, i) => v + ((i * 37) % 150)) };
    const results = [dark, dark, lit, lit, lit, lit, lit].map((f, i) => detector.update(f, i * 200));
    expect(results[2].globalChange).toBe(true);
    expect(results.some((r) => r.eventOnset !== undefined)).toBe(false);
  });

  test("the scene's walker is where the script says", () => {
    const scene = parseScene("motion:10/2/1");
    expect(walkerAt(scene, 0.5)).toBeUndefined();
    expect(walkerAt(scene, 2)).toBeCloseTo(0.5);
    expect(walkerAt(scene, 12)).toBeCloseTo(0.5);
    expect(() => parseScene("script:5-4")).toThrow(/END after START/);
    expect(() => parseScene("rain")).toThrow(/unknown scene/);
  });
});

describe("pre-roll ring", () => {
  const frame = (time: number, size = 100) => ({ jpeg: new Uint8Array(size).fill(7), time });

  test("bounded by frames, bytes and age; evicted frames are wiped; take(since) empties it", () => {
    const byFrames = new PreRoll({ windowMs: 60_000, maxFrames: 3, maxBytes: 1_000_000 });
    const frames = [0, 200, 400, 600, 800].map((t) => frame(t));
    for (const f of frames) byFrames.push(f);
    expect(byFrames.count).toBe(3);
    expect(frames[0].jpeg.every((b) => b === 0)).toBe(true);
    expect(frames[4].jpeg[0]).toBe(7);

    const byBytes = new PreRoll({ windowMs: 60_000, maxFrames: 100, maxBytes: 250 });
    for (let t = 0; t < 10; t++) byBytes.push(frame(t * 200));
    expect(byBytes.count).toBe(2);
    expect(byBytes.bytes).toBeLessThanOrEqual(250);
    byBytes.push(frame(5000, 300)); // one frame over the budget: nothing kept
    expect(byBytes.count).toBe(0);

    const byAge = new PreRoll({ windowMs: 1000, maxFrames: 100, maxBytes: 1_000_000 });
    for (let t = 0; t <= 3000; t += 200) byAge.push(frame(t));
    expect(byAge.take(2500).map((f) => f.time)).toEqual([2600, 2800, 3000]);
    expect(byAge.count).toBe(0);
  });
});

describe("schedule and motion config", () => {
  const at = (hh: number, mm: number) => Date.UTC(2025, 5, 1, hh, mm);

  test("windows, past midnight, time zones, and an unset clock", () => {
    const night = parseSchedule("22:00-06:30");
    expect(scheduleOpen(night, at(23, 0), 0)).toBe(true);
    expect(scheduleOpen(night, at(3, 0), 0)).toBe(true);
    expect(scheduleOpen(night, at(12, 0), 0)).toBe(false);
    expect(scheduleOpen(night, at(12, 0), 11 * 60)).toBe(true); // 23:00 local
    expect(scheduleOpen(parseSchedule("08:00-09:00,17:00-18:00"), at(17, 30), 0)).toBe(true);
    expect(scheduleOpen(parseSchedule(""), at(12, 0), 0)).toBe(true);
    expect(scheduleOpen(night, 5_000, 0)).toBe(true); // before SNTP: always
  });

  test("bad settings are refused with E_ARGUMENT naming the key; defaults are documented values", () => {
    for (const bad of ["25:00-01:00", "8-9", "08:00-08:00", "08:00", "08:00-09:00-10:00"]) {
      expect(() => parseSchedule(bad)).toThrow(expect.objectContaining({ code: "E_ARGUMENT" }));
    }
    expect(() => resolveConfig({ motion: { ...DEFAULT_MOTION, changedShare: 0 } })).toThrow(/motion.changedShare/);
    expect(() => resolveConfig({ motion: { ...DEFAULT_MOTION, preRollMaxBytes: -1 } })).toThrow(/motion.preRollMaxBytes/);
    expect(() => resolveConfig({ motion: { ...DEFAULT_MOTION, maxChangedShare: 0.01 } })).toThrow(/maxChangedShare/);
    const config = resolveConfig({});
    expect(config.motion).toEqual(DEFAULT_MOTION);
    expect(resolveConfig({ motion: { ...DEFAULT_MOTION, enabled: true } }).motion.enabled).toBe(true);
  });
});
