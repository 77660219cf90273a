/* progress.c: the progress script's call and answer; see progress.h. */
#include "progress.h"

int jq_store_progress(struct jq_redis *r, const struct jq_keys *k, const struct jq_progress_args *a,
		      redisCallbackFn *cb, void *priv)
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
	return (int)jq_store_int_in(r, 0, 1, "progress", err, errlen);
}
