/* commands.c: the commands whose shape is their own; see commands.h. */
#include "commands.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "jobctl.h"
#include "keys.h"
#include "print.h"
#include "rows.h"
#include "util.h"
#include "watch.h"

#define WAIT_TIMEOUT_MAX_S 604800 /* --wait-timeout upper bound: a week */

/* ---- start-task ---- */

int ctl_cmd_start_task(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	const char *duration_arg = NULL, *key = NULL, *headers[2];
	int wait = 0, npos = 0;
	int64_t wait_timeout = 0, duration = 0;
	char **pos = NULL;
	struct jq_httpc_reply r;
	json_t *body = NULL;
	char path[64], err[256], key_line[JQ_CTL_IDEMPOTENCY_LINE_MAX];
	const struct jq_opt opts[] = {
		{"duration", NULL, JQ_OPT_STR, &duration_arg, 0, 0, ""},
		{"wait", NULL, JQ_OPT_BOOL, &wait, 0, 0, ""},
		{"wait-timeout", NULL, JQ_OPT_INT, &wait_timeout, 0, WAIT_TIMEOUT_MAX_S, ""},
		{"idempotency-key", NULL, JQ_OPT_STR, &key, 0, 0, ""},
		{"json", NULL, JQ_OPT_BOOL, &c->json, 0, 0, ""},
		{NULL, NULL, JQ_OPT_STR, NULL, 0, 0, NULL},
	};

	jq_httpc_reply_init(&r);
	int status = ctl_command_pos(c, cmd, opts, argc, argv, &pos, &npos, 0, 0);
	if (status >= 0)
		goto done;
	if (duration_arg && jq_ctl_parse_duration(duration_arg, &duration, err, sizeof(err)) != 0) {
		status = ctl_usage_error(c, cmd, "%s", err);
		goto done;
	}
	status = ctl_idempotency_header(c, cmd, key, key_line, headers);
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

/* ---- watch ---- */

int ctl_cmd_watch(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	int64_t id, wait_timeout = 0;
	const struct jq_opt opts[] = {
		{"wait-timeout", NULL, JQ_OPT_INT, &wait_timeout, 0, WAIT_TIMEOUT_MAX_S, ""},
		{"json", NULL, JQ_OPT_BOOL, &c->json, 0, 0, ""},
		{NULL, NULL, JQ_OPT_STR, NULL, 0, 0, NULL},
	};

	int status = ctl_one_id_args(c, cmd, opts, argc, argv, "task", &id);
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
			*status = ctl_usage_error(c, cmd, "%s", err);
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

static int show_enqueued(FILE *out, const struct row_answer *a)
{
	/* 200, not 201: the key was seen, nothing was stored; state is the first job's now */
	fprintf(out, "job %" PRId64 " %s", ctl_id_field(a->body, "id"),
		a->status == 200 ? "(already enqueued with this key) " : "");
	ctl_put_text(out, json_string_value(json_object_get(a->body, "state")));
	fputc('\n', out);
	return 0;
}

static const struct row row_enqueue = {
	.method = JQ_HTTPC_POST,
	.path = "/jobs",
	.field = "id",
	.need = ROW_NEED_ID,
	.text = "state",
	.what = "no positive integer 'id' and string 'state'",
	.print = show_enqueued,
};

int ctl_cmd_enqueue(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	struct job_flags f = {.max_attempts = 0, .timeout_ms = -1, .priority = INT64_MIN};
	const char *key = NULL, *headers[2];
	int npos = 0;
	char **pos = NULL;
	char *text = NULL;
	char key_line[JQ_CTL_IDEMPOTENCY_LINE_MAX];
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

	int status = ctl_command_pos(c, cmd, opts, argc, argv, &pos, &npos, 1, -1);
	if (status < 0)
		status = ctl_name_arg(c, cmd, "job type", pos[0], JQ_TYPE_NAME_MAX);
	if (status < 0 && f.queue)
		status = ctl_name_arg(c, cmd, "queue", f.queue, JQ_QUEUE_NAME_MAX);
	if (status < 0)
		status = ctl_idempotency_header(c, cmd, key, key_line, headers);
	if (status < 0)
		text = job_body(c, cmd, pos[0], &f, pos + 1, npos - 1, &status);
	if (text)
		status = ctl_run_row(c, &row_enqueue, "/jobs", "", text, headers);
	free(text);
	free(pos);
	return status;
}

/* ---- send-notification ---- */

static int show_notified(FILE *out, const struct row_answer *a)
{
	fprintf(out, "notification queued as task %" PRId64 "\n", ctl_id_field(a->body, "task_id"));
	return 0;
}

static const struct row row_notify = {
	.method = JQ_HTTPC_POST,
	.field = "task_id",
	.need = ROW_NEED_ID,
	.what = "no positive integer 'task_id'",
	.print = show_notified,
};

int ctl_cmd_notify(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	int npos = 0, sync = 0;
	char **pos = NULL;
	char *email = NULL, *content = NULL, *path = NULL;
	const char *key = NULL, *headers[2];
	char key_line[JQ_CTL_IDEMPOTENCY_LINE_MAX];
	const struct jq_opt opts[] = {
		{"sync", NULL, JQ_OPT_BOOL, &sync, 0, 0, ""},
		{"idempotency-key", NULL, JQ_OPT_STR, &key, 0, 0, ""},
		{"json", NULL, JQ_OPT_BOOL, &c->json, 0, 0, ""},
		{NULL, NULL, JQ_OPT_STR, NULL, 0, 0, NULL},
	};

	int status = ctl_command_pos(c, cmd, opts, argc, argv, &pos, &npos, 2, 2);
	if (status < 0)
		status = ctl_idempotency_header(c, cmd, key, key_line, headers);
	if (status < 0 && (status = ctl_connect(c)) == JQ_CTL_EXIT_OK) {
		email = jq_httpc_escape(&c->http, pos[0]);
		content = jq_httpc_escape(&c->http, pos[1]);
		const char *route = sync ? "/send-notification-sync" : "/send-notification";
		size_t len =
			email && content ? strlen(route) + strlen(email) + strlen(content) + 32 : 0;
		path = len ? malloc(len) : NULL;
		if (path == NULL) {
			status = ctl_failf(c, JQ_CTL_EXIT_FAIL, "out of memory");
		} else {
			snprintf(path, len, "%s?email=%s&content=%s", route, email, content);
			status = ctl_run_row(c, &row_notify, path, "", NULL, headers);
		}
	}
	free(path);
	free(content);
	free(email);
	free(pos);
	return status;
}

/* ---- schedule add|rm ---- */

static int show_schedule_added(FILE *out, const struct row_answer *a)
{
	const char *next = json_string_value(json_object_get(a->body, "next_run"));
	fprintf(out, "schedule %s %s, next run %s\n", a->arg,
		a->status == 201 ? "created" : "replaced", next ? next : "never");
	return 0;
}

/* The broker checks the cron expression and the job, and names what is wrong. */
static const struct row row_schedule_create = {
	.method = JQ_HTTPC_POST,
	.path = "/schedules",
	.print = show_schedule_added,
};
static const struct row row_schedule_replace = {
	.method = JQ_HTTPC_PUT,
	.path = "/schedules/{}",
	.print = show_schedule_added,
};

/* The POST or PUT /schedules body of schedule name, CRON cron, JOB_JSON job_json;
 * malloc'ed, or NULL after a failure reported in *status. */
static char *schedule_body(struct ctl *c, const struct command *cmd, const char *name,
			   const char *cron, const char *job_json, int *status)
{
	json_error_t jerr;
	char *text = NULL;
	json_t *req = NULL, *job = json_loads(job_json, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(job)) {
		*status = ctl_usage_error(
			c, cmd, "JOB_JSON must be a JSON object like '{\"type\": \"noop\"}'%s%s",
			job ? "" : ": ", job ? "" : jerr.text);
		goto done;
	}
	req = json_pack("{s:s,s:s,s:O}", "name", name, "cron", cron, "job", job);
	text = req ? json_dumps(req, JSON_COMPACT) : NULL;
	if (!text)
		*status = ctl_failf(c, JQ_CTL_EXIT_FAIL, "CRON and JOB_JSON must be valid UTF-8");
done:
	json_decref(req);
	json_decref(job);
	return text;
}

int ctl_cmd_schedule_add(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	int npos = 0, replace = 0;
	char **pos = NULL;
	char *text = NULL;
	char path[JQ_QUEUE_NAME_MAX + 16];
	const struct jq_opt opts[] = {
		{"replace", NULL, JQ_OPT_BOOL, &replace, 0, 0, ""},
		{"json", NULL, JQ_OPT_BOOL, &c->json, 0, 0, ""},
		{NULL, NULL, JQ_OPT_STR, NULL, 0, 0, NULL},
	};

	int status = ctl_command_pos(c, cmd, opts, argc, argv, &pos, &npos, 3, 3);
	if (status < 0)
		status = ctl_name_arg(c, cmd, "schedule name", pos[0], JQ_QUEUE_NAME_MAX);
	if (status < 0)
		text = schedule_body(c, cmd, pos[0], pos[1], pos[2], &status);
	if (text && replace) {
		snprintf(path, sizeof(path), "/schedules/%s", pos[0]);
		status = ctl_run_row(c, &row_schedule_replace, path, pos[0], text, NULL);
	} else if (text) {
		c->conflict_hint =
			"add --replace to change it: jobctl schedule add --replace NAME CRON "
			"JOB_JSON";
		status = ctl_run_row(c, &row_schedule_create, "/schedules", pos[0], text, NULL);
	}
	free(text);
	free(pos);
	return status;
}

int ctl_cmd_schedule_rm(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	int npos = 0;
	char **pos = NULL;
	struct jq_httpc_reply r;
	char path[JQ_QUEUE_NAME_MAX + 16];
	const struct jq_opt opts[] = {
		{"json", NULL, JQ_OPT_BOOL, &c->json, 0, 0, ""},
		{NULL, NULL, JQ_OPT_STR, NULL, 0, 0, NULL},
	};

	jq_httpc_reply_init(&r);
	int status = ctl_command_pos(c, cmd, opts, argc, argv, &pos, &npos, 1, 1);
	if (status >= 0)
		goto done;
	if ((status = ctl_name_arg(c, cmd, "schedule name", pos[0], JQ_QUEUE_NAME_MAX)) >= 0)
		goto done;
	json_t *answer = NULL;
	snprintf(path, sizeof(path), "/schedules/%s", pos[0]);
	status = ctl_request(c, JQ_HTTPC_DELETE, path, NULL, NULL, &r, &answer);
	json_decref(answer); /* 204: none */
	if (status != JQ_CTL_EXIT_OK)
		goto done;
	if (c->json)
		fprintf(c->out, "{\"name\":\"%s\",\"deleted\":true}\n", pos[0]);
	else
		fprintf(c->out, "schedule %s deleted\n", pos[0]);
done:
	jq_httpc_reply_release(&r);
	free(pos);
	return status;
}

/* ---- token create ---- */

/* "read,admin" as a JSON array; NULL (after a usage error in *status) if a name is none of
 * read, enqueue, admin. */
static json_t *scopes_array(struct ctl *c, const struct command *cmd, const char *list, int *status)
{
	json_t *arr = json_array();
	char *copy = strdup(list), *save = NULL;
	for (char *p = copy ? strtok_r(copy, ",", &save) : NULL; p;
	     p = strtok_r(NULL, ",", &save)) {
		if (strcmp(p, "read") != 0 && strcmp(p, "enqueue") != 0 &&
		    strcmp(p, "admin") != 0) {
			*status = ctl_usage_error(c, cmd,
						  "unknown scope '%s' (read, enqueue, admin)", p);
			json_decref(arr);
			free(copy);
			return NULL;
		}
		json_array_append_new(arr, json_string(p));
	}
	free(copy);
	if (!json_array_size(arr)) {
		*status = ctl_usage_error(c, cmd,
					  "--scopes names at least one of read, enqueue, admin");
		json_decref(arr);
		return NULL;
	}
	return arr;
}

static int show_token(FILE *out, const struct row_answer *a)
{
	fprintf(out, "%s\n", json_string_value(json_object_get(a->body, "token")));
	return 0;
}

static const struct row row_token_create = {
	.method = JQ_HTTPC_POST,
	.path = "/tokens",
	.text = "token",
	.what = "no 'token'",
	.print = show_token,
	.secret = 1,
};

int ctl_cmd_token_create(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	int npos = 0;
	const char *scopes = NULL;
	char **pos = NULL;
	char *text = NULL;
	json_t *req = NULL;
	const struct jq_opt opts[] = {
		{"scopes", NULL, JQ_OPT_STR, &scopes, 0, 64, ""},
		{"json", NULL, JQ_OPT_BOOL, &c->json, 0, 0, ""},
		{NULL, NULL, JQ_OPT_STR, NULL, 0, 0, NULL},
	};

	int status = ctl_command_pos(c, cmd, opts, argc, argv, &pos, &npos, 1, 1);
	if (status >= 0 ||
	    (status = ctl_name_arg(c, cmd, "token name", pos[0], JQ_QUEUE_NAME_MAX)) >= 0)
		goto done;
	if (!scopes) {
		status = ctl_usage_error(c, cmd, "--scopes is required (read, enqueue, admin)");
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
	status = ctl_run_row(c, &row_token_create, "/tokens", pos[0], text, NULL);
	if (status == JQ_CTL_EXIT_OK)
		fprintf(c->err, "token '%s' created; it is shown this once: keep it now\n", pos[0]);
done:
	json_decref(req);
	free(text);
	free(pos);
	return status;
}
