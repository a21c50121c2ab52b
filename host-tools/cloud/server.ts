/**
 * The sealcam cloud: a node:http server over SQLite (better-sqlite3) and clip files. It only ever receives
 * ciphertext, public keys, certificates and encrypted backups; it can refuse service but cannot read a clip,
 * forge a roster or add a key. Every endpoint is described in docs/CLOUD-API.md.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as nodeCrypto from "node:crypto";
import * as path from "node:path";
import type { AddressInfo } from "node:net";
import { constantTimeEqual, fromBase64Url, toBase64Url, toHex } from "../../firmware/core/bytes";
import { parseRequestAuthHeaders, verifyRequest } from "../../firmware/core/request-auth";
import { ROSTER_MAX_VERSION, verifyRoster } from "../../firmware/core/roster";
import { parseCertificate, verifyChain, type Certificate } from "../../firmware/core/x509";
import { NodeCrypto } from "../platform/node-crypto";
import { FOOTER_BYTES, MAX_HEAD_BYTES, readHead, segmentLengthOk } from "./clip-format";
import { openDb, type Db } from "./db";
import { concatFilesAtomic, writeFileAtomic } from "./files";
import {
  JSON_LIMIT, bin, clientCheck, httpFail, obj, onlyFields, parseJsonObject, readBody, sendError, sendFile, sendJson,
  str, type Json,
} from "./http-util";
import { MAX_SEGMENT_SIZE, TAG_LENGTH } from "../../firmware/core/clip/constants";

export const UNLOCK_FAILURES_PER_HOUR = 10;
const HOUR_MS = 3600 * 1000;
const CERT_MAX = 8192;
const ROSTER_MAX = 64 * 1024;
const SEGMENT_LIMIT = MAX_SEGMENT_SIZE + TAG_LENGTH;

const EMAIL = /^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,190}$/;
const LOGIN_PASSWORD = /^[\x20-\x7e]{8,128}$/;
const NAME = /^[A-Za-z0-9 ._-]{1,64}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const CLIP_ID = /^[0-9a-f]{32}$/;
const ACCOUNT_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;
const B64 = /^[A-Za-z0-9_-]{1,8000}$/;

const STATUS_LIMIT = 4096;
const ERROR_CODE = /^E_[A-Z_]{1,30}$/;

interface CameraStatus {
  rosterVersion: number;
  rosterProblem: { version: number | null; code: string; message: string } | null;
  queued: number;
}

/** `PUT /v1/camera/status` body: exactly {rosterVersion, rosterProblem, queued}; see docs/CLOUD-API.md. */
function checkCameraStatus(body: Json): CameraStatus {
  const int = (value: unknown, min: number): value is number => Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= ROSTER_MAX_VERSION;
  for (const name of ["rosterVersion", "rosterProblem", "queued"]) if (!(name in body)) httpFail(400, "E_FORMAT", `field '${name}' is missing`);
  if (!int(body.rosterVersion, 1)) httpFail(400, "E_FORMAT", "field 'rosterVersion' must be an integer >= 1");
  if (!int(body.queued, 0)) httpFail(400, "E_FORMAT", "field 'queued' must be an integer >= 0");
  let problem: CameraStatus["rosterProblem"] = null;
  if (body.rosterProblem !== null) {
    const p = obj(body, "rosterProblem");
    onlyFields(p, ["version", "code", "message"]);
    for (const name of ["version", "code", "message"]) if (!(name in p)) httpFail(400, "E_FORMAT", `field 'rosterProblem.${name}' is missing`);
    if (p.version !== null && !int(p.version, 0)) httpFail(400, "E_FORMAT", "field 'rosterProblem.version' must be an integer or null");
    if (typeof p.code !== "string" || !ERROR_CODE.test(p.code)) httpFail(400, "E_FORMAT", "field 'rosterProblem.code' must be an error code (E_...)");
    if (typeof p.message !== "string" || p.message.length > 200 || /[\x00-\x1f\x7f]/.test(p.message)) {
      httpFail(400, "E_FORMAT", "field 'rosterProblem.message' must be a string of at most 200 characters without control characters");
    }
    problem = { version: p.version as number | null, code: p.code, message: p.message };
  }
  return { rosterVersion: body.rosterVersion as number, rosterProblem: problem, queued: body.queued as number };
}

export interface CloudOptions {
  dataDir: string;
  port?: number;
  host?: string;
  /** Injected clock for tests of the rate limit window (ms since epoch). */
  now?: () => number;
}

export interface CloudServer {
  url: string;
  port: number;
  db: Db;
  close(): Promise<void>;
}

interface Session { tokenHash: string; accountId: string; phoneKeyId: string | null; unlocked: boolean }
interface Ctx { req: http.IncomingMessage; res: http.ServerResponse; method: string; path: string; query: URLSearchParams; params: string[] }

const sha256hex = (data: Uint8Array | string): string => nodeCrypto.createHash("sha256").update(data).digest("hex");

function loginHash(password: string, salt: Uint8Array): Buffer {
  return nodeCrypto.scryptSync(password, salt, 32, { N: 1 << 14, r: 8, p: 1 });
}

