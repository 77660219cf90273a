/* enqueue.c: the enqueue path: ids from reserved blocks, then one script call per request,
 * or per group of single-job requests that arrived in the same turn of the loop. */
#include "enqueue.h"

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "reply.h"
#include "redis.h"
#include "http.h"
#include "job.h"
#include "log.h"
#include "store/enqueue.h"
#include "store/wait.h"
#include "util.h"

/* The enqueue script's answer, decoded and kept while WAIT (--min-replicas-ack) is out. */
struct held {
	int waiting; /* 1: a WAIT follows the script call; -1: one was wanted but not sent */
	int st;      /* jq_store_enqueue_reply's status */
	struct jq_enqueue_reply er;
	char state[16]; /* er.state, copied */
	char err[256];
};

/* Decodes the script's answer r into h (which must outlive r). */
static void hold(struct held *h, const redisReply *r, size_t n)
{
	h->st = jq_store_enqueue_reply(r, n, &h->er, h->err, sizeof(h->err));
	if (h->st == JQ_STORE_OK && h->er.result == JQ_ENQUEUE_REPEATED) {
		snprintf(h->state, sizeof(h->state), "%s", h->er.state);
		h->er.state = h->state;
	}
}

/* 1 if what h holds was written (or found) on the primary and needs the replicas' word. */
static int stored(const struct held *h)
{
	return h->st == JQ_STORE_OK &&
	       (h->er.result == JQ_ENQUEUE_STORED || h->er.result == JQ_ENQUEUE_REPEATED);
}

struct enqueue_ctx {
	struct jq_broker *b;
	struct jq_http_req *req;
	jq_enqueue_reply_fn *reply;
	struct jq_job_spec *specs;
	size_t n;
	int64_t first_id;                              /* a batch's id; its jobs follow it */
	enum { KIND_ONE, KIND_BULK, KIND_BATCH } kind; /* POST /jobs and the seed ones, ... */
	int batch;
	struct jq_job_spec *callback;          /* a batch's callback job, or NULL */
	char idem[JQ_IDEMPOTENCY_KEY_MAX + 1]; /* the idempotency key, or "" */
	struct enqueue_ctx *next;              /* in the broker's waiting list */
	struct held held; /* with --min-replicas-ack: the script's answer, until WAIT's */
};

/* Frees the specs (and callback) a request handed over. */
/* The enqueue path's state in a broker (b->enq). */
struct jq_enqueue {
	/* ids reserved with INCRBY, handed out without a round trip: [id_next, id_end) */
	int64_t id_next, id_end;
	int64_t spare_next, spare_end; /* the next block, fetched before this one runs out */
	int refilling;
	uint64_t id_epoch; /* bumped on every reset, so late refills are ignored */
	struct enqueue_ctx *waiting_head, *waiting_tail; /* waiting for ids, in order */
	struct enqueue_group
		*group;         /* single-job requests stored together at the end of the turn */
	struct event *group_ev; /* runs that store */
};

struct jq_enqueue *jq_enqueue_new(void)
{
	return calloc(1, sizeof(struct jq_enqueue));
}

static void specs_release(struct jq_job_spec *specs, size_t n, struct jq_job_spec *callback)
{
	for (size_t i = 0; i < n; i++)
		jq_job_spec_release(&specs[i]);
	free(specs);
	if (callback) {
		jq_job_spec_release(callback);
		free(callback);
	}
}

static void ctx_free(struct enqueue_ctx *c)
{
	specs_release(c->specs, c->n, c->callback);
	c->b->in_flight--;
	free(c);
}

static void fail(struct enqueue_ctx *c, const char *why)
{
	jq_reply_error(c->req, 503, "redis_unavailable", "the job could not be stored: %s", why);
	ctx_free(c);
}

/* 503 when Redis did not answer (the connection dropped, or --redis-timeout-ms passed):
 * the script may have run, so the jobs may be stored (review: "could not be stored" was
 * said of stored jobs); the Idempotency-Key makes the retry safe. */
