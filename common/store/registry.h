/* registry.h: the workers' registry beyond the heartbeat (heartbeat.h): the live workers
 * for GET /workers (scripts/workers.lua), a worker leaving it at a clean exit, and the
 * cancel channel a worker listens on. */
#ifndef JQ_STORE_REGISTRY_H
#define JQ_STORE_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* Workers whose last beat is at most max_age_ms old. */
int jq_store_workers(struct jq_redis *r, const struct jq_keys *k, int64_t max_age_ms,
		     redisCallbackFn *cb, void *priv);
struct jq_worker_entry {
	const char *id; /* NUL-terminated, in the reply */
	int64_t last_beat_ms;
	const char *info; /* its JSON, NUL-terminated */
	size_t info_len;
};
/* *n workers; jq_store_worker_at(r, i, &e) the i-th. */
int jq_store_workers_reply(const redisReply *r, size_t *n, char *err, size_t errlen);
void jq_store_worker_at(const redisReply *r, size_t i, struct jq_worker_entry *e);

/* Takes worker id out of the registry (its entry, info and job set) in one MULTI; the
 * callback gets EXEC's answer. */
int jq_store_deregister(struct jq_redis *r, const struct jq_keys *k, const char *id,
			redisCallbackFn *cb, void *priv);

/* SUBSCRIBE to the cancel channel (on a connection kept for it): cb gets the
 * confirmation, then every message; jq_store_cancel_message reads the id in one. */
int jq_store_subscribe_cancel(struct jq_redis *r, const struct jq_keys *k, redisCallbackFn *cb,
			      void *priv);
/* The id a cancel message names, or 0 if the reply is not such a message. */
int64_t jq_store_cancel_message(const redisReply *r);

#endif
