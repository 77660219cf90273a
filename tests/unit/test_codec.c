/* test_codec.c: unit tests of common/codec.c: payload envelope, JSON <-> msgpack, checks.
 *
 * Depth is the number of nested containers (arrays, maps) on the deepest path:
 * 1 and "a" are 0 deep, [] and [1] are 1 deep, [[]] and {"a":[1]} are 2 deep.
 * A value JQ_CODEC_MAX_DEPTH deep must be accepted by every function and read
 * back; one level more must be refused by every function, saying so.
 *
 * Why containers and not values: msgpack-c's unpacker (the library, not ours)
 * holds at most MSGPACK_EMBED_STACK_SIZE = 32 nested containers, empty ones
 * included, scalars not; and the payload envelope (or the job body map) takes
 * one of them. The depth tests stay parametrised by JQ_CODEC_MAX_DEPTH. */
#include <stdint.h>
#include <stdlib.h>

#include "codec.h"
#include "unit.h"

/* ---- helpers ---- */

/* A value depth deep as JSON text and as msgpack bytes: depth nested
 * containers around a 1 (LEAF_SCALAR), or depth - 1 containers around an
 * empty one (LEAF_EMPTY, depth >= 1). */
enum nest_kind { NEST_ARRAY, NEST_MAP };
enum nest_leaf { LEAF_SCALAR, LEAF_EMPTY }; /* depth 2: [[1]] or [[]] */

static int nest_outer(int depth, enum nest_leaf leaf)
{
	return leaf == LEAF_EMPTY ? depth - 1 : depth;
}

static char *nest_json(int depth, enum nest_kind kind, enum nest_leaf leaf)
{
	size_t cap = (size_t)depth * 8 + 16, n = 0;
	char *s = malloc(cap);
	if (!s)
		abort();
	int outer = nest_outer(depth, leaf);
	for (int i = 0; i < outer; i++)
		n += (size_t)snprintf(s + n, cap - n, "%s", kind == NEST_ARRAY ? "[" : "{\"a\":");
	if (leaf == LEAF_EMPTY)
		n += (size_t)snprintf(s + n, cap - n, "%s", kind == NEST_ARRAY ? "[]" : "{}");
	else
		n += (size_t)snprintf(s + n, cap - n, "1");
	for (int i = 0; i < outer; i++)
		n += (size_t)snprintf(s + n, cap - n, "%s", kind == NEST_ARRAY ? "]" : "}");
	return s;
}

/* Appends the msgpack form of nest_json(depth, kind, leaf) to sb. */
static void nest_msgpack(msgpack_sbuffer *sb, int depth, enum nest_kind kind, enum nest_leaf leaf)
{
	msgpack_packer pk;
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	int outer = nest_outer(depth, leaf);
	for (int i = 0; i < outer; i++) {
		if (kind == NEST_ARRAY) {
			msgpack_pack_array(&pk, 1);
		} else {
			msgpack_pack_map(&pk, 1);
			msgpack_pack_str_with_body(&pk, "a", 1);
		}
	}
	if (leaf == LEAF_EMPTY) {
		if (kind == NEST_ARRAY)
			msgpack_pack_array(&pk, 0);
		else
			msgpack_pack_map(&pk, 0);
	} else {
		msgpack_pack_int(&pk, 1);
	}
}

/* The same value as a msgpack_object tree built by hand, for jq_msgpack_to_json
 * on depths that msgpack-c's unpacker cannot read. nodes/kvs hold depth + 1. */
static const msgpack_object *nest_object(msgpack_object *nodes, msgpack_object_kv *kvs, int depth,
					 enum nest_kind kind, enum nest_leaf leaf)
{
	int outer = nest_outer(depth, leaf);
	for (int i = 0; i < outer; i++) {
		if (kind == NEST_ARRAY) {
			nodes[i].type = MSGPACK_OBJECT_ARRAY;
			nodes[i].via.array.size = 1;
			nodes[i].via.array.ptr = &nodes[i + 1];
		} else {
			nodes[i].type = MSGPACK_OBJECT_MAP;
			nodes[i].via.map.size = 1;
			nodes[i].via.map.ptr = &kvs[i];
			kvs[i].key.type = MSGPACK_OBJECT_STR;
			kvs[i].key.via.str.ptr = "a";
			kvs[i].key.via.str.size = 1;
		}
	}
	msgpack_object *in = &nodes[outer];
	memset(in, 0, sizeof(*in));
	if (leaf == LEAF_EMPTY) {
		in->type = kind == NEST_ARRAY ? MSGPACK_OBJECT_ARRAY : MSGPACK_OBJECT_MAP;
	} else {
		in->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
		in->via.u64 = 1;
	}
	/* maps point at their item through the kv, which must hold a copy */
	for (int i = outer - 1; i >= 0; i--)
		if (kind == NEST_MAP)
			kvs[i].val = nodes[i + 1];
	return &nodes[0];
}

