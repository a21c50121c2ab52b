/*
 * The plain-C reference for bench/xs-pk: the same public-key calls a clip costs the camera, in C against the same
 * Mbed TLS / PSA the XS host links, with the same key handling as firmware/native/sealcam_crypto.c:
 * - hpke: RFC 9180 single-shot seal, DHKEM(P-256, HKDF-SHA256), AES-128-GCM, base mode, as firmware/core/hpke.ts
 *   composes it: random ikm -> DeriveKeyPair (LabeledExtract + LabeledExpand "candidate", import as a signing key)
 *   -> export the public point (enc) -> export/import the scalar as an ECDH key -> raw ECDH with the phone's point
 *   -> ExtractAndExpand -> key schedule (3 LabeledExtract, 3 LabeledExpand) -> GCM-seal the 16-byte clip key
 *   (key imported, used, destroyed) with info = "sealcam/v1 clip-key\0" || clip id; all keys destroyed after.
 * - rsa: RSA-OAEP-SHA256 of 16 bytes with the same label: import the PKCS#1 public key, read its size, encrypt,
 *   destroy (as the native module does per call).
 * - sign: deterministic ECDSA P-256 over SHA-256 of a message of the given length (the camera key is imported
 *   once, as the camera's long-lived key).
 * Usage: pk-ceiling <rsa-public.der> <iterations> <sign message bytes>; prints {"hpke_ms":..,"rsa_ms":..,
 * "sign_ms":..} (mean ms per call after one warm-up call each).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "psa/crypto.h"
#include "mbedtls/version.h"
#include "mbedtls/platform_util.h"

#if MBEDTLS_VERSION_MAJOR < 3 || !defined(PSA_ALG_HKDF_EXTRACT)
#define LEGACY_HKDF 1
#include "mbedtls/hkdf.h"
#include "mbedtls/md.h"
#else
#define LEGACY_HKDF 0
#endif

#define SIGN_ALG PSA_ALG_DETERMINISTIC_ECDSA(PSA_ALG_SHA_256)
#define CHECK(x) do { if ((x) != 0) { fprintf(stderr, "pk-ceiling: %s failed at line %d\n", #x, __LINE__); exit(1); } } while (0)

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static void hkdf_extract(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len, uint8_t out[32])
{
#if LEGACY_HKDF
	static const uint8_t zero = 0;
	CHECK(mbedtls_hkdf_extract(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), salt_len ? salt : &zero, salt_len, ikm, ikm_len, out));
#else
	psa_key_derivation_operation_t op = psa_key_derivation_operation_init();
	CHECK(psa_key_derivation_setup(&op, PSA_ALG_HKDF_EXTRACT(PSA_ALG_SHA_256)));
	CHECK(psa_key_derivation_input_bytes(&op, PSA_KEY_DERIVATION_INPUT_SALT, salt, salt_len));
	CHECK(psa_key_derivation_input_bytes(&op, PSA_KEY_DERIVATION_INPUT_SECRET, ikm, ikm_len));
	CHECK(psa_key_derivation_output_bytes(&op, out, 32));
	psa_key_derivation_abort(&op);
#endif
}

static void hkdf_expand(const uint8_t *prk, const uint8_t *info, size_t info_len, uint8_t *out, size_t length)
{
#if LEGACY_HKDF
	CHECK(mbedtls_hkdf_expand(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), prk, 32, info, info_len, out, length));
#else
	psa_key_derivation_operation_t op = psa_key_derivation_operation_init();
	CHECK(psa_key_derivation_setup(&op, PSA_ALG_HKDF_EXPAND(PSA_ALG_SHA_256)));
	CHECK(psa_key_derivation_input_bytes(&op, PSA_KEY_DERIVATION_INPUT_SECRET, prk, 32));
	CHECK(psa_key_derivation_input_bytes(&op, PSA_KEY_DERIVATION_INPUT_INFO, info, info_len));
	CHECK(psa_key_derivation_output_bytes(&op, out, length));
	psa_key_derivation_abort(&op);
#endif
}

static const uint8_t KEM_SUITE[5] = { 'K', 'E', 'M', 0x00, 0x10 };
static const uint8_t HPKE_SUITE[10] = { 'H', 'P', 'K', 'E', 0x00, 0x10, 0x00, 0x01, 0x00, 0x01 };

/* LabeledExtract(salt, label, ikm) = Extract(salt, "HPKE-v1" || suite || label || ikm) */
static void labeled_extract(const uint8_t *suite, size_t suite_len, const uint8_t *salt, size_t salt_len, const char *label,
	const uint8_t *ikm, size_t ikm_len, uint8_t out[32])
{
	uint8_t buf[256];
	size_t n = 0, l = strlen(label);
	memcpy(buf, "HPKE-v1", 7), n = 7;
	memcpy(buf + n, suite, suite_len), n += suite_len;
	memcpy(buf + n, label, l), n += l;
	memcpy(buf + n, ikm, ikm_len), n += ikm_len;
	hkdf_extract(salt, salt_len, buf, n, out);
}

