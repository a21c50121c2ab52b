/**
 * NodeCrypto keeps imported P-256 verification keys in a small LRU (keyed by the point). A cached key must behave
 * exactly like a fresh import: right key verifies, other keys and edited messages do not, bad points still throw,
 * and more distinct keys than the cache holds (evictions) change nothing.
 */
import { NodeCrypto } from "../../host-tools/platform/node-crypto";
import { SealcamError } from "../../firmware/core/errors";
import { asciiBytes } from "../../firmware/core/bytes";

const crypto = new NodeCrypto();

test("verification through the key cache: same answers as an import, across evictions", () => {
  const keys = Array.from({ length: 70 }, () => crypto.p256Generate());
  const message = asciiBytes("sealcam verify cache");
  const signatures = keys.map((k) => crypto.ecdsaP256Sign(k, message));
  for (let round = 0; round < 3; round++) {
    keys.forEach((key, i) => {
      const point = crypto.p256PublicKey(key);
      expect(crypto.ecdsaP256Verify(point, message, signatures[i])).toBe(true);
      expect(crypto.ecdsaP256Verify(point, asciiBytes("other message"), signatures[i])).toBe(false);
      expect(crypto.ecdsaP256Verify(point, message, signatures[(i + 1) % keys.length])).toBe(false);
    });
  }
});

test("a point that is not on the curve throws every time, also after a good point was cached", () => {
  const key = crypto.p256Generate();
  const point = crypto.p256PublicKey(key);
  const message = asciiBytes("m");
  const signature = crypto.ecdsaP256Sign(key, message);
  expect(crypto.ecdsaP256Verify(point, message, signature)).toBe(true);
  const bad = Uint8Array.from(point);
  bad[64] ^= 1;
  for (let i = 0; i < 2; i++) {
    expect(() => crypto.ecdsaP256Verify(bad, message, signature)).toThrow(SealcamError);
  }
  // The caller's array is only read: changing it after a verify does not change what a later verify uses.
  const reused = Uint8Array.from(point);
  expect(crypto.ecdsaP256Verify(reused, message, signature)).toBe(true);
  reused[64] ^= 1;
  expect(() => crypto.ecdsaP256Verify(reused, message, signature)).toThrow(SealcamError);
});
