/* routes.c: the route table and the dispatch; see routes.h. */
#include "routes.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <event2/buffer.h>

#include "auth.h"
#include "broker.h"
#include "reply.h"
#include "http.h"
#include "events.h"
#include "ws.h"

struct route {
	const char *path; /* exact path ("/" too); a longer prefix ending in '/' takes one
			      segment as argument, one ending in a star takes the rest of the path */
	int methods;      /* JQ_HTTP_* mask */
	jq_route_fn *fn;
	int scope; /* what a token needs (auth.h: JQ_SCOPE_*) */
};

#define R JQ_SCOPE_READ
#define E JQ_SCOPE_ENQUEUE
#define A JQ_SCOPE_ADMIN
static const struct route routes[] = {
	{"/start-task", JQ_HTTP_POST, jq_api_start_task, E},
	{"/task-status/", JQ_HTTP_GET, jq_api_task_status, R},
	{"/send-notification", JQ_HTTP_POST, jq_api_send_notification, E},
	{"/send-notification-sync", JQ_HTTP_POST, jq_api_send_notification_sync, E},
	{"/jobs", JQ_HTTP_POST, jq_api_post_job, E},
	{"/jobs", JQ_HTTP_GET, jq_api_list_jobs, R},
	{"/jobs/bulk", JQ_HTTP_POST, jq_api_post_jobs_bulk, E},
	{"/jobs/", JQ_HTTP_GET, jq_api_get_job, R},
	{"/jobs/", JQ_HTTP_DELETE, jq_api_cancel_job, A},
	{"/jobs/*", JQ_HTTP_GET, jq_api_job_events, R},
	{"/queues", JQ_HTTP_GET, jq_api_queues, R},
	{"/queues/", JQ_HTTP_GET, jq_api_queue, R},
	{"/queues/*", JQ_HTTP_POST, jq_api_queue_action, A},
	{"/queues/*", JQ_HTTP_PUT | JQ_HTTP_DELETE, jq_api_queue_rate_limit, A},
	{"/workers", JQ_HTTP_GET, jq_api_workers, R},
	{"/metrics", JQ_HTTP_GET, jq_api_metrics, JQ_SCOPE_METRICS},
	{"/healthz", JQ_HTTP_GET, jq_api_healthz, JQ_SCOPE_HEALTHZ},
	{"/openapi.json", JQ_HTTP_GET, jq_api_openapi, JQ_SCOPE_NONE},
	{"/dead", JQ_HTTP_GET, jq_api_dead_list, R},
	{"/dead", JQ_HTTP_DELETE, jq_api_dead_purge, A},
	{"/dead/*", JQ_HTTP_POST, jq_api_dead_retry, A},
	{"/batches", JQ_HTTP_POST, jq_api_post_batch, E},
	{"/batches/", JQ_HTTP_GET, jq_api_get_batch, R},
	{"/", JQ_HTTP_GET, jq_api_dashboard, JQ_SCOPE_NONE}, /* files: the sign-in page */
	{"/docs", JQ_HTTP_GET, jq_api_docs, JQ_SCOPE_NONE},
	{"/static/", JQ_HTTP_GET, jq_api_static, JQ_SCOPE_NONE},
	{"/schedules", JQ_HTTP_GET, jq_api_schedules, R},
	{"/schedules", JQ_HTTP_POST, jq_api_post_schedule, A},
	{"/schedules/", JQ_HTTP_GET, jq_api_schedule, R},
	{"/schedules/", JQ_HTTP_PUT, jq_api_put_schedule, A},
	{"/schedules/", JQ_HTTP_DELETE, jq_api_delete_schedule, A},
	{"/ws", JQ_HTTP_GET, jq_api_ws, R},
	{"/ws/", JQ_HTTP_GET, jq_api_ws, R},
	{"/tokens", JQ_HTTP_POST, jq_api_token_create, JQ_SCOPE_TOKENS},
	{"/tokens", JQ_HTTP_GET, jq_api_token_list, JQ_SCOPE_TOKENS},
	{"/tokens/", JQ_HTTP_DELETE, jq_api_token_revoke, JQ_SCOPE_TOKENS},
	{"/session", JQ_HTTP_POST, jq_api_session_create, JQ_SCOPE_NONE},
	{"/session", JQ_HTTP_GET, jq_api_session_get, JQ_SCOPE_NONE},
	{"/session", JQ_HTTP_DELETE, jq_api_session_delete, JQ_SCOPE_NONE},
};
#undef R
#undef E
#undef A

