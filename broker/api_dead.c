/* api_dead.c: the dead-letter set: GET /dead, POST /dead/{id}/retry, DELETE /dead. */
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/http.h>
#include <jansson.h>
#include <event2/keyvalq_struct.h>

#include "broker.h"
#include "reply.h"
#include "routes.h"
#include "redis.h"
#include "http.h"
#include "store/jobs.h"
#include "log.h"
#include "util.h"

#define DEAD_LIST_DEFAULT 100
#define DEAD_LIST_MAX 1000

/* After a store call for d: on failure to send (rc != 0), answers 503 and frees d. */
static void dead_sent(struct jq_pending *d, int rc)
{
	if (rc != 0) {
		jq_reply_unavailable(d->req);
		jq_pending_free(d);
	}
}

static void on_list(redisAsyncContext *ac, void *reply, void *priv)
{
	struct jq_pending *d = priv;
	size_t n;
	char err[256];
	if (jq_store_dead_list_reply(reply, &n, err, sizeof(err)) != JQ_STORE_OK) {
		jq_reply_unavailable(d->req);
		jq_pending_free(d);
		return;
	}
	json_t *jobs = json_array();
	for (size_t i = 0; i < n; i++) {
		struct jq_dead_entry e;
		jq_store_dead_entry(reply, i, &e);
		char when[32];
		jq_format_rfc3339(e.failed_at_ms, when);
		json_array_append_new(
			jobs, json_pack("{s:I,s:s,s:s%,s:s%,s:I,s:s%}", "id", (json_int_t)e.id,
					"failed_at", when, "type", e.type, e.type_len, "queue",
					e.queue, e.queue_len, "attempts", (json_int_t)e.attempts,
					"error", e.error, e.error_len));
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
	struct jq_pending *d = jq_pending_new(b, req, 0);
	if (d)
		dead_sent(d, jq_store_dead_list(b->redis, &b->keys, offset, limit, on_list, d));
}

static void on_retry(redisAsyncContext *ac, void *reply, void *priv)
{
	struct jq_pending *d = priv;
	int64_t holder;
	char err[256];
	int code = jq_store_dead_retry_reply(reply, &holder, err, sizeof(err));
	if (code == JQ_RETRY_KEY_HELD) {
		char msg[160];
		snprintf(msg, sizeof(msg),
			 "job %" PRId64 "'s unique_key is held by job %" PRId64
			 " (pending, scheduled or running); it stays in the dead set",
			 d->id, holder);
		jq_reply_key_held(d->req, holder, -1, msg);
	} else if (code == JQ_STORE_LOST || code == JQ_STORE_ERROR)
		jq_reply_unavailable(d->req);
	else if (code == JQ_RETRY_DONE)
		jq_reply_json(d->req, 200,
			      json_pack("{s:I,s:s}", "id", (json_int_t)d->id, "state", "pending"));
	else if (code == JQ_RETRY_NOT_DEAD)
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
	struct jq_pending *d = jq_pending_new(b, req, id);
	if (d)
		dead_sent(d, jq_store_dead_retry(b->redis, &b->keys, id, on_retry, d));
}

static void on_purge(redisAsyncContext *ac, void *reply, void *priv)
{
	struct jq_pending *d = priv;
	char err[256];
	int64_t n = jq_store_dead_purge_reply(reply, err, sizeof(err));
	if (n < 0)
		jq_reply_unavailable(d->req);
	else
		jq_reply_json(d->req, 200, json_pack("{s:I}", "purged", (json_int_t)n));
	jq_pending_free(d);
}

void jq_api_dead_purge(struct jq_broker *b, struct jq_http_req *req, const char *arg)
{
	struct jq_pending *d = jq_pending_new(b, req, 0);
	if (d)
		dead_sent(d, jq_store_dead_purge(b->redis, &b->keys, on_purge, d));
}
