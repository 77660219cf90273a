/* ctl.c: one run of jobctl: its failures and its requests to the broker; see ctl.h. */
#include "ctl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "jobctl.h"
#include "print.h"

void ctl_end_bar(struct ctl *c)
{
	if (c->bar_open) {
		fputc('\n', c->out);
		fflush(c->out);
		c->bar_open = 0;
	}
}

/* With --json: the broker's code and message when it answered with an error, else
 * jobctl's own code ("usage", "request_failed", "unexpected_answer", "failed") and text. */
void ctl_put_error(struct ctl *c, int status, const char *text, const char *usage)
{
	ctl_end_bar(c);
	fflush(c->out); /* keep the order of the two streams on one terminal */
	if (!c->json) {
		fprintf(c->err, "jobctl: %s\n", text);
		if (usage)
			fprintf(c->err, "usage: %s\n", usage);
	} else {
		const char *code = c->fail_code[0]               ? c->fail_code
				   : status == JQ_CTL_EXIT_USAGE ? "usage"
								 : "failed";
		json_t *e = json_object();
		json_object_set_new(e, "code", json_string_nocheck(code));
		json_object_set_new(
			e, "message",
			json_string_nocheck(c->fail_message[0] ? c->fail_message : text));
		if (c->fail_http)
			json_object_set_new(e, "http_status", json_integer(c->fail_http));
		if (c->fail_http == 409 && c->conflict_hint)
			json_object_set_new(e, "hint", json_string_nocheck(c->conflict_hint));
		if (usage)
			json_object_set_new(e, "usage", json_string_nocheck(usage));
		json_t *o = json_pack("{s:o}", "error", e);
		char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
		fprintf(c->err, "%s\n", line ? line : "{\"error\":{\"code\":\"failed\"}}");
		free(line);
		json_decref(o);
	}
	c->fail_code[0] = c->fail_message[0] = '\0';
	c->fail_http = 0;
}

int ctl_failf(struct ctl *c, int status, const char *fmt, ...)
{
	va_list ap;
	char text[2048];
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	ctl_put_error(c, status, text, NULL);
	return status;
}

int ctl_fail_code(struct ctl *c, int status, const char *code, const char *text)
{
	snprintf(c->fail_code, sizeof(c->fail_code), "%s", code);
	return ctl_failf(c, status, "%s", text);
}

/* The API token of --token, or the first line of --token-file, for every request. */
static int use_token(struct ctl *c)
{
	char line[JQ_HTTPC_TOKEN_MAX + 2] = "";
	const char *token = c->token && c->token[0] ? c->token : NULL;
	if (!token && c->token_file && c->token_file[0]) {
		FILE *f = fopen(c->token_file, "r");
		if (!f)
			return ctl_failf(c, JQ_CTL_EXIT_USAGE,
					 "cannot read the token file '%s': %s", c->token_file,
					 strerror(errno));
		if (!fgets(line, sizeof(line), f))
			line[0] = '\0';
		fclose(f);
		line[strcspn(line, "\r\n")] = '\0';
		token = line;
	}
	if (token && jq_httpc_set_token(&c->http, token) != 0)
		return ctl_failf(c, JQ_CTL_EXIT_USAGE,
				 "the token must be 1 to %d printable characters without spaces",
				 JQ_HTTPC_TOKEN_MAX);
	return JQ_CTL_EXIT_OK;
}

int ctl_connect(struct ctl *c)
{
	if (c->http_ready)
		return JQ_CTL_EXIT_OK;
	if (!c->curl_ready) {
		if (jq_httpc_global_init() != 0)
			return ctl_failf(c, JQ_CTL_EXIT_FAIL, "cannot initialize libcurl");
		c->curl_ready = 1;
	}
	if (jq_httpc_init(&c->http, c->url, (long)c->timeout_ms) != 0) {
		int status = c->http.err == JQ_HTTPC_EURL ? JQ_CTL_EXIT_USAGE : JQ_CTL_EXIT_FAIL;
		ctl_failf(c, status, "%s", c->http.errstr);
		jq_httpc_release(&c->http);
		return status;
	}
	c->http_ready = 1;
	return use_token(c);
}

int ctl_request(struct ctl *c, enum jq_httpc_method method, const char *path, const char *body,
		const char *const *headers, struct jq_httpc_reply *r, json_t **json)
{
	json_error_t jerr;
	*json = NULL;
	int status = ctl_connect(c);
	if (status != JQ_CTL_EXIT_OK)
		return status;
	if (jq_httpc_request(&c->http, method, path, body, headers, r) != 0) {
		if (c->http.err == JQ_HTTPC_EINTERRUPTED)
			return JQ_CTL_EXIT_INTERRUPT;
		return ctl_fail_code(c, JQ_CTL_EXIT_FAIL, "request_failed", c->http.errstr);
	}
	if (r->status < 200 || r->status > 299) {
		char msg[1024 + 256];
		jq_ctl_format_http_error(msg, sizeof(msg) - 256, r->status, r->body, r->len);
		if (r->status == 409 && c->conflict_hint) {
			size_t n = strlen(msg);
			snprintf(msg + n, sizeof(msg) - n, "; %s", c->conflict_hint);
		}
		/* for --json: the broker's own code and message, as it sent them */
		json_t *root = json_loadb(r->body, r->len, 0, NULL);
		json_t *error = json_object_get(root, "error");
		const char *code = json_string_value(json_object_get(error, "code"));
		const char *message = json_string_value(json_object_get(error, "message"));
		snprintf(c->fail_code, sizeof(c->fail_code), "%s", code ? code : "http_error");
		snprintf(c->fail_message, sizeof(c->fail_message), "%s", message ? message : "");
		c->fail_http = r->status;
		json_decref(root);
		return ctl_failf(c, JQ_CTL_EXIT_FAIL, "%s", msg);
	}
	if (r->status == 204)
		return JQ_CTL_EXIT_OK; /* no content, *json NULL */
	*json = json_loadb(r->body, r->len, 0, &jerr);
	if (!json_is_object(*json)) {
		json_decref(*json);
		*json = NULL;
		snprintf(c->fail_code, sizeof(c->fail_code), "unexpected_answer");
		return ctl_failf(c, JQ_CTL_EXIT_FAIL,
				 "unexpected answer from broker at '%s': not a JSON object",
				 c->http.base);
	}
	return JQ_CTL_EXIT_OK;
}

int ctl_unexpected(struct ctl *c, const char *what)
{
	snprintf(c->fail_code, sizeof(c->fail_code), "unexpected_answer");
	return ctl_failf(c, JQ_CTL_EXIT_FAIL, "unexpected answer from broker at '%s': %s",
			 c->http.base, what);
}

void ctl_print_raw(struct ctl *c, const struct jq_httpc_reply *r)
{
	fwrite(r->body, 1, r->len, c->out);
	if (r->len == 0 || r->body[r->len - 1] != '\n')
		fputc('\n', c->out);
	fflush(c->out);
}

int64_t ctl_id_field(const json_t *obj, const char *name)
{
	const json_t *v = json_object_get(obj, name);
	return json_is_integer(v) && json_integer_value(v) > 0 ? (int64_t)json_integer_value(v) : 0;
}
