/* sentinel.c: finding a primary through Sentinel, and its +switch-master; see sentinel.h. */
#include "sentinel.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "redis.h"
#include "util.h"

/* One connection to a sentinel: a probe (one question, under a timeout) or a watcher
 * (the +switch-master subscription). */
struct side {
	struct event_base *base;
	struct jq_sentinel *s; /* NULL once abandoned: its callbacks only free it */
	redisAsyncContext *ac; /* NULL once hiredis freed it */
	struct event *timer;   /* a probe's timeout */
	int idx;               /* which sentinel (index in the URL's list) */
	int watcher;
	int done; /* a probe's outcome was handled */
};

struct jq_sentinel {
	struct event_base *base;
	struct jq_redis_url url;
	char name[32];
	int order[JQ_SENTINELS_MAX]; /* the sentinels, the last to answer first */
	int asked;                   /* of the current discovery */
	struct side *probe;          /* the current question, or NULL */
	struct side *watch[JQ_SENTINELS_MAX];
	struct event *start_ev; /* starts a discovery on the next loop turn */
	jq_sentinel_found_fn *found;
	void *found_arg;
	jq_sentinel_switch_fn *on_switch;
	void *switch_arg;
};

static void ask_next(struct jq_sentinel *s);

static void side_free(struct side *d)
{
	if (d->timer)
		event_free(d->timer);
	free(d);
}

static void side_free_cb(evutil_socket_t fd, short what, void *arg)
{
	side_free(arg);
}

/* The connection of d is gone (hiredis frees it after this returns). d itself is freed
 * now, or on the next loop turn with later: after a failed connect hiredis still calls
 * the pending callbacks (with NULL), which read d. */
static void side_closed(struct side *d, int later)
{
	struct jq_sentinel *s = d->s;
	d->ac = NULL;
	if (d->timer)
		evtimer_del(d->timer); /* a probe's timeout does not come for a closed side */
	if (s && d->watcher && s->watch[d->idx] == d)
		s->watch[d->idx] = NULL;
	if (s && !d->watcher && !d->done) { /* no answer: ask the next sentinel */
		d->done = 1;
		if (s->probe == d)
			s->probe = NULL;
		ask_next(s);
	} else if (s && s->probe == d) {
		s->probe = NULL;
	}
	d->s = NULL;
	struct timeval now = {0, 0};
	if (!later)
		side_free(d);
	else if (event_base_once(d->base, -1, EV_TIMEOUT, side_free_cb, d, &now) != 0)
		jq_debug("sentinel: a closed connection's few bytes are left (out of memory)");
}

static void on_connect(const redisAsyncContext *ac, int status)
{
	struct side *d = ac->data;
	if (status != REDIS_OK) {
		if (d->s)
			jq_debug("redis %s: sentinel %s:%d: %s", d->s->name,
				 d->s->url.sentinels[d->idx].host, d->s->url.sentinels[d->idx].port,
				 ac->errstr);
		side_closed(d, 1);
	}
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
	side_closed(ac->data, 0);
}

/* Closes d's connection from outside its callbacks (a timeout, an abandon, the end). */
static void side_close(struct side *d)
{
	redisAsyncContext *ac = d->ac;
	if (!ac)
		return; /* closed already: side_closed ran, d is freed on the next turn */
	if (ac->c.flags & REDIS_CONNECTED) {
		redisAsyncFree(ac); /* calls on_disconnect, which frees d */
	} else {
		redisAsyncFree(ac); /* still connecting: no callback comes */
		side_closed(d, 0);
	}
}

static struct side *side_open(struct jq_sentinel *s, int idx, int watcher)
{
	struct side *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->base = s->base;
	d->s = s;
	d->idx = idx;
	d->watcher = watcher;
	redisAsyncContext *ac =
		redisAsyncConnect(s->url.sentinels[idx].host, s->url.sentinels[idx].port);
	if (!ac || ac->err || jq_redis_attach(ac, s->base) != 0) {
		if (ac)
			redisAsyncFree(ac);
		free(d);
		return NULL;
	}
	ac->data = d;
	d->ac = ac;
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	return d;
}

/* ---- discovery ---- */

static void probe_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct side *d = arg;
	struct jq_sentinel *s = d->s;
	if (s)
		jq_warn("redis %s: sentinel %s:%d did not answer within %d ms", s->name,
			s->url.sentinels[d->idx].host, s->url.sentinels[d->idx].port,
			JQ_SENTINEL_TIMEOUT_MS);
	d->done = 1;
	if (s && s->probe == d)
		s->probe = NULL;
	side_close(d);
	if (s)
		ask_next(s);
}

static void on_addr(redisAsyncContext *ac, void *reply, void *priv)
{
	struct side *d = priv;
	struct jq_sentinel *s = d->s;
	redisReply *r = reply;
	if (!r || !s || d->done)
		return; /* the connection went: side_closed asks the next */
	d->done = 1;
	evtimer_del(d->timer);
	s->probe = NULL;
	int64_t port;
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
	    r->element[0]->type == REDIS_REPLY_STRING &&
	    r->element[1]->type == REDIS_REPLY_STRING && r->element[0]->len > 0 &&
	    r->element[0]->len < sizeof(s->url.host) &&
	    jq_parse_i64(r->element[1]->str, 1, 65535, &port) == 0) {
		/* the one that answered is asked first next time */
		int at = 0;
		while (s->order[at] != d->idx)
			at++;
		memmove(&s->order[1], &s->order[0], sizeof(s->order[0]) * (size_t)at);
		s->order[0] = d->idx;
		char host[sizeof(s->url.host)];
		snprintf(host, sizeof(host), "%s", r->element[0]->str);
		d->s = NULL; /* done with it: it closes on its own */
		redisAsyncDisconnect(ac);
		s->found(s->found_arg, host, (int)port);
		return;
	}
	jq_warn("redis %s: sentinel %s:%d knows no primary named '%s': %s", s->name,
		s->url.sentinels[d->idx].host, s->url.sentinels[d->idx].port, s->url.master,
		r->type == REDIS_REPLY_ERROR ? r->str : "no address");
	d->s = NULL;
	redisAsyncDisconnect(ac);
	ask_next(s);
}

