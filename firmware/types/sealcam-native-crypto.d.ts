/**
 * "sealcam/native-crypto": the binding to firmware/native/sealcam_crypto.c. Firmware code does not use it
 * directly: it goes through `NativeCrypto` (firmware/native/native-crypto.ts), which implements `Crypto`.
 *
 * Two implementations of this module exist, with the same behaviour:
 * - on the board, firmware/native/sealcam_crypto.js (Moddable's Native()/native() form, paired with the .c
 *   by one manifest entry);
 * - in the XS host, host-tools/board-sim/xs-host/js/native-crypto.ts (reads the functions the host C
 *   registered on globalThis.__sealcamNative); the host bundle aliases this specifier to it.
 *
 * Arguments are byte buffers (Uint8Array); results are fresh ArrayBuffers. Bad arguments throw RangeError or
 * TypeError; PSA failures throw Error. Authentication failures are results (null / false).
 */
declare module "sealcam/native-crypto" {
  /** A P-256 private key held by PSA; the scalar never enters JS unless exported. */
  export interface NativeP256Key {
    readonly __sealcamNativeP256Key: never;
  }
  /** A streaming SHA-256 state held by PSA. */
  export interface NativeSha256 {
    readonly __sealcamNativeSha256: never;
  }

  export function random(length: number): ArrayBuffer;
  export function sha256(data: Uint8Array): ArrayBuffer;
  export function sha256Begin(): NativeSha256;
  export function sha256Update(state: NativeSha256, data: Uint8Array): void;
  /** Returns the digest; the state is released. */
  export function sha256Finish(state: NativeSha256): ArrayBuffer;
  export function hkdfExtract(salt: Uint8Array, ikm: Uint8Array): ArrayBuffer;
  export function hkdfExpand(prk: Uint8Array, info: Uint8Array, length: number): ArrayBuffer;
  export function gcmSeal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): ArrayBuffer;
  /** null when authentication fails. */
  export function gcmOpen(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): ArrayBuffer | null;
  export function p256Generate(): NativeP256Key;
  export function p256Import(scalar: Uint8Array): NativeP256Key;
  export function p256Export(key: NativeP256Key): ArrayBuffer;
  export function p256Public(key: NativeP256Key): ArrayBuffer;
  export function p256Ecdh(key: NativeP256Key, peer: Uint8Array): ArrayBuffer;
  export function p256Sign(key: NativeP256Key, message: Uint8Array): ArrayBuffer;
  /** Idempotent; later use of the key throws TypeError. */
  export function p256Destroy(key: NativeP256Key): void;
  export function p256Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
  export function rsaOaepEncrypt(pkcs1Der: Uint8Array, plaintext: Uint8Array, label: Uint8Array): ArrayBuffer;
  export function rsaPssVerify(pkcs1Der: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
}
