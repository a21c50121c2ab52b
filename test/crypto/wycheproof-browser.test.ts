/**
 * BrowserCrypto (the web viewer's body of the Crypto interface: @noble libraries, plus WebCrypto answers
 * through `settle` for RSA-PSS and for ECDH with a non-extractable key) against the same Wycheproof families
 * NodeCrypto passes (wycheproof-node.test.ts), and against NodeCrypto itself for HPKE. Runs in Node, whose
 * WebCrypto is the same API the page uses.
 */
import { webcrypto } from "node:crypto";
import { p256 } from "@noble/curves/nist.js";
import { BrowserCrypto, HeldKey } from "../../host-tools/web-viewer/browser-crypto";
import { NodeCrypto } from "../../host-tools/platform/node-crypto";
import { toBase64Url, toHex } from "../../firmware/core/bytes";
import { openSingleShot, sealSingleShot } from "../../firmware/core/hpke";
import { checkAesGcmFamily, checkEcdhFamily, checkEcdsaVerifyFamily, checkHkdfFamily, checkRsaPssFamily } from "../helpers/wycheproof";

const crypto = new BrowserCrypto(webcrypto);
const node = new NodeCrypto();

/** A non-extractable WebCrypto ECDH key for this scalar, as the page holds its keys. */
async function held(scalar: Uint8Array): Promise<HeldKey> {
  const point = p256.getPublicKey(scalar, false);
  const key = await webcrypto.subtle.importKey(
    "jwk", { kty: "EC", crv: "P-256", d: toBase64Url(scalar), x: toBase64Url(point.subarray(1, 33)), y: toBase64Url(point.subarray(33)) },
    { name: "ECDH", namedCurve: "P-256" }, false, ["deriveBits"],
  );
  await expect(webcrypto.subtle.exportKey("jwk", key)).rejects.toThrow();
  return new HeldKey(key, point);
}

test("AES-128-GCM, 96-bit IVs: seal matches, open accepts valid and rejects invalid", () => {
  expect(checkAesGcmFamily(crypto)).toBeGreaterThan(50);
});

test("HKDF-SHA256: extract+expand gives okm; oversized output is refused", () => {
  expect(checkHkdfFamily(crypto)).toBe(86);
});

test("SHA-256 one-shot and incremental agree with OpenSSL", () => {
  for (const length of [0, 1, 55, 56, 64, 1000, 70000]) {
    const data = node.randomBytes(Math.min(length, 65536));
    const h = crypto.createSha256();
    h.update(data.subarray(0, 7));
    h.update(data.subarray(7));
    expect(toHex(h.digest())).toBe(toHex(node.sha256(data)));
    expect(toHex(crypto.sha256(data))).toBe(toHex(node.sha256(data)));
  }
});

test("ECDH P-256 with software keys and with non-extractable WebCrypto keys: every verdict of the vectors", async () => {
  const checked = await checkEcdhFamily(async (scalar, peer, shared) => {
    const soft = crypto.p256Import(scalar);
    const heldKey = await held(scalar);
    const runSoft = () => crypto.p256Ecdh(soft, peer);
    const runHeld = () => crypto.settle(() => crypto.p256Ecdh(heldKey, peer));
    if (shared !== null) {
      expect(toHex(runSoft())).toBe(shared);
      expect(toHex(await runHeld())).toBe(shared);
    } else {
      expect(runSoft).toThrow();
      await expect(runHeld()).rejects.toMatchObject({ code: "E_ARGUMENT" });
    }
  });
  expect(checked).toBe(355);
});

test("ECDSA P-256 SHA-256 (P1363 signatures): verify agrees with every verdict", () => {
  expect(checkEcdsaVerifyFamily(crypto)).toBe(262);
});

test("ECDSA signing is deterministic (RFC 6979), byte for byte the Node body's", () => {
  const scalar = node.p256Export(node.p256Generate());
  const message = node.randomBytes(100);
  const sig = crypto.ecdsaP256Sign(crypto.p256Import(scalar), message);
  expect(toHex(sig)).toBe(toHex(node.ecdsaP256Sign(node.p256Import(scalar), message)));
  expect(node.ecdsaP256Verify(node.p256PublicKey(node.p256Import(scalar)), message, sig)).toBe(true);
});

test("RSA-PSS-2048 SHA-256 salt 32 (WebCrypto through settle): verify agrees with every verdict", async () => {
  expect(await checkRsaPssFamily((pub, message, signature) => crypto.settle(() => crypto.rsaPssSha256Verify(pub, message, signature)))).toBe(108);
  await expect(crypto.settle(() => crypto.rsaPssSha256Verify(new Uint8Array([1, 2, 3]), new Uint8Array(1), new Uint8Array(256)))).rejects.toMatchObject({ code: "E_ARGUMENT" });
});

test("HPKE: what NodeCrypto seals to a non-extractable browser key opens through settle; a miss never leaks a placeholder answer", async () => {
  const scalar = node.p256Export(node.p256Generate());
  const heldKey = await held(scalar);
  const info = new Uint8Array([1, 2, 3]);
  const secret = node.randomBytes(32);
  const { enc, ciphertext } = sealSingleShot(node, heldKey.publicKey, info, new Uint8Array(0), secret);
  let runs = 0;
  const opened = await crypto.settle(() => {
    runs++;
    return openSingleShot(crypto, heldKey, enc, info, new Uint8Array(0), ciphertext);
  });
  expect(toHex(opened)).toBe(toHex(secret));
  expect(runs).toBe(2); // the first run missed the ECDH (and failed on its placeholder), the second had it
  // Once answered, no second round; a wrong key still fails with the opener's own code.
  const other = await held(node.p256Export(node.p256Generate()));
  await expect(crypto.settle(() => openSingleShot(crypto, other, enc, info, new Uint8Array(0), ciphertext))).rejects.toMatchObject({ code: "E_UNWRAP" });
  // A held key has no scalar in script: exporting or signing with it is refused.
  expect(() => crypto.p256Export(heldKey)).toThrow(expect.objectContaining({ code: "E_STATE" }));
  expect(() => crypto.ecdsaP256Sign(heldKey, new Uint8Array(1))).toThrow(expect.objectContaining({ code: "E_STATE" }));
});
