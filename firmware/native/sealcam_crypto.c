/*
 * sealcam_crypto.c: the camera's native crypto, bound to XS with the xsmc API, over the PSA Crypto API.
 *
 * One file, two builds:
 * - ESP32-S3: mcconfig compiles it next to firmware/native/sealcam_crypto.js (a manifest entry without an
 *   extension pairs the two); ESP-IDF 6 ships Mbed TLS 4 (PSA only), with the chip's AES/SHA/RSA blocks behind
 *   PSA drivers.
 * - Host: host-tools/board-sim/xs-host links it into our XS host against Debian's Mbed TLS 2.28.
 * Everything version-specific sits behind SEALCAM_* switches defined below, each with the reason.
 *
 * JS-visible functions (the binding's contract; firmware/types/sealcam-native-crypto.d.ts types the wrapper):
 *   xs_sealcam_random(length) -> ArrayBuffer
 *   xs_sealcam_sha256(data) -> ArrayBuffer(32)
 *   xs_sealcam_sha256_begin.call(host) / _update.call(host, data) / _finish.call(host) -> ArrayBuffer(32)
 *   xs_sealcam_hkdf_extract(salt, ikm) -> ArrayBuffer(32)
 *   xs_sealcam_hkdf_expand(prk, info, length) -> ArrayBuffer(length)
 *   xs_sealcam_gcm_seal(key16, nonce12, aad, plaintext) -> ArrayBuffer(ciphertext || tag16)
 *   xs_sealcam_gcm_open(key16, nonce12, aad, sealed) -> ArrayBuffer | null (null: authentication failed)
 *   xs_sealcam_p256_generate.call(host) / xs_sealcam_p256_import.call(host, scalar32)
 *   xs_sealcam_p256_export.call(host) -> ArrayBuffer(32); xs_sealcam_p256_public.call(host) -> ArrayBuffer(65)
 *   xs_sealcam_p256_ecdh.call(host, peer65) -> ArrayBuffer(32)
 *   xs_sealcam_p256_sign.call(host, message) -> ArrayBuffer(64 = r || s, RFC 6979 deterministic)
 *   xs_sealcam_p256_destroy.call(host)   (idempotent; later use throws TypeError "p256 key was destroyed")
 *   xs_sealcam_p256_verify(public65, message, signature) -> boolean
 *   xs_sealcam_rsa_oaep_encrypt(pkcs1Der, plaintext, label) -> ArrayBuffer(modulus length)
 *   xs_sealcam_rsa_pss_verify(pkcs1Der, message, signature) -> boolean
 * "host" objects are host objects whose destructor is xs_sealcam_p256_destructor / xs_sealcam_sha256_destructor
 * (on Moddable: `class X extends Native("xs_sealcam_p256_destructor")`; on our XS host: created by the host).
 *
 * Errors: bad arguments throw RangeError/TypeError with a lower-case message; failures inside PSA throw
 * Error ("unknown error") naming the operation and its psa_status_t. Authentication failures are results.
 *
 * XS rules followed here: buffers can move whenever XS allocates, so every function allocates its result
 * first and only then takes pointers into its arguments (and never keeps them across another allocation).
 * Nothing is thrown while a PSA key, operation or secret is live: clean up, then throw.
 */
#include "xsmc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "psa/crypto.h"
#include "mbedtls/platform_util.h" /* mbedtls_platform_zeroize: Mbed TLS 2.28, 3.x and TF-PSA-Crypto (4.x) */

/*
 * Which Mbed TLS. Mbed TLS 4 (ESP-IDF 6) moved all crypto to TF-PSA-Crypto 1.x, whose headers psa/crypto.h
 * pulls in (TF_PSA_CRYPTO_VERSION_MAJOR); PSA is then the only crypto API. Mbed TLS 2.x/3.x have
 * mbedtls/version.h. Test for TF-PSA-Crypto first: a build against it alone may still see an unrelated
 * system mbedtls/version.h on the include path.
 */
#if defined(TF_PSA_CRYPTO_VERSION_MAJOR)
#define SEALCAM_MBEDTLS_MAJOR 4
#else
#include "mbedtls/version.h"
#define SEALCAM_MBEDTLS_MAJOR MBEDTLS_VERSION_MAJOR
#endif

/*
 * HKDF. RFC 5869 Extract and Expand are separate steps in our Crypto interface (HPKE needs them apart).
 * PSA has them as PSA_ALG_HKDF_EXTRACT / PSA_ALG_HKDF_EXPAND since Mbed TLS 3.2 (and in Mbed TLS 4, where
 * the legacy mbedtls_hkdf_* functions are gone). Mbed TLS 2.28's PSA only has the combined PSA_ALG_HKDF,
 * so on 2.x we use the legacy mbedtls_hkdf_extract/expand (MBEDTLS_HKDF_C, on in Debian's build).
 */
