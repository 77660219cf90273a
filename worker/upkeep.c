/* upkeep.c: heartbeat, reaper, promoter and the cancel channel; see upkeep.h. */
#include "upkeep.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "outcome.h"
#include "run.h"
#include "store/heartbeat.h"
#include "store/reap.h"
#include "store/registry.h"
#include "util.h"
#include "worker.h"

#define PROMOTE_IDLE_MS 250 /* promote at least this often, for workers too busy to block */
#define PROMOTE_BATCH 1000
#define REAP_BATCH 1000
/* After a stall (docs/reliability.md) the reaper waits 3 beats and this long before it
 * declares a worker dead: a worker whose connection dropped reconnects within the
 * backoff's 2 s ceiling (redis.h) and then beats at once. */
#define REAP_RECONNECT_MS 2500

static int64_t reap_grace_ms(const struct jq_worker *w)
{
	return 3 * w->cfg.heartbeat_ms + REAP_RECONNECT_MS;
}

/* ---- reaper ---- */

static void on_reaped(redisAsyncContext *ac, void *reply, void *priv)
{
	struct jq_worker *w = priv;
	struct jq_reap_reply rr;
	char err[256];
	int st = jq_store_reap_reply(reply, &rr, err, sizeof(err));
	if (st == JQ_STORE_ERROR) {
		jq_error("reaper failed: %s", err);
		return;
	}
	if (st != JQ_STORE_OK || rr.not_a_turn)
		return; /* not a turn: another call was less than a beat ago */
	if (rr.stall_ms > 0)
		jq_warn("reaper: no reaper reached Redis for %" PRId64
			" ms, or Redis restarted: no "
			"worker is declared dead and no lease is taken back for %" PRId64 " ms",
			rr.stall_ms, reap_grace_ms(w));
	if (rr.recovered || rr.poisoned || rr.dead_workers)
		jq_warn("reaper: %" PRId64 " jobs given back, %" PRId64
			" failed as poison, %" PRId64 " dead workers",
			rr.recovered, rr.poisoned, rr.dead_workers);
}

/* Every worker calls the reaper every half beat; reap.lua makes one call per beat a
 * turn, and tells a stall of Redis from dead workers by the gaps between the calls. */
static void reap(struct jq_worker *w)
{
	struct jq_reap_args a = {w->cfg.heartbeat_ms, 3 * w->cfg.heartbeat_ms,
				 reap_grace_ms(w),    w->cfg.max_recoveries,
				 REAP_BATCH,          w->cfg.keep_failed_ms,
				 w->cfg.dead_max};
	jq_store_reap(w->cmd, &w->keys, &a, on_reaped, w);
}

static void reap_tick(evutil_socket_t fd, short what, void *arg)
{
	struct jq_worker *w = arg;
	if (!w->deregistering && w->layout_ok) /* not on data of an earlier layout */
		reap(w);
}

/* ---- heartbeat and cancellations ---- */

/* The beat answers with the ids of our jobs whose cancellation was requested: the
 * backstop for a message on the cancel channel that we missed. */
static void on_beat(redisAsyncContext *ac, void *reply, void *priv)
{
	struct jq_worker *w = priv;
	size_t n;
	char err[256];
	if (jq_store_heartbeat_reply(reply, &n, err, sizeof(err)) != JQ_STORE_OK)
		return;
	for (size_t i = 0; i < n; i++) {
		int64_t id = jq_store_heartbeat_cancel(reply, i);
		if (id)
			jq_task_cancel(w, id);
	}
}

static void on_cancel_message(redisAsyncContext *ac, void *reply, void *priv)
{
	int64_t id = jq_store_cancel_message(reply);
	if (id)
		jq_task_cancel(priv, id);
}

void jq_upkeep_subscribe(struct jq_worker *w)
{
	jq_store_subscribe_cancel(w->sub, &w->keys, on_cancel_message, w);
}

/* What /workers shows of this worker: malloc'd JSON, or NULL. */
static char *worker_info(const struct jq_worker *w)
{
	json_t *queues = json_array();
	for (int i = 0; i < w->nqueues; i++)
		json_array_append_new(queues, json_string(w->queue_names[i]));
	json_t *j = json_pack(
		"{s:s,s:s,s:i,s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "id", w->id, "host", w->host,
		"pid", (int)getpid(), "queues", queues, "concurrency",
		(json_int_t)w->cfg.concurrency, "threads", (json_int_t)w->cfg.threads, "running",
		(json_int_t)w->running, "started_at", (json_int_t)w->started_at_ms, "completed",
		(json_int_t)w->completed, "failed", (json_int_t)w->failed, "unconfirmed",
		(json_int_t)w->unconfirmed, "heartbeat_ms", (json_int_t)w->cfg.heartbeat_ms);
	char *info = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	return info;
}

