/**
 * Test helper: a pair of connected pseudo-terminals from socat, reachable through two symlinks in a temp
 * directory. `stop()` kills socat (both ends vanish, like a board being unplugged); `start()` brings them
 * back under the same names. Both slave ends are held open (never read) so socat outlives clients that close
 * and reopen, as a real port does. Not a test file.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, constants, existsSync, mkdtempSync, openSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface PtyPair {
  dir: string;
  /** The host side (what a user passes as --port). */
  host: string;
  /** The device side (where a simulator listens). */
  device: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** stop() and remove the temp directory. */
  dispose(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function ptyPair(prefix = "sealcam-pty-"): Promise<PtyPair> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const host = join(dir, "ttyHOST");
  const device = join(dir, "ttyDEV");
  let proc: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let held: number[] = [];

  const pair: PtyPair = {
    dir,
    host,
    device,
    async start() {
      if (proc) return;
      const child = spawn("socat", [`pty,raw,echo=0,link=${device}`, `pty,raw,echo=0,link=${host}`], { stdio: "ignore" });
      proc = child;
      exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.once("exit", () => {
        if (proc === child) proc = null;
      });
      for (let i = 0; i < 200 && !(existsSync(host) && existsSync(device)); i++) await sleep(10);
      if (!existsSync(host) || !existsSync(device)) throw new Error("socat did not create the pty pair");
      held = [host, device].map((p) => openSync(realpathSync(p), constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK));
    },
    async stop() {
      for (const fd of held) closeSync(fd);
      held = [];
      const child = proc;
      if (!child) return;
      child.kill("SIGTERM");
      await exited;
      proc = null;
      for (let i = 0; i < 100 && (existsSync(host) || existsSync(device)); i++) await sleep(10);
    },
    async dispose() {
      await pair.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await pair.start();
  return pair;
}
