/* evmem.h: the broker's allocator for libevent's own objects.
 *
 * libevent allocates small objects at a high rate: an event per HTTP connection, the
 * bufferevents and buffers of WebSockets, query-string lists, hiredis' buffers are not
 * its. (It was written when libevent's evhttp held 13 blocks per idle connection, see
 * http.h.) glibc's malloc adds an 8-byte header to each and rounds to 16 with a 32-byte
 * minimum, and its thread cache (7 blocks per size) misses when the loop allocates the
 * same objects for many requests in one turn. Here blocks of up to 1,024 bytes come
 * from 64 KB slabs of one size class each (multiples of 16 bytes, no per-block header),
 * carved from one reserved region of address space; a block's slab is found by masking its
 * address. Larger blocks go to malloc. A slab whose blocks are all free gives its pages
 * back to the system (all but its first page) and can serve any size class again.
 *
 * Not thread-safe: the broker runs one thread. Installed before any libevent call
 * (event_set_mem_functions); not under AddressSanitizer, so that ASan keeps checking
 * libevent's objects. Memory libevent hands to its caller to free() (evbuffer_readln,
 * evhttp_decode_uri, ...) must not be used with it: the broker uses none of those. */
#ifndef JQ_EVMEM_H
#define JQ_EVMEM_H

#include <stddef.h>

/* Installs the allocator for libevent; 0, or -1 when the region could not be reserved or
 * under ASan (libevent then keeps malloc). */
int jq_evmem_install(void);

/* The allocator itself (usable without installing it: the unit tests do). */
void *jq_evmem_malloc(size_t n);
void *jq_evmem_realloc(void *p, size_t n);
void jq_evmem_free(void *p);

/* For tests and metrics: slabs in use by a size class, blocks handed out. */
struct jq_evmem_stats {
	size_t slabs;      /* slabs serving a size class now */
	size_t empty;      /* slabs given back, kept for reuse */
	size_t blocks;     /* small blocks handed out and not freed */
	size_t region_end; /* bytes of the region carved into slabs so far */
};
void jq_evmem_stats(struct jq_evmem_stats *st);

#endif
