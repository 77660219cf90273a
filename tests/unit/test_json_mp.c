/* test_json_mp.c: unit tests of common/json_mp.c (JSON text to msgpack in one pass).
 *
 * The reference is jansson (json_loadb with JSON_REJECT_DUPLICATES | JSON_DECODE_ANY)
 * followed by jq_json_pack(): for every input both must agree on accepting it and, when
 * accepted, give the same bytes. Hand-picked cases cover each rule and every header
 * size boundary; a seeded random mutation run covers the rest (tests/fuzz/fuzz_json_mp.c
 * runs the same comparison under libFuzzer). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "json_mp.h"
#include "unit.h"

/* What jansson + jq_json_pack make of text: 0 and the bytes in out, 1 when jansson
 * refuses it, 2 when jq_json_pack refuses it (too deep). */
static int reference(const char *text, size_t len, msgpack_sbuffer *out)
{
	json_error_t jerr;
	json_t *v = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!v)
		return 1;
	msgpack_packer pk;
	msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
	char err[128];
	int rc = jq_json_pack(&pk, v, err, sizeof(err)) == 0 ? 0 : 2;
	json_decref(v);
	return rc;
}

/* Converts text with max depth JQ_CODEC_MAX_DEPTH and compares with the reference. */
static void compare(const char *text, size_t len)
{
	msgpack_sbuffer ref, got;
	msgpack_sbuffer_init(&ref);
	msgpack_sbuffer_init(&got);
	char err[160] = "";
	int want = reference(text, len, &ref);
	int rc = jq_json_to_msgpack(text, len, JQ_CODEC_MAX_DEPTH, &got, err, sizeof(err));
	/* jansson takes a NUL byte after the top-level value for its end; a NUL byte is
	 * never JSON (RFC 8259), and the converter refuses it anywhere */
	if (want == 0 && memchr(text, 0, len))
		want = 1;
	if (want == 0) {
		CHECK_INT_EQ(rc, 0);
		if (rc == 0) {
			CHECK_INT_EQ(got.size, ref.size);
			CHECK(got.size == ref.size && memcmp(got.data, ref.data, got.size) == 0);
		}
	} else if (want == 2) {
		CHECK_INT_EQ(rc, -2); /* valid JSON, too deep: said as such */
	} else {
		/* refused; the depth check may come first in a deep invalid text */
		CHECK(rc == -1 || rc == -2);
		CHECK(err[0] != '\0');
	}
	msgpack_sbuffer_destroy(&ref);
	msgpack_sbuffer_destroy(&got);
}

static void compare_str(const char *text)
{
	compare(text, strlen(text));
}

static void test_valid(void)
{
	static const char *const cases[] = {
		"0",
		"1",
		"-1",
		"127",
		"128",
		"255",
		"256",
		"65535",
		"65536",
		"-32",
		"-33",
		"-128",
		"-129",
		"-32768",
		"-32769",
		"4294967295",
		"4294967296",
		"-2147483648",
		"-2147483649",
		"9223372036854775807",
		"-9223372036854775808",
		"-0",
		"0.5",
		"-0.0",
		"1e5",
		"1E+5",
		"1e-5",
		"1.5e300",
		"4.9e-324",
		"1e-400",
		"123.456e-7",
		"true",
		"false",
		"null",
		"\"\"",
		"\"a\"",
		"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
		"\"\\u00e9\\u20ac\\ud83d\\ude00\"",
		"\"\\u0041\\u007f\\u0080\\u07ff\\u0800\\uffff\"",
		"\"é€😀\"",
		"[]",
		"{}",
		"[1,[2,[3]]]",
		"{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"e\"}}",
		" \t\r\n[ 1 , 2 ]\n ",
		"{\"b\":1,\"a\":2}",
		"{\"\":0}",
		"{\"a\":{\"a\":{\"a\":1}}}",
		"{\"a\":1,\"A\":2}",
		"[{\"type\":\"noop\",\"payload\":{\"i\":1}},{\"type\":\"noop\"}]",
		"{\"\\u0061\":1,\"b\":2}",
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("%s", cases[i]);
		compare_str(cases[i]);
		msgpack_sbuffer out;
		msgpack_sbuffer_init(&out);
		char err[160];
		CHECK_INT_EQ(
			jq_json_to_msgpack(cases[i], strlen(cases[i]), 8, &out, err, sizeof(err)),
			0);
		msgpack_sbuffer_destroy(&out);
	}
}

