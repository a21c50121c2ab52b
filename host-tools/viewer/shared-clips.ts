/**
 * What a stream-key holder does with the clips shared with it (PROTOCOL §14.9–14.10), once for both holders:
 * the CLI viewer (viewer.ts, keys in a keystore file) and the browser (host-tools/web-viewer/core.ts, keys
 * non-extractable in WebCrypto). The mailbox walked, the account's current roster verified against the pinned root, the shared-clip
 * list verified head by head and each snapshot paired with its clip, the choice of the held share that opens a
 * clip (or why none does), and the opening itself.
 *
 * PORTABLE: no Node built-ins (the browser bundle imports it). The holder passes its proof-protected request
 * and `settle`, which runs a synchronous firmware computation (the browser's answers WebCrypto questions
 * through BrowserCrypto.settle; the CLI's just runs it).
 */
import { fromBase64Url, toHex } from "../../firmware/core/bytes";
import { ALG_HPKE_P256_STREAM, MAX_HEADER_LENGTH, PREAMBLE_LENGTH, SIGNATURE_LENGTH } from "../../firmware/core/clip/constants";
import { ClipOpener, type OpenerOptions } from "../../firmware/core/clip/opener";
import type { ClipHeader } from "../../firmware/core/clip/header";
import { fail, SealcamError } from "../../firmware/core/errors";
import { verifyRoster } from "../../firmware/core/roster";
import { scopeCovers, type StreamName, type StreamScope } from "../../firmware/core/stream-scope";
import type { Certificate } from "../../firmware/core/x509";
import type { Crypto } from "../../firmware/platform/crypto";
import { checkClipBinding, verifyClipHead, type ListedCameraCertificate } from "../phone/verify-head";

/** The longest head there is (as host-tools/cloud/clip-format.ts MAX_HEAD_BYTES). */
export const MAX_HEAD_BYTES = PREAMBLE_LENGTH + MAX_HEADER_LENGTH + SIGNATURE_LENGTH;

/** A holder of stream keys talking to the cloud (PROTOCOL §14.9). */
export interface SharedSource {
  crypto: Crypto;
  /** "viewer" or "browser": how error messages name the holder. */
  holder: string;
  /** The holder's mailbox address (hex SHA-256 of its SPKI). */
  address: string;
  /** One proof-protected request to the cloud; a reply that is not 2xx throws its typed error. */
  request(method: string, path: string): Promise<Response>;
  /** Runs a synchronous computation over `crypto`, returning or throwing what it did. */
  settle<T>(run: () => T): Promise<T>;
}

/** A share the holder keeps (the public facts this module needs). */
export interface HeldScope {
  shareId: string;
  keyId: string; // hex SHA-256 of the stream SPKI
  scope: StreamScope;
}

/** The pinned account: its id, root certificate (DER) and the newest roster version seen. */
export interface PinnedRoot {
  accountId: string;
  rootCertificate: Uint8Array;
  rosterVersion: number;
}

/**
 * The holder's mailbox (PROTOCOL §14.9): each message's envelope (base64url text) goes to `accept`, which
 * verifies and keeps it and says whether it pinned the account. An accepted message is deleted from the
 * mailbox; a refused one (a SealcamError other than E_NETWORK) is reported with its code and left there.
 */
export async function acceptMailbox(source: SharedSource, accept: (envelope: string) => Promise<{ pinnedNow: boolean }>): Promise<{ refused: { id: string; code: string; message: string }[]; pinnedNow: boolean }> {
  const listing = (await (await source.request("GET", `/v1/mailbox/${source.address}`)).json()) as { messages?: { id?: unknown; envelope?: unknown }[] };
  if (!Array.isArray(listing.messages)) fail("E_FORMAT", "the cloud's mailbox listing is not a list");
  const refused: { id: string; code: string; message: string }[] = [];
  let pinnedNow = false;
  for (const m of listing.messages) {
    const id = typeof m?.id === "string" && /^[0-9a-f]{32}$/.test(m.id) ? m.id : "(invalid id)";
    try {
      if (typeof m?.envelope !== "string") fail("E_FORMAT", "message has no envelope");
      if ((await accept(m.envelope)).pinnedNow) pinnedNow = true;
      if (id !== "(invalid id)") await source.request("DELETE", `/v1/mailbox/${source.address}/${id}`).catch(() => undefined);
    } catch (error) {
      if (!(error instanceof SealcamError) || error.code === "E_NETWORK") throw error;
      refused.push({ id, code: error.code, message: error.message });
    }
  }
  return { refused, pinnedNow };
}

type AccountListing = { accounts?: { accountId?: unknown; roster?: unknown; cameraCertificates?: unknown }[] };

