/* main.c: jobq-worker, runs jobs from Redis (see worker.h). */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "contain.h"
#include "log.h"
#include "worker.h"

/* The defaults, which --help shows as current values. */
static void config_defaults(struct jq_worker_config *cfg)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	*cfg = (struct jq_worker_config){
		.redis_url = "redis://127.0.0.1:6379/0",
		.redis_password_file = "",
		.prefix = "jobq:",
		.queues = "default",
		.concurrency = 100,
		.threads = ncpu > 0 ? ncpu : 2,
		.lease_ms = 15000,
		.heartbeat_ms = 1000,
		.grace_ms = 10000,
		.retry_base_ms = 1000,
		.max_recoveries = 5,
		.dead_max = 10000,
		.keep_completed_ms = 24 * 3600 * 1000LL,
		.keep_failed_ms = 7 * 24 * 3600 * 1000LL,
		.replica_ack_timeout_ms = 500,
		.smtp_url = "",
		.smtp_from = "jobq@localhost",
		.smtp_user = "",
		.smtp_password = "",
		.smtp_timeout_ms = 30000,
		.schedule_file = "",
		.http_ca_file = "",
		.exec_contain = "auto",
	};
}

/* The options (command line, then environment) into cfg: -1 to go on, else the exit
 * status (--help, --version, a bad option). */
static int parse_options(int argc, char **argv, struct jq_worker_config *cfg)
{
	const char *log_format = "text", *log_level = "info";
	const struct jq_opt opts[] = {
		JQ_OPT_REDIS_ROWS(cfg),
		{"queues", "JOBQ_QUEUES", JQ_OPT_STR, &cfg->queues, 0, 2000,
		 "comma-separated queues: a,b in strict order, or a:5,b:1 by weight"},
		{"concurrency", "JOBQ_CONCURRENCY", JQ_OPT_INT, &cfg->concurrency, 1, 100000,
		 "jobs running at once"},
		{"threads", "JOBQ_THREADS", JQ_OPT_INT, &cfg->threads, 1, 1024,
		 "threads for CPU jobs"},
		{"lease-ms", "JOBQ_LEASE_MS", JQ_OPT_INT, &cfg->lease_ms, 300, 3600000,
		 "lease of a taken job (renewed each beat): when a lease runs out, the job comes back"},
		{"heartbeat-ms", "JOBQ_HEARTBEAT_MS", JQ_OPT_INT, &cfg->heartbeat_ms, 100, 60000,
		 "beat period; a worker silent for 3 beats is dead and its jobs come back"},
		{"retry-base-ms", "JOBQ_RETRY_BASE_MS", JQ_OPT_INT, &cfg->retry_base_ms, 1, 3600000,
		 "delay before the first retry; doubles each attempt, +-25% jitter"},
		{"max-recoveries", "JOBQ_MAX_RECOVERIES", JQ_OPT_INT, &cfg->max_recoveries, 0, 1000,
		 "times a job may lose its worker before it is failed as poison"},
		{"dead-max", "JOBQ_DEAD_MAX", JQ_OPT_INT, &cfg->dead_max, 1, 100000000,
		 "most jobs kept in the dead set (oldest dropped first)"},
		{"grace-ms", "JOBQ_GRACE_MS", JQ_OPT_INT, &cfg->grace_ms, 0, 3600000,
		 "on SIGTERM, how long running jobs may finish before they are requeued"},
		{"keep-completed-ms", "JOBQ_KEEP_COMPLETED_MS", JQ_OPT_INT, &cfg->keep_completed_ms,
		 1000, 365LL * 24 * 3600 * 1000, "how long completed jobs are kept"},
		{"keep-failed-ms", "JOBQ_KEEP_FAILED_MS", JQ_OPT_INT, &cfg->keep_failed_ms, 1000,
		 365LL * 24 * 3600 * 1000, "how long failed jobs are kept"},
		{"min-replicas-ack", "JOBQ_MIN_REPLICAS_ACK", JQ_OPT_INT, &cfg->min_replicas_ack, 0,
		 100,
		 "count a job's outcome as written only once this many replicas have it (WAIT); "
		 "otherwise it is resent on the next beat"},
		{"replica-ack-timeout-ms", "JOBQ_REPLICA_ACK_TIMEOUT_MS", JQ_OPT_INT,
		 &cfg->replica_ack_timeout_ms, 1, 60 * 1000,
		 "how long to wait for those replicas (less than --heartbeat-ms)"},
		{"smtp-url", "JOBQ_SMTP_URL", JQ_OPT_STR, &cfg->smtp_url, 0, 1000,
		 "SMTP server for email jobs, e.g. smtp://127.0.0.1:25"},
		{"smtp-from", "JOBQ_SMTP_FROM", JQ_OPT_STR, &cfg->smtp_from, 0, 254,
		 "sender address of email jobs"},
		{"smtp-user", "JOBQ_SMTP_USER", JQ_OPT_STR, &cfg->smtp_user, 0, 254, "SMTP user"},
		{"smtp-password", "JOBQ_SMTP_PASSWORD", JQ_OPT_STR, &cfg->smtp_password, 0, 254,
		 "SMTP password (prefer the environment variable)"},
		{"smtp-timeout-ms", "JOBQ_SMTP_TIMEOUT_MS", JQ_OPT_INT, &cfg->smtp_timeout_ms, 100,
		 3600000, "time limit of one SMTP send"},
		{"exec", "JOBQ_EXEC", JQ_OPT_LIST, &cfg->exec, 0, 16384,
		 "let exec jobs run a program by name: NAME=/absolute/path; repeat the flag, or "
		 "separate several with commas"},
		{"exec-contain", "JOBQ_EXEC_CONTAIN", JQ_OPT_STR, &cfg->exec_contain, 0, 16,
		 "how each exec job's processes are kept together and ended with it: auto (the "
		 "first that works of:), pidns (a PID namespace; root), userns (a user and PID "
		 "namespace; unprivileged), subreaper (a supervisor process)"},
		{"http-deny", "JOBQ_HTTP_DENY", JQ_OPT_LIST, &cfg->http_deny, 0, 4096,
		 "networks http jobs may not connect to: ADDR[/BITS], or 'private' (every "
		 "address that is not the public internet: loopback, private, link-local, cloud "
		 "metadata, multicast...; NAT64 and 6to4 forms too); repeat the flag, or separate with commas"},
		{"http-ca-file", "JOBQ_HTTP_CA_FILE", JQ_OPT_STR, &cfg->http_ca_file, 0, 4096,
		 "certificates (PEM) that https requests of http jobs trust, in place of the "
		 "system's (a private CA)"},
		{"schedule-file", "JOBQ_SCHEDULE_FILE", JQ_OPT_STR, &cfg->schedule_file, 0, 4096,
		 "periodic schedules to write at start-up, one 'NAME CRON JOB_JSON' a line"},
		JQ_OPT_LOG_ROWS(log_format, log_level),
		{NULL, NULL, 0, NULL, 0, 0, NULL},
	};
	static const char usage[] =
		"usage: jobq-worker [options]\n\n"
		"A jobq worker: takes jobs from its Redis queues under a lease and runs them\n"
		"(noop, progress, email, hash, http, and exec for the programs --exec names).\n"
		"Run as many as you like, on any machine.";
	return jq_opts_daemon("jobq-worker", usage, opts, argc, argv, &log_format, &log_level);
}

