/* print.h: what jobctl prints of the broker's answers: the tables, the "key: value"
 * summaries and the one-line descriptions of an error. Pure: each function writes to
 * the FILE or buffer it is given and keeps nothing; none sends a request. Control
 * characters of the broker's texts never reach the output. (--json prints the answers
 * as they came: ctl_print_raw, ctl.h.) */
#ifndef JQ_CLI_PRINT_H
#define JQ_CLI_PRINT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JQ_CTL_LINE_MAX 512 /* the longest line drawn in place (watch.h) */

/* Copies len bytes of src into dst (cap bytes, NUL-terminated), replacing each control
 * byte with '?' (or, when spaces is set, runs of them with one space, trimmed at the
 * end) and, when ascii is set, each byte outside ASCII with '?'. A cut never splits a
 * UTF-8 sequence. Returns dst. */
char *ctl_clean_text(char *dst, size_t cap, const char *src, size_t len, int ascii, int spaces);

/* Writes a text from the broker, its control characters replaced with '?'. */
void ctl_put_text(FILE *out, const char *s);

/* The width of the terminal f is, or 80 when it is none. */
int ctl_term_cols(FILE *f);

/* Describes a non-2xx answer: "<code>: <message> (HTTP <status>)" from the
 * broker's {"error": {"code", "message"}} body, or a description of a body
 * that is not one (cut, control characters replaced). */
void jq_ctl_format_http_error(char *buf, size_t cap, long status, const char *body, size_t len);

/* Prints the readable summary of a job (the answer of GET /jobs/{id}): one
 * "name  value" line per field, "-" for a missing or null one; "run at" only
 * when it is set, and one "attempt N  AT  ERROR" line per entry of errors.
 * Never fails on unexpected shapes; returns 0, or -1 if job is not an object. */
int jq_ctl_print_job(FILE *out, const json_t *job);

/* Prints the dead jobs of GET /dead (its "jobs" array) as a table with a
 * header row: ID, FAILED AT, TYPE, QUEUE, ATTEMPTS and ERROR, the error on one
 * line cut with "..." so that each row fits in cols characters. The error
 * keeps at least 20 characters, the TYPE and QUEUE columns giving up room for
 * them (each down to 8, cut with "...") before a row may grow past cols.
 * Prints "no dead jobs" for an empty array. Control characters never reach
 * out. Returns 0, or -1 if jobs is not an array. */
int jq_ctl_print_dead(FILE *out, const json_t *jobs, int cols);

/* Writes how long ago something happened, ms milliseconds before now, into buf
 * (cap bytes): "0.4s ago" under a minute (tenths cut, not rounded), then
 * "3m07s ago", "5h02m ago", "2d03h ago". A negative ms (the broker's clock a
 * little ahead of ours) counts as 0. */
void jq_ctl_format_age(char *buf, size_t cap, int64_t ms);

/* Prints the queues of GET /queues (its "queues" array) as a table with a
 * header row: NAME, PENDING, SCHEDULED, RUNNING, COMPLETED, FAILED and PAUSED
 * ("yes"/"no"), each column as wide as its widest cell. When a row is wider
 * than cols, the name is cut with "..." (down to 8 characters). Prints "no
 * queues" for an empty array. Control characters never reach out. Returns 0,
 * or -1 if queues is not an array or memory ran out. */
int jq_ctl_print_queues(FILE *out, const json_t *queues, int cols);

/* Prints one queue of GET /queues/{name} as "key: value" lines: name, pending,
 * scheduled, running, completed, failed, retried, cancelled, recovered,
 * enqueued and paused in that order ("-" for a missing one), then any other
 * field of the answer. Returns 0, or -1 if queue is not an object. */
int jq_ctl_print_queue(FILE *out, const json_t *queue);

/* Prints the workers of GET /workers (its "workers" array) as a table with a
 * header row: ID, HOST, PID, QUEUES (comma-joined), RUNNING ("running/
 * concurrency"), LAST BEAT (the age of last_heartbeat at now_ms, epoch ms, as
 * jq_ctl_format_age writes it) and STARTED (started_at to the second). When a
 * row is wider than cols, the widest of ID, HOST and QUEUES is cut with "..."
 * first (each down to 8 characters). Prints "no workers" for an empty array.
 * Control characters never reach out. Returns 0, or -1 if workers is not an
 * array or memory ran out. */
int jq_ctl_print_workers(FILE *out, const json_t *workers, int64_t now_ms, int cols);

/* Prints the schedules of GET /schedules (its "schedules" array) as a table: NAME,
 * CRON, NEXT RUN, LAST RUN (times to the second), LAST JOB and TYPE (of the job
 * template), or "no schedules". Returns 0, or -1 if memory ran out. */
int jq_ctl_print_schedules(FILE *out, const json_t *schedules, int cols);

/* Prints one schedule of GET /schedules/{name} as "key: value" lines: name, cron, job
 * (as JSON), next_run, last_run, last_job_id, source, created_at, updated_at. */
void jq_ctl_print_schedule(FILE *out, const json_t *schedule);

/* Prints the tokens of GET /tokens (its "tokens" array) as a table: NAME, SCOPES
 * (comma-joined) and CREATED (to the second), or "no tokens". Returns 0, or -1 if
 * memory ran out. */
int jq_ctl_print_tokens(FILE *out, const json_t *tokens, int cols);

#endif
