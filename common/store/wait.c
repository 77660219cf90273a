/* wait.c: WAIT's call and answer; see wait.h. */
#include "wait.h"

void jq_store_wait_build(struct jq_call *c, int64_t replicas, int64_t timeout_ms)
{
	jq_call_init(c, JQ_CALL_COMMAND);
	jq_call_str(c, "WAIT");
	jq_call_i64(c, replicas);
	jq_call_i64(c, timeout_ms);
}

int jq_store_wait(struct jq_redis *r, int64_t replicas, int64_t timeout_ms, redisCallbackFn *cb,
		  void *priv)
{
	/* not a plain call: on a cluster it goes to every master written to */
	return jq_redis_wait(r, replicas, timeout_ms, cb, priv);
}

int64_t jq_store_wait_reply(const redisReply *r, char *err, size_t errlen)
{
	return jq_store_int_in(r, 0, INT64_MAX, "WAIT", err, errlen);
}