#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))
static uint64_t requests_by_route[N_ROUTES + 1]; /* the last: no route matched */

void jq_routes_metrics(const struct jq_broker *b, struct evbuffer *out)
{
	if (b->http)
		evbuffer_add_printf(
			out,
			"# HELP jobq_http_connections HTTP connections this broker holds "
			"open (WebSockets not counted).\n# TYPE jobq_http_connections "
			"gauge\njobq_http_connections %zu\n",
			jq_http_connections(b->http));
	evbuffer_add_printf(out, "# HELP jobq_http_requests_total HTTP requests this broker "
				 "received, by route.\n# TYPE jobq_http_requests_total counter\n");
	for (size_t i = 0; i <= N_ROUTES; i++) {
		const char *method = "";
		if (i < N_ROUTES)
			method = routes[i].methods == JQ_HTTP_GET      ? "GET "
				 : routes[i].methods == JQ_HTTP_POST   ? "POST "
				 : routes[i].methods == JQ_HTTP_DELETE ? "DELETE "
				 : routes[i].methods == (JQ_HTTP_PUT | JQ_HTTP_DELETE)
					 ? "PUT|DELETE "
				 : routes[i].methods == JQ_HTTP_PUT ? "PUT "
								    : "";
		evbuffer_add_printf(out, "jobq_http_requests_total{route=\"%s%s\"} %llu\n", method,
				    i < N_ROUTES ? routes[i].path : "unmatched",
				    (unsigned long long)requests_by_route[i]);
	}
	jq_reply_status_metrics(out);
}

void jq_routes_dispatch(struct jq_http_req *req, void *arg)
{
	struct jq_broker *b = arg;
	const char *path = jq_http_path(req);
	if (!*path)
		path = "/";
	if (jq_guard_request(&b->guard, req) != 0) { /* Host, Origin, body type: guard.h */
		requests_by_route[N_ROUTES]++;
		return;
	}
	int allowed = 0; /* methods the path takes, for the Allow header of a 405 */
	/* HEAD is GET without the body (http.c leaves it out, keeping its length), except on
	 * the streams, which have no length */
	int method = jq_http_method(req), head = method == JQ_HTTP_HEAD;
	if (head)
		method = JQ_HTTP_GET;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const struct route *r = &routes[i];
		size_t n = strlen(r->path);
		const char *arg_part = NULL;
		if (r->path[n - 1] == '*') {
			if (strncmp(path, r->path, n - 1) != 0 || path[n - 1] == '\0')
				continue;
			arg_part = path + n - 1;
		} else if (r->path[n - 1] == '/' && n > 1) {
			if (strncmp(path, r->path, n) != 0 || path[n] == '\0' ||
			    strchr(path + n, '/'))
				continue;
			arg_part = path + n;
		} else if (strcmp(path, r->path) != 0) {
			continue;
		}
		int streams = r->fn == jq_api_job_events || r->fn == jq_api_ws;
		allowed |= r->methods | (r->methods & JQ_HTTP_GET && !streams ? JQ_HTTP_HEAD : 0);
		if (!(method & r->methods) || (head && streams))
			continue;
		requests_by_route[i]++;
		jq_auth_dispatch(&b->auth, req, r->scope, r->fn, arg_part); /* auth.h */
		return;
	}
	requests_by_route[N_ROUTES]++;
	if (allowed) {
		static const struct {
			int method;
			const char *name;
		} names[] = {{JQ_HTTP_GET, "GET"},
			     {JQ_HTTP_HEAD, "HEAD"},
			     {JQ_HTTP_POST, "POST"},
			     {JQ_HTTP_DELETE, "DELETE"},
			     {JQ_HTTP_PUT, "PUT"}};
		char allow[64] = "";
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (allowed & names[i].method)
				snprintf(allow + strlen(allow), sizeof(allow) - strlen(allow),
					 "%s%s", allow[0] ? ", " : "", names[i].name);
		jq_http_add_header(req, "Allow", allow);
		jq_reply_error(req, 405, "method_not_allowed", "method not allowed on '%s'", path);
	} else
		jq_reply_error(req, 404, "not_found", "no route '%.200s'", path);
}
