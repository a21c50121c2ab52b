/**
 * Runs inside XS (bundled by bench/xs-pk/run.ts): the public-key cost of a clip on the camera.
 * Per operation, alternating ROUNDS times with the plain-C reference (pk_ceiling.c, run by Node on request while
 * XS waits), best round of each:
 *   hpke: firmware/core/hpke.ts sealSingleShot of the 16-byte clip key (firmware TS + native PSA calls)
 *   rsa:  NativeCrypto.rsaOaepSha256Encrypt of the clip key (one native call: import, encrypt, destroy)
 *   sign: NativeCrypto.ecdsaP256Sign over a SIGN_BYTES message (the head's size with 4 phones + data key)
 * Per clip: new ClipSealer (N phones + the RSA-OAEP data key) + finish() of an empty clip, i.e. every wrap,
 * the commitment, the header encoding, the head and footer signatures; and, of that, the firmware's header
 * encoding alone (encodeHeader: canonical JSON + base64url, then decoded again as the opener would).
 */
/// <reference path="../../host-tools/board-sim/xs-host/js/host-globals.d.ts" />
import { emit, request } from "sealcam/host-channel";
import { NativeCrypto } from "../../firmware/native/native-crypto";
import { ClipSealer, type RecipientKey } from "../../firmware/core/clip/sealer";
import { sealSingleShot } from "../../firmware/core/hpke";
import { concat, asciiBytes, readU32be } from "../../firmware/core/bytes";
import { decodeHeader, encodeHeader } from "../../firmware/core/clip/header";

const crypto = new NativeCrypto();
const now = (): number => globalThis.__sealcamHost.now();
const ROUNDS = 5;
const ITERATIONS = 40;
const CLIPS = 8;
const PHONES = [1, 2, 4, 8];

function msPer(fn: () => void, iterations: number): number {
  fn(); // warm up
  const start = now();
  for (let i = 0; i < iterations; i++) fn();
  return (now() - start) / iterations;
}

void (async () => {
  const rsaPublic = (await request("rsa-public")) as Uint8Array;
  const camera = crypto.p256Generate();
  const phones: RecipientKey[] = [];
  for (let i = 0; i < 8; i++) {
    const key = crypto.p256Generate();
    phones.push({ kind: "hpke-p256", keyId: crypto.sha256(crypto.p256PublicKey(key)), publicKey: crypto.p256PublicKey(key) });
  }
  const dataKey: RecipientKey = { kind: "rsa-oaep-sha256", keyId: crypto.sha256(rsaPublic), publicKey: rsaPublic };
  const sealer = (n: number): ClipSealer =>
    new ClipSealer({
      crypto,
      cameraKey: camera,
      cameraId: "bench-camera-0001",
      cameraCertHash: new Uint8Array(32),
      sequence: 1,
      startTime: 1700000000000,
      contentType: "video/x-sealcam-frames",
      recipients: [...phones.slice(0, n), dataKey],
      rosterVersion: 1,
    });
  const headBytes: Record<string, number> = {};
  const headers: Record<string, ReturnType<typeof decodeHeader>> = {};
  for (const n of PHONES) {
    const head = sealer(n).head;
    headBytes[n] = head.length;
    headers[n] = decodeHeader(head.subarray(12, 12 + readU32be(head, 8)));
  }
  const headerMs: Record<string, number> = {};
  const signBytes = headBytes[4] - 64;
  const message = new Uint8Array(signBytes);
  const info = concat(asciiBytes("sealcam/v1 clip-key\0"), new Uint8Array(16).fill(3));
  const clipKey = new Uint8Array(16).fill(7);
  const best = { hpke: Infinity, rsa: Infinity, sign: Infinity, c_hpke: Infinity, c_rsa: Infinity, c_sign: Infinity };
  const clip: Record<string, number> = {};
  for (let round = 0; round < ROUNDS; round++) {
    const c = (await request("c", { iterations: ITERATIONS, signBytes })) as { hpke_ms: number; rsa_ms: number; sign_ms: number };
    best.c_hpke = Math.min(best.c_hpke, c.hpke_ms);
    best.c_rsa = Math.min(best.c_rsa, c.rsa_ms);
    best.c_sign = Math.min(best.c_sign, c.sign_ms);
    best.hpke = Math.min(best.hpke, msPer(() => void sealSingleShot(crypto, phones[0].publicKey, info, new Uint8Array(0), clipKey), ITERATIONS));
    best.rsa = Math.min(best.rsa, msPer(() => void crypto.rsaOaepSha256Encrypt(rsaPublic, clipKey, info), ITERATIONS));
    best.sign = Math.min(best.sign, msPer(() => void crypto.ecdsaP256Sign(camera, message), ITERATIONS));
    for (const n of PHONES) {
      const ms = msPer(() => void sealer(n).finish(), CLIPS);
      clip[n] = Math.min(clip[n] ?? Infinity, ms);
      headerMs[n] = Math.min(headerMs[n] ?? Infinity, msPer(() => void encodeHeader(headers[n]), CLIPS));
    }
  }
  emit("done", { ...best, clip, headerMs, headBytes, signBytes, iterations: ITERATIONS, rounds: ROUNDS });
})();