static void fail_unanswered(struct enqueue_ctx *c)
{
	jq_reply_error(c->req, 503, "redis_unavailable",
		       "redis did not answer (the connection dropped or timed out): the jobs may "
		       "have been stored; retry with the same Idempotency-Key");
	ctx_free(c);
}

/* 503: the primary has the job, but fewer replicas than --min-replicas-ack confirmed it. */
static void fail_unreplicated(struct enqueue_ctx *c, int64_t acks)
{
	const struct jq_broker_config *cfg = &c->b->cfg;
	jq_reply_error(c->req, 503, "not_replicated",
		       "the job was stored on the primary, but %" PRId64 " of the %" PRId64
		       " replicas asked for confirmed it within %" PRId64
		       " ms: it may still exist; retry with the same Idempotency-Key",
		       acks, cfg->min_replicas_ack, cfg->replica_ack_timeout_ms);
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
			 "unique_key '%s' is held by job %" PRId64
			 " (pending, scheduled or running)",
			 key, holder);
	jq_reply_key_held(c->req, holder, c->n > 1 ? index : -1, msg);
}

/* A repeated Idempotency-Key: what the first request stored (er), answered as c's kind
 * of request answers it (200). A key first used by another kind of request: 409, nothing
 * stored. */
static void reply_repeat(struct enqueue_ctx *c, const struct jq_enqueue_reply *er)
{
	static const int kind_of[] = {[JQ_ENQUEUED_ONE] = KIND_ONE,
				      [JQ_ENQUEUED_BULK] = KIND_BULK,
				      [JQ_ENQUEUED_BATCH] = KIND_BATCH};
	int kind = kind_of[er->kind];
	/* a bulk of one job is stored as one job (and only a bulk of one: review) */
	if (kind == (int)c->kind || (kind == KIND_ONE && c->kind == KIND_BULK && c->n == 1)) {
		c->reply(c->b, c->req, er->first_id, (size_t)er->n, c->specs,
			 kind == KIND_ONE ? er->state : "repeat");
		return;
	}
	static const char *const names[] = {"POST /jobs", "POST /jobs/bulk", "POST /batches"};
	jq_reply_error(c->req, 409, "conflict",
		       "'Idempotency-Key' was used by a %s request within its window (it stored "
		       "%" PRId64 " jobs from id %" PRId64 "); nothing was stored",
		       names[kind], er->n, er->first_id);
}

/* Answers c from what the script said (h) and, with --min-replicas-ack, how many
 * replicas confirmed (acks; -1: not asked). */
static void deliver(struct enqueue_ctx *c, const struct held *h, int64_t acks)
{
	if (stored(h) && acks >= 0 && acks < c->b->cfg.min_replicas_ack) {
		fail_unreplicated(c, acks);
	} else if (h->st == JQ_STORE_OK && h->er.result == JQ_ENQUEUE_STORED) {
		c->reply(c->b, c->req, c->first_id, c->n, c->specs, NULL);
		ctx_free(c);
	} else if (h->st == JQ_STORE_OK && h->er.result == JQ_ENQUEUE_KEY_HELD) {
		reply_unique_conflict(c, h->er.holder, h->er.index);
		ctx_free(c);
	} else if (h->st == JQ_STORE_OK && h->er.result == JQ_ENQUEUE_REPEATED) {
		/* the same Idempotency-Key within the window: the first request's, nothing new */
		reply_repeat(c, &h->er);
		ctx_free(c);
	} else if (h->st == JQ_STORE_LOST) {
		fail_unanswered(c);
	} else {
		if (h->st == JQ_STORE_ERROR)
			jq_error("enqueue of %zu jobs from id %" PRId64 " failed: %s", c->n,
				 c->first_id, h->err);
		fail(c, "redis is unavailable");
	}
}

static void on_stored(redisAsyncContext *ac, void *reply, void *priv)
{
	struct enqueue_ctx *c = priv;
	if (c->held.waiting == 1) { /* answered when WAIT is */
		hold(&c->held, reply, c->n);
		return;
	}
	struct held h = {0};
	hold(&h, reply, c->n);
	deliver(c, &h, c->held.waiting ? 0 : -1);
}

