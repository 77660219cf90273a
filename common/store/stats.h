/* stats.h: add a worker's counts since its last report to the totals in one step
 * (scripts/stats.lua), called with the heartbeat, never per job. */
#ifndef JQ_STORE_STATS_H
#define JQ_STORE_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct jq_hincr {
	const char *field;
	int64_t delta;
};
/* The counts of one (queue, type) series: stored in the queue's type stats hash under
 * "<type>|<field>" (common/metrics.h). */
struct jq_stats_report {
	const char *queue, *type;
	size_t n;
	const struct jq_hincr *fields;
};
struct jq_stats_args {
	size_t nerrors; /* the worker's Redis troubles, by kind */
	const struct jq_hincr *errors;
	size_t nseries;
	const struct jq_stats_report *series;
};
int jq_store_stats(struct jq_redis *r, const struct jq_keys *k, const struct jq_stats_args *a,
		   redisCallbackFn *cb, void *priv);
/* The number of fields changed, or JQ_STORE_LOST / JQ_STORE_ERROR (err): then nothing
 * was added, and the counts should be sent again. */
int64_t jq_store_stats_reply(const redisReply *r, char *err, size_t errlen);

#endif
