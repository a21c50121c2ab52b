/**
 * Shared set-up for the cloud tests: an account with E2EE (a real phone enrollment), a camera with a
 * certificate from the account root, registered; raw HTTP helpers that can pick the client's source address
 * (any 127.0.0.0/8 address on Linux), so per-address limits can be exercised on loopback; and a cloud in a
 * child process (bundled from the current sources with esbuild) whose memory is its own.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { spawn, type ChildProcess } from "node:child_process";
import { toBase64Url, toHex } from "../../firmware/core/bytes";
import { ClipSealer, CONTENT_TYPE_FRAMES, encodeFrame } from "../../firmware/core/clip";
import { buildCsr } from "../../firmware/core/csr";
import { signRequest } from "../../firmware/core/request-auth";
import type { P256PrivateKey } from "../../firmware/platform/crypto";
import { startCloud, type CloudOptions, type CloudServer } from "../../host-tools/cloud/server";
import { openBlobStore, parseBlobsOption, type BlobStore } from "../../host-tools/cloud/blobs";
import { Phone } from "../../host-tools/phone/phone";
import { NodeCrypto } from "../../host-tools/platform/node-crypto";
import { startPostgres, type PgCluster } from "./postgres";
import { startS3rver, type S3rverHandle } from "../helpers/s3rver";

export const crypto = new NodeCrypto();

/**
 * The storage bodies the cloud tests run against: SQLite + files (default) or PostgreSQL + S3
 * (SEALCAM_TEST_DB=postgres; `make test` runs test/cloud both ways). With PostgreSQL, one throw-away cluster
 * and one s3rver (test/helpers/s3rver.ts) per test file (started on first use), and per cloud data directory
 * one database and one key prefix in the s3rver's bucket (a cloud restarted on the same directory finds its
 * data again).
 */
export const TEST_DB: "sqlite" | "postgres" = process.env.SEALCAM_TEST_DB === "postgres" ? "postgres" : "sqlite";
let cluster: Promise<PgCluster> | null = null;
let s3: Promise<S3rverHandle> | null = null;
const databases = new Map<string, Promise<string>>();
const prefixes = new Map<string, string>();
const clouds: CloudServer[] = [];
if (TEST_DB === "postgres") {
  afterAll(async () => {
    // The clouds first (their pools and S3 clients), then the cluster and the s3rver.
    await Promise.all(clouds.map((c) => c.close()));
    if (cluster) await (await cluster).stop();
    if (s3) await (await s3).stop();
  });
}

/** The s3rver of this test file (PostgreSQL runs only); its fixed test credentials are put in the environment. */
export function testS3(): Promise<S3rverHandle> {
  return (s3 ??= startS3rver().then((handle) => {
    // The standard AWS variables, as for `cloud serve` (children started by the tests inherit them).
    process.env.AWS_ACCESS_KEY_ID = handle.storeOptions.credentials.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = handle.storeOptions.credentials.secretAccessKey;
    return handle;
  }));
}

/** The blob-store options for a cloud on `dataDir`: none (the files body) or an s3:// prefix and endpoint. */
export async function testBlobs(dataDir: string): Promise<{ blobs?: string; s3Endpoint?: string }> {
  if (TEST_DB === "sqlite") return {};
  const server = await testS3();
  const key = path.resolve(dataDir);
  let prefix = prefixes.get(key);
  if (!prefix) {
    prefix = `cloud-${prefixes.size + 1}`;
    prefixes.set(key, prefix);
  }
  return { blobs: `s3://${server.bucket}/${prefix}`, s3Endpoint: server.endpoint };
}

/** The shared PostgreSQL cluster of this test file (PostgreSQL runs only). */
export function testCluster(): Promise<PgCluster> {
  return (cluster ??= startPostgres());
}

/** The `db` option for a cloud on `dataDir`: undefined (SQLite in the data directory) or a database URL. */
export function testDb(dataDir: string): Promise<string | undefined> {
  if (TEST_DB === "sqlite") return Promise.resolve(undefined);
  const key = path.resolve(dataDir);
  let url = databases.get(key);
  if (!url) {
    url = testCluster().then((c) => c.createDatabase());
    databases.set(key, url);
  }
  return url;
}

const blobStores: BlobStore[] = [];
afterAll(async () => {
  await Promise.all(blobStores.splice(0).map((b) => b.close()));
});

/**
 * A blob store over what the cloud on `dataDir` stores (the same folder, or the same bucket and prefix): to
 * look at it, or change it as an operator or a crash would, whichever body is under test.
 */
export async function testBlobStore(dataDir: string): Promise<BlobStore> {
  const b = await testBlobs(dataDir);
  const store = await openBlobStore(parseBlobsOption(b.blobs, path.resolve(dataDir), b.s3Endpoint));
  blobStores.push(store);
  return store;
}

/** What a store holds of a clip, by the files body's names: `<id>.sealed` (complete), `<id>` (an upload). */
export async function storedOf(blobs: BlobStore, clipId: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of blobs.list()) {
    if (e.clipId === clipId && (e.kind === "clip" || e.kind === "upload")) out.push(e.kind === "clip" ? `${clipId}.sealed` : clipId);
  }
  return out.sort();
}