#if SEALCAM_MBEDTLS_MAJOR < 3 || !defined(PSA_ALG_HKDF_EXTRACT)
#define SEALCAM_LEGACY_HKDF 1
#include "mbedtls/hkdf.h"
#include "mbedtls/md.h"
#else
#define SEALCAM_LEGACY_HKDF 0
#endif

/*
 * RSA-PSS. Our interface says salt length 32 (= SHA-256 length). Since PSA_ALG_RSA_PSS_ANY_SALT exists
 * (Mbed TLS 2.28.3+ and 3.3+, and 4.x), PSA_ALG_RSA_PSS verification requires exactly that salt length
 * (checked on the host: a salt-20 signature gives PSA_ERROR_INVALID_SIGNATURE). Older releases accepted any
 * salt length under PSA_ALG_RSA_PSS, which would be weaker than the interface promises: refuse to build.
 */
#if !defined(PSA_ALG_RSA_PSS_ANY_SALT)
#error "sealcam_crypto.c: this PSA's PSA_ALG_RSA_PSS verify accepts any salt length; need Mbed TLS >= 2.28.3"
#endif

/* Key ids: mbedtls_svc_key_id_t is the PSA key id type in 2.28, 3.x and 4.x (a plain psa_key_id_t unless
 * the build encodes key owners). */
typedef mbedtls_svc_key_id_t sealcam_key_id;

#define SEALCAM_P256_SCALAR 32
#define SEALCAM_P256_POINT 65
#define SEALCAM_P256_SIG 64
#define SEALCAM_SHA256 32
#define SEALCAM_GCM_KEY 16
#define SEALCAM_GCM_NONCE 12
#define SEALCAM_GCM_TAG 16
#define SEALCAM_RANDOM_MAX 65536
#define SEALCAM_HKDF_MAX (255 * 32)

void xs_sealcam_p256_destructor(void *data);
void xs_sealcam_sha256_destructor(void *data);

/* ---------------------------------------------------------------- helpers */

static void sealcam_init(xsMachine *the)
{
	static int initialized = 0;
	if (!initialized) {
		psa_status_t status = psa_crypto_init();
		if (status != PSA_SUCCESS)
			xsUnknownError("psa_crypto_init failed (psa_status_t %d)", (int)status);
		initialized = 1;
	}
}

static void sealcam_fail(xsMachine *the, const char *operation, psa_status_t status)
{
	xsUnknownError("%s failed (psa_status_t %d)", operation, (int)status);
}

static void sealcam_need_args(xsMachine *the, int count)
{
	if (xsmcArgc < count)
		xsTypeError("expected %d arguments, got %d", count, (int)xsmcArgc);
}

/* The length of a buffer argument (ArrayBuffer, Uint8Array, DataView...); throws TypeError otherwise. */
static size_t sealcam_arg_length(xsMachine *the, int index)
{
	void *data;
	xsUnsignedValue count;
	xsmcGetBufferReadable(xsArg(index), &data, &count);
	return (size_t)count;
}

/* A pointer into a buffer argument. Only valid until XS allocates again. */
static const uint8_t *sealcam_arg_bytes(xsMachine *the, int index, size_t *length)
{
	void *data;
	xsUnsignedValue count;
	xsmcGetBufferReadable(xsArg(index), &data, &count);
	if (length)
		*length = (size_t)count;
	return (const uint8_t *)data;
}

/* An integer argument in [min, max]. */
static int sealcam_arg_int(xsMachine *the, int index, const char *name, int min, int max)
{
	xsNumberValue value = xsmcToNumber(xsArg(index));
	if (!(value >= (xsNumberValue)min && value <= (xsNumberValue)max) || value != (xsNumberValue)(int)value)
		xsRangeError("%s must be an integer in %d..%d", name, min, max);
	return (int)value;
}

/* Allocates xsResult as an ArrayBuffer of `length` bytes and returns its data (valid until XS allocates). */
static uint8_t *sealcam_result_buffer(xsMachine *the, size_t length)
{
	xsmcSetArrayBuffer(xsResult, NULL, (xsIntegerValue)length);
	return (uint8_t *)xsmcToArrayBuffer(xsResult);
}

/* ---------------------------------------------------------------- random, SHA-256 */

void xs_sealcam_random(xsMachine *the)
{
	int length;
	uint8_t *out;
	psa_status_t status;
	sealcam_init(the);
	sealcam_need_args(the, 1);
	length = sealcam_arg_int(the, 0, "random length", 0, SEALCAM_RANDOM_MAX);
	out = sealcam_result_buffer(the, (size_t)length);
	status = length ? psa_generate_random(out, (size_t)length) : PSA_SUCCESS;
	if (status != PSA_SUCCESS)
		sealcam_fail(the, "psa_generate_random", status);
}

