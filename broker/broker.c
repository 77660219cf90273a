/* broker.c: server lifecycle, routing, JSON replies and the enqueue path; see broker.h. */
#include "broker.h"

#include <errno.h>
#include <event2/buffer.h>
#include <sys/queue.h>
#include <event2/keyvalq_struct.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/listener.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include "events.h"
#include "log.h"
#include "util.h"
#include "ws.h"

/* ---- HTTP counters (this process) ---- */

static const int counted_statuses[] = {101, 200, 201, 202, 204, 304, 400, 401, 403, 404,
				       405, 409, 410, 413, 415, 421, 426, 503};
#define N_STATUSES (sizeof(counted_statuses) / sizeof(counted_statuses[0]))
static uint64_t responses_by_status[N_STATUSES + 1]; /* the last: any other status */

void jq_broker_count_response(int status)
{
	size_t i = 0;
	while (i < N_STATUSES && counted_statuses[i] != status)
		i++;
	responses_by_status[i]++;
}

/* ---- replies ---- */

void jq_reply_json(struct jq_http_req *req, int status, json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	jq_reply_text(req, status, text ? text : "", text ? strlen(text) : 0);
	free(text);
}

void jq_reply_text(struct jq_http_req *req, int status, const char *json, size_t len)
{
	jq_http_add_header(req, "Content-Type", "application/json");
	jq_broker_count_response(status);
	jq_http_send(req, status, json, len); /* for HEAD: the length, without the body */
}

void jq_reply_error(struct jq_http_req *req, int status, const char *code, const char *fmt,
		    ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* messages may quote client input: keep only valid UTF-8 so the JSON is valid */
	if (!jq_utf8_valid(msg, strlen(msg)))
		snprintf(msg, sizeof(msg), "invalid input");
	jq_reply_json(req, status,
		      json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg));
}

void jq_reply_key_held(struct jq_http_req *req, int64_t holder, int64_t index, const char *msg)
{
	json_t *body = json_pack("{s:{s:s,s:s},s:I}", "error", "code", "conflict", "message", msg,
				 "id", (json_int_t)holder);
	if (body && index >= 0)
		json_object_set_new(body, "index", json_integer(index));
	jq_reply_json(req, 409, body);
}

void jq_reply_unavailable(struct jq_http_req *req)
{
	jq_reply_error(req, 503, "redis_unavailable", "redis is unavailable");
}

int jq_request_query(struct jq_http_req *req, struct evkeyvalq *out)
{
	TAILQ_INIT(out);
	const char *q = jq_http_query(req);
	if (!q)
		return 0;
	/* decoded values are C strings: a %00 would cut one short (email=a@b.c%00x read as
	 * a@b.c), so it is refused, as a NUL in a JSON string is */
	for (const char *p = strchr(q, '%'); p; p = strchr(p + 1, '%'))
		if (p[1] == '0' && p[2] == '0') {
			jq_reply_error(req, 400, "invalid_argument",
				       "a query value holds a NUL byte (%%00)");
			return -1;
		}
	if (evhttp_parse_query_str(q, out) != 0) {
		evhttp_clear_headers(out);
		jq_reply_error(req, 400, "invalid_argument", "malformed query string");
		return -1;
	}
	return 0;
}

/* ---- routing ---- */

struct route {
	const char *path;  /* exact path ("/" too); a longer prefix ending in '/' takes one
			      segment as argument, one ending in a star takes the rest of the path */
	int methods;       /* JQ_HTTP_* mask */
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

/* The broker whose listener reports errors (one per process). */
static struct jq_broker *g_listening_broker;

void jq_broker_http_metrics(struct evbuffer *out)
{
	if (g_listening_broker && g_listening_broker->http)
		evbuffer_add_printf(out,
				    "# HELP jobq_http_connections HTTP connections this broker holds "
				    "open (WebSockets not counted).\n# TYPE jobq_http_connections "
				    "gauge\njobq_http_connections %zu\n",
				    jq_http_connections(g_listening_broker->http));
	evbuffer_add_printf(out, "# HELP jobq_http_requests_total HTTP requests this broker "
				 "received, by route.\n# TYPE jobq_http_requests_total counter\n");
	for (size_t i = 0; i <= N_ROUTES; i++) {
		const char *method = "";
		if (i < N_ROUTES)
			method = routes[i].methods == JQ_HTTP_GET	  ? "GET "
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
	evbuffer_add_printf(out, "# HELP jobq_http_responses_total HTTP responses this broker "
				 "sent, by status.\n# TYPE jobq_http_responses_total counter\n");
	for (size_t i = 0; i <= N_STATUSES; i++) {
		char code[8];
		snprintf(code, sizeof(code), "%d", i < N_STATUSES ? counted_statuses[i] : 0);
		evbuffer_add_printf(out, "jobq_http_responses_total{code=\"%s\"} %llu\n",
				    i < N_STATUSES ? code : "other",
				    (unsigned long long)responses_by_status[i]);
	}
}

static void dispatch_cb(struct jq_http_req *req, void *arg)
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
			if (strncmp(path, r->path, n) != 0 || path[n] == '\0' || strchr(path + n, '/'))
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
		} names[] = {{JQ_HTTP_GET, "GET"}, {JQ_HTTP_HEAD, "HEAD"}, {JQ_HTTP_POST, "POST"},
			     {JQ_HTTP_DELETE, "DELETE"}, {JQ_HTTP_PUT, "PUT"}};
		char allow[64] = "";
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (allowed & names[i].method)
				snprintf(allow + strlen(allow), sizeof(allow) - strlen(allow), "%s%s",
					 allow[0] ? ", " : "", names[i].name);
		jq_http_add_header(req, "Allow", allow);
		jq_reply_error(req, 405, "method_not_allowed", "method not allowed on '%s'", path);
	} else
		jq_reply_error(req, 404, "not_found", "no route '%.200s'", path);
}

