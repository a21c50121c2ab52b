/**
 * The board layer (firmware/board) running under jest against stand-ins for the Moddable modules
 * (test/board/moddable-fakes.ts): Wi-Fi state machine and backoff, the setup server's detach-and-respond path,
 * the cloud client's request options and error mapping, Storage/Flash limits, the clip queue on the board's
 * flash body, the SC log line, console input, the board config and the Platform wiring.
 */
import { installModdableFakes, type Fakes, type FakeSocket } from "./moddable-fakes";
import type { FlashPartition, HttpClient, HttpHandler, HttpServer, Log, LogLevel, SerialConsole, Storage, Wifi, WifiState } from "../../firmware/platform/index";
import type { Platform } from "../../firmware/platform/index";
import { ClipQueue } from "../../firmware/queue/queue";
import { SealcamError } from "../../firmware/core/errors";

let fakes: Fakes;
beforeEach(() => {
  jest.resetModules();
  fakes = installModdableFakes();
});

/** Loads a firmware/board module after the fakes are in place (require: see moddable-fakes.ts). */
function board<T>(name: string): T {
  return require(`../../firmware/board/${name}`) as T;
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

/** The board modules get their own copy of core/errors (jest.resetModules), so match SealcamError by shape. */
function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (error) {
    const e = error as { name?: string; code?: string };
    return e.name === "SealcamError" ? e.code : "untyped";
  }
  return undefined;
}

type WifiModule = { BoardWifi: new (o: { mac: () => Uint8Array; connectTimeoutMs?: number; log?: Log }) => Wifi };

describe("BoardWifi", () => {
  test("soft AP: WPA2 checks, the AP address, AP+STA while a station is up, stop", async () => {
    const { BoardWifi } = board<WifiModule>("wifi");
    const wifi = new BoardWifi({ mac: () => fakes.mac });
    const states: WifiState[] = [];
    wifi.onStateChange((s) => states.push(s));
    expect(() => wifi.startAccessPoint({ ssid: "sealcam-BBCC", password: "short" })).toThrow(/8..63/);
    expect(() => wifi.startAccessPoint({ ssid: "sealcam-BBCC", password: "pässword123" })).toThrow(/printable ascii/);
    expect(() => wifi.startAccessPoint({ ssid: "", password: "password123" })).toThrow(/1..32/);
    expect(fakes.wifi.calls).toEqual([]); // bad input changed nothing
    const ip = wifi.startAccessPoint({ ssid: "sealcam-BBCC", password: "password123" });
    fakes.time.advance(100);
    await expect(ip).resolves.toBe("192.168.4.1");
    expect(fakes.wifi.calls[0]).toEqual({
      op: "accessPoint",
      options: { ssid: "sealcam-BBCC", password: "password123", channel: 6, hidden: false, max: 2, station: false },
    });
    expect(wifi.state).toBe("access-point");
    // Hand-over: joining the home network keeps the AP up (AP+STA).
    const joined = wifi.connect({ ssid: "home", password: "homepass1" });
    expect(fakes.wifi.calls.slice(1, 3)).toEqual([{ op: "mode", options: { value: 3 } }, { op: "new", options: { ssid: "home", password: "homepass1" } }]);
    expect(fakes.wifi.ip.ap).toBe("192.168.4.1"); // the AP stays up
    fakes.wifi.emit("gotIP");
    await joined;
    expect(wifi.state).toBe("connected");
    wifi.stopAccessPoint();
    expect(fakes.wifi.mode).toBe(1); // station only
    expect(wifi.state).toBe("connected");
    expect(states).toEqual(["access-point", "connecting", "connected"]);
    // An AP started while the station is up comes up as AP+STA.
    expect(wifi.startAccessPoint({ ssid: "sealcam-BBCC", password: "password123" })).toBeInstanceOf(Promise);
    expect(fakes.wifi.calls.filter((c) => c.op === "accessPoint").pop()?.options?.station).toBe(true);
    expect(fakes.wifi.mode).toBe(3);
    expect(Array.from(wifi.mac())).toEqual(Array.from(fakes.mac));
  });

  test("station: reconnects with doubling backoff capped at 60 s, reset after success", async () => {
    const { BoardWifi } = board<WifiModule>("wifi");
    const wifi = new BoardWifi({ mac: () => fakes.mac });
    const joined = wifi.connect({ ssid: "home", password: "homepass1" });
    expect(fakes.wifi.monitors[0].options).toEqual({ ssid: "home", password: "homepass1" });
    fakes.wifi.emit("gotIP");
    await joined;
    const reconnectTimes: number[] = [];
    fakes.wifi.emit("disconnect");
    expect(wifi.state).toBe("disconnected");
    for (let i = 0; i < 8; i++) {
      const before = fakes.wifi.calls.filter((c) => c.op === "connect").length;
      const start = fakes.time.ticks;
      while (fakes.wifi.calls.filter((c) => c.op === "connect").length === before) fakes.time.advance(100);
      reconnectTimes.push(fakes.time.ticks - start);
      expect(wifi.state).toBe("connecting");
      fakes.wifi.emit("disconnect");
    }
    expect(reconnectTimes).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]);
    // A success resets the backoff.
    fakes.time.advance(60000);
    fakes.wifi.emit("gotIP");
    expect(wifi.state).toBe("connected");
    fakes.wifi.emit("lostIP");
    const before = fakes.wifi.calls.filter((c) => c.op === "connect").length;
    fakes.time.advance(1000);
    expect(fakes.wifi.calls.filter((c) => c.op === "connect").length).toBe(before + 1);
  });

  test("connect rejects with E_NETWORK after the timeout but keeps trying; disconnect stops everything", async () => {
    const { BoardWifi } = board<WifiModule>("wifi");
    const wifi = new BoardWifi({ mac: () => fakes.mac, connectTimeoutMs: 5000 });
    const joined = wifi.connect({ ssid: "home", password: "homepass1" });
    fakes.wifi.emit("disconnect");
    fakes.time.advance(5000);
    await expect(joined).rejects.toMatchObject({ code: "E_NETWORK", message: "could not join home: no address within 5 s" });
    fakes.wifi.emit("disconnect");
    fakes.time.advance(60000);
    expect(fakes.wifi.calls.filter((c) => c.op === "connect").length).toBeGreaterThan(1);
    fakes.wifi.emit("gotIP");
    expect(wifi.state).toBe("connected");
    wifi.disconnect();
    expect(wifi.state).toBe("off");
    expect(fakes.time.pending()).toBe(0);
    expect(fakes.wifi.monitors.every((m) => m.closed)).toBe(true);
    await expect(wifi.connect({ ssid: "x".repeat(33), password: "" })).rejects.toMatchObject({ code: "E_ARGUMENT" });
  });
});

