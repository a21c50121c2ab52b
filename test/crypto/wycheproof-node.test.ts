/**
 * NodeCrypto (the host body of the Crypto interface) against Project Wycheproof (the families in
 * test/helpers/wycheproof.ts, which the browser's body passes too). The camera's native body runs the same
 * families inside XS in test/xs/.
 */
import * as nodeCrypto from "node:crypto";
import { NodeCrypto } from "../../host-tools/platform/node-crypto";
import { fromHex, toHex } from "../../firmware/core/bytes";
import { checkAesGcmFamily, checkEcdhFamily, checkEcdsaVerifyFamily, checkHkdfFamily, checkRsaPssFamily, loadWycheproof } from "../helpers/wycheproof";

const crypto = new NodeCrypto();
const hex = (v: unknown) => fromHex(v as string);

test("AES-128-GCM, 96-bit IVs: seal matches, open accepts valid and rejects invalid", () => {
  expect(checkAesGcmFamily(crypto)).toBeGreaterThan(50);
});

test("HKDF-SHA256: extract+expand gives okm; oversized output is refused", () => {
  expect(checkHkdfFamily(crypto)).toBe(86);
});

test("ECDH P-256 (SEC1 points): shared secrets match; invalid and compressed points are refused", async () => {
  const checked = await checkEcdhFamily((scalar, peer, shared) => {
    const run = () => crypto.p256Ecdh(crypto.p256Import(scalar), peer);
    if (shared !== null) expect(toHex(run())).toBe(shared);
    else expect(run).toThrow(); // invalid, and "acceptable" compressed points: we accept only uncompressed
  });
  expect(checked).toBe(355);
});

test("ECDSA P-256 SHA-256 (P1363 signatures): verify agrees with every verdict", () => {
  expect(checkEcdsaVerifyFamily(crypto)).toBe(262);
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

test("RSA-PSS-2048 SHA-256 salt 32: verify agrees with every verdict", async () => {
  expect(await checkRsaPssFamily((pub, message, signature) => crypto.rsaPssSha256Verify(pub, message, signature))).toBe(108);
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
