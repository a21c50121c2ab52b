/**
 * A shared user (docs/PROTOCOL.md §14.8–14.10): its own P-256 key, an invite string, the mailbox.
 *
 * Under --home:
 *   viewer.json   public state: cloud URL, this viewer's SPKI, the pinned account (root certificate, account id,
 *                 newest roster version seen) and the accepted shares (id, stream certificate, scope). 0600.
 *   keystore.json this viewer's private scalar and each accepted stream key's private scalar (hex). 0600.
 *
 * Trust: the first accepted share pins its account root (trust on first use); `accept` prints the root's
 * fingerprint for the viewer to compare with the owner's. Afterwards a share from another root is refused
 * (E_FOREIGN_ACCOUNT). The owner compares this viewer's key fingerprint before sharing (the out-of-band check
 * of the other direction).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as nodeCrypto from "node:crypto";
import { constantTimeEqual, fromBase64Url, fromHex, toBase64Url, toHex, wipe } from "../../firmware/core/bytes";
import { CONTENT_TYPE_FRAMES } from "../../firmware/core/clip/constants";
import { ClipOpener, streamKeyUnwrapper } from "../../firmware/core/clip/opener";
import { FrameReader } from "../../firmware/core/clip/frames";
import { parseClipHead } from "../../firmware/core/clip/head";
import { fail, SealcamError, type ErrorCode } from "../../firmware/core/errors";
import { spkiFromP256 } from "../../firmware/core/keys";
import { scopeCovers, type StreamScope } from "../../firmware/core/stream-scope";
import { parseCertificate } from "../../firmware/core/x509";
import type { P256PrivateKey } from "../../firmware/platform/crypto";
import { writeFileAtomic } from "../cloud/files";
import { proofMessage } from "../cloud/mailbox";
import { NodeCrypto } from "../platform/node-crypto";
import {
  checkClipShareEnvelope, encodeInvite, fingerprint, givenClipKeyUnwrapper, openClipShareEnvelope, openClipShareKeyEnvelope, openShareEnvelope,
  parseClipShareEnvelope, parseClipShareToken, parseMailboxEnvelope, parseShareEnvelope, scopeValue,
} from "../phone/share-envelope";
import { cameraIdentity, checkClipBinding, verifyClipHead } from "../phone/verify-head";
import { cloudFetch } from "../phone/client";
import { liveCamera, liveSocketUrl, runLiveSession, type LiveOptions, type LiveReport } from "../phone/live";
import { isCameraId } from "../../firmware/core/request-auth";
import { acceptMailbox, chooseShare, currentRosterKeyIds, listSharedClips, openSealedClip, pinnedAccount, type ListedClip, type SharedSource } from "./shared-clips";

export interface ViewerShare {
  shareId: string;
  accountId: string;
  streamCertificate: string; // base64url DER
  keyId: string; // hex SHA-256 of the stream SPKI
  scope: StreamScope;
  acceptedAt: number;
}

/** One clip shared with this viewer (PROTOCOL §14.11): its TDSK's address and the verified clip share envelope. */
export interface ViewerClipShare {
  shareId: string;
  accountId: string;
  clipId: string;
  headHash: string;
  notAfter: number;
  /** Hex SHA-256 of the TDSK's SPKI: where the cloud keeps the share, and the TDSK's key id in the keystore. */
  address: string;
  /** The TDSK's SPKI, base64url. */
  spki: string;
  /** The clip share envelope, base64url (verified when accepted; verified again on open). */
  envelope: string;
  acceptedAt: number;
}

export interface ViewerState {
  version: 1;
  cloud: string;
  spki: string; // base64url
  account: { accountId: string; rootCertificate: string; rosterVersion: number } | null;
  shares: ViewerShare[];
  clipShares?: ViewerClipShare[];
}

interface Keystore { version: 1; kind: "sealcam-viewer-keys"; viewer: string; streams: Record<string, string>; clipShares?: Record<string, string> }

/** One clip (or snapshot) shared with this viewer, its head verified (shared-clips.ts, as the web viewer lists it). */
export type SharedClip = ListedClip;

