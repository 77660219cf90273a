/* store.c: sending a built call, and what every decoder shares; see store.h. */
#include "store.h"

#include <stdio.h>

int jq_store_send(struct jq_redis *r, struct jq_call *c, redisCallbackFn *cb, void *priv)
{
	int rc = -1;
	if (!c->err) {
		if (c->script == JQ_CALL_COMMAND)
			rc = jq_redis_command(r, cb, priv, c->argc, c->argv, c->lens);
		else
			rc = jq_redis_eval(r, (enum jq_script_id)c->script, cb, priv, c->nkeys,
					   c->argc - c->nkeys, c->argv, c->lens);
	}
	jq_call_release(c);
	return rc;
}

int jq_store_status(const redisReply *r, char *err, size_t errlen)
{
	if (!r) {
		snprintf(err, errlen, "the connection to redis dropped");
		return JQ_STORE_LOST;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		snprintf(err, errlen, "%s", r->str);
		return JQ_STORE_ERROR;
	}
	return JQ_STORE_OK;
}

int jq_store_malformed(const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "unexpected reply to %s", what);
	return JQ_STORE_ERROR;
}

int64_t jq_store_i64(const redisReply *r, int64_t dflt) { return jq_redis_reply_i64(r, dflt); }

const char *jq_store_str(const redisReply *r, size_t *len)
{
	if (r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS)) {
		*len = r->len;
		return r->str;
	}
	*len = 0;
	return "";
}
