/**
 * The board simulator's platform bodies, running inside XS: each forwards its work over the sim channel to
 * the Node half (host-tools/board-sim/services.ts), which keeps the NVS page file, the flash file, the
 * loopback soft AP, real HTTP to the cloud, the synthetic camera and the UART pty.
 *
 * They fail with the codes the board's bodies use: E_ARGUMENT for bad keys or offsets, E_LIMIT for values
 * over the NVS limit, E_NETWORK when the link is down or the cloud unreachable, E_TIMEOUT when it does not
 * answer. Storage is mirrored in memory from a snapshot Node sends at power-on (NVS is small, and the board's
 * Preference reads are synchronous too); the queue's flash partition is NOT mirrored: as on the board, it lives
 * outside the JS heap (in Node's flash file) and each read fetches only the bytes asked for. Writes and erases of
 * both are posted in order (see SimChannel.post for why that is as durable, seen from outside, as a blocking
 * write). Crypto is not here: it is the native module (issue 4's NativeCrypto).
 */
import { fail } from "../core/errors";
import type { Camera, CameraConfig, Frame, PreviewConfig } from "../platform/camera";
import type { Clock } from "../platform/clock";
import type { SerialConsole } from "../platform/console";
import type { FlashPartition } from "../platform/flash";
import type { Log, LogLevel } from "../platform/log";
import type { HttpClient, HttpHandler, HttpRequest, HttpResponse, HttpServer, Wifi, WifiState } from "../platform/network";
import { STORAGE_KEY_MAX, STORAGE_VALUE_MAX, type Storage } from "../platform/storage";
import {
  asBytes,
  asNumber,
  asObject,
  asString,
  asStringMap,
  toSealcamError,
  type ChannelParams,
  type ChannelValue,
  type SimChannel,
} from "./channel";
import { SimWebSocketClient } from "./websocket";

function headersValue(headers: Record<string, string>): ChannelParams {
  const out: ChannelParams = {};
  for (const key of Object.keys(headers)) out[key.toLowerCase()] = headers[key];
  return out;
}

/** What Node hands the firmware at power-on: the persisted media and the factory data. */
export interface BootSnapshot {
  nvs: Map<string, Uint8Array>;
  /** The queue partition's geometry (its bytes stay in Node: SimFlash reads them per call). */
  flashSize: number;
  flashBlockSize: number;
  mac: Uint8Array;
}

function checkKey(key: string): void {
  if (typeof key !== "string" || key.length < 1 || key.length > STORAGE_KEY_MAX) {
    fail("E_ARGUMENT", `storage key must be 1..${STORAGE_KEY_MAX} printable ascii characters`);
  }
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) fail("E_ARGUMENT", `storage key must be 1..${STORAGE_KEY_MAX} printable ascii characters`);
  }
}

/**
 * NVS: reads come from the snapshot taken at boot (kept current by our own writes); each set/delete is
 * checked here exactly as the board checks it, then posted to Node, which appends it to the page file.
 */
export class SimStorage implements Storage {
  constructor(private readonly channel: SimChannel, private readonly values: Map<string, Uint8Array>) {}
  get(key: string): Uint8Array | undefined {
    checkKey(key);
    const value = this.values.get(key);
    return value ? value.slice() : undefined;
  }
  set(key: string, value: Uint8Array): void {
    checkKey(key);
    if (!(value instanceof Uint8Array)) fail("E_ARGUMENT", "storage value must be bytes");
    if (value.length > STORAGE_VALUE_MAX) fail("E_LIMIT", `storage value for ${key} is ${value.length} bytes, at most ${STORAGE_VALUE_MAX}`);
    const copy = value.slice();
    this.channel.post("storage.set", { key, value: copy });
    this.values.set(key, copy);
  }
  delete(key: string): void {
    checkKey(key);
    if (!this.values.has(key)) return;
    this.channel.post("storage.delete", { key });
    this.values.delete(key);
  }
  keys(): string[] {
    const out: string[] = [];
    this.values.forEach((_, key) => out.push(key));
    return out.sort();
  }
}

/**
 * The clip-queue partition with NOR semantics (erase to 0xFF, writes only clear bits). Its bytes live in Node's
 * flash file, not in the JS heap (on the board the partition is SPI flash, and Moddable's `flash.read` returns a
 * fresh ArrayBuffer of just the bytes asked for): a read is a synchronous "flash.read" call answered with exactly
 * `length` bytes in a new buffer; writes and erases are posted, in order, so a later read sees them.
 */
