/**
 * Clips of real JPEG frames (the synthetic camera's frame maker) with chosen capture times, sealed by a test
 * camera of `World` and uploaded through the real cloud; and ffprobe run on what `open --video` wrote.
 */
import { execFileSync } from "node:child_process";
import { fromBase64Url, toHex } from "../../firmware/core/bytes";
import { ClipSealer, encodeFrame, CONTENT_TYPE_FRAMES } from "../../firmware/core/clip";
import { verifyRoster } from "../../firmware/core/roster";
import { syntheticFrame } from "../../host-tools/board-sim/synthetic-camera";
import { crypto, type TestCamera, type World } from "./fixture";

export interface VideoClip {
  clipId: string;
  jpegs: Uint8Array[];
  times: number[];
}

export function jpegs(count: number, width: number, height: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => syntheticFrame(i + 1, { width, height, quality: 12 }));
}

/**
 * Seals `frames` (capture times `times`) as one clip of `cam` to the account's roster and uploads it whole.
 * `plaintext` replaces the frame records (e.g. another content type); `idPrefix` fixes the first bytes of
 * the clip id (the sealer draws it as its first random bytes), to make two genuine clips share a prefix.
 */
export async function uploadVideoClip(world: World, cam: TestCamera, options: {
  frames?: Uint8Array[]; times?: number[]; contentType?: string; plaintext?: Uint8Array; idPrefix?: Uint8Array;
}): Promise<VideoClip> {
  const r = await world.cameraRequest(cam, "GET", "/v1/camera/roster");
  const roster = verifyRoster(crypto, fromBase64Url(r.json.roster as string), fromBase64Url(world.phone.state().rootCertificate), { minVersion: 1 });
  cam.sequence++;
  const frames = options.frames ?? [];
  const times = options.times ?? frames.map((_, i) => 1_700_000_000_000 + i * 100);
  let first = true;
  const sealCrypto = Object.create(crypto) as typeof crypto;
  sealCrypto.randomBytes = (n: number) => {
    const bytes = crypto.randomBytes(n);
    if (first && options.idPrefix) bytes.set(options.idPrefix);
    first = false;
    return bytes;
  };
  const sealer = new ClipSealer({
    crypto: sealCrypto, cameraKey: cam.key, cameraId: cam.cameraId, cameraCertHash: crypto.sha256(cam.certificate), sequence: cam.sequence,
    startTime: times[0] ?? 1_700_000_000_000, contentType: options.contentType ?? CONTENT_TYPE_FRAMES, recipients: roster.recipients,
    rosterVersion: roster.version, segmentSize: 16384,
  });
  const clipId = toHex(sealer.clipId);
  const segments: { index: number; bytes: Uint8Array }[] = options.plaintext
    ? sealer.write(options.plaintext).map((s) => ({ index: s.index, bytes: s.bytes.slice() }))
    : frames.flatMap((jpeg, i) => sealer.write(encodeFrame({ time: times[i], jpeg })).map((s) => ({ index: s.index, bytes: s.bytes.slice() })));
  const done = sealer.finish();
  segments.push(done.segment);
  const put = async (p: string, bytes: Uint8Array) => {
    const res = await world.cameraRequest(cam, "PUT", p, bytes);
    if (res.status >= 300) throw new Error(`PUT ${p}: ${res.status} ${JSON.stringify(res.json)}`);
  };
  await put(`/v1/clips/${clipId}/head`, sealer.head);
  for (const s of segments) await put(`/v1/clips/${clipId}/segments/${s.index}`, s.bytes);
  await put(`/v1/clips/${clipId}/footer?segments=${segments.length}`, done.footer);
  return { clipId, jpegs: frames, times };
}

export interface Probe {
  codec: string;
  width: number;
  height: number;
  frames: number;
  duration: number;
  /** Each packet's presentation time (s) and size (bytes), in presentation order. */
  packets: { pts: number; size: number }[];
}

/** ffprobe -count_frames on a file: the first video stream's codec, size, decoded frame count, duration. */
export function ffprobe(file: string): Probe {
  const json = JSON.parse(execFileSync("ffprobe", [
    "-v", "error", "-count_frames", "-select_streams", "v:0",
    "-show_entries", "stream=codec_name,width,height,nb_read_frames,duration:format=duration:packet=pts_time,size",
    "-of", "json", file,
  ], { encoding: "utf8" })) as {
    streams: { codec_name: string; width: number; height: number; nb_read_frames: string; duration?: string }[];
    format: { duration: string };
    packets: { pts_time: string; size: string }[];
  };
  const s = json.streams[0];
  return {
    codec: s.codec_name, width: s.width, height: s.height, frames: Number(s.nb_read_frames),
    duration: Number(s.duration ?? json.format.duration),
    packets: json.packets.map((p) => ({ pts: Number(p.pts_time), size: Number(p.size) })).sort((a, b) => a.pts - b.pts),
  };
}
