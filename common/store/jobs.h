/* jobs.h: one bounded page of the jobs in one state, read from the set that indexes it
 * (scripts/jobs.lua; GET /jobs?state=...), and the dead-letter set: list, retry, purge
 * (scripts/dead.lua). */
#ifndef JQ_STORE_JOBS_H
#define JQ_STORE_JOBS_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

enum jq_job_index {
	JQ_INDEX_RUNNING,   /* the lease set: by lease deadline, soonest first */
	JQ_INDEX_SCHEDULED, /* the scheduled set: by due time, soonest first */
	JQ_INDEX_FAILED,    /* the dead set: by failure time, newest first */
};
/* The first limit entries of the index; jobs whose state moved on meanwhile are left out. */
int jq_store_jobs(struct jq_redis *r, const struct jq_keys *k, enum jq_job_index index,
		  int64_t limit, redisCallbackFn *cb, void *priv);
struct jq_listed_job {
	int64_t id;
	const char *score; /* the index's score (epoch ms) as text, or NULL */
	const char *state, *type, *queue, *error, *worker; /* NULL: not stored */
	int64_t attempts, max_attempts, done, total;
	const char *created_at, *started_at, *finished_at; /* epoch ms as text, or NULL */
};
/* The index's size and the n jobs listed (jq_store_listed_job(r, i, &job), i < n: entries
 * that are not a job's fields are skipped by it, returning -1). */
int jq_store_jobs_reply(const redisReply *r, int64_t *size, size_t *n, char *err, size_t errlen);
int jq_store_listed_job(const redisReply *r, size_t i, struct jq_listed_job *job);

/* The dead set, newest first. */
int jq_store_dead_list(struct jq_redis *r, const struct jq_keys *k, int64_t offset, int64_t count,
		       redisCallbackFn *cb, void *priv);
struct jq_dead_entry {
	int64_t id, failed_at_ms, attempts;
	const char *type, *queue, *error; /* in the reply; lengths below */
	size_t type_len, queue_len, error_len;
};
int jq_store_dead_list_reply(const redisReply *r, size_t *n, char *err, size_t errlen);
void jq_store_dead_entry(const redisReply *r, size_t i, struct jq_dead_entry *e);

/* Puts dead job id back in its queue. */
int jq_store_dead_retry(struct jq_redis *r, const struct jq_keys *k, int64_t id,
			redisCallbackFn *cb, void *priv);
enum jq_dead_retry_code {
	JQ_RETRY_DONE = 1,       /* pending again */
	JQ_RETRY_NOT_DEAD = 0,   /* not in the dead set */
	JQ_RETRY_EXPIRED = -10,  /* its hash expired (it left the set) */
	JQ_RETRY_KEY_HELD = -11, /* its unique_key is held by a live job: *holder */
};
int jq_store_dead_retry_reply(const redisReply *r, int64_t *holder, char *err, size_t errlen);

/* Deletes every dead job; the reply: how many. */
int jq_store_dead_purge(struct jq_redis *r, const struct jq_keys *k, redisCallbackFn *cb,
			void *priv);
int64_t jq_store_dead_purge_reply(const redisReply *r, char *err, size_t errlen);

#endif
