/* broker.c: the broker's start, connections and stop; see broker.h. */
#include "broker.h"

#include <errno.h>
#include <event2/listener.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cron_fire.h"
#include "enqueue.h"
#include "events.h"
#include "http.h"
#include "log.h"
#include "redis.h"
#include "routes.h"
#include "store/layout.h"
#include "util.h"
#include "ws.h"

/* ---- lifecycle ---- */

/* The broker whose listener reports errors (one per process). */
static struct jq_broker *g_listening_broker;

static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	rlim_t old = rl.rlim_cur;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
			jq_info("raised the open-file limit from %llu to %llu (the hard limit)",
				(unsigned long long)old, (unsigned long long)rl.rlim_max);
	}
}

/* accept() failed. With EMFILE/ENFILE the pending connection would make the listener
 * readable forever (a spinning loop): give up the spare descriptor, accept the
 * connection, answer 503 and close it, then take the spare back. */
static void accept_error_cb(struct evconnlistener *lev, void *arg)
{
	int err = EVUTIL_SOCKET_ERROR();
	static const char body[] = "{\"error\":{\"code\":\"too_many_connections\",\"message\":"
				   "\"the broker is out of file descriptors\"}}";
	struct jq_broker *b = g_listening_broker;
	if (err != EMFILE && err != ENFILE) {
		jq_warn("accept failed: %s", evutil_socket_error_to_string(err));
		return;
	}
	if (b->spare_fd >= 0) {
		close(b->spare_fd);
		b->spare_fd = -1;
	}
	int fd = accept4(evconnlistener_get_fd(lev), NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd >= 0) {
		char reply[256];
		int n = snprintf(
			reply, sizeof(reply),
			"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
			"Connection: close\r\nContent-Length: %zu\r\n\r\n%s",
			sizeof(body) - 1, body);
		ssize_t w = write(fd, reply, (size_t)n);
		(void)w; /* best effort: a full buffer only loses the courtesy reply */
		close(fd);
	}
	b->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	b->refused++;
	if ((b->refused & (b->refused - 1)) == 0) /* 1, 2, 4, 8 ...: a log that cannot flood */
		jq_warn("out of file descriptors: refused %" PRId64 " connections so far with 503",
			b->refused);
}

static void stop_now(struct jq_broker *b)
{
	jq_info("stopped");
	event_base_loopexit(b->base, NULL);
}

static void drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct jq_broker *b = arg;
	static int waited_ms;
	if (b->in_flight == 0 || waited_ms >= JQ_BROKER_SHUTDOWN_MS) {
		if (b->in_flight)
			jq_warn("shutting down with %" PRId64 " requests unanswered", b->in_flight);
		stop_now(b);
		return;
	}
	waited_ms += 20;
	struct timeval tv = {0, 20000};
	evtimer_add(b->stop_timer, &tv);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct jq_broker *b = arg;
	if (b->stopping) {
		stop_now(b);
		return;
	}
	b->stopping = 1;
	jq_info("signal %d: no longer accepting, finishing %" PRId64 " requests", (int)sig,
		b->in_flight);
	if (b->lev) {
		evconnlistener_free(b->lev);
		b->lev = NULL;
	}
	if (b->http)
		jq_http_stop(b->http);
	drain_cb(-1, 0, b);
}

static void on_layout(redisAsyncContext *ac, void *reply, void *priv)
{
	struct jq_broker *b = priv;
	char msg[512];
	int st = jq_store_layout_reply(reply, &b->keys, msg, sizeof(msg));
	if (st == 0 && b->cron) {
		jq_cron_firer_ready(b->cron, 1);
	} else if (st == 1) {
		jq_error("refusing to run: %s", msg);
		jq_broker_fail(b);
	} else if (st < 0) { /* the next connection asks again */
		jq_warn("redis did not say whether it holds keys of the earlier layout: %s", msg);
	}
}

