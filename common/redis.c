/* redis.c: self-reconnecting async Redis connection; see redis.h. */
#include "redis.h"

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "redis_cluster.h"
#include "sentinel.h"
#include "util.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000

/* per process: every connection of a broker or worker adds to the same counts */
static uint64_t errors[JQ_REDIS_ERR_COUNT];

uint64_t jq_redis_errors(enum jq_redis_error_kind kind)
{
	return errors[kind];
}

/* Error replies are counted where hiredis builds them: a reader with hiredis' own
 * object functions, except that createString counts the errors it is given. This
 * costs one comparison per reply element and sees every command's answer, whichever
 * callback (or none) it goes to. */
static redisReplyObjectFunctions counting_fn;
static void *(*default_create_string)(const redisReadTask *, char *, size_t);

static void kick_later(void *r);

static void *count_create_string(const redisReadTask *task, char *str, size_t len)
{
	if (task->type == REDIS_REPLY_ERROR) {
		errors[JQ_REDIS_ERR_REPLY]++;
		/* the primary we talk to became a replica (a failover): find the new one */
		if (task->privdata && ((len >= 8 && memcmp(str, "READONLY", 8) == 0) ||
				       (len >= 9 && memcmp(str, "UNBLOCKED", 9) == 0)))
			kick_later(task->privdata);
	}
	return default_create_string(task, str, len);
}

static void count_error_replies(redisAsyncContext *ac)
{
	redisReader *reader = ac->c.reader;
	if (!reader || !reader->fn)
		return;
	if (!default_create_string) {
		counting_fn = *reader->fn;
		default_create_string = reader->fn->createString;
		counting_fn.createString = count_create_string;
	}
	if (reader->fn->createString == default_create_string)
		reader->fn = &counting_fn;
}

/* ---- the connection's events ----
 * hiredis' own libevent adapter costs two epoll_ctl calls and one more epoll_wait per
 * command: it registers for EV_WRITE, writes once the socket is reported writable, then
 * unregisters, and it re-adds its one-shot read event after every read. Here the read
 * event persists, and a command is written at the end of the loop turn that queued it
 * (every command queued in the turn goes in the same write()), with no epoll call. Only
 * a write the socket cannot take at once, and the connect itself, wait for EV_WRITE: a
 * non-blocking connect still in progress looks like success to hiredis' check. */
struct jq_redis_events {
	redisAsyncContext *ac;
	struct event *rev;                 /* EV_READ | EV_PERSIST */
	struct event *wev;                 /* EV_WRITE: the connect, or a write that would block */
	struct event *flush;               /* no fd: made active to write at the end of the turn */
	int reading, writing_fd, flushing; /* what is registered; in the flush callback */
	struct jq_redis *owner; /* NULL for another module's connection (jq_redis_attach) */
};

static void note_read(struct jq_redis *r);

static void ev_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct jq_redis_events *e = arg;
	note_read(e->owner);
	redisAsyncHandleRead(e->ac);
}

static void ev_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct jq_redis_events *e = arg;
	e->writing_fd = 0; /* one-shot: hiredis asks again if output is left */
	e->flushing = 1;
	redisAsyncHandleWrite(e->ac); /* may free ac (and e) on an error: touch nothing after */
}

static void ev_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct jq_redis_events *e = arg;
	e->flushing = 1;
	redisAsyncHandleWrite(e->ac); /* as above */
}

static void ev_add_read(void *data)
{
	struct jq_redis_events *e = data;
	if (!e->reading && event_add(e->rev, NULL) == 0)
		e->reading = 1;
}

static void ev_del_read(void *data)
{
	struct jq_redis_events *e = data;
	if (e->reading)
		event_del(e->rev);
	e->reading = 0;
}

static void ev_add_write(void *data)
{
	struct jq_redis_events *e = data;
	if (!(e->ac->c.flags & REDIS_CONNECTED) || e->flushing) {
		/* connecting, or output left after a write: wait until the socket takes more */
		e->flushing = 0;
		if (!e->writing_fd && event_add(e->wev, NULL) == 0)
			e->writing_fd = 1;
	} else if (!e->writing_fd) {
		event_active(e->flush, EV_WRITE, 1); /* a no-op if already active */
	}
}