export class SimFlash implements FlashPartition {
  constructor(private readonly channel: SimChannel, readonly byteLength: number, readonly blockSize: number) {}
  private range(offset: number, length: number): void {
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > this.byteLength) {
      fail("E_ARGUMENT", `flash access ${offset}+${length} is outside the ${this.byteLength}-byte partition`);
    }
  }
  read(offset: number, length: number): Uint8Array {
    this.range(offset, length);
    if (length === 0) return new Uint8Array(0);
    const bytes = asBytes(this.channel.callSync("flash.read", { offset, length }));
    if (bytes.length !== length) fail("E_STORAGE", `flash read ${offset}+${length} returned ${bytes.length} bytes`);
    return bytes;
  }
  write(offset: number, data: Uint8Array): void {
    if (!(data instanceof Uint8Array)) fail("E_ARGUMENT", "flash data must be bytes");
    this.range(offset, data.length);
    // Posting encodes the bytes at once (into the pipe, or Node's file for the in-process link): no copy kept.
    this.channel.post("flash.write", { offset, data });
  }
  eraseBlock(block: number): void {
    if (!Number.isInteger(block) || block < 0 || block >= this.byteLength / this.blockSize) fail("E_ARGUMENT", `flash block ${block} does not exist`);
    this.channel.post("flash.erase", { block });
  }
}

export class SimClock implements Clock {
  private nextId = 1;
  private readonly live = new Map<number, boolean>();
  constructor(private readonly channel: SimChannel) {}
  now(): number {
    return Date.now();
  }
  setTimeout(callback: () => void, ms: number): number {
    const id = this.nextId++;
    this.live.set(id, true);
    this.channel.call("clock.sleep", { ms: Math.max(0, Math.floor(ms)) }).then(
      () => {
        if (!this.live.delete(id)) return;
        callback();
      },
      () => {
        this.live.delete(id);
      },
    );
    return id;
  }
  clearTimeout(id: number): void {
    this.live.delete(id);
  }
}

export class SimLog implements Log {
  constructor(private readonly channel: SimChannel) {}
  write(level: LogLevel, event: string, text: string, fields?: Record<string, string | number | boolean>): void {
    const params: ChannelParams = { level, event, text };
    if (fields) {
      const f: ChannelParams = {};
      for (const key of Object.keys(fields)) f[key] = fields[key];
      params.fields = f;
    }
    this.channel.post("log.write", params);
  }
}

export class SimConsole implements SerialConsole {
  private readonly handlers: ((line: string) => void)[] = [];
  constructor(private readonly channel: SimChannel) {}
  writeLine(line: string): void {
    this.channel.post("console.write", { line });
  }
  onLine(callback: (line: string) => void): void {
    this.handlers.push(callback);
  }
  /** Called by the event dispatcher. */
  deliver(line: string): void {
    for (const handler of this.handlers) handler(line);
  }
}

export class SimWifi implements Wifi {
  private current: WifiState = "off";
  private readonly listeners: ((state: WifiState) => void)[] = [];
  constructor(private readonly channel: SimChannel, private readonly macAddress: Uint8Array) {}
  get state(): WifiState {
    return this.current;
  }
  mac(): Uint8Array {
    return this.macAddress.slice();
  }
  async startAccessPoint(options: { ssid: string; password: string; channel?: number }): Promise<string> {
    try {
      return asString(await this.channel.call("wifi.startAp", { ssid: options.ssid, password: options.password, channel: options.channel ?? 6 }));
    } catch (error) {
      throw toSealcamError(error, "E_NETWORK");
    }
  }
  stopAccessPoint(): void {
    this.channel.post("wifi.stopAp", {});
  }
  async connect(options: { ssid: string; password: string }): Promise<void> {
    try {
      await this.channel.call("wifi.connect", { ssid: options.ssid, password: options.password });
    } catch (error) {
      throw toSealcamError(error, "E_NETWORK");
    }
  }
  disconnect(): void {
    this.channel.post("wifi.disconnect", {});
  }
  onStateChange(callback: (state: WifiState) => void): void {
    this.listeners.push(callback);
  }
  /** Called by the event dispatcher. */
  deliver(state: string): void {
    const next = state as WifiState;
    if (next === this.current) return;
    this.current = next;
    for (const listener of this.listeners) listener(next);
  }
}

export class SimHttpClient implements HttpClient {
  constructor(private readonly channel: SimChannel) {}
  async request(baseUrl: string, request: HttpRequest): Promise<HttpResponse> {
    let reply: ChannelValue;
    try {
      reply = await this.channel.call("http.request", {
        baseUrl,
        method: request.method,
        path: request.path,
        headers: headersValue(request.headers),
        body: request.body,
      });
    } catch (error) {
      throw toSealcamError(error, "E_NETWORK");
    }
    const response = asObject(reply);
    return { status: asNumber(response.status), headers: asStringMap(response.headers), body: asBytes(response.body) };
  }
}

