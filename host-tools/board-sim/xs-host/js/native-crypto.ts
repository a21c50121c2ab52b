/**
 * "sealcam/native-crypto" in the XS host (the host bundle aliases the specifier here). The host C registered
 * the natives of firmware/native/sealcam_crypto.c on globalThis.__sealcamNative under their C names, and
 * __sealcamHost.newNative(kind) makes the host objects that the board's Native("...destructor") classes make.
 * Same contract as the board binding (firmware/native/sealcam_crypto.js): firmware/types/sealcam-native-crypto.d.ts.
 */
/// <reference path="../../../../firmware/types/sealcam-native-crypto.d.ts" />
/// <reference path="./host-globals.d.ts" />
import type { NativeP256Key, NativeSha256 } from "sealcam/native-crypto";

const N = globalThis.__sealcamNative;
const newNative = (kind: "p256" | "sha256"): object => globalThis.__sealcamHost.newNative(kind);

export function random(length: number): ArrayBuffer {
  return N.xs_sealcam_random(length) as ArrayBuffer;
}
export function sha256(data: Uint8Array): ArrayBuffer {
  return N.xs_sealcam_sha256(data) as ArrayBuffer;
}
export function sha256Begin(): NativeSha256 {
  const state = newNative("sha256");
  N.xs_sealcam_sha256_begin.call(state);
  return state as NativeSha256;
}
export function sha256Update(state: NativeSha256, data: Uint8Array): void {
  N.xs_sealcam_sha256_update.call(state, data);
}
export function sha256Finish(state: NativeSha256): ArrayBuffer {
  return N.xs_sealcam_sha256_finish.call(state) as ArrayBuffer;
}
export function hkdfExtract(salt: Uint8Array, ikm: Uint8Array): ArrayBuffer {
  return N.xs_sealcam_hkdf_extract(salt, ikm) as ArrayBuffer;
}
export function hkdfExpand(prk: Uint8Array, info: Uint8Array, length: number): ArrayBuffer {
  return N.xs_sealcam_hkdf_expand(prk, info, length) as ArrayBuffer;
}
export function gcmSeal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): ArrayBuffer {
  return N.xs_sealcam_gcm_seal(key, nonce, aad, plaintext) as ArrayBuffer;
}
export function gcmOpen(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): ArrayBuffer | null {
  return N.xs_sealcam_gcm_open(key, nonce, aad, sealed) as ArrayBuffer | null;
}
export function p256Generate(): NativeP256Key {
  const key = newNative("p256");
  N.xs_sealcam_p256_generate.call(key);
  return key as NativeP256Key;
}
export function p256Import(scalar: Uint8Array): NativeP256Key {
  const key = newNative("p256");
  N.xs_sealcam_p256_import.call(key, scalar);
  return key as NativeP256Key;
}
export function p256Export(key: NativeP256Key): ArrayBuffer {
  return N.xs_sealcam_p256_export.call(key) as ArrayBuffer;
}
export function p256Public(key: NativeP256Key): ArrayBuffer {
  return N.xs_sealcam_p256_public.call(key) as ArrayBuffer;
}
export function p256Ecdh(key: NativeP256Key, peer: Uint8Array): ArrayBuffer {
  return N.xs_sealcam_p256_ecdh.call(key, peer) as ArrayBuffer;
}
export function p256Sign(key: NativeP256Key, message: Uint8Array): ArrayBuffer {
  return N.xs_sealcam_p256_sign.call(key, message) as ArrayBuffer;
}
export function p256Destroy(key: NativeP256Key): void {
  N.xs_sealcam_p256_destroy.call(key);
}
export function p256Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  return N.xs_sealcam_p256_verify(publicKey, message, signature) as boolean;
}
export function rsaOaepEncrypt(der: Uint8Array, plaintext: Uint8Array, label: Uint8Array): ArrayBuffer {
  return N.xs_sealcam_rsa_oaep_encrypt(der, plaintext, label) as ArrayBuffer;
}
export function rsaPssVerify(der: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  return N.xs_sealcam_rsa_pss_verify(der, message, signature) as boolean;
}
