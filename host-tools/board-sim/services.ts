/**
 * The Node half of the simulated board: what each platform call from the firmware (running in XS) does on
 * this host. The firmware's bodies (firmware/sim/) send `method + params` over the host channel; `call`
 * runs it here and returns the result. Node -> firmware traffic goes through `emit` (events).
 *
 * The method names and shapes are the contract with firmware/sim/ (docs/BOARD-SIM.md, "Channel methods").
 * Values crossing the channel are JSON-like with Uint8Array for bytes.
 */
import * as http from "node:http";
import * as https from "node:https";
import { SealcamError } from "../../firmware/core/errors";
import type { FlashPartition } from "../../firmware/platform/flash";
import { NvsFile, PowerCut } from "./nvs-file";
import { SoftAp } from "./soft-ap";
import { SyntheticCamera } from "./synthetic-camera";
import { WebSocket } from "ws";

import type { ChannelValue } from "./board-sim";
export type { ChannelValue };

export type Params = { [key: string]: ChannelValue };

export interface LogRecord {
  t: number;
  l: string;
  e: string;
  m: string;
  f?: Record<string, string | number | boolean>;
}

export interface ServiceHooks {
  /** Every console line the firmware writes (log lines included, in their UART form). */
  uartWrite(line: string): void;
  /** Every structured log record, parsed (for the CLI, tests and fault points). */
  log(record: LogRecord): void;
  /** A named step of the firmware (enrollment storage steps); may throw PowerCut if a cut is armed there. */
  step(name: string): void;
  /** Node -> firmware events. */
  emit(name: string, payload: Params): void;
  /** Human-readable notices (soft AP up, etc.) for the CLI. */
  notice(text: string): void;
}

export interface NetworkConfig {
  /** The home network the simulated station can join; undefined accepts any. */
  ssid?: string;
  password?: string;
  /** The only origin HTTP may reach (e.g. the cloud); undefined: any. */
  allowedOrigin?: string;
}

export class BoardServices {
  readonly camera = new SyntheticCamera();
  readonly softAp: SoftAp;
  wifiState: "off" | "access-point" | "connecting" | "connected" | "disconnected" = "off";
  networkUp = true;
  /** The station was asked to be connected (ESP-IDF reconnects on its own when the link returns). */
  private stationWanted = false;
  private bootTime = Date.now();
  /** The camera application's settings (Partial<CameraAppConfig>) handed to the firmware at boot. */
  firmwareConfig: Record<string, unknown> = {};
  httpRequests = 0;
  httpBytesSent = 0;

  constructor(
    readonly nvs: NvsFile,
    readonly flash: FlashPartition,
    readonly mac: Uint8Array,
    readonly hooks: ServiceHooks,
    setupPort: number,
    readonly network: NetworkConfig = {},
  ) {
    this.softAp = new SoftAp(setupPort, (request) =>
      hooks.emit("setup.request", {
        id: request.id,
        method: request.method,
        path: request.path,
        headers: request.headers,
        body: request.body,
      }),
    );
  }

  private readonly sleeps = new Set<NodeJS.Timeout>();

  /** A firmware timer; forgotten (never fires) when the board reboots or stops. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.sleeps.delete(timer);
        resolve();
      }, ms);
      this.sleeps.add(timer);
    });
  }

  /** A new boot of the firmware: volatile state (radio, camera, listeners, timers) starts over. */
  async reboot(): Promise<void> {
    this.closeSockets();
    for (const timer of this.sleeps) clearTimeout(timer);
    this.sleeps.clear();
    this.bootTime = Date.now();
    this.camera.stop();
    this.wifiState = "off";
    this.stationWanted = false;
    await this.softAp.close();
  }

  setNetwork(up: boolean): void {
    if (this.networkUp === up) return;
    this.networkUp = up;
    if (!up) this.closeSockets();
    if (!up && (this.wifiState === "connected" || this.wifiState === "connecting")) {
      this.setWifiState("disconnected");
    } else if (up && this.stationWanted && this.wifiState === "disconnected") {
      this.setWifiState("connected");
    }
  }

