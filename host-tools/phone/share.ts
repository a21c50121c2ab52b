/**
 * The owner shares (docs/PROTOCOL.md §14.8–14.10): `phone share`, `phone shares`, `phone revoke`.
 *
 * share: a fresh P-256 stream key; its certificate with the scope (holder `share:<id>`) signed by the account
 * signing key; the next roster with the stream entry (the one 16-entry limit: E_LIMIT); the stream PRIVATE key
 * sealed to the viewer's public key in a signed share envelope (share-envelope.ts) posted to the cloud mailbox
 * addressed to SHA-256(viewer SPKI). The roster is published first: a share whose envelope never arrives is a
 * key nobody holds, listed by `shares` and revocable; the reverse order would hand out a key no camera uses.
 */
import * as nodeCrypto from "node:crypto";
import { fromBase64Url, toBase64Url, toHex, wipe } from "../../firmware/core/bytes";
import { fail } from "../../firmware/core/errors";
import { spkiFromP256 } from "../../firmware/core/keys";
import { ROSTER_MAX_ENTRIES, verifyRoster } from "../../firmware/core/roster";
import type { StreamName, StreamScope } from "../../firmware/core/stream-scope";
import { isCameraId } from "../../firmware/core/request-auth";
import { parseSpki } from "../../firmware/core/keys";
import { issueStreamCertificate, signPss } from "./certs";
import { CloudClient } from "./client";
import { signRoster, type Phone } from "./phone";
import { saveState } from "./store";
import { fingerprint, parseInvite, sealShareEnvelope, sealClipShareEnvelope, sealClipShareKeyEnvelope, encodeClipShareToken } from "./share-envelope";
import * as fs from "node:fs";
import * as path from "node:path";
import { concat, constantTimeEqual } from "../../firmware/core/bytes";
import { LABEL_WRAP } from "../../firmware/core/clip/constants";
import { deriveClipKeys } from "../../firmware/core/clip/keys";
import { hpkeUnwrapper } from "../../firmware/core/clip/opener";
import { parseCertificate } from "../../firmware/core/x509";
import { MAX_HEAD_BYTES } from "../cloud/clip-format";
import { matchClipPrefix, parseClipId } from "./clip-id";
import { loadInstanceKey } from "./store";
import { checkClipBinding, verifyClipHead, type ListedCameraCertificate } from "./verify-head";
import type { VerifiedClip } from "./phone";

export interface ShareRequest {
  /** The invite string (SEALCAM-INVITE:1:...). */
  invite: string;
  cameras: string[];
  streams: StreamName[];
  /** ms since the epoch (whole seconds); default now. */
  notBefore?: number;
  /** ms since the epoch; null: a DSK (no end). */
  notAfter: number | null;
  /** A grant to the cloud (cloud-share.ts): holder "cloud", share id "cloud-<hex>", `snapshot` only. */
  cloud?: boolean;
}

export interface ShareListing {
  shareId: string;
  holder: string;
  keyId: string;
  fingerprint: string;
  scope: StreamScope;
}

async function currentRoster(phone: Phone) {
  const state = phone.state();
  const client = new CloudClient(phone.options.cloud, state.token);
  const { roster } = await client.json<{ roster: string }>("GET", "/v1/e2ee/roster");
  const verified = verifyRoster(phone.crypto, fromBase64Url(roster), fromBase64Url(state.rootCertificate), { minVersion: state.rosterVersion, accountId: state.accountId });
  return { state, client, roster: verified };
}

/** The viewer's fingerprint for an invite (what `share` shows before asking). */
export function inviteFingerprint(phone: Phone, invite: string): string {
  return fingerprint(phone.crypto, parseInvite(invite));
}

