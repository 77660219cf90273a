/* test_jobctl.c: unit tests of cli/ (jobctl_core): argument checks, output formats, and whole
 * runs against a fake broker on a loopback port that answers canned replies. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "args.h"
#include "jobctl.h"
#include "print.h"
#include "sse.h"
#include "unit.h"
#include "util.h"
#include "watch.h"

/* ---- pure pieces ---- */

static void test_duration(void)
{
	static const struct {
		const char *arg;
		int rc;
		int64_t value;
	} cases[] = {
		{"0", 0, 0},   {"10", 0, 10}, {"86400", 0, 86400}, {"86401", -1, 0},
		{"-1", -1, 0}, {"", -1, 0},   {"abc", -1, 0},      {"3.5", -1, 0},
		{" 3", -1, 0}, {"+3", -1, 0}, {"3s", -1, 0},       {"99999999999999999999", -1, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t v = -7;
		char err[256] = "";
		UNIT_CASE("duration '%s'", cases[i].arg);
		CHECK_INT_EQ(jq_ctl_parse_duration(cases[i].arg, &v, err, sizeof(err)),
			     cases[i].rc);
		if (cases[i].rc == 0) {
			CHECK_INT_EQ(v, cases[i].value);
		} else {
			CHECK_CONTAINS(err, "invalid duration");
			CHECK_CONTAINS(err, "0 to 86400");
		}
	}
}

static void test_payload(void)
{
	static const struct {
		const char *arg;
		const char *json; /* the payload after adding arg to {"k0": 0}; NULL: refused */
		const char *msg;  /* when refused, a part of the reason */
	} cases[] = {
		{"duration=3", "{\"k0\":0,\"duration\":3}", NULL},
		{"to=a@b.c", "{\"k0\":0,\"to\":\"a@b.c\"}", NULL},
		{"x=-1.5", "{\"k0\":0,\"x\":-1.5}", NULL},
		{"b=true", "{\"k0\":0,\"b\":true}", NULL},
		{"b=false", "{\"k0\":0,\"b\":false}", NULL},
		{"n=null", "{\"k0\":0,\"n\":null}", NULL},
		{"s=\"3\"", "{\"k0\":0,\"s\":\"3\"}", NULL},
		{"a=[1,\"x\"]", "{\"k0\":0,\"a\":[1,\"x\"]}", NULL},
		{"o={\"a\":{\"b\":1}}", "{\"k0\":0,\"o\":{\"a\":{\"b\":1}}}", NULL},
		{"empty=", "{\"k0\":0,\"empty\":\"\"}", NULL},
		{"eq=a=b", "{\"k0\":0,\"eq\":\"a=b\"}", NULL},
		{"t=3abc", "{\"k0\":0,\"t\":\"3abc\"}", NULL},
		{"t=True", "{\"k0\":0,\"t\":\"True\"}", NULL},
		{"t={", "{\"k0\":0,\"t\":\"{\"}", NULL},
		{"t=1 2", "{\"k0\":0,\"t\":\"1 2\"}", NULL},
		{"u=h\xc3\xa9", "{\"k0\":0,\"u\":\"h\xc3\xa9\"}", NULL},
		{"noeq", NULL, "expected key=value, not 'noeq'"},
		{"=v", NULL, "empty key in '=v'"},
		{"k0=1", NULL, "key 'k0' is given twice"},
		{"k=\xff", NULL, "value of 'k' is not valid UTF-8"},
		{"\xff=1", NULL, "is not valid UTF-8"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *payload = json_pack("{s:i}", "k0", 0);
		char err[256] = "";
		UNIT_CASE("payload arg '%s'", cases[i].arg);
		int rc = jq_ctl_payload_add(payload, cases[i].arg, err, sizeof(err));
		CHECK_INT_EQ(rc, cases[i].json ? 0 : -1);
		char *got = json_dumps(payload, JSON_COMPACT);
		if (cases[i].json) {
			CHECK_STR_EQ(got, cases[i].json);
		} else {
			CHECK_CONTAINS(err, cases[i].msg);
			CHECK_STR_EQ(got, "{\"k0\":0}"); /* unchanged */
		}
		free(got);
		json_decref(payload);
	}
}

static void test_progress_parse(void)
{
	static const struct {
		const char *status;
		int rc;
		int64_t done, total;
	} cases[] = {
		{"progress: 3/6", 0, 3, 6},   {"progress: 0/1", 0, 0, 1},
		{"progress: 7/6", 0, 7, 6},   {"progress: 3/0", -1, 0, 0},
		{"progress:3/6", -1, 0, 0},   {"progress: 3/", -1, 0, 0},
		{"progress: /6", -1, 0, 0},   {"progress: a/6", -1, 0, 0},
		{"progress: 3/6x", -1, 0, 0}, {"progress: -1/6", -1, 0, 0},
		{"pending", -1, 0, 0},        {"", -1, 0, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t d = -9, t = -9;
		UNIT_CASE("status '%s'", cases[i].status);
		CHECK_INT_EQ(jq_ctl_parse_progress(cases[i].status, &d, &t), cases[i].rc);
		CHECK_INT_EQ(d, cases[i].rc == 0 ? cases[i].done : -9);
		CHECK_INT_EQ(t, cases[i].rc == 0 ? cases[i].total : -9);
	}
}

static void test_outcome(void)
{
	static const struct {
		const char *status;
		int outcome;
	} cases[] = {
		{"completed", 0}, {"failed: boom", 1}, {"failed", 1},   {"cancelled", 1},
		{"not_found", 1}, {"pending", -1},     {"running", -1}, {"progress: 1/2", -1},
		{"failedx", -1},  {"completed ", -1},  {"", -1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("status '%s'", cases[i].status);
		CHECK_INT_EQ(jq_ctl_task_outcome(cases[i].status), cases[i].outcome);
	}
}

static void test_bar(void)
{
	static const struct {
		int64_t done, total;
		int width;
		size_t cap;
		const char *bar;
	} cases[] = {
		{0, 6, 20, 64, "[--------------------]"},
		{3, 6, 20, 64, "[##########----------]"},
		{5, 6, 20, 64, "[################----]"},
		{6, 6, 20, 64, "[####################]"},
		{9, 6, 20, 64, "[####################]"},
		{3, 0, 20, 64, "[--------------------]"},
		{-3, 6, 20, 64, "[--------------------]"},
		{1, 3, 10, 64, "[###-------]"},
		{INT64_MAX - 1, INT64_MAX, 10, 64, "[#########-]"},
		{1, 2, 0, 64, "[]"},
		{1, 2, -5, 64, "[]"},
		{3, 6, 20, 6, "[####"},
		{3, 6, 20, 1, ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[64];
		UNIT_CASE("bar %" PRId64 "/%" PRId64 " width %d cap %zu", cases[i].done,
			  cases[i].total, cases[i].width, cases[i].cap);
		jq_ctl_render_bar(buf, cases[i].cap, cases[i].done, cases[i].total, cases[i].width);
		CHECK_STR_EQ(buf, cases[i].bar);
	}
}

static void test_progress_line(void)
{
	static const struct {
		const char *status;
		int64_t done, total; /* the last progress seen */
		size_t cap;
		const char *line;
	} cases[] = {
		{"progress: 3/6", 0, 0, 128, "[##########----------] 3/6  progress"},
		{"progress: 3/6", 5, 9, 128, "[##########----------] 3/6  progress"},
		{"pending", 0, 0, 128, "[--------------------]  pending"},
		{"running", 0, 0, 128, "[--------------------]  running"},
		{"running", 2, 6, 128, "[######--------------] 2/6  running"},
		{"completed", 5, 6, 128, "[####################] 6/6  completed"},
		{"completed", 0, 0, 128, "[####################]  completed"},
		{"failed: boom", 1, 2, 128, "[##########----------] 1/2  failed: boom"},
		{"failed: a\nb\x1b[2Jc\xc3\xa9", 0, 0, 128,
		 "[--------------------]  failed: a?b?[2Jc??"},
		{"progress: 3/6", 0, 0, 27, "[##########----------] 3/6"},
		{"pending", 0, 0, 1, ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[128];
		UNIT_CASE("line for '%s' cap %zu", cases[i].status, cases[i].cap);
		jq_ctl_format_progress_line(buf, cases[i].cap, cases[i].status, cases[i].done,
					    cases[i].total);
		CHECK_STR_EQ(buf, cases[i].line);
	}
}

static void test_rate(void)
{
	struct jq_ctl_rate r;
	jq_ctl_rate_init(&r);
	UNIT_CASE("no point, one point, two at the same time");
	CHECK(jq_ctl_rate_per_s(&r) < 0);
	jq_ctl_rate_add(&r, 1000000, 0);
	CHECK(jq_ctl_rate_per_s(&r) < 0);
	jq_ctl_rate_add(&r, 1000000, 1);
	CHECK(jq_ctl_rate_per_s(&r) < 0);
	UNIT_CASE("2 steps a second");
	jq_ctl_rate_add(&r, 2000000, 3);
	CHECK_INT_EQ((long long)(jq_ctl_rate_per_s(&r) * 1000), 3000);
	jq_ctl_rate_init(&r);
	for (int k = 0; k <= 10; k++)
		jq_ctl_rate_add(&r, k * 500000, 2 * k);
	CHECK_INT_EQ((long long)(jq_ctl_rate_per_s(&r) * 1000), 4000);
	UNIT_CASE("only the last %d points count", JQ_CTL_RATE_SAMPLES);
	jq_ctl_rate_init(&r);
	jq_ctl_rate_add(&r, 0, 0);
	for (int k = 1; k <= JQ_CTL_RATE_SAMPLES; k++) /* one a second after a slow start */
		jq_ctl_rate_add(&r, 100000000 + k * 1000000LL, k);
	CHECK_INT_EQ((long long)(jq_ctl_rate_per_s(&r) * 1000), 1000);
	UNIT_CASE("going back starts anew");
	jq_ctl_rate_add(&r, 200000000, 0);
	CHECK(jq_ctl_rate_per_s(&r) < 0);
	jq_ctl_rate_add(&r, 200250000, 1);
	CHECK_INT_EQ((long long)(jq_ctl_rate_per_s(&r) * 1000), 4000);
}

static void test_watch_line(void)
{
	static const struct {
		const char *state, *status;
		int64_t done, total;
		double rate;
		size_t cap;
		const char *line;
	} cases[] = {
		{"running", "progress: 5/10", 5, 10, 2.0, 128,
		 "[##########----------] 5/10 50%  2.0/s  ETA 3s"},
		{"running", "progress: 5/10", 5, 10, -1, 128, "[##########----------] 5/10 50%"},
		{"running", "progress: 1/3", 1, 3, 0.3, 128,
		 "[######--------------] 1/3 33%  0.3/s  ETA 7s"},
		{"running", "progress: 0/1000", 0, 1000, 12.4, 128,
		 "[--------------------] 0/1000 0%  12/s  ETA 1m21s"},
		{"running", "progress: 0/100000", 0, 100000, 10, 128,
		 "[--------------------] 0/100000 0%  10/s  ETA 2h46m"},
		{"running", "progress: 1/9000000", 1, 9000000, 10, 128,
		 "[--------------------] 1/9000000 0%  10/s  ETA >99h"},
		{"running", "progress: 1/60", 1, 60, 0.05, 128,
		 "[--------------------] 1/60 1%  3.0/min  ETA 19m40s"},
		{"running", "progress: 10/10", 10, 10, 1, 128, "[####################] 10/10 100%"},
		{"running", "running", 0, 0, -1, 128, "[--------------------]  running"},
		{"pending", "pending", 0, 0, -1, 128, "[--------------------]  pending"},
		{"completed", "completed", 3, 10, 1, 128,
		 "[####################] 10/10 100%  completed"},
		{"completed", "completed", 0, 0, -1, 128, "[####################]  completed"},
		{"failed", "failed: boom\n\x1b[2J", 4, 10, 1, 128,
		 "[########------------] 4/10 40%  failed: boom??[2J"},
		{"cancelled", "cancelled", 0, 0, -1, 128, "[--------------------]  cancelled"},
		{"running", "progress: 5/10", 5, 10, 2.0, 31, "[##########----------] 5/10 50"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[128];
		UNIT_CASE("watch line #%zu '%s'", i, cases[i].status);
		jq_ctl_format_watch_line(buf, cases[i].cap, cases[i].state, cases[i].status,
					 cases[i].done, cases[i].total, cases[i].rate);
		CHECK_STR_EQ(buf, cases[i].line);
	}
}

static void test_http_error(void)
{
	static const struct {
		long status;
		const char *body;
		const char *msg;
	} cases[] = {
		{404, "{\"error\": {\"code\": \"not_found\", \"message\": \"job 9 not found\"}}",
		 "not_found: job 9 not found (HTTP 404)"},
		{503, "{\"error\": {\"code\": \"redis_unavailable\"}}",
		 "redis_unavailable: no message (HTTP 503)"},
		{400, "{\"error\": {\"message\": \"bad\\nthing\"}}", "error: bad?thing (HTTP 400)"},
		{500, "{\"error\": \"flat\"}", "broker answered HTTP 500: '{\"error\": \"flat\"}'"},
		{413, "<HTML><HEAD>\r\n<TITLE>413 Payload Too Large</TITLE>\n</HEAD>",
		 "broker answered HTTP 413: '<HTML><HEAD> <TITLE>413 Payload Too Large</TITLE> "
		 "</HEAD>'"},
		{502, "", "broker answered HTTP 502 with an empty body"},
		{418, "caf\xc3\xa9\x1b", "broker answered HTTP 418: 'caf?\?'"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[512];
		UNIT_CASE("error %ld '%s'", cases[i].status, cases[i].body);
		jq_ctl_format_http_error(buf, sizeof(buf), cases[i].status, cases[i].body,
					 strlen(cases[i].body));
		CHECK_STR_EQ(buf, cases[i].msg);
	}

	/* A long body is cut, and a small buffer is never overrun. */
	char body[4096], buf[512], small[16];
	memset(body, 'x', sizeof(body));
	UNIT_CASE("long body");
	jq_ctl_format_http_error(buf, sizeof(buf), 500, body, sizeof(body));
	CHECK(strlen(buf) < 200);
	CHECK_CONTAINS(buf, "xxx...'");
	jq_ctl_format_http_error(small, sizeof(small), 500, body, sizeof(body));
	CHECK_STR_EQ(small, "broker answered");
}

/* Runs jq_ctl_print_job on a JSON text and returns what it printed (free it). */
static char *print_job(const char *text, int *rc)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	json_t *job = json_loads(text, JSON_DECODE_ANY, NULL);
	*rc = jq_ctl_print_job(f, job);
	fclose(f);
	json_decref(job);
	return buf;
}

static void test_print_job(void)
{
	int rc;
	char *got;

	UNIT_CASE("whole job");
	got = print_job("{\"id\": 12, \"type\": \"progress\", \"queue\": \"default\", \"state\": "
			"\"running\", \"status\": \"progress: 3/6\", \"progress\": {\"done\": 3, "
			"\"total\": 6}, \"attempts\": 1, \"max_attempts\": 3, \"priority\": 0, "
			"\"timeout_ms\": 0, \"payload\": {\"duration\": 6}, \"result\": null, "
			"\"error\": null, \"created_at\": \"2026-11-25T22:03:17.123Z\", "
			"\"started_at\": \"2026-11-25T22:03:17.125Z\", \"finished_at\": null, "
			"\"worker\": \"h:1:0\"}",
			&rc);
	CHECK_INT_EQ(rc, 0);
	CHECK_STR_EQ(got, "id          12\n"
			  "type        progress\n"
			  "queue       default\n"
			  "state       running\n"
			  "status      progress: 3/6\n"
			  "progress    3/6\n"
			  "attempts    1/3\n"
			  "recoveries  -\n"
			  "created     2026-11-25T22:03:17.123Z\n"
			  "started     2026-11-25T22:03:17.125Z\n"
			  "finished    -\n"
			  "worker      h:1:0\n"
			  "result      -\n"
			  "error       -\n"
			  "errors      -\n");
	free(got);

	UNIT_CASE("scheduled job: errors of every attempt, recoveries, run_at");
	got = print_job(
		"{\"id\": 4, \"type\": \"email\", \"queue\": \"default\", \"state\": "
		"\"scheduled\", \"status\": \"pending\", \"progress\": {\"done\": 0, "
		"\"total\": 0}, \"attempts\": 2, \"max_attempts\": 3, \"result\": null, "
		"\"error\": \"smtp: timeout\", \"errors\": [{\"attempt\": 1, \"error\": "
		"\"smtp: refused\\nretry\", \"at\": 1764108197123}, {\"attempt\": 2, \"error\": "
		"\"smtp: timeout\", \"at\": 1764108199000}], \"recoveries\": 1, \"run_at\": "
		"\"2026-11-25T22:03:21.000Z\", \"created_at\": \"c\", \"started_at\": \"s\", "
		"\"finished_at\": null, \"worker\": null}",
		&rc);
	CHECK_INT_EQ(rc, 0);
	CHECK_STR_EQ(got, "id          4\n"
			  "type        email\n"
			  "queue       default\n"
			  "state       scheduled\n"
			  "status      pending\n"
			  "progress    -\n"
			  "attempts    2/3\n"
			  "recoveries  1\n"
			  "created     c\n"
			  "started     s\n"
			  "finished    -\n"
			  "run at      2026-11-25T22:03:21.000Z\n"
			  "worker      -\n"
			  "result      -\n"
			  "error       smtp: timeout\n"
			  "errors      attempt 1  2025-11-25T22:03:17.123Z  smtp: refused?retry\n"
			  "            attempt 2  2025-11-25T22:03:19.000Z  smtp: timeout\n");
	free(got);

	UNIT_CASE("errors of unexpected shapes");
	got = print_job(
		"{\"errors\": [{\"error\": \"x\"}, \"flat\", {\"attempt\": 3, \"at\": \"noon\", "
		"\"error\": null}, {\"attempt\": 4, \"at\": -5, \"error\": [1]}, {\"attempt\": 5, "
		"\"at\": 99999999999999999, \"error\": \"big\"}], \"run_at\": null}",
		&rc);
	CHECK_INT_EQ(rc, 0);
	CHECK_CONTAINS(got, "errors      attempt -  x\n"
			    "            flat\n"
			    "            attempt 3  noon  -\n"
			    "            attempt 4  -5  [1]\n"
			    "            attempt 5  99999999999999999  big\n");
	CHECK(strstr(got, "run at") == NULL);
	free(got);
	got = print_job("{\"errors\": {\"a\": 1}, \"recoveries\": 0}", &rc);
	CHECK_CONTAINS(got, "recoveries  0\n");
	CHECK_CONTAINS(got, "errors      {\"a\":1}\n");
	free(got);

	UNIT_CASE("finished job with result and error");
	got = print_job(
		"{\"id\": 3, \"state\": \"failed\", \"status\": \"failed: x\\u001b]\", "
		"\"progress\": {\"done\": 0, \"total\": 0}, \"result\": {\"sha256\": \"ab\", "
		"\"n\": [1, 2.5]}, \"error\": \"x\\u001b]\", \"attempts\": 3}",
		&rc);
	CHECK_INT_EQ(rc, 0);
	CHECK_CONTAINS(got, "status      failed: x?]\n");
	CHECK_CONTAINS(got, "progress    -\n");
	CHECK_CONTAINS(got, "attempts    3\n");
	CHECK_CONTAINS(got, "result      {\"sha256\":\"ab\",\"n\":[1,2.5]}\n");
	CHECK_CONTAINS(got, "error       x?]\n");
	CHECK_CONTAINS(got, "type        -\n");
	free(got);

	UNIT_CASE("fields of unexpected types");
	got = print_job("{\"id\": \"12\", \"progress\": [1], \"attempts\": true, "
			"\"max_attempts\": \"3\", \"created_at\": 5}",
			&rc);
	CHECK_INT_EQ(rc, 0);
	CHECK_CONTAINS(got, "id          12\n");
	CHECK_CONTAINS(got, "progress    -\n");
	CHECK_CONTAINS(got, "attempts    true\n");
	CHECK_CONTAINS(got, "created     5\n");
	free(got);

	UNIT_CASE("not an object");
	got = print_job("[1, 2]", &rc);
	CHECK_INT_EQ(rc, -1);
	CHECK_STR_EQ(got, "");
	free(got);
}

/* Runs jq_ctl_print_dead on a JSON text and returns what it printed (free it). */
static char *print_dead(const char *text, int cols, int *rc)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	json_t *jobs = json_loads(text, JSON_DECODE_ANY, NULL);
	*rc = jq_ctl_print_dead(f, jobs, cols);
	fclose(f);
	json_decref(jobs);
	return buf;
}

#define DEAD_TWO                                                                                   \
	"[{\"id\": 12, \"failed_at\": \"2026-11-25T22:03:17.123Z\", \"type\": \"nope\", "          \
	"\"queue\": \"default\", \"attempts\": 1, \"error\": \"unknown job type 'nope'\"}, "       \
	"{\"id\": 9, \"failed_at\": \"2026-11-25T22:01:00.000Z\", \"type\": \"hash\", \"queue\": " \
	"\"q1\", \"attempts\": 3, \"error\": \"hash failed:\\n  timeout after 30000 ms\"}]"
#define DEAD_HEAD "ID  FAILED AT                 TYPE  QUEUE    ATTEMPTS  ERROR\n"
#define DEAD_ROW1 "12  2026-11-25T22:03:17.123Z  nope  default  1         "
#define DEAD_ROW2 "9   2026-11-25T22:01:00.000Z  hash  q1       3         "
#define DEAD_INDENT "                                                       " /* 55 */

static void test_dead_table(void)
{
	static const struct {
		const char *what;
		const char *jobs;
		int cols, rc;
		const char *out; /* all of it */
	} cases[] = {
		/* 55 columns before the error: 25 left of 80; the error wraps in its column */
		{"80 columns", DEAD_TWO, 80, 0,
		 DEAD_HEAD DEAD_ROW1 "unknown job type 'nope'\n" DEAD_ROW2
				     "hash failed: timeout\n" DEAD_INDENT "after 30000 ms\n"},
		{"wide", DEAD_TWO, 200, 0,
		 DEAD_HEAD DEAD_ROW1 "unknown job type 'nope'\n" DEAD_ROW2
				     "hash failed: timeout after 30000 ms\n"},
		/* the error keeps 20 characters a line, broken at spaces */
		{"narrow", DEAD_TWO, 40, 0,
		 DEAD_HEAD DEAD_ROW1 "unknown job type\n" DEAD_INDENT "'nope'\n" DEAD_ROW2
				     "hash failed:\n" DEAD_INDENT "timeout after\n" DEAD_INDENT
				     "30000 ms\n"},
		{"exact fit", "[{\"id\": 1, \"error\": \"12345678901234567890\"}]", 20, 0,
		 "ID  FAILED AT  TYPE  QUEUE  ATTEMPTS  ERROR\n"
		 "1   -          -     -      -         12345678901234567890\n"},
		{"one over", "[{\"id\": 1, \"error\": \"123456789012345678901\"}]", 20, 0,
		 "ID  FAILED AT  TYPE  QUEUE  ATTEMPTS  ERROR\n"
		 "1   -          -     -      -         12345678901234567890\n"
		 "                                      1\n"},
		{"UTF-8 counted in characters, never split",
		 "[{\"id\": 1, \"error\": \"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"}]",
		 20, 0,
		 "ID  FAILED AT  TYPE  QUEUE  ATTEMPTS  ERROR\n"
		 "1   -          -     -      -         "
		 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\n"
		 "                                      \xc3\xa9\xc3\xa9\n"},
		{"control characters",
		 "[{\"id\": 1, \"type\": \"t\\u001b[2J\", \"queue\": \"q\\u00e9\", "
		 "\"error\": \"  a\\u001b[2Jb\\tc\\u009bd\\r\\n\"}]",
		 80, 0,
		 "ID  FAILED AT  TYPE   QUEUE  ATTEMPTS  ERROR\n"
		 "1   -          t?[2J  q??    -         a [2Jb c d\n"},
		{"unexpected shapes",
		 "[5, {\"id\": \"7\", \"attempts\": 2.5, \"error\": 42}, {\"error\": null}]", 80, 0,
		 "ID  FAILED AT  TYPE  QUEUE  ATTEMPTS  ERROR\n"
		 "-   -          -     -      -         -\n"
		 "7   -          -     -      2.5       42\n"
		 "-   -          -     -      -         -\n"},
		/* 17 columns left for the error: the type gives up 3 */
		{"long type",
		 "[{\"id\": 1, \"failed_at\": \"2026-11-25T22:03:17.123Z\", \"type\": "
		 "\"no_such_type\", \"queue\": \"default\", \"attempts\": 1, \"error\": \"unknown job "
		 "type 'no_such_type'\"}]",
		 80, 0,
		 "ID  FAILED AT                 TYPE       QUEUE    ATTEMPTS  ERROR\n"
		 "1   2026-11-25T22:03:17.123Z  no_suc...  default  1         unknown job type\n"
		 "                                                            'no_such_type'\n"},
		/* both names down to 8, and the row still wider than 60 */
		{"long names, 60 columns",
		 "[{\"id\": 1, \"type\": \"tttttttttttttttttttttttttttttt\", \"queue\": "
		 "\"qqqqqqqqqqqqqqqqqqqq\", \"error\": "
		 "\"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee\"}]",
		 60, 0,
		 "ID  FAILED AT  TYPE      QUEUE     ATTEMPTS  ERROR\n"
		 "1   -          ttttt...  qqqqq...  -         eeeeeeeeeeeeeeeeeeee\n"
		 "                                             eeeeeeeeeeeeeeeeeeee\n"
		 "                                             eeeeeeeee\n"},
		{"long names, 120 columns",
		 "[{\"id\": 1, \"type\": \"tttttttttttttttttttttttttttttt\", \"queue\": "
		 "\"qqqqqqqqqqqqqqqqqqqq\", \"error\": "
		 "\"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee\"}]",
		 120, 0,
		 "ID  FAILED AT  TYPE                            QUEUE                 ATTEMPTS  "
		 "ERROR\n"
		 "1   -          tttttttttttttttttttttttttttttt  qqqqqqqqqqqqqqqqqqqq  -         "
		 "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee\n"
		 "                                                                               "
		 "eeeeeeee\n"},
		{"empty", "[]", 80, 0, "no dead jobs\n"},
		{"not an array", "{\"jobs\": []}", 80, -1, ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;
		UNIT_CASE("dead table: %s", cases[i].what);
		char *got = print_dead(cases[i].jobs, cases[i].cols, &rc);
		CHECK_INT_EQ(rc, cases[i].rc);
		CHECK_STR_EQ(got, cases[i].out);
		free(got);
	}

	/* A huge terminal: the error column stops at 512 characters, the rest wraps. */
	char text[700 + 64], *got;
	int rc;
	memset(text, 'x', sizeof(text));
	memcpy(text, "[{\"error\": \"", 12);
	memcpy(text + 12 + 600, "\"}]", 4);
	UNIT_CASE("dead table: 10000 columns");
	got = print_dead(text, 10000, &rc);
	CHECK_INT_EQ(rc, 0);
	/* the lengths of the lines after the header (by index: GCC 12 at -O2 takes pointers
	 * into the memstream's buffer for pointers to the local that held it) */
	size_t head = got ? strcspn(got, "\n") : 0;
	size_t row = got ? strcspn(got + head + 1, "\n") : 0;
	CHECK_INT_EQ(row, 38 + 512);
	CHECK_INT_EQ(got ? strlen(got + head + 1 + row + 1) : 0, 38 + 88 + 1); /* 600 - 512 */
	free(got);
}

static void test_idempotency_key(void)
{
	char long_key[JQ_CTL_IDEMPOTENCY_KEY_MAX + 2];
	memset(long_key, 'k', sizeof(long_key) - 1);
	long_key[sizeof(long_key) - 1] = '\0';
	static const struct {
		const char *key;
		int rc;
	} cases[] = {
		{"k", 0},          {"order-42:retry.1", 0},
		{"!~", 0},         {"", -1},
		{"a b", -1},       {"a\tb", -1},
		{"a\r\nX: y", -1}, {"caf\xc3\xa9", -1},
		{"\x7f", -1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[256] = "";
		UNIT_CASE("idempotency key #%zu", i);
		CHECK_INT_EQ(jq_ctl_idempotency_key_check(cases[i].key, err, sizeof(err)),
			     cases[i].rc);
		if (cases[i].rc != 0)
			CHECK_CONTAINS(err, "printable ASCII characters without spaces");
	}
	UNIT_CASE("idempotency key of 200 and 201 bytes");
	char err[256] = "";
	CHECK_INT_EQ(jq_ctl_idempotency_key_check(long_key + 1, err, sizeof(err)), 0);
	CHECK_INT_EQ(jq_ctl_idempotency_key_check(long_key, err, sizeof(err)), -1);
	CHECK_CONTAINS(err,
		       "invalid idempotency key 'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...': "
		       "it must be 1 to 200");
	UNIT_CASE("idempotency key with a newline is shown without it");
	CHECK_INT_EQ(jq_ctl_idempotency_key_check("a\nb", err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "'a?b'");
}

static void test_age(void)
{
	static const struct {
		int64_t ms;
		const char *age;
	} cases[] = {
		{0, "0.0s ago"},          {400, "0.4s ago"},
		{999, "0.9s ago"},        {1000, "1.0s ago"},
		{59999, "59.9s ago"},     {60000, "1m00s ago"},
		{187000, "3m07s ago"},    {3599999, "59m59s ago"},
		{3600000, "1h00m ago"},   {18120000, "5h02m ago"},
		{86399999, "23h59m ago"}, {86400000, "1d00h ago"},
		{183600000, "2d03h ago"}, {-300, "0.0s ago"},
		{INT64_MIN, "0.0s ago"},  {INT64_MAX, "106751991167d07h ago"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[64];
		UNIT_CASE("age of %" PRId64 " ms", cases[i].ms);
		jq_ctl_format_age(buf, sizeof(buf), cases[i].ms);
		CHECK_STR_EQ(buf, cases[i].age);
	}
	char small[5];
	UNIT_CASE("age cut to its buffer");
	jq_ctl_format_age(small, sizeof(small), 400);
	CHECK_STR_EQ(small, "0.4s");
}

/* Runs a table printer on a JSON text and returns what it printed (free it). */
static char *print_table_of(int (*print)(FILE *, const json_t *, int), const char *text, int cols,
			    int *rc)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
	*rc = print(f, v, cols);
	fclose(f);
	json_decref(v);
	return buf;
}

#define QUEUES_TWO                                                                                 \
	"[{\"name\": \"default\", \"pending\": 3, \"scheduled\": 0, \"running\": 1, "              \
	"\"completed\": 120, \"failed\": 2, \"retried\": 4, \"cancelled\": 0, \"recovered\": 0, "  \
	"\"enqueued\": 126, \"paused\": false, \"rate_limit\": null}, "                            \
	"{\"name\": \"emails\", \"pending\": 0, \"scheduled\": 5, \"running\": 0, "                \
	"\"completed\": 7, \"failed\": 0, \"paused\": true, "                                      \
	"\"rate_limit\": {\"limit\": 5, \"interval_ms\": 1000, \"used\": 3}}]"
#define QUEUES_HEAD "NAME     PENDING  SCHEDULED  RUNNING  COMPLETED  FAILED  PAUSED  RATE\n"
#define QUEUE_LONG "q234567890123456789012345678901234567890"

static void test_queues_table(void)
{
	static const struct {
		const char *what;
		const char *queues;
		int cols, rc;
		const char *out; /* all of it */
	} cases[] = {
		{"80 columns", QUEUES_TWO, 80, 0,
		 QUEUES_HEAD
		 "default  3        0          1        120        2       no      -\n"
		 "emails   0        5          0        7          0       yes     3/5 per 1000ms\n"},
		{"narrow: numbers are never cut", QUEUES_TWO, 20, 0,
		 QUEUES_HEAD
		 "default  3        0          1        120        2       no      -\n"
		 "emails   0        5          0        7          0       yes     3/5 per 1000ms\n"},
		/* 40 + 44 + 12 = 96: the name gives up 16 */
		{"long name, 80 columns", "[{\"name\": \"" QUEUE_LONG "\", \"pending\": 1}]", 80, 0,
		 "NAME                PENDING  SCHEDULED  RUNNING  COMPLETED  FAILED  PAUSED  RATE\n"
		 "q23456789012345...  1        -          -        -          -       -       -\n"},
		{"long name, 200 columns", "[{\"name\": \"" QUEUE_LONG "\", \"pending\": 1}]", 200,
		 0,
		 "NAME                                      PENDING  SCHEDULED  RUNNING  COMPLETED  "
		 "FAILED  PAUSED  RATE\n" QUEUE_LONG
		 "  1        -          -        -          -       -       "
		 "-\n"},
		{"long name, 40 columns: down to 8",
		 "[{\"name\": \"" QUEUE_LONG "\", \"pending\": 1}]", 40, 0,
		 "NAME      PENDING  SCHEDULED  RUNNING  COMPLETED  FAILED  PAUSED  RATE\n"
		 "q2345...  1        -          -        -          -       -       -\n"},
		{"unexpected shapes and control characters",
		 "[{\"name\": \"a\\u001b[2Jb\", \"pending\": \"x\", \"running\": [1], \"paused\": 1}, 7]",
		 80, 0,
		 "NAME    PENDING  SCHEDULED  RUNNING  COMPLETED  FAILED  PAUSED  RATE\n"
		 "a?[2Jb  x        -          [1]      -          -       1       -\n"
		 "-       -        -          -        -          -       -       -\n"},
		{"empty", "[]", 80, 0, "no queues\n"},
		{"not an array", "{\"queues\": []}", 80, -1, ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;
		UNIT_CASE("queues table: %s", cases[i].what);
		char *got =
			print_table_of(jq_ctl_print_queues, cases[i].queues, cases[i].cols, &rc);
		CHECK_INT_EQ(rc, cases[i].rc);
		CHECK_STR_EQ(got, cases[i].out);
		free(got);
	}
}

static int print_queue_cols(FILE *f, const json_t *q, int cols)
{
	return jq_ctl_print_queue(f, q);
}

static void test_queue_detail(void)
{
	static const struct {
		const char *what;
		const char *queue;
		int rc;
		const char *out;
	} cases[] = {
		{"whole",
		 "{\"name\": \"default\", \"pending\": 3, \"scheduled\": 0, \"running\": 1, "
		 "\"completed\": 120, \"failed\": 2, \"retried\": 4, \"cancelled\": 5, \"recovered\": 6, "
		 "\"enqueued\": 126, \"paused\": false}",
		 0,
		 "name: default\npending: 3\nscheduled: 0\nrunning: 1\ncompleted: 120\nfailed: 2\n"
		 "retried: 4\ncancelled: 5\nrecovered: 6\nenqueued: 126\npaused: false\n"},
		{"missing and extra fields, in the broker's order",
		 "{\"paused\": true, \"zeta\": 1, \"name\": \"q\\n1\", \"alpha\": \"a\\u0007\"}", 0,
		 "name: q?1\npending: -\nscheduled: -\nrunning: -\ncompleted: -\nfailed: -\n"
		 "retried: -\ncancelled: -\nrecovered: -\nenqueued: -\npaused: true\nzeta: 1\n"
		 "alpha: a?\n"},
		{"not an object", "[]", -1, ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;
		UNIT_CASE("queue detail: %s", cases[i].what);
		char *got = print_table_of(print_queue_cols, cases[i].queue, 0, &rc);
		CHECK_INT_EQ(rc, cases[i].rc);
		CHECK_STR_EQ(got, cases[i].out);
		free(got);
	}
}

/* 2026-11-25T22:03:17.123Z, the "now" of the workers table cases */
#define WORKERS_NOW 1795644197123LL
static int print_workers_at_now(FILE *f, const json_t *w, int cols)
{
	return jq_ctl_print_workers(f, w, WORKERS_NOW, cols);
}

#define WORKERS_TWO                                                                                  \
	"[{\"id\": \"box:4242:ab12\", \"host\": \"box\", \"pid\": 4242, \"queues\": [\"default\"], " \
	"\"concurrency\": 100, \"threads\": 2, \"running\": 3, "                                     \
	"\"started_at\": \"2026-11-25T21:00:00.500Z\", "                                             \
	"\"last_heartbeat\": \"2026-11-25T22:03:16.700Z\", \"completed\": 9, \"failed\": 0}, "       \
	"{\"id\": \"box:77:0001\", \"host\": \"box\", \"pid\": 77, \"queues\": [\"a\", \"b\"], "     \
	"\"concurrency\": 7, \"running\": 0, \"started_at\": \"2026-11-25T22:00:00.000Z\", "         \
	"\"last_heartbeat\": \"2026-11-25T22:01:00.123Z\"}]"
#define WORKERS_HEAD "ID             HOST  PID   QUEUES   RUNNING  LAST BEAT  STARTED\n"

static void test_workers_table(void)
{
	static const struct {
		const char *what;
		const char *workers;
		int cols, rc;
		const char *out; /* all of it */
	} cases[] = {
		{"80 columns", WORKERS_TWO, 80, 0,
		 WORKERS_HEAD
		 "box:4242:ab12  box   4242  default  3/100    0.4s ago   2026-11-25T21:00:00Z\n"
		 "box:77:0001    box   77    a,b      0/7      2m17s ago  2026-11-25T22:00:00Z\n"},
		/* 13 + 4 + 4 + 7 + 7 + 9 + 20 + 12 = 76: the id, the widest, gives up 2 */
		{"74 columns", WORKERS_TWO, 74, 0,
		 "ID           HOST  PID   QUEUES   RUNNING  LAST BEAT  STARTED\n"
		 "box:4242...  box   4242  default  3/100    0.4s ago   2026-11-25T21:00:00Z\n"
		 "box:77:0001  box   77    a,b      0/7      2m17s ago  2026-11-25T22:00:00Z\n"},
		/* the id down to 8, nothing else to cut: the rows are wider than 60 */
		{"60 columns", WORKERS_TWO, 60, 0,
		 "ID        HOST  PID   QUEUES   RUNNING  LAST BEAT  STARTED\n"
		 "box:4...  box   4242  default  3/100    0.4s ago   2026-11-25T21:00:00Z\n"
		 "box:7...  box   77    a,b      0/7      2m17s ago  2026-11-25T22:00:00Z\n"},
		/* 13 + 4 + 4 + 33 + 7 + 9 + 20 + 12 = 102: the queues give up 20, then the
	     * id and the queues, the widest in turn, 1 each */
		{"many queues, 80 columns",
		 "[{\"id\": \"box:4242:ab12\", \"host\": \"box\", \"pid\": 4242, \"queues\": "
		 "[\"default\", \"emails\", \"reports\", \"thumbnails\"], \"running\": 0, "
		 "\"concurrency\": 100, \"started_at\": \"2026-11-25T21:00:00.500Z\", "
		 "\"last_heartbeat\": \"2026-11-25T22:03:16.700Z\"}]",
		 80, 0,
		 "ID            HOST  PID   QUEUES        RUNNING  LAST BEAT  STARTED\n"
		 "box:4242:...  box   4242  default,e...  0/100    0.4s ago   2026-11-25T21:00:00Z\n"},
		{"a heartbeat ahead of now, bad times, no queues",
		 "[{\"id\": \"w\", \"queues\": [], \"last_heartbeat\": \"2026-11-25T22:03:18.000Z\", "
		 "\"started_at\": \"yesterday\"}, {\"id\": \"v\", \"queues\": \"q\", "
		 "\"last_heartbeat\": 5, \"running\": 1}]",
		 80, 0,
		 "ID  HOST  PID  QUEUES  RUNNING  LAST BEAT  STARTED\n"
		 "w   -     -    -       -/-      0.0s ago   yesterday\n"
		 "v   -     -    q       1/-      5          -\n"},
		{"empty", "[]", 80, 0, "no workers\n"},
		{"not an array", "{}", 80, -1, ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;
		UNIT_CASE("workers table: %s", cases[i].what);
		char *got =
			print_table_of(print_workers_at_now, cases[i].workers, cases[i].cols, &rc);
		CHECK_INT_EQ(rc, cases[i].rc);
		CHECK_STR_EQ(got, cases[i].out);
		free(got);
	}
}

/* ---- whole runs ---- */

struct run {
	int rc;
	char *out, *err; /* what the run printed; freed by run_free */
};

/* Runs jobctl with args[0..n) (up to the first NULL) after argv[0]. */
static void run_ctl(struct run *r, const char *const *args, size_t n)
{
	char *argv[32] = {"jobctl"};
	int argc = 1;
	for (size_t i = 0; i < n && args[i] != NULL && argc < 31; i++)
		argv[argc++] = (char *)args[i];
	size_t olen = 0, elen = 0;
	FILE *out = open_memstream(&r->out, &olen), *err = open_memstream(&r->err, &elen);
	r->rc = jq_ctl_run(argc, argv, out, err);
	fclose(out);
	fclose(err);
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

/* A port on 127.0.0.1 where nothing listens: a bound socket that never
 * listens refuses connections and keeps the port from being reused. */
static int refused_port(int *fd)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	*fd = socket(AF_INET, SOCK_STREAM, 0);
	if (*fd < 0 || bind(*fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(*fd, (struct sockaddr *)&a, &alen) != 0)
		return 0;
	return ntohs(a.sin_port);
}

static void test_usage(void)
{
	int fd;
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", refused_port(&fd));
	/* Every case must end before a request: one would fail with "cannot reach". */
	setenv("JOBQ_URL", url, 1);
	static const struct {
		const char *args[8];
		int rc;
		const char *out, *err; /* parts of stdout/stderr; "" for anything */
	} cases[] = {
		{{NULL}, 2, "", "usage: jobctl [options] <command>"},
		{{"--help"}, 0, "usage: jobctl [options] <command>", ""},
		{{"-h"}, 0, "commands:\n  jobctl start-task", ""},
		{{"--version"}, 0, "jobctl " JOBQ_VERSION "\n", ""},
		{{"--bogus"}, 2, "", "jobctl: unknown option '--bogus'"},
		{{"--timeout-ms", "0", "status", "1"}, 2, "", "--timeout-ms must be an integer"},
		{{"nope"}, 2, "", "jobctl: unknown command 'nope'"},
		{{"--url", "ftp://x", "status", "1"},
		 2,
		 "",
		 "jobctl: invalid broker url 'ftp://x'"},
		{{"start-task", "--help"}, 0, "usage: jobctl start-task", ""},
		{{"start-task", "--duration", "86401"},
		 2,
		 "",
		 "jobctl: invalid duration '86401': it must be an integer from 0 to 86400\n"
		 "usage: jobctl start-task"},
		{{"start-task", "--duration", "-1", "--wait"}, 2, "", "invalid duration '-1'"},
		{{"start-task", "--duration=abc"}, 2, "", "invalid duration 'abc'"},
		{{"start-task", "--wait-timeout", "x"}, 2, "", "--wait-timeout must be an integer"},
		{{"start-task", "extra"}, 2, "", "unexpected argument 'extra'"},
		{{"start-task", "--nope"}, 2, "", "unknown option '--nope'"},
		{{"enqueue"}, 2, "", "'enqueue' needs at least 1 argument"},
		{{"enqueue", "--help"}, 0, "usage: jobctl enqueue TYPE", ""},
		{{"enqueue", "bad type"}, 2, "", "invalid job type 'bad type'"},
		{{"enqueue", "t", "--queue", "a b"}, 2, "", "invalid queue 'a b'"},
		{{"enqueue", "t", "k"}, 2, "", "expected key=value, not 'k'"},
		{{"enqueue", "t", "a=1", "a=2"}, 2, "", "key 'a' is given twice"},
		{{"enqueue", "t", "--max-attempts", "0"},
		 2,
		 "",
		 "--max-attempts must be an integer"},
		{{"enqueue", "t", "--max-attempts", "101"}, 2, "", "from 1 to 100"},
		{{"enqueue", "t", "--timeout-ms", "-1"}, 2, "", "--timeout-ms must be an integer"},
		{{"enqueue", "t", "--", "--x"}, 2, "", "expected key=value, not '--x'"},
		{{"status"}, 2, "", "'status' needs 1 argument"},
		{{"status", "0"}, 2, "", "invalid job id '0'"},
		{{"status", "x1"}, 2, "", "invalid job id 'x1'"},
		{{"status", "1", "2"}, 2, "", "unexpected argument '2'"},
		{{"status", "--help"}, 0, "usage: jobctl status ID", ""},
		{{"send-notification", "a@b.c"}, 2, "", "'send-notification' needs 2 arguments"},
		{{"send-notification", "a", "b", "c"}, 2, "", "unexpected argument 'c'"},
		{{"--help"}, 0, "  jobctl watch ID [--wait-timeout S]\n", ""},
		{{"--help"},
		 0,
		 "  jobctl dead list [--limit N] [--offset N]\n  jobctl dead retry ID\n"
		 "  jobctl dead purge [--yes]\n",
		 ""},
		{{"watch"}, 2, "", "'watch' needs 1 argument"},
		{{"watch", "0"}, 2, "", "invalid task id '0': it must be a positive integer"},
		{{"watch", "7", "8"}, 2, "", "unexpected argument '8'"},
		{{"watch", "7", "--wait-timeout", "-1"},
		 2,
		 "",
		 "--wait-timeout must be an integer"},
		{{"watch", "7", "--wait"}, 2, "", "unknown option '--wait'"},
		{{"watch", "--help"}, 0, "usage: jobctl watch ID [--wait-timeout S]\n", ""},
		{{"dead"},
		 2,
		 "",
		 "jobctl: 'dead' needs a command\nusage: jobctl dead list|retry|purge"},
		{{"dead", "--help"},
		 0,
		 "usage: jobctl dead list|retry|purge ...\n\nThe dead-letter set",
		 ""},
		{{"dead", "-h"}, 0, "commands:\n  jobctl dead list [--limit N] [--offset N]\n", ""},
		{{"dead", "bury"},
		 2,
		 "",
		 "jobctl: unknown dead command 'bury'\nusage: jobctl dead"},
		{{"dead", "list", "--help"},
		 0,
		 "usage: jobctl dead list [--limit N] [--offset N]",
		 ""},
		{{"dead", "list", "--limit", "0"},
		 2,
		 "",
		 "--limit must be an integer from 1 to 1000"},
		{{"dead", "list", "--limit=1001"},
		 2,
		 "",
		 "--limit must be an integer from 1 to 1000"},
		{{"dead", "list", "--offset", "-1"}, 2, "", "--offset must be an integer from 0"},
		{{"dead", "list", "x"}, 2, "", "unexpected argument 'x'\nusage: jobctl dead list"},
		{{"dead", "retry"}, 2, "", "'dead retry' needs 1 argument"},
		{{"dead", "retry", "x"}, 2, "", "invalid job id 'x'"},
		{{"dead", "retry", "1", "2"}, 2, "", "unexpected argument '2'"},
		{{"dead", "retry", "--help"}, 0, "usage: jobctl dead retry ID", ""},
		{{"dead", "purge"},
		 2,
		 "",
		 "jobctl: refusing to purge without --yes: the standard input is not a terminal to "
		 "confirm on\nusage: jobctl dead purge [--yes]\n"},
		{{"dead", "purge", "--json"}, 2, "", "refusing to purge without --yes"},
		{{"dead", "purge", "x", "--yes"}, 2, "", "unexpected argument 'x'"},
		{{"dead", "purge", "--help"}, 0, "usage: jobctl dead purge [--yes]", ""},
		{{"--help"},
		 0,
		 "  jobctl status ID\n  jobctl cancel ID\n"
		 "  jobctl send-notification EMAIL CONTENT [--sync] [--idempotency-key K]\n"
		 "  jobctl queues [NAME]\n  jobctl pause QUEUE\n  jobctl resume QUEUE\n"
		 "  jobctl workers\n  jobctl dead list",
		 ""},
		{{"cancel"}, 2, "", "jobctl: 'cancel' needs 1 argument\nusage: jobctl cancel ID\n"},
		{{"cancel", "0"}, 2, "", "invalid job id '0': it must be a positive integer"},
		{{"cancel", "-3"}, 2, "", "unknown option '-3'"},
		{{"cancel", "7", "8"}, 2, "", "unexpected argument '8'"},
		{{"cancel", "--help"}, 0, "usage: jobctl cancel ID\n\nCancels job ID", ""},
		{{"queues", "a", "b"},
		 2,
		 "",
		 "unexpected argument 'b'\nusage: jobctl queues [NAME]"},
		{{"queues", "a/b"},
		 2,
		 "",
		 "jobctl: invalid queue 'a/b': it must be 1 to 64 of A-Z a-z 0-9 _ . : -\n"
		 "usage: jobctl queues [NAME]\n"},
		{{"queues", ""}, 2, "", "invalid queue ''"},
		{{"queues", "--help"}, 0, "usage: jobctl queues [NAME]\n", ""},
		{{"pause"}, 2, "", "jobctl: 'pause' needs 1 argument\nusage: jobctl pause QUEUE\n"},
		{{"pause", "a b"}, 2, "", "jobctl: invalid queue 'a b'"},
		{{"pause", "q2345678901234567890123456789012345678901234567890123456789012345"},
		 2,
		 "",
		 "invalid queue 'q2345678901234567890123456789012345678901234567890123456789012345'"},
		{{"pause", "a", "b"}, 2, "", "unexpected argument 'b'"},
		{{"resume"},
		 2,
		 "",
		 "jobctl: 'resume' needs 1 argument\nusage: jobctl resume QUEUE\n"},
		{{"resume", "../x"},
		 2,
		 "",
		 "invalid queue '../x': it must be 1 to 64 of A-Z a-z 0-9 _ . : -\nusage: jobctl resume QUEUE"},
		{{"resume", "--help"}, 0, "usage: jobctl resume QUEUE\n", ""},
		{{"workers", "x"}, 2, "", "unexpected argument 'x'\nusage: jobctl workers\n"},
		{{"workers", "--all"}, 2, "", "unknown option '--all'"},
		{{"workers", "--help"}, 0, "usage: jobctl workers\n", ""},
		{{"enqueue", "t", "--idempotency-key", "a b"},
		 2,
		 "",
		 "jobctl: invalid idempotency key 'a b': it must be 1 to 200 printable ASCII "
		 "characters without spaces\nusage: jobctl enqueue"},
		{{"enqueue", "t", "--idempotency-key="}, 2, "", "invalid idempotency key ''"},
		{{"enqueue", "t", "--idempotency-key"}, 2, "", "--idempotency-key"},
		{{"start-task", "--idempotency-key", "k\r\nX-Evil: 1"},
		 2,
		 "",
		 "invalid idempotency key 'k??X-Evil: 1'"},
		{{"send-notification", "a@b.c", "hi", "--idempotency-key", "caf\xc3\xa9"},
		 2,
		 "",
		 "invalid idempotency key 'caf?"
		 "?'"},
		{{"enqueue", "--help"}, 0, "  --idempotency-key K\n", ""},
	};
	/* purge without --yes must see a standard input that is not a terminal */
	int devnull = open("/dev/null", O_RDONLY);
	int saved_stdin = dup(STDIN_FILENO);
	CHECK(devnull >= 0 && saved_stdin >= 0 && dup2(devnull, STDIN_FILENO) == STDIN_FILENO);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run r;
		const char *const *a = cases[i].args;
		UNIT_CASE("args #%zu '%s %s %s'", i, a[0] ? a[0] : "", a[0] && a[1] ? a[1] : "",
			  a[0] && a[1] && a[2] ? a[2] : "");
		run_ctl(&r, a, 8);
		CHECK_INT_EQ(r.rc, cases[i].rc);
		CHECK_CONTAINS(r.out, cases[i].out);
		CHECK_CONTAINS(r.err, cases[i].err);
		CHECK(strstr(r.err, "cannot reach") == NULL);
		if (cases[i].rc == 2)
			CHECK_STR_EQ(r.out, "");
		run_free(&r);
	}

	UNIT_CASE("connection refused");
	struct run r;
	run_ctl(&r, (const char *const[]){"status", "5"}, 2);
	CHECK_INT_EQ(r.rc, 1);
	CHECK_CONTAINS(r.err, "jobctl: cannot reach broker at 'http://127.0.0.1:");
	CHECK_STR_EQ(r.out, "");
	run_free(&r);
	unsetenv("JOBQ_URL");
	close(fd);
	dup2(saved_stdin, STDIN_FILENO);
	close(saved_stdin);
	close(devnull);
}

/* ---- a fake broker ---- */

#define FAKE_MAX_REQ 64

struct fake_reply {
	int status;
	const char *body;
	const char *type; /* Content-Type; NULL: application/json */
	size_t big;       /* when not 0, a body of big 'x' bytes instead */
	int no_length;    /* close-delimited body, without Content-Length */
	int silent;       /* read the request, never answer */
};

struct fake {
	int fd, port;
	const struct fake_reply *replies;
	size_t nreplies; /* the last reply repeats */
	atomic_int stop;
	pthread_t thread;
	size_t nreq;
	/* "METHOD TARGET" of each request, then " Idempotency-Key: K" if it had one */
	char req[FAKE_MAX_REQ][512];
	char body[FAKE_MAX_REQ][512]; /* the body of each request */
};

static void send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* Reads one request: headers, then Content-Length bytes of body. */
static void read_request(struct fake *f, int fd, size_t k)
{
	char buf[65536];
	size_t n = 0;
	char *end = NULL;
	while (n < sizeof(buf) - 1 && end == NULL) {
		ssize_t r = recv(fd, buf + n, sizeof(buf) - 1 - n, 0);
		if (r <= 0)
			return;
		n += (size_t)r;
		buf[n] = '\0';
		end = strstr(buf, "\r\n\r\n");
	}
	if (end == NULL)
		return;
	size_t want = 0;
	char key[300] = "";
	for (char *l = strstr(buf, "\r\n"); l && l < end; l = strstr(l + 2, "\r\n")) {
		if (strncasecmp(l + 2, "content-length:", 15) == 0)
			want = strtoul(l + 17, NULL, 10);
		if (strncasecmp(l + 2, "idempotency-key:", 16) == 0)
			snprintf(key, sizeof(key), " Idempotency-Key:%.*s",
				 (int)strcspn(l + 18, "\r"), l + 18);
	}
	size_t head = (size_t)(end + 4 - buf);
	while (n - head < want && n < sizeof(buf) - 1) {
		ssize_t r = recv(fd, buf + n, sizeof(buf) - 1 - n, 0);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	char *sp = strchr(buf, ' ');
	sp = sp ? strchr(sp + 1, ' ') : NULL;
	if (k < FAKE_MAX_REQ) {
		snprintf(f->req[k], sizeof(f->req[k]), "%.*s%s", sp ? (int)(sp - buf) : 0, buf,
			 key);
		snprintf(f->body[k], sizeof(f->body[k]), "%s", buf + head);
	}
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	while (!f->stop) {
		struct pollfd p = {.fd = f->fd, .events = POLLIN};
		if (poll(&p, 1, 50) <= 0)
			continue;
		int c = accept(f->fd, NULL, NULL);
		if (c < 0)
			continue;
		size_t k = f->nreq;
		const struct fake_reply *rep = &f->replies[k < f->nreplies ? k : f->nreplies - 1];
		read_request(f, c, k);
		f->nreq = k + 1;
		if (rep->silent) {
			while (!f->stop && poll(&p, 0, 50) == 0)
				;
			close(c);
			continue;
		}
		char head[512];
		size_t blen = rep->big ? rep->big : strlen(rep->body);
		char length[64] = "";
		if (!rep->no_length)
			snprintf(length, sizeof(length), "Content-Length: %zu\r\n", blen);
		int hlen =
			snprintf(head, sizeof(head),
				 "HTTP/1.1 %d X\r\nContent-Type: %s\r\n%sConnection: close\r\n\r\n",
				 rep->status, rep->type ? rep->type : "application/json", length);
		send_all(c, head, (size_t)hlen);
		if (rep->big) {
			char chunk[65536];
			memset(chunk, 'x', sizeof(chunk));
			for (size_t sent = 0; sent < rep->big; sent += sizeof(chunk))
				send_all(c, chunk, sizeof(chunk));
		} else {
			send_all(c, rep->body, blen);
		}
		close(c);
	}
	return NULL;
}

static int fake_start(struct fake *f, const struct fake_reply *replies, size_t n)
{
	memset(f, 0, sizeof(*f));
	atomic_init(&f->stop, 0);
	f->replies = replies;
	f->nreplies = n;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	f->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (f->fd < 0 || bind(f->fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(f->fd, (struct sockaddr *)&a, &alen) != 0 || listen(f->fd, 16) != 0)
		return -1;
	f->port = ntohs(a.sin_port);
	return pthread_create(&f->thread, NULL, fake_main, f) == 0 ? 0 : -1;
}

static void fake_stop(struct fake *f)
{
	atomic_store(&f->stop, 1);
	pthread_join(f->thread, NULL);
	close(f->fd);
}

#define NREPLIES(a) (sizeof(a) / sizeof((a)[0]))

/* One exchange: runs the args against a fake broker that gives replies. */
struct exchange {
	const char *what;
	const char *args[10];
	struct fake_reply replies[8];
	size_t nreplies;
	int rc;
	const char *req0, *body0; /* the first request and its body; NULL: not checked */
	const char *out;          /* all of stdout; NULL: not checked */
	const char *err;          /* a part of stderr */
	const char *reqs;         /* every request line, each ending in '\n'; NULL: not checked */
};

/* clang-format off: one exchange per few lines reads better than one field per line */
#define JSON_OK(b)                                                                                 \
	{                                                                                          \
		200, b, NULL, 0, 0, 0                                                              \
	}

#define SSE_OK(b)                                                                                  \
	{                                                                                          \
		200, b, "text/event-stream", 0, 0, 0                                               \
	}
/* The data of the broker's events about job 7. */
#define EV_PENDING                                                                                  \
	"{\"id\": 7, \"state\": \"pending\", \"status\": \"pending\", \"progress\": {\"done\": 0, " \
	"\"total\": 0}}"
#define EV_RUNNING                                                                                  \
	"{\"id\": 7, \"state\": \"running\", \"status\": \"running\", \"progress\": {\"done\": 0, " \
	"\"total\": 0}}"
#define EV_RUN(d, t)                                                                               \
	"{\"id\": 7, \"state\": \"running\", \"status\": \"progress: " #d "/" #t "\", "            \
	"\"progress\": {\"done\": " #d ", \"total\": " #t "}}"
#define EV_END(state, status)                                                                      \
	"{\"id\": 7, \"state\": \"" state "\", \"status\": \"" status                              \
	"\", \"progress\": {\"done\": "                                                            \
	"0, \"total\": 0}}"
static const struct exchange exchanges[] = {
	{"start-task",
	 {"start-task", "--duration", "3"},
	 {JSON_OK("{\"task_id\": 7, \"status\": \"pending\"}")},
	 1,
	 0,
	 "POST /start-task?duration=3",
	 "",
	 "task 7 pending\n",
	 "",
	 NULL},
	{"start-task without duration",
	 {"start-task"},
	 {JSON_OK("{\"task_id\": 8, \"status\": \"pending\"}")},
	 1,
	 0,
	 "POST /start-task",
	 "",
	 "task 8 pending\n",
	 "",
	 NULL},
	{"start-task --json",
	 {"--json", "start-task", "--duration=0"},
	 {JSON_OK("{\"task_id\": 7, \"status\": \"pending\"}")},
	 1,
	 0,
	 "POST /start-task?duration=0",
	 "",
	 "{\"task_id\": 7, \"status\": \"pending\"}\n",
	 "",
	 NULL},
	{"start-task --wait",
	 {"start-task", "--duration", "2", "--wait"},
	 {JSON_OK("{\"task_id\": 7, \"status\": \"pending\"}"),
	  JSON_OK("{\"task_id\": 7, \"status\": \"pending\"}"),
	  JSON_OK("{\"task_id\": 7, \"status\": \"running\"}"),
	  JSON_OK("{\"task_id\": 7, \"status\": \"progress: 1/2\"}"),
	  JSON_OK("{\"task_id\": 7, \"status\": \"progress: 1/2\"}"),
	  JSON_OK("{\"task_id\": 7, \"status\": \"progress: 2/2\"}"),
	  JSON_OK("{\"task_id\": 7, \"status\": \"completed\"}")},
	 7,
	 0,
	 "POST /start-task?duration=2",
	 "",
	 "task 7 pending\ntask 7: running\ntask 7: progress: 1/2\ntask 7: progress: 2/2\n"
	 "task 7: completed\n",
	 "",
	 NULL},
	{"start-task --wait --json",
	 {"start-task", "--wait", "--json"},
	 {JSON_OK("{\"task_id\": 7, \"status\": \"pending\"}"),
	  JSON_OK("{\"task_id\": 7, \"status\": \"running\"}\n"),
	  JSON_OK("{\"task_id\": 7, \"status\": \"completed\"}")},
	 3,
	 0,
	 NULL,
	 NULL,
	 "{\"task_id\": 7, \"status\": \"pending\"}\n{\"task_id\": 7, \"status\": \"running\"}\n"
	 "{\"task_id\": 7, \"status\": \"completed\"}\n",
	 "",
	 NULL},
	{"start-task --wait fails",
	 {"start-task", "--wait"},
	 {JSON_OK("{\"task_id\": 7, \"status\": \"pending\"}"),
	  JSON_OK("{\"task_id\": 7, \"status\": \"failed: boom\"}")},
	 2,
	 1,
	 NULL,
	 NULL,
	 "task 7 pending\ntask 7: failed: boom\n",
	 "jobctl: task 7 ended as 'failed: boom'\n",
	 NULL},
	{"start-task --wait not_found",
	 {"start-task", "--wait"},
	 {JSON_OK("{\"task_id\": 7, \"status\": \"pending\"}"),
	  JSON_OK("{\"task_id\": 7, \"status\": \"not_found\"}")},
	 2,
	 1,
	 NULL,
	 NULL,
	 NULL,
	 "task 7 ended as 'not_found'",
	 NULL},
	{"start-task --wait-timeout",
	 {"start-task", "--wait", "--wait-timeout", "1"},
	 {JSON_OK("{\"task_id\": 7, \"status\": \"pending\"}"),
	  JSON_OK("{\"task_id\": 7, \"status\": \"running\"}")},
	 2,
	 1,
	 NULL,
	 NULL,
	 "task 7 pending\ntask 7: running\n",
	 "jobctl: task 7 is still 'running' after 1 s (--wait-timeout)",
	 NULL},
	{"start-task --wait, broker error while polling",
	 {"start-task", "--wait"},
	 {JSON_OK("{\"task_id\": 7, \"status\": \"pending\"}"),
	  {503, "{\"error\": {\"code\": \"redis_unavailable\", \"message\": \"down\"}}", NULL, 0, 0,
	   0}},
	 2,
	 1,
	 NULL,
	 NULL,
	 "task 7 pending\n",
	 "jobctl: redis_unavailable: down (HTTP 503)",
	 NULL},
	{"start-task --wait, status not a string",
	 {"start-task", "--wait"},
	 {JSON_OK("{\"task_id\": 7, \"status\": \"pending\"}"), JSON_OK("{\"task_id\": 7}")},
	 2,
	 1,
	 NULL,
	 NULL,
	 NULL,
	 "unexpected answer from broker at",
	 NULL},
	{"start-task, bad task_id",
	 {"start-task"},
	 {JSON_OK("{\"task_id\": \"7\", \"status\": \"pending\"}")},
	 1,
	 1,
	 NULL,
	 NULL,
	 "",
	 "no positive integer 'task_id'",
	 NULL},
	{"enqueue",
	 {"enqueue", "hash", "data=abc", "--queue", "q1", "repeat=3", "--max-attempts", "2",
	  "tags=[\"a\"]"},
	 {{201, "{\"id\": 12, \"state\": \"pending\"}", NULL, 0, 0, 0}},
	 1,
	 0,
	 "POST /jobs",
	 "{\"type\":\"hash\",\"payload\":{\"data\":\"abc\",\"repeat\":3,\"tags\":[\"a\"]},"
	 "\"queue\":\"q1\",\"max_attempts\":2}",
	 "job 12 pending\n",
	 "",
	 NULL},
	{"enqueue, all options",
	 {"enqueue", "noop", "--timeout-ms", "0", "--priority", "9", "--unique-key", "u-1", "--",
	  "--k=v"},
	 {{201, "{\"id\": 13, \"state\": \"pending\"}", NULL, 0, 0, 0}},
	 1,
	 0,
	 "POST /jobs",
	 "{\"type\":\"noop\",\"payload\":{\"--k\":\"v\"},\"timeout_ms\":0,\"priority\":9,"
	 "\"unique_key\":\"u-1\"}",
	 "job 13 pending\n",
	 "",
	 NULL},
	{"enqueue refused",
	 {"enqueue", "noop"},
	 {{400, "{\"error\": {\"code\": \"invalid_argument\", \"message\": \"'type' is bad\"}}",
	   NULL, 0, 0, 0}},
	 1,
	 1,
	 "POST /jobs",
	 "{\"type\":\"noop\",\"payload\":{}}",
	 "",
	 "jobctl: invalid_argument: 'type' is bad (HTTP 400)\n",
	 NULL},
	{"status",
	 {"status", "5"},
	 {JSON_OK("{\"id\": 5, \"type\": \"noop\", \"state\": \"completed\"}")},
	 1,
	 0,
	 "GET /jobs/5",
	 "",
	 NULL,
	 "",
	 NULL},
	{"status --json after the id",
	 {"status", "5", "--json"},
	 {JSON_OK("{\"id\": 5}")},
	 1,
	 0,
	 "GET /jobs/5",
	 "",
	 "{\"id\": 5}\n",
	 "",
	 NULL},
	{"status 404",
	 {"status", "99"},
	 {{404, "{\"error\": {\"code\": \"not_found\", \"message\": \"no job 99\"}}", NULL, 0, 0,
	   0}},
	 1,
	 1,
	 "GET /jobs/99",
	 "",
	 "",
	 "jobctl: not_found: no job 99 (HTTP 404)\n",
	 NULL},
	{"status, non-JSON 200",
	 {"status", "5"},
	 {{200, "hello", "text/plain", 0, 0, 0}},
	 1,
	 1,
	 NULL,
	 NULL,
	 "",
	 "unexpected answer from broker at 'http://127.0.0.1:",
	 NULL},
	{"status, JSON array",
	 {"status", "5"},
	 {JSON_OK("[1]")},
	 1,
	 1,
	 NULL,
	 NULL,
	 "",
	 "not a JSON object",
	 NULL},
	{"status, HTML 413",
	 {"status", "5"},
	 {{413, "<html>\n<title>413 Too Large</title></html>", "text/html", 0, 0, 0}},
	 1,
	 1,
	 NULL,
	 NULL,
	 "",
	 "jobctl: broker answered HTTP 413: '<html> <title>413 Too Large</title></html>'",
	 NULL},
	{"status, body too big",
	 {"status", "5"},
	 {{200, "", NULL, 9 << 20, 0, 0}},
	 1,
	 1,
	 NULL,
	 NULL,
	 "",
	 "is larger than 8388608 bytes",
	 NULL},
	{"status, body too big without length",
	 {"status", "5"},
	 {{200, "", NULL, 9 << 20, 1, 0}},
	 1,
	 1,
	 NULL,
	 NULL,
	 "",
	 "is larger than 8388608 bytes",
	 NULL},
	{"status, no answer",
	 {"--timeout-ms", "300", "status", "5"},
	 {{200, "", NULL, 0, 0, 1}},
	 1,
	 1,
	 NULL,
	 NULL,
	 "",
	 "did not answer within 300 ms",
	 NULL},
	{"send-notification",
	 {"send-notification", "a b@c.d", "hi & bye=/?\xc3\xa9"},
	 {JSON_OK("{\"message\": \"Notification sent in the background\", \"task_id\": 4}")},
	 1,
	 0,
	 "POST /send-notification?email=a%20b%40c.d&content=hi%20%26%20bye%3D%2F%3F%C3%A9",
	 "",
	 "notification queued as task 4\n",
	 "",
	 NULL},
	{"send-notification --sync",
	 {"send-notification", "--sync", "a@b.c", "hi"},
	 {JSON_OK("{\"message\": \"x\", \"task_id\": 5}")},
	 1,
	 0,
	 "POST /send-notification-sync?email=a%40b.c&content=hi",
	 "",
	 "notification queued as task 5\n",
	 "",
	 NULL},
	{"watch",
	 {"watch", "7"},
	 {SSE_OK(": hello\n\nevent: pending\ndata: " EV_PENDING "\n\n"
		 "event: running\ndata: " EV_RUNNING "\n\n"
		 "event: running\ndata: " EV_RUN(
			 1, 2) "\n\n: ping\n\n"
			       "event: running\r\ndata: " EV_RUN(
				       2, 2) "\r\n\r\n"
					     "event: completed\ndata: " EV_END(
						     "completed", "completed") "\n\n")},
	 1,
	 0,
	 "GET /jobs/7/events",
	 "",
	 "task 7: pending\ntask 7: running\ntask 7: progress: 1/2\ntask 7: progress: 2/2\n"
	 "task 7: completed\n",
	 "",
	 "GET /jobs/7/events\n"},
	{"watch --json",
	 {"watch", "--json", "7"},
	 {SSE_OK("event: running\ndata: " EV_RUN(
		 1,
		 2) "\n\n"
		    "event: completed\ndata: {\"id\": 7,\ndata:  \"state\": \"completed\", \"status\": "
		    "\"completed\"}\n\n")},
	 1,
	 0,
	 NULL,
	 NULL,
	 "{\"id\":7,\"state\":\"running\",\"status\":\"progress: 1/2\",\"progress\":{\"done\":1,"
	 "\"total\":2}}\n{\"id\":7,\"state\":\"completed\",\"status\":\"completed\"}\n",
	 "",
	 "GET /jobs/7/events\n"},
	{"watch, already completed",
	 {"watch", "7"},
	 {SSE_OK("event: completed\ndata: " EV_END("completed", "completed") "\n\n")},
	 1,
	 0,
	 NULL,
	 NULL,
	 "task 7: completed\n",
	 "",
	 "GET /jobs/7/events\n"},
	{"watch, the events after the end are not read",
	 {"watch", "7"},
	 {SSE_OK("event: completed\ndata: " EV_END(
		 "completed", "completed") "\n\n"
					   "event: failed\ndata: " EV_END("failed",
									  "failed: no") "\n\n")},
	 1,
	 0,
	 NULL,
	 NULL,
	 "task 7: completed\n",
	 "",
	 NULL},
	{"watch, fails",
	 {"watch", "7"},
	 {SSE_OK("event: running\ndata: " EV_RUNNING "\n\n"
		 "event: failed\ndata: " EV_END("failed", "failed: boom\\u001b[2J") "\n\n")},
	 1,
	 1,
	 NULL,
	 NULL,
	 "task 7: running\ntask 7: failed: boom?[2J\n",
	 "jobctl: task 7 ended as 'failed: boom?[2J'\n",
	 "GET /jobs/7/events\n"},
	{"watch, already cancelled",
	 {"watch", "7"},
	 {SSE_OK("event: cancelled\ndata: " EV_END("cancelled", "cancelled") "\n\n")},
	 1,
	 1,
	 NULL,
	 NULL,
	 "task 7: cancelled\n",
	 "jobctl: task 7 ended as 'cancelled'\n",
	 "GET /jobs/7/events\n"},
	{"watch, unknown job",
	 {"watch", "99"},
	 {{404, "{\"error\": {\"code\": \"not_found\", \"message\": \"job not found\"}}", NULL, 0,
	   0, 0}},
	 1,
	 1,
	 NULL,
	 NULL,
	 "",
	 "jobctl: task 99 not found\n",
	 "GET /jobs/99/events\n"},
	{"watch, no Redis behind the broker",
	 {"watch", "7"},
	 {{503,
	   "{\"error\": {\"code\": \"redis_unavailable\", \"message\": \"redis is unavailable\"}}",
	   NULL, 0, 0, 0}},
	 1,
	 1,
	 NULL,
	 NULL,
	 "",
	 "jobctl: redis_unavailable: redis is unavailable (HTTP 503)\n",
	 "GET /jobs/7/events\n"},
	{"watch --wait-timeout",
	 {"watch", "7", "--wait-timeout=1"},
	 {{200, NULL, NULL, 0, 0, 1}},
	 1,
	 1,
	 NULL,
	 NULL,
	 "",
	 "jobctl: task 7 is still 'unknown' after 1 s (--wait-timeout)\n",
	 NULL},
	{"watch, an event without a state",
	 {"watch", "7"},
	 {SSE_OK("event: running\ndata: {\"id\": 7, \"status\": \"running\"}\n\n")},
	 1,
	 1,
	 NULL,
	 NULL,
	 "",
	 "an event without string 'state' and 'status'",
	 "GET /jobs/7/events\n"},
	{"watch, a line too long",
	 {"watch", "7"},
	 {{200, NULL, "text/event-stream", JQ_SSE_LINE_MAX + 1, 0, 0}},
	 1,
	 1,
	 NULL,
	 NULL,
	 "",
	 "event stream line longer than 65536 bytes",
	 "GET /jobs/7/events\n"},
	{"dead list",
	 {"dead", "list"},
	 {JSON_OK("{\"jobs\": " DEAD_TWO "}")},
	 1,
	 0,
	 "GET /dead",
	 "",
	 DEAD_HEAD DEAD_ROW1 "unknown job type 'nope'\n" DEAD_ROW2
			     "hash failed: timeout\n" DEAD_INDENT "after 30000 ms\n",
	 "",
	 "GET /dead\n"},
	{"dead list --limit --offset --json",
	 {"dead", "list", "--limit", "5", "--offset", "10", "--json"},
	 {JSON_OK("{\"jobs\": []}")},
	 1,
	 0,
	 "GET /dead?limit=5&offset=10",
	 "",
	 "{\"jobs\": []}\n",
	 "",
	 "GET /dead?limit=5&offset=10\n"},
	{"dead list --offset, global --json",
	 {"--json", "dead", "list", "--offset=0"},
	 {JSON_OK("{\"jobs\": []}")},
	 1,
	 0,
	 "GET /dead?offset=0",
	 "",
	 "{\"jobs\": []}\n",
	 "",
	 NULL},
	{"dead list --limit, empty",
	 {"dead", "list", "--limit=1000"},
	 {JSON_OK("{\"jobs\": []}")},
	 1,
	 0,
	 "GET /dead?limit=1000",
	 "",
	 "no dead jobs\n",
	 "",
	 NULL},
	{"dead list, no jobs array",
	 {"dead", "list"},
	 {JSON_OK("{\"jobs\": {}}")},
	 1,
	 1,
	 NULL,
	 NULL,
	 "",
	 "no array 'jobs'",
	 NULL},
	{"dead list refused",
	 {"dead", "list"},
	 {{503,
	   "{\"error\": {\"code\": \"redis_unavailable\", \"message\": \"redis is unavailable\"}}",
	   NULL, 0, 0, 0}},
	 1,
	 1,
	 NULL,
	 NULL,
	 "",
	 "jobctl: redis_unavailable: redis is unavailable (HTTP 503)\n",
	 NULL},
	{"dead retry",
	 {"dead", "retry", "12"},
	 {JSON_OK("{\"id\": 12, \"state\": \"pending\"}")},
	 1,
	 0,
	 "POST /dead/12/retry",
	 "",
	 "job 12 requeued\n",
	 "",
	 "POST /dead/12/retry\n"},
	{"dead retry --json",
	 {"dead", "retry", "--json", "12"},
	 {JSON_OK("{\"id\": 12, \"state\": \"pending\"}")},
	 1,
	 0,
	 "POST /dead/12/retry",
	 "",
	 "{\"id\": 12, \"state\": \"pending\"}\n",
	 "",
	 NULL},
	{"dead retry, not in the dead set",
	 {"dead", "retry", "999999"},
	 {{404,
	   "{\"error\": {\"code\": \"not_found\", \"message\": \"job 999999 is not in the dead set\"}}",
	   NULL, 0, 0, 0}},
	 1,
	 1,
	 "POST /dead/999999/retry",
	 "",
	 "",
	 "jobctl: not_found: job 999999 is not in the dead set (HTTP 404)\n",
	 NULL},
	{"dead retry, expired",
	 {"dead", "retry", "12"},
	 {{410, "{\"error\": {\"code\": \"gone\", \"message\": \"job 12 has expired\"}}", NULL, 0,
	   0, 0}},
	 1,
	 1,
	 "POST /dead/12/retry",
	 "",
	 "",
	 "jobctl: gone: job 12 has expired (HTTP 410)\n",
	 NULL},
	{"dead retry, no id in the answer",
	 {"dead", "retry", "12"},
	 {JSON_OK("{\"state\": \"pending\"}")},
	 1,
	 1,
	 NULL,
	 NULL,
	 "",
	 "no positive integer 'id'",
	 NULL},
	{"dead purge --yes",
	 {"dead", "purge", "--yes"},
	 {JSON_OK("{\"purged\": 3}")},
	 1,
	 0,
	 "DELETE /dead",
	 "",
	 "purged 3 jobs\n",
	 "",
	 "DELETE /dead\n"},
	{"dead purge --yes --json, nothing to purge",
	 {"dead", "purge", "--json", "--yes"},
	 {JSON_OK("{\"purged\": 0}")},
	 1,
	 0,
	 "DELETE /dead",
	 "",
	 "{\"purged\": 0}\n",
	 "",
	 NULL},
	{"dead purge, bad answer",
	 {"dead", "purge", "--yes"},
	 {JSON_OK("{\"purged\": -1}")},
	 1,
	 1,
	 NULL,
	 NULL,
	 "",
	 "no non-negative integer 'purged'",
	 NULL},
	{"cancel, pending",
	 {"cancel", "12"},
	 {JSON_OK("{\"id\": 12, \"state\": \"cancelled\"}")},
	 1,
	 0,
	 "DELETE /jobs/12",
	 "",
	 "job 12 cancelled\n",
	 "",
	 "DELETE /jobs/12\n"},
	{"cancel, running",
	 {"cancel", "13"},
	 {{202, "{\"id\": 13, \"state\": \"running\", \"cancel_requested\": true}", NULL, 0, 0, 0}},
	 1,
	 0,
	 "DELETE /jobs/13",
	 "",
	 "job 13 is running: cancel requested\n",
	 "",
	 "DELETE /jobs/13\n"},
	{"cancel --json, running",
	 {"cancel", "--json", "13"},
	 {{202, "{\"id\": 13, \"state\": \"running\", \"cancel_requested\": true}", NULL, 0, 0, 0}},
	 1,
	 0,
	 "DELETE /jobs/13",
	 "",
	 "{\"id\": 13, \"state\": \"running\", \"cancel_requested\": true}\n",
	 "",
	 NULL},
	{"cancel, already finished",
	 {"cancel", "14"},
	 {{409,
	   "{\"error\": {\"code\": \"conflict\", \"message\": \"job 14 has already finished\"}}",
	   NULL, 0, 0, 0}},
	 1,
	 1,
	 "DELETE /jobs/14",
	 "",
	 "",
	 "jobctl: conflict: job 14 has already finished (HTTP 409)\n",
	 NULL},
	{"cancel, unknown",
	 {"cancel", "99"},
	 {{404, "{\"error\": {\"code\": \"not_found\", \"message\": \"job 99 not found\"}}", NULL,
	   0, 0, 0}},
	 1,
	 1,
	 "DELETE /jobs/99",
	 "",
	 "",
	 "jobctl: not_found: job 99 not found (HTTP 404)\n",
	 NULL},
	{"cancel, 201 is not an answer of cancel",
	 {"cancel", "12"},
	 {{201, "{\"id\": 12, \"state\": \"cancelled\"}", NULL, 0, 0, 0}},
	 1,
	 1,
	 NULL,
	 NULL,
	 "",
	 "not HTTP 200 or 202 with a positive integer 'id'",
	 NULL},
	{"queues",
	 {"queues"},
	 {JSON_OK("{\"queues\": " QUEUES_TWO "}")},
	 1,
	 0,
	 "GET /queues",
	 "",
	 QUEUES_HEAD
	 "default  3        0          1        120        2       no      -\n"
	 "emails   0        5          0        7          0       yes     3/5 per 1000ms\n",
	 "",
	 "GET /queues\n"},
	{"queues, none",
	 {"queues"},
	 {JSON_OK("{\"queues\": []}")},
	 1,
	 0,
	 "GET /queues",
	 "",
	 "no queues\n",
	 "",
	 NULL},
	{"queues --json",
	 {"queues", "--json"},
	 {JSON_OK("{\"queues\": []}")},
	 1,
	 0,
	 "GET /queues",
	 "",
	 "{\"queues\": []}\n",
	 "",
	 NULL},
	{"queues, no queues array",
	 {"queues"},
	 {JSON_OK("{\"queues\": {}}")},
	 1,
	 1,
	 NULL,
	 NULL,
	 "",
	 "no array 'queues'",
	 NULL},
	{"queues NAME",
	 {"queues", "q1"},
	 {JSON_OK("{\"name\": \"q1\", \"pending\": 2, \"scheduled\": 0, \"running\": 0, "
		  "\"completed\": 1, \"failed\": 0, \"retried\": 0, \"cancelled\": 3, "
		  "\"recovered\": 0, \"enqueued\": 6, \"paused\": true}")},
	 1,
	 0,
	 "GET /queues/q1",
	 "",
	 "name: q1\npending: 2\nscheduled: 0\nrunning: 0\ncompleted: 1\nfailed: 0\nretried: 0\n"
	 "cancelled: 3\nrecovered: 0\nenqueued: 6\npaused: true\n",
	 "",
	 "GET /queues/q1\n"},
	{"queues NAME --json, global",
	 {"--json", "queues", "q.1:x-y_z"},
	 {JSON_OK("{\"name\": \"q.1:x-y_z\"}")},
	 1,
	 0,
	 "GET /queues/q.1:x-y_z",
	 "",
	 "{\"name\": \"q.1:x-y_z\"}\n",
	 "",
	 NULL},
	{"queues NAME, unknown",
	 {"queues", "nope"},
	 {{404, "{\"error\": {\"code\": \"not_found\", \"message\": \"no queue 'nope'\"}}", NULL, 0,
	   0, 0}},
	 1,
	 1,
	 "GET /queues/nope",
	 "",
	 "",
	 "jobctl: not_found: no queue 'nope' (HTTP 404)\n",
	 NULL},
	{"pause",
	 {"pause", "q1"},
	 {JSON_OK("{\"name\": \"q1\", \"paused\": true}")},
	 1,
	 0,
	 "POST /queues/q1/pause",
	 "",
	 "queue q1 paused\n",
	 "",
	 "POST /queues/q1/pause\n"},
	{"resume",
	 {"resume", "q1"},
	 {JSON_OK("{\"name\": \"q1\", \"paused\": false}")},
	 1,
	 0,
	 "POST /queues/q1/resume",
	 "",
	 "queue q1 resumed\n",
	 "",
	 "POST /queues/q1/resume\n"},
	{"resume --json",
	 {"resume", "--json", "q1"},
	 {JSON_OK("{\"name\": \"q1\", \"paused\": false}")},
	 1,
	 0,
	 "POST /queues/q1/resume",
	 "",
	 "{\"name\": \"q1\", \"paused\": false}\n",
	 "",
	 NULL},
	{"pause, answer says not paused",
	 {"pause", "q1"},
	 {JSON_OK("{\"name\": \"q1\", \"paused\": false}")},
	 1,
	 1,
	 NULL,
	 NULL,
	 "",
	 "no 'paused': true",
	 NULL},
	{"resume refused",
	 {"resume", "q1"},
	 {{503,
	   "{\"error\": {\"code\": \"redis_unavailable\", \"message\": \"redis is unavailable\"}}",
	   NULL, 0, 0, 0}},
	 1,
	 1,
	 "POST /queues/q1/resume",
	 "",
	 "",
	 "jobctl: redis_unavailable: redis is unavailable (HTTP 503)\n",
	 NULL},
	{"workers, times not shown as ages",
	 {"workers"},
	 {JSON_OK("{\"workers\": [{\"id\": \"h:1:00ff\", \"host\": \"h\", \"pid\": 1, "
		  "\"queues\": [\"default\", \"a\"], \"concurrency\": 100, \"threads\": 2, "
		  "\"running\": 0, \"started_at\": null, \"last_heartbeat\": null}]}")},
	 1,
	 0,
	 "GET /workers",
	 "",
	 "ID        HOST  PID  QUEUES     RUNNING  LAST BEAT  STARTED\n"
	 "h:1:00ff  h     1    default,a  0/100    -          -\n",
	 "",
	 "GET /workers\n"},
	{"workers, none",
	 {"workers"},
	 {JSON_OK("{\"workers\": []}")},
	 1,
	 0,
	 "GET /workers",
	 "",
	 "no workers\n",
	 "",
	 NULL},
	{"workers --json",
	 {"workers", "--json"},
	 {JSON_OK("{\"workers\": []}")},
	 1,
	 0,
	 "GET /workers",
	 "",
	 "{\"workers\": []}\n",
	 "",
	 NULL},
	{"workers, no workers array",
	 {"workers"},
	 {JSON_OK("{}")},
	 1,
	 1,
	 NULL,
	 NULL,
	 "",
	 "no array 'workers'",
	 NULL},
	{"enqueue --idempotency-key, first",
	 {"enqueue", "noop", "--idempotency-key", "order-42"},
	 {{201, "{\"id\": 20, \"state\": \"pending\"}", NULL, 0, 0, 0}},
	 1,
	 0,
	 "POST /jobs Idempotency-Key: order-42",
	 "{\"type\":\"noop\",\"payload\":{}}",
	 "job 20 pending\n",
	 "",
	 NULL},
	{"enqueue --idempotency-key, repeated",
	 {"enqueue", "noop", "--idempotency-key=order-42"},
	 {JSON_OK("{\"id\": 20, \"state\": \"running\"}")},
	 1,
	 0,
	 "POST /jobs Idempotency-Key: order-42",
	 "{\"type\":\"noop\",\"payload\":{}}",
	 "job 20 (already enqueued with this key) running\n",
	 "",
	 NULL},
	{"enqueue --idempotency-key --json, repeated",
	 {"enqueue", "noop", "--json", "--idempotency-key", "k"},
	 {JSON_OK("{\"id\": 20, \"state\": \"completed\"}")},
	 1,
	 0,
	 "POST /jobs Idempotency-Key: k",
	 "{\"type\":\"noop\",\"payload\":{}}",
	 "{\"id\": 20, \"state\": \"completed\"}\n",
	 "",
	 NULL},
	{"start-task --idempotency-key",
	 {"start-task", "--duration", "1", "--idempotency-key", "t-1"},
	 {JSON_OK("{\"task_id\": 21, \"status\": \"pending\"}")},
	 1,
	 0,
	 "POST /start-task?duration=1 Idempotency-Key: t-1",
	 "",
	 "task 21 pending\n",
	 "",
	 "POST /start-task?duration=1 Idempotency-Key: t-1\n"},
	{"start-task --idempotency-key --wait: the key is on the POST only",
	 {"start-task", "--idempotency-key", "t-1", "--wait"},
	 {JSON_OK("{\"task_id\": 21, \"status\": \"running\"}"),
	  JSON_OK("{\"task_id\": 21, \"status\": \"completed\"}")},
	 2,
	 0,
	 NULL,
	 NULL,
	 "task 21 running\ntask 21: completed\n",
	 "",
	 "POST /start-task Idempotency-Key: t-1\nGET /task-status/21\n"},
	{"send-notification --idempotency-key",
	 {"send-notification", "--idempotency-key", "mail-1", "--sync", "a@b.c", "hi"},
	 {JSON_OK("{\"message\": \"x\", \"task_id\": 22}")},
	 1,
	 0,
	 "POST /send-notification-sync?email=a%40b.c&content=hi Idempotency-Key: mail-1",
	 "",
	 "notification queued as task 22\n",
	 "",
	 NULL},
};
/* clang-format on */

static void test_fake_broker(void)
{
	for (size_t i = 0; i < sizeof(exchanges) / sizeof(exchanges[0]); i++) {
		const struct exchange *x = &exchanges[i];
		struct fake *f = malloc(sizeof(*f));
		struct run r;
		char url[64];
		const char *a[12] = {"--url", url};
		UNIT_CASE("%s", x->what);
		if (f == NULL || fake_start(f, x->replies, x->nreplies) != 0) {
			CHECK(!"fake broker started");
			free(f);
			continue;
		}
		snprintf(url, sizeof(url), "http://127.0.0.1:%d/", f->port);
		for (size_t k = 0; k < 10 && x->args[k]; k++)
			a[k + 2] = x->args[k];
		run_ctl(&r, a, 12);
		fake_stop(f);
		CHECK_INT_EQ(r.rc, x->rc);
		if (x->req0) {
			CHECK_STR_EQ(f->req[0], x->req0);
			CHECK_STR_EQ(f->body[0], x->body0);
		}
		if (x->out)
			CHECK_STR_EQ(r.out, x->out);
		if (x->reqs) {
			char all[FAKE_MAX_REQ * 64] = "";
			for (size_t k = 0; k < f->nreq && k < FAKE_MAX_REQ; k++)
				snprintf(all + strlen(all), sizeof(all) - strlen(all), "%s\n",
					 f->req[k]);
			CHECK_STR_EQ(all, x->reqs);
		}
		CHECK_CONTAINS(r.err, x->err);
		if (x->rc == 0)
			CHECK_STR_EQ(r.err, "");
		if (x->rc != 0)
			CHECK_CONTAINS(r.err, "jobctl: ");
		run_free(&r);
		free(f);
	}
}

/* watch opens the stream again when it ends before the job does; the state it
 * starts with is not shown twice. */
static void test_watch_reopen(void)
{
	static const struct {
		const char *what;
		struct fake_reply replies[4];
		size_t nreplies;
		int rc;
		const char *out, *err, *reqs;
	} cases[] = {
		{"ended early, then completed",
		 {SSE_OK("event: pending\ndata: " EV_PENDING
			 "\n\nevent: running\ndata: " EV_RUN(1, 2) "\n\n"),
		  SSE_OK("event: running\ndata: " EV_RUN(1, 2) "\n\nevent: running\ndata: " EV_RUN(
			  2, 2) "\n\nevent: completed\ndata: " EV_END("completed",
								      "completed") "\n\n")},
		 2,
		 0,
		 "task 7: pending\ntask 7: progress: 1/2\ntask 7: progress: 2/2\ntask 7: completed\n",
		 "jobctl: event stream of task 7 lost (the stream ended before the job did); "
		 "reopening\n",
		 "GET /jobs/7/events\nGET /jobs/7/events\n"},
		{"Redis away for a moment, then the job ended meanwhile",
		 {SSE_OK("event: running\ndata: " EV_RUNNING "\n\n"),
		  {503, "{\"error\": {\"code\": \"redis_unavailable\", \"message\": \"down\"}}",
		   NULL, 0, 0, 0},
		  SSE_OK("event: failed\ndata: " EV_END("failed", "failed: lost") "\n\n")},
		 3,
		 1,
		 "task 7: running\ntask 7: failed: lost\n",
		 "jobctl: event stream of task 7 lost (the stream ended before the job did); "
		 "reopening\njobctl: event stream of task 7 lost (redis_unavailable: down (HTTP 503)); "
		 "reopening\njobctl: task 7 ended as 'failed: lost'\n",
		 "GET /jobs/7/events\nGET /jobs/7/events\nGET /jobs/7/events\n"},
		{"gone when opened again",
		 {SSE_OK("event: running\ndata: " EV_RUNNING "\n\n"),
		  {404, "{\"error\": {\"code\": \"not_found\", \"message\": \"job not found\"}}",
		   NULL, 0, 0, 0}},
		 2,
		 1,
		 "task 7: running\n",
		 "jobctl: event stream of task 7 lost (the stream ended before the job did); "
		 "reopening\njobctl: task 7 not found\n",
		 "GET /jobs/7/events\nGET /jobs/7/events\n"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fake *f = malloc(sizeof(*f));
		struct run r;
		char url[64], all[FAKE_MAX_REQ * 64] = "";
		UNIT_CASE("%s", cases[i].what);
		if (f == NULL || fake_start(f, cases[i].replies, cases[i].nreplies) != 0) {
			CHECK(!"fake broker started");
			free(f);
			continue;
		}
		snprintf(url, sizeof(url), "http://127.0.0.1:%d", f->port);
		run_ctl(&r, (const char *const[]){"--url", url, "watch", "7"}, 4);
		fake_stop(f);
		CHECK_INT_EQ(r.rc, cases[i].rc);
		CHECK_STR_EQ(r.out, cases[i].out);
		CHECK_STR_EQ(r.err, cases[i].err);
		for (size_t k = 0; k < f->nreq && k < FAKE_MAX_REQ; k++)
			snprintf(all + strlen(all), sizeof(all) - strlen(all), "%s\n", f->req[k]);
		CHECK_STR_EQ(all, cases[i].reqs);
		run_free(&r);
		free(f);
	}
}

/* The printed summary of GET /jobs/ID, through the whole program. */
static void test_status_output(void)
{
	static const struct fake_reply replies[] = {JSON_OK(
		"{\"id\": 5, \"type\": \"hash\", \"queue\": \"default\", \"state\": \"completed\", "
		"\"status\": \"completed\", \"progress\": {\"done\": 0, \"total\": 0}, \"attempts\": "
		"1, \"max_attempts\": 3, \"result\": {\"sha256\": \"00ff\"}, \"error\": null, "
		"\"errors\": [], \"recoveries\": 0, \"run_at\": null, \"created_at\": \"c\", "
		"\"started_at\": \"s\", \"finished_at\": \"f\", \"worker\": \"w\"}")};
	struct fake f;
	struct run r;
	char url[64];
	UNIT_CASE("status output");
	if (fake_start(&f, replies, 1) != 0) {
		CHECK(!"fake broker started");
		return;
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", f.port);
	setenv("JOBQ_URL", url, 1); /* the URL from the environment this time */
	run_ctl(&r, (const char *const[]){"status", "5"}, 2);
	unsetenv("JOBQ_URL");
	fake_stop(&f);
	CHECK_INT_EQ(r.rc, 0);
	CHECK_STR_EQ(r.out, "id          5\n"
			    "type        hash\n"
			    "queue       default\n"
			    "state       completed\n"
			    "status      completed\n"
			    "progress    -\n"
			    "attempts    1/3\n"
			    "recoveries  0\n"
			    "created     c\n"
			    "started     s\n"
			    "finished    f\n"
			    "worker      w\n"
			    "result      {\"sha256\":\"00ff\"}\n"
			    "error       -\n"
			    "errors      -\n");
	CHECK_STR_EQ(f.req[0], "GET /jobs/5");
	run_free(&r);
}

/* workers through the whole program: the age of the last heartbeat is taken
 * from the clock of this machine. */
static void test_workers_output(void)
{
	char beat[32], started[32], body[512];
	jq_format_rfc3339(jq_now_ms() - 400, beat);
	jq_format_rfc3339(1795640400500LL, started); /* 2026-11-25T21:00:00.500Z */
	snprintf(body, sizeof(body),
		 "{\"workers\": [{\"id\": \"box:4242:ab12\", \"host\": \"box\", \"pid\": 4242, "
		 "\"queues\": [\"default\"], \"concurrency\": 100, \"threads\": 2, "
		 "\"running\": 3, \"started_at\": \"%s\", \"last_heartbeat\": \"%s\", "
		 "\"completed\": 9, \"failed\": 0}]}",
		 started, beat);
	const struct fake_reply replies[] = {JSON_OK(body)};
	struct fake f;
	struct run r;
	char url[64];
	UNIT_CASE("workers output");
	if (fake_start(&f, replies, 1) != 0) {
		CHECK(!"fake broker started");
		return;
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", f.port);
	run_ctl(&r, (const char *const[]){"--url", url, "workers"}, 3);
	fake_stop(&f);
	CHECK_INT_EQ(r.rc, 0);
	CHECK_STR_EQ(f.req[0], "GET /workers");
	const char *head = "ID             HOST  PID   QUEUES   RUNNING  LAST BEAT  STARTED\n"
			   "box:4242:ab12  box   4242  default  3/100    ";
	CHECK(strncmp(r.out, head, strlen(head)) == 0);
	/* 0.4 s ago, or a little more on a slow machine */
	const char *age = r.out + (strlen(r.out) > strlen(head) ? strlen(head) : 0);
	CHECK(age[0] >= '0' && age[0] <= '9' && age[1] == '.' && strncmp(age + 3, "s ago", 5) == 0);
	CHECK(age[0] > '0' || age[2] >= '4');
	CHECK_CONTAINS(r.out, "s ago   2026-11-25T21:00:00Z\n");
	CHECK_STR_EQ(r.err, "");
	run_free(&r);
}

/* dead purge without --yes, its standard input a terminal (a pseudo-terminal
 * here): it asks, and purges only when told y or yes. */
static void test_purge_confirm(void)
{
	static const struct fake_reply replies[] = {JSON_OK("{\"purged\": 2}")};
	static const struct {
		const char *typed; /* "\x04" is Ctrl-D: the end of the input */
		int rc;
	} cases[] = {
		{"y\n", 0}, {"YES\n", 0}, {"n\n", 1}, {"\n", 1}, {"yess\n", 1}, {"\x04", 1},
	};
	int master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) {
		printf("skip test_jobctl/purge_confirm: no pseudo-terminal\n");
		if (master >= 0)
			close(master);
		return;
	}
	int term = open(ptsname(master), O_RDWR | O_NOCTTY);
	int saved_stdin = dup(STDIN_FILENO);
	CHECK(term >= 0 && saved_stdin >= 0 && dup2(term, STDIN_FILENO) == STDIN_FILENO);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fake *f = malloc(sizeof(*f));
		struct run r;
		char url[64], question[128];
		UNIT_CASE("purge, answer #%zu", i);
		if (f == NULL || fake_start(f, replies, 1) != 0) {
			CHECK(!"fake broker started");
			free(f);
			continue;
		}
		snprintf(url, sizeof(url), "http://127.0.0.1:%d", f->port);
		CHECK_INT_EQ(write(master, cases[i].typed, strlen(cases[i].typed)),
			     (long long)strlen(cases[i].typed));
		clearerr(stdin);
		run_ctl(&r, (const char *const[]){"--url", url, "dead", "purge"}, 4);
		fake_stop(f);
		CHECK_INT_EQ(r.rc, cases[i].rc);
		snprintf(question, sizeof(question),
			 "delete every job in the dead set of '%s'? [y/N] ", url);
		CHECK(strncmp(r.err, question, strlen(question)) == 0);
		if (cases[i].rc == 0) {
			CHECK_INT_EQ(f->nreq, 1);
			CHECK_STR_EQ(f->req[0], "DELETE /dead");
			CHECK_STR_EQ(r.out, "purged 2 jobs\n");
		} else {
			CHECK_INT_EQ(f->nreq, 0);
			CHECK_STR_EQ(r.out, "");
			CHECK_CONTAINS(r.err, "jobctl: nothing purged\n");
		}
		run_free(&r);
		free(f);
	}
	dup2(saved_stdin, STDIN_FILENO);
	clearerr(stdin);
	close(saved_stdin);
	close(term);
	close(master);
}

UNIT_MAIN({"duration", test_duration}, {"payload", test_payload},
	  {"progress_parse", test_progress_parse}, {"outcome", test_outcome}, {"bar", test_bar},
	  {"progress_line", test_progress_line}, {"http_error", test_http_error},
	  {"print_job", test_print_job}, {"dead_table", test_dead_table}, {"usage", test_usage},
	  {"fake_broker", test_fake_broker}, {"status_output", test_status_output},
	  {"rate", test_rate}, {"watch_line", test_watch_line}, {"watch_reopen", test_watch_reopen},
	  {"purge_confirm", test_purge_confirm}, {"idempotency_key", test_idempotency_key},
	  {"age", test_age}, {"queues_table", test_queues_table},
	  {"queue_detail", test_queue_detail}, {"workers_table", test_workers_table},
	  {"workers_output", test_workers_output})