static void ev_del_write(void *data)
{
	struct jq_redis_events *e = data;
	e->flushing = 0;
	if (e->writing_fd)
		event_del(e->wev);
	e->writing_fd = 0;
}

static void ev_cleanup(void *data)
{
	struct jq_redis_events *e = data;
	event_free(e->rev);
	event_free(e->wev);
	event_free(e->flush);
	free(e);
}

int jq_redis_attach(redisAsyncContext *ac, struct event_base *base)
{
	struct jq_redis_events *e = calloc(1, sizeof(*e));
	if (!e)
		return -1;
	e->ac = ac;
	e->rev = event_new(base, ac->c.fd, EV_READ | EV_PERSIST, ev_read_cb, e);
	e->wev = event_new(base, ac->c.fd, EV_WRITE, ev_write_cb, e);
	e->flush = event_new(base, -1, 0, ev_flush_cb, e);
	if (!e->rev || !e->wev || !e->flush) {
		if (e->rev)
			event_free(e->rev);
		if (e->wev)
			event_free(e->wev);
		if (e->flush)
			event_free(e->flush);
		free(e);
		return -1;
	}
	ac->ev.addRead = ev_add_read;
	ac->ev.delRead = ev_del_read;
	ac->ev.addWrite = ev_add_write;
	ac->ev.delWrite = ev_del_write;
	ac->ev.cleanup = ev_cleanup;
	ac->ev.data = e;
	ev_add_read(e);
	ev_add_write(e); /* the connect completes on the first EV_WRITE */
	return 0;
}

struct jq_redis {
	struct event_base *base;
	struct jq_redis_url url;
	char name[32];
	redisAsyncContext *ac; /* non-NULL while connecting or connected */
	int ready;
	int setup_left; /* setup replies still awaited on this connection */
	int backoff_ms;
	int freeing;
	struct event *retry_ev;
	jq_redis_state_cb *cb;
	void *arg;
	/* redis-sentinel:// URLs: the sentinels, whether url.host and url.port hold the
	 * primary they named, and a deferred drop of the connection (a failover) */
	struct jq_sentinel *sentinel;
	int have_primary;
	struct event *kick_ev;
	/* the reply timeout: 0 for none; the watch samples the connection */
	int64_t reply_timeout_ms;
	struct event *watch_ev;
	int64_t last_read_us, waiting_since_us;
	/* redis-cluster:// URLs: the slot map and one connection per master (nothing
	 * above is used then) */
	struct jq_cluster_conn *cluster;
};

static void kick_later(void *arg)
{
	struct jq_redis *r = arg;
	if (r->sentinel && !r->freeing)
		event_active(r->kick_ev, EV_TIMEOUT, 1);
}

static void note_read(struct jq_redis *r)
{
	if (r)
		r->last_read_us = jq_mono_us();
}

static void schedule_retry(struct jq_redis *r)
{
	if (r->freeing)
		return;
	struct timeval tv = {r->backoff_ms / 1000, (r->backoff_ms % 1000) * 1000};
	evtimer_add(r->retry_ev, &tv);
	r->backoff_ms *= 2;
	if (r->backoff_ms > BACKOFF_MAX_MS)
		r->backoff_ms = BACKOFF_MAX_MS;
}

static void lost(struct jq_redis *r)
{
	int was_ready = r->ready;
	r->ac = NULL;
	r->ready = 0;
	r->have_primary = 0; /* with Sentinel: ask again where the primary is */
	if (was_ready && r->cb)
		r->cb(r, 0, r->arg);
	schedule_retry(r);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
	struct jq_redis *r = ac->data;
	if (status != REDIS_OK) {
		errors[JQ_REDIS_ERR_CONNECT]++;
		jq_warn("redis %s: cannot connect to %s:%d: %s", r->name, r->url.host, r->url.port,
			ac->errstr);
		lost(r); /* hiredis frees ac after this returns */
	}
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
	struct jq_redis *r = ac->data;
	if (!r->freeing) {
		errors[JQ_REDIS_ERR_DISCONNECT]++;
		jq_warn("redis %s: connection lost%s%s", r->name, status == REDIS_OK ? "" : ": ",
			status == REDIS_OK ? "" : ac->errstr);
	}
	lost(r);
}

