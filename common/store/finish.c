/* finish.c: the finish script's call and answer; see finish.h. */
#include "finish.h"

int jq_store_finish(struct jq_redis *r, const struct jq_keys *k, const struct jq_finish_args *a,
		    redisCallbackFn *cb, void *priv)
{
	static const char *const kinds[] = {"completed", "failed", "fatal", "cancelled"};
	struct jq_call c;
	jq_call_init(&c, JQ_SCRIPT_FINISH);
	jq_call_key_leases(&c, k);
	jq_call_key_dead(&c, k);
	jq_call_key_scheduled(&c, k);
	jq_call_key_stats(&c, k);
	for (size_t i = 0; i < a->n; i++)
		jq_call_key_job(&c, k, a->outcomes[i].id);
	jq_call_i64(&c, a->keep_completed_ms);
	jq_call_i64(&c, a->keep_failed_ms);
	jq_call_i64(&c, a->dead_max);
	jq_call_str(&c, k->prefix); /* queue stats and batch keys are named from it */
	for (size_t i = 0; i < a->n; i++) {
		const struct jq_outcome *o = &a->outcomes[i];
		jq_call_i64(&c, o->id);
		jq_call_i64(&c, o->token);
		jq_call_str(&c, kinds[o->kind]);
		jq_call_str(&c, o->text);
		jq_call_i64(&c, o->retry_delay_ms);
		jq_call_str(&c, o->queue);
	}
	return jq_store_send(r, &c, cb, priv);
}

int jq_store_finish_reply(const redisReply *r, size_t n, size_t i, char *err, size_t errlen)
{
	int st = jq_store_status(r, err, errlen);
	if (st != JQ_STORE_OK)
		return st;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != n ||
	    r->element[i]->type != REDIS_REPLY_INTEGER || r->element[i]->integer < 0 ||
	    r->element[i]->integer > JQ_FINISH_CANCELLED)
		return jq_store_malformed("finish", err, errlen);
	return (int)r->element[i]->integer;
}
