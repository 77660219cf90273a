/* outcome.c: progress and outcome writes about running jobs; see outcome.h. */
#include "outcome.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdlib.h>

#include "log.h"
#include "run.h"
#include "store/finish.h"
#include "store/progress.h"
#include "store/requeue.h"
#include "store/wait.h"
#include "upkeep.h"
#include "util.h"
#include "worker.h"

#define RETRY_MAX_MS (3600 * 1000LL)
#define FINISH_BATCH_MAX 256

int64_t jq_retry_delay_ms(int64_t base_ms, int64_t attempt)
{
	int64_t d = base_ms;
	for (int64_t i = 1; i < attempt && d < RETRY_MAX_MS; i++)
		d *= 2;
	if (d > RETRY_MAX_MS)
		d = RETRY_MAX_MS;
	return d * 3 / 4 + (int64_t)((double)d / 2 * ((double)random() / RAND_MAX));
}

/* The log line and counters for an outcome Redis took; code is finish.h's (requeue.h's
 * for a requeue). */
static void outcome_taken(struct jq_task *t, int code)
{
	struct jq_worker *w = t->w;
	const struct jq_run *run = &t->run;
	static const enum jq_stat stat_of_code[] = {[JQ_FINISH_COMPLETED] = JQ_STAT_COMPLETED,
						    [JQ_FINISH_RETRY] = JQ_STAT_RETRIED,
						    [JQ_FINISH_DEAD] = JQ_STAT_FAILED,
						    [JQ_FINISH_CANCELLED] = JQ_STAT_CANCELLED};
	if (t->end != JQ_END_REQUEUE && code >= JQ_FINISH_COMPLETED && code <= JQ_FINISH_CANCELLED)
		jq_stats_finished(&w->stats, t->stats_series, stat_of_code[code], t->run_us);
	if (code == JQ_FINISH_STALE) /* == JQ_REQUEUE_STALE */
		jq_run_log(run, JQ_LOG_WARN,
			   "job %" PRId64 ": lease lost before the outcome was written; "
			   "outcome dropped (the job runs again elsewhere)",
			   run->id);
	else if (t->end == JQ_END_REQUEUE && code == JQ_REQUEUE_CANCELLED)
		jq_run_log(run, JQ_LOG_INFO, "job %" PRId64 " (%s, queue %s) cancelled", run->id,
			   run->type, run->queue);
	else if (t->end == JQ_END_REQUEUE)
		jq_run_log(run, JQ_LOG_INFO, "job %" PRId64 " (%s, queue %s) returned to its queue",
			   run->id, run->type, run->queue);
	else if (code == JQ_FINISH_COMPLETED) {
		w->completed++;
		jq_run_log(run, JQ_LOG_DEBUG, "job %" PRId64 " (%s, queue %s) completed", run->id,
			   run->type, run->queue);
	} else if (code == JQ_FINISH_CANCELLED) {
		jq_run_log(run, JQ_LOG_INFO, "job %" PRId64 " (%s, queue %s) cancelled", run->id,
			   run->type, run->queue);
	} else if (code == JQ_FINISH_RETRY) {
		w->retried++;
		jq_upkeep_promote_at(w, jq_now_ms() + t->retry_delay_ms);
	} else {
		w->failed++;
		jq_run_log(run, JQ_LOG_WARN,
			   "job %" PRId64 " (%s, queue %s) failed for good: moved to dead", run->id,
			   run->type, run->queue);
	}
}

/* Applies Redis' answer about one task's outcome: code is finish.h's (or, for a requeue,
 * requeue.h's) or JQ_STORE_LOST / JQ_STORE_ERROR (err says why). */
static void outcome_written(struct jq_task *t, int code, const char *err)
{
	int drop = 1; /* the reference the write held */
	t->sending = 0;
	if (t->state != JQ_TASK_FINISHING || code == JQ_STORE_LOST) {
		/* the connection dropped; resent once it is back */
	} else if (code < 0) {
		jq_run_log(&t->run, JQ_LOG_ERROR,
			   "job %" PRId64 ": writing its outcome failed: %s (will retry)",
			   t->run.id, err);
	} else {
		outcome_taken(t, code);
		jq_task_unlink(t);
		drop++; /* and the list's */
	}
	jq_task_drop(t, drop);
}

static void on_requeued(redisAsyncContext *ac, void *reply, void *priv)
{
	char err[256];
	outcome_written(priv, jq_store_requeue_reply(reply, err, sizeof(err)), err);
}

/* ---- finish batches, and WAIT for replicas (--min-replicas-ack) ----
 * The batches of one flush go out, then one WAIT behind them on the same connection: it
 * covers every write sent before it. Their answers are held until WAIT's; an outcome
 * Redis took counts only if enough replicas confirmed, else it stays FINISHING and the
 * beat resends it (finish.lua answers a resend as the first write). One WAIT at a time:
 * outcomes of the turns meanwhile wait in the outbox and go out when it answers, so the
 * connection (the beat's too) is held at most --replica-ack-timeout-ms in a row. */