/* 0 if the options agree with each other, else says which do not on stderr and -1. */
static int config_check(const struct jq_worker_config *cfg)
{
	if (cfg->lease_ms < 2 * cfg->heartbeat_ms) {
		fprintf(stderr, "jobq-worker: --lease-ms must be at least twice --heartbeat-ms\n");
		return -1;
	}
	if (cfg->min_replicas_ack > 0 && cfg->replica_ack_timeout_ms >= cfg->heartbeat_ms) {
		/* WAIT holds the connection the beat goes on */
		fprintf(stderr, "jobq-worker: --replica-ack-timeout-ms must be less than "
				"--heartbeat-ms\n");
		return -1;
	}
	return 0;
}

/* Runs the worker until it stops: the exit status. */
static int run(const struct jq_worker_config *cfg)
{
	char err[256];
	curl_global_init(CURL_GLOBAL_DEFAULT);

	struct event_base *base = event_base_new();
	struct jq_worker w;
	if (!base || jq_worker_init(&w, base, cfg, err, sizeof(err)) != 0) {
		jq_error("%s", base ? err : "cannot create the event loop");
		if (base)
			event_base_free(base);
		curl_global_cleanup();
		return 1;
	}
	int rc = jq_worker_run(&w);
	jq_worker_release(&w);
	event_base_free(base);
	curl_global_cleanup();
	return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	/* a supervisor of an exec job (contain.h), re-executed from this binary */
	if (argc > 1 && strcmp(argv[1], JQ_CONTAIN_INIT_ARG) == 0)
		return jq_contain_init_main(argc, argv);
	struct jq_worker_config cfg;
	config_defaults(&cfg);
	int rc = parse_options(argc, argv, &cfg);
	if (rc >= 0)
		return rc;
	if (config_check(&cfg) != 0)
		return 2;
	return run(&cfg);
}
