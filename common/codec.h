/* codec.h: job payloads as versioned msgpack, and conversion to and from JSON.
 *
 * A stored payload is the msgpack array [JQ_PAYLOAD_VERSION, value].
 *
 * Rule for changing the format (old workers must reject, never misread):
 *   1. Any change to how a value is laid out inside the envelope bumps
 *      JQ_PAYLOAD_VERSION.
 *   2. jq_payload_unpack() accepts exactly the versions this build knows and
 *      fails every other with "unsupported payload version N", which fails
 *      that job with the reason instead of running it on a misread payload.
 *   3. Deploy workers that know version N+1 before brokers that write it.
 *
 * Limits (named here so tests and docs cite them): JQ_CODEC_MAX_DEPTH nested
 * containers; strings must be valid UTF-8; map keys must be strings. */
#ifndef JQ_CODEC_H
#define JQ_CODEC_H

#include <jansson.h>
#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#define JQ_PAYLOAD_VERSION 1
/* Containers (arrays, maps) on the deepest path of a payload. 31, because
 * msgpack-c's unpacker takes at most 32 nested containers and the stored
 * envelope (or an application/msgpack job map) is one of them. */
#define JQ_CODEC_MAX_DEPTH 31

/* Checks that data[0..len) is exactly one well-formed msgpack value with at
 * most max_depth nested containers, whose every claimed length fits in the buffer, with
 * UTF-8 strings. Run it before msgpack_unpack_next() on untrusted bytes so a
 * forged length never becomes a huge allocation. */
int jq_msgpack_check(const char *data, size_t len, int max_depth, char *err, size_t errlen);
/* The same, refusing too what a JSON body may not hold (RFC 8259 as the broker reads it):
 * a NUL byte in a string (key or value), and a map with one key twice (strings compared
 * by content, whatever their encoding). For request bodies, so that what the API shows
 * of a payload and what a worker reads of it never differ (a reader that keeps the first
 * of two keys and one that keeps the last would). */
int jq_msgpack_check_json(const char *data, size_t len, int max_depth, char *err, size_t errlen);

/* Reading msgpack bytes already checked (jq_msgpack_check, or written by this program)
 * without unpacking them: no bounds checks, no allocation. */
enum jq_mp_kind {
	JQ_MP_NIL,
	JQ_MP_BOOL,
	JQ_MP_UINT,
	JQ_MP_INT,
	JQ_MP_FLOAT,
	JQ_MP_STR,
	JQ_MP_BIN,
	JQ_MP_ARRAY,
	JQ_MP_MAP,
	JQ_MP_EXT
};
struct jq_mp_raw {
	enum jq_mp_kind kind;
	uint64_t u;      /* JQ_MP_UINT; the count of JQ_MP_ARRAY / JQ_MP_MAP items */
	int64_t i;       /* JQ_MP_INT */
	const char *str; /* JQ_MP_STR: its bytes, len of them */
	size_t len;
};
/* Reads the head of the value at *pp: its kind and scalar, past a str, bin or ext body
 * but not past a container's items, whose count it returns (twice a map's pairs). */
uint64_t jq_mp_raw_head(const unsigned char **pp, struct jq_mp_raw *v);
/* Reads the value at *pp and moves past it, a container's items included. */
void jq_mp_raw_read(const unsigned char **pp, struct jq_mp_raw *v);
/* The integer value of v: any msgpack int from INT64_MIN to INT64_MAX; else -1. */
int jq_mp_raw_i64(const struct jq_mp_raw *v, int64_t *out);

/* Packs a JSON value (depth-limited) into pk. */
int jq_json_pack(msgpack_packer *pk, const json_t *v, char *err, size_t errlen);
/* The same for a value whose outermost `outer` levels hold values (a job object around
 * its payload: 1): those levels do not count against JQ_CODEC_MAX_DEPTH. */
int jq_json_pack_outer(msgpack_packer *pk, const json_t *v, int outer, char *err, size_t errlen);

/* Appends the envelope [version, value] for a JSON value (NULL packs nil). */
int jq_payload_from_json(msgpack_sbuffer *out, const json_t *v, char *err, size_t errlen);
/* Appends the envelope for an already-unpacked msgpack value (checked by the caller). */
int jq_payload_from_msgpack(msgpack_sbuffer *out, const msgpack_object *v);

/* Unpacks a stored payload into *result (caller calls msgpack_unpacked_destroy
 * on success) and points *value at the inner value. Fails on bad bytes or an
 * unknown version, with the reason in err. */
int jq_payload_unpack(const char *data, size_t len, msgpack_unpacked *result,
		      const msgpack_object **value, char *err, size_t errlen);

/* Converts a msgpack value to a new JSON reference (NULL on error with err):
 * bin becomes a base64 string, ext is refused, map keys must be strings. */
json_t *jq_msgpack_to_json(const msgpack_object *o, char *err, size_t errlen);

/* Map lookups for handlers. Each returns NULL/-1 when the key is missing or
 * has another type. Strings are not NUL-terminated. */
const msgpack_object *jq_mp_get(const msgpack_object *map, const char *key);
int jq_mp_get_str(const msgpack_object *map, const char *key, const char **s, size_t *len);
int jq_mp_get_i64(const msgpack_object *map, const char *key, int64_t *out);
/* The integer value of v (NULL or another type: -1). */
int jq_mp_i64(const msgpack_object *v, int64_t *out);
int jq_mp_get_bool(const msgpack_object *map, const char *key, int *out);

#endif
