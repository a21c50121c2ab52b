/**
 * One simulated camera board: the firmware (in the XS host, or in-process as a fallback) plus everything
 * around it on this host: NVS page file, queue flash file, loopback soft AP, station network state, real
 * HTTP to the cloud, synthetic JPEG camera, UART pty and fault injection. `sealcam board-sim` wraps it;
 * `sealcam sim` and the tests drive it as a library.
 *
 * Data folder layout (all of it survives a power cut; nothing else does):
 *   board.json   factory data: MAC address, model
 *   label.txt    what the camera's label shows: the setup secret (text), the label string (the QR payload,
 *                `qr: SEALCAM:1:<ssid>:<secret>`) and "keep private"; `sealcam hw label --data DIR` prints it
 *   nvs.bin      the NVS page file (nvs-file.ts)
 *   queue.bin    the clip-queue flash partition (NOR semantics, flash-file.ts)
 *   uart         symlink to the UART pty (unless --uart-link says otherwise)
 *   setup-url    the soft AP's setup API address while the AP is up
 */
import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import * as fs from "node:fs";
import * as path from "node:path";
import { formatSetupSecret, setupQrPayload, SETUP_SECRET_BYTES } from "../../firmware/core/setup-channel";
import type { FlashPartition } from "../../firmware/platform/flash";
import type { SimChannel } from "../../firmware/sim/channel";
import { toHex } from "../../firmware/core/bytes";
import { FileFlash, PowerCut as FlashPowerCut, PowerCutFlash } from "./flash-file";
import { NvsFile, PowerCut } from "./nvs-file";
import { BoardServices, type LogRecord, type NetworkConfig, type Params } from "./services";
import { UartPty } from "./uart-pty";
import { DirectLink } from "./direct-link";
import { parseScene, type Scene } from "./synthetic-camera";

export const QUEUE_FLASH_BYTES = 2 * 1024 * 1024;
export const QUEUE_BLOCK_SIZE = 4096;

/** The firmware side, however it runs. */
export interface FirmwareRunner {
  /** Boots the firmware; it talks to `services` through whatever transport the runner has. */
  boot(services: BoardServices, hooks: { isPowerCut(error: unknown): boolean; cut(point: string): void }): Promise<void>;
  /** Events from Node to the running firmware. */
  emit(name: string, payload: Params): void;
  /** Power off now (SIGKILL for the XS process). Idempotent. */
  kill(): Promise<void>;
  /** Resolves if the firmware dies on its own (crash), with a reason. */
  readonly crashed?: Promise<string>;
}

export interface SimulatedBoardOptions {
  dataDir: string;
  runner: () => FirmwareRunner;
  /** Port of the setup API on the loopback "soft AP"; 0 picks a free one. */
  setupPort?: number;
  /** Where the UART pty link goes; default <dataDir>/uart. `false`: no pty (lines still reach `onUart`). */
  uartLink?: string | false;
  /** Emit a trigger every this many seconds (0/undefined: only on command). Motion scenes replace it. */
  triggerEverySeconds?: number;
  /**
   * What the synthetic camera films (synthetic-camera.ts `parseScene`): still, noise, motion[:P/L[/F]],
   * script:A-B,...; scene time starts when the board starts and runs on across power cuts. Default: the old
   * drifting test pattern (every frame changes; for boards that record on triggers only).
   */
  scene?: string;
  /** The camera application's settings (Partial<CameraAppConfig>). */
  firmwareConfig?: Record<string, unknown>;
  /** The home network the station may join (undefined: any). */
  network?: NetworkConfig;
  /** Power cut points armed from the start (see `cutPowerAt`). */
  cutPowerAt?: string[];
  /** Delay between a power cut and the next boot. */
  restartDelayMs?: number;
  /**
   * The simulated airspace folder (air.ts): while the soft AP is up it is registered there by SSID with a
   * verifier of its WPA2 password, so a phone joins it by name and password. Undefined: not on the air.
   */
  airDir?: string;
}

/** Factory data written once per board. */
export interface FactoryData {
  mac: string;
  setupSecretText: string;
  qrPayload: string;
  ssid: string;
}

class FaultFlash implements FlashPartition {
  readonly byteLength: number;
  readonly blockSize: number;
  writes = 0;
  erases = 0;
  armedWrite = 0;
  armedErase = 0;
  constructor(readonly inner: FileFlash) {
    this.byteLength = inner.byteLength;
    this.blockSize = inner.blockSize;
  }
  read(offset: number, length: number): Uint8Array {
    return this.inner.read(offset, length);
  }
  write(offset: number, data: Uint8Array): void {
    this.writes++;
    if (this.armedWrite > 0 && --this.armedWrite === 0) {
      new PowerCutFlash(this.inner, { budget: Math.floor(data.length / 2) }).write(offset, data);
    }
    this.inner.write(offset, data);
  }
  eraseBlock(block: number): void {
    this.erases++;
    if (this.armedErase > 0 && --this.armedErase === 0) {
      new PowerCutFlash(this.inner, { budget: Math.floor(this.blockSize / 2) }).eraseBlock(block);
    }
    this.inner.eraseBlock(block);
  }
}

