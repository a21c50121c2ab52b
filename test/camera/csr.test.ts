/** The camera's CSR: parsed back by our own reader and verified by the openssl CLI. */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { NodeCrypto } from "../../host-tools/platform/node-crypto";
import { buildCsr, ecdsaRawToDer } from "../../firmware/core/csr";
import { ecdsaDerToRaw, verifyCertificationRequest } from "../../firmware/core/x509";
import { toHex } from "../../firmware/core/bytes";

const crypto = new NodeCrypto();
let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-csr-"));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** stdout + stderr of `openssl req -verify`: OpenSSL 3.0 exits 0 even on a bad signature, so read the verdict. */
function opensslVerify(file: string, ...extra: string[]): string {
  const r = spawnSync("openssl", ["req", "-inform", "DER", "-in", file, "-noout", "-verify", ...extra], { encoding: "utf8" });
  return r.stdout + r.stderr;
}

test("openssl req -verify accepts the CSR and sees our subject and P-256 key", () => {
  for (let i = 0; i < 4; i++) {
    const key = crypto.p256Generate();
    const der = buildCsr(crypto, key, `sealcam camera ${i}`);
    const file = path.join(dir, `c${i}.der`);
    fs.writeFileSync(file, der);
    const out = opensslVerify(file, "-text");
    expect(out).toContain("self-signature verify OK");
    expect(out).toContain(`CN = sealcam camera ${i}`);
    expect(out).toContain("prime256v1");
    expect(out).toContain("ecdsa-with-SHA256");
    const parsed = verifyCertificationRequest(crypto, der);
    expect(parsed.subjectCommonName).toBe(`sealcam camera ${i}`);
    expect(parsed.publicKey.kind === "p256" && toHex(parsed.publicKey.point65)).toBe(toHex(crypto.p256PublicKey(key)));
  }
});

test("openssl rejects a CSR with a flipped signature bit", () => {
  const der = buildCsr(crypto, crypto.p256Generate(), "sealcam camera x");
  der[der.length - 3] ^= 1;
  const file = path.join(dir, "bad.der");
  fs.writeFileSync(file, der);
  const out = opensslVerify(file);
  expect(out).toContain("verify failure");
  expect(out).not.toContain("verify OK");
});

test("r||s to DER handles high bits and leading zeros and round-trips", () => {
  const raw = new Uint8Array(64);
  raw[0] = 0x80; raw[31] = 1; // r with the top bit set needs a 0x00 sign byte
  raw[40] = 0x12; raw[63] = 5; // s with 8 leading zero bytes is minimised
  const der = ecdsaRawToDer(raw);
  expect(der[3]).toBe(33);
  expect(toHex(ecdsaDerToRaw(der))).toBe(toHex(raw));
});