export class SimHttpServer implements HttpServer {
  private handler: HttpHandler | undefined;
  constructor(private readonly channel: SimChannel) {}
  listen(port: number, handler: HttpHandler): void {
    this.handler = handler;
    this.channel.call("setup.listen", { port }).then(
      () => {},
      () => {
        this.handler = undefined;
      },
    );
  }
  close(): void {
    this.handler = undefined;
    this.channel.post("setup.close", {});
  }
  /** Called by the event dispatcher for each request on the loopback soft AP. */
  deliver(payload: ChannelParams): void {
    const id = asNumber(payload.id);
    const handler = this.handler;
    const respond = (response: HttpResponse): void => {
      this.channel.post("setup.respond", { id, status: response.status, headers: headersValue(response.headers), body: response.body });
    };
    if (!handler) {
      respond({ status: 503, headers: { "content-type": "text/plain" }, body: new Uint8Array(0) });
      return;
    }
    let request: HttpRequest;
    try {
      request = {
        method: asString(payload.method),
        path: asString(payload.path),
        headers: asStringMap(payload.headers),
        body: asBytes(payload.body),
      };
    } catch {
      respond({ status: 400, headers: { "content-type": "text/plain" }, body: new Uint8Array(0) });
      return;
    }
    handler(request).then(respond, () => {
      respond({ status: 500, headers: { "content-type": "text/plain" }, body: new Uint8Array(0) });
    });
  }
}

export class SimCamera implements Camera {
  private readonly triggers: ((reason: string) => void)[] = [];
  constructor(private readonly channel: SimChannel) {}
  start(config: CameraConfig): void {
    this.channel.post("camera.start", {
      width: config.width,
      height: config.height,
      quality: config.quality,
      framesPerSecond: config.framesPerSecond,
    });
  }
  stop(): void {
    this.channel.post("camera.stop", {});
  }
  async readFrame(): Promise<Frame | undefined> {
    const reply = await this.channel.call("camera.read", {});
    if (reply === null) return undefined;
    const frame = asObject(reply);
    return { jpeg: asBytes(frame.jpeg), time: asNumber(frame.time) };
  }
  /** The synthetic camera renders the current scene at the preview size (host-tools/board-sim). */
  async capturePreview(config: PreviewConfig): Promise<Frame | undefined> {
    const reply = await this.channel.call("camera.preview", { width: config.width, height: config.height, quality: config.quality });
    if (reply === null) return undefined;
    const frame = asObject(reply);
    return { jpeg: asBytes(frame.jpeg), time: asNumber(frame.time) };
  }
  onTrigger(callback: (reason: string) => void): void {
    this.triggers.push(callback);
  }
  /** Called by the event dispatcher. */
  deliver(reason: string): void {
    for (const trigger of this.triggers) trigger(reason);
  }
}

export interface SimBodies {
  storage: SimStorage;
  clock: SimClock;
  log: SimLog;
  wifi: SimWifi;
  http: SimHttpClient;
  setupServer: SimHttpServer;
  camera: SimCamera;
  console: SimConsole;
  queueFlash: SimFlash;
  webSocket: SimWebSocketClient;
}

/** Builds every body over one channel and routes the channel's events to them. */
export function createSimBodies(channel: SimChannel, boot: BootSnapshot): SimBodies {
  const bodies: SimBodies = {
    storage: new SimStorage(channel, boot.nvs),
    clock: new SimClock(channel),
    log: new SimLog(channel),
    wifi: new SimWifi(channel, boot.mac),
    http: new SimHttpClient(channel),
    setupServer: new SimHttpServer(channel),
    camera: new SimCamera(channel),
    console: new SimConsole(channel),
    queueFlash: new SimFlash(channel, boot.flashSize, boot.flashBlockSize),
    webSocket: new SimWebSocketClient(channel),
  };
  channel.onEvent((name, payload) => {
    if (name === "wifi.state") bodies.wifi.deliver(asString(payload.state));
    else if (name === "setup.request") bodies.setupServer.deliver(payload);
    else if (name === "camera.trigger") bodies.camera.deliver(asString(payload.reason));
    else if (name === "console.line") bodies.console.deliver(asString(payload.line));
    else if (name === "ws.event") bodies.webSocket.deliver(payload);
  });
  return bodies;
}
