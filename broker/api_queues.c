/* api_queues.c: GET /queues[/{name}], pause and resume, rate limits (docs/api.md). */
#include <event2/buffer.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "broker.h"
#include "reply.h"
#include "routes.h"
#include "redis.h"
#include "http.h"
#include "job.h"
#include "util.h"
#include "store/queues.h"

/* ---- queues ---- */

static const char *const queue_counters[] = {"scheduled", "running",   "completed", "failed",
					     "retried",   "cancelled", "recovered", "enqueued"};
#define N_QUEUE_COUNTERS (sizeof(queue_counters) / sizeof(queue_counters[0]))

#define RATE_LIMIT_MAX 1000000
#define RATE_INTERVAL_MS_MAX (24LL * 3600 * 1000)

/* One queue as shown. */
static json_t *queue_json(const struct jq_queue_info *qi)
{
	json_t *q = json_pack("{s:s,s:I,s:b}", "name", qi->name, "pending", (json_int_t)qi->pending,
			      "paused", qi->paused);
	for (size_t i = 0; i < N_QUEUE_COUNTERS; i++) {
		int64_t v = jq_store_hash_i64(&qi->stats, queue_counters[i], 0);
		/* gauges kept by increments: never show a transient negative */
		json_object_set_new(q, queue_counters[i], json_integer(v < 0 ? 0 : v));
	}
	json_object_set_new(q, "rate_limit",
			    qi->has_rate_limit
				    ? json_pack("{s:I,s:I,s:I}", "limit", (json_int_t)qi->limit,
						"interval_ms", (json_int_t)qi->interval_ms, "used",
						(json_int_t)qi->used)
				    : json_null());
	return q;
}

static void on_queues(redisAsyncContext *ac, void *reply, void *priv)
{
	struct jq_pending *o = priv;
	size_t n;
	char err[256];
	struct jq_queue_info qi;
	if (jq_store_queues_reply(reply, &n, err, sizeof(err)) != JQ_STORE_OK) {
		jq_reply_unavailable(o->req);
	} else if (o->name[0]) {
		if (n == 0) {
			jq_reply_error(o->req, 404, "not_found", "no queue '%s'", o->name);
		} else {
			jq_store_queue_at(reply, 0, &qi);
			jq_reply_json(o->req, 200, queue_json(&qi));
		}
	} else {
		json_t *list = json_array();
		for (size_t i = 0; i < n; i++) {
			jq_store_queue_at(reply, i, &qi);
			json_array_append_new(list, queue_json(&qi));
		}
		jq_reply_json(o->req, 200, json_pack("{s:o}", "queues", list));
	}
	jq_pending_free(o);
}

static void queues_call(struct jq_pending *o, redisCallbackFn *cb)
{
	jq_pending_sent(o, jq_store_queues(o->b->redis, &o->b->keys, o->name, cb, o));
}

void jq_api_queues(struct jq_broker *b, struct jq_http_req *req, const char *arg)
{
	struct jq_pending *o = jq_pending_new(b, req, 0);
	if (o)
		queues_call(o, on_queues);
}

