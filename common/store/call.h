/* call.h: one Redis command or script call as a store module builds it: the keys and
 * arguments, and the text they point at, owned by the call.
 *
 * The store modules (the other headers of common/store/) are the only code that fills one: a caller asks a module
 * for an operation with typed arguments and never sees the positional array. Building
 * never fails half-way silently: an allocation failure marks the call (err), and sending
 * or running such a call fails as a whole. Pure: no IO (store.h sends). */
#ifndef JQ_CALL_H
#define JQ_CALL_H

#include <stddef.h>
#include <stdint.h>

#include "keys.h"
#include "scripts.h"

#define JQ_CALL_COMMAND (-1) /* not a script: argv[0] is the command's name */

struct jq_call_block;

struct jq_call {
	int script;    /* enum jq_script_id, or JQ_CALL_COMMAND */
	int nkeys;     /* a script's keys are argv[0 .. nkeys-1], its arguments follow */
	int first_key; /* argv's index of the first key, or -1: a Cluster routes by it */
	int argc;
	const char **argv;
	size_t *lens;
	int cap;                      /* slots in argv and lens */
	int err;                      /* out of memory while building: the call must not be sent */
	struct jq_call_block *blocks; /* the text argv points at (blocks never move) */
};

/* An empty call of script (or JQ_CALL_COMMAND). */
void jq_call_init(struct jq_call *c, int script);
/* Frees what the call owns; the call may be initialised again. */
void jq_call_release(struct jq_call *c);

/* Adds a key: only before the first argument of a script. */
void jq_call_key(struct jq_call *c, const char *s, size_t len);
/* Adds an argument pointing at s (not copied: s must outlive the call's sending). */
void jq_call_ref(struct jq_call *c, const char *s, size_t len);
/* Adds a copy of the NUL-terminated s, or of the integer v in decimal. */
void jq_call_str(struct jq_call *c, const char *s);
void jq_call_i64(struct jq_call *c, int64_t v);
/* Reserves an argument slot (its index) to be set later with jq_call_set_i64: a count
 * only known once what it counts was added. -1 after an allocation failure. */
int jq_call_slot(struct jq_call *c);
void jq_call_set_i64(struct jq_call *c, int slot, int64_t v);
/* len bytes of text owned by the call (for a name built in place), or NULL (c->err). */
char *jq_call_room(struct jq_call *c, size_t len);

/* Keys and key-like arguments from the key table: jq_call_key_<name>(c, k[, arg]) adds
 * the key; jq_call_arg_<name>(c, k[, arg]) adds the same name as an argument (a channel,
 * or a name a script appends an id to). */
/* "<p>job:", what a script appends a job id to (jq_keys_job_prefix) */
void jq_call_arg_job_prefix(struct jq_call *c, const struct jq_keys *k);
#define JQ_KEY_FIXED(name, text)                                                                   \
	void jq_call_key_##name(struct jq_call *c, const struct jq_keys *k);                       \
	void jq_call_arg_##name(struct jq_call *c, const struct jq_keys *k);
#define JQ_KEY_NAMED(name, text)                                                                   \
	void jq_call_key_##name(struct jq_call *c, const struct jq_keys *k, const char *arg);      \
	void jq_call_arg_##name(struct jq_call *c, const struct jq_keys *k, const char *arg);
#define JQ_KEY_ID(name, text)                                                                      \
	void jq_call_key_##name(struct jq_call *c, const struct jq_keys *k, int64_t id);           \
	void jq_call_arg_##name(struct jq_call *c, const struct jq_keys *k, int64_t id);
#define JQ_SUFFIX(name, text)
#include "keys.def"
#undef JQ_KEY_FIXED
#undef JQ_KEY_NAMED
#undef JQ_KEY_ID
#undef JQ_SUFFIX

#endif
