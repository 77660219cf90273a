/* progress.h: record done/total of a running job and publish it, if the caller still holds
 * its lease (scripts/progress.lua). */
#ifndef JQ_STORE_PROGRESS_H
#define JQ_STORE_PROGRESS_H

#include <stdint.h>

#include "store.h"

struct jq_progress_args {
	int64_t id, token, done, total;
	const char *queue; /* its queue's followers (GET /ws) see the progress too */
};
int jq_store_progress(struct jq_redis *r, const struct jq_keys *k, const struct jq_progress_args *a,
		      redisCallbackFn *cb, void *priv);
/* 1 written, 0 the lease is not the caller's any more, or JQ_STORE_LOST / _ERROR. */
int jq_store_progress_reply(const redisReply *r, char *err, size_t errlen);

#endif