/* LabeledExpand(prk, label, info, L) = Expand(prk, I2OSP(L, 2) || "HPKE-v1" || suite || label || info, L) */
static void labeled_expand(const uint8_t *suite, size_t suite_len, const uint8_t *prk, const char *label, const uint8_t *info,
	size_t info_len, uint8_t *out, size_t length)
{
	uint8_t buf[256];
	size_t n = 0, l = strlen(label);
	buf[0] = (uint8_t)(length >> 8), buf[1] = (uint8_t)length, n = 2;
	memcpy(buf + n, "HPKE-v1", 7), n += 7;
	memcpy(buf + n, suite, suite_len), n += suite_len;
	memcpy(buf + n, label, l), n += l;
	memcpy(buf + n, info, info_len), n += info_len;
	hkdf_expand(prk, buf, n, out, length);
}

static void p256_attributes(psa_key_attributes_t *a, psa_algorithm_t alg, psa_key_usage_t usage)
{
	psa_set_key_type(a, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1));
	psa_set_key_bits(a, 256);
	psa_set_key_algorithm(a, alg);
	psa_set_key_usage_flags(a, usage);
}

static const uint8_t P256_ORDER[32] = { 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51 };

static int valid_scalar(const uint8_t c[32])
{
	int i, zero = 1;
	for (i = 0; i < 32; i++)
		if (c[i])
			zero = 0;
	if (zero)
		return 0;
	for (i = 0; i < 32; i++) {
		if (c[i] < P256_ORDER[i])
			return 1;
		if (c[i] > P256_ORDER[i])
			return 0;
	}
	return 0;
}

