/* heartbeat.h: a worker says it is alive and renews the leases of all its jobs in one step
 * (scripts/heartbeat.lua). */
#ifndef JQ_STORE_HEARTBEAT_H
#define JQ_STORE_HEARTBEAT_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct jq_heartbeat_args {
	const char *worker; /* its id */
	const char *info;   /* JSON shown by GET /workers */
	int64_t lease_ms;   /* each lease's new deadline: Redis' clock plus this */
	int64_t ttl_ms;     /* life of the worker's info and job set without a beat */
	int64_t beat_ms;    /* its beat period: the reaper judges it by this */
	size_t njobs;
	const int64_t *jobs; /* the ids it holds */
};
int jq_store_heartbeat(struct jq_redis *r, const struct jq_keys *k,
		       const struct jq_heartbeat_args *a, redisCallbackFn *cb, void *priv);
/* The reply: the ids among the worker's jobs whose cancellation was asked for. *n of
 * them; jq_store_heartbeat_cancel(r, i) is the i-th (0 if not an id). */
int jq_store_heartbeat_reply(const redisReply *r, size_t *n, char *err, size_t errlen);
int64_t jq_store_heartbeat_cancel(const redisReply *r, size_t i);

#endif
