/**
 * The authenticated camera setup channel (docs/PROTOCOL.md, "Camera setup channel").
 *
 * A phone and a camera in setup mode share one thing: the setup secret printed on the camera's label.
 * Anyone else may sit on the setup access point. This module turns the secret into a channel that such a
 * bystander can neither read nor join:
 *
 *   - a three-message handshake in the shape of Noise NNpsk0 plus a confirmation message: ephemeral P-256
 *     keys on both sides, the label secret mixed in first as a pre-shared key, a transcript hash over every
 *     handshake byte used as the AEAD associated data, and key confirmation in both directions
 *     (message 2 proves the camera, message 3 proves the phone);
 *   - then transport frames sealed with AES-128-GCM under per-direction keys from that transcript, each with
 *     an explicit counter that must be exactly the next one (replay and reorder are rejected).
 *
 * Both ends use this file: the camera in XS (the responder), the phone in Node (the initiator). It uses only
 * the `Crypto` interface. The wire encodings are pinned by test/camera/setup-channel.test.ts.
 */
import type { Crypto, P256PrivateKey } from "../platform/crypto";
import { asciiBytes, concat, constantTimeEqual, readU32be, toBase64Url, u32be, wipe } from "./bytes";
import { fail } from "./errors";

/** Version tag carried in the first byte of every setup message. */
export const SETUP_VERSION = 1;
export const SETUP_PROTOCOL_NAME = "Noise_NNpsk0+confirm_P256_AES128GCM_SHA256/sealcam-setup/1";
/** The label secret: 20 random bytes (160 bits), written as 32 Crockford base32 characters. */
export const SETUP_SECRET_BYTES = 20;

export const MSG_HELLO = 1;
export const MSG_REPLY = 2;
export const MSG_CONFIRM = 3;
export const MSG_TRANSPORT = 0x10;

const P256_POINT = 65;
const TAG = 16;
const EMPTY = new Uint8Array(0);
const CONFIRM_TEXT = "sealcam-setup/1 confirm";

// ---------------------------------------------------------------------------------------------------------
// The label secret and what is derived from it

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

export function generateSetupSecret(crypto: Crypto): Uint8Array {
  return crypto.randomBytes(SETUP_SECRET_BYTES);
}

/** "ABCD-EFGH-..." : 8 groups of 4 Crockford base32 characters, as printed on the label. */
export function formatSetupSecret(secret: Uint8Array): string {
  if (secret.length !== SETUP_SECRET_BYTES) fail("E_ARGUMENT", "setup secret must be 20 bytes");
  let out = "";
  let value = 0;
  let bits = 0;
  let count = 0;
  for (let i = 0; i < secret.length; i++) {
    value = ((value << 8) | secret[i]) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      if (count > 0 && count % 4 === 0) out += "-";
      out += CROCKFORD[(value >> bits) & 31];
      count++;
    }
  }
  return out;
}

/**
 * Reads a label secret as a person types it: case-insensitive, dashes and spaces ignored, and the
 * Crockford look-alikes O->0, I/L->1 accepted. Anything else, or the wrong length, is E_FORMAT.
 */
export function parseSetupSecret(text: string): Uint8Array {
  let clean = "";
  for (let i = 0; i < text.length; i++) {
    let c = text[i].toUpperCase();
    if (c === "-" || c === " ") continue;
    if (c === "O") c = "0";
    else if (c === "I" || c === "L") c = "1";
    clean += c;
  }
  if (clean.length !== 32) fail("E_FORMAT", "setup secret must be 32 characters (8 groups of 4)");
  const out = new Uint8Array(SETUP_SECRET_BYTES);
  let value = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < clean.length; i++) {
    const d = CROCKFORD.indexOf(clean[i]);
    if (d < 0) fail("E_FORMAT", "setup secret has a character that is not in the label alphabet");
    value = ((value << 5) | d) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (value >> bits) & 0xff;
    }
  }
  return out;
}

/**
 * The setup label string (also the QR payload): `SEALCAM:1:<ssid>:<secret>`, the secret as 32 upper-case
 * Crockford base32 characters without dashes. It holds the secret, so it is as private as the label.
 */
export function setupQrPayload(ssid: string, secret: Uint8Array): string {
  if (!isLabelSsid(ssid)) fail("E_ARGUMENT", "setup label: the access point name must be 1..32 printable characters without spaces or colons");
  return `SEALCAM:${SETUP_VERSION}:${ssid}:${formatSetupSecret(secret).split("-").join("")}`;
}