export class SimulatedBoard extends EventEmitter {
  readonly dataDir: string;
  readonly factory: FactoryData;
  readonly logs: LogRecord[] = [];
  readonly uartLines: string[] = [];
  services!: BoardServices;
  uart: UartPty | undefined;
  bootCount = 0;
  powerCuts: string[] = [];
  private nvs!: NvsFile;
  private flash!: FaultFlash;
  private runner: FirmwareRunner | undefined;
  private armed = new Set<string>();
  private triggerTimer: NodeJS.Timeout | undefined;
  private networkTimer: NodeJS.Timeout | undefined;
  private cutting: Promise<void> | undefined;
  private stopped = false;
  private pendingFlash: [string, number][] = [];
  private scene: Scene = { kind: "drift" };
  private sceneStart = Date.now();

  constructor(readonly options: SimulatedBoardOptions) {
    super();
    this.dataDir = path.resolve(options.dataDir);
    // The folder holds the camera key (nvs.bin) and the label secret: owner only when we create it.
    if (!fs.existsSync(this.dataDir)) fs.mkdirSync(this.dataDir, { recursive: true, mode: 0o700 });
    this.factory = this.factoryProvision();
    for (const point of options.cutPowerAt ?? []) this.cutPowerAt(point);
  }

  get setupUrl(): string {
    return this.services?.softAp.url ?? "";
  }

  get uartPath(): string {
    return this.uart?.linkPath ?? "";
  }

  /** First power-on of a new board: the factory writes the MAC, the label secret and the label. */
  private factoryProvision(): FactoryData {
    const boardFile = path.join(this.dataDir, "board.json");
    const labelFile = path.join(this.dataDir, "label.txt");
    if (fs.existsSync(boardFile) && fs.existsSync(labelFile)) {
      const board = JSON.parse(fs.readFileSync(boardFile, "utf8")) as { mac: string };
      const label = fs.readFileSync(labelFile, "utf8");
      const secret = /^secret: (.+)$/m.exec(label)?.[1] ?? "";
      const qr = /^qr: (.+)$/m.exec(label)?.[1] ?? "";
      return { mac: board.mac, setupSecretText: secret, qrPayload: qr, ssid: ssidOf(board.mac) };
    }
    const mac = new Uint8Array(randomBytes(6));
    mac[0] = (mac[0] & 0xfe) | 0x02; // locally administered, unicast
    const secret = new Uint8Array(randomBytes(SETUP_SECRET_BYTES));
    const nvs = new NvsFile(this.dataDir);
    nvs.set("fac.secret", secret);
    nvs.close();
    const macHex = toHex(mac);
    const ssid = ssidOf(macHex);
    const text = formatSetupSecret(secret);
    const qr = setupQrPayload(ssid, secret);
    fs.writeFileSync(boardFile, JSON.stringify({ model: "sealcam-sim", mac: macHex }, null, 2) + "\n");
    fs.writeFileSync(labelFile, `sealcam camera ${ssid}\nsecret: ${text}\nqr: ${qr}\nkeep private: this label gives the camera's setup key and its access point's Wi-Fi password\n`, { mode: 0o600 });
    secret.fill(0);
    return { mac: macHex, setupSecretText: text, qrPayload: qr, ssid };
  }

  async start(): Promise<void> {
    if (this.options.uartLink !== false) {
      this.uart = new UartPty(this.options.uartLink ?? path.join(this.dataDir, "uart"));
      await this.uart.open();
      this.uart.onLine((line) => {
        this.emit("uart-in", line);
        this.runner?.emit("console.line", { line });
      });
    }
    if (this.options.scene) this.setScene(this.options.scene);
    if (this.options.triggerEverySeconds && this.options.triggerEverySeconds > 0) {
      this.triggerTimer = setInterval(() => this.trigger("schedule"), this.options.triggerEverySeconds * 1000);
    }
    await this.powerOn();
  }

