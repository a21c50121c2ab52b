/**
 * The sealcam cloud: a node:http server over a metadata store (SQLite or PostgreSQL, store.ts) and a blob
 * store for clip bodies (the data folder or S3, blobs.ts). It only ever receives
 * ciphertext, public keys, certificates and encrypted backups; it can refuse service but cannot read a clip,
 * forge a roster or add a key. Every endpoint is described in docs/CLOUD-API.md.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as nodeCrypto from "node:crypto";
import * as path from "node:path";
import type { AddressInfo } from "node:net";
import { constantTimeEqual, fromBase64Url, toBase64Url, toHex } from "../../firmware/core/bytes";
import { canonicalRequest, isCameraId, parseRequestAuthHeaders, verifyRequest, REQUEST_WINDOW_MS, type RequestAuthHeaders } from "../../firmware/core/request-auth";
import { ROSTER_MAX_PHONES, ROSTER_MAX_VERSION, verifyRoster } from "../../firmware/core/roster";
import { parseCertificate, verifyChain, type Certificate } from "../../firmware/core/x509";
import { fail } from "../../firmware/core/errors";
import { NodeCrypto } from "../platform/node-crypto";
import { FOOTER_BYTES, MAX_HEAD_BYTES, readHead, segmentLengthOk } from "./clip-format";
import { openStore, type Sql, type Store } from "./store";
import { openBlobStore, parseBlobsOption, type BlobStore } from "./blobs";
import {
  JSON_LIMIT, PUBLIC_JSON_LIMIT, bin, clientCheck, declaredLength, httpFail, obj, onlyFields, parseJsonObject, rateLimited,
  describeError, readBody, receiveBody, sendError, sendJson, sendStream, str, type Json,
} from "./http-util";
import { MAX_SEGMENT_SIZE, TAG_LENGTH } from "../../firmware/core/clip/constants";
import { createLogger, errorFields, type LogFields, type Logger, type LogLevel, type LogSink } from "./log";
import { RETENTION_MAX_DAYS, applyRetention, deleteClips, sweep, type SweepResult } from "./retention";
import { attachLiveRelay } from "./live";
import { registerMailbox } from "./mailbox";
import { registerTimeline } from "./timeline";
import packageJson from "../../package.json";

/** The API generation `GET /v1/info` announces; it changes only with an incompatible change of docs/CLOUD-API.md. */
export const API_VERSION = 1;
export const CLOUD_VERSION: string = packageJson.version;

/**
 * The camera-facing base URL, normalised: http or https, a host and optional port, no path, query, fragment
 * or credentials (a camera signs the path it sends; a proxy that strips a prefix would break every signature).
 */
export function normalizePublicUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail("E_ARGUMENT", `public URL '${text}' is not a URL; give e.g. http://192.168.1.20:8080 or https://cloud.example.org`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") fail("E_ARGUMENT", "public URL must start with http:// or https://");
  if (url.username || url.password || url.search || url.hash || (url.pathname !== "/" && url.pathname !== "")) {
    fail("E_ARGUMENT", "public URL must be scheme://host[:port] only: no path, query, fragment or user name");
  }
  return `${url.protocol}//${url.host}`;
}

/** Wrong passphrase proofs per (account, client address) in any rolling hour. */
export const UNLOCK_FAILURES_PER_HOUR = 10;
/** Wrong passphrase proofs per account, all addresses together, in any rolling 24 hours. */
export const UNLOCK_FAILURES_PER_DAY = 100;
/** A session that sends this many wrong passphrase proofs is signed out. */
export const UNLOCK_FAILURES_PER_SESSION = 3;
/** Wrong sign-ins per account (e-mail) and per client address in any rolling 15 minutes. */
export const SIGNIN_FAILURES_PER_ACCOUNT = 10;
export const SIGNIN_FAILURES_PER_ADDRESS = 30;
export const SIGNIN_WINDOW_MS = 15 * 60 * 1000;
/** A session unused this long, or this old, is expired. */
export const SESSION_IDLE_MS = 30 * 24 * 3600 * 1000;
export const SESSION_MAX_AGE_MS = 90 * 24 * 3600 * 1000;
/** Body limits checked from the headers, before a byte of the body is read. */
export const REGISTER_LIMIT = 16 * 1024;
const HOUR_MS = 3600 * 1000;
const DAY_MS = 24 * HOUR_MS;
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
  /** Where the clip files live (and, by default, the SQLite database). */
  dataDir: string;
  /**
   * The metadata store: a SQLite file path or a postgres://user@host/db URL (docs/CLOUD-API.md
   * "Deployment"). Default: DATADIR/cloud.sqlite.
   */
  db?: string;
  /**
   * Where clip bodies go (docs/CLOUD-API.md "Blob stores"): "files" (default: DATADIR/clips) or
   * s3://BUCKET/PREFIX (endpoint, region and credentials from the standard AWS environment).
   */
  blobs?: string;
  /** With an s3:// `blobs`: the store's endpoint URL (path-style addressing: MinIO, Ceph RGW, s3rver). */
  s3Endpoint?: string;
  port?: number;
  host?: string;
  /** Injected clock for tests of the rate limit window (ms since epoch). */
  now?: () => number;
  /** A request (headers and body) must arrive within this time, else the connection is cut. Default 30 s. */
  requestTimeoutMs?: number;
  /** The headers must arrive within this time (at most requestTimeoutMs). Default 10 s. */
  headersTimeoutMs?: number;
  /** Open connections at most; more are closed at once. Default 1024. */
  maxConnections?: number;
  /** Camera uploads (head, segment, footer) in progress at once, per camera and in total. Defaults 4 and 64. */
  uploadsPerCamera?: number;
  uploadsTotal?: number;
  /** Login password hashes computed at once, and waiting; beyond that sign-in is 429. Defaults 4 and 16. */
  hashConcurrency?: number;
  hashQueue?: number;
  /**
   * The base URL cameras should use to reach this cloud (announced by `GET /v1/info`), e.g. the LAN address
   * or the TLS proxy's name. Default: the listen URL.
   */
  publicUrl?: string;
  /** Structured log: a logger, or a level (default "silent" here; the CLI's default is "info") and a sink (default stdout). */
  logger?: Logger;
  logLevel?: LogLevel;
  logSink?: LogSink;
  /** How often the sweeper runs (retention, stale uploads, orphans); 0 = only at start and on sweep(). Default 1 hour. */
  sweepIntervalMs?: number;
  /** Files with no database row are removed once older than this. Default 10 minutes. */
  orphanGraceMs?: number;
  /** Uploads never completed (no footer) are deleted this long after their head arrived. Default 7 days. */
  staleUploadMs?: number;
}

export interface ShutdownOptions {
  /** In-flight requests get this long to finish before their connections are cut. Default 10 s. */
  graceMs?: number;
  /** Health answers 503 this long before the listener closes (so a load balancer stops sending). Default 0. */
  drainDelayMs?: number;
}

export interface CloudServer {
  url: string;
  port: number;
  /** The metadata store (docs/CLOUD-API.md "Deployment"). */
  store: Store;
  /** Where clip bodies are (docs/CLOUD-API.md "Blob stores"). */
  blobs: BlobStore;
  /** What is in progress now (for tests and monitoring): camera uploads, and login hashes running or waiting. */
  stats(): { uploads: number; hashing: number; hashWaiting: number };
  /** The camera-facing base URL announced by GET /v1/info. */
  publicUrl: string;
  /** Runs the sweeper once now (also run at start and every sweepIntervalMs). */
  sweep(): Promise<SweepResult>;
  /**
   * Graceful stop: health turns 503, the listener closes, requests in flight finish (bounded by graceMs),
   * then the remaining connections are cut and the database is closed. Resolves with the number of requests
   * that were cut.
   */
  shutdown(options?: ShutdownOptions): Promise<{ cut: number }>;
  /** Immediate stop: every connection is cut, the database closed. */
  close(): Promise<void>;
}

interface Session { tokenHash: string; accountId: string; phoneKeyId: string | null; unlocked: boolean; unlockFailures: number }
/** What the request log learns while a request is handled (never secrets: no tokens, bodies or signatures). */
interface RequestLogFields { accountId?: string; cameraId?: string; code?: string; err?: LogFields }
interface Ctx { req: http.IncomingMessage; res: http.ServerResponse; method: string; path: string; query: URLSearchParams; params: string[]; log: RequestLogFields }

const sha256hex = (data: Uint8Array | string): string => nodeCrypto.createHash("sha256").update(data).digest("hex");

/** scrypt on libuv's thread pool: the event loop keeps serving while a password is hashed. */
function scryptAsync(password: string, salt: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    nodeCrypto.scrypt(password, salt, 32, { N: 1 << 14, r: 8, p: 1 }, (error, key) => (error ? reject(error) : resolve(key))));
}

/** The client address: the socket's peer (proxy headers are not trusted). */
function clientAddress(req: http.IncomingMessage): string {
  return (req.socket.remoteAddress ?? "unknown").replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, "");
}