static void test_invalid(void)
{
	static const char *const cases[] = {
		"",
		" ",
		"{",
		"[",
		"]",
		"}",
		"[1,]",
		"{\"a\":1,}",
		"[1 2]",
		"{\"a\" 1}",
		"{a:1}",
		"{'a':1}",
		"{\"a\":1}x",
		"1 2",
		"01",
		"-01",
		"-",
		"+1",
		".5",
		"1.",
		"1.e5",
		"1e",
		"1e+",
		"0x10",
		"NaN",
		"Infinity",
		"-Infinity",
		"tru",
		"nul",
		"truex",
		"\"abc",
		"\"\\x\"",
		"\"\\u12\"",
		"\"\\u12g4\"",
		"\"\\ud800\"",
		"\"\\udc00\"",
		"\"\\ud800\\u0041\"",
		"\"\\ud800x\"",
		"\"\\u0000\"",
		"\"a\tb\"",
		"\"a\nb\"",
		"\"\x01\"",
		"\"\xff\"",
		"\"\xc0\x80\"",
		"\"\xc1\xbf\"",
		"\"\xe0\x80\x80\"",
		"\"\xed\xa0\x80\"",
		"\"\xf4\x90\x80\x80\"",
		"\"\xf5\x80\x80\x80\"",
		"\"\xc3\"",
		"\"\xe2\x82\"",
		"\"\x80\"",
		"\xef\xbb\xbf[]",
		"{\"a\":1,\"a\":2}",
		"{\"a\":1,\"\\u0061\":2}",
		"9223372036854775808",
		"-9223372036854775809",
		"18446744073709551616",
		"99999999999999999999999",
		"1e400",
		"-1e400",
		"[1]]",
		"{\"a\":[}",
		"/* c */ 1",
		"[1,2",
		"{\"a\"}",
		"{\"a\":}",
		"{,}",
		"[,]",
		"\"\\\"",
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("#%zu %s", i, cases[i]);
		compare_str(cases[i]);
		msgpack_sbuffer out;
		msgpack_sbuffer_init(&out);
		char err[160] = "";
		CHECK_INT_EQ(
			jq_json_to_msgpack(cases[i], strlen(cases[i]), 8, &out, err, sizeof(err)),
			-1);
		CHECK(strstr(err, "at byte ") != NULL);
		msgpack_sbuffer_destroy(&out);
	}
	/* a NUL byte: in a string, between values */
	UNIT_CASE("NUL bytes");
	compare("\"a\0b\"", 5);
	compare("[1,\0 2]", 7);
	compare("1\0", 2);
}

/* Sizes on both sides of every header boundary: str 31/32, 255/256, 65535/65536; array
 * and map 15/16, 65535/65536. */
static void test_sizes(void)
{
	static const size_t sizes[] = {0, 1, 15, 16, 31, 32, 255, 256, 65535, 65536, 70000};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		char *s = malloc(n * 20 + 64);
		if (!s)
			abort();
		/* a string of n bytes, half of them escapes */
		size_t k = 0;
		s[k++] = '"';
		for (size_t j = 0; j < n; j++) {
			if (j % 2) {
				memcpy(s + k, "\\n", 2);
				k += 2;
			} else {
				s[k++] = 'x';
			}
		}
		s[k++] = '"';
		UNIT_CASE("string of %zu", n);
		compare(s, k);
		/* an array of n integers */
		k = 0;
		s[k++] = '[';
		for (size_t j = 0; j < n; j++)
			k += (size_t)sprintf(s + k, j ? ",%zu" : "%zu", j % 300);
		s[k++] = ']';
		UNIT_CASE("array of %zu", n);
		compare(s, k);
		/* an object of n keys (more than 16: the sorted duplicate check) */
		k = 0;
		s[k++] = '{';
		for (size_t j = 0; j < n; j++)
			k += (size_t)sprintf(s + k, j ? ",\"k%zu\":%zu" : "\"k%zu\":%zu", j, j);
		s[k++] = '}';
		UNIT_CASE("object of %zu keys", n);
		compare(s, k);
		/* the same with its last key repeated: refused */
		if (n >= 2) {
			k--;
			k += (size_t)sprintf(s + k, ",\"k%zu\":0}", n / 2);
			UNIT_CASE("object of %zu keys, one twice", n);
			msgpack_sbuffer out;
			msgpack_sbuffer_init(&out);
			char err[160];
			CHECK_INT_EQ(jq_json_to_msgpack(s, k, 8, &out, err, sizeof(err)), -1);
			CHECK(strstr(err, "duplicate") != NULL);
			msgpack_sbuffer_destroy(&out);
			compare(s, k);
		}
		free(s);
	}
}

