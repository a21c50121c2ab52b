/**
 * NativeCrypto: the camera's body of the `Crypto` interface (firmware/platform/crypto.ts), over our native
 * module firmware/native/sealcam_crypto.c (PSA Crypto / Mbed TLS) through the "sealcam/native-crypto" binding.
 * The same class runs on the board (Moddable binding) and in the XS host (host binding), so the board simulator
 * exercises the exact C the camera runs.
 *
 *   import { NativeCrypto } from "../native/native-crypto";
 *   const crypto: Crypto = new NativeCrypto();
 *
 * Behaviour matches NodeCrypto (host-tools/platform/node-crypto.ts) call for call; test/xs/ checks it.
 * Errors: bad arguments -> SealcamError E_ARGUMENT; use of a destroyed key or finished hash -> E_STATE;
 * anything PSA itself reports -> E_CRYPTO. Authentication failures are results (null / false), not errors.
 */
/// <reference path="../types/sealcam-native-crypto.d.ts" />
import * as native from "sealcam/native-crypto";
import type { NativeP256Key, NativeSha256 } from "sealcam/native-crypto";
import type { Crypto, P256PrivateKey, Sha256 } from "../platform/crypto";
import { SealcamError } from "../core/errors";

class NativeP256PrivateKey implements P256PrivateKey {
  readonly kind = "p256-private" as const;
  #handle: NativeP256Key | undefined;
  constructor(handle: NativeP256Key) {
    this.#handle = handle;
  }
  get handle(): NativeP256Key {
    if (!this.#handle) throw new SealcamError("E_STATE", "p256 key was destroyed");
    return this.#handle;
  }
  destroy(): void {
    const handle = this.#handle;
    this.#handle = undefined;
    if (handle) native.p256Destroy(handle);
  }
}

/** Natives prefix their messages with "@function: "; users get the message itself. */
function nativeMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^@[\w$]+: /, "");
}

/** Runs a native call, turning its exceptions into SealcamErrors. */
function call<T>(operation: () => T): T {
  try {
    return operation();
  } catch (error) {
    if (error instanceof SealcamError) throw error;
    if (error instanceof RangeError || error instanceof TypeError)
      throw new SealcamError("E_ARGUMENT", nativeMessage(error));
    throw new SealcamError("E_CRYPTO", nativeMessage(error));
  }
}

function bytes(name: string, value: unknown): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new SealcamError("E_ARGUMENT", `${name} must be a Uint8Array`);
}

function asKey(key: P256PrivateKey): NativeP256PrivateKey {
  if (!(key instanceof NativeP256PrivateKey)) throw new SealcamError("E_ARGUMENT", "not a key from this crypto provider");
  return key;
}

const u8 = (buffer: ArrayBuffer): Uint8Array => new Uint8Array(buffer);

class NativeSha256Stream implements Sha256 {
  #state: NativeSha256 | undefined;
  constructor() {
    this.#state = call(() => native.sha256Begin());
  }
  update(data: Uint8Array): void {
    bytes("data", data);
    const state = this.#state;
    if (!state) throw new SealcamError("E_STATE", "sha256 already finished");
    call(() => native.sha256Update(state, data));
  }
  digest(): Uint8Array {
    const state = this.#state;
    if (!state) throw new SealcamError("E_STATE", "sha256 already finished");
    this.#state = undefined;
    return u8(call(() => native.sha256Finish(state)));
  }
}

export class NativeCrypto implements Crypto {
  randomBytes(length: number): Uint8Array {
    if (!Number.isInteger(length) || length < 0 || length > 65536)
      throw new SealcamError("E_ARGUMENT", "random length out of range");
    return u8(call(() => native.random(length)));
  }

  sha256(data: Uint8Array): Uint8Array {
    bytes("data", data);
    return u8(call(() => native.sha256(data)));
  }

  createSha256(): Sha256 {
    return new NativeSha256Stream();
  }

  hkdfExtract(salt: Uint8Array, ikm: Uint8Array): Uint8Array {
    bytes("salt", salt);
    bytes("ikm", ikm);
    return u8(call(() => native.hkdfExtract(salt, ikm)));
  }

  hkdfExpand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
    bytes("prk", prk);
    bytes("info", info);
    if (prk.length < 32) throw new SealcamError("E_ARGUMENT", "prk must be at least 32 bytes");
    if (!Number.isInteger(length) || length < 1 || length > 255 * 32)
      throw new SealcamError("E_ARGUMENT", "hkdf length must be 1..8160");
    return u8(call(() => native.hkdfExpand(prk, info, length)));
  }

  aesGcmSeal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    bytes("key", key);
    bytes("nonce", nonce);
    bytes("aad", aad);
    bytes("plaintext", plaintext);
    return u8(call(() => native.gcmSeal(key, nonce, aad, plaintext)));
  }

  aesGcmOpen(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | null {
    bytes("key", key);
    bytes("nonce", nonce);
    bytes("aad", aad);
    bytes("sealed", sealed);
    const opened = call(() => native.gcmOpen(key, nonce, aad, sealed));
    return opened ? u8(opened) : null;
  }

  p256Generate(): P256PrivateKey {
    return new NativeP256PrivateKey(call(() => native.p256Generate()));
  }

  p256Import(privateScalar: Uint8Array): P256PrivateKey {
    bytes("private key", privateScalar);
    return new NativeP256PrivateKey(call(() => native.p256Import(privateScalar)));
  }

  p256Export(key: P256PrivateKey): Uint8Array {
    const handle = asKey(key).handle;
    return u8(call(() => native.p256Export(handle)));
  }

  p256PublicKey(key: P256PrivateKey): Uint8Array {
    const handle = asKey(key).handle;
    return u8(call(() => native.p256Public(handle)));
  }

  p256Ecdh(key: P256PrivateKey, peerPublicKey: Uint8Array): Uint8Array {
    const handle = asKey(key).handle;
    bytes("peer public key", peerPublicKey);
    return u8(call(() => native.p256Ecdh(handle, peerPublicKey)));
  }

  ecdsaP256Sign(key: P256PrivateKey, message: Uint8Array): Uint8Array {
    bytes("message", message);
    const handle = asKey(key).handle;
    return u8(call(() => native.p256Sign(handle, message)));
  }

  ecdsaP256Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    bytes("public key", publicKey);
    bytes("message", message);
    bytes("signature", signature);
    return call(() => native.p256Verify(publicKey, message, signature));
  }

  p256Destroy(key: P256PrivateKey): void {
    const k = asKey(key);
    call(() => k.destroy());
  }

  rsaOaepSha256Encrypt(publicKey: Uint8Array, plaintext: Uint8Array, label: Uint8Array): Uint8Array {
    bytes("RSA public key", publicKey);
    bytes("plaintext", plaintext);
    bytes("label", label);
    return u8(call(() => native.rsaOaepEncrypt(publicKey, plaintext, label)));
  }

  rsaPssSha256Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    bytes("RSA public key", publicKey);
    bytes("message", message);
    bytes("signature", signature);
    return call(() => native.rsaPssVerify(publicKey, message, signature));
  }
}