void xs_sealcam_sha256(xsMachine *the)
{
	uint8_t *out;
	const uint8_t *data;
	size_t length, written = 0;
	psa_status_t status;
	sealcam_init(the);
	sealcam_need_args(the, 1);
	(void)sealcam_arg_length(the, 0); /* type check before allocating */
	out = sealcam_result_buffer(the, SEALCAM_SHA256);
	data = sealcam_arg_bytes(the, 0, &length);
	status = psa_hash_compute(PSA_ALG_SHA_256, data, length, out, SEALCAM_SHA256, &written);
	if (status != PSA_SUCCESS || written != SEALCAM_SHA256)
		sealcam_fail(the, "psa_hash_compute", status);
}

typedef struct {
	psa_hash_operation_t operation;
} sealcam_sha256_state;

void xs_sealcam_sha256_destructor(void *data)
{
	sealcam_sha256_state *state = (sealcam_sha256_state *)data;
	if (state) {
		psa_hash_abort(&state->operation);
		mbedtls_platform_zeroize(state, sizeof(*state));
		free(state);
	}
}

static sealcam_sha256_state *sealcam_sha256_this(xsMachine *the)
{
	sealcam_sha256_state *state = (sealcam_sha256_state *)xsmcGetHostDataValidate(xsThis, (void *)xs_sealcam_sha256_destructor);
	if (!state)
		xsTypeError("sha256 already finished");
	return state;
}

void xs_sealcam_sha256_begin(xsMachine *the)
{
	sealcam_sha256_state *state;
	psa_status_t status;
	sealcam_init(the);
	if (xsmcGetHostDataValidate(xsThis, (void *)xs_sealcam_sha256_destructor))
		xsTypeError("sha256 already started");
	state = (sealcam_sha256_state *)calloc(1, sizeof(*state));
	if (!state)
		xsUnknownError("out of memory for sha256");
	state->operation = psa_hash_operation_init();
	status = psa_hash_setup(&state->operation, PSA_ALG_SHA_256);
	if (status != PSA_SUCCESS) {
		xs_sealcam_sha256_destructor(state);
		sealcam_fail(the, "psa_hash_setup", status);
	}
	xsmcSetHostData(xsThis, state);
}

void xs_sealcam_sha256_update(xsMachine *the)
{
	sealcam_sha256_state *state;
	const uint8_t *data;
	size_t length;
	psa_status_t status;
	sealcam_need_args(the, 1);
	state = sealcam_sha256_this(the);
	data = sealcam_arg_bytes(the, 0, &length);
	status = psa_hash_update(&state->operation, data, length);
	if (status != PSA_SUCCESS)
		sealcam_fail(the, "psa_hash_update", status);
}

void xs_sealcam_sha256_finish(xsMachine *the)
{
	sealcam_sha256_state *state;
	uint8_t *out;
	size_t written = 0;
	psa_status_t status;
	(void)sealcam_sha256_this(the);
	out = sealcam_result_buffer(the, SEALCAM_SHA256);
	state = sealcam_sha256_this(the);
	status = psa_hash_finish(&state->operation, out, SEALCAM_SHA256, &written);
	xsmcSetHostData(xsThis, NULL);
	xs_sealcam_sha256_destructor(state);
	if (status != PSA_SUCCESS || written != SEALCAM_SHA256)
		sealcam_fail(the, "psa_hash_finish", status);
}

/* ---------------------------------------------------------------- HKDF-SHA256 */

void xs_sealcam_hkdf_extract(xsMachine *the)
{
	uint8_t *out;
	const uint8_t *salt, *ikm;
	size_t saltLength, ikmLength;
	int failed;
	const char *operation;
	sealcam_init(the);
	sealcam_need_args(the, 2);
	(void)sealcam_arg_length(the, 0);
	(void)sealcam_arg_length(the, 1);
	out = sealcam_result_buffer(the, SEALCAM_SHA256);
	salt = sealcam_arg_bytes(the, 0, &saltLength);
	ikm = sealcam_arg_bytes(the, 1, &ikmLength);
#if SEALCAM_LEGACY_HKDF
	{
		static const uint8_t zero = 0;
		/* mbedtls_hkdf_extract takes salt == NULL as "no salt" (HashLen zeros), which HMAC treats the same as an
		 * empty key; an empty buffer may come with a NULL pointer, so pass a non-NULL one with length 0. */
		int ret = mbedtls_hkdf_extract(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), saltLength ? salt : &zero,
			saltLength, ikm, ikmLength, out);
		operation = "mbedtls_hkdf_extract";
		failed = ret != 0 ? ret : 0;
	}
