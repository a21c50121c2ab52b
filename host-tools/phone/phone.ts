/**
 * The phone app simulator: enrollment (whitepaper "Enrolling a mobile device", steps 1-3), recovery on
 * another phone, removing phones, turning E2EE off, the key roster, listing and opening clips, exporting
 * the account's public certificates. docs/PROTOCOL.md describes every step and parameter.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as nodeCrypto from "node:crypto";
import { asciiBytes, constantTimeEqual, fromBase64Url, toBase64Url, toHex, utf8Bytes, wipe } from "../../firmware/core/bytes";
import { SealcamError, fail } from "../../firmware/core/errors";
import { openSingleShot, sealSingleShot } from "../../firmware/core/hpke";
import { spkiFromP256 } from "../../firmware/core/keys";
import { assembleRoster, encodeRosterTbs, parseRosterUnverified, ROSTER_MAX_PHONES, verifyRoster, type RosterRole } from "../../firmware/core/roster";
import { parseCertificate, rsaPssSha256AlgorithmIdentifier, verifyChain, verifyRoot } from "../../firmware/core/x509";
import { CONTENT_TYPE_FRAMES, MAX_HEADER_LENGTH, PREAMBLE_LENGTH, SIGNATURE_LENGTH } from "../../firmware/core/clip/constants";
import { headLengthFromPreamble } from "../../firmware/core/clip/head";
import { FrameReader } from "../../firmware/core/clip/frames";
import { ClipOpener, hpkeUnwrapper, type Unwrapper } from "../../firmware/core/clip/opener";
import type { P256PrivateKey } from "../../firmware/platform/crypto";
import { NodeCrypto } from "../platform/node-crypto";
import { rsaOaepUnwrapper } from "../platform/rsa-unwrapper";
import { createAccountSigningKey, importAccountSigningKey, issueCameraCertificate, issueLeafCertificate, signPss, type AccountSigningKey } from "./certs";
import { CloudClient, DEFAULT_MAX_CLIP_BYTES } from "./client";
import {
  authVerifier, backupAuthKey, checkKdfParams, deriveKey, derivePassphraseKey, generatePassphrase, newKdfParams,
  pkcs12Password, type KdfParams,
} from "./kdf";
import { readPkcs12, writePkcs12 } from "./pkcs12";
import { deletePhoneKeys, loadInstanceKey, loadState, saveInstanceKey, saveState, type PhoneState } from "./store";
import { cameraIdentity, checkClipBinding, verifyClipHead, type ListedCameraCertificate } from "./verify-head";
import { isCameraId } from "../../firmware/core/request-auth";
import { matchClipPrefix, parseClipId } from "./clip-id";
import { checkVideoContent, checkVideoTarget, exportVideo, type VideoResult } from "./video/export";

/** RSA-OAEP label for the account-data derived key wrapped to the account signing key (whitepaper 3e). */
export const LABEL_DATA_KEY_WRAP = asciiBytes("sealcam-v1 data-key-wrap");
/** HPKE info strings for the derived keys wrapped to a phone's instance key (whitepaper 3c, 3f). */
export const INFO_WRAP_PASSPHRASE_KEY = asciiBytes("sealcam-v1 wrap passphrase-key");
export const INFO_WRAP_DATA_KEY = asciiBytes("sealcam-v1 wrap data-key");

export interface Backup {
  kdf: KdfParams;
  signingKeyP12: string;
  dataKeyP12: string;
  dataKeyKdf: KdfParams;
  dataKeyWrapToSigning: string;
}

export interface PhoneOptions {
  home: string;
  cloud: string;
  /** The most bytes `open` downloads for one clip (default DEFAULT_MAX_CLIP_BYTES, 2 GiB); more is E_LIMIT. */
  maxClipBytes?: number;
}

/** The largest head a clip can have: preamble, the longest header, the signature. */
export const MAX_HEAD_BYTES = PREAMBLE_LENGTH + MAX_HEADER_LENGTH + SIGNATURE_LENGTH;

/** A clip as `Phone.clips` lists it: the facts come from its verified head, never from the cloud's listing. */
export interface VerifiedClip {
  verified: true;
  clipId: string;
  cameraId: string;
  sequence: number;
  startTime: number;
  contentType: string;
  segmentSize: number;
  rosterVersion: number;
  /** The cloud's upload state and stored size: its claims, not signed (a lying cloud can only make `open` fail). */
  complete: boolean;
  size: number | null;
  /**
   * The clip's snapshot (FORMAT §3.1): a verified snapshot object whose signed header names this clip in `of`,
   * from the same camera. Paired only from verified heads; the cloud's word plays no part.
   */
  snapshot?: { snapshotId: string; startTime: number; complete: boolean };
  /** On a snapshot object itself (Phone.listing().snapshots): the clip id its signed header names. */
  snapshotOf?: string;
}

/** A listed clip whose head did not verify: only the id the cloud listed it under and why it was refused. */
export interface UnverifiedClip {
  verified: false;
  /** The id the cloud listed (a handle, not a fact). */
  clipId: string;
  reason: string;
  cameraId?: undefined;
  complete?: undefined;
}

export type ListedClip = VerifiedClip | UnverifiedClip;

/** What the caller expects of a clip opened by id (e.g. from a verified listing); each is checked against the signed header. */
export interface OpenExpectation {
  cameraId?: string;
  sequence?: number;
  startTime?: number;
}

/** What else `Phone.open` writes from the verified plaintext. */
export interface OpenOptions {
  /** A playable video: FILE.avi (MJPEG, the JPEGs as they are) or FILE.mp4 (H.264 through ffmpeg). */
  video?: string;
  /** The AVI size limit (default 1 GiB, AVI_MAX_BYTES); more is E_LIMIT. */
  maxAviBytes?: number;
}

