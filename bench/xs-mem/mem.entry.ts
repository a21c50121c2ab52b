/**
 * Runs inside XS (bundled by bench/xs-mem/run.ts): seals clips through the firmware's ClipSealer with NativeCrypto,
 * streaming, as the camera does: frames of FRAME bytes (not segment-aligned) from one reused frame buffer, each
 * sealed segment dropped once produced (the camera writes it to its flash queue). Node opens a clip ("begin"),
 * feeds it in two halves ("write"), reading the engine's memory counters in between (a full collection with the
 * clip open), and closes it ("finish").
 */
/// <reference path="../../host-tools/board-sim/xs-host/js/host-globals.d.ts" />
import { emit, handle } from "sealcam/host-channel";
import { NativeCrypto } from "../../firmware/native/native-crypto";
import { ClipSealer } from "../../firmware/core/clip/sealer";

const crypto = new NativeCrypto();
const now = (): number => globalThis.__sealcamHost.now();
const FRAME = 40000; // about one 640x480 JPEG frame
const camera = crypto.p256Generate();
const phone = crypto.p256PublicKey(crypto.p256Generate());
let sequence = 0;

let sealer: ClipSealer | undefined;
let sealed = 0;
let segments = 0;
let elapsed = 0;
const frame = new Uint8Array(FRAME).fill(0x5a);

handle("begin", (params) => {
  const { rsa } = params as { rsa: Uint8Array };
  const start = now();
  sealer = new ClipSealer({
    crypto,
    cameraKey: camera,
    cameraId: "bench-camera-0001",
    cameraCertHash: new Uint8Array(32),
    sequence: ++sequence,
    startTime: 1700000000000,
    contentType: "video/x-sealcam-frames",
    recipients: [
      { kind: "hpke-p256", keyId: crypto.sha256(phone), publicKey: phone },
      { kind: "rsa-oaep-sha256", keyId: crypto.sha256(rsa), publicKey: rsa },
    ],
    rosterVersion: 1,
  });
  sealed = sealer.head.length;
  segments = 0;
  elapsed = now() - start;
  return null;
});

/** Feeds `megabytes` of frames into the open clip (Node splits a clip into two halves, reading memory between). */
handle("write", (params) => {
  const { megabytes } = params as { megabytes: number };
  if (!sealer) throw new Error("no clip open");
  const total = megabytes * 1048576;
  const start = now();
  for (let done = 0; done < total; done += FRAME) {
    const part = Math.min(FRAME, total - done);
    for (const segment of sealer.write(part === FRAME ? frame : frame.subarray(0, part))) {
      sealed += segment.bytes.length;
      segments++;
    }
  }
  elapsed += now() - start;
  return null;
});

handle("finish", () => {
  if (!sealer) throw new Error("no clip open");
  const start = now();
  const end = sealer.finish();
  sealed += end.segment.bytes.length + end.footer.length;
  sealer = undefined;
  return { ms: elapsed + now() - start, sealed, segments: segments + 1 };
});
emit("ready");
