/* reap.c: the reap and promote scripts' calls and answers; see reap.h. */
#include "reap.h"

#include <string.h>

int jq_store_reap(struct jq_redis *r, const struct jq_keys *k, const struct jq_reap_args *a,
		  redisCallbackFn *cb, void *priv)
{
	struct jq_call c;
	jq_call_init(&c, JQ_SCRIPT_REAP);
	jq_call_key_leases(&c, k);
	jq_call_key_workers(&c, k);
	jq_call_key_dead(&c, k);
	jq_call_key_reaper(&c, k);
	jq_call_key_reaper_seen(&c, k);
	jq_call_key_worker_periods(&c, k);
	jq_call_i64(&c, a->beat_ms);
	jq_call_i64(&c, a->dead_after_ms);
	jq_call_str(&c, k->prefix); /* job, queue and worker keys are named from it */
	jq_call_i64(&c, a->max_recoveries);
	jq_call_i64(&c, a->batch);
	jq_call_i64(&c, a->grace_ms);
	jq_call_i64(&c, a->keep_failed_ms);
	jq_call_i64(&c, a->dead_max);
	return jq_store_send(r, &c, cb, priv);
}

int jq_store_reap_reply(const redisReply *r, struct jq_reap_reply *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	int st = jq_store_status(r, err, errlen);
	if (st != JQ_STORE_OK)
		return st;
	if (r->type == REDIS_REPLY_INTEGER && r->integer == -1) {
		out->not_a_turn = 1;
		return JQ_STORE_OK;
	}
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 4)
		return jq_store_malformed("reap", err, errlen);
	out->recovered = jq_store_i64(r->element[0], 0);
	out->poisoned = jq_store_i64(r->element[1], 0);
	out->dead_workers = jq_store_i64(r->element[2], 0);
	out->stall_ms = jq_store_i64(r->element[3], 0);
	return JQ_STORE_OK;
}

int jq_store_promote(struct jq_redis *r, const struct jq_keys *k, const struct jq_promote_args *a,
		     redisCallbackFn *cb, void *priv)
{
	struct jq_call c;
	jq_call_init(&c, JQ_SCRIPT_PROMOTE);
	jq_call_key_scheduled(&c, k);
	jq_call_str(&c, k->prefix); /* job, queue and wake keys are named from it */
	jq_call_i64(&c, a->batch);
	return jq_store_send(r, &c, cb, priv);
}

int jq_store_promote_reply(const redisReply *r, struct jq_promote_reply *out, char *err,
			   size_t errlen)
{
	memset(out, 0, sizeof(*out));
	out->next_ms = -1;
	int st = jq_store_status(r, err, errlen);
	if (st != JQ_STORE_OK)
		return st;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2)
		return jq_store_malformed("promote", err, errlen);
	out->moved = jq_store_i64(r->element[0], 0);
	out->next_ms = jq_store_i64(r->element[1], -1);
	return JQ_STORE_OK;
}