static void test_depth(void)
{
	char s[512];
	for (int depth = 1; depth <= 40; depth++) {
		for (int obj = 0; obj < 2; obj++) {
			size_t k = 0;
			for (int i = 0; i < depth; i++)
				k += (size_t)sprintf(s + k, obj ? "{\"a\":" : "[");
			s[k++] = '1';
			for (int i = 0; i < depth; i++)
				s[k++] = obj ? '}' : ']';
			UNIT_CASE("%s %d deep", obj ? "objects" : "arrays", depth);
			msgpack_sbuffer out;
			msgpack_sbuffer_init(&out);
			char err[160] = "";
			int rc = jq_json_to_msgpack(s, k, JQ_CODEC_MAX_DEPTH, &out, err,
						    sizeof(err));
			CHECK_INT_EQ(rc, depth <= JQ_CODEC_MAX_DEPTH ? 0 : -2);
			msgpack_sbuffer_destroy(&out);
			compare(s, k);
		}
	}
	/* a deep document is refused at the limit, before the rest is read */
	UNIT_CASE("a million brackets");
	size_t n = 1000000;
	char *deep = malloc(n);
	if (!deep)
		abort();
	memset(deep, '[', n);
	msgpack_sbuffer out;
	msgpack_sbuffer_init(&out);
	char err[160];
	CHECK_INT_EQ(jq_json_to_msgpack(deep, n, 33, &out, err, sizeof(err)), -2);
	CHECK(out.size < 1000);
	msgpack_sbuffer_destroy(&out);
	free(deep);
}

/* Seeded mutations of valid documents: each must get the reference's answer. */
static void test_random(void)
{
	static const char *const seeds[] = {
		"[{\"type\":\"noop\",\"payload\":{\"i\":1}},{\"type\":\"x\",\"queue\":\"q\"}]",
		"{\"a\":[1,-2,3.5e2,\"\\u00e9\\n\",true,null,{\"b\":{}}],\"c\":\"\xc3\xa9\"}",
		"[\"\\ud83d\\ude00\",\"\\\\\",0,-0,1e-3,[[]],{\"\":\"\"}]",
	};
	static const char alphabet[] =
		"{}[]:,\"\\u0123456789abcdefEe+-. \t\ntrue\x80\xc3\xa9\xed\xff";
	uint64_t x = 0x9e3779b97f4a7c15ull;
	char buf[256];
	for (int iter = 0; iter < 200000; iter++) {
		const char *seed = seeds[iter % 3];
		size_t n = strlen(seed);
		memcpy(buf, seed, n);
		int edits = 1 + (int)(iter % 4);
		for (int e = 0; e < edits && n > 1; e++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			size_t at = (size_t)(x % n);
			char c = alphabet[(x >> 20) % (sizeof(alphabet) - 1)];
			switch ((x >> 40) % 3) {
			case 0: buf[at] = c; break; /* replace */
			case 1:                     /* delete */
				memmove(buf + at, buf + at + 1, n - at - 1);
				n--;
				break;
			default: /* insert */
				if (n + 1 < sizeof(buf)) {
					memmove(buf + at + 1, buf + at, n - at);
					buf[at] = c;
					n++;
				}
			}
		}
		UNIT_CASE("mutation %d: %.*s", iter, (int)n, buf);
		int failed = unit_failed;
		compare(buf, n);
		if (unit_failed != failed)
			break; /* one report is enough */
	}
}

UNIT_MAIN({"valid", test_valid}, {"invalid", test_invalid}, {"sizes", test_sizes},
	  {"depth", test_depth}, {"random", test_random})
