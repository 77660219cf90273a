/* api.c: the HTTP handlers of docs/api.md (seed-compatible and native). */
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/http.h>
#include <jansson.h>

#include "broker.h"
#include "reply.h"
#include "enqueue.h"
#include "routes.h"
#include "redis.h"
#include "http.h"
#include "job.h"
#include "codec.h"
#include "job_json.h"
#include "json_mp.h"
#include "log.h"
#include "store/job_hash.h"
#include "util.h"

#define SEED_DEFAULT_DURATION 10
#define SEED_MAX_DURATION 86400
#define CONTENT_MAX (64 * 1024)
#define NOTIFICATION_MESSAGE "Notification sent in the background"

static int parse_id(struct jq_http_req *req, const char *s, int64_t *id)
{
	if (jq_parse_i64(s, 1, INT64_MAX, id) != 0) {
		jq_reply_error(req, 400, "invalid_argument", "id '%.64s' is not a positive integer",
			       s);
		return -1;
	}
	return 0;
}

/* Parses the id in arg and sends read (a store function about one job) with cb, which
 * answers the request. Bad id: 400; no Redis: 503. */
static void read_job(struct jq_broker *b, struct jq_http_req *req, const char *arg,
		     int (*read)(struct jq_redis *, const struct jq_keys *, int64_t,
				 redisCallbackFn *, void *),
		     redisCallbackFn *cb)
{
	int64_t id;
	if (parse_id(req, arg, &id) != 0)
		return;
	if (!jq_redis_ctx(b->redis)) {
		jq_reply_unavailable(req);
		return;
	}
	struct jq_pending *p = jq_pending_new(b, req, id);
	if (p && read(b->redis, &b->keys, id, cb, p) != 0) {
		jq_reply_unavailable(req);
		jq_pending_free(p);
	}
}

/* The seed endpoints take their parameters in the query only, as the seed did: a body
 * (JSON or other) is refused, never silently ignored. 0, or -1 after answering 400. */
static int query_only(struct jq_http_req *req, const char *route, const char *params)
{
	size_t len = 0;
	jq_http_body(req, &len);
	if (len == 0)
		return 0;
	jq_reply_error(req, 400, "invalid_argument",
		       "POST %s takes no body: give its parameters in the query (%s), as the "
		       "seed service did; POST /jobs takes a JSON job",
		       route, params);
	return -1;
}

/* ---- POST /start-task?duration=N ---- */

/* A one-job array for jq_broker_enqueue, initialised; NULL when out of memory. */
static struct jq_job_spec *spec_new(struct jq_http_req *req)
{
	struct jq_job_spec *s = malloc(sizeof(*s));
	if (!s)
		jq_reply_error(req, 503, "out_of_memory", "the broker is out of memory");
	else
		jq_job_spec_init(s);
	return s;
}

static void spec_free(struct jq_job_spec *s)
{
	jq_job_spec_release(s);
	free(s);
}

/* Stores the one job spec with opts (its idempotency key read) once the request's
 * traceparent checks out; else answers 400 and frees spec. */
static void enqueue_one(struct jq_broker *b, struct jq_http_req *req, struct jq_job_spec *spec,
			struct jq_enqueue_opts *opts, jq_enqueue_reply_fn *reply)
{
	if (jq_request_traceparent(req, &opts->traceparent) != 0) {
		spec_free(spec);
		return;
	}
	jq_broker_enqueue(b, req, spec, 1, opts, reply);
}

static void on_task_status(redisAsyncContext *ac, void *reply, void *priv);

static void start_task_reply(struct jq_broker *b, struct jq_http_req *req, int64_t id, size_t n,
			     const struct jq_job_spec *specs, const char *dup_state)
{
	if (dup_state) {
		/* a repeated Idempotency-Key: the task's status now ("progress: 2/5",
		 * "completed"...), read as GET /task-status/{id} reads it */
		struct jq_pending *p = jq_pending_new(b, req, id);
		if (p && jq_store_job_state(b->redis, &b->keys, id, on_task_status, p) != 0) {
			jq_reply_unavailable(req);
			jq_pending_free(p);
		}
		return;
	}
	char text[64]; /* fixed shape, no JSON library on the hot path */
	int len = snprintf(text, sizeof(text), "{\"task_id\":%" PRId64 ",\"status\":\"pending\"}",
			   id);
	jq_reply_text(req, 200, text, (size_t)len);
}

