/* finish.h: record the outcomes of attempts and release their leases (scripts/finish.lua),
 * for every job whose lease the caller still holds, in one atomic step. */
#ifndef JQ_STORE_FINISH_H
#define JQ_STORE_FINISH_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

enum jq_outcome_kind {
	JQ_OUTCOME_COMPLETED,
	JQ_OUTCOME_FAILED, /* may be retried while attempts remain */
	JQ_OUTCOME_FATAL,  /* never retried: the job cannot run */
	JQ_OUTCOME_CANCELLED,
};
struct jq_outcome {
	int64_t id, token; /* the lease's fencing token */
	enum jq_outcome_kind kind;
	const char *text;       /* result JSON, or the error */
	int64_t retry_delay_ms; /* used if it fails and attempts remain */
	const char *queue;      /* the job's queue, as fetch gave it */
};
struct jq_finish_args {
	int64_t keep_completed_ms, keep_failed_ms; /* how long ended jobs are kept */
	int64_t dead_max;                          /* most jobs kept in the dead set */
	size_t n;
	const struct jq_outcome *outcomes;
};
int jq_store_finish(struct jq_redis *r, const struct jq_keys *k, const struct jq_finish_args *a,
		    redisCallbackFn *cb, void *priv);

/* What became of one job. */
enum jq_finish_code {
	JQ_FINISH_STALE = 0, /* its lease is not the caller's any more: nothing written */
	JQ_FINISH_COMPLETED = 1,
	JQ_FINISH_RETRY = 2, /* failed, a retry is scheduled */
	JQ_FINISH_DEAD = 3,  /* failed for good */
	JQ_FINISH_CANCELLED = 4,
};
/* The code of outcome i of the n sent, or JQ_STORE_LOST / JQ_STORE_ERROR (err). */
int jq_store_finish_reply(const redisReply *r, size_t n, size_t i, char *err, size_t errlen);

#endif