export async function createShare(phone: Phone, request: ShareRequest): Promise<{ shareId: string; rosterVersion: number; viewerFingerprint: string; keyId: string; scope: StreamScope }> {
  const crypto = phone.crypto;
  const viewerSpki = parseInvite(request.invite);
  const viewer = parseSpki(viewerSpki);
  if (viewer.kind !== "p256") fail("E_FORMAT", "invite: the viewer key must be P-256");
  for (const c of request.cameras) if (!isCameraId(c)) fail("E_ARGUMENT", `--camera ${c} is not a camera id`);
  const notBefore = request.notBefore ?? Math.floor(Date.now() / 1000) * 1000;
  // The cloud may hold a snapshot key and nothing else (PROTOCOL §14.14).
  if (request.cloud && (request.streams.length !== 1 || request.streams[0] !== "snapshot")) fail("E_ARGUMENT", "the cloud may only be given the snapshot stream (--stream snapshot): it never holds a video key");
  const shareId = (request.cloud ? "cloud-" : "") + nodeCrypto.randomBytes(6).toString("hex");
  const scope: StreamScope = { cameras: request.cameras, streams: request.streams, notBefore, notAfter: request.notAfter, holder: request.cloud ? "cloud" : `share:${shareId}` };

  const { state, client, roster } = await currentRoster(phone);
  if (roster.entries.length >= ROSTER_MAX_ENTRIES) {
    fail("E_LIMIT", `the roster already has ${roster.entries.length} entries, the most a clip can be sealed to; revoke a share ('sealcam phone revoke SHARE') or remove a phone first`);
  }
  const signer = await phone.unlockSigningKey();
  const streamKey = crypto.p256Generate();
  try {
    const spki = spkiFromP256(crypto.p256PublicKey(streamKey));
    const certificate = await issueStreamCertificate(signer, spki, scope);
    const entries = roster.entries.map((e) => ({ role: e.role, certificateDer: e.certificate.der }));
    entries.push({ role: "stream", certificateDer: certificate });
    const version = roster.version + 1;
    const next = await signRoster(crypto, signer, state.accountId, version, entries);
    const to = toHex(crypto.sha256(viewerSpki));
    const scalar = crypto.p256Export(streamKey);
    let envelope: Uint8Array;
    try {
      envelope = await sealShareEnvelope(crypto, { shareId, accountId: state.accountId, streamCertificate: certificate, scope, to }, viewer.point65, scalar, signer.rootCertDer, (m) => signPss(signer, m));
    } finally {
      wipe(scalar);
    }
    await client.json("PUT", "/v1/e2ee/roster", { roster: toBase64Url(next) });
    saveState(phone.home, { ...state, rosterVersion: version });
    await client.json("POST", "/v1/mailbox", { to, envelope: toBase64Url(envelope) });
    return { shareId, rosterVersion: version, viewerFingerprint: fingerprint(crypto, viewerSpki), keyId: toHex(crypto.sha256(spki)), scope };
  } finally {
    crypto.p256Destroy(streamKey);
    wipe(signer.pkcs8);
  }
}

/** The active shares: the verified roster's stream entries. */
export async function listShares(phone: Phone): Promise<ShareListing[]> {
  const { roster } = await currentRoster(phone);
  const out: ShareListing[] = [];
  for (const e of roster.entries) {
    const scope = e.certificate.streamScope;
    if (e.role !== "stream" || !scope) continue;
    out.push({
      shareId: scope.holder.startsWith("share:") ? scope.holder.slice(6) : scope.holder, holder: scope.holder,
      keyId: toHex(e.keyId), fingerprint: fingerprint(phone.crypto, e.certificate.spki), scope,
    });
  }
  return out;
}

/** Publishes the next roster without the share's stream key. */
export async function revokeShare(phone: Phone, share: string): Promise<{ rosterVersion: number; holder: string }> {
  const { state, client, roster } = await currentRoster(phone);
  const holder = share === "cloud" || share.includes(":") ? share : `share:${share}`;
  const keep = roster.entries.filter((e) => !(e.role === "stream" && e.certificate.streamScope?.holder === holder));
  if (keep.length === roster.entries.length) fail("E_NOT_FOUND", `no active share ${share} in the roster (see 'sealcam phone shares')`);
  const signer = await phone.unlockSigningKey();
  try {
    const version = roster.version + 1;
    const next = await signRoster(phone.crypto, signer, state.accountId, version, keep.map((e) => ({ role: e.role, certificateDer: e.certificate.der })));
    await client.json("PUT", "/v1/e2ee/roster", { roster: toBase64Url(next) });
    saveState(phone.home, { ...state, rosterVersion: version });
    return { rosterVersion: version, holder };
  } finally {
    wipe(signer.pkcs8);
  }
}

// ---------------------------------------------------------------------------------------------------------
// share-clip (PROTOCOL §14.11): one existing clip, its key wrapped to a fresh TDSK in a signed clip share
// envelope stored beside the clip. The camera's head and the body are untouched.

/** A clip share without --until ends this long after it is made. */
export const CLIP_SHARE_DEFAULT_MS = 24 * 3600_000;

export interface ClipShareResult {
  shareId: string;
  clipId: string;
  cameraId: string;
  notAfter: number;
  /** The bearer token (TDSK private key), when not delivered to a viewer: print once, never log. */
  token: string | null;
  /** The viewer's key fingerprint, when delivered with --to. */
  viewerFingerprint: string | null;
  /** The clip share's address on the cloud: hex SHA-256 of the TDSK's SPKI. */
  address: string;
}