export async function startCloud(options: CloudOptions): Promise<CloudServer> {
  const dataDir = path.resolve(options.dataDir);
  fs.mkdirSync(path.join(dataDir, "clips"), { recursive: true, mode: 0o700 });
  const db = openDb(path.join(dataDir, "cloud.sqlite"));
  const now = options.now ?? (() => Date.now());
  const crypto = new NodeCrypto();

  // ------------------------------------------------------------------------------------------- helpers
  function session(ctx: Ctx): Session {
    const auth = ctx.req.headers.authorization;
    const match = typeof auth === "string" ? /^Bearer ([A-Za-z0-9_-]{43})$/.exec(auth) : null;
    if (!match) httpFail(401, "E_AUTH", "sign in first (missing or malformed bearer token)");
    const tokenHash = sha256hex(match[1]);
    const row = db.prepare("SELECT account_id, phone_key_id, unlocked FROM sessions WHERE token_hash = ?").get(tokenHash) as
      | { account_id: string; phone_key_id: string | null; unlocked: number } | undefined;
    if (!row) httpFail(401, "E_AUTH", "session is not valid; sign in again");
    return { tokenHash, accountId: row.account_id, phoneKeyId: row.phone_key_id, unlocked: row.unlocked === 1 };
  }

  function newSession(accountId: string): string {
    const token = toBase64Url(nodeCrypto.randomBytes(32));
    db.prepare("INSERT INTO sessions (token_hash, account_id, created_at) VALUES (?, ?, ?)").run(sha256hex(token), accountId, now());
    return token;
  }

  function e2eeRow(accountId: string): { root_cert: Buffer; data_key_cert: Buffer; backup: string; auth_verifier: string; roster: Buffer; roster_version: number } | undefined {
    return db.prepare("SELECT * FROM e2ee WHERE account_id = ?").get(accountId) as never;
  }

  function requireE2ee(accountId: string): NonNullable<ReturnType<typeof e2eeRow>> {
    const row = e2eeRow(accountId);
    if (!row) httpFail(409, "E_STATE", "end-to-end encryption is not enabled for this account");
    return row;
  }

  function cert(body: Json, name: string): Certificate {
    const der = bin(body, name, 64, CERT_MAX);
    return clientCheck(() => parseCertificate(der));
  }

  function checkRoster(rosterBytes: Uint8Array, rootDer: Uint8Array, accountId: string, minVersion: number) {
    return clientCheck(() => verifyRoster(crypto, rosterBytes, rootDer, { minVersion, accountId }));
  }

  /** Rosters only move forward: a roster must be newer than the stored one and list exactly the active keys. */
  function checkRosterMatches(roster: ReturnType<typeof verifyRoster>, phoneKeyIds: string[], dataKeyCert: Uint8Array): void {
    const listed = roster.entries.filter((e) => e.role === "phone").map((e) => toHex(e.keyId)).sort();
    const expected = phoneKeyIds.slice().sort();
    if (listed.join(",") !== expected.join(",")) httpFail(400, "E_ROSTER", "roster must list exactly the account's enrolled phones");
    const data = roster.entries.find((e) => e.role === "account-data");
    if (!data || !constantTimeEqual(data.certificate.der, dataKeyCert)) httpFail(400, "E_ROSTER", "roster must list the account data key");
  }

  function activePhoneIds(accountId: string): string[] {
    return (db.prepare("SELECT key_id FROM phones WHERE account_id = ?").all(accountId) as { key_id: string }[]).map((r) => r.key_id);
  }

  function checkWraps(body: Json): string {
    const wraps = obj(body, "wraps");
    onlyFields(wraps, ["passphraseKey", "dataKey"]);
    bin(wraps, "passphraseKey", 65 + 16 + 32, 512);
    bin(wraps, "dataKey", 65 + 16 + 32, 512);
    return JSON.stringify({ passphraseKey: wraps.passphraseKey, dataKey: wraps.dataKey });
  }

  function checkBackup(body: Json): string {
    const backup = obj(body, "backup");
    onlyFields(backup, ["kdf", "signingKeyP12", "dataKeyP12", "dataKeyKdf", "dataKeyWrapToSigning"]);
    for (const name of ["kdf", "dataKeyKdf"]) {
      const kdf = obj(backup, name);
      onlyFields(kdf, ["alg", "scryptN", "scryptR", "scryptP", "scryptSalt", "pbkdf2Iterations", "pbkdf2Salt"]);
      str(kdf, "alg", /^scrypt-pbkdf2-sha256$/);
      for (const n of ["scryptN", "scryptR", "scryptP", "pbkdf2Iterations"]) {
        if (!Number.isSafeInteger(kdf[n]) || (kdf[n] as number) < 1 || (kdf[n] as number) > 1 << 24) httpFail(400, "E_FORMAT", `field '${n}' is malformed`);
      }
      bin(kdf, "scryptSalt", 16, 64);
      bin(kdf, "pbkdf2Salt", 16, 64);
    }
    bin(backup, "signingKeyP12", 256, 16384);
    bin(backup, "dataKeyP12", 256, 16384);
    bin(backup, "dataKeyWrapToSigning", 256, 512);
    return JSON.stringify(backup);
  }

  /** Verifies a camera-signed request; returns the camera row. The nonce is remembered (replay check). */
  function cameraAuth(ctx: Ctx, body: Uint8Array, certOverride?: Certificate): { cameraId: string; accountId: string | null; cert: Certificate } {
    const auth = clientCheck(() => parseRequestAuthHeaders(ctx.req.headers as Record<string, string>));
    let c: Certificate;
    let accountId: string | null = null;
    if (certOverride) {
      c = certOverride;
    } else {
      const row = db.prepare("SELECT account_id, cert FROM cameras WHERE camera_id = ?").get(auth.cameraId) as { account_id: string; cert: Buffer } | undefined;
      if (!row) httpFail(401, "E_AUTH", "unknown camera; register it first");
      c = parseCertificate(new Uint8Array(row.cert));
      accountId = row.account_id;
      const e2ee = e2eeRow(row.account_id);
      if (!e2ee) httpFail(401, "E_AUTH", "the camera's account no longer has end-to-end encryption");
      try {
        verifyChain(crypto, c, parseCertificate(new Uint8Array(e2ee.root_cert)));
      } catch {
        httpFail(401, "E_AUTH", "camera certificate no longer chains to the account root");
      }
    }
    if (c.publicKey.kind !== "p256") httpFail(401, "E_AUTH", "camera key must be P-256");
    const point = c.publicKey.point65;
    try {
      verifyRequest(crypto, point, auth, { method: ctx.method, path: ctx.req.url ?? "", bodyHash: crypto.sha256(body) }, now());
    } catch (error) {
      httpFail(401, "E_AUTH", (error as Error).message);
    }
    const t = now();
    db.prepare("DELETE FROM nonces WHERE at < ?").run(t - 15 * 60 * 1000);
    const inserted = db.prepare("INSERT OR IGNORE INTO nonces (camera_id, nonce, at) VALUES (?, ?, ?)").run(auth.cameraId, auth.nonce, t);
    if (inserted.changes !== 1) httpFail(401, "E_AUTH", "request replayed (nonce already used)");
    return { cameraId: auth.cameraId, accountId, cert: c };
  }

  const clipDir = (id: string) => path.join(dataDir, "clips", id);
  const clipFile = (id: string) => path.join(dataDir, "clips", `${id}.sealed`);

  // -------------------------------------------------------------------------------------------- routes
  type Handler = (ctx: Ctx) => Promise<void>;
  const routes: { method: string; pattern: RegExp; handler: Handler }[] = [];
  const route = (method: string, pattern: string, handler: Handler) =>
    routes.push({ method, pattern: new RegExp(`^${pattern.replace(/:([a-z]+)/g, "([^/]+)")}$`), handler });

  async function json(ctx: Ctx, allowed: string[]): Promise<Json> {
    const body = parseJsonObject(await readBody(ctx.req, JSON_LIMIT));
    onlyFields(body, allowed);
    return body;
  }
  async function noBody(ctx: Ctx): Promise<void> {
    const length = ctx.req.headers["content-length"];
    if ((length !== undefined && length !== "0") || ctx.req.headers["transfer-encoding"] !== undefined) {
      httpFail(400, "E_FORMAT", "this request takes no body");
    }
    await readBody(ctx.req, 0);
  }

  // Accounts and sessions (the ordinary account sign-in, separate from E2EE).
  route("POST", "/v1/accounts", async (ctx) => {
    const body = await json(ctx, ["email", "password"]);
    const email = str(body, "email", EMAIL).toLowerCase();
    const password = str(body, "password", LOGIN_PASSWORD);
    if (db.prepare("SELECT 1 FROM accounts WHERE email = ?").get(email)) httpFail(409, "E_CONFLICT", "an account with this email exists; sign in instead");
    const accountId = "acct-" + nodeCrypto.randomBytes(8).toString("hex");
    const salt = nodeCrypto.randomBytes(16);
    const hash = loginHash(password, salt);
    const token = db.transaction(() => {
      db.prepare("INSERT INTO accounts (id, email, login_salt, login_hash, created_at) VALUES (?, ?, ?, ?, ?)").run(accountId, email, salt, hash, now());
      return newSession(accountId);
    })();
    sendJson(ctx.res, 201, { accountId, token });
  });

  route("POST", "/v1/sessions", async (ctx) => {
    const body = await json(ctx, ["email", "password"]);
    const email = str(body, "email", EMAIL).toLowerCase();
    const password = str(body, "password", LOGIN_PASSWORD);
    const row = db.prepare("SELECT id, login_salt, login_hash FROM accounts WHERE email = ?").get(email) as { id: string; login_salt: Buffer; login_hash: Buffer } | undefined;
    const hash = loginHash(password, row ? row.login_salt : Buffer.alloc(16));
    if (!row || !nodeCrypto.timingSafeEqual(hash, row.login_hash)) httpFail(401, "E_AUTH", "wrong email or password");
    sendJson(ctx.res, 201, { accountId: row.id, token: newSession(row.id) });
  });

  route("DELETE", "/v1/sessions/current", async (ctx) => {
    const s = session(ctx);
    await noBody(ctx);
    db.prepare("DELETE FROM sessions WHERE token_hash = ?").run(s.tokenHash);
    sendJson(ctx.res, 200, { ok: true });
  });

  route("GET", "/v1/account", async (ctx) => {
    const s = session(ctx);
    await noBody(ctx);
    const account = db.prepare("SELECT id, email FROM accounts WHERE id = ?").get(s.accountId) as { id: string; email: string };
    const e2ee = e2eeRow(s.accountId);
    const phones = (db.prepare("SELECT key_id, name, cert, added_at FROM phones WHERE account_id = ? ORDER BY added_at").all(s.accountId) as { key_id: string; name: string; cert: Buffer; added_at: number }[])
      .map((p) => ({ keyId: p.key_id, name: p.name, certificate: toBase64Url(p.cert), addedAt: p.added_at }));
    const cameras = (db.prepare("SELECT c.camera_id, c.cert, c.key_id, c.registered_at, s.roster_version, s.roster_problem, s.queued, s.reported_at FROM cameras c LEFT JOIN camera_status s ON s.camera_id = c.camera_id WHERE c.account_id = ? ORDER BY c.camera_id").all(s.accountId) as
      { camera_id: string; cert: Buffer; key_id: string; registered_at: number; roster_version: number | null; roster_problem: string | null; queued: number | null; reported_at: number | null }[])
      .map((c) => ({
        cameraId: c.camera_id, certificate: toBase64Url(c.cert), keyId: c.key_id, registeredAt: c.registered_at,
        status: c.reported_at === null ? null
          : { rosterVersion: c.roster_version, rosterProblem: c.roster_problem === null ? null : JSON.parse(c.roster_problem), queued: c.queued, reportedAt: c.reported_at },
      }));
    const cameraCertificates = (db.prepare("SELECT cert_sha256, camera_id, cert, revoked FROM camera_certs WHERE account_id = ? ORDER BY registered_at").all(s.accountId) as { cert_sha256: string; camera_id: string; cert: Buffer; revoked: number }[])
      .map((c) => ({ cameraId: c.camera_id, sha256: c.cert_sha256, certificate: toBase64Url(c.cert), removed: c.revoked === 1 }));
    sendJson(ctx.res, 200, {
      accountId: account.id,
      email: account.email,
      e2ee: !!e2ee,
      phoneKeyId: s.phoneKeyId,
      rootCertificate: e2ee ? toBase64Url(e2ee.root_cert) : null,
      dataKeyCertificate: e2ee ? toBase64Url(e2ee.data_key_cert) : null,
      rosterVersion: e2ee ? e2ee.roster_version : 0,
      phones,
      cameras,
      cameraCertificates,
    });
  });

  // E2EE enrollment: the first phone uploads every public part, the backups and roster v1 at once.
  route("POST", "/v1/e2ee", async (ctx) => {
    const s = session(ctx);
    const body = await json(ctx, ["rootCertificate", "dataKeyCertificate", "backup", "authVerifier", "phone", "roster"]);
    const root = cert(body, "rootCertificate");
    const dataCert = cert(body, "dataKeyCertificate");
    const backup = checkBackup(body);
    const verifier = str(body, "authVerifier", /^[A-Za-z0-9_-]{43}$/);
    const phone = obj(body, "phone");
    onlyFields(phone, ["name", "certificate", "wraps"]);
    const phoneName = str(phone, "name", NAME);
    const phoneCert = cert(phone, "certificate");
    const wraps = checkWraps(phone);
    const rosterBytes = bin(body, "roster", 64, ROSTER_MAX);
    clientCheck(() => {
      verifyChain(crypto, dataCert, root);
      verifyChain(crypto, phoneCert, root);
    });
    const roster = checkRoster(rosterBytes, root.der, s.accountId, 1);
    const phoneKeyId = toHex(crypto.sha256(phoneCert.spki));
    checkRosterMatches(roster, [phoneKeyId], dataCert.der);
    db.transaction(() => {
      if (e2eeRow(s.accountId)) httpFail(409, "E_CONFLICT", "end-to-end encryption is already enabled; use recover on a new phone");
      if (db.prepare("SELECT 1 FROM phones WHERE key_id = ?").get(phoneKeyId)) httpFail(409, "E_CONFLICT", "this phone key is already enrolled");
      db.prepare("INSERT INTO e2ee (account_id, root_cert, data_key_cert, backup, auth_verifier, roster, roster_version, enabled_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        .run(s.accountId, root.der, dataCert.der, backup, verifier, rosterBytes, roster.version, now());
      db.prepare("INSERT INTO phones (key_id, account_id, name, cert, wraps, added_at) VALUES (?, ?, ?, ?, ?, ?)").run(phoneKeyId, s.accountId, phoneName, phoneCert.der, wraps, now());
      db.prepare("UPDATE sessions SET phone_key_id = ?, unlocked = 1 WHERE token_hash = ?").run(phoneKeyId, s.tokenHash);
    })();
    sendJson(ctx.res, 201, { phoneKeyId, rosterVersion: roster.version });
  });

  // Turning E2EE off deletes every key, backup, roster and camera registration; clips stay, unreadable.
  route("DELETE", "/v1/e2ee", async (ctx) => {
    const s = session(ctx);
    const body = await json(ctx, ["confirm"]);
    if (body.confirm !== "delete-all-keys") httpFail(400, "E_FORMAT", "confirm must be \"delete-all-keys\"");
    if (!s.phoneKeyId) httpFail(403, "E_AUTH", "only an enrolled phone may turn end-to-end encryption off");
    requireE2ee(s.accountId);
    db.transaction(() => {
      db.prepare("DELETE FROM phones WHERE account_id = ?").run(s.accountId);
      db.prepare("DELETE FROM e2ee WHERE account_id = ?").run(s.accountId);
      db.prepare("DELETE FROM camera_status WHERE camera_id IN (SELECT camera_id FROM cameras WHERE account_id = ?)").run(s.accountId);
      db.prepare("DELETE FROM cameras WHERE account_id = ?").run(s.accountId);
      db.prepare("DELETE FROM camera_certs WHERE account_id = ?").run(s.accountId);
      db.prepare("DELETE FROM unlock_failures WHERE account_id = ?").run(s.accountId);
      db.prepare("UPDATE sessions SET phone_key_id = NULL, unlocked = 0 WHERE account_id = ?").run(s.accountId);
    })();
    sendJson(ctx.res, 200, { ok: true });
  });

  route("GET", "/v1/e2ee/kdf", async (ctx) => {
    const s = session(ctx);
    await noBody(ctx);
    const row = requireE2ee(s.accountId);
    sendJson(ctx.res, 200, { kdf: (JSON.parse(row.backup) as Json).kdf });
  });

  // Releases the encrypted backup to a phone that proves knowledge of the passphrase-derived auth key.
  route("POST", "/v1/e2ee/unlock", async (ctx) => {
    const s = session(ctx);
    const body = await json(ctx, ["authKey"]);
    const authKey = bin(body, "authKey", 32, 32);
    const row = requireE2ee(s.accountId);
    const t = now();
    const failures = (db.prepare("SELECT COUNT(*) AS n FROM unlock_failures WHERE account_id = ? AND at > ?").get(s.accountId, t - HOUR_MS) as { n: number }).n;
    if (failures >= UNLOCK_FAILURES_PER_HOUR) {
      httpFail(429, "E_RATE_LIMIT", `too many wrong passphrases: ${UNLOCK_FAILURES_PER_HOUR} per hour; try again later`);
    }
    const ok = constantTimeEqual(nodeCrypto.createHash("sha256").update(authKey).digest(), fromBase64Url(row.auth_verifier));
    if (!ok) {
      db.prepare("INSERT INTO unlock_failures (account_id, at) VALUES (?, ?)").run(s.accountId, t);
      httpFail(403, "E_AUTH", `wrong passphrase (${UNLOCK_FAILURES_PER_HOUR - failures - 1} attempts left this hour)`);
    }
    db.prepare("UPDATE sessions SET unlocked = 1 WHERE token_hash = ?").run(s.tokenHash);
    sendJson(ctx.res, 200, {
      backup: JSON.parse(row.backup),
      rootCertificate: toBase64Url(row.root_cert),
      dataKeyCertificate: toBase64Url(row.data_key_cert),
      rosterVersion: row.roster_version,
    });
  });

  // An enrolled phone fetches the backup and its own wrapped keys (no passphrase: the instance key opens them).
  route("GET", "/v1/e2ee/phones/self", async (ctx) => {
    const s = session(ctx);
    await noBody(ctx);
    const row = requireE2ee(s.accountId);
    if (!s.phoneKeyId) httpFail(403, "E_AUTH", "this session is not an enrolled phone");
    const phone = db.prepare("SELECT wraps FROM phones WHERE key_id = ? AND account_id = ?").get(s.phoneKeyId, s.accountId) as { wraps: string } | undefined;
    if (!phone) httpFail(403, "E_AUTH", "this phone was removed from the account");
    sendJson(ctx.res, 200, {
      backup: JSON.parse(row.backup),
      wraps: JSON.parse(phone.wraps),
      rootCertificate: toBase64Url(row.root_cert),
      dataKeyCertificate: toBase64Url(row.data_key_cert),
      rosterVersion: row.roster_version,
      roster: toBase64Url(row.roster),
    });
  });

  // Adds a phone (after unlock): its certificate, its wrapped keys and a roster that lists it.
  route("POST", "/v1/e2ee/phones", async (ctx) => {
    const s = session(ctx);
    const body = await json(ctx, ["name", "certificate", "wraps", "roster"]);
    const name = str(body, "name", NAME);
    const phoneCert = cert(body, "certificate");
    const wraps = checkWraps(body);
    const rosterBytes = bin(body, "roster", 64, ROSTER_MAX);
    const row = requireE2ee(s.accountId);
    if (!s.unlocked) httpFail(403, "E_AUTH", "unlock the backup with the passphrase first");
    const root = parseCertificate(new Uint8Array(row.root_cert));
    clientCheck(() => verifyChain(crypto, phoneCert, root));
    if (phoneCert.publicKey.kind !== "p256") httpFail(400, "E_CERT", "a phone key must be P-256");
    const keyId = toHex(crypto.sha256(phoneCert.spki));
    const roster = checkRoster(rosterBytes, root.der, s.accountId, row.roster_version + 1);
    db.transaction(() => {
      if (db.prepare("SELECT 1 FROM phones WHERE key_id = ?").get(keyId)) httpFail(409, "E_CONFLICT", "this phone key is already enrolled");
      checkRosterMatches(roster, activePhoneIds(s.accountId).concat([keyId]), new Uint8Array(row.data_key_cert));
      const updated = db.prepare("UPDATE e2ee SET roster = ?, roster_version = ? WHERE account_id = ? AND roster_version = ?").run(rosterBytes, roster.version, s.accountId, row.roster_version);
      if (updated.changes !== 1) httpFail(409, "E_CONFLICT", "the roster changed meanwhile; fetch it and retry");
      db.prepare("INSERT INTO phones (key_id, account_id, name, cert, wraps, added_at) VALUES (?, ?, ?, ?, ?, ?)").run(keyId, s.accountId, name, phoneCert.der, wraps, now());
      // A recovering phone's session becomes that phone's; an enrolled phone adding another keeps its own.
      if (!s.phoneKeyId) db.prepare("UPDATE sessions SET phone_key_id = ? WHERE token_hash = ?").run(keyId, s.tokenHash);
    })();
    sendJson(ctx.res, 201, { phoneKeyId: keyId, rosterVersion: roster.version });
  });

  // Removes a phone: the caller (an enrolled phone) supplies a newer roster without it.
  route("POST", "/v1/e2ee/phones/:keyid/remove", async (ctx) => {
    const s = session(ctx);
    const keyId = ctx.params[0];
    if (!HEX64.test(keyId)) httpFail(400, "E_FORMAT", "phone key id must be 64 hex characters");
    const body = await json(ctx, ["roster"]);
    const rosterBytes = bin(body, "roster", 64, ROSTER_MAX);
    const row = requireE2ee(s.accountId);
    if (!s.phoneKeyId) httpFail(403, "E_AUTH", "only an enrolled phone may remove phones");
    const roster = checkRoster(rosterBytes, row.root_cert, s.accountId, row.roster_version + 1);
    db.transaction(() => {
      const active = activePhoneIds(s.accountId);
      if (!active.includes(keyId)) httpFail(404, "E_NOT_FOUND", "no such phone in this account");
      if (active.length === 1) httpFail(409, "E_STATE", "cannot remove the last phone; turn end-to-end encryption off instead");
      checkRosterMatches(roster, active.filter((k) => k !== keyId), new Uint8Array(row.data_key_cert));
      const updated = db.prepare("UPDATE e2ee SET roster = ?, roster_version = ? WHERE account_id = ? AND roster_version = ?").run(rosterBytes, roster.version, s.accountId, row.roster_version);
      if (updated.changes !== 1) httpFail(409, "E_CONFLICT", "the roster changed meanwhile; fetch it and retry");
      db.prepare("DELETE FROM phones WHERE key_id = ?").run(keyId);
      db.prepare("DELETE FROM sessions WHERE phone_key_id = ?").run(keyId);
    })();
    sendJson(ctx.res, 200, { removed: keyId, rosterVersion: roster.version });
  });

  route("GET", "/v1/e2ee/roster", async (ctx) => {
    const s = session(ctx);
    await noBody(ctx);
    const row = requireE2ee(s.accountId);
    sendJson(ctx.res, 200, { version: row.roster_version, roster: toBase64Url(row.roster) });
  });

  // Publishes a newer roster (same keys, or re-signed); the listed phones must be exactly the enrolled ones.
  route("PUT", "/v1/e2ee/roster", async (ctx) => {
    const s = session(ctx);
    const body = await json(ctx, ["roster"]);
    const rosterBytes = bin(body, "roster", 64, ROSTER_MAX);
    const row = requireE2ee(s.accountId);
    if (!s.phoneKeyId) httpFail(403, "E_AUTH", "only an enrolled phone may publish a roster");
    const roster = checkRoster(rosterBytes, row.root_cert, s.accountId, row.roster_version + 1);
    db.transaction(() => {
      checkRosterMatches(roster, activePhoneIds(s.accountId), new Uint8Array(row.data_key_cert));
      const updated = db.prepare("UPDATE e2ee SET roster = ?, roster_version = ? WHERE account_id = ? AND roster_version = ?").run(rosterBytes, roster.version, s.accountId, row.roster_version);
      if (updated.changes !== 1) httpFail(409, "E_CONFLICT", "the roster changed meanwhile; fetch it and retry");
    })();
    sendJson(ctx.res, 200, { version: roster.version });
  });

  // Cameras ---------------------------------------------------------------------------------------
  route("POST", "/v1/camera/register", async (ctx) => {
    const raw = await readBody(ctx.req, JSON_LIMIT);
    const body = parseJsonObject(raw);
    onlyFields(body, ["accountId", "certificate"]);
    const accountId = str(body, "accountId", ACCOUNT_ID);
    const camCert = cert(body, "certificate");
    const { cameraId } = cameraAuth(ctx, raw, camCert);
    const row = e2eeRow(accountId);
    if (!row) httpFail(404, "E_NOT_FOUND", "no such account with end-to-end encryption");
    clientCheck(() => verifyChain(crypto, camCert, parseCertificate(new Uint8Array(row.root_cert))));
    if (camCert.publicKey.kind !== "p256") httpFail(400, "E_CERT", "a camera key must be P-256");
    if (camCert.subjectCommonName !== cameraId) httpFail(400, "E_CERT", "certificate CN must be the camera id");
    const keyId = toHex(crypto.sha256(camCert.spki));
    const certHash = sha256hex(camCert.der);
    db.transaction(() => {
      const existing = db.prepare("SELECT account_id FROM cameras WHERE camera_id = ?").get(cameraId) as { account_id: string } | undefined;
      if (existing && existing.account_id !== accountId) httpFail(409, "E_CONFLICT", "this camera id belongs to another account");
      const history = db.prepare("SELECT revoked FROM camera_certs WHERE cert_sha256 = ?").get(certHash) as { revoked: number } | undefined;
      if (history?.revoked) httpFail(403, "E_AUTH", "this camera certificate was removed from the account; set the camera up again");
      db.prepare("INSERT OR IGNORE INTO camera_certs (cert_sha256, camera_id, account_id, cert, registered_at) VALUES (?, ?, ?, ?, ?)")
        .run(certHash, cameraId, accountId, camCert.der, now());
      db.prepare("INSERT INTO cameras (camera_id, account_id, cert, key_id, registered_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(camera_id) DO UPDATE SET cert = excluded.cert, key_id = excluded.key_id")
        .run(cameraId, accountId, camCert.der, keyId, now());
    })();
    sendJson(ctx.res, 201, { cameraId, keyId, rosterVersion: row.roster_version });
  });

  route("GET", "/v1/camera/roster", async (ctx) => {
    const raw = await readBody(ctx.req, 0);
    const cam = cameraAuth(ctx, raw);
    const row = requireE2ee(cam.accountId as string);
    sendJson(ctx.res, 200, { version: row.roster_version, roster: toBase64Url(row.roster) });
  });

  // The camera reports what the owner should see: the roster version it seals to, why it refused a newer
  // roster (e.g. one with too many keys), and how many parts wait in its queue. Latest report wins.
  route("PUT", "/v1/camera/status", async (ctx) => {
    const raw = await readBody(ctx.req, STATUS_LIMIT);
    const cam = cameraAuth(ctx, raw);
    const body = parseJsonObject(raw);
    onlyFields(body, ["rosterVersion", "rosterProblem", "queued"]);
    const status = checkCameraStatus(body);
    db.prepare("INSERT INTO camera_status (camera_id, roster_version, roster_problem, queued, reported_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(camera_id) DO UPDATE SET roster_version = excluded.roster_version, roster_problem = excluded.roster_problem, queued = excluded.queued, reported_at = excluded.reported_at")
      .run(cam.cameraId, status.rosterVersion, status.rosterProblem === null ? null : JSON.stringify(status.rosterProblem), status.queued, now());
    sendJson(ctx.res, 200, { ok: true });
  });

  // A phone removes a camera: it can no longer authenticate or register that certificate again; its
  // certificate stays listed (marked removed) so clips it made can still be verified and opened.
  route("POST", "/v1/cameras/:cameraid/remove", async (ctx) => {
    const s = session(ctx);
    const cameraId = ctx.params[0];
    if (!/^[a-z0-9][a-z0-9-]{0,63}$/.test(cameraId)) httpFail(400, "E_FORMAT", "bad camera id");
    await noBody(ctx);
    requireE2ee(s.accountId);
    if (!s.phoneKeyId) httpFail(403, "E_AUTH", "only an enrolled phone may remove cameras");
    db.transaction(() => {
      const row = db.prepare("SELECT cert FROM cameras WHERE camera_id = ? AND account_id = ?").get(cameraId, s.accountId) as { cert: Buffer } | undefined;
      if (!row) httpFail(404, "E_NOT_FOUND", "no such camera in this account");
      db.prepare("UPDATE camera_certs SET revoked = 1 WHERE camera_id = ? AND account_id = ?").run(cameraId, s.accountId);
      db.prepare("DELETE FROM cameras WHERE camera_id = ?").run(cameraId);
      db.prepare("DELETE FROM camera_status WHERE camera_id = ?").run(cameraId);
    })();
    sendJson(ctx.res, 200, { removed: cameraId });
  });

  function clipRow(id: string) {
    return db.prepare("SELECT * FROM clips WHERE clip_id = ?").get(id) as
      | { clip_id: string; account_id: string; camera_id: string; head_sha256: string; head_length: number; segment_size: number; start_time: number; content_type: string; segment_count: number | null; footer_sha256: string | null; size: number | null; complete: number; created_at: number }
      | undefined;
  }

  function clipId(ctx: Ctx): string {
    const id = ctx.params[0];
    if (!CLIP_ID.test(id)) httpFail(400, "E_FORMAT", "clip id must be 32 lower-case hex characters");
    return id;
  }

  function ownClip(cam: { cameraId: string }, id: string) {
    const row = clipRow(id);
    if (!row || row.camera_id !== cam.cameraId) httpFail(404, "E_NOT_FOUND", "no such clip from this camera; upload its head first");
    return row;
  }

  route("PUT", "/v1/clips/:id/head", async (ctx) => {
    const id = clipId(ctx);
    const raw = await readBody(ctx.req, MAX_HEAD_BYTES);
    const cam = cameraAuth(ctx, raw);
    const info = clientCheck(() => readHead(raw));
    if (info.clipId !== id) httpFail(400, "E_FORMAT", "clip id in the path does not match the head");
    if (info.cameraId !== cam.cameraId) httpFail(400, "E_FORMAT", "clip head names another camera");
    const hash = sha256hex(raw);
    const existing = clipRow(id);
    if (existing) {
      if (existing.head_sha256 !== hash || existing.camera_id !== cam.cameraId) httpFail(409, "E_CONFLICT", "a different clip with this id exists");
      return sendJson(ctx.res, 200, { clipId: id, stored: "already" });
    }
    writeFileAtomic(path.join(clipDir(id), "head"), raw);
    db.prepare("INSERT INTO clips (clip_id, account_id, camera_id, head_sha256, head_length, segment_size, start_time, content_type, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .run(id, cam.accountId, cam.cameraId, hash, raw.length, info.segmentSize, info.startTime, info.contentType, now());
    sendJson(ctx.res, 201, { clipId: id, stored: "new" });
  });

  route("PUT", "/v1/clips/:id/segments/:n", async (ctx) => {
    const id = clipId(ctx);
    if (!/^(0|[1-9]\d{0,9})$/.test(ctx.params[1]) || Number(ctx.params[1]) > 0xffffffff) httpFail(400, "E_FORMAT", "segment index must be 0..2^32-1");
    const index = Number(ctx.params[1]);
    const raw = await readBody(ctx.req, SEGMENT_LIMIT);
    const cam = cameraAuth(ctx, raw);
    const clip = ownClip(cam, id);
    if (!segmentLengthOk(raw.length, clip.segment_size, clip.complete ? index < (clip.segment_count as number) - 1 : null)) {
      httpFail(400, "E_SEGMENT", `segment length ${raw.length} is impossible for segment size ${clip.segment_size}`);
    }
    if (clip.complete && index >= (clip.segment_count as number)) httpFail(409, "E_STATE", "the clip is complete; it has no such segment");
    const hash = sha256hex(raw);
    const existing = db.prepare("SELECT sha256 FROM clip_segments WHERE clip_id = ? AND idx = ?").get(id, index) as { sha256: string } | undefined;
    if (existing) {
      if (existing.sha256 !== hash) httpFail(409, "E_CONFLICT", "a different segment with this index was already stored");
      return sendJson(ctx.res, 200, { index, stored: "already" });
    }
    writeFileAtomic(path.join(clipDir(id), `seg-${index}`), raw);
    db.prepare("INSERT INTO clip_segments (clip_id, idx, length, sha256) VALUES (?, ?, ?, ?)").run(id, index, raw.length, hash);
    sendJson(ctx.res, 201, { index, stored: "new" });
  });

  route("PUT", "/v1/clips/:id/footer", async (ctx) => {
    const id = clipId(ctx);
    const countText = ctx.query.get("segments") ?? "";
    if (!/^[1-9]\d{0,9}$/.test(countText)) httpFail(400, "E_FORMAT", "query parameter segments must be the segment count (>= 1)");
    const count = Number(countText);
    const raw = await readBody(ctx.req, FOOTER_BYTES);
    const cam = cameraAuth(ctx, raw);
    if (raw.length !== FOOTER_BYTES) httpFail(400, "E_FORMAT", `footer must be ${FOOTER_BYTES} bytes`);
    const clip = ownClip(cam, id);
    const hash = sha256hex(raw);
    if (clip.complete) {
      if (clip.footer_sha256 !== hash || clip.segment_count !== count) httpFail(409, "E_CONFLICT", "the clip was completed with another footer");
      return sendJson(ctx.res, 200, { clipId: id, complete: true, size: clip.size });
    }
    const segments = db.prepare("SELECT idx, length FROM clip_segments WHERE clip_id = ? ORDER BY idx").all(id) as { idx: number; length: number }[];
    if (segments.length !== count || segments.some((s, i) => s.idx !== i)) {
      httpFail(409, "E_STATE", `segments missing: the cloud has ${segments.length} of ${count}; check the status and resume`);
    }
    for (let i = 0; i < count - 1; i++) {
      if (!segmentLengthOk(segments[i].length, clip.segment_size, false)) httpFail(400, "E_SEGMENT", `segment ${i} is short but not the last`);
    }
    const parts: (string | Uint8Array)[] = [path.join(clipDir(id), "head")];
    for (let i = 0; i < count; i++) parts.push(path.join(clipDir(id), `seg-${i}`));
    parts.push(raw);
    const size = concatFilesAtomic(clipFile(id), parts);
    db.prepare("UPDATE clips SET complete = 1, segment_count = ?, footer_sha256 = ?, size = ? WHERE clip_id = ?").run(count, hash, size, id);
    fs.rmSync(clipDir(id), { recursive: true, force: true });
    sendJson(ctx.res, 201, { clipId: id, complete: true, size });
  });

  route("GET", "/v1/clips/:id/status", async (ctx) => {
    const id = clipId(ctx);
    const raw = await readBody(ctx.req, 0);
    const cam = cameraAuth(ctx, raw);
    const row = clipRow(id);
    if (!row || row.camera_id !== cam.cameraId) return sendJson(ctx.res, 200, { clipId: id, head: false, segments: [], complete: false });
    const segments = (db.prepare("SELECT idx FROM clip_segments WHERE clip_id = ? ORDER BY idx").all(id) as { idx: number }[]).map((s) => s.idx);
    sendJson(ctx.res, 200, { clipId: id, head: true, segments, complete: row.complete === 1 });
  });

  // Phones: listing and download of the account's clips.
  route("GET", "/v1/clips", async (ctx) => {
    const s = session(ctx);
    await noBody(ctx);
    const rows = db.prepare("SELECT clip_id, camera_id, start_time, content_type, size, complete, created_at FROM clips WHERE account_id = ? ORDER BY start_time, clip_id").all(s.accountId) as
      { clip_id: string; camera_id: string; start_time: number; content_type: string; size: number | null; complete: number; created_at: number }[];
    sendJson(ctx.res, 200, {
      clips: rows.map((r) => ({ clipId: r.clip_id, cameraId: r.camera_id, startTime: r.start_time, contentType: r.content_type, size: r.size, complete: r.complete === 1, uploadedAt: r.created_at })),
    });
  });

  route("GET", "/v1/clips/:id", async (ctx) => {
    const s = session(ctx);
    const id = clipId(ctx);
    await noBody(ctx);
    const row = clipRow(id);
    if (!row || row.account_id !== s.accountId || row.complete !== 1) httpFail(404, "E_NOT_FOUND", "no such complete clip in this account");
    sendFile(ctx.res, clipFile(id), row.size as number);
  });

  // The signed head alone (preamble, header, camera signature), so a phone can verify what it lists.
  route("GET", "/v1/clips/:id/head", async (ctx) => {
    const s = session(ctx);
    const id = clipId(ctx);
    await noBody(ctx);
    const readHeadBytes = (): Buffer | null => {
      const row = clipRow(id);
      if (!row || row.account_id !== s.accountId) return null;
      try {
        if (row.complete !== 1) return fs.readFileSync(path.join(clipDir(id), "head"));
        const fd = fs.openSync(clipFile(id), "r");
        try {
          const head = Buffer.alloc(row.head_length);
          return fs.readSync(fd, head, 0, row.head_length, 0) === row.head_length ? head : null;
        } finally {
          fs.closeSync(fd);
        }
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
        throw error;
      }
    };
    // A clip completing between the row read and the file read moves its head into the .sealed file: retry once.
    const head = readHeadBytes() ?? readHeadBytes();
    if (!head) httpFail(404, "E_NOT_FOUND", "no such clip in this account");
    ctx.res.writeHead(200, { "content-type": "application/octet-stream", "content-length": head.length, "cache-control": "no-store" });
    ctx.res.end(head);
  });

  // ------------------------------------------------------------------------------------------- server
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const method = req.method ?? "GET";
    const ctx: Ctx = { req, res, method, path: url.pathname, query: url.searchParams, params: [] };
    let matchedPath = false;
    for (const r of routes) {
      const m = r.pattern.exec(url.pathname);
      if (!m) continue;
      matchedPath = true;
      if (r.method !== method) continue;
      ctx.params = m.slice(1).map((p) => {
        try {
          return decodeURIComponent(p);
        } catch {
          return "\u0000";
        }
      });
      r.handler(ctx).catch((error) => {
        req.resume();
        if (!res.headersSent) sendError(res, error);
        else res.destroy();
      });
      return;
    }
    req.resume();
    if (matchedPath) sendJson(res, 405, { code: "E_FORMAT", message: `method ${method} is not allowed here` });
    else sendJson(res, 404, { code: "E_NOT_FOUND", message: "no such endpoint" });
  });
  server.requestTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? "127.0.0.1"}:${address.port}`,
    port: address.port,
    db,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          db.close();
          resolve();
        });
      }),
  };
}
