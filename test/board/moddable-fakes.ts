/**
 * Stand-ins for the Moddable modules the board layer imports (wifi, net, http, securesocket, timer, time,
 * sntp, preference, flash, the camera, embedded:io/digital, our sealcam/native-system), so firmware/board runs
 * under jest. They follow the Moddable SDK 8.2 behaviour the board layer relies on: message numbers of the
 * classic http Request/Server and socket (modules/network/http/http.js, socket), Preference's NVS limits,
 * flash's NOR semantics (over MemoryFlash), Timer's set/repeat/clear. Time is manual: advance(ms).
 *
 * Install with installModdableFakes() before requiring any firmware/board module (jest.doMock, virtual).
 * The board modules are loaded with require() so that the host type world never follows their Moddable
 * imports; tests describe the shapes they use with local types.
 */
import { MemoryFlash } from "../../host-tools/board-sim/flash-file";

// ---- time ------------------------------------------------------------------------------------------------------

interface FakeTimer {
  id: number;
  due: number;
  interval: number;
  callback: (timer: FakeTimer) => void;
  live: boolean;
}

export class ManualTime {
  now = 1_700_000_000_000; // wall clock (Date.now is not faked: the board code reads it only for pacing)
  ticks = 0;
  private timers: FakeTimer[] = [];
  private nextId = 1;

  set(callback: (timer: FakeTimer) => void, delay = 0, repeat = 0): FakeTimer {
    const timer: FakeTimer = { id: this.nextId++, due: this.ticks + Math.max(0, delay), interval: repeat, callback, live: true };
    this.timers.push(timer);
    return timer;
  }
  clear(timer: FakeTimer | undefined | null): void {
    if (timer) timer.live = false;
  }
  pending(): number {
    return this.timers.filter((t) => t.live).length;
  }
  /** Runs every timer due within `ms`, in order, including ones they schedule. */
  advance(ms: number): void {
    const end = this.ticks + ms;
    for (;;) {
      const next = this.timers.filter((t) => t.live && t.due <= end).sort((a, b) => a.due - b.due || a.id - b.id)[0];
      if (!next) break;
      this.ticks = next.due;
      if (next.interval > 0) next.due += next.interval;
      else next.live = false;
      next.callback(next);
    }
    this.ticks = end;
    this.timers = this.timers.filter((t) => t.live);
  }
}

// ---- wifi / net ------------------------------------------------------------------------------------------------

export class FakeWiFiState {
  calls: { op: string; options?: Record<string, unknown> }[] = [];
  monitors: { options: Record<string, unknown>; callback: (message: string) => void; closed: boolean }[] = [];
  mode = 0;
  ip: { ap?: string; station?: string } = {};
  /** Delivers a station message to the live monitor (as the wifi task would). */
  emit(message: string): void {
    for (const m of this.monitors) if (!m.closed) m.callback(message);
  }
}

// ---- http ------------------------------------------------------------------------------------------------------

export class FakeSocket {
  written: Uint8Array[] = [];
  room = 1 << 20;
  closed = false;
  callback: (message: number, value?: number) => void = () => undefined;
  write(data?: ArrayBuffer): number | void {
    if (data === undefined) return this.room;
    this.written.push(new Uint8Array(data.slice(0)));
    this.room -= data.byteLength;
  }
  close(): void {
    this.closed = true;
  }
  text(): string {
    return Buffer.concat(this.written.map((b) => Buffer.from(b))).toString("latin1");
  }
}

export interface FakeServerInstance {
  port: number;
  callback: (this: object, message: number, value1?: unknown, value2?: unknown) => unknown;
  closed: boolean;
  detached: { connection: object; socket: FakeSocket }[];
  detach(connection: object): FakeSocket;
  close(): void;
}

export interface FakeRequestInstance {
  options: Record<string, unknown>;
  callback: (message: number, value1?: unknown, value2?: unknown) => void;
  closed: boolean;
  close(): void;
}

// ---- the whole set ---------------------------------------------------------------------------------------------

export interface Fakes {
  time: ManualTime;
  wifi: FakeWiFiState;
  servers: FakeServerInstance[];
  requests: FakeRequestInstance[];
  preferences: Map<string, ArrayBuffer | string | number | boolean>;
  flashes: Map<string, MemoryFlash>;
  sntpHosts: string[];
  sntpCallbacks: ((message: number, value?: number) => void)[];
  timeSet: number[];
  traced: string[];
  console: { written: Uint8Array[]; input: Uint8Array[] };
  mac: Uint8Array;
  randomCalls: number[];
  camera: {
    present: boolean;
    created: Record<string, unknown>[];
    frames: Uint8Array[];
    running: boolean;
    closed: boolean;
    device?: { arrive(frame: Uint8Array): void };
  };
  buttons: { pin: number; mode: number; edge: number; press: () => void }[];
  /** Moddable `websocket` Clients the board created, with what they were given and sent. */
  webSockets: FakeWebSocketInstance[];
}

