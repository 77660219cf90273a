/* redis.c: self-reconnecting async Redis connection; see redis.h. */
#include "redis.h"

#include <hiredis/adapters/libevent.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000

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
};

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
	if (was_ready && r->cb)
		r->cb(r, 0, r->arg);
	schedule_retry(r);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
	struct jq_redis *r = ac->data;
	if (status != REDIS_OK) {
		jq_warn("redis %s: cannot connect to %s:%d: %s", r->name, r->url.host, r->url.port,
			ac->errstr);
		lost(r); /* hiredis frees ac after this returns */
	}
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
	struct jq_redis *r = ac->data;
	if (!r->freeing)
		jq_warn("redis %s: connection lost%s%s", r->name, status == REDIS_OK ? "" : ": ",
			status == REDIS_OK ? "" : ac->errstr);
	lost(r);
}

static void on_setup_reply(redisAsyncContext *ac, void *reply, void *priv)
{
	struct jq_redis *r = priv;
	redisReply *rep = reply;
	if (rep == NULL || ac != r->ac)
		return; /* the connection went away; on_disconnect handles it */
	if (rep->type == REDIS_REPLY_ERROR) {
		jq_error("redis %s: set-up failed: %s", r->name, rep->str);
		redisAsyncDisconnect(ac);
		return;
	}
	if (--r->setup_left == 0) {
		r->ready = 1;
		r->backoff_ms = BACKOFF_MIN_MS;
		jq_info("redis %s: ready (%s:%d db %d)", r->name,
			r->url.unix_path[0] ? r->url.unix_path : r->url.host, r->url.port, r->url.db);
		if (r->cb)
			r->cb(r, 1, r->arg);
	}
}

static void connect_now(struct jq_redis *r)
{
	redisAsyncContext *ac = r->url.unix_path[0] ? redisAsyncConnectUnix(r->url.unix_path)
						    : redisAsyncConnect(r->url.host, r->url.port);
	if (ac == NULL || ac->err) {
		jq_warn("redis %s: cannot connect: %s", r->name, ac ? ac->errstr : "out of memory");
		if (ac)
			redisAsyncFree(ac);
		schedule_retry(r);
		return;
	}
	ac->data = r;
	r->ac = ac;
	redisLibeventAttach(ac, r->base);
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	if (!r->url.unix_path[0])
		redisEnableKeepAlive(&ac->c);
	/* queued now, sent in order once connected: nothing else goes before them */
	r->setup_left = 0;
	if (r->url.password[0]) {
		redisAsyncCommand(ac, on_setup_reply, r, "AUTH %s", r->url.password);
		r->setup_left++;
	}
	redisAsyncCommand(ac, on_setup_reply, r, "SELECT %d", r->url.db);
	r->setup_left++;
	for (int i = 0; i < JQ_SCRIPT_COUNT; i++) {
		redisAsyncCommand(ac, on_setup_reply, r, "SCRIPT LOAD %s", jq_script_get(i)->body);
		r->setup_left++;
	}
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
	r->backoff_ms = BACKOFF_MIN_MS;
	r->retry_ev = evtimer_new(base, retry_cb, r);
	jq_scripts_init();
	connect_now(r);
	return r;
}

void jq_redis_free(struct jq_redis *r)
{
	if (!r)
		return;
	r->freeing = 1;
	r->cb = NULL;
	if (r->ac)
		redisAsyncFree(r->ac);
	event_free(r->retry_ev);
	free(r);
}

redisAsyncContext *jq_redis_ctx(const struct jq_redis *r) { return r->ready ? r->ac : NULL; }

int jq_redis_eval(struct jq_redis *r, enum jq_script_id id, redisCallbackFn *cb, void *priv,
		  int nkeys, int nargs, const char **argv, const size_t *argvlen)
{
	if (!r->ready)
		return -1;
	int total = 3 + nkeys + nargs;
	const char *stack_v[64];
	size_t stack_l[64];
	const char **v = stack_v;
	size_t *l = stack_l;
	if (total > 64) {
		v = malloc(sizeof(*v) * (size_t)total);
		l = malloc(sizeof(*l) * (size_t)total);
		if (!v || !l) {
			free(v);
			free(l);
			return -1;
		}
	}
	char nk[16];
	snprintf(nk, sizeof(nk), "%d", nkeys);
	v[0] = "EVALSHA";
	l[0] = 7;
	v[1] = jq_script_get(id)->sha;
	l[1] = 40;
	v[2] = nk;
	l[2] = strlen(nk);
	for (int i = 0; i < nkeys + nargs; i++) {
		v[3 + i] = argv[i];
		l[3 + i] = argvlen ? argvlen[i] : strlen(argv[i]);
	}
	int rc = redisAsyncCommandArgv(r->ac, cb, priv, total, v, l) == REDIS_OK ? 0 : -1;
	if (v != stack_v) {
		free(v);
		free(l);
	}
	return rc;
}

int64_t jq_redis_reply_i64(const redisReply *r, int64_t dflt)
{
	int64_t v;
	if (r && r->type == REDIS_REPLY_INTEGER)
		return r->integer;
	if (r && r->type == REDIS_REPLY_STRING && jq_parse_i64(r->str, INT64_MIN, INT64_MAX, &v) == 0)
		return v;
	return dflt;
}
