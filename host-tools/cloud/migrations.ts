/**
 * The metadata schema, versioned: migration N brings a database from version N-1 to N, once, in one
 * transaction, and records N in `schema_version`. Each migration has a SQLite and a PostgreSQL text (the
 * only place the dialects differ: BLOB/BYTEA, INTEGER/BIGINT, auto-numbered ids). Migrations are append-only:
 * a released one is never edited; a change is a new one. Several nodes starting at once over one PostgreSQL
 * migrate one at a time (an advisory lock); the others find the work done.
 *
 * A SQLite database made before versioning (no schema_version table) is brought to version 1 by the same
 * idempotent steps the cloud always ran at start (CREATE ... IF NOT EXISTS, then the columns added later).
 */
import type Database from "better-sqlite3";
import type * as PgTypes from "pg";

export interface Migration {
  version: number;
  name: string;
  sqlite: string | ((db: Database.Database) => void);
  postgres: string;
}

const SQLITE_V1 = `
CREATE TABLE IF NOT EXISTS accounts (
  id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE, login_salt BLOB NOT NULL, login_hash BLOB NOT NULL,
  created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
  token_hash TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id),
  phone_key_id TEXT, unlocked INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS e2ee (
  account_id TEXT PRIMARY KEY REFERENCES accounts(id), root_cert BLOB NOT NULL, data_key_cert BLOB NOT NULL,
  backup TEXT NOT NULL, auth_verifier TEXT NOT NULL, roster BLOB NOT NULL, roster_version INTEGER NOT NULL,
  enabled_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS phones (
  key_id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id), name TEXT NOT NULL,
  cert BLOB NOT NULL, wraps TEXT NOT NULL, added_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS unlock_failures (account_id TEXT NOT NULL, at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS unlock_failures_account ON unlock_failures(account_id, at);
CREATE TABLE IF NOT EXISTS cameras (
  camera_id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id), cert BLOB NOT NULL,
  key_id TEXT NOT NULL, registered_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS camera_certs (
  cert_sha256 TEXT PRIMARY KEY, camera_id TEXT NOT NULL, account_id TEXT NOT NULL REFERENCES accounts(id),
  cert BLOB NOT NULL, revoked INTEGER NOT NULL DEFAULT 0, registered_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS nonces (camera_id TEXT NOT NULL, nonce TEXT NOT NULL, at INTEGER NOT NULL,
  PRIMARY KEY (camera_id, nonce));
CREATE INDEX IF NOT EXISTS nonces_at ON nonces(at);
CREATE TABLE IF NOT EXISTS camera_status (
  camera_id TEXT PRIMARY KEY, roster_version INTEGER NOT NULL, roster_problem TEXT, queued INTEGER NOT NULL,
  reported_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS signin_failures (email TEXT NOT NULL, address TEXT NOT NULL, at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS signin_failures_email ON signin_failures(email, at);
CREATE INDEX IF NOT EXISTS signin_failures_address ON signin_failures(address, at);
CREATE TABLE IF NOT EXISTS clips (
  clip_id TEXT PRIMARY KEY, account_id TEXT NOT NULL, camera_id TEXT NOT NULL, head_sha256 TEXT NOT NULL,
  head_length INTEGER NOT NULL, segment_size INTEGER NOT NULL, start_time INTEGER NOT NULL,
  content_type TEXT NOT NULL, segment_count INTEGER, footer_sha256 TEXT, size INTEGER,
  complete INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS clip_segments (
  clip_id TEXT NOT NULL REFERENCES clips(clip_id), idx INTEGER NOT NULL, length INTEGER NOT NULL,
  sha256 TEXT NOT NULL, PRIMARY KEY (clip_id, idx));
`;

