/**
 * Group commit off the event loop: the hot writes of camera uploads (the replay nonce, the segment row, the
 * clip row of a head, the completed clip of a footer) go to a worker thread that holds its own connection to
 * the same SQLite database (WAL, `synchronous = FULL`, foreign keys on, as db.ts sets on the main one).
 *
 * Writes posted while the worker is committing wait and go together as the next batch: one transaction, each
 * write in its own savepoint (one failing write fails only its own promise), one WAL fsync for the lot. A
 * write's promise resolves only once its transaction is committed, i.e. durable; a request that must not
 * answer before its row is on disk awaits it. The event loop never waits for that fsync (before, the COMMIT
 * and its fsync ran on it and were the largest share of its time under many cameras).
 *
 * The worker's source is plain JavaScript evaluated in the worker (no build step, works under jest, the CLI
 * bundle and the bench bundle alike); better-sqlite3 is resolved by the main thread and passed in.
 */
import { Worker } from "node:worker_threads";

export interface DbWriter {
  /** Runs `sql` with `params` in the next batch; resolves with the row count changed once committed. */
  run(sql: string, params: readonly (string | number | null)[]): Promise<number>;
  /** Writes waiting or in the batch being committed. */
  pending(): number;
  /** Lets the batch in flight finish, refuses the rest, closes the worker's connection. */
  close(): Promise<void>;
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma("journal_mode = WAL");
db.pragma("synchronous = FULL");
db.pragma("foreign_keys = ON");
db.pragma("busy_timeout = 10000");
const statements = new Map();
const prepare = (sql) => {
  let s = statements.get(sql);
  if (!s) { s = db.prepare(sql); if (statements.size < 64) statements.set(sql, s); }
  return s;
};
const errorOf = (e) => ({ message: String(e && e.message || e), code: e && typeof e.code === "string" ? e.code : undefined, name: e && e.name || "Error" });
parentPort.on("message", (msg) => {
  if (msg.close) { db.close(); parentPort.postMessage({ closed: true }); return; }
  const outcome = new Array(msg.batch.length);
  try {
    db.transaction(() => {
      msg.batch.forEach((w, i) => {
        try {
          outcome[i] = { changes: db.transaction(() => prepare(w[0]).run(...w[1]))().changes };
        } catch (e) {
          outcome[i] = { error: errorOf(e) };
        }
      });
    })();
  } catch (e) {
    const error = errorOf(e);
    for (let i = 0; i < outcome.length; i++) outcome[i] = { error };
  }
  parentPort.postMessage({ outcome });
});
`;

interface Item { sql: string; params: readonly (string | number | null)[]; resolve: (changes: number) => void; reject: (error: Error) => void }

export function startDbWriter(file: string): DbWriter {
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, driver: require.resolve("better-sqlite3") } });
  worker.unref();
  let queue: Item[] = [];
  let inFlight: Item[] | null = null;
  let scheduled = false;
  let closing: Promise<void> | null = null;
  let dead: Error | null = null;

  const send = () => {
    scheduled = false;
    if (inFlight || queue.length === 0 || dead) return;
    inFlight = queue;
    queue = [];
    worker.ref(); // a batch in flight keeps the process alive until it is durable
    worker.postMessage({ batch: inFlight.map((w) => [w.sql, w.params]) });
  };
  const fail = (error: Error) => {
    dead = error;
    for (const w of [...(inFlight ?? []), ...queue]) w.reject(error);
    inFlight = null;
    queue = [];
  };
  worker.on("message", (msg: { outcome?: ({ changes: number } | { error: { message: string; code?: string; name: string } })[] }) => {
    if (!msg.outcome || !inFlight) return;
    const batch = inFlight;
    inFlight = null;
    worker.unref();
    msg.outcome.forEach((o, i) => {
      if ("error" in o) batch[i].reject(Object.assign(new Error(o.error.message), { name: o.error.name, code: o.error.code }));
      else batch[i].resolve(o.changes);
    });
    if (closing) return;
    send();
  });
  worker.on("error", (error) => fail(error));
  worker.on("exit", () => fail(new Error("database writer stopped")));

  return {
    run(sql, params) {
      return new Promise((resolve, reject) => {
        if (dead || closing) return reject(dead ?? new Error("database is closing"));
        queue.push({ sql, params, resolve, reject });
        // The next turn of the event loop: writes of requests handled in this turn share the batch.
        if (!inFlight && !scheduled) {
          scheduled = true;
          setImmediate(send);
        }
      });
    },
    pending: () => queue.length + (inFlight?.length ?? 0),
    close() {
      if (closing) return closing;
      closing = (async () => {
        for (const w of queue) w.reject(new Error("database is closing"));
        queue = [];
        while (inFlight && !dead) await new Promise<void>((resolve) => worker.once("message", () => resolve()));
        if (dead) return;
        worker.ref();
        await new Promise<void>((resolve) => {
          worker.once("message", () => resolve());
          worker.once("exit", () => resolve());
          worker.postMessage({ close: true });
        });
        await worker.terminate();
      })();
      return closing;
    },
  };
}
