/* test_evmem: the broker's slab allocator for libevent (broker/evmem.h): sizes, alignment,
 * no overlap, contents kept across realloc, empty slabs given back and reused, large blocks
 * left to malloc, and a long random run checked against a shadow copy of every block. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evmem.h"
#include "unit.h"

static void test_sizes_and_alignment(void)
{
	static const size_t sizes[] = {0, 1, 15, 16, 17, 31, 32, 100, 136, 392, 632, 1023, 1024};
	void *p[sizeof(sizes) / sizeof(sizes[0])];
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		UNIT_CASE("size %zu", sizes[i]);
		p[i] = jq_evmem_malloc(sizes[i]);
		CHECK(p[i] != NULL);
		CHECK(((uintptr_t)p[i] & 15) == 0);
		memset(p[i], (int)i, sizes[i]);
	}
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		UNIT_CASE("size %zu", sizes[i]);
		for (size_t k = 0; k < sizes[i]; k++)
			if (((unsigned char *)p[i])[k] != (unsigned char)i) {
				CHECK(!"a block was overwritten");
				break;
			}
		jq_evmem_free(p[i]);
	}
	struct jq_evmem_stats st;
	jq_evmem_stats(&st);
	CHECK_INT_EQ(st.blocks, 0);
	jq_evmem_free(NULL);
}

static void test_realloc(void)
{
	char *p = jq_evmem_realloc(NULL, 20);
	CHECK(p != NULL);
	memcpy(p, "0123456789abcdefghi", 20);
	char *q = jq_evmem_realloc(p, 30); /* same 32-byte class: kept in place */
	CHECK(q == p);
	char *r = jq_evmem_realloc(q, 600); /* a larger class: moved, contents kept */
	CHECK(r != NULL);
	CHECK_STR_EQ(r, "0123456789abcdefghi");
	char *big = jq_evmem_realloc(r, 5000); /* past the small sizes: malloc's */
	CHECK(big != NULL);
	CHECK_STR_EQ(big, "0123456789abcdefghi");
	big = jq_evmem_realloc(big, 9000); /* malloc's stays malloc's */
	CHECK(big != NULL);
	CHECK_STR_EQ(big, "0123456789abcdefghi");
	jq_evmem_free(big);
	struct jq_evmem_stats st;
	jq_evmem_stats(&st);
	CHECK_INT_EQ(st.blocks, 0);
}

static void test_slabs_given_back_and_reused(void)
{
	enum { N = 20000 };
	void **p = malloc(N * sizeof(*p));
	CHECK(p != NULL);
	if (!p)
		return;
	struct jq_evmem_stats before, full, after, again;
	jq_evmem_stats(&before);
	for (int i = 0; i < N; i++)
		p[i] = jq_evmem_malloc(136);
	jq_evmem_stats(&full);
	/* 20,000 blocks of 144 bytes fill ~45 slabs of 64 KB: no per-block header */
	CHECK(full.slabs - before.slabs >= 44 && full.slabs - before.slabs <= 46);
	for (int i = 0; i < N; i++)
		jq_evmem_free(p[i]);
	jq_evmem_stats(&after);
	CHECK_INT_EQ(after.blocks, before.blocks);
	/* all but one slab of the class are empty and given back */
	CHECK(after.slabs <= before.slabs + 1);
	CHECK(after.empty >= 43);
	/* and serve another size class: no new address space */
	for (int i = 0; i < N; i++)
		p[i] = jq_evmem_malloc(120); /* 128-byte blocks: ~40 slabs, fewer than were freed */
	jq_evmem_stats(&again);
	CHECK_INT_EQ(again.region_end, after.region_end);
	for (int i = 0; i < N; i++)
		jq_evmem_free(p[i]);
	free(p);
}

static void test_random_against_shadow(void)
{
	enum { SLOTS = 4096, OPS = 300000 };
	unsigned char **blk = calloc(SLOTS, sizeof(*blk));
	size_t *len = calloc(SLOTS, sizeof(*len));
	CHECK(blk && len);
	if (!blk || !len)
		return;
	uint64_t x = 88172645463325252ULL; /* xorshift: the same run every time */
	size_t bad = 0;
	for (int op = 0; op < OPS; op++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		size_t i = x % SLOTS;
		if (blk[i]) { /* check the block still holds its own byte, then drop or grow it */
			for (size_t k = 0; k < len[i]; k++)
				bad += blk[i][k] != (unsigned char)(i * 7 + len[i]);
			if (x & 0x100) {
				jq_evmem_free(blk[i]);
				blk[i] = NULL;
				continue;
			}
			size_t n = (x >> 20) % 1400;
			unsigned char *q = jq_evmem_realloc(blk[i], n ? n : 1);
			if (!q)
				continue;
			size_t keep = len[i] < n ? len[i] : n;
			for (size_t k = 0; k < keep; k++)
				bad += q[k] != (unsigned char)(i * 7 + len[i]);
			blk[i] = q;
			len[i] = n;
			memset(q, (unsigned char)(i * 7 + n), n);
		} else {
			size_t n = (x >> 20) % 1400;
			blk[i] = jq_evmem_malloc(n);
			len[i] = n;
			if (blk[i])
				memset(blk[i], (unsigned char)(i * 7 + n), n);
		}
	}
	CHECK_INT_EQ(bad, 0);
	for (size_t i = 0; i < SLOTS; i++)
		jq_evmem_free(blk[i]);
	struct jq_evmem_stats st;
	jq_evmem_stats(&st);
	CHECK_INT_EQ(st.blocks, 0);
	free(blk);
	free(len);
}

UNIT_MAIN({"sizes_and_alignment", test_sizes_and_alignment}, {"realloc", test_realloc},
	  {"slabs_given_back_and_reused", test_slabs_given_back_and_reused},
	  {"random_against_shadow", test_random_against_shadow})
