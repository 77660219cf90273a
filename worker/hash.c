/* hash.c: the seed's compute_hash: sha256 of data repeated repeat times, on the pool. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "handlers.h"
#include "jobtypes.h"

int jq_hash_cpu(struct jq_run *run, char **out)
{
	struct jq_hash_payload hp;
	char why[256];
	if (jq_hash_payload(run->payload, &hp, why, sizeof(why)) != 0) {
		*out = strdup(why);
		return JQ_FAIL_FATAL;
	}
	const char *data = hp.data;
	size_t len = hp.len;
	int64_t repeat = hp.repeat;
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