type ServerModule = { BoardHttpServer: new (log?: Log) => HttpServer; MAX_BODY: number };

describe("BoardHttpServer", () => {
  function request(server: { callback: (this: object, m: number, a?: unknown, b?: unknown) => unknown }, method: string, path: string, headers: [string, string][], body?: Uint8Array) {
    const connection = {};
    server.callback.call(connection, 1);
    server.callback.call(connection, 2, path, method);
    for (const [n, v] of headers) server.callback.call(connection, 3, n, v);
    const want = server.callback.call(connection, 4);
    server.callback.call(connection, 6, body ? body.slice().buffer : undefined);
    return { connection, want };
  }

  test("a request reaches the handler whole; the response is written on the detached socket", async () => {
    const { BoardHttpServer } = board<ServerModule>("http-server");
    const seen: Parameters<HttpHandler>[0][] = [];
    const server = new BoardHttpServer();
    server.listen(8080, async (req) => {
      seen.push(req);
      return { status: 201, headers: { "Content-Type": "application/json", "X-Evil": "a\r\nb" }, body: new Uint8Array(Buffer.from('{"ok":true}')) };
    });
    const fake = fakes.servers[0];
    expect(fake.port).toBe(8080);
    const body = new Uint8Array(Buffer.from('{"hello":1}'));
    const { want } = request(fake, "post", "/v1/setup/hello?x=1", [["Content-Type", "application/json"], ["content-length", "11"]], body);
    expect(want).toBe(ArrayBuffer); // asks http.js for the whole body as an ArrayBuffer
    await settle();
    expect(seen).toHaveLength(1);
    expect(seen[0].method).toBe("POST");
    expect(seen[0].path).toBe("/v1/setup/hello?x=1");
    expect(seen[0].headers).toEqual({ "content-type": "application/json", "content-length": "11" });
    expect(Buffer.from(seen[0].body).toString()).toBe('{"hello":1}');
    const socket = fake.detached[0].socket;
    expect(socket.text()).toBe(
      'HTTP/1.1 201 Created\r\nconnection: close\r\ncontent-length: 11\r\ncontent-type: application/json\r\nx-evil: a  b\r\n\r\n{"ok":true}',
    );
    expect(socket.closed).toBe(true);
  });

  test("the response is paced by the socket's free space", async () => {
    const { BoardHttpServer } = board<ServerModule>("http-server");
    const server = new BoardHttpServer();
    const big = new Uint8Array(5000).fill(0x41);
    server.listen(80, async () => ({ status: 200, headers: {}, body: big }));
    const fake = fakes.servers[0];
    const connection = {};
    fake.callback.call(connection, 2, "/big", "GET");
    fake.callback.call(connection, 4);
    // Make the socket small before the handler answers.
    const originalDetach = fake.detach.bind(fake);
    let socket: FakeSocket | undefined;
    fake.detach = (c: object) => {
      socket = originalDetach(c);
      socket.room = 1000;
      return socket;
    };
    fake.callback.call(connection, 6, undefined);
    await settle();
    const s = socket!;
    expect(s.closed).toBe(false);
    for (let i = 0; i < 10 && !s.closed; i++) {
      s.room = 1000;
      s.callback(3); // writable
    }
    expect(s.closed).toBe(true);
    expect(s.written.every((chunk) => chunk.length <= 1000)).toBe(true);
    expect(s.text().endsWith("A".repeat(5000))).toBe(true);
  });

  test("a body over the limit gets 413 without reaching the handler; a failing handler gets 500", async () => {
    const { BoardHttpServer, MAX_BODY } = board<ServerModule>("http-server");
    const logged: string[] = [];
    const server = new BoardHttpServer({ write: (_l: LogLevel, e: string, _t: string, f?: Record<string, unknown>) => logged.push(`${e} ${JSON.stringify(f)}`) });
    let calls = 0;
    server.listen(80, async () => {
      calls += 1;
      throw new SealcamError("E_STATE", "boom");
    });
    const fake = fakes.servers[0];
    const tooBig = request(fake, "POST", "/x", [["content-length", String(MAX_BODY + 1)]]);
    expect(tooBig.want).toBeUndefined();
    await settle();
    expect(calls).toBe(0);
    expect(fake.detached[0].socket.text()).toMatch(/^HTTP\/1.1 413 Payload Too Large\r\n/);
    request(fake, "GET", "/y", []);
    await settle();
    expect(calls).toBe(1);
    expect(fake.detached[1].socket.text()).toMatch(/^HTTP\/1.1 500 Internal Server Error\r\n/);
    expect(logged).toContain('http.handler {"path":"/y","code":"E_STATE"}');
    server.close();
    expect(fake.closed).toBe(true);
  });
});

