/* job.c: job states, request validation and status strings; see job.h. */
#include "job.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "util.h"

static const char *const state_names[] = {"pending",   "scheduled", "running",
					  "completed", "failed",    "cancelled"};

const char *jq_state_name(enum jq_state s) { return state_names[s]; }

int jq_state_parse(const char *name, size_t len, enum jq_state *out)
{
	for (size_t i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++) {
		if (strlen(state_names[i]) == len && memcmp(state_names[i], name, len) == 0) {
			*out = (enum jq_state)i;
			return 0;
		}
	}
	return -1;
}

void jq_job_spec_init(struct jq_job_spec *s)
{
	memset(s, 0, sizeof(*s));
	strcpy(s->queue, JQ_DEFAULT_QUEUE);
	s->max_attempts = JQ_DEFAULT_MAX_ATTEMPTS;
	msgpack_sbuffer_init(&s->payload);
}

void jq_job_spec_release(struct jq_job_spec *s) { msgpack_sbuffer_destroy(&s->payload); }

static int set_name(char *dst, const char *field, const char *v, size_t n, char *err,
		    size_t errlen)
{
	if (!jq_name_valid(v, n)) {
		snprintf(err, errlen,
			 "'%s' must be 1 to %d characters of letters, digits and _.:-", field,
			 JQ_QUEUE_NAME_MAX);
		return -1;
	}
	memcpy(dst, v, n);
	dst[n] = '\0';
	return 0;
}

static int check_int(const char *field, int64_t v, int64_t min, int64_t max, int64_t *out,
		     char *err, size_t errlen)
{
	if (v < min || v > max) {
		snprintf(err, errlen, "'%s' must be an integer from %lld to %lld", field,
			 (long long)min, (long long)max);
		return -1;
	}
	*out = v;
	return 0;
}

/* unique_key: 1..JQ_UNIQUE_KEY_MAX printable ASCII characters without spaces */
static int set_unique_key(struct jq_job_spec *s, const char *v, size_t n, char *err,
			  size_t errlen)
{
	int ok = n > 0 && n <= JQ_UNIQUE_KEY_MAX;
	for (size_t i = 0; ok && i < n; i++)
		ok = v[i] > ' ' && v[i] < 0x7f;
	if (!ok) {
		snprintf(err, errlen,
			 "'unique_key' must be 1 to %d printable ASCII characters without spaces",
			 JQ_UNIQUE_KEY_MAX);
		return -1;
	}
	memcpy(s->unique_key, v, n);
	s->unique_key[n] = '\0';
	return 0;
}

/* One table for both body formats: the numeric envelope fields and their ranges. */
struct int_field {
	const char *name;
	size_t offset;
	int64_t min, max;
};
static const struct int_field int_fields[] = {
    {"priority", offsetof(struct jq_job_spec, priority), 0, JQ_PRIORITY_MAX},
    {"max_attempts", offsetof(struct jq_job_spec, max_attempts), 1, JQ_MAX_ATTEMPTS_LIMIT},
    {"timeout_ms", offsetof(struct jq_job_spec, timeout_ms), 0, JQ_TIMEOUT_MS_LIMIT},
    {"delay_ms", offsetof(struct jq_job_spec, delay_ms), 0, JQ_DELAY_MS_LIMIT},
    {"run_at", offsetof(struct jq_job_spec, run_at_ms), 1, INT64_MAX / 2},
};
#define N_INT_FIELDS (sizeof(int_fields) / sizeof(int_fields[0]))

static int64_t *int_slot(struct jq_job_spec *s, const struct int_field *f)
{
	return (int64_t *)((char *)s + f->offset);
}

