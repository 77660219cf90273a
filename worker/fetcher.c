/* fetcher.c: taking jobs from Redis; see fetcher.h. */
#include "fetcher.h"

#include <hiredis/hiredis.h>
#include <stdlib.h>

#include "log.h"
#include "run.h"
#include "store/fetch.h"
#include "upkeep.h"
#include "util.h"
#include "worker.h"

#define BLOCK_TIMEOUT_S 1  /* BLPOP wakes at least this often to re-check */
#define FETCH_RETRY_MS 500 /* after a failed fetch (e.g. an error reply) */

static void on_block_fetch(redisAsyncContext *ac, void *reply, void *priv);

void jq_queue_order(int n, const int64_t *weights, int weighted, int *order)
{
	int64_t left = 0;
	int avail[JQ_WORKER_MAX_QUEUES];
	for (int i = 0; i < n; i++) {
		order[i] = i;
		avail[i] = 1;
		left += weights[i];
	}
	if (!weighted)
		return;
	for (int o = 0; o < n; o++) {
		int64_t pick = left > 0 ? random() % left : 0;
		int chosen = -1;
		for (int i = 0; i < n; i++) {
			if (!avail[i])
				continue;
			chosen = i; /* the last available one, should rounding leave pick over */
			if (pick < weights[i])
				break;
			pick -= weights[i];
		}
		if (chosen < 0)
			break; /* cannot happen: o < n queues left */
		order[o] = chosen;
		avail[chosen] = 0;
		left -= weights[chosen];
	}
}

/* How many jobs the next fetch may ask for: the free slots (those of fetches still out
 * count as taken), at most a batch; 0 or less when full. */
static int fetch_want(const struct jq_worker *w)
{
	int64_t free_slots = w->cfg.concurrency - w->running - w->unconfirmed - w->fetching -
			     w->blk_fetching - w->starting;
	return free_slots < JQ_WORKER_FETCH_BATCH ? (int)free_slots : JQ_WORKER_FETCH_BATCH;
}

/* Sends fetch.lua for want jobs on r; 0 if sent. */
static int send_fetch(struct jq_worker *w, struct jq_redis *r, redisCallbackFn *cb, int want)
{
	int order[JQ_WORKER_MAX_QUEUES];
	const char *queues[JQ_WORKER_MAX_QUEUES];
	jq_queue_order(w->nqueues, w->queue_weights, w->weighted, order);
	for (int o = 0; o < w->nqueues; o++)
		queues[o] = w->queue_names[order[o]];
	struct jq_fetch_args a = {w->cfg.lease_ms, w->id, want, w->nqueues, queues};
	return jq_store_fetch(r, &w->keys, &a, cb, w);
}

static void on_block(redisAsyncContext *ac, void *reply, void *priv)
{
	struct jq_worker *w = priv;
	w->blocking = 0;
	/* woken by a newly scheduled job: time the promoter for it */
	if (jq_store_block_woke_promoter(reply, &w->keys))
		jq_upkeep_promote_at(w, jq_now_ms());
	if (reply && !w->blk_fetching)
		jq_fetch_maybe(w);
	/* a fetch sent behind the BLPOP answers next; NULL: the connection dropped, and
	 * the worker fetches when it is back */
}

static void block_for_work(struct jq_worker *w)
{
	if (!jq_redis_ctx(w->blk) || w->stopping || w->blocking || w->blk_fetching)
		return; /* blocking already (a fetch the rate timer sent came back short), or
			   the fetch behind the last BLPOP still out: its answer goes on */
	const char *queues[JQ_WORKER_MAX_QUEUES];
	for (int i = 0; i < w->nqueues; i++)
		queues[i] = w->queue_names[i];
	if (jq_store_block(w->blk, &w->keys, w->nqueues, queues, BLOCK_TIMEOUT_S, on_block, w) != 0)
		return;
	w->blocking = 1;
	/* The fetch goes right behind the BLPOP on the same connection: Redis runs it the
	 * moment the BLPOP returns (a blocked client's next command waits for it), so a
	 * woken worker starts its job without another round trip. Slots asked here are
	 * held out of other fetches until it answers. */
	int want = fetch_want(w);
	if (want > 0 && send_fetch(w, w->blk, on_block_fetch, want) == 0)
		w->blk_fetching = want;
}

static void fetch_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	jq_fetch_maybe(arg);
}

/* A fetch's answer: asked slots were requested. */
static void fetched(struct jq_worker *w, redisReply *r, int asked)
{
	struct jq_fetch_reply f;
	char err[256];
	int st = jq_store_fetch_reply(r, &f, err, sizeof(err));
	if (st == JQ_STORE_LOST)
		return; /* connection lost; the worker resumes when it is back */
	if (st != JQ_STORE_OK) {
		jq_error("fetch failed: %s", err);
		struct timeval tv = {0, FETCH_RETRY_MS * 1000};
		event_base_once(w->base, -1, EV_TIMEOUT, fetch_retry_cb, w, &tv);
		return;
	}
	for (size_t i = 0; i < f.ndropped; i++) /* garbage in a queue, dropped by the script */
		jq_warn("dropped id '%.64s' from a queue: it has no job hash",
			jq_store_fetch_dropped(&f, i));
	w->starting = (int)f.njobs;
	for (size_t i = 0; i < f.njobs; i++) {
		struct jq_fetched_job job;
		jq_store_fetched(&f, i, &job);
		w->starting--;
		jq_task_start(w, &job);
	}
	/* a queue held back by its rate limit may start jobs again then; no wake token
	 * comes for it, so a timer fetches */
	if (f.rate_wait_ms > 0) {
		struct timeval tv = {f.rate_wait_ms / 1000, (f.rate_wait_ms % 1000) * 1000};
		evtimer_add(w->rate_timer, &tv);
	}
	if ((int)f.njobs < asked)
		block_for_work(w); /* the queues are empty: wait in Redis, not in a poll */
	else
		jq_fetch_maybe(w);
}

static void on_fetch(redisAsyncContext *ac, void *reply, void *priv)
{
	struct jq_worker *w = priv;
	int asked = w->fetching;
	w->fetching = 0;
	fetched(w, reply, asked);
}

static void on_block_fetch(redisAsyncContext *ac, void *reply, void *priv)
{
	struct jq_worker *w = priv;
	int asked = w->blk_fetching;
	w->blk_fetching = 0;
	fetched(w, reply, asked);
}

void jq_fetch_rate_due(evutil_socket_t fd, short what, void *arg)
{
	struct jq_worker *w = arg;
	w->rate_due = 1;
	jq_fetch_maybe(w);
}

void jq_fetch_maybe(struct jq_worker *w)
{
	if (w->stopping || w->fetching || (w->blocking && !w->rate_due) || !w->layout_ok)
		return;
	if (!jq_redis_ctx(w->cmd) || !jq_redis_ctx(w->blk))
		return;
	int want = fetch_want(w);
	if (want <= 0)
		return;
	if (send_fetch(w, w->cmd, on_fetch, want) == 0) {
		w->fetching = want;
		w->rate_due = 0;
	}
}