type ClientModule = {
  BoardHttpClient: new (timeoutMs?: number, tlsVerify?: boolean) => HttpClient;
  parseBaseUrl: (url: string) => { secure: boolean; host: string; port: number; prefix: string };
};

describe("BoardHttpClient", () => {
  test("parseBaseUrl", () => {
    const { parseBaseUrl } = board<ClientModule>("http-client");
    expect(parseBaseUrl("https://cloud.example.com")).toEqual({ secure: true, host: "cloud.example.com", port: 443, prefix: "" });
    expect(parseBaseUrl("http://192.168.1.10:8080/api/")).toEqual({ secure: false, host: "192.168.1.10", port: 8080, prefix: "/api" });
    expect(codeOf(() => parseBaseUrl("ftp://x"))).toBe("E_ARGUMENT");
    expect(codeOf(() => parseBaseUrl("https://x:70000"))).toBe("E_ARGUMENT");
  });

  test("https: SecureSocket with TLS 1.2 and verification, headers as a flat list, the body whole", async () => {
    const { BoardHttpClient } = board<ClientModule>("http-client");
    const client = new BoardHttpClient();
    const pending = client.request("https://cloud.example.com/base", {
      method: "PUT",
      path: "/v1/clips/abc/segments/3",
      headers: { "Content-Type": "application/octet-stream", Host: "evil", "x-sealcam-auth": "sig" },
      body: new Uint8Array([1, 2, 3]),
    });
    const req = fakes.requests[0];
    const SecureSocket = (require("securesocket") as { default: unknown }).default;
    expect(req.options).toMatchObject({
      host: "cloud.example.com",
      port: 443,
      path: "/base/v1/clips/abc/segments/3",
      method: "PUT",
      headers: ["content-type", "application/octet-stream", "x-sealcam-auth", "sig", "content-length", "3"],
      response: ArrayBuffer,
      Socket: SecureSocket,
      secure: { protocolVersion: 0x303, verify: true },
    });
    expect(Array.from(new Uint8Array(req.options.body as ArrayBuffer))).toEqual([1, 2, 3]);
    req.callback(1, 200);
    req.callback(2, "Content-Type", "application/json");
    req.callback(3);
    req.callback(5, new Uint8Array(Buffer.from("{}")).buffer);
    const response = await pending;
    expect(response.status).toBe(200);
    expect(response.headers).toEqual({ "content-type": "application/json" });
    expect(Buffer.from(response.body).toString()).toBe("{}");
  });

  test("http GET without a body; transport errors are E_NETWORK, silence is E_TIMEOUT", async () => {
    const { BoardHttpClient } = board<ClientModule>("http-client");
    const client = new BoardHttpClient(10_000);
    const failing = client.request("http://10.0.0.2:8080", { method: "GET", path: "/v1/roster", headers: {}, body: new Uint8Array(0) });
    const req = fakes.requests[0];
    expect(req.options.Socket).toBeUndefined();
    expect(req.options.body).toBeUndefined();
    expect(req.options.headers).toEqual([]);
    req.callback(-2);
    await expect(failing).rejects.toMatchObject({ code: "E_NETWORK", message: "cannot reach 10.0.0.2:8080" });
    const silent = client.request("http://10.0.0.2:8080", { method: "GET", path: "/v1/roster", headers: {}, body: new Uint8Array(0) });
    fakes.time.advance(10_000);
    await expect(silent).rejects.toMatchObject({ code: "E_TIMEOUT" });
    expect(fakes.requests[1].closed).toBe(true);
    await expect(client.request("http://x", { method: "get", path: "/", headers: {}, body: new Uint8Array(0) })).rejects.toMatchObject({ code: "E_ARGUMENT" });
    await expect(client.request("http://x", { method: "GET", path: "nope", headers: {}, body: new Uint8Array(0) })).rejects.toMatchObject({ code: "E_ARGUMENT" });
  });
});

