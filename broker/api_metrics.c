/* api_metrics.c: GET /metrics in Prometheus text: per queue counts, workers, the dead set,
 * per (queue, type) histograms and counts, Redis errors, and this broker's HTTP counters. */
#include <event2/buffer.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "reply.h"
#include "routes.h"
#include "redis.h"
#include "http.h"
#include "util.h"
#include "metrics.h"
#include "store/queues.h"
#include "store/registry.h"

/* Queues read for the per type metrics (metrics.lua's bound). */
#define METRICS_MAX_QUEUES 1000

struct series {
	const char *queue; /* points into the reply */
	const char *type;  /* points into the reply; not NUL-terminated */
	size_t type_len;
	int64_t v[JQ_SERIES_FIELDS];
};

struct table {
	struct series *s;
	size_t n, cap;
};

static struct series *series_get(struct table *t, const char *queue, const char *type,
				 size_t type_len)
{
	for (size_t i = t->n; i-- > 0;)
		if (t->s[i].queue == queue && t->s[i].type_len == type_len &&
		    memcmp(t->s[i].type, type, type_len) == 0)
			return &t->s[i];
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 16;
		struct series *ns = realloc(t->s, cap * sizeof(*ns));
		if (!ns)
			return NULL;
		t->s = ns;
		t->cap = cap;
	}
	struct series *e = &t->s[t->n++];
	memset(e, 0, sizeof(*e));
	e->queue = queue;
	e->type = type;
	e->type_len = type_len;
	return e;
}

static int series_cmp(const void *a, const void *b)
{
	const struct series *x = a, *y = b;
	int c = strcmp(x->queue, y->queue);
	if (c)
		return c;
	size_t n = x->type_len < y->type_len ? x->type_len : y->type_len;
	c = memcmp(x->type, y->type, n);
	return c ? c : (x->type_len > y->type_len) - (x->type_len < y->type_len);
}

/* Adds one queue's type stats hash (fields "<type>|<name>") to t. */
static int add_queue(struct table *t, const char *queue, const struct jq_store_hash *h)
{
	for (size_t i = 0; i < h->n; i++) {
		int64_t v;
		const char *f = jq_store_hash_field(h, i, &v);
		size_t flen = strlen(f);
		const char *bar = memchr(f, '|', flen);
		if (!bar)
			continue;
		size_t tl = (size_t)(bar - f);
		int idx = jq_series_field_index(bar + 1, flen - tl - 1);
		if (idx < 0)
			continue; /* a field a newer version writes: not ours to show */
		if (!jq_name_valid(f, tl))
			continue; /* the type of a corrupt job: nothing a label can carry safely */
		struct series *s = series_get(t, queue, f, tl);
		if (!s)
			return -1;
		s->v[idx] += v;
	}
	return 0;
}

static void histogram(struct evbuffer *out, const struct table *t, const char *name,
		      const char *help, int first, int sum)
{
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	for (size_t i = 0; i < t->n; i++) {
		const struct series *s = &t->s[i];
		int64_t cum = 0;
		for (int b = 0; b < JQ_HIST_BUCKETS; b++) {
			cum += s->v[first + b];
			evbuffer_add_printf(
				out,
				"%s_bucket{queue=\"%s\",type=\"%.*s\",le=\"%s\"} %" PRId64 "\n",
				name, s->queue, (int)s->type_len, s->type, jq_hist_le[b], cum);
		}
		evbuffer_add_printf(out, "%s_sum{queue=\"%s\",type=\"%.*s\"} %.6f\n", name,
				    s->queue, (int)s->type_len, s->type, (double)s->v[sum] / 1e6);
		evbuffer_add_printf(out, "%s_count{queue=\"%s\",type=\"%.*s\"} %" PRId64 "\n", name,
				    s->queue, (int)s->type_len, s->type, cum);
	}
}