/** The scheme word that starts every setup label string. */
export const SETUP_LABEL_SCHEME = "SEALCAM";

/** What a setup label string carries: the access point's name and the label secret. */
export interface SetupLabel {
  ssid: string;
  secret: Uint8Array;
}

/** An SSID as the label string can carry it: 1..32 printable ASCII characters, no space and no colon. */
export function isLabelSsid(ssid: string): boolean {
  return /^[\x21-\x39\x3b-\x7e]{1,32}$/.test(ssid);
}

/**
 * Reads a setup label string, `SEALCAM:1:<ssid>:<secret>` (docs/PROTOCOL.md 6.1): surrounding white space is
 * ignored, the scheme in any case, the version exactly 1, the SSID as written (case matters), the secret as
 * parseSetupSecret reads it (32 Crockford base32 characters, any case, O/I/L read as 0/1). Anything else is
 * E_FORMAT, and the message never repeats the secret.
 */
export function parseSetupLabel(text: string): SetupLabel {
  const parts = text.trim().split(":");
  if (parts.length !== 4 || parts[0].toUpperCase() !== SETUP_LABEL_SCHEME) {
    fail("E_FORMAT", "not a setup label: expected SEALCAM:1:<access point>:<secret>");
  }
  if (parts[1] !== String(SETUP_VERSION)) fail("E_FORMAT", `setup label version ${parts[1].slice(0, 8)} is not supported (this phone reads version ${SETUP_VERSION})`);
  if (!isLabelSsid(parts[2])) fail("E_FORMAT", "setup label: the access point name must be 1..32 printable characters without spaces or colons");
  if (!/^[0-9A-Za-z]{32}$/.test(parts[3])) fail("E_FORMAT", "setup label: the secret must be 32 letters and digits");
  return { ssid: parts[2], secret: parseSetupSecret(parts[3]) };
}

/**
 * Finds the first setup label string in a text (a label file, a console log, a `setup: qr ...` line), or
 * returns undefined. Only the exact shape is taken: `SEALCAM:1:` (scheme in any case), an SSID, 32 secret
 * characters, not followed by another letter or digit.
 */
export function findSetupLabel(text: string): string | undefined {
  const match = /(?:^|[^0-9A-Za-z])(SEALCAM:1:[\x21-\x39\x3b-\x7e]{1,32}:[0-9A-Za-z]{32})(?![0-9A-Za-z])/i.exec(text);
  return match ? match[1] : undefined;
}

export interface SetupKeys {
  /** The 32-byte pre-shared key that authenticates the handshake. */
  psk: Uint8Array;
  /** The soft AP's WPA2 password (24 base64url characters). Knowing it reveals nothing about psk. */
  wifiPassword: string;
}

/**
 * prk  = HKDF-Extract(salt = "sealcam-setup/1", ikm = label secret)
 * psk  = HKDF-Expand(prk, "sealcam-setup/1 psk", 32)
 * wifi = base64url(HKDF-Expand(prk, "sealcam-setup/1 wifi-password", 18))
 */
export function deriveSetupKeys(crypto: Crypto, secret: Uint8Array): SetupKeys {
  if (secret.length !== SETUP_SECRET_BYTES) fail("E_ARGUMENT", "setup secret must be 20 bytes");
  const prk = crypto.hkdfExtract(asciiBytes("sealcam-setup/1"), secret);
  const psk = crypto.hkdfExpand(prk, asciiBytes("sealcam-setup/1 psk"), 32);
  const wifiBytes = crypto.hkdfExpand(prk, asciiBytes("sealcam-setup/1 wifi-password"), 18);
  const wifiPassword = toBase64Url(wifiBytes);
  wipe(prk, wifiBytes);
  return { psk, wifiPassword };
}

// ---------------------------------------------------------------------------------------------------------
// Noise-style symmetric state over HKDF-SHA256 and AES-128-GCM

function nonceFor(counter: number): Uint8Array {
  // 4 zero bytes || 64-bit big-endian counter (Noise's AESGCM nonce); counters stay below 2^32 here.
  return concat(new Uint8Array(8), u32be(counter));
}

class SymmetricState {
  private ck: Uint8Array;
  h: Uint8Array;
  private k: Uint8Array | undefined;
  private n = 0;

  constructor(private readonly crypto: Crypto) {
    this.h = crypto.sha256(asciiBytes(SETUP_PROTOCOL_NAME));
    this.ck = this.h.slice();
  }