describe("Storage and flash on the board", () => {
  test("BoardStorage: NVS key and value limits, copies, sorted keys", () => {
    const { BoardStorage } = board<{ BoardStorage: new () => Storage }>("storage");
    const storage = new BoardStorage();
    const value = new Uint8Array([9, 8, 7]);
    storage.set("wifi.ssid", value);
    value[0] = 0;
    expect(Array.from(storage.get("wifi.ssid")!)).toEqual([9, 8, 7]);
    storage.set("a.key", new Uint8Array(4000));
    expect(storage.keys()).toEqual(["a.key", "wifi.ssid"]);
    expect(codeOf(() => storage.set("sixteen-chars-xx", value))).toBe("E_ARGUMENT");
    expect(codeOf(() => storage.set("sp ace", value))).toBe("E_ARGUMENT");
    expect(codeOf(() => storage.set("big", new Uint8Array(4001)))).toBe("E_LIMIT");
    expect(storage.keys()).toEqual(["a.key", "wifi.ssid"]);
    storage.delete("a.key");
    expect(storage.get("a.key")).toBeUndefined();
    fakes.preferences.set("sealcam/alien", "text");
    expect(codeOf(() => storage.get("alien"))).toBe("E_STORAGE");
  });

  test("BoardFlash: the clipq partition by label, ranges checked, and the clip queue runs on it", () => {
    const { BoardFlash } = board<{ BoardFlash: new (label: string) => FlashPartition }>("flash");
    expect(codeOf(() => new BoardFlash("nothere"))).toBe("E_STORAGE");
    const flash = new BoardFlash("clipq");
    expect([flash.byteLength, flash.blockSize]).toEqual([16 * 4096, 4096]);
    expect(codeOf(() => flash.read(16 * 4096 - 1, 2))).toBe("E_ARGUMENT");
    expect(codeOf(() => flash.eraseBlock(16))).toBe("E_ARGUMENT");
    const queue = ClipQueue.open(flash);
    const part = new Uint8Array(10_000).map((_, i) => i & 0xff);
    queue.append(1, part);
    const again = ClipQueue.open(new BoardFlash("clipq"));
    expect(Buffer.from(again.peek()!.payload).equals(Buffer.from(part))).toBe(true);
  });
});

