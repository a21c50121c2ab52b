/**
 * Deleting clips, atomically and crash-safe, and the sweeper that applies retention (docs/CLOUD-API.md
 * §Deletion and retention).
 *
 * A delete is three steps: (1) in one transaction the clip's row is marked deleted (`deleted_at`, a
 * tombstone) — from then on no listing, download or upload sees it; (2) its files are removed
 * (`clips/<id>.sealed`, or an upload's `clips/<id>/clip`) and the directory fsynced; (3) in one transaction its segment rows and
 * its row are removed. A crash after (1) leaves a tombstone, which the next start (and every sweep) finishes;
 * a crash after (2) likewise. Files the database does not know (a crash between writing a file and inserting
 * its row, or between completing a clip and removing its parts) are found by listing `clips/` and `tmp/` and
 * looking each name up in `clips`; they are removed once older than a grace period.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Store } from "./store";
import { fsyncDir } from "./files";

export const DAY_MS = 24 * 3600 * 1000;
/** Retention an account may set, in days. */
export const RETENTION_MAX_DAYS = 3650;

const CLIP_FILE = /^([0-9a-f]{32})\.sealed$/;
const CLIP_DIR = /^[0-9a-f]{32}$/;
const BATCH = 500;

export interface SweepOptions {
  dataDir: string;
  /** Now, ms since the epoch (the cloud's clock; injected in tests). */
  now: number;
  /** Files with no row are removed only when last modified longer ago than this. */
  orphanGraceMs: number;
  /** Uploads (clips without a footer) whose head arrived longer ago than this are deleted. */
  staleUploadMs: number;
}

export interface SweepResult {
  /** Tombstoned deletes finished (their own, or left by an earlier crash). */
  finished: number;
  /** Clips past their account's retention. */
  expired: number;
  /** Uploads never completed within staleUploadMs. */
  stale: number;
  /** Files and folders removed that no row accounted for. */
  orphans: number;
}

/** Step 1: marks the clips deleted, in one transaction. Returns how many were newly marked. */
export async function tombstoneClips(store: Store, ids: string[], now: number): Promise<number> {
  return store.transaction(async (tx) => {
    let n = 0;
    for (const id of ids) n += await tx.run("UPDATE clips SET deleted_at = ? WHERE clip_id = ? AND deleted_at IS NULL", [now, id]);
    return n;
  });
}

/** Steps 2 and 3 for one tombstoned clip: its files, then its rows. */
export async function finishDelete(store: Store, dataDir: string, id: string): Promise<void> {
  const clips = path.join(dataDir, "clips");
  fs.rmSync(path.join(clips, `${id}.sealed`), { force: true });
  fs.rmSync(path.join(clips, id), { recursive: true, force: true });
  fsyncDir(clips);
  await store.transaction(async (tx) => {
    await tx.run("DELETE FROM clip_segments WHERE clip_id = ?", [id]);
    await tx.run("DELETE FROM clips WHERE clip_id = ? AND deleted_at IS NOT NULL", [id]);
  });
}

/** Finishes every tombstoned delete (after a crash, or a failed file removal). */
export async function finishTombstoned(store: Store, dataDir: string): Promise<number> {
  const ids = (await store.all<{ clip_id: string }>("SELECT clip_id FROM clips WHERE deleted_at IS NOT NULL")).map((r) => r.clip_id);
  for (const id of ids) await finishDelete(store, dataDir, id);
  return ids.length;
}

/** Deletes clips (all three steps): the tombstones are written together, then each is finished. */
export async function deleteClips(store: Store, dataDir: string, ids: string[], now: number): Promise<number> {
  if (ids.length === 0) return 0;
  await tombstoneClips(store, ids, now);
  for (const id of ids) await finishDelete(store, dataDir, id);
  return ids.length;
}

