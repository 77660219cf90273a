/* jobctl.c: jobctl's command table and its dispatch; see jobctl.h. */
#include "jobctl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "config.h"
#include "ctl.h"
#include "httpc.h"
#include "rows.h"

#define REQUEST_TIMEOUT_MAX_MS 3600000 /* --timeout-ms upper bound: one hour */

/* ---- the rows: the commands that are one request (rows.h) ---- */

/* 404 (unknown), 409 (cancel: already finished; dead retry: its unique_key is held by a
 * live job) and 410 (dead retry: expired) end in ctl_request() with the broker's
 * message. A valid name needs no escaping in a path. */
static const struct row row_status = {
	.method = JQ_HTTPC_GET,
	.path = "/jobs/{}",
	.scope = ROW_SCOPE_JOB,
	.print = ctl_show_job,
};
static const struct row row_cancel = {
	.method = JQ_HTTPC_DELETE,
	.path = "/jobs/{}",
	.scope = ROW_SCOPE_JOB,
	.statuses = {200, 202},
	.field = "id",
	.need = ROW_NEED_ID,
	.what = "not HTTP 200 or 202 with a positive integer 'id'",
	.print = ctl_show_cancel,
};
static const struct row row_queues = {
	.method = JQ_HTTPC_GET,
	.path = "/queues",
	.field = "queues",
	.need = ROW_NEED_ARRAY,
	.what = "no array 'queues'",
	.print = ctl_show_queues,
};
static const struct row row_queue = {
	.method = JQ_HTTPC_GET,
	.path = "/queues/{}",
	.scope = ROW_SCOPE_QUEUE,
	.print = ctl_show_queue,
};
static const struct row row_pause = {
	.method = JQ_HTTPC_POST,
	.path = "/queues/{}/pause",
	.scope = ROW_SCOPE_QUEUE,
	.field = "paused",
	.need = ROW_NEED_TRUE,
	.what = "no 'paused': true",
	.print = ctl_show_paused,
};
static const struct row row_resume = {
	.method = JQ_HTTPC_POST,
	.path = "/queues/{}/resume",
	.scope = ROW_SCOPE_QUEUE,
	.field = "paused",
	.need = ROW_NEED_FALSE,
	.what = "no 'paused': false",
	.print = ctl_show_paused,
};
static const struct row row_workers = {
	.method = JQ_HTTPC_GET,
	.path = "/workers",
	.field = "workers",
	.need = ROW_NEED_ARRAY,
	.what = "no array 'workers'",
	.print = ctl_show_workers,
};
static const struct row row_dead_list = {
	.method = JQ_HTTPC_GET,
	.path = "/dead",
	.field = "jobs",
	.need = ROW_NEED_ARRAY,
	.what = "no array 'jobs'",
	.query = {{"limit", 1, JQ_CTL_DEAD_LIMIT_MAX}, {"offset", 0, JQ_CTL_DEAD_OFFSET_MAX}},
	.print = ctl_show_dead,
};
static const struct row row_dead_retry = {
	.method = JQ_HTTPC_POST,
	.path = "/dead/{}/retry",
	.scope = ROW_SCOPE_JOB,
	.field = "id",
	.need = ROW_NEED_ID,
	.what = "no positive integer 'id'",
	.print = ctl_show_requeued,
};
static const struct row row_dead_purge = {
	.method = JQ_HTTPC_DELETE,
	.path = "/dead",
	.field = "purged",
	.need = ROW_NEED_COUNT,
	.what = "no non-negative integer 'purged'",
	.ask = ctl_ask_purge,
	.print = ctl_show_purged,
};
static const struct row row_schedules = {
	.method = JQ_HTTPC_GET,
	.path = "/schedules",
	.field = "schedules",
	.need = ROW_NEED_ARRAY,
	.what = "no array 'schedules'",
	.print = ctl_show_schedules,
};
static const struct row row_schedule = {
	.method = JQ_HTTPC_GET,
	.path = "/schedules/{}",
	.scope = ROW_SCOPE_SCHEDULE,
	.print = ctl_show_schedule,
};
static const struct row row_token_list = {
	.method = JQ_HTTPC_GET,
	.path = "/tokens",
	.field = "tokens",
	.need = ROW_NEED_ARRAY,
	.what = "no array 'tokens'",
	.print = ctl_show_tokens,
};
static const struct row row_token_revoke = {
	.method = JQ_HTTPC_DELETE,
	.path = "/tokens/{}",
	.scope = ROW_SCOPE_TOKEN,
	.print = ctl_show_revoked,
};

