/* requeue.c: the requeue script's call and answer; see requeue.h. */
#include "requeue.h"

int jq_store_requeue(struct jq_redis *r, const struct jq_keys *k, const struct jq_requeue_args *a,
		     redisCallbackFn *cb, void *priv)
{
	struct jq_call c;
	jq_call_init(&c, JQ_SCRIPT_REQUEUE);
	jq_call_key_job(&c, k, a->id);
	jq_call_key_leases(&c, k);
	jq_call_key_queue(&c, k, a->queue);
	jq_call_key_wake(&c, k, a->queue);
	jq_call_key_queue_stats(&c, k, a->queue);
	jq_call_key_type_stats(&c, k, a->queue);
	jq_call_i64(&c, a->id);
	jq_call_i64(&c, a->token);
	jq_call_i64(&c, a->keep_cancelled_ms);
	jq_call_str(&c, k->prefix); /* batch keys are named from it */
	return jq_store_send(r, &c, cb, priv);
}

int jq_store_requeue_reply(const redisReply *r, char *err, size_t errlen)
{
	return (int)jq_store_int_in(r, 0, JQ_REQUEUE_CANCELLED, "requeue", err, errlen);
}
