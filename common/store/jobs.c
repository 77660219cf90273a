/* jobs.c: listing jobs by state, and the dead set; see jobs.h. */
#include "jobs.h"

#include <string.h>

/* Fields per job in jobs.lua's answer, in this order. */
enum {
	F_ID,
	F_SCORE,
	F_STATE,
	F_TYPE,
	F_QUEUE,
	F_ATTEMPTS,
	F_MAX_ATTEMPTS,
	F_DONE,
	F_TOTAL,
	F_ERROR,
	F_WORKER,
	F_CREATED,
	F_STARTED,
	F_FINISHED,
	F_COUNT
};
#define DEAD_FIELDS 6 /* per entry in dead.lua's list */

int jq_store_jobs(struct jq_redis *r, const struct jq_keys *k, enum jq_job_index index,
		  int64_t limit, redisCallbackFn *cb, void *priv)
{
	static const struct {
		const char *state, *order;
	} idx[] = {[JQ_INDEX_RUNNING] = {"running", "asc"},
		   [JQ_INDEX_SCHEDULED] = {"scheduled", "asc"},
		   [JQ_INDEX_FAILED] = {"failed", "desc"}};
	struct jq_call c;
	jq_call_init(&c, JQ_SCRIPT_JOBS);
	if (index == JQ_INDEX_RUNNING)
		jq_call_key_leases(&c, k);
	else if (index == JQ_INDEX_SCHEDULED)
		jq_call_key_scheduled(&c, k);
	else
		jq_call_key_dead(&c, k);
	jq_call_str(&c, k->prefix); /* job keys are named from it */
	jq_call_str(&c, idx[index].order);
	jq_call_i64(&c, limit);
	jq_call_str(&c, idx[index].state);
	return jq_store_send(r, &c, cb, priv);
}

int jq_store_jobs_reply(const redisReply *r, int64_t *size, size_t *n, char *err, size_t errlen)
{
	*size = 0;
	*n = 0;
	int st = jq_store_status(r, err, errlen);
	if (st != JQ_STORE_OK)
		return st;
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
	    r->element[0]->type != REDIS_REPLY_INTEGER)
		return jq_store_malformed("jobs", err, errlen);
	*size = r->element[0]->integer;
	*n = r->elements - 1;
	return JQ_STORE_OK;
}

static const char *str_or_null(const redisReply *e)
{
	return e->type == REDIS_REPLY_STRING ? e->str : NULL;
}

int jq_store_listed_job(const redisReply *r, size_t i, struct jq_listed_job *job)
{
	const redisReply *j = r->element[1 + i];
	if (j->type != REDIS_REPLY_ARRAY || j->elements != F_COUNT ||
	    j->element[F_STATE]->type != REDIS_REPLY_STRING)
		return -1;
	for (size_t f = 0; f < j->elements; f++)
		if (j->element[f]->type != REDIS_REPLY_STRING &&
		    j->element[f]->type != REDIS_REPLY_NIL &&
		    j->element[f]->type != REDIS_REPLY_INTEGER)
			return -1;
	redisReply *const *e = j->element;
	job->id = jq_store_i64(e[F_ID], 0);
	job->score = str_or_null(e[F_SCORE]);
	job->state = e[F_STATE]->str;
	job->type = str_or_null(e[F_TYPE]);
	job->queue = str_or_null(e[F_QUEUE]);
	job->attempts = jq_store_i64(e[F_ATTEMPTS], 0);
	job->max_attempts = jq_store_i64(e[F_MAX_ATTEMPTS], -1); /* -1: the default */
	job->done = jq_store_i64(e[F_DONE], 0);
	job->total = jq_store_i64(e[F_TOTAL], 0);
	job->error = str_or_null(e[F_ERROR]);
	job->worker = str_or_null(e[F_WORKER]);
	job->created_at = str_or_null(e[F_CREATED]);
	job->started_at = str_or_null(e[F_STARTED]);
	job->finished_at = str_or_null(e[F_FINISHED]);
	return 0;
}

static void dead_call(struct jq_call *c, const struct jq_keys *k, const char *action)
{
	jq_call_init(c, JQ_SCRIPT_DEAD);
	jq_call_key_dead(c, k);
	jq_call_str(c, action);
	jq_call_str(c, k->prefix); /* job, queue, batch and unique keys are named from it */
}

int jq_store_dead_list(struct jq_redis *r, const struct jq_keys *k, int64_t offset, int64_t count,
		       redisCallbackFn *cb, void *priv)
{
	struct jq_call c;
	dead_call(&c, k, "list");
	jq_call_i64(&c, offset);
	jq_call_i64(&c, count);
	return jq_store_send(r, &c, cb, priv);
}

int jq_store_dead_list_reply(const redisReply *r, size_t *n, char *err, size_t errlen)
{
	*n = 0;
	int st = jq_store_status(r, err, errlen);
	if (st != JQ_STORE_OK)
		return st;
	if (r->type != REDIS_REPLY_ARRAY || r->elements % DEAD_FIELDS)
		return jq_store_malformed("the dead list", err, errlen);
	*n = r->elements / DEAD_FIELDS;
	return JQ_STORE_OK;
}

void jq_store_dead_entry(const redisReply *r, size_t i, struct jq_dead_entry *e)
{
	redisReply *const *f = r->element + DEAD_FIELDS * i;
	e->id = jq_store_i64(f[0], 0);
	e->failed_at_ms = jq_store_i64(f[1], 0);
	e->type = jq_store_str(f[2], &e->type_len);
	e->queue = jq_store_str(f[3], &e->queue_len);
	e->attempts = jq_store_i64(f[4], 0);
	e->error = jq_store_str(f[5], &e->error_len);
}

int jq_store_dead_retry(struct jq_redis *r, const struct jq_keys *k, int64_t id,
			redisCallbackFn *cb, void *priv)
{
	struct jq_call c;
	dead_call(&c, k, "retry");
	jq_call_i64(&c, id);
	return jq_store_send(r, &c, cb, priv);
}

int jq_store_dead_retry_reply(const redisReply *r, int64_t *holder, char *err, size_t errlen)
{
	*holder = 0;
	int st = jq_store_status(r, err, errlen);
	if (st != JQ_STORE_OK)
		return st;
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
	    jq_store_i64(r->element[0], 0) == -2 && (*holder = jq_store_i64(r->element[1], 0)) > 0)
		return JQ_RETRY_KEY_HELD;
	if (r->type != REDIS_REPLY_INTEGER || r->integer < -1 || r->integer > 1)
		return jq_store_malformed("dead retry", err, errlen);
	return r->integer == -1 ? JQ_RETRY_EXPIRED : (int)r->integer;
}

int jq_store_dead_purge(struct jq_redis *r, const struct jq_keys *k, redisCallbackFn *cb,
			void *priv)
{
	struct jq_call c;
	dead_call(&c, k, "purge");
	return jq_store_send(r, &c, cb, priv);
}

int64_t jq_store_dead_purge_reply(const redisReply *r, char *err, size_t errlen)
{
	return jq_store_int_in(r, 0, INT64_MAX, "dead purge", err, errlen);
}
