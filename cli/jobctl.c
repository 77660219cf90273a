/* jobctl.c: jobctl's command table, the parsing of its arguments and its commands; see jobctl.h. */
#include "jobctl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "ctl.h"
#include "httpc.h"
#include "job.h"
#include "keys.h"
#include "print.h"
#include "util.h"
#include "watch.h"

#define REQUEST_TIMEOUT_MAX_MS 3600000 /* --timeout-ms upper bound: one hour */
#define WAIT_TIMEOUT_MAX_S 604800      /* --wait-timeout upper bound: a week */
#define ANSWER_MAX 64                  /* bytes of the answer to purge's question read */
#define KEY_SHOWN_MAX 40               /* bytes of a refused idempotency key shown */

struct command {
	const char *name; /* a subcommand's is "<group> <name>" */
	/* argv[0] is the command name; returns the exit status */
	int (*run)(struct ctl *c, const struct command *cmd, int argc, char **argv);
	const char *usage;
	const char *help;                  /* the options, one per line, ends with '\n' */
	const struct command *const *subs; /* a group's subcommands, NULL-terminated */
	const struct row *row[2]; /* cmd_row's: without an argument, with one (NULL: refused) */
};

/* ---- pieces without a broker (jobctl.h) ---- */

int jq_ctl_parse_duration(const char *s, int64_t *out, char *err, size_t errlen)
{
	if (jq_parse_i64(s, 0, JQ_CTL_DURATION_MAX, out) != 0) {
		snprintf(err, errlen, "invalid duration '%s': it must be an integer from 0 to %d",
			 s, JQ_CTL_DURATION_MAX);
		return -1;
	}
	return 0;
}

int jq_ctl_payload_add(json_t *payload, const char *arg, char *err, size_t errlen)
{
	int rc = -1;
	char *key = NULL;
	json_t *value = NULL;
	const char *eq = strchr(arg, '=');

	if (eq == NULL) {
		snprintf(err, errlen, "expected key=value, not '%s'", arg);
		goto done;
	}
	if (eq == arg) {
		snprintf(err, errlen, "empty key in '%s'", arg);
		goto done;
	}
	if (!jq_utf8_valid(arg, (size_t)(eq - arg))) {
		snprintf(err, errlen, "key of '%s' is not valid UTF-8", arg);
		goto done;
	}
	key = strndup(arg, (size_t)(eq - arg));
	if (key == NULL) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	if (json_object_get(payload, key) != NULL) {
		snprintf(err, errlen, "key '%s' is given twice", key);
		goto done;
	}
	const char *text = eq + 1;
	json_error_t jerr;
	if (*text)
		value = json_loads(text, JSON_DECODE_ANY, &jerr);
	if (value == NULL) {
		value = json_stringn(text, strlen(text));
		if (value == NULL) {
			snprintf(err, errlen, "value of '%s' is not valid UTF-8", key);
			goto done;
		}
	}
	if (json_object_set_new(payload, key, value) != 0) {
		value = NULL; /* set_new took it, even on failure */
		snprintf(err, errlen, "cannot add '%s' to the payload", key);
		goto done;
	}
	value = NULL;
	rc = 0;
done:
	json_decref(value);
	free(key);
	return rc;
}


int jq_ctl_idempotency_key_check(const char *key, char *err, size_t errlen)
{
	size_t len = strlen(key);
	int ok = len >= 1 && len <= JQ_CTL_IDEMPOTENCY_KEY_MAX;
	for (size_t i = 0; ok && i < len; i++)
		ok = (unsigned char)key[i] > ' ' && (unsigned char)key[i] < 0x7f;
	if (!ok) {
		char shown[KEY_SHOWN_MAX + 1];
		ctl_clean_text(shown, sizeof(shown), key, len, 1, 0);
		snprintf(err, errlen,
			 "invalid idempotency key '%s%s': it must be 1 to %d printable ASCII "
			 "characters without spaces",
			 shown, len > KEY_SHOWN_MAX ? "..." : "", JQ_CTL_IDEMPOTENCY_KEY_MAX);
		return -1;
	}
	return 0;
}

/* ---- command-line parsing ---- */

/* Parses the flags of a command (argv[0] is its name) wherever they stand
 * among its positional arguments, which go to pos (room for argc entries).
 * After "--" every argument is positional. Returns a JQ_OPTS_* code. */
static int parse_args(const struct jq_opt *opts, int argc, char **argv, char **pos, int *npos,
		      char *err, size_t errlen)
{
	int base = 0;
	*npos = 0;
	while (base < argc) {
		int first = argc;
		int rc = jq_opts_parse(opts, argc - base, argv + base, &first, err, errlen);
		if (rc != JQ_OPTS_OK)
			return rc;
		first += base;
		int rest = first > base + 1 && strcmp(argv[first - 1], "--") == 0;
		for (int i = first; i < argc && (rest || i == first); i++)
			pos[(*npos)++] = argv[i];
		if (rest)
			break;
		base = first;
	}
	return JQ_OPTS_OK;
}

