/**
 * Runs inside XS (bundled by bench/xs-seal/run.ts). For 16 KiB and 64 KiB segments it alternates, ROUNDS times:
 * a pass of the plain-C loop (Node runs gcm_ceiling.c on request, while XS waits) and a pass in XS, so both
 * see the same machine load; the best pass of each counts.
 *   seal: firmware ClipSealer.write/finish with NativeCrypto   vs   C: copy + GCM + SHA-256 per segment
 *   gcm:  one NativeCrypto.aesGcmSeal per segment                vs   C: one psa_aead_encrypt per segment
 * Plus pure-JS GCM (@noble/ciphers) in XS, and the per-recipient wrap cost (HPKE P-256, RSA-OAEP-2048).
 */
/// <reference path="../../host-tools/board-sim/xs-host/js/host-globals.d.ts" />
import { gcm } from "@noble/ciphers/aes.js";
import { emit, request } from "sealcam/host-channel";
import { NativeCrypto } from "../../firmware/native/native-crypto";
import { ClipSealer } from "../../firmware/core/clip/sealer";
import { sealSingleShot } from "../../firmware/core/hpke";

const crypto = new NativeCrypto();
const now = (): number => globalThis.__sealcamHost.now();
const MEGABYTES = 16;
const ROUNDS = 5;

const camera = crypto.p256Generate();
const phone = crypto.p256Generate();
const phonePublic = crypto.p256PublicKey(phone);

/** One pass of the sealer over MEGABYTES of plaintext; MiB/s. The head (per clip, not per segment) is excluded. */
function sealerPass(segmentSize: number): number {
  const sealer = new ClipSealer({
    crypto,
    cameraKey: camera,
    cameraId: "bench-camera",
    cameraCertHash: new Uint8Array(32),
    sequence: 1,
    startTime: 1700000000000,
    contentType: "video/x-sealcam-frames",
    recipients: [{ kind: "hpke-p256", keyId: new Uint8Array(32), publicKey: phonePublic }],
    rosterVersion: 1,
    segmentSize,
  });
  const chunk = new Uint8Array(segmentSize).fill(7);
  const count = (MEGABYTES * 1048576) / segmentSize;
  const start = now();
  let bytes = 0;
  for (let i = 0; i < count; i++) for (const segment of sealer.write(chunk)) bytes += segment.bytes.length;
  bytes += sealer.finish().segment.bytes.length;
  const elapsed = now() - start;
  if (bytes < MEGABYTES * 1048576) throw new Error("sealer produced too little");
  return MEGABYTES / (elapsed / 1000);
}

/** One pass of bare native GCM calls, one per segment; MiB/s. */
function gcmPass(segmentSize: number): number {
  const key = crypto.randomBytes(16);
  const nonce = new Uint8Array(12);
  const aad = new Uint8Array(32);
  const data = new Uint8Array(segmentSize);
  const start = now();
  for (let i = 0; i < (MEGABYTES * 1048576) / segmentSize; i++) {
    nonce[11] = i & 255;
    crypto.aesGcmSeal(key, nonce, aad, data);
  }
  return MEGABYTES / ((now() - start) / 1000);
}

function noblePass(segmentSize: number): number {
  const key = new Uint8Array(16).fill(1);
  const data = new Uint8Array(segmentSize);
  const nonce = new Uint8Array(12);
  const start = now();
  gcm(key, nonce, new Uint8Array(32)).encrypt(data);
  return segmentSize / 1048576 / ((now() - start) / 1000);
}

function msPer(fn: () => void, iterations: number): number {
  fn(); // warm up
  const start = now();
  for (let i = 0; i < iterations; i++) fn();
  return (now() - start) / iterations;
}

async function compare(segment: number): Promise<{ xs_seal: number; c_seal: number; xs_gcm: number; c_gcm: number }> {
  const best = { xs_seal: 0, c_seal: 0, xs_gcm: 0, c_gcm: 0 };
  sealerPass(segment); // warm up
  gcmPass(segment);
  for (let round = 0; round < ROUNDS; round++) {
    best.c_seal = Math.max(best.c_seal, (await request("ceiling", { segment, megabytes: MEGABYTES, mode: "seal" })) as number);
    best.xs_seal = Math.max(best.xs_seal, sealerPass(segment));
    best.c_gcm = Math.max(best.c_gcm, (await request("ceiling", { segment, megabytes: MEGABYTES, mode: "gcm" })) as number);
    best.xs_gcm = Math.max(best.xs_gcm, gcmPass(segment));
  }
  return best;
}

void (async () => {
  const rsaPublic = (await request("rsa-public")) as Uint8Array;
  const clipKey = crypto.randomBytes(16);
  const label = new Uint8Array(32);
  const s16 = await compare(16384);
  const s64 = await compare(65536);
  emit("done", {
    seal_16k: s16.xs_seal, c_seal_16k: s16.c_seal, gcm_16k: s16.xs_gcm, c_gcm_16k: s16.c_gcm,
    seal_64k: s64.xs_seal, c_seal_64k: s64.c_seal, gcm_64k: s64.xs_gcm, c_gcm_64k: s64.c_gcm,
    noble_16k: noblePass(16384),
    noble_64k: noblePass(65536),
    hpke_wrap_ms: msPer(() => void sealSingleShot(crypto, phonePublic, label, new Uint8Array(0), clipKey), 50),
    rsa_wrap_ms: msPer(() => void crypto.rsaOaepSha256Encrypt(rsaPublic, clipKey, label), 50),
  });
})();
