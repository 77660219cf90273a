/* schedules.h: periodic schedules: create, replace, delete and list them
 * (scripts/schedules.lua), find the due ones (scripts/cron_due.lua), and fire one tick:
 * claim it (scripts/cron_claim.lua) and store its job in one MULTI, so that a tick makes
 * one job however many firers race for it. */
#ifndef JQ_STORE_SCHEDULES_H
#define JQ_STORE_SCHEDULES_H

#include <stddef.h>
#include <stdint.h>

#include "enqueue.h"
#include "store.h"

struct jq_schedule_put_args {
	const char *name;
	const char *def;      /* {"cron", "job"} as compact JSON with sorted keys */
	int64_t first_run_ms; /* used when the definition is new or changed */
	int replace;          /* 0: refuse a name in use */
	const char *source;   /* "api" or "config" */
	int64_t max;          /* most schedules kept */
};
int jq_store_schedule_put(struct jq_redis *r, const struct jq_keys *k,
			  const struct jq_schedule_put_args *a, redisCallbackFn *cb, void *priv);
/* Deletes schedule name: the reply is 1, or 0 if there was none (jq_store_int_reply). */
int jq_store_schedule_del(struct jq_redis *r, const struct jq_keys *k, const char *name,
			  redisCallbackFn *cb, void *priv);
/* One schedule (name) or all (NULL or ""), sorted by name. */
int jq_store_schedule_list(struct jq_redis *r, const struct jq_keys *k, const char *name,
			   redisCallbackFn *cb, void *priv);

struct jq_schedule_entry {
	const char *name; /* NUL-terminated, in the reply */
	const char *def;  /* its definition (JSON) */
	size_t def_len;
	int64_t next_ms;   /* its next run; 0 if unknown */
	const char *state; /* {"created_at", "updated_at", "source", "last_tick", ...} */
	size_t state_len;
};
/* The list's *n entries: jq_store_schedule_at(r, i, &e). */
int jq_store_schedule_list_reply(const redisReply *r, size_t *n, char *err, size_t errlen);
/* 0, or -1 if entry i is not four strings (skip it). */
int jq_store_schedule_at(const redisReply *r, size_t i, struct jq_schedule_entry *e);
/* A put's answer: its status ("created", "replaced", "unchanged", "exists", "full"; in
 * the reply) and, for the first three, the schedule as stored in *e. */
int jq_store_schedule_put_reply(const redisReply *r, const char **status,
				struct jq_schedule_entry *e, char *err, size_t errlen);

/* An integer reply (a delete's count), or JQ_STORE_LOST / JQ_STORE_ERROR. */
int64_t jq_store_int_reply(const redisReply *r, char *err, size_t errlen);

/* The schedules due now by Redis' clock, at most max. */
int jq_store_cron_due(struct jq_redis *r, const struct jq_keys *k, int64_t max, redisCallbackFn *cb,
		      void *priv);
struct jq_cron_due_reply {
	int64_t now_ms;   /* Redis' clock */
	int64_t later_ms; /* the next run after now, or -1 */
	size_t n;         /* due schedules: jq_store_cron_due_at */
	const redisReply *r;
};
int jq_store_cron_due_reply(const redisReply *r, struct jq_cron_due_reply *out, char *err,
			    size_t errlen);
/* Due schedule i: its name and definition (lengths in *name_len, *def_len) and when it
 * was due; -1 if the entry is not readable (skip it). */
int jq_store_cron_due_at(const struct jq_cron_due_reply *d, size_t i, const char **name,
			 const char **def, size_t *def_len, int64_t *due_ms);

struct jq_cron_fire_args {
	const char *name;
	int64_t read_next_ms; /* the next run the firer read */
	int64_t tick_ms;      /* the tick it fires */
	int64_t next_ms;      /* the run after it */
	int64_t job_id;
	const char *idem; /* the tick's Idempotency-Key ("cron:<name>:<tick s>") */
	int64_t idem_window_ms;
	const char *def; /* the definition the job was made from */
	size_t def_len;
	const struct jq_enqueue_args *job; /* storing the job under idem */
};
/* MULTI, cron_claim, enqueue, EXEC: the job is stored if and only if the claim won; cb
 * gets EXEC's answer (jq_store_cron_fire_reply). */
int jq_store_cron_fire(struct jq_redis *r, const struct jq_keys *k,
		       const struct jq_cron_fire_args *a, redisCallbackFn *cb, void *priv);
struct jq_cron_fire_reply {
	int claimed;           /* 0: another firer won, or the schedule changed meanwhile */
	const char *job_error; /* the enqueue's error reply, or NULL */
	int job_decoded;       /* 1: job holds the enqueue's answer */
	struct jq_enqueue_reply job;
};
/* JQ_STORE_OK when the MULTI ran (out says what became of the claim and the job), else
 * JQ_STORE_LOST / JQ_STORE_ERROR (err). */
int jq_store_cron_fire_reply(const redisReply *r, struct jq_cron_fire_reply *out, char *err,
			     size_t errlen);

/* INCR of the id counter: one id (cron firings take one each). */
int jq_store_next_id(struct jq_redis *r, const struct jq_keys *k, redisCallbackFn *cb, void *priv);

#endif
