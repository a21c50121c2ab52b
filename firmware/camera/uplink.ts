/**
 * Delivery of sealed clip parts: straight to the cloud when the link is up and nothing is waiting, otherwise
 * into the flash queue, which drains oldest-first whenever the link comes back. A part leaves the queue only
 * after the cloud has acknowledged it, so a clip is never lost to an outage; the queue itself drops the
 * oldest whole clip only when the partition is full (logged as queue.drop).
 *
 * Only ClipParts reach this stage (sealed bytes from the sealer), so plaintext can never reach flash or
 * the network from here.
 */
import type { Clock } from "../platform/clock";
import type { ClipQueue } from "../queue/queue";
import { toHex } from "../core/bytes";
import { decodePart, encodePart, type ClipPart } from "./parts";
import { describeError, type Events } from "./events";

export interface PartUploader {
  /** Uploads one part; resolves when the cloud has stored it. Throws E_NETWORK (retry later) or another code (refused). */
  upload(part: ClipPart): Promise<void>;
}

/** Errors worth retrying: the link, the cloud being down or busy, our clock being off for request auth. */
export function isTransient(code: string): boolean {
  return code === "E_NETWORK" || code === "E_TIMEOUT" || code === "E_RATE_LIMIT" || code === "E_INTERNAL" || code === "E_AUTH";
}

export class Uplink {
  private draining = false;
  private retryTimer: number | undefined;
  private retryDelay: number;
  private stopped = false;
  private drainDone: Promise<void> = Promise.resolve();
  delivered = 0;
  queued = 0;

  constructor(
    private readonly queue: ClipQueue,
    private uploader: PartUploader | undefined,
    private readonly clock: Clock,
    private readonly events: Events,
    private readonly online: () => boolean,
    private readonly retryMs: number,
    private readonly retryMaxMs: number,
  ) {
    this.retryDelay = retryMs;
  }

  setUploader(uploader: PartUploader | undefined): void {
    this.uploader = uploader;
  }

  get depth(): number {
    return this.queue.count;
  }

  /** Hands one part on: uploads it now if possible, else queues it. Never throws for link trouble. */
  async deliver(queueClip: number, part: ClipPart): Promise<void> {
    if (!this.stopped && this.uploader && this.online() && this.queue.count === 0 && !this.draining) {
      try {
        await this.uploader.upload(part);
        this.events.debug("upload.sent", "clip part stored by the cloud", { clip: toHex(part.clipId.subarray(0, 8)), part: part.kind, index: part.index, queued: false });
        this.delivered++;
        return;
      } catch (error) {
        const { code, message } = describeError(error);
        if (!isTransient(code)) {
          this.events.error("upload.refused", "cloud refused a clip part; dropped", { clip: toHex(part.clipId.subarray(0, 4)), part: part.kind, index: part.index, code, reason: message });
          return;
        }
        this.events.warn("upload.defer", "cloud unreachable; queueing clip parts", { code });
      }
    }
    this.enqueue(queueClip, part);
    this.kick();
  }

  private enqueue(queueClip: number, part: ClipPart): void {
    const seq = this.queue.append(queueClip, encodePart(part));
    this.queued++;
    this.events.debug("queue.append", "clip part queued", { seq, part: part.kind, index: part.index, depth: this.queue.count });
  }

  /** Starts draining the queue if there is anything to send and nothing is running. */
  kick(): void {
    if (this.stopped || this.draining || this.queue.count === 0) return;
    if (this.retryTimer !== undefined) {
      this.clock.clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
    }
    this.draining = true;
    this.drainDone = this.drain().finally(() => {
      this.draining = false;
    });
  }

  /** Resolves when the current drain pass (if any) has finished. */
  idle(): Promise<void> {
    return this.drainDone;
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer !== undefined) this.clock.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private async drain(): Promise<void> {
    let sent = 0;
    for (;;) {
      if (this.stopped || !this.uploader || !this.online()) return this.scheduleRetry();
      const record = this.queue.peek();
      if (!record) break;
      let part: ClipPart;
      try {
        part = decodePart(record.payload);
      } catch {
        this.events.error("queue.bad-record", "unreadable queue record dropped", { seq: record.seq });
        this.queue.ack(record.seq);
        continue;
      }
      try {
        await this.uploader.upload(part);
        // The cloud holds the part; the queue still does too until the ack below (a power cut in between
        // re-sends it after boot, and the cloud answers "already").
        this.events.debug("upload.sent", "clip part stored by the cloud", { clip: toHex(part.clipId.subarray(0, 8)), part: part.kind, index: part.index, queued: true });
      } catch (error) {
        const { code, message } = describeError(error);
        if (isTransient(code)) {
          this.events.warn("upload.retry", "upload failed; will retry", { code, depth: this.queue.count, delayMs: this.retryDelay });
          return this.scheduleRetry();
        }
        this.events.error("upload.refused", "cloud refused a queued clip part; dropped", { seq: record.seq, part: part.kind, code, reason: message });
      }
      this.queue.ack(record.seq);
      this.delivered++;
      sent++;
      this.retryDelay = this.retryMs;
    }
    if (sent > 0) this.events.info("queue.drained", "queued clip parts delivered", { parts: sent });
    try {
      this.queue.maintain();
    } catch (error) {
      this.events.warn("queue.maintain", "queue housekeeping failed", { code: describeError(error).code });
    }
  }

  private scheduleRetry(): void {
    if (this.stopped || this.retryTimer !== undefined) return;
    const delay = this.retryDelay;
    this.retryDelay = Math.min(this.retryDelay * 2, this.retryMaxMs);
    this.retryTimer = this.clock.setTimeout(() => {
      this.retryTimer = undefined;
      this.kick();
    }, delay);
  }
}
