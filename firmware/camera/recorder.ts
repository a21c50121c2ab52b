/**
 * Recording: one trigger -> one sealed clip. Frames go from the Camera straight into the ClipSealer as
 * "video/x-sealcam-frames" records (u32be length || u64be capture ms || JPEG); what comes out of the sealer
 * (head, segments, footer) is handed to the uplink. Plaintext frames exist only between readFrame() and
 * sealer.write() in this function, and (with motion watching on) in the bounded pre-roll ring (preroll.ts),
 * whose frames become the clip's first frames with their own capture times.
 *
 * The clip sequence number is persisted before the clip starts, so it is never reused after a power cut.
 */
import type { Camera, Frame } from "../platform/camera";
import type { Clock } from "../platform/clock";
import type { Crypto } from "../platform/crypto";
import { toHex, wipe } from "../core/bytes";
import { ClipSealer } from "../core/clip/sealer";
import { CONTENT_TYPE_FRAMES } from "../core/clip/constants";
import { encodeFrame } from "../core/clip/frames";
import type { CameraAppConfig } from "./config";
import type { CameraIdentity } from "./cloud";
import { describeError, type Events } from "./events";
import type { RosterKeeper } from "./roster-keeper";
import type { CameraStore } from "./store";
import type { ClipQueue } from "../queue/queue";
import type { Uplink } from "./uplink";
import { streamRecipientsFor } from "../core/stream-scope";
import { sealSnapshot, shortId } from "./snapshot";

export interface ClipReport {
  sequence: number;
  clipId: string;
  frames: number;
  plaintextBytes: number;
  sealedBytes: number;
  recipients: number;
  rosterVersion: number;
  /** The clip's snapshot object id (hex), when one was sealed (config.snapshot, snapshot.ts). */
  snapshotId?: string;
}

/**
 * Where a clip's frames come from when the camera is already running (watcher.ts): `first` (the pre-roll,
 * oldest first, with their capture times), then `next()` until a frame is `clipMs` past `anchor`.
 */
export interface FrameSource {
  first: Frame[];
  anchor: number;
  clipMs: number;
  next(): Promise<Frame | undefined>;
}

export class Recorder {
  private active = false;
  clips = 0;

  constructor(
    private readonly crypto: Crypto,
    private readonly camera: Camera,
    private readonly clock: Clock,
    private readonly store: CameraStore,
    private readonly queue: ClipQueue,
    private readonly uplink: Uplink,
    private readonly events: Events,
    private readonly config: CameraAppConfig,
    private readonly identity: CameraIdentity,
    private readonly roster: RosterKeeper,
  ) {}

  get busy(): boolean {
    return this.active;
  }

  /** Records and seals one clip; returns undefined if a clip is already being recorded. */
  async record(reason: string, source?: FrameSource, clipMs?: number): Promise<ClipReport | undefined> {
    if (this.active) {
      this.events.debug("record.skip", "trigger ignored: already recording", { reason });
      return undefined;
    }
    this.active = true;
    try {
      return await this.recordClip(reason, source, clipMs);
    } finally {
      this.active = false;
    }
  }

