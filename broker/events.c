/* events.c: Server-Sent Events and event watchers fed by Redis pub/sub; see events.h. */
#include "events.h"

#include <event2/buffer.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "broker.h"
#include "http.h"
#include "job.h"
#include "log.h"
#include "reply.h"
#include "store/channels.h"
#include "store/job_hash.h"
#include "util.h"

#define SSE_PING_S 15      /* a comment line this often finds clients that went away */
#define TOPIC_BUCKETS 1024 /* topics are found by channel name in this many lists */

enum topic_state { TOPIC_IDLE, TOPIC_SUBSCRIBING, TOPIC_ACTIVE, TOPIC_UNSUBSCRIBING };

struct client;

/* One watched job or queue: its channel and the clients that watch it. */
struct topic {
	struct jq_events *ev;
	enum jq_events_kind kind;
	int64_t id;                        /* the job; 0 for a queue */
	char queue[JQ_QUEUE_NAME_MAX + 1]; /* the queue; "" for a job */
	char channel[JQ_KEY_MAX + 8];
	enum topic_state state;
	int dying; /* its connection is gone: the caller frees it once the clients are ended */
	struct client *clients;
	struct topic *next;
};

/* An SSE stream (req set) or a watcher (cb set; struct jq_events_watch is this). */
struct client {
	struct topic *topic;
	struct jq_http_req *req;
	jq_events_cb *cb; /* NULL for an SSE stream, and for a watcher unwatched mid-read */
	void *arg;
	int watcher;
	int started; /* SSE: the 200 and its headers are sent; watcher: told it is subscribed */
	int reading; /* waiting for the job's current state */
	int stale;   /* an event came while reading: the state read may predate it */
	char last_state[16]; /* a job's event last sent: state, done of total, its seq (-1:
				none yet, or from an older script without one) */
	int64_t last_done, last_total, last_seq;
	unsigned char grant[32]; /* the token that opened it (SSE), if has_grant */
	int has_grant;
	struct client *next;
};

struct jq_events {
	struct jq_broker *b;
	struct jq_redis *sub;
	struct topic *topics[TOPIC_BUCKETS]; /* by the hash of the channel name */
	int64_t streams;
	int64_t watchers;
	struct event *ping;
};

/* ---- one stream ---- */

static void client_unlink(struct client *c)
{
	struct client **pp = &c->topic->clients;
	while (*pp && *pp != c)
		pp = &(*pp)->next;
	if (*pp)
		*pp = c->next;
}

static void topic_release(struct topic *t);

/* Ends the stream (or answers the request when the stream never started) or the watch,
 * and frees c (or, while its state read is out, leaves it to that read's callback). */
static void client_end(struct client *c, int status, const char *why)
{
	struct topic *t = c->topic;
	client_unlink(c);
	if (c->watcher) {
		if (c->cb) {
			struct jq_event e = {.kind = JQ_EVENT_END,
					     .id = t->id,
					     .queue = t->queue,
					     .end = status == 200   ? "done"
						    : status == 404 ? "not_found"
								    : "unavailable"};
			c->cb(c->arg, &e);
		}
	} else if (c->req) {
		jq_http_set_close_cb(c->req, NULL, NULL);
		if (c->started)
			jq_http_send_end(c->req);
		else
			jq_reply_error(c->req, status,
				       status == 404   ? "not_found"
				       : status == 401 ? "unauthorized"
						       : "redis_unavailable",
				       "%s", why);
	}
	if (c->watcher)
		t->ev->watchers--;
	else
		t->ev->streams--;
	if (c->reading) {
		/* its read of the job's state is still out (the two Redis connections can drop
		 * in either order): the read's callback frees it, touching nothing else */
		c->topic = NULL;
		c->req = NULL;
		c->cb = NULL;
	} else {
		free(c);
	}
	topic_release(t);
}

/* The client went away. The server has detached the unfinished request from the
 * connection and leaves it to us: finishing it now frees it. A read of the job's
 * state still in flight owns c; its callback ends it. */