  /** HKDF(ck, ikm) with empty info, n outputs of 32 bytes: exactly Noise's HKDF. */
  private hkdf(ikm: Uint8Array, outputs: number): Uint8Array[] {
    const prk = this.crypto.hkdfExtract(this.ck, ikm);
    const okm = this.crypto.hkdfExpand(prk, EMPTY, 32 * outputs);
    wipe(prk);
    const out: Uint8Array[] = [];
    for (let i = 0; i < outputs; i++) out.push(okm.slice(32 * i, 32 * i + 32));
    wipe(okm);
    return out;
  }

  mixHash(data: Uint8Array): void {
    this.h = this.crypto.sha256(concat(this.h, data));
  }

  mixKey(ikm: Uint8Array): void {
    const [ck, k] = this.hkdf(ikm, 2);
    wipe(this.ck, this.k);
    this.ck = ck;
    this.k = k.slice(0, 16);
    wipe(k);
    this.n = 0;
  }

  mixKeyAndHash(ikm: Uint8Array): void {
    const [ck, h, k] = this.hkdf(ikm, 3);
    wipe(this.ck, this.k);
    this.ck = ck;
    this.mixHash(h);
    this.k = k.slice(0, 16);
    wipe(k);
    this.n = 0;
  }

  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    if (!this.k) fail("E_STATE", "setup handshake has no key yet");
    const c = this.crypto.aesGcmSeal(this.k, nonceFor(this.n), this.h, plaintext);
    this.n++;
    this.mixHash(c);
    return c;
  }

  decryptAndHash(ciphertext: Uint8Array): Uint8Array {
    if (!this.k) fail("E_STATE", "setup handshake has no key yet");
    const p = this.crypto.aesGcmOpen(this.k, nonceFor(this.n), this.h, ciphertext);
    if (!p) fail("E_AUTH", "setup handshake failed: wrong setup secret or tampered message");
    this.n++;
    this.mixHash(ciphertext);
    return p;
  }

  /** Two 16-byte keys: initiator->responder, responder->initiator. Wipes the chaining key. */
  split(): [Uint8Array, Uint8Array] {
    const [a, b] = this.hkdf(EMPTY, 2);
    const out: [Uint8Array, Uint8Array] = [a.slice(0, 16), b.slice(0, 16)];
    wipe(a, b, this.ck, this.k);
    this.k = undefined;
    return out;
  }

  destroy(): void {
    wipe(this.ck, this.k);
    this.k = undefined;
  }
}

function header(type: number): Uint8Array {
  return new Uint8Array([SETUP_VERSION, type]);
}

function checkHeader(message: Uint8Array, type: number, minLength: number, maxLength: number): void {
  if (!(message instanceof Uint8Array)) fail("E_FORMAT", "setup message must be bytes");
  if (message.length < 2) fail("E_FORMAT", "setup message too short");
  if (message[0] !== SETUP_VERSION) fail("E_VERSION", `unsupported setup protocol version ${message[0]}`);
  if (message[1] !== type) fail("E_FORMAT", `expected setup message type ${type}, got ${message[1]}`);
  if (message.length < minLength) fail("E_FORMAT", "setup message too short");
  if (message.length > maxLength) fail("E_LIMIT", "setup message too long");
}

/** Handshake payloads are small. */
export const MAX_HANDSHAKE_PAYLOAD = 512;
/** The setup API takes bodies of at most 64 KiB; a transport frame (6-byte header, 16-byte tag) must fit one. */
export const MAX_SETUP_BODY = 64 * 1024;
export const MAX_TRANSPORT_PLAINTEXT = MAX_SETUP_BODY - 6 - 16;

// ---------------------------------------------------------------------------------------------------------
// The established session

/**
 * After the handshake: one key per direction, each with its own counter. A frame is
 *   0x01 || 0x10 || u32be counter || AES-128-GCM(key, nonce = 0^8 || u32be counter,
 *                                                aad = handshake hash || first 6 frame bytes, plaintext)
 * and the receiver accepts only the counter it expects next. A rejected frame changes nothing.
 */
export class SetupSession {
  private sendCounter = 0;
  private receiveCounter = 0;
  private closed = false;

  constructor(
    private readonly crypto: Crypto,
    /** The handshake hash: the channel's name, bound into every frame. Not secret. */
    readonly id: Uint8Array,
    private readonly sendKey: Uint8Array,
    private readonly receiveKey: Uint8Array,
  ) {}

