/* test_job.c: unit tests of common/job.c: job specs from JSON and msgpack, states, status.
 *
 * One table of job bodies serves both formats: each row is JSON text, and the
 * msgpack variant is the same value packed here with msgpack-c's packer (not
 * with the codec under test). Rows that JSON cannot express (non-string keys,
 * bin, floats where JSON has none, ...) are hand-encoded bytes in their own table. */
#include <stdint.h>
#include <stdlib.h>

#include "codec.h"
#include "job.h"
#include "json_mp.h"
#include "unit.h"

/* ---- helpers ---- */

/* The test's own JSON -> msgpack packer. */
static void pack(msgpack_packer *pk, const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_NULL: msgpack_pack_nil(pk); break;
	case JSON_TRUE: msgpack_pack_true(pk); break;
	case JSON_FALSE: msgpack_pack_false(pk); break;
	case JSON_INTEGER: msgpack_pack_int64(pk, json_integer_value(v)); break;
	case JSON_REAL: msgpack_pack_double(pk, json_real_value(v)); break;
	case JSON_STRING:
		msgpack_pack_str_with_body(pk, json_string_value(v), json_string_length(v));
		break;
	case JSON_ARRAY: {
		size_t i;
		json_t *item;
		msgpack_pack_array(pk, json_array_size(v));
		json_array_foreach(v, i, item) pack(pk, item);
		break;
	}
	case JSON_OBJECT: {
		const char *key;
		json_t *item;
		msgpack_pack_map(pk, json_object_size(v));
		json_object_foreach((json_t *)v, key, item)
		{
			msgpack_pack_str_with_body(pk, key, strlen(key));
			pack(pk, item);
		}
		break;
	}
	}
}

static json_t *load(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &e);
	if (!j)
		fprintf(stderr, "test bug: cannot load JSON '%.80s': %s\n", text, e.text);
	return j;
}

/* The value inside a spec's payload envelope, as compact JSON (caller frees), or NULL. */
static char *payload_json(const struct jq_job_spec *s)
{
	msgpack_unpacked up;
	const msgpack_object *val = NULL;
	char err[256] = "";
	if (jq_payload_unpack(s->payload.data, s->payload.size, &up, &val, err, sizeof(err)) != 0)
		return NULL;
	json_t *j = jq_msgpack_to_json(val, err, sizeof(err));
	char *text = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
	json_decref(j);
	msgpack_unpacked_destroy(&up);
	return text;
}

/* A value depth deep (containers on the deepest path, see test_codec.c):
 * depth arrays around a 1. */
static char *nested(int depth)
{
	size_t cap = (size_t)depth * 2 + 8, n = 0;
	char *s = malloc(cap);
	if (!s)
		abort();
	for (int i = 0; i < depth; i++)
		s[n++] = '[';
	s[n++] = '1';
	for (int i = 0; i < depth; i++)
		s[n++] = ']';
	s[n] = '\0';
	return s;
}

#define T64 "tttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt"

/* ---- one table, two formats ---- */

struct spec_case {
	const char *what;
	const char *json;
	const char *msg; /* NULL: accepted; else a part of the error (same in both formats) */
	/* when accepted: */
	const char *type, *queue;
	int64_t priority, max_attempts, timeout_ms;
	const char *payload; /* compact JSON of the stored payload value */
};