  private setWifiState(state: BoardServices["wifiState"]): void {
    this.wifiState = state;
    this.hooks.emit("wifi.state", { state });
  }

  /**
   * Posted messages (no answer): storage and flash writes, log and console lines, radio switches, setup
   * replies. Applied at once, in arrival order. A PowerCut thrown from here (an armed fault point) means the
   * firmware is killed before anything it sent later is looked at.
   */
  post(method: string, p: Params): void {
    switch (method) {
      case "storage.set":
        this.nvs.set(str(p.key), bytes(p.value));
        return;
      case "storage.delete":
        this.nvs.delete(str(p.key));
        return;
      case "flash.write":
        this.flash.write(num(p.offset), bytes(p.data));
        return;
      case "flash.erase":
        this.flash.eraseBlock(num(p.block));
        return;
      case "log.write": {
        const record: LogRecord = { t: Date.now() - this.bootTime, l: str(p.level), e: str(p.event), m: str(p.text) };
        if (p.fields && typeof p.fields === "object" && !(p.fields instanceof Uint8Array) && !Array.isArray(p.fields)) {
          record.f = p.fields as Record<string, string | number | boolean>;
        }
        this.hooks.uartWrite("SC " + JSON.stringify(record));
        this.hooks.log(record);
        return;
      }
      case "console.write":
        this.hooks.uartWrite(str(p.line));
        return;
      case "camera.start":
        this.camera.start({
          width: num(p.width),
          height: num(p.height),
          quality: num(p.quality),
          framesPerSecond: num(p.framesPerSecond),
        });
        return;
      case "camera.stop":
        this.camera.stop();
        return;
      case "wifi.stopAp":
        void this.softAp.close();
        if (this.wifiState === "access-point") this.setWifiState("off");
        this.hooks.notice("soft AP down");
        return;
      case "wifi.disconnect":
        this.stationWanted = false;
        if (this.wifiState !== "access-point") this.setWifiState("disconnected");
        return;
      case "setup.respond":
        this.softAp.respond(num(p.id), { status: num(p.status), headers: strMap(p.headers), body: bytes(p.body) });
        return;
      case "ws.send": {
        const id = num(p.id);
        const data = bytes(p.data);
        const ws = this.sockets.get(id);
        if (!ws || ws.readyState !== WebSocket.OPEN) return;
        ws.send(data, { binary: true }, () => this.hooks.emit("ws.event", { id, kind: "sent", bytes: data.length }));
        return;
      }
      case "ws.close":
        this.sockets.get(num(p.id))?.close(1000);
        this.sockets.delete(num(p.id));
        return;
      case "setup.close":
        void this.softAp.close();
        return;
      case "board.step":
        this.hooks.step(str(p.step));
        return;
      case "board.fatal":
        this.hooks.notice(`firmware power-on failed: ${str(p.code)}: ${str(p.message)}`);
        return;
      default:
        throw new SealcamError("E_ARGUMENT", `board-sim: unknown message ${method}`);
    }
  }

  /**
   * The power-on snapshot: NVS entries (the firmware mirrors them), the queue partition's geometry (its bytes
   * stay here: "flash.read" per call), MAC, app settings.
   */
  bootSnapshot(): Params {
    const nvs: Params = {};
    for (const key of this.nvs.keys()) nvs[key] = this.nvs.get(key)!;
    return {
      nvs,
      flashSize: this.flash.byteLength,
      flashBlockSize: this.flash.blockSize,
      mac: this.mac,
      config: JSON.stringify(this.firmwareConfig),
    };
  }

  /**
   * Calls the firmware waits for (SimChannel.callSync): "flash.read" {offset, length} -> exactly those bytes of
   * the queue partition, read from the flash file now (posted writes before it are already applied).
   */
  callSync(method: string, p: Params): ChannelValue {
    switch (method) {
      case "flash.read":
        return this.flash.read(num(p.offset), num(p.length));
      default:
        throw new SealcamError("E_ARGUMENT", `board-sim: unknown synchronous method ${method}`);
    }
  }

