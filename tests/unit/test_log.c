/* test_log.c: log lines in both formats, with and without a job's fields. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "unit.h"

/* Runs fn with stderr sent to a temp file; returns what it wrote (static buffer). */
static const char *captured(void (*fn)(void))
{
	static char out[8192];
	FILE *f = tmpfile();
	int saved = dup(STDERR_FILENO);
	dup2(fileno(f), STDERR_FILENO);
	fn();
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(f);
	size_t n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	fclose(f);
	return out;
}

static const struct jq_log_job job = {42, "email", "mail", 2,
				      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"};

static void log_job(void)
{
	jq_log_job(JQ_LOG_WARN, &job, "failed: %s", "no \"route\"");
}
static void log_plain(void)
{
	jq_log(JQ_LOG_INFO, "hello %d", 7);
}
static void log_debug(void)
{
	jq_log_job(JQ_LOG_DEBUG, &job, "hidden");
}
static void log_long(void)
{
	char big[6000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	struct jq_log_job j = job;
	j.type = big; /* longer than a line: cut, never overrun */
	jq_log_job(JQ_LOG_ERROR, &j, "%s", big);
}

static void test_text(void)
{
	jq_log_setup("t", JQ_LOG_TEXT, JQ_LOG_INFO);
	const char *s = captured(log_job);
	CHECK(strstr(s, " warn t[") != NULL);
	CHECK(strstr(s, "failed: no \"route\" job=42 type=email queue=mail attempt=2 "
			"traceparent=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\n") !=
	      NULL);
	s = captured(log_plain);
	CHECK(strstr(s, "hello 7\n") != NULL && strstr(s, "job=") == NULL);
	CHECK_STR_EQ(captured(log_debug), "");
	s = captured(log_long);
	CHECK(strlen(s) <= 4096 && s[strlen(s) - 1] == '\n');
}

static void test_json(void)
{
	jq_log_setup("t", JQ_LOG_JSON, JQ_LOG_DEBUG);
	json_error_t e;
	json_t *v = json_loads(captured(log_job), 0, &e);
	CHECK(v != NULL);
	if (v) {
		CHECK_STR_EQ(json_string_value(json_object_get(v, "msg")), "failed: no \"route\"");
		CHECK_INT_EQ(json_integer_value(json_object_get(v, "job")), 42);
		CHECK_STR_EQ(json_string_value(json_object_get(v, "type")), "email");
		CHECK_STR_EQ(json_string_value(json_object_get(v, "queue")), "mail");
		CHECK_INT_EQ(json_integer_value(json_object_get(v, "attempt")), 2);
		CHECK_STR_EQ(json_string_value(json_object_get(v, "level")), "warn");
		CHECK(json_object_get(v, "traceparent") != NULL);
		json_decref(v);
	}
	/* a line about no job has no job members */
	v = json_loads(captured(log_plain), 0, &e);
	CHECK(v != NULL && json_object_get(v, "job") == NULL);
	json_decref(v);
	const char *s = captured(log_long);
	CHECK(strlen(s) <= 4096 && s[strlen(s) - 1] == '\n');
}

UNIT_MAIN({"text", test_text}, {"json", test_json})
