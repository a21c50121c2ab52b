/**
 * The key roster: the account's list of public keys every camera must seal clips to (each enrolled phone's
 * instance key and the account data key), signed by the account signing key (the root key). The cloud
 * stores and serves it but cannot forge one: cameras check it here with the root certificate they received
 * at setup, and refuse a roster older than the newest they have accepted.
 *
 * Encoding (DER, canonical):
 *
 *   SignedRoster ::= SEQUENCE {
 *     tbsRoster          SEQUENCE {
 *       format             UTF8String "sealcam-roster-v1",   -- domain separation from certificate TBS
 *       accountId          UTF8String,
 *       version            INTEGER (1..2^48-1),
 *       issuedAt           GeneralizedTime,
 *       entries            SEQUENCE SIZE (2..16) OF SEQUENCE {  -- phones + data key + stream keys <= 16
 *         role               UTF8String ("phone" | "account-data" | "stream"),
 *         certificate        Certificate } },                -- sorted by keyId, no duplicates
 *     signatureAlgorithm AlgorithmIdentifier,                -- RSASSA-PSS SHA-256 MGF1-SHA-256 salt 32
 *     signature          BIT STRING }                        -- over the tbsRoster DER
 */
import type { Crypto } from "../platform/crypto";
import { constantTimeEqual, toHex } from "./bytes";
import {
  derBitString, derGeneralizedTime, derInteger, derSequence, derUtf8String, parseDer, readBitString,
  readSmallInteger, readString, readTime, sequence,
} from "./der";
import { fail } from "./errors";
import {
  KU_KEY_AGREEMENT, KU_KEY_ENCIPHERMENT, parseCertificate, parseSignatureAlgorithm, verifyChain, verifySignature,
  type Certificate,
} from "./x509";
import type { RecipientKey } from "./clip/sealer";
import { MAX_RECIPIENTS } from "./clip/constants";
import type { StreamKey } from "./stream-scope";

export const ROSTER_FORMAT = "sealcam-roster-v1";
export const ROSTER_MAX_BYTES = 64 * 1024;
/**
 * Every roster entry can become a recipient of one clip (phones and the data key always, a stream key when its
 * scope covers the clip), so the roster limit is the sealer's recipient limit: one number, enforced where a
 * roster is made (phone), stored (cloud) and read (camera): data key + phones + stream keys <= 16.
 */
export const ROSTER_MAX_ENTRIES = MAX_RECIPIENTS;
/** Phones an account can hold when it has no stream keys: every entry but the account data key. */
export const ROSTER_MAX_PHONES = ROSTER_MAX_ENTRIES - 1;
export const ROSTER_MAX_VERSION = 0xffffffffffff;

export type RosterRole = "phone" | "account-data" | "stream";

/** A roster key in exactly the shape the clip sealer takes. */
export type Recipient = RecipientKey;

export interface RosterEntry {
  role: RosterRole;
  certificate: Certificate;
  keyId: Uint8Array;
}

export interface Roster {
  accountId: string;
  version: number;
  issuedAt: number;
  entries: RosterEntry[];
  /** The recipients of EVERY clip (phones and the account data key), in roster order, as the sealer takes them. */
  recipients: Recipient[];
  /** The stream keys (role `stream`), in roster order; streamRecipientsFor picks those whose scope covers a clip. */
  streamKeys: StreamKey[];
  /** The tbsRoster DER (what the signature covers). */
  tbs: Uint8Array;
}

export interface RosterInput {
  accountId: string;
  version: number;
  issuedAt: number;
  entries: { role: RosterRole; certificateDer: Uint8Array }[];
}

function checkAccountId(accountId: string): void {
  if (!/^[a-z0-9][a-z0-9-]{0,63}$/.test(accountId)) fail("E_FORMAT", "roster: bad account id");
}