describe("log, console and config", () => {
  test("BoardLog writes one SC line with ms since boot; trace mode uses trace(), native mode the USB driver", () => {
    const { ConsolePort } = board<{ ConsolePort: new (mode: string) => unknown }>("console-port");
    const { BoardLog } = board<{ BoardLog: new (port: unknown, min?: LogLevel) => Log }>("log");
    fakes.time.advance(1234);
    new BoardLog(new ConsolePort("trace")).write("info", "setup.start", "setup mode on", { ssid: "sealcam-BBCC", n: 2, ok: true });
    expect(fakes.traced).toEqual(['SC {"t":1234,"l":"info","e":"setup.start","m":"setup mode on","f":{"ssid":"sealcam-BBCC","n":2,"ok":true}}\n']);
    const native = new BoardLog(new ConsolePort("native"), "warn");
    native.write("info", "quiet", "below the minimum");
    native.write("error", "x.y", "line\nbreak");
    expect(fakes.console.written.map((b) => Buffer.from(b).toString())).toEqual(['SC {"t":1234,"l":"error","e":"x.y","m":"line\\nbreak"}\r\n']);
    expect(codeOf(() => new ConsolePort("uart"))).toBe("E_ARGUMENT");
  });

  test("BoardSerialConsole reads lines from the USB driver (CR LF, split reads, overlong and non-UTF-8 lines dropped)", () => {
    const { ConsolePort, MAX_LINE } = board<{ ConsolePort: new (mode: string) => unknown; MAX_LINE: number }>("console-port");
    const { BoardSerialConsole } = board<{ BoardSerialConsole: new (port: unknown, log?: Log) => SerialConsole }>("console");
    const console = new BoardSerialConsole(new ConsolePort("native"));
    const lines: string[] = [];
    console.onLine((l) => lines.push(l));
    fakes.console.input.push(Buffer.from("sta"), Buffer.from("tus\r\nroster ref"), Buffer.from("resh\n"));
    fakes.console.input.push(Buffer.from("x".repeat(MAX_LINE + 5) + "\n"), Buffer.from([0xff, 0xfe, 0x0a]), Buffer.from("ok\n"));
    fakes.time.advance(50);
    expect(lines).toEqual(["status", "roster refresh", "ok"]);
    console.writeLine("status: running");
    expect(Buffer.from(fakes.console.written[0]).toString()).toBe("status: running\r\n");
    const logged: string[] = [];
    const debugConsole = new BoardSerialConsole(new ConsolePort("trace"), { write: (_l: LogLevel, e: string) => logged.push(e) });
    debugConsole.onLine(() => undefined);
    expect(logged).toEqual(["console.input"]);
  });

  test("readBoardConfig: defaults, mcconfig string values, and errors naming the key", () => {
    type Config = Record<string, unknown>;
    const { readBoardConfig, BOARD_DEFAULTS, cameraAppConfig } = board<{
      readBoardConfig: (raw: unknown) => Config;
      BOARD_DEFAULTS: Config;
      cameraAppConfig: (c: Config) => Config;
    }>("config");
    expect(readBoardConfig({ ssid: "ignored", sntp: "pool.ntp.org" })).toEqual(BOARD_DEFAULTS);
    const c = readBoardConfig({ consoleMode: "trace", jpegQuality: "10", tlsVerify: "false", triggerPin: -1, frameWidth: 800, frameHeight: 600 });
    expect(c).toMatchObject({ consoleMode: "trace", jpegQuality: 10, tlsVerify: false, triggerPin: -1 });
    expect(cameraAppConfig(c)).toEqual({
      firmwareVersion: "0.1.0", sensor: { width: 800, height: 600, quality: 10, framesPerSecond: 5 },
      // The board records on motion by default, looking at one frame a second (docs/CAMERA.md, "Motion").
      motion: expect.objectContaining({ enabled: true, schedule: "", utcOffsetMinutes: 0, detectIntervalMs: 1000 }),
      // And seals a snapshot per clip (FORMAT §3.1) unless told not to.
      snapshot: { enabled: true, width: 160, height: 120, quality: 20 },
    });
    expect(cameraAppConfig(readBoardConfig({ snapshots: "false" })).snapshot).toMatchObject({ enabled: false });
    const quiet = readBoardConfig({ motion: "false", motionSchedule: "22:00-06:30", utcOffsetMinutes: 60, pirPin: 4 });
    expect(quiet).toMatchObject({ motion: false, motionSchedule: "22:00-06:30", utcOffsetMinutes: 60, pirPin: 4 });
    expect(cameraAppConfig(quiet).motion).toMatchObject({ enabled: false, schedule: "22:00-06:30", utcOffsetMinutes: 60 });
    expect(() => readBoardConfig({ utcOffsetMinutes: 900 })).toThrow(/config utcOffsetMinutes/);
    expect(() => readBoardConfig({ consoleMode: "uart" })).toThrow(/config consoleMode must be one of native, trace/);
    expect(() => readBoardConfig({ jpegQuality: 70 })).toThrow(/config jpegQuality must be an integer 0..63/);
    expect(() => readBoardConfig({ tlsVerify: "maybe" })).toThrow(/config tlsVerify/);
  });
});

