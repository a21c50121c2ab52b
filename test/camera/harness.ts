/**
 * Simple platform bodies for running the camera application in Node under jest: NodeCrypto, storage in a
 * Map (with a power-cut hook), the queue on MemoryFlash (optionally behind PowerCutFlash), a real loopback
 * HTTP server for the setup API and a real HTTP client for the cloud, Wi-Fi as a small state machine that a
 * test can take down, a deterministic synthetic JPEG camera, and a console and log that record lines.
 * Board-level bodies live in firmware/board and firmware/sim; these exist only for the jest scenarios.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type {
  Camera, CameraConfig, Clock, Frame, HttpClient, HttpHandler, HttpRequest, HttpResponse, HttpServer, Log, LogLevel,
  Platform, SerialConsole, Storage, Wifi, WifiState, FlashPartition,
} from "../../firmware/platform/index";
import { SealcamError } from "../../firmware/core/errors";
import { NodeCrypto } from "../../host-tools/platform/node-crypto";
import { MemoryFlash } from "../../host-tools/board-sim/flash-file";
import { syntheticFrame } from "../../host-tools/board-sim/synthetic-camera";

/** Thrown by the storage when the test cuts the power. */
export class PowerCutError extends Error {
  constructor(where: string) {
    super(`power cut (${where})`);
    this.name = "PowerCutError";
  }
}

export class MemoryStorage implements Storage {
  readonly map = new Map<string, Uint8Array>();
  /** When set, the n-th mutation from now throws before it happens (the power goes). */
  cutAfter: number | undefined;
  dead = false;
  mutations = 0;

  private mutate(where: string): void {
    if (this.dead) throw new PowerCutError("storage is off");
    if (this.cutAfter !== undefined) {
      if (this.cutAfter <= 0) {
        this.dead = true;
        throw new PowerCutError(where);
      }
      this.cutAfter--;
    }
    this.mutations++;
  }

  get(key: string): Uint8Array | undefined {
    const v = this.map.get(key);
    return v ? v.slice() : undefined;
  }
  set(key: string, value: Uint8Array): void {
    if (key.length > 15) throw new SealcamError("E_STORAGE", "key too long");
    if (value.length > 4000) throw new SealcamError("E_STORAGE", "value too large");
    this.mutate(`set ${key}`);
    this.map.set(key, value.slice());
  }
  delete(key: string): void {
    this.mutate(`delete ${key}`);
    this.map.delete(key);
  }
  keys(): string[] {
    return [...this.map.keys()];
  }
  /** What survives the power cut: a fresh storage over the same contents. */
  reboot(): MemoryStorage {
    const s = new MemoryStorage();
    for (const [k, v] of this.map) s.map.set(k, v.slice());
    return s;
  }
}

export class RealClock implements Clock {
  private readonly timers = new Map<number, NodeJS.Timeout>();
  private next = 1;
  now(): number {
    return Date.now();
  }
  setTimeout(callback: () => void, ms: number): number {
    const id = this.next++;
    const t = setTimeout(() => {
      this.timers.delete(id);
      callback();
    }, ms);
    this.timers.set(id, t);
    return id;
  }
  clearTimeout(id: number): void {
    const t = this.timers.get(id);
    if (t) clearTimeout(t);
    this.timers.delete(id);
  }
  clearAll(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}

export interface LogLine {
  level: LogLevel;
  event: string;
  text: string;
  fields?: Record<string, string | number | boolean>;
}

export class MemoryLog implements Log {
  readonly lines: LogLine[] = [];
  write(level: LogLevel, event: string, text: string, fields?: Record<string, string | number | boolean>): void {
    this.lines.push({ level, event, text, fields });
  }
  events(): string[] {
    return this.lines.map((l) => l.event);
  }
  count(event: string): number {
    return this.lines.filter((l) => l.event === event).length;
  }
  /** Everything ever logged, as one string (for "never logs X" checks). */
  dump(): string {
    return this.lines.map((l) => JSON.stringify(l)).join("\n");
  }
}

export class MemoryConsole implements SerialConsole {
  readonly lines: string[] = [];
  private callback: ((line: string) => void) | undefined;
  writeLine(line: string): void {
    this.lines.push(line);
  }
  onLine(callback: (line: string) => void): void {
    this.callback = callback;
  }
  type(line: string): void {
    this.callback?.(line);
  }
}

/** The network between the camera and the cloud: a test flips `up` to simulate an outage. */
export class TestNetwork {
  up = true;
  wifiListeners: ((up: boolean) => void)[] = [];
  setUp(up: boolean): void {
    this.up = up;
    for (const l of this.wifiListeners) l(up);
  }
}

export class TestWifi implements Wifi {
  state: WifiState = "off";
  ap: { ssid: string; password: string } | undefined;
  joined: { ssid: string; password: string } | undefined;
  private listeners: ((state: WifiState) => void)[] = [];
  constructor(private readonly net: TestNetwork, private readonly macAddress = new Uint8Array([0x24, 0x0a, 0xc4, 0x12, 0xab, 0xcd])) {
    net.wifiListeners.push((up) => {
      if (!up && this.state === "connected") this.set("disconnected");
      else if (up && this.state === "disconnected" && this.joined) this.set("connected");
    });
  }
  private set(state: WifiState): void {
    this.state = state;
    for (const l of this.listeners) l(state);
  }
  mac(): Uint8Array {
    return this.macAddress.slice();
  }
  async startAccessPoint(options: { ssid: string; password: string }): Promise<string> {
    if (options.password.length < 8 || options.password.length > 63) throw new SealcamError("E_ARGUMENT", "bad WPA2 password");
    this.ap = { ...options };
    this.set("access-point");
    return "127.0.0.1";
  }
  stopAccessPoint(): void {
    this.ap = undefined;
    if (this.state === "access-point") this.set("off");
  }
  async connect(options: { ssid: string; password: string }): Promise<void> {
    this.joined = { ...options };
    this.set("connecting");
    await new Promise((r) => setImmediate(r));
    if (!this.net.up) {
      this.set("disconnected");
      throw new SealcamError("E_NETWORK", "no access point answers");
    }
    this.set("connected");
  }
  disconnect(): void {
    this.joined = undefined;
    this.set("off");
  }
  onStateChange(callback: (state: WifiState) => void): void {
    this.listeners.push(callback);
  }
}

export class LoopbackHttpClient implements HttpClient {
  requests: { method: string; path: string; bytes: number }[] = [];
  constructor(private readonly net: TestNetwork) {}
  request(baseUrl: string, request: HttpRequest): Promise<HttpResponse> {
    if (!this.net.up) return Promise.reject(new SealcamError("E_NETWORK", "network is down"));
    this.requests.push({ method: request.method, path: request.path, bytes: request.body.length });
    const url = new URL(request.path, baseUrl);
    return new Promise((resolve, reject) => {
      const req = http.request(url, { method: request.method, agent: false, headers: { ...request.headers, "content-length": request.body.length } }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === "string") headers[k] = v;
          resolve({ status: res.statusCode ?? 0, headers, body: new Uint8Array(Buffer.concat(chunks)) });
        });
      });
      req.on("error", (e) => reject(new SealcamError("E_NETWORK", e.message)));
      req.end(Buffer.from(request.body));
    });
  }
}