static const struct spec_case spec_cases[] = {
	{"minimal, defaults", "{\"type\":\"noop\"}", NULL, "noop", "default", 0, 3, 0, "null"},
	{"full",
	 "{\"type\":\"hash\",\"payload\":{\"data\":\"x\",\"repeat\":2},\"queue\":\"cpu\","
	 "\"priority\":0,\"max_attempts\":100,\"timeout_ms\":604800000}",
	 NULL, "hash", "cpu", 0, 100, 604800000, "{\"data\":\"x\",\"repeat\":2}"},
	{"fields in another order",
	 "{\"timeout_ms\":0,\"max_attempts\":1,\"priority\":9,\"queue\":\"q.1:a-b_C\","
	 "\"payload\":[1,\"\\u00e9\",null],\"type\":\"noop\"}",
	 NULL, "noop", "q.1:a-b_C", 9, 1, 0, "[1,\"\xc3\xa9\",null]"},
	/* a type name of the right form that is no built-in type (jobtypes.h) */
	{"type of other characters", "{\"type\":\"A-Z_a.z:0-9\"}",
	 "unknown job type 'A-Z_a.z:0-9' (the types are noop, progress, email, hash, http, exec)",
	 NULL, NULL, 0, 0, 0, NULL},
	{"hash without data", "{\"type\":\"hash\",\"payload\":{\"repeat\":2}}",
	 "'payload' of a hash job: 'data' must be a string", NULL, NULL, 0, 0, 0, NULL},
	{"progress without payload", "{\"type\":\"progress\"}",
	 "'payload' of a progress job: 'duration' must be an integer from 0 to 86400", NULL, NULL,
	 0, 0, 0, NULL},
	{"explicit null payload", "{\"type\":\"noop\",\"payload\":null}", NULL, "noop", "default",
	 0, 3, 0, "null"},
	{"string payload", "{\"type\":\"noop\",\"payload\":\"hi\"}", NULL, "noop", "default", 0, 3,
	 0, "\"hi\""},
	{"type of 64 characters", "{\"type\":\"" T64 "\"}", "unknown job type '" T64 "'", NULL,
	 NULL, 0, 0, 0, NULL},
	{"queue of 64 characters", "{\"type\":\"noop\",\"queue\":\"" T64 "\"}", NULL, "noop", T64,
	 0, 3, 0, "null"},

	{"not an object: array", "[]", "a job must be a", NULL, NULL, 0, 0, 0, NULL},
	{"not an object: string", "\"noop\"", "a job must be a", NULL, NULL, 0, 0, 0, NULL},
	{"not an object: null", "null", "a job must be a", NULL, NULL, 0, 0, 0, NULL},
	{"not an object: number", "5", "a job must be a", NULL, NULL, 0, 0, 0, NULL},
	{"empty object", "{}", "'type' is required", NULL, NULL, 0, 0, 0, NULL},
	{"missing type", "{\"payload\":{},\"queue\":\"q\"}", "'type' is required", NULL, NULL, 0, 0,
	 0, NULL},
	{"type a number", "{\"type\":1}", "'type' must be a string", NULL, NULL, 0, 0, 0, NULL},
	{"type null", "{\"type\":null}", "'type' must be a string", NULL, NULL, 0, 0, 0, NULL},
	{"type an array", "{\"type\":[\"noop\"]}", "'type' must be a string", NULL, NULL, 0, 0, 0,
	 NULL},
	{"type empty", "{\"type\":\"\"}", "'type' must be 1 to 64 characters", NULL, NULL, 0, 0, 0,
	 NULL},
	{"type with a space", "{\"type\":\"a b\"}", "'type' must be 1 to 64 characters", NULL, NULL,
	 0, 0, 0, NULL},
	{"type with a slash", "{\"type\":\"a/b\"}", "'type' must be 1 to 64 characters", NULL, NULL,
	 0, 0, 0, NULL},
	{"type not ascii", "{\"type\":\"caf\\u00e9\"}", "'type' must be 1 to 64 characters", NULL,
	 NULL, 0, 0, 0, NULL},
	{"type of 65 characters", "{\"type\":\"" T64 "t\"}", "'type' must be 1 to 64 characters",
	 NULL, NULL, 0, 0, 0, NULL},
	{"queue empty", "{\"type\":\"noop\",\"queue\":\"\"}", "'queue' must be 1 to 64 characters",
	 NULL, NULL, 0, 0, 0, NULL},
	{"queue of 65 characters", "{\"type\":\"noop\",\"queue\":\"" T64 "q\"}",
	 "'queue' must be 1 to 64 characters", NULL, NULL, 0, 0, 0, NULL},
	{"queue a number", "{\"type\":\"noop\",\"queue\":5}", "'queue' must be a string", NULL,
	 NULL, 0, 0, 0, NULL},
	{"unknown field", "{\"type\":\"noop\",\"foo\":1}", "unknown field 'foo'", NULL, NULL, 0, 0,
	 0, NULL},
	{"field names are case-sensitive", "{\"type\":\"noop\",\"Type\":\"t\"}",
	 "unknown field 'Type'", NULL, NULL, 0, 0, 0, NULL},
	{"long unknown field",
	 "{\"type\":\"noop\",\"a_very_long_field_name_that_is_not_known_at_all\":1}",
	 "unknown field", NULL, NULL, 0, 0, 0, NULL},
	{"max_attempts 0", "{\"type\":\"noop\",\"max_attempts\":0}",
	 "'max_attempts' must be an integer from 1 to 100", NULL, NULL, 0, 0, 0, NULL},
	{"max_attempts 101", "{\"type\":\"noop\",\"max_attempts\":101}",
	 "'max_attempts' must be an integer from 1 to 100", NULL, NULL, 0, 0, 0, NULL},
	{"max_attempts -1", "{\"type\":\"noop\",\"max_attempts\":-1}",
	 "'max_attempts' must be an integer from 1 to 100", NULL, NULL, 0, 0, 0, NULL},
	{"max_attempts a string", "{\"type\":\"noop\",\"max_attempts\":\"3\"}",
	 "'max_attempts' must be an integer", NULL, NULL, 0, 0, 0, NULL},
	{"max_attempts 1.5", "{\"type\":\"noop\",\"max_attempts\":1.5}",
	 "'max_attempts' must be an integer", NULL, NULL, 0, 0, 0, NULL},
	{"max_attempts 3.0", "{\"type\":\"noop\",\"max_attempts\":3.0}",
	 "'max_attempts' must be an integer", NULL, NULL, 0, 0, 0, NULL},
	{"max_attempts true", "{\"type\":\"noop\",\"max_attempts\":true}",
	 "'max_attempts' must be an integer", NULL, NULL, 0, 0, 0, NULL},
	{"max_attempts null", "{\"type\":\"noop\",\"max_attempts\":null}",
	 "'max_attempts' must be an integer", NULL, NULL, 0, 0, 0, NULL},
	{"timeout_ms negative", "{\"type\":\"noop\",\"timeout_ms\":-1}",
	 "'timeout_ms' must be an integer from 0 to 604800000", NULL, NULL, 0, 0, 0, NULL},
	{"timeout_ms above a week", "{\"type\":\"noop\",\"timeout_ms\":604800001}",
	 "'timeout_ms' must be an integer from 0 to 604800000", NULL, NULL, 0, 0, 0, NULL},
	{"timeout_ms INT64_MIN", "{\"type\":\"noop\",\"timeout_ms\":-9223372036854775808}",
	 "'timeout_ms' must be an integer from 0 to 604800000", NULL, NULL, 0, 0, 0, NULL},
	{"priority 1", "{\"type\":\"noop\",\"priority\":1}", NULL, "noop", "default", 1, 3, 0,
	 "null"},
	{"priority 10", "{\"type\":\"noop\",\"priority\":10}",
	 "'priority' must be an integer from 0 to 9", NULL, NULL, 0, 0, 0, NULL},
	{"priority -1", "{\"type\":\"noop\",\"priority\":-1}",
	 "'priority' must be an integer from 0 to 9", NULL, NULL, 0, 0, 0, NULL},
	{"priority 1000 (the old limit)", "{\"type\":\"noop\",\"priority\":1000}",
	 "'priority' must be an integer from 0 to 9", NULL, NULL, 0, 0, 0, NULL},
	{"priority 9.5", "{\"type\":\"noop\",\"priority\":9.5}", "'priority' must be an integer",
	 NULL, NULL, 0, 0, 0, NULL},
	{"unique_key a number", "{\"type\":\"noop\",\"unique_key\":1}",
	 "'unique_key' must be a string", NULL, NULL, 0, 0, 0, NULL},
	{"unique_key empty", "{\"type\":\"noop\",\"unique_key\":\"\"}",
	 "'unique_key' must be 1 to 200 printable", NULL, NULL, 0, 0, 0, NULL},
	{"unique_key with a space", "{\"type\":\"noop\",\"unique_key\":\"a b\"}",
	 "'unique_key' must be 1 to 200 printable", NULL, NULL, 0, 0, 0, NULL},
	{"unique_key not ascii", "{\"type\":\"noop\",\"unique_key\":\"caf\\u00e9\"}",
	 "'unique_key' must be 1 to 200 printable", NULL, NULL, 0, 0, 0, NULL},
	{"unique_key with a tab", "{\"type\":\"noop\",\"unique_key\":\"a\\tb\"}",
	 "'unique_key' must be 1 to 200 printable", NULL, NULL, 0, 0, 0, NULL},
	{"priority a string", "{\"type\":\"noop\",\"priority\":\"1\"}",
	 "'priority' must be an integer", NULL, NULL, 0, 0, 0, NULL},
};

