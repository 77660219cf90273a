/* api_ops.c: operations: cancel a job, queue counts, pause/resume, workers, metrics. */
#include <event2/buffer.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "log.h"
#include "store/job_hash.h"
#include "store/queues.h"
#include "store/registry.h"
#include "util.h"

/* A request waiting on one Redis reply. */
struct op {
	struct jq_broker *b;
	struct jq_http_req *req;
	int64_t id;
	char name[JQ_QUEUE_NAME_MAX + 1];
	int flag;
	int64_t limit_ms; /* a rate limit's interval (id holds its limit) */
};

static struct op *op_new(struct jq_broker *b, struct jq_http_req *req)
{
	struct op *o = calloc(1, sizeof(*o));
	if (!o) {
		jq_reply_unavailable(req);
		return NULL;
	}
	o->b = b;
	o->req = req;
	b->in_flight++;
	return o;
}

static void op_free(struct op *o)
{
	o->b->in_flight--;
	free(o);
}

/* After a store call for o: on failure to send (rc != 0), answers 503 and frees o. */
static void op_sent(struct op *o, int rc)
{
	if (rc != 0) {
		jq_reply_unavailable(o->req);
		op_free(o);
	}
}

/* ---- DELETE /jobs/{id} ---- */

static void on_cancel(redisAsyncContext *ac, void *reply, void *priv)
{
	struct op *o = priv;
	char err[256];
	json_int_t id = (json_int_t)o->id;
	int code = jq_store_cancel_reply(reply, err, sizeof(err));
	if (code < 0)
		jq_reply_unavailable(o->req);
	else if (code == JQ_CANCEL_DONE)
		jq_reply_json(o->req, 200, json_pack("{s:I,s:s}", "id", id, "state", "cancelled"));
	else if (code == JQ_CANCEL_REQUESTED)
		jq_reply_json(o->req, 202, json_pack("{s:I,s:s,s:b}", "id", id, "state", "running",
						     "cancel_requested", 1));
	else if (code == JQ_CANCEL_FINISHED)
		jq_reply_error(o->req, 409, "conflict", "job %" PRId64 " has already finished", o->id);
	else
		jq_reply_error(o->req, 404, "not_found", "job %" PRId64 " not found", o->id);
	op_free(o);
}

void jq_api_cancel_job(struct jq_broker *b, struct jq_http_req *req, const char *arg)
{
	int64_t id;
	if (jq_parse_i64(arg, 1, INT64_MAX, &id) != 0) {
		jq_reply_error(req, 400, "invalid_argument", "id '%.64s' is not a positive integer",
			       arg);
		return;
	}
	struct op *o = op_new(b, req);
	if (!o)
		return;
	o->id = id;
	struct jq_cancel_args a = {id, b->cfg.keep_cancelled_ms};
	op_sent(o, jq_store_cancel(b->redis, &b->keys, &a, on_cancel, o));
}

/* ---- queues ---- */

static const char *const queue_counters[] = {"scheduled", "running",   "completed", "failed",
					     "retried",   "cancelled", "recovered", "enqueued"};
#define N_QUEUE_COUNTERS (sizeof(queue_counters) / sizeof(queue_counters[0]))

#define RATE_LIMIT_MAX 1000000
#define RATE_INTERVAL_MS_MAX (24LL * 3600 * 1000)

/* One queue as shown. */
static json_t *queue_json(const struct jq_queue_info *qi)
{
	json_t *q = json_pack("{s:s,s:I,s:b}", "name", qi->name, "pending",
			      (json_int_t)qi->pending, "paused", qi->paused);
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
	struct op *o = priv;
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
	op_free(o);
}

static void queues_call(struct op *o, redisCallbackFn *cb)
{
	op_sent(o, jq_store_queues(o->b->redis, &o->b->keys, o->name, cb, o));
}

void jq_api_queues(struct jq_broker *b, struct jq_http_req *req, const char *arg)
{
	struct op *o = op_new(b, req);
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
	struct op *o = op_new(b, req);
	if (!o)
		return;
	strcpy(o->name, name);
	queues_call(o, on_queues);
}

/* POST /queues/{name}/pause and /resume: SADD/SREM the paused set (and remember the
 * name), in one MULTI; a resume also wakes a worker for what waited meanwhile. */
static void on_queue_action(redisAsyncContext *ac, void *reply, void *priv)
{
	struct op *o = priv;
	char err[256];
	if (jq_store_exec_reply(reply, err, sizeof(err)) != JQ_STORE_OK)
		jq_reply_unavailable(o->req);
	else
		jq_reply_json(o->req, 200, json_pack("{s:s,s:b}", "name", o->name, "paused", o->flag));
	op_free(o);
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
	struct op *o = op_new(b, req);
	if (!o)
		return;
	strcpy(o->name, name);
	o->flag = pause;
	op_sent(o, jq_store_queue_pause(b->redis, &b->keys, name, pause, on_queue_action, o));
}

