/** The cloud's metadata in SQLite (better-sqlite3, WAL). Clip bodies live in files next to it. */
import Database from "better-sqlite3";

export type Db = Database.Database;

const SCHEMA = `
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

export function openDb(file: string): Db {
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.pragma("foreign_keys = ON");
  db.exec(SCHEMA);
  // Columns added after the first release (a database made by an older cloud gets them here).
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
  cacheStatements(db);
  immediateTransactions(db);
  return db;
}

/**
 * Transactions on this connection begin IMMEDIATE (they take the write lock first, waiting for it up to the
 * busy timeout). The upload writes are committed by another connection (db-writer.ts); a deferred transaction
 * that read first and wrote second would fail at once (SQLITE_BUSY_SNAPSHOT) whenever that connection had
 * committed in between, instead of waiting its turn. Nested calls are savepoints, as before.
 */
function immediateTransactions(db: Db): void {
  const make = db.transaction.bind(db);
  db.transaction = ((fn: (...args: never[]) => unknown) => {
    const t = make(fn);
    return Object.assign((...args: never[]) => t.immediate(...args), { default: t.immediate, deferred: t.deferred, immediate: t.immediate, exclusive: t.exclusive, database: db });
  }) as unknown as Db["transaction"];
}

/**
 * Every SQL text is compiled once per connection: `db.prepare(sql)` returns the statement compiled the first
 * time (the cloud's queries are a fixed set; preparing on every request cost more than running most of
 * them). Nothing iterates a statement (`.iterate()`), so one compiled statement per text is safe to reuse.
 */
function cacheStatements(db: Db): void {
  const compile = db.prepare.bind(db);
  const cache = new Map<string, Database.Statement>();
  db.prepare = ((sql: string) => {
    let statement = cache.get(sql);
    if (!statement) {
      statement = compile(sql);
      if (cache.size < 512) cache.set(sql, statement);
    }
    return statement;
  }) as Db["prepare"];
}

function addColumn(db: Db, table: string, column: string, declaration: string): void {
  const columns = (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name);
  if (!columns.includes(column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${declaration}`);
}
