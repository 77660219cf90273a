/* call.c: a Redis call's arguments and the text they point at; see call.h. */
#include "call.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

#define BLOCK_MIN 4096

struct jq_call_block {
	struct jq_call_block *next;
	size_t used, cap;
	char text[];
};

void jq_call_init(struct jq_call *c, int script)
{
	memset(c, 0, sizeof(*c));
	c->script = script;
	c->first_key = -1;
}

void jq_call_release(struct jq_call *c)
{
	free(c->argv);
	free(c->lens);
	while (c->blocks) {
		struct jq_call_block *b = c->blocks;
		c->blocks = b->next;
		free(b);
	}
	jq_call_init(c, c->script);
}

static int grow(struct jq_call *c)
{
	if (c->argc < c->cap)
		return 0;
	int cap = c->cap ? 2 * c->cap : 32;
	const char **argv = realloc(c->argv, sizeof(*argv) * (size_t)cap);
	if (argv)
		c->argv = argv;
	size_t *lens = argv ? realloc(c->lens, sizeof(*lens) * (size_t)cap) : NULL;
	if (!lens) {
		c->err = 1;
		return -1;
	}
	c->lens = lens;
	c->cap = cap;
	return 0;
}

void jq_call_ref(struct jq_call *c, const char *s, size_t len)
{
	if (c->err || grow(c) != 0)
		return;
	c->argv[c->argc] = s;
	c->lens[c->argc] = len;
	c->argc++;
}

void jq_call_key(struct jq_call *c, const char *s, size_t len)
{
	if (c->script != JQ_CALL_COMMAND && c->argc != c->nkeys)
		c->err = 1; /* a builder's bug: a script's keys come before its arguments */
	jq_call_ref(c, s, len);
	if (!c->err && c->nkeys++ == 0)
		c->first_key = c->argc - 1;
}

char *jq_call_room(struct jq_call *c, size_t len)
{
	if (c->err)
		return NULL;
	struct jq_call_block *b = c->blocks;
	if (!b || b->cap - b->used < len) {
		size_t cap = len > BLOCK_MIN ? len : BLOCK_MIN;
		b = malloc(sizeof(*b) + cap);
		if (!b) {
			c->err = 1;
			return NULL;
		}
		b->used = 0;
		b->cap = cap;
		b->next = c->blocks;
		c->blocks = b;
	}
	char *p = b->text + b->used;
	b->used += len;
	return p;
}

void jq_call_str(struct jq_call *c, const char *s)
{
	size_t n = strlen(s);
	char *p = jq_call_room(c, n + 1);
	if (!p)
		return;
	memcpy(p, s, n + 1);
	jq_call_ref(c, p, n);
}

void jq_call_i64(struct jq_call *c, int64_t v)
{
	char *p = jq_call_room(c, 24);
	if (p)
		jq_call_ref(c, p, jq_fmt_i64(p, v));
}

int jq_call_slot(struct jq_call *c)
{
	jq_call_ref(c, "", 0);
	return c->err ? -1 : c->argc - 1;
}

void jq_call_set_i64(struct jq_call *c, int slot, int64_t v)
{
	char *p = slot >= 0 ? jq_call_room(c, 24) : NULL;
	if (!p)
		return;
	c->argv[slot] = p;
	c->lens[slot] = jq_fmt_i64(p, v);
}

/* The name built by build into the call's text, added as a key or an argument. */
#define ADD_NAME(c, is_key, build)                                                                 \
	do {                                                                                       \
		char *kb = jq_call_room((c), JQ_KEY_MAX);                                          \
		if (!kb)                                                                           \
			return;                                                                    \
		size_t kn = (build);                                                               \
		if (is_key)                                                                        \
			jq_call_key((c), kb, kn);                                                  \
		else                                                                               \
			jq_call_ref((c), kb, kn);                                                  \
	} while (0)

void jq_call_arg_job_prefix(struct jq_call *c, const struct jq_keys *k)
{
	ADD_NAME(c, 0, jq_keys_job_prefix(k, kb));
}

#define JQ_KEY_FIXED(name, text)                                                                   \
	void jq_call_key_##name(struct jq_call *c, const struct jq_keys *k)                        \
	{                                                                                          \
		ADD_NAME(c, 1, jq_keys_##name(k, kb));                                             \
	}                                                                                          \
	void jq_call_arg_##name(struct jq_call *c, const struct jq_keys *k)                        \
	{                                                                                          \
		ADD_NAME(c, 0, jq_keys_##name(k, kb));                                             \
	}
#define JQ_KEY_NAMED(name, text)                                                                   \
	void jq_call_key_##name(struct jq_call *c, const struct jq_keys *k, const char *arg)       \
	{                                                                                          \
		ADD_NAME(c, 1, jq_keys_##name(k, arg, kb));                                        \
	}                                                                                          \
	void jq_call_arg_##name(struct jq_call *c, const struct jq_keys *k, const char *arg)       \
	{                                                                                          \
		ADD_NAME(c, 0, jq_keys_##name(k, arg, kb));                                        \
	}
#define JQ_KEY_ID(name, text)                                                                      \
	void jq_call_key_##name(struct jq_call *c, const struct jq_keys *k, int64_t id)            \
	{                                                                                          \
		ADD_NAME(c, 1, jq_keys_##name(k, id, kb));                                         \
	}                                                                                          \
	void jq_call_arg_##name(struct jq_call *c, const struct jq_keys *k, int64_t id)            \
	{                                                                                          \
		ADD_NAME(c, 0, jq_keys_##name(k, id, kb));                                         \
	}
#define JQ_SUFFIX(name, text)
#include "keys.def"
