/* stats.c: per (queue, type) counts and histograms, reported with the heartbeat; see stats.h. */
#include "stats.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store/stats.h"

void jq_stats_init(struct jq_stats *s)
{
	memset(s, 0, sizeof(*s));
	/* errors before the first report (the first connect's failures) are reported too */
}

void jq_stats_release(struct jq_stats *s)
{
	free(s->series);
	memset(s, 0, sizeof(*s));
}

static int series_is(const struct jq_stats_series *e, const char *queue, const char *type)
{
	return strcmp(e->type, type) == 0 && strcmp(e->queue, queue) == 0;
}

int jq_stats_series(struct jq_stats *s, const char *queue, const char *type)
{
	if (s->last < s->n && series_is(&s->series[s->last], queue, type))
		return (int)s->last;
	for (size_t i = 0; i < s->n; i++)
		if (series_is(&s->series[i], queue, type))
			return (int)(s->last = i);
	if (s->n == JQ_STATS_MAX_SERIES)
		return -1;
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 8;
		struct jq_stats_series *ns = realloc(s->series, cap * sizeof(*ns));
		if (!ns)
			return -1;
		s->series = ns;
		s->cap = cap;
	}
	struct jq_stats_series *e = &s->series[s->n];
	memset(e, 0, sizeof(*e));
	snprintf(e->queue, sizeof(e->queue), "%s", queue);
	snprintf(e->type, sizeof(e->type), "%s", type);
	s->last = s->n;
	return (int)s->n++;
}

static void observe(int64_t *v, int first_bucket, int sum, int64_t us)
{
	if (us < 0)
		us = 0;
	v[first_bucket + jq_hist_bucket(us)]++;
	v[sum] += us;
}

void jq_stats_started(struct jq_stats *s, int i, int64_t wait_us)
{
	if (i < 0)
		return;
	int64_t *v = s->series[i].v;
	observe(v, JQ_SERIES_WAIT, JQ_SERIES_WAIT_SUM, wait_us);
	v[JQ_SERIES_STAT + JQ_STAT_STARTED]++;
}

void jq_stats_finished(struct jq_stats *s, int i, enum jq_stat what, int64_t run_us)
{
	if (i < 0)
		return;
	int64_t *v = s->series[i].v;
	observe(v, JQ_SERIES_RUN, JQ_SERIES_RUN_SUM, run_us);
	v[JQ_SERIES_STAT + what]++;
}

/* One report in flight: what it took from the counts, to give back if it fails. */
struct report {
	struct jq_stats *s;
	uint64_t errors[JQ_REDIS_ERR_COUNT];
	size_t n;
	struct {
		size_t series;
		int64_t v[JQ_SERIES_FIELDS];
	} items[];
};

static void give_back(struct report *rep)
{
	struct jq_stats *s = rep->s;
	for (int k = 0; k < JQ_REDIS_ERR_COUNT; k++)
		s->errors_reported[k] -= rep->errors[k];
	for (size_t j = 0; j < rep->n; j++)
		for (int f = 0; f < JQ_SERIES_FIELDS; f++)
			s->series[rep->items[j].series].v[f] += rep->items[j].v[f];
}

static void on_reported(redisAsyncContext *ac, void *reply, void *priv)
{
	struct report *rep = priv;
	char err[256];
	/* lost: the connection dropped, most likely before the script ran; an error: it did
	 * not run. Either way the counts are sent again with the next beat. */
	int64_t rc = jq_store_stats_reply(reply, err, sizeof(err));
	if (rc < 0) {
		if (rc == JQ_STORE_ERROR)
			jq_warn("reporting job metrics failed: %s (will retry)", err);
		give_back(rep);
	}
	free(rep);
}

int jq_stats_flush(struct jq_stats *s, struct jq_redis *r, const struct jq_keys *keys)
{
	if (!jq_redis_ctx(r))
		return -1;
	size_t busy = 0, nfields = 0;
	for (size_t i = 0; i < s->n; i++) {
		int any = 0;
		for (int f = 0; f < JQ_SERIES_FIELDS; f++)
			if (s->series[i].v[f]) {
				any = 1;
				nfields++;
			}
		busy += any;
	}
	uint64_t errs[JQ_REDIS_ERR_COUNT];
	struct jq_hincr err_fields[JQ_REDIS_ERR_COUNT];
	size_t nerr = 0;
	for (int k = 0; k < JQ_REDIS_ERR_COUNT; k++) {
		errs[k] = jq_redis_errors(k) - s->errors_reported[k];
		if (errs[k])
			err_fields[nerr++] =
				(struct jq_hincr){jq_redis_error_names[k], (int64_t)errs[k]};
	}
	if (busy == 0 && nerr == 0)
		return 0;

	struct report *rep = calloc(1, sizeof(*rep) + busy * sizeof(rep->items[0]));
	struct jq_stats_report *series = calloc(busy ? busy : 1, sizeof(*series));
	struct jq_hincr *fields = calloc(nfields ? nfields : 1, sizeof(*fields));
	char(*names)[JQ_SERIES_FIELD_NAME_MAX] = calloc(nfields ? nfields : 1, sizeof(*names));
	int rc = -1;
	if (!rep || !series || !fields || !names)
		goto done;
	rep->s = s;
	size_t ns = 0, nf = 0;
	for (size_t i = 0; i < s->n; i++) {
		struct jq_stats_series *se = &s->series[i];
		size_t first = nf;
		for (int f = 0; f < JQ_SERIES_FIELDS; f++) {
			if (!se->v[f])
				continue;
			jq_series_field_name(f, names[nf]);
			fields[nf] = (struct jq_hincr){names[nf], se->v[f]};
			nf++;
		}
		if (nf > first)
			series[ns++] = (struct jq_stats_report){se->queue, se->type, nf - first,
								fields + first};
	}
	struct jq_stats_args a = {nerr, err_fields, ns, series};
	rc = jq_store_stats(r, keys, &a, on_reported, rep);
	if (rc == 0) {
		/* taken out of the counts now; on_reported gives them back if Redis did not */
		for (int e = 0; e < JQ_REDIS_ERR_COUNT; e++) {
			rep->errors[e] = errs[e];
			s->errors_reported[e] += errs[e];
		}
		for (size_t i = 0; i < s->n; i++) {
			int any = 0;
			for (int f = 0; f < JQ_SERIES_FIELDS; f++)
				any |= s->series[i].v[f] != 0;
			if (!any)
				continue;
			rep->items[rep->n].series = i;
			memcpy(rep->items[rep->n].v, s->series[i].v, sizeof(s->series[i].v));
			memset(s->series[i].v, 0, sizeof(s->series[i].v));
			rep->n++;
		}
		rep = NULL;
	}
done:
	free(rep);
	free(series);
	free(fields);
	free(names);
	return rc;
}