static void on_waited(redisAsyncContext *ac, void *reply, void *priv)
{
	struct enqueue_ctx *c = priv;
	char err[256];
	int64_t acks = jq_store_wait_reply(reply, err, sizeof(err));
	deliver(c, &c->held, acks < 0 ? 0 : acks);
}

/* With --min-replicas-ack: WAIT right behind the script call on the same connection
 * (one per call, however many jobs or requests it stores). 1 if sent, 0 if not wanted,
 * -1 if wanted but not sent (no replica then confirms anything). */
static int send_wait(struct jq_broker *b, redisCallbackFn *cb, void *priv)
{
	if (b->cfg.min_replicas_ack <= 0)
		return 0;
	return jq_store_wait(b->redis, b->cfg.min_replicas_ack, b->cfg.replica_ack_timeout_ms, cb,
			     priv) == 0
		       ? 1
		       : -1;
}

static void store(struct enqueue_ctx *c)
{
	struct jq_broker *b = c->b;
	struct jq_enqueue_args a;
	struct jq_enqueue_batch batch = {c->first_id, c->callback, b->cfg.keep_batches_ms};
	int64_t window = b->cfg.idempotency_window_ms;
	int rc = c->batch ? jq_enqueue_args_build_batch(&a, &b->keys, c->specs, c->n, &batch,
							c->idem, window)
			  : jq_enqueue_args_build(&a, &b->keys, c->specs, c->n, c->first_id,
						  c->idem, window);
	if (rc != 0) {
		fail(c, "out of memory");
		return;
	}
	rc = jq_store_enqueue(b->redis, &a, on_stored, c);
	jq_enqueue_args_release(&a);
	if (rc != 0)
		fail(c, "redis is unavailable");
	else
		c->held.waiting = send_wait(b, on_waited, c);
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
	struct held held;
	struct enqueue_ctx *member[GROUP_MAX];
};

/* Answers every member of g (see deliver). */
static void group_deliver(struct enqueue_group *g, const struct held *h, int64_t acks)
{
	int ok = h->st == JQ_STORE_OK && h->er.result == JQ_ENQUEUE_STORED;
	if (!ok && h->st == JQ_STORE_ERROR)
		jq_error("enqueue of a group of %zu jobs failed: %s", g->n, h->err);
	for (size_t i = 0; i < g->n; i++) {
		struct enqueue_ctx *c = g->member[i];
		if (ok && acks >= 0 && acks < c->b->cfg.min_replicas_ack) {
			fail_unreplicated(c, acks);
		} else if (ok) {
			c->reply(c->b, c->req, c->first_id, 1, c->specs, NULL);
			ctx_free(c);
		} else if (h->st == JQ_STORE_LOST) {
			fail_unanswered(c);
		} else {
			fail(c, "redis is unavailable");
		}
	}
	free(g);
}

static void on_group_stored(redisAsyncContext *ac, void *reply, void *priv)
{
	struct enqueue_group *g = priv;
	if (g->held.waiting == 1) {
		hold(&g->held, reply, g->n);
		return;
	}
	struct held h = {0};
	hold(&h, reply, g->n);
	group_deliver(g, &h, g->held.waiting ? 0 : -1);
}

static void on_group_waited(redisAsyncContext *ac, void *reply, void *priv)
{
	struct enqueue_group *g = priv;
	char err[256];
	int64_t acks = jq_store_wait_reply(reply, err, sizeof(err));
	group_deliver(g, &g->held, acks < 0 ? 0 : acks);
}

