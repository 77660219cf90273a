/* stats.h: a worker's job counts and wait/run-time histograms per (queue, type).
 *
 * Counting is in memory and costs no Redis call: jq_stats_flush (called with the
 * heartbeat and at a clean exit) adds everything counted since the last report to
 * Redis' totals in one stats.lua call, so that any broker's GET /metrics sees every
 * worker (common/metrics.h has the layout). Up to one heartbeat of counts is lost if
 * the worker dies; a report Redis did not take is added back and sent again (so a
 * report whose answer was lost with the connection after Redis ran it counts twice:
 * rare, and the lesser evil for metrics). */
#ifndef JQ_STATS_H
#define JQ_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "keys.h"
#include "metrics.h"
#include "redis.h"

#define JQ_STATS_MAX_SERIES 4096 /* (queue, type) pairs one worker tracks; more are not counted */

struct jq_stats_series {
	char queue[JQ_QUEUE_NAME_MAX + 1];
	char type[JQ_TYPE_NAME_MAX + 1];
	int64_t v[JQ_SERIES_FIELDS]; /* counted since the last report Redis took or has in flight */
};

struct jq_stats {
	struct jq_stats_series *series; /* never shrinks: indices stay valid */
	size_t n, cap;
	size_t last; /* the series found last: a run of one type is found at once */
	uint64_t errors_reported[JQ_REDIS_ERR_COUNT]; /* this process' Redis errors sent so far */
};

void jq_stats_init(struct jq_stats *s);
/* Call after the connection that carried the last flush is freed (its callback
 * touches s). */
void jq_stats_release(struct jq_stats *s);

/* The index of the series of (queue, type), created at need; -1 when it cannot be
 * (out of memory, too many series): the caller then counts nothing. */
int jq_stats_series(struct jq_stats *s, const char *queue, const char *type);
/* A job of series i started after waiting wait_us to run. */
void jq_stats_started(struct jq_stats *s, int i, int64_t wait_us);
/* An attempt of series i ended (JQ_STAT_COMPLETED, _RETRIED, _FAILED or _CANCELLED, as
 * Redis recorded it) after running run_us. */
void jq_stats_finished(struct jq_stats *s, int i, enum jq_stat what, int64_t run_us);

/* Sends everything counted since the last report, and the Redis errors of this process
 * since then, in one stats.lua call on r; nothing when there is nothing new. Returns -1
 * if the report could not be sent (its counts stay for the next call). Reports may
 * overlap: each carries its own deltas, and one that fails gives them back. */
int jq_stats_flush(struct jq_stats *s, struct jq_redis *r, const struct jq_keys *keys);

#endif