#define M JQ_CODEC_MAX_DEPTH

static json_t *load(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
	if (!j)
		fprintf(stderr, "test bug: cannot load JSON '%.80s': %s\n", text, e.text);
	return j;
}

static char *dump(const json_t *j)
{
	return j ? json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
}

/* ---- JSON -> payload -> JSON ---- */

static void test_roundtrip(void)
{
	static const char *const cases[] = {
		"null",
		"true",
		"false",
		"0",
		"1",
		"-1",
		"127",
		"128",
		"-32",
		"-33",
		"255",
		"256",
		"65535",
		"65536",
		"-2147483649",
		"4294967296",
		"9223372036854775807",
		"-9223372036854775808",
		"1.5",
		"-0.25",
		"0.1",
		"1e+300",
		"-2.2250738585072014e-308",
		"\"\"",
		"[\"\"]",
		"{\"\":0}",
		"{\"\":\"\"}",
		"[1,\"\"]",
		"\"hello\"",
		"\"h\\u00e9llo \\u2603 \\ud83d\\ude00 \\u4e2d\\u6587\"",
		"\"a\\u0000b\"",
		"\"quote \\\" backslash \\\\ newline \\n\"",
		"[]",
		"{}",
		"[1,[2,[3,[]]],{}]",
		"[null,true,false,0,-1,1.5,\"x\",[],{}]",
		"{\"a\":{\"b\":[1,{\"c\":null}]},\"d\":\"e\",\"\":0}",
		"{\"k\\u00e9y \\ud83d\\ude00\":true}",
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("roundtrip %s", cases[i]);
		json_t *in = load(cases[i]);
		CHECK(in != NULL);
		if (!in)
			continue;
		msgpack_sbuffer sb;
		msgpack_sbuffer_init(&sb);
		char err[256] = "";
		CHECK_INT_EQ(jq_payload_from_json(&sb, in, err, sizeof(err)), 0);
		CHECK_STR_EQ(err, "");
		CHECK_INT_EQ(jq_msgpack_check(sb.data, sb.size, JQ_CODEC_MAX_DEPTH + 1, err,
					      sizeof(err)),
			     0);
		msgpack_unpacked up;
		const msgpack_object *val = NULL;
		int rc = jq_payload_unpack(sb.data, sb.size, &up, &val, err, sizeof(err));
		CHECK_INT_EQ(rc, 0);
		if (rc == 0) {
			json_t *out = jq_msgpack_to_json(val, err, sizeof(err));
			CHECK(out != NULL);
			CHECK(json_equal(in, out));
			char *a = dump(in), *b = dump(out);
			CHECK_STR_EQ(b, a);
			free(a);
			free(b);
			json_decref(out);
			msgpack_unpacked_destroy(&up);
		}
		json_decref(in);
		msgpack_sbuffer_destroy(&sb);
	}

	/* a long string takes the str16 form and a long array the array16 form */
	UNIT_CASE("roundtrip long values");
	json_t *arr = json_array();
	char big[300];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (int i = 0; i < 70000; i++)
		json_array_append_new(arr, json_integer(i));
	json_array_append_new(arr, json_string(big));
	msgpack_sbuffer sb;
	msgpack_sbuffer_init(&sb);
	char err[256] = "";
	CHECK_INT_EQ(jq_payload_from_json(&sb, arr, err, sizeof(err)), 0);
	msgpack_unpacked up;
	const msgpack_object *val = NULL;
	if (jq_payload_unpack(sb.data, sb.size, &up, &val, err, sizeof(err)) == 0) {
		json_t *out = jq_msgpack_to_json(val, err, sizeof(err));
		CHECK(out && json_equal(arr, out));
		json_decref(out);
		msgpack_unpacked_destroy(&up);
	} else {
		CHECK(!"unpack of long values failed");
	}
	msgpack_sbuffer_destroy(&sb);
	json_decref(arr);
}

