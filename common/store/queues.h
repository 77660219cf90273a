/* queues.h: the queues as operators see and steer them: a snapshot of their counts
 * (scripts/queues.lua), pause/resume, rate limits, the per (queue, type) stats and the
 * workers' Redis errors for GET /metrics (scripts/metrics.lua), the dead set's size. */
#ifndef JQ_STORE_QUEUES_H
#define JQ_STORE_QUEUES_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* One queue (name) or all (NULL or ""), sorted by name. */
int jq_store_queues(struct jq_redis *r, const struct jq_keys *k, const char *name,
		    redisCallbackFn *cb, void *priv);
struct jq_queue_info {
	const char *name; /* NUL-terminated, in the reply */
	int64_t pending;  /* all priorities */
	int paused;
	struct jq_store_hash stats; /* its queue-stats hash: enqueued, completed, ... */
	int has_rate_limit;
	int64_t limit, interval_ms, used; /* used: starts in the current interval */
};
/* *n queues; jq_store_queue_at(r, i, &q) reads the i-th. */
int jq_store_queues_reply(const redisReply *r, size_t *n, char *err, size_t errlen);
void jq_store_queue_at(const redisReply *r, size_t i, struct jq_queue_info *q);

/* Pauses (1) or resumes (0) queue name in one MULTI (a resume also wakes a worker for
 * what waited meanwhile); cb gets EXEC's answer: jq_store_exec_reply. As every sending
 * function: -1 when cb will not be called. */
int jq_store_queue_pause(struct jq_redis *r, const struct jq_keys *k, const char *name, int pause,
			 redisCallbackFn *cb, void *priv);
/* Sets (limit > 0) or removes (limit 0) queue name's rate limit in one MULTI, waking a
 * worker so that jobs the old limit held back start at once if the new one allows. */
int jq_store_queue_rate_limit(struct jq_redis *r, const struct jq_keys *k, const char *name,
			      int64_t limit, int64_t interval_ms, redisCallbackFn *cb, void *priv);
/* JQ_STORE_OK if a MULTI's EXEC ran (the reply is an array). */
int jq_store_exec_reply(const redisReply *r, char *err, size_t errlen);

/* GET /metrics' counts: the workers' Redis errors and the type stats of at most
 * max_queues queues. */
int jq_store_metrics(struct jq_redis *r, const struct jq_keys *k, int64_t max_queues,
		     redisCallbackFn *cb, void *priv);
struct jq_metrics_reply {
	struct jq_store_hash errors; /* kind -> count (metrics.h's names) */
	size_t nqueues;
	const redisReply *r;
};
int jq_store_metrics_reply(const redisReply *r, struct jq_metrics_reply *out, char *err,
			   size_t errlen);
/* Queue i's name and its type stats ("<type>|<name>" -> count, metrics.h). */
const char *jq_store_metrics_queue(const struct jq_metrics_reply *m, size_t i,
				   struct jq_store_hash *stats);

/* The number of jobs in the dead set (ZCARD). */
int jq_store_dead_count(struct jq_redis *r, const struct jq_keys *k, redisCallbackFn *cb,
			void *priv);
int64_t jq_store_dead_count_reply(const redisReply *r, char *err, size_t errlen);

#endif
