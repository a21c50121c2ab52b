/**
 * The cloud's sharing endpoints (docs/CLOUD-API.md "Sharing: the mailbox and shared clips", PROTOCOL §14.9):
 *
 *   POST   /v1/mailbox                      an enrolled phone posts a share envelope for SHA-256(viewer SPKI)
 *   GET    /v1/mailbox/:to/challenge        a single-use nonce for the viewer's proof (60 s)
 *   GET    /v1/mailbox/:to                  the envelopes addressed to `to`                     (proof)
 *   DELETE /v1/mailbox/:to/:id              drop an accepted envelope                           (proof)
 *   GET    /v1/shared/:to/accounts          per sharing account: root, current roster, camera certs (proof)
 *   GET    /v1/shared/:to/clips             clips whose head has a stream entry for a key shared to `to` (proof)
 *   GET    /v1/shared/:to/clips/:id/head    that clip's signed head                             (proof)
 *   GET    /v1/shared/:to/clips/:id         that clip's ciphertext                              (proof)
 *   POST   /v1/clip-shares                  an enrolled phone stores a clip share envelope beside its clip
 *   GET    /v1/clip-shares/:to              the clip share envelope sealed to the TDSK whose SPKI hashes to `to` (proof)
 *   DELETE /v1/clip-shares/:to              the owner withdraws a clip share (phone session)
 *   GET    /v1/clip-shares                  the account's clip shares, public facts only (phone session)
 *
 * A clip share (PROTOCOL §14.11) is addressed like a mailbox, by SHA-256 of its TDSK's SPKI: the holder of
 * the TDSK (the bearer of the token, or a viewer it was delivered to) proves possession of that key exactly as
 * a viewer does, and /v1/shared/:to/... then serves it that one clip (and the account data to verify its head)
 * until the share's notAfter.
 *
 * The proof: headers x-sealcam-viewer-key (base64url SPKI, SHA-256 = to), x-sealcam-nonce (from the
 * challenge), x-sealcam-proof (base64url raw r||s ECDSA P-256 SHA-256 signature over
 * "sealcam-v1-mailbox\n" + to + "\n" + nonce + "\n" + METHOD + " " + path). A nonce is consumed only by a
 * proof that verifies; a refused request changes nothing stored.
 *
 * The cloud learns which stream keys were delivered to which mailbox (it records the stream key id from
 * the envelope's public certificate), never a private key. It serves a viewer only clips of the sharing
 * account whose signed head lists a stream entry for one of those key ids — the recipient key ids are public
 * in every head. Nothing here trusts the viewer beyond the proof of key possession.
 */
import * as nodeCrypto from "node:crypto";
import type * as http from "node:http";
import { asciiBytes, fromBase64Url, toBase64Url, toHex } from "../../firmware/core/bytes";
import { ALG_HPKE_P256_STREAM } from "../../firmware/core/clip/constants";
import { parseClipHead } from "../../firmware/core/clip/head";
import { isSealcamError } from "../../firmware/core/errors";
import { parseSpki } from "../../firmware/core/keys";
import { checkClipShareEnvelope, checkClipShareKeyEnvelope, checkShareEnvelope, parseClipShareEnvelope, parseMailboxEnvelope } from "../phone/share-envelope";
import { NodeCrypto } from "../platform/node-crypto";
import type { Store } from "./store";
import type { BlobStore } from "./blobs";
import { httpFail, parseJsonObject, onlyFields, readBody, sendJson, sendStream, type Json } from "./http-util";


/** The most a mailbox POST body may be. */
export const MAILBOX_BODY_LIMIT = 16 * 1024;
/** A challenge nonce is valid this long. */
export const MAILBOX_NONCE_MS = 60_000;
/** Outstanding (unused, unexpired) nonces per address; more is E_RATE_LIMIT. */
export const MAILBOX_NONCES_PER_ADDRESS = 32;
/** Envelopes waiting in one mailbox; more is E_LIMIT. */
export const MAILBOX_MAX_MESSAGES = 64;
export const PROOF_LABEL = "sealcam-v1-mailbox";

const HEX64 = /^[0-9a-f]{64}$/;
const CLIP_ID = /^[0-9a-f]{32}$/;
const MESSAGE_ID = /^[0-9a-f]{32}$/;

// The tables are created by migrations 2 and 3 (migrations.ts).

/** What the mailbox needs of a request (server.ts's Ctx has at least this). */
export interface MailboxCtx { req: http.IncomingMessage; res: http.ServerResponse; method: string; path: string; params: string[] }

