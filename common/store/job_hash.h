/* job_hash.h: reading one job's hash (GET /task-status, GET /jobs/{id}, the events' first
 * state), cancelling a job (scripts/cancel.lua), and Redis' liveness (PING). */
#ifndef JQ_STORE_JOB_HASH_H
#define JQ_STORE_JOB_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* The fields a status needs: state, done, total, error, and the number of its last event.
 * (_build: the same call for a
 * caller that sends it itself, libjobq-client's blocking connection; c is initialised.) */
void jq_store_job_state_build(struct jq_call *c, const struct jq_keys *k, int64_t id);
int jq_store_job_state(struct jq_redis *r, const struct jq_keys *k, int64_t id, redisCallbackFn *cb,
		       void *priv);
struct jq_job_state {
	int found;         /* 0: no such job (or its hash expired) */
	const char *state; /* NUL-terminated, in the reply */
	int64_t done, total;
	const char *error; /* "" when none */
	int64_t seq;       /* its last event's number (lib/events.lua) */
};
int jq_store_job_state_reply(const redisReply *r, struct jq_job_state *out, char *err,
			     size_t errlen);

/* Every field of the job's hash: the reply is its name, value pairs, which
 * jq_job_json (job_json.h) renders. */
int jq_store_job_read(struct jq_redis *r, const struct jq_keys *k, int64_t id, redisCallbackFn *cb,
		      void *priv);
void jq_store_job_read_build(struct jq_call *c, const struct jq_keys *k, int64_t id);
/* *found is 0 for an unknown job. */
int jq_store_job_read_reply(const redisReply *r, int *found, char *err, size_t errlen);

struct jq_cancel_args {
	int64_t id;
	int64_t keep_cancelled_ms; /* how long the cancelled job is kept */
};
int jq_store_cancel(struct jq_redis *r, const struct jq_keys *k, const struct jq_cancel_args *a,
		    redisCallbackFn *cb, void *priv);
enum jq_cancel_code {
	JQ_CANCEL_UNKNOWN = 0,   /* no such job */
	JQ_CANCEL_DONE = 1,      /* it was pending or scheduled: cancelled, it never runs */
	JQ_CANCEL_REQUESTED = 2, /* it runs: its worker is told to stop it */
	JQ_CANCEL_FINISHED = 3,  /* it had already ended */
};
int jq_store_cancel_reply(const redisReply *r, char *err, size_t errlen);
/* The same call for a caller that sends it itself. */
void jq_store_cancel_build(struct jq_call *c, const struct jq_keys *k,
			   const struct jq_cancel_args *a);

int jq_store_ping(struct jq_redis *r, redisCallbackFn *cb, void *priv);
/* 1 if Redis answered the PING. */
int jq_store_ping_reply(const redisReply *r);

#endif