function addColumn(db: Database.Database, table: string, column: string, declaration: string): void {
  const columns = (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name);
  if (!columns.includes(column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${declaration}`);
}

/** Version 1 in SQLite: the schema as the cloud built it before versioning (idempotent, for old files). */
function sqliteV1(db: Database.Database): void {
  db.exec(SQLITE_V1);
  addColumn(db, "sessions", "last_used_at", "INTEGER");
  addColumn(db, "sessions", "unlock_failures", "INTEGER NOT NULL DEFAULT 0");
  addColumn(db, "unlock_failures", "address", "TEXT NOT NULL DEFAULT ''");
  db.exec("CREATE INDEX IF NOT EXISTS unlock_failures_address ON unlock_failures(account_id, address, at)");
  // Deletion and retention: a tombstone marks a clip whose delete is under way (retention.ts); an account's
  // retention in days (NULL: keep clips until deleted).
  addColumn(db, "clips", "deleted_at", "INTEGER");
  addColumn(db, "accounts", "retention_days", "INTEGER");
  db.exec("CREATE INDEX IF NOT EXISTS clips_account_created ON clips(account_id, created_at)");
  db.exec("CREATE INDEX IF NOT EXISTS clips_deleted ON clips(deleted_at) WHERE deleted_at IS NOT NULL");
}

/**
 * Version 1 in PostgreSQL: the same tables. Every integer is BIGINT (times are ms since the epoch, roster
 * versions reach 2^48); signin_failures has an explicit `rowid` (SQLite's implicit one, which the cloud uses
 * to withdraw an attempt).
 */
const POSTGRES_V1 = `
CREATE TABLE accounts (
  id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE, login_salt BYTEA NOT NULL, login_hash BYTEA NOT NULL,
  created_at BIGINT NOT NULL, retention_days BIGINT);
CREATE TABLE sessions (
  token_hash TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id),
  phone_key_id TEXT, unlocked BIGINT NOT NULL DEFAULT 0, created_at BIGINT NOT NULL, last_used_at BIGINT,
  unlock_failures BIGINT NOT NULL DEFAULT 0);
CREATE TABLE e2ee (
  account_id TEXT PRIMARY KEY REFERENCES accounts(id), root_cert BYTEA NOT NULL, data_key_cert BYTEA NOT NULL,
  backup TEXT NOT NULL, auth_verifier TEXT NOT NULL, roster BYTEA NOT NULL, roster_version BIGINT NOT NULL,
  enabled_at BIGINT NOT NULL);
CREATE TABLE phones (
  key_id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id), name TEXT NOT NULL,
  cert BYTEA NOT NULL, wraps TEXT NOT NULL, added_at BIGINT NOT NULL);
CREATE TABLE unlock_failures (account_id TEXT NOT NULL, at BIGINT NOT NULL, address TEXT NOT NULL DEFAULT '');
CREATE INDEX unlock_failures_account ON unlock_failures(account_id, at);
CREATE INDEX unlock_failures_address ON unlock_failures(account_id, address, at);
CREATE TABLE cameras (
  camera_id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id), cert BYTEA NOT NULL,
  key_id TEXT NOT NULL, registered_at BIGINT NOT NULL);
CREATE TABLE camera_certs (
  cert_sha256 TEXT PRIMARY KEY, camera_id TEXT NOT NULL, account_id TEXT NOT NULL REFERENCES accounts(id),
  cert BYTEA NOT NULL, revoked BIGINT NOT NULL DEFAULT 0, registered_at BIGINT NOT NULL);
CREATE TABLE nonces (camera_id TEXT NOT NULL, nonce TEXT NOT NULL, at BIGINT NOT NULL,
  PRIMARY KEY (camera_id, nonce));
CREATE INDEX nonces_at ON nonces(at);
CREATE TABLE camera_status (
  camera_id TEXT PRIMARY KEY, roster_version BIGINT NOT NULL, roster_problem TEXT, queued BIGINT NOT NULL,
  reported_at BIGINT NOT NULL);
CREATE TABLE signin_failures (rowid BIGSERIAL PRIMARY KEY, email TEXT NOT NULL, address TEXT NOT NULL, at BIGINT NOT NULL);
CREATE INDEX signin_failures_email ON signin_failures(email, at);
CREATE INDEX signin_failures_address ON signin_failures(address, at);
CREATE TABLE clips (
  clip_id TEXT PRIMARY KEY, account_id TEXT NOT NULL, camera_id TEXT NOT NULL, head_sha256 TEXT NOT NULL,
  head_length BIGINT NOT NULL, segment_size BIGINT NOT NULL, start_time BIGINT NOT NULL,
  content_type TEXT NOT NULL, segment_count BIGINT, footer_sha256 TEXT, size BIGINT,
  complete BIGINT NOT NULL DEFAULT 0, created_at BIGINT NOT NULL, deleted_at BIGINT);
CREATE INDEX clips_account_created ON clips(account_id, created_at);
CREATE INDEX clips_deleted ON clips(deleted_at) WHERE deleted_at IS NOT NULL;
CREATE TABLE clip_segments (
  clip_id TEXT NOT NULL REFERENCES clips(clip_id), idx BIGINT NOT NULL, length BIGINT NOT NULL,
  sha256 TEXT NOT NULL, PRIMARY KEY (clip_id, idx));
`;

/** Version 2: sharing (mailbox.ts): the viewers' mailboxes, what was shared to whom, proof nonces. */
const MAILBOX_V2 = (blob: string, int: string, ifNotExists: string) => `
CREATE TABLE ${ifNotExists}mailbox (
  id TEXT PRIMARY KEY, to_hash TEXT NOT NULL, account_id TEXT NOT NULL, share_id TEXT NOT NULL,
  envelope ${blob} NOT NULL, created_at ${int} NOT NULL);
