/**
 * Setup mode: the soft access point "sealcam-XXXX" (XXXX from the MAC), WPA2 with the password derived from
 * the label secret, the setup API on the platform HttpServer, and the rules for leaving: success, timeout
 * (config.setupTimeoutMs) or too many failed handshakes (config.maxSetupFailures). The label (the secret as
 * text and the label string `SEALCAM:1:<ssid>:<secret>`, also the QR payload) is shown on the serial console
 * here, and only here: when setup mode starts (so on every boot while unenrolled) and again every
 * LABEL_REPEAT_MS while it waits for a phone, so someone who attached the console late still sees it. It never
 * goes to the log.
 */
import type { Platform } from "../platform/index";
import { toHex, wipe } from "../core/bytes";
import { deriveSetupKeys, formatSetupSecret, setupQrPayload, SETUP_PROTOCOL_NAME } from "../core/setup-channel";
import { fail } from "../core/errors";
import type { CameraAppConfig } from "./config";
import { Enrollment, type ProvisionResult } from "./enroll";
import { describeError, type Events } from "./events";
import { SetupService, type SetupOp } from "./setup-service";
import type { CameraStore, Provisioning } from "./store";

export type SetupOutcome =
  | { kind: "enrolled"; result: ProvisionResult; provisioning: Provisioning; enrollment: Enrollment }
  | { kind: "timeout" }
  | { kind: "too-many-failures" }
  | { kind: "cancelled" };

/** Delay between the last setup reply and tearing down the access point, so the reply gets out. */
const LINGER_MS = 100;
/** While setup mode waits (no phone holds the slot), the label is shown again this often on the console. */
export const LABEL_REPEAT_MS = 60 * 1000;

export function accessPointName(mac: Uint8Array): string {
  return "sealcam-" + toHex(mac.subarray(mac.length - 2)).toUpperCase();
}

export class SetupMode {
  private service: SetupService | undefined;
  private enrollment: Enrollment | undefined;
  private timer: number | undefined;
  private repeatTimer: number | undefined;
  private finished = false;
  private result: { result: ProvisionResult; provisioning: Provisioning } | undefined;
  ssid = "";

  constructor(
    private readonly platform: Platform,
    private readonly config: CameraAppConfig,
    private readonly store: CameraStore,
    private readonly events: Events,
    private readonly onEnd: (outcome: SetupOutcome) => void,
    private readonly cut?: (step: string) => void,
  ) {}

  get failures(): number {
    return this.service ? this.service.failureCount : 0;
  }

  get phoneConnected(): boolean {
    return this.service !== undefined && this.service.slotState !== "idle";
  }

  async start(reason: string): Promise<void> {
    const { crypto, wifi, clock } = this.platform;
    const secret = this.store.setupSecret();
    if (!secret) fail("E_STORAGE", "camera has no setup secret");
    const keys = deriveSetupKeys(crypto, secret);
    this.ssid = accessPointName(wifi.mac());
    this.enrollment = new Enrollment(crypto, clock, this.store, this.cut);
    const enrollment = this.enrollment;
    this.service = new SetupService(crypto, clock, this.events, keys.psk, this.ssid, this.config, {
      describe: () => ({ ssid: this.ssid, firmware: this.config.firmwareVersion, protocol: SETUP_PROTOCOL_NAME }),
      run: (request) => this.run(enrollment, request),
      end: (why) => {
        if (why === "success") clock.setTimeout(() => this.finish(this.result ? { kind: "enrolled", ...this.result, enrollment } : { kind: "cancelled" }), LINGER_MS);
        else clock.setTimeout(() => this.finish({ kind: "too-many-failures" }), 0);
      },
    }, this.store);
    if (wifi.state === "connected" || wifi.state === "connecting") wifi.disconnect();
    await wifi.startAccessPoint({ ssid: this.ssid, password: keys.wifiPassword });
    const service = this.service;
    this.platform.setupServer.listen(this.config.setupPort, (request) => service.handle(request));
    this.timer = clock.setTimeout(() => this.finish({ kind: "timeout" }), this.config.setupTimeoutMs);
    this.events.info("setup.start", "setup mode: access point up", {
      reason, ssid: this.ssid, timeoutMs: this.config.setupTimeoutMs, maxFailures: this.config.maxSetupFailures,
    });
    wipe(secret);
    this.showLabel();
  }

  /**
   * The label on the console only while setup mode is on (never through Log): the secret as text, then the
   * label string (`sealcam console` draws it as a QR code). Shown again every LABEL_REPEAT_MS while no phone
   * holds the setup slot.
   */
  private showLabel(): void {
    this.repeatTimer = undefined;
    if (this.finished) return;
    const { clock, console } = this.platform;
    if (!this.phoneConnected) {
      const secret = this.store.setupSecret();
      if (!secret) return;
      console.writeLine(`setup: join Wi-Fi "${this.ssid}" and add this camera in the phone app (sealcam phone add-camera --label-file FILE)`);
      console.writeLine(`setup: label secret ${formatSetupSecret(secret)}`);
      console.writeLine(`setup: qr ${setupQrPayload(this.ssid, secret)}`);
      console.writeLine("setup: the label gives the Wi-Fi password and the setup key: keep it private");
      wipe(secret);
    }
    this.repeatTimer = clock.setTimeout(() => this.showLabel(), LABEL_REPEAT_MS);
  }

  private async run(enrollment: Enrollment, request: SetupOp): Promise<Record<string, unknown>> {
    switch (request.op) {
      case "info":
        return { ssid: this.ssid, firmware: this.config.firmwareVersion };
      case "csr": {
        const out = enrollment.csr();
        this.events.info("setup.csr", "certificate request sent", { camera: out.cameraId });
        return out;
      }
      case "provision": {
        try {
          const done = enrollment.provision(request);
          this.result = done;
          this.events.info("enroll.stored", "enrollment stored", {
            camera: done.result.cameraId, account: done.result.accountId, roster: done.result.rosterVersion, recipients: done.result.recipients,
          });
          return { cameraId: done.result.cameraId, rosterVersion: done.result.rosterVersion };
        } catch (error) {
          const { code, message } = describeError(error);
          this.events.warn("enroll.reject", "enrollment data refused", { code, reason: message });
          throw error;
        }
      }
      default:
        return fail("E_FORMAT", "unknown setup op");
    }
  }

  /** Ends setup mode (idempotent): closes the server and the access point, reports the outcome once. */
  finish(outcome: SetupOutcome): void {
    if (this.finished) return;
    this.finished = true;
    if (this.timer !== undefined) this.platform.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (this.repeatTimer !== undefined) this.platform.clock.clearTimeout(this.repeatTimer);
    this.repeatTimer = undefined;
    this.service?.close();
    try {
      this.platform.setupServer.close();
    } catch {
      // already closed
    }
    try {
      this.platform.wifi.stopAccessPoint();
    } catch {
      // already down
    }
    if (outcome.kind !== "enrolled") this.enrollment?.destroy();
    const fields: Record<string, string | number> = { outcome: outcome.kind, failures: this.failures };
    if (outcome.kind === "enrolled") this.events.info("setup.end", "setup mode ended: camera enrolled", fields);
    else this.events.warn("setup.end", `setup mode ended: ${outcome.kind}`, fields);
    this.platform.console.writeLine(`setup: ended (${outcome.kind})`);
    this.onEnd(outcome);
  }
}
