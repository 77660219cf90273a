/* main.c: jobq-broker, the HTTP front of jobq (see broker.h and docs/api.md). */
#include <stdio.h>
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "broker.h"
#include "config.h"
#include "log.h"
#include "ws.h"

/* The defaults, which --help shows as current values. */
static void config_defaults(struct jq_broker_config *cfg)
{
	*cfg = (struct jq_broker_config){
		.listen = "127.0.0.1:8000",
		.redis_url = "redis://127.0.0.1:6379/0",
		.redis_password_file = "",
		.prefix = "jobq:",
		.max_body = JQ_BROKER_DEFAULT_MAX_BODY,
		.http_timeout_s = JQ_BROKER_IDLE_S,
		.keep_cancelled_ms = 24 * 3600 * 1000LL,
		.idempotency_window_ms = 24 * 3600 * 1000LL,
		.redis_timeout_ms = 3000,
		.keep_batches_ms = 7 * 24 * 3600 * 1000LL,
		.replica_ack_timeout_ms = 1000,
		.schedule_file = "",
		.ws_ping_ms = JQ_WS_PING_MS,
		.ws_idle_ms = JQ_WS_IDLE_MS,
		.ws_max_subs = JQ_WS_MAX_SUBS,
		.session_ttl_s = JQ_AUTH_SESSION_TTL_S,
	};
}

/* The options (command line, then environment) into cfg: -1 to go on, else the exit
 * status (--help, --version, a bad option). */
