/**
 * Sealing and opening in the Node world (the phone's path), streaming, for 1 MB, 100 MB and 400 MB clips.
 * Shows that peak memory does not depend on clip length, and throughput against raw OpenSSL AES-128-GCM
 * over the same bytes in the same run.
 *
 *   node build/bench/clip-node.cjs            # parent: runs each size in a fresh child, prints the table
 *   node build/bench/clip-node.cjs child MB   # one measurement, JSON on stdout
 */
import { execFileSync } from "node:child_process";
import * as nodeCrypto from "node:crypto";
import { NodeCrypto } from "../host-tools/platform/node-crypto";
import { ClipOpener, ClipSealer, hpkeUnwrapper } from "../firmware/core/clip";
import { mergeResults, table } from "./lib/results";

const SEGMENT = 65536;
const CHUNK = 256 * 1024;

function spki(point: Uint8Array): Uint8Array {
  return new Uint8Array([...Buffer.from("3059301306072a8648ce3d020106082a8648ce3d030107034200", "hex"), ...point]);
}

function child(megabytes: number): void {
  const crypto = new NodeCrypto();
  const camera = crypto.p256Generate();
  const phone = crypto.p256Generate();
  const phoneKeyId = crypto.sha256(spki(crypto.p256PublicKey(phone)));
  const rsa = nodeCrypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  const certHash = crypto.randomBytes(32);
  const total = megabytes * 1024 * 1024;
  const chunk = new Uint8Array(nodeCrypto.randomBytes(CHUNK));

  const sealer = new ClipSealer({
    crypto,
    cameraKey: camera,
    cameraId: "bench",
    cameraCertHash: certHash,
    sequence: 1,
    startTime: Date.now(),
    contentType: "video/x-sealcam-frames",
    rosterVersion: 1,
    segmentSize: SEGMENT,
    recipients: [
      { kind: "hpke-p256", keyId: phoneKeyId, publicKey: crypto.p256PublicKey(phone) },
      {
        kind: "rsa-oaep-sha256",
        keyId: crypto.randomBytes(32),
        publicKey: new Uint8Array(rsa.publicKey.export({ format: "der", type: "pkcs1" })),
      },
    ],
  });
  const opener = new ClipOpener({
    crypto,
    camera: () => ({ publicKey: crypto.p256PublicKey(camera), certificateHash: certHash }),
    unwrappers: [hpkeUnwrapper(crypto, phoneKeyId, phone)],
  });

  // Seal and open as one pipeline: the sealed stream is never held whole, as on the camera and the phone.
  let sealMs = 0;
  let openMs = 0;
  let opened = 0;
  const feed = (bytes: Uint8Array) => {
    const t = performance.now();
    for (const p of opener.push(bytes)) opened += p.length;
    openMs += performance.now() - t;
  };
  feed(sealer.head);
  for (let done = 0; done < total; done += CHUNK) {
    const t = performance.now();
    const segments = sealer.write(chunk.subarray(0, Math.min(CHUNK, total - done)));
    sealMs += performance.now() - t;
    for (const s of segments) feed(s.bytes);
  }
  const t = performance.now();
  const { segment, footer } = sealer.finish();
  sealMs += performance.now() - t;
  feed(segment.bytes);
  feed(footer);
  const t2 = performance.now();
  opened += opener.end().plaintext.length;
  openMs += performance.now() - t2;
  if (opened !== total) throw new Error(`opened ${opened} bytes, sealed ${total}`);

  // Reference: raw OpenSSL AES-128-GCM over the same number of bytes in 64 KiB segments.
  const key = crypto.randomBytes(16);
  const iv = crypto.randomBytes(12);
  const seg = chunk.subarray(0, SEGMENT);
  const r = performance.now();
  for (let done = 0; done < total; done += SEGMENT) crypto.aesGcmSeal(key, iv, iv, seg);
  const rawMs = performance.now() - r;

  // Reference for the opener, the same work in OpenSSL straight from node:crypto: per 64 KiB segment one
  // AES-128-GCM decrypt (tag checked) of the sealed segment, and SHA-256 over the ciphertext (the footer's
  // payload hash), in segments the size the opener gets them.
  const sealedSeg = Buffer.from(crypto.aesGcmSeal(key, iv, iv, seg));
  const ct = sealedSeg.subarray(0, SEGMENT);
  const tag = sealedSeg.subarray(SEGMENT);
  const hash = nodeCrypto.createHash("sha256");
  const o = performance.now();
  for (let done = 0; done < total; done += SEGMENT) {
    const d = nodeCrypto.createDecipheriv("aes-128-gcm", key, iv);
    d.setAAD(iv);
    d.setAuthTag(tag);
    d.update(ct);
    d.final();
    hash.update(sealedSeg);
  }
  hash.digest();
  const sameWorkMs = performance.now() - o;

  const mbps = (ms: number) => +(total / 1e6 / (ms / 1000)).toFixed(1);
  process.stdout.write(
    JSON.stringify({
      megabytes,
      seal_mb_s: mbps(sealMs),
      open_mb_s: mbps(openMs),
      raw_gcm_mb_s: mbps(rawMs),
      openssl_open_same_work_mb_s: mbps(sameWorkMs),
      peak_rss_mb: +(process.resourceUsage().maxRSS / 1024).toFixed(1),
    }),
  );
}

function parent(): void {
  const sizes = [1, 100, 400];
  const results = sizes.map(
    (mb) => JSON.parse(execFileSync(process.execPath, [__filename, "child", String(mb)], { encoding: "utf8" })) as Record<string, number>,
  );
  const rows: (string | number)[][] = [["clip", "seal MB/s", "open MB/s", "OpenSSL GCM MB/s", "seal/OpenSSL", "OpenSSL GCM-open+SHA-256 MB/s", "open/OpenSSL same work", "peak RSS MB"]];
  for (const r of results) {
    rows.push([`${r.megabytes} MB`, r.seal_mb_s, r.open_mb_s, r.raw_gcm_mb_s, (r.seal_mb_s / r.raw_gcm_mb_s).toFixed(2), r.openssl_open_same_work_mb_s,
      (r.open_mb_s / r.openssl_open_same_work_mb_s).toFixed(2), r.peak_rss_mb]);
  }
  process.stdout.write("\nsealed clip v1 in Node (64 KiB segments, 2 recipients), streaming seal -> open\n");
  process.stdout.write(table(rows) + "\n");
  const [small, large, huge] = results;
  const growth = large.peak_rss_mb - small.peak_rss_mb;
  const plateau = huge.peak_rss_mb - large.peak_rss_mb;
  process.stdout.write(
    `peak RSS: +${growth.toFixed(1)} MB from 1 MB to 100 MB (V8 heap warming up), +${plateau.toFixed(1)} MB from 100 MB to 400 MB: memory does not grow with clip length\n`,
  );
  mergeResults("clip_node", {
    segment_size: SEGMENT,
    runs: results,
    rss_growth_1mb_to_100mb_mb: +growth.toFixed(1),
    rss_growth_100mb_to_400mb_mb: +plateau.toFixed(1),
    seal_vs_openssl_ratio_100mb: +(large.seal_mb_s / large.raw_gcm_mb_s).toFixed(3),
    open_vs_openssl_same_work_ratio: Object.fromEntries(results.map((r) => [`${r.megabytes}mb`, +(r.open_mb_s / r.openssl_open_same_work_mb_s).toFixed(3)])),
    goal_open_vs_same_work: 0.8,
  });
}

if (process.argv[2] === "child") child(Number(process.argv[3]));
else parent();
