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
import type { Db } from "./db";
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
export function tombstoneClips(db: Db, ids: string[], now: number): number {
  const mark = db.prepare("UPDATE clips SET deleted_at = ? WHERE clip_id = ? AND deleted_at IS NULL");
  return db.transaction(() => ids.reduce((n, id) => n + mark.run(now, id).changes, 0))();
}

/** Steps 2 and 3 for one tombstoned clip: its files, then its rows. */
export function finishDelete(db: Db, dataDir: string, id: string): void {
  const clips = path.join(dataDir, "clips");
  fs.rmSync(path.join(clips, `${id}.sealed`), { force: true });
  fs.rmSync(path.join(clips, id), { recursive: true, force: true });
  fsyncDir(clips);
  db.transaction(() => {
    db.prepare("DELETE FROM clip_segments WHERE clip_id = ?").run(id);
    db.prepare("DELETE FROM clips WHERE clip_id = ? AND deleted_at IS NOT NULL").run(id);
  })();
}

/** Finishes every tombstoned delete (after a crash, or a failed file removal). */
export function finishTombstoned(db: Db, dataDir: string): number {
  const ids = (db.prepare("SELECT clip_id FROM clips WHERE deleted_at IS NOT NULL").all() as { clip_id: string }[]).map((r) => r.clip_id);
  for (const id of ids) finishDelete(db, dataDir, id);
  return ids.length;
}

/** Deletes clips (all three steps): the tombstones are written together, then each is finished. */
export function deleteClips(db: Db, dataDir: string, ids: string[], now: number): number {
  if (ids.length === 0) return 0;
  tombstoneClips(db, ids, now);
  for (const id of ids) finishDelete(db, dataDir, id);
  return ids.length;
}

/** Clips whose account has a retention and whose upload began (head received) more than that many days ago. */
export function expiredClipIds(db: Db, now: number, accountId?: string): string[] {
  const rows = db.prepare(
    `SELECT c.clip_id FROM clips c JOIN accounts a ON a.id = c.account_id
     WHERE a.retention_days IS NOT NULL AND c.deleted_at IS NULL AND c.created_at <= ? - a.retention_days * ${DAY_MS}
     ${accountId === undefined ? "" : "AND a.id = ?"} LIMIT ${BATCH}`,
  ).all(...(accountId === undefined ? [now] : [now, accountId])) as { clip_id: string }[];
  return rows.map((r) => r.clip_id);
}

/** Applies one account's retention now (after the owner shortened it). Returns how many clips were deleted. */
export function applyRetention(db: Db, dataDir: string, now: number, accountId?: string): number {
  let total = 0;
  for (;;) {
    const ids = expiredClipIds(db, now, accountId);
    total += deleteClips(db, dataDir, ids, now);
    if (ids.length < BATCH) return total;
  }
}

function staleUploadIds(db: Db, cutoff: number): string[] {
  return (db.prepare(`SELECT clip_id FROM clips WHERE complete = 0 AND deleted_at IS NULL AND created_at <= ? LIMIT ${BATCH}`).all(cutoff) as { clip_id: string }[]).map((r) => r.clip_id);
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
 * Only entries last modified before `cutoff`. Anything else in the folder is left alone.
 */
export function removeOrphans(db: Db, dataDir: string, cutoff: number): number {
  const clipsDir = path.join(dataDir, "clips");
  const row = db.prepare("SELECT complete FROM clips WHERE clip_id = ?");
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
      if (!row.get(file[1])) remove(p);
    } else if (CLIP_DIR.test(name)) {
      const r = row.get(name) as { complete: number } | undefined;
      if (!r || r.complete === 1) remove(p);
      else if (fs.lstatSync(p).isDirectory()) for (const inner of fs.readdirSync(p)) if (inner.startsWith(".tmp-")) remove(path.join(p, inner));
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
export function sweep(db: Db, options: SweepOptions): SweepResult {
  const finished = finishTombstoned(db, options.dataDir);
  const expired = applyRetention(db, options.dataDir, options.now);
  let stale = 0;
  for (;;) {
    const ids = staleUploadIds(db, options.now - options.staleUploadMs);
    stale += deleteClips(db, options.dataDir, ids, options.now);
    if (ids.length < BATCH) break;
  }
  const orphans = removeOrphans(db, options.dataDir, options.now - options.orphanGraceMs);
  return { finished, expired, stale, orphans };
}
