/** Process facts from /proc (Linux): CPU seconds used by a process, and the machine this ran on. */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";

let ticks = 0;
/** User + system CPU seconds consumed so far by process `pid` (/proc/<pid>/stat fields 14 and 15). */
export function cpuSeconds(pid: number): number {
  if (!ticks) ticks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / ticks;
}

/** Resident set size of `pid` in MB, and its peak (VmHWM). */
export function rssMb(pid: number): { rss: number; peak: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
  return { rss: +(kb("VmRSS") / 1024).toFixed(1), peak: +(kb("VmHWM") / 1024).toFixed(1) };
}

export function machine(): { nproc: number; cpu: string; node: string; kernel: string } {
  const cpu = /model name\s*:\s*(.*)/.exec(fs.readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "unknown";
  return { nproc: os.cpus().length, cpu, node: process.version, kernel: os.release() };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Percentile (0..100) of a list of numbers (nearest rank). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Pids of the direct children of `parent` whose command name (/proc/<pid>/comm) is `name`. */
export function childPids(parent: number, name: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === parent && comm === name.slice(0, 15)) pids.push(Number(entry));
    } catch {
      /* the process ended meanwhile */
    }
  }
  return pids;
}
