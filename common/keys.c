/* keys.c: Redis key names; see keys.h. */
#include "keys.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

int jq_keys_init(struct jq_keys *k, const char *prefix)
{
	size_t n = strlen(prefix);
	if (n > JQ_PREFIX_MAX)
		return -1;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)prefix[i] <= ' ' || prefix[i] == 0x7f)
			return -1;
	memcpy(k->prefix, prefix, n + 1);
	return 0;
}

/* prefix + what + tail, cut to JQ_KEY_MAX - 1 bytes; memcpy, not printf: this runs
 * several times per job on the hot paths */
static size_t fmt(char *buf, const char *prefix, const char *what, const char *tail)
{
	size_t n = 0;
	const char *parts[3] = {prefix, what, tail};
	for (int i = 0; i < 3; i++) {
		size_t l = strlen(parts[i]);
		if (l > JQ_KEY_MAX - 1 - n)
			l = JQ_KEY_MAX - 1 - n;
		memcpy(buf + n, parts[i], l);
		n += l;
	}
	buf[n] = '\0';
	return n;
}

size_t jq_keys_job(const struct jq_keys *k, int64_t id, char *buf)
{
	char digits[24];
	jq_fmt_i64(digits, id);
	return fmt(buf, k->prefix, "job:", digits);
}

size_t jq_keys_queue(const struct jq_keys *k, const char *q, char *buf)
{
	return fmt(buf, k->prefix, "q:", q);
}

size_t jq_keys_wake(const struct jq_keys *k, const char *q, char *buf)
{
	return fmt(buf, k->prefix, "wake:", q);
}

size_t jq_keys_ids(const struct jq_keys *k, char *buf) { return fmt(buf, k->prefix, "ids", ""); }
size_t jq_keys_leases(const struct jq_keys *k, char *buf)
{
	return fmt(buf, k->prefix, "leases", "");
}
size_t jq_keys_dead(const struct jq_keys *k, char *buf) { return fmt(buf, k->prefix, "dead", ""); }
size_t jq_keys_queues(const struct jq_keys *k, char *buf)
{
	return fmt(buf, k->prefix, "queues", "");
}
size_t jq_keys_wake_scheduled(const struct jq_keys *k, char *buf)
{
	return fmt(buf, k->prefix, "wake-scheduled", "");
}
size_t jq_keys_queue_stats(const struct jq_keys *k, const char *q, char *buf)
{
	return fmt(buf, k->prefix, "queue-stats:", q);
}
size_t jq_keys_type_stats(const struct jq_keys *k, const char *q, char *buf)
{
	return fmt(buf, k->prefix, "type-stats:", q);
}
size_t jq_keys_worker_redis_errors(const struct jq_keys *k, char *buf)
{
	return fmt(buf, k->prefix, "worker-redis-errors", "");
}
size_t jq_keys_paused(const struct jq_keys *k, char *buf)
{
	return fmt(buf, k->prefix, "paused", "");
}
size_t jq_keys_cancel_channel(const struct jq_keys *k, char *buf)
{
	return fmt(buf, k->prefix, "cancel", "");
}
size_t jq_keys_idempotency(const struct jq_keys *k, const char *key, char *buf)
{
	return fmt(buf, k->prefix, "idem:", key);
}
size_t jq_keys_unique(const struct jq_keys *k, const char *key, char *buf)
{
	return fmt(buf, k->prefix, "unique:", key);
}
size_t jq_keys_rate_limits(const struct jq_keys *k, char *buf)
{
	return fmt(buf, k->prefix, "rate-limits", "");
}
size_t jq_keys_rate(const struct jq_keys *k, const char *q, char *buf)
{
	return fmt(buf, k->prefix, "rate:", q);
}
size_t jq_keys_stats(const struct jq_keys *k, char *buf)
{
	return fmt(buf, k->prefix, "stats", "");
}
size_t jq_keys_scheduled(const struct jq_keys *k, char *buf)
{
	return fmt(buf, k->prefix, "scheduled", "");
}
size_t jq_keys_workers(const struct jq_keys *k, char *buf)
{
	return fmt(buf, k->prefix, "workers", "");
}
size_t jq_keys_reaper_lock(const struct jq_keys *k, char *buf)
{
	return fmt(buf, k->prefix, "reaper-lock", "");
}
size_t jq_keys_worker(const struct jq_keys *k, const char *id, char *buf)
{
	return fmt(buf, k->prefix, "worker:", id);
}
size_t jq_keys_worker_jobs(const struct jq_keys *k, const char *id, char *buf)
{
	return fmt(buf, k->prefix, "worker-jobs:", id);
}
size_t jq_keys_schedules(const struct jq_keys *k, char *buf)
{
	return fmt(buf, k->prefix, "schedules", "");
}
size_t jq_keys_schedule_next(const struct jq_keys *k, char *buf)
{
	return fmt(buf, k->prefix, "schedule-next", "");
}
size_t jq_keys_schedule_state(const struct jq_keys *k, char *buf)
{
	return fmt(buf, k->prefix, "schedule-state", "");
}
size_t jq_keys_job_prefix(const struct jq_keys *k, char *buf)
{
	return fmt(buf, k->prefix, "job:", "");
}

int jq_name_valid(const char *name, size_t len)
{
	if (len == 0 || len > JQ_QUEUE_NAME_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == ':' || c == '-'))
			return 0;
	}
	return 1;
}

size_t jq_keys_batch(const struct jq_keys *k, int64_t id, char *buf)
{
	char tail[24];
	snprintf(tail, sizeof(tail), "%" PRId64, id);
	return fmt(buf, k->prefix, "batch:", tail);
}

size_t jq_keys_batch_callback(const struct jq_keys *k, int64_t id, char *buf)
{
	char tail[40];
	snprintf(tail, sizeof(tail), "%" PRId64 ":callback", id);
	return fmt(buf, k->prefix, "batch:", tail);
}

size_t jq_keys_tokens(const struct jq_keys *k, char *buf)
{
	return fmt(buf, k->prefix, "tokens", "");
}

size_t jq_keys_session(const struct jq_keys *k, const char *hash_hex, char *buf)
{
	return fmt(buf, k->prefix, "session:", hash_hex);
}
