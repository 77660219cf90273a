/* test_redact.c: unit tests of common/redact.c (credentials kept out of views) and
 * worker/secrets.c (a job's secrets put into its request). */
#include <stdlib.h>
#include <string.h>

#include "redact.h"
#include "secrets.h"
#include "unit.h"

static void test_url(void)
{
	static const struct {
		const char *url, *want; /* want NULL: nothing to redact */
	} cases[] = {
		{"https://user:pw@example.com/x?y=1", "https://[redacted]@example.com/x?y=1"},
		{"http://user@example.com", "http://[redacted]@example.com"},
		{"http://u:p@ss@example.com:8080/", "http://[redacted]@example.com:8080/"},
		{"http://example.com/a@b", NULL}, /* an @ in the path is no userinfo */
		{"http://example.com/?to=a@b.c", NULL},
		{"http://example.com#a@b", NULL},
		{"http://example.com", NULL},
		{"not a url", NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("%s", cases[i].url);
		char *got = jq_redact_url(cases[i].url);
		CHECK_STR_EQ(got, cases[i].want);
		free(got);
	}
}

static void test_payload(void)
{
	json_t *p = json_pack("{s:s,s:{s:s,s:s,s:s,s:s,s:s}}", "url", "https://a:b@h/", "headers",
			      "Authorization", "Bearer x", "COOKIE", "c=1", "proxy-authorization",
			      "Basic y", "X-Api", "keep", "Authorization-X", "keep too");
	jq_redact_payload("http", p);
	char *text = json_dumps(p, JSON_SORT_KEYS | JSON_COMPACT);
	CHECK_STR_EQ(text,
		     "{\"headers\":{\"Authorization\":\"[redacted]\",\"Authorization-X\":"
		     "\"keep too\",\"COOKIE\":\"[redacted]\",\"X-Api\":\"keep\","
		     "\"proxy-authorization\":\"[redacted]\"},\"url\":\"https://[redacted]@h/\"}");
	free(text);
	json_t *q = json_pack("{s:s}", "url", "https://a:b@h/");
	jq_redact_payload("exec", q); /* other types: as they are */
	CHECK_STR_EQ(json_string_value(json_object_get(q, "url")), "https://a:b@h/");
	jq_redact_payload("http", NULL);
	jq_redact_payload(NULL, q);
	json_decref(p);
	json_decref(q);
}

/* {"A": "one", "LONG_NAME": "two", "NL": "x\ny"} as msgpack */
static const char secrets[] = "\x83\xa1"
			      "A\xa3one\xa9LONG_NAME\xa3two\xa2NL\xa3x\ny";

static void test_expand(void)
{
	static const struct {
		const char *text, *want, *err;
		int header;
	} cases[] = {
		{"Bearer ${secret:A}", "Bearer one", NULL, 1},
		{"${secret:A}${secret:LONG_NAME}", "onetwo", NULL, 1},
		{"${secret:A}-${secret:A}!", "one-one!", NULL, 1},
		{"no reference", "no reference", NULL, 1},
		{"$secret:A} ${x}", "$secret:A} ${x}", NULL, 1},
		{"${secret:B}", NULL, "no secret 'B'", 1},
		{"${secret:A", NULL, "closing", 1},
		{"${secret:NL}", NULL, "line break", 1},
		{"${secret:NL}", "x\ny", NULL, 0},
		{"${secret:}", NULL, "no secret ''", 1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("%s", cases[i].text);
		char err[128] = "";
		char *got = jq_secrets_expand(secrets, sizeof(secrets) - 1, cases[i].text,
					      cases[i].header, err, sizeof(err));
		CHECK_STR_EQ(got, cases[i].want);
		if (cases[i].err)
			CHECK_CONTAINS(err, cases[i].err);
		free(got);
	}
	UNIT_CASE("no secrets at all");
	char err[128];
	CHECK(jq_secrets_expand(NULL, 0, "${secret:A}", 1, err, sizeof(err)) == NULL);
}

UNIT_MAIN({"url", test_url}, {"payload", test_payload}, {"expand", test_expand})