async function servedAccount(source: SharedSource, accountId: string): Promise<{ accountId?: unknown; roster?: unknown; cameraCertificates?: unknown } | undefined> {
  const listing = (await (await source.request("GET", `/v1/shared/${source.address}/accounts`)).json()) as AccountListing;
  return Array.isArray(listing.accounts) ? listing.accounts.find((a) => a?.accountId === accountId) : undefined;
}

/**
 * On accepting a share: the key ids of the sharing account's current roster, verified against the envelope's
 * `root` and never older than `minVersion`. A roster the cloud does not serve means the share is not active:
 * E_SHARE_REVOKED.
 */
export async function currentRosterKeyIds(source: SharedSource, root: Uint8Array, accountId: string, minVersion: number): Promise<Set<string>> {
  const served = await servedAccount(source, accountId);
  if (!served || typeof served.roster !== "string") {
    fail("E_SHARE_REVOKED", `the cloud serves no current roster of the sharing account for this ${source.holder}: the share is not (or no longer) active; nothing was accepted`);
  }
  const rosterBytes = fromBase64Url(served.roster);
  const roster = await source.settle(() => verifyRoster(source.crypto, rosterBytes, root, { minVersion, accountId }));
  return new Set(roster.streamKeys.map((k) => toHex(k.keyId)));
}

/**
 * The pinned account as the cloud serves it: its current roster verified against the pinned root (the caller
 * saves `rosterVersion` when it grew), its camera certificates, and the roster's stream key ids.
 */
export async function pinnedAccount(source: SharedSource, pinned: PinnedRoot): Promise<{ cameraCertificates: ListedCameraCertificate[]; rosterKeyIds: Set<string>; rosterVersion: number }> {
  const served = await servedAccount(source, pinned.accountId);
  if (!served || typeof served.roster !== "string" || !Array.isArray(served.cameraCertificates)) fail("E_NOT_FOUND", `the cloud serves no account data for this ${source.holder}'s shares`);
  const rosterBytes = fromBase64Url(served.roster);
  const roster = await source.settle(() => verifyRoster(source.crypto, rosterBytes, pinned.rootCertificate, { minVersion: pinned.rosterVersion, accountId: pinned.accountId }));
  return {
    cameraCertificates: (served.cameraCertificates as unknown[]).filter((c): c is string => typeof c === "string").map((certificate) => ({ certificate })),
    rosterKeyIds: new Set(roster.streamKeys.map((k) => toHex(k.keyId))),
    rosterVersion: roster.version,
  };
}

export interface ListedClip {
  clipId: string;
  cameraId: string;
  sequence: number;
  startTime: number;
  contentType: string;
  /** The share whose key the head lists. */
  shareId: string;
  /** On a snapshot (FORMAT §3.1): the clip id its signed header names. */
  snapshotOf?: string;
  /** On a clip: its snapshot, when a verified snapshot shared with this holder names it (same camera). */
  snapshot?: { snapshotId: string; startTime: number };
}

/**
 * The clips the cloud says are shared with this holder, each kept only if its served head verifies (camera
 * certificate chained to `root`), names the id it was listed under and lists a stream key the holder holds;
 * the others are `refused` with their reason. Snapshots are paired with their clips from verified heads only:
 * the snapshot's signed `of` names the clip, both from the same camera.
 */
export async function listSharedClips(
  source: SharedSource, root: Certificate, cameraCertificates: ListedCameraCertificate[], shares: HeldScope[],
): Promise<{ clips: ListedClip[]; refused: { clipId: string; reason: string }[]; snapshots: ListedClip[] }> {
  const listing = (await (await source.request("GET", `/v1/shared/${source.address}/clips`)).json()) as { clips?: { clipId?: unknown }[] };
  if (!Array.isArray(listing.clips)) fail("E_FORMAT", "the cloud's shared clip list is not a list");
  const mine = new Map(shares.map((s) => [s.keyId, s]));
  const clips: ListedClip[] = [];
  const snapshots: ListedClip[] = [];
  const refused: { clipId: string; reason: string }[] = [];
  for (const item of listing.clips) {
    const clipId = typeof item?.clipId === "string" && /^[0-9a-f]{32}$/.test(item.clipId) ? item.clipId : null;
    if (!clipId) {
      refused.push({ clipId: "(invalid id)", reason: "E_FORMAT: the cloud listed a malformed clip id" });
      continue;
    }
    try {
      const bytes = new Uint8Array(await (await source.request("GET", `/v1/shared/${source.address}/clips/${clipId}/head`)).arrayBuffer());
      if (bytes.length > MAX_HEAD_BYTES) fail("E_LIMIT", "the served head is too long");
      const head = await source.settle(() => verifyClipHead(source.crypto, bytes, root, cameraCertificates));
      checkClipBinding(head.header, { clipId });
      const entry = head.header.recipients.find((r) => r.alg === ALG_HPKE_P256_STREAM && mine.has(toHex(r.kid)));
      if (!entry) fail("E_NO_RECIPIENT", `the clip is not wrapped to any stream key this ${source.holder} holds`);
      const listed: ListedClip = { clipId, cameraId: head.cameraId, sequence: head.sequence, startTime: head.startTime, contentType: head.contentType, shareId: mine.get(toHex(entry.kid))!.shareId };
      if (head.header.snapshotOf) snapshots.push({ ...listed, snapshotOf: toHex(head.header.snapshotOf) });
      else clips.push(listed);
    } catch (error) {
      if (!(error instanceof SealcamError) || error.code === "E_NETWORK") throw error;
      refused.push({ clipId, reason: `${error.code}: ${error.message}` });
    }
  }
  for (const c of clips) {
    const snap = snapshots.find((x) => x.snapshotOf === c.clipId && x.cameraId === c.cameraId);
    if (snap) c.snapshot = { snapshotId: snap.clipId, startTime: snap.startTime };
  }
  return { clips, refused, snapshots };
}