static void check_spec(const struct spec_case *c, int rc, const struct jq_job_spec *s,
		       const char *err)
{
	CHECK_INT_EQ(rc, c->msg ? -1 : 0);
	if (c->msg) {
		CHECK_CONTAINS(err, c->msg);
		return;
	}
	CHECK_STR_EQ(err, "");
	CHECK_STR_EQ(s->type, c->type);
	CHECK_STR_EQ(s->queue, c->queue);
	CHECK_INT_EQ(s->priority, c->priority);
	CHECK_INT_EQ(s->max_attempts, c->max_attempts);
	CHECK_INT_EQ(s->timeout_ms, c->timeout_ms);
	char *p = payload_json(s);
	CHECK_STR_EQ(p, c->payload);
	free(p);
}

static void test_spec_from_json(void)
{
	for (size_t i = 0; i < sizeof(spec_cases) / sizeof(spec_cases[0]); i++) {
		const struct spec_case *c = &spec_cases[i];
		UNIT_CASE("json: %s", c->what);
		json_t *obj = load(c->json);
		CHECK(obj != NULL);
		if (!obj)
			continue;
		struct jq_job_spec s;
		jq_job_spec_init(&s);
		char err[256] = "";
		int rc = jq_job_spec_from_json(&s, obj, err, sizeof(err));
		check_spec(c, rc, &s, err);
		jq_job_spec_release(&s);
		json_decref(obj);
		/* the same text through the one-pass path (POST /jobs, /jobs/bulk) */
		UNIT_CASE("packed json: %s", c->what);
		msgpack_sbuffer mp;
		msgpack_sbuffer_init(&mp);
		jq_job_spec_init(&s);
		err[0] = '\0';
		rc = jq_json_to_msgpack(c->json, strlen(c->json), 1 + JQ_CODEC_MAX_DEPTH, &mp, err,
					sizeof(err));
		CHECK_INT_EQ(rc, 0);
		if (rc == 0) {
			rc = jq_job_spec_from_packed_json(&s, mp.data, mp.size, err, sizeof(err));
			check_spec(c, rc, &s, err);
		}
		jq_job_spec_release(&s);
		msgpack_sbuffer_destroy(&mp);
	}
}

