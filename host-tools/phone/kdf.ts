/**
 * The passphrase and the key derivations of the whitepaper's step 3.
 *
 * Passphrase: 10 words drawn uniformly (crypto.randomInt, rejection sampling inside Node) from the EFF large
 * wordlist (7,776 words, CC BY 3.0 US; via secure-password-utilities' EFF_LONG_WORDLIST): 129.2 bits.
 *
 * Derived keys (32 bytes), "passphrase + random salt -> scrypt -> used as the password of PBKDF2":
 *   s  = scrypt(password, scryptSalt, N = 2^17, r = 8, p = 1, dkLen = 32)
 *   dk = PBKDF2-HMAC-SHA256(password = s, pbkdf2Salt, 100,000 iterations, dkLen = 32)
 * The passphrase enters scrypt as the UTF-8 of its normalised form (lower case, single spaces); the account
 * data key's password is 32 random bytes. A derived key protects a PKCS#12 file as the password string
 * hex(dk) (64 lower-case hex characters).
 */
import * as nodeCrypto from "node:crypto";
import { EFF_LONG_WORDLIST } from "secure-password-utilities/wordlists";
import { fail } from "../../firmware/core/errors";
import { toHex, fromBase64Url, toBase64Url } from "../../firmware/core/bytes";

export const PASSPHRASE_WORDS = 10;
export const SCRYPT_N = 1 << 17;
export const SCRYPT_R = 8;
export const SCRYPT_P = 1;
export const PBKDF2_ITERATIONS = 100_000;
export const SALT_BYTES = 16;
export const KDF_NAME = "scrypt-pbkdf2-sha256";

export interface KdfParams {
  alg: typeof KDF_NAME;
  scryptN: number;
  scryptR: number;
  scryptP: number;
  scryptSalt: string; // base64url
  pbkdf2Iterations: number;
  pbkdf2Salt: string; // base64url
}

const WORDS = new Set<string>(EFF_LONG_WORDLIST);

export function wordlistSize(): number {
  return EFF_LONG_WORDLIST.length;
}

/** A fresh 10-word passphrase, words separated by single spaces. */
export function generatePassphrase(words = PASSPHRASE_WORDS): string {
  if (EFF_LONG_WORDLIST.length !== 7776) fail("E_INTERNAL", "EFF wordlist must have 7,776 words");
  const out: string[] = [];
  for (let i = 0; i < words; i++) out.push(EFF_LONG_WORDLIST[nodeCrypto.randomInt(EFF_LONG_WORDLIST.length)]);
  return out.join(" ");
}

/** Lower-cases, collapses whitespace and checks every word is in the list (so typos fail early, locally). */
export function normalizePassphrase(text: string): string {
  const words = text.trim().toLowerCase().split(/\s+/).filter((w) => w.length > 0);
  if (words.length !== PASSPHRASE_WORDS) fail("E_ARGUMENT", `the passphrase has ${PASSPHRASE_WORDS} words, got ${words.length}`);
  words.forEach((word, i) => {
    if (!WORDS.has(word)) fail("E_ARGUMENT", `word ${i + 1} of the passphrase is not in the word list: check its spelling`);
  });
  return words.join(" ");
}

export function newKdfParams(): KdfParams {
  return {
    alg: KDF_NAME,
    scryptN: SCRYPT_N,
    scryptR: SCRYPT_R,
    scryptP: SCRYPT_P,
    scryptSalt: toBase64Url(nodeCrypto.randomBytes(SALT_BYTES)),
    pbkdf2Iterations: PBKDF2_ITERATIONS,
    pbkdf2Salt: toBase64Url(nodeCrypto.randomBytes(SALT_BYTES)),
  };
}

/** Refuses parameters weaker than ours (a cloud cannot talk a phone into a cheap derivation). */
export function checkKdfParams(value: unknown): KdfParams {
  const p = value as KdfParams;
  if (
    !p || p.alg !== KDF_NAME || p.scryptN !== SCRYPT_N || p.scryptR !== SCRYPT_R || p.scryptP !== SCRYPT_P ||
    p.pbkdf2Iterations !== PBKDF2_ITERATIONS || typeof p.scryptSalt !== "string" || typeof p.pbkdf2Salt !== "string"
  ) {
    fail("E_FORMAT", "unsupported key-derivation parameters");
  }
  if (fromBase64Url(p.scryptSalt).length !== SALT_BYTES || fromBase64Url(p.pbkdf2Salt).length !== SALT_BYTES) {
    fail("E_FORMAT", "bad key-derivation salt");
  }
  return p;
}

/** scrypt then PBKDF2 (see above). */
export function deriveKey(password: Uint8Array, params: KdfParams): Uint8Array {
  checkKdfParams(params);
  const s = nodeCrypto.scryptSync(password, fromBase64Url(params.scryptSalt), 32, {
    N: params.scryptN, r: params.scryptR, p: params.scryptP, maxmem: 256 * 1024 * 1024,
  });
  const dk = nodeCrypto.pbkdf2Sync(s, fromBase64Url(params.pbkdf2Salt), params.pbkdf2Iterations, 32, "sha256");
  s.fill(0);
  return new Uint8Array(dk);
}

export function derivePassphraseKey(passphrase: string, params: KdfParams): Uint8Array {
  return deriveKey(new Uint8Array(Buffer.from(normalizePassphrase(passphrase), "utf8")), params);
}

/** The PKCS#12 password string for a derived key: lower-case hex. */
export function pkcs12Password(derivedKey: Uint8Array): string {
  if (derivedKey.length !== 32) fail("E_ARGUMENT", "derived key must be 32 bytes");
  return toHex(derivedKey);
}

/**
 * The backup-release proof: authKey = HKDF-SHA256(ikm = passphrase derived key, salt = accountId,
 * info = "sealcam-v1 backup-auth", 32). The cloud stores SHA-256(authKey) and releases the backup to a phone
 * that presents authKey; authKey reveals nothing usable about the derived key.
 */
export function backupAuthKey(passphraseKey: Uint8Array, accountId: string): Uint8Array {
  return new Uint8Array(nodeCrypto.hkdfSync("sha256", passphraseKey, Buffer.from(accountId, "utf8"), Buffer.from("sealcam-v1 backup-auth"), 32));
}

export function authVerifier(authKey: Uint8Array): string {
  return toBase64Url(nodeCrypto.createHash("sha256").update(authKey).digest());
}
