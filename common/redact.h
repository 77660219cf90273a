/* redact.h: credentials a job carries, kept out of every view of it (docs/security.md).
 *
 * What an http job's payload may hold that lets someone act as its owner: the headers
 * Authorization, Proxy-Authorization and Cookie (names compared case-insensitively) and
 * the userinfo of its URL (https://user:password@host/). Every place a payload is shown
 * (GET /jobs/{id} and libjobq-client's job JSON through job_json.c, GET /schedules' job
 * templates) passes it through jq_redact_payload first; the worker's errors and logs
 * show the URL without userinfo or query (http_job.c). The stored payload is unchanged:
 * the worker sends what was given.
 *
 * A job's `secrets` (job.h) are never in a view at all: they live in a hash field of
 * their own that no read renders. Pure: no IO. */
#ifndef JQ_REDACT_H
#define JQ_REDACT_H

#include <jansson.h>
#include <stddef.h>

/* What a redacted value reads as. */
#define JQ_REDACTED "[redacted]"

/* Redacts, in place, a payload of a job of the given type (NULL: unknown): for "http",
 * the credential headers' values and the URL's userinfo. Other types are left as they
 * are. */
void jq_redact_payload(const char *type, json_t *payload);

/* 1 if a header name is one that carries credentials (Authorization,
 * Proxy-Authorization, Cookie), name_len bytes of it. */
int jq_redact_header_name(const char *name, size_t name_len);

/* url with its userinfo (between "://" and the '@' before the host) replaced by
 * JQ_REDACTED, as a new string (malloc), or NULL when it has none (or out of memory). */
char *jq_redact_url(const char *url);

#endif
