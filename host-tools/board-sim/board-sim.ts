/**
 * BoardSim: runs a firmware bundle in the XS host (build/xs-host/xs-host) and talks to it over the channel.
 *
 *   const sim = new BoardSim();
 *   sim.handle("storage.get", async (params) => ...);      // answer requests from XS
 *   sim.on("log", (data) => ...);                           // events from XS
 *   await sim.start(xsHostBinary(), "build/xs-bundles/camera.js", { onLog: (line) => ... });
 *   const reply = await sim.request("camera.status");      // ask XS (a "sealcam/host-channel" handle())
 *   sim.emit("uart.line", "wifi home hunter2");            // event to XS (an on() listener)
 *   await sim.stop();
 *
 *   const result = await runInXs("test/xs/crypto-entry.ts", { handlers: {...} });   // bundle, run, await "done"
 *
 * Never hangs: every wait has a timeout, and when the XS host dies every pending request and wait rejects.
 * An uncaught JS exception in XS, an engine abort, a crash (signal) or an unexpected exit becomes an XsError
 * carrying the XS message and stack (or the stderr tail); `sim.failure` holds it, `sim.exited` resolves.
 *
 * The wire protocol (length-prefixed frames on fd 3, JSON + binary attachments) is in docs/BOARD-SIM.md and
 * host-tools/board-sim/xs-host/channel.h; the XS side is host-tools/board-sim/xs-host/js/host-channel.ts.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Duplex } from "node:stream";
import { bundleFirmware, repoRoot, type BundleOptions } from "./bundle";
import { asciiJson, decodeValue, encodeValue, type CodecValue, type Json } from "./xs-host/js/channel-codec";

export type ChannelValue = CodecValue;

export type RequestHandler = (params: ChannelValue) => ChannelValue | Promise<ChannelValue>;

export interface BoardSimOptions {
  /** Each line XS prints (print/trace/console). Default: kept in `sim.logs` only. */
  onLog?: (line: string) => void;
  /** Extra environment for the host process (e.g. XS_STRESS=0). */
  env?: Record<string, string>;
  /** Default timeout for request() and once(), in ms (default 30000). */
  timeoutMs?: number;
  /**
   * Caps the XS heap (chunks + slots, MiB); past it the engine aborts with "memory full" (an XsError). The
   * normal build starts with about 25 MiB (the stress build about 1 MiB), so useful values there are 32 and up.
   */
  memoryLimitMb?: number;
}

