/**
 * The passphrase and the key derivations of the whitepaper's step 3.
 *
 * Passphrase: 10 words drawn uniformly (crypto.randomInt, rejection sampling inside Node) from the EFF large
 * wordlist (7,776 words, CC BY 3.0 US; via secure-password-utilities' EFF_LONG_WORDLIST) less the offensive
 * words of passphrase-blocklist.ts (76 removed, 7,700 left), never putting the second word of a blocked phrase
 * right after its first: at least log2(7700) + 9 * log2(7698) = 129.1 bits (passphraseEntropyBits). Fewer than 7,132 words
 * left would take an 11th word (generationWordCount keeps the bound at 128 bits or more).
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
import { BLOCKED_PHRASES, BLOCKED_WORDS } from "./passphrase-blocklist";

/** The security floor for a generated passphrase. */
export const PASSPHRASE_MIN_BITS = 128;
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

/** Every EFF word: what the reader accepts (passphrases made before the blocklist stay valid). */
const WORDS = new Set<string>(EFF_LONG_WORDLIST);
const BLOCKED = new Set<string>(BLOCKED_WORDS);
/** What the generator draws from: the EFF list without the blocked words, in list order. */
const GENERATION_WORDS: readonly string[] = EFF_LONG_WORDLIST.filter((w) => !BLOCKED.has(w));
/** For each word, the words that may not follow it (blocked phrases). */
const BLOCKED_NEXT = new Map<string, Set<string>>();
for (const [first, second] of BLOCKED_PHRASES) {
  if (!BLOCKED_NEXT.has(first)) BLOCKED_NEXT.set(first, new Set());
  BLOCKED_NEXT.get(first)!.add(second);
}
/** The most successors any one word loses to blocked phrases. */
const MAX_BLOCKED_NEXT = Math.max(0, ...[...BLOCKED_NEXT.values()].map((set) => set.size));

/** Entropy of a generated passphrase of `words` words, in bits (a lower bound: see generatePassphrase). */
export function passphraseEntropyBits(words: number): number {
  return Math.log2(GENERATION_WORDS.length) + (words - 1) * Math.log2(GENERATION_WORDS.length - MAX_BLOCKED_NEXT);
}

/** The fewest words that keep a generated passphrase at PASSPHRASE_MIN_BITS or more: 10 with today's lists. */
export function generationWordCount(): number {
  let words = 1;
  while (passphraseEntropyBits(words) < PASSPHRASE_MIN_BITS) words++;
  return words;
}

/** Words in a passphrase: generated and accepted. */
export const PASSPHRASE_WORDS = generationWordCount();

/** Words the reader accepts (the whole EFF list). */
export function wordlistSize(): number {
  return EFF_LONG_WORDLIST.length;
}

/** Words the generator draws from (the EFF list less BLOCKED_WORDS). */
export function generationWordlistSize(): number {
  return GENERATION_WORDS.length;
}

/**
 * A fresh passphrase, words separated by single spaces. Each word is uniform over the generation list; a word
 * that would complete a blocked phrase with the one before it is drawn again, so each later word is uniform
 * over at least N - MAX_BLOCKED_NEXT words: entropy >= log2(N) + (words - 1) * log2(N - MAX_BLOCKED_NEXT).
 */
export function generatePassphrase(words = PASSPHRASE_WORDS): string {
  if (EFF_LONG_WORDLIST.length !== 7776) fail("E_INTERNAL", "EFF wordlist must have 7,776 words");
  if (passphraseEntropyBits(words) < PASSPHRASE_MIN_BITS) fail("E_INTERNAL", `a ${words}-word passphrase would have under ${PASSPHRASE_MIN_BITS} bits`);
  const out: string[] = [];
  for (let i = 0; i < words; i++) {
    const forbidden = i > 0 ? BLOCKED_NEXT.get(out[i - 1]) : undefined;
    let word: string;
    do word = GENERATION_WORDS[nodeCrypto.randomInt(GENERATION_WORDS.length)];
    while (forbidden !== undefined && forbidden.has(word));
    out.push(word);
  }
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
