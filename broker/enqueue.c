/* enqueue.c: the enqueue path: ids from reserved blocks, then one script call per request,
 * or per group of single-job requests that arrived in the same turn of the loop. */
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "enqueue_args.h"
#include "log.h"
#include "util.h"

struct enqueue_ctx {
	struct jq_broker *b;
	struct jq_http_req *req;
	jq_enqueue_reply_fn *reply;
	struct jq_job_spec *specs;
	size_t n;
	int64_t first_id; /* a batch's id; its jobs follow it */
	enum { KIND_ONE, KIND_BULK, KIND_BATCH } kind; /* POST /jobs and the seed ones, ... */
	int batch;
	struct jq_job_spec *callback; /* a batch's callback job, or NULL */
	char idem[JQ_IDEMPOTENCY_KEY_MAX + 1]; /* Idempotency-Key, or "" */
	struct enqueue_ctx *next; /* in the broker's waiting list */
};

int jq_idempotency_key(struct jq_http_req *req, const char **key)
{
	const char *k = jq_http_header(req, "Idempotency-Key");
	*key = NULL;
	if (!k)
		return 0;
	if (!jq_idempotency_key_valid(k)) {
		jq_reply_error(req, 400, "invalid_argument",
			       "'Idempotency-Key' must be 1 to %d printable ASCII characters "
			       "without spaces, not starting with '%s' (jobq's own)",
			       JQ_IDEMPOTENCY_KEY_MAX, JQ_IDEMPOTENCY_RESERVED);
		return -1;
	}
	*key = k;
	return 0;
}

static void ctx_free(struct enqueue_ctx *c)
{
	for (size_t i = 0; i < c->n; i++)
		jq_job_spec_release(&c->specs[i]);
	free(c->specs);
	if (c->callback) {
		jq_job_spec_release(c->callback);
		free(c->callback);
	}
	c->b->in_flight--;
	free(c);
}

static void fail(struct enqueue_ctx *c, const char *why)
{
	jq_reply_error(c->req, 503, "redis_unavailable", "the job could not be stored: %s", why);
	ctx_free(c);
}

const char *jq_spec_initial_state(const struct jq_job_spec *s)
{
	/* run_at is compared with this machine's clock; Redis' decides for the job itself */
	return s->delay_ms > 0 || s->run_at_ms > jq_now_ms() ? "scheduled" : "pending";
}

/* ---- the script call ---- */

/* 409: the job at index names the unique_key of live job holder; nothing was stored
 * ("index" only for bulk). */
static void reply_unique_conflict(struct enqueue_ctx *c, int64_t holder, int64_t index)
{
	char msg[JQ_UNIQUE_KEY_MAX + 160];
	const char *key = index >= 0 && (size_t)index < c->n ? c->specs[index].unique_key : "?";
	if (c->n > 1)
		snprintf(msg, sizeof(msg),
			 "job %" PRId64 ": unique_key '%s' is held by job %" PRId64
			 " (pending, scheduled or running); nothing was stored",
			 index, key, holder);
	else
		snprintf(msg, sizeof(msg),
			 "unique_key '%s' is held by job %" PRId64 " (pending, scheduled or running)",
			 key, holder);
	jq_reply_key_held(c->req, holder, c->n > 1 ? index : -1, msg);
}

/* A repeated Idempotency-Key: what the first request stored (enqueue.lua), "<id>",
 * "bulk:<first id>:<n>" or "batch:<batch id>:<n>", answered as c's kind of request
 * answers it (200). A key first used by another kind of request: 409, nothing stored. */
static void reply_repeat(struct enqueue_ctx *c, const char *what, const char *state)
{
	int64_t first = 0, n = 1;
	int kind = -1;
	const char *p = NULL, *colon;
	if (strncmp(what, "bulk:", 5) == 0)
		kind = KIND_BULK, p = what + 5;
	else if (strncmp(what, "batch:", 6) == 0)
		kind = KIND_BATCH, p = what + 6;
	else if (jq_parse_i64(what, 1, INT64_MAX, &first) == 0)
		kind = KIND_ONE;
	if (p && !((colon = strchr(p, ':')) &&
		   jq_parse_i64n(p, (size_t)(colon - p), 1, INT64_MAX, &first) == 0 &&
		   jq_parse_i64(colon + 1, 1, JQ_BULK_MAX, &n) == 0))
		kind = -1;
	/* a bulk of one job is stored as one job */
	if (kind == (int)c->kind || (kind == KIND_ONE && c->kind == KIND_BULK)) {
		c->reply(c->req, first, (size_t)n, c->specs, kind == KIND_ONE ? state : "repeat");
		return;
	}
	if (kind < 0) {
		jq_error("Idempotency-Key '%s' holds '%.64s', not a stored request", c->idem, what);
		jq_reply_error(c->req, 503, "redis_unavailable",
			       "the job could not be stored: unexpected reply");
		return;
	}
	static const char *const names[] = {"POST /jobs", "POST /jobs/bulk", "POST /batches"};
	jq_reply_error(c->req, 409, "conflict",
		       "'Idempotency-Key' was used by a %s request within its window (it stored "
		       "%.64s); nothing was stored",
		       names[kind], what);
}

