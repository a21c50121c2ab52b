/**
 * make bench-format: format overhead of a sealed clip, beside age v1 and the AWS Encryption SDK message format v2.
 *
 * sealcam's figures are MEASURED: real clips sealed by the firmware's ClipSealer (NodeCrypto) to N phones (HPKE
 * P-256) + the RSA-OAEP-2048 data key, 64 KiB segments; overhead = sealed bytes − plaintext bytes, and the per-item
 * sizes come from real heads (differences between heads with one recipient more).
 * age's and the AWS Encryption SDK's figures are COMPUTED from their published formats (no implementation runs
 * here); bench/README.md cites the sections. This section has no same-run reference because it is not a timing.
 */
import * as nodeCrypto from "node:crypto";
import { NodeCrypto } from "../host-tools/platform/node-crypto";
import { ClipSealer, type RecipientKey } from "../firmware/core/clip";
import { mergeResults, table } from "./lib/results";

const SEGMENT = 65536;
const SECONDS = 10;
const RATES = [0.5, 2]; // MB/s, 1 MB = 10^6 bytes
const PHONES = [1, 2, 4, 8];

// ---- age v1 (c2sp.org/age) ----
const b64len = (n: number) => Math.ceil((n * 4) / 3); // unpadded base64
/** A stanza body: base64 lines of 64 columns, the last one shorter than 64 (possibly empty). */
const stanzaBody = (n: number) => {
  const chars = b64len(n);
  const full = Math.floor(chars / 64);
  return chars + full + 1; // every line ends in \n; a final (maybe empty) short line
};
const AGE = {
  version_line: "age-encryption.org/v1\n".length, // 22
  // "-> X25519 " + base64(32-byte ephemeral share) + "\n", body = base64(16-byte file key + 16-byte tag)
  x25519_stanza: "-> X25519 ".length + b64len(32) + 1 + stanzaBody(32),
  // age's ssh-rsa recipient (age reference implementation, agessh): "-> ssh-rsa " + base64(4-byte key tag), body =
  // base64(RSA-OAEP-SHA256 of the file key, 256 bytes for RSA-2048)
  ssh_rsa_stanza: "-> ssh-rsa ".length + b64len(4) + 1 + stanzaBody(256),
  mac_line: "--- ".length + b64len(32) + 1, // HMAC-SHA-256
  nonce: 16,
  chunk: 65536,
  tag: 16,
};
const ageBytes = (phones: number, plaintext: number) =>
  AGE.version_line + phones * AGE.x25519_stanza + AGE.ssh_rsa_stanza + AGE.mac_line + AGE.nonce + Math.max(1, Math.ceil(plaintext / AGE.chunk)) * AGE.tag;

// ---- AWS Encryption SDK, message format v2, suite 0x0578 (the default: key commitment + ECDSA P-384) ----
const ESDK = {
  // Version 1, Algorithm ID 2, Message ID 32, AAD length 2
  fixed_before_aad: 1 + 2 + 32 + 2,
  // encryption context holding only "aws-crypto-public-key" = base64(49-byte compressed P-384 point): count 2 +
  // key length 2 + 21 + value length 2 + 68
  aad: 2 + 2 + 21 + 2 + 68,
  edk_count: 2,
  // AWS KMS keyring EDK (as in the AWS documentation's example header): provider id "aws-kms" (7), provider info =
  // the key ARN (75), encrypted data key 167; each with a 2-byte length
  kms_edk: 2 + 7 + 2 + 75 + 2 + 167,
  // Raw RSA keyring EDK: provider id = key namespace ("sealcam", 7), provider info = key name (a 32-byte key id,
  // as sealcam's kid), encrypted data key = RSA-OAEP of the data key, 256 bytes for RSA-2048
  rsa_edk: 2 + 7 + 2 + 32 + 2 + 256,
  // Content type 1, frame length 4, algorithm suite data (commit key) 32, header authentication tag 16 (v2: no IV)
  fixed_after_edks: 1 + 4 + 32 + 16,
  regular_frame: 4 + 12 + 16, // sequence number + IV + tag
  final_frame: 4 + 4 + 12 + 4 + 16, // sequence number end + sequence number + IV + content length + tag
  footer: 2 + 103, // signature length + ECDSA P-384 signature (the SDK emits a fixed 103-byte DER signature)
};
const esdkHeader = (phones: number) =>
  ESDK.fixed_before_aad + ESDK.aad + ESDK.edk_count + phones * ESDK.kms_edk + ESDK.rsa_edk + ESDK.fixed_after_edks;
const esdkBytes = (phones: number, plaintext: number, frame: number) => {
  // The final frame carries the remainder, or a whole frame when the plaintext is a multiple of the frame length.
  const frames = Math.max(1, Math.ceil(plaintext / frame));
  return esdkHeader(phones) + (frames - 1) * ESDK.regular_frame + ESDK.final_frame + ESDK.footer;
};