static void on_client_closed(struct jq_http_req *req, void *arg)
{
	struct client *c = arg;
	c->req = NULL;
	if (c->started)
		jq_http_send_end(req);
	else
		jq_http_send(req, 503, NULL, 0);
	if (!c->reading)
		client_end(c, 0, "");
}

static int is_terminal(const char *state)
{
	return !strcmp(state, "completed") || !strcmp(state, "failed") ||
	       !strcmp(state, "cancelled");
}

json_t *jq_events_data(int64_t id, const char *state, int64_t done, int64_t total,
		       const char *error, int64_t seq)
{
	char status[600];
	jq_job_status(status, sizeof(status), state, done, total, error);
	/* an error text may be any bytes (a program's stderr), or cut in the middle of a
	 * character: JSON strings must be UTF-8, so bad bytes become U+FFFD */
	size_t n;
	char *st = jq_utf8_sanitize(status, strlen(status), &n);
	char *sst = jq_utf8_sanitize(state, strlen(state), &n);
	json_t *j = st && sst ? json_pack("{s:I,s:s,s:s,s:{s:I,s:I}}", "id", (json_int_t)id,
					  "state", sst, "status", st, "progress", "done",
					  (json_int_t)done, "total", (json_int_t)total)
			      : NULL;
	free(st);
	free(sst);
	if (j && seq >= 0 && json_object_set_new(j, "seq", json_integer((json_int_t)seq)) != 0) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

/* Sends one event; returns 1 when it was terminal (the stream is then over). */
static int client_send(struct client *c, int64_t id, const char *state, int64_t done, int64_t total,
		       const char *error, int64_t seq)
{
	if (c->topic->kind == JQ_EVENTS_JOB) {
		/* The state read and the pub/sub connection race: an event can come twice (read,
		 * then heard), or late. Its seq says which: one not above the last sent is old. */
		if (seq >= 0 && c->last_seq >= 0 && seq <= c->last_seq)
			return 0;
		/* Without a seq (a script of an older jobq): within one attempt progress only
		 * grows (a retry passes through another state first), so a repeat or an older
		 * step is dropped. */
		int same = !strcmp(state, c->last_state) && done == c->last_done &&
			   total == c->last_total;
		int progressed = !strcmp(c->last_state, "running") && c->last_total > 0;
		int older = !strcmp(state, "running") && progressed &&
			    (total == 0 || (total == c->last_total && done <= c->last_done));
		if (seq < 0 && (same || older))
			return 0;
		snprintf(c->last_state, sizeof(c->last_state), "%s", state);
		c->last_done = done;
		c->last_total = total;
		if (seq >= 0)
			c->last_seq = seq;
	}
	if (c->watcher) {
		if (c->cb) {
			struct jq_event e = {.kind = JQ_EVENT_STATE,
					     .id = id,
					     .queue = c->topic->queue,
					     .state = state,
					     .done = done,
					     .total = total,
					     .error = error,
					     .seq = seq};
			c->cb(c->arg, &e);
		}
		/* a job's watch ends after its terminal event; a queue's goes on */
		return c->topic->kind == JQ_EVENTS_JOB && is_terminal(state);
	}
	if (!c->req)
		return 0;
	if (!c->started) {
		jq_http_add_header(c->req, "Content-Type", "text/event-stream");
		jq_http_add_header(c->req, "Cache-Control", "no-cache");
		jq_broker_count_response(200);
		jq_http_send_start(c->req, 200);
		c->started = 1;
	}
	json_t *j = jq_events_data(id, state, done, total, error, seq);
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	struct evbuffer *buf = evbuffer_new();
	if (buf && text) {
		evbuffer_add_printf(buf, "event: %s\ndata: %s\n\n", state, text);
		size_t len = evbuffer_get_length(buf);
		jq_http_send_chunk(c->req, (const char *)evbuffer_pullup(buf, -1), len);
	}
	evbuffer_free(buf);
	free(text);
	return is_terminal(state);
}

/* ---- the subscription of one job ---- */

static void on_channel(redisAsyncContext *ac, void *reply, void *priv);

/* -1 when the command could not be sent (the topic is then IDLE and nothing was called). */
static int topic_subscribe_cmd(struct topic *t)
{
	t->state = TOPIC_SUBSCRIBING;
	if (jq_store_subscribe(t->ev->sub, t->channel, on_channel, t) != 0) {
		t->state = TOPIC_IDLE;
		return -1;
	}
	return 0;
}

static void topic_free(struct topic *t);

static void topic_subscribe(struct topic *t)
{
	if (topic_subscribe_cmd(t) != 0) {
		t->dying = 1;
		while (t->clients)
			client_end(t->clients, 503, "redis is unavailable");
		topic_free(t);
	}
}

/* FNV-1a of the channel name, folded to a bucket. */
static size_t topic_bucket(const char *channel)
{
	uint32_t h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)channel; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h % TOPIC_BUCKETS;
}