static void on_stored(redisAsyncContext *ac, void *reply, void *priv)
{
	struct enqueue_ctx *c = priv;
	redisReply *r = reply;
	if (r && r->type == REDIS_REPLY_INTEGER && (size_t)r->integer == c->n) {
		c->reply(c->req, c->first_id, c->n, c->specs, NULL);
		ctx_free(c);
		return;
	}
	int64_t dup, index;
	if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
	    r->element[0]->type == REDIS_REPLY_STRING && strcmp(r->element[0]->str, "unique") == 0 &&
	    r->element[1]->type == REDIS_REPLY_STRING && r->element[2]->type == REDIS_REPLY_INTEGER &&
	    jq_parse_i64(r->element[1]->str, 1, INT64_MAX, &dup) == 0) {
		index = r->element[2]->integer;
		reply_unique_conflict(c, dup, index);
		ctx_free(c);
		return;
	}
	if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
	    r->element[0]->type == REDIS_REPLY_STRING && r->element[1]->type == REDIS_REPLY_STRING) {
		/* the same Idempotency-Key within the window: the first request's, nothing new */
		reply_repeat(c, r->element[0]->str, r->element[1]->str);
		ctx_free(c);
		return;
	}
	if (r && r->type == REDIS_REPLY_ERROR)
		jq_error("enqueue of %zu jobs from id %" PRId64 " failed: %s", c->n, c->first_id,
			 r->str);
	fail(c, "redis is unavailable");
}

static void store(struct enqueue_ctx *c)
{
	struct jq_broker *b = c->b;
	struct jq_enqueue_args a;
	struct jq_enqueue_batch batch = {c->first_id, c->callback, b->cfg.keep_batches_ms};
	int64_t window = b->cfg.idempotency_window_ms;
	int rc = c->batch ? jq_enqueue_args_build_batch(&a, &b->keys, c->specs, c->n, &batch,
							c->idem, window)
			  : jq_enqueue_args_build(&a, &b->keys, c->specs, c->n, c->first_id, c->idem,
						  window);
	if (rc != 0) {
		fail(c, "out of memory");
		return;
	}
	rc = jq_redis_eval(b->redis, JQ_SCRIPT_ENQUEUE, on_stored, c, a.nkeys, a.nargs, a.argv,
			   a.lens);
	jq_enqueue_args_release(&a);
	if (rc != 0)
		fail(c, "redis is unavailable");
}

/* ---- group commit ----
 * POST /jobs and /start-task each store one job. Under load many arrive in one turn of
 * the loop; storing them in one script call costs Redis one call's overhead (TIME, the
 * counters, the wake-up list, the channel check) instead of one per job, and the broker
 * one command to format and one reply to read. The group is sent at the end of the turn
 * (an event made active now runs after the callbacks already queued), or at GROUP_MAX.
 * Only requests the script cannot refuse one by one are grouped: no Idempotency-Key, no
 * unique_key, not a batch. The call stores all of them or none (atomic), and every
 * request still gets its own answer. */
#define GROUP_MAX 128

static int groupable(const struct enqueue_ctx *c)
{
	return c->n == 1 && !c->batch && !c->idem[0] && !c->specs[0].unique_key[0];
}

struct enqueue_group {
	size_t n;
	struct enqueue_ctx *member[GROUP_MAX];
};

static void on_group_stored(redisAsyncContext *ac, void *reply, void *priv)
{
	struct enqueue_group *g = priv;
	redisReply *r = reply;
	int ok = r && r->type == REDIS_REPLY_INTEGER && (size_t)r->integer == g->n;
	if (!ok && r && r->type == REDIS_REPLY_ERROR)
		jq_error("enqueue of a group of %zu jobs failed: %s", g->n, r->str);
	for (size_t i = 0; i < g->n; i++) {
		struct enqueue_ctx *c = g->member[i];
		if (ok) {
			c->reply(c->req, c->first_id, 1, c->specs, NULL);
			ctx_free(c);
		} else {
			fail(c, "redis is unavailable");
		}
	}
	free(g);
}

