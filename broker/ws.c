/* ws.c: the WebSocket endpoint (GET /ws): handshake, framing with libwslay over the
 * connection's bufferevent, subscriptions as events.h watches; see ws.h. */
#include "ws.h"

#include <ctype.h>
#include <stdarg.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <inttypes.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <wslay/wslay.h>

#include "auth.h"
#include "broker.h"
#include "events.h"
#include "http.h"
#include "job.h"
#include "log.h"
#include "reply.h"
#include "util.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11" /* RFC 6455, section 1.3 */

struct ws_conn;

/* One subscription of a connection: a job or a queue, followed through an events.h watch. */
struct ws_sub {
	struct ws_conn *conn;
	enum jq_events_kind kind;
	int64_t id;                        /* the job; 0 for a queue */
	char queue[JQ_QUEUE_NAME_MAX + 1]; /* the queue; "" for a job */
	struct jq_events_watch *watch;     /* NULL once the watch has ended */
	struct ws_sub *next;
};

struct ws_conn {
	struct jq_ws *ws;
	struct bufferevent *bev; /* owned, with the socket (taken over from the HTTP server) */
	wslay_event_context_ptr ctx;
	struct ws_sub *subs;
	int nsubs;
	int dead;          /* to be freed by the next reap; nothing more is read or written */
	int in_recv;       /* inside wslay_event_recv: what its callbacks queue is sent after it */
	int proto_error;   /* the client broke the protocol in a way wslay lets through */
	int closing_raw;   /* a close 1002 was written past wslay: closed once it is out */
	int io_failed;     /* recv_cb or send_cb failed (else a callback failure is wslay's
			     frame parser refusing a frame) */
	int64_t last_seen; /* monotonic ms of the last bytes from the client */
	unsigned char grant[32]; /* the token that opened it, if has_grant (auth.h) */
	int has_grant;
	char name[JQ_WS_CLIENT_ID_MAX + 64]; /* peer address and client id, for logs */
	struct ws_conn *prev, *next;
};

struct jq_ws {
	struct jq_broker *b;
	struct ws_conn *conns;
	int64_t nconns;
	struct event *reap; /* frees dead connections on the next turn of the loop */
	struct event *ping;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- pure helpers ---- */

int jq_ws_accept_key(const char *key, char out[29])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *md_ctx = EVP_MD_CTX_new();
	int ok = md_ctx && EVP_DigestInit_ex(md_ctx, EVP_sha1(), NULL) == 1 &&
		 EVP_DigestUpdate(md_ctx, key, strlen(key)) == 1 &&
		 EVP_DigestUpdate(md_ctx, WS_GUID, sizeof(WS_GUID) - 1) == 1 &&
		 EVP_DigestFinal_ex(md_ctx, md, &mdlen) == 1 && mdlen == 20;
	EVP_MD_CTX_free(md_ctx);
	if (!ok)
		return -1;
	/* 20 bytes encode to 28 characters plus the NUL EVP_EncodeBlock writes */
	return EVP_EncodeBlock((unsigned char *)out, md, 20) == 28 ? 0 : -1;
}

int jq_ws_key_valid(const char *key)
{
	/* 16 bytes are 24 base64 characters, the last two "=" padding */
	if (!key || strlen(key) != 24 || key[22] != '=' || key[23] != '=')
		return 0;
	for (int i = 0; i < 22; i++)
		if (!isalnum((unsigned char)key[i]) && key[i] != '+' && key[i] != '/')
			return 0;
	unsigned char raw[24];
	return EVP_DecodeBlock(raw, (const unsigned char *)key, 24) == 18;
}

int jq_ws_header_has_token(const char *value, const char *token)
{
	size_t tlen = strlen(token);
	const char *p = value;
	while (p && *p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		const char *end = p;
		while (*end && *end != ',')
			end++;
		const char *last = end;
		while (last > p && (last[-1] == ' ' || last[-1] == '\t'))
			last--;
		if ((size_t)(last - p) == tlen && strncasecmp(p, token, tlen) == 0)
			return 1;
		p = end;
	}
	return 0;
}

/* Subscriptions a connection may hold (--ws-max-subs), and targets one message may name. */
static int max_subs(const struct jq_ws *ws)
{
	return ws->b->cfg.ws_max_subs > 0 ? (int)ws->b->cfg.ws_max_subs : JQ_WS_MAX_SUBS;
}