/** startCloud on the body under test (see TEST_DB). */
export async function startTestCloud(options: CloudOptions): Promise<CloudServer> {
  const cloud = await startCloud({ ...(options.blobs === undefined ? await testBlobs(options.dataDir) : {}), ...options, db: options.db ?? (await testDb(options.dataDir)) });
  clouds.push(cloud);
  return cloud;
}

export interface Reply { status: number; headers: http.IncomingHttpHeaders; json: Record<string, unknown> }

/** One HTTP request over a fresh connection (no keep-alive), optionally from a given loopback address. */
export function request(
  base: string, method: string, p: string,
  options: { body?: Uint8Array | string; headers?: Record<string, string>; token?: string; from?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const body = options.body === undefined ? undefined : typeof options.body === "string" ? Buffer.from(options.body) : Buffer.from(options.body);
    const headers: Record<string, string | number> = { ...(options.headers ?? {}) };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (body) headers["content-length"] = body.length;
    const req = http.request(base + p, { method, headers, agent: false, localAddress: options.from }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        resolve({ status: res.statusCode ?? 0, headers: res.headers, json: text.startsWith("{") ? (JSON.parse(text) as Record<string, unknown>) : { raw: text } });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

export interface Camera {
  id: string;
  key: P256PrivateKey;
  certificate: Uint8Array;
}

/** A camera-signed request (the five x-sealcam headers, as the firmware sends them). */
export function cameraRequest(base: string, cam: Camera, method: string, p: string, body: Uint8Array = new Uint8Array(0), now = Date.now()): Promise<Reply> {
  const headers = signRequest(crypto, cam.key, { cameraId: cam.id, method, path: p, body, timestamp: now });
  return request(base, method, p, { headers, body: method === "GET" ? undefined : body });
}

export interface Account {
  phone: Phone;
  /** The E2EE passphrase (10 words) shown at enrollment. */
  passphrase: string;
  creds: { email: string; password: string };
  token: string;
  accountId: string;
  camera: Camera;
}

/** Issues a certificate for a new camera of `acct` and registers it. */
export async function addCamera(base: string, acct: { phone: Phone }, cameraId: string, now = Date.now): Promise<Camera> {
  const key = crypto.p256Generate();
  const issued = await acct.phone.issueCameraCertificate(buildCsr(crypto, key, cameraId));
  const camera = { id: cameraId, key, certificate: issued.certificateDer };
  const body = new Uint8Array(Buffer.from(JSON.stringify({ accountId: acct.phone.state().accountId, certificate: toBase64Url(camera.certificate) })));
  const reg = await cameraRequest(base, camera, "POST", "/v1/camera/register", body, now());
  if (reg.status !== 201) throw new Error(`camera registration failed: ${reg.status} ${JSON.stringify(reg.json)}`);
  return camera;
}

/** Enrolls a phone on `base` (roster v1) and sets up and registers one camera. */
export async function setUpAccount(base: string, home: string, email = "owner@example.org", cameraId = "cam-fixture", now = Date.now): Promise<Account> {
  const creds = { email, password: "correct horse battery" };
  const phone = new Phone({ home: path.join(home, "phone-" + email.replace(/[^a-z0-9]/g, "")), cloud: base });
  const { passphrase } = await phone.enroll(creds, "owner-phone");
  const camera = await addCamera(base, { phone }, cameraId, now);
  return { phone, passphrase, creds, token: phone.state().token, accountId: phone.state().accountId, camera };
}

/** A small sealed clip (head, segments, footer) from `cam` to the roster's recipients. */
export function sealClip(cam: Camera, recipients: ConstructorParameters<typeof ClipSealer>[0]["recipients"], rosterVersion: number, sequence = 1, segmentSize = 4096) {
  const sealer = new ClipSealer({
    crypto, cameraKey: cam.key, cameraId: cam.id, cameraCertHash: crypto.sha256(cam.certificate), sequence, startTime: Date.now(),
    contentType: CONTENT_TYPE_FRAMES, recipients, rosterVersion, segmentSize,
  });
  const frames = [0, 1, 2].map((i) => encodeFrame({ time: 1700000000000 + i * 100, jpeg: new Uint8Array(Buffer.concat([Buffer.from([0xff, 0xd8]), Buffer.alloc(3000, i), Buffer.from([0xff, 0xd9])])) }));
  const segments = frames.flatMap((f) => sealer.write(f)).map((s) => s.bytes);
  const done = sealer.finish();
  segments.push(done.segment.bytes);
  return { clipId: toHex(sealer.clipId), head: sealer.head, segments, footer: done.footer };
}

/** The cloud in its own process (so its RSS is its own), from the current sources. */
export interface ChildCloud {
  url: string;
  pid: number;
  /** Resident set size of the cloud process, bytes (from /proc). */
  rss(): number;
  stop(): Promise<void>;
}

export async function startChildCloud(dataDir: string, workDir: string): Promise<ChildCloud> {
  const esbuild = await import("esbuild");
  const root = path.resolve(__dirname, "../..");
  const out = path.join(workDir, "cloud-child.cjs");
  const entry = path.join(workDir, "cloud-child-entry.ts");
  fs.writeFileSync(entry, [
    `import { startCloud } from ${JSON.stringify(path.join(root, "host-tools/cloud/server"))};`,
    `startCloud({ dataDir: process.argv[2], db: process.argv[3] || undefined, blobs: process.argv[4] || undefined, s3Endpoint: process.argv[5] || undefined }).then((c) => { process.stdout.write("URL " + c.url + "\\n"); process.on("SIGTERM", () => { c.close().then(() => process.exit(0)); }); });`,
  ].join("\n"));
  await esbuild.build({ entryPoints: [entry], bundle: true, platform: "node", format: "cjs", target: "node20", outfile: out, external: ["better-sqlite3", "pg", "@aws-sdk/*"], logLevel: "silent" });
  const blobs = await testBlobs(dataDir);
  const child: ChildProcess = spawn(process.execPath, [out, dataDir, (await testDb(dataDir)) ?? "", blobs.blobs ?? "", blobs.s3Endpoint ?? ""], {
    env: { ...process.env, NODE_PATH: path.join(root, "node_modules") },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let text = "";
    child.stdout!.on("data", (d: Buffer) => {
      text += d.toString();
      const m = /URL (\S+)\n/.exec(text);
      if (m) resolve(m[1]);
    });
    child.once("exit", (code) => reject(new Error(`cloud child exited early (${code})`)));
  });
  return {
    url,
    pid: child.pid!,
    rss: () => {
      const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, "utf8"));
      if (!m) throw new Error("no VmRSS");
      return Number(m[1]) * 1024;
    },
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    }),
  };
}

