/* worker.c: fetch loop, run lifecycle, leases and shutdown; see worker.h. */
#include "worker.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "curl_loop.h"
#include "exec_job.h"
#include "http_job.h"
#include "log.h"
#include "pool.h"
#include "store/fetch.h"
#include "store/finish.h"
#include "store/heartbeat.h"
#include "store/progress.h"
#include "store/reap.h"
#include "store/registry.h"
#include "store/requeue.h"
#include "util.h"

#define BLOCK_TIMEOUT_S 1     /* BLPOP wakes at least this often to re-check */
#define FETCH_RETRY_MS 500    /* after a failed fetch (e.g. an error reply) */
#define STOP_POLL_MS 20
#define RETRY_MAX_MS (3600 * 1000LL)
#define PROMOTE_IDLE_MS 250    /* promote at least this often, for workers too busy to block */
#define PROMOTE_BATCH 1000
#define REAP_BATCH 1000
/* After a stall (docs/reliability.md) the reaper waits 3 beats and this long before it
 * declares a worker dead: a worker whose connection dropped reconnects within the
 * backoff's 2 s ceiling (redis.h) and then beats at once. */
#define REAP_RECONNECT_MS 2500

enum run_state {
	RUN_RUNNING,   /* counted against concurrency; the handler owns the outcome */
	RUN_FINISHING, /* outcome known, waiting until Redis has it */
	RUN_GONE,      /* acknowledged (or lease lost); waiting for the last reference */
};

enum outcome { OUT_COMPLETED, OUT_FAILED, OUT_FATAL, OUT_CANCELLED, OUT_REQUEUE };

static void maybe_fetch(struct jq_worker *w);
static int64_t reap_grace_ms(const struct jq_worker *w)
{
	return 3 * w->cfg.heartbeat_ms + REAP_RECONNECT_MS;
}
static int fetch_want(const struct jq_worker *w);
static int send_fetch(struct jq_worker *w, struct jq_redis *r, redisCallbackFn *cb, int want);
static void on_block_fetch(redisAsyncContext *ac, void *reply, void *priv);
static void send_outcome(struct jq_run *run);

/* ---- run lifetime ---- */

/* Drops n references at once (one call, so nothing touches run after a free). */
static void run_drop(struct jq_run *run, int n)
{
	run->refs -= n;
	if (run->refs > 0)
		return;
	if (run->timeout_ev)
		event_free(run->timeout_ev);
	msgpack_unpacked_destroy(&run->up);
	free(run->payload_bytes);
	free(run->secrets);
	free(run->outcome);
	free(run->cpu_out);
	free(run);
}

static void run_unref(struct jq_run *run) { run_drop(run, 1); }

/* Takes the run off the worker's list; the caller drops the list's reference. */
static void run_unlink(struct jq_run *run)
{
	struct jq_worker *w = run->w;
	if (run->prev)
		run->prev->next = run->next;
	else
		w->runs = run->next;
	if (run->next)
		run->next->prev = run->prev;
	run->prev = run->next = NULL;
	run->state = RUN_GONE;
}

/* Moves a running job to "finishing" with its outcome and starts the write. */
static void run_finish(struct jq_run *run, enum outcome out, const char *text)
{
	struct jq_worker *w = run->w;
	if (run->state != RUN_RUNNING)
		return;
	run->state = RUN_FINISHING;
	run->run_us = jq_mono_us() - run->started_us;
	w->running--;
	if (run->timeout_ev)
		evtimer_del(run->timeout_ev);
	run->outcome_ok = (int)out;
	run->outcome = strdup(text ? text : (out == OUT_COMPLETED ? "null" : "unknown error"));
	send_outcome(run);
	maybe_fetch(w);
}

void jq_run_log(const struct jq_run *run, enum jq_log_level level, const char *fmt, ...)
{
	struct jq_log_job job = {run->id, run->type, run->queue, run->attempts, run->traceparent};
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	jq_log_job(level, &job, "%s", msg);
}

void jq_run_done(struct jq_run *run, int ok, const char *text)
{
	if (!ok)
		jq_run_log(run, JQ_LOG_WARN,
			   "job %" PRId64 " (%s, queue %s) attempt %" PRId64 "/%" PRId64 " failed: %s",
			   run->id, run->type, run->queue, run->attempts, run->max_attempts,
			   text ? text : "");
	run_finish(run, ok ? OUT_COMPLETED : OUT_FAILED, text);
}

