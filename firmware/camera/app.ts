/**
 * The camera application: boot, setup mode, normal operation, lifecycle. Small modules do the work; this
 * file only moves between states (docs/CAMERA.md has the diagram):
 *
 *   boot -> setup            unprovisioned (or leftovers of a cut enrollment, wiped first)
 *   boot -> connecting       provisioned: join Wi-Fi, register, refresh the roster, drain the queue
 *   connecting <-> running   Wi-Fi up/down; recording works in both (offline clips go to the queue)
 *   running -> setup         console `setup <label secret>` (old enrollment kept until a new one commits)
 *   * -> setup               `unenroll`, `factory-reset`
 *   setup -> setup-ended     timeout or too many failures on an unprovisioned camera (power-cycle to retry)
 */
import type { Platform } from "../platform/index";
import type { P256PrivateKey } from "../platform/crypto";
import { wipe } from "../core/bytes";
import { generateSetupSecret } from "../core/setup-channel";
import { ClipQueue } from "../queue/queue";
import { CloudClient, type CameraIdentity } from "./cloud";
import { resolveConfig, type CameraAppConfig } from "./config";
import { CameraConsole } from "./console";
import { describeError, Events } from "./events";
import { Recorder, type ClipReport, type FrameSource } from "./recorder";
import { RosterKeeper } from "./roster-keeper";
import { SetupMode, type SetupOutcome } from "./setup-mode";
import { CameraStore, type Provisioning } from "./store";
import { Uplink } from "./uplink";
import { Watcher } from "./watcher";
import { LiveView } from "./live";

/** The Camera trigger reason a board reports for a long press of its setup (BOOT) button. */
export const SETUP_BUTTON = "setup-button";

export type CameraState = "booting" | "setup" | "setup-ended" | "connecting" | "running" | "stopped";

export interface CameraHooks {
  /** Power-cut injection for tests and the board simulator: called at named storage steps. */
  cut?: (step: string) => void;
  /** Free heap bytes (the board passes Moddable's instrumentation); shown by `status`. */
  freeMemory?: () => number;
}

interface Running {
  provisioning: Provisioning;
  identity: CameraIdentity;
  cloud: CloudClient;
  roster: RosterKeeper;
  recorder: Recorder;
  /** Motion watching and pre-roll (undefined when config.motion.enabled is false: triggers start the camera). */
  watcher: Watcher | undefined;
  /** Live view (live.ts): needs the platform's WebSocket client and the watcher (the one camera reader). */
  live: LiveView | undefined;
  registered: boolean;
}

export class CameraApp {
  readonly config: CameraAppConfig;
  readonly events: Events;
  readonly store: CameraStore;
  readonly queue: ClipQueue;
  readonly uplink: Uplink;
  state: CameraState = "booting";
  private setup: SetupMode | undefined;
  private running: Running | undefined;
  private rosterTimer: number | undefined;
  private wifiTimer: number | undefined;
  private wifiDelay: number;
  private connecting: Promise<void> | undefined;
  private pending: Promise<unknown>[] = [];
  private readonly console: CameraConsole;

  constructor(readonly platform: Platform, config: Partial<CameraAppConfig> = {}, readonly hooks: CameraHooks = {}) {
    this.config = resolveConfig(config);
    this.events = new Events(platform.log);
    this.store = new CameraStore(platform.storage, platform.crypto);
    // The queue writes its own queue.drop line when it has to drop the oldest clip.
    this.queue = ClipQueue.open(platform.queueFlash, { log: platform.log });
    this.uplink = new Uplink(
      this.queue, undefined, platform.clock, this.events,
      () => platform.wifi.state === "connected" && this.state === "running",
      this.config.uploadRetryMs, this.config.uploadRetryMaxMs,
    );
    this.wifiDelay = this.config.uploadRetryMs;
    this.console = new CameraConsole(this);
    platform.console.onLine((line) => this.track(this.console.handle(line)));
    platform.camera.onTrigger((reason) => this.track(this.trigger(reason)));
    platform.wifi.onStateChange((state) => this.onWifi(state));
  }

