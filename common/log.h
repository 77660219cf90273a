/* log.h: one-line-per-event logging to stderr, as text or JSON. */
#ifndef JQ_LOG_H
#define JQ_LOG_H

#include <stdarg.h>

enum jq_log_level { JQ_LOG_DEBUG, JQ_LOG_INFO, JQ_LOG_WARN, JQ_LOG_ERROR };
enum jq_log_format { JQ_LOG_TEXT, JQ_LOG_JSON };

/* Process-wide settings; call before any thread starts logging. */
void jq_log_setup(const char *program, enum jq_log_format format, enum jq_log_level min);

/* Parses "text" or "json"; returns -1 on anything else. */
int jq_log_parse_format(const char *s, enum jq_log_format *out);
/* Parses "debug", "info", "warn" or "error"; returns -1 on anything else. */
int jq_log_parse_level(const char *s, enum jq_log_level *out);

/* Writes one line with one write(2), so lines from threads never interleave. */
void jq_log(enum jq_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The job a line is about. Its fields follow the message, so every line about a job
 * can be found by them: text ` job=42 type=email queue=default attempt=2
 * traceparent=00-...`; JSON members "job", "type", "queue", "attempt", "traceparent".
 * NULL or empty strings and a zero attempt are left out. */
struct jq_log_job {
	long long id;
	const char *type, *queue;
	long long attempt;
	const char *traceparent;
};
void jq_log_job(enum jq_log_level level, const struct jq_log_job *job, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define jq_debug(...) jq_log(JQ_LOG_DEBUG, __VA_ARGS__)
#define jq_info(...) jq_log(JQ_LOG_INFO, __VA_ARGS__)
#define jq_warn(...) jq_log(JQ_LOG_WARN, __VA_ARGS__)
#define jq_error(...) jq_log(JQ_LOG_ERROR, __VA_ARGS__)

#endif