#else
	{
		psa_key_derivation_operation_t op = psa_key_derivation_operation_init();
		psa_status_t status = psa_key_derivation_setup(&op, PSA_ALG_HKDF_EXTRACT(PSA_ALG_SHA_256));
		operation = "hkdf extract";
		if (status == PSA_SUCCESS)
			status = psa_key_derivation_input_bytes(&op, PSA_KEY_DERIVATION_INPUT_SALT, salt, saltLength);
		if (status == PSA_SUCCESS)
			status = psa_key_derivation_input_bytes(&op, PSA_KEY_DERIVATION_INPUT_SECRET, ikm, ikmLength);
		if (status == PSA_SUCCESS)
			status = psa_key_derivation_output_bytes(&op, out, SEALCAM_SHA256);
		psa_key_derivation_abort(&op);
		failed = (int)status;
	}
#endif
	if (failed) {
		mbedtls_platform_zeroize(out, SEALCAM_SHA256);
		sealcam_fail(the, operation, (psa_status_t)failed);
	}
}

void xs_sealcam_hkdf_expand(xsMachine *the)
{
	uint8_t *out;
	const uint8_t *prk, *info;
	size_t prkLength, infoLength;
	int length, failed;
	const char *operation;
	sealcam_init(the);
	sealcam_need_args(the, 3);
	if (sealcam_arg_length(the, 0) < SEALCAM_SHA256)
		xsRangeError("prk must be at least 32 bytes");
	(void)sealcam_arg_length(the, 1);
	length = sealcam_arg_int(the, 2, "hkdf length", 1, SEALCAM_HKDF_MAX);
	out = sealcam_result_buffer(the, (size_t)length);
	prk = sealcam_arg_bytes(the, 0, &prkLength);
	info = sealcam_arg_bytes(the, 1, &infoLength);
#if SEALCAM_LEGACY_HKDF
	{
		static const uint8_t zero = 0;
		int ret = mbedtls_hkdf_expand(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), prk, prkLength,
			infoLength ? info : &zero, infoLength, out, (size_t)length);
		operation = "mbedtls_hkdf_expand";
		failed = ret;
	}
#else
	{
		psa_key_derivation_operation_t op = psa_key_derivation_operation_init();
		psa_status_t status = psa_key_derivation_setup(&op, PSA_ALG_HKDF_EXPAND(PSA_ALG_SHA_256));
		operation = "hkdf expand";
		if (status == PSA_SUCCESS)
			status = psa_key_derivation_input_bytes(&op, PSA_KEY_DERIVATION_INPUT_SECRET, prk, prkLength);
		if (status == PSA_SUCCESS)
			status = psa_key_derivation_input_bytes(&op, PSA_KEY_DERIVATION_INPUT_INFO, info, infoLength);
		if (status == PSA_SUCCESS)
			status = psa_key_derivation_output_bytes(&op, out, (size_t)length);
		psa_key_derivation_abort(&op);
		failed = (int)status;
	}
#endif
	if (failed) {
		mbedtls_platform_zeroize(out, (size_t)length);
		sealcam_fail(the, operation, (psa_status_t)failed);
	}
}

/* ---------------------------------------------------------------- AES-128-GCM */

static psa_status_t sealcam_gcm_key(const uint8_t *key, sealcam_key_id *id)
{
	psa_key_attributes_t attributes = psa_key_attributes_init();
	psa_status_t status;
	psa_set_key_type(&attributes, PSA_KEY_TYPE_AES);
	psa_set_key_bits(&attributes, 128);
	psa_set_key_usage_flags(&attributes, PSA_KEY_USAGE_ENCRYPT | PSA_KEY_USAGE_DECRYPT);
	psa_set_key_algorithm(&attributes, PSA_ALG_GCM);
	status = psa_import_key(&attributes, key, SEALCAM_GCM_KEY, id);
	psa_reset_key_attributes(&attributes);
	return status;
}

static void sealcam_gcm_check(xsMachine *the)
{
	sealcam_need_args(the, 4);
	if (sealcam_arg_length(the, 0) != SEALCAM_GCM_KEY)
		xsRangeError("key must be 16 bytes");
	if (sealcam_arg_length(the, 1) != SEALCAM_GCM_NONCE)
		xsRangeError("nonce must be 12 bytes");
	(void)sealcam_arg_length(the, 2);
}

void xs_sealcam_gcm_seal(xsMachine *the)
{
	size_t length, aadLength, ignored, written = 0;
	const uint8_t *key, *nonce, *aad, *plaintext;
	uint8_t *out;
	sealcam_key_id id = MBEDTLS_SVC_KEY_ID_INIT;
	psa_status_t status;
	sealcam_init(the);
	sealcam_gcm_check(the);
	length = sealcam_arg_length(the, 3);
	if (length > 0x7FFFFFF0)
		xsRangeError("plaintext too long");
	out = sealcam_result_buffer(the, length + SEALCAM_GCM_TAG);
	key = sealcam_arg_bytes(the, 0, &ignored);
	nonce = sealcam_arg_bytes(the, 1, &ignored);
	aad = sealcam_arg_bytes(the, 2, &aadLength);
	plaintext = sealcam_arg_bytes(the, 3, &length);
	status = sealcam_gcm_key(key, &id);
	if (status == PSA_SUCCESS)
		status = psa_aead_encrypt(id, PSA_ALG_GCM, nonce, SEALCAM_GCM_NONCE, aad, aadLength, plaintext, length, out,
			length + SEALCAM_GCM_TAG, &written);
	psa_destroy_key(id);
	if (status != PSA_SUCCESS || written != length + SEALCAM_GCM_TAG)
		sealcam_fail(the, "aes-gcm seal", status);
}

