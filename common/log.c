/* log.c: stderr logger; see log.h. */
#include "log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static const char *g_program = "jobq";
static enum jq_log_format g_format = JQ_LOG_TEXT;
static enum jq_log_level g_min = JQ_LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void jq_log_setup(const char *program, enum jq_log_format format, enum jq_log_level min)
{
	g_program = program;
	g_format = format;
	g_min = min;
}

int jq_log_parse_format(const char *s, enum jq_log_format *out)
{
	if (strcmp(s, "text") == 0)
		*out = JQ_LOG_TEXT;
	else if (strcmp(s, "json") == 0)
		*out = JQ_LOG_JSON;
	else
		return -1;
	return 0;
}

int jq_log_parse_level(const char *s, enum jq_log_level *out)
{
	for (int i = 0; i < 4; i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum jq_log_level)i;
			return 0;
		}
	}
	return -1;
}

/* snprintf at line[*pos], keeping *pos within cap (a long line is cut, never overrun) */
static void app(char *line, size_t *pos, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void app(char *line, size_t *pos, size_t cap, const char *fmt, ...)
{
	if (*pos + 1 >= cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line + *pos, cap - *pos, fmt, ap);
	va_end(ap);
	if (n > 0)
		*pos = *pos + (size_t)n < cap ? *pos + (size_t)n : cap - 1;
}

/* Appends the job's fields: text ` name=value`, JSON `,"name":value`. */
static size_t job_fields(char *line, size_t pos, size_t cap, const struct jq_log_job *job)
{
	const char *names[] = {"type", "queue", "traceparent"};
	const char *values[] = {job->type, job->queue, job->traceparent};
	int json = g_format == JQ_LOG_JSON;
	app(line, &pos, cap, json ? ",\"job\":%lld" : " job=%lld", job->id);
	for (int i = 0; i < 3; i++) {
		if (values[i] && values[i][0]) {
			if (json) {
				app(line, &pos, cap, ",\"%s\":\"", names[i]);
				pos = jq_json_escape(line, pos, cap, values[i]);
				app(line, &pos, cap, "\"");
			} else {
				app(line, &pos, cap, " %s=%s", names[i], values[i]);
			}
		}
		if (i == 1 && job->attempt) /* the attempt after the queue */
			app(line, &pos, cap, json ? ",\"attempt\":%lld" : " attempt=%lld",
			    job->attempt);
	}
	return pos;
}

static void emit(enum jq_log_level level, const struct jq_log_job *job, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

void jq_log(enum jq_log_level level, const char *fmt, ...)
{
	if (level < g_min)
		return;
	va_list ap;
	va_start(ap, fmt);
	emit(level, NULL, fmt, ap);
	va_end(ap);
}

void jq_log_job(enum jq_log_level level, const struct jq_log_job *job, const char *fmt, ...)
{
	if (level < g_min)
		return;
	va_list ap;
	va_start(ap, fmt);
	emit(level, job, fmt, ap);
	va_end(ap);
}

static void emit(enum jq_log_level level, const struct jq_log_job *job, const char *fmt, va_list ap)
{
	char msg[2048];
	vsnprintf(msg, sizeof(msg), fmt, ap);

	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char when[40];
	size_t n = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + n, sizeof(when) - n, ".%03ldZ", ts.tv_nsec / 1000000);

	char line[4096];
	size_t pos;
	if (g_format == JQ_LOG_JSON) {
		pos = (size_t)snprintf(
			line, sizeof(line),
			"{\"ts\":\"%s\",\"level\":\"%s\",\"program\":\"%s\",\"msg\":\"", when,
			level_names[level], g_program);
		pos = jq_json_escape(line, pos, sizeof(line) - 3, msg);
		line[pos++] = '"';
		if (job)
			pos = job_fields(line, pos, sizeof(line) - 3, job);
		line[pos++] = '}';
	} else {
		pos = (size_t)snprintf(line, sizeof(line), "%s %s %s[%d]: %s", when,
				       level_names[level], g_program, (int)getpid(), msg);
		if (pos > sizeof(line) - 2)
			pos = sizeof(line) - 2;
		if (job)
			pos = job_fields(line, pos, sizeof(line) - 2, job);
	}
	line[pos++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, pos);
	(void)w;
}
