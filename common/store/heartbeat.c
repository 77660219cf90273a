/* heartbeat.c: the heartbeat script's call and answer; see heartbeat.h. */
#include "heartbeat.h"

#include "util.h"

int jq_store_heartbeat(struct jq_redis *r, const struct jq_keys *k,
		       const struct jq_heartbeat_args *a, redisCallbackFn *cb, void *priv)
{
	struct jq_call c;
	jq_call_init(&c, JQ_SCRIPT_HEARTBEAT);
	jq_call_key_leases(&c, k);
	jq_call_key_workers(&c, k);
	jq_call_key_worker_jobs(&c, k, a->worker);
	jq_call_key_worker(&c, k, a->worker);
	jq_call_key_worker_periods(&c, k);
	jq_call_arg_job_prefix(&c, k);
	jq_call_i64(&c, a->lease_ms);
	jq_call_i64(&c, a->ttl_ms);
	jq_call_str(&c, a->worker);
	jq_call_str(&c, a->info);
	jq_call_i64(&c, a->beat_ms);
	for (size_t i = 0; i < a->njobs; i++)
		jq_call_i64(&c, a->jobs[i]);
	return jq_store_send(r, &c, cb, priv);
}

int jq_store_heartbeat_reply(const redisReply *r, size_t *n, char *err, size_t errlen)
{
	*n = 0;
	int st = jq_store_status(r, err, errlen);
	if (st != JQ_STORE_OK)
		return st;
	if (r->type != REDIS_REPLY_ARRAY)
		return jq_store_malformed("heartbeat", err, errlen);
	*n = r->elements;
	return JQ_STORE_OK;
}

int64_t jq_store_heartbeat_cancel(const redisReply *r, size_t i)
{
	int64_t id;
	const redisReply *e = r->element[i];
	if (e->type == REDIS_REPLY_STRING && jq_parse_i64(e->str, 1, INT64_MAX, &id) == 0)
		return id;
	return 0;
}