void xs_sealcam_gcm_open(xsMachine *the)
{
	size_t length, aadLength, ignored, written = 0;
	const uint8_t *key, *nonce, *aad, *sealed;
	uint8_t *out;
	sealcam_key_id id = MBEDTLS_SVC_KEY_ID_INIT;
	psa_status_t status;
	sealcam_init(the);
	sealcam_gcm_check(the);
	length = sealcam_arg_length(the, 3);
	if (length < SEALCAM_GCM_TAG) {
		xsmcSetNull(xsResult); /* too short to carry a tag: cannot be authentic */
		return;
	}
	out = sealcam_result_buffer(the, length - SEALCAM_GCM_TAG);
	key = sealcam_arg_bytes(the, 0, &ignored);
	nonce = sealcam_arg_bytes(the, 1, &ignored);
	aad = sealcam_arg_bytes(the, 2, &aadLength);
	sealed = sealcam_arg_bytes(the, 3, &length);
	status = sealcam_gcm_key(key, &id);
	if (status == PSA_SUCCESS)
		status = psa_aead_decrypt(id, PSA_ALG_GCM, nonce, SEALCAM_GCM_NONCE, aad, aadLength, sealed, length, out,
			length - SEALCAM_GCM_TAG, &written);
	psa_destroy_key(id);
	if (status == PSA_ERROR_INVALID_SIGNATURE) {
		mbedtls_platform_zeroize(out, length - SEALCAM_GCM_TAG); /* never hand out unauthenticated plaintext */
		xsmcSetNull(xsResult);
		return;
	}
	if (status != PSA_SUCCESS || written != length - SEALCAM_GCM_TAG)
		sealcam_fail(the, "aes-gcm open", status);
}

/* ---------------------------------------------------------------- P-256 private keys (opaque) */

/*
 * A PSA key has one permitted algorithm, so a private key that both signs (ECDSA) and agrees (ECDH) is two PSA
 * keys over the same scalar: `sign` (deterministic ECDSA, exportable for sealed storage) and, made on first
 * use, `derive` (ECDH). Mbed TLS 2.x/3.x had a second "enrollment" algorithm for this; Mbed TLS 4 does not.
 */
typedef struct {
	sealcam_key_id sign;
	sealcam_key_id derive;
} sealcam_p256_key;

void xs_sealcam_p256_destructor(void *data)
{
	sealcam_p256_key *key = (sealcam_p256_key *)data;
	if (key) {
		psa_destroy_key(key->sign);
		psa_destroy_key(key->derive);
		free(key);
	}
}

static void sealcam_p256_attributes(psa_key_attributes_t *attributes, psa_algorithm_t algorithm, psa_key_usage_t usage)
{
	psa_set_key_type(attributes, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1));
	psa_set_key_bits(attributes, 256);
	psa_set_key_algorithm(attributes, algorithm);
	psa_set_key_usage_flags(attributes, usage);
}

#define SEALCAM_P256_SIGN_ALG PSA_ALG_DETERMINISTIC_ECDSA(PSA_ALG_SHA_256)
#define SEALCAM_P256_SIGN_USAGE (PSA_KEY_USAGE_SIGN_HASH | PSA_KEY_USAGE_EXPORT)

static sealcam_p256_key *sealcam_p256_this(xsMachine *the)
{
	sealcam_p256_key *key = (sealcam_p256_key *)xsmcGetHostDataValidate(xsThis, (void *)xs_sealcam_p256_destructor);
	if (!key)
		xsTypeError("p256 key was destroyed");
	return key;
}

static sealcam_p256_key *sealcam_p256_new(xsMachine *the)
{
	sealcam_p256_key *key;
	if (xsmcGetHostDataValidate(xsThis, (void *)xs_sealcam_p256_destructor))
		xsTypeError("p256 key already holds a key");
	key = (sealcam_p256_key *)calloc(1, sizeof(*key));
	if (!key)
		xsUnknownError("out of memory for p256 key");
	key->sign = MBEDTLS_SVC_KEY_ID_INIT;
	key->derive = MBEDTLS_SVC_KEY_ID_INIT;
	return key;
}

