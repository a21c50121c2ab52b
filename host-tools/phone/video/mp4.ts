/**
 * H.264 in MP4 through Debian's `ffmpeg` (a child process; not bundled, `apt-get install ffmpeg`).
 *
 * Every frame keeps its capture time: ffmpeg reads an ffconcat list that names each JPEG by its byte range
 * in the verified plaintext file (`subfile` protocol, no per-frame copies) with `duration` = the time to the
 * next frame's timestamp, at a 1 ms time base (`-video_track_timescale 1000`, `-fps_mode vfr`: no frame is
 * duplicated or dropped). The last frame lasts one average interval, like the AVI, set on its packet with
 * the `setts` bitstream filter (the MP4 muxer takes the last sample's duration from it). No B-frames, so
 * packet order is frame order. Paths handed to ffmpeg are fixed names in a private temporary directory.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fail } from "../../../firmware/core/errors";
import type { FrameIndex } from "./frames";

export const FFMPEG_MISSING = "writing MP4 needs ffmpeg, which is not installed (not on PATH): install it with `sudo apt-get install ffmpeg` (Debian/Ubuntu), or write --video FILE.avi, which needs nothing";

/** The ffmpeg executable on PATH, or null. */
export function findFfmpeg(env: NodeJS.ProcessEnv = process.env): string | null {
  for (const dir of (env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, "ffmpeg");
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** The ffmpeg executable, or E_STATE saying how to install it. */
export function requireFfmpeg(): string {
  return findFfmpeg() ?? fail("E_STATE", FFMPEG_MISSING);
}

/** Seconds with µs resolution, as ffconcat wants them. */
function seconds(ms: number): string {
  return (ms / 1000).toFixed(6);
}

/** The ffconcat list: each frame a byte range of `plainName` (relative to ffmpeg's working directory). */
export function concatList(index: FrameIndex, plainName: string): string {
  const lines = ["ffconcat version 1.0"];
  const n = index.frames.length;
  index.frames.forEach((f, i) => {
    // A timestamp that does not advance still gets 1 ms: frames are never dropped.
    const duration = i + 1 < n ? Math.max(1, index.frames[i + 1].time - f.time) : index.intervalMs;
    lines.push(`file 'subfile,,start,${f.offset},end,${f.offset + f.length},,:${plainName}'`, "option framerate 1000", `duration ${seconds(duration)}`);
  });
  return lines.join("\n") + "\n";
}

/**
 * Encodes the frames of `plaintextFile` to H.264 MP4 at `outFile` (must not exist). `workDir` is a private
 * directory for the list. E_STATE when ffmpeg is missing, E_FORMAT when it fails (with its last words).
 */
export async function writeMp4(plaintextFile: string, index: FrameIndex, outFile: string, workDir: string): Promise<void> {
  const ffmpeg = requireFfmpeg();
  const plainName = "plain.frames";
  fs.symlinkSync(path.resolve(plaintextFile), path.join(workDir, plainName));
  fs.writeFileSync(path.join(workDir, "frames.ffconcat"), concatList(index, plainName), { mode: 0o600 });
  const lastFrameTicks = Math.max(1, Math.round(index.intervalMs));
  const args = [
    "-nostdin", "-hide_banner", "-loglevel", "error",
    "-f", "concat", "-safe", "0", "-protocol_whitelist", "file,subfile", "-i", "frames.ffconcat",
    "-map", "0:v:0", "-an",
    // libx264 with yuv420p needs even dimensions: pad an odd edge by one pixel.
    "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2",
    "-c:v", "libx264", "-pix_fmt", "yuv420p", "-bf", "0", "-preset", "veryfast", "-crf", "20",
    "-fps_mode", "vfr", "-video_track_timescale", "1000",
    "-bsf:v", `setts=duration=if(eq(N\\,${index.frames.length - 1})\\,${lastFrameTicks}*0.001/TB\\,DURATION)`,
    "-movflags", "+faststart", "-f", "mp4", "-n", `file:${path.resolve(outFile)}`,
  ];
  const stderr: string[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(ffmpeg, args, { cwd: workDir, stdio: ["ignore", "ignore", "pipe"] });
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (text: string) => {
      stderr.push(text);
      if (stderr.length > 64) stderr.shift();
    });
    child.on("error", reject);
    child.on("close", resolve);
  });
  if (code !== 0) {
    const last = stderr.join("").trim().split("\n").slice(-3).join(" | ").replace(/[\x00-\x1f\x7f]/g, "?").slice(0, 400);
    fail("E_FORMAT", `ffmpeg could not encode the frames to MP4 (exit ${code}): ${last || "no message"}; --video FILE.avi keeps the JPEGs as they are`);
  }
}
