/* http_request.h: the payload of an http job, checked: what the broker refuses at enqueue
 * (jobtypes.h) and what the worker runs (worker/http_job.h). Pure: libcurl's URL parser,
 * no transfer. Payload: {"url": http(s) only, "method"?: "GET", "headers"?: {name:
 * value}, "body"?: string, "expect_status"?: int or [int] (default any 2xx),
 * "timeout_ms"?: JQ_HTTPJOB_DEFAULT_TIMEOUT_MS, "max_body"?: JQ_HTTPJOB_DEFAULT_MAX_BODY (at
 * most JQ_HTTPJOB_MAX_BODY_CAP), "follow_redirects"?: false}. */
#ifndef JQ_HTTP_REQUEST_H
#define JQ_HTTP_REQUEST_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#define JQ_HTTPJOB_URL_MAX 8192
#define JQ_HTTPJOB_METHOD_MAX 16
#define JQ_HTTPJOB_HEADERS_MAX 64       /* request headers in a payload */
#define JQ_HTTPJOB_HEADER_LINE_MAX 8192 /* "name: value" of one request header */
#define JQ_HTTPJOB_EXPECT_MAX 32        /* entries of an expect_status list */
#define JQ_HTTPJOB_DEFAULT_TIMEOUT_MS 30000
#define JQ_HTTPJOB_TIMEOUT_MS_MAX 3600000
#define JQ_HTTPJOB_DEFAULT_MAX_BODY 4096
#define JQ_HTTPJOB_MAX_BODY_CAP (1024 * 1024)
#define JQ_HTTPJOB_MAX_REDIRECTS 5
#define JQ_HTTPJOB_HEADER_NAME_MAX 256

/* A validated request. Strings are malloc'd and NUL-terminated; owned, freed by _release. */
struct jq_httpjob_request {
	char method[JQ_HTTPJOB_METHOD_MAX + 1];
	char *url;
	char *url_shown; /* for errors and logs: no user, password, query or fragment */
	char **headers;  /* "Name: value" lines (curl's "Name;" for an empty value) */
	size_t nheaders;
	char *body; /* NULL: no body */
	size_t body_len;
	int expect[JQ_HTTPJOB_EXPECT_MAX]; /* nexpect == 0: any 2xx */
	size_t nexpect;
	int64_t timeout_ms;
	int64_t max_body;
	int follow_redirects;
	int has_content_type; /* the payload set Content-Type itself */
};

/* Checks payload and fills r (zeroed first). 0, or -1 with the reason in err
 * (and r released). */
int jq_httpjob_request_parse(struct jq_httpjob_request *r, const msgpack_object *payload, char *err,
			     size_t errlen);
void jq_httpjob_request_release(struct jq_httpjob_request *r);

/* 1 if status is what the request expects. */
int jq_httpjob_status_expected(const struct jq_httpjob_request *r, long status);
/* 1 if an unexpected status is worth another attempt (408, 429, 5xx). */
int jq_httpjob_status_retryable(long status);

#endif
