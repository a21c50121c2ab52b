/**
 * make bench-xs-seal: one run prints the table and writes the "xs_seal" section of bench/results/latest.json.
 * Sealing throughput in XS goes through the firmware's ClipSealer with NativeCrypto (the real camera path);
 * the ceiling is gcm_ceiling.c (plain C, same Mbed TLS); the floor is @noble/ciphers GCM inside XS.
 */
import { execFileSync } from "node:child_process";
import * as nodeCrypto from "node:crypto";
import * as path from "node:path";
import { runInXs } from "../../host-tools/board-sim/board-sim";
import { repoRoot } from "../../host-tools/board-sim/bundle";
import { mergeResults, table } from "../lib/results";

const round = (n: number, digits = 1) => Number(n.toFixed(digits));

async function main(): Promise<void> {
  const root = repoRoot();
  const ceilingBinary = path.join(root, "build", "xs-host", "gcm-ceiling");
  const ceiling = (params: unknown): number => {
    const { segment, megabytes, mode } = params as { segment: number; megabytes: number; mode: string };
    return Number(execFileSync(ceilingBinary, [String(segment), String(megabytes), mode], { encoding: "utf8" }));
  };
  const { publicKey } = nodeCrypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  const pkcs1 = new Uint8Array(publicKey.export({ format: "der", type: "pkcs1" }));
  const xs = (await runInXs("bench/xs-seal/xs-seal.entry.ts", { handlers: { "rsa-public": () => pkcs1, ceiling }, timeoutMs: 300000 })) as Record<string, number>;
  const result = {
    segment_sizes: [16384, 65536],
    xs_seal_mb_s_16k: round(xs.seal_16k),
    xs_seal_mb_s_64k: round(xs.seal_64k),
    xs_native_gcm_mb_s_16k: round(xs.gcm_16k),
    xs_native_gcm_mb_s_64k: round(xs.gcm_64k),
    c_seal_mb_s_16k: round(xs.c_seal_16k),
    c_seal_mb_s_64k: round(xs.c_seal_64k),
    c_gcm_mb_s_16k: round(xs.c_gcm_16k),
    c_gcm_mb_s_64k: round(xs.c_gcm_64k),
    xs_noble_mb_s_16k: round(xs.noble_16k, 3),
    xs_noble_mb_s_64k: round(xs.noble_64k, 3),
    xs_seal_vs_c_ratio_16k: round(xs.seal_16k / xs.c_seal_16k, 3),
    xs_seal_vs_c_ratio_64k: round(xs.seal_64k / xs.c_seal_64k, 3),
    xs_native_gcm_vs_c_gcm_ratio_16k: round(xs.gcm_16k / xs.c_gcm_16k, 3),
    xs_native_gcm_vs_c_gcm_ratio_64k: round(xs.gcm_64k / xs.c_gcm_64k, 3),
    xs_wrap_hpke_p256_ms: round(xs.hpke_wrap_ms, 3),
    xs_wrap_rsa_oaep_2048_ms: round(xs.rsa_wrap_ms, 3),
    note: "MiB/s of plaintext, best of 5 alternating C/XS passes over 16 MiB. XS sealer = ClipSealer.write/finish with NativeCrypto (head excluded); C sealing loop = the same per-segment work in C (GCM in place, SHA-256 of the sealed bytes; the sealer copies nothing when fed whole segments); bare = one GCM call per segment. x86 host, not the ESP32-S3",
  };
  mergeResults("xs_seal", result);
  console.log("AES-128-GCM segment sealing (MiB/s of plaintext)");
  console.log(
    table([
      ["segment", "XS sealer+native", "C sealing loop", "XS/C", "XS bare GCM call", "C bare GCM", "pure-JS GCM in XS"],
      ["16 KiB", result.xs_seal_mb_s_16k, result.c_seal_mb_s_16k, result.xs_seal_vs_c_ratio_16k, result.xs_native_gcm_mb_s_16k, result.c_gcm_mb_s_16k, result.xs_noble_mb_s_16k],
      ["64 KiB", result.xs_seal_mb_s_64k, result.c_seal_mb_s_64k, result.xs_seal_vs_c_ratio_64k, result.xs_native_gcm_mb_s_64k, result.c_gcm_mb_s_64k, result.xs_noble_mb_s_64k],
    ]),
  );
  console.log(`\nper-recipient wrap in XS: HPKE P-256 ${result.xs_wrap_hpke_p256_ms} ms, RSA-OAEP-2048 ${result.xs_wrap_rsa_oaep_2048_ms} ms`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