static int usage_error(struct ctl *c, const struct command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int usage_error(struct ctl *c, const struct command *cmd, const char *fmt, ...)
{
	va_list ap;
	char text[1024];
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	ctl_put_error(c, JQ_CTL_EXIT_USAGE, text, cmd->usage);
	return JQ_CTL_EXIT_USAGE;
}

static void print_command_help(FILE *out, const struct command *cmd)
{
	fprintf(out, "usage: %s\n\n%s", cmd->usage, cmd->help);
	if (cmd->subs == NULL)
		return;
	fputs("\ncommands:\n", out);
	for (const struct command *const *sub = cmd->subs; *sub; sub++)
		fprintf(out, "  %s\n", (*sub)->usage);
	fprintf(out, "\nrun 'jobctl %s <command> --help' for the options of a command.\n",
		cmd->name);
}

/* Runs the common part of every command's argument parsing. Returns -1 when
 * the caller should go on, or the exit status (help shown, or a usage error). */
static int command_args(struct ctl *c, const struct command *cmd, const struct jq_opt *opts,
			int argc, char **argv, char **pos, int *npos, int min_pos, int max_pos)
{
	char err[256];
	switch (parse_args(opts, argc, argv, pos, npos, err, sizeof(err))) {
	case JQ_OPTS_HELP:
		print_command_help(c->out, cmd);
		return JQ_CTL_EXIT_OK;
	case JQ_OPTS_VERSION:
		fprintf(c->out, "jobctl %s\n", JOBQ_VERSION);
		return JQ_CTL_EXIT_OK;
	case JQ_OPTS_ERROR:
		return usage_error(c, cmd, "%s", err);
	default:
		break;
	}
	if (*npos < min_pos)
		return usage_error(c, cmd, "'%s' needs %s%d argument%s", cmd->name,
				   max_pos < 0 ? "at least " : "", min_pos,
				   min_pos == 1 ? "" : "s");
	if (max_pos >= 0 && *npos > max_pos)
		return usage_error(c, cmd, "unexpected argument '%s'", pos[max_pos]);
	return -1;
}

/* The Idempotency-Key header of --idempotency-key: the line goes into line
 * (IDEMPOTENCY_LINE_MAX bytes) and headers (2 entries) lists it, or is NULL
 * when key is. Returns -1 to go on, or a usage error (exit 2). */
#define IDEMPOTENCY_LINE_MAX (JQ_CTL_IDEMPOTENCY_KEY_MAX + 32)
static int idempotency_header(struct ctl *c, const struct command *cmd, const char *key,
			      char *line, const char **headers)
{
	char err[256];
	headers[0] = headers[1] = NULL;
	if (key == NULL)
		return -1;
	if (jq_ctl_idempotency_key_check(key, err, sizeof(err)) != 0)
		return usage_error(c, cmd, "%s", err);
	snprintf(line, IDEMPOTENCY_LINE_MAX, "Idempotency-Key: %s", key);
	headers[0] = line;
	return -1;
}

/* ---- start-task ---- */


static int cmd_start_task(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	const char *duration_arg = NULL, *key = NULL, *headers[2];
	int wait = 0, npos = 0;
	int64_t wait_timeout = 0, duration = 0;
	char **pos = calloc((size_t)argc + 1, sizeof(*pos));
	struct jq_httpc_reply r;
	json_t *body = NULL;
	char path[64], err[256], key_line[IDEMPOTENCY_LINE_MAX];
	const struct jq_opt opts[] = {
	    {"duration", NULL, JQ_OPT_STR, &duration_arg, 0, 0, ""},
	    {"wait", NULL, JQ_OPT_BOOL, &wait, 0, 0, ""},
	    {"wait-timeout", NULL, JQ_OPT_INT, &wait_timeout, 0, WAIT_TIMEOUT_MAX_S, ""},
	    {"idempotency-key", NULL, JQ_OPT_STR, &key, 0, 0, ""},
	    {"json", NULL, JQ_OPT_BOOL, &c->json, 0, 0, ""},
	    {NULL, NULL, JQ_OPT_STR, NULL, 0, 0, NULL},
	};

	jq_httpc_reply_init(&r);
	int status = JQ_CTL_EXIT_FAIL;
	if (pos == NULL) {
		ctl_failf(c, status, "out of memory");
		goto done;
	}
	status = command_args(c, cmd, opts, argc, argv, pos, &npos, 0, 0);
	if (status >= 0)
		goto done;
	if (duration_arg && jq_ctl_parse_duration(duration_arg, &duration, err, sizeof(err)) != 0) {
		status = usage_error(c, cmd, "%s", err);
		goto done;
	}
	status = idempotency_header(c, cmd, key, key_line, headers);
	if (status >= 0)
		goto done;
	if (duration_arg)
		snprintf(path, sizeof(path), "/start-task?duration=%" PRId64, duration);
	else
		snprintf(path, sizeof(path), "/start-task");

	/* A repeated key answers the first task: --wait then follows that one. */
	status = ctl_request(c, JQ_HTTPC_POST, path, NULL, headers, &r, &body);
	if (status != JQ_CTL_EXIT_OK)
		goto done;
	int64_t id = ctl_id_field(body, "task_id");
	const char *st = json_string_value(json_object_get(body, "status"));
	if (id == 0 || st == NULL) {
		status = ctl_unexpected(c, "no positive integer 'task_id' and string 'status'");
		goto done;
	}
	if (c->json) {
		ctl_print_raw(c, &r);
	} else {
		fprintf(c->out, "task %" PRId64 " ", id);
		ctl_put_text(c->out, st);
		fputc('\n', c->out);
		fflush(c->out);
	}
	if (wait)
		status = ctl_wait_task(c, id, st, wait_timeout);
done:
	json_decref(body);
	jq_httpc_reply_release(&r);
	free(pos);
	return status;
}

/* Parses a positive integer id argument; a usage error (exit 2) otherwise. */
static int id_arg(struct ctl *c, const struct command *cmd, const char *what, const char *arg,
		  int64_t *id)
{
	if (jq_parse_i64(arg, 1, INT64_MAX, id) != 0)
		return usage_error(c, cmd, "invalid %s id '%s': it must be a positive integer",
				   what, arg);
	return -1;
}

/* Parses a command's flags (opts) and its one positional argument, an id of what.
 * Returns -1 to go on with *id set, else the exit status (the reason printed). */
static int one_id_args(struct ctl *c, const struct command *cmd, const struct jq_opt *opts,
		       int argc, char **argv, const char *what, int64_t *id)
{
	int npos = 0;
	char **pos = calloc((size_t)argc + 1, sizeof(*pos));
	if (pos == NULL)
		return ctl_failf(c, JQ_CTL_EXIT_FAIL, "out of memory");
	int status = command_args(c, cmd, opts, argc, argv, pos, &npos, 1, 1);
	if (status < 0)
		status = id_arg(c, cmd, what, pos[0], id);
	free(pos);
	return status;
}


/* ---- the commands that are one request: rows ---- */

/* What the argument of a row names; checked before anything is sent. */
enum scope { SCOPE_NONE, SCOPE_JOB, SCOPE_QUEUE, SCOPE_SCHEDULE, SCOPE_TOKEN };

static const char *const scope_names[] = {
    [SCOPE_JOB] = "job",
    [SCOPE_QUEUE] = "queue",
    [SCOPE_SCHEDULE] = "schedule name",
    [SCOPE_TOKEN] = "token name",
};

/* What a row wants of its answer's field (beside the answer being a 2xx JSON object). */
enum need { NEED_NOTHING, NEED_ARRAY, NEED_ID, NEED_COUNT, NEED_TRUE, NEED_FALSE };

/* An answer as a row's printer gets it. */
struct answer {
	const json_t *body;  /* the answer's object */
	const json_t *field; /* its field the row names, or NULL */
	const char *arg;     /* the argument as the path has it ("" for none) */
	long status;         /* the HTTP status, 2xx */
};

/* An integer query parameter of a row, given as the flag of the same name; sent only
 * when given (the broker owns the defaults). */
struct query_param {
	const char *name;
	int64_t min, max; /* min >= 0 */
};

#define ROW_QUERY_MAX 2

/* A command that is one request: what it sends, what it wants of the answer and how it
 * shows it; cmd_row() runs it. */
struct row {
	enum jq_httpc_method method;
	const char *path;  /* "{}" stands for the argument */
	enum scope scope;  /* what the argument is (SCOPE_NONE: none) */
	long statuses[2];  /* the statuses wanted, 0-ended; none listed: any 2xx */
	const char *field; /* the answer's field need is about, or NULL */
	enum need need;
	const char *what;  /* ctl_unexpected()'s text when the status or the field is wrong */
	struct query_param query[ROW_QUERY_MAX]; /* name NULL when unused */
	/* asked before the request unless --yes is given (then an option); -1 to go on,
	 * else the exit status */
	int (*ask)(struct ctl *c, const struct command *cmd);
	/* prints the answer but with --json; -1 when memory ran out */
	int (*print)(FILE *out, const struct answer *a);
};

/* Checks a name argument of what ("queue", "schedule name", ...), at most max
 * characters; -1 to go on, or a usage error (exit 2). */
static int name_arg(struct ctl *c, const struct command *cmd, const char *what, const char *name,
		    int max)
{
	if (!jq_name_valid(name, strlen(name)))
		return usage_error(c, cmd, "invalid %s '%s': it must be 1 to %d of A-Z a-z 0-9 _ . : -",
				   what, name, max);
	return -1;
}

/* Checks the argument given of a row of scope (NULL for none) and writes into arg (cap
 * bytes) what the path gets: an id in digits, a name as it is. -1 to go on, or a usage
 * error (exit 2). */
static int row_arg(struct ctl *c, const struct command *cmd, enum scope scope, const char *given,
		   char *arg, size_t cap)
{
	int64_t id;
	int status = -1;
	arg[0] = '\0';
	if (scope == SCOPE_JOB) {
		status = id_arg(c, cmd, scope_names[scope], given, &id);
		if (status < 0)
			snprintf(arg, cap, "%" PRId64, id);
	} else if (scope != SCOPE_NONE) {
		status = name_arg(c, cmd, scope_names[scope], given, JQ_QUEUE_NAME_MAX);
		if (status < 0)
			snprintf(arg, cap, "%s", given);
	}
	return status;
}

/* Writes row's path with arg in place of "{}" and the query parameters given (value
 * >= 0) into buf. */
static void row_path(char *buf, size_t cap, const struct row *row, const char *arg,
		     const int64_t *values)
{
	const char *hole = strstr(row->path, "{}");
	int n = hole ? snprintf(buf, cap, "%.*s%s%s", (int)(hole - row->path), row->path, arg, hole + 2)
		     : snprintf(buf, cap, "%s", row->path);
	char sep = '?';
	for (int k = 0; k < ROW_QUERY_MAX && row->query[k].name; k++) {
		if (values[k] < 0 || n < 0 || (size_t)n >= cap)
			continue;
		n += snprintf(buf + n, cap - (size_t)n, "%c%s=%" PRId64, sep, row->query[k].name,
			      values[k]);
		sep = '&';
	}
}

/* Whether an answer is what row wants. */
static int row_wants(const struct row *row, const struct answer *a)
{
	int status_ok = row->statuses[0] == 0;
	for (int k = 0; k < 2 && row->statuses[k]; k++)
		status_ok |= a->status == row->statuses[k];
	const json_t *f = a->field;
	switch (row->need) {
	case NEED_ARRAY:
		return status_ok && json_is_array(f);
	case NEED_ID:
		return status_ok && ctl_id_field(a->body, row->field) != 0;
	case NEED_COUNT:
		return status_ok && json_is_integer(f) && json_integer_value(f) >= 0;
	case NEED_TRUE:
		return status_ok && json_is_true(f);
	case NEED_FALSE:
		return status_ok && json_is_false(f);
	default:
		return status_ok;
	}
}

/* The request, the check and the output of a row whose path and argument are known. */
static int run_row(struct ctl *c, const struct row *row, const char *path, const char *arg)
{
	struct jq_httpc_reply r;
	json_t *body = NULL;

	jq_httpc_reply_init(&r);
	int status = ctl_request(c, row->method, path, NULL, NULL, &r, &body);
	if (status == JQ_CTL_EXIT_OK) {
		struct answer a = {body, row->field ? json_object_get(body, row->field) : NULL, arg,
				   r.status};
		if (!row_wants(row, &a))
			status = ctl_unexpected(c, row->what);
		else if (c->json)
			ctl_print_raw(c, &r);
		else if (row->print(c->out, &a) != 0)
			status = ctl_failf(c, JQ_CTL_EXIT_FAIL, "out of memory");
	}
	json_decref(body);
	jq_httpc_reply_release(&r);
	return status;
}

/* Runs a command of rows: cmd->row[0] without an argument, cmd->row[1] with one. Its
 * flags are --json, the query parameters of its row and --yes when the row asks. */
static int cmd_row(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	const struct row *first = cmd->row[0] ? cmd->row[0] : cmd->row[1];
	struct jq_opt opts[ROW_QUERY_MAX + 3];
	int64_t values[ROW_QUERY_MAX] = {-1, -1}; /* -1: not given */
	int npos = 0, yes = 0, n = 0;
	char arg[JQ_QUEUE_NAME_MAX + 32], path[JQ_QUEUE_NAME_MAX + 128];
	char **pos = calloc((size_t)argc + 1, sizeof(*pos));

	if (pos == NULL)
		return ctl_failf(c, JQ_CTL_EXIT_FAIL, "out of memory");
	for (int k = 0; k < ROW_QUERY_MAX && first->query[k].name; k++)
		opts[n++] = (struct jq_opt){first->query[k].name, NULL, JQ_OPT_INT, &values[k],
					    first->query[k].min, first->query[k].max, ""};
	if (first->ask)
		opts[n++] = (struct jq_opt){"yes", NULL, JQ_OPT_BOOL, &yes, 0, 0, ""};
	opts[n++] = (struct jq_opt){"json", NULL, JQ_OPT_BOOL, &c->json, 0, 0, ""};
	opts[n] = (struct jq_opt){NULL, NULL, JQ_OPT_STR, NULL, 0, 0, NULL};

	int status = command_args(c, cmd, opts, argc, argv, pos, &npos, cmd->row[0] ? 0 : 1,
				  cmd->row[1] ? 1 : 0);
	const struct row *row = cmd->row[npos > 0];
	if (status < 0)
		status = row_arg(c, cmd, row->scope, pos[0], arg, sizeof(arg));
	if (status < 0 && row->ask && !yes)
		status = row->ask(c, cmd);
	if (status < 0) {
		row_path(path, sizeof(path), row, arg, values);
		status = run_row(c, row, path, arg);
	}
	free(pos);
	return status;
}

/* The printers of the rows. */

static int show_job(FILE *out, const struct answer *a)
{
	jq_ctl_print_job(out, a->body);
	return 0;
}

static int show_cancel(FILE *out, const struct answer *a)
{
	int64_t id = ctl_id_field(a->body, "id");
	if (a->status == 202) /* running: its worker stops it soon */
		fprintf(out, "job %" PRId64 " is running: cancel requested\n", id);
	else
		fprintf(out, "job %" PRId64 " cancelled\n", id);
	return 0;
}

static int show_queues(FILE *out, const struct answer *a)
{
	return jq_ctl_print_queues(out, a->field, ctl_term_cols(out));
}

static int show_queue(FILE *out, const struct answer *a)
{
	jq_ctl_print_queue(out, a->body);
	return 0;
}

static int show_paused(FILE *out, const struct answer *a)
{
	fprintf(out, "queue %s %s\n", a->arg, json_is_true(a->field) ? "paused" : "resumed");
	return 0;
}

static int show_workers(FILE *out, const struct answer *a)
{
	return jq_ctl_print_workers(out, a->field, jq_now_ms(), ctl_term_cols(out));
}

static int show_dead(FILE *out, const struct answer *a)
{
	jq_ctl_print_dead(out, a->field, ctl_term_cols(out));
	return 0;
}

static int show_requeued(FILE *out, const struct answer *a)
{
	fprintf(out, "job %" PRId64 " requeued\n", ctl_id_field(a->body, "id"));
	return 0;
}

static int show_purged(FILE *out, const struct answer *a)
{
	fprintf(out, "purged %" JSON_INTEGER_FORMAT " jobs\n", json_integer_value(a->field));
	return 0;
}

static int show_schedules(FILE *out, const struct answer *a)
{
	return jq_ctl_print_schedules(out, a->field, ctl_term_cols(out));
}

static int show_schedule(FILE *out, const struct answer *a)
{
	jq_ctl_print_schedule(out, a->body);
	return 0;
}

static int show_tokens(FILE *out, const struct answer *a)
{
	return jq_ctl_print_tokens(out, a->field, ctl_term_cols(out));
}

static int show_revoked(FILE *out, const struct answer *a)
{
	fprintf(out, "token %s revoked\n", a->arg);
	return 0;
}

/* Asks question on c->err and reads the answer from the standard input:
 * 1 for y or yes (any case), 0 for anything else or none. */
static int confirm(struct ctl *c, const char *question)
{
	char answer[ANSWER_MAX];
	fflush(c->out);
	fprintf(c->err, "%s [y/N] ", question);
	fflush(c->err);
	if (fgets(answer, sizeof(answer), stdin) == NULL) {
		fputc('\n', c->err);
		return 0;
	}
	answer[strcspn(answer, "\r\n")] = '\0';
	return strcasecmp(answer, "y") == 0 || strcasecmp(answer, "yes") == 0;
}

/* Asks on a terminal before dead purge: a script must say --yes. */
static int ask_purge(struct ctl *c, const struct command *cmd)
{
	char url[JQ_HTTPC_URL_MAX + 1], question[JQ_HTTPC_URL_MAX + 64];
	if (isatty(STDIN_FILENO) != 1)
		return usage_error(c, cmd,
				   "refusing to purge without --yes: the standard input is not a "
				   "terminal to confirm on");
	int status = ctl_connect(c); /* a bad --url fails before the question */
	if (status != JQ_CTL_EXIT_OK)
		return status;
	ctl_clean_text(url, sizeof(url), c->http.base, strlen(c->http.base), 0, 0);
	snprintf(question, sizeof(question), "delete every job in the dead set of '%s'?", url);
	if (!confirm(c, question))
		return ctl_failf(c, JQ_CTL_EXIT_FAIL, "nothing purged");
	return -1;
}

/* 404 (unknown), 409 (cancel: already finished; dead retry: its unique_key is held by a
 * live job) and 410 (dead retry: expired) end in ctl_request() with the broker's
 * message. A valid name needs no escaping in a path. */
static const struct row row_status = {
    JQ_HTTPC_GET, "/jobs/{}", SCOPE_JOB, {0}, NULL, NEED_NOTHING, NULL, {{0}}, NULL, show_job};
static const struct row row_cancel = {
    JQ_HTTPC_DELETE, "/jobs/{}", SCOPE_JOB, {200, 202}, "id", NEED_ID,
    "not HTTP 200 or 202 with a positive integer 'id'", {{0}}, NULL, show_cancel};
static const struct row row_queues = {
    JQ_HTTPC_GET, "/queues", SCOPE_NONE, {0}, "queues", NEED_ARRAY, "no array 'queues'", {{0}},
    NULL, show_queues};
static const struct row row_queue = {
    JQ_HTTPC_GET, "/queues/{}", SCOPE_QUEUE, {0}, NULL, NEED_NOTHING, NULL, {{0}}, NULL, show_queue};
static const struct row row_pause = {
    JQ_HTTPC_POST, "/queues/{}/pause", SCOPE_QUEUE, {0}, "paused", NEED_TRUE, "no 'paused': true",
    {{0}}, NULL, show_paused};
static const struct row row_resume = {
    JQ_HTTPC_POST, "/queues/{}/resume", SCOPE_QUEUE, {0}, "paused", NEED_FALSE,
    "no 'paused': false", {{0}}, NULL, show_paused};
static const struct row row_workers = {
    JQ_HTTPC_GET, "/workers", SCOPE_NONE, {0}, "workers", NEED_ARRAY, "no array 'workers'", {{0}},
    NULL, show_workers};
static const struct row row_dead_list = {
    JQ_HTTPC_GET, "/dead", SCOPE_NONE, {0}, "jobs", NEED_ARRAY, "no array 'jobs'",
    {{"limit", 1, JQ_CTL_DEAD_LIMIT_MAX}, {"offset", 0, JQ_CTL_DEAD_OFFSET_MAX}}, NULL, show_dead};
static const struct row row_dead_retry = {
    JQ_HTTPC_POST, "/dead/{}/retry", SCOPE_JOB, {0}, "id", NEED_ID, "no positive integer 'id'",
    {{0}}, NULL, show_requeued};
static const struct row row_dead_purge = {
    JQ_HTTPC_DELETE, "/dead", SCOPE_NONE, {0}, "purged", NEED_COUNT,
    "no non-negative integer 'purged'", {{0}}, ask_purge, show_purged};
static const struct row row_schedules = {
    JQ_HTTPC_GET, "/schedules", SCOPE_NONE, {0}, "schedules", NEED_ARRAY, "no array 'schedules'",
    {{0}}, NULL, show_schedules};
static const struct row row_schedule = {
    JQ_HTTPC_GET, "/schedules/{}", SCOPE_SCHEDULE, {0}, NULL, NEED_NOTHING, NULL, {{0}}, NULL,
    show_schedule};
static const struct row row_token_list = {
    JQ_HTTPC_GET, "/tokens", SCOPE_NONE, {0}, "tokens", NEED_ARRAY, "no array 'tokens'", {{0}},
    NULL, show_tokens};
static const struct row row_token_revoke = {
    JQ_HTTPC_DELETE, "/tokens/{}", SCOPE_TOKEN, {0}, NULL, NEED_NOTHING, NULL, {{0}}, NULL,
    show_revoked};

static int cmd_watch(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	int64_t id, wait_timeout = 0;
	const struct jq_opt opts[] = {
	    {"wait-timeout", NULL, JQ_OPT_INT, &wait_timeout, 0, WAIT_TIMEOUT_MAX_S, ""},
	    {"json", NULL, JQ_OPT_BOOL, &c->json, 0, 0, ""},
	    {NULL, NULL, JQ_OPT_STR, NULL, 0, 0, NULL},
	};

	int status = one_id_args(c, cmd, opts, argc, argv, "task", &id);
	if (status >= 0)
		return status;
	return ctl_watch_job(c, id, wait_timeout);
}

/* ---- enqueue ---- */

/* The flags of enqueue that go into the job. */
struct job_flags {
	const char *queue, *unique_key;
	int64_t max_attempts, timeout_ms, priority; /* 0, -1, INT64_MIN: not given */
};

/* The POST /jobs body of a job of type with the key=value arguments args[0..n) and
 * flags f, malloc'ed; NULL after a failure reported in *status. */
static char *job_body(struct ctl *c, const struct command *cmd, const char *type,
		      const struct job_flags *f, char **args, int n, int *status)
{
	char err[512], *text = NULL;
	json_t *req = json_object(), *payload = json_object();
	if (req == NULL || payload == NULL) {
		*status = ctl_failf(c, JQ_CTL_EXIT_FAIL, "out of memory");
		goto done;
	}
	for (int i = 0; i < n; i++) {
		if (jq_ctl_payload_add(payload, args[i], err, sizeof(err)) != 0) {
			*status = usage_error(c, cmd, "%s", err);
			goto done;
		}
	}
	/* Only what was asked for is sent: the broker owns the defaults. */
	int bad = json_object_set_new(req, "type", json_string(type));
	bad |= json_object_set(req, "payload", payload);
	if (f->queue)
		bad |= json_object_set_new(req, "queue", json_string(f->queue));
	if (f->max_attempts > 0)
		bad |= json_object_set_new(req, "max_attempts", json_integer(f->max_attempts));
	if (f->timeout_ms >= 0)
		bad |= json_object_set_new(req, "timeout_ms", json_integer(f->timeout_ms));
	if (f->priority != INT64_MIN)
		bad |= json_object_set_new(req, "priority", json_integer(f->priority));
	if (f->unique_key) /* the broker checks it */
		bad |= json_object_set_new(req, "unique_key", json_string(f->unique_key));
	text = bad ? NULL : json_dumps(req, JSON_COMPACT);
	if (text == NULL)
		*status = ctl_failf(c, JQ_CTL_EXIT_FAIL, "cannot encode the job as JSON");
done:
	json_decref(payload);
	json_decref(req);
	return text;
}

/* POST /jobs with body text and prints "job ID STATE". */
static int send_job(struct ctl *c, const char *text, const char *const *headers)
{
	struct jq_httpc_reply r;
	json_t *body = NULL;

	jq_httpc_reply_init(&r);
	int status = ctl_request(c, JQ_HTTPC_POST, "/jobs", text, headers, &r, &body);
	if (status != JQ_CTL_EXIT_OK)
		goto done;
	int64_t id = ctl_id_field(body, "id");
	const char *state = json_string_value(json_object_get(body, "state"));
	if (id == 0 || state == NULL) {
		status = ctl_unexpected(c, "no positive integer 'id' and string 'state'");
		goto done;
	}
	if (c->json) {
		ctl_print_raw(c, &r);
	} else {
		/* 200, not 201: the key was seen, nothing was stored; state is the
		 * first job's now */
		fprintf(c->out, "job %" PRId64 " %s", id,
			r.status == 200 ? "(already enqueued with this key) " : "");
		ctl_put_text(c->out, state);
		fputc('\n', c->out);
	}
done:
	json_decref(body);
	jq_httpc_reply_release(&r);
	return status;
}

static int cmd_enqueue(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	struct job_flags f = {.max_attempts = 0, .timeout_ms = -1, .priority = INT64_MIN};
	const char *key = NULL, *headers[2];
	int npos = 0;
	char **pos = calloc((size_t)argc + 1, sizeof(*pos));
	char *text = NULL;
	char key_line[IDEMPOTENCY_LINE_MAX];
	const struct jq_opt opts[] = {
	    {"queue", NULL, JQ_OPT_STR, &f.queue, 0, 0, ""},
	    {"max-attempts", NULL, JQ_OPT_INT, &f.max_attempts, 1, JQ_MAX_ATTEMPTS_LIMIT, ""},
	    {"timeout-ms", NULL, JQ_OPT_INT, &f.timeout_ms, 0, JQ_TIMEOUT_MS_LIMIT, ""},
	    {"priority", NULL, JQ_OPT_INT, &f.priority, 0, JQ_PRIORITY_MAX, ""},
	    {"idempotency-key", NULL, JQ_OPT_STR, &key, 0, 0, ""},
	    {"unique-key", NULL, JQ_OPT_STR, &f.unique_key, 0, 0, ""},
	    {"json", NULL, JQ_OPT_BOOL, &c->json, 0, 0, ""},
	    {NULL, NULL, JQ_OPT_STR, NULL, 0, 0, NULL},
	};

	if (pos == NULL)
		return ctl_failf(c, JQ_CTL_EXIT_FAIL, "out of memory");
	int status = command_args(c, cmd, opts, argc, argv, pos, &npos, 1, -1);
	if (status < 0)
		status = name_arg(c, cmd, "job type", pos[0], JQ_TYPE_NAME_MAX);
	if (status < 0 && f.queue)
		status = name_arg(c, cmd, "queue", f.queue, JQ_QUEUE_NAME_MAX);
	if (status < 0)
		status = idempotency_header(c, cmd, key, key_line, headers);
	if (status < 0)
		text = job_body(c, cmd, pos[0], &f, pos + 1, npos - 1, &status);
	if (text)
		status = send_job(c, text, headers);
	free(text);
	free(pos);
	return status;
}

/* ---- send-notification ---- */

static int cmd_notify(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	int npos = 0, sync = 0;
	char **pos = calloc((size_t)argc + 1, sizeof(*pos));
	char *email = NULL, *content = NULL, *path = NULL;
	const char *key = NULL, *headers[2];
	char key_line[IDEMPOTENCY_LINE_MAX];
	struct jq_httpc_reply r;
	json_t *body = NULL;
	const struct jq_opt opts[] = {
	    {"sync", NULL, JQ_OPT_BOOL, &sync, 0, 0, ""},
	    {"idempotency-key", NULL, JQ_OPT_STR, &key, 0, 0, ""},
	    {"json", NULL, JQ_OPT_BOOL, &c->json, 0, 0, ""},
	    {NULL, NULL, JQ_OPT_STR, NULL, 0, 0, NULL},
	};

	jq_httpc_reply_init(&r);
	int status = JQ_CTL_EXIT_FAIL;
	if (pos == NULL) {
		ctl_failf(c, status, "out of memory");
		goto done;
	}
	status = command_args(c, cmd, opts, argc, argv, pos, &npos, 2, 2);
	if (status >= 0)
		goto done;
	status = idempotency_header(c, cmd, key, key_line, headers);
	if (status >= 0)
		goto done;
	status = ctl_connect(c);
	if (status != JQ_CTL_EXIT_OK)
		goto done;
	email = jq_httpc_escape(&c->http, pos[0]);
	content = jq_httpc_escape(&c->http, pos[1]);
	const char *route = sync ? "/send-notification-sync" : "/send-notification";
	size_t len = email && content ? strlen(route) + strlen(email) + strlen(content) + 32 : 0;
	path = len ? malloc(len) : NULL;
	if (path == NULL) {
		status = ctl_failf(c, JQ_CTL_EXIT_FAIL, "out of memory");
		goto done;
	}
	snprintf(path, len, "%s?email=%s&content=%s", route, email, content);
	status = ctl_request(c, JQ_HTTPC_POST, path, NULL, headers, &r, &body);
	if (status != JQ_CTL_EXIT_OK)
		goto done;
	int64_t id = ctl_id_field(body, "task_id");
	if (id == 0) {
		status = ctl_unexpected(c, "no positive integer 'task_id'");
		goto done;
	}
	if (c->json)
		ctl_print_raw(c, &r);
	else
		fprintf(c->out, "notification queued as task %" PRId64 "\n", id);
done:
	json_decref(body);
	jq_httpc_reply_release(&r);
	free(path);
	free(content);
	free(email);
	free(pos);
	return status;
}

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
		return usage_error(c, cmd, "'%s' needs a command", cmd->name);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		print_command_help(c->out, cmd);
		return JQ_CTL_EXIT_OK;
	}
	for (const struct command *const *sub = cmd->subs; *sub; sub++)
		if (strcmp(argv[1], leaf_name(*sub)) == 0)
			return (*sub)->run(c, *sub, argc - 1, argv + 1);
	return usage_error(c, cmd, "unknown %s command '%s'", cmd->name, argv[1]);
}