/* The last word of a command's name: what selects it in its group. */
static const char *leaf_name(const struct command *cmd)
{
	const char *sp = strrchr(cmd->name, ' ');
	return sp ? sp + 1 : cmd->name;
}

/* Runs a group ("dead"): argv[1] names one of its subcommands. */
static int cmd_group(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	if (argc < 2)
		return ctl_usage_error(c, cmd, "'%s' needs a command", cmd->name);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		ctl_command_help(c->out, cmd);
		return JQ_CTL_EXIT_OK;
	}
	for (const struct command *const *sub = cmd->subs; *sub; sub++)
		if (strcmp(argv[1], leaf_name(*sub)) == 0)
			return (*sub)->run(c, *sub, argc - 1, argv + 1);
	return ctl_usage_error(c, cmd, "unknown %s command '%s'", cmd->name, argv[1]);
}

/* ---- the command table ---- */

/* The periodic schedules: schedules [NAME], schedule add|rm. */

static const struct command cmd_schedules_def = {
	"schedules",
	ctl_cmd_row,
	"jobctl schedules [NAME]",
	"Without NAME, lists the periodic schedules: name, cron expression, next and last run\n"
	"(UTC), the job of the last run and its type. With NAME, prints that schedule whole\n"
	"as \"key: value\" lines (exit 1 if unknown).\n\n"
	"options:\n"
	"  --json             print the broker's answer as it is\n",
	NULL,
	{&row_schedules, &row_schedule},
};

static const struct command cmd_schedule_add_def = {
	"schedule add",
	ctl_cmd_schedule_add,
	"jobctl schedule add NAME CRON JOB_JSON [--replace]",
	"Creates schedule NAME: a job JOB_JSON (a POST /jobs body, such as '{\"type\": \"noop\"}')\n"
	"at each time of CRON, five fields in UTC ('*/5 * * * *', 'MIN HOUR DOM MON DOW') or a\n"
	"macro (@hourly, @daily, @weekly, @monthly, @yearly); a sixth field in front counts\n"
	"seconds. Prints \"schedule NAME created, next run TIME\"; exit 1 if the name is taken\n"
	"or the broker refuses the expression or the job (its message names the field).\n\n"
	"options:\n"
	"  --replace          create or replace NAME (PUT): an unchanged definition keeps its\n"
	"                     next run\n"
	"  --json             print the broker's answer as it is\n",
	NULL,
	{NULL, NULL},
};

static const struct command cmd_schedule_rm_def = {
	"schedule rm",
	ctl_cmd_schedule_rm,
	"jobctl schedule rm NAME",
	"Deletes schedule NAME and prints \"schedule NAME deleted\": it fires no more (jobs it\n"
	"made stay). Exit 1 if there is no such schedule.\n\n"
	"options:\n"
	"  --json             print {\"name\": NAME, \"deleted\": true}\n",
	NULL,
	{NULL, NULL},
};

static const struct command *const schedule_commands[] = {
	&cmd_schedule_add_def,
	&cmd_schedule_rm_def,
	NULL,
};

static const struct command cmd_schedule_def = {
	"schedule",
	cmd_group,
	"jobctl schedule add|rm ...",
	"Periodic schedules: a job stored at each time of a cron expression, once per time\n"
	"however many brokers and workers run. 'jobctl schedules' lists them.\n",
	schedule_commands,
	{NULL, NULL},
};