static int take_queue_name(struct jq_http_req *req, const char *s, size_t n, char *out)
{
	if (!jq_name_valid(s, n)) {
		jq_reply_error(req, 400, "invalid_argument", "'%.*s' is not a valid queue name",
			       (int)(n > 64 ? 64 : n), s);
		return -1;
	}
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

void jq_api_queue(struct jq_broker *b, struct jq_http_req *req, const char *arg)
{
	char name[JQ_QUEUE_NAME_MAX + 1];
	if (take_queue_name(req, arg, strlen(arg), name) != 0)
		return;
	struct jq_pending *o = jq_pending_new(b, req, 0);
	if (!o)
		return;
	strcpy(o->name, name);
	queues_call(o, on_queues);
}

/* POST /queues/{name}/pause and /resume: SADD/SREM the paused set (and remember the
 * name), in one MULTI; a resume also wakes a worker for what waited meanwhile. */
static void on_queue_action(redisAsyncContext *ac, void *reply, void *priv)
{
	struct jq_pending *o = priv;
	char err[256];
	if (jq_store_exec_reply(reply, err, sizeof(err)) != JQ_STORE_OK)
		jq_reply_unavailable(o->req);
	else
		jq_reply_json(o->req, 200,
			      json_pack("{s:s,s:b}", "name", o->name, "paused", o->flag));
	jq_pending_free(o);
}

void jq_api_queue_action(struct jq_broker *b, struct jq_http_req *req, const char *arg)
{
	const char *slash = strchr(arg, '/');
	int pause;
	if (slash && strcmp(slash, "/pause") == 0)
		pause = 1;
	else if (slash && strcmp(slash, "/resume") == 0)
		pause = 0;
	else {
		jq_reply_error(req, 404, "not_found", "use POST /queues/{name}/pause or /resume");
		return;
	}
	char name[JQ_QUEUE_NAME_MAX + 1];
	if (take_queue_name(req, arg, (size_t)(slash - arg), name) != 0)
		return;
	struct jq_pending *o = jq_pending_new(b, req, 0);
	if (!o)
		return;
	strcpy(o->name, name);
	o->flag = pause;
	jq_pending_sent(o,
			jq_store_queue_pause(b->redis, &b->keys, name, pause, on_queue_action, o));
}

/* PUT /queues/{name}/rate-limit {"limit": N, "interval_ms": M} and DELETE: HSET/HDEL the
 * rate-limits hash (and remember the name), in one MULTI; both wake a worker, so jobs the
 * old limit held back start at once if the new one allows. */
static void on_rate_limit(redisAsyncContext *ac, void *reply, void *priv)
{
	struct jq_pending *o = priv;
	char err[256];
	if (jq_store_exec_reply(reply, err, sizeof(err)) != JQ_STORE_OK)
		jq_reply_unavailable(o->req);
	else if (o->flag)
		jq_reply_json(o->req, 200,
			      json_pack("{s:s,s:{s:I,s:I}}", "name", o->name, "rate_limit", "limit",
					(json_int_t)o->id, "interval_ms", (json_int_t)o->arg));
	else
		jq_reply_json(o->req, 200, json_pack("{s:s,s:n}", "name", o->name, "rate_limit"));
	jq_pending_free(o);
}

/* The body of PUT .../rate-limit: 0 with *limit and *interval_ms, or -1 after a 400. */
static int rate_limit_body(struct jq_http_req *req, int64_t *limit, int64_t *interval_ms)
{
	size_t len;
	const char *text = jq_http_body(req, &len);
	json_error_t jerr;
	json_t *v = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!v) {
		jq_reply_error(req, 400, "invalid_json", "body is not valid JSON: %s", jerr.text);
		return -1;
	}
	json_t *l = json_object_get(v, "limit"), *i = json_object_get(v, "interval_ms");
	int rc = -1;
	if (!json_is_object(v) || json_object_size(v) != 2 || !json_is_integer(l) ||
	    !json_is_integer(i) || json_integer_value(l) < 1 ||
	    json_integer_value(l) > RATE_LIMIT_MAX || json_integer_value(i) < 1 ||
	    json_integer_value(i) > RATE_INTERVAL_MS_MAX) {
		jq_reply_error(req, 400, "invalid_argument",
			       "the body must be {\"limit\": 1..%d, \"interval_ms\": 1..%lld}",
			       RATE_LIMIT_MAX, (long long)RATE_INTERVAL_MS_MAX);
	} else {
		*limit = json_integer_value(l);
		*interval_ms = json_integer_value(i);
		rc = 0;
	}
	json_decref(v);
	return rc;
}

static void queue_rate_limit(struct jq_broker *b, struct jq_http_req *req, const char *name,
			     int set)
{
	int64_t limit = 0, interval_ms = 0;
	if (set && rate_limit_body(req, &limit, &interval_ms) != 0)
		return;
	struct jq_pending *o = jq_pending_new(b, req, 0);
	if (!o)
		return;
	strcpy(o->name, name);
	o->flag = set;
	o->id = limit;
	o->arg = interval_ms;
	jq_pending_sent(o, jq_store_queue_rate_limit(b->redis, &b->keys, name, set ? limit : 0,
						     interval_ms, on_rate_limit, o));
}

void jq_api_queue_rate_limit(struct jq_broker *b, struct jq_http_req *req, const char *arg)
{
	const char *slash = strchr(arg, '/');
	if (!slash || strcmp(slash, "/rate-limit") != 0) {
		/* this route takes every PUT and DELETE under /queues/: answer for the others
		 * what the router would (GET /queues/{name}, POST .../pause and .../resume) */
		const char *allow = !slash ? "GET"
				    : strcmp(slash, "/pause") == 0 || strcmp(slash, "/resume") == 0
					    ? "POST"
					    : NULL;
		if (allow) {
			jq_http_add_header(req, "Allow", allow);
			jq_reply_error(req, 405, "method_not_allowed",
				       "method not allowed on '/queues/%.64s'", arg);
		} else {
			jq_reply_error(req, 404, "not_found",
				       "use PUT or DELETE /queues/{name}/rate-limit");
		}
		return;
	}
	char name[JQ_QUEUE_NAME_MAX + 1];
	if (take_queue_name(req, arg, (size_t)(slash - arg), name) != 0)
		return;
	queue_rate_limit(b, req, name, jq_http_method(req) == JQ_HTTP_PUT);
}