/** The setup API server: a real node:http server on 127.0.0.1 (an ephemeral port; `url` once listening). */
export class LoopbackHttpServer implements HttpServer {
  private server: http.Server | undefined;
  url: string | undefined;
  private waiters: ((url: string) => void)[] = [];
  listen(_port: number, handler: HttpHandler): void {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers[k] = v;
        handler({ method: req.method ?? "GET", path: req.url ?? "/", headers, body: new Uint8Array(Buffer.concat(chunks)) }).then(
          (r) => {
            res.writeHead(r.status, r.headers);
            res.end(Buffer.from(r.body));
          },
          () => {
            res.writeHead(500);
            res.end();
          },
        );
      });
    });
    this.server = server;
    server.keepAliveTimeout = 1;
    server.listen(0, "127.0.0.1", () => {
      this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      for (const w of this.waiters.splice(0)) w(this.url);
    });
  }
  close(): void {
    this.server?.close();
    this.server?.closeAllConnections();
    this.server = undefined;
    this.url = undefined;
  }
  /** Resolves with the URL once the server listens. */
  ready(): Promise<string> {
    if (this.url) return Promise.resolve(this.url);
    return new Promise((r) => this.waiters.push(r));
  }
}

/** Deterministic synthetic JPEG frames with virtual capture times; a test fires triggers. */
export class TestCamera implements Camera {
  private index = 0;
  private running = false;
  private config: CameraConfig | undefined;
  private callbacks: ((reason: string) => void)[] = [];
  frameBytes: Uint8Array[] = [];
  private baseTime = 0;
  private startIndex = 0;
  start(config: CameraConfig): void {
    this.baseTime = Date.now();
    this.startIndex = this.index;
    this.running = true;
    this.config = config;
  }
  stop(): void {
    this.running = false;
  }
  async readFrame(): Promise<Frame | undefined> {
    if (!this.running || !this.config) return undefined;
    const i = this.index++;
    const jpeg = syntheticFrame(i, { width: this.config.width, height: this.config.height, quality: this.config.quality });
    this.frameBytes.push(jpeg);
    return { jpeg, time: this.baseTime + Math.round(((i - this.startIndex) * 1000) / this.config.framesPerSecond) };
  }
  onTrigger(callback: (reason: string) => void): void {
    this.callbacks.push(callback);
  }
  trigger(reason = "motion"): void {
    for (const c of this.callbacks) c(reason);
  }
}

export interface TestBoard {
  platform: Platform;
  storage: MemoryStorage;
  flash: FlashPartition;
  clock: RealClock;
  log: MemoryLog;
  console: MemoryConsole;
  net: TestNetwork;
  wifi: TestWifi;
  http: LoopbackHttpClient;
  setupServer: LoopbackHttpServer;
  camera: TestCamera;
}

export interface BoardParts {
  storage?: MemoryStorage;
  flash?: FlashPartition;
  net?: TestNetwork;
}

/** One simulated camera board; pass the surviving storage/flash of a previous one to "reboot" it. */
export function makeBoard(parts: BoardParts = {}): TestBoard {
  const net = parts.net ?? new TestNetwork();
  const storage = parts.storage ?? new MemoryStorage();
  const flash = parts.flash ?? new MemoryFlash(64 * 4096, 4096);
  const clock = new RealClock();
  const log = new MemoryLog();
  const console = new MemoryConsole();
  const wifi = new TestWifi(net);
  const client = new LoopbackHttpClient(net);
  const setupServer = new LoopbackHttpServer();
  const camera = new TestCamera();
  const platform: Platform = {
    crypto: new NodeCrypto(), storage, clock, log, wifi, http: client, setupServer, camera, console, queueFlash: flash,
  };
  return { platform, storage, flash, clock, log, console, net, wifi, http: client, setupServer, camera };
}

/** Polls until `check` returns true (event-driven code settles within a few ticks; bounded by jest's timeout). */
export async function until(check: () => boolean, what: string, limitMs = 20000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > limitMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
