/* http_job.h: the http job type: one HTTP(S) request through curl multi on the loop.
 *
 * Payload: {"url": http(s) only, "method"?: "GET", "headers"?: {name: value},
 * "body"?: string, "expect_status"?: int or [int] (default any 2xx),
 * "timeout_ms"?: JQ_HTTP_DEFAULT_TIMEOUT_MS, "max_body"?: JQ_HTTP_DEFAULT_MAX_BODY
 * (at most JQ_HTTP_MAX_BODY_CAP), "follow_redirects"?: false}.
 *
 * Result: {"status", "headers": {lower-case name: value}, "body": prefix of at
 * most max_body bytes as text (bytes that are not UTF-8 become U+FFFD),
 * "truncated": bool}. An unexpected status fails the attempt: retried for 408,
 * 429 and 5xx, never for the others (a 404 stays a 404); connection errors and
 * timeouts are retried; a bad payload fails at once and is never retried.
 *
 * The parsing below is pure (no curl, no loop) so tests can call it. */
#ifndef JQ_HTTP_JOB_H
#define JQ_HTTP_JOB_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#define JQ_HTTP_URL_MAX 8192
#define JQ_HTTP_METHOD_MAX 16
#define JQ_HTTP_HEADERS_MAX 64       /* request headers in a payload */
#define JQ_HTTP_HEADER_LINE_MAX 8192 /* "name: value" of one request header */
#define JQ_HTTP_EXPECT_MAX 32        /* entries of an expect_status list */
#define JQ_HTTP_DEFAULT_TIMEOUT_MS 30000
#define JQ_HTTP_TIMEOUT_MS_MAX 3600000
#define JQ_HTTP_DEFAULT_MAX_BODY 4096
#define JQ_HTTP_MAX_BODY_CAP (1024 * 1024)
#define JQ_HTTP_MAX_REDIRECTS 5
/* Response headers kept in the result: beyond these the rest are dropped. */
#define JQ_HTTP_RESP_HEADERS_MAX 100
#define JQ_HTTP_RESP_HEADER_BYTES_MAX (64 * 1024)

/* A validated request. Strings are malloc'd and NUL-terminated; owned, freed by _release. */
struct jq_http_request {
	char method[JQ_HTTP_METHOD_MAX + 1];
	char *url;
	char *url_shown; /* for errors and logs: no user, password, query or fragment */
	char **headers; /* "Name: value" lines (curl's "Name;" for an empty value) */
	size_t nheaders;
	char *body; /* NULL: no body */
	size_t body_len;
	int expect[JQ_HTTP_EXPECT_MAX]; /* nexpect == 0: any 2xx */
	size_t nexpect;
	int64_t timeout_ms;
	int64_t max_body;
	int follow_redirects;
	int has_content_type; /* the payload set Content-Type itself */
};

/* Networks http jobs may not connect to (jobq-worker --http-deny): "ADDR/BITS" or "ADDR"
 * (IPv4 or IPv6), or "private" for every range that is not the public internet
 * (loopback, private, shared, link-local with the cloud metadata address, multicast,
 * reserved, unique-local...). A NAT64 or 6to4 IPv6 address is also matched by the IPv4
 * address it carries. Checked on every
 * connection a transfer makes, redirects included, against the address curl connected
 * to (so a name that resolves to a denied address is caught too). */
#define JQ_HTTP_DENY_MAX 64
struct jq_http_net {
	int family; /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	int bits;
};
struct jq_http_deny {
	struct jq_http_net net[JQ_HTTP_DENY_MAX];
	int n;
};
/* Adds spec's networks to d (several separated by commas); 0, or -1 with the reason in err. */
int jq_http_deny_add(struct jq_http_deny *d, const char *spec, char *err, size_t errlen);
/* 1 if ip (text, as curl reports it; an IPv4-mapped IPv6 address counts as IPv4) is in d. */
int jq_http_deny_match(const struct jq_http_deny *d, const char *ip);
/* The list every transfer of this process checks (copied); an empty one denies nothing. */
void jq_http_set_deny(const struct jq_http_deny *d);
/* The CA certificates (a PEM file) every https transfer of this process trusts in place of
 * the system's; NULL or "": the system's. 0, or -1 with the reason in err (unreadable, or a
 * path too long). */
int jq_http_set_ca_file(const char *path, char *err, size_t errlen);

/* Checks payload and fills r (zeroed first). 0, or -1 with the reason in err
 * (and r released). */
int jq_http_request_parse(struct jq_http_request *r, const msgpack_object *payload, char *err,
			  size_t errlen);
void jq_http_request_release(struct jq_http_request *r);

/* 1 if status is what the request expects. */
int jq_http_status_expected(const struct jq_http_request *r, long status);
/* 1 if an unexpected status is worth another attempt (408, 429, 5xx). */
int jq_http_status_retryable(long status);

#endif