/* The API tokens: token create|list|revoke. */

static const struct command cmd_token_create_def = {
	"token create",
	ctl_cmd_token_create,
	"jobctl token create NAME --scopes read,enqueue,admin",
	"Creates API token NAME with the scopes listed (read: the GETs; enqueue: storing jobs;\n"
	"admin: everything, tokens too) and prints it on a line of its own: it is shown this\n"
	"once (the broker keeps only its SHA-256). Needs an admin token, except while no token\n"
	"exists: the first one is created through a broker on a loopback address.\n\n"
	"options:\n"
	"  --scopes LIST      read, enqueue, admin, comma-separated\n"
	"  --json             print the broker's answer as it is (the token in it)\n",
	NULL,
	{NULL, NULL},
};

static const struct command cmd_token_list_def = {
	"token list",
	ctl_cmd_row,
	"jobctl token list",
	"Lists the API tokens: name, scopes, creation time (never the tokens themselves).\n\n"
	"options:\n"
	"  --json             print the broker's answer as it is\n",
	NULL,
	{&row_token_list, NULL},
};

static const struct command cmd_token_revoke_def = {
	"token revoke",
	ctl_cmd_row,
	"jobctl token revoke NAME",
	"Revokes API token NAME and prints \"token NAME revoked\": every broker refuses it within\n"
	"a second, and the dashboard sessions opened with it end. Exit 1 if there is none.\n\n"
	"options:\n"
	"  --json             print the broker's answer as it is\n",
	NULL,
	{NULL, &row_token_revoke},
};

static const struct command *const token_commands[] = {
	&cmd_token_create_def,
	&cmd_token_list_def,
	&cmd_token_revoke_def,
	NULL,
};

static const struct command cmd_token_def = {
	"token",
	cmd_group,
	"jobctl token create|list|revoke ...",
	"API tokens (bearer tokens with scopes): whoever holds one may use the broker within\n"
	"its scopes. Other commands send one with --token, JOBQ_TOKEN or --token-file.\n",
	token_commands,
	{NULL, NULL},
};

/* The jobs, queues, workers and the dead-letter set. */

static const struct command cmd_start_task_def = {
	"start-task",
	ctl_cmd_start_task,
	"jobctl start-task [--duration N] [--wait [--wait-timeout S]] [--idempotency-key K]",
	"Starts the seed's long task (a 'progress' job) and prints \"task ID STATUS\".\n\n"
	"options:\n"
	"  --duration N       seconds the task runs, 0 to 86400 (default: the broker's, 10)\n"
	"  --wait             poll the task every 200 ms until it ends: a progress bar on a\n"
	"                     terminal, one line per change otherwise (JSON lines with --json);\n"
	"                     exit 0 if it completed, 1 if not, 130 on Ctrl-C\n"
	"  --wait-timeout S   with --wait, give up (exit 1) after S seconds (default 0: never)\n"
	"  --idempotency-key K\n"
	"                     send K as the Idempotency-Key header: a repeat with the same key\n"
	"                     starts nothing and answers the first task (1 to 200 printable\n"
	"                     ASCII characters, no spaces)\n"
	"  --json             print the broker's answers as they are\n",
	NULL,
	{NULL, NULL},
};

static const struct command cmd_watch_def = {
	"watch",
	ctl_cmd_watch,
	"jobctl watch ID [--wait-timeout S]",
	"Follows job ID (any job, not only a task) through the broker's event stream,\n"
	"GET /jobs/ID/events, until it ends. On a terminal it redraws one line: a progress\n"
	"bar, steps done, the rate of progress and the time left, as in\n"
	"\"[##########----------] 5/10 50%  2.0/s  ETA 3s\". Otherwise it prints one line per\n"
	"event, \"task ID: STATUS\" (STATUS as in GET /task-status: pending, running,\n"
	"progress: I/N, completed, failed: REASON, cancelled). A job that has already ended\n"
	"gives its one last event at once. A stream that breaks off before the job ends is\n"
	"opened again (it starts with the job's current state), up to 8 times in a row.\n\n"
	"exit status: 0 the job completed; 1 it failed or was cancelled, or it is unknown,\n"
	"or the broker cannot be reached or its stream was lost; 130 on Ctrl-C (the job\n"
	"goes on).\n\n"
	"options:\n"
	"  --wait-timeout S   give up (exit 1) after S seconds (default 0: never)\n"
	"  --json             print each event's data, one JSON object per line:\n"
	"                     {\"id\", \"state\", \"status\", \"progress\": {\"done\", \"total\"}}\n",
	NULL,
	{NULL, NULL},
};