struct ackwait;

/* A batch of finish outcomes in flight. */
struct outbatch {
	struct outbatch *next; /* held in its ackwait */
	struct ackwait *aw;    /* NULL: applied on its own answer */
	char err[256];
	size_t n;
	struct {
		struct jq_task *t;
		int code; /* finish.h's, or JQ_STORE_LOST / JQ_STORE_ERROR (err) */
	} e[];
};

struct ackwait {
	struct jq_worker *w;
	int sent;          /* the WAIT went out: it applies the held batches */
	size_t unanswered; /* batches without their answer yet (WAIT not sent: then freed) */
	struct outbatch *held;
};

/* Logs at most once a beat that outcomes Redis took were not replicated. */
static void warn_unreplicated(struct jq_worker *w, size_t n, int64_t acks)
{
	int64_t now = jq_mono_us() / 1000;
	w->unreplicated += (int64_t)n;
	if (w->unreplicated_warned_ms && now - w->unreplicated_warned_ms < w->cfg.heartbeat_ms)
		return;
	jq_warn("%" PRId64 " outcome write(s) taken by the primary, but %" PRId64 " of the %" PRId64
		" replicas asked for confirmed them within %" PRId64
		" ms: not counted yet, resent on the next beat",
		w->unreplicated, acks, w->cfg.min_replicas_ack, w->cfg.replica_ack_timeout_ms);
	w->unreplicated = 0;
	w->unreplicated_warned_ms = now;
}

/* Applies a batch's answers; acks: the replicas that confirmed, or -1 when none were
 * asked for. Frees it. */
static void apply_batch(struct outbatch *ob, int64_t acks)
{
	struct jq_worker *w = ob->e[0].t->w;
	size_t short_of = 0;
	for (size_t i = 0; i < ob->n; i++) {
		struct jq_task *t = ob->e[i].t;
		if (acks >= 0 && acks < w->cfg.min_replicas_ack && ob->e[i].code > 0) {
			/* on the primary only: as if unanswered, resent on the beat (it keeps
			 * its slot: jq_task_end) */
			t->sending = 0;
			jq_task_drop(t, 1);
			short_of++;
		} else {
			outcome_written(t, ob->e[i].code, ob->err);
		}
	}
	if (short_of)
		warn_unreplicated(w, short_of, acks);
	free(ob);
}

static void on_finished(redisAsyncContext *ac, void *reply, void *priv)
{
	struct outbatch *ob = priv;
	for (size_t i = 0; i < ob->n; i++)
		ob->e[i].code = jq_store_finish_reply(reply, ob->n, i, ob->err, sizeof(ob->err));
	struct ackwait *aw = ob->aw;
	if (!aw) {
		apply_batch(ob, -1);
		return;
	}
	aw->unanswered--;
	if (aw->sent) { /* WAIT's answer comes after this one */
		ob->next = aw->held;
		aw->held = ob;
		return;
	}
	apply_batch(ob, 0); /* the WAIT did not go out: no replica confirmed anything */
	if (!aw->unanswered)
		free(aw);
}

static void on_waited(redisAsyncContext *ac, void *reply, void *priv)
{
	struct ackwait *aw = priv;
	struct jq_worker *w = aw->w;
	char err[256];
	int64_t acks = jq_store_wait_reply(reply, err, sizeof(err));
	w->acking = 0;
	while (aw->held) {
		struct outbatch *ob = aw->held;
		aw->held = ob->next;
		apply_batch(ob, acks < 0 ? 0 : acks);
	}
	free(aw);
	if (w->outbox_len) /* what waited for this WAIT */
		event_active(w->flush_ev, EV_TIMEOUT, 0);
}

