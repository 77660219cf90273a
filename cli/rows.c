/* rows.c: running the commands that are one request (rows) and their printers; see
 * rows.h. */
#include "rows.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "jobctl.h"
#include "keys.h"
#include "print.h"
#include "util.h"

#define ANSWER_MAX 64 /* bytes of the answer to purge's question read */

static const char *const scope_names[] = {
	[ROW_SCOPE_JOB] = "job",
	[ROW_SCOPE_QUEUE] = "queue",
	[ROW_SCOPE_SCHEDULE] = "schedule name",
	[ROW_SCOPE_TOKEN] = "token name",
};

/* Checks the argument given of a row of scope (NULL for none) and writes into arg (cap
 * bytes) what the path gets: an id in digits, a name as it is. -1 to go on, or a usage
 * error (exit 2). */
static int row_arg(struct ctl *c, const struct command *cmd, enum row_scope scope,
		   const char *given, char *arg, size_t cap)
{
	int64_t id;
	int status = -1;
	arg[0] = '\0';
	if (scope == ROW_SCOPE_JOB) {
		status = ctl_id_arg(c, cmd, scope_names[scope], given, &id);
		if (status < 0)
			snprintf(arg, cap, "%" PRId64, id);
	} else if (scope != ROW_SCOPE_NONE) {
		status = ctl_name_arg(c, cmd, scope_names[scope], given, JQ_QUEUE_NAME_MAX);
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
	int n = hole ? snprintf(buf, cap, "%.*s%s%s", (int)(hole - row->path), row->path, arg,
				hole + 2)
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
static int row_wants(const struct row *row, const struct row_answer *a)
{
	int status_ok = row->statuses[0] == 0;
	for (int k = 0; k < 2 && row->statuses[k]; k++)
		status_ok |= a->status == row->statuses[k];
	const json_t *f = a->field;
	if (row->text && !json_is_string(json_object_get(a->body, row->text)))
		return 0;
	switch (row->need) {
	case ROW_NEED_ARRAY: return status_ok && json_is_array(f);
	case ROW_NEED_ID: return status_ok && ctl_id_field(a->body, row->field) != 0;
	case ROW_NEED_COUNT: return status_ok && json_is_integer(f) && json_integer_value(f) >= 0;
	case ROW_NEED_TRUE: return status_ok && json_is_true(f);
	case ROW_NEED_FALSE: return status_ok && json_is_false(f);
	default: return status_ok;
	}
}

int ctl_run_row(struct ctl *c, const struct row *row, const char *path, const char *arg,
		const char *body_text, const char *const *headers)
{
	struct jq_httpc_reply r;
	json_t *body = NULL;

	jq_httpc_reply_init(&r);
	int status = ctl_request(c, row->method, path, body_text, headers, &r, &body);
	if (status == JQ_CTL_EXIT_OK) {
		struct row_answer a = {body, row->field ? json_object_get(body, row->field) : NULL,
				       arg, r.status};
		if (!row_wants(row, &a))
			status = ctl_unexpected(c, row->what);
		else if (c->json)
			ctl_print_raw(c, &r);
		else if (row->print(c->out, &a) != 0)
			status = ctl_failf(c, JQ_CTL_EXIT_FAIL, "out of memory");
	}
	if (row->secret && r.body)
		memset(r.body, 0, r.len); /* the secret leaves no copy behind here */
	json_decref(body);
	jq_httpc_reply_release(&r);
	return status;
}

int ctl_cmd_row(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	const struct row *first = cmd->row[0] ? cmd->row[0] : cmd->row[1];
	struct jq_opt opts[ROW_QUERY_MAX + 3];
	int64_t values[ROW_QUERY_MAX] = {-1, -1}; /* -1: not given */
	int npos = 0, yes = 0, n = 0;
	char arg[JQ_QUEUE_NAME_MAX + 32], path[JQ_QUEUE_NAME_MAX + 128];
	char **pos = NULL;

	for (int k = 0; k < ROW_QUERY_MAX && first->query[k].name; k++)
		opts[n++] = (struct jq_opt){
			first->query[k].name, NULL, JQ_OPT_INT, &values[k], first->query[k].min,
			first->query[k].max,  ""};
	if (first->ask)
		opts[n++] = (struct jq_opt){"yes", NULL, JQ_OPT_BOOL, &yes, 0, 0, ""};
	opts[n++] = (struct jq_opt){"json", NULL, JQ_OPT_BOOL, &c->json, 0, 0, ""};
	opts[n] = (struct jq_opt){NULL, NULL, JQ_OPT_STR, NULL, 0, 0, NULL};

	int status = ctl_command_pos(c, cmd, opts, argc, argv, &pos, &npos, cmd->row[0] ? 0 : 1,
				     cmd->row[1] ? 1 : 0);
	const struct row *row = cmd->row[npos > 0];
	if (status < 0)
		status = row_arg(c, cmd, row->scope, pos[0], arg, sizeof(arg));
	if (status < 0 && row->ask && !yes)
		status = row->ask(c, cmd);
	if (status < 0) {
		row_path(path, sizeof(path), row, arg, values);
		status = ctl_run_row(c, row, path, arg, NULL, NULL);
	}
	free(pos);
	return status;
}

/* The printers of the rows. */

int ctl_show_job(FILE *out, const struct row_answer *a)
{
	jq_ctl_print_job(out, a->body);
	return 0;
}

int ctl_show_cancel(FILE *out, const struct row_answer *a)
{
	int64_t id = ctl_id_field(a->body, "id");
	if (a->status == 202) /* running: its worker stops it soon */
		fprintf(out, "job %" PRId64 " is running: cancel requested\n", id);
	else
		fprintf(out, "job %" PRId64 " cancelled\n", id);
	return 0;
}

int ctl_show_queues(FILE *out, const struct row_answer *a)
{
	return jq_ctl_print_queues(out, a->field, ctl_term_cols(out));
}

int ctl_show_queue(FILE *out, const struct row_answer *a)
{
	jq_ctl_print_queue(out, a->body);
	return 0;
}

int ctl_show_paused(FILE *out, const struct row_answer *a)
{
	fprintf(out, "queue %s %s\n", a->arg, json_is_true(a->field) ? "paused" : "resumed");
	return 0;
}

int ctl_show_workers(FILE *out, const struct row_answer *a)
{
	return jq_ctl_print_workers(out, a->field, jq_now_ms(), ctl_term_cols(out));
}

int ctl_show_dead(FILE *out, const struct row_answer *a)
{
	jq_ctl_print_dead(out, a->field, ctl_term_cols(out));
	return 0;
}

int ctl_show_requeued(FILE *out, const struct row_answer *a)
{
	fprintf(out, "job %" PRId64 " requeued\n", ctl_id_field(a->body, "id"));
	return 0;
}

int ctl_show_purged(FILE *out, const struct row_answer *a)
{
	fprintf(out, "purged %" JSON_INTEGER_FORMAT " jobs\n", json_integer_value(a->field));
	return 0;
}

int ctl_show_schedules(FILE *out, const struct row_answer *a)
{
	return jq_ctl_print_schedules(out, a->field, ctl_term_cols(out));
}

int ctl_show_schedule(FILE *out, const struct row_answer *a)
{
	jq_ctl_print_schedule(out, a->body);
	return 0;
}

int ctl_show_tokens(FILE *out, const struct row_answer *a)
{
	return jq_ctl_print_tokens(out, a->field, ctl_term_cols(out));
}

int ctl_show_revoked(FILE *out, const struct row_answer *a)
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
int ctl_ask_purge(struct ctl *c, const struct command *cmd)
{
	char url[JQ_HTTPC_URL_MAX + 1], question[JQ_HTTPC_URL_MAX + 64];
	if (isatty(STDIN_FILENO) != 1)
		return ctl_usage_error(
			c, cmd,
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
