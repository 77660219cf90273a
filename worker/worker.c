/* worker.c: a worker's start, connections and stop; see worker.h. Its parts: run.h (a
 * job's life here and the handler API), fetcher.h, outcome.h, upkeep.h. */
#include "worker.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "curl_loop.h"
#include "exec_job.h"
#include "fetcher.h"
#include "http_job.h"
#include "log.h"
#include "outcome.h"
#include "pool.h"
#include "run.h"
#include "store/layout.h"
#include "store/registry.h"
#include "upkeep.h"
#include "util.h"

#define STOP_POLL_MS 20

static void on_layout(redisAsyncContext *ac, void *reply, void *priv)
{
	struct jq_worker *w = priv;
	char msg[512];
	int st = jq_store_layout_reply(reply, &w->keys, msg, sizeof(msg));
	if (st == 1) {
		jq_error("refusing to run: %s", msg);
		w->refused = 1;
		event_base_loopexit(w->base, NULL);
		return;
	}
	if (st < 0) { /* the next connection asks again */
		jq_warn("redis did not say whether it holds keys of the earlier layout: %s", msg);
		return;
	}
	w->layout_ok = 1;
	if (w->cron)
		jq_cron_firer_ready(w->cron, 1);
	jq_upkeep_connected(w);
	jq_fetch_maybe(w);
}

static void redis_state_cb(struct jq_redis *r, int ready, void *arg)
{
	struct jq_worker *w = arg;
	if (r == w->cmd && w->cron && !ready)
		jq_cron_firer_ready(w->cron, 0);
	if (!ready)
		return;
	if (r == w->sub) {
		jq_upkeep_subscribe(w);
		return;
	}
	/* data of the earlier key layout would be unseen, its queued ids dropped by fetch:
	 * nothing runs before Redis says there is none (layout.h); then the firer, upkeep
	 * and fetching start from on_layout */
	if (r == w->cmd) {
		if (jq_store_layout_check(r, &w->keys, on_layout, w) != 0)
			jq_warn("could not ask redis for keys of the earlier layout");
		return;
	}
	jq_fetch_maybe(w);
}

/* ---- shutdown ---- */

static void on_deregistered(redisAsyncContext *ac, void *reply, void *priv)
{
	struct jq_worker *w = priv;
	event_base_loopexit(w->base, NULL);
}

/* A clean exit leaves no worker entry behind (else /workers and the reaper see a ghost). */
static void deregister(struct jq_worker *w)
{
	w->deregistering = 1;
	/* the last counts go first, on the same connection, so they land before we exit */
	jq_stats_flush(&w->stats, w->cmd, &w->keys);
	if (jq_store_deregister(w->cmd, &w->keys, w->id, on_deregistered, w) == 0) {
		struct timeval tv = {1, 0}; /* Redis gone quiet: leave anyway */
		event_base_loopexit(w->base, &tv);
		return;
	}
	event_base_loopexit(w->base, NULL);
}

static void stop_tick(evutil_socket_t fd, short what, void *arg)
{
	struct jq_worker *w = arg;
	int64_t waited_ms = (jq_mono_us() - w->stop_started_us) / 1000;
	if (waited_ms >= w->cfg.grace_ms) {
		/* grace is over: hand the rest back to their queues, attempts unspent */
		jq_tasks_end_all(w, JQ_END_REQUEUE);
	}
	if (!w->runs) {
		if (w->deregistering)
			return;
		jq_info("stopped: %" PRId64 " completed, %" PRId64 " retried, %" PRId64 " failed",
			w->completed, w->retried, w->failed);
		deregister(w);
		return;
	}
	if (waited_ms >= w->cfg.grace_ms + 10000) {
		if (w->unconfirmed)
			jq_error("%" PRId64 " outcome(s) not confirmed by %" PRId64
				 " replica(s) within 10 s (--min-replicas-ack): they may be on the "
				 "primary only; their leases bring the jobs back if it loses them",
				 w->unconfirmed, w->cfg.min_replicas_ack);
		else
			jq_error("redis did not take the last outcomes within 10 s; their leases "
				 "bring the jobs back");
		event_base_loopexit(w->base, NULL);
		return;
	}
	struct timeval tv = {0, STOP_POLL_MS * 1000};
	evtimer_add(w->stop_timer, &tv);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct jq_worker *w = arg;
	if (w->stopping) {
		jq_warn("second signal: requeueing running jobs now");
		w->cfg.grace_ms = 0;
		return;
	}
	w->stopping = 1;
	w->stop_started_us = jq_mono_us();
	jq_info("signal %d: no longer fetching; waiting up to %" PRId64 " ms for %" PRId64
		" running jobs",
		(int)sig, w->cfg.grace_ms, w->running);
	stop_tick(-1, 0, w);
}

