/* codec.c: payload envelope and JSON <-> msgpack; see codec.h. */
#include "codec.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ---- structural check of untrusted msgpack bytes ---- */

struct mp_reader {
	const unsigned char *p;
	size_t left;
	char *err;
	size_t errlen;
	int as_json; /* also refuse what JSON refuses: NUL in a string, a key twice in a map */
};

static int need(struct mp_reader *r, size_t n)
{
	if (r->left < n) {
		snprintf(r->err, r->errlen, "msgpack value truncated");
		return -1;
	}
	return 0;
}

static uint64_t be(const unsigned char *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

static int check_value(struct mp_reader *r, int depth);

/* Skips a length-prefixed body of n bytes; str bodies must be UTF-8. */
static int skip_body(struct mp_reader *r, uint64_t n, int is_str)
{
	if (need(r, n) != 0)
		return -1;
	if (is_str && !jq_utf8_valid((const char *)r->p, n)) {
		snprintf(r->err, r->errlen, "msgpack string is not valid UTF-8");
		return -1;
	}
	if (is_str && r->as_json && memchr(r->p, 0, n)) {
		snprintf(r->err, r->errlen, "msgpack string holds a NUL byte (as \\u0000 in JSON)");
		return -1;
	}
	r->p += n;
	r->left -= n;
	return 0;
}

/* depth: how many more containers may nest here, this one included */
static int check_items(struct mp_reader *r, uint64_t n, int depth)
{
	if (depth <= 0) {
		snprintf(r->err, r->errlen, "msgpack value nested deeper than %d",
			 JQ_CODEC_MAX_DEPTH);
		return -1;
	}
	/* every item takes at least one byte: refuse forged counts up front */
	if (n > r->left) {
		snprintf(r->err, r->errlen, "msgpack container claims more items than bytes");
		return -1;
	}
	for (uint64_t i = 0; i < n; i++)
		if (check_value(r, depth - 1) != 0)
			return -1;
	return 0;
}

/* A map key's bytes: a string's content (whatever its encoding), else the raw value. */
struct mp_key {
	const unsigned char *p;
	size_t n;
	int str;
};

static int key_cmp(const void *a, const void *b)
{
	const struct mp_key *x = a, *y = b;
	if (x->str != y->str)
		return x->str - y->str;
	int c = memcmp(x->p, y->p, x->n < y->n ? x->n : y->n);
	return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* A map of n pairs (as_json): its items checked, then its keys sorted and compared, so
 * a key given twice is refused as JSON refuses it (n log n: a large map costs no more). */
static int check_map_keys(struct mp_reader *r, uint64_t n, int depth)
{
	if (depth <= 0 || n > r->left / 2)
		return check_items(r, 2 * n, depth); /* refuses it, with its message */
	struct mp_key *keys = n ? malloc(n * sizeof(*keys)) : NULL;
	if (n && !keys) {
		snprintf(r->err, r->errlen, "out of memory");
		return -1;
	}
	int rc = 0;
	for (uint64_t i = 0; rc == 0 && i < n; i++) {
		const unsigned char *start = r->p;
		int bad = check_value(r, depth - 1) != 0;    /* the key */
		bad = bad || check_value(r, depth - 1) != 0; /* then its value */
		if (bad) {
			rc = -1;
			break;
		}
		const unsigned char *kp = start;
		struct jq_mp_raw k;
		jq_mp_raw_head(&kp, &k);
		keys[i].str = k.kind == JQ_MP_STR;
		keys[i].p = k.kind == JQ_MP_STR ? (const unsigned char *)k.str : start;
		keys[i].n = k.kind == JQ_MP_STR ? k.len : (size_t)(kp - start);
		if (k.kind == JQ_MP_ARRAY || k.kind == JQ_MP_MAP) { /* the whole container */
			const unsigned char *end = start;
			jq_mp_raw_read(&end, &k);
			keys[i].n = (size_t)(end - start);
		}
	}
	if (rc == 0 && n > 1) {
		qsort(keys, n, sizeof(*keys), key_cmp);
		for (uint64_t i = 1; i < n; i++)
			if (key_cmp(&keys[i - 1], &keys[i]) == 0) {
				if (keys[i].str)
					snprintf(
						r->err, r->errlen,
						"msgpack map has the key '%.*s' twice (a duplicate "
						"object key in JSON)",
						(int)(keys[i].n > 64 ? 64 : keys[i].n), keys[i].p);
				else
					snprintf(r->err, r->errlen, "msgpack map has a key twice");
				rc = -1;
				break;
			}
	}
	free(keys);
	return rc;
}

static int check_value(struct mp_reader *r, int depth)
{
	if (need(r, 1) != 0)
		return -1;
	unsigned char t = *r->p++;
	r->left--;
	if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3)
		return 0;
	if ((t & 0xe0) == 0xa0)
		return skip_body(r, t & 0x1f, 1);
	if ((t & 0xf0) == 0x90)
		return check_items(r, t & 0x0f, depth);
	if ((t & 0xf0) == 0x80)
		return r->as_json ? check_map_keys(r, t & 0x0f, depth)
				  : check_items(r, 2u * (t & 0x0f), depth);
	int lenbytes = 0;
	switch (t) {
	case 0xcc:
	case 0xd0: return skip_body(r, 1, 0);
	case 0xcd:
	case 0xd1: return skip_body(r, 2, 0);
	case 0xca:
	case 0xce:
	case 0xd2: return skip_body(r, 4, 0);
	case 0xcb:
	case 0xcf:
	case 0xd3: return skip_body(r, 8, 0);
	case 0xd4: return skip_body(r, 2, 0); /* fixext 1: type + data */
	case 0xd5: return skip_body(r, 3, 0);
	case 0xd6: return skip_body(r, 5, 0);
	case 0xd7: return skip_body(r, 9, 0);
	case 0xd8: return skip_body(r, 17, 0);
	case 0xd9:
	case 0xc4:
	case 0xc7: lenbytes = 1; break;
	case 0xda:
	case 0xc5:
	case 0xc8:
	case 0xdc:
	case 0xde: lenbytes = 2; break;
	case 0xdb:
	case 0xc6:
	case 0xc9:
	case 0xdd:
	case 0xdf: lenbytes = 4; break;
	default: snprintf(r->err, r->errlen, "msgpack type byte 0x%02x is not valid", t); return -1;
	}
	if (need(r, (size_t)lenbytes) != 0)
		return -1;
	uint64_t n = be(r->p, lenbytes);
	r->p += lenbytes;
	r->left -= (size_t)lenbytes;
	switch (t) {
	case 0xd9:
	case 0xda:
	case 0xdb: return skip_body(r, n, 1);
	case 0xc4:
	case 0xc5:
	case 0xc6: return skip_body(r, n, 0);
	case 0xc7:
	case 0xc8:
	case 0xc9: return skip_body(r, n + 1, 0);
	case 0xdc:
	case 0xdd: return check_items(r, n, depth);
	default: return r->as_json ? check_map_keys(r, n, depth) : check_items(r, 2 * n, depth);
	}
}

static int check(const char *data, size_t len, int max_depth, int as_json, char *err, size_t errlen)
{
	struct mp_reader r = {(const unsigned char *)data, len, err, errlen, as_json};
	if (check_value(&r, max_depth) != 0)
		return -1;
	if (r.left != 0) {
		snprintf(err, errlen, "trailing bytes after the msgpack value");
		return -1;
	}
	return 0;
}

int jq_msgpack_check(const char *data, size_t len, int max_depth, char *err, size_t errlen)
{
	return check(data, len, max_depth, 0, err, errlen);
}

int jq_msgpack_check_json(const char *data, size_t len, int max_depth, char *err, size_t errlen)
{
	return check(data, len, max_depth, 1, err, errlen);
}

/* ---- reading checked msgpack bytes (codec.h: jq_mp_raw_*) ---- */

uint64_t jq_mp_raw_head(const unsigned char **pp, struct jq_mp_raw *v)
{
	const unsigned char *p = *pp;
	unsigned t = *p++;
	uint64_t n = 0;
	enum jq_mp_kind kind;
	int lb = 0; /* length bytes of a str, bin, ext, array or map */
	if (t <= 0x7f) {
		kind = JQ_MP_UINT, n = t;
	} else if (t >= 0xe0) {
		kind = JQ_MP_INT, n = (uint64_t)(int64_t)(int8_t)t;
	} else if (t <= 0x8f) {
		kind = JQ_MP_MAP, n = t & 0x0f;
	} else if (t <= 0x9f) {
		kind = JQ_MP_ARRAY, n = t & 0x0f;
	} else if (t <= 0xbf) {
		kind = JQ_MP_STR, n = t & 0x1f;
	} else {
		switch (t) {
		case 0xc0: kind = JQ_MP_NIL; break;
		case 0xc2:
		case 0xc3: kind = JQ_MP_BOOL; break;
		case 0xc4: kind = JQ_MP_BIN, lb = 1; break;
		case 0xc5: kind = JQ_MP_BIN, lb = 2; break;
		case 0xc6: kind = JQ_MP_BIN, lb = 4; break;
		case 0xc7: kind = JQ_MP_EXT, lb = 1; break;
		case 0xc8: kind = JQ_MP_EXT, lb = 2; break;
		case 0xc9: kind = JQ_MP_EXT, lb = 4; break;
		case 0xca: kind = JQ_MP_FLOAT, p += 4; break;
		case 0xcb: kind = JQ_MP_FLOAT, p += 8; break;
		case 0xcc: kind = JQ_MP_UINT, n = be(p, 1), p += 1; break;
		case 0xcd: kind = JQ_MP_UINT, n = be(p, 2), p += 2; break;
		case 0xce: kind = JQ_MP_UINT, n = be(p, 4), p += 4; break;
		case 0xcf: kind = JQ_MP_UINT, n = be(p, 8), p += 8; break;
		case 0xd0: kind = JQ_MP_INT, n = (uint64_t)(int64_t)(int8_t)p[0], p += 1; break;
		case 0xd1:
			kind = JQ_MP_INT, n = (uint64_t)(int64_t)(int16_t)be(p, 2), p += 2;
			break;
		case 0xd2:
			kind = JQ_MP_INT, n = (uint64_t)(int64_t)(int32_t)be(p, 4), p += 4;
			break;
		case 0xd3: kind = JQ_MP_INT, n = be(p, 8), p += 8; break;
		case 0xd4: kind = JQ_MP_EXT, p += 2; break;
		case 0xd5: kind = JQ_MP_EXT, p += 3; break;
		case 0xd6: kind = JQ_MP_EXT, p += 5; break;
		case 0xd7: kind = JQ_MP_EXT, p += 9; break;
		case 0xd8: kind = JQ_MP_EXT, p += 17; break;
		case 0xd9: kind = JQ_MP_STR, lb = 1; break;
		case 0xda: kind = JQ_MP_STR, lb = 2; break;
		case 0xdb: kind = JQ_MP_STR, lb = 4; break;
		case 0xdc: kind = JQ_MP_ARRAY, lb = 2; break;
		case 0xdd: kind = JQ_MP_ARRAY, lb = 4; break;
		case 0xde: kind = JQ_MP_MAP, lb = 2; break;
		default: kind = JQ_MP_MAP, lb = 4; break; /* 0xdf (checked bytes hold no 0xc1) */
		}
		if (lb) {
			n = be(p, lb);
			p += lb;
		}
	}
	v->kind = kind;
	v->u = n;
	v->i = (int64_t)n;
	v->str = (const char *)p;
	v->len = kind == JQ_MP_STR ? (size_t)n : 0;
	if (kind == JQ_MP_STR || kind == JQ_MP_BIN)
		p += n;
	else if (kind == JQ_MP_EXT && lb)
		p += n + 1;
	*pp = p;
	return kind == JQ_MP_ARRAY ? n : kind == JQ_MP_MAP ? 2 * n : 0;
}

void jq_mp_raw_read(const unsigned char **pp, struct jq_mp_raw *v)
{
	struct jq_mp_raw item;
	for (uint64_t pending = jq_mp_raw_head(pp, v); pending; pending--)
		pending += jq_mp_raw_head(pp, &item);
}

int jq_mp_raw_i64(const struct jq_mp_raw *v, int64_t *out)
{
	if (v->kind == JQ_MP_UINT && v->u <= (uint64_t)INT64_MAX) {
		*out = (int64_t)v->u;
		return 0;
	}
	if (v->kind == JQ_MP_INT) {
		*out = v->i;
		return 0;
	}
	return -1;
}

/* ---- JSON -> msgpack ---- */

/* depth: containers on the path to v, v included if it is one */
static int pack_json(msgpack_packer *pk, const json_t *v, int depth, char *err, size_t errlen)
{
	if ((json_is_array(v) || json_is_object(v)) && depth > JQ_CODEC_MAX_DEPTH) {
		snprintf(err, errlen, "JSON value nested deeper than %d", JQ_CODEC_MAX_DEPTH);
		return -1;
	}
	switch (json_typeof(v)) {
	case JSON_NULL: return msgpack_pack_nil(pk);
	case JSON_TRUE: return msgpack_pack_true(pk);
	case JSON_FALSE: return msgpack_pack_false(pk);
	case JSON_INTEGER: return msgpack_pack_int64(pk, json_integer_value(v));
	case JSON_REAL: return msgpack_pack_double(pk, json_real_value(v));
	case JSON_STRING: {
		size_t n = json_string_length(v);
		msgpack_pack_str(pk, n);
		return msgpack_pack_str_body(pk, json_string_value(v), n);
	}
	case JSON_ARRAY: {
		size_t i;
		json_t *item;
		msgpack_pack_array(pk, json_array_size(v));
		json_array_foreach(v, i, item)
		{
			if (pack_json(pk, item, depth + 1, err, errlen) != 0)
				return -1;
		}
		return 0;
	}
	case JSON_OBJECT: {
		const char *key;
		json_t *item;
		msgpack_pack_map(pk, json_object_size(v));
		json_object_foreach((json_t *)v, key, item)
		{
			size_t n = strlen(key);
			msgpack_pack_str(pk, n);
			msgpack_pack_str_body(pk, key, n);
			if (pack_json(pk, item, depth + 1, err, errlen) != 0)
				return -1;
		}
		return 0;
	}
	}
	snprintf(err, errlen, "unknown JSON type");
	return -1;
}

int jq_json_pack(msgpack_packer *pk, const json_t *v, char *err, size_t errlen)
{
	return pack_json(pk, v, 1, err, errlen);
}

int jq_json_pack_outer(msgpack_packer *pk, const json_t *v, int outer, char *err, size_t errlen)
{
	return pack_json(pk, v, 1 - outer, err, errlen);
}

int jq_payload_from_json(msgpack_sbuffer *out, const json_t *v, char *err, size_t errlen)
{
	msgpack_packer pk;
	msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_int(&pk, JQ_PAYLOAD_VERSION);
	if (v == NULL)
		return msgpack_pack_nil(&pk);
	return pack_json(&pk, v, 1, err, errlen);
}

int jq_payload_from_msgpack(msgpack_sbuffer *out, const msgpack_object *v)
{
	msgpack_packer pk;
	msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_int(&pk, JQ_PAYLOAD_VERSION);
	return msgpack_pack_object(&pk, *v);
}

int jq_payload_unpack(const char *data, size_t len, msgpack_unpacked *result,
		      const msgpack_object **value, char *err, size_t errlen)
{
	/* the envelope is one more container around the value */
	if (jq_msgpack_check(data, len, JQ_CODEC_MAX_DEPTH + 1, err, errlen) != 0)
		return -1;
	msgpack_unpacked_init(result);
	size_t off = 0;
	if (msgpack_unpack_next(result, data, len, &off) != MSGPACK_UNPACK_SUCCESS) {
		snprintf(err, errlen, "payload is not msgpack");
		goto fail;
	}
	const msgpack_object *o = &result->data;
	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 2 ||
	    o->via.array.ptr[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
		snprintf(err, errlen, "payload has no version envelope");
		goto fail;
	}
	uint64_t version = o->via.array.ptr[0].via.u64;
	if (version != JQ_PAYLOAD_VERSION) {
		snprintf(err, errlen, "unsupported payload version %llu",
			 (unsigned long long)version);
		goto fail;
	}
	*value = &o->via.array.ptr[1];
	return 0;
fail:
	msgpack_unpacked_destroy(result);
	return -1;
}

/* ---- msgpack -> JSON ---- */

static json_t *base64_string(const char *p, size_t n)
{
	static const char tbl[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t outlen = 4 * ((n + 2) / 3);
	char *buf = malloc(outlen + 1);
	if (!buf)
		return NULL;
	const unsigned char *s = (const unsigned char *)p;
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		buf[o++] = tbl[(v >> 18) & 63];
		buf[o++] = tbl[(v >> 12) & 63];
		buf[o++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
		buf[o++] = i + 2 < n ? tbl[v & 63] : '=';
	}
	json_t *j = json_stringn(buf, o);
	free(buf);
	return j;
}

static json_t *to_json(const msgpack_object *o, int depth, char *err, size_t errlen)
{
	if ((o->type == MSGPACK_OBJECT_ARRAY || o->type == MSGPACK_OBJECT_MAP) &&
	    depth > JQ_CODEC_MAX_DEPTH) {
		snprintf(err, errlen, "msgpack value nested deeper than %d", JQ_CODEC_MAX_DEPTH);
		return NULL;
	}
	switch (o->type) {
	case MSGPACK_OBJECT_NIL: return json_null();
	case MSGPACK_OBJECT_BOOLEAN: return json_boolean(o->via.boolean);
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		if (o->via.u64 > (uint64_t)INT64_MAX) {
			snprintf(err, errlen, "integer %llu does not fit JSON's range",
				 (unsigned long long)o->via.u64);
			return NULL;
		}
		return json_integer((json_int_t)o->via.u64);
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: return json_integer((json_int_t)o->via.i64);
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64: {
		json_t *f = json_real(o->via.f64);
		if (!f)
			snprintf(err, errlen, "NaN and infinity have no JSON form");
		return f;
	}
	case MSGPACK_OBJECT_STR: {
		/* msgpack-c gives a NULL ptr for some empty strings */
		json_t *s = json_stringn(o->via.str.ptr ? o->via.str.ptr : "", o->via.str.size);
		if (!s)
			snprintf(err, errlen, "string is not valid UTF-8");
		return s;
	}
	case MSGPACK_OBJECT_BIN: return base64_string(o->via.bin.ptr, o->via.bin.size);
	case MSGPACK_OBJECT_ARRAY: {
		json_t *a = json_array();
		for (uint32_t i = 0; a && i < o->via.array.size; i++) {
			json_t *item = to_json(&o->via.array.ptr[i], depth + 1, err, errlen);
			if (!item || json_array_append_new(a, item) != 0) {
				json_decref(a);
				return NULL;
			}
		}
		return a;
	}
	case MSGPACK_OBJECT_MAP: {
		json_t *m = json_object();
		for (uint32_t i = 0; m && i < o->via.map.size; i++) {
			const msgpack_object_kv *kv = &o->via.map.ptr[i];
			if (kv->key.type != MSGPACK_OBJECT_STR) {
				snprintf(err, errlen, "map key is not a string");
				json_decref(m);
				return NULL;
			}
			json_t *item = to_json(&kv->val, depth + 1, err, errlen);
			const char *key = kv->key.via.str.ptr ? kv->key.via.str.ptr : "";
			if (!item ||
			    json_object_setn_new(m, key, kv->key.via.str.size, item) != 0) {
				if (item)
					snprintf(err, errlen, "map key is not valid");
				json_decref(m);
				return NULL;
			}
		}
		return m;
	}
	default: snprintf(err, errlen, "msgpack ext values are not supported"); return NULL;
	}
}

json_t *jq_msgpack_to_json(const msgpack_object *o, char *err, size_t errlen)
{
	return to_json(o, 1, err, errlen);
}

/* ---- map lookups ---- */

const msgpack_object *jq_mp_get(const msgpack_object *map, const char *key)
{
	if (!map || map->type != MSGPACK_OBJECT_MAP)
		return NULL;
	size_t klen = strlen(key);
	for (uint32_t i = 0; i < map->via.map.size; i++) {
		const msgpack_object *k = &map->via.map.ptr[i].key;
		if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == klen &&
		    (klen == 0 || memcmp(k->via.str.ptr, key, klen) == 0))
			return &map->via.map.ptr[i].val;
	}
	return NULL;
}

int jq_mp_get_str(const msgpack_object *map, const char *key, const char **s, size_t *len)
{
	const msgpack_object *v = jq_mp_get(map, key);
	if (!v || v->type != MSGPACK_OBJECT_STR)
		return -1;
	*s = v->via.str.ptr ? v->via.str.ptr : "";
	*len = v->via.str.size;
	return 0;
}

int jq_mp_get_i64(const msgpack_object *map, const char *key, int64_t *out)
{
	return jq_mp_i64(jq_mp_get(map, key), out);
}

int jq_mp_i64(const msgpack_object *v, int64_t *out)
{
	if (!v)
		return -1;
	if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 <= (uint64_t)INT64_MAX) {
		*out = (int64_t)v->via.u64;
		return 0;
	}
	if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
		*out = v->via.i64;
		return 0;
	}
	return -1;
}

int jq_mp_get_bool(const msgpack_object *map, const char *key, int *out)
{
	const msgpack_object *v = jq_mp_get(map, key);
	if (!v || v->type != MSGPACK_OBJECT_BOOLEAN)
		return -1;
	*out = v->via.boolean;
	return 0;
}