static void topic_free(struct topic *t)
{
	struct topic **pp = &t->ev->topics[topic_bucket(t->channel)];
	while (*pp && *pp != t)
		pp = &(*pp)->next;
	if (*pp)
		*pp = t->next;
	free(t);
}

/* No client left: unsubscribe (the topic is freed when Redis confirms). */
static void topic_release(struct topic *t)
{
	if (t->clients || t->dying || t->state != TOPIC_ACTIVE)
		return;
	t->state = TOPIC_UNSUBSCRIBING;
	if (jq_store_unsubscribe(t->ev->sub, t->channel) != 0)
		topic_free(t); /* the connection is gone: nothing to unsubscribe from */
}

static void on_state(redisAsyncContext *ac, void *reply, void *priv);

/* Reads the job's current state for a client that just joined an active topic; -1 when
 * the read could not be sent (c is left as it was). */
static int client_read_state(struct client *c)
{
	struct jq_broker *b = c->topic->ev->b;
	c->reading = 1;
	if (jq_store_job_state(b->redis, &b->keys, c->topic->id, on_state, c) != 0) {
		c->reading = 0;
		return -1;
	}
	return 0;
}

static void tell_ready(struct client *c)
{
	if (c->watcher && c->cb) {
		struct jq_event e = {
			.kind = JQ_EVENT_READY, .id = c->topic->id, .queue = c->topic->queue};
		c->cb(c->arg, &e);
	}
}

/* The topic is active for c: a queue's watcher learns it is subscribed; a job's watcher
 * or stream reads the job's state first (on_state: a watcher of a job that exists is
 * told it is subscribed, then its state). -1 when the read could not be sent (nothing
 * was called; c is left to the caller). */
static int client_joined(struct client *c)
{
	if (c->topic->kind == JQ_EVENTS_JOB)
		return client_read_state(c);
	c->started = 1; /* a queue has no current state to read */
	tell_ready(c);
	return 0;
}

static void on_state(redisAsyncContext *ac, void *reply, void *priv)
{
	struct client *c = priv;
	struct jq_job_state js;
	char err[256];
	int st = jq_store_job_state_reply(reply, &js, err, sizeof(err));
	c->reading = 0;
	if (!c->topic) { /* ended while this read was out */
		free(c);
		return;
	}
	if (c->watcher ? !c->cb : !c->req) { /* went away meanwhile */
		client_end(c, 0, "");
		return;
	}
	if (st != JQ_STORE_OK) {
		client_end(c, 503, "redis is unavailable");
		return;
	}
	if (!js.found) {
		client_end(c, 404, "job not found");
		return;
	}
	const char *error = js.error[0] ? js.error : NULL;
	const char *state = js.state;
	int64_t done = js.done, total = js.total;
	if (c->watcher && !c->started) {
		/* a stream is started by its first event (client_send) */
		c->started = 1;
		tell_ready(c);
	}
	if (client_send(c, c->topic->id, state, done, total, error, js.seq)) {
		client_end(c, 200, "");
		return;
	}
	/* Events that came on the subscriber connection while this read was out were not
	 * sent (they may be older than the state read, or newer): read once more, now that
	 * they are surely stored, so no change is lost between the read and the stream. */
	if (c->stale) {
		c->stale = 0;
		if (client_read_state(c) != 0)
			client_end(c, 503, "redis is unavailable");
	}
}

