/**
 * The sealed-clip format inside XS with the native module: test/vectors/clip-v1 reproduced byte for byte by the
 * firmware's sealer running in the XS host, and XS-sealed clips opened by the Node-side opener (phone HPKE key
 * and account RSA key), Node-sealed clips opened in XS, and RFC 9180 A.3.1 HPKE in XS.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as nodeCrypto from "node:crypto";
import { runInXs } from "../../host-tools/board-sim/board-sim";
import { NodeCrypto } from "../../host-tools/platform/node-crypto";
import { rsaOaepUnwrapper } from "../../host-tools/platform/rsa-unwrapper";
import { openClip, hpkeUnwrapper, streamKeyUnwrapper } from "../../firmware/core/clip";
import { fromHex } from "../../firmware/core/bytes";
import type { ClipVector } from "../../firmware/testing/clip-vectors";

const DIR = path.join(__dirname, "..", "vectors", "clip-v1");
const crypto = new NodeCrypto();
const valid: ClipVector[] = fs
  .readdirSync(DIR)
  .filter((f) => f.endsWith(".json") && f !== "keys.json")
  .map((f) => JSON.parse(fs.readFileSync(path.join(DIR, f), "utf8")) as ClipVector)
  .filter((v) => v.expect === "ok");

async function clipSuite(stress: boolean, vectors: ClipVector[]): Promise<{ passed: string[]; failed: unknown[] }> {
  return (await runInXs("test/xs/clip.entry.ts", {
    stress,
    timeoutMs: 100000,
    handlers: {
      "clip-vectors": () => JSON.stringify(vectors),
      "open-clip": (params) => {
        const { name, sealed } = params as { name: string; sealed: Uint8Array };
        const v = valid.find((x) => x.name === name)!;
        const camera = crypto.p256Import(fromHex(v.camera_private));
        const identity = () => ({ publicKey: crypto.p256PublicKey(camera), certificateHash: fromHex(v.camera_cert_hash) });
        const phone = hpkeUnwrapper(crypto, fromHex(v.phone_key_id), crypto.p256Import(fromHex(v.phone_private)));
        const dataKey = nodeCrypto.createPrivateKey({ key: Buffer.from(fromHex(v.data_private_pkcs8)), format: "der", type: "pkcs8" });
        const data = rsaOaepUnwrapper(fromHex(v.data_key_id), dataKey);
        const byPhone = openClip({ crypto, camera: identity, unwrappers: [phone] }, sealed).plaintext;
        const byData = openClip({ crypto, camera: identity, unwrappers: [data] }, sealed).plaintext;
        expect(byData).toEqual(byPhone);
        if (v.stream_private !== undefined) {
          const stream = streamKeyUnwrapper(crypto, fromHex(v.stream_key_id!), crypto.p256Import(fromHex(v.stream_private)));
          expect(openClip({ crypto, camera: identity, unwrappers: [stream] }, sealed).plaintext).toEqual(byPhone);
        }
        return byPhone;
      },
    },
  })) as { passed: string[]; failed: unknown[] };
}

test("clip vectors reproduce in XS and XS-sealed clips open in Node (phone and data keys)", async () => {
  expect(valid.length).toBeGreaterThanOrEqual(5);
  const report = await clipSuite(false, valid);
  expect(report.failed).toEqual([]);
  expect(report.passed.length).toBe(4);
});

test("the same under the GC-stress build (the one-segment vector)", async () => {
  const report = await clipSuite(true, valid.filter((v) => v.name === "ok-one-segment"));
  expect(report.failed).toEqual([]);
  expect(report.passed.length).toBe(4);
}, 110000);
