/**
 * The cloud's one storage interface for metadata (docs/CLOUD-API.md "Deployment"): a small async SQL layer —
 * `get`, `all`, `run`, `transaction(async tx => ...)`, and `write` for the hot upload writes — with two
 * bodies:
 *
 * - SQLite (better-sqlite3, the default): one file, WAL, `synchronous = FULL`. Reads and transactions run on
 *   the main connection (a transaction begins IMMEDIATE and holds an in-process lock: nothing else runs on
 *   the connection until it commits); `write` goes to the group-commit worker thread (db-writer.ts).
 * - PostgreSQL (`pg`): a pool of connections. A transaction takes one cluster-wide advisory lock, so write
 *   transactions run one at a time on every node together, exactly as SQLite runs them (BEGIN IMMEDIATE);
 *   single statements (`run`, `write`) run on any pooled connection, in parallel.
 *
 * Every statement is written once, in the SQL both accept: `?` placeholders (numbered `$n` for PostgreSQL
 * here), `INSERT ... ON CONFLICT ... DO NOTHING/UPDATE`, `RETURNING`. What differs (BLOB/BYTEA, BIGINT,
 * auto-numbered ids) lives only in the migrations (migrations.ts). PostgreSQL's BIGINT values come back as
 * numbers (every one the cloud stores is below 2^53), BYTEA as a Buffer, as from SQLite.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import Database from "better-sqlite3";
import type * as PgTypes from "pg";
import { startDbWriter, type DbWriter } from "./db-writer";
import { migrateSqlite, migratePostgres } from "./migrations";

export type SqlValue = string | number | null | Uint8Array;
export type Dialect = "sqlite" | "postgres";

export interface Sql {
  /** The first row, or undefined. */
  get<T = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  all<T = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** Runs a statement; resolves with the number of rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
}

export interface Store extends Sql {
  readonly dialect: Dialect;
  /**
   * Runs `fn` in one transaction (all or nothing). Transactions run one at a time (per database, across every
   * node); `fn` must only use `tx` (never the store itself, which waits for the transaction to end).
   */
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
  /**
   * The hot upload writes (replay nonces, segment rows, a clip's head and completion): one statement each,
   * durable when the promise resolves. SQLite: group-committed by the writer thread; PostgreSQL: pooled.
   */
  write(sql: string, params: readonly SqlValue[]): Promise<number>;
  /** Runs a script of statements (no parameters). */
  exec(script: string): Promise<void>;
  /** Writes waiting or being committed (SQLite writer thread; 0 for PostgreSQL). */
  pendingWrites(): number;
  /**
   * Messages between the nodes sharing this database: PostgreSQL LISTEN/NOTIFY; in SQLite mode (one node)
   * delivered in-process. Resolves once listening. Payloads are at most 7900 bytes.
   */
  listen(channel: string, handler: (payload: string) => void): Promise<void>;
  notify(channel: string, payload: string): Promise<void>;
  /** The SQLite connection (SQLite body only): for tests and diagnostics. */
  readonly sqlite: Database.Database | null;
  close(): Promise<void>;
}

/** `--db` target: a SQLite file path, or a postgres:// / postgresql:// URL. */
export function isPostgresUrl(target: string): boolean {
  return /^postgres(ql)?:\/\//.test(target);
}

export async function openStore(target: string): Promise<Store> {
  return isPostgresUrl(target) ? openPostgres(target) : openSqlite(target);
}

// --------------------------------------------------------------------------------------------- SQLite
function bindable(params: readonly SqlValue[]): unknown[] {
  return params as unknown[];
}