void jq_api_start_task(struct jq_broker *b, struct jq_http_req *req, const char *arg)
{
	struct jq_enqueue_opts opts;
	if (query_only(req, "/start-task", "?duration=N") != 0 ||
	    jq_request_idempotency_key(req, &opts.idempotency_key) != 0)
		return;
	struct evkeyvalq q;
	if (jq_request_query(req, &q) != 0)
		return;
	int64_t duration = SEED_DEFAULT_DURATION;
	const char *d = evhttp_find_header(&q, "duration");
	if (d && jq_parse_i64(d, 0, SEED_MAX_DURATION, &duration) != 0) {
		jq_reply_error(req, 400, "invalid_argument",
			       "'duration' must be an integer from 0 to %d seconds",
			       SEED_MAX_DURATION);
		evhttp_clear_headers(&q);
		return;
	}
	evhttp_clear_headers(&q);
	struct jq_job_spec *spec = spec_new(req);
	if (!spec)
		return;
	strcpy(spec->type, "progress");
	json_t *payload = json_pack("{s:I}", "duration", (json_int_t)duration);
	char err[128];
	jq_payload_from_json(&spec->payload, payload, err, sizeof(err));
	json_decref(payload);
	enqueue_one(b, req, spec, &opts, start_task_reply);
}

/* ---- GET /task-status/{id} ---- */

static void on_task_status(redisAsyncContext *ac, void *reply, void *priv)
{
	struct jq_pending *p = priv;
	struct jq_job_state js;
	char err[256];
	if (jq_store_job_state_reply(reply, &js, err, sizeof(err)) != JQ_STORE_OK) {
		jq_reply_unavailable(p->req);
		jq_pending_free(p);
		return;
	}
	char status[600];
	if (!js.found)
		snprintf(status, sizeof(status), "not_found");
	else
		jq_job_status(status, sizeof(status), js.state, js.done, js.total, js.error);
	/* {"task_id":N,"status":"..."} by hand: json_pack + json_dumps cost as much as the
	 * rest of the request (callgrind) */
	char text[sizeof(status) * 6 + 64];
	size_t len = (size_t)snprintf(text, sizeof(text), "{\"task_id\":%" PRId64 ",\"status\":\"",
				      p->id);
	size_t slen = strlen(status);
	char *clean = jq_utf8_valid(status, slen) ? NULL : jq_utf8_sanitize(status, slen, &slen);
	len = jq_json_escape(text, len, sizeof(text) - 3, clean ? clean : status);
	free(clean);
	memcpy(text + len, "\"}", 3);
	jq_reply_text(p->req, 200, text, len + 2);
	jq_pending_free(p);
}

void jq_api_task_status(struct jq_broker *b, struct jq_http_req *req, const char *arg)
{
	read_job(b, req, arg, jq_store_job_state, on_task_status);
}

/* ---- POST /send-notification[-sync]?email=&content= ---- */

static void notification_reply(struct jq_broker *b, struct jq_http_req *req, int64_t id, size_t n,
			       const struct jq_job_spec *specs, const char *dup_state)
{
	jq_reply_json(
		req, 200,
		json_pack("{s:s,s:I}", "message", NOTIFICATION_MESSAGE, "task_id", (json_int_t)id));
}

