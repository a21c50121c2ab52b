/*
 * The ceiling for bench/xs-seal, in plain C against the same Mbed TLS (PSA) the XS host links. Key imported once.
 * - "gcm": per segment, psa_aead_encrypt (12-byte nonce, 32-byte AAD) into a fresh segment + 16 buffer;
 * - "seal": the same work per segment as firmware/core/clip/sealer.ts when fed whole segments (its zero-copy
 *   path): GCM-seal the caller's plaintext in place with the head hash as AAD into a fresh buffer, and
 *   SHA-256-update the payload hash with the sealed bytes.
 * Usage: gcm-ceiling <segment bytes> <megabytes> <gcm|seal>; prints MiB/s of one timed pass (after a warm-up
 * pass). bench/xs-seal runs it between the XS passes, so both see the same machine load.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "psa/crypto.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static double run(mbedtls_svc_key_id_t key, size_t segment, size_t total, int full)
{
	uint8_t *plain = calloc(1, segment), nonce[12] = { 0 }, aad[32] = { 0 };
	psa_hash_operation_t hash = PSA_HASH_OPERATION_INIT;
	size_t count = total / segment, written, i;
	double best = 0;
	int round;
	for (round = 0; round < 2; round++) { /* pass 0 warms up */
		double start = now_ms(), elapsed;
		if (full)
			psa_hash_setup(&hash, PSA_ALG_SHA_256);
		for (i = 0; i < count; i++) {
			uint8_t *out = malloc(segment + 16);
			const uint8_t *input = plain;
			nonce[11] = (uint8_t)i;
			nonce[10] = (uint8_t)(i >> 8);
			if (psa_aead_encrypt(key, PSA_ALG_GCM, nonce, 12, aad, sizeof(aad), input, segment, out, segment + 16, &written) != PSA_SUCCESS) {
				fprintf(stderr, "psa_aead_encrypt failed\n");
				exit(1);
			}
			if (full)
				psa_hash_update(&hash, out, written); /* the sealer wipes its buffer once per clip, not per segment */
			free(out);
		}
		if (full)
			psa_hash_abort(&hash);
		elapsed = now_ms() - start;
		best = total / 1048576.0 / (elapsed / 1000.0);
	}
	free(plain);
	return best;
}

int main(int argc, char **argv)
{
	size_t segment, total;
	int full;
	psa_key_attributes_t attributes = PSA_KEY_ATTRIBUTES_INIT;
	mbedtls_svc_key_id_t key;
	uint8_t raw[16] = { 1 };
	if (argc != 4) {
		fprintf(stderr, "usage: gcm-ceiling <segment bytes> <megabytes> <gcm|seal>\n");
		return 2;
	}
	segment = (size_t)atoi(argv[1]);
	total = (size_t)atoi(argv[2]) * 1048576;
	full = !strcmp(argv[3], "seal");
	if (segment < 16 || total < segment)
		return 2;
	psa_crypto_init();
	psa_set_key_type(&attributes, PSA_KEY_TYPE_AES);
	psa_set_key_bits(&attributes, 128);
	psa_set_key_usage_flags(&attributes, PSA_KEY_USAGE_ENCRYPT);
	psa_set_key_algorithm(&attributes, PSA_ALG_GCM);
	if (psa_import_key(&attributes, raw, sizeof(raw), &key) != PSA_SUCCESS)
		return 1;
	printf("%.2f\n", run(key, segment, total, full));
	return 0;
}