/* PUT /queues/{name}/rate-limit {"limit": N, "interval_ms": M} and DELETE: HSET/HDEL the
 * rate-limits hash (and remember the name), in one MULTI; both wake a worker, so jobs the
 * old limit held back start at once if the new one allows. */
static void on_rate_limit(redisAsyncContext *ac, void *reply, void *priv)
{
	struct op *o = priv;
	char err[256];
	if (jq_store_exec_reply(reply, err, sizeof(err)) != JQ_STORE_OK)
		jq_reply_unavailable(o->req);
	else if (o->flag)
		jq_reply_json(o->req, 200,
			      json_pack("{s:s,s:{s:I,s:I}}", "name", o->name, "rate_limit", "limit",
					(json_int_t)o->id, "interval_ms", (json_int_t)o->limit_ms));
	else
		jq_reply_json(o->req, 200, json_pack("{s:s,s:n}", "name", o->name, "rate_limit"));
	op_free(o);
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
	struct op *o = op_new(b, req);
	if (!o)
		return;
	strcpy(o->name, name);
	o->flag = set;
	o->id = limit;
	o->limit_ms = interval_ms;
	op_sent(o, jq_store_queue_rate_limit(b->redis, &b->keys, name, set ? limit : 0,
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
			jq_reply_error(req, 405, "method_not_allowed", "method not allowed on '/queues/%.64s'",
				       arg);
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

/* ---- GET /workers ---- */

#define WORKER_ALIVE_BEATS 3

static void on_workers(redisAsyncContext *ac, void *reply, void *priv)
{
	struct op *o = priv;
	size_t n;
	char err[256];
	if (jq_store_workers_reply(reply, &n, err, sizeof(err)) != JQ_STORE_OK) {
		jq_reply_unavailable(o->req);
		op_free(o);
		return;
	}
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++) {
		struct jq_worker_entry e;
		jq_store_worker_at(reply, i, &e);
		json_t *info = json_loadb(e.info, e.info_len, 0, NULL);
		if (!json_is_object(info)) {
			json_decref(info);
			continue;
		}
		char when[32];
		jq_format_rfc3339(e.last_beat_ms, when);
		json_object_set_new(info, "last_heartbeat", json_string(when));
		json_t *started = json_object_get(info, "started_at");
		if (json_is_integer(started)) {
			jq_format_rfc3339(json_integer_value(started), when);
			json_object_set_new(info, "started_at", json_string(when));
		}
		json_object_del(info, "heartbeat_ms");
		json_array_append_new(list, info);
	}
	jq_reply_json(o->req, 200, json_pack("{s:o}", "workers", list));
	op_free(o);
}

/* the reaper removes silent workers; until then, show only recent beats (3 s at the
 * default 1 s heartbeat; a slower heartbeat shows up after its own beat) */
#define WORKER_WINDOW_MS (WORKER_ALIVE_BEATS * 1000 + 500)

void jq_api_workers(struct jq_broker *b, struct jq_http_req *req, const char *arg)
{
	struct op *o = op_new(b, req);
	if (o)
		op_sent(o, jq_store_workers(b->redis, &b->keys, WORKER_WINDOW_MS, on_workers, o));
}

/* ---- GET /metrics ---- */

/* Metrics come from four reads pipelined on the one connection (queues, workers,
 * dead, per type stats), answered in order; each callback renders its part into
 * m->text. */
struct metrics {
	struct op *o;
	struct evbuffer *text;
	int left, failed;
};

static void metrics_step(struct metrics *m)
{
	if (--m->left > 0)
		return;
	struct jq_http_req *req = m->o->req;
	if (m->failed) {
		jq_reply_unavailable(req);
	} else {
		jq_broker_http_metrics(m->text);
		jq_http_add_header(req, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
		jq_broker_count_response(200);
		size_t len = evbuffer_get_length(m->text);
		jq_http_send(req, 200, (const char *)evbuffer_pullup(m->text, -1), len);
	}
	evbuffer_free(m->text);
	op_free(m->o);
	free(m);
}

static const struct {
	const char *field, *metric, *type, *help;
} queue_metrics[] = {
    {"enqueued", "jobq_jobs_enqueued_total", "counter", "Jobs accepted."},
    {"completed", "jobq_jobs_completed_total", "counter", "Jobs completed."},
    {"failed", "jobq_jobs_failed_total", "counter", "Jobs failed for good (dead)."},
    {"retried", "jobq_jobs_retried_total", "counter", "Failed attempts scheduled for a retry."},
    {"cancelled", "jobq_jobs_cancelled_total", "counter", "Jobs cancelled."},
    {"recovered", "jobq_jobs_recovered_total", "counter",
     "Jobs given back after losing their worker."},
    {"pending", "jobq_queue_pending", "gauge", "Jobs waiting in the queue."},
    {"scheduled", "jobq_queue_scheduled", "gauge", "Jobs waiting for their time or a retry."},
    {"running", "jobq_queue_running", "gauge", "Jobs running."},
    {"paused", "jobq_queue_paused", "gauge", "1 if the queue is paused."},
};

static void on_metrics_queues(redisAsyncContext *ac, void *reply, void *priv)
{
	struct metrics *m = priv;
	size_t nq;
	char err[256];
	if (jq_store_queues_reply(reply, &nq, err, sizeof(err)) != JQ_STORE_OK) {
		m->failed = 1;
		metrics_step(m);
		return;
	}
	json_t **qs = calloc(nq + 1, sizeof(*qs));
	for (size_t i = 0; qs && i < nq; i++) {
		struct jq_queue_info qi;
		jq_store_queue_at(reply, i, &qi);
		qs[i] = queue_json(&qi);
	}
	for (size_t k = 0; qs && k < sizeof(queue_metrics) / sizeof(queue_metrics[0]); k++) {
		evbuffer_add_printf(m->text, "# HELP %s %s\n# TYPE %s %s\n", queue_metrics[k].metric,
				    queue_metrics[k].help, queue_metrics[k].metric,
				    queue_metrics[k].type);
		for (size_t i = 0; i < nq; i++) {
			json_t *v = json_object_get(qs[i], queue_metrics[k].field);
			long long n = json_is_boolean(v) ? json_is_true(v) : json_integer_value(v);
			/* queue names are [A-Za-z0-9_.:-]: nothing to escape in the label */
			evbuffer_add_printf(m->text, "%s{queue=\"%s\"} %lld\n", queue_metrics[k].metric,
					    json_string_value(json_object_get(qs[i], "name")), n);
		}
	}
	for (size_t i = 0; qs && i < nq; i++)
		json_decref(qs[i]);
	if (!qs)
		m->failed = 1;
	free(qs);
	metrics_step(m);
}

static void on_metrics_workers(redisAsyncContext *ac, void *reply, void *priv)
{
	struct metrics *m = priv;
	size_t n;
	char err[256];
	if (jq_store_workers_reply(reply, &n, err, sizeof(err)) != JQ_STORE_OK)
		m->failed = 1;
	else
		evbuffer_add_printf(m->text,
				    "# HELP jobq_workers Workers with a recent heartbeat.\n"
				    "# TYPE jobq_workers gauge\njobq_workers %zu\n",
				    n);
	metrics_step(m);
}

static void on_metrics_types(redisAsyncContext *ac, void *reply, void *priv)
{
	struct metrics *m = priv;
	if (jq_broker_job_metrics(m->text, reply) != 0)
		m->failed = 1;
	metrics_step(m);
}

static void on_metrics_dead(redisAsyncContext *ac, void *reply, void *priv)
{
	struct metrics *m = priv;
	char err[256];
	int64_t n = jq_store_dead_count_reply(reply, err, sizeof(err));
	if (n < 0)
		m->failed = 1;
	else
		evbuffer_add_printf(m->text,
				    "# HELP jobq_dead_jobs Jobs in the dead set.\n"
				    "# TYPE jobq_dead_jobs gauge\njobq_dead_jobs %" PRId64 "\n",
				    n);
	metrics_step(m);
}

void jq_api_metrics(struct jq_broker *b, struct jq_http_req *req, const char *arg)
{
	if (!jq_redis_ctx(b->redis)) {
		jq_reply_unavailable(req);
		return;
	}
	struct op *o = op_new(b, req);
	struct metrics *m = o ? calloc(1, sizeof(*m)) : NULL;
	if (m)
		m->text = evbuffer_new();
	if (!m || !m->text) {
		if (o) {
			jq_reply_unavailable(req);
			op_free(o);
		}
		free(m);
		return;
	}
	m->o = o;
	m->left = 5; /* four reads and this function: the reply goes when all are done */
	if (jq_store_queues(b->redis, &b->keys, NULL, on_metrics_queues, m) != 0)
		m->failed = 1, m->left--;
	if (jq_store_workers(b->redis, &b->keys, WORKER_WINDOW_MS, on_metrics_workers, m) != 0)
		m->failed = 1, m->left--;
	if (jq_store_dead_count(b->redis, &b->keys, on_metrics_dead, m) != 0)
		m->failed = 1, m->left--;
	if (jq_store_metrics(b->redis, &b->keys, JQ_METRICS_MAX_QUEUES, on_metrics_types, m) != 0)
		m->failed = 1, m->left--;
	metrics_step(m);
}