function main(): void {
  const crypto = new NodeCrypto();
  const camera = crypto.p256Generate();
  const rsa = nodeCrypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  const rsaDer = new Uint8Array(rsa.publicKey.export({ format: "der", type: "pkcs1" }));
  const dataKey: RecipientKey = { kind: "rsa-oaep-sha256", keyId: crypto.sha256(rsaDer), publicKey: rsaDer };
  const phones: RecipientKey[] = PHONES.map(() => 0)
    .concat(new Array(4).fill(0))
    .map(() => {
      const point = crypto.p256PublicKey(crypto.p256Generate());
      return { kind: "hpke-p256", keyId: crypto.sha256(point), publicKey: point } as RecipientKey;
    });
  const sealer = (recipients: RecipientKey[]) =>
    new ClipSealer({
      crypto,
      cameraKey: camera,
      cameraId: "cam-0123456789abcdef", // a typical camera id length
      cameraCertHash: crypto.randomBytes(32),
      sequence: 123456,
      startTime: Date.now(),
      contentType: "video/x-sealcam-frames",
      rosterVersion: 12,
      segmentSize: SEGMENT,
      recipients,
    });
  const headOf = (recipients: RecipientKey[]) => sealer(recipients).head.length;
  const hpkeRecipient = headOf(phones.slice(0, 2)) - headOf(phones.slice(0, 1));
  const rsaRecipient = headOf([phones[0], dataKey]) - headOf([phones[0]]);
  const headFixed = headOf([phones[0]]) - hpkeRecipient;

  // Real clips: seal 10 s of plaintext at each rate and count every byte that leaves the sealer.
  const chunk = new Uint8Array(nodeCrypto.randomBytes(256 * 1024));
  const rows: Record<string, unknown>[] = [];
  for (const rate of RATES) {
    const plaintext = Math.round(rate * 1e6 * SECONDS);
    for (const n of PHONES) {
      const s = sealer([...phones.slice(0, n), dataKey]);
      let sealed = s.head.length;
      for (let done = 0; done < plaintext; done += chunk.length) {
        for (const segment of s.write(chunk.subarray(0, Math.min(chunk.length, plaintext - done)))) sealed += segment.bytes.length;
      }
      const end = s.finish();
      sealed += end.segment.bytes.length + end.footer.length;
      const sealcam = sealed - plaintext;
      const age = ageBytes(n, plaintext);
      const esdk4k = esdkBytes(n, plaintext, 4096);
      const esdk64k = esdkBytes(n, plaintext, 65536);
      const pct = (bytes: number) => Number(((bytes / plaintext) * 100).toFixed(3));
      rows.push({
        mb_per_s: rate, phones: n, plaintext_bytes: plaintext, segments: end.segmentCount, sealcam_head_bytes: s.head.length,
        sealcam_overhead_bytes: sealcam, sealcam_pct: pct(sealcam),
        age_overhead_bytes: age, age_pct: pct(age),
        esdk_4k_overhead_bytes: esdk4k, esdk_4k_pct: pct(esdk4k),
        esdk_64k_overhead_bytes: esdk64k, esdk_64k_pct: pct(esdk64k),
      });
    }
  }
  const items = [
    ["per phone (recipient)", `HPKE P-256 entry ${hpkeRecipient}`, `X25519 stanza ${AGE.x25519_stanza}`, `AWS KMS EDK ${ESDK.kms_edk}`],
    ["data key (RSA-OAEP-2048)", `rsa-oaep entry ${rsaRecipient}`, `ssh-rsa stanza ${AGE.ssh_rsa_stanza}`, `raw RSA EDK ${ESDK.rsa_edk}`],
    ["fixed header", `${headFixed} (preamble 12 + header JSON + signature 64)`, `${AGE.version_line + AGE.mac_line} (version line + MAC line)`, `${ESDK.fixed_before_aad + ESDK.aad + ESDK.edk_count + ESDK.fixed_after_edks} (incl. 95 B context with the signing key)`],
    ["per 64 KiB of payload", "16 (GCM tag)", "16 (Poly1305 tag)", `32 per frame (seq 4 + IV 12 + tag 16): ${ESDK.regular_frame * 16} per 64 KiB at 4096-byte frames, 32 at 64 KiB frames`],
    ["once per payload", "0", `${AGE.nonce} (nonce)`, `${ESDK.final_frame - ESDK.regular_frame} (final frame's end marker + length)`],
    ["footer", "64 (ECDSA P-256 over the payload hash)", "0 (no signature)", `${ESDK.footer} (ECDSA P-384)`],
  ];
  mergeResults("format_overhead", {
    computed: "sealcam measured from real sealed clips; age and AWS Encryption SDK computed from their published formats (bench/README.md)",
    segment_bytes: SEGMENT,
    clip_seconds: SECONDS,
    sealcam: { hpke_recipient_bytes: hpkeRecipient, rsa_recipient_bytes: rsaRecipient, head_fixed_bytes: headFixed, per_segment_bytes: 16, footer_bytes: 64 },
    age: AGE,
    esdk_v2_0x0578: ESDK,
    rows,
  });
  console.log("Format overhead: sealcam measured (real sealed clips); age v1 and AWS Encryption SDK v2 computed from their formats");
  console.log(table([["item (bytes)", "sealcam v1", "age v1", "AWS ESDK v2 (0x0578)"], ...items]));
  console.log(`\nOverhead of a ${SECONDS} s clip, 64 KiB segments, N phones + the RSA-OAEP data key (bytes, % of the plaintext)`);
  console.log(
    table([
      ["MB/s", "phones", "plaintext", "sealcam", "%", "age", "%", "ESDK 4096 B frames", "%", "ESDK 64 KiB frames", "%"],
      ...rows.map((r) => [r.mb_per_s, r.phones, r.plaintext_bytes, r.sealcam_overhead_bytes, r.sealcam_pct, r.age_overhead_bytes, r.age_pct, r.esdk_4k_overhead_bytes, r.esdk_4k_pct, r.esdk_64k_overhead_bytes, r.esdk_64k_pct] as (string | number)[]),
    ]),
  );
}

main();