/* ---- connection lifetime ---- */

static void conn_kill(struct ws_conn *c, const char *why)
{
	if (c->dead)
		return;
	c->dead = 1;
	jq_debug("websocket %s: closed (%s)", c->name, why);
	/* never freed from inside a callback of its own (wslay's, the bufferevent's, a
	 * watch's): the reap event frees it on the next turn of the loop */
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	event_active(c->ws->reap, 0, 0);
}

static void sub_unlink(struct ws_sub *s)
{
	struct ws_sub **pp = &s->conn->subs;
	while (*pp && *pp != s)
		pp = &(*pp)->next;
	if (*pp) {
		*pp = s->next;
		s->conn->nsubs--;
	}
}

static void conn_free(struct ws_conn *c)
{
	struct jq_ws *ws = c->ws;
	while (c->subs) {
		struct ws_sub *s = c->subs;
		jq_events_unwatch(s->watch);
		sub_unlink(s);
		free(s);
	}
	if (c->prev)
		c->prev->next = c->next;
	else
		ws->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	ws->nconns--;
	wslay_event_context_free(c->ctx);
	bufferevent_free(c->bev); /* and closes the socket */
	free(c);
}

static void reap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct jq_ws *ws = arg;
	struct ws_conn *c = ws->conns;
	while (c) {
		struct ws_conn *next = c->next;
		if (c->dead)
			conn_free(c);
		c = next;
	}
}

/* Writes what wslay has queued into the bufferevent, and decides whether the connection
 * is over: closed on both sides and flushed, broken, or too slow to read its events. */
static void conn_flush(struct ws_conn *c)
{
	if (c->dead || c->in_recv || c->closing_raw)
		return;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	if (wslay_event_want_write(c->ctx) && wslay_event_send(c->ctx) != 0) {
		conn_kill(c, "write failed");
		return;
	}
	size_t pending = evbuffer_get_length(out);
	if (pending > JQ_WS_MAX_OUTPUT) {
		jq_warn("websocket %s: dropped: %zu bytes of events unread (the limit is %d)",
			c->name, pending, JQ_WS_MAX_OUTPUT);
		conn_kill(c, "too slow");
		return;
	}
	if (!wslay_event_want_read(c->ctx) && !wslay_event_want_write(c->ctx)) {
		if (pending == 0)
			conn_kill(c, "close handshake done");
		/* else the write callback comes back here once it is flushed */
		return;
	}
	if (wslay_event_get_close_sent(c->ctx)) {
		/* our close frame is out: the client has a while to answer with its own */
		struct timeval tv = {JQ_WS_CLOSE_WAIT_S, 0};
		bufferevent_set_timeouts(c->bev, &tv, &tv);
	}
}

/* Queues one JSON text message (takes the reference); the caller flushes. */
static void conn_queue_json(struct ws_conn *c, json_t *j)
{
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!text) {
		conn_kill(c, "out of memory");
		return;
	}
	if (!c->dead) {
		struct wslay_event_msg m = {WSLAY_TEXT_FRAME, (const uint8_t *)text, strlen(text)};
		/* WSLAY_ERR_NO_MORE_MSG after a close frame: nothing more is sent, as it should */
		int rc = wslay_event_queue_msg(c->ctx, &m); /* copies the message */
		if (rc == WSLAY_ERR_NOMEM)
			conn_kill(c, "out of memory");
	}
	free(text);
}

/* {"type": "error", "error": {"code", "message"}} (the HTTP error object), with the job or
 * queue it is about when there is one. */
