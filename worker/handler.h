/* handler.h: the contract between the worker and a job type.
 *
 * A job type is one handler file plus one row in the table of handlers.c.
 * IO handlers run on the event loop and must never block it; CPU handlers run
 * on a pool thread and must not touch the loop, Redis or the run's worker. */
#ifndef JQ_HANDLER_H
#define JQ_HANDLER_H

#include <event2/event.h>
#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#include "job.h"
#include "keys.h"
#include "log.h"

struct jq_exec;
struct jq_curl_loop;
struct jq_worker_config;

/* How an attempt failed: worth another attempt, or never going to work. */
#define JQ_FAIL_RETRY (-1)
#define JQ_FAIL_FATAL (-2)

/* One job being run by this worker, as its handler sees it. The worker owns it (its
 * bookkeeping is around it, in run.h, which handlers never include); a handler keeps a
 * pointer only until it reports the outcome (or is cancelled). */
struct jq_run {
	int64_t id;
	int64_t attempts, max_attempts, timeout_ms;
	char type[JQ_TYPE_NAME_MAX + 1];
	char queue[JQ_QUEUE_NAME_MAX + 1];
	char traceparent[JQ_TRACEPARENT_LEN + 1]; /* W3C trace context of the request, or "" */
	const msgpack_object *payload;            /* valid for the run's life */
	/* the job's secrets: a msgpack map name -> string (checked when enqueued), or NULL.
	 * Never logged or written back (jq_secret_get reads one) */
	const char *secrets;
	size_t secrets_len;
	void *hdata; /* the handler's own state */
};

struct jq_handler {
	const char *type;
	/* IO: start on the loop. 0 = started, and exactly one jq_run_done() follows
	 * unless cancel() is called first; -1 = the job cannot run (bad payload):
	 * failed with err and never retried. */
	int (*start)(struct jq_run *run, char *err, size_t errlen);
	/* IO: stop a started job (timeout, lease lost, shutdown); no jq_run_done() after. */
	void (*cancel)(struct jq_run *run);
	/* CPU: run on a pool thread. 0 with *out = malloc'd result JSON (or NULL),
	 * or JQ_FAIL_RETRY / JQ_FAIL_FATAL with *out = malloc'd error text. */
	int (*cpu)(struct jq_run *run, char **out);
	/* For types that can run either way: 1 to run this job on the pool. */
	int (*wants_pool)(const struct jq_run *run);
};

/* The handler of a type, or NULL. */
const struct jq_handler *jq_handler_find(const char *type);

/* Logs a line about run: its id, type, queue, attempt and traceparent go with it
 * (log.h, jq_log_job), so every line about a job can be found by them. */
void jq_run_log(const struct jq_run *run, enum jq_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Reports a running IO job's progress (fire and forget, fenced by the token). */
void jq_run_progress(struct jq_run *run, int64_t done, int64_t total);
/* Reports an IO job's outcome: ok with result JSON text (NULL for null), or
 * a failure (retried while attempts remain) with an error text. Exactly
 * once; the run may be freed on return. */
void jq_run_done(struct jq_run *run, int ok, const char *text);
/* A failure that no retry can mend (unknown type, bad payload): straight to dead. */
void jq_run_fatal(struct jq_run *run, const char *text);

/* Worker settings that handlers read. */
const struct jq_worker_config *jq_run_config(const struct jq_run *run);
struct jq_curl_loop *jq_run_curl(const struct jq_run *run);
struct event_base *jq_run_base(const struct jq_run *run);
/* The commands exec jobs may run, and their children (exec_job.h). */
struct jq_exec *jq_run_exec(const struct jq_run *run);

/* jq_strdup_printf, a malloc'd printf for handlers' texts, is in util.h */
#include "util.h"

#endif