/* Sends the group waiting in b (one member: the plain single call). */
static void flush_group(struct jq_broker *b)
{
	struct enqueue_group *g = b->enq->group;
	if (!g)
		return;
	b->enq->group = NULL;
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
		g->held.waiting = 0;
		int rc = jq_store_enqueue(b->redis, &a, on_group_stored, g);
		jq_enqueue_args_release(&a);
		if (rc == 0) {
			g->held.waiting = send_wait(b, on_group_waited, g);
			return;
		}
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
	if (!b->enq->group_ev)
		b->enq->group_ev = event_new(b->base, -1, 0, group_cb, b);
	if (!b->enq->group) {
		b->enq->group = b->enq->group_ev ? malloc(sizeof(*b->enq->group)) : NULL;
		if (!b->enq->group) {
			store(c);
			return;
		}
		b->enq->group->n = 0;
		event_active(b->enq->group_ev, EV_TIMEOUT, 1);
	}
	b->enq->group->member[b->enq->group->n++] = c;
	if (b->enq->group->n == GROUP_MAX)
		flush_group(b);
}

/* Fails the requests of a group not yet sent (Redis went away, the ids are void). */
static void fail_group(struct jq_broker *b, const char *why)
{
	struct enqueue_group *g = b->enq->group;
	if (!g)
		return;
	b->enq->group = NULL;
	for (size_t i = 0; i < g->n; i++)
		fail(g->member[i], why);
	free(g);
}

void jq_enqueue_release(struct jq_broker *b)
{
	if (!b->enq)
		return;
	fail_group(b, "the broker is stopping");
	if (b->enq->group_ev)
		event_free(b->enq->group_ev);
	b->enq->group_ev = NULL;
}

void jq_enqueue_free(struct jq_broker *b)
{
	free(b->enq);
	b->enq = NULL;
}

/* ---- reserved ids ---- */

static void refill(struct jq_broker *b, int64_t want);

/* Hands out ids to waiting requests, in order, while the block has enough. */
static void serve_waiting(struct jq_broker *b)
{
	while (b->enq->waiting_head) {
		struct enqueue_ctx *c = b->enq->waiting_head;
		int64_t need = (int64_t)c->n + c->batch; /* a batch takes one id more: its own */
		if (b->enq->id_end - b->enq->id_next < need &&
		    b->enq->spare_end > b->enq->spare_next &&
		    b->enq->spare_end - b->enq->spare_next >= need) {
			/* the rest of this block is too small: move to the spare (a gap in ids) */
			b->enq->id_next = b->enq->spare_next;
			b->enq->id_end = b->enq->spare_end;
			b->enq->spare_next = b->enq->spare_end = 0;
		}
		if (b->enq->id_end - b->enq->id_next < need) {
			refill(b, need);
			return;
		}
		b->enq->waiting_head = c->next;
		if (!b->enq->waiting_head)
			b->enq->waiting_tail = NULL;
		c->first_id = b->enq->id_next;
		b->enq->id_next += need;
		dispatch(c);
	}
	/* keep a spare block ready so the next requests need no extra round trip */
	if (b->enq->id_end - b->enq->id_next < JQ_ID_BLOCK / 4 &&
	    b->enq->spare_end == b->enq->spare_next)
		refill(b, JQ_ID_BLOCK);
}

struct refill_ctx {
	struct jq_broker *b;
	uint64_t epoch;
	int64_t size;
};

static void fail_waiting(struct jq_broker *b, const char *why)
{
	while (b->enq->waiting_head) {
		struct enqueue_ctx *c = b->enq->waiting_head;
		b->enq->waiting_head = c->next;
		fail(c, why);
	}
	b->enq->waiting_tail = NULL;
}

static void on_refill(redisAsyncContext *ac, void *reply, void *priv)
{
	struct refill_ctx *rc = priv;
	struct jq_broker *b = rc->b;
	char err[256];
	int64_t last = jq_store_reserve_ids_reply(reply, err, sizeof(err));
	int current = rc->epoch == b->enq->id_epoch;
	int64_t size = rc->size;
	free(rc);
	if (!current)
		return; /* reset since: these ids are not trusted */
	b->enq->refilling = 0;
	if (last < 0) {
		fail_waiting(b, "redis is unavailable");
		return;
	}
	int64_t end = last + 1, start = end - size;
	if (b->enq->id_next == b->enq->id_end || b->enq->spare_end > b->enq->spare_next) {
		/* current empty, or both in use and too small for the waiting head: a gap */
		b->enq->id_next = start;
		b->enq->id_end = end;
	} else {
		b->enq->spare_next = start;
		b->enq->spare_end = end;
	}
	serve_waiting(b);
}