  private openMedia(): void {
    this.nvs = new NvsFile(this.dataDir);
    if (this.nvs.tornEntriesDropped > 0) this.notice(`nvs: dropped ${this.nvs.tornEntriesDropped} torn entry after power loss`);
    this.nvs.fault = {
      beforeWrite: (key) => {
        if (this.armed.delete(`storage:${key}`)) return "torn";
        return "ok";
      },
    };
    const file = new FileFlash(path.join(this.dataDir, "queue.bin"), QUEUE_FLASH_BYTES, QUEUE_BLOCK_SIZE);
    const previous = this.flash;
    this.flash = new FaultFlash(file);
    if (previous) {
      this.flash.armedWrite = previous.armedWrite;
      this.flash.armedErase = previous.armedErase;
    }
    for (const [kind, n] of this.pendingFlash.splice(0)) {
      if (kind === "write") this.flash.armedWrite = n;
      else this.flash.armedErase = n;
    }
  }

  private async powerOn(): Promise<void> {
    this.openMedia();
    const previous = this.services;
    this.services = new BoardServices(
      this.nvs,
      this.flash,
      fromHexString(this.factory.mac),
      {
        uartWrite: (line) => {
          this.uartLines.push(line);
          if (this.uartLines.length > 5000) this.uartLines.splice(0, 1000);
          this.uart?.writeLine(line);
          this.emit("uart", line);
        },
        log: (record) => {
          this.logs.push(record);
          if (this.logs.length > 5000) this.logs.splice(0, 1000);
          this.emit("log", record);
          if (this.armed.delete(`log:${record.e}`)) throw new PowerCut(`log:${record.e}`);
        },
        step: (name) => {
          this.emit("step", name);
          if (this.armed.delete(`step:${name}`)) throw new PowerCut(`step:${name}`);
        },
        emit: (name, payload) => this.runner?.emit(name, payload),
        notice: (text) => {
          if (text.startsWith("setup API")) fs.writeFileSync(path.join(this.dataDir, "setup-url"), this.services.softAp.url + "\n");
          if (text === "soft AP down") fs.rmSync(path.join(this.dataDir, "setup-url"), { force: true });
          this.notice(text);
        },
      },
      this.options.setupPort ?? 0,
      this.options.network ?? {},
    );
    this.services.softAp.airDir = this.options.airDir;
    if (previous) this.services.networkUp = previous.networkUp;
    this.services.firmwareConfig = this.options.firmwareConfig ?? {};
    this.services.camera.scene = this.scene;
    this.services.camera.sceneStart = this.sceneStart;
    this.bootCount++;
    this.notice(`boot ${this.bootCount}`);
    this.runner = this.options.runner();
    const runner = this.runner;
    runner.crashed?.then((reason) => {
      if (this.runner === runner && !this.stopped && !this.cutting) {
        this.notice(`firmware stopped: ${reason}`);
        this.emit("crash", reason);
      }
    });
    await runner.boot(this.services, {
      isPowerCut: (error) => {
        if (error instanceof PowerCut || error instanceof FlashPowerCut) {
          void this.cutPower(error instanceof PowerCut ? error.point : "flash");
          return true;
        }
        return false;
      },
      cut: (point) => void this.cutPower(point),
    });
  }

  /**
   * Arms a power cut at a named point (one shot):
   *   storage:<key>     the next write of NVS key <key> is torn half way, then the power goes
   *   log:<event>       the power goes when the firmware logs <event>
   *   step:<name>       the power goes at a named firmware step (enrollment: marker-removed, wrote-p.key, ...,
   *                     committed; see firmware/camera/store.ts)
   *   flash-write[:N]   the N-th queue flash write from now (default 1) is torn half way
   *   flash-erase[:N]   the N-th block erase from now is torn half way
   */
  cutPowerAt(point: string): void {
    const flash = /^flash-(write|erase)(?::(\d+))?$/.exec(point);
    if (flash) {
      const n = Number(flash[2] ?? "1");
      if (!(n >= 1)) throw new Error(`bad power cut point ${point}`);
      if (this.flash) {
        if (flash[1] === "write") this.flash.armedWrite = n;
        else this.flash.armedErase = n;
      } else {
        this.pendingFlash.push([flash[1], n]);
      }
      return;
    }
    if (!/^(storage|log|step):\S+$/.test(point)) {
      throw new Error(`unknown power cut point '${point}' (storage:<key>, log:<event>, step:<name>, flash-write[:N], flash-erase[:N])`);
    }
    this.armed.add(point);
  }

  /** Cuts the power now (`point` names why) and boots again from what was persisted. */
  cutPower(point = "command"): Promise<void> {
    if (this.cutting) return this.cutting;
    this.cutting = (async () => {
      this.powerCuts.push(point);
      this.notice(`power cut at ${point}`);
      this.emit("power-cut", point);
      const runner = this.runner;
      this.runner = undefined;
      await runner?.kill();
      await this.services.reboot();
      this.nvs.close();
      this.flash.inner.close();
      await delay(this.options.restartDelayMs ?? 200);
      if (this.stopped) return;
      this.cutting = undefined;
      await this.powerOn();
    })().finally(() => {
      this.cutting = undefined;
    });
    return this.cutting;
  }

