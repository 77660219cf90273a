/* jobtypes.c: the built-in job types and their payload rules; see jobtypes.h. */
#include "jobtypes.h"

#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "exec_request.h"
#include "http_request.h"

int jq_progress_payload(const msgpack_object *payload, struct jq_progress_payload *out, char *err,
			size_t errlen)
{
	out->duration_s = 0;
	out->interval_ms = JQ_PROGRESS_INTERVAL_DEFAULT_MS;
	if (jq_mp_get_i64(payload, "duration", &out->duration_s) != 0 || out->duration_s < 0 ||
	    out->duration_s > JQ_PROGRESS_DURATION_MAX) {
		snprintf(err, errlen, "'duration' must be an integer from 0 to %d",
			 JQ_PROGRESS_DURATION_MAX);
		return -1;
	}
	if (jq_mp_get(payload, "interval_ms") &&
	    (jq_mp_get_i64(payload, "interval_ms", &out->interval_ms) != 0 ||
	     out->interval_ms < 1 || out->interval_ms > JQ_PROGRESS_INTERVAL_MAX_MS)) {
		snprintf(err, errlen, "'interval_ms' must be an integer from 1 to %d",
			 JQ_PROGRESS_INTERVAL_MAX_MS);
		return -1;
	}
	return 0;
}

int jq_hash_payload(const msgpack_object *payload, struct jq_hash_payload *out, char *err,
		    size_t errlen)
{
	out->repeat = 1;
	if (jq_mp_get_str(payload, "data", &out->data, &out->len) != 0) {
		snprintf(err, errlen, "'data' must be a string");
		return -1;
	}
	if (jq_mp_get(payload, "repeat") && (jq_mp_get_i64(payload, "repeat", &out->repeat) != 0 ||
					     out->repeat < 1 || out->repeat > JQ_HASH_REPEAT_MAX)) {
		snprintf(err, errlen, "'repeat' must be an integer from 1 to %d",
			 JQ_HASH_REPEAT_MAX);
		return -1;
	}
	if ((long long)out->len * out->repeat > JQ_HASH_TOTAL_BYTES_MAX) {
		snprintf(err, errlen, "data times repeat exceeds %lld bytes",
			 JQ_HASH_TOTAL_BYTES_MAX);
		return -1;
	}
	return 0;
}

static int has_ctl(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 1;
	return 0;
}

int jq_email_payload(const msgpack_object *payload, struct jq_email_payload *out, char *err,
		     size_t errlen)
{
	memset(out, 0, sizeof(*out));
	out->subject = out->body = "";
	const char *to;
	size_t n;
	if (jq_mp_get_str(payload, "to", &to, &n) != 0 || n == 0 || n > JQ_EMAIL_ADDR_MAX ||
	    has_ctl(to, n) || !memchr(to, '@', n) || memchr(to, ' ', n) || memchr(to, '<', n) ||
	    memchr(to, '>', n)) {
		snprintf(err, errlen, "'to' must be an email address");
		return -1;
	}
	out->to = to;
	out->to_len = n;
	if (jq_mp_get(payload, "subject") &&
	    (jq_mp_get_str(payload, "subject", &out->subject, &out->subject_len) != 0 ||
	     out->subject_len > JQ_EMAIL_SUBJECT_MAX || has_ctl(out->subject, out->subject_len))) {
		snprintf(err, errlen, "'subject' must be one line of text");
		return -1;
	}
	if (jq_mp_get(payload, "body") &&
	    (jq_mp_get_str(payload, "body", &out->body, &out->body_len) != 0 ||
	     out->body_len > JQ_EMAIL_BODY_MAX)) {
		snprintf(err, errlen, "'body' must be text of at most %d bytes", JQ_EMAIL_BODY_MAX);
		return -1;
	}
	const msgpack_object *sync = jq_mp_get(payload, "sync");
	if (sync && sync->type != MSGPACK_OBJECT_BOOLEAN) {
		snprintf(err, errlen, "'sync' must be true or false");
		return -1;
	}
	out->sync = sync && sync->via.boolean;
	return 0;
}

static int check_noop(const msgpack_object *p, char *err, size_t errlen)
{
	return 0;
}

static int check_progress(const msgpack_object *p, char *err, size_t errlen)
{
	struct jq_progress_payload v;
	return jq_progress_payload(p, &v, err, errlen);
}

static int check_hash(const msgpack_object *p, char *err, size_t errlen)
{
	struct jq_hash_payload v;
	return jq_hash_payload(p, &v, err, errlen);
}

static int check_email(const msgpack_object *p, char *err, size_t errlen)
{
	struct jq_email_payload v;
	return jq_email_payload(p, &v, err, errlen);
}

static int check_http(const msgpack_object *p, char *err, size_t errlen)
{
	struct jq_httpjob_request r;
	if (jq_httpjob_request_parse(&r, p, err, errlen) != 0)
		return -1;
	jq_httpjob_request_release(&r);
	return 0;
}

static int check_exec(const msgpack_object *p, char *err, size_t errlen)
{
	struct jq_exec_request r;
	if (jq_exec_request_parse(&r, p, err, errlen) != 0)
		return -1;
	jq_exec_request_release(&r);
	return 0;
}

static const struct {
	const char *name;
	int (*check)(const msgpack_object *payload, char *err, size_t errlen);
} types[] = {
	{"noop", check_noop}, {"progress", check_progress}, {"email", check_email},
	{"hash", check_hash}, {"http", check_http},         {"exec", check_exec},
};
#define N_TYPES (sizeof(types) / sizeof(types[0]))

static int find(const char *type)
{
	for (size_t i = 0; i < N_TYPES; i++)
		if (strcmp(types[i].name, type) == 0)
			return (int)i;
	return -1;
}

int jq_jobtype_known(const char *type)
{
	return find(type) >= 0;
}

const char *jq_jobtype_names(void)
{
	return "noop, progress, email, hash, http, exec";
}

int jq_jobtype_check(const char *type, const msgpack_object *payload, char *err, size_t errlen)
{
	int i = find(type);
	if (i < 0) {
		snprintf(err, errlen, "unknown job type '%s' (the types are %s)", type,
			 jq_jobtype_names());
		return -1;
	}
	static const msgpack_object nil = {.type = MSGPACK_OBJECT_NIL};
	char why[512];
	if (types[i].check(payload ? payload : &nil, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "'payload' of a %s job: %s", type, why);
		return -1;
	}
	return 0;
}