void xs_sealcam_p256_generate(xsMachine *the)
{
	psa_key_attributes_t attributes = psa_key_attributes_init();
	sealcam_p256_key *key;
	psa_status_t status;
	sealcam_init(the);
	key = sealcam_p256_new(the);
	sealcam_p256_attributes(&attributes, SEALCAM_P256_SIGN_ALG, SEALCAM_P256_SIGN_USAGE);
	status = psa_generate_key(&attributes, &key->sign);
	psa_reset_key_attributes(&attributes);
	if (status != PSA_SUCCESS) {
		xs_sealcam_p256_destructor(key);
		sealcam_fail(the, "p256 generate", status);
	}
	xsmcSetHostData(xsThis, key);
}

void xs_sealcam_p256_import(xsMachine *the)
{
	psa_key_attributes_t attributes = psa_key_attributes_init();
	sealcam_p256_key *key;
	const uint8_t *scalar;
	size_t length;
	psa_status_t status;
	sealcam_init(the);
	sealcam_need_args(the, 1);
	if (sealcam_arg_length(the, 0) != SEALCAM_P256_SCALAR)
		xsRangeError("private key must be 32 bytes");
	key = sealcam_p256_new(the); /* no XS allocation from here to psa_import_key */
	scalar = sealcam_arg_bytes(the, 0, &length);
	sealcam_p256_attributes(&attributes, SEALCAM_P256_SIGN_ALG, SEALCAM_P256_SIGN_USAGE);
	status = psa_import_key(&attributes, scalar, length, &key->sign);
	psa_reset_key_attributes(&attributes);
	if (status != PSA_SUCCESS) {
		xs_sealcam_p256_destructor(key);
		if (status == PSA_ERROR_INVALID_ARGUMENT)
			xsRangeError("private key must be in 1..n-1");
		sealcam_fail(the, "p256 import", status);
	}
	xsmcSetHostData(xsThis, key);
}

void xs_sealcam_p256_export(xsMachine *the)
{
	sealcam_p256_key *key;
	uint8_t *out;
	size_t written = 0;
	psa_status_t status;
	(void)sealcam_p256_this(the);
	out = sealcam_result_buffer(the, SEALCAM_P256_SCALAR);
	key = sealcam_p256_this(the);
	status = psa_export_key(key->sign, out, SEALCAM_P256_SCALAR, &written);
	if (status != PSA_SUCCESS || written != SEALCAM_P256_SCALAR) {
		mbedtls_platform_zeroize(out, SEALCAM_P256_SCALAR);
		sealcam_fail(the, "p256 export", status);
	}
}

void xs_sealcam_p256_public(xsMachine *the)
{
	sealcam_p256_key *key;
	uint8_t *out;
	size_t written = 0;
	psa_status_t status;
	(void)sealcam_p256_this(the);
	out = sealcam_result_buffer(the, SEALCAM_P256_POINT);
	key = sealcam_p256_this(the);
	status = psa_export_public_key(key->sign, out, SEALCAM_P256_POINT, &written);
	if (status != PSA_SUCCESS || written != SEALCAM_P256_POINT)
		sealcam_fail(the, "p256 public key", status);
}

/* Makes key->derive (ECDH) from key->sign's scalar; the scalar only passes through a wiped stack buffer. */
static psa_status_t sealcam_p256_derive_key(sealcam_p256_key *key)
{
	uint8_t scalar[SEALCAM_P256_SCALAR];
	size_t length = 0;
	psa_key_attributes_t attributes = psa_key_attributes_init();
	psa_status_t status;
	if (!mbedtls_svc_key_id_is_null(key->derive))
		return PSA_SUCCESS;
	status = psa_export_key(key->sign, scalar, sizeof(scalar), &length);
	if (status == PSA_SUCCESS) {
		sealcam_p256_attributes(&attributes, PSA_ALG_ECDH, PSA_KEY_USAGE_DERIVE);
		status = psa_import_key(&attributes, scalar, length, &key->derive);
		psa_reset_key_attributes(&attributes);
	}
	mbedtls_platform_zeroize(scalar, sizeof(scalar));
	return status;
}

static void sealcam_check_point(xsMachine *the, int index, const char *name)
{
	size_t length;
	const uint8_t *point = sealcam_arg_bytes(the, index, &length);
	if (length != SEALCAM_P256_POINT)
		xsRangeError("%s must be 65 bytes", name);
	if (point[0] != 0x04)
		xsRangeError("%s must be an uncompressed point (0x04 prefix)", name);
}

void xs_sealcam_p256_ecdh(xsMachine *the)
{
	sealcam_p256_key *key;
	uint8_t *out;
	const uint8_t *peer;
	size_t length, written = 0;
	psa_status_t status;
	sealcam_need_args(the, 1);
	(void)sealcam_p256_this(the);
	sealcam_check_point(the, 0, "peer public key");
	out = sealcam_result_buffer(the, SEALCAM_SHA256);
	key = sealcam_p256_this(the);
	status = sealcam_p256_derive_key(key);
	if (status != PSA_SUCCESS)
		sealcam_fail(the, "p256 ecdh key", status);
	peer = sealcam_arg_bytes(the, 0, &length);
	status = psa_raw_key_agreement(PSA_ALG_ECDH, key->derive, peer, length, out, 32, &written);
	if (status != PSA_SUCCESS || written != 32) {
		mbedtls_platform_zeroize(out, 32);
		if (status == PSA_ERROR_INVALID_ARGUMENT)
			xsRangeError("peer public key is not a valid P-256 point");
		sealcam_fail(the, "p256 ecdh", status);
	}
}