function tooManyEntries(n: number): string {
  return `roster: ${n} keys, but a clip has at most ${MAX_RECIPIENTS} recipients (the account data key + phones + stream keys); remove a phone or revoke a share first`;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/**
 * The canonical tbsRoster DER for `input`; entries are sorted by keyId here, so the signer (the phone,
 * host side) only has to sign these bytes with RSASSA-PSS and call `assembleRoster`.
 */
export function encodeRosterTbs(crypto: Crypto, input: RosterInput): Uint8Array {
  checkAccountId(input.accountId);
  if (!Number.isSafeInteger(input.version) || input.version < 1 || input.version > ROSTER_MAX_VERSION) {
    fail("E_ARGUMENT", "roster: version out of range");
  }
  if (input.entries.length > ROSTER_MAX_ENTRIES) fail("E_LIMIT", tooManyEntries(input.entries.length));
  if (input.entries.length < 2) fail("E_ARGUMENT", "roster: needs the account data key and at least one phone");
  const sorted = input.entries
    .map((e) => ({ role: e.role, der: e.certificateDer, keyId: crypto.sha256(parseCertificate(e.certificateDer).spki) }))
    .sort((a, b) => compareBytes(a.keyId, b.keyId));
  return derSequence(
    derUtf8String(ROSTER_FORMAT),
    derUtf8String(input.accountId),
    derInteger(input.version),
    derGeneralizedTime(Math.floor(input.issuedAt / 1000) * 1000),
    derSequence(...sorted.map((e) => derSequence(derUtf8String(e.role), e.der))),
  );
}

/** The signed roster from its TBS, the RSASSA-PSS AlgorithmIdentifier DER and the signature. */
export function assembleRoster(tbs: Uint8Array, signatureAlgorithmDer: Uint8Array, signature: Uint8Array): Uint8Array {
  return derSequence(tbs, signatureAlgorithmDer, derBitString(signature));
}

/** Parses a signed roster without checking anything cryptographic (the cloud uses this for the version). */
export function parseRosterUnverified(crypto: Crypto, rosterBytes: Uint8Array): {
  accountId: string; version: number; issuedAt: number; entries: RosterEntry[]; tbs: Uint8Array;
  signatureAlgorithm: ReturnType<typeof parseSignatureAlgorithm>; signature: Uint8Array;
} {
  if (rosterBytes.length > ROSTER_MAX_BYTES) fail("E_LIMIT", "roster is too large");
  const [tbsNode, algNode, sigNode] = sequence(parseDer(rosterBytes), "roster", 3, 3);
  const [formatNode, accountNode, versionNode, issuedNode, entriesNode] = sequence(tbsNode, "tbsRoster", 5, 5);
  if (readString(formatNode, "roster format") !== ROSTER_FORMAT) fail("E_FORMAT", "not a sealcam-roster-v1");
  const accountId = readString(accountNode, "roster account");
  checkAccountId(accountId);
  const version = readSmallInteger(versionNode, "roster version");
  if (version < 1 || version > ROSTER_MAX_VERSION) fail("E_FORMAT", "roster: version out of range");
  const issuedAt = readTime(issuedNode, "roster issuedAt");
  const entryNodes = sequence(entriesNode, "roster entries", 2, Number.MAX_SAFE_INTEGER);
  if (entryNodes.length > ROSTER_MAX_ENTRIES) fail("E_LIMIT", tooManyEntries(entryNodes.length));
  const entries: RosterEntry[] = [];
  for (const entryNode of entryNodes) {
    const [roleNode, certNode] = sequence(entryNode, "roster entry", 2, 2);
    const role = readString(roleNode, "roster role");
    if (role !== "phone" && role !== "account-data" && role !== "stream") fail("E_FORMAT", `roster: unknown role ${role.slice(0, 32)}`);
    const certificate = parseCertificate(certNode.der);
    const keyId = crypto.sha256(certificate.spki);
    if (entries.length > 0 && compareBytes(entries[entries.length - 1].keyId, keyId) >= 0) {
      fail("E_FORMAT", "roster: entries must be sorted by key id without duplicates");
    }
    entries.push({ role, certificate, keyId });
  }
  const signatureAlgorithm = parseSignatureAlgorithm(algNode);
  const signature = readBitString(sigNode, "roster signature", true).bytes;
  return { accountId, version, issuedAt, entries, tbs: tbsNode.der, signatureAlgorithm, signature };
}

export interface VerifyRosterOptions {
  /** The newest roster version this verifier has accepted; an older roster is refused (E_ROSTER). */
  minVersion: number;
  /** When given, the roster must be for this account. */
  accountId?: string;
  /** When given (ms since epoch), every certificate must be valid at that time. */
  now?: number;
}

/**
 * Verifies a signed roster against the account root certificate (DER) the camera was given at setup:
 * signature by the root key, version >= minVersion, one account-data key (RSA, keyEncipherment) and at least
 * one phone key (P-256, keyAgreement), stream keys (P-256, keyAgreement, a critical stream-scope extension),
 * each certificate issued by the root. Throws E_ROSTER / E_CERT / E_SIGNATURE / E_FORMAT / E_LIMIT; returns
 * the roster with its recipients (every clip) and its stream keys (clips in their scope).
 */
export function verifyRoster(crypto: Crypto, rosterBytes: Uint8Array, rootCertDer: Uint8Array, options: VerifyRosterOptions): Roster {
  const root = parseCertificate(rootCertDer);
  const parsed = parseRosterUnverified(crypto, rosterBytes);
  if (parsed.signatureAlgorithm !== "rsassa-pss-sha256" || !verifySignature(crypto, parsed.signatureAlgorithm, root.publicKey, parsed.tbs, parsed.signature)) {
    fail("E_SIGNATURE", "roster is not signed by the account signing key");
  }
  if (options.accountId !== undefined && parsed.accountId !== options.accountId) fail("E_ROSTER", "roster is for another account");
  if (parsed.version < options.minVersion) {
    fail("E_ROSTER", `roster version ${parsed.version} is older than version ${options.minVersion} already seen`);
  }
  let dataKeys = 0;
  let phones = 0;
  const recipients: Recipient[] = [];
  const streamKeys: StreamKey[] = [];
  for (const entry of parsed.entries) {
    verifyChain(crypto, entry.certificate, root, { now: options.now });
    if (constantTimeEqual(entry.certificate.spki, root.spki)) fail("E_ROSTER", "roster may not list the root key");
    const key = entry.certificate.publicKey;
    const usage = entry.certificate.keyUsage;
    // Only a stream entry may carry a scope: a stream certificate listed as a phone (or as the data key) would
    // otherwise receive every clip, outside its scope.
    if (entry.role !== "stream" && entry.certificate.streamScope !== null) {
      fail("E_ROSTER", `a ${entry.role} entry may not carry a stream scope (a stream key listed under the wrong role)`);
    }
    if (entry.role === "stream") {
      if (key.kind !== "p256") fail("E_ROSTER", "a stream key must be P-256");
      if (usage === null || (usage & KU_KEY_AGREEMENT) === 0) fail("E_ROSTER", "a stream key must allow key agreement");
      const scope = entry.certificate.streamScope;
      if (scope === null) fail("E_ROSTER", "a stream entry needs a certificate with a stream scope (a phone key listed as a stream key?)");
      streamKeys.push({ keyId: entry.keyId, publicKey: key.point65, scope });
    } else if (entry.role === "phone") {
      if (key.kind !== "p256") fail("E_ROSTER", "a phone key must be P-256");
      if (usage !== null && (usage & KU_KEY_AGREEMENT) === 0) fail("E_ROSTER", "a phone key must allow key agreement");
      phones++;
      recipients.push({ kind: "hpke-p256", keyId: entry.keyId, publicKey: key.point65 });
    } else {
      if (key.kind !== "rsa") fail("E_ROSTER", "the account data key must be RSA");
      if (usage !== null && (usage & KU_KEY_ENCIPHERMENT) === 0) fail("E_ROSTER", "the account data key must allow key encipherment");
      dataKeys++;
      recipients.push({ kind: "rsa-oaep-sha256", keyId: entry.keyId, publicKey: key.pkcs1Der });
    }
  }
  if (dataKeys !== 1) fail("E_ROSTER", "roster must list exactly one account data key");
  if (phones < 1) fail("E_ROSTER", "roster must list at least one phone");
  return {
    accountId: parsed.accountId,
    version: parsed.version,
    issuedAt: parsed.issuedAt,
    entries: parsed.entries,
    recipients,
    streamKeys,
    tbs: parsed.tbs,
  };
}

/** Hex key ids of a roster's entries (for logs and the cloud's listing). */
export function rosterKeyIds(roster: { entries: RosterEntry[] }): string[] {
  return roster.entries.map((e) => toHex(e.keyId));
}