/* The envelope's exact bytes: what Redis stores and other versions must read. */
static void test_envelope_bytes(void)
{
	static const struct {
		const char *json; /* NULL: jq_payload_from_json(NULL) */
		const char *bytes;
		size_t len;
	} cases[] = {
		{NULL, LIT("\x92\x01\xc0")},
		{"null", LIT("\x92\x01\xc0")},
		{"{\"a\":1}", LIT("\x92\x01\x81\xa1\x61\x01")},
		{"[true,false,null,-1,\"\\u00e9\"]",
		 LIT("\x92\x01\x95\xc3\xc2\xc0\xff\xa2\xc3\xa9")},
		{"300", LIT("\x92\x01\xcd\x01\x2c")},
		{"-129", LIT("\x92\x01\xd1\xff\x7f")},
		{"1.5", LIT("\x92\x01\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00")},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("envelope of %s", cases[i].json ? cases[i].json : "(NULL)");
		json_t *in = cases[i].json ? load(cases[i].json) : NULL;
		msgpack_sbuffer sb;
		msgpack_sbuffer_init(&sb);
		char err[256] = "";
		CHECK_INT_EQ(jq_payload_from_json(&sb, in, err, sizeof(err)), 0);
		CHECK_MEM_EQ(sb.data, sb.size, cases[i].bytes, cases[i].len);
		msgpack_sbuffer_destroy(&sb);

		/* jq_json_pack writes the same value without the envelope */
		if (in) {
			msgpack_sbuffer_init(&sb);
			msgpack_packer pk;
			msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
			CHECK_INT_EQ(jq_json_pack(&pk, in, err, sizeof(err)), 0);
			CHECK_MEM_EQ(sb.data, sb.size, cases[i].bytes + 2, cases[i].len - 2);
			msgpack_sbuffer_destroy(&sb);
		}
		json_decref(in);
	}

	/* jq_payload_from_msgpack wraps an unpacked value the same way */
	UNIT_CASE("jq_payload_from_msgpack");
	static const char inner[] = "\x82\xa1\x61\x92\x01\xc4\x02\xff\xfe\xa1\x62\xc3";
	msgpack_unpacked up;
	msgpack_unpacked_init(&up);
	size_t off = 0;
	CHECK(msgpack_unpack_next(&up, inner, sizeof(inner) - 1, &off) == MSGPACK_UNPACK_SUCCESS);
	msgpack_sbuffer sb;
	msgpack_sbuffer_init(&sb);
	CHECK_INT_EQ(jq_payload_from_msgpack(&sb, &up.data), 0);
	CHECK_MEM_EQ(sb.data, sb.size, "\x92\x01\x82\xa1\x61\x92\x01\xc4\x02\xff\xfe\xa1\x62\xc3",
		     sizeof(inner) - 1 + 2);
	msgpack_sbuffer_destroy(&sb);
	msgpack_unpacked_destroy(&up);
}

/* ---- depth limits ---- */

static const char *kind_name(int kind)
{
	return kind == NEST_ARRAY ? "arrays" : "maps";
}
static const char *leaf_name(int leaf)
{
	return leaf == LEAF_SCALAR ? "scalar" : "empty";
}

/* JSON -> stored payload -> JSON at and around the limit. */
static void test_depth_json(void)
{
	static const struct {
		int depth;
		int ok;
	} cases[] = {{0, 1}, {1, 1}, {2, 1}, {M - 1, 1}, {M, 1}, {M + 1, 0}, {M + 2, 0}, {200, 0}};
	char want[64];
	snprintf(want, sizeof(want), "JSON value nested deeper than %d", M);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int kind = NEST_ARRAY; kind <= NEST_MAP; kind++) {
			for (int leaf = LEAF_SCALAR; leaf <= LEAF_EMPTY; leaf++) {
				if (leaf == LEAF_EMPTY && cases[i].depth == 0)
					continue;
				UNIT_CASE("JSON depth %d, %s, %s leaf", cases[i].depth,
					  kind_name(kind), leaf_name(leaf));
				char *text = nest_json(cases[i].depth, (enum nest_kind)kind,
						       (enum nest_leaf)leaf);
				json_t *in = load(text);
				CHECK(in != NULL);
				msgpack_sbuffer sb;
				msgpack_sbuffer_init(&sb);
				char err[256] = "";
				int rc = jq_payload_from_json(&sb, in, err, sizeof(err));
				CHECK_INT_EQ(rc, cases[i].ok ? 0 : -1);
				if (!cases[i].ok)
					CHECK_STR_EQ(err, want);
				if (rc == 0) {
					/* what was stored must read back */
					msgpack_unpacked up;
					const msgpack_object *val = NULL;
					int urc = jq_payload_unpack(sb.data, sb.size, &up, &val,
								    err, sizeof(err));
					CHECK_INT_EQ(urc, 0);
					CHECK_STR_EQ(err, "");
					if (urc == 0) {
						json_t *out =
							jq_msgpack_to_json(val, err, sizeof(err));
						CHECK(out && json_equal(in, out));
						json_decref(out);
						msgpack_unpacked_destroy(&up);
					}
				}
				msgpack_sbuffer_destroy(&sb);
				json_decref(in);
				free(text);
			}
		}
	}
}