/* One HPKE single-shot seal of a 16-byte clip key to `recipient` (65-byte point); enc and ct written out. */
static void hpke_wrap(const uint8_t recipient[65], const uint8_t *info, size_t info_len, const uint8_t clip_key[16],
	uint8_t enc[65], uint8_t ct[32])
{
	uint8_t ikm[32], prk[32], candidate[32], scalar[32], dh[32], kem_context[130], shared[32];
	uint8_t psk_id_hash[32], info_hash[32], context[65], secret[32], key[16], base_nonce[12], exporter[32];
	psa_key_attributes_t a = psa_key_attributes_init();
	mbedtls_svc_key_id_t eph = MBEDTLS_SVC_KEY_ID_INIT, derive = MBEDTLS_SVC_KEY_ID_INIT, aes = MBEDTLS_SVC_KEY_ID_INIT;
	size_t written;
	int counter;
	CHECK(psa_generate_random(ikm, sizeof(ikm)));
	labeled_extract(KEM_SUITE, 5, NULL, 0, "dkp_prk", ikm, 32, prk);
	for (counter = 0; counter < 256; counter++) {
		uint8_t c = (uint8_t)counter;
		labeled_expand(KEM_SUITE, 5, prk, "candidate", &c, 1, candidate, 32);
		if (valid_scalar(candidate))
			break;
	}
	p256_attributes(&a, SIGN_ALG, PSA_KEY_USAGE_SIGN_HASH | PSA_KEY_USAGE_EXPORT);
	CHECK(psa_import_key(&a, candidate, 32, &eph));
	psa_reset_key_attributes(&a);
	CHECK(psa_export_public_key(eph, enc, 65, &written));
	CHECK(psa_export_key(eph, scalar, 32, &written));
	p256_attributes(&a, PSA_ALG_ECDH, PSA_KEY_USAGE_DERIVE);
	CHECK(psa_import_key(&a, scalar, 32, &derive));
	psa_reset_key_attributes(&a);
	CHECK(psa_raw_key_agreement(PSA_ALG_ECDH, derive, recipient, 65, dh, 32, &written));
	memcpy(kem_context, enc, 65);
	memcpy(kem_context + 65, recipient, 65);
	labeled_extract(KEM_SUITE, 5, NULL, 0, "eae_prk", dh, 32, prk);
	labeled_expand(KEM_SUITE, 5, prk, "shared_secret", kem_context, 130, shared, 32);
	labeled_extract(HPKE_SUITE, 10, NULL, 0, "psk_id_hash", NULL, 0, psk_id_hash);
	labeled_extract(HPKE_SUITE, 10, NULL, 0, "info_hash", info, info_len, info_hash);
	context[0] = 0;
	memcpy(context + 1, psk_id_hash, 32);
	memcpy(context + 33, info_hash, 32);
	labeled_extract(HPKE_SUITE, 10, shared, 32, "secret", NULL, 0, secret);
	labeled_expand(HPKE_SUITE, 10, secret, "key", context, 65, key, 16);
	labeled_expand(HPKE_SUITE, 10, secret, "base_nonce", context, 65, base_nonce, 12);
	labeled_expand(HPKE_SUITE, 10, secret, "exp", context, 65, exporter, 32);
	psa_set_key_type(&a, PSA_KEY_TYPE_AES);
	psa_set_key_bits(&a, 128);
	psa_set_key_usage_flags(&a, PSA_KEY_USAGE_ENCRYPT | PSA_KEY_USAGE_DECRYPT);
	psa_set_key_algorithm(&a, PSA_ALG_GCM);
	CHECK(psa_import_key(&a, key, 16, &aes));
	psa_reset_key_attributes(&a);
	CHECK(psa_aead_encrypt(aes, PSA_ALG_GCM, base_nonce, 12, NULL, 0, clip_key, 16, ct, 32, &written));
	psa_destroy_key(aes);
	psa_destroy_key(derive);
	psa_destroy_key(eph);
	mbedtls_platform_zeroize(scalar, sizeof(scalar));
	mbedtls_platform_zeroize(secret, sizeof(secret));
}

static void rsa_wrap(const uint8_t *der, size_t der_len, const uint8_t *label, size_t label_len, const uint8_t clip_key[16], uint8_t *out)
{
	psa_key_attributes_t a = psa_key_attributes_init();
	mbedtls_svc_key_id_t id = MBEDTLS_SVC_KEY_ID_INIT;
	size_t modulus, written;
	psa_set_key_type(&a, PSA_KEY_TYPE_RSA_PUBLIC_KEY);
	psa_set_key_algorithm(&a, PSA_ALG_RSA_OAEP(PSA_ALG_SHA_256));
	psa_set_key_usage_flags(&a, PSA_KEY_USAGE_ENCRYPT);
	CHECK(psa_import_key(&a, der, der_len, &id));
	psa_reset_key_attributes(&a);
	CHECK(psa_get_key_attributes(id, &a));
	modulus = (psa_get_key_bits(&a) + 7) / 8;
	psa_reset_key_attributes(&a);
	CHECK(psa_asymmetric_encrypt(id, PSA_ALG_RSA_OAEP(PSA_ALG_SHA_256), clip_key, 16, label, label_len, out, modulus, &written));
	psa_destroy_key(id);
}

