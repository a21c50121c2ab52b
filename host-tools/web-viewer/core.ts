/**
 * The browser as a key holder (docs/VIEWER.md "Browser-key mode", PROTOCOL §14.8–14.10): the web viewer's
 * logic, without the page. The same steps as the CLI viewer (host-tools/viewer/viewer.ts), with the same
 * firmware/core and share-envelope code, but every private key is a NON-EXTRACTABLE WebCrypto key kept in
 * IndexedDB (store.ts):
 *
 * - identity: one P-256 key pair made by WebCrypto, held as two non-extractable CryptoKeys of the same scalar
 *   (ECDH for HPKE, ECDSA for the mailbox's proof of key; WebCrypto binds a key to one algorithm, so the
 *   freshly generated scalar is imported twice and then dropped: it exists in page memory only for that);
 * - accept: mailbox envelopes verified (account root pinned on first use, E_FOREIGN_ACCOUNT afterwards),
 *   opened by HPKE with the identity's ECDH key; the delivered stream key is imported as a non-extractable
 *   ECDH CryptoKey (its scalar is wiped from page memory at once);
 * - clips: the shared-clip list, each head verified to the pinned root (verify-head.ts);
 * - open: the ciphertext from the cloud (or a sealed file) opened by the firmware's ClipOpener with
 *   `streamKeyUnwrapper` over the held stream key; frames are returned only after the footer verifies.
 *
 * Synchronous firmware code runs over BrowserCrypto through `settle` (browser-crypto.ts). No Node built-ins.
 */
import { asciiBytes, constantTimeEqual, fromBase64Url, fromHex, toBase64Url, toHex, wipe } from "../../firmware/core/bytes";
import { CONTENT_TYPE_FRAMES, CONTENT_TYPE_SNAPSHOT } from "../../firmware/core/clip/constants";
import { FrameReader } from "../../firmware/core/clip/frames";
import { parseClipHead } from "../../firmware/core/clip/head";
import { streamKeyUnwrapper } from "../../firmware/core/clip/opener";
import { fail, SealcamError, type ErrorCode } from "../../firmware/core/errors";
import { spkiFromP256 } from "../../firmware/core/keys";
import type { StreamScope } from "../../firmware/core/stream-scope";
import { parseCertificate } from "../../firmware/core/x509";
import { encodeInvite, fingerprint, openShareEnvelope, parseMailboxEnvelope, parseShareEnvelope } from "../../firmware/core/share-envelope";
import { cameraIdentity, checkClipBinding, verifyClipHead, type ListedCameraCertificate } from "../phone/verify-head";
import { acceptMailbox, chooseShare, currentRosterKeyIds, listSharedClips, openSealedClip, pinnedAccount, type ListedClip, type SharedSource } from "../viewer/shared-clips";
import { BrowserCrypto, HeldKey } from "./browser-crypto";
import type { CryptoKey, CryptoKeyPair, SubtleCrypto, WebCrypto } from "./webcrypto";

/** The mailbox proof's label (host-tools/cloud/mailbox.ts PROOF_LABEL; test/viewer pins them equal). */
export const PROOF_LABEL = "sealcam-v1-mailbox";
/** The most a page downloads for one clip (it holds the clip and its frames in memory). */
export const MAX_BROWSER_CLIP_BYTES = 256 * 1024 * 1024;

/** The bytes a viewer signs to prove it holds the key of mailbox `to` (PROTOCOL §14.9). */
export function proofMessage(to: string, nonce: string, method: string, path: string): Uint8Array {
  return asciiBytes(`${PROOF_LABEL}\n${to}\n${nonce}\n${method} ${path}`);
}

export interface Identity {
  /** Non-extractable ECDH key (HPKE recipient). */
  ecdh: CryptoKey;
  /** Non-extractable ECDSA key of the same scalar (mailbox proof). */
  ecdsa: CryptoKey;
  /** 65-byte uncompressed public point. */
  publicKey: Uint8Array;
  createdAt: number;
}

export interface PinnedAccount {
  accountId: string;
  rootCertificate: Uint8Array;
  rosterVersion: number;
}