/* jq_msgpack_check(max_depth) on its own. */
static void test_depth_msgpack(void)
{
	static const struct {
		int max_depth;
		int depth;
		int ok;
	} cases[] = {
		{M, 0, 1},     {M, 1, 1},      {M, M - 1, 1}, {M, M, 1}, {M, M + 1, 0},
		{M, M + 2, 0}, {M, 100000, 0}, /* must not recurse 100000 deep */
		{0, 0, 1},     {1, 1, 1},      {1, 2, 0},     {3, 3, 1}, {3, 4, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int kind = NEST_ARRAY; kind <= NEST_MAP; kind++) {
			for (int leaf = LEAF_SCALAR; leaf <= LEAF_EMPTY; leaf++) {
				if (leaf == LEAF_EMPTY && cases[i].depth == 0)
					continue;
				UNIT_CASE("jq_msgpack_check max %d, depth %d, %s, %s leaf",
					  cases[i].max_depth, cases[i].depth, kind_name(kind),
					  leaf_name(leaf));
				msgpack_sbuffer sb;
				msgpack_sbuffer_init(&sb);
				nest_msgpack(&sb, cases[i].depth, (enum nest_kind)kind,
					     (enum nest_leaf)leaf);
				char err[256] = "";
				CHECK_INT_EQ(jq_msgpack_check(sb.data, sb.size, cases[i].max_depth,
							      err, sizeof(err)),
					     cases[i].ok ? 0 : -1);
				if (!cases[i].ok)
					CHECK_CONTAINS(err, "msgpack value nested deeper than");
				msgpack_sbuffer_destroy(&sb);
			}
		}
	}
}

/* A stored payload [1, value]: the envelope is not part of the value's depth. */
static void test_depth_payload(void)
{
	static const struct {
		int depth;
		int ok;
	} cases[] = {{0, 1}, {1, 1}, {M - 1, 1}, {M, 1}, {M + 1, 0}, {M + 2, 0}, {5000, 0}};
	char want[64];
	snprintf(want, sizeof(want), "nested deeper than %d", M);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int kind = NEST_ARRAY; kind <= NEST_MAP; kind++) {
			for (int leaf = LEAF_SCALAR; leaf <= LEAF_EMPTY; leaf++) {
				if (leaf == LEAF_EMPTY && cases[i].depth == 0)
					continue;
				UNIT_CASE("payload depth %d, %s, %s leaf", cases[i].depth,
					  kind_name(kind), leaf_name(leaf));
				msgpack_sbuffer sb;
				msgpack_sbuffer_init(&sb);
				msgpack_sbuffer_write(&sb, "\x92\x01", 2);
				nest_msgpack(&sb, cases[i].depth, (enum nest_kind)kind,
					     (enum nest_leaf)leaf);
				char err[256] = "";
				msgpack_unpacked up;
				const msgpack_object *val = NULL;
				int rc = jq_payload_unpack(sb.data, sb.size, &up, &val, err,
							   sizeof(err));
				CHECK_INT_EQ(rc, cases[i].ok ? 0 : -1);
				if (!cases[i].ok)
					CHECK_CONTAINS(err, want);
				if (rc == 0) {
					json_t *out = jq_msgpack_to_json(val, err, sizeof(err));
					CHECK(out != NULL);
					json_decref(out);
					msgpack_unpacked_destroy(&up);
				}
				msgpack_sbuffer_destroy(&sb);
			}
		}
	}
}

/* jq_msgpack_to_json on its own, on hand-built trees. */
static void test_depth_to_json(void)
{
	static const struct {
		int depth;
		int ok;
	} cases[] = {{0, 1}, {1, 1}, {M, 1}, {M + 1, 0}, {M + 2, 0}, {1000, 0}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int kind = NEST_ARRAY; kind <= NEST_MAP; kind++) {
			for (int leaf = LEAF_SCALAR; leaf <= LEAF_EMPTY; leaf++) {
				if (leaf == LEAF_EMPTY && cases[i].depth == 0)
					continue;
				UNIT_CASE("jq_msgpack_to_json depth %d, %s, %s leaf",
					  cases[i].depth, kind_name(kind), leaf_name(leaf));
				size_t n = (size_t)cases[i].depth + 1;
				msgpack_object *nodes = calloc(n, sizeof(*nodes));
				msgpack_object_kv *kvs = calloc(n, sizeof(*kvs));
				if (!nodes || !kvs)
					abort();
				const msgpack_object *o =
					nest_object(nodes, kvs, cases[i].depth,
						    (enum nest_kind)kind, (enum nest_leaf)leaf);
				char err[256] = "";
				json_t *out = jq_msgpack_to_json(o, err, sizeof(err));
				CHECK_INT_EQ(out != NULL, cases[i].ok);
				if (cases[i].ok) {
					char *text = nest_json(cases[i].depth, (enum nest_kind)kind,
							       (enum nest_leaf)leaf);
					json_t *want = load(text);
					CHECK(out && json_equal(out, want));
					json_decref(want);
					free(text);
				} else {
					CHECK_CONTAINS(err, "nested deeper than");
				}
				json_decref(out);
				free(kvs);
				free(nodes);
			}
		}
	}
}