void jq_run_fatal(struct jq_run *run, const char *text)
{
	jq_run_log(run, JQ_LOG_WARN, "job %" PRId64 " (%s, queue %s) cannot run: %s", run->id,
		   run->type, run->queue, text);
	run_finish(run, OUT_FATAL, text);
}

/* Exponential backoff with jitter: base * 2^(attempt-1), capped, times 0.75..1.25. */
static int64_t retry_delay_ms(const struct jq_worker *w, int64_t attempt)
{
	int64_t d = w->cfg.retry_base_ms;
	for (int64_t i = 1; i < attempt && d < RETRY_MAX_MS; i++)
		d *= 2;
	if (d > RETRY_MAX_MS)
		d = RETRY_MAX_MS;
	return d * 3 / 4 + (int64_t)((double)(d / 2) * ((double)random() / RAND_MAX));
}

static void schedule_promote(struct jq_worker *w, int64_t at_ms);

const struct jq_worker_config *jq_run_config(const struct jq_run *run) { return &run->w->cfg; }
struct jq_curl_loop *jq_run_curl(const struct jq_run *run) { return run->w->curl; }
struct event_base *jq_run_base(const struct jq_run *run) { return run->w->base; }
struct jq_exec *jq_run_exec(const struct jq_run *run) { return run->w->exec; }

/* ---- writes about a run ---- */

/* Applies Redis' answer about one run's outcome: code is finish.h's (or, for a requeue,
 * requeue.h's) or JQ_STORE_LOST / JQ_STORE_ERROR (err says why). */
static void outcome_written(struct jq_run *run, int code, const char *err)
{
	int drop = 1; /* the reference the write held */
	run->sending = 0;
	if (run->state != RUN_FINISHING || code == JQ_STORE_LOST) {
		/* the connection dropped; resent once it is back */
	} else if (code < 0) {
		jq_run_log(run, JQ_LOG_ERROR,
			   "job %" PRId64 ": writing its outcome failed: %s (will retry)", run->id,
			   err);
	} else {
		static const enum jq_stat stat_of_code[] = {
		    [JQ_FINISH_COMPLETED] = JQ_STAT_COMPLETED, [JQ_FINISH_RETRY] = JQ_STAT_RETRIED,
		    [JQ_FINISH_DEAD] = JQ_STAT_FAILED, [JQ_FINISH_CANCELLED] = JQ_STAT_CANCELLED};
		if (run->outcome_ok != OUT_REQUEUE && code >= JQ_FINISH_COMPLETED &&
		    code <= JQ_FINISH_CANCELLED)
			jq_stats_finished(&run->w->stats, run->stats_series, stat_of_code[code],
					  run->run_us);
		if (code == JQ_FINISH_STALE) /* == JQ_REQUEUE_STALE */
			jq_run_log(run, JQ_LOG_WARN,
				   "job %" PRId64 ": lease lost before the outcome was written; "
				   "outcome dropped (the job runs again elsewhere)",
				   run->id);
		else if (run->outcome_ok == OUT_REQUEUE && code == JQ_REQUEUE_CANCELLED)
			jq_run_log(run, JQ_LOG_INFO, "job %" PRId64 " (%s, queue %s) cancelled",
				   run->id, run->type, run->queue);
		else if (run->outcome_ok == OUT_REQUEUE)
			jq_run_log(run, JQ_LOG_INFO, "job %" PRId64 " (%s, queue %s) returned to its queue",
				   run->id, run->type, run->queue);
		else if (code == JQ_FINISH_COMPLETED) {
			run->w->completed++;
			jq_run_log(run, JQ_LOG_DEBUG, "job %" PRId64 " (%s, queue %s) completed",
				   run->id, run->type, run->queue);
		} else if (code == JQ_FINISH_CANCELLED) {
			jq_run_log(run, JQ_LOG_INFO, "job %" PRId64 " (%s, queue %s) cancelled",
				   run->id, run->type, run->queue);
		} else if (code == JQ_FINISH_RETRY) {
			run->w->retried++;
			schedule_promote(run->w, jq_now_ms() + run->retry_delay_ms);
		} else {
			run->w->failed++;
			jq_run_log(run, JQ_LOG_WARN,
				   "job %" PRId64 " (%s, queue %s) failed for good: moved to dead",
				   run->id, run->type, run->queue);
		}
		run_unlink(run);
		drop++; /* and the list's */
	}
	run_drop(run, drop);
}

