/* job.c: job states, request validation and status strings; see job.h. */
#include "job.h"

#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "jobtypes.h"
#include "util.h"

static const char *const state_names[] = {"pending",   "scheduled", "running",
					  "completed", "failed",    "cancelled"};

const char *jq_state_name(enum jq_state s)
{
	return state_names[s];
}

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

void jq_job_spec_release(struct jq_job_spec *s)
{
	msgpack_sbuffer_destroy(&s->payload);
	free(s->secrets);
	s->secrets = NULL;
	s->secrets_len = 0;
}

/* 'secrets': the map at data[0..len) (well-formed msgpack), checked and kept in s. */
static int set_secrets(struct jq_job_spec *s, const char *data, size_t len, char *err,
		       size_t errlen)
{
	const unsigned char *p = (const unsigned char *)data;
	struct jq_mp_raw m;
	jq_mp_raw_head(&p, &m);
	if (m.kind != JQ_MP_MAP || m.u == 0 || m.u > JQ_SECRETS_MAX) {
		snprintf(err, errlen, "'secrets' must be an object of 1 to %d name: string pairs",
			 JQ_SECRETS_MAX);
		return -1;
	}
	for (uint64_t i = 0; i < m.u; i++) {
		struct jq_mp_raw k, v;
		jq_mp_raw_read(&p, &k);
		jq_mp_raw_read(&p, &v);
		int name_ok = k.kind == JQ_MP_STR && k.len > 0 && k.len <= JQ_SECRET_NAME_MAX;
		for (size_t c = 0; name_ok && c < k.len; c++)
			name_ok = isalnum((unsigned char)k.str[c]) || k.str[c] == '_';
		if (!name_ok) {
			snprintf(err, errlen, "'secrets': names are 1 to %d of [A-Za-z0-9_]",
				 JQ_SECRET_NAME_MAX);
			return -1;
		}
		if (v.kind != JQ_MP_STR || v.len > JQ_SECRET_VALUE_MAX || memchr(v.str, 0, v.len)) {
			snprintf(err, errlen,
				 "'secrets': '%.*s' must be a string of at most %d bytes",
				 (int)k.len, k.str, JQ_SECRET_VALUE_MAX);
			return -1;
		}
	}
	free(s->secrets);
	s->secrets = malloc(len);
	if (!s->secrets) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(s->secrets, data, len);
	s->secrets_len = len;
	return 0;
}

