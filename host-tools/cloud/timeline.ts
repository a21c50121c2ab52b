/**
 * The cloud as an OPT-IN snapshot holder (docs/PROTOCOL.md §14.14, docs/CLOUD-API.md "Timeline and preview
 * alerts"):
 *
 *   GET /v1/cloud/invite      the cloud's own public key as an invite (SEALCAM-INVITE:1:...), its fingerprint and
 *                             mailbox address; no authentication (it is public)
 *   GET /v1/timeline          (phone session) the account's events, newest first: time, camera, clip id, and the
 *                             snapshot JPEG when the cloud can open it; otherwise no image and why not
 *   GET /v1/alerts            (phone session) Server-Sent Events: one `snapshot` event per snapshot upload that
 *                             completes, carrying the decrypted JPEG when the cloud can open it
 *
 * What the cloud can open is decided by the keys it holds, nothing else: the owner's phone shares a stream key
 * scoped to the `snapshot` stream only (holder "cloud") through the mailbox, addressed to the cloud key
 * (cloud-key.ts). The cloud takes envelopes addressed to it out of the mailbox (as a viewer deletes what it
 * accepted, so they never count against the mailbox's 64-envelope limit) into its own table `cloud_grants`,
 * still sealed to the cloud key: that is the cloud's grant at rest.
 * On use, the cloud opens it exactly as a viewer does (share-envelope.ts openShareEnvelope: the account's
 * signature, the certificate chain to the account root, the key matching the certificate) and then uses the
 * key only if its certified scope names the `snapshot` stream and nothing else, with holder "cloud"; an
 * envelope granting more is never used (the phone refuses to make one, and cameras never wrap video to a
 * "cloud" key). A snapshot is opened only after its head verifies (camera certificate chaining to the
 * account root) and only if its signed header is a snapshot (`of`); the footer signature is checked by the
 * opener. Without a grant there is no key, and the timeline says so for every event ("no-grant").
 *
 * Decrypted snapshots are kept in memory only (a bounded cache); nothing decrypted is written to disk or logs.
 */
import type * as http from "node:http";
import { fromHex, toBase64Url, toHex } from "../../firmware/core/bytes";
import { ALG_HPKE_P256_STREAM, CONTENT_TYPE_SNAPSHOT } from "../../firmware/core/clip/constants";
import { parseClipHead } from "../../firmware/core/clip/head";
import { ClipOpener, streamKeyUnwrapper } from "../../firmware/core/clip/opener";
import { isSealcamError, SealcamError } from "../../firmware/core/errors";
import { verifyRoster } from "../../firmware/core/roster";
import { scopeCovers, type StreamScope } from "../../firmware/core/stream-scope";
import { parseCertificate } from "../../firmware/core/x509";
import type { P256PrivateKey } from "../../firmware/platform/crypto";
import { openShareEnvelope, parseShareEnvelope } from "../phone/share-envelope";
import { cameraIdentity, verifyClipHead } from "../phone/verify-head";
import { NodeCrypto } from "../platform/node-crypto";
import { loadCloudKey } from "./cloud-key";
import type { Store } from "./store";
import type { BlobStore } from "./blobs";
import { httpFail, sendJson } from "./http-util";
import type { MailboxCtx } from "./mailbox";

/** A snapshot larger than this is not opened (the camera's are a few KiB; FORMAT §3.1). */
export const SNAPSHOT_MAX_BYTES = 1024 * 1024 + 4096;
/** Events per timeline answer: `?limit=` 1..200, default 50. */
export const TIMELINE_DEFAULT_LIMIT = 50;
export const TIMELINE_MAX_LIMIT = 200;
/** Open alert streams per account; more is E_RATE_LIMIT. */
export const ALERT_STREAMS_PER_ACCOUNT = 8;
/** Alert streams send a comment line this often so proxies keep them open. */
export const ALERT_HEARTBEAT_MS = 15_000;

/** Why an event has no image. */
export type NoImageReason = "no-grant" | "not-in-scope" | "revoked" | "no-snapshot" | "unverified" | "refused-grant" | "not-opened";

