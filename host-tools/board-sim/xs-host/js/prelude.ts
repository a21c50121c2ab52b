/**
 * The XS host's prelude: evaluated first in every host bundle (bundleFirmware puts it there). It gives the
 * bundle what a Moddable board gives firmware and the engine alone lacks: setTimeout/setInterval (and clears),
 * console.*, trace, and crypto.getRandomValues (over the native RNG, for bundled npm code such as noble).
 * Timers live here, in JS, so their callbacks stay reachable for the GC; main.c's loop calls
 * __sealcamHostTick() to run them and sleeps in poll() until the next one or a channel frame.
 */
/// <reference path="./host-globals.d.ts" />

interface Timer {
  id: number;
  when: number;
  interval: number; // 0: one-shot
  callback: (...args: unknown[]) => void;
  args: unknown[];
}

const host = globalThis.__sealcamHost;
const timers = new Map<number, Timer>();
let nextTimerId = 1;

function addTimer(callback: unknown, delay: unknown, repeat: boolean, args: unknown[]): number {
  if (typeof callback !== "function") throw new TypeError("timer callback must be a function");
  const ms = Math.max(0, Number(delay) || 0);
  const id = nextTimerId++;
  timers.set(id, { id, when: host.now() + ms, interval: repeat ? Math.max(1, ms) : 0, callback: callback as Timer["callback"], args });
  return id;
}

function clearTimer(id: unknown): void {
  if (typeof id === "number") timers.delete(id);
}

globalThis.__sealcamHostTick = (): number => {
  const now = host.now();
  let due: Timer | undefined;
  for (const timer of timers.values()) if (timer.when <= now && (!due || timer.when < due.when)) due = timer;
  if (due) {
    if (due.interval) due.when = Math.max(due.when + due.interval, now);
    else timers.delete(due.id);
    due.callback(...due.args); // an exception here is fatal: main.c reports it with its stack
    return 0;
  }
  let next = -1;
  for (const timer of timers.values()) if (next < 0 || timer.when - now < next) next = timer.when - now;
  return next;
};

const g = globalThis as unknown as Record<string, unknown>;
g.setTimeout = (callback: unknown, delay?: unknown, ...args: unknown[]) => addTimer(callback, delay, false, args);
g.setInterval = (callback: unknown, delay?: unknown, ...args: unknown[]) => addTimer(callback, delay, true, args);
g.setImmediate = (callback: unknown, ...args: unknown[]) => addTimer(callback, 0, false, args);
g.clearTimeout = clearTimer;
g.clearInterval = clearTimer;
g.clearImmediate = clearTimer;

function format(args: unknown[]): string {
  return args
    .map((arg) => {
      if (typeof arg === "string") return arg;
      if (arg instanceof Error) return `${arg.name}: ${arg.message}${arg.stack ? "\n" + arg.stack : ""}`;
      try {
        return JSON.stringify(arg) ?? String(arg);
      } catch {
        return String(arg);
      }
    })
    .join(" ");
}

const say = (level: string) => (...args: unknown[]) => host.print(level ? `${level} ${format(args)}` : format(args));

/**
 * main.c reports every promise still rejected without a handler at the end of each turn (like Node's default),
 * through the platform's console.error("UnhandledPromiseRejectionWarning:", reason). That is a firmware bug:
 * it is fatal here, reported to Node exactly like an uncaught exception.
 */
function unhandledRejection(reason: unknown): void {
  const message = `unhandled promise rejection: ${reason instanceof Error ? `${reason.name}: ${reason.message}` : format([reason])}`;
  const stack = reason instanceof Error && reason.stack ? reason.stack : "";
  host.print(`error: ${message}${stack ? "\n" + stack : ""}`);
  if (host.channel) {
    const json = JSON.stringify({ t: "fatal", message, stack }).replace(
      /[\u007f-\uffff]/g,
      (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"),
    );
    host.send(json);
  }
  host.exit(1);
}

const error = say("error:");
g.console = {
  log: say(""),
  info: say(""),
  debug: say(""),
  warn: say("warn:"),
  error: (...args: unknown[]) => (args[0] === "UnhandledPromiseRejectionWarning:" ? unhandledRejection(args[1]) : error(...args)),
};
g.print = (...args: unknown[]) => host.print(format(args));
// Moddable's trace() writes without adding a newline; here each call is one line.
g.trace = (...args: unknown[]) => host.print(format(args).replace(/\n$/, ""));

if (!("crypto" in g)) {
  g.crypto = {
    getRandomValues<T extends ArrayBufferView>(view: T): T {
      const bytes = new Uint8Array(globalThis.__sealcamNative.xs_sealcam_random(view.byteLength) as ArrayBuffer);
      new Uint8Array(view.buffer, view.byteOffset, view.byteLength).set(bytes);
      return view;
    },
  };
}