int jq_job_spec_from_json(struct jq_job_spec *s, const json_t *obj, char *err, size_t errlen)
{
	if (!json_is_object(obj)) {
		snprintf(err, errlen, "a job must be a JSON object");
		return -1;
	}
	const char *key;
	json_t *v;
	int have_type = 0;
	const json_t *payload = NULL;
	json_object_foreach((json_t *)obj, key, v) {
		if (strcmp(key, "type") == 0 || strcmp(key, "queue") == 0) {
			if (!json_is_string(v)) {
				snprintf(err, errlen, "'%s' must be a string", key);
				return -1;
			}
			int is_type = key[0] == 't';
			if (set_name(is_type ? s->type : s->queue, key, json_string_value(v),
				     json_string_length(v), err, errlen) != 0)
				return -1;
			have_type |= is_type;
			continue;
		}
		if (strcmp(key, "payload") == 0) {
			payload = v;
			continue;
		}
		if (strcmp(key, "unique_key") == 0) {
			if (!json_is_string(v)) {
				snprintf(err, errlen, "'unique_key' must be a string");
				return -1;
			}
			if (set_unique_key(s, json_string_value(v), json_string_length(v), err,
					   errlen) != 0)
				return -1;
			continue;
		}
		size_t i = 0;
		for (; i < N_INT_FIELDS; i++)
			if (strcmp(key, int_fields[i].name) == 0)
				break;
		if (i == N_INT_FIELDS) {
			snprintf(err, errlen, "unknown field '%.64s'", key);
			return -1;
		}
		const struct int_field *f = &int_fields[i];
		if (json_is_string(v) && strcmp(key, "run_at") == 0) {
			if (jq_parse_rfc3339(json_string_value(v), &s->run_at_ms) != 0) {
				snprintf(err, errlen,
					 "'run_at' must be epoch milliseconds or an RFC 3339 UTC time "
					 "like 2026-11-25T22:03:17.123Z");
				return -1;
			}
			continue;
		}
		if (!json_is_integer(v)) {
			snprintf(err, errlen, "'%s' must be an integer", key);
			return -1;
		}
		if (check_int(f->name, json_integer_value(v), f->min, f->max, int_slot(s, f), err,
			      errlen) != 0)
			return -1;
	}
	if (!have_type) {
		snprintf(err, errlen, "'type' is required");
		return -1;
	}
	if (s->delay_ms && s->run_at_ms) {
		snprintf(err, errlen, "give 'delay_ms' or 'run_at', not both");
		return -1;
	}
	return jq_payload_from_json(&s->payload, payload, err, errlen);
}

int jq_job_spec_from_msgpack(struct jq_job_spec *s, const char *data, size_t len, char *err,
			     size_t errlen)
{
	if (jq_msgpack_check(data, len, JQ_CODEC_MAX_DEPTH + 1, err, errlen) != 0)
		return -1;
	msgpack_unpacked up;
	msgpack_unpacked_init(&up);
	size_t off = 0;
	int rc = -1;
	if (msgpack_unpack_next(&up, data, len, &off) != MSGPACK_UNPACK_SUCCESS) {
		snprintf(err, errlen, "body is not msgpack");
		goto done;
	}
	const msgpack_object *map = &up.data;
	if (map->type != MSGPACK_OBJECT_MAP) {
		snprintf(err, errlen, "a job must be a msgpack map");
		goto done;
	}
	int have_type = 0;
	const msgpack_object *payload = NULL;
	for (uint32_t k = 0; k < map->via.map.size; k++) {
		const msgpack_object *key = &map->via.map.ptr[k].key;
		const msgpack_object *v = &map->via.map.ptr[k].val;
		if (key->type != MSGPACK_OBJECT_STR) {
			snprintf(err, errlen, "map keys must be strings");
			goto done;
		}
		char name[32];
		/* a key with a NUL inside would compare equal to a known name with strcmp */
		if (key->via.str.size >= sizeof(name) ||
		    (key->via.str.size && memchr(key->via.str.ptr, 0, key->via.str.size))) {
			snprintf(err, errlen, "unknown field");
			goto done;
		}
		if (key->via.str.size)
			memcpy(name, key->via.str.ptr, key->via.str.size);
		name[key->via.str.size] = '\0';
		if (strcmp(name, "type") == 0 || strcmp(name, "queue") == 0) {
			if (v->type != MSGPACK_OBJECT_STR) {
				snprintf(err, errlen, "'%s' must be a string", name);
				goto done;
			}
			int is_type = name[0] == 't';
			if (set_name(is_type ? s->type : s->queue, name, v->via.str.ptr,
				     v->via.str.size, err, errlen) != 0)
				goto done;
			have_type |= is_type;
			continue;
		}
		if (strcmp(name, "payload") == 0) {
			payload = v;
			continue;
		}
		if (strcmp(name, "unique_key") == 0) {
			if (v->type != MSGPACK_OBJECT_STR) {
				snprintf(err, errlen, "'unique_key' must be a string");
				goto done;
			}
			if (set_unique_key(s, v->via.str.ptr, v->via.str.size, err, errlen) != 0)
				goto done;
			continue;
		}
		size_t i = 0;
		for (; i < N_INT_FIELDS; i++)
			if (strcmp(name, int_fields[i].name) == 0)
				break;
		if (i == N_INT_FIELDS) {
			snprintf(err, errlen, "unknown field '%s'", name);
			goto done;
		}
		int64_t iv;
		if (jq_mp_i64(v, &iv) != 0) { /* this value, not the first of a duplicate key */
			snprintf(err, errlen, "'%s' must be an integer", name);
			goto done;
		}
		const struct int_field *f = &int_fields[i];
		if (check_int(f->name, iv, f->min, f->max, int_slot(s, f), err, errlen) != 0)
			goto done;
	}
	if (!have_type) {
		snprintf(err, errlen, "'type' is required");
		goto done;
	}
	if (s->delay_ms && s->run_at_ms) {
		snprintf(err, errlen, "give 'delay_ms' or 'run_at', not both");
		goto done;
	}
	if (payload) {
		/* what is stored must be showable as JSON (GET /jobs/{id}): no ext, NaN,
		 * integer keys or integers past INT64_MAX */
		json_t *check = jq_msgpack_to_json(payload, err, errlen);
		if (!check) {
			char why[200];
			snprintf(why, sizeof(why), "%s", err);
			snprintf(err, errlen, "'payload' is not representable as JSON: %s", why);
			goto done;
		}
		json_decref(check);
		jq_payload_from_msgpack(&s->payload, payload);
	} else {
		msgpack_object nil = {.type = MSGPACK_OBJECT_NIL};
		jq_payload_from_msgpack(&s->payload, &nil);
	}
	rc = 0;
done:
	msgpack_unpacked_destroy(&up);
	return rc;
}