static void conn_queue_error(struct ws_conn *c, const struct ws_sub *about, const char *code,
			     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void conn_queue_error(struct ws_conn *c, const struct ws_sub *about, const char *code,
			     const char *fmt, ...)
{
	char msg[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!jq_utf8_valid(msg, strlen(msg)))
		snprintf(msg, sizeof(msg), "invalid input");
	json_t *j = json_pack("{s:s,s:{s:s,s:s}}", "type", "error", "error", "code", code,
			      "message", msg);
	if (j && about && about->kind == JQ_EVENTS_JOB)
		json_object_set_new(j, "job", json_integer(about->id));
	else if (j && about)
		json_object_set_new(j, "queue", json_string(about->queue));
	conn_queue_json(c, j);
}

/* {"type": "subscribed"|"unsubscribed", "job": N} or {..., "queue": "name"}. */
static void conn_queue_ack(struct ws_conn *c, const char *type, enum jq_events_kind kind,
			   int64_t id, const char *queue)
{
	if (kind == JQ_EVENTS_JOB)
		conn_queue_json(c, json_pack("{s:s,s:I}", "type", type, "job", (json_int_t)id));
	else
		conn_queue_json(c, json_pack("{s:s,s:s}", "type", type, "queue", queue));
}

/* ---- subscriptions ---- */

/* A watch's news (events.h: it may only record or send). */
static void on_watch(void *arg, const struct jq_event *e)
{
	struct ws_sub *s = arg;
	struct ws_conn *c = s->conn;
	if (e->kind == JQ_EVENT_END) {
		s->watch = NULL; /* events.c frees it */
		if (!c->dead && !strcmp(e->end, "not_found"))
			conn_queue_error(c, s, "not_found", "job %" PRId64 " not found", s->id);
		else if (!c->dead && strcmp(e->end, "done") != 0)
			conn_queue_error(c, s, "redis_unavailable",
					 "redis is unavailable: the subscription has ended");
		/* "done": the job's terminal event was the last; the subscription ends with it */
		sub_unlink(s);
		free(s);
	} else if (c->dead) {
		return;
	} else if (e->kind == JQ_EVENT_READY) {
		conn_queue_ack(c, "subscribed", s->kind, s->id, s->queue);
	} else {
		json_t *data = jq_events_data(e->id, e->state, e->done, e->total, e->error, e->seq);
		json_t *j = data ? json_pack("{s:s,s:I,s:O,s:o}", "type", "event", "job",
					     (json_int_t)e->id, "event",
					     json_object_get(data, "state"), "data", data)
				 : NULL;
		if (j && s->kind == JQ_EVENTS_QUEUE)
			json_object_set_new(j, "queue", json_string(s->queue));
		if (j)
			conn_queue_json(c, j);
		else /* only when out of memory: this event is lost, the connection is not */
			jq_warn("websocket: an event of job %" PRId64 " could not be encoded",
				e->id);
	}
	conn_flush(c);
}

static struct ws_sub *sub_find(struct ws_conn *c, enum jq_events_kind kind, int64_t id,
			       const char *queue)
{
	for (struct ws_sub *s = c->subs; s; s = s->next)
		if (s->kind == kind &&
		    (kind == JQ_EVENTS_JOB ? s->id == id : !strcmp(s->queue, queue)))
			return s;
	return NULL;
}

/* One target of a message: a job id or a queue name (pointing into the message). */
struct target {
	enum jq_events_kind kind;
	int64_t id;
	const char *queue;
};

/* Adds the targets of one field ("job_id"/"jobs" or "queue"/"queues") to t[]; -1 after
 * queueing an error. */
static int collect(struct ws_conn *c, json_t *v, enum jq_events_kind kind, int list,
		   const char *field, struct target *t, size_t *n)
{
	if (list && !json_is_array(v)) {
		conn_queue_error(c, NULL, "invalid_argument", "'%s' must be an array", field);
		return -1;
	}
	size_t count = list ? json_array_size(v) : 1;
	for (size_t i = 0; i < count; i++) {
		json_t *x = list ? json_array_get(v, i) : v;
		if (*n >= (size_t)max_subs(c->ws)) {
			conn_queue_error(c, NULL, "invalid_argument",
					 "at most %d jobs and queues in one message",
					 max_subs(c->ws));
			return -1;
		}
		if (kind == JQ_EVENTS_JOB) {
			if (!json_is_integer(x) || json_integer_value(x) < 1) {
				conn_queue_error(c, NULL, "invalid_argument",
						 "'%s' must hold positive integer job ids", field);
				return -1;
			}
			t[*n] = (struct target){kind, json_integer_value(x), ""};
		} else {
			const char *q = json_string_value(x);
			if (!q || !jq_name_valid(q, json_string_length(x))) {
				conn_queue_error(c, NULL, "invalid_argument",
						 "'%s' must hold queue names (1 to 64 of "
						 "A-Z a-z 0-9 _ . : -)",
						 field);
				return -1;
			}
			t[*n] = (struct target){kind, 0, q};
		}
		(*n)++;
	}
	return 0;
}

static int target_seen(const struct target *t, size_t n, const struct target *x)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].kind == x->kind &&
		    (x->kind == JQ_EVENTS_JOB ? t[i].id == x->id : !strcmp(t[i].queue, x->queue)))
			return 1;
	return 0;
}

