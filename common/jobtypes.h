/* jobtypes.h: the built-in job types and the rules of their payloads.
 *
 * One set of rules for both sides: the broker refuses an unknown type or a payload its
 * type cannot run with 400 at enqueue (job.c calls jq_jobtype_check for every job of
 * every route, and so does libjobq-client), and each worker handler reads its payload
 * through the same functions, so a bad job that reaches a worker anyway (stored by an
 * older broker, or written into Redis by hand) still fails at once, never retried.
 *
 * The types are the worker's table (worker/handlers.c), a fixed set: jobq has no
 * plug-in handlers, so a type outside it is a typo. Whether an exec job's command is
 * allowed stays the worker's to judge (its --exec list); the broker checks the shape. */
#ifndef JQ_JOBTYPES_H
#define JQ_JOBTYPES_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#define JQ_PROGRESS_DURATION_MAX 86400 /* seconds */
#define JQ_PROGRESS_INTERVAL_DEFAULT_MS 1000
#define JQ_PROGRESS_INTERVAL_MAX_MS 3600000
#define JQ_HASH_REPEAT_MAX 10000000
#define JQ_HASH_TOTAL_BYTES_MAX (1LL << 32) /* bounds the CPU one job may take */
#define JQ_EMAIL_ADDR_MAX 254
#define JQ_EMAIL_SUBJECT_MAX 998
#define JQ_EMAIL_BODY_MAX (1024 * 1024)

/* 1 if type names a built-in job type. */
int jq_jobtype_known(const char *type);
/* The built-in types, for messages: "noop, progress, email, hash, http, exec". */
const char *jq_jobtype_names(void);
/* 0 if payload (NULL, or nil: none given) is one a job of type can run with; -1 with
 * the reason in err: an unknown type, or what is wrong with the payload. */
int jq_jobtype_check(const char *type, const msgpack_object *payload, char *err, size_t errlen);

/* progress (the seed's long task): {"duration": 0..JQ_PROGRESS_DURATION_MAX seconds,
 * "interval_ms"?: 1..JQ_PROGRESS_INTERVAL_MAX_MS (default 1000)}. */
struct jq_progress_payload {
	int64_t duration_s, interval_ms;
};
int jq_progress_payload(const msgpack_object *payload, struct jq_progress_payload *out, char *err,
			size_t errlen);

/* hash (the seed's compute_hash): {"data": string, "repeat"?: 1..JQ_HASH_REPEAT_MAX},
 * at most JQ_HASH_TOTAL_BYTES_MAX bytes hashed in all. data points into payload. */
struct jq_hash_payload {
	const char *data;
	size_t len;
	int64_t repeat;
};
int jq_hash_payload(const msgpack_object *payload, struct jq_hash_payload *out, char *err,
		    size_t errlen);

/* email: {"to": an address, "subject"?: one line, "body"?: text, "sync"?: bool}. The
 * strings point into payload ("" when absent). */
struct jq_email_payload {
	const char *to, *subject, *body;
	size_t to_len, subject_len, body_len;
	int sync;
};
int jq_email_payload(const msgpack_object *payload, struct jq_email_payload *out, char *err,
		     size_t errlen);

#endif
