/* test_util.c: unit tests of common/util.c: strict integers, UTF-8 checks, RFC 3339. */
#include <stdint.h>
#include <stdlib.h>

#include "unit.h"
#include "util.h"

#define SENTINEL 4242 /* *out must keep it when parsing fails */

static void test_parse_i64(void)
{
	static const struct {
		const char *s;
		int64_t min, max;
		int ok;
		int64_t want;
	} cases[] = {
		{"0", 0, 10, 1, 0},
		{"7", 0, 10, 1, 7},
		{"10", 0, 10, 1, 10},
		{"-5", -10, 10, 1, -5},
		{"-0", -10, 10, 1, 0},
		{"007", 0, 10, 1, 7},
		{"9223372036854775807", INT64_MIN, INT64_MAX, 1, INT64_MAX},
		{"-9223372036854775808", INT64_MIN, INT64_MAX, 1, INT64_MIN},
		{"", 0, 10, 0, 0},
		{"+1", 0, 10, 0, 0},
		{" 1", 0, 10, 0, 0},
		{"1 ", 0, 10, 0, 0},
		{"\t1", 0, 10, 0, 0},
		{"1x", 0, 10, 0, 0},
		{"x1", 0, 10, 0, 0},
		{"0x10", 0, 100, 0, 0},
		{"1.0", 0, 10, 0, 0},
		{"1e3", 0, 10000, 0, 0},
		{"-", -10, 10, 0, 0},
		{"--1", -10, 10, 0, 0},
		{"-+1", -10, 10, 0, 0},
		{"9223372036854775808", INT64_MIN, INT64_MAX, 0, 0},  /* overflow */
		{"-9223372036854775809", INT64_MIN, INT64_MAX, 0, 0}, /* underflow */
		{"99999999999999999999999", INT64_MIN, INT64_MAX, 0, 0},
		{"11", 0, 10, 0, 0}, /* above max */
		{"-1", 0, 10, 0, 0}, /* negative below min */
		{"-11", -10, 10, 0, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("jq_parse_i64(\"%s\")", cases[i].s);
		int64_t v = SENTINEL;
		int rc = jq_parse_i64(cases[i].s, cases[i].min, cases[i].max, &v);
		CHECK_INT_EQ(rc, cases[i].ok ? 0 : -1);
		CHECK_INT_EQ(v, cases[i].ok ? cases[i].want : SENTINEL);
	}
	UNIT_CASE("jq_parse_i64(NULL)");
	int64_t v = SENTINEL;
	CHECK_INT_EQ(jq_parse_i64(NULL, 0, 10, &v), -1);
	CHECK_INT_EQ(v, SENTINEL);
}

static void test_parse_i64n(void)
{
	static const struct {
		const char *s;
		size_t len;
		int ok;
		int64_t want;
	} cases[] = {
		{"123abc", 3, 1, 123}, /* only the first len bytes count */
		{"6379/0", 4, 1, 6379},
		{"123abc", 4, 0, 0},
		{"5", 0, 0, 0},
		{"-", 1, 0, 0},
		{"00000000000000000000000000000001", 32, 0, 0}, /* longer than the 31-byte buffer */
		{"9223372036854775807", 19, 1, INT64_MAX},
		/* an embedded NUL is not a digit: all len bytes must be the number */
		{"12\0\x33", 4, 0, 0},
		{"7\0", 2, 0, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("jq_parse_i64n row %zu: \"%.*s\" (len %zu)", i, (int)cases[i].len,
			  cases[i].s, cases[i].len);
		int64_t v = SENTINEL;
		int rc = jq_parse_i64n(cases[i].s, cases[i].len, INT64_MIN, INT64_MAX, &v);
		CHECK_INT_EQ(rc, cases[i].ok ? 0 : -1);
		CHECK_INT_EQ(v, cases[i].ok ? cases[i].want : SENTINEL);
	}
}

static void test_utf8_valid(void)
{
	static const struct {
		const char *what;
		const char *s;
		size_t len;
		int valid;
	} cases[] = {
		{"empty", LIT(""), 1},
		{"ascii", LIT("hello, world"), 1},
		{"embedded NUL", LIT("a\0b"), 1},
		{"2-byte e-acute", LIT("\xc3\xa9"), 1},
		{"2-byte lowest U+0080", LIT("\xc2\x80"), 1},
		{"3-byte snowman", LIT("\xe2\x98\x83"), 1},
		{"3-byte lowest U+0800", LIT("\xe0\xa0\x80"), 1},
		{"3-byte U+D7FF before surrogates", LIT("\xed\x9f\xbf"), 1},
		{"3-byte U+E000 after surrogates", LIT("\xee\x80\x80"), 1},
		{"3-byte U+FFFF", LIT("\xef\xbf\xbf"), 1},
		{"4-byte emoji U+1F600", LIT("\xf0\x9f\x98\x80"), 1},
		{"4-byte lowest U+10000", LIT("\xf0\x90\x80\x80"), 1},
		{"4-byte highest U+10FFFF", LIT("\xf4\x8f\xbf\xbf"), 1},
		{"mixed", LIT("a\xc3\xa9\xe2\x98\x83\xf0\x9f\x98\x80z"), 1},
		{"truncated 2-byte", LIT("\xc3"), 0},
		{"truncated 3-byte (1 of 2)", LIT("\xe2"), 0},
		{"truncated 3-byte (2 of 2)", LIT("\xe2\x98"), 0},
		{"truncated 4-byte", LIT("\xf0\x9f\x98"), 0},
		{"truncated at end after ascii", LIT("abc\xe2\x98"), 0},
		{"lead byte then ascii", LIT("\xc3\x61"), 0},
		{"overlong NUL C0 80", LIT("\xc0\x80"), 0},
		{"overlong C1 BF", LIT("\xc1\xbf"), 0},
		{"overlong 3-byte E0 80 80", LIT("\xe0\x80\x80"), 0},
		{"overlong 3-byte E0 9F BF", LIT("\xe0\x9f\xbf"), 0},
		{"overlong 4-byte F0 80 80 80", LIT("\xf0\x80\x80\x80"), 0},
		{"overlong 4-byte F0 8F BF BF", LIT("\xf0\x8f\xbf\xbf"), 0},
		{"surrogate ED A0 80", LIT("\xed\xa0\x80"), 0},
		{"surrogate ED BF BF", LIT("\xed\xbf\xbf"), 0},
		{"above U+10FFFF F4 90 80 80", LIT("\xf4\x90\x80\x80"), 0},
		{"F5 lead byte", LIT("\xf5\x80\x80\x80"), 0},
		{"F8 lead byte", LIT("\xf8\x88\x80\x80\x80"), 0},
		{"FF byte", LIT("\xff"), 0},
		{"stray continuation 80", LIT("\x80"), 0},
		{"stray continuation BF after ascii", LIT("a\xbf"), 0},
		{"extra continuation", LIT("\xc3\xa9\xa9"), 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("utf8 %s", cases[i].what);
		CHECK_INT_EQ(jq_utf8_valid(cases[i].s, cases[i].len), cases[i].valid);
	}
	/* the length bounds the check: a valid prefix of an invalid buffer is valid */
	UNIT_CASE("utf8 prefix");
	CHECK_INT_EQ(jq_utf8_valid("ab\xff", 2), 1);
	CHECK_INT_EQ(jq_utf8_valid("\xc3\xa9\xe2\x98", 2), 1);
}

static void test_format_rfc3339(void)
{
	static const struct {
		int64_t ms;
		const char *want;
	} cases[] = {
		{0, "1970-01-01T00:00:00.000Z"},
		{1, "1970-01-01T00:00:00.001Z"},
		{999, "1970-01-01T00:00:00.999Z"},
		{1000, "1970-01-01T00:00:01.000Z"},
		{1764108197123LL, "2025-11-25T22:03:17.123Z"},
		{951782400000LL, "2000-02-29T00:00:00.000Z"},    /* leap day */
		{253402300799999LL, "9999-12-31T23:59:59.999Z"}, /* widest 4-digit year */
		/* before the epoch: the milliseconds part is still 000..999 */
		{-1, "1969-12-31T23:59:59.999Z"},
		{-1500, "1969-12-31T23:59:58.500Z"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("rfc3339 %lld", (long long)cases[i].ms);
		char buf[32];
		memset(buf, 'x', sizeof(buf));
		jq_format_rfc3339(cases[i].ms, buf);
		CHECK(memchr(buf, '\0', sizeof(buf)) != NULL);
		buf[sizeof(buf) - 1] = '\0';
		CHECK_STR_EQ(buf, cases[i].want);
	}
}

static void test_parse_rfc3339(void)
{
	static const struct {
		const char *s;
		int rc;
		int64_t ms;
	} cases[] = {
		{"2025-11-25T22:03:17.123Z", 0, 1764108197123LL},
		{"2025-11-25T22:03:17Z", 0, 1764108197000LL},
		{"2025-11-25T22:03:17+00:00", 0, 1764108197000LL},
		{"2025-11-25T22:03:17.1234567Z", 0, 1764108197123LL},
		{"2000-02-29T00:00:00Z", 0, 951782400000LL}, /* a leap day */
		{"2028-02-29T00:00:00Z", 0, 1835395200000LL},
		{"2027-02-30T00:00:00Z", -1, 0}, /* not moved to March */
		{"2027-02-29T00:00:00Z", -1, 0}, /* not a leap year */
		{"2100-02-29T00:00:00Z", -1, 0},
		{"2027-04-31T00:00:00Z", -1, 0},
		{"2027-13-01T00:00:00Z", -1, 0},
		{"2027-00-01T00:00:00Z", -1, 0},
		{"2027-01-00T00:00:00Z", -1, 0},
		{"2027-01-01T24:00:00Z", -1, 0},
		{"2027-01-01T23:60:00Z", -1, 0},
		{"2027-01-01T23:59:60Z", -1, 0},
		{"2027-1-01T00:00:00Z", -1, 0},
		{" 2027-01-01T00:00:00Z", -1, 0},
		{"2027-01-01 00:00:00Z", -1, 0},
		{"2027-01-01T00:00:00", -1, 0},
		{"2027-01-01T00:00:00.Z", -1, 0},
		{"2027-01-01T00:00:00+01:00", -1, 0},
		{"", -1, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("'%s'", cases[i].s);
		int64_t ms = 0;
		CHECK_INT_EQ(jq_parse_rfc3339(cases[i].s, &ms), cases[i].rc);
		if (cases[i].rc == 0)
			CHECK_INT_EQ(ms, cases[i].ms);
	}
}

static void test_clocks(void)
{
	int64_t now = jq_now_ms();
	CHECK(now > 1700000000000LL); /* after 2023 */
	int64_t a = jq_mono_us(), b = jq_mono_us();
	CHECK(a > 0);
	CHECK(b >= a);
}

static void test_utf8_sanitize(void)
{
	static const struct {
		const char *what;
		const char *s;
		size_t len;
		const char *want;
		size_t wantlen;
	} cases[] = {
		{"empty", LIT(""), LIT("")},
		{"ascii kept", LIT("hello"), LIT("hello")},
		{"NUL kept", LIT("a\0b"), LIT("a\0b")},
		{"valid multibyte kept", LIT("\xc3\xa9\xe2\x98\x83\xf0\x9f\x98\x80"),
		 LIT("\xc3\xa9\xe2\x98\x83\xf0\x9f\x98\x80")},
		{"FF replaced",
		 LIT("a\xff"
		     "b"),
		 LIT("a\xef\xbf\xbd"
		     "b")},
		{"sequence cut at the end", LIT("ab\xe2\x98"), LIT("ab\xef\xbf\xbd\xef\xbf\xbd")},
		{"stray continuation", LIT("\x80z"), LIT("\xef\xbf\xbdz")},
		{"overlong", LIT("\xc0\x80"), LIT("\xef\xbf\xbd\xef\xbf\xbd")},
		{"surrogate", LIT("\xed\xa0\x80"), LIT("\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd")},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("sanitize %s", cases[i].what);
		size_t n = 12345;
		char *out = jq_utf8_sanitize(cases[i].s, cases[i].len, &n);
		CHECK(out != NULL);
		if (!out)
			continue;
		CHECK_MEM_EQ(out, n, cases[i].want, cases[i].wantlen);
		CHECK_INT_EQ(out[n], 0);
		CHECK_INT_EQ(jq_utf8_valid(out, n), 1);
		free(out);
	}
}

static void test_fmt_i64(void)
{
	static const struct {
		int64_t v;
		const char *want;
	} cases[] = {
		{0, "0"},
		{7, "7"},
		{-7, "-7"},
		{10, "10"},
		{1764123456789, "1764123456789"},
		{INT64_MAX, "9223372036854775807"},
		{INT64_MIN, "-9223372036854775808"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[24];
		memset(buf, 'x', sizeof(buf));
		UNIT_CASE("%s", cases[i].want);
		size_t len = jq_fmt_i64(buf, cases[i].v);
		CHECK_STR_EQ(buf, cases[i].want);
		CHECK_INT_EQ(len, strlen(cases[i].want));
		/* and it reads back */
		int64_t back = 0;
		CHECK_INT_EQ(jq_parse_i64(buf, INT64_MIN, INT64_MAX, &back), 0);
		CHECK(back == cases[i].v);
	}
}

static void test_json_escape(void)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{"", ""},
		{"failed: boom", "failed: boom"},
		{"say \"hi\"", "say \\\"hi\\\""},
		{"a\\b", "a\\\\b"},
		{"line\nnext\ttab\x01\x1f\x7f", "line\\u000anext\\u0009tab\\u0001\\u001f\\u007f"},
		{"caf\xc3\xa9", "caf\xc3\xa9"}, /* UTF-8 passes as it is */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[128] = "x:";
		UNIT_CASE("case %zu", i);
		size_t end = jq_json_escape(buf, 2, sizeof(buf), cases[i].in);
		CHECK_INT_EQ(end, 2 + strlen(cases[i].want));
		CHECK_STR_EQ(buf + 2, cases[i].want);
	}
	/* a full buffer: cut, NUL-terminated, never past cap */
	char small[12];
	size_t end = jq_json_escape(small, 0, sizeof(small), "\"\"\"\"\"\"\"\"");
	CHECK(end < sizeof(small));
	CHECK_INT_EQ(strlen(small), end);
}

UNIT_MAIN({"parse_i64", test_parse_i64}, {"fmt_i64", test_fmt_i64},
	  {"json_escape", test_json_escape}, {"parse_i64n", test_parse_i64n},
	  {"utf8_valid", test_utf8_valid}, {"utf8_sanitize", test_utf8_sanitize},
	  {"format_rfc3339", test_format_rfc3339}, {"parse_rfc3339", test_parse_rfc3339},
	  {"clocks", test_clocks})