  /** Types a line on the camera's serial console (as a UART client would). */
  consoleInput(line: string): void {
    this.runner?.emit("console.line", { line });
  }

  /**
   * Runs a console command and resolves with the first output line that starts with "<command>:" (or
   * "error:"), e.g. `await board.command("status")` -> "status: state=running ...".
   */
  command(line: string, timeoutMs = 10000): Promise<string> {
    const word = line.trim().split(/\s+/)[0].toLowerCase();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off("uart", onLine);
        reject(new Error(`board-sim: no answer to '${word}' within ${timeoutMs} ms`));
      }, timeoutMs);
      const onLine = (out: string) => {
        if (!out.startsWith(word + ":") && !out.startsWith("error:")) return;
        clearTimeout(timer);
        this.off("uart", onLine);
        resolve(out);
      };
      this.on("uart", onLine);
      this.consoleInput(line);
    });
  }

  trigger(reason = "command"): void {
    this.runner?.emit("camera.trigger", { reason });
  }

  /** The PIR sensor fires (boards with a `pins.pir` in board.json): a "pir" trigger. */
  pir(): void {
    this.trigger("pir");
  }

  /** The camera films `scene` (a parseScene text) from now on; its scene time starts now. */
  setScene(scene: string): void {
    this.scene = parseScene(scene);
    this.sceneStart = Date.now();
    if (this.services) {
      this.services.camera.scene = this.scene;
      this.services.camera.sceneStart = this.sceneStart;
    }
    this.notice(`camera scene: ${scene}`);
  }

  /** Drops the station link for `seconds` (0: until `networkUp()`). */
  dropNetwork(seconds: number): void {
    if (this.networkTimer) clearTimeout(this.networkTimer);
    this.services.setNetwork(false);
    this.notice(seconds > 0 ? `network down for ${seconds} s` : "network down");
    if (seconds > 0) this.networkTimer = setTimeout(() => this.restoreNetwork(), seconds * 1000);
  }

  restoreNetwork(): void {
    if (this.networkTimer) clearTimeout(this.networkTimer);
    this.networkTimer = undefined;
    this.services.setNetwork(true);
    this.notice("network up");
  }

  /** Resolves with the first log record (from now, or already seen if `past`) that matches. */
  waitForLog(match: string | ((record: LogRecord) => boolean), timeoutMs = 30000, past = false): Promise<LogRecord> {
    const test = typeof match === "string" ? (r: LogRecord) => r.e === match : match;
    if (past) {
      const seen = this.logs.find(test);
      if (seen) return Promise.resolve(seen);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off("log", onLog);
        reject(new Error(`board-sim: no log event ${typeof match === "string" ? match : "matching"} within ${timeoutMs} ms`));
      }, timeoutMs);
      const onLog = (record: LogRecord) => {
        if (!test(record)) return;
        clearTimeout(timer);
        this.off("log", onLog);
        resolve(record);
      };
      this.on("log", onLog);
    });
  }

  private notice(text: string): void {
    this.emit("notice", text);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.triggerTimer) clearInterval(this.triggerTimer);
    if (this.networkTimer) clearTimeout(this.networkTimer);
    await this.cutting?.catch(() => {});
    await this.runner?.kill();
    this.runner = undefined;
    await this.services?.close();
    this.nvs?.close();
    this.flash?.inner.close();
    await this.uart?.close();
    fs.rmSync(path.join(this.dataDir, "setup-url"), { force: true });
  }
}

export function ssidOf(macHex: string): string {
  return "sealcam-" + macHex.slice(-4).toUpperCase();
}

function fromHexString(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, "hex"));
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The firmware entry for the in-process runner: builds the platform over `channel` and starts the camera. */
export type InProcessMain = (channel: SimChannel) => void | Promise<void>;

/**
 * Runs the firmware in this Node process over a DirectLink (V8, NodeCrypto). For host tests and as the
 * fallback when the XS host is not built; the XS runner (xs-runner.ts) is the real thing.
 */
export class InProcessRunner implements FirmwareRunner {
  private link: DirectLink | undefined;
  constructor(private readonly main: InProcessMain) {}
  async boot(services: BoardServices, hooks: { isPowerCut(error: unknown): boolean }): Promise<void> {
    this.link = new DirectLink(services, (error) => hooks.isPowerCut(error));
    const link = this.link;
    Promise.resolve()
      .then(() => this.main(link))
      .catch((error: unknown) => {
        if (!link.dead) services.hooks.notice(`firmware stopped: ${(error as Error).message}`);
      });
  }
  emit(name: string, payload: Params): void {
    this.link?.emit(name, payload);
  }
  async kill(): Promise<void> {
    if (this.link) this.link.dead = true;
    this.link = undefined;
  }
}
