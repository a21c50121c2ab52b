/**
 * `sealcam phone open CLIP --video out.avi|out.mp4` (issue 13 §1): clips of real JPEG frames with known
 * capture times, sealed by a camera and uploaded through the real cloud, opened by the real phone; the
 * videos are checked with ffprobe (frame count, codec, size, duration, per-frame times) — and nothing is
 * written when the clip does not verify, is not video, has no frames, or ffmpeg is missing for MP4.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { encodeFrame } from "../../firmware/core/clip";
import { main as phoneMain } from "../../host-tools/phone/cli";
import { AVI_MAX_BYTES, aviSize, writeAvi } from "../../host-tools/phone/video/avi";
import { indexFrames, jpegSize } from "../../host-tools/phone/video/frames";
import { refusal } from "../helpers/refusal";
import { HostileCloud, listFiles, phoneVia, World, type TestCamera } from "./fixture";
import { ffprobe, jpegs, uploadVideoClip, type VideoClip } from "./video-fixture";

const WIDTH = 160;
const HEIGHT = 120;
const T0 = 1_795_958_451_523;
/** 12 frames at 10 frames/s on average, with the jitter a real camera has: span 1100 ms, so 1200 ms of video. */
const OFFSETS = [0, 100, 210, 300, 390, 500, 600, 700, 800, 910, 1000, 1100];
const EXPECTED_MS = 1200;

let world: World;
let cam: TestCamera;
let clip: VideoClip;
let out: string;

beforeAll(async () => {
  world = await World.start("video");
  cam = await world.addCamera("cam-video0000000001");
  clip = await uploadVideoClip(world, cam, { frames: jpegs(OFFSETS.length, WIDTH, HEIGHT), times: OFFSETS.map((o) => T0 + o) });
  out = path.join(world.dir, "out");
  fs.mkdirSync(out);
});

afterAll(async () => {
  await world.close();
});

test("--video out.avi: MJPEG AVI with every frame, the picture size and the clip's duration (ffprobe)", async () => {
  const file = path.join(out, "clip.avi");
  const result = await world.phone.open(clip.clipId, undefined, undefined, {}, { video: file });
  expect(result.video).toMatchObject({ kind: "avi", frames: 12, width: WIDTH, height: HEIGHT, durationMs: EXPECTED_MS });
  const probe = ffprobe(file);
  expect(probe).toMatchObject({ codec: "mjpeg", width: WIDTH, height: HEIGHT, frames: 12 });
  expect(Math.abs(probe.duration * 1000 - EXPECTED_MS)).toBeLessThan(100);
  // The camera's JPEGs, as they are (no transcoding): packet sizes are the JPEG sizes, and each JPEG is in the file.
  expect(probe.packets.map((p) => p.size)).toEqual(clip.jpegs.map((j) => j.length));
  const bytes = fs.readFileSync(file);
  for (const jpeg of clip.jpegs) expect(bytes.indexOf(Buffer.from(jpeg))).toBeGreaterThan(0);
  expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  expect(fs.readdirSync(out)).toEqual(["clip.avi"]);
  fs.rmSync(file);
});

test("--video out.mp4: H.264 with every frame at its capture time (ffprobe)", async () => {
  const file = path.join(out, "clip.mp4");
  const result = await world.phone.open(clip.clipId, undefined, undefined, {}, { video: file });
  expect(result.video).toMatchObject({ kind: "mp4", frames: 12, width: WIDTH, height: HEIGHT });
  const probe = ffprobe(file);
  expect(probe).toMatchObject({ codec: "h264", width: WIDTH, height: HEIGHT, frames: 12 });
  expect(Math.abs(probe.duration * 1000 - EXPECTED_MS)).toBeLessThan(100);
  // Variable frame timing kept to the millisecond: each frame is shown at its capture time.
  expect(probe.packets.map((p) => Math.round(p.pts * 1000))).toEqual(OFFSETS);
  fs.rmSync(file);
});

test("a tampered clip writes no video (and no plaintext, no frames)", async () => {
  const hostile = new HostileCloud(world.cloud.url);
  await hostile.start();
  try {
    hostile.lie = async ({ method, url }, forward) => {
      if (method !== "GET" || url !== `/v1/clips/${clip.clipId}`) return undefined;
      const real = await forward();
      const body = Buffer.from(real.body);
      body[body.length - 2000] ^= 0x01; // inside a late segment: everything before it decrypts fine
      return { status: real.status, body, headers: { "content-type": "application/octet-stream" } };
    };
    const phone = phoneVia(world.phone, hostile.url);
    for (const video of ["tampered.avi", "tampered.mp4"]) {
      const error = await refusal(phone.open(clip.clipId, path.join(out, "tampered.bin"), path.join(out, "frames"), {}, { video: path.join(out, video) }));
      expect(["E_SEGMENT", "E_FOOTER", "E_TRUNCATED"]).toContain(error.code);
    }
    expect(listFiles(out)).toEqual([]);
    expect(fs.readdirSync(world.phone.home).filter((n) => n.startsWith("open-"))).toEqual([]);
  } finally {
    await hostile.close();
  }
});

test("MP4 without ffmpeg on PATH: a clear E_STATE naming apt-get install ffmpeg, before any download; nothing written", async () => {
  const hostile = new HostileCloud(world.cloud.url);
  await hostile.start();
  const savedPath = process.env.PATH;
  try {
    process.env.PATH = path.join(world.dir, "no-ffmpeg-here");
    const error = await refusal(phoneVia(world.phone, hostile.url).open(clip.clipId, undefined, undefined, {}, { video: path.join(out, "clip.mp4") }));
    expect(error.code).toBe("E_STATE");
    expect(error.message).toContain("apt-get install ffmpeg");
    expect(error.message).toContain(".avi");
    expect(hostile.requests).toEqual([]);
  } finally {
    process.env.PATH = savedPath;
    await hostile.close();
  }
  expect(listFiles(out)).toEqual([]);
});