/* A message (lib/events.lua): "<seq> <state>[ <rest>]", rest being "done total" for
 * running and completed, else the error; on a queue's channel "<id> " comes first. A
 * message without its seq (an older jobq's script) is taken too. */
static void deliver(struct topic *t, const char *msg, size_t len)
{
	char state[32], rest[512] = "";
	int64_t id = t->id, seq = -1;
	if (t->kind == JQ_EVENTS_QUEUE) {
		const char *sp0 = memchr(msg, ' ', len);
		if (!sp0 || jq_parse_i64n(msg, (size_t)(sp0 - msg), 1, INT64_MAX, &id) != 0)
			return;
		len -= (size_t)(sp0 + 1 - msg);
		msg = sp0 + 1;
	}
	const char *sp1 = memchr(msg, ' ', len);
	if (sp1 && jq_parse_i64n(msg, (size_t)(sp1 - msg), 0, INT64_MAX, &seq) == 0) {
		len -= (size_t)(sp1 + 1 - msg);
		msg = sp1 + 1;
	} else {
		seq = -1;
	}
	const char *sp = memchr(msg, ' ', len);
	size_t sl = sp ? (size_t)(sp - msg) : len;
	if (sl == 0 || sl >= sizeof(state))
		return;
	memcpy(state, msg, sl);
	state[sl] = '\0';
	if (sp)
		snprintf(rest, sizeof(rest), "%.*s", (int)(len - sl - 1), sp + 1);
	int64_t done = 0, total = 0;
	const char *error = NULL;
	if ((!strcmp(state, "running") || !strcmp(state, "completed")) && rest[0]) {
		char *end = NULL;
		done = strtoll(rest, &end, 10);
		total = end ? strtoll(end, NULL, 10) : 0;
	} else if (rest[0]) {
		error = rest;
	}
	struct client *c = t->clients;
	while (c) {
		struct client *next = c->next;
		if (c->reading)
			c->stale = 1; /* on_state reads again */
		else if (c->started && client_send(c, id, state, done, total, error, seq))
			client_end(c, 200, ""); /* may free t once the last one is gone */
		c = next;
	}
}

static void on_channel(redisAsyncContext *ac, void *reply, void *priv)
{
	struct topic *t = priv;
	enum jq_pubsub_kind kind;
	const char *data;
	size_t len;
	if (jq_store_pubsub_reply(reply, &kind, &data, &len) == JQ_STORE_LOST) {
		/* the subscriber connection went away: end every stream of this job */
		t->dying = 1;
		while (t->clients)
			client_end(t->clients, 503, "redis is unavailable");
		topic_free(t);
		return;
	}
	if (kind == JQ_PUBSUB_SUBSCRIBED) {
		t->state = TOPIC_ACTIVE;
		/* subscribed first, read second: no change can fall between the two */
		struct client *c = t->clients;
		while (c) {
			struct client *next = c->next; /* a failed read ends c */
			if (!c->started && !c->reading && client_joined(c) != 0)
				client_end(c, 503, "redis is unavailable");
			c = next;
		}
		if (!t->clients)
			topic_release(t);
	} else if (kind == JQ_PUBSUB_UNSUBSCRIBED) {
		if (t->clients)
			topic_subscribe(t); /* someone came back meanwhile (may free t) */
		else
			topic_free(t);
	} else if (kind == JQ_PUBSUB_MESSAGE) {
		deliver(t, data, len);
	}
}

/* ---- the route ---- */

static struct jq_events *g_events; /* one per broker process, set by jq_events_new */