/* ==== periodic schedules: schedules, schedule add|rm (GET/POST/PUT/DELETE /schedules) ====
 * Kept in one block of its own: the commands, their table entries, nothing shared
 * edited but the commands[] list. */


static int cmd_schedule_add(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	int npos = 0, replace = 0;
	char **pos = calloc((size_t)argc + 1, sizeof(*pos));
	struct jq_httpc_reply r;
	json_t *body = NULL, *req = NULL, *job = NULL;
	char *text = NULL;
	char path[JQ_QUEUE_NAME_MAX + 16];
	const struct jq_opt opts[] = {
	    {"replace", NULL, JQ_OPT_BOOL, &replace, 0, 0, ""},
	    {"json", NULL, JQ_OPT_BOOL, &c->json, 0, 0, ""},
	    {NULL, NULL, JQ_OPT_STR, NULL, 0, 0, NULL},
	};

	jq_httpc_reply_init(&r);
	int status = JQ_CTL_EXIT_FAIL;
	if (pos == NULL) {
		ctl_failf(c, status, "out of memory");
		goto done;
	}
	status = command_args(c, cmd, opts, argc, argv, pos, &npos, 3, 3);
	if (status >= 0)
		goto done;
	if ((status = name_arg(c, cmd, "schedule name", pos[0], JQ_QUEUE_NAME_MAX)) >= 0)
		goto done;
	json_error_t jerr;
	job = json_loads(pos[2], JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(job)) {
		status = usage_error(c, cmd, "JOB_JSON must be a JSON object like '{\"type\": \"noop\"}'%s%s",
				     job ? "" : ": ", job ? "" : jerr.text);
		goto done;
	}
	/* the broker checks the cron expression and the job, and names what is wrong */
	req = json_pack("{s:s,s:s,s:O}", "name", pos[0], "cron", pos[1], "job", job);
	text = req ? json_dumps(req, JSON_COMPACT) : NULL;
	if (!text) {
		status = ctl_failf(c, JQ_CTL_EXIT_FAIL, "CRON and JOB_JSON must be valid UTF-8");
		goto done;
	}
	if (replace)
		snprintf(path, sizeof(path), "/schedules/%s", pos[0]);
	else
		c->conflict_hint = "add --replace to change it: jobctl schedule add --replace NAME CRON "
				   "JOB_JSON";
	status = ctl_request(c, replace ? JQ_HTTPC_PUT : JQ_HTTPC_POST,
			     replace ? path : "/schedules", text, NULL, &r, &body);
	if (status != JQ_CTL_EXIT_OK)
		goto done;
	const char *next = json_string_value(json_object_get(body, "next_run"));
	if (c->json)
		ctl_print_raw(c, &r);
	else
		fprintf(c->out, "schedule %s %s, next run %s\n", pos[0],
			r.status == 201 ? "created" : "replaced", next ? next : "never");
done:
	free(text);
	json_decref(req);
	json_decref(job);
	json_decref(body);
	jq_httpc_reply_release(&r);
	free(pos);
	return status;
}

