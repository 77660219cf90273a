/* test_jobtypes.c: unit tests of the pure parts of the job types: the shared payload rules
 * (common/jobtypes.h) and the http and exec types (worker/http_job.h, worker/exec_job.h):
 * payload checks, the allow list, progress lines. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "exec_job.h"
#include "handler.h"
#include "http_job.h"
#include "jobtypes.h"
#include "unit.h"

/* A payload as a worker sees it: JSON -> stored envelope -> unpacked value. */
struct payload {
	msgpack_sbuffer buf;
	msgpack_unpacked up;
	const msgpack_object *v;
};

static int payload_make(struct payload *p, const char *json)
{
	char err[256];
	msgpack_sbuffer_init(&p->buf);
	msgpack_unpacked_init(&p->up);
	json_error_t jerr;
	json_t *j = json_loads(json, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if (!j) {
		fprintf(stderr, "bad test JSON %s: %s\n", json, jerr.text);
		return -1;
	}
	int rc = jq_payload_from_json(&p->buf, j, err, sizeof(err));
	json_decref(j);
	if (rc == 0)
		rc = jq_payload_unpack(p->buf.data, p->buf.size, &p->up, &p->v, err, sizeof(err));
	return rc;
}

static void payload_release(struct payload *p)
{
	msgpack_unpacked_destroy(&p->up);
	msgpack_sbuffer_destroy(&p->buf);
}

static void test_http_parse(void)
{
	static const struct {
		const char *json;
		const char *err; /* NULL: accepted */
	} cases[] = {
		{"{\"url\": \"http://127.0.0.1:8080/x?a=1\"}", NULL},
		{"{\"url\": \"HTTPS://example.com\"}", NULL},
		{"{\"url\": \"http://h/\", \"method\": \"post\", \"body\": \"x\"}", NULL},
		{"{\"url\": \"http://h/\", \"headers\": {\"X-Empty\": \"\", \"A\": \"b\\tc\"}}",
		 NULL},
		{"{\"url\": \"http://h/\", \"expect_status\": [200, 404], \"timeout_ms\": 1, "
		 "\"max_body\": 0, \"follow_redirects\": true}",
		 NULL},
		{"null", "payload must be an object"},
		{"[1]", "payload must be an object"},
		{"{}", "'url' is required"},
		{"{\"url\": \"\"}", "'url' is required"},
		{"{\"url\": 5}", "'url' is required"},
		{"{\"url\": \"ftp://h/\"}", "http:// or https://"},
		{"{\"url\": \"gopher://h/\"}", "http:// or https://"},
		{"{\"url\": \"h/no/scheme\"}", "http:// or https://"},
		{"{\"url\": \"http://h/a b\"}", "spaces"},
		{"{\"url\": \"http://h/\\r\\nX: y\"}", "control"},
		{"{\"url\": \"http://h/\\u00e9\"}", "non-ASCII"},
		{"{\"url\": \"http://h/\", \"method\": \"TRACE\"}", "'method'"},
		{"{\"url\": \"http://h/\", \"method\": \"GETX\"}", "'method'"},
		{"{\"url\": \"http://h/\", \"method\": 1}", "'method'"},
		{"{\"url\": \"http://h/\", \"headers\": {\"A\": \"b\\r\\nC: d\"}}",
		 "header injection"},
		{"{\"url\": \"http://h/\", \"headers\": {\"A\": \"b\\nc\"}}", "header injection"},
		{"{\"url\": \"http://h/\", \"headers\": {\"A\": \"b\\u0000c\"}}",
		 "header injection"},
		{"{\"url\": \"http://h/\", \"headers\": {\"A:B\": \"c\"}}",
		 "not a valid HTTP token"},
		{"{\"url\": \"http://h/\", \"headers\": {\"\": \"c\"}}", "not a valid HTTP token"},
		{"{\"url\": \"http://h/\", \"headers\": {\"A\": null}}", "string value"},
		{"{\"url\": \"http://h/\", \"headers\": {\"Content-Length\": \"3\"}}",
		 "Content-Length"},
		{"{\"url\": \"http://h/\", \"headers\": \"A: b\"}", "'headers' must be an object"},
		{"{\"url\": \"http://h/\", \"method\": \"HEAD\", \"body\": \"x\"}", "HEAD"},
		{"{\"url\": \"http://h/\", \"expect_status\": 600}", "'expect_status'"},
		{"{\"url\": \"http://h/\", \"expect_status\": []}", "'expect_status'"},
		{"{\"url\": \"http://h/\", \"expect_status\": [200, \"x\"]}", "'expect_status'"},
		{"{\"url\": \"http://h/\", \"timeout_ms\": 0}",
		 "'timeout_ms' must be an integer from 1"},
		{"{\"url\": \"http://h/\", \"timeout_ms\": 3600001}", "'timeout_ms'"},
		{"{\"url\": \"http://h/\", \"max_body\": -1}", "'max_body'"},
		{"{\"url\": \"http://h/\", \"max_body\": 1048577}", "'max_body'"},
		{"{\"url\": \"http://h/\", \"follow_redirects\": 1}", "'follow_redirects'"},
		{"{\"url\": \"http://h/\", \"hedaers\": {}}", "unknown payload field 'hedaers'"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("http %s", cases[i].json);
		struct payload p;
		CHECK_INT_EQ(payload_make(&p, cases[i].json), 0);
		struct jq_httpjob_request r;
		char err[256] = "";
		int rc = jq_httpjob_request_parse(&r, p.v, err, sizeof(err));
		if (cases[i].err) {
			CHECK_INT_EQ(rc, -1);
			CHECK_CONTAINS(err, cases[i].err);
			CHECK(r.url == NULL && r.headers == NULL && r.body == NULL);
		} else {
			CHECK_INT_EQ(rc, 0);
			jq_httpjob_request_release(&r);
		}
		payload_release(&p);
	}
}

static void test_http_fields(void)
{
	struct payload p;
	UNIT_CASE("defaults");
	CHECK_INT_EQ(payload_make(&p, "{\"url\": \"http://h/\"}"), 0);
	struct jq_httpjob_request r;
	char err[256] = "";
	CHECK_INT_EQ(jq_httpjob_request_parse(&r, p.v, err, sizeof(err)), 0);
	CHECK_STR_EQ(r.method, "GET");
	CHECK_STR_EQ(r.url, "http://h/");
	CHECK_INT_EQ(r.timeout_ms, JQ_HTTPJOB_DEFAULT_TIMEOUT_MS);
	CHECK_INT_EQ(r.max_body, JQ_HTTPJOB_DEFAULT_MAX_BODY);
	CHECK_INT_EQ(r.follow_redirects, 0);
	CHECK(r.body == NULL);
	CHECK_INT_EQ(jq_httpjob_status_expected(&r, 200), 1);
	CHECK_INT_EQ(jq_httpjob_status_expected(&r, 299), 1);
	CHECK_INT_EQ(jq_httpjob_status_expected(&r, 199), 0);
	CHECK_INT_EQ(jq_httpjob_status_expected(&r, 301), 0);
	jq_httpjob_request_release(&r);
	payload_release(&p);

	UNIT_CASE("headers, body and expect list");
	CHECK_INT_EQ(payload_make(&p, "{\"url\": \"http://h/\", \"method\": \"patch\", "
				      "\"headers\": {\"X-A\": \"1\", \"X-Empty\": \"\"}, "
				      "\"body\": {\"k\": 1}, \"expect_status\": [202, 404]}"),
		     0);
	CHECK_INT_EQ(jq_httpjob_request_parse(&r, p.v, err, sizeof(err)), 0);
	CHECK_STR_EQ(r.method, "PATCH");
	CHECK_INT_EQ(r.nheaders, 3);
	if (r.nheaders == 3) {
		CHECK_STR_EQ(r.headers[0], "X-A: 1");
		CHECK_STR_EQ(r.headers[1], "X-Empty;");
		CHECK_STR_EQ(r.headers[2], "Content-Type: application/json");
	}
	CHECK_STR_EQ(r.body, "{\"k\":1}");
	CHECK_INT_EQ(r.body_len, 7);
	CHECK_INT_EQ(jq_httpjob_status_expected(&r, 202), 1);
	CHECK_INT_EQ(jq_httpjob_status_expected(&r, 404), 1);
	CHECK_INT_EQ(jq_httpjob_status_expected(&r, 200), 0);
	jq_httpjob_request_release(&r);
	payload_release(&p);

	UNIT_CASE("the URL in messages has no credentials or query");
	CHECK_INT_EQ(payload_make(&p, "{\"url\": \"https://user:pw@h:81/a/b?token=x#frag\"}"), 0);
	CHECK_INT_EQ(jq_httpjob_request_parse(&r, p.v, err, sizeof(err)), 0);
	CHECK_STR_EQ(r.url, "https://user:pw@h:81/a/b?token=x#frag");
	CHECK_STR_EQ(r.url_shown, "https://h:81/a/b");
	jq_httpjob_request_release(&r);
	payload_release(&p);

	UNIT_CASE("retryable statuses");
	CHECK_INT_EQ(jq_httpjob_status_retryable(500), 1);
	CHECK_INT_EQ(jq_httpjob_status_retryable(503), 1);
	CHECK_INT_EQ(jq_httpjob_status_retryable(429), 1);
	CHECK_INT_EQ(jq_httpjob_status_retryable(408), 1);
	CHECK_INT_EQ(jq_httpjob_status_retryable(404), 0);
	CHECK_INT_EQ(jq_httpjob_status_retryable(400), 0);
	CHECK_INT_EQ(jq_httpjob_status_retryable(301), 0);
	CHECK_INT_EQ(jq_httpjob_status_retryable(200), 0);
}

static void test_exec_spec(void)
{
	static const struct {
		const char *spec;
		int n; /* commands after parsing, or -1 for an error */
		const char *err;
	} cases[] = {
		{"a=/bin/true", 1, NULL},
		{"a=/bin/true,b.c-d:e=/usr/bin/env", 2, NULL},
		{"a=/path with spaces/prog", 1, NULL},
		{"a", -1, "must be NAME=/absolute/path"},
		{"=/bin/true", -1, "name"},
		{"a b=/bin/true", -1, "name"},
		{"a=bin/true", -1, "absolute path"},
		{"a=", -1, "absolute path"},
		{"a=/bin/true,a=/bin/false", -1, "given twice"},
		{"a=/bin/true,", -1, "must be NAME=/absolute/path"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("spec %s", cases[i].spec);
		struct jq_exec_command cmds[4];
		int n = 0;
		char err[256] = "";
		int rc = jq_exec_spec_parse(cases[i].spec, cmds, &n, 4, err, sizeof(err));
		if (cases[i].n < 0) {
			CHECK_INT_EQ(rc, -1);
			CHECK_CONTAINS(err, cases[i].err);
		} else {
			CHECK_INT_EQ(rc, 0);
			CHECK_INT_EQ(n, cases[i].n);
		}
	}
	UNIT_CASE("spec fields and the cap");
	struct jq_exec_command cmds[2];
	int n = 0;
	char err[256] = "";
	CHECK_INT_EQ(jq_exec_spec_parse("x=/a/b", cmds, &n, 2, err, sizeof(err)), 0);
	CHECK_INT_EQ(jq_exec_spec_parse("y=/c", cmds, &n, 2, err, sizeof(err)), 0);
	CHECK_STR_EQ(cmds[0].name, "x");
	CHECK_STR_EQ(cmds[0].path, "/a/b");
	CHECK_STR_EQ(cmds[1].name, "y");
	CHECK_INT_EQ(jq_exec_spec_parse("z=/d", cmds, &n, 2, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "at most 2");
	CHECK_INT_EQ(jq_exec_spec_parse("x=/e", cmds, &n, 2, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "given twice");
}

static void test_exec_progress(void)
{
	static const struct {
		const char *line;
		int ok;
		int64_t done, total;
	} cases[] = {
		{"progress 1/4", 1, 1, 4},
		{"progress 0/1", 1, 0, 1},
		{"progress 4/4", 1, 4, 4},
		{"  progress\t 12/100 \r", 1, 12, 100},
		{"progress 5/4", 0, 0, 0},
		{"progress 1/0", 0, 0, 0},
		{"progress -1/4", 0, 0, 0},
		{"progress 1 / 4", 0, 0, 0},
		{"progress 1/4 done", 0, 0, 0},
		{"progress1/4", 0, 0, 0},
		{"Progress 1/4", 0, 0, 0},
		{"progress /4", 0, 0, 0},
		{"progress 1/", 0, 0, 0},
		{"progress 1234567890123456789/9999999999999999999", 0, 0, 0},
		{"some other line", 0, 0, 0},
		{"", 0, 0, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("progress '%s'", cases[i].line);
		int64_t d = -7, t = -7;
		int rc = jq_exec_progress_line(cases[i].line, strlen(cases[i].line), &d, &t);
		CHECK_INT_EQ(rc, cases[i].ok ? 0 : -1);
		if (cases[i].ok) {
			CHECK_INT_EQ(d, cases[i].done);
			CHECK_INT_EQ(t, cases[i].total);
		}
	}
}

static void test_exec_request(void)
{
	static const struct {
		const char *json;
		const char *err;   /* NULL: accepted */
		const char *input; /* the stdin line when accepted */
		size_t nargs;
	} cases[] = {
		{"{\"command\": \"x\"}", NULL, "{\"command\":\"x\"}\n", 0},
		{"{\"command\": \"x\", \"args\": [\"$(id)\", \"\"], \"input\": [1, \"a\"]}", NULL,
		 "[1,\"a\"]\n", 2},
		{"{\"command\": \"x\", \"input\": null}", NULL, "null\n", 0},
		{"{\"command\": \"x\", \"args\": null, \"k\": 2}", NULL,
		 "{\"command\":\"x\",\"args\":null,\"k\":2}\n", 0},
		{"{}", "'command' is required", NULL, 0},
		{"\"x\"", "'command' is required", NULL, 0},
		{"{\"command\": 1}", "'command' is required", NULL, 0},
		{"{\"command\": \"\"}", "'command' must be", NULL, 0},
		{"{\"command\": \"/bin/sh\"}", "'command' must be", NULL, 0},
		{"{\"command\": \"x\", \"args\": \"a\"}", "'args' must be a list", NULL, 0},
		{"{\"command\": \"x\", \"args\": [\"a\", 1]}", "item 1 is not", NULL, 0},
		{"{\"command\": \"x\", \"args\": [\"a\\u0000b\"]}", "NUL", NULL, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("exec %s", cases[i].json);
		struct payload p;
		CHECK_INT_EQ(payload_make(&p, cases[i].json), 0);
		struct jq_exec_request r;
		char err[256] = "";
		int rc = jq_exec_request_parse(&r, p.v, err, sizeof(err));
		if (cases[i].err) {
			CHECK_INT_EQ(rc, -1);
			CHECK_CONTAINS(err, cases[i].err);
			CHECK(r.args == NULL && r.input == NULL);
		} else {
			CHECK_INT_EQ(rc, 0);
			CHECK_STR_EQ(r.input, cases[i].input);
			CHECK_INT_EQ(r.nargs, cases[i].nargs);
			if (r.nargs == 2) {
				CHECK_STR_EQ(r.args[0], "$(id)");
				CHECK_STR_EQ(r.args[1], "");
				CHECK(r.args[2] == NULL);
			}
			jq_exec_request_release(&r);
		}
		payload_release(&p);
	}
}

static void test_http_deny(void)
{
	struct jq_httpjob_deny d = {.n = 0};
	char err[200];
	CHECK_INT_EQ(jq_httpjob_deny_add(&d, "10.0.0.0/8", err, sizeof(err)), 0);
	CHECK_INT_EQ(jq_httpjob_deny_add(&d, "192.0.2.7", err, sizeof(err)), 0);
	CHECK_INT_EQ(jq_httpjob_deny_add(&d, "2001:db8::/32", err, sizeof(err)), 0);
	CHECK_INT_EQ(jq_httpjob_deny_add(&d, "172.16.0.0/12", err, sizeof(err)), 0);
	static const struct {
		const char *ip;
		int want;
	} cases[] = {
		{"10.1.2.3", 1},        {"11.0.0.1", 0},       {"192.0.2.7", 1},
		{"192.0.2.8", 0},       {"2001:db8:1::5", 1},  {"2001:db9::1", 0},
		{"172.31.255.255", 1},  {"172.32.0.0", 0},     {"::ffff:10.9.9.9", 1},
		{"::ffff:11.9.9.9", 0}, {"not an address", 1}, /* unreadable: refused */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("%s", cases[i].ip);
		CHECK_INT_EQ(jq_httpjob_deny_match(&d, cases[i].ip), cases[i].want);
	}
	/* the private preset: loopback, private, link-local (cloud metadata), unique-local */
	struct jq_httpjob_deny p = {.n = 0};
	CHECK_INT_EQ(jq_httpjob_deny_add(&p, "private", err, sizeof(err)), 0);
	static const char *const private_ips[] = {"127.0.0.1",
						  "10.0.0.1",
						  "192.168.1.1",
						  "169.254.169.254",
						  "100.64.0.1",
						  "0.0.0.0",
						  "::1",
						  "fd00::1",
						  "fe80::1",
						  "::ffff:127.0.0.1",
						  "192.0.0.170",
						  "198.19.0.1",
						  "224.0.0.251",
						  "239.1.2.3",
						  "255.255.255.255",
						  "240.0.0.1",
						  "ff02::1",
						  "::127.0.0.1",
						  "64:ff9b::a9fe:a9fe",
						  "64:ff9b::10.1.1.1",
						  "64:ff9b:1::1",
						  "2002:7f00:1::1",
						  "2002:a9fe:a9fe::"};
	for (size_t i = 0; i < sizeof(private_ips) / sizeof(private_ips[0]); i++) {
		UNIT_CASE("private %s", private_ips[i]);
		CHECK_INT_EQ(jq_httpjob_deny_match(&p, private_ips[i]), 1);
	}
	UNIT_CASE("public");
	CHECK_INT_EQ(jq_httpjob_deny_match(&p, "93.184.216.34"), 0);
	CHECK_INT_EQ(jq_httpjob_deny_match(&p, "2606:2800:220:1::1"), 0);
	/* NAT64 and 6to4 addresses of a public IPv4 address pass */
	CHECK_INT_EQ(jq_httpjob_deny_match(&p, "64:ff9b::93.184.216.34"), 0);
	CHECK_INT_EQ(jq_httpjob_deny_match(&p, "2002:5db8:d822::1"), 0);
	/* a user's own IPv4 network covers its NAT64 and 6to4 forms too */
	CHECK_INT_EQ(jq_httpjob_deny_match(&d, "64:ff9b::10.2.3.4"), 1);
	CHECK_INT_EQ(jq_httpjob_deny_match(&d, "2002:0a02:0304::1"), 1);
	CHECK_INT_EQ(jq_httpjob_deny_match(&d, "64:ff9b::11.2.3.4"), 0);
	/* several in one value, as the worker's flag and JOBQ_HTTP_DENY take them */
	struct jq_httpjob_deny l = {.n = 0};
	UNIT_CASE("list");
	CHECK_INT_EQ(jq_httpjob_deny_add(&l, "192.0.2.0/24,,2001:db8::1,", err, sizeof(err)), 0);
	CHECK_INT_EQ(l.n, 2);
	CHECK_INT_EQ(jq_httpjob_deny_match(&l, "192.0.2.9"), 1);
	CHECK_INT_EQ(jq_httpjob_deny_match(&l, "2001:db8::1"), 1);
	CHECK_INT_EQ(jq_httpjob_deny_add(&l, "192.0.2.0/24,nonsense", err, sizeof(err)), -1);
	/* nothing denied: every address passes */
	struct jq_httpjob_deny none = {.n = 0};
	CHECK_INT_EQ(jq_httpjob_deny_match(&none, "127.0.0.1"), 0);
	/* bad specs */
	static const char *const bad[] = {"10.0.0.0/33", "::/129",    "10.0.0.0/x",
					  "example.com", "10.0.0.0/", "1.2.3"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		UNIT_CASE("bad %s", bad[i]);
		CHECK_INT_EQ(jq_httpjob_deny_add(&d, bad[i], err, sizeof(err)), -1);
		CHECK_CONTAINS(err, "--http-deny");
	}
}

#define A26 "abcdefghijklmnopqrstuvwxyz"
#define A130 A26 A26 A26 A26 A26
#define A520 A130 A130 A130 A130

/* The broker's set of types is the worker's table, and one rule decides both sides. */
static void test_builtin_types(void)
{
	char names[128];
	snprintf(names, sizeof(names), "%s", jq_jobtype_names());
	int n = 0;
	for (char *save = NULL, *t = strtok_r(names, ", ", &save); t;
	     t = strtok_r(NULL, ", ", &save)) {
		UNIT_CASE("%s", t);
		CHECK_INT_EQ(jq_jobtype_known(t), 1);
		CHECK(jq_handler_find(t) != NULL);
		n++;
	}
	CHECK_INT_EQ(n, 6);
	static const struct {
		const char *type, *json, *err; /* err NULL: accepted */
	} cases[] = {
		{"noop", "null", NULL},
		{"noop", "[1, {\"any\": \"thing\"}]", NULL},
		{"sendmail", "null", "unknown job type 'sendmail' (the types are noop, progress"},
		{"progress", "{\"duration\": 3}", NULL},
		{"progress", "null", "'payload' of a progress job: 'duration' must be an integer"},
		{"progress", "{\"duration\": 3, \"interval_ms\": 0}", "'interval_ms'"},
		{"hash", "{\"data\": \"abc\", \"repeat\": 1000}", NULL},
		{"hash", "null", "'payload' of a hash job: 'data' must be a string"},
		{"hash", "{\"data\": \"abcd\", \"repeat\": 10000000}", NULL},
		/* 520 bytes 10^7 times: past the 4 GiB a job may hash */
		{"hash", "{\"data\": \"" A520 "\", \"repeat\": 10000000}",
		 "data times repeat exceeds"},
		{"email", "{\"to\": \"a@example.com\", \"subject\": \"hi\", \"sync\": true}", NULL},
		{"email", "{\"to\": \"a@example.com\", \"subject\": \"two\\nlines\"}", "'subject'"},
		{"email", "{\"to\": \"<a@example.com>\"}", "'to' must be an email address"},
		{"email", "{\"to\": \"a@example.com\", \"sync\": 1}",
		 "'sync' must be true or false"},
		{"http", "{\"url\": \"http://127.0.0.1:8000/healthz\"}", NULL},
		{"http", "{\"url\": \"gopher://x\"}", "'payload' of a http job: "},
		{"exec", "{\"command\": \"not_on_any_worker\"}", NULL},
		{"exec", "{\"command\": \"/bin/sh\"}", "'command' must be"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("%s %s", cases[i].type, cases[i].json);
		struct payload p;
		if (payload_make(&p, cases[i].json) != 0) {
			CHECK(0);
			continue;
		}
		char err[512] = "";
		int rc = jq_jobtype_check(cases[i].type, p.v, err, sizeof(err));
		CHECK_INT_EQ(rc, cases[i].err ? -1 : 0);
		if (cases[i].err)
			CHECK_CONTAINS(err, cases[i].err);
		payload_release(&p);
	}
	char err[256];
	UNIT_CASE("no payload at all");
	CHECK_INT_EQ(jq_jobtype_check("noop", NULL, err, sizeof(err)), 0);
	CHECK_INT_EQ(jq_jobtype_check("hash", NULL, err, sizeof(err)), -1);
}

UNIT_MAIN({"builtin_types", test_builtin_types}, {"http_parse", test_http_parse},
	  {"http_fields", test_http_fields}, {"http_deny", test_http_deny},
	  {"exec_spec", test_exec_spec}, {"exec_progress", test_exec_progress},
	  {"exec_request", test_exec_request})
