/* store.h: the store layer, the one place that knows Redis.
 *
 * Layout of common/store/:
 *   keys.def        the key table: every key name, once (C: keys.h; Lua: lib/keys.lua)
 *   scripts/NAME.lua the Lua scripts, one atomic step each (docs/redis.md)
 *   call.h          one call's keys and arguments, as a module builds them
 *   <op>.h / .c     one module per script (or per group of plain commands): a function
 *                   that takes typed arguments, builds the call and sends it, and a
 *                   decoder that turns the reply into a struct
 * Nothing outside common/store/ builds a key, an argument array or a command: broker,
 * worker, cron firer and libjobq-client call jq_store_<op>() and read replies through
 * the module's decoder.
 *
 * Every sending function: 0 when sent (the callback is then called exactly once, with a
 * NULL reply if the connection drops first), -1 when not (Redis not ready, out of memory;
 * the callback is never called). The reply is freed after the callback returns: decoded
 * structs that point into it are valid until then. */
#ifndef JQ_STORE_H
#define JQ_STORE_H

#include <hiredis/hiredis.h>
#include <stddef.h>

#include "call.h"
#include "redis.h"

/* Sends c on r and releases it (whether sent or not). */
int jq_store_send(struct jq_redis *r, struct jq_call *c, redisCallbackFn *cb, void *priv);

/* MULTI, the calls (one command each, in order: each is released), then EXEC with cb.
 * If a command could not be queued, DISCARD goes with cb instead (its answer is not an
 * array: the caller sees a failure). 0 when cb will be called once; -1 when it will not
 * (nothing was sent). */
int jq_store_multi(struct jq_redis *r, struct jq_call *calls, int n, redisCallbackFn *cb,
		   void *priv);

/* What a reply says before it is decoded. */
enum jq_store_status {
	JQ_STORE_OK = 0,
	JQ_STORE_LOST = -1,  /* no reply: the connection dropped (not done, or not known) */
	JQ_STORE_ERROR = -2, /* an error reply, or not the shape the script answers */
};
/* JQ_STORE_LOST for NULL, JQ_STORE_ERROR (its text in err) for an error reply, else OK. */
int jq_store_status(const redisReply *r, char *err, size_t errlen);
/* An integer reply from lo to hi (lo >= 0), or JQ_STORE_LOST / JQ_STORE_ERROR (err; what
 * names the call in it): the decoder of every call that answers one number. */
int64_t jq_store_int_in(const redisReply *r, int64_t lo, int64_t hi, const char *what, char *err,
			size_t errlen);
/* A malformed reply: JQ_STORE_ERROR with a message naming what. */
int jq_store_malformed(const char *what, char *err, size_t errlen);

/* The integer in a reply element (an integer, or a string holding one), else dflt. */
int64_t jq_store_i64(const redisReply *r, int64_t dflt);
/* A string element's bytes and length ("" and 0 for anything else). */
const char *jq_store_str(const redisReply *r, size_t *len);

/* A hash read whole (HGETALL, or a script's flat name, value array). */
struct jq_store_hash {
	size_t n; /* fields */
	const redisReply *r;
};
/* 0 and h set if r is a flat array of string pairs, else -1. */
int jq_store_hash_init(struct jq_store_hash *h, const redisReply *r);
/* Field i's name (NUL-terminated) and its value as an integer (0 if not one). */
const char *jq_store_hash_field(const struct jq_store_hash *h, size_t i, int64_t *value);
/* The integer value of field name, or dflt when absent. */
int64_t jq_store_hash_i64(const struct jq_store_hash *h, const char *name, int64_t dflt);

#endif
