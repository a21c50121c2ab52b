/**
 * The cloud under test, in its own process (bench/cloud/ingest.ts starts it): the real startCloud over a data
 * directory on this disk, logs off. Prints "URL <url>" when listening; SIGTERM closes it.
 */
import { startCloud } from "../../host-tools/cloud/server";

void startCloud({ dataDir: process.argv[2], sweepIntervalMs: 0, uploadsTotal: 256 }).then((cloud) => {
  // Diagnosis only (never the default): BENCH_SQLITE_SYNC=NORMAL shows how much the per-commit WAL fsync costs.
  if (process.env.BENCH_SQLITE_SYNC) cloud.db.pragma(`synchronous = ${process.env.BENCH_SQLITE_SYNC === "NORMAL" ? "NORMAL" : "FULL"}`);
  process.stdout.write(`URL ${cloud.url}\n`);
  process.on("SIGTERM", () => void cloud.close().then(() => process.exit(0)));
});
