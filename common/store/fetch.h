/* fetch.h: take up to N pending jobs of some queues under a lease (scripts/fetch.lua),
 * and wait in Redis for work (BLPOP on the queues' wake lists). */
#ifndef JQ_STORE_FETCH_H
#define JQ_STORE_FETCH_H

#include <stdint.h>

#include "store.h"

struct jq_fetch_args {
	int64_t lease_ms;   /* the lease's length, from Redis' clock */
	const char *worker; /* who takes the jobs */
	int want;           /* most jobs to take */
	int nqueues;        /* served in this order (a queue is drained first) */
	const char *const *queues;
};
int jq_store_fetch(struct jq_redis *r, const struct jq_keys *k, const struct jq_fetch_args *a,
		   redisCallbackFn *cb, void *priv);

struct jq_fetch_reply {
	size_t ndropped;           /* ids popped whose job hash was gone (to log) */
	const redisReply *dropped; /* their array: jq_store_fetch_dropped() */
	int64_t rate_wait_ms; /* > 0: a served queue reached its rate limit; fetch again then */
	size_t njobs;         /* jobs taken: jq_store_fetched() */
	const redisReply *r;
};
struct jq_fetched_job {
	int64_t id, token, attempts, timeout_ms, max_attempts;
	int64_t wait_ms;                        /* how long it was runnable before it was taken */
	const char *type, *queue, *traceparent; /* not NUL-terminated: see the lengths */
	size_t type_len, queue_len, traceparent_len;
	const char *payload; /* msgpack [version, value]; NULL: none stored (null) */
	size_t payload_len;
	int payload_bad;     /* the payload element was not a string (a corrupt job) */
	const char *secrets; /* its secrets (a msgpack map), secrets_len 0: none */
	size_t secrets_len;
};
/* Decodes fetch.lua's answer: JQ_STORE_OK, or LOST/ERROR with err. */
int jq_store_fetch_reply(const redisReply *r, struct jq_fetch_reply *out, char *err, size_t errlen);
/* The i-th dropped id as text ("?" if not a string), i < ndropped. */
const char *jq_store_fetch_dropped(const struct jq_fetch_reply *f, size_t i);
/* The i-th job taken, i < njobs; its strings point into the reply. */
void jq_store_fetched(const struct jq_fetch_reply *f, size_t i, struct jq_fetched_job *job);

/* BLPOP on the wake lists of the queues and the promoters' wake list, for timeout_s:
 * the reply names the list a token came from (jq_store_block_reply). */
int jq_store_block(struct jq_redis *r, const struct jq_keys *k, int nqueues,
		   const char *const *queues, int timeout_s, redisCallbackFn *cb, void *priv);
/* 1 if a BLPOP reply was a token from the promoters' wake list (a newly scheduled job). */
int jq_store_block_woke_promoter(const redisReply *r, const struct jq_keys *k);

#endif
