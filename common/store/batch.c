/* batch.c: the batch_status script's call and answer; see batch.h. */
#include "batch.h"

int jq_store_batch_status(struct jq_redis *r, const struct jq_keys *k, int64_t id,
			  redisCallbackFn *cb, void *priv)
{
	struct jq_call c;
	jq_call_init(&c, JQ_SCRIPT_BATCH_STATUS);
	jq_call_key_batch(&c, k, id);
	jq_call_arg_job_prefix(&c, k); /* its members' ids follow its own */
	jq_call_i64(&c, id);
	return jq_store_send(r, &c, cb, priv);
}

int jq_store_batch_status_reply(const redisReply *r, int *found, struct jq_store_hash *h, char *err,
				size_t errlen)
{
	*found = 0;
	h->n = 0;
	int st = jq_store_status(r, err, errlen);
	if (st != JQ_STORE_OK)
		return st;
	/* the counts come as integers: not a hash of strings, read field by field */
	if (r->type != REDIS_REPLY_ARRAY || r->elements % 2)
		return jq_store_malformed("batch_status", err, errlen);
	for (size_t i = 0; i < r->elements; i += 2)
		if (r->element[i]->type != REDIS_REPLY_STRING)
			return jq_store_malformed("batch_status", err, errlen);
	h->r = r;
	h->n = r->elements / 2;
	*found = h->n > 0;
	return JQ_STORE_OK;
}
