/* enqueue.h: storing new jobs (scripts/enqueue.lua; the call is built by enqueue_args.h
 * from job specs), and reserving the ids they are stored under. */
#ifndef JQ_STORE_ENQUEUE_H
#define JQ_STORE_ENQUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "enqueue_args.h"
#include "store.h"

/* Sends the enqueue call a (jq_enqueue_args_build*); a may be released after this
 * returns. */
int jq_store_enqueue(struct jq_redis *r, const struct jq_enqueue_args *a, redisCallbackFn *cb,
		     void *priv);

/* The same call for a caller that sends it itself: c points into a (keep a until c is
 * sent). */
void jq_store_enqueue_build(struct jq_call *c, const struct jq_enqueue_args *a);

enum jq_enqueue_result {
	JQ_ENQUEUE_STORED,   /* all n jobs are stored */
	JQ_ENQUEUE_REPEATED, /* the Idempotency-Key names a request stored earlier (below) */
	JQ_ENQUEUE_KEY_HELD, /* the job at index names the unique_key of live job holder */
};
/* What an Idempotency-Key stored first (a repeat stores nothing). */
enum jq_enqueue_kind {
	JQ_ENQUEUED_ONE,   /* one job: first_id, and its state now */
	JQ_ENQUEUED_BULK,  /* n jobs from first_id (POST /jobs/bulk) */
	JQ_ENQUEUED_BATCH, /* batch first_id and its n jobs (POST /batches) */
};
struct jq_enqueue_reply {
	enum jq_enqueue_result result;
	enum jq_enqueue_kind kind; /* REPEATED */
	int64_t first_id, n;       /* REPEATED */
	const char *state;         /* REPEATED of ONE: its state, NUL-terminated in the reply */
	int64_t holder, index;     /* KEY_HELD */
};
/* Decodes the answer to a call that stores n jobs; nothing was stored unless STORED.
 * JQ_STORE_LOST / JQ_STORE_ERROR (err) when the answer is none of these. */
int jq_store_enqueue_reply(const redisReply *r, size_t n, struct jq_enqueue_reply *out, char *err,
			   size_t errlen);

/* Reserves n ids from the id counter (INCRBY): the reply is the last one. */
int jq_store_reserve_ids(struct jq_redis *r, const struct jq_keys *k, int64_t n,
			 redisCallbackFn *cb, void *priv);
/* The last id reserved (> 0), or JQ_STORE_LOST / JQ_STORE_ERROR. */
int64_t jq_store_reserve_ids_reply(const redisReply *r, char *err, size_t errlen);
/* The same call for a caller that sends it itself (libjobq-client). */
void jq_store_reserve_ids_build(struct jq_call *c, const struct jq_keys *k, int64_t n);

#endif