static void subscribe(struct ws_conn *c, const struct target *t, size_t n)
{
	/* all or nothing: count what is new before taking anything */
	size_t fresh = 0;
	for (size_t i = 0; i < n; i++)
		if (!sub_find(c, t[i].kind, t[i].id, t[i].queue) && !target_seen(t, i, &t[i]))
			fresh++;
	if ((size_t)c->nsubs + fresh > (size_t)max_subs(c->ws)) {
		conn_queue_error(
			c, NULL, "limit_exceeded",
			"at most %d subscriptions per connection (%d taken; --ws-max-subs)",
			max_subs(c->ws), c->nsubs);
		return;
	}
	for (size_t i = 0; i < n && !c->dead; i++) {
		if (sub_find(c, t[i].kind, t[i].id, t[i].queue)) {
			conn_queue_ack(c, "subscribed", t[i].kind, t[i].id, t[i].queue);
			continue;
		}
		struct ws_sub *s = calloc(1, sizeof(*s));
		if (!s) {
			conn_queue_error(c, NULL, "out_of_memory", "the broker is out of memory");
			return;
		}
		s->conn = c;
		s->kind = t[i].kind;
		s->id = t[i].id;
		snprintf(s->queue, sizeof(s->queue), "%s", t[i].queue);
		s->next = c->subs;
		c->subs = s;
		c->nsubs++;
		/* READY may come before this returns: s is linked already */
		s->watch = jq_events_watch(c->ws->b->events, s->kind, s->id, s->queue, on_watch, s);
		if (!s->watch) {
			conn_queue_error(c, s, "redis_unavailable", "redis is unavailable");
			sub_unlink(s);
			free(s);
		}
	}
}

static void unsubscribe(struct ws_conn *c, const struct target *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct ws_sub *s = sub_find(c, t[i].kind, t[i].id, t[i].queue);
		if (s) {
			jq_events_unwatch(s->watch);
			sub_unlink(s);
			free(s);
		}
		/* unsubscribing from what was not followed is not an error: the end is the same */
		conn_queue_ack(c, "unsubscribed", t[i].kind, t[i].id, t[i].queue);
	}
}

/* The type of message m, and the object that names its targets (*spec: m itself, or
 * the object under "subscribe"/"unsubscribe"): 0, or -1 after queueing an error. */
static int message_type(struct ws_conn *c, json_t *m, const char **type, json_t **spec)
{
	*spec = m;
	json_t *tv = json_object_get(m, "type");
	if (tv) {
		*type = json_string_value(tv);
		if (!*type) {
			conn_queue_error(c, NULL, "invalid_argument", "'type' must be a string");
			return -1;
		}
	} else if (json_object_size(m) == 1 &&
		   (json_object_get(m, "subscribe") || json_object_get(m, "unsubscribe"))) {
		*type = json_object_get(m, "subscribe") ? "subscribe" : "unsubscribe";
		*spec = json_object_get(m, *type);
		if (!json_is_object(*spec)) {
			conn_queue_error(
				c, NULL, "invalid_argument",
				"'%s' must be an object {\"jobs\": [...], \"queues\": [...]}",
				*type);
			return -1;
		}
	} else {
		conn_queue_error(c, NULL, "invalid_argument",
				 "a message needs a 'type', or is {\"subscribe\": {...}} or "
				 "{\"unsubscribe\": {...}}");
		return -1;
	}
	return 0;
}

/* The targets spec names (m: the message; its "type" is no target) into t[], *n of them,
 * at least one: 0, or -1 after queueing an error. */