  // --- boot ---------------------------------------------------------------------------------------------

  async boot(): Promise<void> {
    const stats = this.queue.stats();
    this.events.info("boot", "camera starting", {
      firmware: this.config.firmwareVersion, queued: stats.records, tornEntries: stats.recovered.tornEntries,
    });
    if (!this.store.setupSecret()) {
      // First power-on: the factory step that makes the label secret (on a production line it is printed now).
      const secret = generateSetupSecret(this.platform.crypto);
      this.store.setSetupSecret(secret);
      wipe(secret);
      this.events.info("factory.secret", "setup secret created for the label");
    }
    const { provisioning, repaired } = this.store.loadProvisioning();
    if (repaired) this.events.warn("boot.repair", "incomplete enrollment found and wiped; camera is not enrolled");
    if (!provisioning) return this.enterSetup("unprovisioned");
    this.startRunning(provisioning);
  }

  // --- setup --------------------------------------------------------------------------------------------

  async enterSetup(reason: string): Promise<void> {
    if (this.state === "setup") return;
    this.stopRunningTimers();
    this.state = "setup";
    this.setup = new SetupMode(this.platform, this.config, this.store, this.events, (o) => this.onSetupEnd(o), this.hooks.cut);
    try {
      await this.setup.start(reason);
    } catch (error) {
      const { code, message } = describeError(error);
      this.events.error("setup.error", "could not start setup mode", { code, reason: message });
      this.setup?.finish({ kind: "cancelled" });
      this.state = "setup-ended";
    }
  }

  private onSetupEnd(outcome: SetupOutcome): void {
    this.setup = undefined;
    // Cancellation comes from inside (stop, unenroll, a failed start): the caller decides what follows.
    if (outcome.kind === "cancelled" || this.state === "stopped") return;
    // The enrollment that ran before setup mode (if any) is replaced by a fresh start below.
    if (this.running) this.platform.crypto.p256Destroy(this.running.identity.key);
    this.running = undefined;
    if (outcome.kind === "enrolled") {
      this.startRunning(outcome.provisioning, outcome.enrollment.takeKey());
      return;
    }
    const { provisioning } = this.store.loadProvisioning();
    if (provisioning) {
      this.startRunning(provisioning);
    } else {
      this.state = "setup-ended";
      this.platform.console.writeLine("setup: not enrolled; power-cycle or use `setup <label secret>` to try again");
    }
  }

  get setupMode(): SetupMode | undefined {
    return this.setup;
  }

  // --- normal operation ---------------------------------------------------------------------------------

  private startRunning(provisioning: Provisioning, key?: P256PrivateKey): void {
    const { crypto, clock } = this.platform;
    let roster: RosterKeeper;
    let cameraKey: P256PrivateKey;
    try {
      cameraKey = key ?? crypto.p256Import(provisioning.keyScalar);
      roster = new RosterKeeper(crypto, clock, this.store, this.events, provisioning.root, provisioning.accountId, this.config.rosterRefreshMs, this.hooks.cut);
    } catch (error) {
      const { code, message } = describeError(error);
      this.events.error("boot.bad-enrollment", "stored enrollment does not verify; wiping it", { code, reason: message });
      this.store.wipeProvisioning();
      this.track(this.enterSetup("bad-enrollment"));
      return;
    } finally {
      wipe(provisioning.keyScalar);
    }
    const identity: CameraIdentity = { cameraId: provisioning.cameraId, accountId: provisioning.accountId, key: cameraKey, certificate: provisioning.certificate };
    const cloud = new CloudClient(this.platform.http, crypto, clock, provisioning.cloudUrl, identity);
    const recorder = new Recorder(crypto, this.platform.camera, clock, this.store, this.queue, this.uplink, this.events, this.config, identity, roster);
    const running: Running = { provisioning, identity, cloud, roster, recorder, watcher: undefined, live: undefined, registered: false };
    if (this.config.motion.enabled) {
      running.watcher = new Watcher(this.platform.camera, clock, this.events, this.config, (reason, source) => this.recordWith(running, reason, source));
    }
    const webSocket = this.platform.webSocket;
    if (webSocket) {
      // Without the watcher (motion off) nothing reads the camera between clips: sessions are refused (E_STATE).
      const watcher = running.watcher;
      const live = new LiveView({
        ws: webSocket, crypto, clock, events: this.events, config: this.config.live, identity, roster, cloudUrl: provisioning.cloudUrl,
        online: () => this.stillRunning(running) && this.state === "running" && running.registered, hasFrames: () => watcher !== undefined,
      });
      running.live = live;
      if (watcher) watcher.onFrame = (frame) => live.offer(frame);
    }
    this.running = running;
    this.uplink.setUploader(cloud);
    this.state = "connecting";
    this.events.info("camera.enrolled", "camera enrolled; recording enabled", {
      camera: provisioning.cameraId, roster: roster.version, recipients: roster.current.recipients.length, queued: this.queue.count,
    });
    this.scheduleRosterRefresh();
    running.watcher?.start();
    this.track(this.connect());
  }

