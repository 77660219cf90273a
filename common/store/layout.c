/* layout.c: finding keys of the earlier layout; see layout.h. */
#include "layout.h"

#include <stdio.h>

int jq_store_layout_check(struct jq_redis *r, const struct jq_keys *k, redisCallbackFn *cb,
			  void *priv)
{
	struct jq_call c;
	jq_call_init(&c, JQ_CALL_COMMAND);
	jq_call_str(&c, "EXISTS");
	jq_call_key_legacy_ids(&c, k); /* one key: one slot on a cluster */
	return jq_store_send(r, &c, cb, priv);
}

int jq_store_layout_reply(const redisReply *r, const struct jq_keys *k, char *msg, size_t len)
{
	int64_t n = jq_store_int_in(r, 0, 1, "EXISTS of the earlier layout's id counter", msg, len);
	if (n != 1)
		return (int)n;
	char old[JQ_KEY_MAX];
	jq_keys_legacy_ids(k, old);
	snprintf(msg, len,
		 "found '%s': this prefix holds data of jobq's earlier key layout, which this "
		 "version does not read (its keys carry hash tags for Redis Cluster); start on "
		 "an empty prefix (--prefix) or database, or drain the old deployment and flush "
		 "it (docs/redis.md, Upgrading)",
		 old);
	return 1;
}