/* run_at as RFC 3339 with any number of fraction digits (the parser keeps ms), both ways */
static void test_spec_run_at_text(void)
{
	char body[256];
	snprintf(body, sizeof(body), "{\"type\":\"noop\",\"run_at\":\"2026-11-25T22:03:17.%sZ\"}",
		 "1234567890123456789012345678901234567890123456789012345678901234567890");
	json_t *obj = load(body);
	struct jq_job_spec s;
	char err[256] = "";
	jq_job_spec_init(&s);
	CHECK_INT_EQ(jq_job_spec_from_json(&s, obj, err, sizeof(err)), 0);
	CHECK_INT_EQ(s.run_at_ms, 1795644197123LL);
	jq_job_spec_release(&s);
	json_decref(obj);
	msgpack_sbuffer mp;
	msgpack_sbuffer_init(&mp);
	CHECK_INT_EQ(jq_json_to_msgpack(body, strlen(body), 32, &mp, err, sizeof(err)), 0);
	jq_job_spec_init(&s);
	CHECK_INT_EQ(jq_job_spec_from_packed_json(&s, mp.data, mp.size, err, sizeof(err)), 0);
	CHECK_INT_EQ(s.run_at_ms, 1795644197123LL);
	jq_job_spec_release(&s);
	msgpack_sbuffer_destroy(&mp);
}

static void test_spec_from_msgpack(void)
{
	for (size_t i = 0; i < sizeof(spec_cases) / sizeof(spec_cases[0]); i++) {
		const struct spec_case *c = &spec_cases[i];
		UNIT_CASE("msgpack: %s", c->what);
		json_t *obj = load(c->json);
		CHECK(obj != NULL);
		if (!obj)
			continue;
		msgpack_sbuffer body;
		msgpack_sbuffer_init(&body);
		msgpack_packer pk;
		msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
		pack(&pk, obj);
		struct jq_job_spec s;
		jq_job_spec_init(&s);
		char err[256] = "";
		int rc = jq_job_spec_from_msgpack(&s, body.data, body.size, err, sizeof(err));
		check_spec(c, rc, &s, err);
		jq_job_spec_release(&s);
		msgpack_sbuffer_destroy(&body);
		json_decref(obj);
	}
}

