/**
 * Wi-Fi on the board: Moddable's classic `wifi` module (soft AP + station) and `net`.
 *
 * - startAccessPoint: WPA2-PSK soft AP for setup mode (password 8..63 printable ASCII). If the station is in
 *   use at the time, the AP is started in AP+STA mode (`station: true`); connecting while the AP is up (the
 *   hand-over from setup to the home network) switches to AP+STA, so neither side drops.
 * - connect: joins a network and resolves on the first address; rejects with E_NETWORK when no address came
 *   within `connectTimeoutMs`. Either way it keeps trying in the background with exponential backoff
 *   (1 s doubling to 60 s) until disconnect(); every loss of the address is retried the same way.
 * - state changes are reported to every onStateChange listener, once per change.
 */
import WiFi from "wifi";
import Net from "net";
import Timer from "timer";
import { fail, SealcamError } from "../core/errors";
import type { Wifi, WifiState } from "../platform/network";
import type { Log } from "../platform/log";

export interface BoardWifiOptions {
  connectTimeoutMs?: number;
  backoffFirstMs?: number;
  backoffMaxMs?: number;
  /** The station MAC (from eFuse); injected so this module needs no native code. */
  mac: () => Uint8Array;
  log?: Log;
}

interface AccessPoint {
  ssid: string;
  password: string;
  channel: number;
}

/** Moddable's AP options accept `station` (AP+STA); its published typings omit it. */
type AccessPointOptionsWithStation = Parameters<typeof WiFi.accessPoint>[0] & { station?: boolean };
/** `Net.get(what, interface)` exists on ESP32; the published typings omit the second argument. */
const netGet = Net.get as (what: "IP", iface?: "station" | "ap") => string | undefined;

function checkAccessPoint(ssid: string, password: string, channel: number): void {
  if (typeof ssid !== "string" || ssid.length < 1 || ssid.length > 32) fail("E_ARGUMENT", "access point name must be 1..32 characters");
  if (typeof password !== "string" || password.length < 8 || password.length > 63)
    fail("E_ARGUMENT", "access point password must be 8..63 printable ascii characters");
  for (let i = 0; i < password.length; i++) {
    const c = password.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) fail("E_ARGUMENT", "access point password must be 8..63 printable ascii characters");
  }
  if (!Number.isInteger(channel) || channel < 1 || channel > 13) fail("E_ARGUMENT", "wi-fi channel must be 1..13");
}

export class BoardWifi implements Wifi {
  private current: WifiState = "off";
  private readonly listeners: ((state: WifiState) => void)[] = [];
  private ap: AccessPoint | undefined;
  private network: { ssid: string; password: string } | undefined;
  private monitor: WiFi | undefined;
  private retry: Timer | undefined;
  private backoff: number;
  private waiting: { resolve: () => void; reject: (error: SealcamError) => void; timer: Timer } | undefined;
  private readonly connectTimeoutMs: number;
  private readonly backoffFirstMs: number;
  private readonly backoffMaxMs: number;

  constructor(private readonly options: BoardWifiOptions) {
    this.connectTimeoutMs = options.connectTimeoutMs ?? 30_000;
    this.backoffFirstMs = options.backoffFirstMs ?? 1000;
    this.backoffMaxMs = options.backoffMaxMs ?? 60_000;
    this.backoff = this.backoffFirstMs;
  }

  get state(): WifiState {
    return this.current;
  }

  mac(): Uint8Array {
    return this.options.mac();
  }

  onStateChange(callback: (state: WifiState) => void): void {
    this.listeners.push(callback);
  }

  startAccessPoint(options: { ssid: string; password: string; channel?: number }): Promise<string> {
    const channel = options.channel ?? 6;
    checkAccessPoint(options.ssid, options.password, channel);
    this.ap = { ssid: options.ssid, password: options.password, channel };
    this.applyAccessPoint();
    if (!this.network) this.set("access-point");
    return new Promise((resolve, reject) => {
      let tries = 0;
      const poll = Timer.repeat(() => {
        const ip = netGet("IP", "ap");
        tries += 1;
        if (ip) {
          Timer.clear(poll);
          this.options.log?.write("info", "wifi.ap", "access point up", { ssid: options.ssid, ip });
          resolve(ip);
        } else if (tries >= 50) {
          Timer.clear(poll);
          reject(new SealcamError("E_NETWORK", "the access point did not come up"));
        }
      }, 100);
    });
  }

