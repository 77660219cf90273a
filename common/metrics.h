/* metrics.h: what brokers and workers agree on about the job metrics kept in Redis.
 *
 * Workers count per (queue, type) in memory and add their counts to Redis on each
 * heartbeat (stats.lua); brokers read the sums (metrics.lua) for GET /metrics. The
 * histograms of wait time (runnable -> started) and run time (started -> outcome)
 * share one set of buckets. A series is kept in its queue's hash <p>type-stats:<queue>
 * as fields "<type>|<name>" ('|' is in no type name), where name is one of the
 * JQ_SERIES_FIELDS below: "w<i>" / "r<i>" the number of observations in bucket i (not
 * cumulative; the last, JQ_HIST_BUCKETS - 1, is +Inf), "wsum" / "rsum" their sum in
 * microseconds, then the counters "enqueued", "started", "completed", "retried",
 * "failed" (for good: dead), "cancelled", "recovered". Workers add the histograms and
 * the counts of what they ran; the scripts that enqueue, cancel and recover jobs add
 * theirs directly (HINCRBY '<type>|enqueued', ...). */
#ifndef JQ_METRICS_H
#define JQ_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* upper bounds (inclusive) in microseconds of all buckets but the last (+Inf) */
#define JQ_HIST_BUCKETS 15
extern const int64_t jq_hist_bounds_us[JQ_HIST_BUCKETS - 1];
/* the bounds as Prometheus "le" label values, in seconds; the last is "+Inf" */
extern const char *const jq_hist_le[JQ_HIST_BUCKETS];

/* The bucket an observation of us microseconds falls in (negative counts as 0). */
int jq_hist_bucket(int64_t us);

/* Counters of a (queue, type) series besides the histograms, in field order. */
enum jq_stat {
	JQ_STAT_ENQUEUED, /* counted by enqueue.lua */
	JQ_STAT_STARTED,
	JQ_STAT_COMPLETED,
	JQ_STAT_RETRIED,
	JQ_STAT_FAILED,    /* for good (dead); also by reap.lua for a poison job */
	JQ_STAT_CANCELLED, /* also by cancel.lua and reap.lua */
	JQ_STAT_RECOVERED, /* counted by reap.lua */
	JQ_STAT_COUNT
};
extern const char *const jq_stat_names[JQ_STAT_COUNT];

/* The values of one series, in this order. */
#define JQ_SERIES_WAIT 0                            /* JQ_HIST_BUCKETS wait buckets */
#define JQ_SERIES_RUN JQ_HIST_BUCKETS               /* JQ_HIST_BUCKETS run buckets */
#define JQ_SERIES_WAIT_SUM (2 * JQ_HIST_BUCKETS)    /* µs */
#define JQ_SERIES_RUN_SUM (2 * JQ_HIST_BUCKETS + 1) /* µs */
#define JQ_SERIES_STAT (2 * JQ_HIST_BUCKETS + 2)    /* JQ_STAT_COUNT counters */
#define JQ_SERIES_FIELDS (JQ_SERIES_STAT + JQ_STAT_COUNT)
#define JQ_SERIES_FIELD_NAME_MAX 16

/* The name of value i of a series ("w3", "rsum", "completed", ...) into buf
 * (JQ_SERIES_FIELD_NAME_MAX bytes); returns its length. */
int jq_series_field_name(int i, char *buf);
/* The index of a field name of n bytes, or -1 for one this version does not know. */
int jq_series_field_index(const char *name, size_t n);

/* Redis connection troubles, counted per process (common/redis.c). */
enum jq_redis_error_kind {
	JQ_REDIS_ERR_REPLY,      /* an error reply (-ERR ..., a failing script) */
	JQ_REDIS_ERR_DISCONNECT, /* an established or establishing connection was lost */
	JQ_REDIS_ERR_CONNECT,    /* a connection attempt failed */
	JQ_REDIS_ERR_COUNT
};
extern const char *const jq_redis_error_names[JQ_REDIS_ERR_COUNT];

#endif
