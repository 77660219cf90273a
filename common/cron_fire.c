/* cron_fire.c: firing periodic schedules exactly once per tick; see cron_fire.h. */
#include "cron_fire.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enqueue_args.h"
#include "log.h"
#include "util.h"

struct jq_cron_firer {
	struct event_base *base;
	struct jq_redis *redis;
	struct jq_keys keys;
	struct jq_schedule *config; /* owned */
	size_t nconfig;
	struct event *timer;
	int ready;
	int busy;   /* a cron_due call or its firings are in flight */
	int again;  /* a kick came while busy: look again when done */
	int firing; /* firings of this round not yet answered */
	int claimed; /* firings of this round that Redis ran (whoever won the claim) */
	int64_t backoff_ms; /* after a round where every firing failed: the next look waits */
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
		jq_error("schedule '%.64s' cannot fire here (%" PRIu64 " times so far): %s", name, n,
			 why);
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

static void timer_cb(evutil_socket_t fd, short what, void *arg) { scan(arg); }

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
	redisReply *r = reply;
	char when[32];
	jq_format_rfc3339(x->tick_ms, when);
	if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2)
		x->f->claimed++; /* the MULTI ran: the claim was decided, won or lost */
	if (!r) {
		jq_warn("schedule '%s': redis went away while firing tick %s", x->s.name, when);
	} else if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
		jq_error("schedule '%s': firing tick %s failed: %s", x->s.name, when,
			 r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
	} else if (r->element[1]->type == REDIS_REPLY_ERROR) {
		jq_error("schedule '%s': the job of tick %s was not stored: %s", x->s.name, when,
			 r->element[1]->str);
	} else if (r->element[0]->type == REDIS_REPLY_INTEGER && r->element[0]->integer == 1 &&
		   r->element[1]->type == REDIS_REPLY_INTEGER) {
		jq_info("schedule '%s' fired: tick %s, job %" PRId64 ", next run %" PRId64
			" ms after the tick",
			x->s.name, when, x->id, x->next_ms - x->tick_ms);
	} else if (r->element[1]->type == REDIS_REPLY_ARRAY && r->element[1]->elements == 3 &&
		   r->element[1]->element[0]->type == REDIS_REPLY_STRING &&
		   strcmp(r->element[1]->element[0]->str, "unique") == 0 &&
		   r->element[1]->element[1]->type == REDIS_REPLY_STRING) {
		/* the claim moved the schedule on, but enqueue refused the job */
		jq_warn("schedule '%s': tick %s skipped: its job's unique_key is held by live job %s",
			x->s.name, when, r->element[1]->element[1]->str);
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
	redisReply *r = reply;
	struct jq_job_spec spec;
	struct jq_enqueue_args a;
	char err[256];
	jq_job_spec_init(&spec);
	memset(&a, 0, sizeof(a));
	int64_t id = r && r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
	if (id <= 0 || !jq_redis_ctx(f->redis))
		goto fail;
	x->id = id;
	if (jq_schedule_job_spec(&x->s, x->tick_ms, &spec, err, sizeof(err)) != 0) {
		unreadable(f, x->s.name, err);
		goto fail;
	}
	if (jq_enqueue_args_build(&a, &f->keys, &spec, 1, id, x->idem, JQ_CRON_IDEM_WINDOW_MS) !=
	    0)
		goto fail;
	char knext[JQ_KEY_MAX], kstate[JQ_KEY_MAX], kidem[JQ_KEY_MAX], kdefs[JQ_KEY_MAX];
	char due[24], tick[24], next[24], sid[24], window[24];
	jq_keys_schedule_next(&f->keys, knext);
	jq_keys_schedule_state(&f->keys, kstate);
	jq_keys_idempotency(&f->keys, x->idem, kidem);
	jq_keys_schedules(&f->keys, kdefs);
	snprintf(due, sizeof(due), "%" PRId64, x->due_ms);
	snprintf(tick, sizeof(tick), "%" PRId64, x->tick_ms);
	snprintf(next, sizeof(next), "%" PRId64, x->next_ms);
	snprintf(sid, sizeof(sid), "%" PRId64, id);
	snprintf(window, sizeof(window), "%d", JQ_CRON_IDEM_WINDOW_MS);
	const char *claim[] = {knext, kstate, kidem, kdefs, x->s.name, due, tick, next, sid, window,
			       x->def};
	const size_t claim_len[] = {strlen(knext), strlen(kstate), strlen(kidem), strlen(kdefs),
				    strlen(x->s.name), strlen(due), strlen(tick), strlen(next),
				    strlen(sid), strlen(window), x->def_len};
	ac = jq_redis_ctx(f->redis);
	/* all or nothing: if a command cannot be queued, DISCARD instead of EXEC */
	if (redisAsyncCommand(ac, NULL, NULL, "MULTI") != REDIS_OK)
		goto fail;
	int ok = jq_redis_eval(f->redis, JQ_SCRIPT_CRON_CLAIM, NULL, NULL, 4, 7, claim, claim_len) ==
			 0 &&
		 jq_redis_eval(f->redis, JQ_SCRIPT_ENQUEUE, NULL, NULL, a.nkeys, a.nargs, a.argv,
			       a.lens) == 0;
	if (!ok || redisAsyncCommand(ac, on_fired, x, "EXEC") != REDIS_OK) {
		redisAsyncCommand(ac, NULL, NULL, "DISCARD");
		goto fail;
	}
	jq_enqueue_args_release(&a);
	jq_job_spec_release(&spec);
	return;
fail:
	jq_enqueue_args_release(&a);
	jq_job_spec_release(&spec);
	fire_done(x);
}

