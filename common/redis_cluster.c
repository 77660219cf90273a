/* redis_cluster.c: a Redis Cluster client over single-node connections; see
 * redis_cluster.h. */
#include "redis_cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "log.h"
#include "util.h"

#define TICK_MS 500               /* while not ready: a refresh this often */
#define REFRESH_EVERY_US 10000000 /* while ready */
#define REFRESH_STUCK_US 5000000  /* a CLUSTER SLOTS unanswered this long is given up */

/* One master's connection (or, before the first map, one of the URL's nodes). */
struct node {
	struct jq_cluster_conn *c;
	struct jq_redis *r;
	struct jq_cluster_node addr;
	int gone;    /* no longer in the map: freed on the next loop turn */
	int written; /* a command went to it since its last WAIT (jq_cluster_conn_wait) */
	struct node *next;
};

/* A routed command, kept until its answer reaches the caller. */
struct pend {
	struct jq_cluster_conn *c;
	redisCallbackFn *cb;
	void *priv;
	char *cmd;
	size_t len;
	int script; /* enum jq_script_id, or -1 */
	uint16_t slot;
	int tries;                 /* sends and waits so far */
	int asking, load;          /* ASKING, SCRIPT LOAD before the next send */
	struct jq_cluster_node to; /* where the next send goes; host "": the slot's master */
	struct jq_cluster_node at; /* where the last send went */
	char err[160]; /* the answer that made it wait: the caller's if it is the last */
	struct event *timer;
	struct pend *prev, *next; /* in c->waiting while its timer runs */
};

struct jq_cluster_conn {
	struct event_base *base;
	struct jq_redis_url url;
	char name[32];
	struct jq_redis *owner;
	jq_redis_state_cb *cb;
	void *arg;
	struct jq_slot_map *map;   /* NULL until the first answer */
	struct jq_slot_map *spare; /* the next CLUSTER SLOTS is read into it */
	int map_full;              /* every slot has a master */
	struct node *nodes;
	struct node *home; /* commands without a key */
	struct node *pin;  /* jq_cluster_conn_route */
	int ready, freeing, refreshing, want_refresh;
	struct jq_cluster_node asked; /* the node the refresh in flight asked */
	int64_t refreshed_us, refresh_sent_us;
	int64_t reply_timeout_ms;
	struct event *tick_ev, *refresh_ev, *gc_ev;
	struct pend *waiting;
	uint64_t redirects; /* answers that sent a command elsewhere or later, ever */
};

static void update_ready(struct jq_cluster_conn *c);

static uint64_t steps[JQ_CLUSTER_LOAD + 1];

uint64_t jq_cluster_conn_steps(int action)
{
	return action >= 0 && action <= JQ_CLUSTER_LOAD ? steps[action] : 0;
}

static void trigger_refresh(struct jq_cluster_conn *c)
{
	c->want_refresh = 1;
	if (!c->freeing)
		event_active(c->refresh_ev, EV_TIMEOUT, 1); /* on the next loop turn */
}

/* ---- nodes ---- */

static void node_state(struct jq_redis *r, int ready, void *arg)
{
	struct node *n = arg;
	struct jq_cluster_conn *c = n->c;
	if (n->gone || c->freeing)
		return;
	if (!ready || c->want_refresh || !c->map)
		trigger_refresh(c);
	update_ready(c);
}

static struct node *node_find(struct jq_cluster_conn *c, const char *host, int port)
{
	for (struct node *n = c->nodes; n; n = n->next)
		if (n->addr.port == port && strcmp(n->addr.host, host) == 0)
			return n;
	return NULL;
}

