/* enqueue.c: sending the enqueue script and reading its answer; reserving ids; see
 * enqueue.h. */
#include "enqueue.h"

#include <string.h>

#include "util.h"

int jq_store_enqueue(struct jq_redis *r, const struct jq_enqueue_args *a, redisCallbackFn *cb,
		     void *priv)
{
	/* the builder's arrays go out as they are: a bulk call holds ~4 arguments a job */
	return jq_redis_eval(r, JQ_SCRIPT_ENQUEUE, cb, priv, a->nkeys, a->nargs, a->argv, a->lens);
}

void jq_store_enqueue_build(struct jq_call *c, const struct jq_enqueue_args *a)
{
	jq_call_init(c, JQ_SCRIPT_ENQUEUE);
	for (int i = 0; i < a->nkeys; i++)
		jq_call_key(c, a->argv[i], a->lens[i]);
	for (int i = a->nkeys; i < a->nkeys + a->nargs; i++)
		jq_call_ref(c, a->argv[i], a->lens[i]);
}

/* What a repeated Idempotency-Key stored first (enqueue.lua): "<id>",
 * "bulk:<first id>:<n>" or "batch:<batch id>:<n>". */
static int parse_repeat(const char *what, struct jq_enqueue_reply *out)
{
	const char *p = NULL, *colon;
	out->n = 1;
	if (strncmp(what, "bulk:", 5) == 0) {
		out->kind = JQ_ENQUEUED_BULK;
		p = what + 5;
	} else if (strncmp(what, "batch:", 6) == 0) {
		out->kind = JQ_ENQUEUED_BATCH;
		p = what + 6;
	} else {
		out->kind = JQ_ENQUEUED_ONE;
		return jq_parse_i64(what, 1, INT64_MAX, &out->first_id);
	}
	if (!(colon = strchr(p, ':')) ||
	    jq_parse_i64n(p, (size_t)(colon - p), 1, INT64_MAX, &out->first_id) != 0 ||
	    jq_parse_i64(colon + 1, 1, INT64_MAX, &out->n) != 0)
		return -1;
	return 0;
}

int jq_store_enqueue_reply(const redisReply *r, size_t n, struct jq_enqueue_reply *out, char *err,
			   size_t errlen)
{
	memset(out, 0, sizeof(*out));
	int st = jq_store_status(r, err, errlen);
	if (st != JQ_STORE_OK)
		return st;
	int64_t id;
	if (r->type == REDIS_REPLY_INTEGER && (size_t)r->integer == n) {
		out->result = JQ_ENQUEUE_STORED;
		return JQ_STORE_OK;
	}
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
	    r->element[0]->type == REDIS_REPLY_STRING &&
	    strcmp(r->element[0]->str, "unique") == 0 &&
	    r->element[1]->type == REDIS_REPLY_STRING &&
	    r->element[2]->type == REDIS_REPLY_INTEGER &&
	    jq_parse_i64(r->element[1]->str, 1, INT64_MAX, &id) == 0) {
		out->result = JQ_ENQUEUE_KEY_HELD;
		out->holder = id;
		out->index = r->element[2]->integer;
		return JQ_STORE_OK;
	}
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
	    r->element[0]->type == REDIS_REPLY_STRING &&
	    r->element[1]->type == REDIS_REPLY_STRING &&
	    parse_repeat(r->element[0]->str, out) == 0) {
		out->result = JQ_ENQUEUE_REPEATED;
		out->state = r->element[1]->str;
		return JQ_STORE_OK;
	}
	return jq_store_malformed("enqueue", err, errlen);
}

void jq_store_reserve_ids_build(struct jq_call *c, const struct jq_keys *k, int64_t n)
{
	jq_call_init(c, JQ_CALL_COMMAND);
	jq_call_str(c, "INCRBY");
	jq_call_key_ids(c, k);
	jq_call_i64(c, n);
}

int jq_store_reserve_ids(struct jq_redis *r, const struct jq_keys *k, int64_t n,
			 redisCallbackFn *cb, void *priv)
{
	struct jq_call c;
	jq_store_reserve_ids_build(&c, k, n);
	return jq_store_send(r, &c, cb, priv);
}

int64_t jq_store_reserve_ids_reply(const redisReply *r, char *err, size_t errlen)
{
	return jq_store_int_in(r, 1, INT64_MAX, "INCRBY of the id counter", err, errlen);
}