export function openSqlite(file: string): Store {
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.pragma("foreign_keys = ON");
  migrateSqlite(db);
  // Every SQL text is compiled once per connection (the cloud's queries are a fixed set; preparing on every
  // request cost more than running most of them). Nothing iterates a statement, so reuse is safe.
  const statements = new Map<string, Database.Statement>();
  const prepare = (sql: string): Database.Statement => {
    let s = statements.get(sql);
    if (!s) {
      s = db.prepare(sql);
      if (statements.size < 512) statements.set(sql, s);
    }
    return s;
  };
  const direct: Sql = {
    get: async <T>(sql: string, params: readonly SqlValue[] = []) => prepare(sql).get(...bindable(params)) as T | undefined,
    all: async <T>(sql: string, params: readonly SqlValue[] = []) => prepare(sql).all(...bindable(params)) as T[],
    run: async (sql: string, params: readonly SqlValue[] = []) => {
      const s = prepare(sql);
      // A statement with RETURNING must be stepped with all(); run() refuses it.
      return s.reader ? s.all(...bindable(params)).length : s.run(...bindable(params)).changes;
    },
  };
  // While a transaction is open on the connection, everything else waits for it. Code inside the
  // transaction that used the store instead of `tx` would wait for itself: that is refused (a bug).
  let locked: Promise<void> | null = null;
  const inTransaction = new AsyncLocalStorage<boolean>();
  const free = async (): Promise<void> => {
    if (locked && inTransaction.getStore()) throw new Error("the store was used inside its own transaction (use the transaction's handle)");
    while (locked) await locked;
  };
  const writer: DbWriter = startDbWriter(file);
  const listeners = new Map<string, Set<(payload: string) => void>>();
  let closed = false;
  return {
    dialect: "sqlite",
    sqlite: db,
    get: async (sql, params) => {
      if (locked) await free();
      return direct.get(sql, params);
    },
    all: async (sql, params) => {
      if (locked) await free();
      return direct.all(sql, params);
    },
    run: async (sql, params) => {
      if (locked) await free();
      return direct.run(sql, params);
    },
    async transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
      await free();
      let release!: () => void;
      locked = new Promise<void>((resolve) => (release = resolve));
      try {
        // IMMEDIATE: the write lock first (waiting up to the busy timeout for the writer thread's commit), so
        // a transaction that reads then writes never fails with SQLITE_BUSY_SNAPSHOT.
        db.exec("BEGIN IMMEDIATE");
        try {
          const result = await inTransaction.run(true, () => fn(direct));
          db.exec("COMMIT");
          return result;
        } catch (error) {
          if (db.inTransaction) db.exec("ROLLBACK");
          throw error;
        }
      } finally {
        locked = null;
        release();
      }
    },
    write: (sql, params) => writer.run(sql, params as (string | number | null)[]),
    exec: async (script) => {
      await free();
      db.exec(script);
    },
    pendingWrites: () => writer.pending(),
    listen: async (channel, handler) => {
      if (!listeners.has(channel)) listeners.set(channel, new Set());
      listeners.get(channel)!.add(handler);
    },
    notify: async (channel, payload) => {
      for (const handler of listeners.get(channel) ?? []) queueMicrotask(() => handler(payload));
    },
    async close() {
      if (closed) return;
      closed = true;
      await free();
      await writer.close();
      db.close();
    },
  };
}

// ----------------------------------------------------------------------------------------- PostgreSQL
/** The advisory lock every transaction takes (serializes write transactions across every node). */
const TRANSACTION_LOCK = 0x5ea1ca;
const INT8_OID = 20;

/** `?` placeholders to `$1, $2, ...` (outside quoted strings and identifiers). */
export function numberPlaceholders(sql: string): string {
  let out = "";
  let n = 0;
  let quote: string | null = null;
  for (const ch of sql) {
    if (quote) {
      if (ch === quote) quote = null;
      out += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      out += ch;
    } else if (ch === "?") {
      out += `$${++n}`;
    } else {
      out += ch;
    }
  }
  return out;
}

function pgValues(params: readonly SqlValue[]): unknown[] {
  return params.map((p) => (p instanceof Uint8Array && !Buffer.isBuffer(p) ? Buffer.from(p.buffer, p.byteOffset, p.byteLength) : p));
}

