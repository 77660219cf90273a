/* keys.h: the C builders of every Redis key name jobq uses, made from the key table
 * (keys.def), which is also where the Lua scripts' names come from (lib/keys.lua is
 * generated from it): a name is spelled once.
 *
 * All keys start with a prefix (default "jobq:"). Keys of one deployment share
 * the prefix; tests give each run its own prefix or database. See docs/redis.md. */
#ifndef JQ_KEYS_H
#define JQ_KEYS_H

#include <stddef.h>
#include <stdint.h>

#define JQ_PREFIX_MAX 64
#define JQ_QUEUE_NAME_MAX 64
#define JQ_TYPE_NAME_MAX 64
#define JQ_WORKER_ID_MAX 127
/* room for the longest: a worker id, or an Idempotency-Key of 200 characters */
#define JQ_KEY_MAX (JQ_PREFIX_MAX + 224)

struct jq_keys {
	char prefix[JQ_PREFIX_MAX + 1];
};

/* Fails (-1) if prefix is longer than JQ_PREFIX_MAX or has a space/control char. */
int jq_keys_init(struct jq_keys *k, const char *prefix);

/* Each builder writes a NUL-terminated name into buf (at least JQ_KEY_MAX bytes; a
 * longer name is cut) and returns its length. */
#define JQ_KEY_FIXED(name, text) size_t jq_keys_##name(const struct jq_keys *k, char *buf);
#define JQ_KEY_NAMED(name, text)                                                                   \
	size_t jq_keys_##name(const struct jq_keys *k, const char *arg, char *buf);
#define JQ_KEY_ID(name, text) size_t jq_keys_##name(const struct jq_keys *k, int64_t id, char *buf);
/* and the suffixes, appended to another name: jq_keys_suffix_events (":events"), ... */
#define JQ_SUFFIX(name, text) extern const char jq_keys_suffix_##name[];
#include "keys.def"
#undef JQ_KEY_FIXED
#undef JQ_KEY_NAMED
#undef JQ_KEY_ID
#undef JQ_SUFFIX

/* The keys of an id (JQ_KEY_ID: a job's hash, a batch's) carry the id's bucket as their
 * hash tag: "<p>{<id mod 16384>}:job:<id>", so that the key is found from the id alone and
 * lives in the slot of that bucket (docs/cluster.md, docs/redis.md). */
#define JQ_BUCKETS 16384
/* The bucket of an id: id mod 16384 (0..16383, also for a negative id). */
int jq_keys_id_bucket(int64_t id);

/* <p>{b}:batch:<id>:callback: a batch's callback job's fields, until it fires. */
size_t jq_keys_batch_callback(const struct jq_keys *k, int64_t id, char *buf);
/* What scripts that learn ids while running build their job keys from with
 * lib/keys.lua's jq_id_key(): the key prefix "<p>". */
size_t jq_keys_job_prefix(const struct jq_keys *k, char *buf);
/* name + jq_keys_suffix_events: the events channel of a job, queue list or batch key;
 * name_len is the length of the name already in buf. Returns the new length. */
size_t jq_keys_add_events(char *buf, size_t name_len);

/* 1 if name is a valid queue or job type name: 1..64 of [A-Za-z0-9_.:-]. */
int jq_name_valid(const char *name, size_t len);

#endif
