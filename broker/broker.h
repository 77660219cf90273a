/* broker.h: the jobq HTTP broker: an HTTP server (http.h) and one pipelined async
 * Redis connection on one libevent loop.
 *
 * Contract: docs/api.md. Every handler ends in exactly one reply on every
 * path; a 2xx for a new job is sent only after Redis answered that it stored
 * the job. Nothing here blocks the loop. */
#ifndef JQ_BROKER_H
#define JQ_BROKER_H

#include <event2/event.h>
#include <event2/http.h> /* evhttp_parse_query_str and evkeyvalq for query strings */
#include <event2/listener.h>
#include <sys/queue.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdint.h>

#include "auth.h"
#include "config.h"
#include "cron_fire.h"
#include "guard.h"
#include "http.h"
#include "job.h"
#include "keys.h"
#include "redis.h"

#define JQ_BROKER_MAX_HEADERS 8192
#define JQ_BROKER_DEFAULT_MAX_BODY (1024 * 1024)
#define JQ_BROKER_SHUTDOWN_MS 5000
#define JQ_BROKER_BACKLOG 4096
#define JQ_BROKER_IDLE_S 60 /* default of --http-timeout-s */

struct jq_broker_config {
	const char *listen;    /* "host:port" */
	const char *redis_url;
	const char *redis_password_file; /* the Redis password, in place of the URL's; or "" */
	const char *prefix;
	int64_t max_body;      /* bytes */
	int64_t http_timeout_s; /* idle connections, slow requests, unread replies (http.h); 0:
				   JQ_BROKER_IDLE_S */
	int64_t keep_cancelled_ms;
	int64_t keep_batches_ms; /* a batch's record, once all its jobs ended */
	int reuse_port; /* SO_REUSEPORT: several brokers share the port, the kernel spreads
			   connections among them */
	int64_t idempotency_window_ms;
	/* a 2xx for new jobs only once this many replicas confirmed them (WAIT), within
	 * replica_ack_timeout_ms; 0: on the primary's word */
	int64_t min_replicas_ack;
	int64_t replica_ack_timeout_ms;
	int64_t redis_timeout_ms; /* a request waits this long for Redis, then gets 503 */
	const char *schedule_file; /* periodic schedules written at start-up, or "" */
	int64_t ws_ping_ms; /* WebSocket pings (ws.h); 0: the defaults there */
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
	struct jq_events *events; /* SSE streams and watches (events.h) */
	struct jq_ws *ws;	  /* WebSocket connections (ws.h) */
	struct jq_cron_firer *cron; /* fires periodic schedules (cron_fire.h) */
	struct jq_keys keys;
	struct jq_broker_config cfg;
	struct jq_guard guard; /* Host, Origin and body-type checks before routing */
	struct jq_auth auth;   /* tokens, scopes, sessions */
	int failed;	       /* stopped by jq_broker_fail: the program exits non-zero */
	int64_t in_flight; /* requests waiting on Redis */
	int stopping;
	struct event *sigterm, *sigint, *stop_timer;
	int port; /* the bound port (useful with port 0) */
	int spare_fd;    /* kept open to be given up when accept() hits EMFILE */
	int64_t refused; /* connections refused for lack of descriptors */
	/* ids reserved with INCRBY, handed out without a round trip: [next, end) */
	int64_t id_next, id_end;
	int64_t spare_next, spare_end; /* the next block, fetched before this one runs out */
	int refilling;
	uint64_t id_epoch; /* bumped on every reset, so late refills are ignored */
	struct enqueue_ctx *waiting_head, *waiting_tail; /* waiting for ids, in order */
	struct enqueue_group *group;	/* single-job requests stored together at the end of the turn */
	struct event *group_ev; /* runs that store */
};

/* Binds the listener and starts connecting to Redis. -1 with err on failure
 * (bad listen address, port in use, bad redis URL). */
int jq_broker_init(struct jq_broker *b, struct event_base *base,
		   const struct jq_broker_config *cfg, char *err, size_t errlen);
/* Runs the loop until SIGTERM/SIGINT and a graceful drain; -1 after jq_broker_fail. */
int jq_broker_run(struct jq_broker *b);
/* Stops the loop now: the broker cannot go on (jq_broker_run then gives -1). */
void jq_broker_fail(struct jq_broker *b);
void jq_broker_release(struct jq_broker *b);

/* ---- shared by the handler files (broker-internal) ---- */

/* This process's HTTP counters in Prometheus text (requests by route, responses by
 * status), appended to out. Each broker counts its own. */
void jq_broker_http_metrics(struct evbuffer *out);
/* Queues read for the per type metrics (metrics.lua's bound). */
#define JQ_METRICS_MAX_QUEUES 1000
/* The per (queue, type) wait and run time histograms and job counts, and the Redis
 * error counts (this broker's own; all workers' from Redis), in Prometheus text,
 * appended to out. r is metrics.lua's answer. Returns -1 (out untouched) if r is not
 * such an answer. (broker/metrics.c) */
int jq_broker_job_metrics(struct evbuffer *out, const redisReply *r);
/* Counts a response with this status (the reply helpers call it). */
void jq_broker_count_response(int status);

/* Replies with a JSON value (takes the reference) and the given status. */
void jq_reply_json(struct jq_http_req *req, int status, json_t *body);
/* Replies with JSON text the caller built (copied). */
void jq_reply_text(struct jq_http_req *req, int status, const char *json, size_t len);
/* Replies 503 redis_unavailable. */
void jq_reply_unavailable(struct jq_http_req *req);
/* 409 {"error": {"code": "conflict", "message": msg}, "id": holder} (and "index" when index
 * >= 0): a unique_key is held by live job holder (enqueue, dead retry). */
