/* registry.c: the workers' registry and the cancel channel; see registry.h. */
#include "registry.h"

#include <string.h>

#include "util.h"

int jq_store_workers(struct jq_redis *r, const struct jq_keys *k, int64_t max_age_ms,
		     redisCallbackFn *cb, void *priv)
{
	struct jq_call c;
	jq_call_init(&c, JQ_SCRIPT_WORKERS);
	jq_call_key_workers(&c, k);
	jq_call_str(&c, k->prefix); /* info keys are named from it */
	jq_call_i64(&c, max_age_ms);
	return jq_store_send(r, &c, cb, priv);
}

int jq_store_workers_reply(const redisReply *r, size_t *n, char *err, size_t errlen)
{
	*n = 0;
	int st = jq_store_status(r, err, errlen);
	if (st != JQ_STORE_OK)
		return st;
	if (r->type != REDIS_REPLY_ARRAY || r->elements % 3 != 0)
		return jq_store_malformed("workers", err, errlen);
	for (size_t i = 0; i < r->elements; i++)
		if (r->element[i]->type != REDIS_REPLY_STRING &&
		    r->element[i]->type != REDIS_REPLY_INTEGER)
			return jq_store_malformed("workers", err, errlen);
	*n = r->elements / 3;
	return JQ_STORE_OK;
}

void jq_store_worker_at(const redisReply *r, size_t i, struct jq_worker_entry *e)
{
	redisReply *const *f = r->element + 3 * i;
	size_t len;
	e->id = f[0]->type == REDIS_REPLY_STRING ? f[0]->str : "";
	e->last_beat_ms = jq_store_i64(f[1], 0);
	e->info = jq_store_str(f[2], &len);
	e->info_len = len;
}

int jq_store_deregister(struct jq_redis *r, const struct jq_keys *k, const char *id,
			redisCallbackFn *cb, void *priv)
{
	struct jq_call c[3];
	jq_call_init(&c[0], JQ_CALL_COMMAND);
	jq_call_str(&c[0], "ZREM");
	jq_call_key_workers(&c[0], k);
	jq_call_str(&c[0], id);
	jq_call_init(&c[1], JQ_CALL_COMMAND);
	jq_call_str(&c[1], "DEL");
	jq_call_key_worker(&c[1], k, id);
	jq_call_key_worker_jobs(&c[1], k, id);
	jq_call_init(&c[2], JQ_CALL_COMMAND);
	jq_call_str(&c[2], "HDEL");
	jq_call_key_worker_periods(&c[2], k);
	jq_call_str(&c[2], id);
	return jq_store_multi(r, c, 3, cb, priv);
}

int jq_store_subscribe_cancel(struct jq_redis *r, const struct jq_keys *k, redisCallbackFn *cb,
			      void *priv)
{
	struct jq_call c;
	jq_call_init(&c, JQ_CALL_COMMAND);
	jq_call_str(&c, "SUBSCRIBE");
	jq_call_arg_cancel_channel(&c, k);
	return jq_store_send(r, &c, cb, priv);
}

int64_t jq_store_cancel_message(const redisReply *r)
{
	int64_t id;
	if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
	    r->element[0]->type == REDIS_REPLY_STRING &&
	    strcmp(r->element[0]->str, "message") == 0 &&
	    r->element[2]->type == REDIS_REPLY_STRING &&
	    jq_parse_i64(r->element[2]->str, 1, INT64_MAX, &id) == 0)
		return id;
	return 0;
}