/** Uploads a fresh clip from `acct`'s camera (head, segments, footer), sealed to the current roster. */
export async function uploadClip(base: string, acct: Account, sequence: number, now = Date.now, parts: "all" | "head" = "all") {
  const { verifyRoster } = await import("../../firmware/core/roster");
  const { fromBase64Url } = await import("../../firmware/core/bytes");
  const r = await request(base, "GET", "/v1/e2ee/roster", { token: acct.token });
  const roster = verifyRoster(crypto, fromBase64Url(r.json.roster as string), fromBase64Url(acct.phone.state().rootCertificate), { minVersion: 1 });
  const clip = sealClip(acct.camera, roster.recipients, roster.version, sequence);
  const put = async (p: string, body: Uint8Array) => {
    const reply = await cameraRequest(base, acct.camera, "PUT", p, body, now());
    if (reply.status !== 201) throw new Error(`upload ${p}: ${reply.status} ${JSON.stringify(reply.json)}`);
  };
  await put(`/v1/clips/${clip.clipId}/head`, clip.head);
  if (parts === "all") {
    for (let i = 0; i < clip.segments.length; i++) await put(`/v1/clips/${clip.clipId}/segments/${i}`, clip.segments[i]);
    await put(`/v1/clips/${clip.clipId}/footer?segments=${clip.segments.length}`, clip.footer);
  }
  return clip;
}

/** `sealcam cloud serve ...` (the real CLI, bundled from the current sources) in a child process. */
export interface ChildCloudCli {
  url: string;
  child: ChildProcess;
  /** Everything the process wrote to stdout so far (its JSON log lines). */
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
}

export async function startChildCloudCli(args: string[], workDir: string): Promise<ChildCloudCli> {
  const esbuild = await import("esbuild");
  const root = path.resolve(__dirname, "../..");
  const out = path.join(workDir, "cloud-cli-child.cjs");
  const entry = path.join(workDir, "cloud-cli-child-entry.ts");
  fs.writeFileSync(entry, [
    `import { main } from ${JSON.stringify(path.join(root, "host-tools/cloud/cli"))};`,
    `main(process.argv.slice(2)).then((code) => { process.exitCode = code; });`,
  ].join("\n"));
  await esbuild.build({ entryPoints: [entry], bundle: true, platform: "node", format: "cjs", target: "node20", outfile: out, external: ["better-sqlite3", "pg", "@aws-sdk/*"], logLevel: "silent" });
  // With PostgreSQL, the data directory's database and S3 prefix (as startTestCloud would use).
  const data = args.indexOf("--data");
  const db = data >= 0 && !args.includes("--db") ? await testDb(args[data + 1]) : undefined;
  if (db) args = [...args, "--db", db];
  const blobs = data >= 0 && !args.includes("--blobs") ? await testBlobs(args[data + 1]) : {};
  if (blobs.blobs) args = [...args, "--blobs", blobs.blobs, "--s3-endpoint", blobs.s3Endpoint as string];
  const child: ChildProcess = spawn(process.execPath, [out, ...args], {
    env: { ...process.env, NODE_PATH: path.join(root, "node_modules") },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<number | string>((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown")));
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on("data", (d: Buffer) => {
      stderr += d.toString();
      const m = /listening on (\S+),/.exec(stderr);
      if (m) resolve(m[1]);
    });
    void exited.then((code) => reject(new Error(`cloud child exited early (${code}): ${stderr}`)));
  });
  return { url, child, stdout: () => stdout, stderr: () => stderr, exited };
}
