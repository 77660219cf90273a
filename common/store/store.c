/* store.c: sending a built call, and what every decoder shares; see store.h. */
#include "store.h"

#include <stdio.h>
#include <string.h>

int jq_store_send(struct jq_redis *r, struct jq_call *c, redisCallbackFn *cb, void *priv)
{
	int rc = -1;
	if (!c->err) {
		if (c->script == JQ_CALL_COMMAND)
			rc = jq_redis_command(r, cb, priv, c->first_key, c->argc, c->argv, c->lens);
		else
			rc = jq_redis_eval(r, (enum jq_script_id)c->script, cb, priv, c->nkeys,
					   c->argc - c->nkeys, c->argv, c->lens);
	}
	jq_call_release(c);
	return rc;
}

int jq_store_multi(struct jq_redis *r, struct jq_call *calls, int n, redisCallbackFn *cb,
		   void *priv)
{
	struct jq_call c;
	jq_call_init(&c, JQ_CALL_COMMAND);
	jq_call_str(&c, "MULTI");
	/* on a cluster the group goes to the node of its first call's key */
	const struct jq_call *k = n > 0 ? &calls[0] : NULL;
	int routed = k && k->first_key >= 0 && !k->err;
	if ((routed && jq_redis_route(r, k->argv[k->first_key], k->lens[k->first_key]) != 0) ||
	    jq_store_send(r, &c, NULL, NULL) != 0) {
		jq_call_release(&c);
		if (routed)
			jq_redis_route(r, NULL, 0);
		for (int i = 0; i < n; i++)
			jq_call_release(&calls[i]);
		return -1;
	}
	int rc = 0;
	for (int i = 0; i < n; i++)
		rc |= jq_store_send(r, &calls[i], NULL, NULL);
	jq_call_init(&c, JQ_CALL_COMMAND);
	jq_call_str(&c, rc == 0 ? "EXEC" : "DISCARD");
	rc = jq_store_send(r, &c, cb, priv);
	if (routed)
		jq_redis_route(r, NULL, 0);
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

int64_t jq_store_int_in(const redisReply *r, int64_t lo, int64_t hi, const char *what, char *err,
			size_t errlen)
{
	int st = jq_store_status(r, err, errlen);
	if (st != JQ_STORE_OK)
		return st;
	if (r->type != REDIS_REPLY_INTEGER || r->integer < lo || r->integer > hi)
		return jq_store_malformed(what, err, errlen);
	return r->integer;
}

int jq_store_malformed(const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "unexpected reply to %s", what);
	return JQ_STORE_ERROR;
}

int64_t jq_store_i64(const redisReply *r, int64_t dflt)
{
	return jq_redis_reply_i64(r, dflt);
}

const char *jq_store_str(const redisReply *r, size_t *len)
{
	if (r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS)) {
		*len = r->len;
		return r->str;
	}
	*len = 0;
	return "";
}

int jq_store_hash_init(struct jq_store_hash *h, const redisReply *r)
{
	h->n = 0;
	h->r = r;
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements % 2)
		return -1;
	for (size_t i = 0; i < r->elements; i++)
		if (r->element[i]->type != REDIS_REPLY_STRING)
			return -1;
	h->n = r->elements / 2;
	return 0;
}

const char *jq_store_hash_field(const struct jq_store_hash *h, size_t i, int64_t *value)
{
	*value = jq_store_i64(h->r->element[2 * i + 1], 0);
	return h->r->element[2 * i]->str;
}

int64_t jq_store_hash_i64(const struct jq_store_hash *h, const char *name, int64_t dflt)
{
	for (size_t i = 0; i < h->n; i++)
		if (strcmp(h->r->element[2 * i]->str, name) == 0)
			return jq_store_i64(h->r->element[2 * i + 1], dflt);
	return dflt;
}
