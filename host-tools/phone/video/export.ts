/**
 * `sealcam phone open CLIP --video FILE.avi|FILE.mp4`: a playable video from a clip's VERIFIED plaintext.
 * `Phone.open` calls `checkVideoTarget` before it downloads anything (so a wrong extension, a clip that is
 * not video or a missing ffmpeg costs nothing) and `exportVideo` only after the footer verified. The video
 * is written to a temporary file next to FILE and renamed onto FILE at the end: on any failure nothing is
 * left at FILE.
 */
import * as fs from "node:fs";
import * as nodeCrypto from "node:crypto";
import * as path from "node:path";
import { CONTENT_TYPE_FRAMES } from "../../../firmware/core/clip/constants";
import { fail } from "../../../firmware/core/errors";
import { AVI_MAX_BYTES, writeAvi } from "./avi";
import { indexFrames } from "./frames";
import { requireFfmpeg, writeMp4 } from "./mp4";

export type VideoKind = "avi" | "mp4";

export interface VideoResult {
  file: string;
  kind: VideoKind;
  frames: number;
  width: number;
  height: number;
  /** Last - first capture timestamp + one average frame interval, ms. */
  durationMs: number;
  /** Frames per second: 1000 / the average capture interval. */
  framesPerSecond: number;
  bytes: number;
}

/** The container named by the file's extension: E_ARGUMENT unless .avi or .mp4. */
export function videoKind(file: string): VideoKind {
  const ext = path.extname(file).toLowerCase();
  if (ext === ".avi") return "avi";
  if (ext === ".mp4") return "mp4";
  return fail("E_ARGUMENT", `--video ${path.basename(file)}: name the file .avi (MJPEG, the camera's JPEGs as they are) or .mp4 (H.264, needs ffmpeg)`);
}

/** Checks what can be checked before opening: the extension, and for MP4 that ffmpeg is installed. */
export function checkVideoTarget(file: string): VideoKind {
  const kind = videoKind(file);
  if (kind === "mp4") requireFfmpeg();
  return kind;
}

/** E_ARGUMENT unless the (verified) content type is the frames type. */
export function checkVideoContent(contentType: string): void {
  if (contentType !== CONTENT_TYPE_FRAMES) {
    fail("E_ARGUMENT", `the clip is not video: its content type is ${JSON.stringify(contentType.slice(0, 64))}, not ${CONTENT_TYPE_FRAMES}; open it with --out FILE`);
  }
}

/**
 * Writes the video for a verified frames plaintext file. `workDir` is a private temporary directory (removed
 * by the caller). E_FORMAT for no frames or frames that are not JPEG of one size, E_LIMIT for an AVI over
 * 1 GiB, E_STATE without ffmpeg (MP4).
 */
export async function exportVideo(plaintextFile: string, file: string, workDir: string, options: { maxAviBytes?: number } = {}): Promise<VideoResult> {
  const kind = videoKind(file);
  const index = indexFrames(plaintextFile);
  const target = path.resolve(file);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const partial = path.join(path.dirname(target), `.${path.basename(target)}.partial-${nodeCrypto.randomBytes(6).toString("hex")}`);
  try {
    if (kind === "avi") {
      const fd = fs.openSync(partial, "wx", 0o600);
      try {
        writeAvi(plaintextFile, index, fd, options.maxAviBytes ?? AVI_MAX_BYTES);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    } else {
      const dir = fs.mkdtempSync(path.join(workDir, "mp4-"));
      await writeMp4(plaintextFile, index, partial, dir);
      fs.chmodSync(partial, 0o600);
    }
    fs.renameSync(partial, target);
  } finally {
    fs.rmSync(partial, { force: true });
  }
  return {
    file: target, kind, frames: index.frames.length, width: index.width, height: index.height,
    durationMs: index.durationMs, framesPerSecond: 1000 / index.intervalMs, bytes: fs.statSync(target).size,
  };
}
