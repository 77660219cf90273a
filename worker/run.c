/* run.c: a job's life in this worker and the calls handlers make; see run.h, handler.h. */
#include "run.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "fetcher.h"
#include "log.h"
#include "outcome.h"
#include "pool.h"
#include "store/fetch.h"
#include "util.h"
#include "worker.h"

/* ---- lifetime ---- */

void jq_task_drop(struct jq_task *t, int n)
{
	t->refs -= n;
	if (t->refs > 0)
		return;
	if (t->timeout_ev)
		event_free(t->timeout_ev);
	msgpack_unpacked_destroy(&t->up);
	free(t->payload_bytes);
	free(t->secrets);
	free(t->outcome);
	free(t->cpu_out);
	free(t);
}

void jq_task_unlink(struct jq_task *t)
{
	struct jq_worker *w = t->w;
	if (t->prev)
		t->prev->next = t->next;
	else
		w->runs = t->next;
	if (t->next)
		t->next->prev = t->prev;
	t->prev = t->next = NULL;
	t->state = JQ_TASK_GONE;
	if (t->unconfirmed) { /* its slot is free again */
		t->unconfirmed = 0;
		w->unconfirmed--;
		jq_fetch_maybe(w);
	}
}

void jq_task_stop_handler(struct jq_task *t)
{
	if (!t->on_pool && t->h && t->h->cancel)
		t->h->cancel(&t->run);
}

void jq_task_end(struct jq_task *t, enum jq_end end, const char *text)
{
	struct jq_worker *w = t->w;
	if (t->state != JQ_TASK_RUNNING)
		return;
	t->state = JQ_TASK_FINISHING;
	t->run_us = jq_mono_us() - t->started_us;
	w->running--;
	if (w->cfg.min_replicas_ack > 0) {
		/* it keeps its slot until replicas confirm its outcome, so a worker whose
		 * replicas are away stops taking work instead of piling up outcomes no
		 * replica has (freed in jq_task_unlink) */
		t->unconfirmed = 1;
		w->unconfirmed++;
	}
	if (t->timeout_ev)
		evtimer_del(t->timeout_ev);
	t->end = end;
	t->outcome = strdup(text ? text : (end == JQ_END_COMPLETED ? "null" : "unknown error"));
	jq_outcome_send(t);
	jq_fetch_maybe(w);
}

void jq_task_lost(struct jq_task *t)
{
	jq_task_stop_handler(t);
	t->state = JQ_TASK_GONE;
	t->w->running--;
	if (t->timeout_ev)
		evtimer_del(t->timeout_ev);
	jq_task_unlink(t);
	jq_fetch_maybe(t->w);
}

void jq_task_cancel(struct jq_worker *w, int64_t id)
{
	for (struct jq_task *t = w->runs; t; t = t->next) {
		if (t->run.id != id || t->state != JQ_TASK_RUNNING)
			continue;
		jq_task_stop_handler(t);
		jq_run_log(&t->run, JQ_LOG_INFO,
			   "job %" PRId64 " (%s, queue %s): cancel requested; stopping it", id,
			   t->run.type, t->run.queue);
		jq_task_end(t, JQ_END_CANCELLED, "cancelled");
		return;
	}
}

void jq_tasks_end_all(struct jq_worker *w, enum jq_end end)
{
	for (struct jq_task *t = w->runs; t; t = t->next) {
		if (t->state != JQ_TASK_RUNNING)
			continue;
		jq_task_stop_handler(t);
		jq_task_end(t, end, NULL);
	}
}

void jq_tasks_release(struct jq_worker *w)
{
	while (w->runs) {
		struct jq_task *t = w->runs;
		if (t->state == JQ_TASK_RUNNING)
			jq_task_stop_handler(t);
		jq_task_unlink(t);
		jq_task_drop(t, t->refs); /* nothing can call back any more */
	}
}

/* ---- the handler API (handler.h) ---- */

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
			   "job %" PRId64 " (%s, queue %s) attempt %" PRId64 "/%" PRId64
			   " failed: %s",
			   run->id, run->type, run->queue, run->attempts, run->max_attempts,
			   text ? text : "");
	jq_task_end(jq_task_of(run), ok ? JQ_END_COMPLETED : JQ_END_FAILED, text);
}

void jq_run_fatal(struct jq_run *run, const char *text)
{
	jq_run_log(run, JQ_LOG_WARN, "job %" PRId64 " (%s, queue %s) cannot run: %s", run->id,
		   run->type, run->queue, text);
	jq_task_end(jq_task_of(run), JQ_END_FATAL, text);
}

const struct jq_worker_config *jq_run_config(const struct jq_run *run)
{
	return &jq_task_of(run)->w->cfg;
}
struct jq_curl_loop *jq_run_curl(const struct jq_run *run)
{
	return jq_task_of(run)->w->curl;
}
struct event_base *jq_run_base(const struct jq_run *run)
{
	return jq_task_of(run)->w->base;
}
struct jq_exec *jq_run_exec(const struct jq_run *run)
{
	return jq_task_of(run)->w->exec;
}

/* ---- starting a job ---- */

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct jq_task *t = arg;
	if (t->state != JQ_TASK_RUNNING)
		return;
	jq_task_stop_handler(t);
	char msg[96];
	snprintf(msg, sizeof(msg), "timed out after %" PRId64 " ms", t->run.timeout_ms);
	jq_run_done(&t->run, 0, msg);
}