static void send_notification(struct jq_broker *b, struct jq_http_req *req, int sync)
{
	struct jq_enqueue_opts opts;
	if (query_only(req, sync ? "/send-notification-sync" : "/send-notification",
		       "?email=a@b.c&content=text") != 0 ||
	    jq_request_idempotency_key(req, &opts.idempotency_key) != 0)
		return;
	struct evkeyvalq q;
	if (jq_request_query(req, &q) != 0)
		return;
	const char *email = evhttp_find_header(&q, "email");
	const char *content = evhttp_find_header(&q, "content");
	if (!email || !jq_email_valid(email)) {
		jq_reply_error(req, 400, "invalid_argument",
			       email ? "'email' is not a valid address" : "'email' is required");
		goto done;
	}
	if (!content) {
		jq_reply_error(req, 400, "invalid_argument", "'content' is required");
		goto done;
	}
	size_t clen = strlen(content);
	if (clen > CONTENT_MAX || !jq_utf8_valid(content, clen)) {
		jq_reply_error(req, 400, "invalid_argument",
			       "'content' must be valid UTF-8 of at most %d bytes", CONTENT_MAX);
		goto done;
	}
	struct jq_job_spec *spec = spec_new(req);
	if (!spec)
		goto done;
	strcpy(spec->type, "email");
	json_t *payload = json_pack("{s:s,s:s,s:s,s:b}", "to", email, "subject", "Notification",
				    "body", content, "sync", sync);
	char err[128];
	if (!payload || jq_payload_from_json(&spec->payload, payload, err, sizeof(err)) != 0) {
		json_decref(payload);
		spec_free(spec);
		jq_reply_error(req, 400, "invalid_argument", "'content' is not valid text");
		goto done;
	}
	json_decref(payload);
	enqueue_one(b, req, spec, &opts, notification_reply);
done:
	evhttp_clear_headers(&q);
}

void jq_api_send_notification(struct jq_broker *b, struct jq_http_req *req, const char *arg)
{
	send_notification(b, req, 0);
}

void jq_api_send_notification_sync(struct jq_broker *b, struct jq_http_req *req, const char *arg)
{
	send_notification(b, req, 1);
}

/* ---- POST /jobs ---- */

static void post_job_reply(struct jq_broker *b, struct jq_http_req *req, int64_t id, size_t n,
			   const struct jq_job_spec *specs, const char *dup_state)
{
	char text[96]; /* fixed shape, no JSON library on the hot path */
	/* a repeated Idempotency-Key answers 200 with the first job and its state now */
	const char *state = dup_state ? dup_state : jq_spec_initial_state(&specs[0]);
	if (strlen(state) > 32)
		state = "unknown";
	int len = snprintf(text, sizeof(text), "{\"id\":%" PRId64 ",\"state\":\"%s\"}", id, state);
	jq_reply_text(req, dup_state ? 200 : 201, text, (size_t)len);
}

static void bulk_reply(struct jq_broker *b, struct jq_http_req *req, int64_t first, size_t n,
		       const struct jq_job_spec *specs, const char *dup_state)
{
	/* {"ids":[first,...]} written directly: a JSON tree of 1,000 integers cost a tenth
	 * of a bulk request's instructions */
	char *text = malloc(16 + n * 21);
	if (!text) {
		jq_reply_error(req, 503, "out_of_memory", "the broker is out of memory");
		return;
	}
	memcpy(text, "{\"ids\":[", 8);
	size_t len = 8;
	for (size_t i = 0; i < n; i++) {
		if (i)
			text[len++] = ',';
		len += jq_fmt_i64(text + len, first + (int64_t)i);
	}
	memcpy(text + len, "]}", 2);
	/* a repeated Idempotency-Key: 200 with the ids the first request stored */
	jq_reply_text(req, dup_state ? 200 : 201, text, len + 2);
	free(text);
}

/* The JSON body as msgpack (json_mp.h: no JSON tree on the enqueue paths). outer: the
 * levels around the payloads (1: a job object, 2: an array of them), which may then nest
 * JQ_CODEC_MAX_DEPTH deep. 0, or -1 after answering 400 or 415. */
static int request_msgpack(struct jq_http_req *req, int outer, msgpack_sbuffer *out)
{
	msgpack_sbuffer_init(out);
	if (jq_request_is_json(req) != 0)
		return -1;
	size_t len;
	const char *body = jq_http_body(req, &len);
	char err[160];
	int rc = jq_json_to_msgpack(body, len, outer + JQ_CODEC_MAX_DEPTH, out, err, sizeof(err));
	if (rc == 0)
		return 0;
	if (rc == -2)
		jq_reply_error(req, 400, "invalid_argument",
			       "JSON value nested deeper than %d in a job (%s)", JQ_CODEC_MAX_DEPTH,
			       err);
	else
		jq_reply_error(req, 400, "invalid_json", "body is not valid JSON: %s", err);
	msgpack_sbuffer_destroy(out);
	return -1;
}

