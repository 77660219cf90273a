/* job_hash.c: one job's hash, cancelling it, and PING; see job_hash.h. */
#include "job_hash.h"

#include <string.h>

void jq_store_job_state_build(struct jq_call *c, const struct jq_keys *k, int64_t id)
{
	static const char *const fields[] = {"state", "done", "total", "error", "seq"};
	jq_call_init(c, JQ_CALL_COMMAND);
	jq_call_str(c, "HMGET");
	jq_call_key_job(c, k, id);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		jq_call_ref(c, fields[i], strlen(fields[i]));
}

int jq_store_job_state(struct jq_redis *r, const struct jq_keys *k, int64_t id, redisCallbackFn *cb,
		       void *priv)
{
	struct jq_call c;
	jq_store_job_state_build(&c, k, id);
	return jq_store_send(r, &c, cb, priv);
}

int jq_store_job_state_reply(const redisReply *r, struct jq_job_state *out, char *err,
			     size_t errlen)
{
	memset(out, 0, sizeof(*out));
	out->state = out->error = "";
	int st = jq_store_status(r, err, errlen);
	if (st != JQ_STORE_OK)
		return st;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 5)
		return jq_store_malformed("a job's state", err, errlen);
	size_t len;
	out->found = r->element[0]->type == REDIS_REPLY_STRING;
	out->state = jq_store_str(r->element[0], &len);
	out->done = jq_store_i64(r->element[1], 0);
	out->total = jq_store_i64(r->element[2], 0);
	out->error = jq_store_str(r->element[3], &len);
	out->seq = jq_store_i64(r->element[4], 0); /* absent: no event since the enqueue */
	return JQ_STORE_OK;
}

void jq_store_job_read_build(struct jq_call *c, const struct jq_keys *k, int64_t id)
{
	jq_call_init(c, JQ_CALL_COMMAND);
	jq_call_str(c, "HGETALL");
	jq_call_key_job(c, k, id);
}

int jq_store_job_read(struct jq_redis *r, const struct jq_keys *k, int64_t id, redisCallbackFn *cb,
		      void *priv)
{
	struct jq_call c;
	jq_store_job_read_build(&c, k, id);
	return jq_store_send(r, &c, cb, priv);
}

int jq_store_job_read_reply(const redisReply *r, int *found, char *err, size_t errlen)
{
	*found = 0;
	int st = jq_store_status(r, err, errlen);
	if (st != JQ_STORE_OK)
		return st;
	if (r->type != REDIS_REPLY_ARRAY || r->elements % 2 != 0)
		return jq_store_malformed("a job's hash", err, errlen);
	*found = r->elements > 0;
	return JQ_STORE_OK;
}

void jq_store_cancel_build(struct jq_call *c, const struct jq_keys *k,
			   const struct jq_cancel_args *a)
{
	jq_call_init(c, JQ_SCRIPT_CANCEL);
	jq_call_key_job(c, k, a->id);
	jq_call_key_scheduled(c, k);
	jq_call_i64(c, a->id);
	jq_call_str(c, k->prefix); /* queue, stats, batch and channel names are named from it */
	jq_call_i64(c, a->keep_cancelled_ms);
}

int jq_store_cancel(struct jq_redis *r, const struct jq_keys *k, const struct jq_cancel_args *a,
		    redisCallbackFn *cb, void *priv)
{
	struct jq_call c;
	jq_store_cancel_build(&c, k, a);
	return jq_store_send(r, &c, cb, priv);
}

int jq_store_cancel_reply(const redisReply *r, char *err, size_t errlen)
{
	return (int)jq_store_int_in(r, 0, JQ_CANCEL_FINISHED, "cancel", err, errlen);
}

int jq_store_ping(struct jq_redis *r, redisCallbackFn *cb, void *priv)
{
	struct jq_call c;
	jq_call_init(&c, JQ_CALL_COMMAND);
	jq_call_str(&c, "PING");
	return jq_store_send(r, &c, cb, priv);
}

int jq_store_ping_reply(const redisReply *r)
{
	return r && r->type == REDIS_REPLY_STATUS;
}
