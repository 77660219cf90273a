/* wait.h: WAIT, how many replicas have the writes sent before on a connection: after an
 * enqueue (the broker's and libjobq-client's --min-replicas-ack) and after a worker's
 * outcome writes (jobq-worker --min-replicas-ack). */
#ifndef JQ_STORE_WAIT_H
#define JQ_STORE_WAIT_H

#include <stdint.h>

#include "store.h"

/* WAIT: blocks the connection until replicas replicas have every write sent on it before,
 * or timeout_ms passed; the reply is how many did (jq_store_wait_reply). On a cluster:
 * every master written to, the fewest (jq_redis_wait); the callback's ac is NULL there. */
int jq_store_wait(struct jq_redis *r, int64_t replicas, int64_t timeout_ms, redisCallbackFn *cb,
		  void *priv);
/* The same call for a caller that sends it itself (libjobq-client). */
void jq_store_wait_build(struct jq_call *c, int64_t replicas, int64_t timeout_ms);
/* The replicas that confirmed, or JQ_STORE_LOST / JQ_STORE_ERROR. */
int64_t jq_store_wait_reply(const redisReply *r, char *err, size_t errlen);

#endif