/** What the verification in `Phone.open` established about a clip (all from its signed header and footer). */
export interface SealingFacts {
  /** The header's recipient entries: algorithm and key id (hex SHA-256 of the key's SubjectPublicKeyInfo). */
  recipients: { alg: string; keyId: string }[];
  /** Sealed segments, counted by the opener and covered by the camera's footer signature. */
  segments: number;
  rosterVersion: number;
  contentType: string;
  /** Which key opened it: this phone's instance key, or the account data key (clip sealed before this phone joined). */
  openedWith: "phone" | "account-data";
  /** This phone's key id (hex). */
  phoneKeyId: string;
}

/** A camera as `Phone.cameras` lists it. */
export interface CameraListing {
  cameraId: string;
  /** The camera certificate chains to this phone's pinned root and names this camera id. */
  certificateVerified: boolean;
  certificateProblem: string | null;
  keyId: string;
  registeredAt: number;
  /** The camera's last report, relayed by the cloud (signed by the camera's request key to the cloud, not end to end). */
  status: {
    rosterVersion: number;
    rosterProblem: { version: number | null; code: string; message: string } | null;
    queued: number;
    reportedAt: number;
  } | null;
}

export interface Credentials {
  email: string;
  /** The ordinary account sign-in password (not the E2EE passphrase). */
  password: string;
}

const b64 = toBase64Url;
const unb64 = fromBase64Url;