export interface HeldShare {
  shareId: string;
  accountId: string;
  streamCertificate: Uint8Array;
  keyId: string; // hex SHA-256 of the stream SPKI
  scope: StreamScope;
  acceptedAt: number;
  /** Non-extractable ECDH key: the stream key's private half. */
  key: CryptoKey;
  publicKey: Uint8Array;
}

/** Where the page keeps its keys and pins (IndexedDB in the page: store.ts). */
export interface ViewerStore {
  identity(): Promise<Identity | undefined>;
  saveIdentity(identity: Identity): Promise<void>;
  account(): Promise<PinnedAccount | undefined>;
  saveAccount(account: PinnedAccount): Promise<void>;
  shares(): Promise<HeldShare[]>;
  saveShare(share: HeldShare): Promise<void>;
}

/** One clip (or snapshot) shared with this browser, its head verified (as the CLI viewer lists it). */
export type SharedClipItem = ListedClip;

export interface OpenedClip {
  clipId: string;
  cameraId: string;
  sequence: number;
  startTime: number;
  shareId: string;
  segments: number;
  frames: { time: number; jpeg: Uint8Array }[];
  recipients: { alg: string; keyId: string; mine: boolean }[];
  /** On a snapshot: the clip its signed header names (its one "frame" is the JPEG). */
  snapshotOf?: string;
}

const b64 = (bytes: Uint8Array): string => toBase64Url(bytes);

/** The part of `fetch` the viewer uses (the page's own fetch). */
export type Fetcher = (url: string, init: { method?: string; headers?: Record<string, string>; cache?: "no-store"; credentials?: "omit" }) => Promise<Response>;

