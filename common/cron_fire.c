/* cron_fire.c: firing periodic schedules exactly once per tick; see cron_fire.h. */
#include "cron_fire.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store/schedules.h"
#include "util.h"

struct jq_cron_firer {
	struct event_base *base;
	struct jq_redis *redis;
	struct jq_keys keys;
	struct jq_schedule *config; /* owned */
	size_t nconfig;
	struct event *timer;
	int ready;
	int busy;            /* a cron_due call or its firings are in flight */
	int again;           /* a kick came while busy: look again when done */
	int firing;          /* firings of this round not yet answered */
	int claimed;         /* firings of this round that Redis ran (whoever won the claim) */
	int64_t backoff_ms;  /* after a round where every firing failed: the next look waits */
	uint64_t unreadable; /* due schedules this process could not fire, see unreadable() */
};

/* One tick of one schedule being stored. */
struct fire {
	struct jq_cron_firer *f;
	struct jq_schedule s;
	int64_t due_ms;  /* the next run the firer read: the claim compares it */
	int64_t tick_ms; /* the tick fired: the latest at or before now */
	int64_t next_ms; /* the run after it */
	int64_t id;      /* the job's id, if the claim wins */
	char idem[JQ_IDEMPOTENCY_KEY_MAX + 1];
	/* the definition as read: the claim compares it too, so a PUT that keeps the next
	 * run but lands between the scan and the claim does not fire the old definition */
	char *def;
	size_t def_len;
};

static void fire_free(struct fire *x)
{
	jq_schedule_release(&x->s);
	free(x->def);
	free(x);
}

static void scan(struct jq_cron_firer *f);

/* A due schedule this process cannot read or whose job it refuses (one written by
 * a newer version?): it is left due for a process that can, and logged at the 1st,
 * 2nd, 4th, 8th ... time so that a firer looking every second cannot flood the log. */
static void unreadable(struct jq_cron_firer *f, const char *name, const char *why)
{
	uint64_t n = ++f->unreadable;
	if ((n & (n - 1)) == 0)
		jq_error("schedule '%.64s' cannot fire here (%" PRIu64 " times so far): %s", name,
			 n, why);
}

static void arm(struct jq_cron_firer *f, int64_t delay_ms)
{
	if (delay_ms < 1)
		delay_ms = 1;
	if (delay_ms > JQ_CRON_FIRE_MAX_SLEEP_MS)
		delay_ms = JQ_CRON_FIRE_MAX_SLEEP_MS;
	struct timeval tv = {delay_ms / 1000, (delay_ms % 1000) * 1000};
	evtimer_add(f->timer, &tv);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	scan(arg);
}

/* The round is over: look again at once after firings (their next runs are
 * new), else at the next due run. */
static void round_done(struct jq_cron_firer *f, int64_t delay_ms)
{
	f->busy = 0;
	if (f->again) {
		f->again = 0;
		delay_ms = 0;
	}
	arm(f, delay_ms);
}

static void fire_done(struct fire *x)
{
	struct jq_cron_firer *f = x->f;
	fire_free(x);
	if (--f->firing > 0)
		return;
	if (f->claimed > 0) {
		f->backoff_ms = 0;
		round_done(f, 0); /* their next runs are new: look again */
		return;
	}
	/* every firing failed (Redis out of memory, an error reply, the connection lost): the
	 * schedules are still due, so looking again at once would spin; wait, more each time */
	f->backoff_ms = f->backoff_ms ? 2 * f->backoff_ms : 100;
	if (f->backoff_ms > JQ_CRON_FIRE_MAX_SLEEP_MS)
		f->backoff_ms = JQ_CRON_FIRE_MAX_SLEEP_MS;
	f->again = 0;
	round_done(f, f->backoff_ms);
}