void jq_api_post_job(struct jq_broker *b, struct jq_http_req *req, const char *arg)
{
	struct jq_enqueue_opts opts;
	if (jq_request_idempotency_key(req, &opts.idempotency_key) != 0)
		return;
	struct jq_job_spec *spec = spec_new(req);
	if (!spec)
		return;
	char err[256];
	if (jq_content_type_is(jq_http_header(req, "Content-Type"), "application/msgpack")) {
		size_t len;
		const char *body = jq_http_body(req, &len);
		if (jq_job_spec_from_msgpack(spec, body, len, err, sizeof(err)) != 0) {
			jq_reply_error(req, 400, "invalid_argument", "%s", err);
			goto fail;
		}
	} else {
		msgpack_sbuffer mp;
		if (request_msgpack(req, 1, &mp) != 0)
			goto fail;
		int rc = jq_job_spec_from_packed_json(spec, mp.data, mp.size, err, sizeof(err));
		msgpack_sbuffer_destroy(&mp);
		if (rc != 0) {
			jq_reply_error(req, 400, "invalid_argument", "%s", err);
			goto fail;
		}
	}
	enqueue_one(b, req, spec, &opts, post_job_reply);
	return;
fail:
	spec_free(spec);
}

/* ---- POST /jobs/bulk ---- */

/* 0 if no two of specs[0..n-1] share a unique_key, else answers 400 naming both. */
static int bulk_unique_keys_distinct(struct jq_http_req *req, const struct jq_job_spec *specs,
				     size_t n)
{
	json_t *seen = json_object(); /* unique_key -> index: a hash table at hand */
	int rc = seen ? 0 : -1;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (!specs[i].unique_key[0])
			continue;
		json_t *prev = json_object_get(seen, specs[i].unique_key);
		if (prev) {
			jq_reply_error(req, 400, "invalid_argument",
				       "jobs %" JSON_INTEGER_FORMAT
				       " and %zu have the same unique_key",
				       json_integer_value(prev), i);
			rc = -1;
		} else if (json_object_set_new(seen, specs[i].unique_key,
					       json_integer((json_int_t)i)) != 0) {
			rc = -2;
		}
	}
	if (!seen || rc == -2) {
		jq_reply_error(req, 503, "out_of_memory", "the broker is out of memory");
		rc = -1;
	}
	json_decref(seen);
	return rc;
}

static void specs_free(struct jq_job_spec *specs, size_t n)
{
	for (size_t k = 0; k < n; k++)
		jq_job_spec_release(&specs[k]);
	free(specs);
}

void jq_api_post_jobs_bulk(struct jq_broker *b, struct jq_http_req *req, const char *arg)
{
	struct jq_enqueue_opts opts;
	if (jq_request_idempotency_key(req, &opts.idempotency_key) != 0)
		return;
	msgpack_sbuffer mp;
	if (request_msgpack(req, 2, &mp) != 0)
		return;
	size_t n;
	long bad;
	char err[256];
	struct jq_job_spec *specs = jq_job_specs_from_packed_json(mp.data, mp.size, JQ_BULK_MAX, &n,
								  &bad, err, sizeof(err));
	msgpack_sbuffer_destroy(&mp);
	if (!specs && bad == -2)
		jq_reply_error(req, 503, "out_of_memory", "the broker is out of memory");
	else if (!specs && bad < 0)
		jq_reply_error(req, 400, "invalid_argument",
			       "the body must be a JSON array of 1 to %d jobs", JQ_BULK_MAX);
	else if (!specs)
		jq_reply_error(req, 400, "invalid_argument", "job %ld: %s", bad, err);
	else if (bulk_unique_keys_distinct(req, specs, n) != 0 ||
		 jq_request_traceparent(req, &opts.traceparent) != 0)
		specs_free(specs, n);
	else
		jq_broker_enqueue_bulk(b, req, specs, n, &opts, bulk_reply);
}

