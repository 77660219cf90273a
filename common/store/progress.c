/* progress.c: the progress script's call and answer; see progress.h. */
#include "progress.h"

int jq_store_progress(struct jq_redis *r, const struct jq_keys *k,
		      const struct jq_progress_args *a, redisCallbackFn *cb, void *priv)
{
	struct jq_call c;
	jq_call_init(&c, JQ_SCRIPT_PROGRESS);
	jq_call_key_job(&c, k, a->id);
	jq_call_i64(&c, a->token);
	jq_call_i64(&c, a->done);
	jq_call_i64(&c, a->total);
	/* the queue's events channel: its list key's name and the events suffix */
	char *ch = jq_call_room(&c, JQ_KEY_MAX);
	if (ch)
		jq_call_ref(&c, ch, jq_keys_add_events(ch, jq_keys_queue(k, a->queue, ch)));
	jq_call_i64(&c, a->id);
	return jq_store_send(r, &c, cb, priv);
}

int jq_store_progress_reply(const redisReply *r, char *err, size_t errlen)
{
	int st = jq_store_status(r, err, errlen);
	if (st != JQ_STORE_OK)
		return st;
	if (r->type != REDIS_REPLY_INTEGER || (r->integer != 0 && r->integer != 1))
		return jq_store_malformed("progress", err, errlen);
	return (int)r->integer;
}
