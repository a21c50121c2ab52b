/*
 * "sealcam/native-crypto" on the board: the binding paired with sealcam_crypto.c by one Moddable manifest
 * entry without extension ("sealcam/native-crypto": "./firmware/native/sealcam_crypto"). Written in the
 * Native()/native() form that xsc compiles to host calls (see docs/BOARD-SIM.md). The XS host uses
 * host-tools/board-sim/xs-host/js/native-crypto.ts instead; both follow firmware/types/sealcam-native-crypto.d.ts.
 */

class P256Key extends Native("xs_sealcam_p256_destructor") {
	constructor() { super(); }
}
Object.freeze(P256Key.prototype);

class Sha256State extends Native("xs_sealcam_sha256_destructor") {
	constructor() { super(); }
}
Object.freeze(Sha256State.prototype);

export function random(length) { return native("xs_sealcam_random").call(undefined, length); }
export function sha256(data) { return native("xs_sealcam_sha256").call(undefined, data); }
export function sha256Begin() {
	const state = new Sha256State();
	native("xs_sealcam_sha256_begin").call(state);
	return state;
}
export function sha256Update(state, data) { native("xs_sealcam_sha256_update").call(state, data); }
export function sha256Finish(state) { return native("xs_sealcam_sha256_finish").call(state); }
export function hkdfExtract(salt, ikm) { return native("xs_sealcam_hkdf_extract").call(undefined, salt, ikm); }
export function hkdfExpand(prk, info, length) { return native("xs_sealcam_hkdf_expand").call(undefined, prk, info, length); }
export function gcmSeal(key, nonce, aad, plaintext) { return native("xs_sealcam_gcm_seal").call(undefined, key, nonce, aad, plaintext); }
export function gcmOpen(key, nonce, aad, sealed) { return native("xs_sealcam_gcm_open").call(undefined, key, nonce, aad, sealed); }
export function p256Generate() {
	const key = new P256Key();
	native("xs_sealcam_p256_generate").call(key);
	return key;
}
export function p256Import(scalar) {
	const key = new P256Key();
	native("xs_sealcam_p256_import").call(key, scalar);
	return key;
}
export function p256Export(key) { return native("xs_sealcam_p256_export").call(key); }
export function p256Public(key) { return native("xs_sealcam_p256_public").call(key); }
export function p256Ecdh(key, peer) { return native("xs_sealcam_p256_ecdh").call(key, peer); }
export function p256Sign(key, message) { return native("xs_sealcam_p256_sign").call(key, message); }
export function p256Destroy(key) { native("xs_sealcam_p256_destroy").call(key); }
export function p256Verify(publicKey, message, signature) { return native("xs_sealcam_p256_verify").call(undefined, publicKey, message, signature); }
export function rsaOaepEncrypt(der, plaintext, label) { return native("xs_sealcam_rsa_oaep_encrypt").call(undefined, der, plaintext, label); }
export function rsaPssVerify(der, message, signature) { return native("xs_sealcam_rsa_pss_verify").call(undefined, der, message, signature); }
