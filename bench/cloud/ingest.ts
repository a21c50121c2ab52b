/**
 * make bench-cloud (issue 14 §2 items 7 and 8): N cameras upload real sealed clips concurrently to one cloud
 * (a child process, bench/cloud/child.ts) on loopback for a fixed time; then every clip the cloud acknowledged
 * is downloaded and opened by the enrolled phone (Phone.open: head verified against the account root, every
 * segment and the footer checked) — lost = acknowledged but not downloadable, corrupted = does not open.
 *
 * Cameras are a light replayer, not firmware in XS: each camera is its own identity (P-256 key, certificate
 * issued by the phone from its CSR, registered with POST /v1/camera/register) and sends the firmware's real
 * requests (head, 64 KiB segments, footer; each signed with signRequest — ECDSA by OpenSSL here, see
 * RequestSigner —, one request at a time per camera,
 * a keep-alive connection per camera). Each clip (4 MiB of frames) is sealed by ClipSealer with the account
 * roster's recipients just before its upload starts, off the clock of the latency figures.
 *
 * Reference in the same run: this disk's rate for the cloud's own write pattern per segment in a plain Node
 * loop (bench/lib/disk.ts).
 *
 *   node build/bench/cloud-ingest.cjs [--cameras 1,5,20,50] [--seconds 8]
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as nodeCrypto from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { toBase64Url, toHex, fromBase64Url } from "../../firmware/core/bytes";
import { ClipSealer, CONTENT_TYPE_FRAMES, encodeFrame } from "../../firmware/core/clip";
import { buildCsr } from "../../firmware/core/csr";
import { signRequest } from "../../firmware/core/request-auth";
import { verifyRoster } from "../../firmware/core/roster";
import type { P256PrivateKey } from "../../firmware/platform/crypto";
import { Phone } from "../../host-tools/phone/phone";
import { NodeCrypto } from "../../host-tools/platform/node-crypto";
import { diskReference } from "../lib/disk";
import { cpuSeconds, machine, percentile, rssMb, sleep } from "../lib/proc";
import { mergeResults, table } from "../lib/results";

const crypto = new NodeCrypto();

/**
 * The load generator's request signer: the same ECDSA P-256 / SHA-256 signatures over the same canonical
 * request (signRequest), made by OpenSSL (random k) instead of NodeCrypto's deterministic pure-JS signer,
 * which cost the generator ~2 ms of CPU per request — the cloud verifies both alike. Clip heads are still
 * signed by NodeCrypto inside ClipSealer, as the firmware does.
 */
class RequestSigner extends NodeCrypto {
  readonly #keys = new WeakMap<P256PrivateKey, nodeCrypto.KeyObject>();
  ecdsaP256Sign(key: P256PrivateKey, message: Uint8Array): Uint8Array {
    let keyObject = this.#keys.get(key);
    if (!keyObject) {
      const d = Buffer.from(this.p256Export(key));
      const ecdh = nodeCrypto.createECDH("prime256v1");
      ecdh.setPrivateKey(d);
      const point = ecdh.getPublicKey();
      keyObject = nodeCrypto.createPrivateKey({
        key: { kty: "EC", crv: "P-256", d: d.toString("base64url"), x: point.subarray(1, 33).toString("base64url"), y: point.subarray(33).toString("base64url") },
        format: "jwk",
      });
      this.#keys.set(key, keyObject);
    }
    return new Uint8Array(nodeCrypto.sign("sha256", message, { key: keyObject, dsaEncoding: "ieee-p1363" }));
  }
}
const signer = new RequestSigner();
const SEGMENT = 65536;
const CLIP_PLAINTEXT = 4 * 1024 * 1024;
const ROOT = process.cwd();

interface Camera { id: string; key: P256PrivateKey; certificate: Uint8Array; agent: http.Agent }
interface Reply { status: number; body: string }