/* Every heartbeat_ms: say we are alive and renew every lease we hold in one script,
 * and retry outcome writes that did not get through. */
static void beat_tick(evutil_socket_t fd, short what, void *arg)
{
	struct jq_worker *w = arg;
	/* no beat before Redis said its data is of this layout (worker.c, on_layout) */
	if (!jq_redis_ctx(w->cmd) || w->deregistering || !w->layout_ok)
		return;
	size_t n = 0;
	for (struct jq_task *t = w->runs; t; t = t->next)
		n++;
	int64_t *ids = malloc(sizeof(*ids) * (n + 1));
	char *info = worker_info(w);
	if (ids && info) {
		size_t i = 0;
		for (struct jq_task *t = w->runs; t; t = t->next)
			ids[i++] = t->run.id;
		struct jq_heartbeat_args a = {.worker = w->id,
					      .info = info,
					      .lease_ms = w->cfg.lease_ms, /* from Redis' TIME */
					      .ttl_ms = 3 * w->cfg.heartbeat_ms + w->cfg.lease_ms,
					      .beat_ms = w->cfg.heartbeat_ms,
					      .njobs = n,
					      .jobs = ids};
		jq_store_heartbeat(w->cmd, &w->keys, &a, on_beat, w);
	}
	free(ids);
	free(info);
	jq_stats_flush(&w->stats, w->cmd, &w->keys);
	for (struct jq_task *t = w->runs; t; t = t->next)
		if (t->state == JQ_TASK_FINISHING)
			jq_outcome_send(t);
}

/* ---- promoter ---- */

static void on_promoted(redisAsyncContext *ac, void *reply, void *priv)
{
	struct jq_worker *w = priv;
	int64_t wait = PROMOTE_IDLE_MS;
	struct jq_promote_reply pr;
	char err[256];
	int st = jq_store_promote_reply(reply, &pr, err, sizeof(err));
	if (st == JQ_STORE_OK) {
		if (pr.moved > 0)
			jq_debug("promoted %" PRId64 " scheduled jobs", pr.moved);
		if (pr.next_ms >= 0 && pr.next_ms < wait)
			wait = pr.next_ms; /* ms until the next is due, by Redis' clock */
	} else if (st == JQ_STORE_ERROR) {
		jq_error("promote failed: %s", err);
	}
	jq_upkeep_promote_at(w, jq_now_ms() + wait);
}

static void promote_tick(evutil_socket_t fd, short what, void *arg)
{
	struct jq_worker *w = arg;
	w->promote_at_ms = 0;
	if (!w->layout_ok)
		return; /* on_layout starts promoting */
	struct jq_promote_args a = {PROMOTE_BATCH};
	if (jq_store_promote(w->cmd, &w->keys, &a, on_promoted, w) != 0)
		jq_upkeep_promote_at(w, jq_now_ms() + PROMOTE_IDLE_MS);
}

void jq_upkeep_promote_at(struct jq_worker *w, int64_t at_ms)
{
	if (w->promote_at_ms && w->promote_at_ms <= at_ms)
		return;
	int64_t delay = at_ms - jq_now_ms();
	if (delay < 1)
		delay = 1;
	w->promote_at_ms = at_ms;
	struct timeval tv = {delay / 1000, (delay % 1000) * 1000};
	evtimer_add(w->promote_timer, &tv);
}

/* ---- timers ---- */

void jq_upkeep_connected(struct jq_worker *w)
{
	beat_tick(-1, 0, w); /* also resends outcomes that waited for Redis */
	reap(w);             /* behind our own beat, on the same connection */
	jq_upkeep_promote_at(w, jq_now_ms());
}

int jq_upkeep_init(struct jq_worker *w)
{
	w->beat_timer = event_new(w->base, -1, EV_PERSIST, beat_tick, w);
	w->reap_timer = event_new(w->base, -1, EV_PERSIST, reap_tick, w);
	w->promote_timer = evtimer_new(w->base, promote_tick, w);
	if (!w->beat_timer || !w->reap_timer || !w->promote_timer)
		return -1;
	int64_t beat = w->cfg.heartbeat_ms, half = beat / 2;
	struct timeval tv = {beat / 1000, (beat % 1000) * 1000};
	struct timeval tv_half = {half / 1000, (half % 1000) * 1000};
	evtimer_add(w->beat_timer, &tv);
	evtimer_add(w->reap_timer, &tv_half);
	return 0;
}

void jq_upkeep_release(struct jq_worker *w)
{
	if (w->beat_timer)
		event_free(w->beat_timer);
	if (w->reap_timer)
		event_free(w->reap_timer);
	if (w->promote_timer)
		event_free(w->promote_timer);
	w->beat_timer = w->reap_timer = w->promote_timer = NULL;
}