static const struct command cmd_enqueue_def = {
	"enqueue",
	ctl_cmd_enqueue,
	"jobctl enqueue TYPE [key=value ...] [--queue Q] [--max-attempts N] [--timeout-ms N]"
	" [--priority N] [--idempotency-key K] [--unique-key K]",
	"Queues a job of type TYPE and prints \"job ID STATE\". Each key=value becomes a payload\n"
	"field; a value that is valid JSON is taken as JSON (3, true, null, \"3\", [1,2],\n"
	"{\"a\":1}), any other as a string (to=a@b.c).\n\n"
	"options:\n"
	"  --queue Q          queue name (default: the broker's, \"default\")\n"
	"  --max-attempts N   attempts before the job fails, 1 to 100 (default: 3)\n"
	"  --timeout-ms N     stop an attempt after N ms, 0 for none (default: 0)\n"
	"  --priority N       0 to 9, higher runs first within the queue (default: 0)\n"
	"  --idempotency-key K\n"
	"                     send K as the Idempotency-Key header: a repeat with the same key\n"
	"                     stores nothing and prints \"job ID (already enqueued with this key)\n"
	"                     STATE\" of the first job (1 to 200 printable ASCII characters,\n"
	"                     no spaces)\n"
	"  --unique-key K     refuse the job (exit 1, the broker names the job holding K)\n"
	"                     while another job with this key is pending, scheduled or running\n"
	"  --json             print the broker's answer as it is\n"
	"  --                 every later argument is a key=value\n",
	NULL,
	{NULL, NULL},
};

static const struct command cmd_status_def = {
	"status",
	ctl_cmd_row,
	"jobctl status ID",
	"Prints a job's state, progress, attempts, recoveries, times, result, last error and the\n"
	"error of every failed attempt (exit 1 if unknown).\n\n"
	"options:\n"
	"  --json             print the broker's answer (the whole job) as it is\n",
	NULL,
	{NULL, &row_status},
};

static const struct command cmd_notify_def = {
	"send-notification",
	ctl_cmd_notify,
	"jobctl send-notification EMAIL CONTENT [--sync] [--idempotency-key K]",
	"Queues an email to EMAIL with body CONTENT and prints \"notification queued as task N\".\n\n"
	"options:\n"
	"  --sync             have the worker send it on its blocking thread pool\n"
	"  --idempotency-key K\n"
	"                     send K as the Idempotency-Key header: a repeat with the same key\n"
	"                     queues nothing and answers the first task (1 to 200 printable\n"
	"                     ASCII characters, no spaces)\n"
	"  --json             print the broker's answer as it is\n",
	NULL,
	{NULL, NULL},
};

static const struct command cmd_cancel_def = {
	"cancel",
	ctl_cmd_row,
	"jobctl cancel ID",
	"Cancels job ID: prints \"job ID cancelled\" if it had not started (it never runs), or\n"
	"\"job ID is running: cancel requested\" (its worker stops it, and it ends cancelled).\n"
	"Exit 1 if it has already finished or is unknown.\n\n"
	"options:\n"
	"  --json             print the broker's answer as it is\n",
	NULL,
	{NULL, &row_cancel},
};

