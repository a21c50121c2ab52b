/**
 * Runs the real `sealcam` CLI as a user would: bundled from the current sources exactly as `make cli` does
 * (esbuild, host-tools/cli.ts), inside build/ so it finds the repository (XS host, firmware bundle).
 * Long-running tools (cloud, board-sim) are child processes whose output lines the test waits for.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

export const ROOT = path.resolve(__dirname, "..", "..");

/** Bundles host-tools/cli.ts to build/test-cli/<name>.cjs (the Makefile's esbuild command) and returns it. */
export async function bundleCli(name: string): Promise<string> {
  const esbuild = await import("esbuild");
  const outfile = path.join(ROOT, "build", "test-cli", `${name}.cjs`);
  await esbuild.build({
    entryPoints: [path.join(ROOT, "host-tools", "cli.ts")], bundle: true, platform: "node", format: "cjs", target: "node20",
    logLevel: "silent", external: ["better-sqlite3", "serialport", "@serialport/*", "esbuild"], outfile,
  });
  return outfile;
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `sealcam ARGS` to completion. */
export function runCli(cli: string, args: string[], env: Record<string, string | undefined>, timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { env: env as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`sealcam ${args.join(" ")} did not finish in ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** A tool that keeps running: its output so far, and a way to wait for a line. */
export class Daemon {
  readonly child: ChildProcess;
  output = "";
  private waiters: { test: RegExp; resolve: (m: RegExpExecArray) => void; from: number }[] = [];

  constructor(cli: string, args: string[], env: Record<string, string | undefined>) {
    this.child = spawn(process.execPath, [cli, ...args], { env: env as NodeJS.ProcessEnv, stdio: ["pipe", "pipe", "pipe"] });
    const take = (d: Buffer) => {
      this.output += d.toString("utf8");
      for (const w of [...this.waiters]) {
        const m = w.test.exec(this.output.slice(w.from));
        if (m) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(m);
        }
      }
    };
    this.child.stdout!.on("data", take);
    this.child.stderr!.on("data", take);
  }

  /** Resolves with the first match of `test` in the output after position `from` (default: from the start). */
  waitFor(test: RegExp, timeoutMs = 30_000, from = 0): Promise<RegExpExecArray> {
    const m = test.exec(this.output.slice(from));
    if (m) return Promise.resolve(m);
    return new Promise((resolve, reject) => {
      const waiter = { test, from, resolve: (found: RegExpExecArray) => { clearTimeout(timer); resolve(found); } };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`no ${test} within ${timeoutMs} ms; output:\n${this.output.slice(-4000)}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  send(line: string): void {
    this.child.stdin!.write(line + "\n");
  }

  /** SIGTERM, then the exit code (SIGKILL after 10 s). */
  async stop(): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    const exited = new Promise<number | null>((resolve) => this.child.once("exit", (code) => resolve(code)));
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 10_000);
    const code = await exited;
    clearTimeout(timer);
    return code;
  }
}

/** A loopback port that was free a moment ago. */
export { freePort } from "../helpers/free-port";

export function writePrivate(file: string, text: string): string {
  fs.writeFileSync(file, text, { mode: 0o600 });
  return file;
}
