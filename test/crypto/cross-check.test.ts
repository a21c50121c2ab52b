/**
 * A second implementation for the primitives under the clip format: AES-128-GCM and HKDF-SHA256 from
 * NodeCrypto (OpenSSL) must agree with @noble/ciphers and @noble/hashes on random inputs, including the
 * segment sizes the format uses. (HPKE is cross-checked with @hpke/core in hpke.test.ts; the camera's
 * native module is checked against NodeCrypto inside XS in test/xs/.)
 */
import { gcm } from "@noble/ciphers/aes.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { NodeCrypto } from "../../host-tools/platform/node-crypto";
import { toHex } from "../../firmware/core/bytes";

const crypto = new NodeCrypto();

test("AES-128-GCM: OpenSSL and @noble/ciphers agree both ways", () => {
  for (const length of [0, 1, 15, 16, 17, 4096, 65535, 65536]) {
    const key = crypto.randomBytes(16);
    const nonce = crypto.randomBytes(12);
    const aad = crypto.randomBytes(length % 40);
    const plaintext = crypto.randomBytes(length);
    const ours = crypto.aesGcmSeal(key, nonce, aad, plaintext);
    const theirs = gcm(key, nonce, aad).encrypt(plaintext);
    expect(toHex(ours)).toBe(toHex(theirs));
    expect(crypto.aesGcmOpen(key, nonce, aad, theirs)).toEqual(plaintext);
    expect(gcm(key, nonce, aad).decrypt(ours)).toEqual(plaintext);
  }
});

test("HKDF-SHA256: extract+expand agrees with @noble/hashes", () => {
  for (const length of [1, 16, 32, 33, 255, 8160]) {
    const ikm = crypto.randomBytes(1 + (length % 50));
    const salt = crypto.randomBytes(length % 3 === 0 ? 0 : 16);
    const info = crypto.randomBytes(length % 20);
    const ours = crypto.hkdfExpand(crypto.hkdfExtract(salt, ikm), info, length);
    expect(toHex(ours)).toBe(toHex(hkdf(sha256, ikm, salt, info, length)));
  }
});
