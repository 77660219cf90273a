/* channels.h: the pub/sub channels jobs' and queues' events are published on by the
 * scripts (docs/redis.md, Events), and following them on a subscriber connection. */
#ifndef JQ_STORE_CHANNELS_H
#define JQ_STORE_CHANNELS_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* The events channel of job id, or of queue q, into buf (JQ_KEY_MAX bytes); its length. */
size_t jq_store_job_channel(const struct jq_keys *k, int64_t id, char *buf);
size_t jq_store_queue_channel(const struct jq_keys *k, const char *q, char *buf);

/* SUBSCRIBE: cb gets the confirmation, then every message, then the confirmation of the
 * UNSUBSCRIBE; a NULL reply when the connection drops. */
int jq_store_subscribe(struct jq_redis *r, const char *channel, redisCallbackFn *cb, void *priv);
int jq_store_unsubscribe(struct jq_redis *r, const char *channel);

enum jq_pubsub_kind {
	JQ_PUBSUB_OTHER,
	JQ_PUBSUB_SUBSCRIBED,
	JQ_PUBSUB_UNSUBSCRIBED,
	JQ_PUBSUB_MESSAGE,
};
/* What a reply on a subscription says; a message's text in *data (*len bytes, in the
 * reply). JQ_STORE_LOST for a NULL reply. */
int jq_store_pubsub_reply(const redisReply *r, enum jq_pubsub_kind *kind, const char **data,
			  size_t *len);

#endif
