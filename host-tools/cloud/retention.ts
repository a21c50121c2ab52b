/**
 * Deleting clips, atomically and crash-safe, and the sweeper that applies retention (docs/CLOUD-API.md
 * §Deletion and retention).
 *
 * A delete is three steps: (1) in one transaction the clip's row is marked deleted (`deleted_at`, a
 * tombstone) — from then on no listing, download or upload sees it; (2) its bodies are removed from the blob
 * store (`BlobStore.deleteClip`: the complete clip, the upload, any part of it); (3) in one transaction its
 * segment rows and its row are removed. A crash after (1) leaves a tombstone, which the next start (and every
 * sweep) finishes; a crash after (2) likewise. Bodies the database does not know (a crash between storing a
 * head and inserting its row, or between completing a clip and removing its parts, leftovers of interrupted
 * writes, unfinished S3 multipart uploads) are found by listing the store (`removeOrphanBlobs`) and looking
 * each clip id up in `clips`; they are removed once older than a grace period.
 */
import type { Store } from "./store";
import { removeOrphanBlobs, type BlobStore, type ClipState } from "./blobs";

export const DAY_MS = 24 * 3600 * 1000;
/** Retention an account may set, in days. */
export const RETENTION_MAX_DAYS = 3650;

const BATCH = 500;

export interface SweepOptions {
  /** Where the clip bodies are. */
  blobs: BlobStore;
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
  /** Blob-store entries removed that no row accounted for (clips, uploads, leftovers, multipart uploads). */
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

/** Steps 2 and 3 for one tombstoned clip: its bodies, then its rows. */
export async function finishDelete(store: Store, blobs: BlobStore, id: string): Promise<void> {
  await blobs.deleteClip(id);
  await store.transaction(async (tx) => {
    await tx.run("DELETE FROM clip_segments WHERE clip_id = ?", [id]);
    await tx.run("DELETE FROM clips WHERE clip_id = ? AND deleted_at IS NOT NULL", [id]);
  });
}

/** Finishes every tombstoned delete (after a crash, or a failed removal from the store). */
export async function finishTombstoned(store: Store, blobs: BlobStore): Promise<number> {
  const ids = (await store.all<{ clip_id: string }>("SELECT clip_id FROM clips WHERE deleted_at IS NOT NULL")).map((r) => r.clip_id);
  for (const id of ids) await finishDelete(store, blobs, id);
  return ids.length;
}

/** Deletes clips (all three steps): the tombstones are written together, then each is finished. */
export async function deleteClips(store: Store, blobs: BlobStore, ids: string[], now: number): Promise<number> {
  if (ids.length === 0) return 0;
  await tombstoneClips(store, ids, now);
  for (const id of ids) await finishDelete(store, blobs, id);
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
export async function applyRetention(store: Store, blobs: BlobStore, now: number, accountId?: string): Promise<number> {
  let total = 0;
  for (;;) {
    const ids = await expiredClipIds(store, now, accountId);
    total += await deleteClips(store, blobs, ids, now);
    if (ids.length < BATCH) return total;
  }
}

async function staleUploadIds(store: Store, cutoff: number): Promise<string[]> {
  return (await store.all<{ clip_id: string }>(`SELECT clip_id FROM clips WHERE complete = 0 AND deleted_at IS NULL AND created_at <= ? ORDER BY clip_id LIMIT ${BATCH}`, [cutoff])).map((r) => r.clip_id);
}

/**
 * Removes what no row accounts for (blobs.ts `removeOrphanBlobs`): a complete clip with no row; an upload
 * with no row, or of a complete clip (its parts, left by a crash after the clip was assembled); leftovers of
 * interrupted writes (files: `.tmp-*`, `tmp/up-*`); unfinished S3 multipart uploads. Only entries last
 * changed before `cutoff` (so a head another node is storing right now, before its row exists, is never
 * taken for an orphan). Anything else in the store is left alone. Returns how many entries were removed.
 */
export async function removeOrphans(store: Store, blobs: BlobStore, cutoff: number): Promise<number> {
  const stateOf = async (id: string): Promise<ClipState> => {
    const row = await store.get<{ complete: number }>("SELECT complete FROM clips WHERE clip_id = ?", [id]);
    return row === undefined ? null : row.complete === 1 ? "complete" : "uploading";
  };
  const { removed } = await removeOrphanBlobs(blobs, stateOf, cutoff);
  return removed.clip + removed.upload + removed.temp + removed.multipart;
}

/** One sweep: finish tombstones, delete expired clips and stale uploads, remove orphans. */
export async function sweep(store: Store, options: SweepOptions): Promise<SweepResult> {
  const finished = await finishTombstoned(store, options.blobs);
  const expired = await applyRetention(store, options.blobs, options.now);
  let stale = 0;
  for (;;) {
    const ids = await staleUploadIds(store, options.now - options.staleUploadMs);
    stale += await deleteClips(store, options.blobs, ids, options.now);
    if (ids.length < BATCH) break;
  }
  const orphans = await removeOrphans(store, options.blobs, options.now - options.orphanGraceMs);
  return { finished, expired, stale, orphans };
}