static void pool_work(void *arg)
{
	struct jq_task *t = arg;
	t->cpu_rc = t->h->cpu(&t->run, &t->cpu_out);
}

static void pool_done(void *arg)
{
	struct jq_task *t = arg;
	if (t->state == JQ_TASK_RUNNING) {
		if (t->cpu_rc == JQ_FAIL_FATAL)
			jq_run_fatal(&t->run, t->cpu_out ? t->cpu_out : "failed");
		else
			jq_run_done(&t->run, t->cpu_rc == 0, t->cpu_out);
	}
	jq_task_drop(t, 1);
}

static void copy_name(char *dst, const char *s, size_t n)
{
	if (n > JQ_TYPE_NAME_MAX)
		n = JQ_TYPE_NAME_MAX;
	if (n)
		memcpy(dst, s, n);
	dst[n] = '\0';
}

/* A new RUNNING task on the worker's list, from what fetch took; NULL out of memory. */
static struct jq_task *task_new(struct jq_worker *w, const struct jq_fetched_job *job)
{
	struct jq_task *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	struct jq_run *run = &t->run;
	msgpack_unpacked_init(&t->up);
	t->w = w;
	t->refs = 1;
	t->token = job->token;
	run->id = job->id;
	run->attempts = job->attempts;
	run->timeout_ms = job->timeout_ms;
	run->max_attempts = job->max_attempts;
	copy_name(run->type, job->type, job->type_len);
	copy_name(run->queue, job->queue, job->queue_len);
	if (job->traceparent_len && job->traceparent_len < sizeof(run->traceparent) &&
	    jq_traceparent_valid(job->traceparent)) /* NUL-terminated in the reply */
		snprintf(run->traceparent, sizeof(run->traceparent), "%s", job->traceparent);
	/* the job's secrets (msgpack bytes checked at enqueue): for its handler only */
	if (job->secrets_len && (t->secrets = malloc(job->secrets_len)) != NULL) {
		memcpy(t->secrets, job->secrets, job->secrets_len);
		run->secrets = t->secrets;
		run->secrets_len = job->secrets_len;
	}
	t->started_us = jq_mono_us();
	t->stats_series = jq_stats_series(&w->stats, run->queue, run->type);
	jq_stats_started(&w->stats, t->stats_series, job->wait_ms * 1000);
	t->state = JQ_TASK_RUNNING;
	t->next = w->runs;
	if (w->runs)
		w->runs->prev = t;
	w->runs = t;
	w->running++;
	return t;
}

/* Copies the payload out of the reply (freed after the fetch's callback) and unpacks it;
 * 0, or -1 with err. A job stored without a payload has a null one. */
static int task_payload(struct jq_task *t, const struct jq_fetched_job *job, char *err,
			size_t errlen)
{
	static const char nil_payload[] = {(char)0x92, 0x01, (char)0xc0};
	const char *pbytes = job->payload ? job->payload : nil_payload;
	size_t plen = job->payload ? job->payload_len : sizeof(nil_payload);
	char why[256];
	msgpack_unpacked_destroy(&t->up);
	if (!job->payload_bad && (t->payload_bytes = malloc(plen + 1)))
		memcpy(t->payload_bytes, pbytes, plen);
	if (t->payload_bytes && jq_payload_unpack(t->payload_bytes, plen, &t->up, &t->run.payload,
						  why, sizeof(why)) == 0)
		return 0;
	msgpack_unpacked_init(&t->up);
	snprintf(err, errlen, "undecodable payload: %s", !job->payload_bad ? why : "missing");
	return -1;
}

void jq_task_start(struct jq_worker *w, const struct jq_fetched_job *job)
{
	struct jq_task *t = task_new(w, job);
	if (!t) {
		jq_error("out of memory: job left to its lease");
		return;
	}
	struct jq_run *run = &t->run;
	char err[300];
	if (!run->type[0]) {
		jq_run_fatal(run, "corrupt job: no type");
		return;
	}
	t->h = jq_handler_find(run->type);
	if (!t->h) {
		snprintf(err, sizeof(err), "unknown job type '%s'", run->type);
		jq_run_fatal(run, err);
		return;
	}
	if (task_payload(t, job, err, sizeof(err)) != 0) {
		jq_run_fatal(run, err);
		return;
	}
	if (run->timeout_ms > 0) {
		t->timeout_ev = evtimer_new(w->base, on_timeout, t);
		struct timeval tv = {run->timeout_ms / 1000, (run->timeout_ms % 1000) * 1000};
		evtimer_add(t->timeout_ev, &tv);
	}
	jq_run_log(run, JQ_LOG_DEBUG, "job %" PRId64 " (%s, queue %s) started, attempt %" PRId64,
		   run->id, run->type, run->queue, run->attempts);
	if (t->h->cpu && (!t->h->start || (t->h->wants_pool && t->h->wants_pool(run)))) {
		t->on_pool = 1;
		t->refs++;
		if (jq_pool_submit(w->pool, pool_work, pool_done, t) != 0) {
			t->refs--;
			jq_run_done(run, 0, "the worker's thread pool is not accepting work");
		}
		return;
	}
	if (t->h->start(run, err, sizeof(err)) != 0)
		jq_run_fatal(run, err);
}