/* The node at host:port, connecting to it when new (NULL: out of memory). */
static struct node *node_get(struct jq_cluster_conn *c, const char *host, int port)
{
	struct node *n = node_find(c, host, port);
	if (n) {
		n->gone = 0;
		return n;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->c = c;
	snprintf(n->addr.host, sizeof(n->addr.host), "%s", host);
	n->addr.port = port;
	struct jq_redis_url u = c->url; /* the user, password (and db 0) of every node */
	u.nseeds = 0;
	snprintf(u.host, sizeof(u.host), "%s", host);
	u.port = port;
	n->r = jq_redis_new(c->base, &u, c->name, node_state, n);
	if (!n->r) {
		free(n);
		return NULL;
	}
	if (c->reply_timeout_ms > 0)
		jq_redis_set_reply_timeout(n->r, c->reply_timeout_ms);
	n->next = c->nodes;
	c->nodes = n;
	return n;
}

static int node_ready(const struct node *n)
{
	return n && !n->gone && jq_redis_ctx(n->r);
}

/* The node of slot's master (connecting to it when the map names a new one: a MOVED). */
static struct node *slot_node(struct jq_cluster_conn *c, uint16_t slot)
{
	const struct jq_cluster_node *a = c->map ? jq_slot_map_node(c->map, slot) : NULL;
	return a ? node_get(c, a->host, a->port) : NULL;
}

static struct node *any_ready(struct jq_cluster_conn *c)
{
	for (struct node *n = c->nodes; n; n = n->next)
		if (node_ready(n))
			return n;
	return NULL;
}

/* Frees the nodes that left the map (not in a callback of theirs: on a turn of its own). */
static void gc_cb(evutil_socket_t fd, short what, void *arg)
{
	struct jq_cluster_conn *c = arg;
	struct node **pp = &c->nodes;
	while (*pp) {
		struct node *n = *pp;
		if (!n->gone) {
			pp = &n->next;
			continue;
		}
		*pp = n->next;
		jq_info("redis %s: leaving %s:%d, no longer a master", c->name, n->addr.host,
			n->addr.port);
		jq_redis_free(n->r); /* its commands' callbacks get NULL: not done */
		free(n);
	}
}

/* ---- readiness and the map ---- */

static void update_ready(struct jq_cluster_conn *c)
{
	int ready = c->map && c->map_full && !c->freeing;
	for (size_t i = 0; ready && i < c->map->nnodes; i++)
		ready = node_ready(node_find(c, c->map->nodes[i].host, c->map->nodes[i].port));
	if (ready == c->ready)
		return;
	c->ready = ready;
	if (ready)
		jq_info("redis %s: cluster ready (%zu masters)", c->name, c->map->nnodes);
	else
		jq_warn("redis %s: cluster not ready (a master's connection is lost or the map "
			"is incomplete)",
			c->name);
	if (c->cb)
		c->cb(c->owner, ready, c->arg);
}

static void on_slots(redisAsyncContext *ac, void *reply, void *priv)
{
	struct jq_cluster_conn *c = priv;
	c->refreshing = 0;
	if (!reply || c->freeing) {
		c->want_refresh = 1; /* the tick asks another node */
		return;
	}
	char err[256];
	if (jq_slot_map_parse(c->spare, reply, c->asked.host, err, sizeof(err)) != 0) {
		jq_warn("redis %s: %s:%d: %s", c->name, c->asked.host, c->asked.port, err);
		c->want_refresh = 1;
		return;
	}
	struct jq_slot_map *m = c->spare;
	c->spare = c->map ? c->map : calloc(1, sizeof(*c->spare));
	c->map = m;
	if (!c->spare) { /* out of memory: keep reading into this one */
		c->spare = m;
		c->map = NULL;
		c->want_refresh = 1;
		return;
	}
	c->refreshed_us = jq_mono_us();
	c->map_full = 1;
	for (size_t s = 0; s < JQ_CLUSTER_SLOTS; s++)
		if (m->owner[s] < 0)
			c->map_full = 0;
	for (struct node *n = c->nodes; n; n = n->next)
		n->gone = 1;
	for (size_t i = 0; i < m->nnodes; i++)
		if (!node_get(c, m->nodes[i].host, m->nodes[i].port))
			c->map_full = 0; /* out of memory: not ready, the tick tries again */
	int left = 0;
	for (struct node *n = c->nodes; n; n = n->next)
		left |= n->gone;
	if (c->home && c->home->gone)
		c->home = NULL;
	if (c->pin && c->pin->gone)
		c->pin = NULL;
	if (left)
		event_active(c->gc_ev, EV_TIMEOUT, 1);
	update_ready(c);
}

/* CLUSTER SLOTS on a ready node; with none, the URL's nodes are (re)connected and a
 * ready one asks. */
static void refresh(struct jq_cluster_conn *c)
{
	static const char cmd[] = "*2\r\n$7\r\nCLUSTER\r\n$5\r\nSLOTS\r\n";
	int64_t now = jq_mono_us();
	if (c->freeing || (c->refreshing && now - c->refresh_sent_us < REFRESH_STUCK_US))
		return;
	c->refreshing = 0;
	struct node *n = c->home && node_ready(c->home) ? c->home : any_ready(c);
	if (!n) {
		c->want_refresh = 1;
		for (int i = 0; i < c->url.nseeds; i++)
			node_get(c, c->url.seeds[i].host, c->url.seeds[i].port);
		return;
	}
	if (jq_redis_formatted(n->r, on_slots, c, cmd, sizeof(cmd) - 1) != 0)
		return;
	c->asked = n->addr;
	c->refreshing = 1;
	c->want_refresh = 0;
	c->refresh_sent_us = now;
}

static void refresh_cb(evutil_socket_t fd, short what, void *arg)
{
	refresh(arg);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct jq_cluster_conn *c = arg;
	if (!c->ready || c->want_refresh || jq_mono_us() - c->refreshed_us >= REFRESH_EVERY_US)
		refresh(c);
}

/* ---- routed commands ---- */

static void unwait(struct pend *p)
{
	if (!p->timer)
		return;
	event_free(p->timer);
	p->timer = NULL;
	if (p->prev)
		p->prev->next = p->next;
	else
		p->c->waiting = p->next;
	if (p->next)
		p->next->prev = p->prev;
	p->prev = p->next = NULL;
}

static void pend_free(struct pend *p)
{
	unwait(p);
	free(p->cmd);
	free(p);
}

/* The caller's callback gets reply (NULL: not done), and p is done. */
static void deliver(struct pend *p, redisAsyncContext *ac, redisReply *reply)
{
	unwait(p);
	if (p->cb)
		p->cb(ac, reply, p->priv);
	pend_free(p);
}

/* The caller gets the last answer that made p wait, as an error reply. */
static void deliver_err(struct pend *p)
{
	redisReply r;
	memset(&r, 0, sizeof(r));
	r.type = REDIS_REPLY_ERROR;
	if (!p->err[0])
		snprintf(p->err, sizeof(p->err),
			 "CLUSTERDOWN jobq: no connection to the master of slot %u", p->slot);
	r.str = p->err;
	r.len = strlen(p->err);
	deliver(p, NULL, &r);
}

static void on_reply(redisAsyncContext *ac, void *reply, void *priv);

/* Sends p on n (ASKING or SCRIPT LOAD first when asked); 0 or -1. */
static int send_to(struct pend *p, struct node *n)
{
	if (p->load) {
		const char *argv[3] = {"SCRIPT", "LOAD", jq_script_get(p->script)->body};
		if (jq_redis_command(n->r, NULL, NULL, -1, 3, argv, NULL) != 0)
			return -1;
		p->load = 0;
	}
	if (p->asking) {
		const char *argv[1] = {"ASKING"};
		if (jq_redis_command(n->r, NULL, NULL, -1, 1, argv, NULL) != 0)
			return -1;
	}
	if (jq_redis_formatted(n->r, on_reply, p, p->cmd, p->len) != 0)
		return -1;
	n->written = 1;
	p->asking = 0;
	p->at = n->addr;
	p->tries++;
	return 0;
}

static void go(struct pend *p);

static void wait_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pend *p = arg;
	unwait(p);
	go(p);
}