static void on_fired(redisAsyncContext *ac, void *reply, void *priv)
{
	struct fire *x = priv;
	struct jq_cron_fire_reply fr;
	char err[256], when[32];
	jq_format_rfc3339(x->tick_ms, when);
	int st = jq_store_cron_fire_reply(reply, &fr, err, sizeof(err));
	if (st == JQ_STORE_OK)
		x->f->claimed++; /* the MULTI ran: the claim was decided, won or lost */
	if (st == JQ_STORE_LOST) {
		jq_warn("schedule '%s': redis went away while firing tick %s", x->s.name, when);
	} else if (st != JQ_STORE_OK) {
		jq_error("schedule '%s': firing tick %s failed: %s", x->s.name, when, err);
	} else if (fr.job_error) {
		jq_error("schedule '%s': the job of tick %s was not stored: %s", x->s.name, when,
			 fr.job_error);
	} else if (fr.claimed && fr.job_decoded && fr.job.result == JQ_ENQUEUE_STORED) {
		jq_info("schedule '%s' fired: tick %s, job %" PRId64 ", next run %" PRId64
			" ms after the tick",
			x->s.name, when, x->id, x->next_ms - x->tick_ms);
	} else if (fr.job_decoded && fr.job.result == JQ_ENQUEUE_KEY_HELD) {
		/* the claim moved the schedule on, but enqueue refused the job */
		jq_warn("schedule '%s': tick %s skipped: its job's unique_key is held by live job %" PRId64,
			x->s.name, when, fr.job.holder);
	} else {
		jq_debug("schedule '%s': tick %s was fired by another process", x->s.name, when);
	}
	fire_done(x);
}

/* The id came: claim the tick and store its job, in one MULTI. */
static void on_id(redisAsyncContext *ac, void *reply, void *priv)
{
	struct fire *x = priv;
	struct jq_cron_firer *f = x->f;
	struct jq_job_spec spec;
	struct jq_enqueue_args a;
	char err[256];
	jq_job_spec_init(&spec);
	memset(&a, 0, sizeof(a));
	int64_t id = jq_store_reserve_ids_reply(reply, err, sizeof(err));
	if (id <= 0 || !jq_redis_ctx(f->redis))
		goto fail;
	x->id = id;
	if (jq_schedule_job_spec(&x->s, x->tick_ms, &spec, err, sizeof(err)) != 0) {
		unreadable(f, x->s.name, err);
		goto fail;
	}
	if (jq_enqueue_args_build(&a, &f->keys, &spec, 1, id, x->idem, JQ_CRON_IDEM_WINDOW_MS) != 0)
		goto fail;
	struct jq_cron_fire_args fa = {
		x->s.name, x->due_ms,  x->tick_ms, x->next_ms, id, x->idem, JQ_CRON_IDEM_WINDOW_MS,
		x->def,    x->def_len, &a};
	/* all or nothing: if a command cannot be queued, DISCARD goes instead of EXEC */
	if (jq_store_cron_fire(f->redis, &f->keys, &fa, on_fired, x) != 0)
		goto fail;
	jq_enqueue_args_release(&a);
	jq_job_spec_release(&spec);
	return;
fail:
	jq_enqueue_args_release(&a);
	jq_job_spec_release(&spec);
	fire_done(x);
}

/* Starts storing the tick of schedule name (due at due_ms) that is due at now_ms. */
static void fire(struct jq_cron_firer *f, const char *name, int64_t due_ms, const char *def,
		 size_t def_len, int64_t now_ms)
{
	struct fire *x = calloc(1, sizeof(*x));
	char err[256];
	if (!x)
		return;
	x->f = f;
	x->due_ms = due_ms;
	if (jq_schedule_from_def(&x->s, name, def, def_len, err, sizeof(err)) != 0) {
		unreadable(f, name, err);
		fire_free(x);
		return;
	}
	/* the latest tick at or before now: after an outage, one run, not a burst */
	int64_t tick_s, next_s;
	if (jq_cron_prev(&x->s.expr, now_ms / 1000, &tick_s) != 0 || tick_s * 1000 < due_ms)
		tick_s = due_ms / 1000;
	if (jq_cron_next(&x->s.expr, tick_s, &next_s) != 0)
		next_s = JQ_CRON_TIME_MAX; /* never again: parked at the end of time */
	x->tick_ms = tick_s * 1000;
	x->next_ms = next_s * 1000;
	snprintf(x->idem, sizeof(x->idem), "cron:%s:%" PRId64, x->s.name, tick_s);
	x->def = malloc(def_len + 1);
	if (!x->def) {
		fire_free(x);
		return;
	}
	memcpy(x->def, def, def_len);
	x->def[def_len] = '\0';
	x->def_len = def_len;
	if (jq_store_next_id(f->redis, &f->keys, on_id, x) != 0) {
		fire_free(x);
		return;
	}
	f->firing++;
}