/* Starts storing the tick of schedule name (due at due_ms) that is due at now_ms. */
static void fire(struct jq_cron_firer *f, const redisReply *name, int64_t due_ms,
		 const redisReply *def, int64_t now_ms)
{
	struct fire *x = calloc(1, sizeof(*x));
	char err[256];
	if (!x)
		return;
	x->f = f;
	x->due_ms = due_ms;
	if (jq_schedule_from_def(&x->s, name->str, def->str, def->len, err, sizeof(err)) != 0) {
		unreadable(f, name->str, err);
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
	x->def = malloc(def->len + 1);
	if (!x->def) {
		fire_free(x);
		return;
	}
	memcpy(x->def, def->str, def->len);
	x->def[def->len] = '\0';
	x->def_len = def->len;
	char kids[JQ_KEY_MAX];
	jq_keys_ids(&f->keys, kids);
	redisAsyncContext *ac = jq_redis_ctx(f->redis);
	if (!ac || redisAsyncCommand(ac, on_id, x, "INCR %s", kids) != REDIS_OK) {
		fire_free(x);
		return;
	}
	f->firing++;
}

static void on_due(redisAsyncContext *ac, void *reply, void *priv)
{
	struct jq_cron_firer *f = priv;
	redisReply *r = reply;
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 2 || (r->elements - 2) % 3) {
		if (r && r->type == REDIS_REPLY_ERROR)
			jq_error("looking for due schedules failed: %s", r->str);
		round_done(f, JQ_CRON_FIRE_MAX_SLEEP_MS);
		return;
	}
	int64_t now = jq_redis_reply_i64(r->element[0], 0);
	int64_t later = jq_redis_reply_i64(r->element[1], -1);
	f->claimed = 0;
	for (size_t i = 2; i + 2 < r->elements; i += 3) {
		const redisReply *name = r->element[i], *def = r->element[i + 2];
		if (name->type != REDIS_REPLY_STRING || def->type != REDIS_REPLY_STRING)
			continue;
		fire(f, name, jq_redis_reply_i64(r->element[i + 1], now), def, now);
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
	char knext[JQ_KEY_MAX], kdefs[JQ_KEY_MAX], limit[16];
	jq_keys_schedule_next(&f->keys, knext);
	jq_keys_schedules(&f->keys, kdefs);
	snprintf(limit, sizeof(limit), "%d", JQ_CRON_FIRE_BATCH);
	const char *argv[] = {knext, kdefs, limit};
	if (jq_redis_eval(f->redis, JQ_SCRIPT_CRON_DUE, on_due, f, 2, 1, argv, NULL) != 0) {
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
	char kdefs[JQ_KEY_MAX], knext[JQ_KEY_MAX], kstate[JQ_KEY_MAX], next[24], max[16];
	jq_keys_schedules(keys, kdefs);
	jq_keys_schedule_next(keys, knext);
	jq_keys_schedule_state(keys, kstate);
	snprintf(next, sizeof(next), "%" PRId64, next_s * 1000);
	snprintf(max, sizeof(max), "%d", JQ_SCHEDULES_MAX);
	const char *argv[] = {kdefs, knext, kstate, "put", s->name, s->def, next, mode, source, max};
	return jq_redis_eval(r, JQ_SCRIPT_SCHEDULES, cb, priv, 3, 7, argv, NULL);
}

static void on_config_put(redisAsyncContext *ac, void *reply, void *priv)
{
	const struct jq_schedule *s = priv;
	redisReply *r = reply;
	if (r && r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
	    r->element[0]->type == REDIS_REPLY_STRING) {
		const char *status = r->element[0]->str;
		if (strcmp(status, "full") == 0)
			jq_error("schedule '%s' from the schedule file not stored: there are %d "
				 "schedules already",
				 s->name, JQ_SCHEDULES_MAX);
		else if (strcmp(status, "unchanged") != 0)
			jq_info("schedule '%s' from the schedule file %s", s->name, status);
	} else if (r) {
		jq_error("schedule '%s' from the schedule file not stored: %s", s->name,
			 r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
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