export interface FakeWebSocketInstance {
  options: Record<string, unknown>;
  callback: (message: number, value?: unknown) => void;
  written: Uint8Array[];
  closed: boolean;
  /** What the socket says it can take now (Moddable socket write() with no arguments). */
  room: number;
}

export function installModdableFakes(): Fakes {
  const fakes: Fakes = {
    time: new ManualTime(),
    wifi: new FakeWiFiState(),
    servers: [],
    requests: [],
    preferences: new Map(),
    flashes: new Map([["clipq", new MemoryFlash(16 * 4096, 4096)]]),
    sntpHosts: [],
    sntpCallbacks: [],
    timeSet: [],
    traced: [],
    console: { written: [], input: [] },
    mac: new Uint8Array([0x24, 0x6f, 0x28, 0xaa, 0xbb, 0xcc]),
    randomCalls: [],
    camera: { present: true, created: [], frames: [], running: false, closed: false },
    buttons: [],
    webSockets: [],
  };
  const time = fakes.time;
  (globalThis as { trace?: (s: string) => void }).trace = (s: string) => fakes.traced.push(s);

  const Timer = {
    set: (cb: (t: FakeTimer) => void, delay?: number, repeat?: number) => time.set(cb, delay, repeat),
    repeat: (cb: (t: FakeTimer) => void, interval: number) => time.set(cb, interval, interval),
    clear: (t: FakeTimer | undefined | null) => time.clear(t),
    schedule: () => undefined,
    delay: () => undefined,
  };
  jest.doMock("timer", () => ({ __esModule: true, default: Timer }), { virtual: true });
  jest.doMock(
    "time",
    () => ({
      __esModule: true,
      default: {
        set: (seconds: number) => fakes.timeSet.push(seconds),
        get ticks() {
          return time.ticks;
        },
      },
    }),
    { virtual: true },
  );

  class SNTP {
    static time = 1;
    static retry = 2;
    static error = -1;
    constructor(options: { host: string }, callback: (message: number, value?: number) => void) {
      fakes.sntpHosts.push(options.host);
      fakes.sntpCallbacks.push(callback);
    }
  }
  jest.doMock("sntp", () => ({ __esModule: true, default: SNTP }), { virtual: true });

  const state = fakes.wifi;
  class WiFi {
    static gotIP = "gotIP";
    static lostIP = "lostIP";
    static connected = "connect";
    static disconnected = "disconnect";
    static Mode = { off: -5, none: 0, station: 1, accessPoint: 2 };
    static get mode(): number {
      return state.mode;
    }
    static set mode(value: number) {
      state.mode = value;
      state.calls.push({ op: "mode", options: { value } });
      if (value !== 2 && value !== 3) delete state.ip.ap; // AP config survives AP <-> AP+STA
    }
    static accessPoint(options: Record<string, unknown>): void {
      state.calls.push({ op: "accessPoint", options });
      state.mode = options.station ? 3 : 2;
      state.ip.ap = "192.168.4.1";
    }
    static connect(options: Record<string, unknown>): void {
      state.calls.push({ op: "connect", options });
    }
    static disconnect(): void {
      state.calls.push({ op: "disconnect" });
    }
    private monitor: { options: Record<string, unknown>; callback: (message: string) => void; closed: boolean };
    constructor(options: Record<string, unknown>, callback: (message: string) => void) {
      this.monitor = { options, callback, closed: false };
      state.monitors.push(this.monitor);
      state.calls.push({ op: "new", options });
    }
    close(): void {
      this.monitor.closed = true;
    }
  }
  jest.doMock("wifi", () => ({ __esModule: true, default: WiFi }), { virtual: true });
  jest.doMock(
    "net",
    () => ({ __esModule: true, default: { get: (what: string, iface?: "ap" | "station") => (what === "IP" ? state.ip[iface ?? "station"] : undefined) } }),
    { virtual: true },
  );

  class Server implements FakeServerInstance {
    port: number;
    callback: FakeServerInstance["callback"] = () => undefined;
    closed = false;
    detached: { connection: object; socket: FakeSocket }[] = [];
    constructor(options: { port?: number } = {}) {
      this.port = options.port ?? 80;
      fakes.servers.push(this);
    }
    detach(connection: object): FakeSocket {
      const socket = new FakeSocket();
      this.detached.push({ connection, socket });
      return socket;
    }
    close(): void {
      this.closed = true;
    }
  }
  class Request implements FakeRequestInstance {
    callback: FakeRequestInstance["callback"] = () => undefined;
    closed = false;
    constructor(readonly options: Record<string, unknown>) {
      fakes.requests.push(this);
    }
    close(): void {
      this.closed = true;
    }
  }
  jest.doMock("http", () => ({ __esModule: true, Server, Request }), { virtual: true });
  class SecureSocket {}
  jest.doMock("securesocket", () => ({ __esModule: true, default: SecureSocket }), { virtual: true });
  class WebSocketClient implements FakeWebSocketInstance {
    callback: (message: number, value?: unknown) => void = () => undefined;
    written: Uint8Array[] = [];
    closed = false;
    room = 1 << 20;
    readonly socket = { write: () => this.room };
    constructor(readonly options: Record<string, unknown>) {
      fakes.webSockets.push(this);
    }
    write(data: ArrayBuffer): void {
      if (data.byteLength >= 65536) throw new Error("websocket: message too long");
      this.written.push(new Uint8Array(data));
    }
    close(): void {
      this.closed = true;
    }
  }
  jest.doMock("websocket", () => ({ __esModule: true, Client: WebSocketClient }), { virtual: true });

  const key = (domain: string, k: string) => `${domain}/${k}`;
  const Preference = {
    set(domain: string, k: string, value: ArrayBuffer | string | number | boolean): void {
      if (k.length > 15 || domain.length > 15) throw new Error("key too long");
      if (value instanceof ArrayBuffer && value.byteLength > 4000) throw new Error("value too long");
      fakes.preferences.set(key(domain, k), value instanceof ArrayBuffer ? value.slice(0) : value);
    },
    get(domain: string, k: string) {
      const v = fakes.preferences.get(key(domain, k));
      return v instanceof ArrayBuffer ? v.slice(0) : v;
    },
    delete(domain: string, k: string): void {
      fakes.preferences.delete(key(domain, k));
    },
    keys(domain: string): string[] {
      return [...fakes.preferences.keys()].filter((k) => k.startsWith(domain + "/")).map((k) => k.slice(domain.length + 1));
    },
  };
  jest.doMock("preference", () => ({ __esModule: true, default: Preference }), { virtual: true });

  class Flash {
    private readonly nor: MemoryFlash;
    constructor(label: string) {
      const nor = fakes.flashes.get(label);
      if (!nor) throw new Error(`partition ${label} not found`);
      this.nor = nor;
    }
    get byteLength(): number {
      return this.nor.byteLength;
    }
    get blockSize(): number {
      return this.nor.blockSize;
    }
    read(offset: number, length: number): ArrayBuffer {
      return this.nor.read(offset, length).slice().buffer;
    }
    write(offset: number, length: number, data: Uint8Array): void {
      this.nor.write(offset, data.subarray(0, length));
    }
    erase(block: number): void {
      this.nor.eraseBlock(block);
    }
  }
  jest.doMock("flash", () => ({ __esModule: true, default: Flash }), { virtual: true });

  jest.doMock(
    "sealcam/native-system",
    () => ({
      __esModule: true,
      random: (n: number) => {
        fakes.randomCalls.push(n);
        const out = new Uint8Array(n);
        for (let i = 0; i < n; i++) out[i] = (i * 131 + n) & 0xff;
        return out.buffer;
      },
      macAddress: () => fakes.mac.slice().buffer,
      restart: () => undefined,
      freeHeap: () => 123456,
      consoleWrite: (data: Uint8Array) => {
        fakes.console.written.push(data.slice());
        return data.length;
      },
      consoleRead: () => {
        const next = fakes.console.input.shift();
        return next ? new Uint8Array(next).buffer : undefined; // a copy: Buffer views share a pool
      },
    }),
    { virtual: true },
  );
  const camera = fakes.camera;
  class Camera {
    readonly width: number;
    readonly height: number;
    format: string;
    readonly imageType: string;
    private readonly onReadable?: (frames: number) => void;
    constructor(options: { width: number; height: number; imageType: string; format: string; onReadable?: (frames: number) => void }) {
      if (!camera.present) throw new Error("camera not found");
      camera.created.push({ ...options, onReadable: undefined });
      // the driver picks the nearest supported frame size
      this.width = options.width >= 800 ? 800 : 640;
      this.height = options.width >= 800 ? 600 : 480;
      this.format = options.format;
      this.imageType = options.imageType;
      this.onReadable = options.onReadable;
      camera.device = this;
    }
    start(): void {
      camera.running = true;
    }
    stop(): void {
      camera.running = false;
    }
    close(): void {
      camera.closed = true;
    }
    read(): ArrayBuffer | undefined {
      const frame = camera.frames.shift();
      return frame ? new Uint8Array(frame).buffer : undefined;
    }
    /** Test side: a frame arrives from the sensor. */
    arrive(frame: Uint8Array): void {
      camera.frames.push(frame);
      this.onReadable?.(camera.frames.length);
    }
  }
  jest.doMock("embedded:io/image/in/camera", () => ({ __esModule: true, default: Camera }), { virtual: true });
  class Digital {
    static Input = 0;
    static InputPullUp = 1;
    static Falling = 2;
    static Rising = 1;
    constructor(options: { pin: number; mode: number; edge: number; onReadable: () => void }) {
      fakes.buttons.push({ pin: options.pin, mode: options.mode, edge: options.edge, press: options.onReadable });
    }
  }
  jest.doMock("embedded:io/digital", () => ({ __esModule: true, default: Digital }), { virtual: true });
  return fakes;
}
