/**
 * Runs inside XS (bundled by bench/xs-seal/run.ts): AES-128-GCM segment sealing throughput through the
 * firmware's ClipSealer with NativeCrypto, pure-JS GCM (@noble/ciphers) in XS as the floor, and the
 * per-recipient wrap cost (HPKE P-256 and RSA-OAEP-2048). Emits "done" with the figures.
 */
/// <reference path="../../host-tools/board-sim/xs-host/js/host-globals.d.ts" />
import { gcm } from "@noble/ciphers/aes.js";
import { emit, request } from "sealcam/host-channel";
import { NativeCrypto } from "../../firmware/native/native-crypto";
import { ClipSealer } from "../../firmware/core/clip/sealer";
import { sealSingleShot } from "../../firmware/core/hpke";

const crypto = new NativeCrypto();
const now = (): number => globalThis.__sealcamHost.now();

function sealerThroughput(segmentSize: number, megabytes: number): number {
  const camera = crypto.p256Generate();
  const phone = crypto.p256Generate();
  let best = 0;
  for (let round = 0; round < 3; round++) {
    const sealer = new ClipSealer({
      crypto,
      cameraKey: camera,
      cameraId: "bench-camera",
      cameraCertHash: new Uint8Array(32),
      sequence: round,
      startTime: 1700000000000,
      contentType: "video/x-sealcam-frames",
      recipients: [{ kind: "hpke-p256", keyId: new Uint8Array(32), publicKey: crypto.p256PublicKey(phone) }],
      rosterVersion: 1,
      segmentSize,
    });
    const chunk = new Uint8Array(segmentSize).fill(7);
    const count = (megabytes * 1048576) / segmentSize;
    const start = now();
    let bytes = 0;
    for (let i = 0; i < count; i++) for (const segment of sealer.write(chunk)) bytes += segment.bytes.length;
    const { segment } = sealer.finish();
    bytes += segment.bytes.length;
    const elapsed = now() - start;
    if (bytes < megabytes * 1048576) throw new Error("sealer produced too little");
    best = Math.max(best, megabytes / (elapsed / 1000));
  }
  return best;
}

/** The bare native call per segment (no sealer framing): separates binding cost from sealer cost. */
function nativeThroughput(segmentSize: number, megabytes: number): number {
  const key = crypto.randomBytes(16);
  const nonce = new Uint8Array(12);
  const aad = new Uint8Array(16);
  const data = new Uint8Array(segmentSize);
  let best = 0;
  for (let round = 0; round < 3; round++) {
    const start = now();
    for (let i = 0; i < (megabytes * 1048576) / segmentSize; i++) {
      nonce[11] = i & 255;
      crypto.aesGcmSeal(key, nonce, aad, data);
    }
    best = Math.max(best, megabytes / ((now() - start) / 1000));
  }
  return best;
}

function nobleThroughput(segmentSize: number): number {
  const key = new Uint8Array(16).fill(1);
  const data = new Uint8Array(segmentSize);
  const nonce = new Uint8Array(12);
  const start = now();
  const rounds = 2;
  for (let i = 0; i < rounds; i++) {
    nonce[11] = i;
    gcm(key, nonce, new Uint8Array(16)).encrypt(data);
  }
  return (rounds * segmentSize) / 1048576 / ((now() - start) / 1000);
}

function msPer(fn: () => void, iterations: number): number {
  fn(); // warm up
  const start = now();
  for (let i = 0; i < iterations; i++) fn();
  return (now() - start) / iterations;
}

void (async () => {
  const rsaPublic = (await request("rsa-public")) as Uint8Array;
  const phone = crypto.p256Generate();
  const phonePublic = crypto.p256PublicKey(phone);
  const clipKey = crypto.randomBytes(16);
  const label = new Uint8Array(32);
  emit("done", {
    seal_16k: sealerThroughput(16384, 16),
    seal_64k: sealerThroughput(65536, 16),
    native_16k: nativeThroughput(16384, 16),
    native_64k: nativeThroughput(65536, 16),
    noble_16k: nobleThroughput(16384),
    noble_64k: nobleThroughput(65536),
    hpke_wrap_ms: msPer(() => void sealSingleShot(crypto, phonePublic, label, new Uint8Array(0), clipKey), 50),
    rsa_wrap_ms: msPer(() => void crypto.rsaOaepSha256Encrypt(rsaPublic, clipKey, label), 50),
  });
})();
