/* ctl.h: one run of jobctl: its context, how it reports a failure, and its requests to
 * the broker (jobctl.c, watch.c). Internal to jobctl_core.
 *
 * Every command reports through ctl_failf & co., which write "jobctl: TEXT" on
 * c->err, or with --json one line {"error": {"code", "message", "http_status"?,
 * "hint"?, "usage"?}} (jobctl(1), ERRORS), and return the exit status given them.
 * ctl_request() is the one way a command asks the broker for a JSON object. */
#ifndef JQ_CLI_CTL_H
#define JQ_CLI_CTL_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "httpc.h"

struct ctl {
	const char *url;                /* from --url or JOBQ_URL; points into argv/environ */
	const char *token, *token_file; /* --token / JOBQ_TOKEN, --token-file / JOBQ_TOKEN_FILE */
	int64_t timeout_ms;
	int json;
	FILE *out, *err;
	int tty;      /* out is a terminal: --wait draws its bar in place */
	int bar_open; /* a bar line is on screen without its newline */
	int curl_ready, http_ready;
	struct jq_httpc http; /* valid when http_ready */
	/* what the next failure reports beside its text, for --json (ctl_put_error): a
	 * code ("failed" when empty), the broker's HTTP status (0: none) and its own message */
	char fail_code[64];
	long fail_http;
	char fail_message[1024];
	const char *conflict_hint; /* what a 409 answer to this command should suggest */
};

/* Ends a progress line left open on c->out with its newline. */
void ctl_end_bar(struct ctl *c);

/* Reports text as a failure with exit status status (JQ_CTL_EXIT_USAGE makes the
 * --json code "usage"), followed by "usage: USAGE" when usage is not NULL, and
 * clears what c held for it (fail_code, fail_http, fail_message). */
void ctl_put_error(struct ctl *c, int status, const char *text, const char *usage);

/* ctl_put_error of the formatted text; returns status. */
int ctl_failf(struct ctl *c, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ctl_failf of text with code as its --json code. */
int ctl_fail_code(struct ctl *c, int status, const char *code, const char *text);

/* "unexpected answer from broker at 'URL': WHAT", code "unexpected_answer"; returns
 * JQ_CTL_EXIT_FAIL. */
int ctl_unexpected(struct ctl *c, const char *what);

/* Makes c->http ready for the broker of c->url with the token of --token or
 * --token-file, once per run. Returns JQ_CTL_EXIT_OK, or the exit status of the
 * failure it reported (a bad URL or token is a usage error). */
int ctl_connect(struct ctl *c);

/* Sends one request (path holds the query, escaped; body and headers as for
 * jq_httpc_request) and checks that the answer is a 2xx JSON object, which *json gets
 * (the caller decrefs it; r must have been _init'ed and is the caller's to release), or
 * a 204, which has no body (*json NULL).
 * Otherwise reports why -- the broker's error (its code and HTTP status for --json,
 * c->conflict_hint added to a 409), a request that failed, an answer that is no JSON
 * object -- and returns JQ_CTL_EXIT_FAIL, or JQ_CTL_EXIT_INTERRUPT without a word
 * when c->http.interrupted cut it short. */
int ctl_request(struct ctl *c, enum jq_httpc_method method, const char *path, const char *body,
		const char *const *headers, struct jq_httpc_reply *r, json_t **json);

/* Prints an answer body as it came, on its own line (--json). */
void ctl_print_raw(struct ctl *c, const struct jq_httpc_reply *r);

/* A positive integer id field of an answer, or 0. */
int64_t ctl_id_field(const json_t *obj, const char *name);

#endif