/** A failure inside the XS host, as seen from Node. */
export class XsError extends Error {
  /** The XS stack when the failure was a JS exception, else the host's stderr tail. */
  readonly xsStack: string;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /**
   * Set when the engine aborted (main.c's "xs engine aborted: <reason>"): "memory full" (a fixed heap of the
   * board build is exhausted), "stack overflow", "no more keys" or "abort".
   */
  readonly abort: string | undefined;
  constructor(message: string, xsStack: string, exitCode: number | null = null, signal: NodeJS.Signals | null = null) {
    super(xsStack ? `${message}\n--- xs ---\n${xsStack}` : message);
    this.name = "XsError";
    this.xsStack = xsStack;
    this.exitCode = exitCode;
    this.signal = signal;
    this.abort = /xs engine aborted: ([a-z ]+) \(status/.exec(message)?.[1];
  }
}

/** The XS host binary built by mk/xs-host.mk. */
export function xsHostBinary(stress = false): string {
  return path.join(repoRoot(), "build", "xs-host", stress ? "xs-host-stress" : "xs-host");
}

/** The 32-bit XS host on the board's terms (the manifest's `creation`; mk/xs-host.mk). */
export function xsHostBoard32Binary(): string {
  return path.join(repoRoot(), "build", "xs-host", "xs-host-board32");
}

/**
 * The engine's memory counters (host-tools/board-sim/xs-host/memstats.h): chunk sizes in bytes, slots in
 * slots of `slotSize` bytes. Peaks and `largestChunk` are since the last reset.
 */
export interface XsMemory {
  pointerBits: number;
  slotSize: number;
  chunkCurrent: number;
  chunkPeak: number;
  chunkReserved: number;
  chunkLive: number;
  slotCurrent: number;
  slotPeak: number;
  slotReserved: number;
  slotLive: number;
  collections: number;
  stackCount: number;
  largestChunk: number;
  keysUsed: number;
  keyCount: number;
  chunkIncremental: number;
  slotIncremental: number;
}

interface Waiter {
  resolve(value: ChannelValue): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

export class BoardSim {
  /** Lines XS printed, in order. */
  readonly logs: string[] = [];
  /** Set once the XS host failed (exception, abort, crash, unexpected exit). */
  failure: XsError | undefined;
  /** Resolves when the host process has exited (never rejects). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  #child: ChildProcess | undefined;
  #channel: Duplex | undefined;
  #options: BoardSimOptions = {};
  #input: Buffer = Buffer.alloc(0);
  #stderr = "";
  #fatal: { message: string; stack: string } | undefined;
  #nextId = 1;
  #pending = new Map<number, Waiter>();
  #waiters = new Set<Waiter>();
  #handlers = new Map<string, RequestHandler>();
  #listeners = new Map<string, Set<(data: ChannelValue) => void>>();
  #stopping = false;
  #done = false;
  #resolveExited!: (value: { code: number | null; signal: NodeJS.Signals | null }) => void;

  constructor() {
    this.exited = new Promise((resolve) => (this.#resolveExited = resolve));
  }

  /** Starts `binary` on `bundle` (an IIFE from bundleFirmware). Resolves once the process runs. */
  async start(binary: string, bundle: string, options: BoardSimOptions = {}): Promise<void> {
    if (this.#child) throw new Error("board sim already started");
    if (!fs.existsSync(binary)) throw new Error(`xs host binary not found: ${binary} (run make xs-host)`);
    if (!fs.existsSync(bundle)) throw new Error(`bundle not found: ${bundle}`);
    this.#options = options;
    const args = ["--channel-fd", "3"];
    if (options.memoryLimitMb !== undefined) args.push("--memory-limit-mb", String(options.memoryLimitMb));
    const child = spawn(binary, [...args, bundle], {
      stdio: ["ignore", "pipe", "pipe", "pipe"],
      env: { ...process.env, ...options.env },
    });
    this.#child = child;
    this.#channel = child.stdio[3] as Duplex;
    let stdoutRest = "";
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (chunk: string) => {
      const lines = (stdoutRest + chunk).split("\n");
      stdoutRest = lines.pop() ?? "";
      for (const line of lines) this.#log(line);
    });
    child.stdout!.on("end", () => {
      if (stdoutRest) this.#log(stdoutRest);
      stdoutRest = "";
    });
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-16384);
    });
    this.#channel.on("data", (chunk: Buffer) => this.#receive(chunk));
    this.#channel.on("error", () => {
      /* the exit handler reports what matters */
    });
    child.on("close", (code, signal) => this.#exit(code, signal));
    await new Promise<void>((resolve, reject) => {
      child.once("spawn", () => resolve());
      child.once("error", (error) => reject(error));
    });
  }

  /** Asks XS (a handle() in "sealcam/host-channel"); rejects on timeout, XS-side error or host failure. */
  request(method: string, params: ChannelValue = null, timeoutMs = this.#options.timeoutMs ?? 30000): Promise<ChannelValue> {
    return new Promise((resolve, reject) => {
      if (this.#done) return reject(this.failure ?? new Error("xs host is not running"));
      const id = this.#nextId++;
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#pending.delete(id);
          reject(new Error(`xs request "${method}" timed out after ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.#pending.set(id, waiter);
      this.#post({ t: "req", id, method, params });
    });
  }

  /**
   * The engine's memory counters, answered by the host between turns (no JS runs). `collect` runs a full
   * collection first; `reset` starts new high-water marks after this reading (a phase boundary).
   */
  memory(options: { reset?: boolean; collect?: boolean } = {}, timeoutMs = this.#options.timeoutMs ?? 30000): Promise<XsMemory> {
    return new Promise((resolve, reject) => {
      if (this.#done) return reject(this.failure ?? new Error("xs host is not running"));
      const id = this.#nextId++;
      const waiter: Waiter = {
        resolve: (value) => resolve(value as unknown as XsMemory),
        reject,
        timer: setTimeout(() => {
          this.#pending.delete(id);
          reject(new Error(`xs memory reading timed out after ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.#pending.set(id, waiter);
      // main.c matches this exact prefix: {"t":"mem","id":N
      this.#post({ t: "mem", id, reset: options.reset === true, collect: options.collect === true });
    });
  }

  /** Sends an event to XS (an on() listener in "sealcam/host-channel"). */
  emit(name: string, data: ChannelValue = null): void {
    if (this.#done) throw this.failure ?? new Error("xs host is not running");
    this.#post({ t: "evt", name, data });
  }

  /** Listens to events from XS; returns an unsubscribe function. */
  on(name: string, listener: (data: ChannelValue) => void): () => void {
    let set = this.#listeners.get(name);
    if (!set) this.#listeners.set(name, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Waits for the next event `name` from XS. */
  once(name: string, timeoutMs = this.#options.timeoutMs ?? 30000): Promise<ChannelValue> {
    return new Promise((resolve, reject) => {
      if (this.#done) return reject(this.failure ?? new Error("xs host is not running"));
      const waiter: Waiter = {
        resolve: (value) => {
          off();
          this.#waiters.delete(waiter);
          clearTimeout(waiter.timer);
          resolve(value);
        },
        reject: (error) => {
          off();
          this.#waiters.delete(waiter);
          clearTimeout(waiter.timer);
          reject(error);
        },
        timer: setTimeout(() => waiter.reject(new Error(`no "${name}" event from xs within ${timeoutMs} ms${this.#tail()}`)), timeoutMs),
      };
      const off = this.on(name, (data) => waiter.resolve(data));
      this.#waiters.add(waiter);
    });
  }

  /** Answers requests from XS for `method` (one handler per method). */
  handle(method: string, handler: RequestHandler): void {
    this.#handlers.set(method, handler);
  }

  /** Closes the channel (the host exits 0 on end of file); kills the process if it does not exit in time. */
  async stop(timeoutMs = 3000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.#child) throw new Error("board sim was not started");
    this.#stopping = true;
    if (!this.#done) {
      this.#channel?.end();
      const timer = setTimeout(() => this.#child?.kill("SIGKILL"), timeoutMs);
      const result = await this.exited;
      clearTimeout(timer);
      return result;
    }
    return this.exited;
  }

  /** The host's stderr (last 16 KiB). */
  get stderr(): string {
    return this.#stderr;
  }

  #tail(): string {
    const logs = this.logs.slice(-20).join("\n");
    const err = this.#stderr.trim();
    return (logs ? `\n--- xs output ---\n${logs}` : "") + (err ? `\n--- xs stderr ---\n${err.slice(-4000)}` : "");
  }

  #log(line: string): void {
    this.logs.push(line);
    if (this.logs.length > 5000) this.logs.splice(0, this.logs.length - 5000);
    this.#options.onLog?.(line);
  }

  #post(message: { [key: string]: unknown }): void {
    const bins: Uint8Array[] = [];
    const json = Buffer.from(asciiJson(encodeValue(message, bins)), "utf8");
    let size = 4 + json.length;
    for (const bin of bins) size += 4 + bin.length;
    const frame = Buffer.alloc(4 + size);
    frame.writeUInt32BE(size, 0);
    frame.writeUInt32BE(json.length, 4);
    json.copy(frame, 8);
    let offset = 8 + json.length;
    for (const bin of bins) {
      frame.writeUInt32BE(bin.length, offset);
      frame.set(bin, offset + 4);
      offset += 4 + bin.length;
    }
    this.#channel?.write(frame);
  }

  #receive(chunk: Buffer): void {
    this.#input = this.#input.length ? Buffer.concat([this.#input, chunk]) : chunk;
    while (this.#input.length >= 4) {
      const size = this.#input.readUInt32BE(0);
      if (this.#input.length < 4 + size) break;
      const body = this.#input.subarray(4, 4 + size);
      this.#input = this.#input.subarray(4 + size);
      const jsonLength = body.readUInt32BE(0);
      const json = body.subarray(4, 4 + jsonLength).toString("utf8");
      const bins: Uint8Array[] = [];
      for (let offset = 4 + jsonLength; offset + 4 <= body.length; ) {
        const length = body.readUInt32BE(offset);
        bins.push(new Uint8Array(body.subarray(offset + 4, offset + 4 + length)));
        offset += 4 + length;
      }
      this.#dispatch(decodeValue(JSON.parse(json) as Json, bins) as { [key: string]: ChannelValue });
    }
  }

  #dispatch(message: { [key: string]: ChannelValue }): void {
    switch (message.t) {
      case "res": {
        const waiter = this.#pending.get(message.id as number);
        if (!waiter) return;
        this.#pending.delete(message.id as number);
        clearTimeout(waiter.timer);
        if (message.ok) waiter.resolve(message.result ?? null);
        else {
          const info = (message.error ?? {}) as { message?: string; code?: string; name?: string };
          const error = new Error(info.message ?? "xs request failed") as Error & { code?: string };
          if (info.code) error.code = info.code;
          waiter.reject(error);
        }
        return;
      }
      case "mem": {
        const waiter = this.#pending.get(message.id as number);
        if (!waiter) return;
        this.#pending.delete(message.id as number);
        clearTimeout(waiter.timer);
        const { t: _t, id: _id, ...counters } = message;
        waiter.resolve(counters as ChannelValue);
        return;
      }
      case "req":
        void this.#answer(message.id as number, String(message.method), message.params ?? null);
        return;
      case "evt": {
        const set = this.#listeners.get(String(message.name));
        if (set) for (const listener of [...set]) listener(message.data ?? null);
        return;
      }
      case "fatal":
        this.#fatal = { message: String(message.message), stack: String(message.stack ?? "") };
        return;
    }
  }

  async #answer(id: number, method: string, params: ChannelValue): Promise<void> {
    const handler = this.#handlers.get(method);
    try {
      if (!handler) throw new Error(`no handler in node for request "${method}"`);
      const result = await handler(params);
      if (!this.#done) this.#post({ t: "res", id, ok: true, result });
    } catch (error) {
      const e: Error & { code?: unknown } = error instanceof Error ? error : new Error(String(error));
      const info = { message: e.message, name: e.name, ...(typeof e.code === "string" ? { code: e.code } : {}) };
      if (!this.#done) this.#post({ t: "res", id, ok: false, error: info });
    }
  }

  #exit(code: number | null, signal: NodeJS.Signals | null): void {
    this.#done = true;
    const clean = code === 0 && !this.#fatal;
    if (!clean) {
      if (this.#fatal)
        this.failure = new XsError(`uncaught exception in xs: ${this.#fatal.message}`, this.#fatal.stack, code, signal);
      else if (signal && !(this.#stopping && signal === "SIGKILL"))
        this.failure = new XsError(`xs host crashed (signal ${signal})`, this.#stderr.trim(), code, signal);
      else if (code !== 0 && code !== null)
        this.failure = new XsError(`xs host exited with code ${code}`, this.#stderr.trim(), code, signal);
    }
    const reason = this.failure ?? new Error(`xs host exited (code ${code}${signal ? ", signal " + signal : ""})`);
    for (const waiter of this.#pending.values()) {
      clearTimeout(waiter.timer);
      waiter.reject(reason);
    }
    this.#pending.clear();
    for (const waiter of [...this.#waiters]) waiter.reject(reason);
    this.#resolveExited({ code, signal });
  }
}

export interface RunInXsOptions extends BoardSimOptions, BundleOptions {
  /** Use the GC-stress binary. */
  stress?: boolean;
  /** Use this XS host binary (default: $XS_HOST_BINARY, else build/xs-host/xs-host; `stress` picks the stress build). */
  binary?: string;
  /** Request handlers XS can call (e.g. to fetch test vectors from disk). */
  handlers?: Record<string, RequestHandler>;
  /** Overall limit (default 120000 ms). */
  timeoutMs?: number;
}

/**
 * Bundles `entry` (repo-relative or absolute), runs it in the XS host, and resolves with the data of the
 * first "done" event it emits (`emit("done", result)` from "sealcam/host-channel"). Rejects with XsError if
 * XS fails, or on timeout.
 */
export async function runInXs(entry: string, options: RunInXsOptions = {}): Promise<ChannelValue> {
  const root = repoRoot();
  const absolute = path.isAbsolute(entry) ? entry : path.join(root, entry);
  const key = crypto
    .createHash("sha256")
    .update(absolute + JSON.stringify(options.alias ?? {}) + JSON.stringify(options.define ?? {}))
    .digest("hex")
    .slice(0, 12);
  const bundle = path.join(root, "build", "xs-bundles", `${path.basename(entry).replace(/\.[jt]s$/, "")}-${key}.js`);
  await bundleFirmware(absolute, bundle, options);
  const sim = new BoardSim();
  for (const [method, handler] of Object.entries(options.handlers ?? {})) sim.handle(method, handler);
  const timeoutMs = options.timeoutMs ?? 120000;
  const binary = options.binary ?? (options.stress ? xsHostBinary(true) : (process.env.XS_HOST_BINARY ?? xsHostBinary()));
  await sim.start(binary, bundle, { ...options, timeoutMs });
  try {
    return await sim.once("done", timeoutMs);
  } finally {
    await sim.stop();
  }
}
