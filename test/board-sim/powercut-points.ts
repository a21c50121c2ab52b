/**
 * Power-cut points for the sweeps in powercut-*.test.ts: which named points the firmware has (read from its
 * sources, so a new one cannot be added without the sweeps noticing), how to arm a cut at the k-th
 * occurrence of one on a SimulatedBoard, and a timeline of everything the board logged and every cut.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { SimulatedBoard } from "../../host-tools/board-sim/simulator";
import type { LogRecord } from "../../host-tools/board-sim/services";

const ROOT = path.resolve(__dirname, "../..");

function firmwareFiles(dir = path.join(ROOT, "firmware")): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...firmwareFiles(full));
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) out.push(full);
  }
  return out.sort();
}

/**
 * Every named step the firmware reports through its `cut` hook (`cut?.("name")`, `cut("name")`), with
 * template names expanded over the constant array they index (`wrote-${PROVISION_KEYS[i]}`).
 */
export function firmwareCutSteps(): string[] {
  const steps = new Set<string>();
  for (const file of firmwareFiles()) {
    const source = fs.readFileSync(file, "utf8");
    for (const m of source.matchAll(/\bcut\??\.?\(\s*(["`])([^"`]+)\1\s*\)/g)) {
      const name = m[2];
      const template = /^(.*)\$\{(\w+)\[\w+\]\}(.*)$/.exec(name);
      if (!template) {
        if (name.includes("${")) throw new Error(`${file}: cannot expand the cut step name ${name}`);
        steps.add(name);
        continue;
      }
      const array = new RegExp(`const ${template[2]}\\s*=\\s*\\[([^\\]]*)\\]`).exec(source);
      if (!array) throw new Error(`${file}: cut step ${name} indexes ${template[2]}, which is not a constant array here`);
      for (const item of array[1].matchAll(/"([^"]+)"/g)) steps.add(`${template[1]}${item[1]}${template[3]}`);
    }
  }
  return [...steps];
}

/** The files of the clip path: recording, the uplink and the flash queue. */
export const CLIP_PATH_FILES = ["firmware/camera/recorder.ts", "firmware/camera/uplink.ts", "firmware/queue/queue.ts", "firmware/queue/crc32.ts"];

/** Every log event written in the clip path (each is a `log:<event>` cut point of the board simulator). */
export function clipPathEvents(): string[] {
  const events = new Set<string>();
  for (const rel of CLIP_PATH_FILES) {
    const file = path.join(ROOT, rel);
    if (!fs.existsSync(file)) continue;
    const source = fs.readFileSync(file, "utf8");
    for (const m of source.matchAll(/\.(?:debug|info|warn|error)\(\s*"([a-z][a-z0-9.-]*)"/g)) events.add(m[1]);
    for (const m of source.matchAll(/\.write\(\s*"(?:debug|info|warn|error)"\s*,\s*"([a-z][a-z0-9.-]*)"/g)) events.add(m[1]);
  }
  return [...events].sort();
}

/** What happened on a board, in order: its log records and its power cuts. */
export type Moment = { kind: "log"; record: LogRecord } | { kind: "cut"; point: string };

export class Timeline {
  readonly moments: Moment[] = [];
  constructor(readonly board: SimulatedBoard) {
    board.on("log", (record: LogRecord) => this.moments.push({ kind: "log", record }));
    board.on("power-cut", (point: string) => this.moments.push({ kind: "cut", point }));
  }
  get mark(): number {
    return this.moments.length;
  }
  since(mark: number): Moment[] {
    return this.moments.slice(mark);
  }
  /** Log records from `mark` up to the first power cut after it (what the firmware did before the power went). */
  beforeCut(mark: number): LogRecord[] {
    const out: LogRecord[] = [];
    for (const m of this.since(mark)) {
      if (m.kind === "cut") break;
      out.push(m.record);
    }
    return out;
  }
  /** Log records of the boot that follows the first cut after `mark`. */
  afterCut(mark: number): LogRecord[] {
    const moments = this.since(mark);
    const at = moments.findIndex((m) => m.kind === "cut");
    if (at < 0) return [];
    return moments.slice(at + 1).filter((m): m is { kind: "log"; record: LogRecord } => m.kind === "log").map((m) => m.record);
  }
}

/** An armed cut: `disarm()` takes it back if it has not fired (idempotent). */
export interface Armed {
  disarm(): void;
}

interface FaultCounters {
  armedWrite: number;
  armedErase: number;
}

/** The board's flash fault counters (test access to SimulatedBoard's FaultFlash). */
function flashFaults(board: SimulatedBoard): FaultCounters {
  return (board as unknown as { flash: FaultCounters }).flash;
}

/**
 * Arms a cut at the k-th occurrence (from now) of a point:
 *   log:<event>     the power goes as the firmware logs its k-th <event> (as `cutPowerAt("log:<event>")` for k = 1)
 *   step:<name>     the power goes at the k-th time the firmware reaches the named step
 *   storage-set:<key>  the k-th `set` of NVS key <key> is torn half way (as `cutPowerAt("storage:<key>")` for k = 1)
 *   flash-write / flash-erase   the k-th queue flash write / block erase is torn half way (`cutPowerAt("flash-write:k")`)
 */
export function armCut(board: SimulatedBoard, point: string, k: number): Armed {
  const flash = /^flash-(write|erase)$/.exec(point);
  if (flash) {
    board.cutPowerAt(`${point}:${k}`);
    return {
      disarm: () => {
        const faults = flashFaults(board);
        if (flash[1] === "write") faults.armedWrite = 0;
        else faults.armedErase = 0;
      },
    };
  }
  const named = /^(log|step):(\S+)$/.exec(point);
  if (named) {
    const [, kind, name] = named;
    let seen = 0;
    const listener = (value: LogRecord | string) => {
      const hit = kind === "log" ? (value as LogRecord).e === name : value === name;
      if (!hit || ++seen < k) return;
      board.off(kind === "log" ? "log" : "step", listener);
      // Called while the simulator applies the firmware's message: nothing the firmware sent after it is applied.
      void board.cutPower(`${point}#${k}`);
    };
    board.on(kind === "log" ? "log" : "step", listener);
    return { disarm: () => board.off(kind === "log" ? "log" : "step", listener) };
  }
  const storage = /^storage-set:(\S+)$/.exec(point);
  if (storage) {
    const key = storage[1];
    const nvs = board.services.nvs;
    const inner = nvs.fault;
    let seen = 0;
    let active = true;
    nvs.fault = {
      beforeWrite: (written, op) => {
        if (active && written === key && op === "set" && ++seen === k) {
          active = false;
          return "torn"; // half the entry reaches the file, then the power goes (the board logs "storage <key>")
        }
        return inner.beforeWrite?.(written, op) ?? "ok";
      },
    };
    return {
      disarm: () => {
        active = false;
      },
    };
  }
  throw new Error(`unknown power cut point ${point}`);
}

/** A promise that can stop listening (so waits that lost a race leave no listener behind). */
export type Wait<T> = Promise<T> & { cancel(): void };

/** Resolves with the point when the board's power goes (from now). */
export function powerCut(board: SimulatedBoard): Wait<string> {
  let on: (point: string) => void = () => undefined;
  const promise = new Promise<string>((resolve) => {
    on = resolve;
    board.once("power-cut", on);
  });
  return Object.assign(promise, { cancel: () => void board.off("power-cut", on) });
}

/** Resolves with the first log record matching `test` from now; never rejects (use with a race or `within`). */
export function nextLog(board: SimulatedBoard, test: (r: LogRecord) => boolean): Wait<LogRecord> {
  let on: (r: LogRecord) => void = () => undefined;
  const promise = new Promise<LogRecord>((resolve) => {
    on = (r: LogRecord) => {
      if (!test(r)) return;
      board.off("log", on);
      resolve(r);
    };
    board.on("log", on);
  });
  return Object.assign(promise, { cancel: () => void board.off("log", on) });
}

/** Waits for `promise`, failing with `what` after `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
      }),
    ]);
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/** Polls until `check` returns a value other than undefined. */
export async function until<T>(check: () => Promise<T | undefined> | T | undefined, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