describe("BoardCamera", () => {
  type CameraModule = { BoardCamera: new (o: { builtInQuality: number; triggerPin: number; log?: Log }) => import("../../firmware/platform/camera").Camera };

  test("JPEG frames copied out of the driver, paced to the frame rate; stop ends waiting reads", async () => {
    const now = jest.spyOn(Date, "now").mockImplementation(() => fakes.time.now + fakes.time.ticks);
    try {
      const { BoardCamera } = board<CameraModule>("camera");
      const logged: string[] = [];
      const camera = new BoardCamera({ builtInQuality: 12, triggerPin: 0, log: { write: (_l: LogLevel, e: string, _t: string, f?: Record<string, unknown>) => logged.push(`${e} ${JSON.stringify(f)}`) } });
      expect(await camera.readFrame()).toBeUndefined(); // not started
      expect(() => camera.start({ width: 640, height: 480, quality: 99, framesPerSecond: 5 })).toThrow(/0..63/);
      camera.start({ width: 640, height: 480, quality: 10, framesPerSecond: 5 });
      expect(fakes.camera.created).toEqual([{ width: 640, height: 480, imageType: "jpeg", format: "buffer", onReadable: undefined }]);
      expect(fakes.camera.running).toBe(true);
      expect(logged).toEqual(['camera.start {"width":640,"height":480,"fps":5}', 'camera.quality {"asked":10,"built":12}']);
      const first = camera.readFrame();
      fakes.camera.device!.arrive(new Uint8Array([0xff, 0xd8, 1]));
      expect(Array.from((await first)!.jpeg)).toEqual([0xff, 0xd8, 1]);
      // The next frame is already there, but 5 fps means it is handed out 200 ms after the first.
      fakes.camera.frames.push(new Uint8Array([0xff, 0xd8, 2]));
      let second: Uint8Array | undefined;
      void camera.readFrame().then((f) => (second = f?.jpeg));
      await settle();
      expect(second).toBeUndefined();
      fakes.time.advance(199);
      await settle();
      expect(second).toBeUndefined();
      fakes.time.advance(1);
      await settle();
      expect(Array.from(second!)).toEqual([0xff, 0xd8, 2]);
      const pending = camera.readFrame();
      camera.stop();
      expect(await pending).toBeUndefined();
      expect(fakes.camera.closed).toBe(true);
    } finally {
      now.mockRestore();
    }
  });

  test("a missing sensor is E_STATE; the BOOT button is a trigger", () => {
    const { BoardCamera } = board<CameraModule>("camera");
    const camera = new BoardCamera({ builtInQuality: 12, triggerPin: 0 });
    fakes.camera.present = false;
    expect(() => camera.start({ width: 640, height: 480, quality: 12, framesPerSecond: 5 })).toThrow(/camera did not start: camera not found/);
    const reasons: string[] = [];
    camera.onTrigger((r) => reasons.push(r));
    camera.onTrigger((r) => reasons.push(r + "2"));
    expect(fakes.buttons.map((b) => [b.pin, b.mode, b.edge])).toEqual([[0, 1, 2]]); // one pull-up input, falling edge
    fakes.buttons[0].press();
    expect(reasons).toEqual(["button", "button2"]);
  });
});