static int cmd_schedule_rm(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	int npos = 0;
	char **pos = calloc((size_t)argc + 1, sizeof(*pos));
	struct jq_httpc_reply r;
	char path[JQ_QUEUE_NAME_MAX + 16];
	const struct jq_opt opts[] = {
	    {"json", NULL, JQ_OPT_BOOL, &c->json, 0, 0, ""},
	    {NULL, NULL, JQ_OPT_STR, NULL, 0, 0, NULL},
	};

	jq_httpc_reply_init(&r);
	int status = JQ_CTL_EXIT_FAIL;
	if (pos == NULL) {
		ctl_failf(c, status, "out of memory");
		goto done;
	}
	status = command_args(c, cmd, opts, argc, argv, pos, &npos, 1, 1);
	if (status >= 0)
		goto done;
	if ((status = name_arg(c, cmd, "schedule name", pos[0], JQ_QUEUE_NAME_MAX)) >= 0)
		goto done;
	if ((status = ctl_connect(c)) != JQ_CTL_EXIT_OK)
		goto done;
	/* 204 has no body: not call(), which wants a JSON object */
	snprintf(path, sizeof(path), "/schedules/%s", pos[0]);
	if (jq_httpc_request(&c->http, JQ_HTTPC_DELETE, path, NULL, NULL, &r) != 0) {
		status = c->http.err == JQ_HTTPC_EINTERRUPTED
			     ? JQ_CTL_EXIT_INTERRUPT
			     : ctl_failf(c, JQ_CTL_EXIT_FAIL, "%s", c->http.errstr);
		goto done;
	}
	if (r.status != 204) {
		char msg[1024];
		jq_ctl_format_http_error(msg, sizeof(msg), r.status, r.body, r.len);
		status = ctl_failf(c, JQ_CTL_EXIT_FAIL, "%s", msg);
		goto done;
	}
	status = JQ_CTL_EXIT_OK;
	if (c->json)
		fprintf(c->out, "{\"name\":\"%s\",\"deleted\":true}\n", pos[0]);
	else
		fprintf(c->out, "schedule %s deleted\n", pos[0]);
done:
	jq_httpc_reply_release(&r);
	free(pos);
	return status;
}