/* Bodies only msgpack can say. */
static void test_spec_msgpack_only(void)
{
	static const struct {
		const char *what;
		const char *bytes;
		size_t len;
		const char *msg;      /* NULL: accepted */
		const char *envelope; /* when accepted: the stored payload bytes */
		size_t envelope_len;
	} cases[] = {
		{"wide int encodings",
		 LIT("\x83\xa4type\xa4noop\xacmax_attempts"
		     "\xcd\x00\x05\xa8priority\xd1\x00\x09"),
		 NULL, LIT("\x92\x01\xc0")},
		{"bin payload kept", LIT("\x82\xa4type\xa4noop\xa7payload\xc4\x02\xff\xfe"), NULL,
		 LIT("\x92\x01\xc4\x02\xff\xfe")},
		{"map payload kept",
		 LIT("\x82\xa7payload\x81\xa1x\x92\x01\xa1\x61"
		     "\xa4type\xa4noop"),
		 NULL, LIT("\x92\x01\x81\xa1x\x92\x01\xa1\x61")},
		{"str8 type", LIT("\x81\xa4type\xd9\x04noop"), NULL, LIT("\x92\x01\xc0")},
		{"empty body", LIT(""), "truncated", NULL, 0},
		{"invalid byte", LIT("\xc1"), "0xc1", NULL, 0},
		{"truncated map", LIT("\x82\xa4type\xa4noop\xa7payload"), "truncated", NULL, 0},
		{"trailing bytes", LIT("\x81\xa4type\xa4noop\xc0"), "trailing bytes", NULL, 0},
		{"forged map length", LIT("\xdf\xff\xff\xff\xff\xa4type"), "claims more items",
		 NULL, 0},
		{"type not UTF-8", LIT("\x81\xa4type\xa2\xc3\x28"), "not valid UTF-8", NULL, 0},
		{"nil body", LIT("\xc0"), "a job must be a msgpack map", NULL, 0},
		{"array body", LIT("\x91\x81\xa4type\xa4noop"), "a job must be a msgpack map", NULL,
		 0},
		{"int key", LIT("\x82\xa4type\xa4noop\x01\x02"), "map keys must be strings", NULL,
		 0},
		{"bin key", LIT("\x81\xc4\x04type\xa1t"), "map keys must be strings", NULL, 0},
		{"type as bin", LIT("\x81\xa4type\xc4\x01t"), "'type' must be a string", NULL, 0},
		{"max_attempts float64 3.0",
		 LIT("\x82\xa4type\xa4noop\xacmax_attempts\xcb\x40\x08\x00\x00\x00\x00"
		     "\x00\x00"),
		 "'max_attempts' must be an integer", NULL, 0},
		{"max_attempts float32 1.5",
		 LIT("\x82\xa4type\xa4noop\xacmax_attempts\xca\x3f\xc0\x00\x00"),
		 "'max_attempts' must be an integer", NULL, 0},
		{"max_attempts uint64 max",
		 LIT("\x82\xa4type\xa4noop\xacmax_attempts"
		     "\xcf\xff\xff\xff\xff\xff\xff\xff\xff"),
		 "'max_attempts'", NULL, 0},
		{"max_attempts bin", LIT("\x82\xa4type\xa4noop\xacmax_attempts\xc4\x01\x03"),
		 "'max_attempts' must be an integer", NULL, 0},
		{"timeout_ms negative int8", LIT("\x82\xa4type\xa4noop\xaatimeout_ms\xd0\x80"),
		 "'timeout_ms' must be an integer from 0 to 604800000", NULL, 0},
		/* a NUL in a key or a string is refused, as JSON's \u0000 is: "type\0x" is
		 * neither "type" nor another field */
		{"key with a NUL after type", LIT("\x81\xa6type\0x\xa1t"), "NUL", NULL, 0},
		{"key with a NUL after queue", LIT("\x82\xa4type\xa4noop\xa7queue\0x\xa1q"), "NUL",
		 NULL, 0},
		{"NUL in a payload string",
		 LIT("\x82\xa4type\xa4noop\xa7payload\xa3"
		     "a\0b"),
		 "NUL", NULL, 0},
		{"NUL in a payload key",
		 LIT("\x82\xa4type\xa4noop\xa7payload\x81\xa3"
		     "a\0b\x01"),
		 "NUL", NULL, 0},
		/* a key twice anywhere: JSON refuses it; a reader keeping the first and one
		 * keeping the last would see two payloads */
		{"duplicate payload key",
		 LIT("\x82\xa4type\xa4noop\xa7payload\x82\xa1"
		     "a\x01\xa1"
		     "a\x02"),
		 "'a' twice", NULL, 0},
		{"duplicate payload key, str8 and fixstr",
		 LIT("\x82\xa4type\xa4noop\xa7payload\x82\xa1"
		     "a\x01\xd9\x01"
		     "a\x02"),
		 "'a' twice", NULL, 0},
		{"duplicate key in a map in an array",
		 LIT("\x82\xa4type\xa4noop\xa7payload\x91\x83\xa1x\x01\xa1y\x01\xa1x\x01"),
		 "'x' twice", NULL, 0},
		{"duplicate integer key",
		 LIT("\x82\xa4type\xa4noop\xa7payload\x82\x01\x01\x01\x02"), "twice", NULL, 0},
		{"duplicate type", LIT("\x82\xa4type\xa4noop\xa4type\xa1u"), "'type' twice", NULL,
		 0},
		/* each field is checked as it appears, not by its first occurrence */
		{"duplicate max_attempts, second a string",
		 LIT("\x83\xa4type\xa4noop\xacmax_attempts\x05\xacmax_attempts"
		     "\xa1x"),
		 "max_attempts", NULL, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("msgpack only: %s", cases[i].what);
		struct jq_job_spec s;
		jq_job_spec_init(&s);
		char err[256] = "";
		int rc = jq_job_spec_from_msgpack(&s, cases[i].bytes, cases[i].len, err,
						  sizeof(err));
		CHECK_INT_EQ(rc, cases[i].msg ? -1 : 0);
		if (cases[i].msg)
			CHECK_CONTAINS(err, cases[i].msg);
		else
			CHECK_MEM_EQ(s.payload.data, s.payload.size, cases[i].envelope,
				     cases[i].envelope_len);
		jq_job_spec_release(&s);
	}

	UNIT_CASE("msgpack only: wide int encodings values");
	struct jq_job_spec s;
	jq_job_spec_init(&s);
	char err[256] = "";
	CHECK_INT_EQ(jq_job_spec_from_msgpack(&s, cases[0].bytes, cases[0].len, err, sizeof(err)),
		     0);
	CHECK_INT_EQ(s.max_attempts, 5);
	CHECK_INT_EQ(s.priority, 9);
	jq_job_spec_release(&s);
}

/* A job accepted as msgpack must be one whose payload GET /jobs/{id} can show as
 * JSON (docs/api.md: payload is "any JSON value"): either the body is refused,
 * or the stored payload converts. */
static void test_spec_msgpack_payload_shown(void)
{
	static const struct {
		const char *what;
		const char *payload; /* msgpack bytes of the payload value */
		size_t len;
	} cases[] = {
		{"bin", LIT("\xc4\x01\x00")},
		{"ext", LIT("\xd4\x01\x00")},
		{"ext in a map", LIT("\x81\xa1\x65\xc7\x01\x05\x00")},
		{"int map key", LIT("\x81\x01\x02")},
		{"uint64 above INT64_MAX", LIT("\xcf\xff\xff\xff\xff\xff\xff\xff\xff")},
		{"NaN", LIT("\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00")},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("payload shown: %s", cases[i].what);
		msgpack_sbuffer body;
		msgpack_sbuffer_init(&body);
		static const char head[] = "\x82\xa4type\xa4noop\xa7payload";
		msgpack_sbuffer_write(&body, head, sizeof(head) - 1);
		msgpack_sbuffer_write(&body, cases[i].payload, cases[i].len);
		struct jq_job_spec s;
		jq_job_spec_init(&s);
		char err[256] = "";
		if (jq_job_spec_from_msgpack(&s, body.data, body.size, err, sizeof(err)) == 0) {
			char *p = payload_json(&s);
			CHECK(p != NULL);
			free(p);
		} else {
			CHECK(err[0] != '\0');
		}
		jq_job_spec_release(&s);
		msgpack_sbuffer_destroy(&body);
	}
}

/* The payload's depth limit is the same in both formats (the body map around it
 * does not count); see test_codec.c. */
#define M JQ_CODEC_MAX_DEPTH

static void test_spec_depth(void)
{
	static const struct {
		int depth;
		int ok;
	} cases[] = {{0, 1},     {1, 1},     {M - 1, 1}, {M, 1},
		     {M + 1, 0}, {M + 2, 0}, {M + 3, 0}, {100, 0}};
	char want[64];
	snprintf(want, sizeof(want), "nested deeper than %d", M);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *p = nested(cases[i].depth);
		size_t cap = strlen(p) + 64;
		char *text = malloc(cap);
		if (!text)
			abort();
		snprintf(text, cap, "{\"type\":\"noop\",\"payload\":%s}", p);
		json_t *obj = load(text);
		for (int fmt = 0; fmt < 2; fmt++) {
			UNIT_CASE("%s payload %d deep", fmt ? "msgpack" : "json", cases[i].depth);
			struct jq_job_spec s;
			jq_job_spec_init(&s);
			char err[256] = "";
			int rc;
			if (fmt == 0) {
				rc = jq_job_spec_from_json(&s, obj, err, sizeof(err));
			} else {
				msgpack_sbuffer body;
				msgpack_sbuffer_init(&body);
				msgpack_packer pk;
				msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
				pack(&pk, obj);
				rc = jq_job_spec_from_msgpack(&s, body.data, body.size, err,
							      sizeof(err));
				msgpack_sbuffer_destroy(&body);
			}
			CHECK_INT_EQ(rc, cases[i].ok ? 0 : -1);
			if (cases[i].ok) {
				char *got = payload_json(&s);
				CHECK_STR_EQ(got, p);
				free(got);
			} else {
				CHECK_CONTAINS(err, want);
			}
			jq_job_spec_release(&s);
		}
		json_decref(obj);
		free(text);
		free(p);
	}
}