static void redis_state_cb(struct jq_redis *r, int ready, void *arg)
{
	struct jq_broker *b = arg;
	/* ids reserved before an outage may be reissued by a Redis that lost them */
	jq_ids_reset(b);
	/* data of the earlier key layout would be unseen: refuse it (layout.h); the firer
	 * starts once Redis said there is none. The question goes first on the connection,
	 * so its answer comes before any request's. */
	if (ready && jq_store_layout_check(r, &b->keys, on_layout, b) != 0)
		jq_warn("could not ask redis for keys of the earlier layout");
	if (b->cron && !ready)
		jq_cron_firer_ready(b->cron, 0);
	if (ready)
		jq_auth_redis_ready(&b->auth);
	if (!ready)
		jq_warn("redis unavailable: answering 503 to requests that need it");
}

/* 1 if the listen host is a loopback address or name (auth.h's policy). */
static int host_is_loopback(const char *host)
{
	return strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 ||
	       strcmp(host, "[::1]") == 0 || strcmp(host, "localhost") == 0;
}

/* listen ("host:port", any host text) into host (hostlen bytes) and port: 0, or -1. */
static int split_listen(const char *listen, char *host, size_t hostlen, int64_t *port)
{
	const char *colon = strrchr(listen, ':');
	if (!colon || (size_t)(colon - listen) >= hostlen ||
	    jq_parse_i64(colon + 1, 0, 65535, port) != 0)
		return -1;
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	return 0;
}