static void on_requeued(redisAsyncContext *ac, void *reply, void *priv)
{
	char err[256];
	outcome_written(priv, jq_store_requeue_reply(reply, err, sizeof(err)), err);
}

/* A batch of finish outcomes in flight. */
struct outbatch {
	size_t n;
	struct jq_run *runs[];
};

static void on_finished(redisAsyncContext *ac, void *reply, void *priv)
{
	struct outbatch *ob = priv;
	char err[256];
	for (size_t i = 0; i < ob->n; i++)
		outcome_written(ob->runs[i], jq_store_finish_reply(reply, ob->n, i, err, sizeof(err)),
				err);
	free(ob);
}

#define FINISH_BATCH_MAX 256

/* Sends every outcome queued this loop turn, FINISH_BATCH_MAX per script call. */
static void flush_outbox(evutil_socket_t fd, short what, void *arg)
{
	struct jq_worker *w = arg;
	size_t at = 0;
	while (at < w->outbox_len) {
		size_t n = w->outbox_len - at;
		if (n > FINISH_BATCH_MAX)
			n = FINISH_BATCH_MAX;
		struct outbatch *ob = malloc(sizeof(*ob) + n * sizeof(ob->runs[0]));
		struct jq_outcome *outs = malloc(n * sizeof(*outs));
		int rc = -1;
		if (ob && outs) {
			static const enum jq_outcome_kind kinds[] = {
			    [OUT_COMPLETED] = JQ_OUTCOME_COMPLETED, [OUT_FAILED] = JQ_OUTCOME_FAILED,
			    [OUT_FATAL] = JQ_OUTCOME_FATAL, [OUT_CANCELLED] = JQ_OUTCOME_CANCELLED};
			for (size_t i = 0; i < n; i++) {
				struct jq_run *run = w->outbox[at + i];
				if (!run->retry_delay_ms)
					run->retry_delay_ms = retry_delay_ms(w, run->attempts);
				outs[i] = (struct jq_outcome){run->id,	       run->token,
							      kinds[run->outcome_ok], run->outcome,
							      run->retry_delay_ms, run->queue};
				ob->runs[i] = run;
			}
			ob->n = n;
			struct jq_finish_args fa = {w->cfg.keep_completed_ms, w->cfg.keep_failed_ms,
						    w->cfg.dead_max, n, outs};
			rc = jq_store_finish(w->cmd, &w->keys, &fa, on_finished, ob);
		}
		free(outs);
		if (rc != 0) {
			/* not sent (Redis away): the beat or the reconnect resends them */
			free(ob);
			for (size_t i = 0; i < n; i++) {
				w->outbox[at + i]->sending = 0;
				run_unref(w->outbox[at + i]);
			}
		}
		at += n;
	}
	w->outbox_len = 0;
}

static void send_outcome(struct jq_run *run)
{
	struct jq_worker *w = run->w;
	if (run->sending || run->state != RUN_FINISHING)
		return;
	if (run->outcome_ok == OUT_REQUEUE) {
		struct jq_requeue_args ra = {run->id, run->token, run->queue,
					     w->cfg.keep_completed_ms};
		if (jq_store_requeue(w->cmd, &w->keys, &ra, on_requeued, run) == 0) {
			run->sending = 1;
			run->refs++;
		}
		return;
	}
	if (!jq_redis_ctx(w->cmd))
		return; /* resent when Redis is back (redis_state_cb) or on the beat */
	if (w->outbox_len == w->outbox_cap) {
		size_t cap = w->outbox_cap ? 2 * w->outbox_cap : 64;
		struct jq_run **nb = realloc(w->outbox, cap * sizeof(*nb));
		if (!nb)
			return; /* the beat retries */
		w->outbox = nb;
		w->outbox_cap = cap;
	}
	w->outbox[w->outbox_len++] = run;
	run->sending = 1;
	run->refs++;
	if (w->outbox_len == 1)
		event_active(w->flush_ev, EV_TIMEOUT, 0);
}