/* ---- states and status strings ---- */

static void test_states(void)
{
	static const struct {
		enum jq_state s;
		const char *name;
	} cases[] = {
		{JQ_STATE_PENDING, "pending"}, {JQ_STATE_SCHEDULED, "scheduled"},
		{JQ_STATE_RUNNING, "running"}, {JQ_STATE_COMPLETED, "completed"},
		{JQ_STATE_FAILED, "failed"},   {JQ_STATE_CANCELLED, "cancelled"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("state %s", cases[i].name);
		CHECK_STR_EQ(jq_state_name(cases[i].s), cases[i].name);
		enum jq_state got = (enum jq_state)99;
		CHECK_INT_EQ(jq_state_parse(cases[i].name, strlen(cases[i].name), &got), 0);
		CHECK_INT_EQ(got, cases[i].s);
	}
	static const struct {
		const char *s;
		size_t len;
	} bad[] = {
		{LIT("")},     {LIT("Pending")}, {LIT("pend")},      {LIT("pendingx")},
		{LIT("done")}, {"pending", 4},   {LIT("pending\0")},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		UNIT_CASE("state parse bad row %zu", i);
		enum jq_state got = (enum jq_state)99;
		CHECK_INT_EQ(jq_state_parse(bad[i].s, bad[i].len, &got), -1);
		CHECK_INT_EQ(got, 99);
	}
}

static void test_status(void)
{
	static const struct {
		const char *state;
		int64_t done, total;
		const char *error;
		const char *want;
	} cases[] = {
		{"pending", 0, 0, NULL, "pending"},
		{"scheduled", 0, 0, NULL, "pending"},
		{"running", 0, 0, NULL, "running"},
		{"running", 0, 5, NULL, "running"},
		{"running", 2, 5, NULL, "progress: 2/5"},
		{"running", 5, 5, NULL, "progress: 5/5"},
		{"running", 3, 0, NULL, "running"},
		{"running", 1, 10000000000LL, NULL, "progress: 1/10000000000"},
		{"completed", 5, 5, NULL, "completed"},
		{"failed", 0, 0, "boom", "failed: boom"},
		{"failed", 1, 5, "handler 'x' timed out after 100 ms",
		 "failed: handler 'x' timed out after 100 ms"},
		{"failed", 0, 0, NULL, "failed: unknown error"},
		{"failed", 0, 0, "", "failed: unknown error"},
		{"cancelled", 0, 0, NULL, "cancelled"},
		{"pending", 2, 5, NULL, "pending"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("status %s %lld/%lld", cases[i].state, (long long)cases[i].done,
			  (long long)cases[i].total);
		char buf[128];
		jq_job_status(buf, sizeof(buf), cases[i].state, cases[i].done, cases[i].total,
			      cases[i].error);
		CHECK_STR_EQ(buf, cases[i].want);
	}
	/* a short buffer truncates, still NUL-terminated */
	UNIT_CASE("status truncated");
	char small[9];
	memset(small, 'x', sizeof(small));
	jq_job_status(small, sizeof(small), "running", 2, 5, NULL);
	CHECK_STR_EQ(small, "progress");
}

static void test_spec_init(void)
{
	struct jq_job_spec s;
	memset(&s, 0x55, sizeof(s));
	jq_job_spec_init(&s);
	CHECK_STR_EQ(s.type, "");
	CHECK_STR_EQ(s.queue, JQ_DEFAULT_QUEUE);
	CHECK_INT_EQ(s.priority, 0);
	CHECK_INT_EQ(s.max_attempts, JQ_DEFAULT_MAX_ATTEMPTS);
	CHECK_INT_EQ(s.timeout_ms, 0);
	CHECK_INT_EQ(s.payload.size, 0);
	CHECK_STR_EQ(s.unique_key, "");
	jq_job_spec_release(&s);
}

/* unique_key is kept as given, from both body formats, up to JQ_UNIQUE_KEY_MAX */
static void test_spec_unique_key(void)
{
	char key[JQ_UNIQUE_KEY_MAX + 2], json[JQ_UNIQUE_KEY_MAX + 64], err[256];
	for (int len = JQ_UNIQUE_KEY_MAX; len <= JQ_UNIQUE_KEY_MAX + 1; len++) {
		UNIT_CASE("json: unique_key of %d characters", len);
		memset(key, '~', (size_t)len);
		key[len] = '\0';
		snprintf(json, sizeof(json), "{\"type\":\"noop\",\"unique_key\":\"%s\"}", key);
		json_t *obj = json_loads(json, 0, NULL);
		struct jq_job_spec s;
		jq_job_spec_init(&s);
		err[0] = '\0';
		int rc = jq_job_spec_from_json(&s, obj, err, sizeof(err));
		CHECK_INT_EQ(rc, len <= JQ_UNIQUE_KEY_MAX ? 0 : -1);
		CHECK_STR_EQ(s.unique_key, rc == 0 ? key : "");
		json_decref(obj);
		jq_job_spec_release(&s);
	}
	UNIT_CASE("msgpack: unique_key");
	struct jq_job_spec s;
	jq_job_spec_init(&s);
	CHECK_INT_EQ(jq_job_spec_from_msgpack(&s, LIT("\x82\xa4type\xa4noop\xaaunique_key\xa3k:1"),
					      err, sizeof(err)),
		     0);
	CHECK_STR_EQ(s.unique_key, "k:1");
	jq_job_spec_release(&s);
	UNIT_CASE("msgpack: unique_key not a string");
	jq_job_spec_init(&s);
	CHECK_INT_EQ(jq_job_spec_from_msgpack(&s, LIT("\x82\xa4type\xa4noop\xaaunique_key\x05"),
					      err, sizeof(err)),
		     -1);
	CHECK_CONTAINS(err, "'unique_key' must be a string");
	jq_job_spec_release(&s);
}

static void test_traceparent(void)
{
	static const struct {
		const char *s;
		int valid;
	} cases[] = {
		/* the W3C Trace Context example */
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", 1},
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", 1},
		{"00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01", 0}, /* uppercase */
		{"00-00000000000000000000000000000000-00f067aa0ba902b7-01", 0}, /* zero trace id */
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", 0}, /* zero parent */
		{"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", 0}, /* version ff */
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x", 0}, /* 00 is exact */
		{"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x", 1}, /* later: more */
		{"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x", 0},
		{"00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", 0}, /* short */
		{"00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01", 0},
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g", 0},
		{"", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("traceparent '%s'", cases[i].s);
		CHECK_INT_EQ(jq_traceparent_valid(cases[i].s), cases[i].valid);
	}
}

static void test_idempotency_key(void)
{
	char longest[JQ_IDEMPOTENCY_KEY_MAX + 2];
	memset(longest, 'k', sizeof(longest));
	longest[JQ_IDEMPOTENCY_KEY_MAX] = '\0';
	static const struct {
		const char *key;
		int valid;
	} cases[] = {
		{"order-1", 1},     {"a", 1},
		{"~!@#$%^&*()", 1}, {"", 0},
		{"has space", 0},   {"tab\there", 0},
		{"nl\n", 0},        {"del\x7f", 0},
		{"caf\xc3\xa9", 0}, {"cron:nightly:1764115200", 0},
		{"Cron:x", 1},      {"xcron:", 1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("'%s'", cases[i].key);
		CHECK_INT_EQ(jq_idempotency_key_valid(cases[i].key), cases[i].valid);
	}
	UNIT_CASE("%d characters", JQ_IDEMPOTENCY_KEY_MAX);
	CHECK_INT_EQ(jq_idempotency_key_valid(longest), 1);
	longest[JQ_IDEMPOTENCY_KEY_MAX] = 'k';
	longest[JQ_IDEMPOTENCY_KEY_MAX + 1] = '\0';
	UNIT_CASE("%d characters", JQ_IDEMPOTENCY_KEY_MAX + 1);
	CHECK_INT_EQ(jq_idempotency_key_valid(longest), 0);
}

UNIT_MAIN({"spec_init", test_spec_init}, {"spec_run_at_text", test_spec_run_at_text},
	  {"traceparent", test_traceparent}, {"spec_from_json", test_spec_from_json},
	  {"spec_from_msgpack", test_spec_from_msgpack},
	  {"spec_msgpack_only", test_spec_msgpack_only},
	  {"spec_msgpack_payload_shown", test_spec_msgpack_payload_shown},
	  {"spec_depth", test_spec_depth}, {"states", test_states}, {"status", test_status},
	  {"idempotency_key", test_idempotency_key}, {"spec_unique_key", test_spec_unique_key})
