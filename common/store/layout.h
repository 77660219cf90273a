/* layout.h: whether the keys under the prefix are of the layout this jobq writes. The
 * cluster layout (docs/cluster.md) renamed keys: a broker or worker that finds data of
 * the layout before it refuses to run on it (docs/redis.md, "Upgrading") instead of
 * leaving those jobs unseen and dropping their queued ids. */
#ifndef JQ_STORE_LAYOUT_H
#define JQ_STORE_LAYOUT_H

#include "keys.h"
#include "store.h"

/* Asks whether a key only the earlier layout writes exists (its id counter, <p>ids:
 * every deployment that stored a job has it). */
int jq_store_layout_check(struct jq_redis *r, const struct jq_keys *k, redisCallbackFn *cb,
			  void *priv);
/* 0: no data of the earlier layout. 1: there is; msg says what was found and what to do
 * (start on an empty prefix or flush), the refusal to log. JQ_STORE_LOST / JQ_STORE_ERROR:
 * no answer (msg says why). */
int jq_store_layout_reply(const redisReply *r, const struct jq_keys *k, char *msg, size_t len);

#endif