export async function startCloud(options: CloudOptions): Promise<CloudServer> {
  if (options.publicUrl !== undefined) normalizePublicUrl(options.publicUrl); // refuse a bad one before anything starts
  const dataDir = path.resolve(options.dataDir);
  const blobsConfig = parseBlobsOption(options.blobs, dataDir, options.s3Endpoint); // a bad one is refused before anything starts
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const store = await openStore(options.db ?? path.join(dataDir, "cloud.sqlite"));
  let blobs: BlobStore;
  try {
    blobs = await openBlobStore(blobsConfig);
  } catch (error) {
    await store.close();
    throw error;
  }
  const now = options.now ?? (() => Date.now());
  const crypto = new NodeCrypto();
  if (blobs.kind === "files") {
    // Files left in DATADIR/tmp by an older cloud that stopped mid-upload are removed at start.
    const tmpDir = path.join(dataDir, "tmp");
    for (const name of fs.readdirSync(tmpDir)) if (name.startsWith("up-")) fs.rmSync(path.join(tmpDir, name), { force: true });
  }
  const uploadsPerCamera = options.uploadsPerCamera ?? 4;
  const uploadsTotal = options.uploadsTotal ?? 64;
  const hashConcurrency = options.hashConcurrency ?? 4;
  const hashQueue = options.hashQueue ?? 16;
  // Set once listening; read by GET /v1/info and GET /v1/health.
  let publicUrl = "";
  let draining = false;
  const logger = options.logger ?? createLogger(options.logLevel ?? "silent", options.logSink ?? process.stdout, () => now());
  const sweepOptions = () => ({ blobs, now: now(), orphanGraceMs: options.orphanGraceMs ?? 10 * 60 * 1000, staleUploadMs: options.staleUploadMs ?? 7 * DAY_MS });
  // Deletes interrupted by a crash are finished, and leftovers removed, before the first request is served.
  const started = await sweep(store, sweepOptions());
  if (started.finished + started.expired + started.stale + started.orphans > 0) logger.info("sweep", { ...started, at: "start" });

  // ------------------------------------------------------------------------------------------- helpers
  async function session(ctx: Ctx): Promise<Session> {
    const auth = ctx.req.headers.authorization;
    const match = typeof auth === "string" ? /^Bearer ([A-Za-z0-9_-]{43})$/.exec(auth) : null;
    if (!match) httpFail(401, "E_AUTH", "sign in first (missing or malformed bearer token)");
    const tokenHash = sha256hex(match[1]);
    const row = (await store.get("SELECT account_id, phone_key_id, unlocked, unlock_failures, created_at, last_used_at FROM sessions WHERE token_hash = ?", [tokenHash])) as
      | { account_id: string; phone_key_id: string | null; unlocked: number; unlock_failures: number; created_at: number; last_used_at: number | null } | undefined;
    if (!row) httpFail(401, "E_AUTH", "session is not valid; sign in again");
    const t = now();
    const lastUsed = row.last_used_at ?? row.created_at;
    if (t - row.created_at > SESSION_MAX_AGE_MS || t - lastUsed > SESSION_IDLE_MS) {
      (await store.run("DELETE FROM sessions WHERE token_hash = ?", [tokenHash]));
      httpFail(401, "E_AUTH", "session expired; sign in again");
    }
    // Idle time is tracked to the minute, so reads do not each cost a database write.
    if (t - lastUsed > 60_000) (await store.run("UPDATE sessions SET last_used_at = ? WHERE token_hash = ?", [t, tokenHash]));
    ctx.log.accountId = row.account_id;
    return { tokenHash, accountId: row.account_id, phoneKeyId: row.phone_key_id, unlocked: row.unlocked === 1, unlockFailures: row.unlock_failures };
  }

  async function newSession(q: Sql, accountId: string): Promise<string> {
    const token = toBase64Url(nodeCrypto.randomBytes(32));
    const t = now();
    (await q.run("INSERT INTO sessions (token_hash, account_id, created_at, last_used_at) VALUES (?, ?, ?, ?)", [sha256hex(token), accountId, t, t]));
    return token;
  }

  // Login password hashing: at most `hashConcurrency` at once on the thread pool, `hashQueue` waiting, the
  // rest refused at once (429), so a burst of sign-ins neither blocks the event loop nor queues without end.
  let hashing = 0;
  const hashWaiting: (() => void)[] = [];
  async function loginHash(password: string, salt: Uint8Array): Promise<Buffer> {
    if (hashing >= hashConcurrency) {
      if (hashWaiting.length >= hashQueue) rateLimited("the cloud is busy checking other sign-ins; try again in a moment", 1);
      await new Promise<void>((resolve) => hashWaiting.push(resolve));
    } else {
      hashing++;
    }
    try {
      return await scryptAsync(password, salt);
    } finally {
      const next = hashWaiting.shift();
      if (next) next();
      else hashing--;
    }
  }

  /**
   * Sign-in limits, counted in the database (every node sharing it counts together): at most
   * SIGNIN_FAILURES_PER_ACCOUNT wrong passwords per e-mail and SIGNIN_FAILURES_PER_ADDRESS per client address
   * in any rolling window. The attempt is recorded as a failure *before* the password is hashed, in one
   * transaction with the counts (transactions run one at a time on every node), so parallel attempts cannot
   * overshoot the limit; the record is deleted if the password was right. Returns the record's rowid.
   */
  function signInAttempt(email: string, address: string): Promise<number> {
    return store.transaction(async (tx) => {
    const t = now();
    const since = t - SIGNIN_WINDOW_MS;
    await tx.run("DELETE FROM signin_failures WHERE at <= ?", [since]);
    const limits: [string, string, number, string][] = [
      ["email", email, SIGNIN_FAILURES_PER_ACCOUNT, "for this account"],
      ["address", address, SIGNIN_FAILURES_PER_ADDRESS, "from your address"],
    ];
    for (const [column, value, limit, what] of limits) {
      const r = (await tx.get(`SELECT COUNT(*) AS n, MIN(at) AS oldest FROM signin_failures WHERE ${column} = ? AND at > ?`, [value, since])) as { n: number; oldest: number | null };
      if (r.n >= limit) {
        const wait = ((r.oldest as number) + SIGNIN_WINDOW_MS - t) / 1000;
        rateLimited(`too many wrong sign-ins ${what} (${limit} per ${SIGNIN_WINDOW_MS / 60000} minutes); try again in ${Math.ceil(wait / 60)} minutes`, wait);
      }
    }
    const row = await tx.get<{ rowid: number }>("INSERT INTO signin_failures (email, address, at) VALUES (?, ?, ?) RETURNING rowid", [email, address, t]);
    return row!.rowid;
    });
  }

  // Camera uploads in progress, per camera and in total.
  const uploads = new Map<string, number>();
  let uploadsInProgress = 0;
  function acquireUpload(ctx: Ctx, cameraId: string): void {
    const mine = uploads.get(cameraId) ?? 0;
    if (mine >= uploadsPerCamera) rateLimited(`this camera already has ${uploadsPerCamera} uploads in progress; retry when one finishes`, 5);
    if (uploadsInProgress >= uploadsTotal) rateLimited("the cloud is busy with other uploads; retry shortly", 5);
    uploads.set(cameraId, mine + 1);
    uploadsInProgress++;
    ctx.res.once("close", () => {
      uploadsInProgress--;
      const n = (uploads.get(cameraId) ?? 1) - 1;
      if (n > 0) uploads.set(cameraId, n);
      else uploads.delete(cameraId);
    });
  }

  type E2eeRow = { root_cert: Buffer; data_key_cert: Buffer; backup: string; auth_verifier: string; roster: Buffer; roster_version: number };
  /** `q`: the store, or the transaction the caller is in (a transaction must not wait for the store). */
  function e2eeRow(accountId: string, q: Sql = store): Promise<E2eeRow | undefined> {
    return q.get<E2eeRow>("SELECT * FROM e2ee WHERE account_id = ?", [accountId]);
  }

  async function requireE2ee(accountId: string): Promise<E2eeRow> {
    const row = await e2eeRow(accountId);
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

  /** A published roster must verify and be exactly the next version (so nobody can jump it to 2^48-1). */
  function checkNextRoster(rosterBytes: Uint8Array, rootDer: Uint8Array, accountId: string, stored: number) {
    const roster = checkRoster(rosterBytes, rootDer, accountId, stored);
    if (roster.version !== stored + 1) httpFail(400, "E_ROSTER", `roster version ${roster.version} is not the next version: expected ${stored + 1}`);
    return roster;
  }

  /** Rosters only move forward: a roster must be newer than the stored one and list exactly the active keys. */
  function checkRosterMatches(roster: ReturnType<typeof verifyRoster>, phoneKeyIds: string[], dataKeyCert: Uint8Array): void {
    const listed = roster.entries.filter((e) => e.role === "phone").map((e) => toHex(e.keyId)).sort();
    const expected = phoneKeyIds.slice().sort();
    if (listed.join(",") !== expected.join(",")) httpFail(400, "E_ROSTER", "roster must list exactly the account's enrolled phones");
    const data = roster.entries.find((e) => e.role === "account-data");
    if (!data || !constantTimeEqual(data.certificate.der, dataKeyCert)) httpFail(400, "E_ROSTER", "roster must list the account data key");
  }

  /** One limit (PROTOCOL §5): every roster entry is a clip recipient; a clip has at most 16. */
  async function checkPhoneLimit(accountId: string, q: Sql = store): Promise<void> {
    if ((await activePhoneIds(accountId, q)).length >= ROSTER_MAX_PHONES) {
      httpFail(409, "E_LIMIT", `an account holds at most ${ROSTER_MAX_PHONES} phones (${ROSTER_MAX_PHONES + 1} clip recipients with the data key); remove a phone first`);
    }
  }

  async function activePhoneIds(accountId: string, q: Sql = store): Promise<string[]> {
    return ((await q.all("SELECT key_id FROM phones WHERE account_id = ?", [accountId])) as { key_id: string }[]).map((r) => r.key_id);
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

  /** Checks the timestamp window and the signature over the headers (the body is represented by its declared hash). */
  function checkCameraSignature(ctx: Ctx, auth: RequestAuthHeaders, c: Certificate): void {
    if (c.publicKey.kind !== "p256") httpFail(401, "E_AUTH", "camera key must be P-256");
    try {
      verifyRequest(crypto, c.publicKey.point65, auth, { method: ctx.method, path: ctx.req.url ?? "", bodyHash: auth.bodyHash }, now());
    } catch (error) {
      httpFail(401, "E_AUTH", (error as Error).message);
    }
  }

  let noncesPrunedAt = -Infinity;
  /** Remembers a verified request's nonce (replay check). Only ever called after every certificate check. */
  async function recordNonce(auth: RequestAuthHeaders): Promise<void> {
    const t = now();
    // Nonces older than 15 minutes (three times the request window) are pruned, at most once a second.
    if (t - noncesPrunedAt > 1000 || t < noncesPrunedAt) {
      store.write("DELETE FROM nonces WHERE at < ?", [t - 15 * 60 * 1000]).catch((error: unknown) => logger.error("nonces not pruned", { err: errorFields(error) }));
      noncesPrunedAt = t;
    }
    if (store.dialect === "postgres") {
      // Several nodes: the insert itself is the check (the primary key refuses the second one, on any node).
      if (await store.write("INSERT INTO nonces (camera_id, nonce, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", [auth.cameraId, auth.nonce, t]) === 0) {
        httpFail(401, "E_AUTH", "request replayed (nonce already used)");
      }
      return;
    }
    // One node (SQLite): the check is a read here plus the nonces not yet committed by the writer thread; the
    // request goes on without waiting for the insert's fsync.
    const key = `${auth.cameraId}\n${auth.nonce}`;
    if (pendingNonces.has(key) || (await store.get("SELECT 1 FROM nonces WHERE camera_id = ? AND nonce = ?", [auth.cameraId, auth.nonce]))) {
      httpFail(401, "E_AUTH", "request replayed (nonce already used)");
    }
    pendingNonces.add(key);
    void store.write("INSERT INTO nonces (camera_id, nonce, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", [auth.cameraId, auth.nonce, t])
      .catch((error: unknown) => logger.error("nonce not recorded", { err: errorFields(error) }))
      .finally(() => pendingNonces.delete(key));
  }

  /** Nonces recorded but maybe not yet committed by the writer (the replay check looks here too). */
  const pendingNonces = new Set<string>();

  interface CameraRequest { cameraId: string; accountId: string; length: number; bodySha256: string }

  /**
   * Verified camera keys. A camera's certificate is checked against its account root (RSA-PSS, and the
   * root's own signature) once per (certificate, root) pair, not on every request, and its key is imported
   * once. Each request still reads the camera's certificate and the account's root from the database and
   * uses a cached key only when both are byte-for-byte the ones that were verified: a removed camera (no
   * row), an account with E2EE off (no root) or a re-registered camera (another certificate) is decided by
   * the database exactly as before. Entries are also dropped on removal and when E2EE is turned off.
   */
  const verifiedCameras = new Map<string, { cert: Buffer; root: Buffer; key: nodeCrypto.KeyObject }>();
  function verifiedCameraKey(cameraId: string, certDer: Buffer, rootDer: Buffer): nodeCrypto.KeyObject {
    const hit = verifiedCameras.get(cameraId);
    if (hit && hit.cert.equals(certDer) && hit.root.equals(rootDer)) return hit.key;
    verifiedCameras.delete(cameraId);
    const c = parseCertificate(new Uint8Array(certDer));
    try {
      verifyChain(crypto, c, parseCertificate(new Uint8Array(rootDer)));
    } catch {
      httpFail(401, "E_AUTH", "camera certificate no longer chains to the account root");
    }
    if (c.publicKey.kind !== "p256") httpFail(401, "E_AUTH", "camera key must be P-256");
    const key = nodeCrypto.createPublicKey({ key: Buffer.from(c.spki), format: "der", type: "spki" });
    if (verifiedCameras.size >= 100_000) verifiedCameras.delete(verifiedCameras.keys().next().value as string);
    verifiedCameras.set(cameraId, { cert: Buffer.from(certDer), root: Buffer.from(rootDer), key });
    return key;
  }

  /**
   * Authenticates a registered camera's request from its headers alone, before any of the body is read: the
   * camera's certificate still chains to its account's root, the timestamp is in the window, the signature
   * covers the declared body hash; then the declared length must be within `limit`; for uploads a slot must
   * be free (429 otherwise); finally the nonce is remembered. The caller then reads the body and checks it
   * against `bodySha256`.
   */
  async function cameraAuth(ctx: Ctx, limit: number, upload = false): Promise<CameraRequest> {
    const auth = clientCheck(() => parseRequestAuthHeaders(ctx.req.headers as Record<string, string>));
    const row = (await store.get("SELECT account_id, cert FROM cameras WHERE camera_id = ?", [auth.cameraId])) as { account_id: string; cert: Buffer } | undefined;
    if (!row) httpFail(401, "E_AUTH", "unknown camera; register it first");
    ctx.log.cameraId = auth.cameraId; // a registered camera's claimed id; the signature is checked next
    ctx.log.accountId = row.account_id;
    const e2ee = (await store.get("SELECT root_cert FROM e2ee WHERE account_id = ?", [row.account_id])) as { root_cert: Buffer } | undefined;
    if (!e2ee) httpFail(401, "E_AUTH", "the camera's account no longer has end-to-end encryption");
    const key = verifiedCameraKey(auth.cameraId, row.cert, e2ee.root_cert);
    if (Math.abs(now() - auth.timestamp) > REQUEST_WINDOW_MS) httpFail(401, "E_AUTH", "request timestamp is outside the allowed window (check the camera clock)");
    let message: Uint8Array;
    try {
      message = canonicalRequest(ctx.method, ctx.req.url ?? "", auth.timestamp, auth.nonce, auth.bodyHash);
    } catch (error) {
      return httpFail(401, "E_AUTH", (error as Error).message);
    }
    if (!nodeCrypto.verify("sha256", message, { key, dsaEncoding: "ieee-p1363" }, auth.signature)) httpFail(401, "E_AUTH", "request signature is invalid");
    const length = declaredLength(ctx.req, limit);
    if (upload) acquireUpload(ctx, auth.cameraId);
    await recordNonce(auth);
    return { cameraId: auth.cameraId, accountId: row.account_id, length, bodySha256: toHex(auth.bodyHash) };
  }

  // Segment writes in flight ("<clip>/<index>"), per clip, and clips whose footer is being written.
  const segmentWrites = new Set<string>();
  const clipWrites = new Map<string, number>();
  const completing = new Set<string>();
  // Heads being stored, per clip id (one at a time).
  const headWrites = new Map<string, Promise<void>>();

  // -------------------------------------------------------------------------------------------- routes
  type Handler = (ctx: Ctx) => Promise<void>;
  const routes: { method: string; route: string; pattern: RegExp; handler: Handler }[] = [];
  const route = (method: string, pattern: string, handler: Handler) =>
    routes.push({ method, route: pattern, pattern: new RegExp(`^${pattern.replace(/:([a-z]+)/g, "([^/]+)")}$`), handler });

  async function json(ctx: Ctx, allowed: string[], limit = JSON_LIMIT): Promise<Json> {
    const body = parseJsonObject(await readBody(ctx.req, limit));
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

  // Unauthenticated: what this cloud is and where cameras should reach it.
  route("GET", "/v1/info", async (ctx) => {
    await noBody(ctx);
    sendJson(ctx.res, 200, { service: "sealcam-cloud", version: CLOUD_VERSION, api: API_VERSION, publicUrl });
  });

  // Unauthenticated liveness for load balancers and supervisors: the database answers, and we are not draining.
  route("GET", "/v1/health", async (ctx) => {
    await noBody(ctx);
    let dbOk = true;
    try {
      (await store.get("SELECT 1"));
    } catch (error) {
      dbOk = false;
      ctx.log.err = errorFields(error);
    }
    if (dbOk && !draining) return sendJson(ctx.res, 200, { ok: true, db: "ok" });
    sendJson(ctx.res, 503, { ok: false, db: dbOk ? "ok" : "error", draining });
  });

  // Accounts and sessions (the ordinary account sign-in, separate from E2EE).
  route("POST", "/v1/accounts", async (ctx) => {
    const body = await json(ctx, ["email", "password"], PUBLIC_JSON_LIMIT);
    const email = str(body, "email", EMAIL).toLowerCase();
    const password = str(body, "password", LOGIN_PASSWORD);
    if ((await store.get("SELECT 1 FROM accounts WHERE email = ?", [email]))) httpFail(409, "E_CONFLICT", "an account with this email exists; sign in instead");
    const accountId = "acct-" + nodeCrypto.randomBytes(8).toString("hex");
    const salt = nodeCrypto.randomBytes(16);
    const hash = await loginHash(password, salt);
    const token = await store.transaction(async (tx) => {
      if ((await tx.get("SELECT 1 FROM accounts WHERE email = ?", [email]))) httpFail(409, "E_CONFLICT", "an account with this email exists; sign in instead");
      (await tx.run("INSERT INTO accounts (id, email, login_salt, login_hash, created_at) VALUES (?, ?, ?, ?, ?)", [accountId, email, salt, hash, now()]));
      return newSession(tx, accountId);
    });
    sendJson(ctx.res, 201, { accountId, token });
  });

  route("POST", "/v1/sessions", async (ctx) => {
    const body = await json(ctx, ["email", "password"], PUBLIC_JSON_LIMIT);
    const email = str(body, "email", EMAIL).toLowerCase();
    const password = str(body, "password", LOGIN_PASSWORD);
    const attempt = await signInAttempt(email, clientAddress(ctx.req));
    const row = (await store.get("SELECT id, login_salt, login_hash FROM accounts WHERE email = ?", [email])) as { id: string; login_salt: Buffer; login_hash: Buffer } | undefined;
    let hash: Buffer;
    try {
      hash = await loginHash(password, row ? row.login_salt : Buffer.alloc(16));
    } catch (error) {
      (await store.run("DELETE FROM signin_failures WHERE rowid = ?", [attempt])); // not hashed: no attempt was made
      throw error;
    }
    if (!row || !nodeCrypto.timingSafeEqual(hash, row.login_hash)) httpFail(401, "E_AUTH", "wrong email or password");
    (await store.run("DELETE FROM signin_failures WHERE rowid = ?", [attempt]));
    sendJson(ctx.res, 201, { accountId: row.id, token: await newSession(store, row.id) });
  });

  route("DELETE", "/v1/sessions/current", async (ctx) => {
    const s = await session(ctx);
    await noBody(ctx);
    (await store.run("DELETE FROM sessions WHERE token_hash = ?", [s.tokenHash]));
    sendJson(ctx.res, 200, { ok: true });
  });

  route("GET", "/v1/account", async (ctx) => {
    const s = await session(ctx);
    await noBody(ctx);
    const account = (await store.get("SELECT id, email FROM accounts WHERE id = ?", [s.accountId])) as { id: string; email: string };
    const e2ee = await e2eeRow(s.accountId);
    const phones = ((await store.all("SELECT key_id, name, cert, added_at FROM phones WHERE account_id = ? ORDER BY added_at", [s.accountId])) as { key_id: string; name: string; cert: Buffer; added_at: number }[])
      .map((p) => ({ keyId: p.key_id, name: p.name, certificate: toBase64Url(p.cert), addedAt: p.added_at }));
    const cameras = ((await store.all("SELECT c.camera_id, c.cert, c.key_id, c.registered_at, s.roster_version, s.roster_problem, s.queued, s.reported_at FROM cameras c LEFT JOIN camera_status s ON s.camera_id = c.camera_id WHERE c.account_id = ? ORDER BY c.camera_id", [s.accountId])) as
      { camera_id: string; cert: Buffer; key_id: string; registered_at: number; roster_version: number | null; roster_problem: string | null; queued: number | null; reported_at: number | null }[])
      .map((c) => ({
        cameraId: c.camera_id, certificate: toBase64Url(c.cert), keyId: c.key_id, registeredAt: c.registered_at,
        status: c.reported_at === null ? null
          : { rosterVersion: c.roster_version, rosterProblem: c.roster_problem === null ? null : JSON.parse(c.roster_problem), queued: c.queued, reportedAt: c.reported_at },
      }));
    const cameraCertificates = ((await store.all("SELECT cert_sha256, camera_id, cert, revoked FROM camera_certs WHERE account_id = ? ORDER BY registered_at", [s.accountId])) as { cert_sha256: string; camera_id: string; cert: Buffer; revoked: number }[])
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
      retentionDays: ((await store.get("SELECT retention_days FROM accounts WHERE id = ?", [s.accountId])) as { retention_days: number | null }).retention_days,
    });
  });

  // Retention: clips whose upload began more than `days` days ago are deleted, now and by every sweep.
  // Shortening it deletes clips, so only an enrolled phone may set it (as for every destructive change).
  route("PUT", "/v1/account/retention", async (ctx) => {
    const s = await session(ctx);
    const body = await json(ctx, ["days"]);
    if (!("days" in body)) httpFail(400, "E_FORMAT", "field 'days' is missing (a number of days, or null to keep clips until deleted)");
    const days = body.days;
    if (days !== null && (!Number.isSafeInteger(days) || (days as number) < 1 || (days as number) > RETENTION_MAX_DAYS)) {
      httpFail(400, "E_FORMAT", `field 'days' must be a whole number of days from 1 to ${RETENTION_MAX_DAYS}, or null`);
    }
    if (!s.phoneKeyId) httpFail(403, "E_AUTH", "only an enrolled phone may change the retention");
    await store.run("UPDATE accounts SET retention_days = ? WHERE id = ?", [days as number | null, s.accountId]);
    const deleted = await applyRetention(store, blobs, now(), s.accountId);
    sendJson(ctx.res, 200, { retentionDays: days, deleted });
  });

  // E2EE enrollment: the first phone uploads every public part, the backups and roster v1 at once.
  route("POST", "/v1/e2ee", async (ctx) => {
    const s = await session(ctx);
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
    if (roster.version !== 1) httpFail(400, "E_ROSTER", `roster version ${roster.version} is not the next version: expected 1`);
    const phoneKeyId = toHex(crypto.sha256(phoneCert.spki));
    checkRosterMatches(roster, [phoneKeyId], dataCert.der);
    await store.transaction(async (tx) => {
      if (await e2eeRow(s.accountId, tx)) httpFail(409, "E_CONFLICT", "end-to-end encryption is already enabled; use recover on a new phone");
      if ((await tx.get("SELECT 1 FROM phones WHERE key_id = ?", [phoneKeyId]))) httpFail(409, "E_CONFLICT", "this phone key is already enrolled");
      (await tx.run("INSERT INTO e2ee (account_id, root_cert, data_key_cert, backup, auth_verifier, roster, roster_version, enabled_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [s.accountId, root.der, dataCert.der, backup, verifier, rosterBytes, roster.version, now()]));
      (await tx.run("INSERT INTO phones (key_id, account_id, name, cert, wraps, added_at) VALUES (?, ?, ?, ?, ?, ?)", [phoneKeyId, s.accountId, phoneName, phoneCert.der, wraps, now()]));
      (await tx.run("UPDATE sessions SET phone_key_id = ?, unlocked = 1 WHERE token_hash = ?", [phoneKeyId, s.tokenHash]));
    });
    sendJson(ctx.res, 201, { phoneKeyId, rosterVersion: roster.version });
  });

  // Turning E2EE off deletes every key, backup, roster and camera registration; clips stay, unreadable.
  route("DELETE", "/v1/e2ee", async (ctx) => {
    const s = await session(ctx);
    const body = await json(ctx, ["confirm"]);
    if (body.confirm !== "delete-all-keys") httpFail(400, "E_FORMAT", "confirm must be \"delete-all-keys\"");
    if (!s.phoneKeyId) httpFail(403, "E_AUTH", "only an enrolled phone may turn end-to-end encryption off");
    await requireE2ee(s.accountId);
    await store.transaction(async (tx) => {
      (await tx.run("DELETE FROM phones WHERE account_id = ?", [s.accountId]));
      (await tx.run("DELETE FROM e2ee WHERE account_id = ?", [s.accountId]));
      (await tx.run("DELETE FROM camera_status WHERE camera_id IN (SELECT camera_id FROM cameras WHERE account_id = ?)", [s.accountId]));
      for (const c of (await tx.all("SELECT camera_id FROM cameras WHERE account_id = ?", [s.accountId])) as { camera_id: string }[]) verifiedCameras.delete(c.camera_id);
      (await tx.run("DELETE FROM cameras WHERE account_id = ?", [s.accountId]));
      (await tx.run("DELETE FROM camera_certs WHERE account_id = ?", [s.accountId]));
      (await tx.run("DELETE FROM unlock_failures WHERE account_id = ?", [s.accountId]));
      (await tx.run("UPDATE sessions SET phone_key_id = NULL, unlocked = 0 WHERE account_id = ?", [s.accountId]));
    });
    sendJson(ctx.res, 200, { ok: true });
  });

  route("GET", "/v1/e2ee/kdf", async (ctx) => {
    const s = await session(ctx);
    await noBody(ctx);
    const row = await requireE2ee(s.accountId);
    sendJson(ctx.res, 200, { kdf: (JSON.parse(row.backup) as Json).kdf });
  });

  // Releases the encrypted backup to a phone that proves knowledge of the passphrase-derived auth key.
  route("POST", "/v1/e2ee/unlock", async (ctx) => {
    const s = await session(ctx);
    const body = await json(ctx, ["authKey"]);
    const authKey = bin(body, "authKey", 32, 32);
    const row = await requireE2ee(s.accountId);
    const t = now();
    const address = clientAddress(ctx.req);
    // Wrong proofs count per (account, client address) — someone who guessed the login password spends only
    // their own address's budget — and per account over a day, which bounds guessing from many addresses.
    (await store.run("DELETE FROM unlock_failures WHERE at <= ?", [t - DAY_MS]));
    const here = (await store.get("SELECT COUNT(*) AS n, MIN(at) AS oldest FROM unlock_failures WHERE account_id = ? AND address = ? AND at > ?", [s.accountId, address, t - HOUR_MS])) as { n: number; oldest: number | null };
    if (here.n >= UNLOCK_FAILURES_PER_HOUR) {
      const wait = ((here.oldest as number) + HOUR_MS - t) / 1000;
      rateLimited(`too many wrong passphrases from your address: ${UNLOCK_FAILURES_PER_HOUR} per hour; try again in ${Math.ceil(wait / 60)} minutes`, wait);
    }
    const all = (await store.get("SELECT COUNT(*) AS n, MIN(at) AS oldest FROM unlock_failures WHERE account_id = ? AND at > ?", [s.accountId, t - DAY_MS])) as { n: number; oldest: number | null };
    if (all.n >= UNLOCK_FAILURES_PER_DAY) {
      const wait = ((all.oldest as number) + DAY_MS - t) / 1000;
      rateLimited(`too many wrong passphrases for this account: ${UNLOCK_FAILURES_PER_DAY} per day; try again in ${Math.ceil(wait / 3600)} hours`, wait);
    }
    const ok = constantTimeEqual(nodeCrypto.createHash("sha256").update(authKey).digest(), fromBase64Url(row.auth_verifier));
    if (!ok) {
      const signedOut = s.unlockFailures + 1 >= UNLOCK_FAILURES_PER_SESSION;
      await store.transaction(async (tx) => {
        (await tx.run("INSERT INTO unlock_failures (account_id, address, at) VALUES (?, ?, ?)", [s.accountId, address, t]));
        if (signedOut) (await tx.run("DELETE FROM sessions WHERE token_hash = ?", [s.tokenHash]));
        else (await tx.run("UPDATE sessions SET unlock_failures = unlock_failures + 1 WHERE token_hash = ?", [s.tokenHash]));
      });
      const left = Math.min(UNLOCK_FAILURES_PER_HOUR - here.n - 1, UNLOCK_FAILURES_PER_DAY - all.n - 1);
      httpFail(403, "E_AUTH", `wrong passphrase (${left} attempts left this hour from your address)` +
        (signedOut ? `; this session is signed out after ${UNLOCK_FAILURES_PER_SESSION} wrong passphrases, sign in again` : ""));
    }
    (await store.run("UPDATE sessions SET unlocked = 1 WHERE token_hash = ?", [s.tokenHash]));
    sendJson(ctx.res, 200, {
      backup: JSON.parse(row.backup),
      rootCertificate: toBase64Url(row.root_cert),
      dataKeyCertificate: toBase64Url(row.data_key_cert),
      rosterVersion: row.roster_version,
    });
  });

  // An enrolled phone fetches the backup and its own wrapped keys (no passphrase: the instance key opens them).
  route("GET", "/v1/e2ee/phones/self", async (ctx) => {
    const s = await session(ctx);
    await noBody(ctx);
    const row = await requireE2ee(s.accountId);
    if (!s.phoneKeyId) httpFail(403, "E_AUTH", "this session is not an enrolled phone");
    const phone = (await store.get("SELECT wraps FROM phones WHERE key_id = ? AND account_id = ?", [s.phoneKeyId, s.accountId])) as { wraps: string } | undefined;
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
    const s = await session(ctx);
    const body = await json(ctx, ["name", "certificate", "wraps", "roster"]);
    const name = str(body, "name", NAME);
    const phoneCert = cert(body, "certificate");
    const wraps = checkWraps(body);
    const rosterBytes = bin(body, "roster", 64, ROSTER_MAX);
    const row = await requireE2ee(s.accountId);
    if (!s.unlocked) httpFail(403, "E_AUTH", "unlock the backup with the passphrase first");
    await checkPhoneLimit(s.accountId);
    const root = parseCertificate(new Uint8Array(row.root_cert));
    clientCheck(() => verifyChain(crypto, phoneCert, root));
    if (phoneCert.publicKey.kind !== "p256") httpFail(400, "E_CERT", "a phone key must be P-256");
    const keyId = toHex(crypto.sha256(phoneCert.spki));
    const roster = checkNextRoster(rosterBytes, root.der, s.accountId, row.roster_version);
    await store.transaction(async (tx) => {
      if ((await tx.get("SELECT 1 FROM phones WHERE key_id = ?", [keyId]))) httpFail(409, "E_CONFLICT", "this phone key is already enrolled");
      await checkPhoneLimit(s.accountId, tx);
      checkRosterMatches(roster, (await activePhoneIds(s.accountId, tx)).concat([keyId]), new Uint8Array(row.data_key_cert));
      const updated = (await tx.run("UPDATE e2ee SET roster = ?, roster_version = ? WHERE account_id = ? AND roster_version = ?", [rosterBytes, roster.version, s.accountId, row.roster_version]));
      if (updated !== 1) httpFail(409, "E_CONFLICT", "the roster changed meanwhile; fetch it and retry");
      (await tx.run("INSERT INTO phones (key_id, account_id, name, cert, wraps, added_at) VALUES (?, ?, ?, ?, ?, ?)", [keyId, s.accountId, name, phoneCert.der, wraps, now()]));
      // A recovering phone's session becomes that phone's; an enrolled phone adding another keeps its own.
      if (!s.phoneKeyId) (await tx.run("UPDATE sessions SET phone_key_id = ? WHERE token_hash = ?", [keyId, s.tokenHash]));
    });
    sendJson(ctx.res, 201, { phoneKeyId: keyId, rosterVersion: roster.version });
  });

  // Removes a phone: the caller (an enrolled phone) supplies a newer roster without it.
  route("POST", "/v1/e2ee/phones/:keyid/remove", async (ctx) => {
    const s = await session(ctx);
    const keyId = ctx.params[0];
    if (!HEX64.test(keyId)) httpFail(400, "E_FORMAT", "phone key id must be 64 hex characters");
    const body = await json(ctx, ["roster"]);
    const rosterBytes = bin(body, "roster", 64, ROSTER_MAX);
    const row = await requireE2ee(s.accountId);
    if (!s.phoneKeyId) httpFail(403, "E_AUTH", "only an enrolled phone may remove phones");
    const roster = checkNextRoster(rosterBytes, row.root_cert, s.accountId, row.roster_version);
    await store.transaction(async (tx) => {
      const active = await activePhoneIds(s.accountId, tx);
      if (!active.includes(keyId)) httpFail(404, "E_NOT_FOUND", "no such phone in this account");
      if (active.length === 1) httpFail(409, "E_STATE", "cannot remove the last phone; turn end-to-end encryption off instead");
      checkRosterMatches(roster, active.filter((k) => k !== keyId), new Uint8Array(row.data_key_cert));
      const updated = (await tx.run("UPDATE e2ee SET roster = ?, roster_version = ? WHERE account_id = ? AND roster_version = ?", [rosterBytes, roster.version, s.accountId, row.roster_version]));
      if (updated !== 1) httpFail(409, "E_CONFLICT", "the roster changed meanwhile; fetch it and retry");
      (await tx.run("DELETE FROM phones WHERE key_id = ?", [keyId]));
      (await tx.run("DELETE FROM sessions WHERE phone_key_id = ?", [keyId]));
    });
    sendJson(ctx.res, 200, { removed: keyId, rosterVersion: roster.version });
  });

  route("GET", "/v1/e2ee/roster", async (ctx) => {
    const s = await session(ctx);
    await noBody(ctx);
    const row = await requireE2ee(s.accountId);
    sendJson(ctx.res, 200, { version: row.roster_version, roster: toBase64Url(row.roster) });
  });

  // Publishes a newer roster (same keys, or re-signed); the listed phones must be exactly the enrolled ones.
  route("PUT", "/v1/e2ee/roster", async (ctx) => {
    const s = await session(ctx);
    const body = await json(ctx, ["roster"]);
    const rosterBytes = bin(body, "roster", 64, ROSTER_MAX);
    const row = await requireE2ee(s.accountId);
    if (!s.phoneKeyId) httpFail(403, "E_AUTH", "only an enrolled phone may publish a roster");
    const roster = checkNextRoster(rosterBytes, row.root_cert, s.accountId, row.roster_version);
    await store.transaction(async (tx) => {
      checkRosterMatches(roster, await activePhoneIds(s.accountId, tx), new Uint8Array(row.data_key_cert));
      const updated = (await tx.run("UPDATE e2ee SET roster = ?, roster_version = ? WHERE account_id = ? AND roster_version = ?", [rosterBytes, roster.version, s.accountId, row.roster_version]));
      if (updated !== 1) httpFail(409, "E_CONFLICT", "the roster changed meanwhile; fetch it and retry");
    });
    sendJson(ctx.res, 200, { version: roster.version });
  });

  // Cameras ---------------------------------------------------------------------------------------
  route("POST", "/v1/camera/register", async (ctx) => {
    // The key is in the body, so the body is read first — but only a small one (REGISTER_LIMIT), and only
    // for a request whose headers parse and whose timestamp is in the window. The nonce is remembered only
    // after the signature and the certificate chain are checked, so strangers cannot fill the replay cache.
    const auth = clientCheck(() => parseRequestAuthHeaders(ctx.req.headers as Record<string, string>));
    if (Math.abs(now() - auth.timestamp) > REQUEST_WINDOW_MS) httpFail(401, "E_AUTH", "request timestamp is outside the allowed window (check the camera clock)");
    const length = declaredLength(ctx.req, REGISTER_LIMIT);
    const raw = await receiveBody(ctx.req, length, toHex(auth.bodyHash));
    const body = parseJsonObject(raw);
    onlyFields(body, ["accountId", "certificate"]);
    const accountId = str(body, "accountId", ACCOUNT_ID);
    const camCert = cert(body, "certificate");
    checkCameraSignature(ctx, auth, camCert);
    const cameraId = auth.cameraId;
    ctx.log.cameraId = cameraId;
    ctx.log.accountId = accountId;
    const row = await e2eeRow(accountId);
    if (!row) httpFail(404, "E_NOT_FOUND", "no such account with end-to-end encryption");
    clientCheck(() => verifyChain(crypto, camCert, parseCertificate(new Uint8Array(row.root_cert))));
    if (camCert.publicKey.kind !== "p256") httpFail(400, "E_CERT", "a camera key must be P-256");
    if (camCert.subjectCommonName !== cameraId) httpFail(400, "E_CERT", "certificate CN must be the camera id");
    const keyId = toHex(crypto.sha256(camCert.spki));
    const certHash = sha256hex(camCert.der);
    const history = (await store.get("SELECT revoked FROM camera_certs WHERE cert_sha256 = ?", [certHash])) as { revoked: number } | undefined;
    if (history?.revoked) httpFail(403, "E_AUTH", "this camera certificate was removed from the account; set the camera up again");
    await recordNonce(auth);
    await store.transaction(async (tx) => {
      const existing = (await tx.get("SELECT account_id FROM cameras WHERE camera_id = ?", [cameraId])) as { account_id: string } | undefined;
      if (existing && existing.account_id !== accountId) httpFail(409, "E_CONFLICT", "this camera id belongs to another account");
      const history = (await tx.get("SELECT revoked FROM camera_certs WHERE cert_sha256 = ?", [certHash])) as { revoked: number } | undefined;
      if (history?.revoked) httpFail(403, "E_AUTH", "this camera certificate was removed from the account; set the camera up again");
      (await tx.run("INSERT INTO camera_certs (cert_sha256, camera_id, account_id, cert, registered_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", [certHash, cameraId, accountId, camCert.der, now()]));
      (await tx.run("INSERT INTO cameras (camera_id, account_id, cert, key_id, registered_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(camera_id) DO UPDATE SET cert = excluded.cert, key_id = excluded.key_id", [cameraId, accountId, camCert.der, keyId, now()]));
    });
    sendJson(ctx.res, 201, { cameraId, keyId, rosterVersion: row.roster_version });
  });

  route("GET", "/v1/camera/roster", async (ctx) => {
    const cam = await cameraAuth(ctx, 0);
    await receiveBody(ctx.req, cam.length, cam.bodySha256);
    const row = await requireE2ee(cam.accountId as string);
    sendJson(ctx.res, 200, { version: row.roster_version, roster: toBase64Url(row.roster) });
  });

  // The camera reports what the owner should see: the roster version it seals to, why it refused a newer
  // roster (e.g. one with too many keys), and how many parts wait in its queue. Latest report wins.
  route("PUT", "/v1/camera/status", async (ctx) => {
    const cam = await cameraAuth(ctx, STATUS_LIMIT);
    const raw = await receiveBody(ctx.req, cam.length, cam.bodySha256);
    const body = parseJsonObject(raw);
    onlyFields(body, ["rosterVersion", "rosterProblem", "queued"]);
    const status = checkCameraStatus(body);
    (await store.run("INSERT INTO camera_status (camera_id, roster_version, roster_problem, queued, reported_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(camera_id) DO UPDATE SET roster_version = excluded.roster_version, roster_problem = excluded.roster_problem, queued = excluded.queued, reported_at = excluded.reported_at", [cam.cameraId, status.rosterVersion, status.rosterProblem === null ? null : JSON.stringify(status.rosterProblem), status.queued, now()]));
    sendJson(ctx.res, 200, { ok: true });
  });

  // A phone removes a camera: it can no longer authenticate or register that certificate again; its
  // certificate stays listed (marked removed) so clips it made can still be verified and opened.
  route("POST", "/v1/cameras/:cameraid/remove", async (ctx) => {
    const s = await session(ctx);
    const cameraId = ctx.params[0];
    if (!isCameraId(cameraId)) httpFail(400, "E_FORMAT", "bad camera id");
    await noBody(ctx);
    await requireE2ee(s.accountId);
    if (!s.phoneKeyId) httpFail(403, "E_AUTH", "only an enrolled phone may remove cameras");
    await store.transaction(async (tx) => {
      const row = (await tx.get("SELECT cert FROM cameras WHERE camera_id = ? AND account_id = ?", [cameraId, s.accountId])) as { cert: Buffer } | undefined;
      if (!row) httpFail(404, "E_NOT_FOUND", "no such camera in this account");
      (await tx.run("UPDATE camera_certs SET revoked = 1 WHERE camera_id = ? AND account_id = ?", [cameraId, s.accountId]));
      (await tx.run("DELETE FROM cameras WHERE camera_id = ?", [cameraId]));
      verifiedCameras.delete(cameraId);
      (await tx.run("DELETE FROM camera_status WHERE camera_id = ?", [cameraId]));
    });
    sendJson(ctx.res, 200, { removed: cameraId });
  });

  async function clipRow(id: string) {
    return (await store.get("SELECT * FROM clips WHERE clip_id = ? AND deleted_at IS NULL", [id])) as
      | { clip_id: string; account_id: string; camera_id: string; head_sha256: string; head_length: number; segment_size: number; start_time: number; content_type: string; segment_count: number | null; footer_sha256: string | null; size: number | null; complete: number; created_at: number }
      | undefined;
  }

  function clipId(ctx: Ctx): string {
    const id = ctx.params[0];
    if (!CLIP_ID.test(id)) httpFail(400, "E_FORMAT", "clip id must be 32 lower-case hex characters");
    return id;
  }

  async function ownClip(cam: { cameraId: string }, id: string) {
    const row = await clipRow(id);
    if (!row || row.camera_id !== cam.cameraId) httpFail(404, "E_NOT_FOUND", "no such clip from this camera; upload its head first");
    return row;
  }

  route("PUT", "/v1/clips/:id/head", async (ctx) => {
    const id = clipId(ctx);
    const cam = await cameraAuth(ctx, MAX_HEAD_BYTES, true);
    const raw = await receiveBody(ctx.req, cam.length, cam.bodySha256);
    const info = clientCheck(() => readHead(raw));
    if (info.clipId !== id) httpFail(400, "E_FORMAT", "clip id in the path does not match the head");
    if (info.cameraId !== cam.cameraId) httpFail(400, "E_FORMAT", "clip head names another camera");
    const hash = cam.bodySha256; // receiveBody checked the body against it
    // Heads of one clip id are handled one at a time (the file and the row are written asynchronously): a
    // second one waits, then finds the first one's row exactly as if they had arrived one after the other.
    for (let busy = headWrites.get(id); busy; busy = headWrites.get(id)) await busy;
    let done!: () => void;
    headWrites.set(id, new Promise<void>((resolve) => (done = resolve)));
    try {
      if ((await store.get("SELECT 1 FROM clips WHERE clip_id = ? AND deleted_at IS NOT NULL", [id]))) httpFail(409, "E_STATE", "this clip is being deleted; record a new one");
      const existing = await clipRow(id);
      if (existing) {
        if (existing.head_sha256 !== hash || existing.camera_id !== cam.cameraId) httpFail(409, "E_CONFLICT", "a different clip with this id exists");
        return sendJson(ctx.res, 200, { clipId: id, stored: "already" });
      }
      // The blob store first, then the row (a row never names bytes the store does not have). A different head
      // stored under this id with no row is an orphan (a crash before its row, or a delete cut short): it goes.
      try {
        await blobs.putHead(id, raw);
      } catch (error) {
        if ((error as { code?: string }).code !== "E_CONFLICT") throw error;
        await blobs.deleteClip(id);
        await blobs.putHead(id, raw);
      }
      await store.write("INSERT INTO clips (clip_id, account_id, camera_id, head_sha256, head_length, segment_size, start_time, content_type, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [id, cam.accountId, cam.cameraId, hash, raw.length, info.segmentSize, info.startTime, info.contentType, now()]);
    } finally {
      headWrites.delete(id);
      done();
    }
    sendJson(ctx.res, 201, { clipId: id, stored: "new" });
  });

  route("PUT", "/v1/clips/:id/segments/:n", async (ctx) => {
    const id = clipId(ctx);
    if (!/^(0|[1-9]\d{0,9})$/.test(ctx.params[1]) || Number(ctx.params[1]) > 0xffffffff) httpFail(400, "E_FORMAT", "segment index must be 0..2^32-1");
    const index = Number(ctx.params[1]);
    const cam = await cameraAuth(ctx, SEGMENT_LIMIT, true);
    // Everything that can be decided from the headers is decided before the body is read.
    const check = async () => {
      // Only the columns this needs (read twice per segment): same row, same decisions as ownClip.
      const clip = (await store.get("SELECT camera_id, head_length, segment_size, segment_count, complete FROM clips WHERE clip_id = ? AND deleted_at IS NULL", [id])) as
        { camera_id: string; head_length: number; segment_size: number; segment_count: number | null; complete: number } | undefined;
      if (!clip || clip.camera_id !== cam.cameraId) httpFail(404, "E_NOT_FOUND", "no such clip from this camera; upload its head first");
      const count = clip.segment_count as number;
      if (clip.complete && index >= count) httpFail(409, "E_STATE", "the clip is complete; it has no such segment");
      // Of a complete clip the last segment may be short; of an incomplete one any segment may be the last.
      if (!segmentLengthOk(cam.length, clip.segment_size, clip.complete ? index === count - 1 : null)) {
        httpFail(400, "E_SEGMENT", `segment length ${cam.length} is impossible for segment size ${clip.segment_size}`);
      }
      return clip;
    };
    await check();
    const existing = (await store.get("SELECT sha256 FROM clip_segments WHERE clip_id = ? AND idx = ?", [id, index])) as { sha256: string } | undefined;
    if (existing) {
      await receiveBody(ctx.req, cam.length, cam.bodySha256); // the body must still be the one signed
      if (existing.sha256 !== cam.bodySha256) httpFail(409, "E_CONFLICT", "a different segment with this index was already stored");
      return sendJson(ctx.res, 200, { index, stored: "already" });
    }
    // Streamed while hashed into the blob store (files: straight to its place in the clip's one file, never
    // held in memory whole); recorded only once its bytes match the signed hash and are stored. One writer
    // per segment on this node, and none while the footer completes the clip.
    const slot = `${id}/${index}`;
    if (segmentWrites.has(slot)) httpFail(409, "E_STATE", "this segment is being uploaded by another request; retry when it finishes");
    if (completing.has(id)) httpFail(409, "E_STATE", "the clip is being completed; check its status");
    segmentWrites.add(slot);
    clipWrites.set(id, (clipWrites.get(id) ?? 0) + 1);
    try {
      const clip = await check();
      try {
        await blobs.putSegment(id, { headLength: clip.head_length, segmentSize: clip.segment_size }, index, ctx.req, cam.length, cam.bodySha256);
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === "E_AUTH") httpFail(401, "E_AUTH", "the body does not match its signed x-sealcam-content-sha256; nothing was stored");
        if (code === "E_FORMAT") httpFail(400, "E_FORMAT", "body length differs from Content-Length");
        throw error;
      }
      await check(); // again: the clip may have been deleted meanwhile
      await store.write("INSERT INTO clip_segments (clip_id, idx, length, sha256) VALUES (?, ?, ?, ?)", [id, index, cam.length, cam.bodySha256]);
      sendJson(ctx.res, 201, { index, stored: "new" });
    } finally {
      segmentWrites.delete(slot);
      const n = (clipWrites.get(id) ?? 1) - 1;
      if (n > 0) clipWrites.set(id, n);
      else clipWrites.delete(id);
    }
  });

  route("PUT", "/v1/clips/:id/footer", async (ctx) => {
    const id = clipId(ctx);
    const countText = ctx.query.get("segments") ?? "";
    if (!/^[1-9]\d{0,9}$/.test(countText)) httpFail(400, "E_FORMAT", "query parameter segments must be the segment count (>= 1)");
    const count = Number(countText);
    const cam = await cameraAuth(ctx, FOOTER_BYTES, true);
    const raw = await receiveBody(ctx.req, cam.length, cam.bodySha256);
    if (raw.length !== FOOTER_BYTES) httpFail(400, "E_FORMAT", `footer must be ${FOOTER_BYTES} bytes`);
    const clip = await ownClip(cam, id);
    const hash = cam.bodySha256; // receiveBody checked the body against it
    if (clip.complete) {
      if (clip.footer_sha256 !== hash || clip.segment_count !== count) httpFail(409, "E_CONFLICT", "the clip was completed with another footer");
      return sendJson(ctx.res, 200, { clipId: id, complete: true, size: clip.size });
    }
    const segments = (await store.all("SELECT idx, length, sha256 FROM clip_segments WHERE clip_id = ? ORDER BY idx", [id])) as { idx: number; length: number; sha256: string }[];
    if (segments.length !== count || segments.some((s, i) => s.idx !== i)) {
      httpFail(409, "E_STATE", `segments missing: the cloud has ${segments.length} of ${count}; check the status and resume`);
    }
    for (let i = 0; i < count - 1; i++) {
      if (!segmentLengthOk(segments[i].length, clip.segment_size, false)) httpFail(400, "E_SEGMENT", `segment ${i} is short but not the last`);
    }
    // The blob store checks every recorded piece (head and segments, by their SHA-256), makes head, segments
    // and footer one complete clip and removes the upload's parts; only then is the row marked complete, so a
    // clip is listed complete only when every byte is stored. A crash between the two leaves the row
    // uploading over a complete clip: the footer sent again finds it ("already") and marks the row.
    if (clipWrites.has(id) || completing.has(id)) httpFail(409, "E_STATE", "a segment upload for this clip is still in progress; retry when it finishes");
    completing.add(id);
    let size: number;
    try {
      ({ size } = await blobs.finalize(id, {
        headLength: clip.head_length, segmentSize: clip.segment_size, headSha256: clip.head_sha256,
        segments: segments.map((s) => ({ index: s.idx, length: s.length, sha256: s.sha256 })), footer: raw,
      }));
      await store.write("UPDATE clips SET complete = 1, segment_count = ?, footer_sha256 = ?, size = ? WHERE clip_id = ?", [count, hash, size, id]);
      timeline.completed(id);
    } finally {
      completing.delete(id);
    }
    sendJson(ctx.res, 201, { clipId: id, complete: true, size });
  });

  route("GET", "/v1/clips/:id/status", async (ctx) => {
    const id = clipId(ctx);
    const cam = await cameraAuth(ctx, 0);
    await receiveBody(ctx.req, cam.length, cam.bodySha256);
    const row = await clipRow(id);
    if (!row || row.camera_id !== cam.cameraId) return sendJson(ctx.res, 200, { clipId: id, head: false, segments: [], complete: false });
    const segments = ((await store.all("SELECT idx FROM clip_segments WHERE clip_id = ? ORDER BY idx", [id])) as { idx: number }[]).map((s) => s.idx);
    sendJson(ctx.res, 200, { clipId: id, head: true, segments, complete: row.complete === 1 });
  });

  // Phones: listing and download of the account's clips.
  route("GET", "/v1/clips", async (ctx) => {
    const s = await session(ctx);
    await noBody(ctx);
    const rows = (await store.all("SELECT clip_id, camera_id, start_time, content_type, size, complete, created_at FROM clips WHERE account_id = ? AND deleted_at IS NULL ORDER BY start_time, clip_id", [s.accountId])) as
      { clip_id: string; camera_id: string; start_time: number; content_type: string; size: number | null; complete: number; created_at: number }[];
    sendJson(ctx.res, 200, {
      clips: rows.map((r) => ({ clipId: r.clip_id, cameraId: r.camera_id, startTime: r.start_time, contentType: r.content_type, size: r.size, complete: r.complete === 1, uploadedAt: r.created_at })),
    });
  });

  route("GET", "/v1/clips/:id", async (ctx) => {
    const s = await session(ctx);
    const id = clipId(ctx);
    await noBody(ctx);
    const row = await clipRow(id);
    if (!row || row.account_id !== s.accountId || row.complete !== 1) httpFail(404, "E_NOT_FOUND", "no such complete clip in this account");
    const clip = await blobs.openClip(id);
    if (!clip) httpFail(404, "E_NOT_FOUND", "no such complete clip in this account"); // deleted meanwhile
    sendStream(ctx.res, clip.stream, clip.size);
  });

  // The owner deletes a clip: tombstone, files, rows (retention.ts); an enrolled phone's session only.
  route("DELETE", "/v1/clips/:id", async (ctx) => {
    const s = await session(ctx);
    const id = clipId(ctx);
    await noBody(ctx);
    if (!s.phoneKeyId) httpFail(403, "E_AUTH", "only an enrolled phone may delete clips");
    const row = await clipRow(id);
    if (!row || row.account_id !== s.accountId) httpFail(404, "E_NOT_FOUND", "no such clip in this account");
    await deleteClips(store, blobs, [id], now());
    sendJson(ctx.res, 200, { deleted: id });
  });

  // The signed head alone (preamble, header, camera signature), so a phone can verify what it lists.
  route("GET", "/v1/clips/:id/head", async (ctx) => {
    const s = await session(ctx);
    const id = clipId(ctx);
    await noBody(ctx);
    const row = await clipRow(id);
    // The store reads the upload's head or the complete clip's (a clip completing meanwhile moves it).
    const head = row && row.account_id === s.accountId ? await blobs.readHead(id, row.head_length) : null;
    if (!head) httpFail(404, "E_NOT_FOUND", "no such clip in this account");
    ctx.res.writeHead(200, { "content-type": "application/octet-stream", "content-length": head.length, "cache-control": "no-store" });
    ctx.res.end(head);
  });

  // Sharing: the mailbox and the viewers' shared-clip routes (mailbox.ts, docs/CLOUD-API.md).
  const mailbox = registerMailbox({ store, route, session, noBody, now, blobs });
  (await import("./web-viewer")).registerWebViewer({ route }); // the browser-key viewer page at /viewer/ (web-viewer.ts)
  const timeline = registerTimeline({ store, route, session, noBody, now, blobs, dataDir, options }); // timeline.ts: cloud key, timeline, alerts

  // ------------------------------------------------------------------------------------------- server
  // Timeouts cut slow clients (slow-loris): headers within headersTimeout, the whole request within
  // requestTimeout (checked every connectionsCheckingInterval); connections beyond maxConnections are closed.
  const requestTimeout = options.requestTimeoutMs ?? 30_000;
  const serverOptions: http.ServerOptions = {
    requestTimeout,
    headersTimeout: Math.min(options.headersTimeoutMs ?? 10_000, requestTimeout),
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(requestTimeout / 4))),
    keepAliveTimeout: 5000,
  };
  // Request ids: a per-process random prefix and a counter (unique across restarts and nodes, cheap).
  const idPrefix = nodeCrypto.randomBytes(4).toString("hex");
  let requestCount = 0;
  const inFlight = new Set<http.ServerResponse>();
  let idle: (() => void) | null = null;

  /** One log line per request, when its response is done (or the connection dropped). */
  function logRequest(ctx: Ctx, reqId: string, route: string | null, startedNs: bigint): void {
    const { res, req } = ctx;
    const status = res.headersSent ? res.statusCode : 0;
    const fields: LogFields = {
      reqId, method: ctx.method, route, path: ctx.path.length > 200 ? ctx.path.slice(0, 200) + "…" : ctx.path,
      status, durationMs: Math.round(Number(process.hrtime.bigint() - startedNs) / 1e5) / 10, client: clientAddress(req),
    };
    if (ctx.log.accountId) fields.accountId = ctx.log.accountId;
    if (ctx.log.cameraId) fields.cameraId = ctx.log.cameraId;
    if (ctx.log.code) fields.code = ctx.log.code;
    if (!res.writableFinished) fields.aborted = true;
    if (ctx.log.err) fields.err = ctx.log.err;
    if (status >= 500 || ctx.log.err) logger.error("request", fields);
    else logger.info("request", fields);
  }

  const server = http.createServer(serverOptions, (req, res) => {
    const startedNs = process.hrtime.bigint();
    const reqId = `${idPrefix}-${(++requestCount).toString(36)}`;
    const method = req.method ?? "GET";
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://localhost");
    } catch {
      url = new URL("http://localhost/\u0000");
    }
    const ctx: Ctx = { req, res, method, path: url.pathname, query: url.searchParams, params: [], log: {} };
    let matched: string | null = null;
    inFlight.add(res);
    res.setHeader("x-request-id", reqId);
    if (draining) res.setHeader("connection", "close");
    res.once("close", () => {
      inFlight.delete(res);
      logRequest(ctx, reqId, matched, startedNs);
      if (inFlight.size === 0 && idle) idle();
    });
    let matchedPath = false;
    for (const r of routes) {
      const m = r.pattern.exec(url.pathname);
      if (!m) continue;
      matchedPath = true;
      if (r.method !== method) continue;
      matched = r.route;
      ctx.params = m.slice(1).map((p) => {
        try {
          return decodeURIComponent(p);
        } catch {
          return "\u0000";
        }
      });
      r.handler(ctx).catch((error) => {
        // A request refused before its body was read: answer, discard what still arrives, close.
        if (!req.complete) res.setHeader("connection", "close");
        req.resume();
        const reply = describeError(error);
        ctx.log.code = reply.code;
        // A bug's cause stays here: the client gets only E_INTERNAL.
        if (reply.status >= 500 || res.headersSent) ctx.log.err = errorFields(error);
        if (!res.headersSent) sendError(res, error);
        else res.destroy();
      });
      return;
    }
    req.resume();
    ctx.log.code = matchedPath ? "E_FORMAT" : "E_NOT_FOUND";
    if (matchedPath) sendJson(res, 405, { code: "E_FORMAT", message: `method ${method} is not allowed here` });
    else sendJson(res, 404, { code: "E_NOT_FOUND", message: "no such endpoint" });
  });
  server.maxConnections = options.maxConnections ?? 1024;
  /** The metadata store, then the blob store (each closed even if the other fails). */
  const closeStores = async (): Promise<void> => {
    try {
      await store.close();
    } finally {
      await blobs.close();
    }
  };
  // Live view (live.ts): WebSocket upgrades, authenticated from their headers like the routes above.
  const upgradeCtx = (req: http.IncomingMessage): Ctx =>
    ({ req, res: undefined as unknown as http.ServerResponse, method: req.method ?? "GET", path: "", query: new URLSearchParams(), params: [], log: {} });
  attachLiveRelay(server, {
    camera: (req) => cameraAuth(upgradeCtx(req), 0), phone: (req) => session(upgradeCtx(req)),
    // Viewers (PROTOCOL §13.6): the mailbox's proof of a stream key; the grant itself is decided in live.ts.
    viewerProof: (req, to, target) => mailbox.proof(req, to, "GET", target),
    cameraAccount: async (cameraId) => {
      const row = await store.get<{ account_id: string; root_cert: Buffer; roster: Buffer }>("SELECT c.account_id, e.root_cert, e.roster FROM cameras c JOIN e2ee e ON e.account_id = c.account_id WHERE c.camera_id = ?", [cameraId]);
      return row ? { accountId: row.account_id, rootCertificate: new Uint8Array(row.root_cert), roster: new Uint8Array(row.roster) } : null;
    },
  }, { logger, now, store });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error) => void closeStores().finally(() => reject(error)));
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.address() as AddressInfo;
  const url = `http://${(options.host ?? "127.0.0.1").includes(":") ? `[${options.host}]` : options.host ?? "127.0.0.1"}:${address.port}`;
  publicUrl = options.publicUrl !== undefined ? normalizePublicUrl(options.publicUrl) : url;

  // The sweeper: retention, stale uploads, unfinished deletes, orphans (retention.ts), every sweepIntervalMs.
  // One sweep at a time on this node (other nodes may sweep meanwhile: every step is idempotent).
  let sweeping: Promise<SweepResult> | null = null;
  const runSweep = (): Promise<SweepResult> => (sweeping ??= (async () => {
    try {
      const result = await sweep(store, sweepOptions());
      if (result.finished + result.expired + result.stale + result.orphans > 0) logger.info("sweep", { ...result });
      return result;
    } finally {
      sweeping = null;
    }
  })());
  const sweepIntervalMs = options.sweepIntervalMs ?? 3600 * 1000;
  const sweeper = sweepIntervalMs > 0
    ? setInterval(() => {
      runSweep().catch((error: unknown) => logger.error("sweep failed", { err: errorFields(error) }));
    }, sweepIntervalMs)
    : null;
  sweeper?.unref();

  let stopped: Promise<void> | null = null;
  let stopping: Promise<{ cut: number }> | null = null;
  const close = (): Promise<void> => {
    if (stopped) return stopped;
    if (sweeper) clearInterval(sweeper);
    draining = true;
    stopped = new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => {
        void (sweeping ?? Promise.resolve()).catch(() => undefined).then(closeStores).finally(() => resolve());
      });
    });
    return stopped;
  };
  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

  async function shutdown(opts: ShutdownOptions = {}): Promise<{ cut: number }> {
    const graceMs = opts.graceMs ?? 10_000;
    draining = true;
    logger.info("shutting down", { inFlight: inFlight.size, graceMs, drainDelayMs: opts.drainDelayMs ?? 0 });
    if (sweeper) clearInterval(sweeper);
    if (opts.drainDelayMs) await sleep(opts.drainDelayMs);
    // Stop accepting; idle keep-alive connections go now, busy ones are told to close after their reply.
    const listenerClosed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    for (const res of inFlight) if (!res.headersSent) res.setHeader("connection", "close");
    if (inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => (idle = resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs))),
      ]);
      clearTimeout(timer);
    }
    const cut = inFlight.size;
    if (cut > 0) logger.warn("shutdown grace elapsed; cutting requests still in flight", { cut });
    server.closeAllConnections();
    await listenerClosed;
    if (!stopped) {
      stopped = (sweeping ?? Promise.resolve()).catch(() => undefined).then(closeStores);
    }
    await stopped;
    logger.info("stopped", { cut });
    return { cut };
  }

  logger.info("listening", { url, publicUrl, dataDir, version: CLOUD_VERSION });
  return {
    url,
    port: address.port,
    store,
    blobs,
    publicUrl,
    stats: () => ({ uploads: uploadsInProgress, hashing, hashWaiting: hashWaiting.length }),
    sweep: runSweep,
    shutdown: (opts) => (stopping ??= shutdown(opts)),
    close,
  };
}