const MAX_SHARED_CLIP_BYTES = 2 * 1024 * 1024 * 1024;

export class Viewer {
  readonly crypto = new NodeCrypto();
  /** `now`: this viewer's clock (ms since the epoch), which decides when a clip share has ended. */
  constructor(readonly home: string, readonly cloudOverride?: string, readonly now: () => number = Date.now) {}

  get statePath(): string {
    return path.join(this.home, "viewer.json");
  }
  get keystorePath(): string {
    return path.join(this.home, "keystore.json");
  }

  state(): ViewerState {
    let text: string;
    try {
      text = fs.readFileSync(this.statePath, "utf8");
    } catch {
      return fail("E_STATE", `no viewer in ${this.home}: run 'sealcam viewer init --home ${this.home} --cloud URL' first`);
    }
    return JSON.parse(text) as ViewerState;
  }

  #save(state: ViewerState): void {
    fs.mkdirSync(this.home, { recursive: true, mode: 0o700 });
    writeFileAtomic(this.statePath, new Uint8Array(Buffer.from(JSON.stringify(state, null, 2) + "\n")));
    fs.chmodSync(this.statePath, 0o600);
  }

  #keys(): Keystore {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(this.keystorePath);
    } catch {
      return fail("E_STATE", `no viewer keystore in ${this.home}`);
    }
    if ((stat.mode & 0o077) !== 0) fail("E_STATE", `keystore ${this.keystorePath} must be readable by its owner only (chmod 600)`);
    return JSON.parse(fs.readFileSync(this.keystorePath, "utf8")) as Keystore;
  }

  #saveKeys(keys: Keystore): void {
    fs.mkdirSync(this.home, { recursive: true, mode: 0o700 });
    writeFileAtomic(this.keystorePath, new Uint8Array(Buffer.from(JSON.stringify(keys))));
    fs.chmodSync(this.keystorePath, 0o600);
  }

  #import(hex: string): P256PrivateKey {
    const scalar = fromHex(hex);
    try {
      return this.crypto.p256Import(scalar);
    } finally {
      wipe(scalar);
    }
  }

  get cloud(): string {
    return this.cloudOverride ?? this.state().cloud;
  }

  /** This viewer's mailbox address: hex SHA-256 of its SPKI. */
  address(): string {
    return toHex(this.crypto.sha256(fromBase64Url(this.state().spki)));
  }

  /** Makes the viewer's key pair. Returns the invite string and the key's fingerprint. */
  init(cloud: string): { invite: string; fingerprint: string } {
    if (fs.existsSync(this.keystorePath)) fail("E_STATE", `${this.home} already holds a viewer`);
    if (!/^https?:\/\/[^\s/]+\/?$/.test(cloud)) fail("E_ARGUMENT", `--cloud must be an http(s) URL, not '${cloud}'`);
    const key = this.crypto.p256Generate();
    const spki = spkiFromP256(this.crypto.p256PublicKey(key));
    const scalar = this.crypto.p256Export(key);
    this.crypto.p256Destroy(key);
    this.#saveKeys({ version: 1, kind: "sealcam-viewer-keys", viewer: toHex(scalar), streams: {} });
    wipe(scalar);
    this.#save({ version: 1, cloud, spki: toBase64Url(spki), account: null, shares: [] });
    return { invite: encodeInvite(spki), fingerprint: fingerprint(this.crypto, spki) };
  }

  invite(): { invite: string; fingerprint: string } {
    const spki = fromBase64Url(this.state().spki);
    return { invite: encodeInvite(spki), fingerprint: fingerprint(this.crypto, spki) };
  }

  /** One proof-protected request (a fresh challenge each time), with this viewer's key or `as` (a TDSK's). */
  async #request(method: string, pathName: string, as?: { scalarHex: string; spki: string }): Promise<Response> {
    const headers = await this.#proof(method, pathName, as);
    return cloudFetch(this.cloud.replace(/\/$/, ""), pathName, { method, headers });
  }

  /**
   * The proof of a key for one request (PROTOCOL §14.9): a fresh challenge for the key's address, and the
   * ECDSA signature over METHOD and `target`. With this viewer's key, or `as` (a TDSK's, or a stream key's).
   */
  async #proof(method: string, target: string, as?: { scalarHex: string; spki: string }): Promise<Record<string, string>> {
    const base = this.cloud.replace(/\/$/, "");
    const spki = as ? as.spki : this.state().spki;
    const to = toHex(this.crypto.sha256(fromBase64Url(spki)));
    const { nonce } = (await (await cloudFetch(base, `/v1/mailbox/${to}/challenge`, { method: "GET" })).json()) as { nonce: string };
    if (typeof nonce !== "string" || !/^[0-9a-f]{32}$/.test(nonce)) fail("E_FORMAT", "the cloud's challenge is malformed");
    const key = this.#import(as ? as.scalarHex : this.#keys().viewer);
    try {
      const sig = this.crypto.ecdsaP256Sign(key, proofMessage(to, nonce, method, target));
      return { "x-sealcam-viewer-key": spki, "x-sealcam-nonce": nonce, "x-sealcam-proof": toBase64Url(sig) };
    } finally {
      this.crypto.p256Destroy(key);
    }
  }

  /** For tests and tools: the proof headers for one request (a fresh challenge). */
  async proofHeaders(method: string, pathName: string): Promise<Record<string, string>> {
    return this.#proof(method, pathName);
  }


  /**
   * Fetches the mailbox and accepts each envelope that verifies (share-envelope.ts openShareEnvelope; the
   * first pins the account root). Each refused envelope is reported with its code and left in the mailbox;
   * nothing is stored for it. Accepted ones are deleted from the mailbox.
   */
  async accept(): Promise<{ accepted: ViewerShare[]; acceptedClips: ViewerClipShare[]; refused: { id: string; code: string; message: string }[]; rootFingerprint: string | null; pinnedNow: boolean }> {
    const accepted: ViewerShare[] = [];
    const acceptedClips: ViewerClipShare[] = [];
    const { refused, pinnedNow } = await acceptMailbox(this.#source(), async (text) => {
      const bytes = fromBase64Url(text);
      if (parseMailboxEnvelope(bytes).kind === "clip-key") {
        const clip = await this.acceptClipShareKey(bytes);
        acceptedClips.push(clip.share);
        return clip;
      }
      const share = await this.acceptShare(bytes);
      accepted.push(share.share);
      return share;
    });
    const account = this.state().account;
    return { accepted, acceptedClips, refused, rootFingerprint: account ? fingerprint(this.crypto, fromBase64Url(account.rootCertificate)) : null, pinnedNow };
  }

  /**
   * Accepts a share envelope only if the sharing account's current roster (fetched through the proof route,
   * verified against the envelope's root and never older than the newest seen) still lists its stream key:
   * a revoked share's envelope, replayed, is E_SHARE_REVOKED and nothing is stored.
   */
  async acceptShare(bytes: Uint8Array): Promise<{ share: ViewerShare; pinnedNow: boolean }> {
    const envelope = parseShareEnvelope(bytes);
    this.#checkPinned(envelope.root, envelope.facts.accountId);
    const pinned = this.state().account;
    return this.acceptEnvelope(bytes, await currentRosterKeyIds(this.#source(), envelope.root, envelope.facts.accountId, pinned ? pinned.rosterVersion : 1));
  }

  /**
   * Verifies one envelope and stores its stream key (0600); with `rosterKeyIds` (the current roster's stream
   * keys), a key not listed is E_SHARE_REVOKED. Throws its typed error; stores nothing then.
   */
  acceptEnvelope(bytes: Uint8Array, rosterKeyIds?: Set<string>): { share: ViewerShare; pinnedNow: boolean } {
    const state = this.state();
    const envelope = parseShareEnvelope(bytes);
    if (state.account) {
      if (!constantTimeEqual(envelope.root, fromBase64Url(state.account.rootCertificate)) || envelope.facts.accountId !== state.account.accountId) {
        fail("E_FOREIGN_ACCOUNT", `this share is signed by another account (${envelope.facts.accountId.slice(0, 40)}) than the one this viewer pinned (${state.account.accountId}); it was not accepted`);
      }
    }
    const keys = this.#keys();
    const viewerKey = this.#import(keys.viewer);
    let opened;
    try {
      opened = openShareEnvelope(this.crypto, envelope, this.address(), viewerKey);
    } finally {
      this.crypto.p256Destroy(viewerKey);
    }
    const keyId = toHex(this.crypto.sha256(opened.stream.spki));
    const scalar = this.crypto.p256Export(opened.key);
    this.crypto.p256Destroy(opened.key);
    if (rosterKeyIds && !rosterKeyIds.has(keyId)) {
      wipe(scalar);
      fail("E_SHARE_REVOKED", `share ${envelope.facts.shareId} was revoked: the account's current roster no longer lists its key; nothing was accepted`);
    }
    const existing = state.shares.find((s) => s.shareId === envelope.facts.shareId && s.accountId === envelope.facts.accountId);
    const share: ViewerShare = existing ?? {
      shareId: envelope.facts.shareId, accountId: envelope.facts.accountId, streamCertificate: toBase64Url(envelope.facts.streamCertificate),
      keyId, scope: envelope.facts.scope, acceptedAt: Date.now(),
    };
    this.#saveKeys({ ...keys, streams: { ...keys.streams, [keyId]: toHex(scalar) } });
    wipe(scalar);
    const pinnedNow = state.account === null;
    this.#save({
      ...state,
      account: state.account ?? { accountId: envelope.facts.accountId, rootCertificate: toBase64Url(envelope.root), rosterVersion: 0 },
      shares: existing ? state.shares : [...state.shares, share],
    });
    return { share, pinnedNow };
  }

  /**
   * Accepts a clip share token (`sealcam-share:1:...`, the TDSK private key; PROTOCOL §14.11): fetches the clip
   * share envelope from the TDSK's address with a proof of that key, verifies it (#acceptClipShare) and keeps
   * the TDSK (0600). Throws its typed error; stores nothing then.
   */
  async acceptToken(token: string): Promise<{ share: ViewerClipShare; pinnedNow: boolean }> {
    const scalar = parseClipShareToken(token);
    let spki: Uint8Array;
    try {
      const key = this.crypto.p256Import(scalar);
      spki = spkiFromP256(this.crypto.p256PublicKey(key));
      this.crypto.p256Destroy(key);
    } catch {
      wipe(scalar);
      return fail("E_FORMAT", "clip share token: not a P-256 private key");
    }
    const scalarHex = toHex(scalar);
    wipe(scalar);
    return this.#acceptClipShare(scalarHex, spki);
  }

  /** Accepts a clip share key envelope from the mailbox (a TDSK delivered to this viewer), then its clip share. */
  async acceptClipShareKey(bytes: Uint8Array): Promise<{ share: ViewerClipShare; pinnedNow: boolean }> {
    const message = parseMailboxEnvelope(bytes);
    if (message.kind !== "clip-key") return fail("E_FORMAT", "not a clip share key envelope");
    this.#checkPinned(message.envelope.root, message.envelope.facts.accountId);
    const viewerKey = this.#import(this.#keys().viewer);
    let tdsk: P256PrivateKey;
    try {
      tdsk = openClipShareKeyEnvelope(this.crypto, message.envelope, this.address(), viewerKey);
    } finally {
      this.crypto.p256Destroy(viewerKey);
    }
    const scalar = this.crypto.p256Export(tdsk);
    this.crypto.p256Destroy(tdsk);
    const scalarHex = toHex(scalar);
    wipe(scalar);
    return this.#acceptClipShare(scalarHex, message.envelope.facts.key);
  }

  #checkPinned(root: Uint8Array, accountId: string): void {
    const account = this.state().account;
    if (account && (!constantTimeEqual(root, fromBase64Url(account.rootCertificate)) || accountId !== account.accountId)) {
      fail("E_FOREIGN_ACCOUNT", `this share is signed by another account (${accountId.slice(0, 40)}) than the one this viewer pinned (${account.accountId}); it was not accepted`);
    }
  }

  async #acceptClipShare(scalarHex: string, spki: Uint8Array): Promise<{ share: ViewerClipShare; pinnedNow: boolean }> {
    const address = toHex(this.crypto.sha256(spki));
    const as = { scalarHex, spki: toBase64Url(spki) };
    const reply = (await (await this.#request("GET", `/v1/clip-shares/${address}`, as)).json()) as { envelope?: unknown };
    if (typeof reply.envelope !== "string" || !/^[A-Za-z0-9_-]+$/.test(reply.envelope)) fail("E_FORMAT", "the cloud's clip share is malformed");
    const bytes = fromBase64Url(reply.envelope);
    const envelope = parseClipShareEnvelope(bytes);
    this.#checkPinned(envelope.root, envelope.facts.accountId);
    if (!constantTimeEqual(envelope.facts.key, spki)) fail("E_MISADDRESSED", "the cloud served a clip share sealed to another key; it was not accepted");
    checkClipShareEnvelope(this.crypto, envelope);
    if (this.now() >= envelope.facts.notAfter) fail("E_SHARE_EXPIRED", `this clip share ended at ${new Date(envelope.facts.notAfter).toISOString()}; ask the owner for a new one`);
    const state = this.state();
    const keys = this.#keys();
    const f = envelope.facts;
    const share: ViewerClipShare = {
      shareId: f.shareId, accountId: f.accountId, clipId: f.clipId, headHash: f.headHash, notAfter: f.notAfter, address, spki: toBase64Url(spki),
      envelope: reply.envelope, acceptedAt: Date.now(),
    };
    this.#saveKeys({ ...keys, clipShares: { ...(keys.clipShares ?? {}), [address]: scalarHex } });
    const pinnedNow = state.account === null;
    this.#save({
      ...state,
      account: state.account ?? { accountId: f.accountId, rootCertificate: toBase64Url(envelope.root), rosterVersion: 0 },
      clipShares: [...(state.clipShares ?? []).filter((c) => c.address !== address), share],
    });
    return { share, pinnedNow };
  }

  /**
   * Opens a clip shared on its own (a clip share): the clip and the account's camera certificates fetched with a
   * proof of the TDSK, the head verified against the pinned root and bound to the id, then the envelope opened
   * for exactly this clip id and head hash (E_MISADDRESSED) before its notAfter (E_SHARE_EXPIRED), and the clip
   * opened with the firmware's opener (the key must match the signed commitment; every segment, the footer).
   */
  async #openClipShare(share: ViewerClipShare, file: string | null): Promise<{ plaintext: Uint8Array; clipId: string; cameraId: string; contentType: string }> {
    const keys = this.#keys();
    const scalarHex = keys.clipShares?.[share.address] ?? fail("E_STATE", `the key of clip share ${share.shareId} is missing from the keystore`);
    const as = { scalarHex, spki: share.spki };
    if (this.now() >= share.notAfter) fail("E_SHARE_EXPIRED", `clip share ${share.shareId} ended at ${new Date(share.notAfter).toISOString()}; ask the owner for a new one`);
    const state = this.state();
    const root = parseCertificate(fromBase64Url(state.account!.rootCertificate));
    const listing = (await (await this.#request("GET", `/v1/shared/${share.address}/accounts`, as)).json()) as { accounts?: { accountId?: unknown; cameraCertificates?: unknown }[] };
    const account = Array.isArray(listing.accounts) ? listing.accounts.find((a) => a?.accountId === share.accountId) : undefined;
    // The cloud lists the account for a clip share only while the share is stored and has not ended.
    if (!account || !Array.isArray(account.cameraCertificates)) fail("E_SHARE_REVOKED", `the cloud no longer serves clip share ${share.shareId}: the owner withdrew it`);
    const cameraCertificates = (account.cameraCertificates as unknown[]).filter((c): c is string => typeof c === "string").map((certificate) => ({ certificate }));
    let sealed: Uint8Array;
    if (file) sealed = new Uint8Array(fs.readFileSync(file));
    else {
      const res = await this.#request("GET", `/v1/shared/${share.address}/clips/${share.clipId}`, as);
      const declared = Number(res.headers.get("content-length") ?? "0");
      if (declared > MAX_SHARED_CLIP_BYTES) fail("E_LIMIT", "the clip is larger than this viewer accepts");
      sealed = new Uint8Array(await res.arrayBuffer());
    }
    const head = parseClipHead(sealed);
    const headBytes = sealed.subarray(0, head.headLength);
    const verified = verifyClipHead(this.crypto, headBytes, root, cameraCertificates);
    const tdsk = this.#import(scalarHex);
    let clipKey: Uint8Array;
    try {
      clipKey = openClipShareEnvelope(this.crypto, parseClipShareEnvelope(fromBase64Url(share.envelope)), tdsk, { clipId: verified.clipId, headHash: toHex(this.crypto.sha256(headBytes)) }, this.now());
    } finally {
      this.crypto.p256Destroy(tdsk);
    }
    try {
      const opener = new ClipOpener({
        crypto: this.crypto, unwrappers: [givenClipKeyUnwrapper(verified.header.recipients, clipKey)],
        camera: (header) => cameraIdentity(this.crypto, header, root, cameraCertificates),
      });
      const parts = opener.push(sealed).map((p) => Uint8Array.from(p));
      const last = opener.end();
      return { plaintext: Buffer.concat([...parts, last.plaintext]), clipId: verified.clipId, cameraId: verified.cameraId, contentType: verified.contentType };
    } finally {
      wipe(clipKey);
    }
  }

  /** The sharing account as the cloud serves it: its current roster verified against the pinned root, camera certificates. */
  async #account(): Promise<{ cameraCertificates: { certificate: string }[]; rosterKeyIds: Set<string> }> {
    const state = this.state();
    if (!state.account) fail("E_STATE", "this viewer has accepted no share yet: run 'sealcam viewer accept'");
    const pinned = { ...state.account, rootCertificate: fromBase64Url(state.account.rootCertificate) };
    const served = await pinnedAccount(this.#source(), pinned);
    if (served.rosterVersion > state.account.rosterVersion) this.#save({ ...state, account: { ...state.account, rosterVersion: served.rosterVersion } });
    return served;
  }

  /** This viewer as a stream-key holder, for the code it shares with the web viewer (shared-clips.ts). */
  #source(): SharedSource {
    return { crypto: this.crypto, holder: "viewer", address: this.address(), request: (method, pathName) => this.#request(method, pathName), settle: async (run) => run() };
  }

  /** The clips the cloud says are shared with this viewer, each verified by its signed head (camera cert chains to the pinned root). */
  async clips(): Promise<{ clips: SharedClip[]; refused: { clipId: string; reason: string }[]; snapshots: SharedClip[] }> {
    const state = this.state();
    if (!state.account) return { clips: [], refused: [], snapshots: [] };
    const root = parseCertificate(fromBase64Url(state.account.rootCertificate));
    const { cameraCertificates } = await this.#account();
    return listSharedClips(this.#source(), root, cameraCertificates, state.shares);
  }

  /**
   * Opens a shared clip (an id the cloud serves to this viewer, or a sealed file) with the firmware's opener
   * and only this viewer's stream keys (streamKeyUnwrapper). The head is verified first (camera certificate
   * chains to the pinned root); a clip not wrapped to a held key gets its reason (#whyNot); a clip wrapped to
   * a held key but captured outside that key's window is E_SHARE_EXPIRED. Plaintext goes to `out` and/or
   * frames to `framesDir` only after the footer verifies.
   */
  async open(clip: string, out?: string, framesDir?: string): Promise<{ clipId: string; cameraId: string; bytes: number; frames: number; shareId: string }> {
    if (!out && !framesDir) fail("E_ARGUMENT", "open needs somewhere to write: --out FILE or --frames DIR");
    const state = this.state();
    if (!state.account) fail("E_STATE", "this viewer has accepted no share yet: run 'sealcam viewer accept'");
    // A clip shared on its own: by its id, or a sealed file whose head names its id.
    const isFile = fs.existsSync(clip);
    const clipIdAsked = isFile ? toHex(parseClipHead(new Uint8Array(fs.readFileSync(clip))).header.clipId) : clip;
    const clipShare = (state.clipShares ?? []).find((c) => c.clipId === clipIdAsked);
    if (clipShare) {
      const opened = await this.#openClipShare(clipShare, isFile ? clip : null);
      const frames = this.#write(opened.plaintext, opened.contentType, out, framesDir);
      return { clipId: opened.clipId, cameraId: opened.cameraId, bytes: opened.plaintext.length, frames, shareId: clipShare.shareId };
    }
    if (state.shares.length === 0) fail("E_NO_RECIPIENT", "this clip is not shared with this viewer: it holds no stream key and no clip share for it");
    const root = parseCertificate(fromBase64Url(state.account.rootCertificate));
    const account = await this.#account();
    let sealed: Uint8Array;
    if (fs.existsSync(clip)) sealed = new Uint8Array(fs.readFileSync(clip));
    else {
      if (!/^[0-9a-f]{32}$/.test(clip)) fail("E_ARGUMENT", `'${clip}' is neither a file nor a clip id (32 hex characters; see 'sealcam viewer clips')`);
      try {
        const res = await this.#request("GET", `/v1/shared/${this.address()}/clips/${clip}`);
        const declared = Number(res.headers.get("content-length") ?? "0");
        if (declared > MAX_SHARED_CLIP_BYTES) fail("E_LIMIT", "the clip is larger than this viewer accepts");
        sealed = new Uint8Array(await res.arrayBuffer());
      } catch (error) {
        if (error instanceof SealcamError && error.code === "E_NOT_FOUND") {
          // The cloud serves only clips wrapped to a held key: without the head, only revocation can be told.
          const live = state.shares.filter((s) => account.rosterKeyIds.has(s.keyId));
          if (state.shares.length > 0 && live.length === 0) fail("E_SHARE_REVOKED", "every share this viewer holds was revoked (the account's current roster lists none of its keys); clips shared before stay readable, this one is not shared with you");
          fail("E_NO_RECIPIENT", "the cloud holds no clip with this id that is wrapped to a stream key you hold");
        }
        throw error;
      }
    }
    const head = parseClipHead(sealed);
    const headBytes = sealed.subarray(0, head.headLength);
    const verified = verifyClipHead(this.crypto, headBytes, root, account.cameraCertificates);
    if (!fs.existsSync(clip)) checkClipBinding(verified.header, { clipId: clip });
    const { share } = chooseShare("viewer", state.shares, verified, account.rosterKeyIds);
    const keys = this.#keys();
    const streamKey = this.#import(keys.streams[share.keyId] ?? fail("E_STATE", `the key of share ${share.shareId} is missing from the keystore`));
    let plaintext: Uint8Array;
    try {
      plaintext = openSealedClip({
        crypto: this.crypto, unwrappers: [streamKeyUnwrapper(this.crypto, fromHex(share.keyId), streamKey)],
        camera: (header) => cameraIdentity(this.crypto, header, root, account.cameraCertificates),
      }, sealed).plaintext;
    } finally {
      this.crypto.p256Destroy(streamKey);
    }
    const frames = this.#write(plaintext, verified.contentType, out, framesDir);
    return { clipId: verified.clipId, cameraId: verified.cameraId, bytes: plaintext.length, frames, shareId: share.shareId };
  }

  /** Writes verified plaintext: frames (JPEG) to `framesDir`, the bytes to `out` (via a temporary name). */
  #write(plaintext: Uint8Array, contentType: string, out: string | undefined, framesDir: string | undefined): number {
    let frames = 0;
    if (framesDir && contentType === CONTENT_TYPE_FRAMES) {
      fs.mkdirSync(framesDir, { recursive: true });
      const reader = new FrameReader();
      for (const frame of reader.push(plaintext)) {
        frames++;
        fs.writeFileSync(path.join(framesDir, `frame-${String(frames).padStart(5, "0")}-${frame.time}.jpg`), frame.jpeg, { mode: 0o600 });
      }
      reader.end();
    }
    if (out) {
      const partial = `${path.resolve(out)}.partial-${nodeCrypto.randomBytes(6).toString("hex")}`;
      fs.writeFileSync(partial, plaintext, { mode: 0o600, flag: "wx" });
      fs.renameSync(partial, path.resolve(out));
    }
    return frames;
  }

  /**
   * Watches a camera live with a stream key whose certified scope covers stream `live`, this camera and now
   * (PROTOCOL §13.6): the socket is opened with a proof of that key (the cloud admits it only while the
   * account's current roster lists it so), and the camera's head is verified and opened exactly as a phone
   * does (runLiveSession, host-tools/phone/live.ts) with streamKeyUnwrapper. Several such shares: the newest
   * first, the next one when the cloud says the first was revoked or ended.
   */
  async live(cameraId: string, options: LiveOptions = {}): Promise<LiveReport & { shareId: string }> {
    if (!isCameraId(cameraId)) fail("E_ARGUMENT", "CAMERA must be a camera id (the camera names 'sealcam viewer clips' lists)");
    const state = this.state();
    if (!state.account) fail("E_STATE", "this viewer has accepted no share yet: run 'sealcam viewer accept'");
    const t = this.now();
    const query = { cameraId, stream: "live" as const, captureTime: t };
    const forCamera = state.shares.filter((s) => scopeCovers({ ...s.scope, notBefore: 0, notAfter: null }, query)).sort((a, b) => b.acceptedAt - a.acceptedAt);
    if (forCamera.length === 0) fail("E_NO_RECIPIENT", `none of this viewer's shares includes live view of camera ${cameraId}: ask the owner for one ('sealcam phone share --stream live')`);
    const usable = forCamera.filter((s) => scopeCovers(s.scope, query));
    if (usable.length === 0) {
      const ended = forCamera.find((s) => s.scope.notAfter !== null && t >= s.scope.notAfter);
      if (ended) fail("E_SHARE_EXPIRED", `share ${ended.shareId} ended at ${new Date(ended.scope.notAfter!).toISOString()}; ask the owner for a new one`);
      fail("E_NO_RECIPIENT", `live view of camera ${cameraId} in share ${forCamera[0].shareId} starts at ${new Date(forCamera[0].scope.notBefore).toISOString()}`);
    }
    const root = parseCertificate(fromBase64Url(state.account.rootCertificate));
    const account = await this.#account();
    const keys = this.#keys();
    let last: unknown;
    for (const share of usable) {
      const scalarHex = keys.streams[share.keyId] ?? fail("E_STATE", `the key of share ${share.shareId} is missing from the keystore`);
      const spki = parseCertificate(fromBase64Url(share.streamCertificate)).spki;
      const challenge = this.crypto.randomBytes(16);
      const url = liveSocketUrl(options.cloudUrl ?? this.cloud, cameraId, challenge);
      const target = `/v1/live/${cameraId}?challenge=${toBase64Url(challenge)}`;
      const headers = await this.#proof("GET", target, { scalarHex, spki: toBase64Url(spki) });
      const streamKey = this.#import(scalarHex);
      try {
        const report = await runLiveSession({
          crypto: this.crypto, cameraId, challenge, url, headers,
          camera: (header) => liveCamera(this.crypto, header, cameraId, root, account.cameraCertificates),
          unwrappers: [streamKeyUnwrapper(this.crypto, fromHex(share.keyId), streamKey)],
        }, options);
        return { ...report, shareId: share.shareId };
      } catch (error) {
        last = error;
        if (!(error instanceof SealcamError) || (error.code !== "E_SHARE_REVOKED" && error.code !== "E_SHARE_EXPIRED")) throw error;
      } finally {
        this.crypto.p256Destroy(streamKey);
      }
    }
    throw last;
  }

  /** Accepted shares with their scope (public facts) for `viewer shares`-like listings. */
  shares(): { shareId: string; accountId: string; keyId: string; scope: ReturnType<typeof scopeValue> }[] {
    return this.state().shares.map((s) => ({ shareId: s.shareId, accountId: s.accountId, keyId: s.keyId, scope: scopeValue(s.scope) }));
  }
}