function u8(buffer: Buffer | ArrayBuffer): Uint8Array {
  return buffer instanceof ArrayBuffer ? new Uint8Array(buffer) : new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

function wrapToInstance(crypto: NodeCrypto, instancePublic: Uint8Array, info: Uint8Array, accountId: string, secret: Uint8Array): string {
  const { enc, ciphertext } = sealSingleShot(crypto, instancePublic, info, utf8Bytes(accountId), secret);
  return b64(new Uint8Array([...enc, ...ciphertext]));
}

function unwrapWithInstance(crypto: NodeCrypto, key: P256PrivateKey, info: Uint8Array, accountId: string, wrapped: string): Uint8Array {
  const bytes = unb64(wrapped);
  if (bytes.length < 65 + 16) fail("E_UNWRAP", "wrapped key is too short");
  return openSingleShot(crypto, key, bytes.subarray(0, 65), info, utf8Bytes(accountId), bytes.subarray(65));
}

function rsaPublicPkcs1(spkiDer: Uint8Array): Uint8Array {
  const info = parseCertificateLessSpki(spkiDer);
  return info;
}

function parseCertificateLessSpki(spkiDer: Uint8Array): Uint8Array {
  const key = nodeCrypto.createPublicKey({ key: Buffer.from(spkiDer), format: "der", type: "spki" });
  return u8(key.export({ format: "der", type: "pkcs1" }));
}

function publicSpkiOfPkcs8(pkcs8: Uint8Array): Uint8Array {
  const priv = nodeCrypto.createPrivateKey({ key: Buffer.from(pkcs8), format: "der", type: "pkcs8" });
  return u8(nodeCrypto.createPublicKey(priv).export({ format: "der", type: "spki" }));
}

function pem(label: string, der: Uint8Array): string {
  const body = Buffer.from(der).toString("base64").replace(/(.{64})/g, "$1\n").replace(/\n$/, "");
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}

/** Signs a roster (RSASSA-PSS-SHA256, salt 32) with the account signing key. */
export async function signRoster(
  crypto: NodeCrypto, signer: AccountSigningKey, accountId: string, version: number, entries: { role: RosterRole; certificateDer: Uint8Array }[],
): Promise<Uint8Array> {
  const tbs = encodeRosterTbs(crypto, { accountId, version, issuedAt: Date.now(), entries });
  const roster = assembleRoster(tbs, rsaPssSha256AlgorithmIdentifier(), await signPss(signer, tbs));
  verifyRoster(crypto, roster, signer.rootCertDer, { minVersion: version, accountId });
  return roster;
}

/** E_LIMIT when a roster already holds the most phones a clip can be sealed to (with the data key). */
function refuseIfPhonesFull(phones: number): void {
  if (phones >= ROSTER_MAX_PHONES) {
    fail("E_LIMIT", `this account already has ${phones} phones, the most a clip can be sealed to with the data key; remove one with \`sealcam phone remove-phone KEYID\` first`);
  }
}

/** The head at the start of a sealed file, read without reading the rest. */
function readHeadOfFile(file: string): Uint8Array {
  const fd = fs.openSync(file, "r");
  try {
    const preamble = new Uint8Array(PREAMBLE_LENGTH);
    const got = fs.readSync(fd, preamble, 0, PREAMBLE_LENGTH, 0);
    const length = headLengthFromPreamble(preamble.subarray(0, got));
    const head = new Uint8Array(length);
    if (fs.readSync(fd, head, 0, length, 0) !== length) fail("E_TRUNCATED", "clip: truncated inside its head");
    return head;
  } finally {
    fs.closeSync(fd);
  }
}

/** Splits verified frames plaintext (a file) into frame-NNNNN-<ms>.jpg files (0600); returns how many. */
function writeFrames(plaintextFile: string, framesDir: string): number {
  fs.mkdirSync(framesDir, { recursive: true });
  const reader = new FrameReader();
  let frames = 0;
  const fd = fs.openSync(plaintextFile, "r");
  try {
    const chunk = new Uint8Array(1 << 20);
    for (;;) {
      const n = fs.readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      for (const frame of reader.push(chunk.slice(0, n))) {
        frames++;
        fs.writeFileSync(path.join(framesDir, `frame-${String(frames).padStart(5, "0")}-${frame.time}.jpg`), frame.jpeg, { mode: 0o600 });
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  reader.end();
  return frames;
}

/** The camera status `GET /v1/account` relays (docs/CLOUD-API.md), or null when absent or malformed. */
function parseCameraStatus(value: unknown): CameraListing["status"] {
  if (typeof value !== "object" || value === null) return null;
  const v = value as Record<string, unknown>;
  const int = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
  if (!int(v.rosterVersion) || !int(v.queued) || !int(v.reportedAt)) return null;
  let rosterProblem: NonNullable<CameraListing["status"]>["rosterProblem"] = null;
  if (v.rosterProblem !== null && v.rosterProblem !== undefined) {
    const p = v.rosterProblem as Record<string, unknown>;
    if (typeof p !== "object" || typeof p.code !== "string" || typeof p.message !== "string") return null;
    rosterProblem = { version: int(p.version) ? p.version : null, code: p.code, message: p.message };
  }
  return { rosterVersion: v.rosterVersion, rosterProblem, queued: v.queued, reportedAt: v.reportedAt };
}

export class Phone {
  readonly crypto = new NodeCrypto();
  constructor(readonly options: PhoneOptions) {}

  get home(): string {
    return this.options.home;
  }

  state(): PhoneState {
    return loadState(this.home);
  }

  #client(state?: PhoneState): CloudClient {
    return new CloudClient(this.options.cloud, state?.token ?? null);
  }

  #refuseIfEnrolled(): void {
    if (fs.existsSync(path.join(this.home, "keystore.json"))) fail("E_STATE", `${this.home} already holds an enrolled phone`);
  }

  async #signIn(client: CloudClient, credentials: Credentials, create: boolean): Promise<string> {
    if (create) {
      try {
        const created = await client.json<{ accountId: string; token: string }>("POST", "/v1/accounts", credentials);
        client.token = created.token;
        return created.accountId;
      } catch (error) {
        if (!(error instanceof SealcamError) || error.code !== "E_CONFLICT") throw error;
      }
    }
    const session = await client.json<{ accountId: string; token: string }>("POST", "/v1/sessions", credentials);
    client.token = session.token;
    return session.accountId;
  }

  /**
   * Enrolls this phone and turns E2EE on for the account. Returns the passphrase: the caller shows it once;
   * nothing stores it.
   */
  async enroll(credentials: Credentials, name: string): Promise<{ passphrase: string; accountId: string; phoneKeyId: string }> {
    this.#refuseIfEnrolled();
    const crypto = this.crypto;
    const client = this.#client();
    const accountId = await this.#signIn(client, credentials, true);

    // Step 1: the passphrase.
    const passphrase = generatePassphrase();
    // Step 2: account signing key (root), instance key, account data key.
    const signer = await createAccountSigningKey(accountId);
    const instanceKey = crypto.p256Generate();
    const instancePublic = crypto.p256PublicKey(instanceKey);
    const instanceCert = await issueLeafCertificate(signer, "phone", `sealcam phone ${name}`, spkiFromP256(instancePublic));
    const dataKeys = nodeCrypto.generateKeyPairSync("rsa", { modulusLength: 2048, publicExponent: 65537 });
    const dataSpki = u8(dataKeys.publicKey.export({ format: "der", type: "spki" }));
    const dataPkcs8 = u8(dataKeys.privateKey.export({ format: "der", type: "pkcs8" }));
    const dataCert = await issueLeafCertificate(signer, "account-data", "sealcam account data key", dataSpki);

    // Step 3a-c: passphrase derived key, signing key in PKCS#12, derived key wrapped to the instance key.
    const kdf = newKdfParams();
    const passphraseKey = derivePassphraseKey(passphrase, kdf);
    const signingKeyP12 = writePkcs12({ privateKeyPkcs8: signer.pkcs8, certificateDer: signer.rootCertDer, password: pkcs12Password(passphraseKey), friendlyName: "sealcam account signing key" });
    // Step 3d-f: account data key in PKCS#12 under a key derived from 32 random bytes; that key wrapped to the
    // account signing key (RSA-OAEP-SHA256) and to the instance key.
    const randomSecret = u8(nodeCrypto.randomBytes(32));
    const dataKeyKdf = newKdfParams();
    const dataKeyKey = deriveKey(randomSecret, dataKeyKdf);
    wipe(randomSecret);
    const dataKeyP12 = writePkcs12({ privateKeyPkcs8: dataPkcs8, certificateDer: dataCert, password: pkcs12Password(dataKeyKey), friendlyName: "sealcam account data key" });
    const rootPkcs1 = rsaPublicPkcs1(parseCertificate(signer.rootCertDer).spki);
    const backup: Backup = {
      kdf,
      signingKeyP12: b64(signingKeyP12),
      dataKeyP12: b64(dataKeyP12),
      dataKeyKdf,
      dataKeyWrapToSigning: b64(crypto.rsaOaepSha256Encrypt(rootPkcs1, dataKeyKey, LABEL_DATA_KEY_WRAP)),
    };
    const wraps = {
      passphraseKey: wrapToInstance(crypto, instancePublic, INFO_WRAP_PASSPHRASE_KEY, accountId, passphraseKey),
      dataKey: wrapToInstance(crypto, instancePublic, INFO_WRAP_DATA_KEY, accountId, dataKeyKey),
    };
    const authKey = backupAuthKey(passphraseKey, accountId);
    const verifier = authVerifier(authKey);
    wipe(passphraseKey, dataKeyKey, authKey, dataPkcs8);

    const roster = await signRoster(crypto, signer, accountId, 1, [
      { role: "phone", certificateDer: instanceCert },
      { role: "account-data", certificateDer: dataCert },
    ]);
    const result = await client.json<{ phoneKeyId: string }>("POST", "/v1/e2ee", {
      rootCertificate: b64(signer.rootCertDer),
      dataKeyCertificate: b64(dataCert),
      backup,
      authVerifier: verifier,
      phone: { name, certificate: b64(instanceCert), wraps },
      roster: b64(roster),
    });
    wipe(signer.pkcs8);
    saveInstanceKey(this.home, crypto, instanceKey);
    crypto.p256Destroy(instanceKey);
    saveState(this.home, {
      cloud: this.options.cloud, accountId, email: credentials.email, token: client.token as string, name,
      phoneKeyId: result.phoneKeyId, rootCertificate: b64(signer.rootCertDer), instanceCertificate: b64(instanceCert), rosterVersion: 1,
    });
    return { passphrase, accountId, phoneKeyId: result.phoneKeyId };
  }

  /**
   * Enrolls another phone on an existing account from the passphrase: proves knowledge of it to get the
   * backup, opens the account signing key and then the account data key, makes this phone's instance key and
   * certificate, and publishes roster v+1.
   */
  async recover(credentials: Credentials, passphrase: string, name: string): Promise<{ accountId: string; phoneKeyId: string; rosterVersion: number }> {
    this.#refuseIfEnrolled();
    const crypto = this.crypto;
    const client = this.#client();
    const accountId = await this.#signIn(client, credentials, false);
    // Refuse before any work (scrypt) and before spending a passphrase try on the cloud. The roster is not
    // verified yet (the root comes out of the backup), so the limit is checked again on the verified one.
    const listed = await client.json<{ roster: string }>("GET", "/v1/e2ee/roster");
    refuseIfPhonesFull(parseRosterUnverified(crypto, unb64(listed.roster)).entries.filter((e) => e.role === "phone").length);
    const { kdf } = await client.json<{ kdf: unknown }>("GET", "/v1/e2ee/kdf");
    const passphraseKey = derivePassphraseKey(passphrase, checkKdfParams(kdf));
    const authKey = backupAuthKey(passphraseKey, accountId);
    const unlocked = await client.json<{ backup: Backup; rootCertificate: string; dataKeyCertificate: string; rosterVersion: number }>(
      "POST", "/v1/e2ee/unlock", { authKey: b64(authKey) },
    );
    wipe(authKey);
    const { signer, dataKeyKey, dataCert } = await this.#openBackup(unlocked.backup, passphraseKey, unlocked.rootCertificate, unlocked.dataKeyCertificate);

    const instanceKey = crypto.p256Generate();
    const instancePublic = crypto.p256PublicKey(instanceKey);
    const instanceCert = await issueLeafCertificate(signer, "phone", `sealcam phone ${name}`, spkiFromP256(instancePublic));
    const wraps = {
      passphraseKey: wrapToInstance(crypto, instancePublic, INFO_WRAP_PASSPHRASE_KEY, accountId, passphraseKey),
      dataKey: wrapToInstance(crypto, instancePublic, INFO_WRAP_DATA_KEY, accountId, dataKeyKey),
    };
    wipe(passphraseKey, dataKeyKey);

    // The current signed roster (not the cloud's phone list) is the base of the next one.
    const current = await this.#currentRoster(client, signer.rootCertDer, accountId, unlocked.rosterVersion);
    refuseIfPhonesFull(current.entries.filter((e) => e.role === "phone").length);
    const entries = current.entries.map((e) => ({ role: e.role, certificateDer: e.certificate.der }));
    entries.push({ role: "phone", certificateDer: instanceCert });
    const version = current.version + 1;
    const roster = await signRoster(crypto, signer, accountId, version, entries);
    const result = await client.json<{ phoneKeyId: string }>("POST", "/v1/e2ee/phones", {
      name, certificate: b64(instanceCert), wraps, roster: b64(roster),
    });
    wipe(signer.pkcs8);
    void dataCert;
    saveInstanceKey(this.home, crypto, instanceKey);
    crypto.p256Destroy(instanceKey);
    saveState(this.home, {
      cloud: this.options.cloud, accountId, email: credentials.email, token: client.token as string, name,
      phoneKeyId: result.phoneKeyId, rootCertificate: b64(signer.rootCertDer), instanceCertificate: b64(instanceCert), rosterVersion: version,
    });
    return { accountId, phoneKeyId: result.phoneKeyId, rosterVersion: version };
  }

  async #currentRoster(client: CloudClient, rootDer: Uint8Array, accountId: string, minVersion: number) {
    const { roster } = await client.json<{ roster: string }>("GET", "/v1/e2ee/roster");
    return verifyRoster(this.crypto, unb64(roster), rootDer, { minVersion, accountId });
  }

  /**
   * The account's current roster, verified against this phone's pinned root and never older than the
   * newest this phone has seen (which it then remembers).
   */
  async roster(): Promise<{ version: number; entries: { role: RosterRole; keyId: string; name: string | null }[] }> {
    const state = this.state();
    const current = await this.#currentRoster(this.#client(state), unb64(state.rootCertificate), state.accountId, state.rosterVersion);
    if (current.version > state.rosterVersion) saveState(this.home, { ...state, rosterVersion: current.version });
    return {
      version: current.version,
      entries: current.entries.map((e) => ({ role: e.role, keyId: toHex(e.keyId), name: e.certificate.subjectCommonName })),
    };
  }

  /** Opens the signing-key PKCS#12 with the passphrase key, then the data-key PKCS#12 through the signing key. */
  async #openBackup(backup: Backup, passphraseKey: Uint8Array, rootB64: string, dataCertB64: string) {
    const crypto = this.crypto;
    const signingP12 = readPkcs12(unb64(backup.signingKeyP12), pkcs12Password(passphraseKey));
    // The root comes out of the passphrase-protected PKCS#12 (its MAC is keyed by the passphrase): that, not
    // the cloud's copy, is what this phone pins.
    const rootDer = signingP12.certificateDer;
    if (!constantTimeEqual(rootDer, unb64(rootB64))) fail("E_CERT", "the cloud's root certificate differs from the one in the backup");
    const root = parseCertificate(rootDer);
    verifyRoot(crypto, root);
    if (!constantTimeEqual(publicSpkiOfPkcs8(signingP12.privateKeyPkcs8), root.spki)) fail("E_CERT", "backup signing key does not match the root certificate");
    const signer = await importAccountSigningKey(signingP12.privateKeyPkcs8, rootDer);
    const dataKeyKey = this.#unwrapDataKeyWithSigning(signingP12.privateKeyPkcs8, backup);
    const dataCert = this.#checkDataKey(backup, dataKeyKey, root, dataCertB64).certificateDer;
    return { signer, dataKeyKey, dataCert };
  }

  #unwrapDataKeyWithSigning(signingPkcs8: Uint8Array, backup: Backup): Uint8Array {
    const key = nodeCrypto.createPrivateKey({ key: Buffer.from(signingPkcs8), format: "der", type: "pkcs8" });
    try {
      return u8(nodeCrypto.privateDecrypt(
        { key, padding: nodeCrypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256", oaepLabel: Buffer.from(LABEL_DATA_KEY_WRAP) },
        Buffer.from(unb64(backup.dataKeyWrapToSigning)),
      ));
    } catch {
      return fail("E_UNWRAP", "the wrapped account data key does not open with the account signing key");
    }
  }

  #checkDataKey(backup: Backup, dataKeyKey: Uint8Array, root: ReturnType<typeof parseCertificate>, dataCertB64: string) {
    const opened = readPkcs12(unb64(backup.dataKeyP12), pkcs12Password(dataKeyKey));
    const cert = parseCertificate(opened.certificateDer);
    verifyChain(this.crypto, cert, root);
    if (!constantTimeEqual(cert.der, unb64(dataCertB64))) fail("E_CERT", "the cloud's account data certificate differs from the backup's");
    if (!constantTimeEqual(publicSpkiOfPkcs8(opened.privateKeyPkcs8), cert.spki)) fail("E_CERT", "backup data key does not match its certificate");
    return opened;
  }

  /** An enrolled phone's access to the account keys: its wrapped derived keys open with the instance key. */
  async #self(): Promise<{ state: PhoneState; client: CloudClient; self: { backup: Backup; wraps: { passphraseKey: string; dataKey: string }; rootCertificate: string; dataKeyCertificate: string; rosterVersion: number } }> {
    const state = this.state();
    const client = this.#client(state);
    const self = await client.json<{ backup: Backup; wraps: { passphraseKey: string; dataKey: string }; rootCertificate: string; dataKeyCertificate: string; rosterVersion: number }>("GET", "/v1/e2ee/phones/self");
    return { state, client, self };
  }

  async unlockSigningKey(): Promise<AccountSigningKey> {
    const { state, self } = await this.#self();
    const instanceKey = loadInstanceKey(this.home, this.crypto);
    try {
      const passphraseKey = unwrapWithInstance(this.crypto, instanceKey, INFO_WRAP_PASSPHRASE_KEY, state.accountId, self.wraps.passphraseKey);
      const opened = readPkcs12(unb64(self.backup.signingKeyP12), pkcs12Password(passphraseKey));
      wipe(passphraseKey);
      if (!constantTimeEqual(opened.certificateDer, unb64(state.rootCertificate))) fail("E_CERT", "backup root differs from this phone's pinned root");
      return await importAccountSigningKey(opened.privateKeyPkcs8, opened.certificateDer);
    } finally {
      this.crypto.p256Destroy(instanceKey);
    }
  }

  async #dataKeyUnwrapper(): Promise<Unwrapper> {
    const { state, self } = await this.#self();
    const instanceKey = loadInstanceKey(this.home, this.crypto);
    try {
      const dataKeyKey = unwrapWithInstance(this.crypto, instanceKey, INFO_WRAP_DATA_KEY, state.accountId, self.wraps.dataKey);
      const root = parseCertificate(unb64(state.rootCertificate));
      const opened = this.#checkDataKey(self.backup, dataKeyKey, root, self.dataKeyCertificate);
      wipe(dataKeyKey);
      const cert = parseCertificate(opened.certificateDer);
      const key = nodeCrypto.createPrivateKey({ key: Buffer.from(opened.privateKeyPkcs8), format: "der", type: "pkcs8" });
      wipe(opened.privateKeyPkcs8);
      return rsaOaepUnwrapper(this.crypto.sha256(cert.spki), key);
    } finally {
      this.crypto.p256Destroy(instanceKey);
    }
  }

  /** Removes another phone (or this one): roster v+1 without its key, then the cloud forgets its wraps. */
  async removePhone(keyId: string): Promise<{ rosterVersion: number }> {
    if (!/^[0-9a-f]{64}$/.test(keyId)) fail("E_ARGUMENT", "phone key id must be 64 hex characters (see 'sealcam phone phones')");
    const state = this.state();
    const client = this.#client(state);
    const signer = await this.unlockSigningKey();
    const current = await this.#currentRoster(client, signer.rootCertDer, state.accountId, state.rosterVersion);
    const entries = current.entries.filter((e) => toHex(e.keyId) !== keyId);
    if (entries.length === current.entries.length) fail("E_NOT_FOUND", "no phone with this key id in the roster");
    if (!entries.some((e) => e.role === "phone")) fail("E_STATE", "cannot remove the last phone; turn end-to-end encryption off instead (disable)");
    const version = current.version + 1;
    const roster = await signRoster(this.crypto, signer, state.accountId, version, entries.map((e) => ({ role: e.role, certificateDer: e.certificate.der })));
    wipe(signer.pkcs8);
    await client.json("POST", `/v1/e2ee/phones/${keyId}/remove`, { roster: b64(roster) });
    if (keyId === state.phoneKeyId) deletePhoneKeys(this.home);
    else saveState(this.home, { ...state, rosterVersion: version });
    return { rosterVersion: version };
  }

  /** Removes a camera from the account (whitepaper: its earlier clips stay readable). */
  async removeCamera(cameraId: string): Promise<void> {
    if (!isCameraId(cameraId)) fail("E_ARGUMENT", "bad camera id");
    await this.#client(this.state()).json("POST", `/v1/cameras/${cameraId}/remove`);
  }

  /**
   * The full id of the clip `clip` names: the full id as given, or a prefix (8+ hex) naming exactly one of
   * the account's verified clips (E_NOT_FOUND / E_ARGUMENT otherwise).
   */
  async fullClipId(clip: string): Promise<string> {
    const query = parseClipId(clip);
    if (!query) fail("E_ARGUMENT", `'${clip}' is not a clip id: give its 32 hex characters or a unique prefix (see 'sealcam phone clips')`);
    if (query.kind === "full") return query.clipId;
    return matchClipPrefix(query.prefix, (await this.clips()).filter((c): c is VerifiedClip => c.verified)).clipId;
  }

  /** Deletes a clip from the cloud, its files and records (docs/CLOUD-API.md). Returns the full id. */
  async deleteClip(clip: string): Promise<string> {
    const clipId = await this.fullClipId(clip);
    await this.#client(this.state()).json("DELETE", `/v1/clips/${clipId}`);
    return clipId;
  }

  /** The account's retention in days (null: clips are kept until deleted). */
  async retention(): Promise<number | null> {
    const account = await this.#client(this.state()).json<{ retentionDays?: unknown }>("GET", "/v1/account");
    return typeof account.retentionDays === "number" ? account.retentionDays : null;
  }

  /** Sets the retention (null: off); the cloud deletes clips older than that at once. */
  async setRetention(days: number | null): Promise<{ retentionDays: number | null; deleted: number }> {
    return this.#client(this.state()).json("PUT", "/v1/account/retention", { days });
  }

  async phones(): Promise<{ keyId: string; name: string; self: boolean }[]> {
    const state = this.state();
    const account = await this.#client(state).json<{ phones: { keyId: string; name: string }[] }>("GET", "/v1/account");
    return account.phones.map((p) => ({ keyId: p.keyId, name: p.name, self: p.keyId === state.phoneKeyId }));
  }

  /** Turns E2EE off: the cloud deletes every key and backup; this phone deletes its keystore. */
  async disable(): Promise<void> {
    const state = this.state();
    await this.#client(state).json("DELETE", "/v1/e2ee", { confirm: "delete-all-keys" });
    deletePhoneKeys(this.home);
  }

  /**
   * The account's clips, each described only by its head as the camera signed it (PROTOCOL §10): the head
   * is fetched and verified (camera certificate chains to the pinned root, CN = camera id, signature) and
   * must carry the id it is listed under. A clip that fails is listed as unverified with the reason only.
   */
  async clips(): Promise<ListedClip[]> {
    return (await this.listing()).clips;
  }

  /**
   * The listing behind `clips()`: the clips (each with its verified snapshot, when one pairs) and the verified
   * snapshot objects themselves. A snapshot pairs with the clip its signed `of` names when both heads verified
   * and both name the same camera; the first such snapshot (by start time) wins. Snapshots are not clips:
   * they are not in `clips`, paired or not.
   */
  async listing(): Promise<{ clips: ListedClip[]; snapshots: VerifiedClip[] }> {
    const state = this.state();
    const client = this.#client(state);
    const root = parseCertificate(unb64(state.rootCertificate));
    const listing = await client.json<{ clips?: unknown }>("GET", "/v1/clips");
    if (!Array.isArray(listing.clips)) fail("E_FORMAT", "the cloud's clip list is not a list");
    const account = await client.json<{ cameraCertificates?: ListedCameraCertificate[] }>("GET", "/v1/account");
    const certificates = Array.isArray(account.cameraCertificates) ? account.cameraCertificates : [];
    const seen = new Set<string>();
    const out: ListedClip[] = [];
    const snapshots: VerifiedClip[] = [];
    for (const item of listing.clips as { clipId?: unknown; complete?: unknown; size?: unknown }[]) {
      const listedId = typeof item?.clipId === "string" ? item.clipId : "";
      const refuse = (reason: string) => out.push({ verified: false, clipId: /^[0-9a-f]{32}$/.test(listedId) ? listedId : "(invalid id)", reason });
      if (!/^[0-9a-f]{32}$/.test(listedId)) {
        refuse("E_FORMAT: the cloud listed a clip id that is not 32 lower-case hex characters");
        continue;
      }
      if (seen.has(listedId)) {
        refuse("E_FORMAT: the cloud listed this clip id twice");
        continue;
      }
      seen.add(listedId);
      try {
        const head = verifyClipHead(this.crypto, await client.bytes(`/v1/clips/${listedId}/head`, MAX_HEAD_BYTES), root, certificates);
        checkClipBinding(head.header, { clipId: listedId });
        const entry: VerifiedClip = {
          verified: true, clipId: head.clipId, cameraId: head.cameraId, sequence: head.sequence, startTime: head.startTime,
          contentType: head.contentType, segmentSize: head.segmentSize, rosterVersion: head.rosterVersion,
          complete: item.complete === true, size: typeof item.size === "number" ? item.size : null,
        };
        if (head.header.snapshotOf) {
          entry.snapshotOf = toHex(head.header.snapshotOf);
          snapshots.push(entry);
        } else out.push(entry);
      } catch (error) {
        if (!(error instanceof SealcamError)) throw error;
        if (error.code === "E_NETWORK" || error.code === "E_AUTH") throw error;
        refuse(`${error.code}: ${error.message}`);
      }
    }
    const byClip = new Map<string, VerifiedClip>();
    for (const snap of [...snapshots].sort((a, b) => a.startTime - b.startTime)) {
      if (snap.snapshotOf && !byClip.has(`${snap.cameraId}/${snap.snapshotOf}`)) byClip.set(`${snap.cameraId}/${snap.snapshotOf}`, snap);
    }
    for (const clip of out) {
      if (!clip.verified) continue;
      const snap = byClip.get(`${clip.cameraId}/${clip.clipId}`);
      if (snap) clip.snapshot = { snapshotId: snap.clipId, startTime: snap.startTime, complete: snap.complete };
    }
    return { clips: out, snapshots };
  }

  /**
   * The account's cameras: each certificate verified against the pinned root (CN = camera id), and the
   * status the camera last reported through the cloud (roster version it seals to, a roster it refused).
   */
  async cameras(): Promise<CameraListing[]> {
    const state = this.state();
    const root = parseCertificate(unb64(state.rootCertificate));
    const account = await this.#client(state).json<{ cameras?: unknown }>("GET", "/v1/account");
    if (!Array.isArray(account.cameras)) fail("E_FORMAT", "the cloud's camera list is not a list");
    return (account.cameras as Record<string, unknown>[]).map((c) => {
      const cameraId = typeof c.cameraId === "string" ? c.cameraId : "(invalid id)";
      let certificateProblem: string | null = null;
      let keyId = "";
      try {
        if (typeof c.certificate !== "string") fail("E_FORMAT", "no certificate listed");
        const cert = verifyChain(this.crypto, parseCertificate(unb64(c.certificate)), root);
        if (cert.subjectCommonName !== cameraId) fail("E_CERT", `certificate names ${cert.subjectCommonName ?? "nobody"}, not ${cameraId}`);
        if (cert.publicKey.kind !== "p256") fail("E_CERT", "certificate does not hold a P-256 key");
        keyId = toHex(this.crypto.sha256(cert.spki));
      } catch (error) {
        if (!(error instanceof SealcamError)) throw error;
        certificateProblem = `${error.code}: ${error.message}`;
      }
      return {
        cameraId, certificateVerified: certificateProblem === null, certificateProblem, keyId,
        registeredAt: typeof c.registeredAt === "number" ? c.registeredAt : 0,
        status: parseCameraStatus(c.status),
      };
    });
  }

  /** Issues a camera certificate from its CSR (setup channel, issue 5). */
  async issueCameraCertificate(csrDer: Uint8Array): Promise<{ certificateDer: Uint8Array; cameraId: string; keyId: string; rootCertificateDer: Uint8Array }> {
    const signer = await this.unlockSigningKey();
    const issued = await issueCameraCertificate(csrDer, signer);
    wipe(signer.pkcs8);
    return { ...issued, rootCertificateDer: signer.rootCertDer };
  }

  /**
   * Verifies and decrypts a clip (a clip id on the cloud, or a local file). The id may be given in any form
   * the tools print (clip-id.ts): a prefix of 8 or more hex characters, "..." allowed, is resolved against the
   * VERIFIED clips of `clips()` and must name one (E_ARGUMENT when ambiguous); the listing's camera, sequence
   * and start time then join `expect`. A download streams into a
   * temporary file (0600, under the phone's home) and stops with E_LIMIT past `maxClipBytes`. The head is
   * verified first (camera certificate chains to this phone's pinned root, CN = the header's camera id, its
   * hash is the header's `cert`, signature) and, when opened by id, must be the clip asked for: the signed
   * clip id equals the id (and camera, sequence, start time equal `expect` when given), else E_FORMAT.
   * Then the opener checks the recipient, commitment, every segment and the footer. Plaintext goes to a
   * temporary file next to `out` and is renamed onto `out` only after the footer verifies; frames (JPEG)
   * are written from the verified plaintext, and so is `options.video` (video/export.ts: refused before any
   * download when its extension is not .avi/.mp4 or ffmpeg is missing for .mp4, and after the head verified
   * when the clip is not video). On any failure nothing is left at `out`, at the video or in `framesDir`.
   */
  async open(
    clip: string, out: string | null | undefined, framesDir?: string, expect: OpenExpectation = {}, options: OpenOptions = {},
  ): Promise<{ bytes: number; frames: number; cameraId: string; clipId: string; sequence: number; startTime: number; video?: VideoResult; sealing: SealingFacts; snapshotOf?: string }> {
    // What can be refused before any download: the video's extension, a missing ffmpeg, nothing to write.
    if (options.video !== undefined) checkVideoTarget(options.video);
    if (!out && !framesDir && options.video === undefined) fail("E_ARGUMENT", "open needs somewhere to write: --out FILE, --frames DIR or --video FILE");
    const state = this.state();
    const client = this.#client(state);
    // A clip id in any form the tools print (full, 16 or 8 hex characters, "..."), else a local file.
    let byId: string | undefined;
    if (!fs.existsSync(clip)) {
      const query = parseClipId(clip);
      if (query?.kind === "full") byId = query.clipId;
      else if (query?.kind === "prefix") {
        const all = await this.listing();
        const listed = matchClipPrefix(query.prefix, all.clips.filter((c): c is VerifiedClip => c.verified).concat(all.snapshots));
        byId = listed.clipId;
        expect = { cameraId: listed.cameraId, sequence: listed.sequence, startTime: listed.startTime, ...expect };
      }
    }
    const root = parseCertificate(unb64(state.rootCertificate));
    const work = fs.mkdtempSync(path.join(this.home, "open-"));
    const outPath = out ? path.resolve(out) : undefined;
    const partial = outPath ? `${outPath}.partial-${nodeCrypto.randomBytes(6).toString("hex")}` : path.join(work, "clip.plain");
    let instanceKey: P256PrivateKey | undefined;
    let video: VideoResult | undefined;
    try {
      let sealedFile = clip;
      if (byId) {
        sealedFile = path.join(work, "clip.sealed");
        await client.download(`/v1/clips/${byId}`, sealedFile, this.options.maxClipBytes ?? DEFAULT_MAX_CLIP_BYTES);
      }
      const account = await client.json<{ cameraCertificates?: ListedCameraCertificate[] }>("GET", "/v1/account");
      const certificates = Array.isArray(account.cameraCertificates) ? account.cameraCertificates : [];
      const head = verifyClipHead(this.crypto, readHeadOfFile(sealedFile), root, certificates);
      checkClipBinding(head.header, { ...expect, clipId: byId });
      if (options.video !== undefined) checkVideoContent(head.contentType);

      const myKeyId = this.crypto.sha256(parseCertificate(unb64(state.instanceCertificate)).spki);
      const forMe = head.header.recipients.some((r) => constantTimeEqual(r.kid, myKeyId));
      instanceKey = loadInstanceKey(this.home, this.crypto);
      const unwrappers: Unwrapper[] = [forMe ? hpkeUnwrapper(this.crypto, myKeyId, instanceKey) : await this.#dataKeyUnwrapper()];
      const opener = new ClipOpener({
        crypto: this.crypto,
        unwrappers,
        // Every certificate the camera ever registered (also after it was removed): old clips stay verifiable.
        camera: (header) => cameraIdentity(this.crypto, header, root, certificates),
      });
      if (outPath) fs.mkdirSync(path.dirname(outPath), { recursive: true });
      const plainFd = fs.openSync(partial, "wx", 0o600);
      let bytes = 0;
      let header;
      let segments = 0;
      try {
        const write = (part: Uint8Array) => {
          for (let done = 0; done < part.length;) done += fs.writeSync(plainFd, part, done, part.length - done);
          bytes += part.length;
        };
        const sealedFd = fs.openSync(sealedFile, "r");
        try {
          const chunk = new Uint8Array(1 << 20);
          for (;;) {
            const n = fs.readSync(sealedFd, chunk, 0, chunk.length, null);
            if (n === 0) break;
            for (const part of opener.push(chunk.subarray(0, n))) write(part);
          }
        } finally {
          fs.closeSync(sealedFd);
        }
        const last = opener.end();
        write(last.plaintext);
        header = last.header;
        segments = last.segmentCount;
      } finally {
        fs.closeSync(plainFd);
      }
      // The footer verified: the plaintext is the camera's. Frames come from it, then it takes `out`'s place.
      // The video, too, comes only from the verified plaintext (written next to its name, then renamed).
      if (options.video !== undefined) video = await exportVideo(partial, options.video, work, { maxAviBytes: options.maxAviBytes });
      let frames = 0;
      if (framesDir && header.contentType === CONTENT_TYPE_FRAMES) frames = writeFrames(partial, framesDir);
      if (outPath) fs.renameSync(partial, outPath);
      const sealing: SealingFacts = {
        recipients: header.recipients.map((r) => ({ alg: r.alg, keyId: toHex(r.kid) })), segments, rosterVersion: header.rosterVersion,
        contentType: header.contentType, openedWith: forMe ? "phone" : "account-data", phoneKeyId: toHex(myKeyId),
      };
      return {
        bytes, frames, cameraId: header.cameraId, clipId: toHex(header.clipId), sequence: header.sequence, startTime: header.startTime, video, sealing,
        ...(header.snapshotOf ? { snapshotOf: toHex(header.snapshotOf) } : {}),
      };
    } catch (error) {
      if (video) fs.rmSync(video.file, { force: true });
      throw error;
    } finally {
      if (instanceKey) this.crypto.p256Destroy(instanceKey);
      fs.rmSync(partial, { force: true });
      fs.rmSync(work, { recursive: true, force: true });
    }
  }

  /** Writes the account's public certificates as PEM, each verified against the pinned root first. */
  async exportCertificates(outDir: string): Promise<string[]> {
    const state = this.state();
    const client = this.#client(state);
    const rootDer = unb64(state.rootCertificate);
    const root = parseCertificate(rootDer);
    verifyRoot(this.crypto, root);
    const account = await client.json<{ dataKeyCertificate: string; phones: { keyId: string; certificate: string }[]; cameras: { cameraId: string; certificate: string }[] }>("GET", "/v1/account");
    fs.mkdirSync(outDir, { recursive: true });
    const written: string[] = [];
    const write = (name: string, der: Uint8Array) => {
      if (der !== rootDer) verifyChain(this.crypto, parseCertificate(der), root);
      const file = path.join(outDir, name);
      fs.writeFileSync(file, pem("CERTIFICATE", der));
      written.push(file);
    };
    write("account-root.pem", rootDer);
    write("account-data-key.pem", unb64(account.dataKeyCertificate));
    for (const p of account.phones) write(`phone-${p.keyId.slice(0, 16)}.pem`, unb64(p.certificate));
    for (const c of account.cameras) write(`camera-${c.cameraId}.pem`, unb64(c.certificate));
    return written;
  }
}

export { b64 as toB64, unb64 as fromB64 };