static void sign(mbedtls_svc_key_id_t key, const uint8_t *message, size_t length, uint8_t sig[64])
{
	uint8_t hash[32];
	size_t written;
	CHECK(psa_hash_compute(PSA_ALG_SHA_256, message, length, hash, 32, &written));
	CHECK(psa_sign_hash(key, SIGN_ALG, hash, 32, sig, 64, &written));
}

int main(int argc, char **argv)
{
	uint8_t der[2048], info[36], clip_key[16] = { 7 }, enc[65], ct[512], sig[64], phone_public[65], *message;
	psa_key_attributes_t a = psa_key_attributes_init();
	mbedtls_svc_key_id_t camera = MBEDTLS_SVC_KEY_ID_INIT, phone = MBEDTLS_SVC_KEY_ID_INIT;
	size_t der_len, written, message_len;
	int iterations, i;
	double start, hpke_ms, rsa_ms, sign_ms;
	FILE *file;
	if (argc != 4 && !(argc == 5 && !strcmp(argv[4], "check"))) {
		fprintf(stderr, "usage: pk-ceiling <rsa-public.der> <iterations> <sign message bytes> [check]\n");
		return 2;
	}
	file = fopen(argv[1], "rb");
	if (!file)
		return 2;
	der_len = fread(der, 1, sizeof(der), file);
	fclose(file);
	iterations = atoi(argv[2]);
	message_len = (size_t)atoi(argv[3]);
	if (iterations < 1 || message_len < 1)
		return 2;
	message = calloc(1, message_len);
	CHECK(psa_crypto_init());
	memcpy(info, "sealcam/v1 clip-key\0", 20);
	memset(info + 20, 3, 16);
	p256_attributes(&a, SIGN_ALG, PSA_KEY_USAGE_SIGN_HASH | PSA_KEY_USAGE_EXPORT);
	CHECK(psa_generate_key(&a, &camera));
	CHECK(psa_generate_key(&a, &phone));
	psa_reset_key_attributes(&a);
	CHECK(psa_export_public_key(phone, phone_public, 65, &written));

	hpke_wrap(phone_public, info, sizeof(info), clip_key, enc, ct);
	if (argc == 5) { /* self-check: the phone's scalar, enc and ct, for bench/xs-pk/run.ts to open with the firmware's HPKE */
		uint8_t scalar[32];
		CHECK(psa_export_key(phone, scalar, 32, &written));
		printf("{\"sk\":\"");
		for (i = 0; i < 32; i++) printf("%02x", scalar[i]);
		printf("\",\"enc\":\"");
		for (i = 0; i < 65; i++) printf("%02x", enc[i]);
		printf("\",\"ct\":\"");
		for (i = 0; i < 32; i++) printf("%02x", ct[i]);
		printf("\"}\n");
		return 0;
	}
	start = now_ms();
	for (i = 0; i < iterations; i++)
		hpke_wrap(phone_public, info, sizeof(info), clip_key, enc, ct);
	hpke_ms = (now_ms() - start) / iterations;

	rsa_wrap(der, der_len, info, sizeof(info), clip_key, ct);
	start = now_ms();
	for (i = 0; i < iterations; i++)
		rsa_wrap(der, der_len, info, sizeof(info), clip_key, ct);
	rsa_ms = (now_ms() - start) / iterations;

	sign(camera, message, message_len, sig);
	start = now_ms();
	for (i = 0; i < iterations; i++)
		sign(camera, message, message_len, sig);
	sign_ms = (now_ms() - start) / iterations;

	printf("{\"hpke_ms\":%.4f,\"rsa_ms\":%.4f,\"sign_ms\":%.4f}\n", hpke_ms, rsa_ms, sign_ms);
	free(message);
	return 0;
}
