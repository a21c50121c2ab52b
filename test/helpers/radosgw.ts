/**
 * A real S3 server for tests: Ceph's RADOS Gateway (Debian's `radosgw`) over a one-node Ceph cluster — one
 * monitor and one OSD keeping objects in memory (memstore) — in a temp folder, on free loopback ports, no
 * authentication inside the cluster, one S3 user and one bucket. Starts in about 10-15 s.
 *
 *   const rgw = await startRadosgw();
 *   const store = S3BlobStore.open({ ...rgw.storeOptions, prefix: "sealcam" });
 *   ...
 *   await rgw.stop();
 *
 * Needs the Debian packages radosgw, ceph-mon, ceph-osd (scripts/setup-system.sh installs them). The
 * daemons run in the foreground as children of this process and are stopped by their pids.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as http from "node:http";
import * as nodeCrypto from "node:crypto";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { freePort } from "./free-port";
import type { S3rverHandle } from "./s3rver";

export type RadosgwHandle = S3rverHandle;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `ready` every 250 ms until it is true, at most `ms`; then fails naming `what`, with the logs' last lines. */
async function waitFor(what: string, ms: number, ready: () => Promise<boolean> | boolean, logDir: string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await ready()) return;
    await sleep(250);
  }
  const tails = fs.readdirSync(logDir).map((name) => `${name}:\n${fs.readFileSync(path.join(logDir, name), "utf8").split("\n").slice(-12).join("\n")}`);
  throw new Error(`radosgw test cluster: ${what} not ready after ${ms} ms\n${tails.join("\n")}`);
}

function httpAnswers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      res.resume();
      resolve(true);
    });
    req.on("error", () => resolve(false));
    req.setTimeout(1000, () => req.destroy());
  });
}

export interface RadosgwOptions {
  /** rgw_multipart_min_part_size (default: Ceph's, 5 MiB, as S3). */
  minPartSize?: number;
  bucket?: string;
}

export async function startRadosgw(options: RadosgwOptions = {}): Promise<RadosgwHandle> {
  for (const tool of ["radosgw", "ceph-mon", "ceph-osd", "monmaptool", "ceph", "radosgw-admin"]) {
    try {
      execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
    } catch {
      throw new Error(`radosgw test cluster: ${tool} is not installed; run scripts/setup-system.sh (radosgw ceph-mon ceph-osd)`);
    }
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-rgw-"));
  const children: ChildProcess[] = [];
  const stop = async () => {
    for (const child of children.reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await Promise.race([exited, sleep(5000)]);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGKILL");
        await exited;
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const [monPort, rgwPort] = [await freePort(), await freePort()];
    const fsid = nodeCrypto.randomUUID();
    for (const d of ["run", "log", "mon", "osd"]) fs.mkdirSync(path.join(dir, d));
    const conf = path.join(dir, "ceph.conf");
    fs.writeFileSync(conf, [
      "[global]",
      `fsid = ${fsid}`,
      `mon host = v1:127.0.0.1:${monPort}`,
      "mon initial members = a",
      "public addr = 127.0.0.1",
      "ms bind ipv6 = false",
      "ms bind msgr2 = false",
      "auth cluster required = none",
      "auth service required = none",
      "auth client required = none",
      "osd pool default size = 1",
      "osd pool default min size = 1",
      "mon allow pool size one = true",
      "mon warn on pool no redundancy = false",
      "mon data avail warn = 1",
      "mon data avail crit = 1",
      "osd objectstore = memstore",
      "memstore device bytes = 2147483648",
      "osd crush chooseleaf type = 0",
      // The OSD is placed in the CRUSH map here, not by the OSD asking the monitor at start (that command
      // sometimes went unanswered, or refused, on a loaded machine, and the OSD never came up).
      "osd crush update on start = false",
      "osd class update on start = false",
      "mon max pg per osd = 1000",
      "osd pool default pg num = 8",
      "osd pool default pgp num = 8",
      "osd pool default pg autoscale mode = off",
      `run dir = ${dir}/run`,
      `admin socket = ${dir}/run/$name.asok`,
      `log file = ${dir}/log/$name.log`,
      `mon data = ${dir}/mon/$name`,
      `osd data = ${dir}/osd/$name`,
      "log to stderr = false",
      "err to stderr = false",
      "[client.rgw]",
      `rgw frontends = beast endpoint=127.0.0.1:${rgwPort}`,
      ...(options.minPartSize === undefined ? [] : [`rgw multipart min part size = ${options.minPartSize}`]),
      "",
    ].join("\n"));
    const c = ["-c", conf];
    const run = (cmd: string, args: string[]) => execFileSync(cmd, [...c, ...args], { timeout: 60_000, stdio: ["ignore", "pipe", "pipe"] }).toString();
    const daemon = (cmd: string, args: string[]) => {
      const child = spawn(cmd, [...c, "-f", ...args], { stdio: "ignore" });
      children.push(child);
      return child;
    };

    execFileSync("monmaptool", ["--create", "--addv", "a", `[v1:127.0.0.1:${monPort}]`, "--fsid", fsid, path.join(dir, "monmap")], { stdio: "ignore" });
    run("ceph-mon", ["--mkfs", "-i", "a", "--monmap", path.join(dir, "monmap")]);
    daemon("ceph-mon", ["-i", "a"]);
    const osdUuid = nodeCrypto.randomUUID();
    const osdId = run("ceph", ["--connect-timeout", "30", "osd", "new", osdUuid]).trim();
    fs.mkdirSync(path.join(dir, "osd", `osd.${osdId}`));
    run("ceph-osd", ["-i", osdId, "--mkfs", "--osd-uuid", osdUuid]);
    run("ceph", ["--connect-timeout", "30", "osd", "crush", "add", `osd.${osdId}`, "1", "root=default"]);
    daemon("ceph-osd", ["-i", osdId]);
    await waitFor("the OSD", 60_000, () => {
      try {
        return (JSON.parse(run("ceph", ["--connect-timeout", "10", "osd", "stat", "-f", "json"])) as { num_up_osds: number }).num_up_osds === 1;
      } catch {
        return false;
      }
    }, path.join(dir, "log"));
    daemon("radosgw", ["-n", "client.rgw"]);
    const endpoint = `http://127.0.0.1:${rgwPort}`;
    await waitFor("the gateway", 60_000, () => httpAnswers(endpoint), path.join(dir, "log"));
    // Test credentials of a user in a throw-away cluster (not secrets).
    const credentials = { accessKeyId: `SEALCAMTEST${rgwPort}`, secretAccessKey: nodeCrypto.randomBytes(20).toString("hex") };
    run("radosgw-admin", ["user", "create", "--uid=sealcam", "--display-name=sealcam", `--access-key=${credentials.accessKeyId}`, `--secret-key=${credentials.secretAccessKey}`]);
    const bucket = options.bucket ?? "sealcam-test";
    const client = new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true, credentials });
    try {
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
    } finally {
      client.destroy();
    }
    return {
      endpoint,
      bucket,
      directory: dir,
      storeOptions: { bucket, endpoint, region: "us-east-1", forcePathStyle: true, credentials },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