async function openPostgres(url: string): Promise<Store> {
  // Loaded only when asked for (require: bundles keep `pg` external and resolve it at run time).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pg = require("pg") as typeof PgTypes;
  const { Pool, Client } = pg;
  const types = {
    getTypeParser: (oid: number, format?: "text" | "binary") =>
      oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as "text"),
  };
  const pool = new Pool({ connectionString: url, max: 10, types } as PgTypes.PoolConfig);
  // An idle pooled connection that fails (the server restarted) must not crash the node.
  pool.on("error", () => undefined);
  const texts = new Map<string, string>();
  const text = (sql: string): string => {
    let t = texts.get(sql);
    if (t === undefined) {
      t = numberPlaceholders(sql);
      if (texts.size < 512) texts.set(sql, t);
    }
    return t;
  };
  const on = (q: { query: PgTypes.Pool["query"] } | PgTypes.PoolClient): Sql => ({
    get: async <T>(sql: string, params: readonly SqlValue[] = []) => ((await q.query(text(sql), pgValues(params))).rows[0] as T | undefined),
    all: async <T>(sql: string, params: readonly SqlValue[] = []) => (await q.query(text(sql), pgValues(params))).rows as T[],
    run: async (sql: string, params: readonly SqlValue[] = []) => (await q.query(text(sql), pgValues(params))).rowCount ?? 0,
  });
  const direct = on(pool);
  await migratePostgres(pool);

  // LISTEN needs one connection of its own, held open (one per node: made once, even when asked twice at once).
  let listener: Promise<PgTypes.Client> | null = null;
  const handlers = new Map<string, Set<(payload: string) => void>>();
  let closed = false;
  const listenerClient = (): Promise<PgTypes.Client> => (listener ??= (async () => {
    const client = new Client({ connectionString: url, types } as PgTypes.ClientConfig);
    client.on("error", () => undefined);
    client.on("notification", (msg) => {
      for (const handler of handlers.get(msg.channel) ?? []) handler(msg.payload ?? "");
    });
    await client.connect();
    return client;
  })());
  const batcher = groupCommit(pool, text);
  return {
    dialect: "postgres",
    sqlite: null,
    ...direct,
    async transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query("BEGIN");
        await client.query("SELECT pg_advisory_xact_lock($1)", [TRANSACTION_LOCK]);
        const result = await fn(on(client));
        await client.query("COMMIT");
        return result;
      } catch (error) {
        // A connection that cannot even roll back is dropped from the pool.
        await client.query("ROLLBACK").catch((e: Error) => (broken = e));
        throw error;
      } finally {
        client.release(broken);
      }
    },
    write: (sql, params) => batcher.run(sql, params),
    exec: async (script) => {
      await pool.query(script);
    },
    pendingWrites: () => batcher.pending(),
    async listen(channel, handler) {
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(channel)) throw new Error(`bad channel name '${channel}'`);
      if (closed) return;
      try {
        const client = await listenerClient();
        if (!handlers.has(channel)) {
          handlers.set(channel, new Set([handler]));
          await client.query(`LISTEN ${channel}`);
        } else {
          handlers.get(channel)!.add(handler);
        }
      } catch (error) {
        if (!closed) throw error; // closed meanwhile: nothing to listen for any more
      }
    },
    async notify(channel, payload) {
      await pool.query("SELECT pg_notify($1, $2)", [channel, payload]);
    },
    async close() {
      if (closed) return;
      closed = true;
      await batcher.close();
      if (listener) await listener.then((c) => c.end()).catch(() => undefined);
      await pool.end();
    },
  };
}

/**
 * Group commit for PostgreSQL, as the SQLite writer thread does it: writes posted while a batch commits wait
 * and go together as the next batch — one transaction on one pooled connection, each write in its own
 * savepoint (one failing write fails only its own promise), one commit (one WAL flush) for the lot. A write's
 * promise resolves once its transaction is committed.
 */
function groupCommit(pool: PgTypes.Pool, text: (sql: string) => string) {
  interface Item { sql: string; params: readonly SqlValue[]; resolve: (n: number) => void; reject: (e: Error) => void }
  let queue: Item[] = [];
  let inFlight: Promise<void> | null = null;
  let scheduled = false;
  let closing = false;
  const commit = async (batch: Item[]): Promise<void> => {
    const outcome: (number | Error)[] = [];
    let client: PgTypes.PoolClient | undefined;
    let broken: Error | undefined;
    try {
      client = await pool.connect();
      if (batch.length === 1) {
        outcome.push((await client.query(text(batch[0].sql), pgValues(batch[0].params))).rowCount ?? 0);
      } else {
        await client.query("BEGIN");
        for (const w of batch) {
          await client.query("SAVEPOINT w");
          try {
            outcome.push((await client.query(text(w.sql), pgValues(w.params))).rowCount ?? 0);
            await client.query("RELEASE SAVEPOINT w");
          } catch (error) {
            outcome.push(error as Error);
            await client.query("ROLLBACK TO SAVEPOINT w");
          }
        }
        await client.query("COMMIT");
      }
    } catch (error) {
      // The batch as a whole failed (connection, commit): every write in it fails.
      if (client && batch.length > 1) await client.query("ROLLBACK").catch((e: Error) => (broken = e));
      for (let i = 0; i < batch.length; i++) outcome[i] = error as Error;
    } finally {
      client?.release(broken);
    }
    batch.forEach((w, i) => (outcome[i] instanceof Error ? w.reject(outcome[i] as Error) : w.resolve(outcome[i] as number)));
  };
  const send = (): void => {
    scheduled = false;
    if (inFlight || queue.length === 0) return;
    const batch = queue;
    queue = [];
    inFlight = commit(batch).finally(() => {
      inFlight = null;
      send();
    });
  };
  return {
    run(sql: string, params: readonly SqlValue[]): Promise<number> {
      return new Promise((resolve, reject) => {
        if (closing) return reject(new Error("database is closing"));
        queue.push({ sql, params, resolve, reject });
        // The next turn of the event loop: writes of requests handled in this turn share the batch.
        if (!inFlight && !scheduled) {
          scheduled = true;
          setImmediate(send);
        }
      });
    },
    pending: () => queue.length,
    async close(): Promise<void> {
      closing = true;
      while (inFlight || queue.length > 0) {
        if (!inFlight) send();
        await inFlight;
      }
    },
  };
}
