/* queues.c: queue snapshots, pause/resume, rate limits and metrics; see queues.h. */
#include "queues.h"

#include <string.h>

#include "util.h"

#define QUEUE_FIELDS 5 /* per queue in queues.lua's answer */

int jq_store_queues(struct jq_redis *r, const struct jq_keys *k, const char *name,
		    redisCallbackFn *cb, void *priv)
{
	struct jq_call c;
	jq_call_init(&c, JQ_SCRIPT_QUEUES);
	jq_call_key_queues(&c, k);
	jq_call_key_paused(&c, k);
	jq_call_key_rate_limits(&c, k);
	jq_call_str(&c, k->prefix); /* each queue's keys are named from it and its name */
	jq_call_str(&c, name ? name : "");
	return jq_store_send(r, &c, cb, priv);
}

int jq_store_queues_reply(const redisReply *r, size_t *n, char *err, size_t errlen)
{
	*n = 0;
	int st = jq_store_status(r, err, errlen);
	if (st != JQ_STORE_OK)
		return st;
	if (r->type != REDIS_REPLY_ARRAY || r->elements % QUEUE_FIELDS)
		return jq_store_malformed("queues", err, errlen);
	for (size_t i = 0; i < r->elements; i += QUEUE_FIELDS) {
		struct jq_store_hash h;
		if (r->element[i]->type != REDIS_REPLY_STRING ||
		    r->element[i + 1]->type != REDIS_REPLY_INTEGER ||
		    r->element[i + 2]->type != REDIS_REPLY_INTEGER ||
		    jq_store_hash_init(&h, r->element[i + 3]) != 0 ||
		    r->element[i + 4]->type != REDIS_REPLY_ARRAY)
			return jq_store_malformed("queues", err, errlen);
	}
	*n = r->elements / QUEUE_FIELDS;
	return JQ_STORE_OK;
}

void jq_store_queue_at(const redisReply *r, size_t i, struct jq_queue_info *q)
{
	redisReply *const *e = r->element + QUEUE_FIELDS * i;
	memset(q, 0, sizeof(*q));
	q->name = e[0]->str;
	q->pending = e[1]->integer;
	q->paused = e[2]->integer != 0;
	jq_store_hash_init(&q->stats, e[3]);
	if (e[4]->elements == 3) {
		q->has_rate_limit = 1;
		q->limit = jq_store_i64(e[4]->element[0], 0);
		q->interval_ms = jq_store_i64(e[4]->element[1], 0);
		q->used = jq_store_i64(e[4]->element[2], 0);
	}
}

static void command(struct jq_call *c, const char *name)
{
	jq_call_init(c, JQ_CALL_COMMAND);
	jq_call_str(c, name);
}

int jq_store_queue_pause(struct jq_redis *r, const struct jq_keys *k, const char *name, int pause,
			 redisCallbackFn *cb, void *priv)
{
	struct jq_call c[3];
	int n = 0;
	command(&c[n], pause ? "SADD" : "SREM");
	jq_call_key_paused(&c[n], k);
	jq_call_str(&c[n++], name);
	if (!pause) {
		command(&c[n], "LPUSH");
		jq_call_key_wake(&c[n], k, name);
		jq_call_str(&c[n++], "1");
	}
	command(&c[n], "SADD"); /* remember the name */
	jq_call_key_queues(&c[n], k);
	jq_call_str(&c[n++], name);
	return jq_store_multi(r, c, n, cb, priv);
}

int jq_store_queue_rate_limit(struct jq_redis *r, const struct jq_keys *k, const char *name,
			      int64_t limit, int64_t interval_ms, redisCallbackFn *cb, void *priv)
{
	struct jq_call c[4];
	int n = 0;
	if (limit > 0) {
		command(&c[n], "HSET");
		jq_call_key_rate_limits(&c[n], k);
		jq_call_str(&c[n], name);
		char *v = jq_call_room(&c[n], 48);
		if (v) {
			size_t len = (size_t)jq_fmt_i64(v, limit);
			v[len++] = ':';
			len += (size_t)jq_fmt_i64(v + len, interval_ms);
			jq_call_ref(&c[n], v, len);
		}
		n++;
	} else {
		command(&c[n], "HDEL");
		jq_call_key_rate_limits(&c[n], k);
		jq_call_str(&c[n++], name);
		/* and the starts counted so far: a new limit starts from an empty window */
		command(&c[n], "DEL");
		jq_call_key_rate(&c[n++], k, name);
	}
	command(&c[n], "SADD");
	jq_call_key_queues(&c[n], k);
	jq_call_str(&c[n++], name);
	command(&c[n], "LPUSH");
	jq_call_key_wake(&c[n], k, name);
	jq_call_str(&c[n++], "1");
	return jq_store_multi(r, c, n, cb, priv);
}

int jq_store_exec_reply(const redisReply *r, char *err, size_t errlen)
{
	int st = jq_store_status(r, err, errlen);
	if (st != JQ_STORE_OK)
		return st;
	if (r->type != REDIS_REPLY_ARRAY)
		return jq_store_malformed("a transaction", err, errlen);
	return JQ_STORE_OK;
}

int jq_store_metrics(struct jq_redis *r, const struct jq_keys *k, int64_t max_queues,
		     redisCallbackFn *cb, void *priv)
{
	struct jq_call c;
	jq_call_init(&c, JQ_SCRIPT_METRICS);
	jq_call_key_queues(&c, k);
	jq_call_key_worker_redis_errors(&c, k);
	jq_call_str(&c, k->prefix); /* type stats keys are named from it and the queue */
	jq_call_i64(&c, max_queues);
	return jq_store_send(r, &c, cb, priv);
}

int jq_store_metrics_reply(const redisReply *r, struct jq_metrics_reply *out, char *err,
			   size_t errlen)
{
	memset(out, 0, sizeof(*out));
	int st = jq_store_status(r, err, errlen);
	if (st != JQ_STORE_OK)
		return st;
	if (r->type != REDIS_REPLY_ARRAY || r->elements % 2 != 1 ||
	    jq_store_hash_init(&out->errors, r->element[0]) != 0)
		return jq_store_malformed("metrics", err, errlen);
	for (size_t i = 1; i < r->elements; i += 2) {
		struct jq_store_hash h;
		if (r->element[i]->type != REDIS_REPLY_STRING ||
		    jq_store_hash_init(&h, r->element[i + 1]) != 0)
			return jq_store_malformed("metrics", err, errlen);
	}
	out->r = r;
	out->nqueues = r->elements / 2;
	return JQ_STORE_OK;
}

const char *jq_store_metrics_queue(const struct jq_metrics_reply *m, size_t i,
				   struct jq_store_hash *stats)
{
	jq_store_hash_init(stats, m->r->element[2 + 2 * i]);
	return m->r->element[1 + 2 * i]->str;
}

int jq_store_dead_count(struct jq_redis *r, const struct jq_keys *k, redisCallbackFn *cb,
			void *priv)
{
	struct jq_call c;
	jq_call_init(&c, JQ_CALL_COMMAND);
	jq_call_str(&c, "ZCARD");
	jq_call_key_dead(&c, k);
	return jq_store_send(r, &c, cb, priv);
}

int64_t jq_store_dead_count_reply(const redisReply *r, char *err, size_t errlen)
{
	return jq_store_int_in(r, 0, INT64_MAX, "the dead set's size", err, errlen);
}