static int set_name(char *dst, const char *field, const char *v, size_t n, char *err, size_t errlen)
{
	if (!jq_name_valid(v, n)) {
		snprintf(err, errlen, "'%s' must be 1 to %d characters of letters, digits and _.:-",
			 field, JQ_QUEUE_NAME_MAX);
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
static int set_unique_key(struct jq_job_spec *s, const char *v, size_t n, char *err, size_t errlen)
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

/* ---- the envelope from msgpack bytes ----
 * Every body format ends here: JSON text is converted to msgpack in one pass
 * (json_mp.h), a jansson object is packed, and an application/msgpack body is
 * checked (jq_msgpack_check), so the bytes read below (codec.h's jq_mp_raw_*) are
 * well-formed and one set of rules and messages serves them all. */

static int name_is(const struct jq_mp_raw *k, const char *name)
{
	return k->len == strlen(name) && memcmp(k->str, name, k->len) == 0;
}

/* 0 if a job of type can run with the payload at data[0..len) (well-formed msgpack;
 * NULL: none), as jobtypes.h rules; -1 with the reason in err. */
static int check_type(const char *type, const char *data, size_t len, char *err, size_t errlen)
{
	if (!data)
		return jq_jobtype_check(type, NULL, err, errlen);
	msgpack_unpacked up;
	msgpack_unpacked_init(&up);
	size_t off = 0;
	int rc;
	if (msgpack_unpack_next(&up, data, len, &off) == MSGPACK_UNPACK_SUCCESS) {
		rc = jq_jobtype_check(type, &up.data, err, errlen);
	} else {
		snprintf(err, errlen, "'payload' is not msgpack");
		rc = -1;
	}
	msgpack_unpacked_destroy(&up);
	return rc;
}

/* run_at given as an RFC 3339 string (JSON only) into s->run_at_ms. */
static int set_run_at_text(struct jq_job_spec *s, const struct jq_mp_raw *v, char *err,
			   size_t errlen)
{
	/* a C string for the parser (any number of fraction digits is taken) */
	char small[64], *t = v->len < sizeof(small) ? small : malloc(v->len + 1);
	int bad = !t || memchr(v->str, 0, v->len) != NULL;
	if (!bad) {
		memcpy(t, v->str, v->len);
		t[v->len] = '\0';
		bad = jq_parse_rfc3339(t, &s->run_at_ms) != 0;
	}
	if (t != small)
		free(t);
	if (bad) {
		snprintf(err, errlen,
			 "'run_at' must be epoch milliseconds or an RFC 3339 UTC time "
			 "like 2026-11-25T22:03:17.123Z");
		return -1;
	}
	return 0;
}

/* The numeric field named key (int_fields) from v; an unknown name is refused. */
static int set_int_field(struct jq_job_spec *s, const struct jq_mp_raw *key,
			 const struct jq_mp_raw *v, int json, char *err, size_t errlen)
{
	size_t i = 0;
	for (; i < N_INT_FIELDS; i++)
		if (name_is(key, int_fields[i].name))
			break;
	if (i == N_INT_FIELDS) {
		/* at most 64 bytes of the name, not cut inside a UTF-8 sequence */
		size_t n = key->len > 64 ? 64 : key->len;
		while (n > 0 && n < key->len && ((unsigned char)key->str[n] & 0xc0) == 0x80)
			n--;
		snprintf(err, errlen, "unknown field '%.*s'", (int)n, key->str);
		return -1;
	}
	const struct int_field *f = &int_fields[i];
	if (json && v->kind == JQ_MP_STR && f->offset == offsetof(struct jq_job_spec, run_at_ms))
		return set_run_at_text(s, v, err, errlen);
	int64_t iv;
	if (jq_mp_raw_i64(v, &iv) != 0) {
		snprintf(err, errlen, "'%s' must be an integer", f->name);
		return -1;
	}
	return check_int(f->name, iv, f->min, f->max, int_slot(s, f), err, errlen);
}

/* 0 if a msgpack payload data[0..len) can be shown as JSON, as what is stored must be
 * (GET /jobs/{id}): no ext, NaN, integer keys or integers past INT64_MAX. */
static int check_payload_json(const char *data, size_t len, char *err, size_t errlen)
{
	msgpack_unpacked up;
	msgpack_unpacked_init(&up);
	size_t off = 0;
	json_t *check = NULL;
	if (msgpack_unpack_next(&up, data, len, &off) == MSGPACK_UNPACK_SUCCESS)
		check = jq_msgpack_to_json(&up.data, err, errlen);
	else
		snprintf(err, errlen, "not msgpack");
	msgpack_unpacked_destroy(&up);
	if (!check) {
		char why[200];
		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "'payload' is not representable as JSON: %s", why);
		return -1;
	}
	json_decref(check);
	return 0;
}

/* s->payload: the envelope [version, value] around the payload's bytes data[0..len) as
 * they are (NULL: nil), in a block of its size (msgpack_sbuffer_write starts at 8 KiB:
 * 8 MB for a 1,000-job bulk). */
static int set_payload(struct jq_job_spec *s, const char *data, size_t len, char *err,
		       size_t errlen)
{
	static const char nil = (char)0xc0;
	if (!data) {
		data = &nil;
		len = 1;
	}
	char *d = malloc(2 + len);
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	d[0] = (char)0x92;
	d[1] = JQ_PAYLOAD_VERSION;
	memcpy(d + 2, data, len);
	msgpack_sbuffer_destroy(&s->payload);
	s->payload.data = d;
	s->payload.size = s->payload.alloc = 2 + len;
	return 0;
}

/* The job map data[0..len) into s. json: it came from JSON (a run_at may be an RFC 3339
 * string; the payload is JSON already); else from an application/msgpack body, whose
 * payload must convert to JSON (GET /jobs/{id} shows it). */
static int spec_from_mp(struct jq_job_spec *s, const char *data, size_t len, int json, char *err,
			size_t errlen)
{
	const unsigned char *p = (const unsigned char *)data;
	struct jq_mp_raw m;
	jq_mp_raw_head(&p, &m);
	if (m.kind != JQ_MP_MAP) {
		snprintf(err, errlen,
			 json ? "a job must be a JSON object" : "a job must be a msgpack map");
		return -1;
	}
	int have_type = 0;
	const char *payload = NULL;
	size_t payload_len = 0;
	for (uint64_t k = 0; k < m.u; k++) {
		struct jq_mp_raw key, v;
		jq_mp_raw_read(&p, &key);
		const unsigned char *vp = p;
		jq_mp_raw_read(&p, &v);
		if (key.kind != JQ_MP_STR) {
			snprintf(err, errlen, "map keys must be strings");
			return -1;
		}
		int is_type = name_is(&key, "type");
		if (is_type || name_is(&key, "queue")) {
			const char *field = is_type ? "type" : "queue";
			if (v.kind != JQ_MP_STR) {
				snprintf(err, errlen, "'%s' must be a string", field);
				return -1;
			}
			if (set_name(is_type ? s->type : s->queue, field, v.str, v.len, err,
				     errlen) != 0)
				return -1;
			have_type |= is_type;
			continue;
		}
		if (name_is(&key, "payload")) {
			payload = (const char *)vp;
			payload_len = (size_t)(p - vp);
			continue;
		}
		if (name_is(&key, "secrets")) {
			if (set_secrets(s, (const char *)vp, (size_t)(p - vp), err, errlen) != 0)
				return -1;
			continue;
		}
		if (name_is(&key, "unique_key")) {
			if (v.kind != JQ_MP_STR) {
				snprintf(err, errlen, "'unique_key' must be a string");
				return -1;
			}
			if (set_unique_key(s, v.str, v.len, err, errlen) != 0)
				return -1;
			continue;
		}
		if (set_int_field(s, &key, &v, json, err, errlen) != 0)
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
	if (payload && !json && check_payload_json(payload, payload_len, err, errlen) != 0)
		return -1;
	if (check_type(s->type, payload, payload_len, err, errlen) != 0)
		return -1;
	return set_payload(s, payload, payload_len, err, errlen);
}

int jq_job_spec_from_json(struct jq_job_spec *s, const json_t *obj, char *err, size_t errlen)
{
	if (!json_is_object(obj)) {
		snprintf(err, errlen, "a job must be a JSON object");
		return -1;
	}
	msgpack_sbuffer b;
	msgpack_sbuffer_init(&b);
	msgpack_packer pk;
	msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
	/* the job object is one level above its payload's JQ_CODEC_MAX_DEPTH */
	int rc = jq_json_pack_outer(&pk, obj, 1, err, errlen);
	if (rc == 0)
		rc = spec_from_mp(s, b.data, b.size, 1, err, errlen);
	msgpack_sbuffer_destroy(&b);
	return rc;
}

int jq_job_spec_from_packed_json(struct jq_job_spec *s, const char *data, size_t len, char *err,
				 size_t errlen)
{
	return spec_from_mp(s, data, len, 1, err, errlen);
}

struct jq_job_spec *jq_job_specs_from_packed_json(const char *data, size_t len, size_t max,
						  size_t *n, long *bad, char *err, size_t errlen)
{
	const unsigned char *p = (const unsigned char *)data, *end = p + len;
	struct jq_mp_raw a;
	*bad = -1;
	*n = 0;
	jq_mp_raw_head(&p, &a);
	if (a.kind != JQ_MP_ARRAY || a.u == 0 || a.u > max) {
		snprintf(err, errlen, "not a JSON array of 1 to %zu jobs", max);
		return NULL;
	}
	struct jq_job_spec *specs = malloc(a.u * sizeof(*specs));
	if (!specs) {
		snprintf(err, errlen, "out of memory");
		*bad = -2;
		return NULL;
	}
	size_t i = 0;
	for (; i < a.u; i++) {
		const unsigned char *job = p;
		struct jq_mp_raw v;
		jq_mp_raw_read(&p, &v);
		jq_job_spec_init(&specs[i]);
		if (p > end) { /* not from jq_json_to_msgpack */
			snprintf(err, errlen, "truncated");
			break;
		}
		if (spec_from_mp(&specs[i], (const char *)job, (size_t)(p - job), 1, err, errlen) !=
		    0)
			break;
	}
	if (i < a.u) { /* one bad job refuses them all */
		for (size_t k = 0; k <= i; k++)
			jq_job_spec_release(&specs[k]);
		free(specs);
		*bad = (long)i;
		return NULL;
	}
	*n = a.u;
	return specs;
}

int jq_job_spec_from_msgpack(struct jq_job_spec *s, const char *data, size_t len, char *err,
			     size_t errlen)
{
	if (jq_msgpack_check_json(data, len, JQ_CODEC_MAX_DEPTH + 1, err, errlen) != 0)
		return -1;
	return spec_from_mp(s, data, len, 0, err, errlen);
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