  /** Calls with an answer (boot snapshot, radio, HTTP, camera frames, sleeps). */
  async call(method: string, p: Params): Promise<ChannelValue> {
    switch (method) {
      case "flash.read":
        return this.callSync(method, p);
      case "board.boot":
        return this.bootSnapshot();
      case "clock.sleep":
        await this.sleep(Math.min(Math.max(0, num(p.ms)), 2 ** 31 - 1));
        return null;
      case "wifi.startAp": {
        const ssid = str(p.ssid);
        const password = str(p.password);
        if (!/^[\x20-\x7e]{8,63}$/.test(password)) {
          throw new SealcamError("E_ARGUMENT", "soft ap password must be 8..63 printable ascii characters");
        }
        if (ssid.length < 1 || ssid.length > 32) throw new SealcamError("E_ARGUMENT", "soft ap ssid must be 1..32 characters");
        this.softAp.ssid = ssid;
        this.softAp.setPassword(ssid, password);
        this.setWifiState("access-point");
        this.hooks.notice(`soft AP ${ssid} up (WPA2)`);
        return "127.0.0.1";
      }
      case "setup.listen": {
        const url = await this.softAp.listen(this.softAp.ssid || "sealcam");
        this.hooks.notice(`setup API for ${this.softAp.ssid || "the soft AP"} at ${url}`);
        return url;
      }
      case "wifi.connect": {
        this.stationWanted = true;
        this.setWifiState("connecting");
        await delay(50);
        if (!this.networkUp) {
          this.setWifiState("disconnected");
          throw new SealcamError("E_NETWORK", `cannot join ${str(p.ssid)}: network unreachable`);
        }
        if ((this.network.ssid !== undefined && p.ssid !== this.network.ssid) ||
            (this.network.password !== undefined && p.password !== this.network.password)) {
          this.stationWanted = false;
          this.setWifiState("disconnected");
          throw new SealcamError("E_NETWORK", `cannot join ${str(p.ssid)}: no such network or wrong password`);
        }
        this.setWifiState("connected");
        return null;
      }
      case "ws.connect":
        return this.wsConnect(str(p.url), strMap(p.headers));
      case "http.request":
        return this.httpRequest(p);
      case "camera.read": {
        const frame = await this.camera.next();
        return frame ? { jpeg: frame.jpeg, time: frame.time, index: frame.index } : null;
      }
      case "camera.preview": {
        const frame = this.camera.preview({ width: num(p.width), height: num(p.height), quality: num(p.quality) });
        return { jpeg: frame.jpeg, time: frame.time };
      }
      default:
        throw new SealcamError("E_ARGUMENT", `board-sim: unknown method ${method}`);
    }
  }