static int collect_targets(struct ws_conn *c, json_t *m, json_t *spec, struct target *t, size_t *n)
{
	const char *key;
	json_t *v;
	*n = 0;
	json_object_foreach(spec, key, v)
	{
		int rc;
		if (spec == m && !strcmp(key, "type"))
			continue;
		else if (!strcmp(key, "job_id"))
			rc = collect(c, v, JQ_EVENTS_JOB, 0, key, t, n);
		else if (!strcmp(key, "jobs"))
			rc = collect(c, v, JQ_EVENTS_JOB, 1, key, t, n);
		else if (!strcmp(key, "queue"))
			rc = collect(c, v, JQ_EVENTS_QUEUE, 0, key, t, n);
		else if (!strcmp(key, "queues"))
			rc = collect(c, v, JQ_EVENTS_QUEUE, 1, key, t, n);
		else {
			conn_queue_error(c, NULL, "invalid_argument",
					 "unknown field '%.64s' (job_id, jobs, queue, queues)",
					 key);
			rc = -1;
		}
		if (rc != 0)
			return -1;
	}
	if (*n == 0) {
		conn_queue_error(c, NULL, "invalid_argument",
				 "name at least one job ('job_id', 'jobs') or queue ('queue', "
				 "'queues')");
		return -1;
	}
	return 0;
}

/* One text message from the client:
 *   {"type": "subscribe"|"unsubscribe", "job_id": N, "jobs": [...], "queue": "q",
 *    "queues": [...]}   (any of the four fields, at least one target)
 *   {"subscribe"|"unsubscribe": {"jobs": [...], "queues": [...]}}
 *   {"type": "ping"}   -> {"type": "pong"} (for clients that cannot send ping frames) */
static void on_text(struct ws_conn *c, const char *msg, size_t len)
{
	json_error_t jerr;
	json_t *m = json_loadb(msg, len, JSON_REJECT_DUPLICATES, &jerr);
	struct target *t = NULL;
	const char *type = NULL;
	json_t *spec;
	size_t n;
	if (!m || !json_is_object(m)) {
		conn_queue_error(c, NULL, "invalid_json", "a message must be a JSON object%s%s",
				 m ? "" : ": ", m ? "" : jerr.text);
		goto done;
	}
	if (message_type(c, m, &type, &spec) != 0)
		goto done;
	if (!strcmp(type, "ping")) {
		conn_queue_json(c, json_pack("{s:s}", "type", "pong"));
		goto done;
	}
	if (strcmp(type, "subscribe") != 0 && strcmp(type, "unsubscribe") != 0) {
		conn_queue_error(c, NULL, "invalid_argument",
				 "unknown message type '%.64s' (subscribe, unsubscribe or ping)",
				 type);
		goto done;
	}
	t = malloc((size_t)max_subs(c->ws) * sizeof(*t));
	if (!t) {
		conn_queue_error(c, NULL, "out_of_memory", "the broker is out of memory");
		goto done;
	}
	if (collect_targets(c, m, spec, t, &n) != 0)
		goto done;
	if (!strcmp(type, "subscribe"))
		subscribe(c, t, n);
	else
		unsubscribe(c, t, n);
done:
	free(t); /* the targets point into m: freed first */
	json_decref(m);
}

/* ---- wslay's callbacks: bytes come from and go to the bufferevent ---- */