/* The port fd is bound to, or 0. */
static int bound_port(evutil_socket_t fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

/* Binds --listen and serves b->http on it (b->lev, b->port, the spare descriptor): 0, or
 * -1 with err. */
static int listen_on(struct jq_broker *b, const struct jq_broker_config *cfg, char *err,
		     size_t errlen)
{
	struct sockaddr_storage bind_ss;
	int bind_len = sizeof(bind_ss);
	if (evutil_parse_sockaddr_port(cfg->listen, (struct sockaddr *)&bind_ss, &bind_len) != 0) {
		snprintf(err, errlen, "listen address '%s' must be host:port with a numeric host",
			 cfg->listen);
		return -1;
	}
	struct evconnlistener *lev = evconnlistener_new_bind(
		b->base, NULL, NULL,
		LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC |
			(cfg->reuse_port ? LEV_OPT_REUSEABLE_PORT : 0),
		JQ_BROKER_BACKLOG, (struct sockaddr *)&bind_ss, bind_len);
	if (!lev) {
		snprintf(err, errlen, "cannot listen on '%s': %s", cfg->listen, strerror(errno));
		return -1;
	}
	/* out of file descriptors: refuse cleanly instead of spinning on accept() */
	b->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	g_listening_broker = b;
	b->lev = lev;
	jq_http_serve(b->http, lev);
	evconnlistener_set_error_cb(lev, accept_error_cb);
	evutil_socket_t fd = evconnlistener_get_fd(lev);
	int one = 1;
	/* accepted sockets inherit TCP_NODELAY on Linux: small replies go out at once */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	b->port = bound_port(fd);
	return 0;
}

/* SIGTERM and SIGINT start a graceful stop (a second one stops at once); SIGPIPE is
 * ignored. */
static void signals_init(struct jq_broker *b)
{
	b->sigterm = evsignal_new(b->base, SIGTERM, signal_cb, b);
	b->sigint = evsignal_new(b->base, SIGINT, signal_cb, b);
	b->stop_timer = evtimer_new(b->base, drain_cb, b);
	evsignal_add(b->sigterm, NULL);
	evsignal_add(b->sigint, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int jq_broker_init(struct jq_broker *b, struct event_base *base, const struct jq_broker_config *cfg,
		   char *err, size_t errlen)
{
	memset(b, 0, sizeof(*b));
	b->spare_fd = -1;
	b->base = base;
	b->cfg = *cfg;
	if (jq_keys_init(&b->keys, cfg->prefix) != 0) {
		snprintf(err, errlen, "bad key prefix '%s'", cfg->prefix);
		return -1;
	}
	if (cfg->min_replicas_ack > 0 && cfg->redis_timeout_ms > 0 &&
	    cfg->replica_ack_timeout_ms >= cfg->redis_timeout_ms) {
		/* WAIT holds the connection that long: the reply timeout would drop it first */
		snprintf(err, errlen,
			 "--replica-ack-timeout-ms (%" PRId64
			 ") must be less than --redis-timeout-ms "
			 "(%" PRId64 ")",
			 cfg->replica_ack_timeout_ms, cfg->redis_timeout_ms);
		return -1;
	}
	struct jq_redis_url url;
	if (jq_redis_url_load(cfg->redis_url, cfg->redis_password_file, &url, err, errlen) != 0)
		return -1;
	int64_t port;
	char host[256];
	if (split_listen(cfg->listen, host, sizeof(host), &port) != 0) {
		snprintf(err, errlen, "listen address '%s' must be host:port", cfg->listen);
		return -1;
	}

	if (jq_guard_init(&b->guard, host, (int)port, &cfg->allowed_hosts, &cfg->allow_origins,
			  &cfg->ws_origins, err, errlen) != 0)
		return -1;

	struct jq_schedule *config = NULL;
	size_t nconfig = 0;
	if (cfg->schedule_file && cfg->schedule_file[0] &&
	    jq_schedule_file_load(cfg->schedule_file, &config, &nconfig, err, errlen) != 0)
		return -1;

	raise_fd_limit();
	b->http = jq_http_new(base, JQ_BROKER_MAX_HEADERS, (size_t)cfg->max_body,
			      cfg->http_timeout_s > 0 ? (int)cfg->http_timeout_s : JQ_BROKER_IDLE_S,
			      jq_routes_dispatch, b);
	if (!b->http) {
		snprintf(err, errlen, "out of memory");
		jq_schedules_free(config, nconfig);
		return -1;
	}
	if (listen_on(b, cfg, err, errlen) != 0) {
		jq_http_free(b->http);
		b->http = NULL;
		jq_schedules_free(config, nconfig);
		return -1;
	}
	b->guard.port = b->port;   /* port 0 in --listen: the one bound */
	b->enq = jq_enqueue_new(); /* before Redis, whose state changes reset its ids */
	if (!b->enq || jq_auth_init(&b->auth, b, host_is_loopback(host)) != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	b->redis = jq_redis_new(base, &url, "broker", redis_state_cb, b);
	if (b->redis)
		jq_redis_set_reply_timeout(b->redis, cfg->redis_timeout_ms);
	/* the connection is ready on a later loop turn at the earliest: the firer hears of it */
	b->cron = jq_cron_firer_new(base, b->redis, &b->keys, config, nconfig);
	if (!b->cron) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	b->events = jq_events_new(b, &url);
	b->ws = jq_ws_new(b);
	signals_init(b);
	jq_info("listening on %s:%d", host, b->port);
	return 0;
}

int jq_broker_run(struct jq_broker *b)
{
	return event_base_dispatch(b->base) < 0 || b->failed ? -1 : 0;
}

void jq_broker_fail(struct jq_broker *b)
{
	b->failed = 1;
	event_base_loopexit(b->base, NULL);
}

void jq_broker_tokens_read(struct jq_broker *b)
{
	jq_events_check_grants(b->events, &b->auth);
	jq_ws_check_grants(b->ws, &b->auth);
}

void jq_broker_release(struct jq_broker *b)
{
	/* stopping already: a signal more must not kill the teardown (freeing the signal
	 * events restores the default action, which would end the process by the signal:
	 * exit status -15 under a slow teardown, seen under ASan) */
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	if (b->sigterm)
		event_free(b->sigterm);
	if (b->sigint)
		event_free(b->sigint);
	if (b->stop_timer)
		event_free(b->stop_timer);
	/* Requests still waiting here outlived the drain (JQ_BROKER_SHUTDOWN_MS without a
	 * Redis answer): they are failed with a 503, written at once if the socket takes it
	 * (the job may or may not be stored). */
	jq_enqueue_release(b);
	/* Redis before the HTTP server: its pending callbacks need their requests alive */
	jq_ws_free(b->ws); /* its watches first: they live in events */
	jq_events_free(b->events);
	jq_redis_free(b->redis); /* its pending callbacks may still read the auth table */
	jq_auth_release(&b->auth);
	jq_cron_firer_free(b->cron); /* after its connection answered what was in flight */
	if (b->lev)
		evconnlistener_free(b->lev);
	jq_http_free(b->http); /* closes the connections still open */
	jq_enqueue_free(b);    /* after Redis: its last callbacks reset the ids */
	if (b->spare_fd >= 0)
		close(b->spare_fd);
	jq_guard_release(&b->guard);
}
