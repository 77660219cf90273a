/* test_auth.c: unit tests of broker/auth.c's pure helpers: scopes, the Bearer and Cookie
 * headers, hashing and the constant-time table lookup. */
#include <string.h>

#include "auth.h"
#include "unit.h"

static void test_scopes(void)
{
	static const struct {
		const char *list;
		int mask;
		const char *shown;
	} cases[] = {
		{"read", JQ_SCOPE_READ, "read"},
		{"enqueue,read", JQ_SCOPE_READ | JQ_SCOPE_ENQUEUE, "read,enqueue"},
		{"admin", JQ_SCOPE_ADMIN, "admin"},
		{"read,enqueue,admin", JQ_SCOPE_READ | JQ_SCOPE_ENQUEUE | JQ_SCOPE_ADMIN,
		 "read,enqueue,admin"},
		{"", -1, NULL},
		{"god", -1, NULL},
		{"read,", JQ_SCOPE_READ, "read"},
		{"read,,x", -1, NULL},
		{"READ", -1, NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("'%s'", cases[i].list);
		int m = jq_auth_scopes_parse(cases[i].list);
		CHECK_INT_EQ(m, cases[i].mask);
		if (m > 0) {
			char out[64];
			jq_auth_scopes_format(m, out, sizeof(out));
			CHECK_STR_EQ(out, cases[i].shown);
		}
	}
}

static void test_headers(void)
{
	CHECK_STR_EQ(jq_auth_bearer("Bearer abc"), "abc");
	CHECK_STR_EQ(jq_auth_bearer("bearer  abc"), "abc");
	CHECK(jq_auth_bearer("Basic abc") == NULL);
	CHECK(jq_auth_bearer("Bearer ") == NULL);
	CHECK(jq_auth_bearer("Bearerabc") == NULL);
	CHECK(jq_auth_bearer(NULL) == NULL);
	size_t n = 0;
	const char *v = jq_auth_cookie("a=1; jobq_session=xyz; b=2", "jobq_session", &n);
	CHECK(v && n == 3 && strncmp(v, "xyz", 3) == 0);
	v = jq_auth_cookie("jobq_session=xyz", "jobq_session", &n);
	CHECK(v && n == 3);
	CHECK(jq_auth_cookie("xjobq_session=1", "jobq_session", &n) == NULL);
	CHECK(jq_auth_cookie("jobq_sessionx=1", "jobq_session", &n) == NULL);
	CHECK(jq_auth_cookie(NULL, "jobq_session", &n) == NULL);
}

static void test_lookup(void)
{
	struct jq_auth_token t[3];
	memset(t, 0, sizeof(t));
	CHECK_INT_EQ(jq_auth_sha256("jq_a", 4, t[0].hash), 0);
	CHECK_INT_EQ(jq_auth_sha256("jq_b", 4, t[1].hash), 0);
	CHECK_INT_EQ(jq_auth_sha256("jq_c", 4, t[2].hash), 0);
	unsigned char h[32];
	jq_auth_sha256("jq_b", 4, h);
	CHECK(jq_auth_lookup(t, 3, h) == &t[1]);
	jq_auth_sha256("jq_d", 4, h);
	CHECK(jq_auth_lookup(t, 3, h) == NULL);
	CHECK(jq_auth_lookup(t, 0, h) == NULL);
	char hex[65];
	jq_auth_sha256("abc", 3, h);
	jq_auth_hex(h, 32, hex);
	CHECK_STR_EQ(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

UNIT_MAIN({"scopes", test_scopes}, {"headers", test_headers}, {"lookup", test_lookup})