static void on_setup_reply(redisAsyncContext *ac, void *reply, void *priv)
{
	struct jq_redis *r = priv;
	redisReply *rep = reply;
	if (rep == NULL || ac != r->ac)
		return; /* the connection went away; on_disconnect handles it */
	if (rep->type == REDIS_REPLY_ERROR) {
		/* NOAUTH: Redis wants a password; NOPERM: an ACL user without a command jobq
		 * uses (docs/deploy.md lists them); a Redis before 7.0 reads the scripts'
		 * first line, #!lua, as a syntax error */
		jq_error(
			"redis %s: set-up failed: %s%s", r->name, rep->str,
			strncmp(rep->str, "NOAUTH", 6) == 0
				? " (give a password in --redis-url or --redis-password-file)"
			: strncmp(rep->str, "NOPERM", 6) == 0
				? " (the Redis user lacks a command or key jobq needs: see the ACL "
				  "in docs/deploy.md)"
			: strstr(rep->str, "compiling script") ? " (jobq needs Redis 7.0 or newer)"
							       : "");
		redisAsyncDisconnect(ac);
		return;
	}
	if (--r->setup_left == 0) {
		r->ready = 1;
		r->backoff_ms = BACKOFF_MIN_MS;
		jq_info("redis %s: ready (%s:%d db %d%s%s)", r->name,
			r->url.unix_path[0] ? r->url.unix_path : r->url.host, r->url.port,
			r->url.db, r->sentinel ? ", the primary of " : "",
			r->sentinel ? r->url.master : "");
		if (r->sentinel)
			jq_sentinel_watch(r->sentinel);
		if (r->cb)
			r->cb(r, 1, r->arg);
	}
}

static void connect_now(struct jq_redis *r);

/* A sentinel named the primary (host NULL: none did). */
static void on_primary(void *arg, const char *host, int port)
{
	struct jq_redis *r = arg;
	if (!host) {
		errors[JQ_REDIS_ERR_CONNECT]++;
		schedule_retry(r);
		return;
	}
	snprintf(r->url.host, sizeof(r->url.host), "%s", host);
	r->url.port = port;
	r->have_primary = 1;
	connect_now(r);
}

/* ROLE, asked first on a primary a sentinel named: it must still be one. */
static void on_role(redisAsyncContext *ac, void *reply, void *priv)
{
	struct jq_redis *r = priv;
	redisReply *rep = reply;
	if (rep == NULL || ac != r->ac)
		return;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 1 ||
	    rep->element[0]->type != REDIS_REPLY_STRING ||
	    strcmp(rep->element[0]->str, "master") != 0) {
		jq_warn("redis %s: %s:%d is not the primary (ROLE: %s); asking the sentinels again",
			r->name, r->url.host, r->url.port,
			rep->type == REDIS_REPLY_ERROR ? rep->str
			: rep->type == REDIS_REPLY_ARRAY && rep->elements &&
					rep->element[0]->type == REDIS_REPLY_STRING
				? rep->element[0]->str
				: "?");
		redisAsyncDisconnect(ac);
		return;
	}
	on_setup_reply(ac, reply, priv);
}

/* AUTH's answer: a refusal says what to check, then it is a set-up reply like the others. */
static void on_auth_reply(redisAsyncContext *ac, void *reply, void *priv)
{
	struct jq_redis *r = priv;
	redisReply *rep = reply;
	if (rep && ac == r->ac && rep->type == REDIS_REPLY_ERROR) {
		jq_error(
			"redis %s: authentication as %s%s%s failed: %s (check the user and password "
			"of --redis-url, or --redis-password-file)",
			r->name, r->url.user[0] ? "user '" : "the default user", r->url.user,
			r->url.user[0] ? "'" : "", rep->str);
		redisAsyncDisconnect(ac);
		return;
	}
	on_setup_reply(ac, reply, priv);
}

static void kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct jq_redis *r = arg;
	redisAsyncContext *ac = r->ac;
	if (!ac)
		return;
	r->backoff_ms = BACKOFF_MIN_MS; /* the next primary is known: no reason to wait */
	jq_warn("redis %s: leaving %s:%d, which is no longer the primary", r->name, r->url.host,
		r->url.port);
	int connected = (ac->c.flags & REDIS_CONNECTED) != 0;
	redisAsyncFree(ac); /* pending callbacks get NULL: not done; then on_disconnect */
	if (!connected)
		lost(r);
}

