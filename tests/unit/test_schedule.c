/* test_schedule.c: unit tests of common/schedule.c: definitions and the schedule file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "schedule.h"
#include "unit.h"

/* jq_schedule_init from JSON texts; returns its code, err filled. */
static int init_from(struct jq_schedule *s, const char *name, const char *cron_json,
		     const char *job_json, char *err, size_t errlen)
{
	json_t *cron = json_loads(cron_json, JSON_DECODE_ANY, NULL);
	json_t *job = json_loads(job_json, JSON_DECODE_ANY, NULL);
	err[0] = '\0';
	int rc = jq_schedule_init(s, name, strlen(name), cron, job, err, errlen);
	json_decref(cron);
	json_decref(job);
	return rc;
}

static void test_init(void)
{
	struct jq_schedule a, b;
	char err[300];
	UNIT_CASE("canonical definition");
	CHECK_INT_EQ(init_from(&a, "n1", "\"0 2 * * *\"", "{\"type\":\"noop\",\"queue\":\"q\"}",
			       err, sizeof(err)),
		     0);
	CHECK_INT_EQ(init_from(&b, "n1", "\"0 2 * * *\"", "{\"queue\": \"q\", \"type\": \"noop\"}",
			       err, sizeof(err)),
		     0);
	CHECK_STR_EQ(a.def, "{\"cron\":\"0 2 * * *\",\"job\":{\"queue\":\"q\",\"type\":\"noop\"}}");
	CHECK_STR_EQ(a.def, b.def);
	CHECK_STR_EQ(a.name, "n1");
	CHECK_STR_EQ(a.cron, "0 2 * * *");
	UNIT_CASE("round trip through the stored text");
	struct jq_schedule c;
	CHECK_INT_EQ(jq_schedule_from_def(&c, "n1", a.def, strlen(a.def), err, sizeof(err)), 0);
	CHECK_STR_EQ(c.def, a.def);
	CHECK(memcmp(&c.expr, &a.expr, sizeof(c.expr)) == 0);
	UNIT_CASE("the job of a tick");
	struct jq_job_spec spec;
	jq_job_spec_init(&spec);
	CHECK_INT_EQ(jq_schedule_job_spec(&c, 1795744800000LL, &spec, err, sizeof(err)), 0);
	CHECK_STR_EQ(spec.type, "noop");
	CHECK_STR_EQ(spec.queue, "q");
	CHECK_STR_EQ(spec.schedule, "n1");
	CHECK_INT_EQ(spec.schedule_tick_ms, 1795744800000LL);
	jq_job_spec_release(&spec);
	jq_schedule_release(&a);
	jq_schedule_release(&b);
	jq_schedule_release(&c);
	jq_schedule_release(&c); /* twice is harmless */
	UNIT_CASE("bad stored text");
	CHECK_INT_EQ(jq_schedule_from_def(&c, "n1", "[1]", 3, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "not a JSON object");
}

static void test_init_errors(void)
{
	static const struct {
		const char *name, *cron, *job, *want;
	} cases[] = {
		{"", "\"* * * * *\"", "{\"type\":\"noop\"}", "'name' must be 1 to 64"},
		{"a b", "\"* * * * *\"", "{\"type\":\"noop\"}", "'name'"},
		{"n", "5", "{\"type\":\"noop\"}", "'cron' must be a string"},
		{"n", "\"0 24 * * *\"", "{\"type\":\"noop\"}",
		 "'cron': hour: '24' is out of range 0-23"},
		{"n", "\"0 0 31 2 *\"", "{\"type\":\"noop\"}",
		 "'cron': day-of-month: no selected day"},
		{"n", "\"* * * * *\"", "[]", "'job' must be a JSON object"},
		{"n", "\"* * * * *\"", "{}", "'job': 'type' is required"},
		{"n", "\"* * * * *\"", "{\"type\":\"noop\",\"run_at\":5}",
		 "'job': 'run_at' cannot repeat"},
		{"n", "\"* * * * *\"", "{\"type\":\"noop\",\"max_attempts\":0}",
		 "'job': 'max_attempts'"},
		{"n", "\"* * * * *\"", "{\"type\":\"n o\"}", "'job': 'type' must be"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("row %zu: %s", i, cases[i].want);
		struct jq_schedule s;
		char err[300];
		CHECK_INT_EQ(
			init_from(&s, cases[i].name, cases[i].cron, cases[i].job, err, sizeof(err)),
			-1);
		CHECK_CONTAINS(err, cases[i].want);
		CHECK(s.def == NULL && s.job == NULL); /* nothing to release */
	}
	UNIT_CASE("a name at the limit");
	char name[JQ_SCHEDULE_NAME_MAX + 2];
	memset(name, 'a', sizeof(name));
	name[JQ_SCHEDULE_NAME_MAX] = '\0';
	struct jq_schedule s;
	char err[300];
	CHECK_INT_EQ(init_from(&s, name, "\"@daily\"", "{\"type\":\"noop\"}", err, sizeof(err)), 0);
	jq_schedule_release(&s);
	name[JQ_SCHEDULE_NAME_MAX] = 'a';
	name[JQ_SCHEDULE_NAME_MAX + 1] = '\0';
	CHECK_INT_EQ(init_from(&s, name, "\"@daily\"", "{\"type\":\"noop\"}", err, sizeof(err)),
		     -1);
}

/* Writes text to a new temporary file; its path goes into path (64 bytes). */
static void temp_file(char *path, const char *text)
{
	snprintf(path, 64, "/tmp/jobq-test-schedule-XXXXXX");
	int fd = mkstemp(path);
	if (fd < 0)
		return;
	FILE *f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
}

static void test_file(void)
{
	char path[64], err[400];
	struct jq_schedule *v;
	size_t n;
	UNIT_CASE("a good file");
	temp_file(path,
		  "# comment\n"
		  "\n"
		  "   \t\n"
		  "nightly  0 2 * * *  {\"type\": \"noop\", \"queue\": \"reports\"}\n"
		  "\tfast */1 * * * * * {\"type\":\"hash\",\"payload\":{\"data\":\"{x} = y\"}}\r\n"
		  "weekly @weekly {\"type\":\"noop\"}");
	CHECK_INT_EQ(jq_schedule_file_load(path, &v, &n, err, sizeof(err)), 0);
	CHECK_INT_EQ(n, 3);
	if (n == 3) {
		CHECK_STR_EQ(v[0].name, "nightly");
		CHECK_STR_EQ(v[0].cron, "0 2 * * *");
		CHECK_STR_EQ(v[1].name, "fast");
		CHECK_STR_EQ(v[1].cron, "*/1 * * * * *");
		CHECK(v[1].expr.has_seconds);
		CHECK_CONTAINS(v[1].def, "\"data\":\"{x} = y\"");
		CHECK_STR_EQ(v[2].cron, "@weekly");
	}
	jq_schedules_free(v, n);
	unlink(path);

	static const struct {
		const char *text, *want;
	} bad[] = {
		{"a * * * * *\n", ":1: expected NAME CRON JOB_JSON"},
		{"{\"type\":\"noop\"}\n", ":1: expected NAME CRON JOB_JSON"},
		{"# x\na 0 25 * * * {\"type\":\"noop\"}\n",
		 ":2: 'cron': hour: '25' is out of range"},
		{"a * * * * * {\"type\":\n", ":1: the job is not valid JSON"},
		{"a * * * * * {\"type\":\"noop\",\"type\":\"x\"}\n",
		 ":1: the job is not valid JSON"},
		{"a * * * * * {\"type\":\"noop\"}\nb @daily {\"type\":\"noop\"}\n"
		 "a @hourly {\"type\":\"noop\"}\n",
		 ":3: schedule 'a' is defined twice"},
		{"a * * * * * {\"type\":\"noop\"} trailing\n", ":1: the job is not valid JSON"},
		{"a * * * * * {}\n", ":1: 'job': 'type' is required"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		UNIT_CASE("bad file %zu: %s", i, bad[i].want);
		temp_file(path, bad[i].text);
		err[0] = '\0';
		v = (struct jq_schedule *)1;
		CHECK_INT_EQ(jq_schedule_file_load(path, &v, &n, err, sizeof(err)), -1);
		CHECK_CONTAINS(err, path);
		CHECK_CONTAINS(err, bad[i].want);
		CHECK(v == NULL && n == 0);
		unlink(path);
	}
	UNIT_CASE("a line too long");
	char *big = malloc(JQ_SCHEDULE_LINE_MAX + 100);
	memset(big, 'x', JQ_SCHEDULE_LINE_MAX + 98);
	big[JQ_SCHEDULE_LINE_MAX + 98] = '\n';
	big[JQ_SCHEDULE_LINE_MAX + 99] = '\0';
	temp_file(path, big);
	free(big);
	CHECK_INT_EQ(jq_schedule_file_load(path, &v, &n, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, ":1: the line is longer than");
	unlink(path);
	UNIT_CASE("no file");
	CHECK_INT_EQ(jq_schedule_file_load("/nonexistent/jobq.cron", &v, &n, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "cannot open schedule file '/nonexistent/jobq.cron'");
	UNIT_CASE("an empty file");
	temp_file(path, "# nothing\n");
	CHECK_INT_EQ(jq_schedule_file_load(path, &v, &n, err, sizeof(err)), 0);
	CHECK_INT_EQ(n, 0);
	jq_schedules_free(v, n);
	jq_schedules_free(NULL, 0);
	unlink(path);
}

UNIT_MAIN({"init", test_init}, {"init_errors", test_init_errors}, {"file", test_file})
