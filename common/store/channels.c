/* channels.c: events channels and subscriptions; see channels.h. */
#include "channels.h"

#include <string.h>

size_t jq_store_job_channel(const struct jq_keys *k, int64_t id, char *buf)
{
	return jq_keys_add_events(buf, jq_keys_job(k, id, buf));
}

size_t jq_store_queue_channel(const struct jq_keys *k, const char *q, char *buf)
{
	/* a queue's channel is named after its list of priority 0 */
	return jq_keys_add_events(buf, jq_keys_queue(k, q, buf));
}

static int pubsub(struct jq_redis *r, const char *cmd, const char *channel, redisCallbackFn *cb,
		  void *priv)
{
	struct jq_call c;
	jq_call_init(&c, JQ_CALL_COMMAND);
	jq_call_str(&c, cmd);
	jq_call_str(&c, channel);
	return jq_store_send(r, &c, cb, priv);
}

int jq_store_subscribe(struct jq_redis *r, const char *channel, redisCallbackFn *cb, void *priv)
{
	return pubsub(r, "SUBSCRIBE", channel, cb, priv);
}

int jq_store_unsubscribe(struct jq_redis *r, const char *channel)
{
	return pubsub(r, "UNSUBSCRIBE", channel, NULL, NULL);
}

int jq_store_pubsub_reply(const redisReply *r, enum jq_pubsub_kind *kind, const char **data,
			  size_t *len)
{
	*kind = JQ_PUBSUB_OTHER;
	*data = "";
	*len = 0;
	if (!r)
		return JQ_STORE_LOST;
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 ||
	    r->element[0]->type != REDIS_REPLY_STRING)
		return JQ_STORE_OK;
	const char *what = r->element[0]->str;
	if (strcmp(what, "subscribe") == 0) {
		*kind = JQ_PUBSUB_SUBSCRIBED;
	} else if (strcmp(what, "unsubscribe") == 0) {
		*kind = JQ_PUBSUB_UNSUBSCRIBED;
	} else if (strcmp(what, "message") == 0 && r->element[2]->type == REDIS_REPLY_STRING) {
		*kind = JQ_PUBSUB_MESSAGE;
		*data = r->element[2]->str;
		*len = r->element[2]->len;
	}
	return JQ_STORE_OK;
}
