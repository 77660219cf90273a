/* api_list.c: GET /jobs?state=running|scheduled|failed: a bounded page of the jobs in
 * one state, read from the set that indexes that state (one script call). */
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
#include "job.h"
#include "store/jobs.h"
#include "util.h"

#define LIST_DEFAULT 100
#define LIST_MAX 1000

/* The states that have an index set, and what its score means in the answer (NULL: not
 * shown). */
static const struct {
	const char *state;
	enum jq_job_index index;
	const char *score_field; /* the score as an RFC 3339 field of each job */
} listable[] = {
	{"running", JQ_INDEX_RUNNING, NULL},         /* score: lease deadline */
	{"scheduled", JQ_INDEX_SCHEDULED, "run_at"}, /* due first */
	{"failed", JQ_INDEX_FAILED, "failed_at"},    /* newest first */
};
#define N_LISTABLE (sizeof(listable) / sizeof(listable[0]))

struct list_req {
	struct jq_broker *b;
	struct jq_http_req *req;
	size_t which; /* index in listable */
};

static json_t *time_json(const char *s)
{
	int64_t ms;
	/* a score is a double, but epoch ms fit one exactly and Redis prints them as
	 * integers ("1764117000123") */
	if (!s || jq_parse_i64(s, 0, INT64_MAX, &ms) != 0)
		return json_null();
	char buf[32];
	jq_format_rfc3339(ms, buf);
	return json_string(buf);
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *list_job_json(const struct jq_listed_job *job, const char *score_field)
{
	char status[600];
	jq_job_status(status, sizeof(status), job->state, job->done, job->total, job->error);
	json_t *j = json_object();
	json_object_set_new(j, "id", json_integer(job->id));
	json_object_set_new(j, "type", str_or_null(job->type));
	json_object_set_new(j, "queue", json_string(job->queue ? job->queue : JQ_DEFAULT_QUEUE));
	json_object_set_new(j, "state", json_string(job->state));
	json_object_set_new(j, "status", json_string(status));
	json_object_set_new(j, "progress",
			    json_pack("{s:I,s:I}", "done", (json_int_t)job->done, "total",
				      (json_int_t)job->total));
	json_object_set_new(j, "attempts", json_integer(job->attempts));
	json_object_set_new(
		j, "max_attempts",
		json_integer(job->max_attempts < 0 ? JQ_DEFAULT_MAX_ATTEMPTS : job->max_attempts));
	json_object_set_new(j, "error", str_or_null(job->error));
	json_object_set_new(j, "worker", str_or_null(job->worker));
	json_object_set_new(j, "created_at", time_json(job->created_at));
	json_object_set_new(j, "started_at", time_json(job->started_at));
	json_object_set_new(j, "finished_at", time_json(job->finished_at));
	if (score_field)
		json_object_set_new(j, score_field, time_json(job->score));
	return j;
}

static void on_list(redisAsyncContext *ac, void *reply, void *priv)
{
	struct list_req *l = priv;
	int64_t size;
	size_t n;
	char err[256];
	if (jq_store_jobs_reply(reply, &size, &n, err, sizeof(err)) != JQ_STORE_OK) {
		jq_reply_unavailable(l->req);
	} else {
		json_t *jobs = json_array();
		for (size_t i = 0; i < n; i++) {
			struct jq_listed_job job;
			if (jq_store_listed_job(reply, i, &job) == 0)
				json_array_append_new(
					jobs, list_job_json(&job, listable[l->which].score_field));
		}
		jq_reply_json(l->req, 200,
			      json_pack("{s:s,s:I,s:o}", "state", listable[l->which].state, "count",
					(json_int_t)size, "jobs", jobs));
	}
	l->b->in_flight--;
	free(l);
}

void jq_api_list_jobs(struct jq_broker *b, struct jq_http_req *req, const char *arg)
{
	struct evkeyvalq q;
	if (jq_request_query(req, &q) != 0)
		return;
	const char *state = evhttp_find_header(&q, "state"), *lim = evhttp_find_header(&q, "limit");
	size_t which = N_LISTABLE;
	for (size_t i = 0; state && i < N_LISTABLE; i++)
		if (strcmp(state, listable[i].state) == 0)
			which = i;
	int64_t limit = LIST_DEFAULT;
	int bad_limit = lim && jq_parse_i64(lim, 1, LIST_MAX, &limit) != 0;
	evhttp_clear_headers(&q);
	if (which == N_LISTABLE) {
		jq_reply_error(req, 400, "invalid_argument",
			       "'state' must be running, scheduled or failed");
		return;
	}
	if (bad_limit) {
		jq_reply_error(req, 400, "invalid_argument", "'limit' must be 1 to %d", LIST_MAX);
		return;
	}
	struct list_req *l = malloc(sizeof(*l));
	if (!l) {
		jq_reply_error(req, 503, "out_of_memory", "the broker is out of memory");
		return;
	}
	l->b = b;
	l->req = req;
	l->which = which;
	b->in_flight++;
	if (jq_store_jobs(b->redis, &b->keys, listable[which].index, limit, on_list, l) != 0) {
		b->in_flight--;
		free(l);
		jq_reply_unavailable(req);
	}
}