export interface TimelineEvent {
  /** Capture time (ms), from the verified snapshot header (or the clip's start time when there is no snapshot). */
  time: number;
  cameraId: string;
  /** The clip this event is about: the snapshot's signed `of`, or the clip itself. */
  clipId: string;
  snapshotId: string | null;
  image: { contentType: "image/jpeg"; base64: string } | null;
  /** null when the image is there; otherwise why the cloud shows none. */
  reason: NoImageReason | null;
  detail: string | null;
}

export interface TimelineHooks<C extends MailboxCtx> {
  store: Store;
  route: (method: string, pattern: string, handler: (ctx: C & { query: URLSearchParams }) => Promise<void>) => void;
  session: (ctx: C) => Promise<{ accountId: string; phoneKeyId: string | null }>;
  noBody: (ctx: C) => Promise<void>;
  now: () => number;
  /** Where clip bodies are (blobs.ts). */
  blobs: BlobStore;
  /** The resolved data directory and the options the cloud started with (`cloudKeyFile`: --key-file). */
  dataDir: string;
  options: { dataDir: string; cloudKeyFile?: string };
}

export interface Timeline {
  /** Called when a clip upload completes (its footer stored): alerts for snapshots go out from here. */
  completed(clipId: string): void;
  /** Subscribers currently connected (for tests and stats). */
  subscribers(): number;
}

interface Grant {
  shareId: string;
  keyId: string;
  key: P256PrivateKey;
  scope: StreamScope;
}

interface AccountView {
  accountId: string;
  root: ReturnType<typeof parseCertificate>;
  cameraCertificates: { certificate: string }[];
  grants: Grant[];
  refusedGrants: string[];
  /** Stream key ids of the current verified roster (null when it does not verify). */
  rosterKeyIds: Set<string> | null;
}

type Row = { clip_id: string; account_id: string; camera_id: string; start_time: number; content_type: string; size: number | null };

/** Store channel (LISTEN/NOTIFY with PostgreSQL) on which a completed clip's id is announced to every node. */
const COMPLETED_CHANNEL = "sealcam_clip_completed";