static int job_metrics(struct evbuffer *out, const redisReply *r)
{
	struct jq_metrics_reply m;
	char err[256];
	if (jq_store_metrics_reply(r, &m, err, sizeof(err)) != JQ_STORE_OK)
		return -1;
	struct table t = {0};
	for (size_t i = 0; i < m.nqueues; i++) {
		struct jq_store_hash h;
		const char *queue = jq_store_metrics_queue(&m, i, &h);
		if (add_queue(&t, queue, &h) != 0) {
			free(t.s);
			return -1;
		}
	}
	if (t.n)
		qsort(t.s, t.n, sizeof(*t.s), series_cmp);
	/* queue and type names are [A-Za-z0-9_.:-] (add_queue drops others): nothing to
	 * escape in the labels */
	histogram(out, &t, "jobq_job_wait_seconds",
		  "Time from when a job became runnable (enqueued, due, or back in its queue) to "
		  "its start, by queue and type.",
		  JQ_SERIES_WAIT, JQ_SERIES_WAIT_SUM);
	histogram(out, &t, "jobq_job_run_seconds",
		  "Time from a job's start to its outcome (completed, failed, retried or "
		  "cancelled), by queue and type.",
		  JQ_SERIES_RUN, JQ_SERIES_RUN_SUM);
	evbuffer_add_printf(out,
			    "# HELP jobq_jobs_by_type_total Jobs started and attempts ended, by "
			    "queue, type and event (started, completed, retried, failed (for "
			    "good), cancelled).\n# TYPE jobq_jobs_by_type_total counter\n");
	for (size_t i = 0; i < t.n; i++)
		for (int k = 0; k < JQ_STAT_COUNT; k++)
			evbuffer_add_printf(out,
					    "jobq_jobs_by_type_total{queue=\"%s\",type=\"%.*s\","
					    "event=\"%s\"} %" PRId64 "\n",
					    t.s[i].queue, (int)t.s[i].type_len, t.s[i].type,
					    jq_stat_names[k], t.s[i].v[JQ_SERIES_STAT + k]);
	free(t.s);

	evbuffer_add_printf(out, "# HELP jobq_redis_errors_total Redis error replies, lost "
				 "connections and failed connects: this broker's own, and all "
				 "workers' together.\n# TYPE jobq_redis_errors_total counter\n");
	for (int k = 0; k < JQ_REDIS_ERR_COUNT; k++)
		evbuffer_add_printf(
			out,
			"jobq_redis_errors_total{process=\"broker\",kind=\"%s\"} %" PRIu64 "\n",
			jq_redis_error_names[k], jq_redis_errors(k));
	for (int k = 0; k < JQ_REDIS_ERR_COUNT; k++) {
		int64_t n = jq_store_hash_i64(&m.errors, jq_redis_error_names[k], 0);
		evbuffer_add_printf(
			out,
			"jobq_redis_errors_total{process=\"worker\",kind=\"%s\"} %" PRId64 "\n",
			jq_redis_error_names[k], n);
	}
	return 0;
}

/* ---- GET /metrics ---- */

/* Metrics come from four reads pipelined on the one connection (queues, workers,
 * dead, per type stats), answered in order; each callback renders its part into
 * m->text. */
struct metrics {
	struct jq_pending *o;
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
		jq_routes_metrics(m->o->b, m->text);
		jq_http_add_header(req, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
		jq_broker_count_response(200);
		size_t len = evbuffer_get_length(m->text);
		jq_http_send(req, 200, (const char *)evbuffer_pullup(m->text, -1), len);
	}
	evbuffer_free(m->text);
	jq_pending_free(m->o);
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

/* A queue's figure for its metric: a counter of its stats hash, or pending, or paused. */
static int64_t queue_metric(const struct jq_queue_info *qi, const char *field)
{
	if (strcmp(field, "pending") == 0)
		return qi->pending;
	if (strcmp(field, "paused") == 0)
		return qi->paused;
	int64_t v = jq_store_hash_i64(&qi->stats, field, 0);
	return v < 0 ? 0 : v; /* gauges kept by increments: never a transient negative */
}

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
	for (size_t k = 0; k < sizeof(queue_metrics) / sizeof(queue_metrics[0]); k++) {
		evbuffer_add_printf(m->text, "# HELP %s %s\n# TYPE %s %s\n",
				    queue_metrics[k].metric, queue_metrics[k].help,
				    queue_metrics[k].metric, queue_metrics[k].type);
		for (size_t i = 0; i < nq; i++) {
			struct jq_queue_info qi;
			jq_store_queue_at(reply, i, &qi);
			/* queue names are [A-Za-z0-9_.:-]: nothing to escape in the label */
			evbuffer_add_printf(m->text, "%s{queue=\"%s\"} %" PRId64 "\n",
					    queue_metrics[k].metric, qi.name,
					    queue_metric(&qi, queue_metrics[k].field));
		}
	}
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
	if (job_metrics(m->text, reply) != 0)
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
	struct jq_pending *o = jq_pending_new(b, req, 0);
	struct metrics *m = o ? calloc(1, sizeof(*m)) : NULL;
	if (m)
		m->text = evbuffer_new();
	if (!m || !m->text) {
		if (o) {
			jq_reply_unavailable(req);
			jq_pending_free(o);
		}
		free(m);
		return;
	}
	m->o = o;
	m->left = 5; /* four reads and this function: the reply goes when all are done */
	if (jq_store_queues(b->redis, &b->keys, NULL, on_metrics_queues, m) != 0)
		m->failed = 1, m->left--;
	if (jq_store_workers(b->redis, &b->keys, JQ_WORKER_WINDOW_MS, on_metrics_workers, m) != 0)
		m->failed = 1, m->left--;
	if (jq_store_dead_count(b->redis, &b->keys, on_metrics_dead, m) != 0)
		m->failed = 1, m->left--;
	if (jq_store_metrics(b->redis, &b->keys, METRICS_MAX_QUEUES, on_metrics_types, m) != 0)
		m->failed = 1, m->left--;
	metrics_step(m);
}