  get sent(): number {
    return this.sendCounter;
  }

  get received(): number {
    return this.receiveCounter;
  }

  seal(plaintext: Uint8Array): Uint8Array {
    if (this.closed) fail("E_STATE", "setup session is closed");
    if (plaintext.length > MAX_TRANSPORT_PLAINTEXT) fail("E_LIMIT", "setup message too long");
    if (this.sendCounter >= 0xffffffff) fail("E_LIMIT", "setup session used up; start a new one");
    const head = concat(header(MSG_TRANSPORT), u32be(this.sendCounter));
    const c = this.crypto.aesGcmSeal(this.sendKey, nonceFor(this.sendCounter), concat(this.id, head), plaintext);
    this.sendCounter++;
    return concat(head, c);
  }

  open(frame: Uint8Array): Uint8Array {
    if (this.closed) fail("E_STATE", "setup session is closed");
    checkHeader(frame, MSG_TRANSPORT, 6 + TAG, 6 + TAG + MAX_TRANSPORT_PLAINTEXT);
    const counter = readU32be(frame, 2);
    if (counter < this.receiveCounter) fail("E_AUTH", "replayed setup message");
    if (counter > this.receiveCounter) fail("E_AUTH", "setup message out of order");
    const head = frame.subarray(0, 6);
    const p = this.crypto.aesGcmOpen(this.receiveKey, nonceFor(counter), concat(this.id, head), frame.subarray(6));
    if (!p) fail("E_AUTH", "setup message failed authentication");
    this.receiveCounter++;
    return p;
  }

  close(): void {
    this.closed = true;
    wipe(this.sendKey, this.receiveKey);
  }
}

// ---------------------------------------------------------------------------------------------------------
// The two roles

function ecdh(crypto: Crypto, key: P256PrivateKey, peer: Uint8Array): Uint8Array {
  try {
    return crypto.p256Ecdh(key, peer);
  } catch {
    return fail("E_FORMAT", "setup message carries an invalid P-256 point");
  }
}

/**
 * The phone's side.
 *   hello()          -> message 1: 01 01 || e_phone (65) || AEAD(payload)     [tokens: psk, e]
 *   readReply(msg2)  <- message 2: 01 02 || e_camera (65) || AEAD(payload)    [tokens: e, ee]; proves the camera
 *   confirm()        -> message 3: 01 03 || AEAD("sealcam-setup/1 confirm")   proves the phone; session ready
 */
export class SetupInitiator {
  private readonly state: SymmetricState;
  private ephemeral: P256PrivateKey | undefined;
  private step: "new" | "sent-hello" | "got-reply" | "done" | "failed" = "new";
  private sessionValue: SetupSession | undefined;

  constructor(private readonly crypto: Crypto, psk: Uint8Array) {
    if (psk.length !== 32) fail("E_ARGUMENT", "setup psk must be 32 bytes");
    this.state = new SymmetricState(crypto);
    this.state.mixKeyAndHash(psk);
  }

  hello(payload: Uint8Array = EMPTY): Uint8Array {
    if (this.step !== "new") fail("E_STATE", "setup hello already sent");
    if (payload.length > MAX_HANDSHAKE_PAYLOAD) fail("E_LIMIT", "setup hello payload too long");
    const h = header(MSG_HELLO);
    this.state.mixHash(h);
    this.ephemeral = this.crypto.p256Generate();
    const e = this.crypto.p256PublicKey(this.ephemeral);
    this.state.mixHash(e);
    this.state.mixKey(e);
    const c = this.state.encryptAndHash(payload);
    this.step = "sent-hello";
    return concat(h, e, c);
  }

  /** Returns the camera's reply payload; throws E_AUTH if the peer does not know the setup secret. */
  readReply(message: Uint8Array): Uint8Array {
    if (this.step !== "sent-hello" || !this.ephemeral) fail("E_STATE", "setup reply not expected now");
    checkHeader(message, MSG_REPLY, 2 + P256_POINT + TAG, 2 + P256_POINT + TAG + MAX_HANDSHAKE_PAYLOAD);
    try {
      this.state.mixHash(message.subarray(0, 2));
      const e = message.slice(2, 2 + P256_POINT);
      this.state.mixHash(e);
      this.state.mixKey(e);
      const shared = ecdh(this.crypto, this.ephemeral, e);
      this.state.mixKey(shared);
      wipe(shared);
      const payload = this.state.decryptAndHash(message.subarray(2 + P256_POINT));
      this.step = "got-reply";
      return payload;
    } catch (error) {
      this.abort();
      throw error;
    } finally {
      if (this.ephemeral) this.crypto.p256Destroy(this.ephemeral);
      this.ephemeral = undefined;
    }
  }

