/* broker.h: the jobq HTTP broker: its configuration and its handle, an HTTP server
 * (http.h) and one pipelined async Redis connection on one libevent loop. The rooms are
 * headers of their own, included by who uses them: reply.h (read a request, answer it),
 * enqueue.h (store jobs), routes.h (the route table and every route's function),
 * events.h and ws.h (live events), guard.h and auth.h (checks before a route).
 *
 * Contract: docs/api.md. Every handler ends in exactly one reply on every
 * path; a 2xx for a new job is sent only after Redis answered that it stored
 * the job. Nothing here blocks the loop. */
#ifndef JQ_BROKER_H
#define JQ_BROKER_H

#include <event2/event.h>
#include <event2/listener.h>
#include <stdint.h>

#include "auth.h"
#include "config.h"
#include "guard.h"
#include "keys.h"

struct jq_http;
struct jq_redis;
struct jq_events;
struct jq_ws;
struct jq_cron_firer;
struct jq_enqueue;

#define JQ_BROKER_MAX_HEADERS 8192
#define JQ_BROKER_DEFAULT_MAX_BODY (1024 * 1024)
#define JQ_BROKER_SHUTDOWN_MS 5000
#define JQ_BROKER_BACKLOG 4096
#define JQ_BROKER_IDLE_S 60 /* default of --http-timeout-s */

struct jq_broker_config {
	const char *listen; /* "host:port" */
	const char *redis_url;
	const char *redis_password_file; /* the Redis password, in place of the URL's; or "" */
	const char *prefix;
	int64_t max_body;       /* bytes */
	int64_t http_timeout_s; /* idle connections, slow requests, unread replies (http.h); 0:
				   JQ_BROKER_IDLE_S */
	int64_t keep_cancelled_ms;
	int64_t keep_batches_ms; /* a batch's record, once all its jobs ended */
	int reuse_port;          /* SO_REUSEPORT: several brokers share the port, the kernel spreads
			   connections among them */
	int64_t idempotency_window_ms;
	/* a 2xx for new jobs only once this many replicas confirmed them (WAIT), within
	 * replica_ack_timeout_ms; 0: on the primary's word */
	int64_t min_replicas_ack;
	int64_t replica_ack_timeout_ms;
	int64_t redis_timeout_ms;  /* a request waits this long for Redis, then gets 503 */
	const char *schedule_file; /* periodic schedules written at start-up, or "" */
	int64_t ws_ping_ms;        /* WebSocket pings (ws.h); 0: the defaults there */
	int64_t ws_idle_ms;
	int64_t ws_max_subs; /* subscriptions per WebSocket; 0: JQ_WS_MAX_SUBS */
	/* browser protections (guard.h): hosts the broker answers to besides its defaults,
	 * and origins whose pages may change things besides its own (ws_origins: the old
	 * --ws-origin, folded into allow_origins) */
	struct jq_opt_list allowed_hosts, allow_origins, ws_origins;
	/* authentication (auth.h) */
	int no_auth, open_healthz, open_metrics;
	int64_t session_ttl_s;
};

struct jq_broker {
	struct event_base *base;
	struct jq_http *http;
	struct evconnlistener *lev; /* NULL once stopping */
	struct jq_redis *redis;
	struct jq_events *events;   /* SSE streams and watches (events.h) */
	struct jq_ws *ws;           /* WebSocket connections (ws.h) */
	struct jq_cron_firer *cron; /* fires periodic schedules (cron_fire.h) */
	struct jq_keys keys;
	struct jq_broker_config cfg;
	struct jq_guard guard; /* Host, Origin and body-type checks before routing */
	struct jq_auth auth;   /* tokens, scopes, sessions */
	int failed;            /* stopped by jq_broker_fail: the program exits non-zero */
	int64_t in_flight;     /* requests waiting on Redis */
	int stopping;
	struct event *sigterm, *sigint, *stop_timer;
	int port;               /* the bound port (useful with port 0) */
	int spare_fd;           /* kept open to be given up when accept() hits EMFILE */
	int64_t refused;        /* connections refused for lack of descriptors */
	struct jq_enqueue *enq; /* the enqueue path's reserved ids and waiting requests
				   (enqueue.h) */
};

/* Binds the listener and starts connecting to Redis. -1 with err on failure
 * (bad listen address, port in use, bad redis URL). */
int jq_broker_init(struct jq_broker *b, struct event_base *base, const struct jq_broker_config *cfg,
		   char *err, size_t errlen);
/* Runs the loop until SIGTERM/SIGINT and a graceful drain; -1 after jq_broker_fail. */
int jq_broker_run(struct jq_broker *b);
/* Stops the loop now: the broker cannot go on (jq_broker_run then gives -1). */
void jq_broker_fail(struct jq_broker *b);
/* The token table was read or changed (auth.h): streams opened with a token revoked since
 * (or left without the read scope) end, SSE and WebSocket alike. */
void jq_broker_tokens_read(struct jq_broker *b);
void jq_broker_release(struct jq_broker *b);

#endif
