/**
 * The serial console commands (docs/CAMERA.md, "Console"). Output lines start with the command name; no
 * command ever prints a key, the setup secret or plaintext. `setup <label secret>` is the only way (besides
 * a long button press on boards that have one) to re-open setup mode on an enrolled camera; the secret is
 * compared in constant time and wrong attempts are rate-limited.
 */
import { constantTimeEqual, wipe } from "../core/bytes";
import { parseSetupSecret } from "../core/setup-channel";
import type { CameraApp } from "./app";

const MAX_WRONG = 5;
const LOCKOUT_MS = 60_000;
const MAX_RECORD_SECONDS = 300;

export class CameraConsole {
  private wrong = 0;
  private lockedUntil = 0;

  constructor(private readonly app: CameraApp) {}

  private out(line: string): void {
    this.app.platform.console.writeLine(line);
  }

  async handle(line: string): Promise<void> {
    const words = line.trim().split(/\s+/).filter((w) => w.length > 0);
    if (words.length === 0) return;
    const command = words[0].toLowerCase();
    // The raw line may carry the label secret: it is never logged or echoed.
    this.app.events.info("console.command", "console command", { command: command.slice(0, 16) });
    switch (command) {
      case "help":
        this.out("help: status | record [seconds] | roster [refresh] | setup <label secret> | unenroll | factory-reset");
        return;
      case "status": {
        const s = this.app.status();
        this.out(
          `status: state=${s.state} enrolled=${s.enrolled ? "yes" : "no"} camera=${s.camera} roster=${s.roster} ` +
          `recipients=${s.recipients} queue=${s.queue} wifi=${s.wifi} clips=${s.clips} ` +
          `free=${typeof s.freeMemory === "number" && s.freeMemory >= 0 ? s.freeMemory : "n/a"} roster-problem=${s.rosterProblem}`,
        );
        return;
      }
      case "roster":
        if (words[1] === "refresh") {
          const ok = await this.app.refreshRoster();
          this.out(ok ? "roster: refreshed" : "roster: refresh failed (see log)");
        }
        for (const l of this.app.rosterSummary()) this.out(l);
        return;
      case "record":
        return this.record(words[1]);
      case "setup":
        return this.setup(words.slice(1).join(""));
      case "unenroll":
        this.out("unenroll: erasing keys and certificates");
        await this.app.unenroll("unenroll");
        return;
      case "factory-reset":
        this.out("factory-reset: erasing enrollment and queued clips");
        await this.app.unenroll("factory-reset");
        return;
      default:
        this.out(`error: unknown command '${command.slice(0, 16)}' (try help)`);
    }
  }

  /** `record [seconds]`: one clip now (1..300 s; default the configured clip length), with pre-roll when watching. */
  private async record(arg: string | undefined): Promise<void> {
    let ms: number | undefined;
    if (arg !== undefined) {
      if (!/^[0-9]{1,3}$/.test(arg) || Number(arg) < 1 || Number(arg) > MAX_RECORD_SECONDS) {
        this.out(`record: seconds must be a whole number 1..${MAX_RECORD_SECONDS}`);
        return;
      }
      ms = Number(arg) * 1000;
    }
    const s = this.app.status();
    if (!s.enrolled || (s.state !== "running" && s.state !== "connecting")) {
      this.out("record: not recording in this state (the camera must be enrolled and out of setup mode)");
      return;
    }
    this.out(`record: recording ${Math.round((ms ?? this.app.config.clipMs) / 1000)} s`);
    const report = await this.app.trigger("console", ms);
    if (report) this.out(`record: clip ${report.clipId.slice(0, 16)} sealed, ${report.frames} frames, ${report.sealedBytes} bytes`);
    else this.out("record: not recorded (busy, or failed: see log)");
  }

  private async setup(text: string): Promise<void> {
    const now = this.app.platform.clock.now();
    if (now < this.lockedUntil) {
      this.out("setup: too many wrong secrets; wait a minute");
      return;
    }
    const stored = this.app.store.setupSecret();
    let given: Uint8Array;
    try {
      given = parseSetupSecret(text);
    } catch {
      given = new Uint8Array(0);
    }
    const ok = stored !== undefined && constantTimeEqual(given, stored);
    wipe(given, stored);
    if (!ok) {
      this.wrong++;
      if (this.wrong >= MAX_WRONG) {
        this.wrong = 0;
        this.lockedUntil = now + LOCKOUT_MS;
      }
      this.app.events.warn("console.setup-denied", "wrong setup secret on the console", {});
      this.out("setup: wrong setup secret");
      return;
    }
    this.wrong = 0;
    if (this.app.state === "setup") {
      this.out("setup: already in setup mode");
      return;
    }
    this.out("setup: entering setup mode");
    await this.app.enterSetup("console");
  }
}