/**
 * Shares one clip: verifies its head (camera certificate chains to the pinned root), unwraps its key with this
 * phone's instance key (the phone is a recipient) and checks it against the signed commitment, makes a fresh
 * P-256 TDSK, seals the clip key to it in a clip share envelope signed by the account key, and stores that
 * beside the clip (POST /v1/clip-shares). With `invite`, the TDSK's private key goes to that viewer through
 * the mailbox (a clip share key envelope); otherwise it is returned as the bearer token.
 */
export async function shareClip(phone: Phone, request: { clip: string; notAfter?: number; invite?: string; now?: number }): Promise<ClipShareResult> {
  const crypto = phone.crypto;
  const state = phone.state();
  const client = new CloudClient(phone.options.cloud, state.token);
  const now = request.now ?? Date.now();
  const notAfter = request.notAfter ?? now + CLIP_SHARE_DEFAULT_MS;
  if (notAfter <= now) fail("E_ARGUMENT", `--until ${new Date(notAfter).toISOString()} is not in the future`);
  const viewerSpki = request.invite !== undefined ? parseInvite(request.invite) : null;
  let clipId: string;
  const query = parseClipId(request.clip);
  if (query?.kind === "full") clipId = query.clipId;
  else if (query?.kind === "prefix") clipId = matchClipPrefix(query.prefix, (await phone.clips()).filter((c): c is VerifiedClip => c.verified)).clipId;
  else return fail("E_ARGUMENT", `'${request.clip}' is not a clip id (see 'sealcam phone clips')`);

  const root = parseCertificate(fromBase64Url(state.rootCertificate));
  const account = await client.json<{ cameraCertificates?: ListedCameraCertificate[] }>("GET", "/v1/account");
  const headBytes = await client.bytes(`/v1/clips/${clipId}/head`, MAX_HEAD_BYTES);
  const head = verifyClipHead(crypto, headBytes, root, Array.isArray(account.cameraCertificates) ? account.cameraCertificates : []);
  checkClipBinding(head.header, { clipId });
  const myKeyId = crypto.sha256(parseCertificate(fromBase64Url(state.instanceCertificate)).spki);
  const entry = head.header.recipients.find((r) => constantTimeEqual(r.kid, myKeyId));
  if (!entry) fail("E_NO_RECIPIENT", "this phone is not a recipient of that clip (sealed before it joined): share it from a phone it was sealed to");
  const instanceKey = loadInstanceKey(phone.home, crypto);
  let clipKey: Uint8Array;
  try {
    clipKey = hpkeUnwrapper(crypto, myKeyId, instanceKey).unwrap(entry, concat(LABEL_WRAP, head.header.clipId));
  } finally {
    crypto.p256Destroy(instanceKey);
  }
  const keys = deriveClipKeys(crypto, clipKey, head.header.clipId);
  wipe(keys.payloadKey);
  if (!constantTimeEqual(keys.commitment, head.header.commitment)) {
    wipe(clipKey);
    fail("E_COMMIT", "the clip key does not match the clip's commitment; nothing was shared");
  }
  const shareId = nodeCrypto.randomBytes(6).toString("hex");
  const headHash = toHex(crypto.sha256(headBytes));
  const signer = await phone.unlockSigningKey();
  const tdsk = crypto.p256Generate();
  try {
    const key = spkiFromP256(crypto.p256PublicKey(tdsk));
    const sign = (m: Uint8Array) => signPss(signer, m);
    const envelope = await sealClipShareEnvelope(crypto, { accountId: state.accountId, clipId, headHash, key, notAfter, shareId }, clipKey, signer.rootCertDer, sign);
    const stored = await client.json<{ to: string }>("POST", "/v1/clip-shares", { envelope: toBase64Url(envelope) });
    const scalar = crypto.p256Export(tdsk);
    try {
      if (viewerSpki) {
        const viewer = parseSpki(viewerSpki);
        if (viewer.kind !== "p256") fail("E_FORMAT", "invite: the viewer key must be P-256");
        const to = toHex(crypto.sha256(viewerSpki));
        const delivery = await sealClipShareKeyEnvelope(crypto, { accountId: state.accountId, clipId, key, notAfter, shareId, to }, viewer.point65, scalar, signer.rootCertDer, sign);
        await client.json("POST", "/v1/mailbox", { to, envelope: toBase64Url(delivery) });
        return { shareId, clipId, cameraId: head.cameraId, notAfter, token: null, viewerFingerprint: fingerprint(crypto, viewerSpki), address: stored.to };
      }
      return { shareId, clipId, cameraId: head.cameraId, notAfter, token: encodeClipShareToken(scalar), viewerFingerprint: null, address: stored.to };
    } finally {
      wipe(scalar);
    }
  } finally {
    crypto.p256Destroy(tdsk);
    wipe(clipKey, signer.pkcs8);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Shared pools (PROTOCOL §14.12, the paper's §4.4): one DSK held by every member; each change of membership
// rotates it — a new DSK to every current member in one roster version that also drops the old one.

export interface PoolMember { spki: string; fingerprint: string; addedAt: number }
export interface Pool { name: string; cameras: string[]; streams: StreamName[]; shareId: string; keyId: string; members: PoolMember[]; rotatedAt: number }
interface PoolFile { version: 1; pools: Pool[] }

const POOL_NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;

function poolsPath(phone: Phone): string {
  return path.join(phone.home, "pools.json");
}

/** The pools this phone manages (pools.json in its home: public facts only, 0600). */
export function listPools(phone: Phone): Pool[] {
  try {
    return (JSON.parse(fs.readFileSync(poolsPath(phone), "utf8")) as PoolFile).pools;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}

function savePools(phone: Phone, pools: Pool[]): void {
  const file = poolsPath(phone);
  const partial = `${file}.partial-${nodeCrypto.randomBytes(6).toString("hex")}`;
  fs.writeFileSync(partial, JSON.stringify({ version: 1, pools } satisfies PoolFile, null, 2) + "\n", { mode: 0o600 });
  fs.renameSync(partial, file);
}

/**
 * Rotates a pool to `members`: a new DSK (scope: the pool's cameras and streams, from now, no end, holder
 * share:pool-<name>-<random>) replaces the old one in ONE new roster version (the one 16-entry limit), then a
 * share envelope with the new key goes to every member. With no members left, the old key is only revoked.
 */
async function rotatePool(phone: Phone, pool: Omit<Pool, "shareId" | "keyId" | "rotatedAt"> & { shareId?: string }, members: PoolMember[]): Promise<{ pool: Pool | null; rosterVersion: number; delivered: string[] }> {
  const crypto = phone.crypto;
  const { state, client, roster } = await currentRoster(phone);
  const oldHolder = pool.shareId ? `share:${pool.shareId}` : null;
  const keep = roster.entries.filter((e) => !(e.role === "stream" && oldHolder !== null && e.certificate.streamScope?.holder === oldHolder));
  if (members.length > 0 && keep.length >= ROSTER_MAX_ENTRIES) {
    fail("E_LIMIT", `the roster already has ${keep.length} entries besides this pool's key, the most a clip can be sealed to; revoke a share or remove a phone first`);
  }
  const signer = await phone.unlockSigningKey();
  const key = members.length > 0 ? crypto.p256Generate() : null;
  try {
    const entries = keep.map((e) => ({ role: e.role, certificateDer: e.certificate.der }));
    const notBefore = Math.floor(Date.now() / 1000) * 1000;
    const shareId = `pool-${pool.name}-${nodeCrypto.randomBytes(4).toString("hex")}`;
    const scope: StreamScope = { cameras: pool.cameras, streams: pool.streams, notBefore, notAfter: null, holder: `share:${shareId}` };
    const envelopes: { to: string; envelope: Uint8Array }[] = [];
    let keyId = "";
    if (key) {
      const spki = spkiFromP256(crypto.p256PublicKey(key));
      keyId = toHex(crypto.sha256(spki));
      const certificate = await issueStreamCertificate(signer, spki, scope);
      entries.push({ role: "stream", certificateDer: certificate });
      const scalar = crypto.p256Export(key);
      try {
        for (const m of members) {
          const viewerSpki = fromBase64Url(m.spki);
          const viewer = parseSpki(viewerSpki);
          if (viewer.kind !== "p256") fail("E_FORMAT", "a pool member's key must be P-256");
          const to = toHex(crypto.sha256(viewerSpki));
          envelopes.push({ to, envelope: await sealShareEnvelope(crypto, { shareId, accountId: state.accountId, streamCertificate: certificate, scope, to }, viewer.point65, scalar, signer.rootCertDer, (msg) => signPss(signer, msg)) });
        }
      } finally {
        wipe(scalar);
      }
    }
    const version = roster.version + 1;
    const next = await signRoster(crypto, signer, state.accountId, version, entries);
    await client.json("PUT", "/v1/e2ee/roster", { roster: toBase64Url(next) });
    saveState(phone.home, { ...state, rosterVersion: version });
    const delivered: string[] = [];
    for (const e of envelopes) {
      await client.json("POST", "/v1/mailbox", { to: e.to, envelope: toBase64Url(e.envelope) });
      delivered.push(e.to);
    }
    const next_pool: Pool | null = key ? { name: pool.name, cameras: pool.cameras, streams: pool.streams, shareId, keyId, members, rotatedAt: notBefore } : null;
    return { pool: next_pool, rosterVersion: version, delivered };
  } finally {
    if (key) crypto.p256Destroy(key);
    wipe(signer.pkcs8);
  }
}

/** Adds a member to pool `name` (created on first use with `cameras`/`streams`) and rotates its key. */
export async function addPoolMember(phone: Phone, name: string, invite: string, scope: { cameras: string[]; streams: StreamName[] }): Promise<{ pool: Pool; rosterVersion: number; viewerFingerprint: string }> {
  if (!POOL_NAME.test(name)) fail("E_ARGUMENT", `--pool ${name}: a pool name is 1-32 of a-z, 0-9 and '-', starting with a letter or digit`);
  for (const c of scope.cameras) if (!isCameraId(c)) fail("E_ARGUMENT", `--camera ${c} is not a camera id`);
  const spki = parseInvite(invite);
  const pools = listPools(phone);
  const existing = pools.find((p) => p.name === name);
  if (existing && (scope.cameras.length > 0 && scope.cameras.join(",") !== existing.cameras.join(","))) fail("E_ARGUMENT", `pool ${name} already shares ${existing.cameras.length ? existing.cameras.join(", ") : "every camera"}; a pool's scope does not change`);
  const member: PoolMember = { spki: toBase64Url(spki), fingerprint: fingerprint(phone.crypto, spki), addedAt: Date.now() };
  const members = existing ? existing.members : [];
  if (members.some((m) => m.spki === member.spki)) fail("E_CONFLICT", `this viewer (${member.fingerprint}) is already a member of pool ${name}`);
  const base = existing ?? { name, cameras: scope.cameras, streams: scope.streams, members: [] };
  const r = await rotatePool(phone, base, [...members, member]);
  savePools(phone, [...pools.filter((p) => p.name !== name), r.pool!]);
  return { pool: r.pool!, rosterVersion: r.rosterVersion, viewerFingerprint: member.fingerprint };
}

/** Removes the member whose key fingerprint is `member` from pool `name` and rotates without it. */
export async function removePoolMember(phone: Phone, name: string, member: string): Promise<{ pool: Pool | null; rosterVersion: number; removed: string }> {
  const pools = listPools(phone);
  const pool = pools.find((p) => p.name === name);
  if (!pool) fail("E_NOT_FOUND", `no pool ${name} (see 'sealcam phone shares')`);
  const want = member.replace(/\s+/g, "").toLowerCase();
  const gone = pool.members.filter((m) => m.fingerprint.replace(/\s+/g, "") === want);
  if (gone.length !== 1) fail("E_NOT_FOUND", `no member with fingerprint ${member} in pool ${name}`);
  const r = await rotatePool(phone, pool, pool.members.filter((m) => m !== gone[0]));
  savePools(phone, [...pools.filter((p) => p.name !== name), ...(r.pool ? [r.pool] : [])]);
  return { pool: r.pool, rosterVersion: r.rosterVersion, removed: gone[0].fingerprint };
}

/** Withdraws a clip share (its address: hex SHA-256 of the TDSK's SPKI): the cloud deletes its envelope. */
export async function withdrawClipShare(phone: Phone, address: string): Promise<void> {
  if (!/^[0-9a-f]{64}$/.test(address)) fail("E_ARGUMENT", `'${address}' is not a clip share address (64 hex characters, as 'phone share-clip' printed it)`);
  const client = new CloudClient(phone.options.cloud, phone.state().token);
  await client.json("DELETE", `/v1/clip-shares/${address}`);
}

export interface ClipShareListing { address: string; shareId: string; clipId: string; notAfter: number; createdAt: number; ended: boolean }

/** The account's clip shares as the cloud stores them (public facts: address, clip, end). */
export async function listClipShares(phone: Phone): Promise<ClipShareListing[]> {
  const client = new CloudClient(phone.options.cloud, phone.state().token);
  const { clipShares } = await client.json<{ clipShares?: unknown }>("GET", "/v1/clip-shares");
  if (!Array.isArray(clipShares)) fail("E_FORMAT", "the cloud's clip share list is not a list");
  return clipShares as ClipShareListing[];
}
