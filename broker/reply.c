/* reply.c: reading a request and answering it; see reply.h. */
#include "reply.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <jansson.h>
#include <event2/keyvalq_struct.h>

#include "broker.h"
#include "http.h"
#include "job.h"
#include "util.h"

/* ---- responses counted by status (this process) ---- */

static const int counted_statuses[] = {101, 200, 201, 202, 204, 304, 400, 401, 403,
				       404, 405, 409, 410, 413, 415, 421, 426, 503};
#define N_STATUSES (sizeof(counted_statuses) / sizeof(counted_statuses[0]))
static uint64_t responses_by_status[N_STATUSES + 1]; /* the last: any other status */

void jq_broker_count_response(int status)
{
	size_t i = 0;
	while (i < N_STATUSES && counted_statuses[i] != status)
		i++;
	responses_by_status[i]++;
}

void jq_reply_status_metrics(struct evbuffer *out)
{
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

void jq_reply_error(struct jq_http_req *req, int status, const char *code, const char *fmt, ...)
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

int jq_request_idempotency_key(struct jq_http_req *req, const char **key)
{
	const char *k = jq_http_header(req, "Idempotency-Key");
	*key = NULL;
	if (!k)
		return 0;
	if (!jq_idempotency_key_valid(k)) {
		jq_reply_error(req, 400, "invalid_argument",
			       "'Idempotency-Key' must be 1 to %d printable ASCII characters "
			       "without spaces, not starting with '%s' (jobq's own)",
			       JQ_IDEMPOTENCY_KEY_MAX, JQ_IDEMPOTENCY_RESERVED);
		return -1;
	}
	*key = k;
	return 0;
}

int jq_request_traceparent(struct jq_http_req *req, const char **tp)
{
	/* W3C trace context: stored with every job of the request, logged by the worker
	 * and passed on by http jobs */
	const char *t = jq_http_header(req, "traceparent");
	*tp = NULL;
	if (!t)
		return 0;
	if (!jq_traceparent_valid(t)) {
		jq_reply_error(req, 400, "invalid_argument",
			       "'traceparent' is not a W3C trace context header "
			       "(00-<32 hex>-<16 hex>-<2 hex>, lowercase)");
		return -1;
	}
	*tp = t;
	return 0;
}

/* ---- request bodies ---- */

/* 1 if the Content-Type value ct (NULL: none) is want, parameters aside. The callers look
 * the header up once: every lookup walks the headers with a case-insensitive compare. */
int jq_content_type_is(const char *ct, const char *want)
{
	if (!ct)
		return 0;
	size_t n = strlen(want);
	return strncasecmp(ct, want, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* 0 if the request's Content-Type is JSON (or none: then the body is empty, guard.h
 * refused any other), else answers 415. A form type is never read as JSON: a page of any
 * site may post one without asking first. */
int jq_request_is_json(struct jq_http_req *req)
{
	const char *ct = jq_http_header(req, "Content-Type");
	if (ct && !jq_content_type_is(ct, "application/json")) {
		jq_reply_error(req, 415, "unsupported_media_type",
			       "send application/json or application/msgpack");
		return -1;
	}
	return 0;
}

json_t *jq_request_json(struct jq_http_req *req)
{
	if (jq_request_is_json(req) != 0)
		return NULL;
	size_t len;
	const char *body = jq_http_body(req, &len);
	json_error_t jerr;
	json_t *v = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!v)
		jq_reply_error(req, 400, "invalid_json", "body is not valid JSON: %s", jerr.text);
	return v;
}

/* ---- requests waiting on Redis ---- */

struct jq_pending *jq_pending_new(struct jq_broker *b, struct jq_http_req *req, int64_t id)
{
	struct jq_pending *p = malloc(sizeof(*p));
	if (!p) {
		jq_reply_error(req, 503, "out_of_memory", "the broker is out of memory");
		return NULL;
	}
	*p = (struct jq_pending){.b = b, .req = req, .id = id};
	b->in_flight++;
	return p;
}

void jq_pending_free(struct jq_pending *p)
{
	p->b->in_flight--;
	free(p);
}

int jq_pending_sent(struct jq_pending *p, int rc)
{
	if (rc != 0) {
		jq_reply_unavailable(p->req);
		jq_pending_free(p);
	}
	return rc;
}