/* Sends n outcomes of the outbox from at in one call; -1 when not sent. */
static int send_batch(struct jq_worker *w, size_t at, size_t n, struct ackwait *aw)
{
	struct outbatch *ob = malloc(sizeof(*ob) + n * sizeof(ob->e[0]));
	struct jq_outcome *outs = malloc(n * sizeof(*outs));
	int rc = -1;
	if (ob && outs) {
		static const enum jq_outcome_kind kinds[] = {
			[JQ_END_COMPLETED] = JQ_OUTCOME_COMPLETED,
			[JQ_END_FAILED] = JQ_OUTCOME_FAILED,
			[JQ_END_FATAL] = JQ_OUTCOME_FATAL,
			[JQ_END_CANCELLED] = JQ_OUTCOME_CANCELLED};
		for (size_t i = 0; i < n; i++) {
			struct jq_task *t = w->outbox[at + i];
			if (!t->retry_delay_ms)
				t->retry_delay_ms =
					jq_retry_delay_ms(w->cfg.retry_base_ms, t->run.attempts);
			outs[i] = (struct jq_outcome){t->run.id,  t->token,          kinds[t->end],
						      t->outcome, t->retry_delay_ms, t->run.queue};
			ob->e[i].t = t;
			ob->e[i].code = JQ_STORE_LOST;
		}
		ob->n = n;
		ob->aw = aw;
		ob->next = NULL;
		ob->err[0] = '\0';
		struct jq_finish_args fa = {w->cfg.keep_completed_ms, w->cfg.keep_failed_ms,
					    w->cfg.dead_max, n, outs};
		rc = jq_store_finish(w->cmd, &w->keys, &fa, on_finished, ob);
	}
	free(outs);
	if (rc != 0)
		free(ob);
	else if (aw)
		aw->unanswered++;
	return rc;
}

void jq_outcome_flush(evutil_socket_t fd, short what, void *arg)
{
	struct jq_worker *w = arg;
	if (w->acking)
		return; /* sent when the WAIT in flight answers */
	struct ackwait *aw = NULL;
	if (w->cfg.min_replicas_ack > 0 && w->outbox_len && !(aw = calloc(1, sizeof(*aw))))
		return; /* the outbox stays; the next outcome or the beat flushes it */
	if (aw)
		aw->w = w;
	for (size_t at = 0; at < w->outbox_len; at += FINISH_BATCH_MAX) {
		size_t n = w->outbox_len - at;
		if (n > FINISH_BATCH_MAX)
			n = FINISH_BATCH_MAX;
		if (send_batch(w, at, n, aw) == 0)
			continue;
		/* not sent (Redis away): the beat or the reconnect resends them */
		for (size_t i = 0; i < n; i++) {
			w->outbox[at + i]->sending = 0;
			jq_task_drop(w->outbox[at + i], 1);
		}
	}
	w->outbox_len = 0;
	if (!aw)
		return;
	if (aw->unanswered && jq_store_wait(w->cmd, w->cfg.min_replicas_ack,
					    w->cfg.replica_ack_timeout_ms, on_waited, aw) == 0) {
		aw->sent = 1;
		w->acking = 1;
	} else if (!aw->unanswered) {
		free(aw);
	} /* else the batches apply themselves, unconfirmed, and the last frees aw */
}

void jq_outcome_send(struct jq_task *t)
{
	struct jq_worker *w = t->w;
	if (t->sending || t->state != JQ_TASK_FINISHING)
		return;
	if (t->end == JQ_END_REQUEUE) {
		struct jq_requeue_args ra = {t->run.id, t->token, t->run.queue,
					     w->cfg.keep_completed_ms};
		if (jq_store_requeue(w->cmd, &w->keys, &ra, on_requeued, t) == 0) {
			t->sending = 1;
			t->refs++;
		}
		return;
	}
	if (!jq_redis_ctx(w->cmd))
		return; /* resent when Redis is back (upkeep) or on the beat */
	if (w->outbox_len == w->outbox_cap) {
		size_t cap = w->outbox_cap ? 2 * w->outbox_cap : 64;
		struct jq_task **nb = realloc(w->outbox, cap * sizeof(*nb));
		if (!nb)
			return; /* the beat retries */
		w->outbox = nb;
		w->outbox_cap = cap;
	}
	w->outbox[w->outbox_len++] = t;
	t->sending = 1;
	t->refs++;
	if (w->outbox_len == 1)
		event_active(w->flush_ev, EV_TIMEOUT, 0);
}

/* ---- progress ---- */

static void on_progress_written(redisAsyncContext *ac, void *reply, void *priv)
{
	struct jq_task *t = priv;
	char err[256];
	if (jq_store_progress_reply(reply, err, sizeof(err)) == 0 && t->state == JQ_TASK_RUNNING) {
		/* someone else holds the lease now: stop, and write nothing more */
		jq_run_log(&t->run, JQ_LOG_WARN,
			   "job %" PRId64 ": lease lost while running; stopping it", t->run.id);
		jq_task_lost(t);
		jq_task_drop(t, 2); /* the list's and this write's */
		return;
	}
	jq_task_drop(t, 1);
}

void jq_run_progress(struct jq_run *run, int64_t done, int64_t total)
{
	struct jq_task *t = jq_task_of(run);
	struct jq_worker *w = t->w;
	struct jq_progress_args pa = {run->id, t->token, done, total, run->queue};
	if (jq_store_progress(w->cmd, &w->keys, &pa, on_progress_written, t) == 0)
		t->refs++;
	/* progress is advisory: when Redis is away the next step writes it again */
}