void jq_job_status(char *buf, size_t cap, const char *state, int64_t done, int64_t total,
		   const char *error)
{
	if (strcmp(state, "running") == 0 && total > 0 && done > 0) {
		snprintf(buf, cap, "progress: %lld/%lld", (long long)done, (long long)total);
	} else if (strcmp(state, "failed") == 0) {
		snprintf(buf, cap, "failed: %s", error && *error ? error : "unknown error");
	} else if (strcmp(state, "scheduled") == 0) {
		snprintf(buf, cap, "pending"); /* the seed knows no scheduled state */
	} else {
		snprintf(buf, cap, "%s", state);
	}
}

int jq_idempotency_key_valid(const char *key)
{
	size_t n = strlen(key);
	int ok = n > 0 && n <= JQ_IDEMPOTENCY_KEY_MAX;
	for (size_t i = 0; ok && i < n; i++)
		ok = key[i] > ' ' && key[i] < 0x7f;
	/* "cron:..." names the ticks of periodic schedules (cron_fire.c): a request's key
	 * there could take a tick's place, or meet a tick's marker */
	return ok && strncmp(key, JQ_IDEMPOTENCY_RESERVED, strlen(JQ_IDEMPOTENCY_RESERVED)) != 0;
}

int jq_email_valid(const char *s)
{
	size_t n = strlen(s);
	const char *at = strchr(s, '@');
	if (n == 0 || n > 254 || !at || at == s || strchr(at + 1, '@') || at - s > 64)
		return 0;
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= ' ' || c >= 0x7f || strchr("<>()[]\\,;:\"", c))
			return 0;
	}
	const char *dom = at + 1;
	size_t dn = strlen(dom);
	if (dn < 3 || !strchr(dom, '.') || dom[0] == '.' || dom[dn - 1] == '.' || strstr(dom, ".."))
		return 0;
	for (const char *p = dom; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
			return 0;
	return 1;
}

static int lower_hex(const char *s, size_t n, int *all_zero)
{
	*all_zero = 1;
	for (size_t i = 0; i < n; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
		if (s[i] != '0')
			*all_zero = 0;
	}
	return 1;
}

int jq_traceparent_valid(const char *s)
{
	size_t n = strlen(s);
	int zero;
	if (n < JQ_TRACEPARENT_LEN || s[2] != '-' || s[35] != '-' || s[52] != '-')
		return 0;
	if (!lower_hex(s, 2, &zero) || strncmp(s, "ff", 2) == 0)
		return 0;
	if (strncmp(s, "00", 2) == 0 ? n != JQ_TRACEPARENT_LEN
				      : n > JQ_TRACEPARENT_LEN && s[JQ_TRACEPARENT_LEN] != '-')
		return 0;
	if (!lower_hex(s + 3, 32, &zero) || zero)
		return 0;
	if (!lower_hex(s + 36, 16, &zero) || zero)
		return 0;
	return lower_hex(s + 53, 2, &zero);
}
