/* reap.h: give back the jobs of dead workers and of expired leases (scripts/reap.lua: a
 * stall of Redis is told from dead workers by the gaps between the reapers' calls), and
 * promote due scheduled jobs into their queues (scripts/promote.lua). Every worker runs
 * both; any number at once. */
#ifndef JQ_STORE_REAP_H
#define JQ_STORE_REAP_H

#include <stdint.h>

#include "store.h"

struct jq_reap_args {
	int64_t beat_ms;        /* the caller's heartbeat period: a turn is one beat apart */
	int64_t dead_after_ms;  /* a worker is dead when its last beat is this old */
	int64_t grace_ms;       /* after a stall, nobody is declared dead for this long */
	int64_t max_recoveries; /* recoveries of one job before it is failed as poison */
	int64_t batch;          /* most expired leases looked at per call */
	int64_t keep_failed_ms, dead_max;
};
int jq_store_reap(struct jq_redis *r, const struct jq_keys *k, const struct jq_reap_args *a,
		  redisCallbackFn *cb, void *priv);
struct jq_reap_reply {
	int not_a_turn; /* another call was less than a beat ago: nothing done */
	int64_t recovered, poisoned, dead_workers;
	int64_t stall_ms; /* > 0: this call found a stall (no call for so long, or a
				    restarted Redis): the grace starts now */
};
int jq_store_reap_reply(const redisReply *r, struct jq_reap_reply *out, char *err, size_t errlen);

struct jq_promote_args {
	int64_t batch; /* most jobs moved per call */
};
int jq_store_promote(struct jq_redis *r, const struct jq_keys *k, const struct jq_promote_args *a,
		     redisCallbackFn *cb, void *priv);
struct jq_promote_reply {
	int64_t moved;
	int64_t next_ms; /* until the next scheduled job is due (Redis' clock), -1: none */
};
int jq_store_promote_reply(const redisReply *r, struct jq_promote_reply *out, char *err,
			   size_t errlen);

#endif
