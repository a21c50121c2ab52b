/**
 * bench/results/latest.json holds one section per benchmark; each benchmark replaces only its own section.
 */
import * as fs from "node:fs";
import * as path from "node:path";

export const RESULTS_FILE = path.join(process.cwd(), "bench", "results", "latest.json");

export function mergeResults(section: string, data: Record<string, unknown>): void {
  let all: Record<string, unknown> = {};
  try {
    all = JSON.parse(fs.readFileSync(RESULTS_FILE, "utf8")) as Record<string, unknown>;
  } catch {
    all = {};
  }
  all[section] = { ...data, measured_at: new Date().toISOString() };
  fs.mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
  const temp = `${RESULTS_FILE}.${process.pid}.tmp`;
  fs.writeFileSync(temp, JSON.stringify(all, null, 2) + "\n");
  fs.renameSync(temp, RESULTS_FILE);
}

export function table(rows: (string | number)[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  return rows.map((r) => r.map((cell, c) => String(cell).padEnd(widths[c])).join("  ")).join("\n");
}
