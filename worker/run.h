/* run.h: a job's life in this worker, from the fetch that took it to the write Redis
 * acknowledged. For the worker's own modules (worker.c, fetcher.c, outcome.c, upkeep.c);
 * handlers see only struct jq_run and the jq_run_* calls of handler.h.
 *
 * A task is RUNNING (counted against concurrency; its handler owns the outcome) until its
 * outcome is known, then FINISHING until Redis has the outcome (outcome.h), then GONE:
 * off the worker's list, freed when the last reference drops. References: the list's,
 * one per pool job and per write in flight. */
#ifndef JQ_RUN_H
#define JQ_RUN_H

#include <event2/event.h>
#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#include "handler.h"

struct jq_worker;
struct jq_fetched_job;

enum jq_task_state { JQ_TASK_RUNNING, JQ_TASK_FINISHING, JQ_TASK_GONE };

/* How a run ended; all but REQUEUE are written by finish.lua, REQUEUE by requeue.lua. */
enum jq_end { JQ_END_COMPLETED, JQ_END_FAILED, JQ_END_FATAL, JQ_END_CANCELLED, JQ_END_REQUEUE };

struct jq_task {
	struct jq_run run; /* the handler's view */
	struct jq_worker *w;
	int64_t token;       /* fencing token: every write about this job carries it */
	msgpack_unpacked up; /* run.payload points into it */
	char *payload_bytes; /* what up points into (strings are not copied) */
	char *secrets;       /* owned; run.secrets */
	const struct jq_handler *h;
	int on_pool; /* runs (or ran) on the thread pool */
	/* CPU outcome, written by the pool thread, read on the loop after it finished */
	int cpu_rc;    /* 0 or JQ_FAIL_* */
	char *cpu_out; /* malloc'd result JSON or error text */
	enum jq_task_state state;
	int refs;
	int sending;     /* an outcome write is in flight */
	int unconfirmed; /* ended, its outcome not yet confirmed by --min-replicas-ack
			    replicas (counted in the worker's unconfirmed) */
	struct event *timeout_ev;
	char *outcome;          /* result JSON or error text while the write is pending */
	enum jq_end end;        /* once FINISHING */
	int64_t retry_delay_ms; /* backoff before a retry, chosen once per attempt */
	int stats_series;       /* its (queue, type) in the worker's stats, or -1 */
	int64_t started_us;     /* monotonic, when it started here */
	int64_t run_us;         /* how long it ran, once its outcome is known */
	struct jq_task *prev, *next;
};

static inline struct jq_task *jq_task_of(const struct jq_run *run)
{
	return (struct jq_task *)((char *)(uintptr_t)run - offsetof(struct jq_task, run));
}

/* Starts a job fetch took (its strings point into the reply, valid for this call). */
void jq_task_start(struct jq_worker *w, const struct jq_fetched_job *job);
/* RUNNING -> FINISHING with its end and text (NULL: a default), and sends the write;
 * nothing for a task no longer running. */
void jq_task_end(struct jq_task *t, enum jq_end end, const char *text);
/* Stops a running IO handler (a pool job cannot be interrupted: its result is dropped). */
void jq_task_stop_handler(struct jq_task *t);
/* Takes the task off the worker's list (GONE); the caller drops the list's reference. */
void jq_task_unlink(struct jq_task *t);
/* Drops n references at once; frees the task at zero. */
void jq_task_drop(struct jq_task *t, int n);
/* Stops the running job with this id and ends it cancelled; nothing if none runs. */
void jq_task_cancel(struct jq_worker *w, int64_t id);
/* A task whose lease another worker holds now: stopped, nothing more written. */
void jq_task_lost(struct jq_task *t);
/* Ends every running task with end (shutdown: JQ_END_REQUEUE). */
void jq_tasks_end_all(struct jq_worker *w, enum jq_end end);
/* Frees every task, nothing written (the worker's last step). */
void jq_tasks_release(struct jq_worker *w);

#endif