static const struct command cmd_queues_def = {
	"queues",
	ctl_cmd_row,
	"jobctl queues [NAME]",
	"Without NAME, lists every queue: one row with its name, its pending, scheduled and\n"
	"running jobs now, its completed and failed jobs so far, whether it is paused and its\n"
	"rate limit (jobs started in the current interval/limit per interval), the\n"
	"name cut to fit the terminal (80 columns when the output is not one). With NAME,\n"
	"prints all the counts of that queue as \"key: value\" lines (exit 1 if unknown).\n\n"
	"options:\n"
	"  --json             print the broker's answer as it is\n",
	NULL,
	{&row_queues, &row_queue},
};

static const struct command cmd_pause_def = {
	"pause",
	ctl_cmd_row,
	"jobctl pause QUEUE",
	"Pauses QUEUE and prints \"queue QUEUE paused\": it keeps accepting jobs, but workers\n"
	"take none from it until it is resumed (jobs already running finish).\n\n"
	"options:\n"
	"  --json             print the broker's answer as it is\n",
	NULL,
	{NULL, &row_pause},
};

static const struct command cmd_resume_def = {
	"resume",
	ctl_cmd_row,
	"jobctl resume QUEUE",
	"Resumes QUEUE and prints \"queue QUEUE resumed\": workers take its jobs again.\n\n"
	"options:\n"
	"  --json             print the broker's answer as it is\n",
	NULL,
	{NULL, &row_resume},
};

static const struct command cmd_workers_def = {
	"workers",
	ctl_cmd_row,
	"jobctl workers",
	"Lists the workers whose heartbeat is recent: their id, host, pid, queues, running\n"
	"jobs/concurrency, the age of their last heartbeat and when they started, cut to fit\n"
	"the terminal (80 columns when the output is not one).\n\n"
	"options:\n"
	"  --json             print the broker's answer as it is\n",
	NULL,
	{&row_workers, NULL},
};

static const struct command cmd_dead_list_def = {
	"dead list",
	ctl_cmd_row,
	"jobctl dead list [--limit N] [--offset N]",
	"Lists the dead-letter set, newest first: one row per job with its id, failure time,\n"
	"type, queue, attempts and last error, the error whole and wrapped in its column (80\n"
	"columns when the output is not one; --json for the broker's answer as it is).\n\n"
	"options:\n"
	"  --limit N          show at most N jobs, 1 to 1000 (default: the broker's, 100)\n"
	"  --offset N         skip the N newest (default: 0)\n"
	"  --json             print the broker's answer as it is\n",
	NULL,
	{&row_dead_list, NULL},
};

static const struct command cmd_dead_retry_def = {
	"dead retry",
	ctl_cmd_row,
	"jobctl dead retry ID",
	"Puts dead job ID back in its queue with its attempts reset and prints \"job ID requeued\";\n"
	"exit 1 if it is not in the dead set or has expired.\n\n"
	"options:\n"
	"  --json             print the broker's answer as it is\n",
	NULL,
	{NULL, &row_dead_retry},
};

static const struct command cmd_dead_purge_def = {
	"dead purge",
	ctl_cmd_row,
	"jobctl dead purge [--yes]",
	"Deletes every job in the dead-letter set and prints \"purged N jobs\". Without --yes it\n"
	"asks first when the standard input is a terminal, and refuses (exit 2) when it is not.\n\n"
	"options:\n"
	"  --yes              do not ask\n"
	"  --json             print the broker's answer as it is\n",
	NULL,
	{&row_dead_purge, NULL},
};

static const struct command *const dead_commands[] = {
	&cmd_dead_list_def,
	&cmd_dead_retry_def,
	&cmd_dead_purge_def,
	NULL,
};

static const struct command cmd_dead_def = {
	"dead",
	cmd_group,
	"jobctl dead list|retry|purge ...",
	"The dead-letter set: the jobs that failed all their attempts or could never run.\n",
	dead_commands,
	{NULL, NULL},
};