static void on_due(redisAsyncContext *ac, void *reply, void *priv)
{
	struct jq_cron_firer *f = priv;
	struct jq_cron_due_reply d;
	char err[256];
	int st = jq_store_cron_due_reply(reply, &d, err, sizeof(err));
	if (st != JQ_STORE_OK) {
		if (st == JQ_STORE_ERROR)
			jq_error("looking for due schedules failed: %s", err);
		round_done(f, JQ_CRON_FIRE_MAX_SLEEP_MS);
		return;
	}
	int64_t now = d.now_ms, later = d.later_ms;
	f->claimed = 0;
	for (size_t i = 0; i < d.n; i++) {
		const char *name, *def;
		size_t def_len;
		int64_t due;
		if (jq_store_cron_due_at(&d, i, &name, &def, &def_len, &due) == 0)
			fire(f, name, due, def, def_len, now);
	}
	if (f->firing == 0) /* nothing due (or nothing could start): sleep until the next */
		round_done(f, later < 0 ? JQ_CRON_FIRE_MAX_SLEEP_MS : later - now);
}

static void scan(struct jq_cron_firer *f)
{
	if (!f->ready)
		return;
	if (f->busy) {
		f->again = 1;
		return;
	}
	if (jq_store_cron_due(f->redis, &f->keys, JQ_CRON_FIRE_BATCH, on_due, f) != 0) {
		arm(f, JQ_CRON_FIRE_MAX_SLEEP_MS);
		return;
	}
	f->busy = 1;
}

int jq_cron_put(struct jq_redis *r, const struct jq_keys *keys, const struct jq_schedule *s,
		const char *mode, const char *source, redisCallbackFn *cb, void *priv)
{
	int64_t next_s;
	if (jq_cron_next(&s->expr, jq_now_ms() / 1000, &next_s) != 0)
		next_s = JQ_CRON_TIME_MAX;
	struct jq_schedule_put_args a = {s->name,       s->def,
					 next_s * 1000, strcmp(mode, "replace") == 0,
					 source,        JQ_SCHEDULES_MAX};
	return jq_store_schedule_put(r, keys, &a, cb, priv);
}

static void on_config_put(redisAsyncContext *ac, void *reply, void *priv)
{
	const struct jq_schedule *s = priv;
	const char *status;
	struct jq_schedule_entry e;
	char err[256];
	int st = jq_store_schedule_put_reply(reply, &status, &e, err, sizeof(err));
	if (st == JQ_STORE_OK) {
		if (strcmp(status, "full") == 0)
			jq_error("schedule '%s' from the schedule file not stored: there are %d "
				 "schedules already",
				 s->name, JQ_SCHEDULES_MAX);
		else if (strcmp(status, "unchanged") != 0)
			jq_info("schedule '%s' from the schedule file %s", s->name, status);
	} else if (st == JQ_STORE_ERROR) {
		jq_error("schedule '%s' from the schedule file not stored: %s", s->name, err);
	}
}

void jq_cron_firer_ready(struct jq_cron_firer *f, int ready)
{
	f->ready = ready;
	if (!ready)
		return;
	/* the config schedules go first on the connection, so the first look sees them */
	for (size_t i = 0; i < f->nconfig; i++)
		jq_cron_put(f->redis, &f->keys, &f->config[i], "replace", "config", on_config_put,
			    &f->config[i]);
	scan(f);
}

void jq_cron_firer_kick(struct jq_cron_firer *f)
{
	if (f->busy) {
		f->again = 1;
		return;
	}
	evtimer_del(f->timer);
	scan(f);
}

struct jq_cron_firer *jq_cron_firer_new(struct event_base *base, struct jq_redis *r,
					const struct jq_keys *keys, struct jq_schedule *config,
					size_t n)
{
	struct jq_cron_firer *f = calloc(1, sizeof(*f));
	if (f)
		f->timer = evtimer_new(base, timer_cb, f);
	if (!f || !f->timer) {
		free(f);
		jq_schedules_free(config, n);
		return NULL;
	}
	f->base = base;
	f->redis = r;
	f->keys = *keys;
	f->config = config;
	f->nconfig = n;
	return f;
}

void jq_cron_firer_free(struct jq_cron_firer *f)
{
	if (!f)
		return;
	event_free(f->timer);
	jq_schedules_free(f->config, f->nconfig);
	free(f);
}