static void ping_cb(evutil_socket_t fd, short what, void *arg)
{
	struct jq_events *ev = arg;
	for (size_t i = 0; i < TOPIC_BUCKETS; i++)
		for (struct topic *t = ev->topics[i]; t; t = t->next)
			for (struct client *c = t->clients; c; c = c->next)
				if (c->started && c->req)
					jq_http_send_chunk(c->req, ": ping\n\n", 8);
}

/* The topic of a job (queue NULL) or of a queue, created IDLE if nobody watches it yet.
 * NULL when out of memory. */
static struct topic *topic_get(struct jq_events *ev, enum jq_events_kind kind, int64_t id,
			       const char *queue)
{
	char channel[sizeof(((struct topic *)NULL)->channel)];
	char name[JQ_KEY_MAX];
	if (kind == JQ_EVENTS_JOB)
		jq_store_job_channel(&ev->b->keys, id, name);
	else
		jq_store_queue_channel(&ev->b->keys, queue, name);
	snprintf(channel, sizeof(channel), "%s", name);
	struct topic **bucket = &ev->topics[topic_bucket(channel)];
	struct topic *t = *bucket;
	while (t && strcmp(t->channel, channel) != 0)
		t = t->next;
	if (t)
		return t;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->ev = ev;
	t->kind = kind;
	if (kind == JQ_EVENTS_JOB)
		t->id = id;
	else
		snprintf(t->queue, sizeof(t->queue), "%s", queue);
	memcpy(t->channel, channel, sizeof(channel));
	t->state = TOPIC_IDLE;
	t->next = *bucket;
	*bucket = t;
	return t;
}

/* GET /jobs/{id}/events: the route gives "{id}/events". */
void jq_api_job_events(struct jq_broker *b, struct jq_http_req *req, const char *arg)
{
	const char *slash = strchr(arg, '/');
	int64_t id;
	if (!slash || strcmp(slash, "/events") != 0) {
		jq_reply_error(req, 404, "not_found", "no route '/jobs/%.64s'", arg);
		return;
	}
	if (jq_parse_i64n(arg, (size_t)(slash - arg), 1, INT64_MAX, &id) != 0) {
		jq_reply_error(req, 400, "invalid_argument",
			       "the job id must be a positive integer");
		return;
	}
	struct jq_events *ev = g_events;
	if (!ev || !jq_redis_ctx(ev->sub) || !jq_redis_ctx(b->redis)) {
		jq_reply_error(req, 503, "redis_unavailable", "redis is unavailable");
		return;
	}
	struct topic *t = topic_get(ev, JQ_EVENTS_JOB, id, NULL);
	if (!t) {
		jq_reply_error(req, 503, "out_of_memory", "the broker is out of memory");
		return;
	}
	struct client *c = calloc(1, sizeof(*c));
	if (!c) {
		jq_reply_error(req, 503, "out_of_memory", "the broker is out of memory");
		return;
	}
	c->topic = t;
	c->req = req;
	c->last_seq = -1;
	const unsigned char *grant = jq_auth_current(&b->auth);
	if (grant) {
		memcpy(c->grant, grant, sizeof(c->grant));
		c->has_grant = 1;
	}
	c->next = t->clients;
	t->clients = c;
	ev->streams++;
	jq_http_set_close_cb(req, on_client_closed, c);
	if (t->state == TOPIC_ACTIVE) {
		if (client_read_state(c) != 0)
			client_end(c, 503, "redis is unavailable");
	} else if (t->state == TOPIC_IDLE) {
		topic_subscribe(t);
	}
	/* SUBSCRIBING: its confirmation reads the state for every waiting client;
	 * UNSUBSCRIBING: its confirmation subscribes again, as a client is waiting */
}

/* ---- watchers (the WebSocket module) ---- */

