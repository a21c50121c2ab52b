/**
 * Pieces the `sealcam phone` and `sealcam viewer` commands share (docs/CLI.md): terminal-safe text, asking
 * before an irreversible step, ISO 8601 time options, reading an invite, and the Live View options.
 */
import * as fs from "node:fs";
import { EXIT, UsageError, type Args, type Options } from "../cli-kit";

/** Cloud-relayed text goes to a terminal: no control characters (escape sequences). */
export function printable(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, "?");
}

/** Asks a yes/no question on the terminal; only "y" or "yes" is yes. */
export async function confirm(question: string): Promise<boolean> {
  const readline = await import("node:readline/promises");
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^(y|yes)$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

/**
 * Before an irreversible step: with --yes, go on; else ask `question` on a terminal. Not on a terminal
 * (`unattended` is printed), or not answered yes (`declined` is printed): the exit code to stop with.
 */
export async function askFirst(args: Args, out: (line: string) => void, ask: { question: string; unattended: string; declined: string }): Promise<number | undefined> {
  if (args.flag("yes")) return undefined;
  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    out(ask.unattended);
    return EXIT.FAILED;
  }
  if (!(await confirm(ask.question))) {
    out(ask.declined);
    return EXIT.FAILED;
  }
  return undefined;
}

/** Option --`name` as an ISO 8601 time (ms since the epoch; `wholeSeconds`: rounded down to the second), if given. */
export function isoTimeArg(args: Args, name: string, wholeSeconds = true): number | undefined {
  const text = args.string(name);
  if (text === undefined) return undefined;
  const t = Date.parse(text);
  if (!/^\d{4}-\d\d-\d\dT/.test(text) || !Number.isFinite(t)) throw new UsageError(`--${name} must be an ISO 8601 time such as 2026-05-01T18:00:00Z, not '${text}'`);
  return wholeSeconds ? Math.floor(t / 1000) * 1000 : t;
}

/** --to INVITE: the invite itself (SEALCAM-INVITE:...), or the first line of a file holding it. */
export function readInvite(to: string): string {
  if (to.startsWith("SEALCAM-INVITE:")) return to;
  try {
    return fs.readFileSync(to, "utf8").trim().split("\n")[0];
  } catch {
    throw new UsageError(`--to: '${to}' is neither an invite (SEALCAM-INVITE:1:...) nor a readable file`);
  }
}

/** The options of `phone live` and `viewer live`. */
export const LIVE_OPTIONS: Options = {
  frames: { type: "string", arg: "DIR", help: "write each live frame as frame-NNNNN-<capture ms>.jpg into DIR" },
  seconds: { type: "string", arg: "N", help: "watch for N seconds, then end the session (default 10)" },
  "stall-ms": { type: "string", arg: "MS", help: "no frame for MS milliseconds ends with E_STALL (default 5000)" },
};

/** LIVE_OPTIONS as the session's options (host-tools/phone/live.ts LiveOptions). */
export function liveOptions(args: Args): { durationMs: number; framesDir: string | undefined; stallMs: number | undefined } {
  const seconds = args.int("seconds", 1, 24 * 3600) ?? 10;
  const stallMs = args.int("stall-ms", 500, 600_000);
  return { durationMs: seconds * 1000, framesDir: args.string("frames"), stallMs };
}