static int parse_options(int argc, char **argv, struct jq_broker_config *cfg)
{
	const char *log_format = "text", *log_level = "info";
	const struct jq_opt opts[] = {
		{"listen", "JOBQ_LISTEN", JQ_OPT_STR, &cfg->listen, 0, 300,
		 "address to serve HTTP on"},
		JQ_OPT_REDIS_ROWS(cfg),
		{"max-body", "JOBQ_MAX_BODY", JQ_OPT_INT, &cfg->max_body, 1024, 64 * 1024 * 1024,
		 "largest request body in bytes (413 above)"},
		{"http-timeout-s", "JOBQ_HTTP_TIMEOUT_S", JQ_OPT_INT, &cfg->http_timeout_s, 1, 3600,
		 "seconds an idle connection is kept, a request may take to arrive whole (408), "
		 "and a client may leave a reply unread"},
		{"keep-cancelled-ms", "JOBQ_KEEP_CANCELLED_MS", JQ_OPT_INT, &cfg->keep_cancelled_ms,
		 1000, 365LL * 24 * 3600 * 1000, "how long a job cancelled before it ran is kept"},
		{"keep-batches-ms", "JOBQ_KEEP_BATCHES_MS", JQ_OPT_INT, &cfg->keep_batches_ms, 1000,
		 365LL * 24 * 3600 * 1000,
		 "how long a batch's counts are kept once all its jobs ended"},
		{"idempotency-window-ms", "JOBQ_IDEMPOTENCY_WINDOW_MS", JQ_OPT_INT,
		 &cfg->idempotency_window_ms, 1000, 365LL * 24 * 3600 * 1000,
		 "how long an Idempotency-Key keeps answering with its first job"},
		{"min-replicas-ack", "JOBQ_MIN_REPLICAS_ACK", JQ_OPT_INT, &cfg->min_replicas_ack, 0,
		 100,
		 "answer 2xx for new jobs only once this many replicas have them (WAIT); 503 "
		 "otherwise"},
		{"replica-ack-timeout-ms", "JOBQ_REPLICA_ACK_TIMEOUT_MS", JQ_OPT_INT,
		 &cfg->replica_ack_timeout_ms, 1, 60 * 1000,
		 "how long to wait for those replicas before answering 503"},
		{"redis-timeout-ms", "JOBQ_REDIS_TIMEOUT_MS", JQ_OPT_INT, &cfg->redis_timeout_ms,
		 100, 3600 * 1000LL,
		 "how long a request waits for Redis before it gets 503 (the connection is dropped "
		 "and made again)"},
		{"reuse-port", "JOBQ_REUSE_PORT", JQ_OPT_BOOL, &cfg->reuse_port, 0, 0,
		 "share the port with other brokers (SO_REUSEPORT): one per core"},
		{"schedule-file", "JOBQ_SCHEDULE_FILE", JQ_OPT_STR, &cfg->schedule_file, 0, 4096,
		 "periodic schedules to write at start-up, one 'NAME CRON JOB_JSON' a line"},
		{"ws-ping-ms", "JOBQ_WS_PING_MS", JQ_OPT_INT, &cfg->ws_ping_ms, 100, 3600 * 1000LL,
		 "how often each WebSocket is pinged"},
		{"ws-idle-ms", "JOBQ_WS_IDLE_MS", JQ_OPT_INT, &cfg->ws_idle_ms, 100,
		 24 * 3600 * 1000LL,
		 "a WebSocket client silent this long (not even a pong) is dropped"},
		{"ws-max-subs", "JOBQ_WS_MAX_SUBS", JQ_OPT_INT, &cfg->ws_max_subs, 1, 100000,
		 "subscriptions (jobs and queues) one WebSocket may hold, each under 1 KiB of memory"},
		{"no-auth", "JOBQ_NO_AUTH", JQ_OPT_BOOL, &cfg->no_auth, 0, 0,
		 "check no token at all, even on a non-loopback address (else such a broker refuses "
		 "to start while no token exists)"},
		{"open-healthz", "JOBQ_OPEN_HEALTHZ", JQ_OPT_BOOL, &cfg->open_healthz, 0, 0,
		 "GET /healthz needs no token (load balancers)"},
		{"open-metrics", "JOBQ_OPEN_METRICS", JQ_OPT_BOOL, &cfg->open_metrics, 0, 0,
		 "GET /metrics needs no token (Prometheus scrapes)"},
		{"session-ttl-s", "JOBQ_SESSION_TTL_S", JQ_OPT_INT, &cfg->session_ttl_s, 60,
		 30LL * 24 * 3600, "how long a dashboard sign-in lasts, in seconds"},
		{"allowed-hosts", "JOBQ_ALLOWED_HOSTS", JQ_OPT_LIST, &cfg->allowed_hosts, 0, 4000,
		 "names (name[:port], comma-separated or repeated; '*': any) the broker answers to "
		 "besides its listen address, localhost, 127.0.0.1 and [::1] (421 otherwise)"},
		{"allow-origin", "JOBQ_ALLOW_ORIGIN", JQ_OPT_LIST, &cfg->allow_origins, 0, 4000,
		 "an Origin (scheme://host[:port], comma-separated or repeated; '*': any) whose pages "
		 "may change things and open /ws besides the broker's own; it gets CORS headers"},
		{"ws-origin", "JOBQ_WS_ORIGIN", JQ_OPT_LIST, &cfg->ws_origins, 0, 300,
		 "the old name of --allow-origin (its values are added to it)"},
		JQ_OPT_LOG_ROWS(log_format, log_level),
		{NULL, NULL, 0, NULL, 0, 0, NULL},
	};
	static const char usage[] =
		"usage: jobq-broker [options]\n\n"
		"The jobq HTTP broker: accepts jobs over HTTP and stores them in Redis for\n"
		"jobq-worker processes; answers job status. API: docs/api.md.";
	return jq_opts_daemon("jobq-broker", usage, opts, argc, argv, &log_format, &log_level);
}

static void malloc_keep_large_blocks(void)
{
#ifdef __GLIBC__
	/* A bulk request takes a few large blocks (the jobs, the script's arguments, the
	 * command) and frees them when Redis answers. With glibc's defaults the largest come
	 * from mmap or are trimmed off the heap at once, and every request faults the same
	 * pages in again (perf showed it, docs/benchmarks.md). Kept in the heap instead: at
	 * most 64 MB idle after a burst. */
	if (!mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024) ||
	    !mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024))
		jq_debug("malloc keeps its default thresholds (mallopt refused)");
#endif
}

/* Runs the broker until it stops: the exit status. */
static int run(const struct jq_broker_config *cfg)
{
	char err[256];
	struct event_base *base = event_base_new();
	struct jq_broker b;
	if (!base || jq_broker_init(&b, base, cfg, err, sizeof(err)) != 0) {
		jq_error("%s", base ? err : "cannot create the event loop");
		if (base) {
			jq_guard_release(&b.guard); /* init zeroed b first */
			event_base_free(base);      /* a clean exit for the leak checker */
		}
		return 1;
	}
	int rc = jq_broker_run(&b);
	jq_broker_release(&b);
	event_base_free(base);
	return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct jq_broker_config cfg;
	config_defaults(&cfg);
	int rc = parse_options(argc, argv, &cfg);
	if (rc >= 0)
		return rc;
	malloc_keep_large_blocks();
	return run(&cfg);
}