/* ---- lifecycle ---- */

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
		int n = snprintf(reply, sizeof(reply),
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

static void redis_state_cb(struct jq_redis *r, int ready, void *arg)
{
	struct jq_broker *b = arg;
	/* ids reserved before an outage may be reissued by a Redis that lost them */
	jq_ids_reset(b);
	if (b->cron)
		jq_cron_firer_ready(b->cron, ready);
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

int jq_broker_init(struct jq_broker *b, struct event_base *base,
		   const struct jq_broker_config *cfg, char *err, size_t errlen)
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
			 "--replica-ack-timeout-ms (%" PRId64 ") must be less than --redis-timeout-ms "
			 "(%" PRId64 ")",
			 cfg->replica_ack_timeout_ms, cfg->redis_timeout_ms);
		return -1;
	}
	struct jq_redis_url url;
	if (jq_redis_url_load(cfg->redis_url, cfg->redis_password_file, &url, err, errlen) != 0)
		return -1;
	const char *colon = strrchr(cfg->listen, ':');
	int64_t port;
	char host[256];
	if (!colon || (size_t)(colon - cfg->listen) >= sizeof(host) ||
	    jq_parse_i64(colon + 1, 0, 65535, &port) != 0) {
		snprintf(err, errlen, "listen address '%s' must be host:port", cfg->listen);
		return -1;
	}
	memcpy(host, cfg->listen, (size_t)(colon - cfg->listen));
	host[colon - cfg->listen] = '\0';

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
			      dispatch_cb, b);
	if (!b->http) {
		snprintf(err, errlen, "out of memory");
		jq_schedules_free(config, nconfig);
		return -1;
	}
	struct sockaddr_storage bind_ss;
	int bind_len = sizeof(bind_ss);
	if (evutil_parse_sockaddr_port(cfg->listen, (struct sockaddr *)&bind_ss, &bind_len) != 0) {
		snprintf(err, errlen, "listen address '%s' must be host:port with a numeric host",
			 cfg->listen);
		jq_http_free(b->http);
		b->http = NULL;
		jq_schedules_free(config, nconfig);
		return -1;
	}
	struct evconnlistener *lev = evconnlistener_new_bind(
	    base, NULL, NULL,
	    LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC |
		(cfg->reuse_port ? LEV_OPT_REUSEABLE_PORT : 0),
	    JQ_BROKER_BACKLOG, (struct sockaddr *)&bind_ss, bind_len);
	if (!lev) {
		snprintf(err, errlen, "cannot listen on '%s': %s", cfg->listen, strerror(errno));
		jq_http_free(b->http);
		b->http = NULL;
		jq_schedules_free(config, nconfig);
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
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET)
			b->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		else if (ss.ss_family == AF_INET6)
			b->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	b->guard.port = b->port; /* port 0 in --listen: the one bound */
	if (jq_auth_init(&b->auth, b, host_is_loopback(host)) != 0) {
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
	b->sigterm = evsignal_new(base, SIGTERM, signal_cb, b);
	b->sigint = evsignal_new(base, SIGINT, signal_cb, b);
	b->stop_timer = evtimer_new(base, drain_cb, b);
	evsignal_add(b->sigterm, NULL);
	evsignal_add(b->sigint, NULL);
	signal(SIGPIPE, SIG_IGN);
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


void jq_broker_release(struct jq_broker *b)
{
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
	if (b->spare_fd >= 0)
		close(b->spare_fd);
	jq_guard_release(&b->guard);
}
