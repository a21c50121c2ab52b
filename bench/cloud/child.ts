/**
 * The cloud under test, in its own process (bench/cloud/ingest.ts starts it): the real startCloud over a data
 * directory on this disk. Prints "URL <url>" when listening; SIGTERM closes it.
 *
 * The request log is on, as with `sealcam cloud serve` (level info, one JSON line per request), written to
 * the file named by argv[3] (none: logs off). Profiling: ingest.ts starts this with `node --cpu-prof` when
 * BENCH_CLOUD_PROF names a directory (never the default).
 */
import * as fs from "node:fs";
import { startCloud } from "../../host-tools/cloud/server";

const logFile = process.argv[3];
const sink = logFile ? fs.createWriteStream(logFile, { flags: "a", mode: 0o600 }) : undefined;
// BENCH_CLOUD_DB=postgres://… runs the cloud on the PostgreSQL body (default: SQLite in the data directory).
void startCloud({ dataDir: process.argv[2], db: process.env.BENCH_CLOUD_DB || undefined, sweepIntervalMs: 0, uploadsTotal: 256, logLevel: sink ? "info" : "silent", logSink: sink }).then((cloud) => {
  // Diagnosis only (never the default): BENCH_SQLITE_SYNC=NORMAL shows how much the per-commit WAL fsync costs.
  if (process.env.BENCH_SQLITE_SYNC) cloud.store.sqlite?.pragma(`synchronous = ${process.env.BENCH_SQLITE_SYNC === "NORMAL" ? "NORMAL" : "FULL"}`);
  process.stdout.write(`URL ${cloud.url}\n`);
  process.on("SIGTERM", () => void cloud.close().then(() => (sink ? sink.end(() => process.exit(0)) : process.exit(0))));
});