static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *user)
{
	struct ws_conn *c = user;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	if (evbuffer_get_length(in) == 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	int n = evbuffer_remove(in, buf, len);
	if (n <= 0) {
		c->io_failed = 1;
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	c->last_seen = now_ms();
	return n;
}

static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
		       void *user)
{
	struct ws_conn *c = user;
	/* never blocks: the bufferevent writes when the socket takes it; conn_flush bounds
	 * what piles up */
	if (evbuffer_add(bufferevent_get_output(c->bev), data, len) != 0) {
		c->io_failed = 1;
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	return (ssize_t)len;
}

static void on_msg_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
		      void *user)
{
	struct ws_conn *c = user;
	if (c->dead)
		return;
	if (arg->opcode == WSLAY_TEXT_FRAME)
		on_text(c, (const char *)arg->msg, arg->msg_length);
	else if (arg->opcode == WSLAY_BINARY_FRAME)
		wslay_event_queue_close(ctx, WSLAY_CODE_UNSUPPORTED_DATA,
					(const uint8_t *)"text messages only", 18);
	/* ping: wslay queues the pong; close: wslay queues ours and stops reading */
}

/* ---- the bufferevent's callbacks ---- */

/* A frame's head (wslay's callback): a close frame whose payload is one byte (half a
 * status code) is a protocol error that wslay answers with an empty close; marked, so
 * read_cb answers 1002 instead. */
static void on_frame_start_cb(wslay_event_context_ptr ctx,
			      const struct wslay_event_on_frame_recv_start_arg *arg, void *user)
{
	struct ws_conn *c = user;
	if (arg->opcode == WSLAY_CONNECTION_CLOSE && arg->payload_length == 1)
		c->proto_error = 1;
}

/* The client broke the protocol (a malformed control frame: longer than 125 bytes,
 * fragmented, a 1-byte close...): a close frame 1002 is written directly (wslay's state
 * is of no more use) and the connection ends once it is out, or after
 * JQ_WS_CLOSE_WAIT_S. */
static void conn_close_protocol_error(struct ws_conn *c, const char *why)
{
	static const char reason[] = "protocol error";
	unsigned char frame[4 + sizeof(reason) - 1] = {0x88, 2 + sizeof(reason) - 1, 0x03, 0xea};
	memcpy(frame + 4, reason, sizeof(reason) - 1);
	c->closing_raw = 1;
	jq_debug("websocket %s: %s: closing with 1002", c->name, why);
	struct evbuffer *in = bufferevent_get_input(c->bev);
	evbuffer_drain(in, evbuffer_get_length(in));
	bufferevent_disable(c->bev, EV_READ);
	if (bufferevent_write(c->bev, frame, sizeof(frame)) != 0) {
		conn_kill(c, "write failed");
		return;
	}
	struct timeval tv = {JQ_WS_CLOSE_WAIT_S, 0};
	bufferevent_set_timeouts(c->bev, &tv, &tv);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct ws_conn *c = arg;
	if (c->dead || c->closing_raw)
		return;
	c->in_recv = 1;
	int rc = wslay_event_recv(c->ctx);
	c->in_recv = 0;
	/* wslay 1.1's frame parser reports a control frame longer than 125 bytes or
	 * fragmented as a callback failure: ours did not fail, so that is what it was */
	if (rc == WSLAY_ERR_PROTO || (rc == WSLAY_ERR_CALLBACK_FAILURE && !c->io_failed) ||
	    (rc == 0 && c->proto_error)) {
		conn_close_protocol_error(c, c->proto_error ? "a close frame of 1 byte"
							    : "a malformed frame");
		return;
	}
	if (rc != 0) {
		jq_debug("websocket %s: wslay_event_recv: %d", c->name, rc);
		conn_kill(c, "read failed");
		return;
	}
	struct evbuffer *in = bufferevent_get_input(bev);
	if (!wslay_event_get_read_enabled(c->ctx)) /* after a close frame: nothing more counts */
		evbuffer_drain(in, evbuffer_get_length(in));
	conn_flush(c);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
	struct ws_conn *c = arg;
	if (c->closing_raw) {
		conn_kill(c, "protocol error");
		return;
	}
	conn_flush(c); /* the output is flushed: a finished close handshake ends here */
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct ws_conn *c = arg;
	conn_kill(c, what & BEV_EVENT_EOF       ? "the client went away"
		     : what & BEV_EVENT_TIMEOUT ? "no close frame from the client"
						: "connection error");
}

static const struct wslay_event_callbacks wslay_callbacks = {
	.recv_callback = recv_cb,
	.send_callback = send_cb,
	.on_frame_recv_start_callback = on_frame_start_cb,
	.on_msg_recv_callback = on_msg_cb,
};

/* ---- the route ---- */

static void reply_bad_handshake(struct jq_http_req *req, int status, const char *msg)
{
	if (status == 426) {
		jq_http_add_header(req, "Sec-WebSocket-Version", "13");
		jq_http_add_header(req, "Upgrade", "websocket");
		jq_http_add_header(req, "Connection", "Upgrade");
	}
	jq_reply_error(req, status, status == 426 ? "upgrade_required" : "invalid_argument", "%s",
		       msg);
}

static int client_id_valid(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > JQ_WS_CLIENT_ID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)id[i]) && !strchr("_.:-", id[i]))
			return 0;
	return 1;
}

/* The request is a WebSocket handshake this endpoint takes (arg: the client id, or
 * NULL): its key in *key; else answers 400 or 426 and -1. */
