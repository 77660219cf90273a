/* fetch.c: the fetch script's call and answer, and the blocking wait; see fetch.h. */
#include "fetch.h"

#include <string.h>

#define FETCH_HEAD 2    /* fetch.lua's answer: dropped ids, rate-limit wait, then the jobs */
#define FETCH_FIELDS 11 /* its entries per job, in jq_store_fetched's order */

int jq_store_fetch(struct jq_redis *r, const struct jq_keys *k, const struct jq_fetch_args *a,
		   redisCallbackFn *cb, void *priv)
{
	struct jq_call c;
	jq_call_init(&c, JQ_SCRIPT_FETCH);
	jq_call_key_leases(&c, k);
	jq_call_key_paused(&c, k);
	jq_call_key_rate_limits(&c, k);
	for (int i = 0; i < a->nqueues; i++) {
		jq_call_key_queue(&c, k, a->queues[i]);
		jq_call_key_wake(&c, k, a->queues[i]);
		jq_call_key_queue_stats(&c, k, a->queues[i]);
		jq_call_key_rate(&c, k, a->queues[i]);
	}
	jq_call_arg_job_prefix(&c, k);
	jq_call_i64(&c, a->lease_ms);
	jq_call_str(&c, a->worker);
	jq_call_i64(&c, a->want);
	for (int i = 0; i < a->nqueues; i++)
		jq_call_str(&c, a->queues[i]);
	return jq_store_send(r, &c, cb, priv);
}

int jq_store_fetch_reply(const redisReply *r, struct jq_fetch_reply *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	int st = jq_store_status(r, err, errlen);
	if (st != JQ_STORE_OK)
		return st;
	if (r->type != REDIS_REPLY_ARRAY || r->elements < FETCH_HEAD ||
	    (r->elements - FETCH_HEAD) % FETCH_FIELDS != 0 ||
	    r->element[0]->type != REDIS_REPLY_ARRAY)
		return jq_store_malformed("fetch", err, errlen);
	out->r = r;
	out->dropped = r->element[0];
	out->ndropped = r->element[0]->elements;
	out->rate_wait_ms = jq_store_i64(r->element[1], 0);
	out->njobs = (r->elements - FETCH_HEAD) / FETCH_FIELDS;
	return JQ_STORE_OK;
}

const char *jq_store_fetch_dropped(const struct jq_fetch_reply *f, size_t i)
{
	const redisReply *e = f->dropped->element[i];
	return e->type == REDIS_REPLY_STRING ? e->str : "?";
}

void jq_store_fetched(const struct jq_fetch_reply *f, size_t i, struct jq_fetched_job *job)
{
	redisReply *const *e = f->r->element + FETCH_HEAD + i * FETCH_FIELDS;
	job->id = jq_store_i64(e[0], 0);
	job->token = jq_store_i64(e[1], 0);
	job->attempts = jq_store_i64(e[2], 1);
	job->type = jq_store_str(e[3], &job->type_len);
	job->payload_bad = e[4]->type != REDIS_REPLY_STRING;
	job->payload = jq_store_str(e[4], &job->payload_len);
	if (!job->payload_len)
		job->payload = NULL;
	job->timeout_ms = jq_store_i64(e[5], 0);
	job->max_attempts = jq_store_i64(e[6], 1);
	job->queue = jq_store_str(e[7], &job->queue_len);
	job->wait_ms = jq_store_i64(e[8], 0);
	job->traceparent = jq_store_str(e[9], &job->traceparent_len);
	job->secrets = jq_store_str(e[10], &job->secrets_len);
}

int jq_store_block(struct jq_redis *r, const struct jq_keys *k, int nqueues,
		   const char *const *queues, int timeout_s, redisCallbackFn *cb, void *priv)
{
	struct jq_call c;
	jq_call_init(&c, JQ_CALL_COMMAND);
	jq_call_str(&c, "BLPOP");
	for (int i = 0; i < nqueues; i++)
		jq_call_key_wake(&c, k, queues[i]);
	/* and the promoters' list: a newly scheduled job wakes one idle worker */
	jq_call_key_wake_scheduled(&c, k);
	jq_call_i64(&c, timeout_s);
	return jq_store_send(r, &c, cb, priv);
}

int jq_store_block_woke_promoter(const redisReply *r, const struct jq_keys *k)
{
	char name[JQ_KEY_MAX];
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING)
		return 0;
	jq_keys_wake_scheduled(k, name);
	return strcmp(r->element[0]->str, name) == 0;
}