function put(base: string, cam: Camera, p: string, body: Uint8Array): Promise<Reply> {
  const headers = signRequest(signer, cam.key, { cameraId: cam.id, method: "PUT", path: p, body, timestamp: Date.now() });
  return new Promise((resolve, reject) => {
    const req = http.request(base + p, { method: "PUT", agent: cam.agent, headers: { ...headers, "content-length": body.length } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

async function startCloud(dataDir: string, logFile: string): Promise<{ url: string; pid: number; child: ChildProcess; stop(): Promise<void> }> {
  // BENCH_CLOUD_PROF=<dir> (diagnosis, off by default): the cloud runs under `node --cpu-prof`, profile in <dir>.
  const prof = process.env.BENCH_CLOUD_PROF ? ["--cpu-prof", `--cpu-prof-dir=${path.resolve(process.env.BENCH_CLOUD_PROF)}`] : [];
  // BENCH_CLOUD_CHILD=<bundle> runs another build of the child (e.g. an older cloud, for a before/after).
  const bundle = process.env.BENCH_CLOUD_CHILD ? path.resolve(process.env.BENCH_CLOUD_CHILD) : path.join(ROOT, "build/bench/cloud-child.cjs");
  const child = spawn(process.execPath, [...prof, bundle, dataDir, logFile], {
    env: { ...process.env, NODE_PATH: path.join(ROOT, "node_modules") },
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
    url, pid: child.pid!, child,
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    }),
  };
}

type Recipients = ConstructorParameters<typeof ClipSealer>[0]["recipients"];

function sealClip(cam: Camera, recipients: Recipients, rosterVersion: number, sequence: number, frame: Uint8Array) {
  const sealer = new ClipSealer({
    crypto, cameraKey: cam.key, cameraId: cam.id, cameraCertHash: crypto.sha256(cam.certificate), sequence, startTime: Date.now(),
    contentType: CONTENT_TYPE_FRAMES, recipients, rosterVersion, segmentSize: SEGMENT,
  });
  const segments: Uint8Array[] = [];
  let plain = 0;
  for (let i = 0; plain < CLIP_PLAINTEXT; i++) {
    const f = encodeFrame({ time: 1700000000000 + i * 100, jpeg: frame });
    plain += f.length;
    for (const s of sealer.write(f)) segments.push(s.bytes);
  }
  const done = sealer.finish();
  segments.push(done.segment.bytes);
  return { clipId: toHex(sealer.clipId), head: sealer.head, segments, footer: done.footer, plaintext: plain };
}

interface RunResult {
  cameras: number; paced_mb_s_per_camera: number | null; seconds: number;
  clips: number; clips_per_s: number; mb_s: number; offered_mb_s: number | null; segments: number; p50_ms: number; p99_ms: number; max_ms: number;
  cloud_cpu_s: number; cloud_cpu_ms_per_mb: number; cloud_cpu_pct: number; cloud_rss_mb: number;
  generator_cpu_pct: number; errors: number;
}

async function run(bases: string[], pids: number[], cams: Camera[], recipients: Recipients, rosterVersion: number, seconds: number,
  pacedBytesPerS: number | null, acked: Map<string, { plaintext: number }>, frame: Uint8Array): Promise<RunResult> {
  const latencies: number[] = [];
  let windowBytes = 0;
  let windowClips = 0;
  let windowSegments = 0;
  let errors = 0;
  let sequence = 0;
  let offeredSeconds = 0; // paced: camera-seconds of recording inside the window (each camera starts a little late)
  const cpuAll = () => pids.reduce((n, pid) => n + cpuSeconds(pid), 0);
  const cpu0 = cpuAll();
  const gen0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  await Promise.all(cams.map(async (cam, c) => {
    let produced = 0; // paced: bytes of sealed stream this camera has "recorded" so far
    const start = performance.now() + (c * 37) % 250; // spread the starts a little
    offeredSeconds += (end - start) / 1000;
    while (performance.now() < end) {
      const clip = sealClip(cam, recipients, rosterVersion, ++sequence, frame);
      const parts: [string, Uint8Array][] = [[`/v1/clips/${clip.clipId}/head`, clip.head]];
      clip.segments.forEach((s, i) => parts.push([`/v1/clips/${clip.clipId}/segments/${i}`, s]));
      parts.push([`/v1/clips/${clip.clipId}/footer?segments=${clip.segments.length}`, clip.footer]);
      for (const [p, body] of parts) {
        produced += body.length;
        if (pacedBytesPerS) {
          const due = start + (produced / pacedBytesPerS) * 1000;
          const wait = due - performance.now();
          if (wait > 0) await sleep(wait);
        }
        // The in-flight clip is finished after the deadline (so every acknowledged clip is whole), off the window.
        for (let attempt = 0; ; attempt++) {
          const t = performance.now();
          const reply = await put(bases[c % bases.length], cam, p, body); // several nodes: cameras round-robin
          const done = performance.now();
          if (reply.status === 201 || reply.status === 200) {
            if (done <= end) {
              windowBytes += body.length;
              if (p.includes("/segments/")) {
                windowSegments++;
                latencies.push(done - t);
              }
            }
            break;
          }
          errors++;
          if (attempt > 20) throw new Error(`${p}: ${reply.status} ${reply.body}`);
          await sleep(reply.status === 429 ? 200 : 50);
        }
      }
      acked.set(clip.clipId, { plaintext: clip.plaintext });
      if (performance.now() <= end) windowClips++;
    }
  }));
  const elapsed = (Math.min(performance.now(), end) - t0) / 1000;
  const cpu = cpuAll() - cpu0;
  const gen = process.cpuUsage(gen0);
  const mb = windowBytes / 1e6;
  return {
    cameras: cams.length,
    paced_mb_s_per_camera: pacedBytesPerS ? pacedBytesPerS / 1e6 : null,
    seconds: +elapsed.toFixed(1),
    clips: windowClips,
    clips_per_s: +(windowClips / elapsed).toFixed(2),
    mb_s: +(mb / elapsed).toFixed(1),
    // Paced: what the cameras recorded inside the window (the most the cloud could have taken in it).
    offered_mb_s: pacedBytesPerS ? +((offeredSeconds * pacedBytesPerS) / 1e6 / elapsed).toFixed(1) : null,
    segments: windowSegments,
    p50_ms: +percentile(latencies, 50).toFixed(1),
    p99_ms: +percentile(latencies, 99).toFixed(1),
    max_ms: +Math.max(...latencies).toFixed(1),
    cloud_cpu_s: +cpu.toFixed(2),
    // CPU over the whole run including the drain after the window; per MB of everything uploaded meanwhile.
    cloud_cpu_ms_per_mb: +((cpu * 1000) / mb).toFixed(2),
    cloud_cpu_pct: +((cpu / elapsed) * 100).toFixed(0),
    cloud_rss_mb: +pids.reduce((n, pid) => n + rssMb(pid).rss, 0).toFixed(1),
    // The load generator (this process: sealing, signing, HTTP clients) shares the machine with the cloud.
    generator_cpu_pct: +(((gen.user + gen.system) / 1e6 / elapsed) * 100).toFixed(0),
    errors,
  };
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
}

async function main(): Promise<void> {
  const counts = arg("--cameras", "1,5,20,50").split(",").map(Number);
  const seconds = Number(arg("--seconds", "8"));
  const label = arg("--label", "");
  const work = path.join(ROOT, "build", "bench", "tmp", `cloud-${process.pid}`);
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  const disk = diskReference(path.join(work, "disk"), SEGMENT + 16, 3000);
  // The request log goes to a file as with `sealcam cloud serve`; BENCH_CLOUD_LOG=off turns it off (diagnosis).
  // BENCH_CLOUD_NODES=N (with BENCH_CLOUD_DB=postgres://…): N cloud processes over one database and one data
  // folder, the cameras spread over them round-robin; CPU and RSS are the nodes' sums.
  const nodeCount = Number(process.env.BENCH_CLOUD_NODES ?? "1");
  if (!(nodeCount >= 1 && nodeCount <= 8) || (nodeCount > 1 && !process.env.BENCH_CLOUD_DB)) throw new Error("BENCH_CLOUD_NODES is 1..8, and more than 1 needs BENCH_CLOUD_DB=postgres://…");
  const nodes: Awaited<ReturnType<typeof startCloud>>[] = [];
  for (let i = 0; i < nodeCount; i++) {
    nodes.push(await startCloud(path.join(work, "cloud"), process.env.BENCH_CLOUD_LOG === "off" ? "" : path.join(work, `cloud-${i}.log`)));
  }
  const cloud = nodes[0];
  try {
    const phone = new Phone({ home: path.join(work, "phone"), cloud: cloud.url });
    const tSetup = performance.now();
    await phone.enroll({ email: "bench@example.org", password: "correct horse battery" }, "bench-phone");
    const accountId = phone.state().accountId;
    const cams: Camera[] = [];
    const maxCams = Math.max(...counts);
    for (let i = 0; i < maxCams; i++) {
      const key = crypto.p256Generate();
      const id = `bench-cam-${i}`;
      const issued = await phone.issueCameraCertificate(buildCsr(crypto, key, id));
      const cam: Camera = { id, key, certificate: issued.certificateDer, agent: new http.Agent({ keepAlive: true, maxSockets: 1 }) };
      const body = new Uint8Array(Buffer.from(JSON.stringify({ accountId, certificate: toBase64Url(cam.certificate) })));
      const headers = signRequest(crypto, key, { cameraId: id, method: "POST", path: "/v1/camera/register", body, timestamp: Date.now() });
      const reg = await fetch(cloud.url + "/v1/camera/register", { method: "POST", headers, body });
      if (reg.status !== 201) throw new Error(`register ${id}: ${reg.status} ${await reg.text()}`);
      cams.push(cam);
    }
    const rosterReply = (await (await fetch(cloud.url + "/v1/e2ee/roster", { headers: { authorization: `Bearer ${phone.state().token}` } })).json()) as { roster: string };
    const roster = verifyRoster(crypto, fromBase64Url(rosterReply.roster), fromBase64Url(phone.state().rootCertificate), { minVersion: 1 });
    const setupS = (performance.now() - tSetup) / 1000;
    const frame = new Uint8Array(Buffer.concat([Buffer.from([0xff, 0xd8]), crypto.randomBytes(65000) as Buffer, Buffer.from([0xff, 0xd9])]));

    const acked = new Map<string, { plaintext: number }>();
    const results: RunResult[] = [];
    // --paced-only: just the goal's row (20 cameras paced), e.g. under BENCH_CLOUD_PROF.
    const plan: [number, number | null][] = process.argv.includes("--paced-only") ? [] : counts.map((n) => [n, null]);
    if (counts.includes(20)) plan.push([20, 2e6]); // the goal: 20 cameras streaming 2 MB/s each
    for (const [n, paced] of plan) {
      results.push(await run(nodes.map((x) => x.url), nodes.map((x) => x.pid), cams.slice(0, n), roster.recipients, roster.version, seconds, paced, acked, frame));
      process.stderr.write(`  ${n} cameras${paced ? " paced" : ""}: ${JSON.stringify(results[results.length - 1])}\n`);
    }

    // Every acknowledged clip, downloaded and opened by the phone (verification of head, segments, footer).
    let lost = 0;
    let corrupted = 0;
    const tOpen = performance.now();
    const out = path.join(work, "opened.bin");
    for (const [clipId, info] of acked) {
      try {
        const r = await phone.open(clipId, out);
        if (r.bytes !== info.plaintext) corrupted++;
      } catch (error) {
        if ((error as { code?: string }).code === "E_NOT_FOUND") lost++;
        else {
          corrupted++;
          process.stderr.write(`  clip ${clipId}: ${(error as Error).message}\n`);
        }
      }
      fs.rmSync(out, { force: true });
    }
    const openS = (performance.now() - tOpen) / 1000;
    for (const c of cams) c.agent.destroy();

    const rows: (string | number)[][] = [[
      "cameras", "mode", "clips/s", "MB/s", "offered MB/s", "x disk (same pattern)", "p50 seg ms", "p99 seg ms", "cloud CPU %", "CPU ms/MB", "cloud RSS MB", "generator CPU %", "retries",
    ]];
    for (const r of results) {
      rows.push([
        r.cameras, r.paced_mb_s_per_camera ? `${r.paced_mb_s_per_camera} MB/s each` : "flat out", r.clips_per_s, r.mb_s, r.offered_mb_s ?? "-",
        (r.mb_s / disk.pwrite_fdatasync_mb_s).toFixed(2), r.p50_ms, r.p99_ms, r.cloud_cpu_pct, r.cloud_cpu_ms_per_mb, r.cloud_rss_mb, r.generator_cpu_pct, r.errors,
      ]);
    }
    console.log(`\ncloud ingest${label ? ` (${label})` : ""}${nodeCount > 1 ? `, ${nodeCount} nodes` : ""}: replayer cameras (own identities, real signed requests), 4 MiB clips, 64 KiB segments, ${seconds} s per row`);
    console.log(table(rows));
    console.log(`reference, same run, this disk, plain Node loop per 64 KiB segment: temp file + write + fsync + rename + fsync dir ${disk.tmp_fsync_rename_mb_s} MB/s; write at offset + fdatasync ${disk.pwrite_fdatasync_mb_s} MB/s`);
    console.log(`re-opened by the phone: ${acked.size} clips, ${lost} lost, ${corrupted} corrupted (${openS.toFixed(1)} s); setup (enroll + ${maxCams} cameras) ${setupS.toFixed(1)} s`);
    mergeResults(label ? `cloud_ingest_${label}` : "cloud_ingest", {
      cameras_are: "replayer of sealed clips (own registered identity each, real signed requests), not firmware in XS",
      clip_plaintext_bytes: CLIP_PLAINTEXT, segment_size: SEGMENT, seconds_per_row: seconds, nodes: nodeCount,
      metadata: process.env.BENCH_CLOUD_DB ? "postgresql" : "sqlite",
      disk_reference: disk, runs: results, clips_acknowledged: acked.size, lost, corrupted, machine: machine(),
    });
    if (lost || corrupted) process.exitCode = 1;
  } finally {
    for (const node of nodes) await node.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
