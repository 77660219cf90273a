/* job.h: the job model: states, what a client may ask for, and the seed's status string.
 *
 * A job lives in Redis as a hash (fields listed in docs/redis.md) plus its id
 * in a queue list. This module knows the fields and their limits; it knows
 * nothing of Redis connections or HTTP. */
#ifndef JQ_JOB_H
#define JQ_JOB_H

#include <jansson.h>
#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#include "keys.h"

/* Defaults are not stored in the job hash; the Lua scripts know them too. */
#define JQ_DEFAULT_QUEUE "default"
#define JQ_DEFAULT_MAX_ATTEMPTS 3
#define JQ_MAX_ATTEMPTS_LIMIT 100
/* priority: 0 (the default) to 9; a higher one runs first within its queue */
#define JQ_PRIORITY_MAX 9
#define JQ_TIMEOUT_MS_LIMIT (7LL * 24 * 3600 * 1000)
#define JQ_DELAY_MS_LIMIT (366LL * 24 * 3600 * 1000)
/* An Idempotency-Key: 1 to this many printable ASCII characters, no spaces */
#define JQ_IDEMPOTENCY_KEY_MAX 200
/* A W3C traceparent as stored: version-trace_id-parent_id-flags */
#define JQ_TRACEPARENT_LEN 55
/* A unique_key: 1 to this many printable ASCII characters, no spaces */
#define JQ_UNIQUE_KEY_MAX 200
/* a job's secrets (docs/api.md "Secrets"): at most this many, names of at most
 * JQ_SECRET_NAME_MAX of [A-Za-z0-9_], values of at most JQ_SECRET_VALUE_MAX bytes */
#define JQ_SECRETS_MAX 16
#define JQ_SECRET_NAME_MAX 64
#define JQ_SECRET_VALUE_MAX 4096

enum jq_state {
	JQ_STATE_PENDING,
	JQ_STATE_SCHEDULED,
	JQ_STATE_RUNNING,
	JQ_STATE_COMPLETED,
	JQ_STATE_FAILED,
	JQ_STATE_CANCELLED,
};

const char *jq_state_name(enum jq_state s);
/* -1 if name is no state. */
int jq_state_parse(const char *name, size_t len, enum jq_state *out);

/* What a client asks for: the validated envelope and the payload envelope bytes. */
struct jq_job_spec {
	char type[JQ_TYPE_NAME_MAX + 1];
	char queue[JQ_QUEUE_NAME_MAX + 1];
	int64_t priority;     /* 0..JQ_PRIORITY_MAX: higher runs first within the queue */
	int64_t max_attempts; /* 1..JQ_MAX_ATTEMPTS_LIMIT */
	int64_t timeout_ms;   /* 0 = no timeout */
	int64_t delay_ms;     /* run this long after enqueue (0: at once) */
	int64_t run_at_ms;    /* or at this wall-clock time, epoch ms (0: not set) */
	char traceparent[JQ_TRACEPARENT_LEN + 1]; /* W3C trace context of the request, or "" */
	msgpack_sbuffer payload;                  /* [version, value]; owned, freed by _release */
	/* "" or a key no other live (pending, scheduled, running) job may hold */
	char unique_key[JQ_UNIQUE_KEY_MAX + 1];
	/* set by the cron firer only (never from a request): the schedule that made
	 * the job and the tick it was made for, epoch ms; "" and 0 otherwise */
	char schedule[JQ_QUEUE_NAME_MAX + 1];
	int64_t schedule_tick_ms;
	/* the job's secrets as a msgpack map of name -> string (checked), or NULL; owned,
	 * freed by _release. Stored in a hash field of their own, handed to the worker, and
	 * never shown by any read (redact.h) */
	char *secrets;
	size_t secrets_len;
};

/* Sets the defaults and an empty payload buffer. */
void jq_job_spec_init(struct jq_job_spec *s);
void jq_job_spec_release(struct jq_job_spec *s);

/* Fills s from a JSON object {"type", "payload"?, "queue"?, "priority"?,
 * "max_attempts"?, "timeout_ms"?, "delay_ms"? or "run_at"? (epoch ms, or an
 * RFC 3339 UTC string), "unique_key"?}; unknown fields are refused. s must have
 * been _init'ed; on error err says which field and why. */
int jq_job_spec_from_json(struct jq_job_spec *s, const json_t *obj, char *err, size_t errlen);
/* The same from a msgpack map (application/msgpack body), payload kept as sent. */
int jq_job_spec_from_msgpack(struct jq_job_spec *s, const char *data, size_t len, char *err,
			     size_t errlen);
/* The same from the msgpack of a JSON job object as jq_json_to_msgpack() wrote it
 * (json_mp.h: well-formed, its payload at most JQ_CODEC_MAX_DEPTH deep): the JSON
 * rules, without a JSON tree. */
int jq_job_spec_from_packed_json(struct jq_job_spec *s, const char *data, size_t len, char *err,
				 size_t errlen);
/* The jobs of a JSON array (POST /jobs/bulk) as jq_json_to_msgpack() wrote it: a new
 * array of *n specs (jq_job_spec_release each, then free it), or NULL with err and *bad:
 * the index of the job at fault, -1 when data is no array of 1 to max jobs, -2 when out
 * of memory. */
struct jq_job_spec *jq_job_specs_from_packed_json(const char *data, size_t len, size_t max,
						  size_t *n, long *bad, char *err, size_t errlen);

/* 1 if s is a valid W3C Trace Context traceparent header (level 1): version 00 is
 * exactly 55 characters; a later version may carry more after a '-', which is not kept.
 * Lowercase hex; trace and parent ids not all zeros; version ff is invalid. */
int jq_traceparent_valid(const char *s);

/* Idempotency-Keys starting with this are jobq's own (periodic schedules' ticks). */
#define JQ_IDEMPOTENCY_RESERVED "cron:"
/* 1 if key is a valid Idempotency-Key: 1 to JQ_IDEMPOTENCY_KEY_MAX printable
 * ASCII characters, no spaces, not starting with JQ_IDEMPOTENCY_RESERVED. */
int jq_idempotency_key_valid(const char *key);

/* 1 if s is a plausible email address: local@domain, at most 254 bytes,
 * printable ASCII without spaces or specials, a dotted domain. */
int jq_email_valid(const char *s);

/* The seed's status string: "pending", "running", "progress: 2/5", "completed",
 * "failed: <reason>", "cancelled". state is a state name as stored. */
void jq_job_status(char *buf, size_t cap, const char *state, int64_t done, int64_t total,
		   const char *error);

#endif