  stopAccessPoint(): void {
    if (!this.ap) return;
    this.ap = undefined;
    WiFi.mode = this.network ? WiFi.Mode.station : WiFi.Mode.none;
    if (!this.network) this.set("off");
    this.options.log?.write("info", "wifi.ap", "access point stopped");
  }

  connect(options: { ssid: string; password: string }): Promise<void> {
    if (typeof options.ssid !== "string" || options.ssid.length < 1 || options.ssid.length > 32)
      return Promise.reject(new SealcamError("E_ARGUMENT", "network name must be 1..32 characters"));
    if (typeof options.password !== "string" || options.password.length > 63)
      return Promise.reject(new SealcamError("E_ARGUMENT", "network password must be at most 63 characters"));
    this.stopStation();
    this.network = { ssid: options.ssid, password: options.password };
    this.backoff = this.backoffFirstMs;
    // Keep the setup AP up next to the station. Moddable's accessPoint() leaves an AP that is already up in
    // AP-only mode, so switch the mode itself: AP+STA keeps the AP's configuration (xs6wifi.c set_mode).
    if (this.ap) WiFi.mode = 3;
    this.set("connecting");
    const dictionary = options.password ? { ssid: options.ssid, password: options.password } : { ssid: options.ssid };
    this.monitor = new WiFi(dictionary, (message) => this.onMessage(message));
    return new Promise((resolve, reject) => {
      const timer = Timer.set(() => {
        this.waiting = undefined;
        reject(new SealcamError("E_NETWORK", `could not join ${options.ssid}: no address within ${Math.round(this.connectTimeoutMs / 1000)} s`));
      }, this.connectTimeoutMs);
      this.waiting = { resolve, reject, timer };
    });
  }

  disconnect(): void {
    this.stopStation();
    WiFi.disconnect();
    if (this.ap) {
      WiFi.mode = WiFi.Mode.accessPoint;
      this.set("access-point");
    } else this.set("off");
  }

  // ---- internals -----------------------------------------------------------------------------------------

  private set(state: WifiState): void {
    if (state === this.current) return;
    this.current = state;
    for (const listener of this.listeners) listener(state);
  }

  private applyAccessPoint(): void {
    const ap = this.ap;
    if (!ap) return;
    const options: AccessPointOptionsWithStation = {
      ssid: ap.ssid,
      password: ap.password,
      channel: ap.channel,
      hidden: false,
      max: 2,
      station: this.network !== undefined,
    };
    WiFi.accessPoint(options);
  }

  private stopStation(): void {
    if (this.retry) Timer.clear(this.retry);
    this.retry = undefined;
    if (this.monitor) this.monitor.close();
    this.monitor = undefined;
    this.network = undefined;
    if (this.waiting) {
      Timer.clear(this.waiting.timer);
      this.waiting.reject(new SealcamError("E_NETWORK", "wi-fi connection was cancelled"));
      this.waiting = undefined;
    }
  }

  private onMessage(message: string): void {
    if (!this.network) return;
    if (message === WiFi.gotIP) {
      this.backoff = this.backoffFirstMs;
      this.set("connected");
      this.options.log?.write("info", "wifi.connected", "joined network", { ssid: this.network.ssid, ip: netGet("IP", "station") ?? "" });
      if (this.waiting) {
        Timer.clear(this.waiting.timer);
        this.waiting.resolve();
        this.waiting = undefined;
      }
    } else if (message === WiFi.disconnected || message === WiFi.lostIP) {
      if (this.current === "connected") this.options.log?.write("warn", "wifi.lost", "network lost; reconnecting", { ssid: this.network.ssid });
      this.set(this.waiting ? "connecting" : "disconnected");
      this.scheduleReconnect();
    }
  }

  private scheduleReconnect(): void {
    if (this.retry || !this.network) return;
    const delay = this.backoff;
    this.backoff = Math.min(this.backoff * 2, this.backoffMaxMs);
    this.retry = Timer.set(() => {
      this.retry = undefined;
      const network = this.network;
      if (!network) return;
      this.set("connecting");
      WiFi.connect(network.password ? { ssid: network.ssid, password: network.password } : { ssid: network.ssid });
    }, delay);
  }
}