test("a clip that is not video is refused (E_ARGUMENT) and one without frames (E_FORMAT); nothing written", async () => {
  const notVideo = await uploadVideoClip(world, cam, { contentType: "application/octet-stream", plaintext: new Uint8Array(Buffer.from("not a video")) });
  let error = await refusal(world.phone.open(notVideo.clipId, undefined, undefined, {}, { video: path.join(out, "x.avi") }));
  expect(error.code).toBe("E_ARGUMENT");
  expect(error.message).toContain("the clip is not video");
  const empty = await uploadVideoClip(world, cam, { frames: [] });
  for (const video of ["empty.avi", "empty.mp4"]) {
    error = await refusal(world.phone.open(empty.clipId, path.join(out, "empty.bin"), undefined, {}, { video: path.join(out, video) }));
    expect(error.code).toBe("E_FORMAT");
    expect(error.message).toContain("no frames");
  }
  // Frames that are not JPEG (the clip verifies, but there is no picture to show).
  const garbage = await uploadVideoClip(world, cam, { frames: [new Uint8Array(Buffer.from("hello, not a jpeg"))] });
  error = await refusal(world.phone.open(garbage.clipId, undefined, undefined, {}, { video: path.join(out, "g.avi") }));
  expect(error.code).toBe("E_FORMAT");
  expect(error.message).toContain("frame 1");
  // A wrong extension is refused before anything else.
  error = await refusal(world.phone.open(clip.clipId, undefined, undefined, {}, { video: path.join(out, "clip.mkv") }));
  expect(error.code).toBe("E_ARGUMENT");
  expect(listFiles(out)).toEqual([]);
});

test("an AVI over the size limit is E_LIMIT before a byte is written; the 1 GiB limit is computed, not written", async () => {
  const error = await refusal(world.phone.open(clip.clipId, undefined, undefined, {}, { video: path.join(out, "big.avi"), maxAviBytes: 10_000 }));
  expect(error.code).toBe("E_LIMIT");
  expect(error.message).toContain(".mp4");
  expect(listFiles(out)).toEqual([]);
  // The default limit is 1 GiB: 300 frames of 4 MiB (the largest frame record) would pass it.
  const index = { frames: Array.from({ length: 300 }, (_, i) => ({ offset: i, length: 4 * 1024 * 1024, time: i * 100 })), width: 1, height: 1, maxLength: 4 * 1024 * 1024, intervalMs: 100, durationMs: 30_000 };
  expect(aviSize(index)).toBeGreaterThan(AVI_MAX_BYTES);
  const fd = fs.openSync(path.join(out, "huge.avi"), "w");
  try {
    expect(() => writeAvi("/nonexistent", index, fd)).toThrow(expect.objectContaining({ code: "E_LIMIT" }));
  } finally {
    fs.closeSync(fd);
  }
  expect(fs.statSync(path.join(out, "huge.avi")).size).toBe(0);
  fs.rmSync(path.join(out, "huge.avi"));
});

test("frame index: one frame gets the default interval; odd-length JPEGs are padded; SOF found past big APP segments", () => {
  const [jpeg] = jpegs(1, 33, 17);
  // An APP15 segment of 10 000 bytes before the JPEG's own segments: the SOF lies past the first 4 KiB read.
  const app = Buffer.alloc(10_004);
  app[0] = 0xff; app[1] = 0xef; app.writeUInt16BE(10_002, 2);
  const padded = new Uint8Array(Buffer.concat([Buffer.from(jpeg.subarray(0, 2)), app, Buffer.from(jpeg.subarray(2))]));
  expect(jpegSize(padded, true)).toEqual({ width: 33, height: 17 });
  const odd = padded.length % 2 === 1 ? padded : new Uint8Array(Buffer.concat([Buffer.from(padded), Buffer.from([0])]));
  const plain = path.join(world.dir, "one.frames");
  fs.writeFileSync(plain, encodeFrame({ time: T0, jpeg: odd }));
  const index = indexFrames(plain);
  expect(index).toMatchObject({ width: 33, height: 17, intervalMs: 100, durationMs: 100 });
  const avi = path.join(world.dir, "one.avi");
  const fd = fs.openSync(avi, "w");
  writeAvi(plain, index, fd);
  fs.closeSync(fd);
  expect(fs.statSync(avi).size).toBe(aviSize(index));
  expect(ffprobe(avi)).toMatchObject({ codec: "mjpeg", width: 33, height: 17, frames: 1 });
});

test("sealcam phone open CLIP --video: the CLI, with the short id the camera logs", async () => {
  const file = path.join(out, "cli.avi");
  const stdout: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string) => stdout.push(String(chunk)) > 0) as typeof process.stdout.write;
  let code: number;
  try {
    code = await phoneMain(["open", `${clip.clipId.slice(0, 16)}...`, "--video", file, "--home", world.phone.home, "--cloud", world.cloud.url]);
  } finally {
    process.stdout.write = write;
  }
  expect(code).toBe(0);
  expect(stdout.join("")).toContain(`Verified clip ${clip.clipId}`);
  expect(stdout.join("")).toContain("12 frames, 160x120, 1.20 s");
  expect(ffprobe(file).frames).toBe(12);
});