struct jq_job_spec *jq_specs_from_json(struct jq_http_req *req, const json_t *arr, const char *what,
				       size_t *nout)
{
	size_t n = json_is_array(arr) ? json_array_size(arr) : 0;
	if (n == 0 || n > JQ_BULK_MAX) {
		jq_reply_error(req, 400, "invalid_argument",
			       "%s must be a JSON array of 1 to %d jobs", what, JQ_BULK_MAX);
		return NULL;
	}
	struct jq_job_spec *specs = calloc(n, sizeof(*specs));
	if (!specs) {
		jq_reply_error(req, 503, "out_of_memory", "the broker is out of memory");
		return NULL;
	}
	size_t i = 0;
	for (; i < n; i++) {
		char err[256];
		jq_job_spec_init(&specs[i]);
		if (jq_job_spec_from_json(&specs[i], json_array_get(arr, i), err, sizeof(err)) !=
		    0) {
			jq_reply_error(req, 400, "invalid_argument", "job %zu: %s", i, err);
			break;
		}
	}
	if (i < n) { /* one bad job refuses the whole request: nothing is stored */
		specs_free(specs, i + 1);
		return NULL;
	}
	/* two jobs of one request with the same unique_key: refused as a whole, before Redis */
	if (bulk_unique_keys_distinct(req, specs, n) != 0) {
		specs_free(specs, n);
		return NULL;
	}
	*nout = n;
	return specs;
}

/* ---- GET /jobs/{id} ---- */

static void on_get_job(redisAsyncContext *ac, void *reply, void *priv)
{
	struct jq_pending *p = priv;
	int found;
	char err[256];
	if (jq_store_job_read_reply(reply, &found, err, sizeof(err)) != JQ_STORE_OK)
		jq_reply_unavailable(p->req);
	else if (!found)
		jq_reply_error(p->req, 404, "not_found", "job %" PRId64 " not found", p->id);
	else
		jq_reply_json(p->req, 200, jq_job_json(p->id, reply));
	jq_pending_free(p);
}

void jq_api_get_job(struct jq_broker *b, struct jq_http_req *req, const char *arg)
{
	read_job(b, req, arg, jq_store_job_read, on_get_job);
}

/* ---- GET /healthz ---- */

static void on_ping(redisAsyncContext *ac, void *reply, void *priv)
{
	struct jq_pending *p = priv;
	if (jq_store_ping_reply(reply))
		jq_reply_json(p->req, 200, json_pack("{s:s,s:s}", "status", "ok", "redis", "ok"));
	else
		jq_reply_unavailable(p->req);
	jq_pending_free(p);
}

void jq_api_healthz(struct jq_broker *b, struct jq_http_req *req, const char *arg)
{
	if (!jq_redis_ctx(b->redis)) {
		jq_reply_unavailable(req);
		return;
	}
	struct jq_pending *p = jq_pending_new(b, req, 0);
	if (p && jq_store_ping(b->redis, on_ping, p) != 0) {
		jq_reply_unavailable(req);
		jq_pending_free(p);
	}
}

/* ---- DELETE /jobs/{id} ---- */

static void on_cancel(redisAsyncContext *ac, void *reply, void *priv)
{
	struct jq_pending *o = priv;
	char err[256];
	json_int_t id = (json_int_t)o->id;
	int code = jq_store_cancel_reply(reply, err, sizeof(err));
	if (code < 0)
		jq_reply_unavailable(o->req);
	else if (code == JQ_CANCEL_DONE)
		jq_reply_json(o->req, 200, json_pack("{s:I,s:s}", "id", id, "state", "cancelled"));
	else if (code == JQ_CANCEL_REQUESTED)
		jq_reply_json(o->req, 202,
			      json_pack("{s:I,s:s,s:b}", "id", id, "state", "running",
					"cancel_requested", 1));
	else if (code == JQ_CANCEL_FINISHED)
		jq_reply_error(o->req, 409, "conflict", "job %" PRId64 " has already finished",
			       o->id);
	else
		jq_reply_error(o->req, 404, "not_found", "job %" PRId64 " not found", o->id);
	jq_pending_free(o);
}

void jq_api_cancel_job(struct jq_broker *b, struct jq_http_req *req, const char *arg)
{
	int64_t id;
	if (jq_parse_i64(arg, 1, INT64_MAX, &id) != 0) {
		jq_reply_error(req, 400, "invalid_argument", "id '%.64s' is not a positive integer",
			       arg);
		return;
	}
	struct jq_pending *o = jq_pending_new(b, req, 0);
	if (!o)
		return;
	o->id = id;
	struct jq_cancel_args a = {id, b->cfg.keep_cancelled_ms};
	jq_pending_sent(o, jq_store_cancel(b->redis, &b->keys, &a, on_cancel, o));
}