/* A sentinel announced a failover. Each sentinel does, within a second or so of the
 * others: a connection already made (or being made) to the new primary stays. */
static void on_switch(void *arg, const char *host, int port)
{
	struct jq_redis *r = arg;
	if (r->freeing)
		return;
	if (!r->ac) {
		/* backing off after failed attempts (at the primary that died): the sentinels
		 * name the new one now, ask them at once rather than after up to
		 * BACKOFF_MAX_MS; a discovery under way finds it by itself */
		if (evtimer_pending(r->retry_ev, NULL)) {
			evtimer_del(r->retry_ev);
			r->backoff_ms = BACKOFF_MIN_MS;
			connect_now(r);
		}
		return;
	}
	if (host && r->have_primary && r->url.port == port && strcmp(r->url.host, host) == 0)
		return;
	kick_later(r);
}

static void connect_now(struct jq_redis *r)
{
	if (r->sentinel && !r->have_primary) {
		jq_sentinel_discover(r->sentinel, on_primary, r);
		return;
	}
	redisAsyncContext *ac = r->url.unix_path[0] ? redisAsyncConnectUnix(r->url.unix_path)
						    : redisAsyncConnect(r->url.host, r->url.port);
	if (ac == NULL || ac->err) {
		errors[JQ_REDIS_ERR_CONNECT]++;
		jq_warn("redis %s: cannot connect: %s", r->name, ac ? ac->errstr : "out of memory");
		if (ac)
			redisAsyncFree(ac);
		schedule_retry(r);
		return;
	}
	if (jq_redis_attach(ac, r->base) != 0) {
		errors[JQ_REDIS_ERR_CONNECT]++;
		jq_warn("redis %s: cannot connect: out of memory", r->name);
		redisAsyncFree(ac);
		schedule_retry(r);
		return;
	}
	ac->data = r;
	r->ac = ac;
	((struct jq_redis_events *)ac->ev.data)->owner = r;
	count_error_replies(ac);
	/* count_create_string learns whose reply (not redisReaderSetPrivdata: its cast of the
	 * pointer to int is an error for clang) */
	ac->c.reader->privdata = r;
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	if (!r->url.unix_path[0])
		redisEnableKeepAlive(&ac->c);
	/* queued now, sent in order once connected: nothing else goes before them */
	r->setup_left = 0;
	if (r->url.user[0]) { /* an ACL user (Redis 6+) */
		redisAsyncCommand(ac, on_auth_reply, r, "AUTH %s %s", r->url.user, r->url.password);
		r->setup_left++;
	} else if (r->url.password[0]) {
		redisAsyncCommand(ac, on_auth_reply, r, "AUTH %s", r->url.password);
		r->setup_left++;
	}
	redisAsyncCommand(ac, on_setup_reply, r, "SELECT %d", r->url.db);
	r->setup_left++;
	if (r->sentinel) {
		redisAsyncCommand(ac, on_role, r, "ROLE");
		r->setup_left++;
	}
	for (int i = 0; i < JQ_SCRIPT_COUNT; i++) {
		redisAsyncCommand(ac, on_setup_reply, r, "SCRIPT LOAD %s", jq_script_get(i)->body);
		r->setup_left++;
	}
}

/* Drops a connection that has had commands awaiting replies, and no reply, for the
 * timeout (sampled a few times per timeout, so it acts within 1.25 of it). */
static void watch_cb(evutil_socket_t fd, short what, void *arg)
{
	struct jq_redis *r = arg;
	redisAsyncContext *ac = r->ac;
	if (!ac || !ac->replies.head) {
		r->waiting_since_us = 0;
		return;
	}
	int64_t now = jq_mono_us();
	if (!r->waiting_since_us)
		r->waiting_since_us = now;
	if (r->last_read_us > r->waiting_since_us)
		r->waiting_since_us = r->last_read_us;
	if (now - r->waiting_since_us < r->reply_timeout_ms * 1000)
		return;
	jq_warn("redis %s: no reply for %" PRId64 " ms; dropping the connection", r->name,
		(now - r->waiting_since_us) / 1000);
	r->waiting_since_us = 0;
	int connected = (ac->c.flags & REDIS_CONNECTED) != 0;
	redisAsyncFree(ac); /* callbacks get NULL; a connected one ends in on_disconnect */
	if (!connected) {
		errors[JQ_REDIS_ERR_CONNECT]++;
		lost(r);
	}
}

