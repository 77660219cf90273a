/* keys.h: every Redis key name jobq uses, in one place.
 *
 * All keys start with a prefix (default "jobq:"). Keys of one deployment share
 * the prefix; tests give each run its own prefix or database. See docs/redis.md. */
#ifndef JQ_KEYS_H
#define JQ_KEYS_H

#include <stddef.h>
#include <stdint.h>

#define JQ_PREFIX_MAX 64
#define JQ_QUEUE_NAME_MAX 64
#define JQ_TYPE_NAME_MAX 64
#define JQ_WORKER_ID_MAX 127
/* room for the longest: a worker id, or an Idempotency-Key of 200 characters */
#define JQ_KEY_MAX (JQ_PREFIX_MAX + 224)

struct jq_keys {
	char prefix[JQ_PREFIX_MAX + 1];
};

/* Fails (-1) if prefix is longer than JQ_PREFIX_MAX or has a space/control char. */
int jq_keys_init(struct jq_keys *k, const char *prefix);

/* Each writes a NUL-terminated name into buf (at least JQ_KEY_MAX bytes)
 * and returns its length. */
size_t jq_keys_job(const struct jq_keys *k, int64_t id, char *buf);     /* <p>job:<id> hash */
/* <p>q:<q> list: pending jobs of priority 0; priorities 1..9 have '<p>q:<q>#p<N>' and the
 * zset '<p>q:<q>#prio' of levels in use, named by common/scripts/lib/queue.lua ('#' is in
 * no queue name) */
size_t jq_keys_queue(const struct jq_keys *k, const char *q, char *buf);
size_t jq_keys_wake(const struct jq_keys *k, const char *q, char *buf);  /* <p>wake:<q> list */
size_t jq_keys_ids(const struct jq_keys *k, char *buf);                  /* <p>ids counter */
size_t jq_keys_leases(const struct jq_keys *k, char *buf);               /* <p>leases zset */
size_t jq_keys_dead(const struct jq_keys *k, char *buf);                 /* <p>dead zset */
size_t jq_keys_queues(const struct jq_keys *k, char *buf);               /* <p>queues set */
size_t jq_keys_wake_scheduled(const struct jq_keys *k, char *buf); /* <p>wake-scheduled */
size_t jq_keys_queue_stats(const struct jq_keys *k, const char *q, char *buf); /* <p>queue-stats:<q> */
size_t jq_keys_paused(const struct jq_keys *k, char *buf);        /* <p>paused set */
/* <p>type-stats:<q> hash: per job type counts and histograms (common/metrics.h) */
size_t jq_keys_type_stats(const struct jq_keys *k, const char *q, char *buf);
/* <p>worker-redis-errors hash: the Redis troubles of all workers, by kind */
size_t jq_keys_worker_redis_errors(const struct jq_keys *k, char *buf);
size_t jq_keys_cancel_channel(const struct jq_keys *k, char *buf); /* <p>cancel channel */
/* <p>idem:<key>: the id stored under an Idempotency-Key */
size_t jq_keys_idempotency(const struct jq_keys *k, const char *key, char *buf);
/* <p>unique:<key>: the id of the job that holds a unique_key (enqueue.lua) */
size_t jq_keys_unique(const struct jq_keys *k, const char *key, char *buf);
/* <p>rate-limits: hash, queue name -> "limit:interval_ms"; <p>rate:<q>: zset of the job
 * starts of the queue's current interval (fetch.lua) */
size_t jq_keys_rate_limits(const struct jq_keys *k, char *buf);
size_t jq_keys_rate(const struct jq_keys *k, const char *q, char *buf);
size_t jq_keys_stats(const struct jq_keys *k, char *buf);                /* <p>stats hash */
size_t jq_keys_scheduled(const struct jq_keys *k, char *buf);            /* <p>scheduled zset */
size_t jq_keys_workers(const struct jq_keys *k, char *buf);              /* <p>workers zset */
size_t jq_keys_reaper_lock(const struct jq_keys *k, char *buf);          /* <p>reaper-lock */
/* <p>worker:<id> info (JSON string) and <p>worker-jobs:<id> set of the job ids it holds */
size_t jq_keys_worker(const struct jq_keys *k, const char *id, char *buf);
size_t jq_keys_worker_jobs(const struct jq_keys *k, const char *id, char *buf);
/* <p>batch:<id> hash of a batch's counts; <p>batch:<id>:callback its callback's fields */
size_t jq_keys_batch(const struct jq_keys *k, int64_t id, char *buf);
size_t jq_keys_batch_callback(const struct jq_keys *k, int64_t id, char *buf);
/* Periodic schedules: <p>schedules hash (name -> definition JSON), <p>schedule-next zset
 * (name -> next run, epoch ms), <p>schedule-state hash (name -> state JSON) */
size_t jq_keys_schedules(const struct jq_keys *k, char *buf);
size_t jq_keys_schedule_next(const struct jq_keys *k, char *buf);
size_t jq_keys_schedule_state(const struct jq_keys *k, char *buf);
/* API tokens: <p>tokens hash (sha256 hex of a token -> {"name", "scopes", "created_at"}
 * JSON; broker/auth.h) */
size_t jq_keys_tokens(const struct jq_keys *k, char *buf);
/* Dashboard sessions: <p>session:<sha256 hex of the cookie> string (JSON of the token's
 * grant and the CSRF token), with a TTL (broker/auth.h) */
size_t jq_keys_session(const struct jq_keys *k, const char *hash_hex, char *buf);
/* "<p>job:" — what the fetch script prepends to an id it popped. */
size_t jq_keys_job_prefix(const struct jq_keys *k, char *buf);

/* 1 if name is a valid queue or job type name: 1..64 of [A-Za-z0-9_.:-]. */
int jq_name_valid(const char *name, size_t len);

#endif
