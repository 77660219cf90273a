/* routes.h: the broker's routes: the table that maps a method and path to a function and
 * the scope a token needs (routes.c), and each route's function (api_*.c, events.c,
 * ws.c, static.c, auth.c). Before a route runs, guard.h checked the request's Host,
 * Origin and body type, and auth.h its token. */
#ifndef JQ_ROUTES_H
#define JQ_ROUTES_H

#include <event2/buffer.h>

#include "http.h"

struct jq_broker;

/* Routes a request the guard let through (the HTTP server's request callback; arg is
 * the broker): 404 for no route, 405 with Allow for a method the path does not take. */
void jq_routes_dispatch(struct jq_http_req *req, void *arg);
/* This process's HTTP counters in Prometheus text (open connections, requests by route,
 * responses by status), appended to out. Each broker counts its own. */
void jq_routes_metrics(const struct jq_broker *b, struct evbuffer *out);

/* GET /workers and the jobq_workers metric show the workers whose last beat is this
 * recent: the reaper removes silent workers, until then only recent beats show (3 s at
 * the default 1 s heartbeat; a slower heartbeat shows up after its own beat). */
#define JQ_WORKER_WINDOW_MS (3 * 1000 + 500)

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