  /** Single-flight: Wi-Fi events during a connect attempt must not start a second one. */
  private connect(): Promise<void> {
    if (this.connecting) return this.connecting;
    this.connecting = this.connectOnce().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async connectOnce(): Promise<void> {
    const running = this.running;
    if (!running || this.state === "setup" || this.state === "stopped") return;
    const { wifi } = this.platform;
    if (wifi.state !== "connected") {
      this.events.info("wifi.connect", "joining Wi-Fi", { ssid: running.provisioning.wifi.ssid });
      try {
        await wifi.connect({ ssid: running.provisioning.wifi.ssid, password: running.provisioning.wifi.password });
      } catch (error) {
        const { code } = describeError(error);
        this.events.warn("wifi.fail", "could not join Wi-Fi; will retry", { code, delayMs: this.wifiDelay });
        this.scheduleReconnect();
        return;
      }
    }
    if (!this.stillRunning(running)) return;
    this.wifiDelay = this.config.uploadRetryMs;
    this.state = "running";
    this.events.info("wifi.up", "Wi-Fi connected", {});
    if (!running.registered) {
      try {
        await running.cloud.register();
        running.registered = true;
        this.events.info("cloud.registered", "camera certificate registered with the cloud", { camera: running.identity.cameraId });
      } catch (error) {
        const { code, message } = describeError(error);
        this.events.warn("cloud.register-fail", "could not register with the cloud; will retry", { code, reason: message });
      }
    }
    await running.roster.refresh(() => running.cloud.fetchRoster());
    // After boot and registration (and every reconnect): the owner sees the roster in force and any refusal.
    if (running.registered && this.stillRunning(running)) await this.reportStatus(running);
    this.uplink.kick();
    if (this.stillRunning(running)) running.live?.start();
  }

  /** `PUT /v1/camera/status`; a failed report is logged, never fatal (the next one carries the same facts). */
  private async reportStatus(running: Running): Promise<void> {
    const problem = running.roster.problem;
    try {
      await running.cloud.reportStatus({ rosterVersion: running.roster.version, rosterProblem: problem ?? null, queued: this.queue.count });
      this.events.info("cloud.status", "status reported to the cloud", {
        roster: running.roster.version, problem: problem ? problem.code : "none", queued: this.queue.count,
      });
    } catch (error) {
      const { code, message } = describeError(error);
      this.events.warn("cloud.status-fail", "could not report the camera's status to the cloud", { code, reason: message });
    }
  }

  /** After an await: is this still the enrollment we started with, outside setup and power-off? */
  private stillRunning(running: Running): boolean {
    const state: CameraState = this.state;
    return this.running === running && state !== "setup" && state !== "stopped";
  }

  private scheduleReconnect(): void {
    if (this.wifiTimer !== undefined || this.state === "stopped") return;
    const delay = this.wifiDelay;
    this.wifiDelay = Math.min(this.wifiDelay * 2, this.config.uploadRetryMaxMs);
    this.wifiTimer = this.platform.clock.setTimeout(() => {
      this.wifiTimer = undefined;
      this.track(this.connect());
    }, delay);
  }

  private onWifi(state: string): void {
    if (!this.running || this.state === "setup" || this.state === "stopped" || this.state === "booting") return;
    if (state === "connected") {
      if (this.state !== "running") this.track(this.connect());
      else this.uplink.kick();
    } else if (state === "disconnected" || state === "off") {
      if (this.state === "running") {
        this.state = "connecting";
        this.events.warn("wifi.down", "Wi-Fi lost; clips will queue", { queued: this.queue.count });
      }
      this.scheduleReconnect();
    }
  }

  private scheduleRosterRefresh(): void {
    if (this.rosterTimer !== undefined) this.platform.clock.clearTimeout(this.rosterTimer);
    this.rosterTimer = undefined;
    // A refresh that finishes after power-off, unenroll or entering setup must not start a new cycle.
    if (!this.running || this.state === "stopped" || this.state === "setup") return;
    this.rosterTimer = this.platform.clock.setTimeout(() => {
      this.rosterTimer = undefined;
      this.track(this.refreshRoster().then(() => this.scheduleRosterRefresh()));
    }, this.config.rosterRefreshMs);
  }

  /** Fetches and applies the cloud's roster now (also the `roster refresh` console command). */
  async refreshRoster(): Promise<boolean> {
    const running = this.running;
    if (!running || this.state !== "running") return false;
    const before = running.roster.problem;
    const ok = await running.roster.refresh(() => running.cloud.fetchRoster());
    // A refused roster is reported every time it is met; the all-clear once, when one is accepted again.
    const after = running.roster.problem;
    if (after !== undefined || before !== undefined) await this.reportStatus(running);
    return ok;
  }

  /**
   * A motion or trigger event: records one clip if the camera is enrolled and not in setup mode. `clipMs`
   * overrides the clip length (console `record [seconds]`). With motion watching on, the clip goes through
   * the watcher (pre-roll; "pir" obeys the schedule and cooldown).
   */
  async trigger(reason: string, clipMs?: number): Promise<ClipReport | undefined> {
    if (reason === SETUP_BUTTON) {
      // A long press of the setup button: physical presence stands in for the label secret.
      if (this.state !== "setup" && this.state !== "stopped") {
        this.events.info("button.setup", "setup button held; entering setup mode");
        await this.enterSetup("button");
      }
      return undefined;
    }
    const running = this.running;
    if (!running || (this.state !== "running" && this.state !== "connecting")) {
      this.events.debug("record.skip", "trigger ignored: not recording in this state", { state: this.state });
      return undefined;
    }
    if (running.watcher) return running.watcher.trigger(reason, clipMs);
    return this.recordWith(running, reason, undefined, clipMs);
  }

  private async recordWith(running: Running, reason: string, source: FrameSource | undefined, clipMs?: number): Promise<ClipReport | undefined> {
    if (!this.stillRunning(running)) return undefined;
    if (this.state === "running" && running.roster.isStale()) await this.refreshRoster();
    try {
      return await running.recorder.record(reason, source, clipMs);
    } catch (error) {
      const { code, message } = describeError(error);
      this.events.error("record.fail", "clip recording failed", { code, reason: message });
      return undefined;
    }
  }

  private stopRunningTimers(): void {
    const clock = this.platform.clock;
    this.running?.live?.stop();
    void this.running?.watcher?.stop();
    if (this.rosterTimer !== undefined) clock.clearTimeout(this.rosterTimer);
    if (this.wifiTimer !== undefined) clock.clearTimeout(this.wifiTimer);
    this.rosterTimer = undefined;
    this.wifiTimer = undefined;
  }

  // --- lifecycle ----------------------------------------------------------------------------------------

  /** Erases keys, certificates, roster, Wi-Fi and cloud settings; queued parts are dropped. Enters setup. */
  async unenroll(reason: "unenroll" | "factory-reset"): Promise<void> {
    this.stopRunningTimers();
    this.uplink.setUploader(undefined);
    if (this.setup) this.setup.finish({ kind: "cancelled" });
    this.setup = undefined;
    const running = this.running;
    this.running = undefined;
    this.state = "booting";
    this.store.wipeProvisioning();
    if (running) this.platform.crypto.p256Destroy(running.identity.key);
    let dropped = 0;
    for (let r = this.queue.peek(); r; r = this.queue.peek()) {
      this.queue.ack(r.seq);
      dropped++;
    }
    this.events.warn(reason === "factory-reset" ? "factory.reset" : "camera.unenrolled",
      reason === "factory-reset" ? "factory reset: enrollment erased" : "camera unenrolled: keys and certificates erased",
      { droppedParts: dropped });
    if (this.platform.wifi.state === "connected" || this.platform.wifi.state === "connecting") this.platform.wifi.disconnect();
    await this.enterSetup(reason);
  }

  // --- status and test support --------------------------------------------------------------------------

  status(): Record<string, string | number | boolean> {
    const running = this.running;
    const free = this.hooks.freeMemory ? this.hooks.freeMemory() : -1;
    return {
      state: this.state,
      enrolled: running !== undefined,
      camera: running ? running.identity.cameraId : "-",
      roster: running ? running.roster.version : 0,
      recipients: running ? running.roster.current.recipients.length : 0,
      queue: this.queue.count,
      wifi: this.platform.wifi.state,
      clips: running ? running.recorder.clips : 0,
      freeMemory: free,
      rosterProblem: running && running.roster.problem ? `v${running.roster.problem.version ?? "?"}:${running.roster.problem.code}` : "none",
    };
  }

  rosterSummary(): string[] {
    const running = this.running;
    if (!running) return ["roster: camera is not enrolled"];
    const r = running.roster.current;
    const lines = [`roster: version ${r.version}, account ${r.accountId}, ${r.entries.length} keys`];
    const problem = running.roster.problem;
    if (problem) lines.push(`roster: refused version ${problem.version ?? "?"} (${problem.code}: ${problem.message}); still sealing to version ${r.version}`);
    for (const e of r.entries) {
      let id = "";
      for (let i = 0; i < 8; i++) id += (e.keyId[i] < 16 ? "0" : "") + e.keyId[i].toString(16);
      lines.push(`roster: ${e.role} ${id} ${e.certificate.subjectCommonName ?? ""}`);
    }
    return lines;
  }

  /** Keeps a background promise so that `idle()` can wait for it; errors are logged, never thrown. */
  track(promise: Promise<unknown>): void {
    const p = promise.catch((error: unknown) => {
      const { code, message } = describeError(error);
      this.events.error("internal", "background task failed", { code, reason: message });
    });
    this.pending.push(p);
    p.then(() => {
      const i = this.pending.indexOf(p);
      if (i >= 0) this.pending.splice(i, 1);
    });
  }

  /** Resolves once every background task started so far (and the uplink drain) has settled. */
  async idle(): Promise<void> {
    while (this.pending.length > 0) await Promise.all(this.pending.slice());
    await this.uplink.idle();
  }

  /** Power off: stops timers, servers and the uplink (used by tests and the simulator). */
  stop(): void {
    this.state = "stopped";
    this.stopRunningTimers();
    this.uplink.stop();
    if (this.setup) {
      const setup = this.setup;
      this.setup = undefined;
      setup.finish({ kind: "cancelled" });
    }
  }
}

export function startCamera(platform: Platform, config: Partial<CameraAppConfig> = {}, hooks: CameraHooks = {}): CameraApp {
  const app = new CameraApp(platform, config, hooks);
  app.track(app.boot());
  return app;
}