/* Resends p after ms; past the bound, the caller gets the last answer. */
static void wait_then_go(struct pend *p, int ms)
{
	struct jq_cluster_conn *c = p->c;
	if (++p->tries > JQ_CLUSTER_TRIES_MAX || c->freeing) {
		deliver_err(p);
		return;
	}
	p->timer = evtimer_new(c->base, wait_cb, p);
	if (!p->timer) {
		deliver_err(p);
		return;
	}
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	evtimer_add(p->timer, &tv);
	p->next = c->waiting;
	if (c->waiting)
		c->waiting->prev = p;
	c->waiting = p;
}

/* Sends p where it goes next, or waits for that node's connection. */
static void go(struct pend *p)
{
	struct jq_cluster_conn *c = p->c;
	struct node *n =
		p->to.host[0] ? node_get(c, p->to.host, p->to.port) : slot_node(c, p->slot);
	if (node_ready(n) && send_to(p, n) == 0)
		return;
	if (!n || !node_ready(n))
		trigger_refresh(c);
	wait_then_go(p, jq_cluster_backoff_ms(p->tries + 1));
}

static void on_reply(redisAsyncContext *ac, void *reply, void *priv)
{
	struct pend *p = priv;
	struct jq_cluster_conn *c = p->c;
	redisReply *r = reply;
	if (!r || c->freeing) {
		deliver(p, ac, r);
		return;
	}
	struct jq_cluster_step st;
	jq_cluster_next(r, p->tries, p->script >= 0, p->at.host, &st);
	steps[st.action]++;
	if (st.action == JQ_CLUSTER_DELIVER) {
		deliver(p, ac, r);
		return;
	}
	c->redirects++;
	snprintf(p->err, sizeof(p->err), "%s", r->str);
	memset(&p->to, 0, sizeof(p->to));
	switch (st.action) {
	case JQ_CLUSTER_MOVED:
		if (jq_slot_map_move(c->map, st.redirect.slot, st.redirect.to.host,
				     st.redirect.to.port) != 0)
			p->to = st.redirect.to; /* the map is full: this once by address */
		trigger_refresh(c);
		break;
	case JQ_CLUSTER_ASK:
		p->to = st.redirect.to;
		p->asking = 1;
		break;
	case JQ_CLUSTER_LOAD:
		p->to = p->at;
		p->load = 1;
		break;
	case JQ_CLUSTER_LATER: wait_then_go(p, st.delay_ms); return;
	case JQ_CLUSTER_DELIVER: break;
	}
	go(p);
}