CREATE INDEX ${ifNotExists}mailbox_to ON mailbox(to_hash, created_at);
CREATE TABLE ${ifNotExists}shares (
  to_hash TEXT NOT NULL, account_id TEXT NOT NULL, share_id TEXT NOT NULL, stream_kid TEXT NOT NULL,
  created_at ${int} NOT NULL, PRIMARY KEY (to_hash, account_id, share_id));
CREATE TABLE ${ifNotExists}mailbox_nonces (
  nonce TEXT PRIMARY KEY, to_hash TEXT NOT NULL, issued_at ${int} NOT NULL, used_at ${int});
CREATE INDEX ${ifNotExists}mailbox_nonces_to ON mailbox_nonces(to_hash, issued_at);
`;

/** Version 3: single-clip shares (mailbox.ts) and the grants addressed to the cloud's own key (timeline.ts). */
const SHARES_V3 = (blob: string, int: string, ifNotExists: string) => `
CREATE TABLE ${ifNotExists}clip_shares (
  to_hash TEXT PRIMARY KEY, account_id TEXT NOT NULL, share_id TEXT NOT NULL, clip_id TEXT NOT NULL,
  head_sha256 TEXT NOT NULL, not_after ${int} NOT NULL, envelope ${blob} NOT NULL, created_at ${int} NOT NULL);
CREATE INDEX ${ifNotExists}clip_shares_clip ON clip_shares(clip_id);
CREATE TABLE ${ifNotExists}cloud_grants (
  id TEXT PRIMARY KEY, account_id TEXT NOT NULL, share_id TEXT NOT NULL, envelope ${blob} NOT NULL, received_at ${int} NOT NULL);
CREATE INDEX ${ifNotExists}cloud_grants_account ON cloud_grants(account_id, received_at);
`;

/** Version 4: which node holds each camera's live socket (live.ts, several nodes over PostgreSQL). */
const LIVE_V4 = (int: string) => `
CREATE TABLE IF NOT EXISTS live_cameras (
  camera_id TEXT PRIMARY KEY, account_id TEXT NOT NULL, node_id TEXT NOT NULL, connected_at ${int} NOT NULL);
`;

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: "accounts, e2ee, cameras, clips", sqlite: sqliteV1, postgres: POSTGRES_V1 },
  // IF NOT EXISTS in SQLite: a file made before versioning may already have these tables.
  { version: 2, name: "sharing: mailbox, shares", sqlite: MAILBOX_V2("BLOB", "INTEGER", "IF NOT EXISTS "), postgres: MAILBOX_V2("BYTEA", "BIGINT", "") },
  { version: 3, name: "clip shares, the cloud's grants", sqlite: SHARES_V3("BLOB", "INTEGER", "IF NOT EXISTS "), postgres: SHARES_V3("BYTEA", "BIGINT", "") },
  { version: 4, name: "live: which node holds a camera's socket", sqlite: LIVE_V4("INTEGER"), postgres: LIVE_V4("BIGINT") },
];

const VERSION_TABLE = "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";

/** The newest schema version this cloud knows. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

function newer(current: number): Migration[] {
  if (current > SCHEMA_VERSION) {
    throw Object.assign(new Error(`the database's schema is version ${current}, newer than this cloud's ${SCHEMA_VERSION}; run the newer cloud`), { code: "E_STATE" });
  }
  return MIGRATIONS.filter((m) => m.version > current);
}

export function migrateSqlite(db: Database.Database): void {
  db.exec(VERSION_TABLE);
  const current = (db.prepare("SELECT MAX(version) AS v FROM schema_version").get() as { v: number | null }).v ?? 0;
  for (const m of newer(current)) {
    db.transaction(() => {
      if (typeof m.sqlite === "string") db.exec(m.sqlite);
      else m.sqlite(db);
      db.prepare("INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)").run(m.version, m.name, Date.now());
    }).immediate();
  }
}

const MIGRATION_LOCK = 0x5ea1cb;

export async function migratePostgres(pool: PgTypes.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
    try {
      await client.query(VERSION_TABLE);
      const current = Number((await client.query("SELECT MAX(version) AS v FROM schema_version")).rows[0].v ?? 0);
      for (const m of newer(current)) {
        await client.query("BEGIN");
        try {
          await client.query(m.postgres);
          await client.query("INSERT INTO schema_version (version, name, applied_at) VALUES ($1, $2, $3)", [m.version, m.name, Date.now()]);
          await client.query("COMMIT");
        } catch (error) {
          await client.query("ROLLBACK");
          throw error;
        }
      }
    } finally {
      await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK]);
    }
  } finally {
    client.release();
  }
}
