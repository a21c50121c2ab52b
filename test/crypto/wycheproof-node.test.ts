/**
 * NodeCrypto (the host body of the Crypto interface) against Project Wycheproof. The camera's native body
 * runs the same families inside XS in test/xs/.
 */
import * as nodeCrypto from "node:crypto";
import { NodeCrypto } from "../../host-tools/platform/node-crypto";
import { concat, fromHex, toHex } from "../../firmware/core/bytes";
import { loadWycheproof } from "../helpers/wycheproof";

const crypto = new NodeCrypto();
const hex = (v: unknown) => fromHex(v as string);

test("AES-128-GCM, 96-bit IVs: seal matches, open accepts valid and rejects invalid", () => {
  let checked = 0;
  for (const group of loadWycheproof("aes_gcm_test.json")) {
    if (group.keySize !== 128 || group.ivSize !== 96 || group.tagSize !== 128) continue;
    for (const t of group.tests) {
      const [key, iv, aad, msg, ct, tag] = [t.key, t.iv, t.aad, t.msg, t.ct, t.tag].map(hex);
      const opened = crypto.aesGcmOpen(key, iv, aad, concat(ct, tag));
      if (t.result === "valid") {
        expect(toHex(crypto.aesGcmSeal(key, iv, aad, msg))).toBe(toHex(concat(ct, tag)));
        expect(opened && toHex(opened)).toBe(toHex(msg));
      } else {
        expect(opened).toBeNull();
      }
      checked++;
    }
  }
  expect(checked).toBeGreaterThan(50);
});

test("HKDF-SHA256: extract+expand gives okm; oversized output is refused", () => {
  let checked = 0;
  for (const group of loadWycheproof("hkdf_sha256_test.json")) {
    for (const t of group.tests) {
      const run = () => crypto.hkdfExpand(crypto.hkdfExtract(hex(t.salt), hex(t.ikm)), hex(t.info), t.size as number);
      if (t.result === "valid") expect(toHex(run())).toBe(t.okm);
      else expect(run).toThrow();
      checked++;
    }
  }
  expect(checked).toBe(86);
});

test("ECDH P-256 (SEC1 points): shared secrets match; invalid and compressed points are refused", () => {
  let checked = 0;
  for (const group of loadWycheproof("ecdh_secp256r1_ecpoint_test.json")) {
    for (const t of group.tests) {
      let scalar = hex(t.private);
      // Wycheproof writes scalars with a leading 00 when the top bit is set; normalise to 32 bytes.
      if (scalar.length > 32) scalar = scalar.subarray(scalar.length - 32);
      if (scalar.length < 32) scalar = concat(new Uint8Array(32 - scalar.length), scalar);
      const key = crypto.p256Import(scalar);
      const run = () => crypto.p256Ecdh(key, hex(t.public));
      if (t.result === "valid") expect(toHex(run())).toBe(t.shared);
      else expect(run).toThrow(); // invalid, and "acceptable" compressed points: we accept only uncompressed
      checked++;
    }
  }
  expect(checked).toBe(355);
});

test("ECDSA P-256 SHA-256 (P1363 signatures): verify agrees with every verdict", () => {
  let checked = 0;
  for (const group of loadWycheproof("ecdsa_secp256r1_sha256_p1363_test.json")) {
    const pub = hex((group.publicKey as { uncompressed: string }).uncompressed);
    for (const t of group.tests) {
      expect([t.tcId, crypto.ecdsaP256Verify(pub, hex(t.msg), hex(t.sig))]).toEqual([t.tcId, t.result === "valid"]);
      checked++;
    }
  }
  expect(checked).toBe(262);
});

test("ECDSA signing is deterministic (RFC 6979) and verifies", () => {
  const key = crypto.p256Generate();
  const message = crypto.randomBytes(100);
  const a = crypto.ecdsaP256Sign(key, message);
  expect(crypto.ecdsaP256Sign(key, message)).toEqual(a);
  expect(crypto.ecdsaP256Verify(crypto.p256PublicKey(key), message, a)).toBe(true);
  message[0] ^= 1;
  expect(crypto.ecdsaP256Verify(crypto.p256PublicKey(key), message, a)).toBe(false);
});

test("RSA-PSS-2048 SHA-256 salt 32: verify agrees with every verdict", () => {
  let checked = 0;
  for (const group of loadWycheproof("rsa_pss_2048_sha256_mgf1_32_test.json")) {
    const pub = hex(group.publicKeyAsn);
    for (const t of group.tests) {
      expect([t.tcId, crypto.rsaPssSha256Verify(pub, hex(t.msg), hex(t.sig))]).toEqual([t.tcId, t.result === "valid"]);
      checked++;
    }
  }
  expect(checked).toBe(108);
});

test("RSA-OAEP-2048 SHA-256: what we encrypt (with the vectors' labels) decrypts with the vectors' keys", () => {
  let checked = 0;
  for (const group of loadWycheproof("rsa_oaep_2048_sha256_mgf1sha256_test.json")) {
    const priv = nodeCrypto.createPrivateKey({ key: Buffer.from(hex(group.privateKeyPkcs8)), format: "der", type: "pkcs8" });
    const pub = new Uint8Array(nodeCrypto.createPublicKey(priv).export({ format: "der", type: "pkcs1" }));
    for (const t of group.tests) {
      if (t.result !== "valid") continue;
      const ct = crypto.rsaOaepSha256Encrypt(pub, hex(t.msg), hex(t.label));
      const back = nodeCrypto.privateDecrypt({ key: priv, oaepHash: "sha256", oaepLabel: hex(t.label) }, ct);
      expect(toHex(new Uint8Array(back))).toBe(t.msg);
      // and the vector's own ciphertext decrypts to its message, so the parameters are the same scheme
      const theirs = nodeCrypto.privateDecrypt({ key: priv, oaepHash: "sha256", oaepLabel: hex(t.label) }, hex(t.ct));
      expect(toHex(new Uint8Array(theirs))).toBe(t.msg);
      checked++;
    }
  }
  expect(checked).toBe(18);
});