static void refill(struct jq_broker *b, int64_t want)
{
	if (b->enq->refilling)
		return;
	struct refill_ctx *rc = jq_redis_ctx(b->redis) ? malloc(sizeof(*rc)) : NULL;
	if (!rc) {
		fail_waiting(b, "redis is unavailable");
		return;
	}
	rc->b = b;
	rc->epoch = b->enq->id_epoch;
	rc->size = want > JQ_ID_BLOCK ? want : JQ_ID_BLOCK;
	if (jq_store_reserve_ids(b->redis, &b->keys, rc->size, on_refill, rc) != 0) {
		free(rc);
		fail_waiting(b, "redis is unavailable");
		return;
	}
	b->enq->refilling = 1;
}

void jq_ids_reset(struct jq_broker *b)
{
	b->enq->id_epoch++;
	b->enq->id_next = b->enq->id_end = b->enq->spare_next = b->enq->spare_end = 0;
	b->enq->refilling = 0;
	fail_group(b, "redis reconnected");
	fail_waiting(b, "redis reconnected");
}

static void enqueue(struct jq_broker *b, struct jq_http_req *req, struct jq_job_spec *specs,
		    size_t n, int kind, struct jq_job_spec *callback,
		    const struct jq_enqueue_opts *opts, jq_enqueue_reply_fn *reply)
{
	const char *idem = opts->idempotency_key, *trace = opts->traceparent;
	for (size_t i = 0; trace && i <= n; i++) {
		struct jq_job_spec *s = i < n ? &specs[i] : callback;
		if (s)
			snprintf(s->traceparent, sizeof(s->traceparent), "%.*s", JQ_TRACEPARENT_LEN,
				 trace);
	}
	struct enqueue_ctx *c = malloc(sizeof(*c));
	if (!c || !jq_redis_ctx(b->redis)) {
		specs_release(specs, n, callback);
		free(c);
		jq_reply_error(req, 503, "redis_unavailable", "redis is unavailable");
		return;
	}
	c->b = b;
	c->req = req;
	c->reply = reply;
	c->specs = specs;
	c->n = n;
	c->kind = kind;
	c->batch = kind == KIND_BATCH;
	c->callback = callback;
	c->next = NULL;
	memset(&c->held, 0, sizeof(c->held));
	snprintf(c->idem, sizeof(c->idem), "%s", idem ? idem : "");
	b->in_flight++;
	if (b->enq->waiting_tail)
		b->enq->waiting_tail->next = c;
	else
		b->enq->waiting_head = c;
	b->enq->waiting_tail = c;
	serve_waiting(b);
}

void jq_broker_enqueue(struct jq_broker *b, struct jq_http_req *req, struct jq_job_spec *specs,
		       size_t n, const struct jq_enqueue_opts *opts, jq_enqueue_reply_fn *reply)
{
	enqueue(b, req, specs, n, KIND_ONE, NULL, opts, reply);
}

void jq_broker_enqueue_bulk(struct jq_broker *b, struct jq_http_req *req, struct jq_job_spec *specs,
			    size_t n, const struct jq_enqueue_opts *opts,
			    jq_enqueue_reply_fn *reply)
{
	enqueue(b, req, specs, n, KIND_BULK, NULL, opts, reply);
}

void jq_broker_enqueue_batch(struct jq_broker *b, struct jq_http_req *req,
			     struct jq_job_spec *specs, size_t n, struct jq_job_spec *callback,
			     const struct jq_enqueue_opts *opts, jq_enqueue_reply_fn *reply)
{
	enqueue(b, req, specs, n, KIND_BATCH, callback, opts, reply);
}