export interface MailboxHooks<C extends MailboxCtx> {
  store: Store;
  route: (method: string, pattern: string, handler: (ctx: C) => Promise<void>) => void;
  /** The caller's session (E_AUTH otherwise). */
  session: (ctx: C) => Promise<{ accountId: string; phoneKeyId: string | null }>;
  noBody: (ctx: C) => Promise<void>;
  now: () => number;
  /** Where clip bodies are (blobs.ts). */
  blobs: BlobStore;
}

/** The bytes a viewer signs to prove it holds the key of mailbox `to`. */
export function proofMessage(to: string, nonce: string, method: string, path: string): Uint8Array {
  return asciiBytes(`${PROOF_LABEL}\n${to}\n${nonce}\n${method} ${path}`);
}

/** What the mailbox lends the rest of the cloud: its proof check (the live relay admits viewers with it). */
export interface Mailbox {
  /** Checks a proof of the key of address `to` over `METHOD path`; consumes the nonce only when it verifies. */
  proof(req: http.IncomingMessage, to: string, method: string, path: string): Promise<void>;
}

export function registerMailbox<C extends MailboxCtx>(h: MailboxHooks<C>): Mailbox {
  const { store, route, now } = h;
  const crypto = new NodeCrypto();
  // Recipient key ids of a clip's head, by clip id and head hash (a head never changes once stored).
  const headKids = new Map<string, string[]>();

  function address(ctx: MailboxCtx): string {
    const to = ctx.params[0];
    if (!HEX64.test(to)) httpFail(400, "E_FORMAT", "a mailbox address is 64 lower-case hex characters: SHA-256 of the viewer's public key (SPKI)");
    return to;
  }

  /** Checks the proof of key possession; consumes the nonce only when it verifies. */
  async function proof(ctx: MailboxCtx, to: string): Promise<void> {
    const header = (name: string) => {
      const v = ctx.req.headers[name];
      return typeof v === "string" ? v : undefined;
    };
    const keyText = header("x-sealcam-viewer-key");
    const nonce = header("x-sealcam-nonce");
    const sigText = header("x-sealcam-proof");
    if (!keyText || !nonce || !sigText) httpFail(401, "E_AUTH", "this request needs a proof of the viewer key: x-sealcam-viewer-key, x-sealcam-nonce, x-sealcam-proof");
    if (!/^[A-Za-z0-9_-]{1,200}$/.test(keyText) || !/^[0-9a-f]{32}$/.test(nonce) || !/^[A-Za-z0-9_-]{86}$/.test(sigText)) httpFail(401, "E_AUTH", "malformed proof headers");
    const spki = fromBase64Url(keyText);
    if (toHex(crypto.sha256(spki)) !== to) httpFail(401, "E_AUTH", "the viewer key is not the key of this mailbox address");
    let point: Uint8Array;
    try {
      const key = parseSpki(spki);
      if (key.kind !== "p256") httpFail(401, "E_AUTH", "the viewer key must be P-256");
      point = key.point65;
    } catch (error) {
      if (isSealcamError(error) && error.code === "E_AUTH") throw error;
      return httpFail(401, "E_AUTH", "the viewer key is not a public key");
    }
    const row = (await store.get("SELECT to_hash, issued_at, used_at FROM mailbox_nonces WHERE nonce = ?", [nonce])) as { to_hash: string; issued_at: number; used_at: number | null } | undefined;
    if (!row || row.to_hash !== to) httpFail(401, "E_AUTH", "unknown nonce; ask for a challenge first");
    if (row.used_at !== null) httpFail(401, "E_REPLAY", "this nonce was already used: a proof counts once; ask for a new challenge");
    if (now() - row.issued_at > MAILBOX_NONCE_MS) httpFail(401, "E_AUTH", "the nonce expired; ask for a new challenge");
    const sig = fromBase64Url(sigText);
    if (!crypto.ecdsaP256Verify(point, proofMessage(to, nonce, ctx.method, ctx.path), sig)) httpFail(401, "E_AUTH", "the proof does not verify with the viewer key");
    const used = (await store.run("UPDATE mailbox_nonces SET used_at = ? WHERE nonce = ? AND used_at IS NULL", [now(), nonce]));
    if (used !== 1) httpFail(401, "E_REPLAY", "this nonce was already used");
  }

  route("POST", "/v1/mailbox", async (ctx) => {
    const s = await h.session(ctx);
    if (!s.phoneKeyId) httpFail(403, "E_AUTH", "only an enrolled phone may send a share");
    const body: Json = parseJsonObject(await readBody(ctx.req, MAILBOX_BODY_LIMIT));
    onlyFields(body, ["to", "envelope"]);
    const to = body.to;
    const text = body.envelope;
    if (typeof to !== "string" || !HEX64.test(to)) httpFail(400, "E_FORMAT", "to must be 64 lower-case hex characters (SHA-256 of the viewer's SPKI)");
    if (typeof text !== "string" || !/^[A-Za-z0-9_-]+$/.test(text)) httpFail(400, "E_FORMAT", "envelope must be base64url");
    const bytes = fromBase64Url(text);
    const e2ee = (await store.get("SELECT root_cert FROM e2ee WHERE account_id = ?", [s.accountId])) as { root_cert: Buffer } | undefined;
    if (!e2ee) httpFail(409, "E_STATE", "end-to-end encryption is not on for this account");
    // A share envelope (a stream key: recorded so /v1/shared serves the clips wrapped to it) or a clip share
    // key envelope (a TDSK: the viewer reaches the clip through the TDSK's own address, nothing is recorded).
    let kid: string | null = null;
    let shareId: string;
    try {
      const message = parseMailboxEnvelope(bytes);
      const envelope = message.envelope;
      if (envelope.facts.to !== to) httpFail(400, "E_MISADDRESSED", "the envelope is addressed to another mailbox than `to`; nothing was stored");
      if (envelope.facts.accountId !== s.accountId) httpFail(403, "E_FOREIGN_ACCOUNT", "the envelope names another account; nothing was stored");
      if (!Buffer.from(envelope.root).equals(e2ee.root_cert)) httpFail(403, "E_FOREIGN_ACCOUNT", "the envelope carries another account root; nothing was stored");
      if (message.kind === "stream") {
        const { stream } = checkShareEnvelope(crypto, message.envelope);
        kid = toHex(crypto.sha256(stream.spki));
      } else {
        checkClipShareKeyEnvelope(crypto, message.envelope);
      }
      shareId = envelope.facts.shareId;
    } catch (error) {
      if (isSealcamError(error) && !("status" in error)) httpFail(400, error.code, error.message);
      throw error;
    }
    const t = now();
    const id = nodeCrypto.randomBytes(16).toString("hex");
    await store.transaction(async (tx) => {
      const waiting = ((await tx.get("SELECT COUNT(*) AS n FROM mailbox WHERE to_hash = ?", [to])) as { n: number }).n;
      if (waiting >= MAILBOX_MAX_MESSAGES) httpFail(413, "E_LIMIT", `this mailbox already holds ${MAILBOX_MAX_MESSAGES} envelopes; the viewer must accept them first`);
      if ((await tx.get("SELECT 1 FROM shares WHERE to_hash = ? AND account_id = ? AND share_id = ?", [to, s.accountId, shareId]))) httpFail(409, "E_CONFLICT", "this share was already sent");
      if ((await tx.get("SELECT 1 FROM mailbox WHERE to_hash = ? AND account_id = ? AND share_id = ?", [to, s.accountId, shareId]))) httpFail(409, "E_CONFLICT", "this share was already sent");
      (await tx.run("INSERT INTO mailbox (id, to_hash, account_id, share_id, envelope, created_at) VALUES (?, ?, ?, ?, ?, ?)", [id, to, s.accountId, shareId, Buffer.from(bytes), t]));
      if (kid !== null) (await tx.run("INSERT INTO shares (to_hash, account_id, share_id, stream_kid, created_at) VALUES (?, ?, ?, ?, ?)", [to, s.accountId, shareId, kid, t]));
    });
    sendJson(ctx.res, 200, { id });
  });

  route("GET", "/v1/mailbox/:to/challenge", async (ctx) => {
    const to = address(ctx);
    await h.noBody(ctx);
    const t = now();
    const nonce = nodeCrypto.randomBytes(16).toString("hex");
    // Counted and issued in one transaction (every node sharing the database counts together).
    await store.transaction(async (tx) => {
      await tx.run("DELETE FROM mailbox_nonces WHERE issued_at < ?", [t - 10 * MAILBOX_NONCE_MS]);
      const open = ((await tx.get("SELECT COUNT(*) AS n FROM mailbox_nonces WHERE to_hash = ? AND used_at IS NULL AND issued_at >= ?", [to, t - MAILBOX_NONCE_MS])) as { n: number }).n;
      if (open >= MAILBOX_NONCES_PER_ADDRESS) httpFail(429, "E_RATE_LIMIT", "too many open challenges for this address; use or let them expire");
      await tx.run("INSERT INTO mailbox_nonces (nonce, to_hash, issued_at) VALUES (?, ?, ?)", [nonce, to, t]);
    });
    sendJson(ctx.res, 200, { nonce, expiresAt: t + MAILBOX_NONCE_MS });
  });

  route("GET", "/v1/mailbox/:to", async (ctx) => {
    const to = address(ctx);
    await h.noBody(ctx);
    await proof(ctx, to);
    const rows = (await store.all("SELECT id, envelope, created_at FROM mailbox WHERE to_hash = ? ORDER BY created_at, id", [to])) as { id: string; envelope: Buffer; created_at: number }[];
    sendJson(ctx.res, 200, { messages: rows.map((r) => ({ id: r.id, envelope: toBase64Url(r.envelope), receivedAt: r.created_at })) });
  });

  route("DELETE", "/v1/mailbox/:to/:id", async (ctx) => {
    const to = address(ctx);
    const id = ctx.params[1];
    if (!MESSAGE_ID.test(id)) httpFail(400, "E_FORMAT", "message id must be 32 lower-case hex characters");
    await h.noBody(ctx);
    await proof(ctx, to);
    const gone = (await store.run("DELETE FROM mailbox WHERE to_hash = ? AND id = ?", [to, id]));
    if (gone !== 1) httpFail(404, "E_NOT_FOUND", "no such message in this mailbox");
    sendJson(ctx.res, 200, { deleted: id });
  });

  /** account id -> the stream key ids shared to `to` by that account. */
  async function sharedKids(to: string): Promise<Map<string, Set<string>>> {
    const out = new Map<string, Set<string>>();
    for (const r of (await store.all("SELECT account_id, stream_kid FROM shares WHERE to_hash = ?", [to])) as { account_id: string; stream_kid: string }[]) {
      if (!out.has(r.account_id)) out.set(r.account_id, new Set());
      out.get(r.account_id)!.add(r.stream_kid);
    }
    return out;
  }

  /** The stream-entry key ids of a stored head (public in the head), cached per clip id and head hash. */
  async function streamKidsOf(row: { clip_id: string; head_sha256: string; head_length: number }): Promise<string[]> {
    const cacheKey = `${row.clip_id}:${row.head_sha256}`;
    const cached = headKids.get(cacheKey);
    if (cached) return cached;
    const head = await h.blobs.readHead(row.clip_id, row.head_length);
    if (!head) return [];
    let kids: string[] = [];
    try {
      kids = parseClipHead(new Uint8Array(head)).header.recipients.filter((r) => r.alg === ALG_HPKE_P256_STREAM).map((r) => toHex(r.kid));
    } catch {
      kids = [];
    }
    if (headKids.size > 100_000) headKids.clear();
    headKids.set(cacheKey, kids);
    return kids;
  }

  type ClipRow = { clip_id: string; account_id: string; camera_id: string; head_sha256: string; head_length: number; start_time: number; content_type: string; size: number; created_at: number };

  /** Complete clips of the sharing accounts whose head lists a stream entry for a key shared to `to`. */
  async function sharedClips(to: string): Promise<ClipRow[]> {
    const out: ClipRow[] = [];
    for (const [accountId, kids] of await sharedKids(to)) {
      const rows = (await store.all("SELECT clip_id, account_id, camera_id, head_sha256, head_length, start_time, content_type, size, created_at FROM clips WHERE account_id = ? AND complete = 1 AND deleted_at IS NULL ORDER BY start_time, clip_id", [accountId])) as ClipRow[];
      for (const r of rows) if ((await streamKidsOf(r)).some((k) => kids.has(k))) out.push(r);
    }
    return out;
  }

  /** The clip share addressed to `to` (a TDSK's address), if any: its clip until not_after. */
  async function clipShareOf(to: string): Promise<{ account_id: string; share_id: string; clip_id: string; head_sha256: string; not_after: number; envelope: Buffer } | undefined> {
    return (await store.get("SELECT account_id, share_id, clip_id, head_sha256, not_after, envelope FROM clip_shares WHERE to_hash = ?", [to])) as
      { account_id: string; share_id: string; clip_id: string; head_sha256: string; not_after: number; envelope: Buffer } | undefined;
  }

  async function sharedClip(to: string, id: string): Promise<ClipRow> {
    const kids = await sharedKids(to);
    const row = (await store.get("SELECT clip_id, account_id, camera_id, head_sha256, head_length, start_time, content_type, size, created_at FROM clips WHERE clip_id = ? AND complete = 1 AND deleted_at IS NULL", [id])) as ClipRow | undefined;
    const mine = row ? kids.get(row.account_id) : undefined;
    if (row && mine && (await streamKidsOf(row)).some((k) => mine.has(k))) return row;
    // A clip share: exactly its clip, with the head it names, until it ends.
    const share = await clipShareOf(to);
    if (row && share && share.clip_id === id && share.account_id === row.account_id && share.head_sha256 === row.head_sha256) {
      if (now() >= share.not_after) httpFail(410, "E_SHARE_EXPIRED", "this clip share has ended; ask the owner for a new one");
      return row;
    }
    return httpFail(404, "E_NOT_FOUND", "no clip with this id is shared with this viewer key");
  }

  route("GET", "/v1/shared/:to/accounts", async (ctx) => {
    const to = address(ctx);
    await h.noBody(ctx);
    await proof(ctx, to);
    const ids = new Set((await sharedKids(to)).keys());
    const share = await clipShareOf(to);
    if (share && now() < share.not_after) ids.add(share.account_id);
    const accounts = (await Promise.all([...ids].sort().map(async (accountId) => {
      const e2ee = (await store.get("SELECT root_cert, roster FROM e2ee WHERE account_id = ?", [accountId])) as { root_cert: Buffer; roster: Buffer } | undefined;
      const certs = (await store.all("SELECT cert FROM camera_certs WHERE account_id = ? ORDER BY registered_at", [accountId])) as { cert: Buffer }[];
      return e2ee ? { accountId, rootCertificate: toBase64Url(e2ee.root_cert), roster: toBase64Url(e2ee.roster), cameraCertificates: certs.map((c) => toBase64Url(c.cert)) } : null;
    }))).filter((a) => a !== null);
    sendJson(ctx.res, 200, { accounts });
  });

  route("GET", "/v1/shared/:to/clips", async (ctx) => {
    const to = address(ctx);
    await h.noBody(ctx);
    await proof(ctx, to);
    sendJson(ctx.res, 200, {
      clips: (await sharedClips(to)).map((r) => ({ clipId: r.clip_id, accountId: r.account_id, cameraId: r.camera_id, startTime: r.start_time, contentType: r.content_type, size: r.size, uploadedAt: r.created_at })),
    });
  });

  /** A viewer's request for one shared clip: the address, a clip id, no body, a valid proof, a clip shared with it. */
  async function sharedClipRequest(ctx: C) {
    const to = address(ctx);
    const id = ctx.params[1];
    if (!CLIP_ID.test(id)) httpFail(400, "E_FORMAT", "clip id must be 32 lower-case hex characters");
    await h.noBody(ctx);
    await proof(ctx, to);
    return { id, row: await sharedClip(to, id) };
  }

  route("GET", "/v1/shared/:to/clips/:id/head", async (ctx) => {
    const { id, row } = await sharedClipRequest(ctx);
    const head = await h.blobs.readHead(id, row.head_length);
    if (!head) httpFail(404, "E_NOT_FOUND", "no clip with this id is shared with this viewer key");
    ctx.res.writeHead(200, { "content-type": "application/octet-stream", "content-length": head.length, "cache-control": "no-store" });
    ctx.res.end(head);
  });

  route("GET", "/v1/shared/:to/clips/:id", async (ctx) => {
    const { id, row } = await sharedClipRequest(ctx);
    const clip = await h.blobs.openClip(id);
    if (!clip) httpFail(404, "E_NOT_FOUND", "no clip with this id is shared with this viewer key"); // deleted meanwhile
    sendStream(ctx.res, clip.stream, clip.size);
  });

  route("POST", "/v1/clip-shares", async (ctx) => {
    const s = await h.session(ctx);
    if (!s.phoneKeyId) httpFail(403, "E_AUTH", "only an enrolled phone may share a clip");
    const body: Json = parseJsonObject(await readBody(ctx.req, MAILBOX_BODY_LIMIT));
    onlyFields(body, ["envelope"]);
    const text = body.envelope;
    if (typeof text !== "string" || !/^[A-Za-z0-9_-]+$/.test(text)) httpFail(400, "E_FORMAT", "envelope must be base64url");
    const bytes = fromBase64Url(text);
    const e2ee = (await store.get("SELECT root_cert FROM e2ee WHERE account_id = ?", [s.accountId])) as { root_cert: Buffer } | undefined;
    if (!e2ee) httpFail(409, "E_STATE", "end-to-end encryption is not on for this account");
    let to: string;
    let facts;
    try {
      const envelope = parseClipShareEnvelope(bytes);
      facts = envelope.facts;
      if (facts.accountId !== s.accountId) httpFail(403, "E_FOREIGN_ACCOUNT", "the clip share names another account; nothing was stored");
      if (!Buffer.from(envelope.root).equals(e2ee.root_cert)) httpFail(403, "E_FOREIGN_ACCOUNT", "the clip share carries another account root; nothing was stored");
      checkClipShareEnvelope(crypto, envelope);
      to = toHex(crypto.sha256(facts.key));
    } catch (error) {
      if (isSealcamError(error) && !("status" in error)) httpFail(400, error.code, error.message);
      throw error;
    }
    const clip = (await store.get("SELECT account_id, head_sha256 FROM clips WHERE clip_id = ? AND complete = 1 AND deleted_at IS NULL", [facts.clipId])) as { account_id: string; head_sha256: string } | undefined;
    if (!clip || clip.account_id !== s.accountId) httpFail(404, "E_NOT_FOUND", "no complete clip with this id in this account; nothing was stored");
    if (clip.head_sha256 !== facts.headHash) httpFail(400, "E_MISADDRESSED", "the clip share names another head than the stored clip's; nothing was stored");
    const t = now();
    if (t >= facts.notAfter) httpFail(400, "E_SHARE_EXPIRED", "the clip share has already ended; nothing was stored");
    await store.transaction(async (tx) => {
      if ((await tx.get("SELECT 1 FROM clip_shares WHERE to_hash = ?", [to]))) httpFail(409, "E_CONFLICT", "a clip share for this key is already stored");
      (await tx.run("INSERT INTO clip_shares (to_hash, account_id, share_id, clip_id, head_sha256, not_after, envelope, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [to, s.accountId, facts.shareId, facts.clipId, facts.headHash, facts.notAfter, Buffer.from(bytes), t]));
    });
    sendJson(ctx.res, 200, { to, shareId: facts.shareId, clipId: facts.clipId, notAfter: facts.notAfter });
  });

  route("GET", "/v1/clip-shares", async (ctx) => {
    const s = await h.session(ctx);
    if (!s.phoneKeyId) httpFail(403, "E_AUTH", "only an enrolled phone may list clip shares");
    await h.noBody(ctx);
    const rows = (await store.all("SELECT to_hash, share_id, clip_id, not_after, created_at FROM clip_shares WHERE account_id = ? ORDER BY created_at, to_hash", [s.accountId])) as { to_hash: string; share_id: string; clip_id: string; not_after: number; created_at: number }[];
    const t = now();
    sendJson(ctx.res, 200, { clipShares: rows.map((r) => ({ address: r.to_hash, shareId: r.share_id, clipId: r.clip_id, notAfter: r.not_after, createdAt: r.created_at, ended: t >= r.not_after })) });
  });

  route("GET", "/v1/clip-shares/:to", async (ctx) => {
    const to = address(ctx);
    await h.noBody(ctx);
    await proof(ctx, to);
    const share = await clipShareOf(to);
    if (!share) httpFail(404, "E_NOT_FOUND", "no clip share for this key (withdrawn by the owner, or never made)");
    if (now() >= share.not_after) httpFail(410, "E_SHARE_EXPIRED", "this clip share has ended; ask the owner for a new one");
    sendJson(ctx.res, 200, { envelope: toBase64Url(share.envelope), clipId: share.clip_id });
  });

  route("DELETE", "/v1/clip-shares/:to", async (ctx) => {
    const to = address(ctx);
    const s = await h.session(ctx);
    if (!s.phoneKeyId) httpFail(403, "E_AUTH", "only an enrolled phone may withdraw a clip share");
    await h.noBody(ctx);
    const gone = (await store.run("DELETE FROM clip_shares WHERE to_hash = ? AND account_id = ?", [to, s.accountId]));
    if (gone !== 1) httpFail(404, "E_NOT_FOUND", "no clip share of this account for this key");
    sendJson(ctx.res, 200, { deleted: to });
  });

  return { proof: (req, to, method, path) => proof({ req, res: undefined as unknown as http.ServerResponse, method, path, params: [] }, to) };
}
