/* http_job.h: the http job type: one HTTP(S) request through curl multi on the loop.
 *
 * Payload (http_request.h, shared with the broker, which checks it at enqueue):
 * {"url": http(s) only, "method"?: "GET", "headers"?: {name: value},
 * "body"?: string, "expect_status"?: int or [int] (default any 2xx),
 * "timeout_ms"?: JQ_HTTPJOB_DEFAULT_TIMEOUT_MS, "max_body"?: JQ_HTTPJOB_DEFAULT_MAX_BODY
 * (at most JQ_HTTPJOB_MAX_BODY_CAP), "follow_redirects"?: false}.
 *
 * Result: {"status", "headers": {lower-case name: value}, "body": prefix of at
 * most max_body bytes as text (bytes that are not UTF-8 become U+FFFD),
 * "truncated": bool}. An unexpected status fails the attempt: retried for 408,
 * 429 and 5xx, never for the others (a 404 stays a 404); connection errors and
 * timeouts are retried; a bad payload fails at once and is never retried.
 *
 * The checks are pure (no transfer, no loop) so tests can call them. */
#ifndef JQ_HTTP_JOB_H
#define JQ_HTTP_JOB_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#include "http_request.h"

/* Response headers kept in the result: beyond these the rest are dropped. */
#define JQ_HTTPJOB_RESP_HEADERS_MAX 100
#define JQ_HTTPJOB_RESP_HEADER_BYTES_MAX (64 * 1024)

/* Networks http jobs may not connect to (jobq-worker --http-deny): "ADDR/BITS" or "ADDR"
 * (IPv4 or IPv6), or "private" for every range that is not the public internet
 * (loopback, private, shared, link-local with the cloud metadata address, multicast,
 * reserved, unique-local...). A NAT64 or 6to4 IPv6 address is also matched by the IPv4
 * address it carries. Checked on every
 * connection a transfer makes, redirects included, against the address curl connected
 * to (so a name that resolves to a denied address is caught too). */
#define JQ_HTTPJOB_DENY_MAX 64
struct jq_httpjob_net {
	int family; /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	int bits;
};
struct jq_httpjob_deny {
	struct jq_httpjob_net net[JQ_HTTPJOB_DENY_MAX];
	int n;
};
/* Adds spec's networks to d (several separated by commas); 0, or -1 with the reason in err. */
int jq_httpjob_deny_add(struct jq_httpjob_deny *d, const char *spec, char *err, size_t errlen);
/* 1 if ip (text, as curl reports it; an IPv4-mapped IPv6 address counts as IPv4) is in d. */
int jq_httpjob_deny_match(const struct jq_httpjob_deny *d, const char *ip);
/* The list every transfer of this process checks (copied); an empty one denies nothing. */
void jq_httpjob_set_deny(const struct jq_httpjob_deny *d);
/* The CA certificates (a PEM file) every https transfer of this process trusts in place of
 * the system's; NULL or "": the system's. 0, or -1 with the reason in err (unreadable, or a
 * path too long). */
int jq_httpjob_set_ca_file(const char *path, char *err, size_t errlen);

#endif