/**
 * The held share that opens a clip whose head verified (PROTOCOL §14.10), and the clip's stream (a snapshot,
 * with a signed `of`, is the `snapshot` stream; anything else the `video` stream). No held key listed in the
 * head: why (`whyNotShared`). A key listed but the capture time outside its window: E_SHARE_EXPIRED.
 */
export function chooseShare<S extends HeldScope>(
  holder: string, shares: S[], head: { header: ClipHeader; cameraId: string; startTime: number }, rosterKeyIds: Set<string> | null,
): { share: S; stream: StreamName } {
  const mine = new Map(shares.map((s) => [s.keyId, s]));
  const entry = head.header.recipients.find((r) => r.alg === ALG_HPKE_P256_STREAM && mine.has(toHex(r.kid)));
  const stream: StreamName = head.header.snapshotOf ? "snapshot" : "video";
  if (!entry) whyNotShared(holder, shares, head.cameraId, head.startTime, rosterKeyIds, stream);
  const share = mine.get(toHex(entry.kid))!;
  if (!scopeCovers(share.scope, { cameraId: head.cameraId, stream, captureTime: head.startTime })) {
    fail("E_SHARE_EXPIRED", `clip captured at ${new Date(head.startTime).toISOString()} is outside share ${share.shareId}'s window; not opened`);
  }
  return { share, stream };
}

/**
 * Why this holder cannot open a clip whose (verified) head has no entry for its keys — PROTOCOL §14.10:
 * E_SHARE_EXPIRED when a held key's scope covers the clip's camera and stream but its capture time is
 * outside the key's window; else E_SHARE_REVOKED when a held key's scope covers the clip entirely but the
 * account's current roster (verified; null: not known) no longer lists that key; else E_NO_RECIPIENT.
 */
export function whyNotShared(holder: string, shares: HeldScope[], cameraId: string, startTime: number, rosterKeyIds: Set<string> | null, stream: StreamName): never {
  for (const s of shares) {
    const covers = scopeCovers(s.scope, { cameraId, stream, captureTime: startTime });
    const coversWhere = scopeCovers({ ...s.scope, notBefore: 0, notAfter: null }, { cameraId, stream, captureTime: startTime });
    if (coversWhere && !covers && startTime >= s.scope.notBefore && s.scope.notAfter !== null) {
      fail("E_SHARE_EXPIRED", `share ${s.shareId} ended at ${new Date(s.scope.notAfter).toISOString()}; this clip was captured at ${new Date(startTime).toISOString()}, after it`);
    }
  }
  if (rosterKeyIds) {
    for (const s of shares) {
      if (scopeCovers(s.scope, { cameraId, stream, captureTime: startTime }) && !rosterKeyIds.has(s.keyId)) {
        fail("E_SHARE_REVOKED", `share ${s.shareId} was revoked (the account's current roster no longer lists its key): clips sealed after the camera learned of it are not shared with you`);
      }
    }
  }
  return fail("E_NO_RECIPIENT", `this clip is not shared with this ${holder}: it is not wrapped to any stream key you hold (recorded before the share, by another camera, or outside the share)`);
}

/** Opens a whole sealed clip with the firmware's opener (each part copied as it comes): its plaintext, only once every segment and the footer verified. */
export function openSealedClip(options: OpenerOptions, sealed: Uint8Array): { plaintext: Uint8Array; segments: number } {
  const opener = new ClipOpener(options);
  const parts = opener.push(sealed).map((p) => Uint8Array.from(p));
  const last = opener.end();
  let length = last.plaintext.length;
  for (const p of parts) length += p.length;
  const plaintext = new Uint8Array(length);
  let offset = 0;
  for (const p of [...parts, last.plaintext]) {
    plaintext.set(p, offset);
    offset += p.length;
  }
  return { plaintext, segments: last.segmentCount };
}