export function registerTimeline<C extends MailboxCtx>(h: TimelineHooks<C>): Timeline {
  const { store, route } = h;
  const crypto = new NodeCrypto();
  const cloudKey = loadCloudKey(crypto, h.dataDir, h.options.cloudKeyFile);
  /** Opened grants by mailbox message id (an envelope never changes); refused ones map to their reason. */
  const opened = new Map<string, Grant | string>();
  /** Opened snapshots by id: a snapshot's plaintext never changes once its footer verified. Bounded. */
  const images = new Map<string, { jpeg: Uint8Array; time: number; cameraId: string; of: string }>();
  const streams = new Map<string, Set<http.ServerResponse>>();
  // The cloud_grants table is created by migration 3 (migrations.ts).

  /** Moves envelopes addressed to the cloud's key from the mailbox into cloud_grants (one transaction). */
  const acceptGrants = (): Promise<void> => store.transaction(async (tx) => {
    await tx.run("INSERT INTO cloud_grants (id, account_id, share_id, envelope, received_at) SELECT id, account_id, share_id, envelope, created_at FROM mailbox WHERE to_hash = ? ON CONFLICT DO NOTHING", [cloudKey.address]);
    await tx.run("DELETE FROM mailbox WHERE to_hash = ?", [cloudKey.address]);
  });
  void acceptGrants().catch(() => undefined); // done again before every use

  async function grantsOf(accountId: string, rootDer: Uint8Array): Promise<{ grants: Grant[]; refused: string[] }> {
    await acceptGrants();
    const rows = (await store.all("SELECT id, envelope FROM cloud_grants WHERE account_id = ? ORDER BY received_at, id", [accountId])) as { id: string; envelope: Buffer }[];
    const grants: Grant[] = [];
    const refused: string[] = [];
    for (const r of rows) {
      let g = opened.get(r.id);
      if (g === undefined) {
        try {
          const envelope = parseShareEnvelope(new Uint8Array(r.envelope));
          if (!Buffer.from(envelope.root).equals(Buffer.from(rootDer))) throw new SealcamError("E_FOREIGN_ACCOUNT", "the envelope carries another account root");
          const { key, stream } = openShareEnvelope(crypto, envelope, cloudKey.address, cloudKey.key);
          const scope = stream.streamScope!;
          if (scope.holder !== "cloud" || scope.streams.length !== 1 || scope.streams[0] !== "snapshot") {
            crypto.p256Destroy(key);
            throw new SealcamError("E_PERMISSION", "the grant names more than the snapshot stream (or is not for the cloud): never used");
          }
          g = { shareId: envelope.facts.shareId, keyId: toHex(crypto.sha256(stream.spki)), key, scope };
        } catch (error) {
          if (!isSealcamError(error)) throw error;
          g = `${error.code}: ${error.message}`;
        }
        opened.set(r.id, g);
      }
      if (typeof g === "string") refused.push(g);
      else grants.push(g);
    }
    return { grants, refused };
  }

  async function account(accountId: string): Promise<AccountView | null> {
    const e2ee = (await store.get("SELECT root_cert, roster FROM e2ee WHERE account_id = ?", [accountId])) as { root_cert: Buffer; roster: Buffer | null } | undefined;
    if (!e2ee) return null;
    const rootDer = new Uint8Array(e2ee.root_cert);
    const certs = (await store.all("SELECT cert FROM camera_certs WHERE account_id = ? ORDER BY registered_at", [accountId])) as { cert: Buffer }[];
    let rosterKeyIds: Set<string> | null = null;
    try {
      if (e2ee.roster) rosterKeyIds = new Set(verifyRoster(crypto, new Uint8Array(e2ee.roster), rootDer, { minVersion: 0, accountId }).streamKeys.map((k) => toHex(k.keyId)));
    } catch {
      rosterKeyIds = null;
    }
    const { grants, refused } = await grantsOf(accountId, rootDer);
    return {
      accountId, root: parseCertificate(rootDer), cameraCertificates: certs.map((c) => ({ certificate: toBase64Url(c.cert) })),
      grants, refusedGrants: refused, rosterKeyIds,
    };
  }

  function noImage(base: Omit<TimelineEvent, "image" | "reason" | "detail">, reason: NoImageReason, detail: string): TimelineEvent {
    return { ...base, image: null, reason, detail };
  }

  /** A complete snapshot object's bytes (small: the caller checked its size), or null if it is gone. */
  async function readClip(clipId: string): Promise<Uint8Array | null> {
    const clip = await h.blobs.openClip(clipId);
    if (!clip) return null;
    const chunks: Buffer[] = [];
    for await (const chunk of clip.stream as AsyncIterable<Buffer>) chunks.push(chunk);
    return new Uint8Array(Buffer.concat(chunks));
  }

  /** One snapshot object as an event: verified, then opened if a held grant is among its recipients. */
  async function snapshotEvent(row: Row, view: AccountView): Promise<TimelineEvent | null> {
    const cached = images.get(row.clip_id);
    if (cached) {
      return { time: cached.time, cameraId: cached.cameraId, clipId: cached.of, snapshotId: row.clip_id, image: { contentType: "image/jpeg", base64: Buffer.from(cached.jpeg).toString("base64") }, reason: null, detail: null };
    }
    const unverified = { time: row.start_time, cameraId: row.camera_id, clipId: row.clip_id, snapshotId: row.clip_id };
    if (row.size === null || row.size > SNAPSHOT_MAX_BYTES) return noImage(unverified, "unverified", "E_LIMIT: the stored object is too large for a snapshot");
    const sealed = await readClip(row.clip_id);
    if (sealed === null) return null; // deleted meanwhile
    let head;
    try {
      const parsed = parseClipHead(sealed);
      head = verifyClipHead(crypto, sealed.subarray(0, parsed.headLength), view.root, view.cameraCertificates);
      if (head.clipId !== row.clip_id) throw new SealcamError("E_FORMAT", "the stored object is another clip than its id");
    } catch (error) {
      if (!isSealcamError(error)) throw error;
      return noImage(unverified, "unverified", `${error.code}: ${error.message}`);
    }
    if (!head.header.snapshotOf) return null; // an image/jpeg clip that is not a snapshot: not an event
    const base = { time: head.startTime, cameraId: head.cameraId, clipId: toHex(head.header.snapshotOf), snapshotId: row.clip_id };
    const held = new Map(view.grants.map((g) => [g.keyId, g]));
    const entry = head.header.recipients.find((r) => r.alg === ALG_HPKE_P256_STREAM && held.has(toHex(r.kid)));
    if (!entry) {
      const query = { cameraId: head.cameraId, stream: "snapshot" as const, captureTime: head.startTime };
      if (view.grants.length === 0) {
        return noImage(base, view.refusedGrants.length > 0 ? "refused-grant" : "no-grant", view.refusedGrants.length > 0
          ? `the cloud refused every grant it was sent (${view.refusedGrants[0]})`
          : "the owner has not granted the cloud a snapshot key ('sealcam phone share --to cloud --stream snapshot'): the cloud cannot open this snapshot");
      }
      if (view.rosterKeyIds && view.grants.some((g) => scopeCovers(g.scope, query) && !view.rosterKeyIds!.has(g.keyId))) {
        return noImage(base, "revoked", "the cloud's snapshot key was revoked: the camera no longer wraps snapshots to it");
      }
      return noImage(base, "not-in-scope", "this snapshot is not wrapped to the cloud's key (captured before the grant, or a camera or time outside its scope)");
    }
    const grant = held.get(toHex(entry.kid))!;
    try {
      const opener = new ClipOpener({
        crypto, unwrappers: [streamKeyUnwrapper(crypto, fromHex(grant.keyId), grant.key)],
        camera: (header) => cameraIdentity(crypto, header, view.root, view.cameraCertificates),
      });
      const parts = opener.push(sealed).map((p) => Uint8Array.from(p));
      const last = opener.end();
      const jpeg = new Uint8Array(Buffer.concat([...parts, last.plaintext]));
      if (last.header.contentType !== CONTENT_TYPE_SNAPSHOT || jpeg.length < 4 || jpeg[0] !== 0xff || jpeg[1] !== 0xd8) throw new SealcamError("E_FORMAT", "the snapshot is not a JPEG");
      if (images.size >= 1000) images.delete(images.keys().next().value as string);
      images.set(row.clip_id, { jpeg, time: base.time, cameraId: base.cameraId, of: base.clipId });
      return { ...base, image: { contentType: "image/jpeg", base64: Buffer.from(jpeg).toString("base64") }, reason: null, detail: null };
    } catch (error) {
      if (!isSealcamError(error)) throw error;
      return noImage(base, "not-opened", `${error.code}: ${error.message}`);
    }
  }

  async function timeline(accountId: string, limit: number): Promise<TimelineEvent[]> {
    const view = await account(accountId);
    if (!view) return [];
    const rows = (await store.all("SELECT clip_id, account_id, camera_id, start_time, content_type, size FROM clips WHERE account_id = ? AND complete = 1 AND deleted_at IS NULL ORDER BY start_time DESC, clip_id", [accountId])) as Row[];
    const events: TimelineEvent[] = [];
    const previewed = new Set<string>();
    for (const r of rows) {
      if (r.content_type !== CONTENT_TYPE_SNAPSHOT) continue;
      const e = await snapshotEvent(r, view);
      if (!e) continue;
      previewed.add(e.clipId);
      events.push(e);
    }
    for (const r of rows) {
      if (r.content_type === CONTENT_TYPE_SNAPSHOT || previewed.has(r.clip_id)) continue;
      events.push({ time: r.start_time, cameraId: r.camera_id, clipId: r.clip_id, snapshotId: null, image: null, reason: "no-snapshot", detail: "the camera sealed no snapshot for this clip" });
    }
    events.sort((a, b) => b.time - a.time || (a.clipId < b.clipId ? -1 : 1));
    return events.slice(0, limit);
  }

  route("GET", "/v1/cloud/invite", async (ctx) => {
    await h.noBody(ctx);
    sendJson(ctx.res, 200, { invite: cloudKey.invite, fingerprint: cloudKey.fingerprint, address: cloudKey.address });
  });

  route("GET", "/v1/timeline", async (ctx) => {
    const s = await h.session(ctx);
    await h.noBody(ctx);
    const limitText = ctx.query.get("limit");
    if (limitText !== null && !/^[1-9][0-9]{0,2}$/.test(limitText)) httpFail(400, "E_FORMAT", `limit must be 1..${TIMELINE_MAX_LIMIT}`);
    const limit = limitText === null ? TIMELINE_DEFAULT_LIMIT : Number(limitText);
    if (limit > TIMELINE_MAX_LIMIT) httpFail(400, "E_FORMAT", `limit must be 1..${TIMELINE_MAX_LIMIT}`);
    const view = await account(s.accountId);
    sendJson(ctx.res, 200, {
      cloudKey: { fingerprint: cloudKey.fingerprint },
      grants: view ? view.grants.map((g) => ({ shareId: g.shareId, keyId: g.keyId, active: view.rosterKeyIds?.has(g.keyId) ?? false, scope: { cameras: g.scope.cameras, streams: g.scope.streams, notBefore: g.scope.notBefore, notAfter: g.scope.notAfter } })) : [],
      events: await timeline(s.accountId, limit),
    }, { "cache-control": "no-store" });
  });

  route("GET", "/v1/alerts", async (ctx) => {
    const s = await h.session(ctx);
    await h.noBody(ctx);
    const set = streams.get(s.accountId) ?? new Set<http.ServerResponse>();
    if (set.size >= ALERT_STREAMS_PER_ACCOUNT) httpFail(429, "E_RATE_LIMIT", `at most ${ALERT_STREAMS_PER_ACCOUNT} alert streams per account; close one first`);
    streams.set(s.accountId, set);
    const res = ctx.res;
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", "x-accel-buffering": "no" });
    res.write("event: ready\ndata: {}\n\n");
    set.add(res);
    const beat = setInterval(() => res.write(": keep-alive\n\n"), ALERT_HEARTBEAT_MS);
    beat.unref();
    res.once("close", () => {
      clearInterval(beat);
      set.delete(res);
      if (set.size === 0) streams.delete(s.accountId);
    });
  });

  async function notify(clipId: string): Promise<void> {
    const row = (await store.get("SELECT clip_id, account_id, camera_id, start_time, content_type, size FROM clips WHERE clip_id = ? AND complete = 1 AND deleted_at IS NULL", [clipId])) as Row | undefined;
    await acceptGrants();
    if (!row || row.content_type !== CONTENT_TYPE_SNAPSHOT) return;
    const set = streams.get(row.account_id);
    if (!set || set.size === 0) return;
    const view = await account(row.account_id);
    if (!view) return;
    const event = await snapshotEvent(row, view);
    if (!event) return;
    const text = `event: snapshot\ndata: ${JSON.stringify(event)}\n\n`;
    for (const res of set) res.write(text);
  }

  store.listen(COMPLETED_CHANNEL, (clipId) => {
    if (/^[0-9a-f]{32}$/.test(clipId)) notify(clipId).catch(() => undefined);
  }).catch(() => undefined); // without it alerts stay on the node that completed the clip

  return {
    completed(clipId: string): void {
      // Through the store: with PostgreSQL every node hears it (NOTIFY) and alerts its own subscribers.
      store.notify(COMPLETED_CHANNEL, clipId).catch(() => undefined); // best effort: the timeline still lists the event
    },
    subscribers: () => [...streams.values()].reduce((n, s) => n + s.size, 0),
  };
}