static void on_progress_written(redisAsyncContext *ac, void *reply, void *priv)
{
	struct jq_run *run = priv;
	char err[256];
	if (jq_store_progress_reply(reply, err, sizeof(err)) == 0 && run->state == RUN_RUNNING) {
		/* someone else holds the lease now: stop, and write nothing more */
		jq_run_log(run, JQ_LOG_WARN, "job %" PRId64 ": lease lost while running; stopping it",
			   run->id);
		if (run->h && run->h->cancel && !run->on_pool)
			run->h->cancel(run);
		run->state = RUN_GONE;
		run->w->running--;
		if (run->timeout_ev)
			evtimer_del(run->timeout_ev);
		run_unlink(run);
		maybe_fetch(run->w);
		run_drop(run, 2); /* the list's and this write's */
		return;
	}
	run_unref(run);
}

void jq_run_progress(struct jq_run *run, int64_t done, int64_t total)
{
	struct jq_worker *w = run->w;
	struct jq_progress_args pa = {run->id, run->token, done, total, run->queue};
	if (jq_store_progress(w->cmd, &w->keys, &pa, on_progress_written, run) == 0)
		run->refs++;
	/* progress is advisory: when Redis is away the next step writes it again */
}

/* ---- running a job ---- */

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct jq_run *run = arg;
	if (run->state != RUN_RUNNING)
		return;
	if (!run->on_pool && run->h && run->h->cancel)
		run->h->cancel(run);
	/* a pool job cannot be interrupted: its thread finishes and the result is dropped */
	char msg[96];
	snprintf(msg, sizeof(msg), "timed out after %" PRId64 " ms", run->timeout_ms);
	jq_run_done(run, 0, msg);
}

static void pool_work(void *arg)
{
	struct jq_run *run = arg;
	run->cpu_rc = run->h->cpu(run, &run->cpu_out);
}

static void pool_done(void *arg)
{
	struct jq_run *run = arg;
	if (run->state == RUN_RUNNING) {
		if (run->cpu_rc == JQ_FAIL_FATAL)
			jq_run_fatal(run, run->cpu_out ? run->cpu_out : "failed");
		else
			jq_run_done(run, run->cpu_rc == 0, run->cpu_out);
	}
	run_unref(run);
}

static void copy_name(char *dst, const char *s, size_t n)
{
	if (n > JQ_TYPE_NAME_MAX)
		n = JQ_TYPE_NAME_MAX;
	if (n)
		memcpy(dst, s, n);
	dst[n] = '\0';
}

/* Starts a job fetch took (its strings point into the reply, valid for this call). */
static void start_run(struct jq_worker *w, const struct jq_fetched_job *job)
{
	struct jq_run *run = calloc(1, sizeof(*run));
	if (!run) {
		jq_error("out of memory: job left to its lease");
		return;
	}
	msgpack_unpacked_init(&run->up);
	run->w = w;
	run->refs = 1;
	run->id = job->id;
	run->token = job->token;
	run->attempts = job->attempts;
	run->timeout_ms = job->timeout_ms;
	run->max_attempts = job->max_attempts;
	copy_name(run->type, job->type, job->type_len);
	copy_name(run->queue, job->queue, job->queue_len);
	if (job->traceparent_len && job->traceparent_len < sizeof(run->traceparent) &&
	    jq_traceparent_valid(job->traceparent)) /* NUL-terminated in the reply */
		snprintf(run->traceparent, sizeof(run->traceparent), "%s", job->traceparent);
	/* the job's secrets (msgpack bytes checked at enqueue): for its handler only */
	if (job->secrets_len && (run->secrets = malloc(job->secrets_len)) != NULL) {
		memcpy(run->secrets, job->secrets, job->secrets_len);
		run->secrets_len = job->secrets_len;
	}
	run->started_us = jq_mono_us();
	run->stats_series = jq_stats_series(&w->stats, run->queue, run->type);
	jq_stats_started(&w->stats, run->stats_series, job->wait_ms * 1000);
	run->state = RUN_RUNNING;
	run->next = w->runs;
	if (w->runs)
		w->runs->prev = run;
	w->runs = run;
	w->running++;

	char err[256];
	if (!run->type[0]) {
		jq_run_fatal(run, "corrupt job: no type");
		return;
	}
	run->h = jq_handler_find(run->type);
	if (!run->h) {
		snprintf(err, sizeof(err), "unknown job type '%s'", run->type);
		jq_run_fatal(run, err);
		return;
	}
	msgpack_unpacked_destroy(&run->up);
	/* the reply is freed after this callback; the unpacked strings point into their bytes.
	 * A job stored without a payload has a null one (the enqueue path omits it). */
	static const char nil_payload[] = {(char)0x92, 0x01, (char)0xc0};
	const char *pbytes = job->payload ? job->payload : nil_payload;
	size_t plen = job->payload ? job->payload_len : sizeof(nil_payload);
	if (!job->payload_bad && (run->payload_bytes = malloc(plen + 1)))
		memcpy(run->payload_bytes, pbytes, plen);
	if (!run->payload_bytes ||
	    jq_payload_unpack(run->payload_bytes, plen, &run->up, &run->payload, err,
			      sizeof(err)) != 0) {
		msgpack_unpacked_init(&run->up);
		char msg[300];
		snprintf(msg, sizeof(msg), "undecodable payload: %s",
			 !job->payload_bad ? err : "missing");
		jq_run_fatal(run, msg);
		return;
	}
	if (run->timeout_ms > 0) {
		run->timeout_ev = evtimer_new(w->base, on_timeout, run);
		struct timeval tv = {run->timeout_ms / 1000, (run->timeout_ms % 1000) * 1000};
		evtimer_add(run->timeout_ev, &tv);
	}
	jq_run_log(run, JQ_LOG_DEBUG, "job %" PRId64 " (%s, queue %s) started, attempt %" PRId64,
		   run->id, run->type, run->queue, run->attempts);
	int use_pool = run->h->cpu && (!run->h->start || (run->h->wants_pool && run->h->wants_pool(run)));
	if (use_pool) {
		run->on_pool = 1;
		run->refs++;
		if (jq_pool_submit(w->pool, pool_work, pool_done, run) != 0) {
			run->refs--;
			jq_run_done(run, 0, "the worker's thread pool is not accepting work");
		}
		return;
	}
	if (run->h->start(run, err, sizeof(err)) != 0)
		jq_run_fatal(run, err);
}

