/* job_json.c: a job hash as the JSON of GET /jobs/{id}; see job_json.h. */
#include "job_json.h"

#include <string.h>

#include "codec.h"
#include "job.h"
#include "redact.h"
#include "util.h"

static json_t *time_or_null(const char *ms)
{
	int64_t v;
	if (!ms || jq_parse_i64(ms, 0, INT64_MAX, &v) != 0)
		return json_null();
	char buf[32];
	jq_format_rfc3339(v, buf);
	return json_string(buf);
}

static json_t *int_field(const char *s)
{
	int64_t v = 0;
	if (s)
		jq_parse_i64(s, INT64_MIN, INT64_MAX, &v);
	return json_integer(v);
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static const char *field_get(const char *f[][2], size_t nf, const char *name)
{
	for (size_t i = 0; i < nf; i++)
		if (f[i][0] && strcmp(f[i][0], name) == 0)
			return f[i][1];
	return NULL;
}

/* The stored payload (an envelope, or NULL) as JSON, redacted for a job of type; null
 * when absent or unreadable. */
static json_t *payload_view(const char *type, const redisReply *payload)
{
	json_t *payload_json = json_null();
	if (payload) {
		msgpack_unpacked up;
		const msgpack_object *v;
		char err[128];
		if (jq_payload_unpack(payload->str, payload->len, &up, &v, err, sizeof(err)) == 0) {
			json_t *pj = jq_msgpack_to_json(v, err, sizeof(err));
			jq_redact_payload(type, pj); /* no credential in any view */
			if (pj) {
				json_decref(payload_json);
				payload_json = pj;
			}
			msgpack_unpacked_destroy(&up);
		}
	}
	return payload_json;
}

/* The stored result: its JSON, or the text as a string when it is not JSON; null. */
static json_t *result_view(const char *text)
{
	if (!text)
		return json_null();
	json_t *rj = json_loads(text, JSON_DECODE_ANY, NULL);
	return rj ? rj : json_string(text);
}

/* The stored error history: its JSON array, or [] */
static json_t *errors_view(const char *text)
{
	json_t *errors = text ? json_loads(text, 0, NULL) : NULL;
	if (json_is_array(errors))
		return errors;
	json_decref(errors);
	return json_array();
}

json_t *jq_job_json(int64_t id, const redisReply *r)
{
	/* HGETALL: name, value, name, value ... */
	const char *f[32][2];
	size_t nf = 0;
	const redisReply *payload = NULL;
	for (size_t i = 0; i + 1 < r->elements && nf < 32; i += 2) {
		f[nf][0] = r->element[i]->str;
		f[nf][1] = r->element[i + 1]->str;
		if (strcmp(f[nf][0], "payload") == 0)
			payload = r->element[i + 1];
		nf++;
	}
#define FIELD(name) field_get(f, nf, name)
	const char *state = FIELD("state");
	char status[600];
	int64_t done = 0, total = 0;
	if (FIELD("done"))
		jq_parse_i64(FIELD("done"), 0, INT64_MAX, &done);
	if (FIELD("total"))
		jq_parse_i64(FIELD("total"), 0, INT64_MAX, &total);
	jq_job_status(status, sizeof(status), state ? state : "unknown", done, total,
		      FIELD("error"));

	json_t *payload_json = payload_view(FIELD("type"), payload);
	json_t *result = result_view(FIELD("result"));
	json_t *j = json_object();
	json_object_set_new(j, "id", json_integer(id));
	json_object_set_new(j, "type", str_or_null(FIELD("type")));
	json_object_set_new(j, "queue",
			    json_string(FIELD("queue") ? FIELD("queue") : JQ_DEFAULT_QUEUE));
	json_object_set_new(j, "state", str_or_null(state));
	json_object_set_new(j, "status", json_string(status));
	json_object_set_new(
		j, "progress",
		json_pack("{s:I,s:I}", "done", (json_int_t)done, "total", (json_int_t)total));
	json_object_set_new(j, "attempts", int_field(FIELD("attempts")));
	json_object_set_new(j, "max_attempts",
			    FIELD("max_attempts") ? int_field(FIELD("max_attempts"))
						  : json_integer(JQ_DEFAULT_MAX_ATTEMPTS));
	json_object_set_new(j, "priority", int_field(FIELD("priority")));
	json_object_set_new(j, "timeout_ms", int_field(FIELD("timeout_ms")));
	json_object_set_new(j, "payload", payload_json);
	json_object_set_new(j, "result", result);
	json_object_set_new(j, "error", str_or_null(FIELD("error")));
	json_object_set_new(j, "errors", errors_view(FIELD("errors")));
	json_object_set_new(j, "recoveries", int_field(FIELD("recoveries")));
	json_object_set_new(j, "run_at", time_or_null(FIELD("run_at")));
	json_object_set_new(j, "unique_key", str_or_null(FIELD("unique_key")));
	json_object_set_new(j, "created_at", time_or_null(FIELD("created_at")));
	json_object_set_new(j, "started_at", time_or_null(FIELD("started_at")));
	json_object_set_new(j, "finished_at", time_or_null(FIELD("finished_at")));
	json_object_set_new(j, "worker", str_or_null(FIELD("worker")));
	/* POST /batches: the batch a job belongs to, or whose callback it is */
	json_object_set_new(j, "batch", FIELD("batch") ? int_field(FIELD("batch")) : json_null());
	json_object_set_new(j, "callback_of",
			    FIELD("callback_of") ? int_field(FIELD("callback_of")) : json_null());
	json_object_set_new(j, "traceparent", str_or_null(FIELD("traceparent")));
	/* a job a periodic schedule made: which, and for which tick */
	json_object_set_new(j, "schedule", str_or_null(FIELD("schedule")));
	json_object_set_new(j, "schedule_tick", time_or_null(FIELD("schedule_tick")));
#undef FIELD
	return j;
}
