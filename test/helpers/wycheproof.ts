/**
 * Reads Project Wycheproof vectors from ../shared/vectors/wycheproof at run time (never copied into the repo).
 * SEALCAM_WYCHEPROOF overrides the folder. A missing folder is an error, not a skip.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { concat, fromHex, toHex } from "../../firmware/core/bytes";
import type { Crypto } from "../../firmware/platform/crypto";

export const WYCHEPROOF_DIR =
  process.env.SEALCAM_WYCHEPROOF ?? path.resolve(__dirname, "..", "..", "..", "shared", "vectors", "wycheproof");

export interface WycheproofTest {
  tcId: number;
  comment: string;
  flags: string[];
  result: "valid" | "invalid" | "acceptable";
  [field: string]: unknown;
}

export interface WycheproofGroup {
  tests: WycheproofTest[];
  [field: string]: unknown;
}

export function loadWycheproof(file: string): WycheproofGroup[] {
  const full = path.join(WYCHEPROOF_DIR, file);
  if (!fs.existsSync(full)) {
    throw new Error(`Wycheproof vectors not found at ${full}: check out ../shared beside the project or set SEALCAM_WYCHEPROOF`);
  }
  return (JSON.parse(fs.readFileSync(full, "utf8")) as { testGroups: WycheproofGroup[] }).testGroups;
}

/*
 * The Wycheproof families every body of the Crypto interface passes, each run against the body given (the
 * Node body in test/crypto/wycheproof-node.test.ts, the browser's in wycheproof-browser.test.ts). Each checks
 * every vector of its family with jest's expect and returns how many it checked.
 */

const hex = (v: unknown): Uint8Array => fromHex(v as string);

/** A Wycheproof private scalar as 32 bytes (the vectors add a leading 00 when the top bit is set, or drop leading zeros). */
export function scalar32(v: unknown): Uint8Array {
  let s = hex(v);
  if (s.length > 32) s = s.subarray(s.length - 32);
  if (s.length < 32) s = concat(new Uint8Array(32 - s.length), s);
  return s;
}

/** AES-128-GCM with 96-bit IVs and 128-bit tags: seal matches, open accepts the valid and refuses (null) the rest. */
export function checkAesGcmFamily(crypto: Crypto): number {
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
  return checked;
}

/** HKDF-SHA256: extract then expand gives the okm; an invalid vector (oversized output) throws. */
export function checkHkdfFamily(crypto: Crypto): number {
  let checked = 0;
  for (const group of loadWycheproof("hkdf_sha256_test.json")) {
    for (const t of group.tests) {
      const run = () => crypto.hkdfExpand(crypto.hkdfExtract(hex(t.salt), hex(t.ikm)), hex(t.info), t.size as number);
      if (t.result === "valid") expect(toHex(run())).toBe(t.okm);
      else expect(run).toThrow();
      checked++;
    }
  }
  return checked;
}

/**
 * ECDH P-256 over SEC1 points: `check(scalar, peer, shared)` for each vector, `shared` the hex secret of a valid
 * one, null where the body must refuse (invalid, and the "acceptable" compressed points: only uncompressed ones
 * are accepted).
 */
export async function checkEcdhFamily(check: (scalar: Uint8Array, peer: Uint8Array, shared: string | null) => void | Promise<void>): Promise<number> {
  let checked = 0;
  for (const group of loadWycheproof("ecdh_secp256r1_ecpoint_test.json")) {
    for (const t of group.tests) {
      await check(scalar32(t.private), hex(t.public), t.result === "valid" ? (t.shared as string) : null);
      checked++;
    }
  }
  return checked;
}

/** ECDSA P-256 SHA-256 with P1363 signatures: verify agrees with every verdict. */
export function checkEcdsaVerifyFamily(crypto: Crypto): number {
  let checked = 0;
  for (const group of loadWycheproof("ecdsa_secp256r1_sha256_p1363_test.json")) {
    const pub = hex((group.publicKey as { uncompressed: string }).uncompressed);
    for (const t of group.tests) {
      expect([t.tcId, crypto.ecdsaP256Verify(pub, hex(t.msg), hex(t.sig))]).toEqual([t.tcId, t.result === "valid"]);
      checked++;
    }
  }
  return checked;
}

/** RSA-PSS-2048 SHA-256, salt 32: `verify` (rsaPssSha256Verify, perhaps through settle) agrees with every verdict. */
export async function checkRsaPssFamily(verify: (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean | Promise<boolean>): Promise<number> {
  let checked = 0;
  for (const group of loadWycheproof("rsa_pss_2048_sha256_mgf1_32_test.json")) {
    const pub = hex(group.publicKeyAsn);
    for (const t of group.tests) {
      expect([t.tcId, await verify(pub, hex(t.msg), hex(t.sig))]).toEqual([t.tcId, t.result === "valid"]);
      checked++;
    }
  }
  return checked;
}