  private async recordClip(reason: string, source: FrameSource | undefined, length: number | undefined): Promise<ClipReport> {
    const roster = this.roster.current;
    const sequence = this.store.reserveSequence();
    // A clip with pre-roll starts at its first frame's capture time.
    const startTime = source && source.first.length > 0 ? Math.min(this.clock.now(), Math.floor(source.first[0].time)) : this.clock.now();
    const anchor = source ? source.anchor : startTime;
    const clipMs = source ? source.clipMs : length ?? this.config.clipMs;
    const preRoll = source ? source.first.length : 0;
    // Stream keys (sharing, PROTOCOL §14) get the clip only when their certified scope covers this camera, the
    // video stream and this clip's capture time: decided here from the verified roster and the camera's clock,
    // never from anything the cloud says.
    // The cloud may hold a snapshot-only key (holder "cloud", PROTOCOL §14.14) and never a video key: the camera
    // enforces it too, whatever a certificate's scope says.
    const videoKeys = { streamKeys: roster.streamKeys.filter((k) => k.scope.holder !== "cloud") };
    const streams = streamRecipientsFor(videoKeys, { cameraId: this.identity.cameraId, stream: "video", captureTime: startTime });
    const sealer = new ClipSealer({
      crypto: this.crypto,
      cameraKey: this.identity.key,
      cameraId: this.identity.cameraId,
      cameraCertHash: this.crypto.sha256(this.identity.certificate),
      sequence,
      startTime,
      contentType: CONTENT_TYPE_FRAMES,
      recipients: streams.length > 0 ? roster.recipients.concat(streams) : roster.recipients,
      rosterVersion: roster.version,
      segmentSize: this.config.segmentSize,
    });
    const clipId = sealer.clipId;
    // The snapshot: taken now (trigger time), sealed and handed to the uplink BEFORE the clip's parts.
    const snapshotId = await this.snapshot(clipId, roster);
    const queueClip = this.queue.nextClip();
    this.events.info("record.start", "recording a clip", {
      reason: reason.slice(0, 24), sequence, clip: toHex(clipId).slice(0, 16), roster: roster.version, recipients: roster.recipients.length, streams: streams.length, preRoll,
    });
    let sealedBytes = sealer.head.length;
    await this.uplink.deliver(queueClip, { kind: "head", clipId, index: 0, bytes: sealer.head });

    let frames = 0;
    let plaintextBytes = 0;
    // The sealer may keep a view of the last record it was given until the next write() or finish()
    // (zero-copy for whole segments), so each record is wiped only one write later.
    let previous: Uint8Array | undefined;
    if (!source) this.camera.start(this.config.sensor);
    let taken = 0;
    try {
      while (frames < this.config.maxFramesPerClip) {
        const frame = source && taken < source.first.length ? source.first[taken++] : source ? await source.next() : await this.camera.readFrame();
        if (!frame) break;
        if (frames > 0 && frame.time - anchor >= clipMs) {
          if (source) wipe(frame.jpeg);
          break;
        }
        const record = encodeFrame({ time: Math.max(0, Math.floor(frame.time)), jpeg: frame.jpeg });
        plaintextBytes += record.length;
        frames++;
        for (const segment of sealer.write(record)) {
          sealedBytes += segment.bytes.length;
          await this.uplink.deliver(queueClip, { kind: "segment", clipId, index: segment.index, bytes: segment.bytes });
        }
        wipe(previous);
        previous = record;
      }
    } finally {
      if (!source) this.camera.stop();
    }
    const { segment, footer } = sealer.finish();
    wipe(previous);
    sealedBytes += segment.bytes.length + footer.length;
    await this.uplink.deliver(queueClip, { kind: "final", clipId, index: segment.index, bytes: segment.bytes });
    await this.uplink.deliver(queueClip, { kind: "footer", clipId, index: segment.index + 1, bytes: footer });
    this.clips++;
    const report: ClipReport = {
      sequence, clipId: toHex(clipId), frames, plaintextBytes, sealedBytes,
      recipients: roster.recipients.length, rosterVersion: roster.version,
    };
    if (snapshotId) report.snapshotId = snapshotId;
    this.events.info("record.done", "clip sealed", {
      sequence, clip: report.clipId.slice(0, 16), frames, sealedBytes, queued: this.uplink.depth,
    });
    return report;
  }

  /**
   * Takes, seals and delivers the snapshot of clip `clipId` (snapshot.ts) when config.snapshot.enabled and the
   * camera has a preview mode. A failure is logged and the clip records without one. Returns its id (hex).
   */
  private async snapshot(clipId: Uint8Array, roster: RosterKeeper["current"]): Promise<string | undefined> {
    const capture = this.camera.capturePreview;
    if (!this.config.snapshot.enabled || !capture) return undefined;
    const { width, height, quality } = this.config.snapshot;
    try {
      const preview = await capture.call(this.camera, { width, height, quality });
      if (!preview) {
        this.events.warn("snapshot.fail", "no preview frame came; the clip records without a snapshot", { clip: shortId(clipId) });
        return undefined;
      }
      const sealed = sealSnapshot({
        crypto: this.crypto, cameraKey: this.identity.key, cameraId: this.identity.cameraId,
        cameraCertHash: this.crypto.sha256(this.identity.certificate), sequence: this.store.reserveSequence(), roster,
      }, preview, clipId);
      const queueClip = this.queue.nextClip();
      for (const part of sealed.parts) await this.uplink.deliver(queueClip, part);
      this.events.info("snapshot.done", "snapshot sealed", {
        clip: shortId(clipId), snapshot: shortId(sealed.id), jpegBytes: sealed.jpegBytes, sealedBytes: sealed.sealedBytes, streams: sealed.streams,
      });
      return toHex(sealed.id);
    } catch (error) {
      const { code, message } = describeError(error);
      this.events.warn("snapshot.fail", "could not seal the snapshot; the clip records without one", { clip: shortId(clipId), code, reason: message.slice(0, 80) });
      return undefined;
    }
  }
}