static int handshake_check(struct jq_http_req *req, const char *arg, const char **key)
{
	const char *upgrade = jq_http_header(req, "Upgrade");
	const char *connection = jq_http_header(req, "Connection");
	const char *version = jq_http_header(req, "Sec-WebSocket-Version");
	*key = jq_http_header(req, "Sec-WebSocket-Key");
	if (arg && !client_id_valid(arg)) {
		jq_reply_error(req, 400, "invalid_argument",
			       "the client id must be 1 to %d of A-Z a-z 0-9 _ . : -",
			       JQ_WS_CLIENT_ID_MAX);
		return -1;
	}
	if (!jq_ws_header_has_token(upgrade, "websocket") ||
	    !jq_ws_header_has_token(connection, "upgrade")) {
		reply_bad_handshake(req, 400,
				    "a WebSocket handshake needs 'Upgrade: websocket' and "
				    "'Connection: Upgrade'");
		return -1;
	}
	if (!version || strcmp(version, "13") != 0) {
		reply_bad_handshake(req, 426, "only Sec-WebSocket-Version 13 is spoken here");
		return -1;
	}
	if (!jq_ws_key_valid(*key)) {
		reply_bad_handshake(req, 400,
				    "Sec-WebSocket-Key must be 16 bytes in base64 (24 characters)");
		return -1;
	}
	return 0;
}

/* A connection for the request, its socket and what the client sent after the request
 * taken over from the HTTP server (which forgets it), and its Sec-WebSocket-Accept in
 * accept; NULL after answering 503. */
static struct ws_conn *conn_take(struct jq_broker *b, struct jq_http_req *req, const char *arg,
				 const char *key, char accept[29])
{
	struct ws_conn *c = calloc(1, sizeof(*c));
	char peer[80];
	jq_http_peer(req, peer, sizeof(peer));
	if (!c || jq_ws_accept_key(key, accept) != 0 ||
	    wslay_event_context_server_init(&c->ctx, &wslay_callbacks, c) != 0 ||
	    !(c->bev = bufferevent_socket_new(b->base, -1, BEV_OPT_CLOSE_ON_FREE))) {
		if (c && c->ctx)
			wslay_event_context_free(c->ctx);
		free(c);
		jq_reply_error(req, 503, "out_of_memory", "the broker is out of memory");
		return NULL;
	}
	/* arg lives in the request, which the takeover frees */
	snprintf(c->name, sizeof(c->name), "%s%s%s", peer, arg ? " client " : "", arg ? arg : "");
	/* From here the connection is ours: the HTTP server hands over its socket and what
	 * the client sent after the request (frames may follow it at once), and forgets it.
	 * The bufferevent closes the socket when conn_free frees it. */
	evutil_socket_t fd;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	/* a socket bufferevent's input is closed to additions but its own: opened for these */
	evbuffer_unfreeze(in, 0);
	int taken = jq_http_takeover(req, &fd, in);
	evbuffer_freeze(in, 0);
	if (taken != 0) {
		bufferevent_free(c->bev);
		wslay_event_context_free(c->ctx);
		free(c);
		jq_reply_error(req, 503, "unavailable", "the connection cannot be upgraded now");
		return NULL;
	}
	bufferevent_setfd(c->bev, fd);
	return c;
}

void jq_api_ws(struct jq_broker *b, struct jq_http_req *req, const char *arg)
{
	struct jq_ws *ws = b->ws;
	const char *key;
	char accept[29];
	if (handshake_check(req, arg, &key) != 0)
		return;
	/* A WebSocket has no CORS: without an Origin check any page a user visits could
	 * follow the jobs (cross-site WebSocket hijacking). The dispatcher checked it for
	 * every request with an Upgrade header (guard.h), against the same allow-list. */
	if (!ws || !b->events) {
		jq_reply_error(req, 503, "out_of_memory", "the broker is out of memory");
		return;
	}
	struct ws_conn *c = conn_take(b, req, arg, key, accept);
	if (!c)
		return;
	c->ws = ws;
	c->last_seen = now_ms();
	const unsigned char *grant = jq_auth_current(&b->auth);
	if (grant) {
		memcpy(c->grant, grant, sizeof(c->grant));
		c->has_grant = 1;
	}
	wslay_event_config_set_max_recv_msg_length(c->ctx, JQ_WS_MAX_MESSAGE);
	bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->next = ws->conns;
	if (ws->conns)
		ws->conns->prev = c;
	ws->conns = c;
	ws->nconns++;
	evbuffer_add_printf(bufferevent_get_output(c->bev),
			    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
			    "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
			    accept);
	jq_broker_count_response(101);
	jq_debug("websocket %s: open", c->name);
	/* frames the client sent right behind its request are in the input already */
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
		read_cb(c->bev, c);
}