void jq_redis_set_reply_timeout(struct jq_redis *r, int64_t ms)
{
	if (r->cluster) {
		jq_cluster_conn_set_reply_timeout(r->cluster, ms);
		return;
	}
	r->reply_timeout_ms = ms;
	if (r->watch_ev)
		event_free(r->watch_ev);
	r->watch_ev = NULL;
	if (ms <= 0)
		return;
	int64_t every = ms / 4 > 0 ? ms / 4 : 1;
	struct timeval tv = {every / 1000, (every % 1000) * 1000};
	r->watch_ev = event_new(r->base, -1, EV_PERSIST, watch_cb, r);
	if (r->watch_ev)
		evtimer_add(r->watch_ev, &tv);
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	connect_now(arg);
}

struct jq_redis *jq_redis_new(struct event_base *base, const struct jq_redis_url *url,
			      const char *name, jq_redis_state_cb *cb, void *arg)
{
	struct jq_redis *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->base = base;
	r->url = *url;
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->cb = cb;
	r->arg = arg;
	jq_scripts_init();
	if (url->nseeds) {
		r->cluster = jq_cluster_conn_new(base, url, r->name, r, cb, arg);
		if (!r->cluster) {
			free(r);
			return NULL;
		}
		return r;
	}
	r->backoff_ms = BACKOFF_MIN_MS;
	r->retry_ev = evtimer_new(base, retry_cb, r);
	if (url->nsentinels) {
		r->sentinel = jq_sentinel_new(base, url, name, on_switch, r);
		r->kick_ev = event_new(base, -1, 0, kick_cb, r);
		if (!r->sentinel || !r->kick_ev) {
			jq_sentinel_free(r->sentinel);
			if (r->kick_ev)
				event_free(r->kick_ev);
			event_free(r->retry_ev);
			free(r);
			return NULL;
		}
	}
	connect_now(r);
	return r;
}

void jq_redis_free(struct jq_redis *r)
{
	if (!r)
		return;
	r->freeing = 1;
	r->cb = NULL;
	if (r->cluster) {
		jq_cluster_conn_free(r->cluster);
		free(r);
		return;
	}
	if (r->ac)
		redisAsyncFree(r->ac);
	jq_sentinel_free(r->sentinel);
	if (r->kick_ev)
		event_free(r->kick_ev);
	if (r->watch_ev)
		event_free(r->watch_ev);
	event_free(r->retry_ev);
	free(r);
}

redisAsyncContext *jq_redis_ctx(const struct jq_redis *r)
{
	if (r->cluster)
		return jq_cluster_conn_ctx(r->cluster);
	return r->ready ? r->ac : NULL;
}

/* "$<len>\r\n<data>\r\n" */
static char *put_bulk(char *p, const char *s, size_t len)
{
	*p++ = '$';
	p += jq_fmt_i64(p, (int64_t)len);
	*p++ = '\r';
	*p++ = '\n';
	memcpy(p, s, len);
	p += len;
	*p++ = '\r';
	*p++ = '\n';
	return p;
}

/* Writes head[0..nh-1] then argv[0..n-1] as one command in RESP, in stack (of cap bytes)
 * when it fits, else in a malloc'ed buffer; NULL when out of memory. *len is its length.
 * Written here rather than by redisAsyncCommandArgv: hiredis formats every argument with
 * sdscatfmt, which took a quarter of the broker's instructions per POST /jobs
 * (callgrind). */