struct jq_events_watch *jq_events_watch(struct jq_events *ev, enum jq_events_kind kind, int64_t id,
					const char *queue, jq_events_cb *cb, void *arg)
{
	if (!ev || !cb || !jq_redis_ctx(ev->sub) || !jq_redis_ctx(ev->b->redis))
		return NULL;
	if (kind == JQ_EVENTS_JOB ? id < 1 : !queue || !jq_name_valid(queue, strlen(queue)))
		return NULL;
	struct topic *t = topic_get(ev, kind, id, queue);
	if (!t)
		return NULL;
	struct client *c = calloc(1, sizeof(*c));
	if (!c) {
		if (!t->clients && t->state == TOPIC_IDLE)
			topic_free(t);
		return NULL;
	}
	c->topic = t;
	c->watcher = 1;
	c->last_seq = -1;
	c->cb = cb;
	c->arg = arg;
	if (t->state == TOPIC_IDLE && topic_subscribe_cmd(t) != 0) {
		if (!t->clients)
			topic_free(t);
		free(c);
		return NULL; /* nothing was called: the callback rule of events.h */
	}
	c->next = t->clients;
	t->clients = c;
	ev->watchers++;
	if (t->state == TOPIC_ACTIVE && client_joined(c) != 0) {
		c->cb = NULL; /* nothing was called: the callback rule of events.h */
		client_end(c, 0, "");
		return NULL;
	}
	/* SUBSCRIBING: its confirmation tells c; UNSUBSCRIBING: its confirmation subscribes
	 * again, as c is waiting */
	return (struct jq_events_watch *)c;
}

void jq_events_unwatch(struct jq_events_watch *w)
{
	struct client *c = (struct client *)w;
	if (!c)
		return;
	c->cb = NULL;
	client_end(c, 0, "");
}

struct jq_events *jq_events_new(struct jq_broker *b, const struct jq_redis_url *url)
{
	struct jq_events *ev = calloc(1, sizeof(*ev));
	if (!ev)
		return NULL;
	ev->b = b;
	ev->sub = jq_redis_new(b->base, url, "broker-events", NULL, NULL);
	ev->ping = event_new(b->base, -1, EV_PERSIST, ping_cb, ev);
	struct timeval tv = {SSE_PING_S, 0};
	evtimer_add(ev->ping, &tv);
	g_events = ev;
	return ev;
}

void jq_events_free(struct jq_events *ev)
{
	if (!ev)
		return;
	/* the subscriber's callbacks run with NULL now and end every stream */
	jq_redis_free(ev->sub);
	for (size_t i = 0; i < TOPIC_BUCKETS; i++) {
		while (ev->topics[i]) { /* topics that never got a subscription */
			struct topic *t = ev->topics[i];
			t->dying = 1;
			while (t->clients)
				client_end(t->clients, 503, "the broker is stopping");
			topic_free(t);
		}
	}
	event_free(ev->ping);
	if (g_events == ev)
		g_events = NULL;
	free(ev);
}

void jq_events_check_grants(struct jq_events *ev, const struct jq_auth *a)
{
	if (!ev)
		return;
	for (size_t i = 0; i < TOPIC_BUCKETS; i++) {
		struct topic *t = ev->topics[i], *tnext;
		for (; t; t = tnext) {
			tnext = t->next;
			/* ending a topic's last client may free the topic: hold it by a client
			 * that stays, or stop at the last */
			struct client *c = t->clients, *cnext;
			for (; c; c = cnext) {
				cnext = c->next;
				if (c->watcher || !c->has_grant ||
				    jq_auth_grant_valid(a, c->grant, JQ_SCOPE_READ))
					continue;
				jq_info("job %" PRId64 ": its event stream ends: the token that "
					"opened it was revoked",
					t->id);
				int others = t->clients != c || c->next;
				client_end(c, 401, "the token was revoked");
				if (!others)
					break; /* t may be gone */
			}
		}
	}
}

int64_t jq_events_streams(const struct jq_events *ev)
{
	return ev ? ev->streams : 0;
}

int64_t jq_events_watchers(const struct jq_events *ev)
{
	return ev ? ev->watchers : 0;
}