/* A reply to a command sent as it is on the pinned node (inside MULTI): a redirection
 * asks for a fresh map; the caller sees the failure in EXEC's answer. */
static void on_pinned_reply(redisAsyncContext *ac, void *reply, void *priv)
{
	struct jq_cluster_conn *c = priv;
	redisReply *r = reply;
	struct jq_redirect d;
	if (!r || r->type != REDIS_REPLY_ERROR || c->freeing)
		return;
	jq_cluster_redirect(r->str, r->len, "", &d);
	if (d.kind == JQ_REDIRECT_MOVED)
		trigger_refresh(c);
}

int jq_cluster_conn_send(struct jq_cluster_conn *c, redisCallbackFn *cb, void *priv, int script,
			 const char *key, size_t keylen, char *cmd, size_t len)
{
	if (c->freeing) {
		free(cmd);
		return -1;
	}
	if (c->pin || !key) {
		struct node *n = c->pin;
		if (!n) {
			if (!node_ready(c->home))
				c->home = any_ready(c);
			n = c->home;
		}
		int rc = !node_ready(n)  ? -1
			 : c->pin && !cb ? jq_redis_formatted(n->r, on_pinned_reply, c, cmd, len)
					 : jq_redis_formatted(n->r, cb, priv, cmd, len);
		if (rc == 0)
			n->written = 1;
		free(cmd);
		return rc;
	}
	struct pend *p = calloc(1, sizeof(*p));
	if (!p) {
		free(cmd);
		return -1;
	}
	p->c = c;
	p->cb = cb;
	p->priv = priv;
	p->cmd = cmd;
	p->len = len;
	p->script = script;
	p->slot = jq_cluster_slot(key, keylen);
	struct node *n = slot_node(c, p->slot);
	if (!node_ready(n) || send_to(p, n) != 0) {
		pend_free(p);
		return -1;
	}
	return 0;
}

/* ---- WAIT over the masters written to ---- */

struct waitall {
	struct jq_cluster_conn *c;
	redisCallbackFn *cb;
	void *priv;
	int out;            /* WAITs unanswered */
	int unsure;         /* a write may have gone where no WAIT covers it */
	uint64_t redirects; /* c->redirects when the WAITs went out */
	long long least;    /* the fewest replicas a master reported */
	char err[160];      /* the first error answer, or "" */
};

static void waitall_done(struct waitall *w)
{
	redisReply r;
	memset(&r, 0, sizeof(r));
	if (w->err[0]) {
		r.type = REDIS_REPLY_ERROR;
		r.str = w->err;
		r.len = strlen(w->err);
	} else {
		r.type = REDIS_REPLY_INTEGER;
		/* a write redirected meanwhile may have landed after a WAIT on its new node:
		 * confirmed by none, as far as this WAIT can tell (the caller retries) */
		r.integer = w->unsure || w->c->redirects != w->redirects ? 0 : w->least;
	}
	if (w->cb)
		w->cb(NULL, &r, w->priv);
	free(w);
}

static void on_wait_part(redisAsyncContext *ac, void *reply, void *priv)
{
	struct waitall *w = priv;
	redisReply *r = reply;
	if (!r) {
		if (!w->err[0])
			snprintf(w->err, sizeof(w->err),
				 "ERR jobq: a master's connection was lost "
				 "during WAIT");
	} else if (r->type == REDIS_REPLY_INTEGER) {
		if (w->least < 0 || r->integer < w->least)
			w->least = r->integer;
	} else if (!w->err[0]) {
		snprintf(w->err, sizeof(w->err), "%s",
			 r->type == REDIS_REPLY_ERROR && r->str ? r->str
								: "ERR jobq: WAIT's answer "
								  "is not an integer");
	}
	if (--w->out == 0)
		waitall_done(w);
}