void xs_sealcam_p256_sign(xsMachine *the)
{
	sealcam_p256_key *key;
	uint8_t hash[SEALCAM_SHA256];
	uint8_t *out;
	const uint8_t *message;
	size_t length, written = 0;
	psa_status_t status;
	sealcam_need_args(the, 1);
	(void)sealcam_p256_this(the);
	(void)sealcam_arg_length(the, 0);
	out = sealcam_result_buffer(the, SEALCAM_P256_SIG);
	key = sealcam_p256_this(the);
	message = sealcam_arg_bytes(the, 0, &length);
	status = psa_hash_compute(PSA_ALG_SHA_256, message, length, hash, sizeof(hash), &written);
	if (status == PSA_SUCCESS)
		status = psa_sign_hash(key->sign, SEALCAM_P256_SIGN_ALG, hash, sizeof(hash), out, SEALCAM_P256_SIG, &written);
	if (status != PSA_SUCCESS || written != SEALCAM_P256_SIG)
		sealcam_fail(the, "ecdsa p256 sign", status);
}

void xs_sealcam_p256_destroy(xsMachine *the)
{
	sealcam_p256_key *key = (sealcam_p256_key *)xsmcGetHostDataValidate(xsThis, (void *)xs_sealcam_p256_destructor);
	if (key) {
		xsmcSetHostData(xsThis, NULL);
		xs_sealcam_p256_destructor(key);
	}
}

/* ---------------------------------------------------------------- public-key verification and encryption */

static psa_status_t sealcam_import_public(psa_key_type_t type, psa_algorithm_t algorithm, psa_key_usage_t usage,
	const uint8_t *data, size_t length, sealcam_key_id *id)
{
	psa_key_attributes_t attributes = psa_key_attributes_init();
	psa_status_t status;
	psa_set_key_type(&attributes, type);
	psa_set_key_algorithm(&attributes, algorithm);
	psa_set_key_usage_flags(&attributes, usage);
	status = psa_import_key(&attributes, data, length, id);
	psa_reset_key_attributes(&attributes);
	return status;
}

void xs_sealcam_p256_verify(xsMachine *the)
{
	const uint8_t *point, *message, *signature;
	size_t pointLength, messageLength, signatureLength, written = 0;
	uint8_t hash[SEALCAM_SHA256];
	sealcam_key_id id = MBEDTLS_SVC_KEY_ID_INIT;
	psa_status_t status;
	sealcam_init(the);
	sealcam_need_args(the, 3);
	sealcam_check_point(the, 0, "public key");
	(void)sealcam_arg_length(the, 1);
	if (sealcam_arg_length(the, 2) != SEALCAM_P256_SIG) {
		xsmcSetFalse(xsResult); /* not r || s of P-256: cannot verify */
		return;
	}
	/* No XS allocation below: the pointers stay valid. */
	point = sealcam_arg_bytes(the, 0, &pointLength);
	message = sealcam_arg_bytes(the, 1, &messageLength);
	signature = sealcam_arg_bytes(the, 2, &signatureLength);
	status = sealcam_import_public(PSA_KEY_TYPE_ECC_PUBLIC_KEY(PSA_ECC_FAMILY_SECP_R1), PSA_ALG_ECDSA(PSA_ALG_SHA_256),
		PSA_KEY_USAGE_VERIFY_HASH, point, pointLength, &id);
	if (status != PSA_SUCCESS) {
		psa_destroy_key(id);
		if (status == PSA_ERROR_INVALID_ARGUMENT || status == PSA_ERROR_NOT_SUPPORTED)
			xsRangeError("public key is not a point on P-256");
		sealcam_fail(the, "p256 public key import", status);
	}
	status = psa_hash_compute(PSA_ALG_SHA_256, message, messageLength, hash, sizeof(hash), &written);
	if (status == PSA_SUCCESS)
		status = psa_verify_hash(id, PSA_ALG_ECDSA(PSA_ALG_SHA_256), hash, sizeof(hash), signature, signatureLength);
	psa_destroy_key(id);
	if (status == PSA_SUCCESS)
		xsmcSetTrue(xsResult);
	else if (status == PSA_ERROR_INVALID_SIGNATURE || status == PSA_ERROR_INVALID_ARGUMENT)
		xsmcSetFalse(xsResult); /* r or s out of range, or the equation does not hold */
	else
		sealcam_fail(the, "ecdsa p256 verify", status);
}

