/* requeue.h: give a running job back to the head of its queue without spending an attempt
 * (graceful shutdown), if the caller still holds its lease (scripts/requeue.lua). */
#ifndef JQ_STORE_REQUEUE_H
#define JQ_STORE_REQUEUE_H

#include <stdint.h>

#include "store.h"

struct jq_requeue_args {
	int64_t id, token;
	const char *queue;
	int64_t keep_cancelled_ms; /* a job whose cancel was asked for ends cancelled */
};
int jq_store_requeue(struct jq_redis *r, const struct jq_keys *k, const struct jq_requeue_args *a,
		     redisCallbackFn *cb, void *priv);

enum jq_requeue_code {
	JQ_REQUEUE_STALE = 0, /* not the caller's lease: nothing written */
	JQ_REQUEUE_DONE = 1,  /* back in its queue */
	JQ_REQUEUE_CANCELLED = 2,
};
/* The code, or JQ_STORE_LOST / JQ_STORE_ERROR (err). */
int jq_store_requeue_reply(const redisReply *r, char *err, size_t errlen);

#endif
