/**
 * Clock on the board: Date.now() (set from SNTP once the station has an address) and Moddable timers.
 * Until SNTP answers, Date.now() counts from 1970 plus uptime; `synchronized` says which one you have.
 */
import SNTP from "sntp";
import Time from "time";
import Timer from "timer";
import type { Clock } from "../platform/clock";
import type { Log } from "../platform/log";

/** Anything earlier than this (2024-01-01) means the clock was never set. */
const PLAUSIBLE_MS = 1704067200000;

export class BoardClock implements Clock {
  private nextId = 1;
  private readonly timers = new Map<number, Timer>();
  private sntp: SNTP | undefined;

  constructor(private readonly sntpHost: string, private readonly log?: Log) {}

  get synchronized(): boolean {
    return Date.now() >= PLAUSIBLE_MS;
  }

  now(): number {
    return Date.now();
  }

  setTimeout(callback: () => void, ms: number): number {
    const id = this.nextId++;
    const delay = Number.isFinite(ms) && ms > 0 ? Math.floor(ms) : 0;
    const timer = Timer.set(() => {
      this.timers.delete(id);
      callback();
    }, delay);
    this.timers.set(id, timer);
    return id;
  }

  clearTimeout(id: number): void {
    const timer = this.timers.get(id);
    if (!timer) return;
    this.timers.delete(id);
    Timer.clear(timer);
  }

  /** Asks the SNTP server for the time (once per call; Moddable's SNTP retries on its own). */
  synchronize(): void {
    if (this.sntp) return;
    this.sntp = new SNTP({ host: this.sntpHost }, (message, value) => {
      if (message === SNTP.time && typeof value === "number") {
        Time.set(value);
        this.log?.write("info", "clock.sntp", "time set from sntp", { host: this.sntpHost });
        this.sntp = undefined;
      } else if (message === SNTP.error) {
        this.log?.write("warn", "clock.sntp", "sntp failed; will retry on the next connection", { host: this.sntpHost });
        this.sntp = undefined;
      }
    });
  }
}
