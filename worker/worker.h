/* worker.h: jobq-worker: takes jobs from Redis under a lease and runs them.
 *
 * One libevent loop; two async Redis connections (one blocks in BLPOP on the
 * queues' wake-up lists, with a fetch.lua queued behind it that Redis runs as soon as
 * the BLPOP returns; the other carries scripts and writes); IO jobs on
 * the loop (timers, curl multi); CPU jobs on a thread pool. A job is taken
 * and leased in one script (fetch.lua); its outcome is written with its
 * fencing token (finish.lua), retried until Redis has it. A heartbeat
 * (heartbeat.lua) renews all leases in one call; every worker calls the reaper
 * (reap.lua) every half beat, which gives back the jobs of dead workers (a stall
 * of Redis is told apart from a death: docs/reliability.md), and promotes
 * (promote.lua) due retries.
 *
 * Its rooms: worker.c (start, connections, stop), run.c (a job's life here and the
 * handler API of handler.h), fetcher.c (taking jobs), outcome.c (writing progress and
 * outcomes), upkeep.c (heartbeat, reaper, promoter, cancellations). Handlers see only
 * handler.h; the struct below is for those rooms. */
#ifndef JQ_WORKER_H
#define JQ_WORKER_H

#include <event2/event.h>
#include <stdint.h>

#include "config.h"
#include "cron_fire.h"
#include "handler.h"
#include "keys.h"
#include "redis.h"
#include "stats.h"

#define JQ_WORKER_MAX_QUEUES 16
#define JQ_WORKER_FETCH_BATCH 32

struct jq_task;

struct jq_worker_config {
	const char *redis_url;
	const char *redis_password_file; /* the Redis password, in place of the URL's; or "" */
	const char *prefix;
	const char *queues;     /* "a,b,c": strict order; "a:5,b:1": by weight */
	int64_t concurrency;    /* jobs running at once */
	int64_t threads;        /* CPU pool size */
	int64_t lease_ms;       /* backstop: a job whose lease is this old comes back */
	int64_t heartbeat_ms;   /* beat and lease renewal period; dead after 3 missed beats */
	int64_t grace_ms;       /* how long SIGTERM waits for running jobs */
	int64_t retry_base_ms;  /* first retry delay; doubles per attempt, with jitter */
	int64_t max_recoveries; /* times a job may lose its worker before it is failed */
	int64_t dead_max;       /* most jobs kept in the dead set */
	int64_t keep_completed_ms;
	int64_t keep_failed_ms;
	/* an outcome counts as written once this many replicas have it (WAIT), within
	 * replica_ack_timeout_ms; 0: once the primary has it */
	int64_t min_replicas_ack;
	int64_t replica_ack_timeout_ms;
	const char *smtp_url;
	const char *smtp_from;
	const char *smtp_user;
	const char *smtp_password;
	int64_t smtp_timeout_ms;
	struct jq_opt_list exec;      /* "NAME=/abs/path[,...]" values: what exec jobs may run */
	const char *exec_contain;     /* how exec jobs are contained: contain.h's modes */
	struct jq_opt_list http_deny; /* networks http jobs may not connect to (http_job.h) */
	const char *http_ca_file;     /* PEM certificates https jobs trust, or "": the system's */
	const char *schedule_file;    /* periodic schedules written at start-up, or "" */
};

struct jq_worker {
	struct event_base *base;
	struct jq_worker_config cfg;
	struct jq_keys keys;
	struct jq_redis *cmd, *blk, *sub; /* sub: the cancel channel */
	struct jq_cron_firer *cron;       /* fires periodic schedules on cmd (cron_fire.h) */
	struct jq_pool *pool;
	struct jq_curl_loop *curl;
	struct jq_exec *exec; /* allowed commands, and children being stopped */
	char id[JQ_WORKER_ID_MAX + 1];
	char host[64];
	int64_t started_at_ms;
	char queue_names[JQ_WORKER_MAX_QUEUES][JQ_QUEUE_NAME_MAX + 1];
	int64_t queue_weights[JQ_WORKER_MAX_QUEUES]; /* all 0: strict order */
	int nqueues;
	int weighted;
	struct jq_task *runs; /* every job taken and not yet acknowledged by Redis (run.h) */
	int64_t running;      /* runs counted against concurrency */
	int64_t unconfirmed;  /* with --min-replicas-ack: ended runs whose outcome replicas have
				not confirmed yet; they hold their slots (backpressure) */
	int fetching, blocking;
	int blk_fetching; /* slots asked by the fetch sent right behind the BLPOP, or 0 */
	int starting;     /* jobs of a fetch's answer not started yet: a job that ends as it
			     starts must not free their slots for another fetch */
	/* a queue held back by its rate limit may start jobs again: fetch even while blocked */
	struct event *rate_timer;
	int rate_due;
	int stopping;
	int deregistering; /* the last step of a clean exit */
	int refused;       /* it cannot go on (data of an earlier layout): exits 1 */
	int layout_ok;     /* Redis answered that no data of an earlier layout is there: until
			      then the worker takes no job and runs no upkeep (layout.h) */
	int64_t stop_started_us;
	struct event *beat_timer, *reap_timer, *promote_timer, *stop_timer, *sigterm, *sigint;
	int64_t promote_at_ms;              /* when promote_timer fires next */
	int64_t completed, failed, retried; /* counters for the log */
	struct jq_stats stats;              /* per (queue, type), reported with the beat */
	/* outcomes waiting to go to Redis together at the end of this loop turn */
	struct jq_task **outbox;
	size_t outbox_len, outbox_cap;
	struct event *flush_ev;
	int acking; /* a WAIT for replicas is in flight: the outbox waits for it (outcome.c) */
	int64_t unreplicated;           /* outcomes short of replicas since the last warning */
	int64_t unreplicated_warned_ms; /* monotonic */
};

int jq_worker_init(struct jq_worker *w, struct event_base *base, const struct jq_worker_config *cfg,
		   char *err, size_t errlen);
int jq_worker_run(struct jq_worker *w);
void jq_worker_release(struct jq_worker *w);

#endif