/* ---- structural check of untrusted bytes ---- */

static void test_msgpack_check(void)
{
	static const struct {
		const char *what;
		const char *bytes;
		size_t len;
		const char *msg; /* NULL: accepted; else a part of the message */
	} cases[] = {
		{"nil", LIT("\xc0"), NULL},
		{"true", LIT("\xc3"), NULL},
		{"false", LIT("\xc2"), NULL},
		{"positive fixint", LIT("\x7f"), NULL},
		{"negative fixint", LIT("\xe0"), NULL},
		{"uint8", LIT("\xcc\xff"), NULL},
		{"uint16", LIT("\xcd\x01\x00"), NULL},
		{"uint32", LIT("\xce\x00\x01\x00\x00"), NULL},
		{"uint64", LIT("\xcf\xff\xff\xff\xff\xff\xff\xff\xff"), NULL},
		{"int8", LIT("\xd0\x80"), NULL},
		{"int16", LIT("\xd1\x80\x00"), NULL},
		{"int32", LIT("\xd2\x80\x00\x00\x00"), NULL},
		{"int64", LIT("\xd3\x80\x00\x00\x00\x00\x00\x00\x00"), NULL},
		{"float32", LIT("\xca\x3f\xc0\x00\x00"), NULL},
		{"float64", LIT("\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00"), NULL},
		{"empty fixstr", LIT("\xa0"), NULL},
		{"fixstr", LIT("\xa3\x61\x62\x63"), NULL},
		{"fixstr utf-8", LIT("\xa2\xc3\xa9"), NULL},
		{"str8", LIT("\xd9\x03\x61\x62\x63"), NULL},
		{"str16", LIT("\xda\x00\x03\x61\x62\x63"), NULL},
		{"str32", LIT("\xdb\x00\x00\x00\x03\x61\x62\x63"), NULL},
		{"empty bin8", LIT("\xc4\x00"), NULL},
		{"bin8 non-utf-8", LIT("\xc4\x02\xff\xfe"), NULL},
		{"bin16", LIT("\xc5\x00\x01\xff"), NULL},
		{"bin32", LIT("\xc6\x00\x00\x00\x01\xff"), NULL},
		{"fixext1", LIT("\xd4\x01\xff"), NULL},
		{"fixext2", LIT("\xd5\x01\xff\xff"), NULL},
		{"fixext4", LIT("\xd6\x01\xff\xff\xff\xff"), NULL},
		{"fixext8", LIT("\xd7\xff\x00\x00\x00\x00\x00\x00\x00\x00"), NULL},
		{"fixext16",
		 LIT("\xd8\x01\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d"
		     "\x0e\x0f"),
		 NULL},
		{"ext8", LIT("\xc7\x02\x05\xff\xfe"), NULL},
		{"ext8 empty", LIT("\xc7\x00\x05"), NULL},
		{"ext16", LIT("\xc8\x00\x01\x05\xff"), NULL},
		{"ext32", LIT("\xc9\x00\x00\x00\x01\x05\xff"), NULL},
		{"empty fixarray", LIT("\x90"), NULL},
		{"fixarray", LIT("\x92\x01\xc0"), NULL},
		{"array16", LIT("\xdc\x00\x02\x01\x02"), NULL},
		{"array32", LIT("\xdd\x00\x00\x00\x01\xc0"), NULL},
		{"empty fixmap", LIT("\x80"), NULL},
		{"fixmap", LIT("\x81\xa1\x61\x01"), NULL},
		{"map16", LIT("\xde\x00\x01\xa1\x61\x01"), NULL},
		{"map32", LIT("\xdf\x00\x00\x00\x01\xa1\x61\x01"), NULL},
		{"map with an int key (structurally fine)", LIT("\x81\x01\x02"), NULL},
		{"array of bin and ext", LIT("\x92\xc4\x01\x00\xd4\x01\x00"), NULL},

		{"empty input", LIT(""), "truncated"},
		{"uint16 missing a byte", LIT("\xcd\x01"), "truncated"},
		{"uint64 missing bytes", LIT("\xcf\x00\x00"), "truncated"},
		{"float32 missing bytes", LIT("\xca\x00"), "truncated"},
		{"fixstr body short", LIT("\xa3\x61\x62"), "truncated"},
		{"str8 without length", LIT("\xd9"), "truncated"},
		{"str8 body short", LIT("\xd9\x05\x61\x62"), "truncated"},
		{"str16 half a length", LIT("\xda\x00"), "truncated"},
		{"fixarray items missing", LIT("\x92\x01"), "claims more items than bytes"},
		{"fixarray item truncated", LIT("\x92\x01\xcd\x01"), "truncated"},
		{"fixmap value missing", LIT("\x81\xa1\x61"), "truncated"},
		{"fixext1 data missing", LIT("\xd4\x01"), "truncated"},
		{"ext8 data short", LIT("\xc7\x02\x05\xff"), "truncated"},
		{"ext8 type missing", LIT("\xc7\x00"), "truncated"},
		{"array16 without length", LIT("\xdc\x00"), "truncated"},
		{"array32 of 2^32-1 with no items", LIT("\xdd\xff\xff\xff\xff"),
		 "claims more items than bytes"},
		{"array32 of 2^32-1 with one item", LIT("\xdd\xff\xff\xff\xff\xc0"),
		 "claims more items than bytes"},
		{"array16 of 65535", LIT("\xdc\xff\xff\xc0\xc0"), "claims more items than bytes"},
		{"map32 of 2^32-1", LIT("\xdf\xff\xff\xff\xff"), "claims more items than bytes"},
		{"map16 of 2 with 3 bytes", LIT("\xde\x00\x02\x01\x02\x03"), "claims more items"},
		{"nested forged array", LIT("\x91\xdd\x7f\xff\xff\xff"), "claims more items"},
		{"str32 of 4 GiB", LIT("\xdb\xff\xff\xff\xff\x61\x62\x63"), "truncated"},
		{"bin32 of 4 GiB", LIT("\xc6\xff\xff\xff\xff"), "truncated"},
		{"ext32 of 4 GiB", LIT("\xc9\xff\xff\xff\xff\x05"), "truncated"},
		{"invalid type byte 0xc1", LIT("\xc1"), "msgpack type byte 0xc1 is not valid"},
		{"0xc1 inside an array", LIT("\x92\x01\xc1"), "0xc1"},
		{"trailing byte", LIT("\xc0\xc0"), "trailing bytes"},
		{"trailing bytes after array", LIT("\x92\x01\x02\x03"), "trailing bytes"},
		{"str not utf-8", LIT("\xa2\xc3\x28"), "not valid UTF-8"},
		{"str8 with a surrogate", LIT("\xd9\x03\xed\xa0\x80"), "not valid UTF-8"},
		{"str16 overlong", LIT("\xda\x00\x02\xc0\x80"), "not valid UTF-8"},
		{"map key not utf-8", LIT("\x81\xa1\xff\x01"), "not valid UTF-8"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("jq_msgpack_check %s", cases[i].what);
		char err[256] = "";
		int rc = jq_msgpack_check(cases[i].bytes, cases[i].len, JQ_CODEC_MAX_DEPTH, err,
					  sizeof(err));
		CHECK_INT_EQ(rc, cases[i].msg ? -1 : 0);
		if (cases[i].msg)
			CHECK_CONTAINS(err, cases[i].msg);
		else
			CHECK_STR_EQ(err, "");
	}
}

/* ---- stored payloads ---- */

static void test_payload_unpack(void)
{
	static const struct {
		const char *what;
		const char *bytes;
		size_t len;
		const char *msg;  /* NULL: accepted */
		const char *want; /* when accepted: the value as JSON */
	} cases[] = {
		{"nil", LIT("\x92\x01\xc0"), NULL, "null"},
		{"map", LIT("\x92\x01\x81\xa1\x61\x01"), NULL, "{\"a\":1}"},
		{"version as uint8", LIT("\x92\xcc\x01\x05"), NULL, "5"},
		{"version 2", LIT("\x92\x02\x01"), "unsupported payload version 2", NULL},
		{"version 0", LIT("\x92\x00\x01"), "unsupported payload version 0", NULL},
		{"version 255", LIT("\x92\xcc\xff\x01"), "unsupported payload version 255", NULL},
		{"version 2^64-1", LIT("\x92\xcf\xff\xff\xff\xff\xff\xff\xff\xff\xc0"),
		 "unsupported payload version 18446744073709551615", NULL},
		{"bare value", LIT("\x05"), "payload has no version envelope", NULL},
		{"bare map", LIT("\x81\xa1\x61\x01"), "payload has no version envelope", NULL},
		{"one-element array", LIT("\x91\x01"), "payload has no version envelope", NULL},
		{"three-element array", LIT("\x93\x01\x01\x01"), "payload has no version envelope",
		 NULL},
		{"negative version", LIT("\x92\xff\x01"), "payload has no version envelope", NULL},
		{"string version", LIT("\x92\xa1\x31\x01"), "payload has no version envelope",
		 NULL},
		{"float version", LIT("\x92\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00\x01"),
		 "payload has no version envelope", NULL},
		{"empty", LIT(""), "truncated", NULL},
		{"invalid byte", LIT("\xc1"), "0xc1", NULL},
		{"trailing bytes", LIT("\x92\x01\x01\x01"), "trailing bytes", NULL},
		{"forged length inside", LIT("\x92\x01\xdd\xff\xff\xff\xff"), "claims more items",
		 NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("jq_payload_unpack %s", cases[i].what);
		char err[256] = "";
		msgpack_unpacked up;
		const msgpack_object *val = NULL;
		int rc = jq_payload_unpack(cases[i].bytes, cases[i].len, &up, &val, err,
					   sizeof(err));
		CHECK_INT_EQ(rc, cases[i].msg ? -1 : 0);
		if (cases[i].msg) {
			CHECK_CONTAINS(err, cases[i].msg);
			continue;
		}
		if (rc != 0)
			continue;
		json_t *out = jq_msgpack_to_json(val, err, sizeof(err));
		char *got = dump(out);
		CHECK_STR_EQ(got, cases[i].want);
		free(got);
		json_decref(out);
		msgpack_unpacked_destroy(&up);
	}
}

/* ---- msgpack -> JSON ---- */

static void test_msgpack_to_json(void)
{
	static const struct {
		const char *what;
		const char *bytes;
		size_t len;
		const char *want; /* JSON text, or NULL when refused */
		const char *msg;  /* when refused: a part of the message ("" = any) */
	} cases[] = {
		{"bin empty", LIT("\xc4\x00"), "\"\"", NULL},
		{"bin 1 byte", LIT("\xc4\x01\x66"), "\"Zg==\"", NULL},
		{"bin 2 bytes", LIT("\xc4\x02\x66o"), "\"Zm8=\"", NULL},
		{"bin 3 bytes", LIT("\xc4\x03\x66oo"), "\"Zm9v\"", NULL},
		{"bin 6 bytes", LIT("\xc4\x06\x66oobar"), "\"Zm9vYmFy\"", NULL},
		{"bin high bytes", LIT("\xc4\x03\xfb\xff\xfe"), "\"+//+\"", NULL},
		{"bin NUL", LIT("\xc4\x01\x00"), "\"AA==\"", NULL},
		{"bin16 in array", LIT("\x92\xc5\x00\x01\x66\xa1\x61"), "[\"Zg==\",\"a\"]", NULL},
		{"float32", LIT("\xca\x3f\xc0\x00\x00"), "1.5", NULL},
		{"uint64 INT64_MAX", LIT("\xcf\x7f\xff\xff\xff\xff\xff\xff\xff"),
		 "9223372036854775807", NULL},
		{"int64 INT64_MIN", LIT("\xd3\x80\x00\x00\x00\x00\x00\x00\x00"),
		 "-9223372036854775808", NULL},
		{"uint16 in a wide form", LIT("\xcd\x00\x05"), "5", NULL},
		{"str with NUL", LIT("\xa3\x61\0b"), "\"a\\u0000b\"", NULL},
		/* msgpack-c gives a NULL pointer for some empty strings: still "" */
		{"empty fixstr", LIT("\xa0"), "\"\"", NULL},
		{"empty str8", LIT("\xd9\x00"), "\"\"", NULL},
		{"empty str in array", LIT("\x91\xa0"), "[\"\"]", NULL},
		{"empty key", LIT("\x81\xa0\x01"), "{\"\":1}", NULL},
		{"empty key and value", LIT("\x81\xa0\xa0"), "{\"\":\"\"}", NULL},
		{"map", LIT("\x82\xa1\x61\xc3\xa1\x62\x90"), "{\"a\":true,\"b\":[]}", NULL},
		{"uint64 above INT64_MAX", LIT("\xcf\x80\x00\x00\x00\x00\x00\x00\x00"), NULL,
		 "integer 9223372036854775808 does not fit"},
		{"int map key", LIT("\x81\x01\x02"), NULL, "map key is not a string"},
		{"nil map key", LIT("\x81\xc0\x02"), NULL, "map key is not a string"},
		{"bin map key", LIT("\x81\xc4\x01\x61\x02"), NULL, "map key is not a string"},
		{"int key deep inside", LIT("\x92\x01\x81\xa1\x61\x81\x01\x02"), NULL,
		 "map key is not a string"},
		{"fixext", LIT("\xd4\x01\x00"), NULL, "ext"},
		{"ext8 in a map", LIT("\x81\xa1\x61\xc7\x01\x05\x00"), NULL, "ext"},
		{"str not utf-8", LIT("\xa2\xc3\x28"), NULL, "not valid UTF-8"},
		/* JSON has no NaN or infinity: refused, with a reason */
		{"float64 NaN", LIT("\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00"), NULL, ""},
		{"float64 +inf", LIT("\xcb\x7f\xf0\x00\x00\x00\x00\x00\x00"), NULL, ""},
		{"float32 -inf in array", LIT("\x91\xca\xff\x80\x00\x00"), NULL, ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("jq_msgpack_to_json %s", cases[i].what);
		msgpack_unpacked up;
		msgpack_unpacked_init(&up);
		size_t off = 0;
		CHECK(msgpack_unpack_next(&up, cases[i].bytes, cases[i].len, &off) ==
		      MSGPACK_UNPACK_SUCCESS);
		char err[256] = "";
		json_t *out = jq_msgpack_to_json(&up.data, err, sizeof(err));
		if (cases[i].want) {
			char *got = dump(out);
			CHECK_STR_EQ(got, cases[i].want);
			free(got);
		} else {
			CHECK(out == NULL);
			CHECK(err[0] != '\0'); /* every refusal says why */
			CHECK_CONTAINS(err, cases[i].msg);
		}
		json_decref(out);
		msgpack_unpacked_destroy(&up);
	}
}

/* ---- map lookups ---- */

#define SENTINEL_I64 4242 /* *out must keep it when a lookup fails */

static void test_mp_get(void)
{
	/* {"s":"str","i":-5,"u":7,"b":true,"f":1.5,"big":2^64-1,"ab":1,1:"intkey","n":nil} */
	static const char map_bytes[] = "\x89"
					"\xa1s\xa3str"
					"\xa1i\xfb"
					"\xa1u\x07"
					"\xa1\x62\xc3"
					"\xa1\x66\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00"
					"\xa3\x62ig\xcf\xff\xff\xff\xff\xff\xff\xff\xff"
					"\xa2\x61\x62\x01"
					"\x01\xa6intkey"
					"\xa1n\xc0";
	msgpack_unpacked up;
	msgpack_unpacked_init(&up);
	size_t off = 0;
	CHECK(msgpack_unpack_next(&up, map_bytes, sizeof(map_bytes) - 1, &off) ==
	      MSGPACK_UNPACK_SUCCESS);
	CHECK_INT_EQ(off, sizeof(map_bytes) - 1);
	const msgpack_object *map = &up.data;

	static const struct {
		const char *key;
		int str_ok;
		const char *str;
		int i64_ok;
		int64_t i64;
		int bool_ok;
		int b;
	} cases[] = {
		{"s", 1, "str", 0, 0, 0, 0},  {"i", 0, NULL, 1, -5, 0, 0},
		{"u", 0, NULL, 1, 7, 0, 0},   {"b", 0, NULL, 0, 0, 1, 1},
		{"f", 0, NULL, 0, 0, 0, 0},   {"big", 0, NULL, 0, 0, 0, 0},
		{"n", 0, NULL, 0, 0, 0, 0},   {"a", 0, NULL, 0, 0, 0, 0}, /* a prefix of "ab" */
		{"abc", 0, NULL, 0, 0, 0, 0}, {"missing", 0, NULL, 0, 0, 0, 0},
		{"", 0, NULL, 0, 0, 0, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("jq_mp_get* '%s'", cases[i].key);
		const char *s = NULL;
		size_t len = 0;
		int64_t v = SENTINEL_I64;
		int b = -1;
		CHECK_INT_EQ(jq_mp_get_str(map, cases[i].key, &s, &len), cases[i].str_ok ? 0 : -1);
		if (cases[i].str_ok)
			CHECK_MEM_EQ(s, len, cases[i].str, strlen(cases[i].str));
		CHECK_INT_EQ(jq_mp_get_i64(map, cases[i].key, &v), cases[i].i64_ok ? 0 : -1);
		CHECK_INT_EQ(v, cases[i].i64_ok ? cases[i].i64 : SENTINEL_I64);
		CHECK_INT_EQ(jq_mp_get_bool(map, cases[i].key, &b), cases[i].bool_ok ? 0 : -1);
		CHECK_INT_EQ(b, cases[i].bool_ok ? cases[i].b : -1);
	}
	UNIT_CASE("jq_mp_get");
	const msgpack_object *o = jq_mp_get(map, "n");
	CHECK(o != NULL && o->type == MSGPACK_OBJECT_NIL);
	CHECK(jq_mp_get(map, "missing") == NULL);
	CHECK(jq_mp_get(NULL, "s") == NULL);
	CHECK(jq_mp_get(&map->via.map.ptr[0].val, "s") == NULL); /* not a map */
	msgpack_unpacked_destroy(&up);
}

UNIT_MAIN({"roundtrip", test_roundtrip}, {"envelope_bytes", test_envelope_bytes},
	  {"depth_json", test_depth_json}, {"depth_msgpack", test_depth_msgpack},
	  {"depth_payload", test_depth_payload}, {"depth_to_json", test_depth_to_json},
	  {"msgpack_check", test_msgpack_check}, {"payload_unpack", test_payload_unpack},
	  {"msgpack_to_json", test_msgpack_to_json}, {"mp_get", test_mp_get})
