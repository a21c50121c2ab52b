/**
 * The bundled `sealcam` CLI as users run it: `make cli` (esbuild of host-tools/cli.ts into dist/sealcam.cjs,
 * rebuilt only when a source changed), then `node dist/sealcam.cjs ...` in a child process.
 */
import { spawn, spawnSync } from "node:child_process";
import * as path from "node:path";

export const ROOT = path.resolve(__dirname, "..", "..");
export const CLI = path.join(ROOT, "dist", "sealcam.cjs");

export function buildCli(): void {
  const made = spawnSync("make", ["cli"], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
  if (made.status !== 0) throw new Error(`make cli failed:\n${made.stdout}${made.stderr}`);
}

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** `sealcam ARGS` to completion, stdin closed. */
export function sealcam(args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 30_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: "1", ...env } as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`sealcam ${args.join(" ")} did not finish in ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