static void sealcam_rsa_import(xsMachine *the, psa_algorithm_t algorithm, psa_key_usage_t usage, sealcam_key_id *id,
	size_t *modulusBytes)
{
	psa_key_attributes_t attributes = psa_key_attributes_init();
	const uint8_t *der;
	size_t length;
	psa_status_t status;
	der = sealcam_arg_bytes(the, 0, &length);
	if (length == 0)
		xsRangeError("RSA public key is empty");
	status = sealcam_import_public(PSA_KEY_TYPE_RSA_PUBLIC_KEY, algorithm, usage, der, length, id);
	if (status == PSA_SUCCESS)
		status = psa_get_key_attributes(*id, &attributes);
	*modulusBytes = (psa_get_key_bits(&attributes) + 7) / 8;
	psa_reset_key_attributes(&attributes);
	if (status != PSA_SUCCESS) {
		psa_destroy_key(*id);
		if (status == PSA_ERROR_INVALID_ARGUMENT || status == PSA_ERROR_NOT_SUPPORTED)
			xsRangeError("not a PKCS#1 RSAPublicKey");
		sealcam_fail(the, "rsa public key import", status);
	}
}

void xs_sealcam_rsa_oaep_encrypt(xsMachine *the)
{
	const psa_algorithm_t algorithm = PSA_ALG_RSA_OAEP(PSA_ALG_SHA_256);
	sealcam_key_id id = MBEDTLS_SVC_KEY_ID_INIT;
	size_t modulusBytes = 0, length, labelLength, written = 0;
	const uint8_t *plaintext, *label;
	uint8_t *out;
	psa_status_t status;
	sealcam_init(the);
	sealcam_need_args(the, 3);
	length = sealcam_arg_length(the, 1);
	(void)sealcam_arg_length(the, 2);
	sealcam_rsa_import(the, algorithm, PSA_KEY_USAGE_ENCRYPT, &id, &modulusBytes);
	if (modulusBytes < 2 * SEALCAM_SHA256 + 2 || length > modulusBytes - 2 * SEALCAM_SHA256 - 2) {
		psa_destroy_key(id);
		xsRangeError("plaintext too long for RSA-OAEP-SHA256 with this key");
	}
	/* The key is imported (PSA holds its own copy); the XS allocation below cannot invalidate it. The xsmc
	 * throw in sealcam_result_buffer on memory exhaustion would leak the PSA key slot, as XS aborts anyway. */
	out = sealcam_result_buffer(the, modulusBytes);
	plaintext = sealcam_arg_bytes(the, 1, &length);
	label = sealcam_arg_bytes(the, 2, &labelLength);
	status = psa_asymmetric_encrypt(id, algorithm, plaintext, length, label, labelLength, out, modulusBytes, &written);
	psa_destroy_key(id);
	if (status != PSA_SUCCESS || written != modulusBytes)
		sealcam_fail(the, "rsa-oaep encrypt", status);
}

void xs_sealcam_rsa_pss_verify(xsMachine *the)
{
	/* PSA_ALG_RSA_PSS verification demands salt length == hash length (32): see SEALCAM notes at the top. */
	const psa_algorithm_t algorithm = PSA_ALG_RSA_PSS(PSA_ALG_SHA_256);
	sealcam_key_id id = MBEDTLS_SVC_KEY_ID_INIT;
	size_t modulusBytes = 0, messageLength, signatureLength, written = 0;
	const uint8_t *message, *signature;
	uint8_t hash[SEALCAM_SHA256];
	psa_status_t status;
	sealcam_init(the);
	sealcam_need_args(the, 3);
	(void)sealcam_arg_length(the, 1);
	(void)sealcam_arg_length(the, 2);
	sealcam_rsa_import(the, algorithm, PSA_KEY_USAGE_VERIFY_HASH, &id, &modulusBytes);
	/* No XS allocation below. */
	message = sealcam_arg_bytes(the, 1, &messageLength);
	signature = sealcam_arg_bytes(the, 2, &signatureLength);
	if (signatureLength != modulusBytes) {
		psa_destroy_key(id);
		xsmcSetFalse(xsResult);
		return;
	}
	status = psa_hash_compute(PSA_ALG_SHA_256, message, messageLength, hash, sizeof(hash), &written);
	if (status == PSA_SUCCESS)
		status = psa_verify_hash(id, algorithm, hash, sizeof(hash), signature, signatureLength);
	psa_destroy_key(id);
	if (status == PSA_SUCCESS)
		xsmcSetTrue(xsResult);
	else if (status == PSA_ERROR_INVALID_SIGNATURE || status == PSA_ERROR_INVALID_ARGUMENT)
		xsmcSetFalse(xsResult);
	else
		sealcam_fail(the, "rsa-pss verify", status);
}