static const struct command *const commands[] = {
	&cmd_start_task_def, &cmd_watch_def,   &cmd_enqueue_def, &cmd_status_def,
	&cmd_cancel_def,     &cmd_notify_def,  &cmd_queues_def,  &cmd_pause_def,
	&cmd_resume_def,     &cmd_workers_def, &cmd_dead_def,    &cmd_schedules_def,
	&cmd_schedule_def,   &cmd_token_def,
};

static void print_usage(FILE *out, const struct jq_opt *opts)
{
	jq_opts_usage(out, "usage: jobctl [options] <command> [args]", opts);
	fputs("\ncommands:\n", out);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (commands[i]->subs == NULL)
			fprintf(out, "  %s\n", commands[i]->usage);
		for (const struct command *const *sub = commands[i]->subs; sub && *sub; sub++)
			fprintf(out, "  %s\n", (*sub)->usage);
	}
	fputs("\nrun 'jobctl <command> --help' for the options of a command.\n", out);
}

int jq_ctl_run(int argc, char **argv, FILE *out, FILE *err)
{
	struct ctl c = {
		.url = JQ_CTL_DEFAULT_URL,
		.timeout_ms = JQ_CTL_DEFAULT_TIMEOUT_MS,
		.out = out,
		.err = err,
	};
	const struct jq_opt opts[] = {
		{"url", "JOBQ_URL", JQ_OPT_STR, &c.url, 0, JQ_HTTPC_URL_MAX, "broker base URL"},
		{"token", "JOBQ_TOKEN", JQ_OPT_SECRET, &c.token, 0, JQ_HTTPC_TOKEN_MAX,
		 "API token sent as 'Authorization: Bearer' (jobctl token create makes one)"},
		{"token-file", "JOBQ_TOKEN_FILE", JQ_OPT_STR, &c.token_file, 0, 4096,
		 "file whose first line is the API token (when --token is not given)"},
		{"json", NULL, JQ_OPT_BOOL, &c.json, 0, 0,
		 "print the broker's JSON answers as they are; errors as one JSON object on stderr"},
		{"timeout-ms", NULL, JQ_OPT_INT, &c.timeout_ms, 1, REQUEST_TIMEOUT_MAX_MS,
		 "timeout of each HTTP request, in milliseconds"},
		{NULL, NULL, JQ_OPT_STR, NULL, 0, 0, NULL},
	};
	char errbuf[256];
	int first = argc, status;

	switch (jq_opts_parse(opts, argc, argv, &first, errbuf, sizeof(errbuf))) {
	case JQ_OPTS_HELP: print_usage(out, opts); return JQ_CTL_EXIT_OK;
	case JQ_OPTS_VERSION: fprintf(out, "jobctl %s\n", JOBQ_VERSION); return JQ_CTL_EXIT_OK;
	case JQ_OPTS_ERROR:
		fprintf(err, "jobctl: %s\nrun 'jobctl --help' for usage\n", errbuf);
		return JQ_CTL_EXIT_USAGE;
	default: break;
	}
	if (first >= argc) {
		print_usage(err, opts);
		return JQ_CTL_EXIT_USAGE;
	}
	const struct command *cmd = NULL;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[first], commands[i]->name) == 0)
			cmd = commands[i];
	if (cmd == NULL) {
		fprintf(err, "jobctl: unknown command '%s'\nrun 'jobctl --help' for usage\n",
			argv[first]);
		return JQ_CTL_EXIT_USAGE;
	}

	c.tty = isatty(fileno(out)) == 1;
	status = cmd->run(&c, cmd, argc - first, argv + first);

	ctl_end_bar(&c);
	if (c.http_ready)
		jq_httpc_release(&c.http);
	if (c.curl_ready)
		jq_httpc_global_cleanup();
	if (fflush(out) != 0 || ferror(out)) {
		fprintf(err, "jobctl: cannot write the output: %s\n", strerror(errno));
		if (status == JQ_CTL_EXIT_OK)
			status = JQ_CTL_EXIT_FAIL;
	}
	return status;
}