/* ---- lifecycle ---- */

static int parse_queues(struct jq_worker *w, const char *list, char *err, size_t errlen)
{
	const char *p = list;
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		size_t item = n;
		/* "name:weight": a trailing ":<digits>" is a weight (so a queue whose own name
		 * ends in ":<digits>" needs an explicit weight, "a:5:1") */
		const char *colon = NULL;
		for (const char *q = p + n; q > p; q--)
			if (q[-1] == ':') {
				colon = q - 1;
				break;
			}
		int64_t weight = 0;
		if (colon && colon + 1 < p + n &&
		    strspn(colon + 1, "0123456789") >= (size_t)(p + n - colon - 1)) {
			if (jq_parse_i64n(colon + 1, (size_t)(p + n - colon - 1), 1, 1000,
					  &weight) != 0) {
				snprintf(err, errlen, "queue weight in '%.*s' must be 1 to 1000",
					 (int)n, p);
				return -1;
			}
			n = (size_t)(colon - p);
			w->weighted = 1;
		}
		if (!jq_name_valid(p, n)) {
			snprintf(err, errlen, "queue name '%.*s' is not valid", (int)n, p);
			return -1;
		}
		if (w->nqueues == JQ_WORKER_MAX_QUEUES) {
			snprintf(err, errlen, "at most %d queues", JQ_WORKER_MAX_QUEUES);
			return -1;
		}
		memcpy(w->queue_names[w->nqueues], p, n);
		w->queue_names[w->nqueues][n] = '\0';
		w->queue_weights[w->nqueues] = weight ? weight : 1;
		w->nqueues++;
		p += item;
		if (*p == ',')
			p++;
	}
	if (w->nqueues == 0) {
		snprintf(err, errlen, "no queues to serve");
		return -1;
	}
	return 0;
}

/* w->host and w->id: host:pid:random, unique among the workers of one Redis. */
static void set_id(struct jq_worker *w)
{
	char *host = w->host;
	if (gethostname(host, sizeof(w->host) - 1) != 0)
		strcpy(host, "localhost");
	unsigned rnd = (unsigned)(jq_mono_us() ^ (int64_t)getpid() << 16);
	snprintf(w->id, sizeof(w->id), "%s:%d:%04x", host, (int)getpid(), rnd & 0xffff);
}

/* The rules of exec and http jobs from cfg (--exec, --exec-contain, --http-deny,
 * --http-ca-file), and w->exec; *ncmds: the programs exec jobs may run. */
static int job_types_init(struct jq_worker *w, const struct jq_worker_config *cfg, int *ncmds,
			  char *err, size_t errlen)
{
	struct jq_exec_command cmds[JQ_EXEC_COMMANDS_MAX];
	*ncmds = 0;
	for (int i = 0; i < cfg->exec.n; i++)
		if (jq_exec_spec_parse(cfg->exec.v[i], cmds, ncmds, JQ_EXEC_COMMANDS_MAX, err,
				       errlen) != 0)
			return -1;
	struct jq_httpjob_deny deny = {.n = 0};
	for (int i = 0; i < cfg->http_deny.n; i++)
		if (jq_httpjob_deny_add(&deny, cfg->http_deny.v[i], err, errlen) != 0)
			return -1;
	jq_httpjob_set_deny(&deny);
	if (jq_httpjob_set_ca_file(cfg->http_ca_file, err, errlen) != 0)
		return -1;
	w->exec = jq_exec_new(w->base, cmds, *ncmds, cfg->exec_contain, err, errlen);
	return w->exec ? 0 : -1;
}