void jq_reply_key_held(struct jq_http_req *req, int64_t holder, int64_t index, const char *msg);
/* Replies {"error": {"code", "message"}}. */
void jq_reply_error(struct jq_http_req *req, int status, const char *code, const char *fmt,
		    ...) __attribute__((format(printf, 4, 5)));
/* A request waiting on one Redis reply: what its callback needs. _new counts it in
 * b->in_flight (or answers 503 itself and gives NULL); _free uncounts and frees it. */
struct jq_pending {
	struct jq_broker *b;
	struct jq_http_req *req;
	int64_t id;
};
struct jq_pending *jq_pending_new(struct jq_broker *b, struct jq_http_req *req, int64_t id);
void jq_pending_free(struct jq_pending *p);

/* The body as JSON, or an error reply (400 or 415) and NULL. */
json_t *jq_request_json(struct jq_http_req *req);
/* Jobs from a JSON array of 1 to JQ_BULK_MAX job objects (what names it in errors): a
 * calloc'd array of *n initialised specs, or NULL after a 400 reply (nothing kept). */
struct jq_job_spec *jq_specs_from_json(struct jq_http_req *req, const json_t *arr,
				       const char *what, size_t *n);
/* The request's query parameters, percent-decoded: 0, and the caller frees them with
 * evhttp_clear_headers; -1 after answering 400 (malformed, or a %00 in it). */
int jq_request_query(struct jq_http_req *req, struct evkeyvalq *out);

#define JQ_ID_BLOCK 1000   /* ids reserved per INCRBY */
/* jobs in one POST /jobs/bulk: one atomic script call, so Redis serves nobody else
 * meanwhile (about 11 ms per 1,000 noop jobs here): clients should prefer ~1,000 */
#define JQ_BULK_MAX 10000

/* How stored jobs are answered: called once with their ids, first_id .. first_id+n-1,
 * and their specs. */
typedef void jq_enqueue_reply_fn(struct jq_broker *b, struct jq_http_req *req,
				 int64_t first_id, size_t n, const struct jq_job_spec *specs,
				 const char *dup_state);
/* dup_state: NULL for new jobs; for a request repeated with the same Idempotency-Key,
 * first_id and n are what the first request stored, and dup_state (non-NULL) the state
 * of its job now when it stored one job (else "repeat"). */
/* "scheduled" for a job with a delay or a future run_at, else "pending". */
const char *jq_spec_initial_state(const struct jq_job_spec *s);
/* Stores n jobs as pending in one script call (ids come from the broker's
 * reserved block, so usually no extra round trip), then calls reply; on any
 * Redis failure answers 503 itself and stores nothing. Takes specs (malloc'd
 * array of n initialised specs) and frees it. */
void jq_broker_enqueue(struct jq_broker *b, struct jq_http_req *req, struct jq_job_spec *specs,
		       size_t n, jq_enqueue_reply_fn *reply);
/* The same for POST /jobs/bulk: a repeated Idempotency-Key answers with what the first
 * bulk request (or a POST /jobs) stored under it. */
void jq_broker_enqueue_bulk(struct jq_broker *b, struct jq_http_req *req,
			    struct jq_job_spec *specs, size_t n, jq_enqueue_reply_fn *reply);
/* The same for a batch (POST /batches): reply gets the batch's id as first_id, its jobs
 * have the n ids after it. Takes callback (malloc'd initialised spec, or NULL) too. */
void jq_broker_enqueue_batch(struct jq_broker *b, struct jq_http_req *req,
			     struct jq_job_spec *specs, size_t n, struct jq_job_spec *callback,
			     jq_enqueue_reply_fn *reply);
/* The request's Idempotency-Key header: 0 and *key = NULL when absent, 0 with *key set
 * when valid (1..200 printable ASCII characters), -1 after answering 400. */
int jq_idempotency_key(struct jq_http_req *req, const char **key);
/* Drops reserved ids (Redis reconnected) and fails requests waiting for ids. */
void jq_ids_reset(struct jq_broker *b);
/* Answers the requests of a group not yet sent and frees the group's event. */
void jq_enqueue_release(struct jq_broker *b);

/* Route handlers: path_arg is what follows a "/prefix/" route (an id), else NULL. */
typedef void jq_route_fn(struct jq_broker *b, struct jq_http_req *req, const char *path_arg);
jq_route_fn jq_api_start_task, jq_api_task_status, jq_api_send_notification,
    jq_api_send_notification_sync, jq_api_post_job, jq_api_get_job, jq_api_healthz,
    jq_api_dead_list, jq_api_dead_retry, jq_api_dead_purge, jq_api_post_jobs_bulk,
    jq_api_cancel_job, jq_api_queues, jq_api_queue, jq_api_queue_action, jq_api_workers,
    jq_api_metrics, jq_api_job_events, jq_api_openapi, jq_api_post_batch, jq_api_get_batch,
    jq_api_list_jobs, jq_api_dashboard, jq_api_docs, jq_api_static, jq_api_queue_rate_limit,
    jq_api_schedules, jq_api_schedule, jq_api_post_schedule, jq_api_put_schedule,
    jq_api_delete_schedule, jq_api_token_create, jq_api_token_list, jq_api_token_revoke,
    jq_api_session_create, jq_api_session_get, jq_api_session_delete;

#endif