/* ---- the endpoint ---- */

static void ping_cb(evutil_socket_t fd, short what, void *arg)
{
	struct jq_ws *ws = arg;
	int64_t now = now_ms();
	int64_t idle_ms = ws->b->cfg.ws_idle_ms ? ws->b->cfg.ws_idle_ms : JQ_WS_IDLE_MS;
	for (struct ws_conn *c = ws->conns; c; c = c->next) {
		if (c->dead)
			continue;
		if (now - c->last_seen >= idle_ms) {
			jq_info("websocket %s: dropped: silent for %" PRId64 " ms", c->name,
				now - c->last_seen);
			conn_kill(c, "idle");
			continue;
		}
		struct wslay_event_msg m = {WSLAY_PING, (const uint8_t *)"", 0};
		wslay_event_queue_msg(c->ctx, &m);
		conn_flush(c);
	}
}

struct jq_ws *jq_ws_new(struct jq_broker *b)
{
	struct jq_ws *ws = calloc(1, sizeof(*ws));
	if (!ws)
		return NULL;
	ws->b = b;
	ws->reap = event_new(b->base, -1, 0, reap_cb, ws);
	ws->ping = event_new(b->base, -1, EV_PERSIST, ping_cb, ws);
	int64_t ping_ms = b->cfg.ws_ping_ms ? b->cfg.ws_ping_ms : JQ_WS_PING_MS;
	struct timeval tv = {ping_ms / 1000, (ping_ms % 1000) * 1000};
	if (!ws->reap || !ws->ping || evtimer_add(ws->ping, &tv) != 0) {
		if (ws->reap)
			event_free(ws->reap);
		if (ws->ping)
			event_free(ws->ping);
		free(ws);
		return NULL;
	}
	return ws;
}

/* Writes what is queued for c with one non-blocking write: the broker is stopping and
 * will not wait for the socket. The bufferevent keeps its output's start frozen for its
 * own writes; it is about to be freed, so it is thawed for this last one. */
static void flush_now(struct ws_conn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	if (evbuffer_get_length(out) == 0)
		return;
	evbuffer_unfreeze(out, 1);
	/* a full socket only loses the courtesy close frame; SIGPIPE is ignored (broker.c) */
	evbuffer_write(out, bufferevent_getfd(c->bev));
}

void jq_ws_free(struct jq_ws *ws)
{
	if (!ws)
		return;
	while (ws->conns) {
		struct ws_conn *c = ws->conns;
		if (!c->dead) {
			/* going away: the close frame goes out if the socket takes it now */
			wslay_event_queue_close(c->ctx, WSLAY_CODE_GOING_AWAY,
						(const uint8_t *)"the broker is stopping", 22);
			if (wslay_event_want_write(c->ctx))
				wslay_event_send(c->ctx);
			flush_now(c);
		}
		conn_free(c);
	}
	event_free(ws->reap);
	event_free(ws->ping);
	free(ws);
}

void jq_ws_check_grants(struct jq_ws *ws, const struct jq_auth *a)
{
	static const char reason[] = "token revoked";
	if (!ws)
		return;
	for (struct ws_conn *c = ws->conns; c; c = c->next) {
		if (c->dead || !c->has_grant || jq_auth_grant_valid(a, c->grant, JQ_SCOPE_READ))
			continue;
		c->has_grant = 0; /* closed once */
		jq_info("websocket %s: closing (1008): the token that opened it was revoked",
			c->name);
		/* after the close frame wslay queues nothing more: no event reaches it */
		wslay_event_queue_close(c->ctx, WSLAY_CODE_POLICY_VIOLATION,
					(const uint8_t *)reason, sizeof(reason) - 1);
		conn_flush(c);
	}
}

int64_t jq_ws_connections(const struct jq_ws *ws)
{
	return ws ? ws->nconns : 0;
}