int jq_cluster_conn_wait(struct jq_cluster_conn *c, int64_t replicas, int64_t timeout_ms,
			 redisCallbackFn *cb, void *priv)
{
	if (c->freeing || !c->ready)
		return -1;
	struct waitall *w = calloc(1, sizeof(*w));
	if (!w)
		return -1;
	w->c = c;
	w->cb = cb;
	w->priv = priv;
	w->least = -1;
	w->redirects = c->redirects;
	w->unsure = c->waiting != NULL; /* a command waits to be resent: after this WAIT */
	char rn[24], tn[24];
	jq_fmt_i64(rn, replicas);
	jq_fmt_i64(tn, timeout_ms);
	const char *argv[3] = {"WAIT", rn, tn};
	int any = 0;
	for (struct node *n = c->nodes; n; n = n->next) {
		if (!n->written)
			continue;
		any = 1;
		if (!node_ready(n)) {
			w->unsure = 1; /* its writes' fate is its connection's: not confirmed */
			continue;
		}
		if (jq_redis_command(n->r, on_wait_part, w, -1, 3, argv, NULL) != 0) {
			w->unsure = 1;
			continue;
		}
		n->written = 0;
		w->out++;
	}
	if (!any) { /* nothing written since the last WAIT: what one node says */
		struct node *n = node_ready(c->home) ? c->home : any_ready(c);
		if (n && jq_redis_command(n->r, on_wait_part, w, -1, 3, argv, NULL) == 0)
			w->out++;
	}
	if (w->out == 0) {
		free(w);
		return -1;
	}
	return 0;
}

int jq_cluster_conn_route(struct jq_cluster_conn *c, const char *key, size_t len)
{
	if (!key) {
		c->pin = NULL;
		return 0;
	}
	struct node *n = slot_node(c, jq_cluster_slot(key, len));
	if (!node_ready(n))
		return -1;
	c->pin = n;
	return 0;
}

/* ---- the handle ---- */

struct jq_cluster_conn *jq_cluster_conn_new(struct event_base *base, const struct jq_redis_url *url,
					    const char *name, struct jq_redis *owner,
					    jq_redis_state_cb *cb, void *arg)
{
	struct jq_cluster_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->base = base;
	c->url = *url;
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->owner = owner;
	c->cb = cb;
	c->arg = arg;
	c->spare = calloc(1, sizeof(*c->spare));
	c->tick_ev = event_new(base, -1, EV_PERSIST, tick_cb, c);
	c->refresh_ev = event_new(base, -1, 0, refresh_cb, c);
	c->gc_ev = event_new(base, -1, 0, gc_cb, c);
	struct timeval tv = {0, TICK_MS * 1000};
	if (!c->spare || !c->tick_ev || !c->refresh_ev || !c->gc_ev ||
	    evtimer_add(c->tick_ev, &tv) != 0) {
		jq_cluster_conn_free(c);
		return NULL;
	}
	refresh(c); /* no node yet: connects to the URL's; the first ready one asks */
	return c;
}

void jq_cluster_conn_free(struct jq_cluster_conn *c)
{
	if (!c)
		return;
	c->freeing = 1;
	c->cb = NULL;
	while (c->waiting)
		deliver(c->waiting, NULL, NULL);
	while (c->nodes) {
		struct node *n = c->nodes;
		c->nodes = n->next;
		jq_redis_free(n->r);
		free(n);
	}
	if (c->tick_ev)
		event_free(c->tick_ev);
	if (c->refresh_ev)
		event_free(c->refresh_ev);
	if (c->gc_ev)
		event_free(c->gc_ev);
	free(c->map);
	free(c->spare);
	free(c);
}

redisAsyncContext *jq_cluster_conn_ctx(const struct jq_cluster_conn *c)
{
	if (!c->ready)
		return NULL;
	const struct jq_cluster_node *a = &c->map->nodes[0];
	for (const struct node *n = c->nodes; n; n = n->next)
		if (n->addr.port == a->port && strcmp(n->addr.host, a->host) == 0)
			return jq_redis_ctx(n->r);
	return NULL;
}

void jq_cluster_conn_set_reply_timeout(struct jq_cluster_conn *c, int64_t ms)
{
	c->reply_timeout_ms = ms;
	for (struct node *n = c->nodes; n; n = n->next)
		jq_redis_set_reply_timeout(n->r, ms);
}
