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
import { fingerprint, parseInvite, sealShareEnvelope } from "./share-envelope";

export interface ShareRequest {
  /** The invite string (SEALCAM-INVITE:1:...). */
  invite: string;
  cameras: string[];
  streams: StreamName[];
  /** ms since the epoch (whole seconds); default now. */
  notBefore?: number;
  /** ms since the epoch; null: a DSK (no end). */
  notAfter: number | null;
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
  const shareId = nodeCrypto.randomBytes(6).toString("hex");
  const scope: StreamScope = { cameras: request.cameras, streams: request.streams, notBefore, notAfter: request.notAfter, holder: `share:${shareId}` };

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
  const holder = share.includes(":") ? share : `share:${share}`;
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