static void ask_next(struct jq_sentinel *s)
{
	while (s->asked < s->url.nsentinels) {
		int idx = s->order[s->asked++];
		struct side *d = side_open(s, idx, 0);
		if (!d)
			continue;
		d->timer = evtimer_new(s->base, probe_timeout, d);
		struct timeval tv = {JQ_SENTINEL_TIMEOUT_MS / 1000,
				     (JQ_SENTINEL_TIMEOUT_MS % 1000) * 1000};
		if (!d->timer || evtimer_add(d->timer, &tv) != 0 ||
		    redisAsyncCommand(d->ac, on_addr, d, "SENTINEL get-master-addr-by-name %s",
				      s->url.master) != REDIS_OK) {
			d->done = 1;
			d->s = NULL;
			side_close(d);
			continue;
		}
		s->probe = d;
		return;
	}
	jq_warn("redis %s: no sentinel named a primary for '%s'", s->name, s->url.master);
	s->found(s->found_arg, NULL, 0);
}

static void start_cb(evutil_socket_t fd, short what, void *arg)
{
	struct jq_sentinel *s = arg;
	s->asked = 0;
	ask_next(s);
}

void jq_sentinel_discover(struct jq_sentinel *s, jq_sentinel_found_fn *cb, void *arg)
{
	if (s->probe) { /* abandoned: its answer no longer counts */
		struct side *d = s->probe;
		s->probe = NULL;
		d->s = NULL;
		d->done = 1;
		side_close(d);
	}
	s->found = cb;
	s->found_arg = arg;
	event_active(s->start_ev, EV_TIMEOUT, 1);
}

/* ---- +switch-master ---- */

static void on_switch_message(redisAsyncContext *ac, void *reply, void *priv)
{
	struct side *d = priv;
	struct jq_sentinel *s = d->s;
	redisReply *r = reply;
	if (!r || !s || r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    strcmp(r->element[0]->str, "message") != 0 || r->element[2]->type != REDIS_REPLY_STRING)
		return;
	/* "<master name> <old ip> <old port> <new ip> <new port>" */
	size_t n = strlen(s->url.master);
	const char *m = r->element[2]->str;
	if (strncmp(m, s->url.master, n) != 0 || m[n] != ' ')
		return;
	jq_warn("redis %s: sentinel %s:%d: the primary moved (%s)", s->name,
		s->url.sentinels[d->idx].host, s->url.sentinels[d->idx].port, m);
	char old_host[256], old_port[16], new_host[256], new_port[16];
	int64_t port;
	if (sscanf(m + n, " %255s %15s %255s %15s", old_host, old_port, new_host, new_port) == 4 &&
	    jq_parse_i64(new_port, 1, 65535, &port) == 0)
		s->on_switch(s->switch_arg, new_host, (int)port);
	else /* not the address we expect: ask the sentinels */
		s->on_switch(s->switch_arg, NULL, 0);
}

void jq_sentinel_watch(struct jq_sentinel *s)
{
	for (int i = 0; i < s->url.nsentinels; i++) {
		if (s->watch[i])
			continue;
		struct side *d = side_open(s, i, 1);
		if (!d)
			continue;
		if (redisAsyncCommand(d->ac, on_switch_message, d, "SUBSCRIBE +switch-master") !=
		    REDIS_OK) {
			d->s = NULL;
			side_close(d);
			continue;
		}
		s->watch[i] = d;
	}
}

/* ---- lifecycle ---- */

struct jq_sentinel *jq_sentinel_new(struct event_base *base, const struct jq_redis_url *url,
				    const char *name, jq_sentinel_switch_fn *on_switch, void *arg)
{
	struct jq_sentinel *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->base = base;
	s->url = *url;
	snprintf(s->name, sizeof(s->name), "%s", name);
	for (int i = 0; i < url->nsentinels; i++)
		s->order[i] = i;
	s->on_switch = on_switch;
	s->switch_arg = arg;
	s->start_ev = event_new(base, -1, 0, start_cb, s);
	if (!s->start_ev) {
		free(s);
		return NULL;
	}
	return s;
}

void jq_sentinel_free(struct jq_sentinel *s)
{
	if (!s)
		return;
	struct side *all[JQ_SENTINELS_MAX + 1];
	int n = 0;
	if (s->probe)
		all[n++] = s->probe;
	for (int i = 0; i < s->url.nsentinels; i++)
		if (s->watch[i])
			all[n++] = s->watch[i];
	for (int i = 0; i < n; i++) {
		all[i]->s = NULL;
		all[i]->done = 1;
		side_close(all[i]);
	}
	event_free(s->start_ev);
	free(s);
}
