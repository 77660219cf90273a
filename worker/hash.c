/* hash.c: the seed's compute_hash: sha256 of data repeated repeat times, on the pool. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "handlers.h"

#define MAX_REPEAT 10000000
#define MAX_TOTAL_BYTES (1LL << 32) /* bounds the CPU one job may take */

int jq_hash_cpu(struct jq_run *run, char **out)
{
	const char *data;
	size_t len;
	int64_t repeat = 1;
	if (jq_mp_get_str(run->payload, "data", &data, &len) != 0) {
		*out = strdup("'data' must be a string");
		return JQ_FAIL_FATAL;
	}
	if (jq_mp_get(run->payload, "repeat") &&
	    (jq_mp_get_i64(run->payload, "repeat", &repeat) != 0 || repeat < 1 ||
	     repeat > MAX_REPEAT)) {
		*out = jq_strdup_printf("'repeat' must be an integer from 1 to %d", MAX_REPEAT);
		return JQ_FAIL_FATAL;
	}
	if ((long long)len * repeat > MAX_TOTAL_BYTES) {
		*out = jq_strdup_printf("data times repeat exceeds %lld bytes", MAX_TOTAL_BYTES);
		return JQ_FAIL_FATAL;
	}
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
	/* short data: hash a block of many copies at a time, not one tiny update per copy */
	int64_t per_block = len > 0 && len < 4096 ? (int64_t)(65536 / len) : 1;
	char *block = NULL;
	if (per_block > 1 && repeat > per_block && (block = malloc(len * (size_t)per_block))) {
		for (int64_t i = 0; i < per_block; i++)
			memcpy(block + (size_t)i * len, data, len);
		for (; ok && repeat >= per_block; repeat -= per_block)
			ok = EVP_DigestUpdate(ctx, block, len * (size_t)per_block) == 1;
		free(block);
	}
	for (int64_t i = 0; ok && i < repeat; i++)
		ok = EVP_DigestUpdate(ctx, data, len) == 1;
	ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok) {
		*out = strdup("sha256 failed");
		return JQ_FAIL_RETRY;
	}
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	*out = jq_strdup_printf("{\"sha256\":\"%s\"}", hex);
	return 0;
}
