/**
 * make bench-cloud, several nodes (issue 15): the ingest benchmark (bench/cloud/ingest.ts) on the PostgreSQL
 * body, once with 1 cloud node and once with 3 nodes over the same PostgreSQL and data folder (cameras spread
 * round-robin over the nodes). PostgreSQL is Debian's, a throw-away cluster started like the tests' one
 * (test/cloud/postgres.ts: temporary directory, unprivileged user, loopback), here with fsync ON (its defaults),
 * so the figures include PostgreSQL's own durability. Rows land in bench/results as cloud_ingest_pg-1-node and
 * cloud_ingest_pg-3-nodes.
 *
 *   node build/bench/cloud-nodes.cjs [--cameras 20] [--seconds 8]
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { startPostgres } from "../../test/cloud/postgres";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
}

async function main(): Promise<void> {
  const cameras = arg("--cameras", "20");
  const seconds = arg("--seconds", "8");
  const pg = await startPostgres({ fsync: true });
  try {
    for (const nodes of [1, 3]) {
      const db = await pg.createDatabase(`bench_nodes_${nodes}`);
      const label = `pg-${nodes}-node${nodes > 1 ? "s" : ""}`;
      const r = spawnSync(process.execPath, [path.join(__dirname, "cloud-ingest.cjs"), "--cameras", cameras, "--seconds", seconds, "--label", label], {
        env: { ...process.env, BENCH_CLOUD_DB: db, BENCH_CLOUD_NODES: String(nodes) }, stdio: "inherit",
      });
      if (r.status !== 0) process.exitCode = 1;
    }
  } finally {
    await pg.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
