/* evmem.c: size-class slabs for libevent's objects; see evmem.h. */
#include "evmem.h"

#include <event2/event.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define SLAB_SIZE ((size_t)64 * 1024)
#define REGION_SIZE ((size_t)1 << 30) /* address space only: pages count once touched */
#define GRAIN 16                      /* alignment and size step, as malloc's */
#define SMALL_MAX 1024
#define CLASSES (SMALL_MAX / GRAIN)
#define PAGE 4096

/* At the start of every slab. A slab with free room is on its class's list; an empty one
 * (all its blocks freed) on the pool, its pages past the first given back. */
struct slab {
	struct slab *prev, *next;
	void *free;     /* freed blocks, linked through their first word */
	uint32_t cls;   /* block size (cls + 1) * GRAIN */
	uint32_t used;  /* blocks handed out */
	uint32_t bump;  /* offset of the first block never handed out */
	uint32_t listed; /* on its class's list */
};

#define FIRST_BLOCK ((sizeof(struct slab) + GRAIN - 1) / GRAIN * GRAIN)

static char *region, *region_next, *region_end;
static int region_tried;
static struct slab *partial[CLASSES]; /* slabs with room, per class */
static struct slab *pool;             /* empty slabs */
static size_t n_slabs, n_empty, n_blocks;

static int reserve(void)
{
	if (region_tried)
		return region ? 0 : -1;
	region_tried = 1;
	/* one slab more, to start on a slab boundary (a block's slab is its address masked) */
	char *p = mmap(NULL, REGION_SIZE + SLAB_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	region = (char *)(((uintptr_t)p + SLAB_SIZE - 1) & ~(uintptr_t)(SLAB_SIZE - 1));
	region_next = region;
	region_end = region + REGION_SIZE;
	return 0;
}

static int ours(const void *p)
{
	return region && (const char *)p >= region && (const char *)p < region_end;
}

static void unlink_slab(struct slab **head, struct slab *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		*head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
}

static void push_slab(struct slab **head, struct slab *s)
{
	s->prev = NULL;
	s->next = *head;
	if (*head)
		(*head)->prev = s;
	*head = s;
}

static struct slab *new_slab(uint32_t cls)
{
	struct slab *s = pool;
	if (s) {
		unlink_slab(&pool, s);
		n_empty--;
	} else {
		if (reserve() != 0 || region_end - region_next < (ptrdiff_t)SLAB_SIZE)
			return NULL;
		s = (struct slab *)region_next;
		region_next += SLAB_SIZE;
	}
	memset(s, 0, sizeof(*s));
	s->cls = cls;
	s->bump = FIRST_BLOCK;
	s->listed = 1;
	push_slab(&partial[cls], s);
	n_slabs++;
	return s;
}

void *jq_evmem_malloc(size_t n)
{
	if (n == 0)
		n = 1;
	if (n > SMALL_MAX)
		return malloc(n);
	uint32_t cls = (uint32_t)((n - 1) / GRAIN);
	size_t size = (size_t)(cls + 1) * GRAIN;
	struct slab *s = partial[cls];
	if (!s && !(s = new_slab(cls)))
		return malloc(n); /* no region (or it is full): malloc's blocks are freed by free() */
	void *p;
	if (s->free) {
		p = s->free;
		memcpy(&s->free, p, sizeof(void *));
	} else {
		p = (char *)s + s->bump;
		s->bump += (uint32_t)size;
	}
	s->used++;
	n_blocks++;
	if (!s->free && s->bump + size > SLAB_SIZE) { /* full: off the list until a free */
		unlink_slab(&partial[cls], s);
		s->listed = 0;
	}
	return p;
}

void jq_evmem_free(void *p)
{
	if (!p)
		return;
	if (!ours(p)) {
		free(p);
		return;
	}
	struct slab *s = (struct slab *)((uintptr_t)p & ~(uintptr_t)(SLAB_SIZE - 1));
	memcpy(p, &s->free, sizeof(void *));
	s->free = p;
	s->used--;
	n_blocks--;
	if (s->used == 0 && !(s->listed && partial[s->cls] == s && !s->next)) {
		/* empty, and not its class's only slab with room (which stays, so that a class
		 * used by one request at a time does not fault its pages in again and again):
		 * give back its pages but the first (the header lives there) */
		if (s->listed)
			unlink_slab(&partial[s->cls], s);
		s->listed = 0;
		s->free = NULL;
		madvise((char *)s + PAGE, SLAB_SIZE - PAGE, MADV_DONTNEED);
		push_slab(&pool, s);
		n_slabs--;
		n_empty++;
	} else if (!s->listed) {
		push_slab(&partial[s->cls], s);
		s->listed = 1;
	}
}

void *jq_evmem_realloc(void *p, size_t n)
{
	if (!p)
		return jq_evmem_malloc(n);
	if (!ours(p))
		return realloc(p, n); /* malloc's block stays malloc's */
	if (n == 0) {
		jq_evmem_free(p);
		return NULL;
	}
	const struct slab *s = (const struct slab *)((uintptr_t)p & ~(uintptr_t)(SLAB_SIZE - 1));
	size_t have = (size_t)(s->cls + 1) * GRAIN;
	if (n <= have)
		return p;
	void *q = jq_evmem_malloc(n);
	if (!q)
		return NULL;
	memcpy(q, p, have);
	jq_evmem_free(p);
	return q;
}

void jq_evmem_stats(struct jq_evmem_stats *st)
{
	st->slabs = n_slabs;
	st->empty = n_empty;
	st->blocks = n_blocks;
	st->region_end = region ? (size_t)(region_next - region) : 0;
}

#if defined(__SANITIZE_ADDRESS__)
#define JQ_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define JQ_ASAN 1
#endif
#endif

int jq_evmem_install(void)
{
#ifdef JQ_ASAN
	return -1;
#else
	if (reserve() != 0)
		return -1;
	event_set_mem_functions(jq_evmem_malloc, jq_evmem_realloc, jq_evmem_free);
	return 0;
#endif
}