/* ---- fetching ---- */

static void on_block(redisAsyncContext *ac, void *reply, void *priv)
{
	struct jq_worker *w = priv;
	w->blocking = 0;
	/* woken by a newly scheduled job: time the promoter for it */
	if (jq_store_block_woke_promoter(reply, &w->keys))
		schedule_promote(w, jq_now_ms());
	if (reply && !w->blk_fetching)
		maybe_fetch(w);
	/* a fetch sent behind the BLPOP answers next; NULL: the connection dropped, and
	 * redis_state_cb fetches when it is back */
}

static void block_for_work(struct jq_worker *w)
{
	if (!jq_redis_ctx(w->blk) || w->stopping || w->blocking || w->blk_fetching)
		return; /* blocking already (a fetch the rate timer sent came back short), or
			   the fetch behind the last BLPOP still out: its answer goes on */
	const char *queues[JQ_WORKER_MAX_QUEUES];
	for (int i = 0; i < w->nqueues; i++)
		queues[i] = w->queue_names[i];
	if (jq_store_block(w->blk, &w->keys, w->nqueues, queues, BLOCK_TIMEOUT_S, on_block, w) !=
	    0)
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

static void fetch_retry_cb(evutil_socket_t fd, short what, void *arg) { maybe_fetch(arg); }

/* A fetch's answer: asked slots were requested. */
static void fetched(struct jq_worker *w, redisReply *r, int asked)
{
	struct jq_fetch_reply f;
	char err[256];
	int st = jq_store_fetch_reply(r, &f, err, sizeof(err));
	if (st == JQ_STORE_LOST)
		return; /* connection lost; redis_state_cb resumes */
	if (st != JQ_STORE_OK) {
		jq_error("fetch failed: %s", err);
		struct timeval tv = {0, FETCH_RETRY_MS * 1000};
		event_base_once(w->base, -1, EV_TIMEOUT, fetch_retry_cb, w, &tv);
		return;
	}
	for (size_t i = 0; i < f.ndropped; i++) /* garbage in a queue, dropped by the script */
		jq_warn("dropped id '%.64s' from a queue: it has no job hash",
			jq_store_fetch_dropped(&f, i));
	int got = (int)f.njobs;
	for (size_t i = 0; i < f.njobs; i++) {
		struct jq_fetched_job job;
		jq_store_fetched(&f, i, &job);
		start_run(w, &job);
	}
	/* a queue held back by its rate limit may start jobs again then; no wake token
	 * comes for it, so a timer fetches */
	if (f.rate_wait_ms > 0) {
		struct timeval tv = {f.rate_wait_ms / 1000, (f.rate_wait_ms % 1000) * 1000};
		evtimer_add(w->rate_timer, &tv);
	}
	if (got < asked)
		block_for_work(w); /* the queues are empty: wait in Redis, not in a poll */
	else
		maybe_fetch(w);
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

/* The order in which one fetch serves the queues (it drains the first before the
 * next). Strict: as listed. Weighted: a fresh weighted shuffle per fetch, so each
 * queue comes first in proportion to its weight and none starves. */
static void queue_order(const struct jq_worker *w, int *order)
{
	int64_t left = 0;
	int avail[JQ_WORKER_MAX_QUEUES];
	for (int i = 0; i < w->nqueues; i++) {
		order[i] = i;
		avail[i] = 1;
		left += w->queue_weights[i];
	}
	if (!w->weighted)
		return;
	for (int o = 0; o < w->nqueues; o++) {
		int64_t pick = left > 0 ? random() % left : 0;
		int chosen = -1;
		for (int i = 0; i < w->nqueues; i++) {
			if (!avail[i])
				continue;
			chosen = i; /* the last available one, should rounding leave pick over */
			if (pick < w->queue_weights[i])
				break;
			pick -= w->queue_weights[i];
		}
		order[o] = chosen;
		avail[chosen] = 0;
		left -= w->queue_weights[chosen];
	}
}

static void rate_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct jq_worker *w = arg;
	w->rate_due = 1;
	maybe_fetch(w);
}

/* How many jobs the next fetch may ask for: the free slots (those of fetches still out
 * count as taken), at most a batch; 0 or less when full. */
static int fetch_want(const struct jq_worker *w)
{
	int64_t free_slots = w->cfg.concurrency - w->running - w->fetching - w->blk_fetching;
	return free_slots < JQ_WORKER_FETCH_BATCH ? (int)free_slots : JQ_WORKER_FETCH_BATCH;
}

/* Sends fetch.lua for want jobs on r; 0 if sent. */
static int send_fetch(struct jq_worker *w, struct jq_redis *r, redisCallbackFn *cb, int want)
{
	int order[JQ_WORKER_MAX_QUEUES];
	const char *queues[JQ_WORKER_MAX_QUEUES];
	queue_order(w, order);
	for (int o = 0; o < w->nqueues; o++)
		queues[o] = w->queue_names[order[o]];
	struct jq_fetch_args a = {w->cfg.lease_ms, w->id, want, w->nqueues, queues};
	return jq_store_fetch(r, &w->keys, &a, cb, w);
}

static void maybe_fetch(struct jq_worker *w)
{
	if (w->stopping || w->fetching || (w->blocking && !w->rate_due))
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

/* ---- heartbeat, reaper, promoter ---- */

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
		jq_warn("reaper: no reaper reached Redis for %" PRId64 " ms, or Redis restarted: no "
			"worker is declared dead and no lease is taken back for %" PRId64 " ms",
			rr.stall_ms, reap_grace_ms(w));
	if (rr.recovered || rr.poisoned || rr.dead_workers)
		jq_warn("reaper: %" PRId64 " jobs given back, %" PRId64 " failed as poison, %" PRId64
			" dead workers",
			rr.recovered, rr.poisoned, rr.dead_workers);
}

/* Every worker calls the reaper every half beat; reap.lua makes one call per beat a
 * turn, and tells a stall of Redis from dead workers by the gaps between the calls. */
static void reap(struct jq_worker *w)
{
	struct jq_reap_args a = {w->cfg.heartbeat_ms,	  3 * w->cfg.heartbeat_ms,
				 reap_grace_ms(w),	  w->cfg.max_recoveries,
				 REAP_BATCH,		  w->cfg.keep_failed_ms,
				 w->cfg.dead_max};
	jq_store_reap(w->cmd, &w->keys, &a, on_reaped, w);
}

static void reap_tick(evutil_socket_t fd, short what, void *arg)
{
	struct jq_worker *w = arg;
	if (!w->deregistering)
		reap(w);
}

/* Stops a running job whose cancellation was requested; it ends 'cancelled'. */
static void cancel_run(struct jq_worker *w, int64_t id)
{
	for (struct jq_run *r = w->runs; r; r = r->next) {
		if (r->id != id || r->state != RUN_RUNNING)
			continue;
		/* a pool job cannot be interrupted: its thread finishes, the result is dropped */
		if (!r->on_pool && r->h && r->h->cancel)
			r->h->cancel(r);
		jq_run_log(r, JQ_LOG_INFO,
			   "job %" PRId64 " (%s, queue %s): cancel requested; stopping it", r->id,
			   r->type, r->queue);
		run_finish(r, OUT_CANCELLED, "cancelled");
		return;
	}
}

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
			cancel_run(w, id);
	}
}