static char *format_resp(char *stack, size_t cap, size_t *len, int nh, const char **head,
			 const size_t *headlen, int n, const char **argv, const size_t *argvlen)
{
	/* "*N\r\n" + per argument "$len\r\n" and "\r\n": 25 bytes cover any length; and a
	 * NUL after it all: hiredis scans a (P)(UN)SUBSCRIBE's arguments with strchr */
	size_t size = 25;
	for (int i = 0; i < nh; i++)
		size += 25 + headlen[i];
	for (int i = 0; i < n; i++)
		size += 25 + (argvlen ? argvlen[i] : strlen(argv[i]));
	char *buf = size <= cap ? stack : malloc(size);
	if (!buf)
		return NULL;
	char *p = buf;
	*p++ = '*';
	p += jq_fmt_i64(p, nh + n);
	*p++ = '\r';
	*p++ = '\n';
	for (int i = 0; i < nh; i++)
		p = put_bulk(p, head[i], headlen[i]);
	for (int i = 0; i < n; i++)
		p = put_bulk(p, argv[i], argvlen ? argvlen[i] : strlen(argv[i]));
	*p = '\0';
	*len = (size_t)(p - buf);
	return buf;
}

/* Sends the command; on a cluster, routed by argv[key] (key -1: none) and kept for a
 * resend (script: its id, or -1). */
static int send_resp(struct jq_redis *r, redisCallbackFn *cb, void *priv, int script, int key,
		     int nh, const char **head, const size_t *headlen, int n, const char **argv,
		     const size_t *argvlen)
{
	char stack[4096];
	size_t len;
	if (r->cluster) {
		char *cmd = format_resp(NULL, 0, &len, nh, head, headlen, n, argv, argvlen);
		if (!cmd)
			return -1;
		return jq_cluster_conn_send(
			r->cluster, cb, priv, script, key >= 0 ? argv[key] : NULL,
			key >= 0 ? (argvlen ? argvlen[key] : strlen(argv[key])) : 0, cmd, len);
	}
	char *buf = format_resp(stack, sizeof(stack), &len, nh, head, headlen, n, argv, argvlen);
	if (!buf)
		return -1;
	int rc = redisAsyncFormattedCommand(r->ac, cb, priv, buf, len) == REDIS_OK ? 0 : -1;
	if (buf != stack)
		free(buf);
	return rc;
}

int jq_redis_command(struct jq_redis *r, redisCallbackFn *cb, void *priv, int key, int argc,
		     const char **argv, const size_t *argvlen)
{
	if (!jq_redis_ctx(r))
		return -1;
	return send_resp(r, cb, priv, -1, key < argc ? key : -1, 0, NULL, NULL, argc, argv,
			 argvlen);
}

int jq_redis_eval(struct jq_redis *r, enum jq_script_id id, redisCallbackFn *cb, void *priv,
		  int nkeys, int nargs, const char **argv, const size_t *argvlen)
{
	if (!jq_redis_ctx(r))
		return -1;
	char nk[24];
	const char *head[3] = {"EVALSHA", jq_script_get(id)->sha, nk};
	size_t headlen[3] = {7, 40, jq_fmt_i64(nk, nkeys)};
	return send_resp(r, cb, priv, (int)id, nkeys > 0 ? 0 : -1, 3, head, headlen, nkeys + nargs,
			 argv, argvlen);
}

int jq_redis_wait(struct jq_redis *r, int64_t replicas, int64_t timeout_ms, redisCallbackFn *cb,
		  void *priv)
{
	if (r->cluster)
		return jq_cluster_conn_wait(r->cluster, replicas, timeout_ms, cb, priv);
	char rn[24], tn[24];
	jq_fmt_i64(rn, replicas);
	jq_fmt_i64(tn, timeout_ms);
	const char *argv[3] = {"WAIT", rn, tn};
	return jq_redis_command(r, cb, priv, -1, 3, argv, NULL);
}

int jq_redis_formatted(struct jq_redis *r, redisCallbackFn *cb, void *priv, const char *cmd,
		       size_t len)
{
	if (r->cluster || !r->ready)
		return -1;
	return redisAsyncFormattedCommand(r->ac, cb, priv, cmd, len) == REDIS_OK ? 0 : -1;
}

int jq_redis_route(struct jq_redis *r, const char *key, size_t len)
{
	return r->cluster ? jq_cluster_conn_route(r->cluster, key, len) : 0;
}

int64_t jq_redis_reply_i64(const redisReply *r, int64_t dflt)
{
	int64_t v;
	if (r && r->type == REDIS_REPLY_INTEGER)
		return r->integer;
	if (r && r->type == REDIS_REPLY_STRING &&
	    jq_parse_i64(r->str, INT64_MIN, INT64_MAX, &v) == 0)
		return v;
	return dflt;
}