/* Sends the group waiting in b (one member: the plain single call). */
static void flush_group(struct jq_broker *b)
{
	struct enqueue_group *g = b->group;
	if (!g)
		return;
	b->group = NULL;
	if (g->n == 1) {
		store(g->member[0]);
		free(g);
		return;
	}
	const struct jq_job_spec *specs[GROUP_MAX];
	int64_t ids[GROUP_MAX];
	for (size_t i = 0; i < g->n; i++) {
		specs[i] = &g->member[i]->specs[0];
		ids[i] = g->member[i]->first_id;
	}
	struct jq_enqueue_args a;
	const char *why = "out of memory";
	if (jq_enqueue_args_build_group(&a, &b->keys, specs, ids, g->n) == 0) {
		int rc = jq_redis_eval(b->redis, JQ_SCRIPT_ENQUEUE, on_group_stored, g, a.nkeys,
				       a.nargs, a.argv, a.lens);
		jq_enqueue_args_release(&a);
		if (rc == 0)
			return;
		why = "redis is unavailable";
	}
	for (size_t i = 0; i < g->n; i++)
		fail(g->member[i], why);
	free(g);
}

static void group_cb(evutil_socket_t fd, short what, void *arg)
{
	flush_group(arg);
}

/* Stores c now, or adds it to the group sent at the end of this turn. */
static void dispatch(struct enqueue_ctx *c)
{
	struct jq_broker *b = c->b;
	if (!groupable(c)) {
		flush_group(b); /* keeps ids in arrival order on the queue */
		store(c);
		return;
	}
	if (!b->group_ev)
		b->group_ev = event_new(b->base, -1, 0, group_cb, b);
	if (!b->group) {
		b->group = b->group_ev ? malloc(sizeof(*b->group)) : NULL;
		if (!b->group) {
			store(c);
			return;
		}
		b->group->n = 0;
		event_active(b->group_ev, EV_TIMEOUT, 1);
	}
	b->group->member[b->group->n++] = c;
	if (b->group->n == GROUP_MAX)
		flush_group(b);
}

/* Fails the requests of a group not yet sent (Redis went away, the ids are void). */
static void fail_group(struct jq_broker *b, const char *why)
{
	struct enqueue_group *g = b->group;
	if (!g)
		return;
	b->group = NULL;
	for (size_t i = 0; i < g->n; i++)
		fail(g->member[i], why);
	free(g);
}

void jq_enqueue_release(struct jq_broker *b)
{
	fail_group(b, "the broker is stopping");
	if (b->group_ev)
		event_free(b->group_ev);
	b->group_ev = NULL;
}

/* ---- reserved ids ---- */

static void refill(struct jq_broker *b, int64_t want);

/* Hands out ids to waiting requests, in order, while the block has enough. */
static void serve_waiting(struct jq_broker *b)
{
	while (b->waiting_head) {
		struct enqueue_ctx *c = b->waiting_head;
		int64_t need = (int64_t)c->n + c->batch; /* a batch takes one id more: its own */
		if (b->id_end - b->id_next < need && b->spare_end > b->spare_next &&
		    b->spare_end - b->spare_next >= need) {
			/* the rest of this block is too small: move to the spare (a gap in ids) */
			b->id_next = b->spare_next;
			b->id_end = b->spare_end;
			b->spare_next = b->spare_end = 0;
		}
		if (b->id_end - b->id_next < need) {
			refill(b, need);
			return;
		}
		b->waiting_head = c->next;
		if (!b->waiting_head)
			b->waiting_tail = NULL;
		c->first_id = b->id_next;
		b->id_next += need;
		dispatch(c);
	}
	/* keep a spare block ready so the next requests need no extra round trip */
	if (b->id_end - b->id_next < JQ_ID_BLOCK / 4 && b->spare_end == b->spare_next)
		refill(b, JQ_ID_BLOCK);
}

struct refill_ctx {
	struct jq_broker *b;
	uint64_t epoch;
	int64_t size;
};

static void fail_waiting(struct jq_broker *b, const char *why)
{
	while (b->waiting_head) {
		struct enqueue_ctx *c = b->waiting_head;
		b->waiting_head = c->next;
		fail(c, why);
	}
	b->waiting_tail = NULL;
}