/* Messages on the cancel channel. */
static void on_cancel_message(redisAsyncContext *ac, void *reply, void *priv)
{
	int64_t id = jq_store_cancel_message(reply);
	if (id)
		cancel_run(priv, id);
}

/* Every heartbeat_ms: say we are alive and renew every lease we hold in one
 * script, and retry outcome writes that did not get through. */
static void beat_tick(evutil_socket_t fd, short what, void *arg)
{
	struct jq_worker *w = arg;
	if (!jq_redis_ctx(w->cmd) || w->deregistering)
		return;
	size_t n = 0;
	for (struct jq_run *r = w->runs; r; r = r->next)
		n++;
	int64_t *ids = malloc(sizeof(*ids) * (n + 1));
	json_t *queues = json_array();
	for (int i = 0; i < w->nqueues; i++)
		json_array_append_new(queues, json_string(w->queue_names[i]));
	json_t *j = json_pack("{s:s,s:s,s:i,s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "id", w->id, "host",
			      w->host, "pid", (int)getpid(), "queues", queues, "concurrency",
			      (json_int_t)w->cfg.concurrency, "threads", (json_int_t)w->cfg.threads,
			      "running", (json_int_t)w->running, "started_at",
			      (json_int_t)w->started_at_ms, "completed", (json_int_t)w->completed,
			      "failed", (json_int_t)w->failed, "heartbeat_ms",
			      (json_int_t)w->cfg.heartbeat_ms);
	char *info = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (ids && info) {
		size_t i = 0;
		for (struct jq_run *r = w->runs; r; r = r->next)
			ids[i++] = r->id;
		struct jq_heartbeat_args a = {w->id, info, w->cfg.lease_ms, /* from Redis' TIME */
					      3 * w->cfg.heartbeat_ms + w->cfg.lease_ms, n, ids};
		jq_store_heartbeat(w->cmd, &w->keys, &a, on_beat, w);
	}
	free(ids);
	free(info);
	jq_stats_flush(&w->stats, w->cmd, &w->keys);
	for (struct jq_run *r = w->runs; r; r = r->next)
		if (r->state == RUN_FINISHING)
			send_outcome(r);
}

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
	schedule_promote(w, jq_now_ms() + wait);
}

