/* api_list.c: GET /jobs?state=running|scheduled|failed: a bounded page of the jobs in
 * one state, read from the set that indexes that state (one script call). */
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "util.h"

#define LIST_DEFAULT 100
#define LIST_MAX 1000

/* The states that have an index set, how it is ordered for listing, and what its score
 * means in the answer (NULL: not shown). */
static const struct {
	const char *state;
	size_t (*key)(const struct jq_keys *, char *);
	const char *order;       /* "asc" or "desc" by score */
	const char *score_field; /* the score as an RFC 3339 field of each job */
} listable[] = {
    {"running", jq_keys_leases, "asc", NULL},     /* score: lease deadline */
    {"scheduled", jq_keys_scheduled, "asc", "run_at"}, /* due first */
    {"failed", jq_keys_dead, "desc", "failed_at"},      /* newest first */
};
#define N_LISTABLE (sizeof(listable) / sizeof(listable[0]))

struct list_req {
	struct jq_broker *b;
	struct jq_http_req *req;
	size_t which; /* index in listable */
};

/* Field positions in each job of jobs.lua's answer. */
enum { F_ID, F_SCORE, F_STATE, F_TYPE, F_QUEUE, F_ATTEMPTS, F_MAX_ATTEMPTS, F_DONE, F_TOTAL,
       F_ERROR, F_WORKER, F_CREATED, F_STARTED, F_FINISHED, F_COUNT };

static const char *str_at(const redisReply *job, int i)
{
	const redisReply *e = job->element[i];
	return e->type == REDIS_REPLY_STRING ? e->str : NULL;
}

static json_t *time_at(const redisReply *job, int i)
{
	int64_t ms;
	const char *s = str_at(job, i);
	/* a score is a double, but epoch ms fit one exactly and Redis prints them as
	 * integers ("1764117000123") */
	if (!s || jq_parse_i64(s, 0, INT64_MAX, &ms) != 0)
		return json_null();
	char buf[32];
	jq_format_rfc3339(ms, buf);
	return json_string(buf);
}

static json_t *str_or_null(const char *s) { return s ? json_string(s) : json_null(); }

static json_t *list_job_json(const redisReply *job, const char *score_field)
{
	const char *state = str_at(job, F_STATE);
	int64_t done = jq_redis_reply_i64(job->element[F_DONE], 0);
	int64_t total = jq_redis_reply_i64(job->element[F_TOTAL], 0);
	char status[600];
	jq_job_status(status, sizeof(status), state, done, total, str_at(job, F_ERROR));
	const char *queue = str_at(job, F_QUEUE);
	json_t *j = json_object();
	json_object_set_new(j, "id", json_integer(jq_redis_reply_i64(job->element[F_ID], 0)));
	json_object_set_new(j, "type", str_or_null(str_at(job, F_TYPE)));
	json_object_set_new(j, "queue", json_string(queue ? queue : JQ_DEFAULT_QUEUE));
	json_object_set_new(j, "state", json_string(state));
	json_object_set_new(j, "status", json_string(status));
	json_object_set_new(j, "progress", json_pack("{s:I,s:I}", "done", (json_int_t)done,
						     "total", (json_int_t)total));
	json_object_set_new(j, "attempts",
			    json_integer(jq_redis_reply_i64(job->element[F_ATTEMPTS], 0)));
	json_object_set_new(j, "max_attempts",
			    json_integer(jq_redis_reply_i64(job->element[F_MAX_ATTEMPTS],
							    JQ_DEFAULT_MAX_ATTEMPTS)));
	json_object_set_new(j, "error", str_or_null(str_at(job, F_ERROR)));
	json_object_set_new(j, "worker", str_or_null(str_at(job, F_WORKER)));
	json_object_set_new(j, "created_at", time_at(job, F_CREATED));
	json_object_set_new(j, "started_at", time_at(job, F_STARTED));
	json_object_set_new(j, "finished_at", time_at(job, F_FINISHED));
	if (score_field)
		json_object_set_new(j, score_field, time_at(job, F_SCORE));
	return j;
}

static int job_reply_ok(const redisReply *job)
{
	if (job->type != REDIS_REPLY_ARRAY || job->elements != F_COUNT ||
	    job->element[F_STATE]->type != REDIS_REPLY_STRING)
		return 0;
	for (size_t i = 0; i < job->elements; i++)
		if (job->element[i]->type != REDIS_REPLY_STRING &&
		    job->element[i]->type != REDIS_REPLY_NIL &&
		    job->element[i]->type != REDIS_REPLY_INTEGER)
			return 0;
	return 1;
}

static void on_list(redisAsyncContext *ac, void *reply, void *priv)
{
	struct list_req *l = priv;
	redisReply *r = reply;
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
	    r->element[0]->type != REDIS_REPLY_INTEGER) {
		jq_reply_unavailable(l->req);
	} else {
		json_t *jobs = json_array();
		for (size_t i = 1; i < r->elements; i++)
			if (job_reply_ok(r->element[i]))
				json_array_append_new(
				    jobs, list_job_json(r->element[i], listable[l->which].score_field));
		jq_reply_json(l->req, 200,
			      json_pack("{s:s,s:I,s:o}", "state", listable[l->which].state, "count",
					(json_int_t)r->element[0]->integer, "jobs", jobs));
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
	char kindex[JQ_KEY_MAX], slimit[24];
	listable[which].key(&b->keys, kindex);
	snprintf(slimit, sizeof(slimit), "%" PRId64, limit);
	const char *argv[] = {kindex, b->keys.prefix, listable[which].order, slimit,
			      listable[which].state};
	b->in_flight++;
	if (jq_redis_eval(b->redis, JQ_SCRIPT_JOBS, on_list, l, 1, 4, argv, NULL) != 0) {
		b->in_flight--;
		free(l);
		jq_reply_unavailable(req);
	}
}