/** Clips whose account has a retention and whose upload began (head received) more than that many days ago. */
export async function expiredClipIds(store: Store, now: number, accountId?: string): Promise<string[]> {
  // CAST: retention_days * DAY_MS exceeds a 32-bit integer (PostgreSQL would otherwise compute in INTEGER).
  const rows = await store.all<{ clip_id: string }>(
    `SELECT c.clip_id FROM clips c JOIN accounts a ON a.id = c.account_id
     WHERE a.retention_days IS NOT NULL AND c.deleted_at IS NULL AND c.created_at <= ? - a.retention_days * CAST(${DAY_MS} AS BIGINT)
     ${accountId === undefined ? "" : "AND a.id = ?"} ORDER BY c.clip_id LIMIT ${BATCH}`,
    accountId === undefined ? [now] : [now, accountId]);
  return rows.map((r) => r.clip_id);
}

/** Applies one account's retention now (after the owner shortened it). Returns how many clips were deleted. */
export async function applyRetention(store: Store, dataDir: string, now: number, accountId?: string): Promise<number> {
  let total = 0;
  for (;;) {
    const ids = await expiredClipIds(store, now, accountId);
    total += await deleteClips(store, dataDir, ids, now);
    if (ids.length < BATCH) return total;
  }
}

async function staleUploadIds(store: Store, cutoff: number): Promise<string[]> {
  return (await store.all<{ clip_id: string }>(`SELECT clip_id FROM clips WHERE complete = 0 AND deleted_at IS NULL AND created_at <= ? ORDER BY clip_id LIMIT ${BATCH}`, [cutoff])).map((r) => r.clip_id);
}

function olderThan(file: string, cutoff: number): boolean {
  try {
    return fs.lstatSync(file).mtimeMs <= cutoff;
  } catch {
    return false;
  }
}

/**
 * Removes what no row accounts for: `clips/<id>.sealed` and `clips/<id>/` with no clip row; `clips/<id>/`
 * of a complete clip (its parts, left by a crash after the clip was assembled); `.tmp-*` files of
 * interrupted atomic writes (in `clips/` and in upload folders); `tmp/up-*` of interrupted segment uploads.
 * Only entries last modified before `cutoff` (so a file another node is writing right now, before its row
 * exists, is never taken for an orphan). Anything else in the folder is left alone.
 */
export async function removeOrphans(store: Store, dataDir: string, cutoff: number): Promise<number> {
  const clipsDir = path.join(dataDir, "clips");
  const row = (id: string) => store.get<{ complete: number }>("SELECT complete FROM clips WHERE clip_id = ?", [id]);
  let removed = 0;
  const remove = (p: string) => {
    if (!olderThan(p, cutoff)) return;
    fs.rmSync(p, { recursive: true, force: true });
    removed++;
  };
  for (const name of fs.readdirSync(clipsDir)) {
    const p = path.join(clipsDir, name);
    const file = CLIP_FILE.exec(name);
    if (file) {
      if (olderThan(p, cutoff) && !(await row(file[1]))) remove(p);
    } else if (CLIP_DIR.test(name)) {
      const r = await row(name);
      if (!r || r.complete === 1) remove(p);
      else if (fs.existsSync(p) && fs.lstatSync(p).isDirectory()) for (const inner of fs.readdirSync(p)) if (inner.startsWith(".tmp-")) remove(path.join(p, inner));
    } else if (name.startsWith(".tmp-")) {
      remove(p);
    }
  }
  if (removed > 0) fsyncDir(clipsDir);
  const tmpDir = path.join(dataDir, "tmp");
  if (fs.existsSync(tmpDir)) for (const name of fs.readdirSync(tmpDir)) if (name.startsWith("up-")) remove(path.join(tmpDir, name));
  return removed;
}

/** One sweep: finish tombstones, delete expired clips and stale uploads, remove orphans. */
export async function sweep(store: Store, options: SweepOptions): Promise<SweepResult> {
  const finished = await finishTombstoned(store, options.dataDir);
  const expired = await applyRetention(store, options.dataDir, options.now);
  let stale = 0;
  for (;;) {
    const ids = await staleUploadIds(store, options.now - options.staleUploadMs);
    stale += await deleteClips(store, options.dataDir, ids, options.now);
    if (ids.length < BATCH) break;
  }
  const orphans = await removeOrphans(store, options.dataDir, options.now - options.orphanGraceMs);
  return { finished, expired, stale, orphans };
}
