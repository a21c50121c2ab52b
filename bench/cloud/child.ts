/**
 * The cloud under test, in its own process (bench/cloud/ingest.ts starts it): the real startCloud over a data
 * directory on this disk, logs off. Prints "URL <url>" when listening; SIGTERM closes it.
 */
import { startCloud } from "../../host-tools/cloud/server";

void startCloud({ dataDir: process.argv[2], sweepIntervalMs: 0, uploadsTotal: 256 }).then((cloud) => {
  process.stdout.write(`URL ${cloud.url}\n`);
  process.on("SIGTERM", () => void cloud.close().then(() => process.exit(0)));
});
