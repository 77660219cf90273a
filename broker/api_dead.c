/* api_dead.c: the dead-letter set: GET /dead, POST /dead/{id}/retry, DELETE /dead. */
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "log.h"
#include "util.h"

#define DEAD_LIST_DEFAULT 100
#define DEAD_LIST_MAX 1000

/* Runs dead.lua with the given action arguments; cb gets a struct jq_pending. */
static void dead_call(struct jq_broker *b, struct jq_http_req *req, int64_t id,
		      redisCallbackFn *cb, int nargs, const char **args)
{
	struct jq_pending *d = jq_pending_new(b, req, id);
	if (!d)
		return;
	char kdead[JQ_KEY_MAX];
	jq_keys_dead(&b->keys, kdead);
	const char *argv[8] = {kdead};
	for (int i = 0; i < nargs && i < 6; i++)
		argv[1 + i] = args[i];
	if (jq_redis_eval(b->redis, JQ_SCRIPT_DEAD, cb, d, 1, nargs, argv, NULL) != 0) {
		jq_pending_free(d);
		jq_reply_unavailable(req);
	}
}

static void on_list(redisAsyncContext *ac, void *reply, void *priv)
{
	struct jq_pending *d = priv;
	redisReply *r = reply;
	if (!r || r->type != REDIS_REPLY_ARRAY) {
		jq_reply_unavailable(d->req);
		jq_pending_free(d);
		return;
	}
	json_t *jobs = json_array();
	for (size_t i = 0; i + 5 < r->elements; i += 6) {
		char when[32];
		jq_format_rfc3339(jq_redis_reply_i64(r->element[i + 1], 0), when);
		json_array_append_new(
		    jobs, json_pack("{s:I,s:s,s:s%,s:s%,s:I,s:s%}", "id",
				    (json_int_t)jq_redis_reply_i64(r->element[i], 0), "failed_at", when,
				    "type",
				    r->element[i + 2]->str, r->element[i + 2]->len, "queue",
				    r->element[i + 3]->str, r->element[i + 3]->len, "attempts",
				    (json_int_t)jq_redis_reply_i64(r->element[i + 4], 0), "error",
				    r->element[i + 5]->str, r->element[i + 5]->len));
	}
	jq_reply_json(d->req, 200, json_pack("{s:o}", "jobs", jobs));
	jq_pending_free(d);
}

void jq_api_dead_list(struct jq_broker *b, struct jq_http_req *req, const char *arg)
{
	struct evkeyvalq q;
	if (jq_request_query(req, &q) != 0)
		return;
	int64_t limit = DEAD_LIST_DEFAULT, offset = 0;
	const char *l = evhttp_find_header(&q, "limit"), *o = evhttp_find_header(&q, "offset");
	int bad = (l && jq_parse_i64(l, 1, DEAD_LIST_MAX, &limit) != 0) ||
		  (o && jq_parse_i64(o, 0, 1000000000, &offset) != 0);
	evhttp_clear_headers(&q);
	if (bad) {
		jq_reply_error(req, 400, "invalid_argument",
			       "'limit' must be 1 to %d and 'offset' a non-negative integer",
			       DEAD_LIST_MAX);
		return;
	}
	char soff[24], slim[24];
	snprintf(soff, sizeof(soff), "%" PRId64, offset);
	snprintf(slim, sizeof(slim), "%" PRId64, limit);
	const char *args[] = {"list", b->keys.prefix, soff, slim};
	dead_call(b, req, 0, on_list, 4, args);
}

static void on_retry(redisAsyncContext *ac, void *reply, void *priv)
{
	struct jq_pending *d = priv;
	redisReply *r = reply;
	int64_t holder;
	if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
	    jq_redis_reply_i64(r->element[0], 0) == -2 &&
	    (holder = jq_redis_reply_i64(r->element[1], 0)) > 0) {
		char msg[160];
		snprintf(msg, sizeof(msg),
			 "job %" PRId64 "'s unique_key is held by job %" PRId64
			 " (pending, scheduled or running); it stays in the dead set",
			 d->id, holder);
		jq_reply_key_held(d->req, holder, -1, msg);
	} else if (!r || r->type != REDIS_REPLY_INTEGER)
		jq_reply_unavailable(d->req);
	else if (r->integer == 1)
		jq_reply_json(d->req, 200,
			      json_pack("{s:I,s:s}", "id", (json_int_t)d->id, "state", "pending"));
	else if (r->integer == 0)
		jq_reply_error(d->req, 404, "not_found", "job %" PRId64 " is not in the dead set",
			       d->id);
	else
		jq_reply_error(d->req, 410, "gone", "job %" PRId64 " has expired", d->id);
	jq_pending_free(d);
}

/* POST /dead/{id}/retry: the route passes "{id}/retry". */
void jq_api_dead_retry(struct jq_broker *b, struct jq_http_req *req, const char *arg)
{
	const char *slash = strchr(arg, '/');
	int64_t id;
	if (!slash || strcmp(slash, "/retry") != 0 ||
	    jq_parse_i64n(arg, (size_t)(slash - arg), 1, INT64_MAX, &id) != 0) {
		jq_reply_error(req, 404, "not_found", "use POST /dead/{id}/retry");
		return;
	}
	char sid[24];
	snprintf(sid, sizeof(sid), "%" PRId64, id);
	const char *args[] = {"retry", b->keys.prefix, sid};
	dead_call(b, req, id, on_retry, 3, args);
}

static void on_purge(redisAsyncContext *ac, void *reply, void *priv)
{
	struct jq_pending *d = priv;
	redisReply *r = reply;
	if (!r || r->type != REDIS_REPLY_INTEGER)
		jq_reply_unavailable(d->req);
	else
		jq_reply_json(d->req, 200, json_pack("{s:I}", "purged", (json_int_t)r->integer));
	jq_pending_free(d);
}

void jq_api_dead_purge(struct jq_broker *b, struct jq_http_req *req, const char *arg)
{
	const char *args[] = {"purge", b->keys.prefix};
	dead_call(b, req, 0, on_purge, 2, args);
}
