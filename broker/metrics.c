/* metrics.c: GET /metrics' per (queue, type) histograms and counts, and Redis errors. */
#include <event2/buffer.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "metrics.h"
#include "store/queues.h"

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
			evbuffer_add_printf(out, "%s_bucket{queue=\"%s\",type=\"%.*s\",le=\"%s\"} %" PRId64
						 "\n",
					    name, s->queue, (int)s->type_len, s->type, jq_hist_le[b],
					    cum);
		}
		evbuffer_add_printf(out, "%s_sum{queue=\"%s\",type=\"%.*s\"} %.6f\n", name, s->queue,
				    (int)s->type_len, s->type, (double)s->v[sum] / 1e6);
		evbuffer_add_printf(out, "%s_count{queue=\"%s\",type=\"%.*s\"} %" PRId64 "\n", name,
				    s->queue, (int)s->type_len, s->type, cum);
	}
}

int jq_broker_job_metrics(struct evbuffer *out, const redisReply *r)
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
	evbuffer_add_printf(out, "# HELP jobq_jobs_by_type_total Jobs started and attempts ended, by "
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
		evbuffer_add_printf(out, "jobq_redis_errors_total{process=\"broker\",kind=\"%s\"} %" PRIu64
					 "\n",
				    jq_redis_error_names[k], jq_redis_errors(k));
	for (int k = 0; k < JQ_REDIS_ERR_COUNT; k++) {
		int64_t n = jq_store_hash_i64(&m.errors, jq_redis_error_names[k], 0);
		evbuffer_add_printf(out, "jobq_redis_errors_total{process=\"worker\",kind=\"%s\"} %" PRId64
					 "\n",
				    jq_redis_error_names[k], n);
	}
	return 0;
}