static const struct command cmd_schedules_def = {
    "schedules",
    cmd_row,
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
    cmd_schedule_add,
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
    cmd_schedule_rm,
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

/* ==== end of periodic schedules ==== */

/* ==== API tokens: token create|list|revoke (POST/GET/DELETE /tokens) ====
 * Kept in one block of its own, as the schedules. */


/* "read,admin" as a JSON array; NULL (after a usage error in *status) if a name is none of
 * read, enqueue, admin. */
static json_t *scopes_array(struct ctl *c, const struct command *cmd, const char *list,
			    int *status)
{
	json_t *arr = json_array();
	char *copy = strdup(list), *save = NULL;
	for (char *p = copy ? strtok_r(copy, ",", &save) : NULL; p; p = strtok_r(NULL, ",", &save)) {
		if (strcmp(p, "read") != 0 && strcmp(p, "enqueue") != 0 && strcmp(p, "admin") != 0) {
			*status = usage_error(c, cmd, "unknown scope '%s' (read, enqueue, admin)", p);
			json_decref(arr);
			free(copy);
			return NULL;
		}
		json_array_append_new(arr, json_string(p));
	}
	free(copy);
	if (!json_array_size(arr)) {
		*status = usage_error(c, cmd, "--scopes names at least one of read, enqueue, admin");
		json_decref(arr);
		return NULL;
	}
	return arr;
}

static int cmd_token_create(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	int npos = 0;
	const char *scopes = NULL;
	char **pos = calloc((size_t)argc + 1, sizeof(*pos));
	char *text = NULL;
	struct jq_httpc_reply r;
	json_t *body = NULL, *req = NULL;
	const struct jq_opt opts[] = {
	    {"scopes", NULL, JQ_OPT_STR, &scopes, 0, 64, ""},
	    {"json", NULL, JQ_OPT_BOOL, &c->json, 0, 0, ""},
	    {NULL, NULL, JQ_OPT_STR, NULL, 0, 0, NULL},
	};

	jq_httpc_reply_init(&r);
	int status = JQ_CTL_EXIT_FAIL;
	if (pos == NULL) {
		ctl_failf(c, status, "out of memory");
		goto done;
	}
	status = command_args(c, cmd, opts, argc, argv, pos, &npos, 1, 1);
	if (status >= 0 || (status = name_arg(c, cmd, "token name", pos[0], JQ_QUEUE_NAME_MAX)) >= 0)
		goto done;
	if (!scopes) {
		status = usage_error(c, cmd, "--scopes is required (read, enqueue, admin)");
		goto done;
	}
	json_t *arr = scopes_array(c, cmd, scopes, &status);
	if (!arr)
		goto done;
	req = json_pack("{s:s,s:o}", "name", pos[0], "scopes", arr);
	text = req ? json_dumps(req, JSON_COMPACT) : NULL;
	if (!text) {
		status = ctl_failf(c, JQ_CTL_EXIT_FAIL, "out of memory");
		goto done;
	}
	status = ctl_request(c, JQ_HTTPC_POST, "/tokens", text, NULL, &r, &body);
	if (status != JQ_CTL_EXIT_OK)
		goto done;
	const char *token = json_string_value(json_object_get(body, "token"));
	if (!token) {
		status = ctl_unexpected(c, "no 'token'");
		goto done;
	}
	if (c->json)
		ctl_print_raw(c, &r);
	else
		fprintf(c->out, "%s\n", token);
	fprintf(c->err, "token '%s' created; it is shown this once: keep it now\n", pos[0]);
done:
	if (r.body)
		memset(r.body, 0, r.len); /* the secret leaves no copy behind here */
	json_decref(body);
	json_decref(req);
	free(text);
	jq_httpc_reply_release(&r);
	free(pos);
	return status;
}

static const struct command cmd_token_create_def = {
    "token create",
    cmd_token_create,
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
    cmd_row,
    "jobctl token list",
    "Lists the API tokens: name, scopes, creation time (never the tokens themselves).\n\n"
    "options:\n"
    "  --json             print the broker's answer as it is\n",
    NULL,
    {&row_token_list, NULL},
};

static const struct command cmd_token_revoke_def = {
    "token revoke",
    cmd_row,
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

/* ==== end of API tokens ==== */

/* ---- the command table ---- */

static const struct command cmd_start_task_def = {
    "start-task",
    cmd_start_task,
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
    cmd_watch,
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
    cmd_enqueue,
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
    cmd_row,
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
    cmd_notify,
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
    cmd_row,
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
    cmd_row,
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
    cmd_row,
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
    cmd_row,
    "jobctl resume QUEUE",
    "Resumes QUEUE and prints \"queue QUEUE resumed\": workers take its jobs again.\n\n"
    "options:\n"
    "  --json             print the broker's answer as it is\n",
    NULL,
    {NULL, &row_resume},
};

static const struct command cmd_workers_def = {
    "workers",
    cmd_row,
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
    cmd_row,
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
    cmd_row,
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
    cmd_row,
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
    &cmd_start_task_def, &cmd_watch_def,  &cmd_enqueue_def, &cmd_status_def,
    &cmd_cancel_def,     &cmd_notify_def, &cmd_queues_def,  &cmd_pause_def,
    &cmd_resume_def,     &cmd_workers_def, &cmd_dead_def,
    &cmd_schedules_def,  &cmd_schedule_def, &cmd_token_def,
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
	case JQ_OPTS_HELP:
		print_usage(out, opts);
		return JQ_CTL_EXIT_OK;
	case JQ_OPTS_VERSION:
		fprintf(out, "jobctl %s\n", JOBQ_VERSION);
		return JQ_CTL_EXIT_OK;
	case JQ_OPTS_ERROR:
		fprintf(err, "jobctl: %s\nrun 'jobctl --help' for usage\n", errbuf);
		return JQ_CTL_EXIT_USAGE;
	default:
		break;
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
