/* batch.h: a batch's counts by state, read in one atomic step (scripts/batch_status.lua;
 * GET /batches/{id}). Batches are stored by the enqueue call (enqueue_args.h). */
#ifndef JQ_STORE_BATCH_H
#define JQ_STORE_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

int jq_store_batch_status(struct jq_redis *r, const struct jq_keys *k, int64_t id,
			  redisCallbackFn *cb, void *priv);
/* *found is 0 for an unknown (or expired) batch; otherwise *h holds its fields: total,
 * completed, failed, cancelled, created_at, keep_ms, and once known finished_at and
 * callback_id, then pending, scheduled and running counted from its members. */
int jq_store_batch_status_reply(const redisReply *r, int *found, struct jq_store_hash *h, char *err,
				size_t errlen);

#endif