/* The worker's timers and signal handlers. */
static void events_init(struct jq_worker *w)
{
	struct event_base *base = w->base;
	w->rate_timer = evtimer_new(base, jq_fetch_rate_due, w);
	w->flush_ev = event_new(base, -1, 0, jq_outcome_flush, w);
	w->stop_timer = evtimer_new(base, stop_tick, w);
	w->sigterm = evsignal_new(base, SIGTERM, signal_cb, w);
	w->sigint = evsignal_new(base, SIGINT, signal_cb, w);
	evsignal_add(w->sigterm, NULL);
	evsignal_add(w->sigint, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* an ignored SIGCHLD survives exec: from a parent that ignores it, the kernel would
	 * reap exec jobs' programs itself and their exit statuses would be lost */
	signal(SIGCHLD, SIG_DFL);
}

int jq_worker_init(struct jq_worker *w, struct event_base *base, const struct jq_worker_config *cfg,
		   char *err, size_t errlen)
{
	memset(w, 0, sizeof(*w));
	w->base = base;
	w->cfg = *cfg;
	if (jq_keys_init(&w->keys, cfg->prefix) != 0) {
		snprintf(err, errlen, "bad key prefix '%s'", cfg->prefix);
		return -1;
	}
	if (parse_queues(w, cfg->queues, err, errlen) != 0)
		return -1;
	struct jq_redis_url url;
	if (jq_redis_url_load(cfg->redis_url, cfg->redis_password_file, &url, err, errlen) != 0)
		return -1;
	struct jq_schedule *config = NULL;
	size_t nconfig = 0;
	if (cfg->schedule_file && cfg->schedule_file[0] &&
	    jq_schedule_file_load(cfg->schedule_file, &config, &nconfig, err, errlen) != 0)
		return -1;
	set_id(w);
	int ncmds;
	if (job_types_init(w, cfg, &ncmds, err, errlen) != 0) {
		jq_schedules_free(config, nconfig);
		return -1;
	}
	w->pool = jq_pool_new(base, (int)cfg->threads);
	w->curl = jq_curl_loop_new(base);
	if (!w->pool || !w->curl) {
		snprintf(err, errlen, "cannot start the thread pool or curl");
		jq_pool_free(w->pool);
		jq_curl_loop_free(w->curl);
		jq_exec_free(w->exec);
		jq_schedules_free(config, nconfig);
		return -1;
	}
	w->started_at_ms = jq_now_ms();
	jq_stats_init(&w->stats);
	srandom((unsigned)(jq_mono_us() ^ getpid()));
	if (jq_upkeep_init(w) != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	events_init(w);
	w->cmd = jq_redis_new(base, &url, "worker-cmd", redis_state_cb, w);
	/* cmd is ready on a later loop turn at the earliest: the firer hears of it */
	w->cron = jq_cron_firer_new(base, w->cmd, &w->keys, config, nconfig);
	if (!w->cron) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	w->blk = jq_redis_new(base, &url, "worker-fetch", redis_state_cb, w);
	w->sub = jq_redis_new(base, &url, "worker-events", redis_state_cb, w);
	jq_info("worker %s serving %s with concurrency %" PRId64 " and %" PRId64 " threads", w->id,
		cfg->queues, cfg->concurrency, cfg->threads);
	if (ncmds)
		jq_info("exec jobs may run: %s", jq_exec_names(w->exec));
	return 0;
}

int jq_worker_run(struct jq_worker *w)
{
	return event_base_dispatch(w->base) < 0 || w->refused ? -1 : 0;
}

void jq_worker_release(struct jq_worker *w)
{
	/* stopping already: a signal more must not kill the teardown (freeing the signal
	 * events below restores the default action; nothing is spawned from here on) */
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	/* threads first: after this no pool work is running */
	jq_pool_free(w->pool);
	jq_redis_free(w->sub);
	jq_redis_free(w->blk);
	jq_redis_free(w->cmd);
	jq_cron_firer_free(w->cron); /* after its connection answered what was in flight */
	jq_tasks_release(w);
	jq_exec_free(w->exec); /* children of stopped exec jobs: killed and reaped */
	jq_curl_loop_free(w->curl);
	jq_stats_release(&w->stats); /* after w->cmd: its last report's callback touched it */
	jq_upkeep_release(w);
	if (w->rate_timer)
		event_free(w->rate_timer);
	if (w->flush_ev)
		event_free(w->flush_ev);
	free(w->outbox);
	if (w->stop_timer)
		event_free(w->stop_timer);
	if (w->sigterm)
		event_free(w->sigterm);
	if (w->sigint)
		event_free(w->sigint);
}
