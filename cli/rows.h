/* rows.h: the commands that are one request, each a struct row of the command table
 * (jobctl.c): its method, path template, the scope of its argument, the statuses and
 * the field it wants of the answer, and a printer. ctl_cmd_row() runs any of them:
 * parse -> check the argument -> ctl_request() -> check the answer -> print it raw
 * (--json) or through the row's printer. */
#ifndef JQ_CLI_ROWS_H
#define JQ_CLI_ROWS_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "args.h"
#include "ctl.h"
#include "httpc.h"

/* What the argument of a row names; checked before anything is sent. */
enum row_scope {
	ROW_SCOPE_NONE,
	ROW_SCOPE_JOB,   /* a positive integer id */
	ROW_SCOPE_QUEUE, /* the names: A-Z a-z 0-9 _ . : -, up to JQ_QUEUE_NAME_MAX */
	ROW_SCOPE_SCHEDULE,
	ROW_SCOPE_TOKEN,
};

/* What a row wants of its answer's field (beside the answer being a 2xx JSON object). */
enum row_need {
	ROW_NEED_NOTHING,
	ROW_NEED_ARRAY, /* an array */
	ROW_NEED_ID,    /* a positive integer */
	ROW_NEED_COUNT, /* a non-negative integer */
	ROW_NEED_TRUE,
	ROW_NEED_FALSE,
};

/* An answer as a row's printer gets it. */
struct row_answer {
	const json_t *body;  /* the answer's object */
	const json_t *field; /* its field the row names, or NULL */
	const char *arg;     /* the argument as the path has it ("" for none) */
	long status;         /* the HTTP status, 2xx */
};

/* An integer query parameter of a row, given as the flag of the same name; sent only
 * when given (the broker owns the defaults). */
struct row_query {
	const char *name;
	int64_t min, max; /* min >= 0 */
};

#define ROW_QUERY_MAX 2

/* A command that is one request: what it sends, what it wants of the answer and how it
 * shows it; ctl_cmd_row() runs it. The rows of jobctl are in its command table. */
struct row {
	enum jq_httpc_method method;
	const char *path;     /* "{}" stands for the argument */
	enum row_scope scope; /* what the argument is (ROW_SCOPE_NONE: none) */
	long statuses[2];     /* the statuses wanted, up to two (0: none); none: any 2xx */
	const char *field;    /* the answer's field need is about, or NULL */
	enum row_need need;
	const char *text; /* a field the answer must have as a string too, or NULL */
	const char *what; /* ctl_unexpected()'s text when the status or the field is wrong */
	struct row_query query[ROW_QUERY_MAX]; /* name NULL when unused */
	/* asked before the request unless --yes is given (then an option); -1 to go on,
	 * else the exit status */
	int (*ask)(struct ctl *c, const struct command *cmd);
	/* prints the answer but with --json; -1 when memory ran out */
	int (*print)(FILE *out, const struct row_answer *a);
	int secret; /* the answer holds a secret: its bytes are zeroed once it is printed */
};

/* Runs cmd, a command of rows: cmd->row[0] without an argument, cmd->row[1] with one
 * (a NULL one refuses that count). Its flags are --json, the query parameters of its
 * row and --yes when the row asks. Returns the exit status. */
int ctl_cmd_row(struct ctl *c, const struct command *cmd, int argc, char **argv);

/* The request, the check and the output of row, sent to path (row->path with its
 * argument arg in place, and any query) with body and headers as for ctl_request().
 * Returns the exit status. For the commands that build their request themselves. */
int ctl_run_row(struct ctl *c, const struct row *row, const char *path, const char *arg,
		const char *body, const char *const *headers);

/* The printers of jobctl's rows (a->field as the row names it): */
int ctl_show_job(FILE *out, const struct row_answer *a);       /* GET /jobs/{id} */
int ctl_show_cancel(FILE *out, const struct row_answer *a);    /* DELETE /jobs/{id} */
int ctl_show_queues(FILE *out, const struct row_answer *a);    /* GET /queues: "queues" */
int ctl_show_queue(FILE *out, const struct row_answer *a);     /* GET /queues/{name} */
int ctl_show_paused(FILE *out, const struct row_answer *a);    /* pause, resume: "paused" */
int ctl_show_workers(FILE *out, const struct row_answer *a);   /* GET /workers: "workers" */
int ctl_show_dead(FILE *out, const struct row_answer *a);      /* GET /dead: "jobs" */
int ctl_show_requeued(FILE *out, const struct row_answer *a);  /* POST /dead/{id}/retry */
int ctl_show_purged(FILE *out, const struct row_answer *a);    /* DELETE /dead: "purged" */
int ctl_show_schedules(FILE *out, const struct row_answer *a); /* GET /schedules: "schedules" */
int ctl_show_schedule(FILE *out, const struct row_answer *a);  /* GET /schedules/{name} */
int ctl_show_tokens(FILE *out, const struct row_answer *a);    /* GET /tokens: "tokens" */
int ctl_show_revoked(FILE *out, const struct row_answer *a);   /* DELETE /tokens/{name} */

/* dead purge's question without --yes: asked on c->err when the standard input is a
 * terminal (-1 to go on if the answer is y or yes), refused (exit 2) when it is not. */
int ctl_ask_purge(struct ctl *c, const struct command *cmd);

#endif