test("BoardWebSocketClient: wss over securesocket, headers as name/value pairs, messages in and out, a refused upgrade is E_NETWORK", async () => {
  type Ws = {
    BoardWebSocketClient: new (tlsVerify: boolean) => import("../../firmware/platform/websocket").WebSocketClient;
    parseWsUrl: (url: string) => { secure: boolean; host: string; port: number; path: string };
  };
  const { BoardWebSocketClient, parseWsUrl } = board<Ws>("websocket");
  expect(parseWsUrl("ws://cloud.lan:8080/v1/live/camera")).toEqual({ secure: false, host: "cloud.lan", port: 8080, path: "/v1/live/camera" });
  expect(parseWsUrl("wss://cloud.example")).toEqual({ secure: true, host: "cloud.example", port: 443, path: "/" });
  expect(() => parseWsUrl("http://x/")).toThrow(/must look like/);
  const client = new BoardWebSocketClient(true);
  const opening = client.connect("wss://cloud.example/v1/live/camera", { "X-Sealcam-Camera": "cam-1", "x-evil": "a\r\nb" }, 1 << 16);
  const ws = fakes.webSockets[0];
  expect(ws.options).toMatchObject({ host: "cloud.example", port: 443, path: "/v1/live/camera", headers: ["x-sealcam-camera", "cam-1", "x-evil", "a  b"], secure: { protocolVersion: 0x303, verify: true } });
  expect(ws.options.Socket).toBe((require("securesocket") as { default: unknown }).default);
  ws.callback(2);
  const connection = await opening;
  const got: number[][] = [];
  connection.onMessage((d) => got.push(Array.from(d)));
  ws.callback(3, new Uint8Array([1, 2, 3]).buffer);
  expect(got).toEqual([[1, 2, 3]]);
  expect(connection.send(new Uint8Array([9, 8]))).toBe(true);
  expect(ws.written.map((w) => Array.from(w))).toEqual([[9, 8]]);
  expect(connection.send(new Uint8Array(65536))).toBe(false); // over the module's limit: refused, not thrown
  ws.room = 4;
  expect(connection.send(new Uint8Array(10))).toBe(false); // the socket cannot take it now: the frame is dropped
  const reasons: string[] = [];
  connection.onClose((r) => reasons.push(r));
  ws.callback(4);
  expect(reasons).toEqual(["link closed"]);
  expect(connection.send(new Uint8Array([1]))).toBe(false);

  const refused = client.connect("ws://cloud.lan:8080/v1/live/camera", {}, 1 << 16);
  fakes.webSockets[1].callback(4);
  await expect(refused).rejects.toMatchObject({ code: "E_NETWORK" });
});

test("createBoardPlatform wires every body; SNTP runs when the station gets an address; random is esp_fill_random", async () => {
  jest.doMock("../../firmware/native/native-crypto", () => ({ NativeCrypto: class { randomBytes(): Uint8Array { throw new Error("PSA random used"); } } }));
  const { createBoardPlatform, readBoardConfig } = board<{ createBoardPlatform: (c: unknown) => Platform; readBoardConfig: (raw: unknown) => unknown }>("index");
  const platform = createBoardPlatform(readBoardConfig({}));
  expect(Array.from(platform.crypto.randomBytes(4))).toEqual([4, 135, 10, 141]);
  expect(fakes.randomCalls).toEqual([4]);
  expect(platform.queueFlash.byteLength).toBe(16 * 4096);
  expect(platform.webSocket).toBeDefined();
  const joined = platform.wifi.connect({ ssid: "home", password: "homepass1" });
  fakes.wifi.emit("gotIP");
  await joined;
  expect(fakes.sntpHosts).toEqual(["pool.ntp.org"]);
  fakes.sntpCallbacks[0](1, 1_750_000_000);
  expect(fakes.timeSet).toEqual([1_750_000_000]);
  const id = platform.clock.setTimeout(() => undefined, 10);
  platform.clock.clearTimeout(id);
  expect(fakes.time.pending()).toBe(0);
});