  confirm(): Uint8Array {
    if (this.step !== "got-reply") fail("E_STATE", "setup confirm not possible now");
    const h = header(MSG_CONFIRM);
    this.state.mixHash(h);
    const c = this.state.encryptAndHash(asciiBytes(CONFIRM_TEXT));
    const id = this.state.h.slice();
    const [toCamera, toPhone] = this.state.split();
    this.sessionValue = new SetupSession(this.crypto, id, toCamera, toPhone);
    this.step = "done";
    return concat(h, c);
  }

  get session(): SetupSession {
    if (!this.sessionValue) fail("E_STATE", "setup handshake not finished");
    return this.sessionValue;
  }

  private abort(): void {
    this.step = "failed";
    this.state.destroy();
  }
}

/**
 * The camera's side. One responder per handshake attempt; any failure leaves it unusable.
 *   readHello(msg1, replyPayload) -> message 2
 *   readConfirm(msg3)             -> the session
 */
export class SetupResponder {
  private readonly state: SymmetricState;
  private step: "new" | "sent-reply" | "done" | "failed" = "new";
  /** The phone's ephemeral key from message 1, for replay detection by the caller. */
  peerEphemeral: Uint8Array | undefined;

  constructor(private readonly crypto: Crypto, psk: Uint8Array) {
    if (psk.length !== 32) fail("E_ARGUMENT", "setup psk must be 32 bytes");
    this.state = new SymmetricState(crypto);
    this.state.mixKeyAndHash(psk);
  }

  /** Returns the hello payload and message 2; throws E_AUTH unless the phone knows the setup secret. */
  readHello(message: Uint8Array, replyPayload: Uint8Array = EMPTY): { payload: Uint8Array; reply: Uint8Array } {
    if (this.step !== "new") fail("E_STATE", "setup hello not expected now");
    checkHeader(message, MSG_HELLO, 2 + P256_POINT + TAG, 2 + P256_POINT + TAG + MAX_HANDSHAKE_PAYLOAD);
    if (replyPayload.length > MAX_HANDSHAKE_PAYLOAD) fail("E_LIMIT", "setup reply payload too long");
    let ephemeral: P256PrivateKey | undefined;
    try {
      this.state.mixHash(message.subarray(0, 2));
      const peer = message.slice(2, 2 + P256_POINT);
      this.state.mixHash(peer);
      this.state.mixKey(peer);
      const payload = this.state.decryptAndHash(message.subarray(2 + P256_POINT));
      this.peerEphemeral = peer;

      const h = header(MSG_REPLY);
      this.state.mixHash(h);
      ephemeral = this.crypto.p256Generate();
      const e = this.crypto.p256PublicKey(ephemeral);
      this.state.mixHash(e);
      this.state.mixKey(e);
      const shared = ecdh(this.crypto, ephemeral, peer);
      this.state.mixKey(shared);
      wipe(shared);
      const c = this.state.encryptAndHash(replyPayload);
      this.step = "sent-reply";
      return { payload, reply: concat(h, e, c) };
    } catch (error) {
      this.abort();
      throw error;
    } finally {
      if (ephemeral) this.crypto.p256Destroy(ephemeral);
    }
  }

  readConfirm(message: Uint8Array): SetupSession {
    if (this.step !== "sent-reply") fail("E_STATE", "setup confirm not expected now");
    checkHeader(message, MSG_CONFIRM, 2 + TAG, 2 + TAG + CONFIRM_TEXT.length);
    try {
      this.state.mixHash(message.subarray(0, 2));
      const p = this.state.decryptAndHash(message.subarray(2));
      if (!constantTimeEqual(p, asciiBytes(CONFIRM_TEXT))) fail("E_AUTH", "setup confirmation does not match");
      const id = this.state.h.slice();
      const [fromPhone, toPhone] = this.state.split();
      this.step = "done";
      return new SetupSession(this.crypto, id, toPhone, fromPhone);
    } catch (error) {
      this.abort();
      throw error;
    }
  }

  private abort(): void {
    this.step = "failed";
    this.state.destroy();
  }
}
