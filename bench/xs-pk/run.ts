/**
 * make bench-xs-pk: the public-key cost per clip on the camera, in XS (firmware + native module) vs the same
 * calls in plain C over the same Mbed TLS/PSA (pk_ceiling.c), measured alternately in one run. Prints the table
 * and writes the "xs_pk" section of bench/results/latest.json.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as nodeCrypto from "node:crypto";
import * as os from "node:os";
import * as path from "node:path";
import { runInXs } from "../../host-tools/board-sim/board-sim";
import { repoRoot } from "../../host-tools/board-sim/bundle";
import { NodeCrypto } from "../../host-tools/platform/node-crypto";
import { openSingleShot } from "../../firmware/core/hpke";
import { asciiBytes, concat } from "../../firmware/core/bytes";
import { mergeResults, table } from "../lib/results";

const round = (n: number, digits = 3) => Number(n.toFixed(digits));
const PHONES = [1, 2, 4, 8];

async function main(): Promise<void> {
  const binary = path.join(repoRoot(), "build", "xs-host", "pk-ceiling");
  const { publicKey } = nodeCrypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  const pkcs1 = new Uint8Array(publicKey.export({ format: "der", type: "pkcs1" }));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-bench-pk-"));
  const derFile = path.join(dir, "rsa.der");
  fs.writeFileSync(derFile, pkcs1);
  try {
    // The C reference's HPKE must be the same work: its output opens with the firmware's HPKE (in Node).
    const check = JSON.parse(execFileSync(binary, [derFile, "1", "64", "check"], { encoding: "utf8" })) as Record<string, string>;
    const crypto = new NodeCrypto();
    const hex = (s: string) => new Uint8Array(Buffer.from(s, "hex"));
    const info = concat(asciiBytes("sealcam/v1 clip-key\0"), new Uint8Array(16).fill(3));
    const opened = openSingleShot(crypto, crypto.p256Import(hex(check.sk)), hex(check.enc), info, new Uint8Array(0), hex(check.ct));
    if (opened.length !== 16 || opened[0] !== 7) throw new Error("pk-ceiling's HPKE output does not open as RFC 9180");

    const c = (params: unknown) => {
      const { iterations, signBytes } = params as { iterations: number; signBytes: number };
      return JSON.parse(execFileSync(binary, [derFile, String(iterations), String(signBytes)], { encoding: "utf8" }));
    };
    const xs = (await runInXs("bench/xs-pk/pk.entry.ts", { handlers: { "rsa-public": () => pkcs1, c }, timeoutMs: 300000 })) as {
      hpke: number; rsa: number; sign: number; c_hpke: number; c_rsa: number; c_sign: number;
      clip: Record<string, number>; headerMs: Record<string, number>; headBytes: Record<string, number>; signBytes: number; iterations: number; rounds: number;
    };
    const ops = [
      ["HPKE wrap (P-256, per phone)", xs.hpke, xs.c_hpke],
      ["RSA-OAEP-2048 wrap (data key)", xs.rsa, xs.c_rsa],
      [`ECDSA P-256 sign (${xs.signBytes} B head)`, xs.sign, xs.c_sign],
    ] as const;
    const perClip = PHONES.map((n) => {
      const c = n * xs.c_hpke + xs.c_rsa + 2 * xs.c_sign;
      const sum = n * xs.hpke + xs.rsa + 2 * xs.sign;
      return { phones: n, head_bytes: xs.headBytes[n], xs_clip_ms: round(xs.clip[n], 2), xs_header_encode_ms: round(xs.headerMs[n], 2), xs_ops_sum_ms: round(sum, 2), c_ops_sum_ms: round(c, 2), xs_over_c: round(xs.clip[n] / c, 2) };
    });
    const result = {
      operations: ops.map(([name, x, cc]) => ({ operation: name, xs_ms: round(x), c_ms: round(cc), xs_over_c: round(x / cc, 2) })),
      per_clip: perClip,
      note: `ms per call, best of ${xs.rounds} rounds of ${xs.iterations} calls, XS and C alternated. Per clip = N phones (HPKE) + the RSA-OAEP data key + head and footer ECDSA signatures; the XS figure is the whole firmware ClipSealer constructor + finish() of an empty clip (also the commitment HKDF, header encoding, head hash, one empty GCM segment), the C figure the sum of the C calls. Stream keys (sharing) not yet in the firmware. x86 host, not the ESP32-S3`,
    };
    mergeResults("xs_pk", result);
    console.log("Public-key operations on the camera: XS (firmware + native) vs the same calls in plain C (ms per call; XS/C = time ratio, 1 = parity)");
    console.log(table([["operation", "XS ms", "C ms", "XS/C"], ...result.operations.map((o) => [o.operation, o.xs_ms, o.c_ms, o.xs_over_c])]));
    console.log("\nPer clip (N phones + RSA-OAEP data key + head and footer signatures)");
    console.log(table([["phones", "head bytes", "XS sealer ms", "of it: header encode ms", "XS ops sum ms", "C ops sum ms", "XS sealer/C ops"], ...perClip.map((p) => [p.phones, p.head_bytes, p.xs_clip_ms, p.xs_header_encode_ms, p.xs_ops_sum_ms, p.c_ops_sum_ms, p.xs_over_c])]));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