  private async httpRequest(p: Params): Promise<ChannelValue> {
    if (!this.networkUp || this.wifiState !== "connected") {
      throw new SealcamError("E_NETWORK", "network unreachable");
    }
    let url: URL;
    try {
      url = new URL(str(p.path), str(p.baseUrl));
    } catch {
      throw new SealcamError("E_ARGUMENT", "bad cloud url");
    }
    if (this.network.allowedOrigin !== undefined && url.origin !== this.network.allowedOrigin) {
      throw new SealcamError("E_NETWORK", `cannot reach ${url.host}: not on this network`);
    }
    const body = bytes(p.body ?? new Uint8Array(0));
    const headers = strMap(p.headers);
    headers["content-length"] = String(body.length);
    this.httpRequests++;
    this.httpBytesSent += body.length;
    const client = url.protocol === "https:" ? https : http;
    return new Promise<ChannelValue>((resolve, reject) => {
      const req = client.request(
        url,
        { method: str(p.method), headers, timeout: 20000, agent: false },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => {
            const out: { [key: string]: ChannelValue } = {};
            for (const [name, value] of Object.entries(res.headers)) {
              if (typeof value === "string") out[name] = value;
              else if (Array.isArray(value)) out[name] = value.join(", ");
            }
            resolve({ status: res.statusCode ?? 0, headers: out, body: new Uint8Array(Buffer.concat(chunks)) });
          });
          res.on("error", (error) => reject(new SealcamError("E_NETWORK", `connection lost: ${error.message}`)));
        },
      );
      req.on("timeout", () => req.destroy(new SealcamError("E_TIMEOUT", "cloud did not answer in time")));
      req.on("error", (error) =>
        reject(error instanceof SealcamError ? error : new SealcamError("E_NETWORK", `cannot reach ${url.host}: ${error.message}`)),
      );
      req.end(Buffer.from(body));
    });
  }

  // --- the live-view WebSocket (firmware/sim/websocket.ts) ---------------------------------------------
  private readonly sockets = new Map<number, WebSocket>();
  private nextSocket = 1;

  private closeSockets(): void {
    for (const ws of this.sockets.values()) ws.terminate();
    this.sockets.clear();
  }

  private wsConnect(url: string, headers: Record<string, string>): Promise<ChannelValue> {
    if (!this.networkUp || this.wifiState !== "connected") throw new SealcamError("E_NETWORK", "network unreachable");
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new SealcamError("E_ARGUMENT", "bad websocket url");
    }
    if (parsed.protocol !== "ws:" && parsed.protocol !== "wss:") throw new SealcamError("E_ARGUMENT", "websocket url must be ws:// or wss://");
    const origin = `${parsed.protocol === "wss:" ? "https:" : "http:"}//${parsed.host}`;
    if (this.network.allowedOrigin !== undefined && origin !== this.network.allowedOrigin) {
      throw new SealcamError("E_NETWORK", `cannot reach ${parsed.host}: not on this network`);
    }
    const id = this.nextSocket++;
    const ws = new WebSocket(url, { headers, perMessageDeflate: false, handshakeTimeout: 20000, maxPayload: 65535 + 5 });
    return new Promise<ChannelValue>((resolve, reject) => {
      let opened = false;
      ws.once("open", () => {
        opened = true;
        this.sockets.set(id, ws);
        resolve(id);
      });
      ws.once("unexpected-response", (_req, res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        reject(new SealcamError(status === 401 || status === 403 ? "E_AUTH" : "E_NETWORK", `live-view upgrade refused: ${status}`));
        ws.terminate();
      });
      ws.on("message", (data: Buffer, isBinary) => {
        if (isBinary && this.sockets.get(id) === ws) this.hooks.emit("ws.event", { id, kind: "message", data: new Uint8Array(data) });
      });
      ws.on("error", (error) => {
        if (!opened) reject(new SealcamError("E_NETWORK", `cannot reach ${parsed.host}: ${error.message}`));
      });
      ws.on("close", (code, reason) => {
        if (!opened) return;
        this.sockets.delete(id);
        this.hooks.emit("ws.event", { id, kind: "close", reason: `${code} ${reason.toString("latin1").slice(0, 120)}` });
      });
    });
  }

  async close(): Promise<void> {
    this.closeSockets();
    for (const timer of this.sleeps) clearTimeout(timer);
    this.sleeps.clear();
    this.camera.stop();
    await this.softAp.close();
  }
}

export { PowerCut };

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function str(value: ChannelValue | undefined): string {
  if (typeof value !== "string") throw new SealcamError("E_ARGUMENT", "board-sim: expected a string");
  return value;
}

function num(value: ChannelValue | undefined): number {
  if (typeof value !== "number" || !Number.isFinite(value)) throw new SealcamError("E_ARGUMENT", "board-sim: expected a number");
  return value;
}

function bytes(value: ChannelValue | undefined): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new SealcamError("E_ARGUMENT", "board-sim: expected bytes");
  return value;
}

function strMap(value: ChannelValue | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (value && typeof value === "object" && !(value instanceof Uint8Array) && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) if (typeof v === "string") out[k.toLowerCase()] = v;
  }
  return out;
}