/** Makes the page's identity: WebCrypto generates; the two stored keys are non-extractable. */
export async function createIdentity(subtle: SubtleCrypto, now = Date.now()): Promise<Identity> {
  const pair = (await subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"])) as CryptoKeyPair;
  const jwk = await subtle.exportKey("jwk", pair.privateKey);
  try {
    const ecdh = await subtle.importKey("jwk", { ...jwk, key_ops: ["deriveBits"] }, { name: "ECDH", namedCurve: "P-256" }, false, ["deriveBits"]);
    const ecdsa = await subtle.importKey("jwk", { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, d: jwk.d, key_ops: ["sign"] }, { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
    const publicKey = new Uint8Array(await subtle.exportKey("raw", pair.publicKey));
    return { ecdh, ecdsa, publicKey, createdAt: now };
  } finally {
    jwk.d = "";
  }
}

/** Imports a delivered stream scalar as a non-extractable ECDH key, and wipes the scalar. */
async function holdStreamKey(subtle: SubtleCrypto, scalar: Uint8Array, point: Uint8Array): Promise<CryptoKey> {
  try {
    return await subtle.importKey(
      "jwk", { kty: "EC", crv: "P-256", d: b64(scalar), x: b64(point.subarray(1, 33)), y: b64(point.subarray(33)), key_ops: ["deriveBits"] },
      { name: "ECDH", namedCurve: "P-256" }, false, ["deriveBits"],
    );
  } finally {
    wipe(scalar);
  }
}

export class WebViewer {
  readonly crypto: BrowserCrypto;
  readonly subtle: SubtleCrypto;

  /** `webCrypto` is the page's `crypto`; `fetcher` its `fetch` (requests go to `base`, the cloud that served the page). */
  constructor(readonly store: ViewerStore, readonly base: string, webCrypto: WebCrypto, readonly fetcher: Fetcher) {
    this.crypto = new BrowserCrypto(webCrypto);
    this.subtle = webCrypto.subtle;
  }

  async #identity(): Promise<Identity> {
    return (await this.store.identity()) ?? fail("E_STATE", "this browser has no viewer key yet: reload the page to make one");
  }

  /** The identity, made on first use. `created` says whether it was made now. */
  async ensureIdentity(): Promise<{ identity: Identity; created: boolean }> {
    const existing = await this.store.identity();
    if (existing) return { identity: existing, created: false };
    const identity = await createIdentity(this.subtle);
    await this.store.saveIdentity(identity);
    return { identity, created: true };
  }

  /** Invite string (same format as `sealcam viewer init`), key fingerprint (same function), mailbox address. */
  async invite(): Promise<{ invite: string; fingerprint: string; address: string }> {
    const spki = spkiFromP256((await this.#identity()).publicKey);
    return { invite: encodeInvite(spki), fingerprint: fingerprint(this.crypto, spki), address: toHex(this.crypto.sha256(spki)) };
  }

  async #fetch(path: string, init: { method?: string; headers?: Record<string, string> } = {}): Promise<Response> {
    let res: Response;
    try {
      res = await this.fetcher(this.base.replace(/\/$/, "") + path, { ...init, cache: "no-store", credentials: "omit" });
    } catch (error) {
      throw new SealcamError("E_NETWORK", `cannot reach the cloud: ${(error as Error).message}`);
    }
    if (!res.ok) {
      let code: ErrorCode = "E_NETWORK";
      let message = `the cloud answered ${res.status}`;
      try {
        const j = (await res.json()) as { code?: unknown; message?: unknown };
        if (typeof j.code === "string" && /^E_[A-Z_]+$/.test(j.code)) code = j.code as ErrorCode;
        if (typeof j.message === "string") message = j.message.slice(0, 300);
      } catch {
        // not JSON
      }
      throw new SealcamError(code, message);
    }
    return res;
  }

  /** One proof-protected request: a fresh challenge, signed by the non-extractable ECDSA key. */
  async #request(method: string, path: string): Promise<Response> {
    const identity = await this.#identity();
    const spki = spkiFromP256(identity.publicKey);
    const to = toHex(this.crypto.sha256(spki));
    const { nonce } = (await (await this.#fetch(`/v1/mailbox/${to}/challenge`)).json()) as { nonce?: unknown };
    if (typeof nonce !== "string" || !/^[0-9a-f]{32}$/.test(nonce)) fail("E_FORMAT", "the cloud's challenge is malformed");
    const sig = new Uint8Array(await this.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, identity.ecdsa, proofMessage(to, nonce, method, path)));
    return this.#fetch(path, { method, headers: { "x-sealcam-viewer-key": b64(spki), "x-sealcam-nonce": nonce, "x-sealcam-proof": b64(sig) } });
  }

  async #address(): Promise<string> {
    return toHex(this.crypto.sha256(spkiFromP256((await this.#identity()).publicKey)));
  }

  /**
   * Fetches the mailbox and accepts each envelope that verifies (the first pins the account root); refused
   * ones are reported with their code and left in the mailbox, nothing stored for them.
   */
  async accept(): Promise<{ accepted: HeldShare[]; refused: { id: string; code: string; message: string }[]; rootFingerprint: string | null; pinnedNow: boolean }> {
    const accepted: HeldShare[] = [];
    const { refused, pinnedNow } = await acceptMailbox(await this.#source(), async (text) => {
      if (!/^[A-Za-z0-9_-]+$/.test(text)) fail("E_FORMAT", "message has no envelope");
      const bytes = fromBase64Url(text);
      if (parseMailboxEnvelope(bytes).kind === "clip-key") {
        fail("E_STATE", "this is a single-clip share (PROTOCOL §14.11); this page accepts stream-key shares only: open it with 'sealcam viewer accept'");
      }
      const result = await this.acceptEnvelope(bytes);
      accepted.push(result.share);
      return result;
    });
    const account = await this.store.account();
    return { accepted, refused, rootFingerprint: account ? fingerprint(this.crypto, account.rootCertificate) : null, pinnedNow };
  }

  /** Verifies and opens one envelope; stores the stream key non-extractable. Throws its typed error, storing nothing. */
  async acceptEnvelope(bytes: Uint8Array): Promise<{ share: HeldShare; pinnedNow: boolean }> {
    const identity = await this.#identity();
    const account = await this.store.account();
    const envelope = parseShareEnvelope(bytes);
    if (account && (!constantTimeEqual(envelope.root, account.rootCertificate) || envelope.facts.accountId !== account.accountId)) {
      fail("E_FOREIGN_ACCOUNT", `this share is signed by another account (${envelope.facts.accountId.slice(0, 40)}) than the one this browser pinned (${account.accountId}); it was not accepted`);
    }
    const address = await this.#address();
    const viewerKey = new HeldKey(identity.ecdh, identity.publicKey);
    const { scalar, point } = await this.crypto.settle(() => {
      const opened = openShareEnvelope(this.crypto, envelope, address, viewerKey);
      try {
        return { scalar: this.crypto.p256Export(opened.key), point: this.crypto.p256PublicKey(opened.key) };
      } finally {
        this.crypto.p256Destroy(opened.key);
      }
    });
    const keyId = toHex(this.crypto.sha256(spkiFromP256(point)));
    // As `sealcam viewer accept`: only while the account's current roster (verified against the envelope's
    // root, never older than the newest seen) lists the key; a revoked share's envelope, replayed, is refused.
    let rosterKeyIds: Set<string>;
    try {
      rosterKeyIds = await currentRosterKeyIds(await this.#source(), envelope.root, envelope.facts.accountId, account ? account.rosterVersion : 1);
    } catch (error) {
      wipe(scalar);
      throw error;
    }
    if (!rosterKeyIds.has(keyId)) {
      wipe(scalar);
      fail("E_SHARE_REVOKED", `share ${envelope.facts.shareId} was revoked: the account's current roster no longer lists its key; nothing was accepted`);
    }
    const key = await holdStreamKey(this.subtle, scalar, point);
    const shares = await this.store.shares();
    const existing = shares.find((s) => s.shareId === envelope.facts.shareId && s.accountId === envelope.facts.accountId);
    const share: HeldShare = existing ?? {
      shareId: envelope.facts.shareId, accountId: envelope.facts.accountId, streamCertificate: envelope.facts.streamCertificate,
      keyId, scope: envelope.facts.scope, acceptedAt: Date.now(), key, publicKey: point,
    };
    if (!existing) await this.store.saveShare(share);
    const pinnedNow = account === undefined;
    if (pinnedNow) await this.store.saveAccount({ accountId: envelope.facts.accountId, rootCertificate: envelope.root, rosterVersion: 0 });
    return { share, pinnedNow };
  }

  /** The pinned account's root fingerprint (to compare with the owner's), or null before the first share. */
  async rootFingerprint(): Promise<string | null> {
    const account = await this.store.account();
    return account ? fingerprint(this.crypto, account.rootCertificate) : null;
  }

  /** The sharing account as the cloud serves it: its current roster verified against the pinned root, camera certificates. */
  async #account(account: PinnedAccount): Promise<{ cameraCertificates: ListedCameraCertificate[]; rosterKeyIds: Set<string> }> {
    const served = await pinnedAccount(await this.#source(), account);
    if (served.rosterVersion > account.rosterVersion) await this.store.saveAccount({ ...account, rosterVersion: served.rosterVersion });
    return served;
  }

  /** This browser as a stream-key holder, for the code it shares with the CLI viewer (host-tools/viewer/shared-clips.ts). */
  async #source(): Promise<SharedSource> {
    return { crypto: this.crypto, holder: "browser", address: await this.#address(), request: (method, path) => this.#request(method, path), settle: (run) => this.crypto.settle(run) };
  }

  async #pinned(): Promise<PinnedAccount> {
    return (await this.store.account()) ?? fail("E_STATE", "this browser has accepted no share yet: give the owner your invite, then check the mailbox");
  }

  /** The clips the cloud says are shared with this browser, each verified by its signed head. */
  async clips(): Promise<{ clips: SharedClipItem[]; refused: { clipId: string; reason: string }[]; snapshots: SharedClipItem[] }> {
    const account = await this.store.account();
    if (!account) return { clips: [], refused: [], snapshots: [] };
    const root = parseCertificate(account.rootCertificate);
    const { cameraCertificates } = await this.#account(account);
    return listSharedClips(await this.#source(), root, cameraCertificates, await this.store.shares());
  }

  /**
   * Opens a shared clip: by id (the ciphertext from the cloud's shared-clip route) or from a sealed file's
   * bytes. The head is verified to the pinned root; a clip not wrapped to a held key is refused with its
   * reason; the opener verifies every segment and the footer before any frame is returned.
   */
  async open(clip: { clipId: string } | { sealed: Uint8Array }): Promise<OpenedClip> {
    const account = await this.#pinned();
    const root = parseCertificate(account.rootCertificate);
    const served = await this.#account(account);
    const shares = await this.store.shares();
    let sealed: Uint8Array;
    if ("clipId" in clip) {
      if (!/^[0-9a-f]{32}$/.test(clip.clipId)) fail("E_ARGUMENT", `'${clip.clipId.slice(0, 40)}' is not a clip id (32 hex characters, as the list shows)`);
      const to = await this.#address();
      try {
        const res = await this.#request("GET", `/v1/shared/${to}/clips/${clip.clipId}`);
        if (Number(res.headers.get("content-length") ?? "0") > MAX_BROWSER_CLIP_BYTES) fail("E_LIMIT", "the clip is larger than this page opens");
        sealed = new Uint8Array(await res.arrayBuffer());
      } catch (error) {
        if (error instanceof SealcamError && error.code === "E_NOT_FOUND") {
          // The cloud serves only clips wrapped to a held key: without the head, only revocation can be told.
          if (shares.length > 0 && !shares.some((s) => served.rosterKeyIds.has(s.keyId))) {
            fail("E_SHARE_REVOKED", "every share this browser holds was revoked (the account's current roster lists none of its keys); clips shared before stay readable, this one is not shared with you");
          }
          fail("E_NO_RECIPIENT", "this clip is not shared with this browser: the cloud holds no clip with this id wrapped to a stream key you hold (another camera, recorded before the share, or outside it)");
        }
        throw error;
      }
    } else sealed = clip.sealed;
    if (sealed.length > MAX_BROWSER_CLIP_BYTES) fail("E_LIMIT", "the clip is larger than this page opens");
    const head = parseClipHead(sealed);
    const headBytes = sealed.subarray(0, head.headLength);
    const verified = await this.crypto.settle(() => verifyClipHead(this.crypto, headBytes, root, served.cameraCertificates));
    if ("clipId" in clip) checkClipBinding(verified.header, { clipId: clip.clipId });
    const { share, stream } = chooseShare("browser", shares, verified, served.rosterKeyIds);
    const expected = stream === "snapshot" ? CONTENT_TYPE_SNAPSHOT : CONTENT_TYPE_FRAMES;
    if (verified.contentType !== expected) fail("E_FORMAT", `this page shows video clips and JPEG snapshots only, not '${verified.contentType}'`);
    const streamKey = new HeldKey(share.key, share.publicKey);
    const { plaintext, segments } = await this.crypto.settle(() => openSealedClip({
      crypto: this.crypto, unwrappers: [streamKeyUnwrapper(this.crypto, fromHex(share.keyId), streamKey)],
      camera: (header) => cameraIdentity(this.crypto, header, root, served.cameraCertificates),
    }, sealed));
    let frames: { time: number; jpeg: Uint8Array }[];
    if (stream === "snapshot") frames = [{ time: verified.startTime, jpeg: plaintext }];
    else {
      const reader = new FrameReader();
      frames = reader.push(plaintext).map((f) => ({ time: f.time, jpeg: Uint8Array.from(f.jpeg) }));
      reader.end();
    }
    return {
      clipId: verified.clipId, cameraId: verified.cameraId, sequence: verified.sequence, startTime: verified.startTime, shareId: share.shareId,
      segments, frames, snapshotOf: verified.header.snapshotOf ? toHex(verified.header.snapshotOf) : undefined,
      recipients: verified.header.recipients.map((r) => ({ alg: r.alg, keyId: toHex(r.kid), mine: shares.some((s) => s.keyId === toHex(r.kid)) })),
    };
  }
}