static void promote_tick(evutil_socket_t fd, short what, void *arg)
{
	struct jq_worker *w = arg;
	w->promote_at_ms = 0;
	struct jq_promote_args a = {PROMOTE_BATCH};
	if (jq_store_promote(w->cmd, &w->keys, &a, on_promoted, w) != 0)
		schedule_promote(w, jq_now_ms() + PROMOTE_IDLE_MS);
}

/* Arms the promoter for at_ms unless it already fires sooner. */
static void schedule_promote(struct jq_worker *w, int64_t at_ms)
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

static void redis_state_cb(struct jq_redis *r, int ready, void *arg)
{
	struct jq_worker *w = arg;
	if (r == w->cmd && w->cron)
		jq_cron_firer_ready(w->cron, ready);
	if (!ready)
		return;
	if (r == w->sub) {
		jq_store_subscribe_cancel(r, &w->keys, on_cancel_message, w);
		return;
	}
	if (r == w->cmd) {
		beat_tick(-1, 0, w); /* also resends outcomes that waited for Redis */
		reap(w);	     /* behind our own beat, on the same connection */
		schedule_promote(w, jq_now_ms());
	}
	maybe_fetch(w);
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
		for (struct jq_run *r = w->runs; r; r = r->next) {
			if (r->state != RUN_RUNNING)
				continue;
			if (!r->on_pool && r->h && r->h->cancel)
				r->h->cancel(r);
			run_finish(r, OUT_REQUEUE, NULL);
		}
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
		jq_error("redis did not take the last outcomes within 10 s; their leases bring the "
			 "jobs back");
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
			if (jq_parse_i64n(colon + 1, (size_t)(p + n - colon - 1), 1, 1000, &weight) != 0) {
				snprintf(err, errlen, "queue weight in '%.*s' must be 1 to 1000", (int)n, p);
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

int jq_worker_init(struct jq_worker *w, struct event_base *base,
		   const struct jq_worker_config *cfg, char *err, size_t errlen)
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
	char *host = w->host;
	if (gethostname(host, sizeof(w->host) - 1) != 0)
		strcpy(host, "localhost");
	unsigned rnd = (unsigned)(jq_mono_us() ^ (int64_t)getpid() << 16);
	snprintf(w->id, sizeof(w->id), "%s:%d:%04x", host, (int)getpid(), rnd & 0xffff);
	struct jq_exec_command cmds[JQ_EXEC_COMMANDS_MAX];
	int ncmds = 0;
	for (int i = 0; i < cfg->exec.n; i++)
		if (jq_exec_spec_parse(cfg->exec.v[i], cmds, &ncmds, JQ_EXEC_COMMANDS_MAX, err,
				       errlen) != 0) {
			jq_schedules_free(config, nconfig);
			return -1;
		}
	struct jq_http_deny deny = {.n = 0};
	for (int i = 0; i < cfg->http_deny.n; i++)
		if (jq_http_deny_add(&deny, cfg->http_deny.v[i], err, errlen) != 0) {
			jq_schedules_free(config, nconfig);
			return -1;
		}
	jq_http_set_deny(&deny);
	if (jq_http_set_ca_file(cfg->http_ca_file, err, errlen) != 0) {
		jq_schedules_free(config, nconfig);
		return -1;
	}
	if (!(w->exec = jq_exec_new(base, cmds, ncmds, cfg->exec_contain, err, errlen))) {
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
	w->beat_timer = event_new(base, -1, EV_PERSIST, beat_tick, w);
	struct timeval tv = {cfg->heartbeat_ms / 1000, (cfg->heartbeat_ms % 1000) * 1000};
	evtimer_add(w->beat_timer, &tv);
	w->reap_timer = event_new(base, -1, EV_PERSIST, reap_tick, w);
	int64_t half = cfg->heartbeat_ms / 2;
	struct timeval tv_half = {half / 1000, (half % 1000) * 1000};
	evtimer_add(w->reap_timer, &tv_half);
	w->promote_timer = evtimer_new(base, promote_tick, w);
	w->rate_timer = evtimer_new(base, rate_timer_cb, w);
	w->flush_ev = event_new(base, -1, 0, flush_outbox, w);
	w->stop_timer = evtimer_new(base, stop_tick, w);
	w->sigterm = evsignal_new(base, SIGTERM, signal_cb, w);
	w->sigint = evsignal_new(base, SIGINT, signal_cb, w);
	evsignal_add(w->sigterm, NULL);
	evsignal_add(w->sigint, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* an ignored SIGCHLD survives exec: from a parent that ignores it, the kernel would
	 * reap exec jobs' programs itself and their exit statuses would be lost */
	signal(SIGCHLD, SIG_DFL);
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

int jq_worker_run(struct jq_worker *w) { return event_base_dispatch(w->base) < 0 ? -1 : 0; }

void jq_worker_release(struct jq_worker *w)
{
	/* threads first: after this no pool work is running */
	jq_pool_free(w->pool);
	jq_redis_free(w->sub);
	jq_redis_free(w->blk);
	jq_redis_free(w->cmd);
	jq_cron_firer_free(w->cron); /* after its connection answered what was in flight */
	while (w->runs) {
		struct jq_run *r = w->runs;
		if (r->state == RUN_RUNNING && !r->on_pool && r->h && r->h->cancel)
			r->h->cancel(r);
		run_unlink(r);
		run_drop(r, r->refs); /* nothing can call back any more */
	}
	jq_exec_free(w->exec); /* children of stopped exec jobs: killed and reaped */
	jq_curl_loop_free(w->curl);
	jq_stats_release(&w->stats); /* after w->cmd: its last report's callback touched it */
	if (w->beat_timer)
		event_free(w->beat_timer);
	if (w->reap_timer)
		event_free(w->reap_timer);
	if (w->promote_timer)
		event_free(w->promote_timer);
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