static void on_refill(redisAsyncContext *ac, void *reply, void *priv)
{
	struct refill_ctx *rc = priv;
	struct jq_broker *b = rc->b;
	redisReply *r = reply;
	int current = rc->epoch == b->id_epoch;
	int64_t size = rc->size;
	free(rc);
	if (!current)
		return; /* reset since: these ids are not trusted */
	b->refilling = 0;
	if (!r || r->type != REDIS_REPLY_INTEGER) {
		fail_waiting(b, "redis is unavailable");
		return;
	}
	int64_t end = r->integer + 1, start = end - size;
	if (b->id_next == b->id_end || b->spare_end > b->spare_next) {
		/* current empty, or both in use and too small for the waiting head: a gap */
		b->id_next = start;
		b->id_end = end;
	} else {
		b->spare_next = start;
		b->spare_end = end;
	}
	serve_waiting(b);
}

static void refill(struct jq_broker *b, int64_t want)
{
	if (b->refilling)
		return;
	redisAsyncContext *ac = jq_redis_ctx(b->redis);
	struct refill_ctx *rc = ac ? malloc(sizeof(*rc)) : NULL;
	if (!rc) {
		fail_waiting(b, "redis is unavailable");
		return;
	}
	rc->b = b;
	rc->epoch = b->id_epoch;
	rc->size = want > JQ_ID_BLOCK ? want : JQ_ID_BLOCK;
	char key[JQ_KEY_MAX], n[24];
	jq_keys_ids(&b->keys, key);
	snprintf(n, sizeof(n), "%" PRId64, rc->size);
	if (redisAsyncCommand(ac, on_refill, rc, "INCRBY %s %s", key, n) != REDIS_OK) {
		free(rc);
		fail_waiting(b, "redis is unavailable");
		return;
	}
	b->refilling = 1;
}

void jq_ids_reset(struct jq_broker *b)
{
	b->id_epoch++;
	b->id_next = b->id_end = b->spare_next = b->spare_end = 0;
	b->refilling = 0;
	fail_group(b, "redis reconnected");
	fail_waiting(b, "redis reconnected");
}

static void enqueue(struct jq_broker *b, struct jq_http_req *req, struct jq_job_spec *specs,
		    size_t n, int kind, struct jq_job_spec *callback, jq_enqueue_reply_fn *reply)
{
	const char *idem = NULL;
	int batch = kind == KIND_BATCH;
	jq_idempotency_key(req, &idem); /* checked by the handler */
	/* W3C trace context: stored with every job of the request, logged by the worker
	 * and passed on by http jobs */
	const char *trace = jq_http_header(req, "traceparent");
	int bad_trace = trace && !jq_traceparent_valid(trace);
	for (size_t i = 0; trace && !bad_trace && i <= n; i++) {
		struct jq_job_spec *s = i < n ? &specs[i] : callback;
		if (s)
			snprintf(s->traceparent, sizeof(s->traceparent), "%.*s", JQ_TRACEPARENT_LEN,
				 trace);
	}
	struct enqueue_ctx *c = bad_trace ? NULL : malloc(sizeof(*c));
	if (!c || !jq_redis_ctx(b->redis)) {
		for (size_t i = 0; i < n; i++)
			jq_job_spec_release(&specs[i]);
		free(specs);
		if (callback) {
			jq_job_spec_release(callback);
			free(callback);
		}
		free(c);
		if (bad_trace)
			jq_reply_error(req, 400, "invalid_argument",
				       "'traceparent' is not a W3C trace context header "
				       "(00-<32 hex>-<16 hex>-<2 hex>, lowercase)");
		else
			jq_reply_error(req, 503, "redis_unavailable", "redis is unavailable");
		return;
	}
	c->b = b;
	c->req = req;
	c->reply = reply;
	c->specs = specs;
	c->n = n;
	c->kind = kind;
	c->batch = batch;
	c->callback = callback;
	c->next = NULL;
	snprintf(c->idem, sizeof(c->idem), "%s", idem ? idem : "");
	b->in_flight++;
	if (b->waiting_tail)
		b->waiting_tail->next = c;
	else
		b->waiting_head = c;
	b->waiting_tail = c;
	serve_waiting(b);
}

void jq_broker_enqueue(struct jq_broker *b, struct jq_http_req *req, struct jq_job_spec *specs,
		       size_t n, jq_enqueue_reply_fn *reply)
{
	enqueue(b, req, specs, n, KIND_ONE, NULL, reply);
}

void jq_broker_enqueue_bulk(struct jq_broker *b, struct jq_http_req *req,
			    struct jq_job_spec *specs, size_t n, jq_enqueue_reply_fn *reply)
{
	enqueue(b, req, specs, n, KIND_BULK, NULL, reply);
}

void jq_broker_enqueue_batch(struct jq_broker *b, struct jq_http_req *req,
			     struct jq_job_spec *specs, size_t n, struct jq_job_spec *callback,
			     jq_enqueue_reply_fn *reply)
{
	enqueue(b, req, specs, n, KIND_BATCH, callback, reply);
}
