/**
 * A throw-away PostgreSQL cluster for tests: Debian's initdb/pg_ctl in a temporary directory, on a free
 * loopback port, torn down afterwards. PostgreSQL refuses to run as root (CI runs as root), so when root the
 * cluster belongs to the system user `sealcam-pg` (created once with useradd) and its commands run through
 * runuser. fsync is off: this data is thrown away (durability is PostgreSQL's, tested by PostgreSQL).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { freePort } from "../helpers/free-port";
import { execFileSync } from "node:child_process";

const USER = "sealcam-pg";

export interface PgCluster {
  /** postgres:// URL of the cluster's `postgres` database (superuser sealcam, trust auth on loopback). */
  adminUrl: string;
  /** Creates a fresh, empty database; returns its URL. */
  createDatabase(name?: string): Promise<string>;
  stop(): Promise<void>;
}

/** The directory holding initdb and pg_ctl (Debian's /usr/lib/postgresql/N/bin, or PATH). */
export function postgresBin(): string {
  const root = "/usr/lib/postgresql";
  if (fs.existsSync(root)) {
    const versions = fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, "bin", "initdb"))).sort((a, b) => Number(b) - Number(a));
    if (versions.length > 0) return path.join(root, versions[0], "bin");
  }
  for (const dir of (process.env.PATH ?? "").split(":")) if (dir && fs.existsSync(path.join(dir, "initdb"))) return dir;
  throw new Error("PostgreSQL is not installed (no initdb): run scripts/setup-system.sh (apt-get install postgresql)");
}


const isRoot = () => typeof process.getuid === "function" && process.getuid() === 0;

function ensureUser(): void {
  try {
    execFileSync("id", ["-u", USER], { stdio: "ignore" });
  } catch {
    try {
      execFileSync("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER], { stdio: "pipe" });
    } catch (error) {
      // Another test file may have created it at the same moment.
      try {
        execFileSync("id", ["-u", USER], { stdio: "ignore" });
      } catch {
        throw error;
      }
    }
  }
}

/** Runs a PostgreSQL program as the cluster's owner. */
function runAs(bin: string, args: string[]): void {
  const [file, argv] = isRoot() ? ["runuser", ["-u", USER, "--", bin, ...args]] : [bin, args];
  execFileSync(file, argv, { stdio: "pipe", timeout: 60_000 });
}

/** `fsync`: keep PostgreSQL's durability (benchmarks); tests turn it off (their data is thrown away). */
export async function startPostgres(options: { fsync?: boolean } = {}): Promise<PgCluster> {
  const bin = postgresBin();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-pg-"));
  if (isRoot()) {
    ensureUser();
    execFileSync("chown", ["-R", USER, dir]);
  }
  const data = path.join(dir, "data");
  runAs(path.join(bin, "initdb"), ["-D", data, "-U", "sealcam", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"]);
  const port = await freePort();
  const serverOptions = [
    `-p ${port}`, "-c listen_addresses=127.0.0.1", `-c unix_socket_directories=${dir}`,
    ...(options.fsync ? [] : ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]), "-c max_connections=200",
  ].join(" ");
  runAs(path.join(bin, "pg_ctl"), ["-D", data, "-o", serverOptions, "-l", path.join(dir, "log"), "-w", "-t", "60", "start"]);
  const adminUrl = `postgres://sealcam@127.0.0.1:${port}/postgres`;
  let count = 0;
  let stopped = false;
  return {
    adminUrl,
    async createDatabase(name = `t${process.pid}_${++count}`) {
      const { Client } = await import("pg");
      const client = new Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return `postgres://sealcam@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        runAs(path.join(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"]);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
