/* jobctl.h: the jobctl command-line client as a library (jobctl_core); main.c only calls in.
 *
 * jq_ctl_run() is the whole program. The other functions are the pieces of it
 * that need no broker (argument checks and output formatting), exposed for the
 * unit tests. Nothing here keeps state between calls. */
#ifndef JQ_CLI_JOBCTL_H
#define JQ_CLI_JOBCTL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "job.h"

/* Exit statuses. */
#define JQ_CTL_EXIT_OK 0
#define JQ_CTL_EXIT_FAIL 1        /* a request failed, or the job/task did not complete */
#define JQ_CTL_EXIT_USAGE 2       /* bad command line; no request was sent */
#define JQ_CTL_EXIT_INTERRUPT 130 /* Ctrl-C during --wait */

#define JQ_CTL_DEFAULT_URL "http://127.0.0.1:8000"
#define JQ_CTL_DEFAULT_TIMEOUT_MS 10000
#define JQ_CTL_DURATION_MAX 86400 /* seconds, as the broker's POST /start-task */
#define JQ_CTL_POLL_MS 200        /* interval of the GET /task-status polls of --wait */
#define JQ_CTL_BAR_WIDTH 20       /* cells between the brackets of the progress bar */
#define JQ_CTL_RATE_SAMPLES 16    /* progress points the rate of watch is taken over */

/* watch's event stream: the broker sends ": ping" every 15 s, so a stream
 * silent for three of them is dead; a stream lost before the job ends is
 * opened again after a pause that doubles each time, up to
 * JQ_CTL_STREAM_REOPENS times in a row (a stream that gave an event resets
 * the count). */
#define JQ_CTL_STREAM_IDLE_MS 45000
#define JQ_CTL_STREAM_REOPENS 8
#define JQ_CTL_REOPEN_PAUSE_MS 250
#define JQ_CTL_REOPEN_PAUSE_MAX_MS 4000

/* The bounds of dead list's --limit and --offset, as the broker's GET /dead. */
#define JQ_CTL_DEAD_LIMIT_MAX 1000
#define JQ_CTL_DEAD_OFFSET_MAX 1000000000

/* The longest --idempotency-key, as the broker's Idempotency-Key header. */
#define JQ_CTL_IDEMPOTENCY_KEY_MAX JQ_IDEMPOTENCY_KEY_MAX /* common/job.h */

/* Runs "jobctl <argv[1..]>", writing results to out and diagnostics to err, and
 * returns the exit status. A progress bar is drawn in place only when out is a
 * terminal. Reads JOBQ_URL from the environment, and the standard input only
 * for the question of "dead purge" without --yes (asked on err, and only when
 * the standard input is a terminal). */
int jq_ctl_run(int argc, char **argv, FILE *out, FILE *err);

/* Checks a --duration value: an integer 0..JQ_CTL_DURATION_MAX, digits only.
 * -1 with the reason in err otherwise. */
int jq_ctl_parse_duration(const char *s, int64_t *out, char *err, size_t errlen);

/* Adds one "key=value" argument to the JSON object payload. value becomes the
 * JSON it spells if it is valid JSON (3, -1.5, true, null, "x", [1], {"a": 1}),
 * else the string itself; "key=" is the empty string. -1 with the reason in
 * err if there is no '=', the key is empty or already set, or a text is not
 * UTF-8; payload is then unchanged. */
int jq_ctl_payload_add(json_t *payload, const char *arg, char *err, size_t errlen);

/* Parses a status string "progress: i/n" (i >= 0, n > 0); -1 for any other. */
int jq_ctl_parse_progress(const char *status, int64_t *done, int64_t *total);

/* 0 if status is "completed", 1 if it is another terminal status ("failed",
 * "failed: <reason>", "cancelled", "not_found"), -1 if the task is not done. */
int jq_ctl_task_outcome(const char *status);

/* Writes "[####------]" with width cells, done/total of them filled (clamped;
 * none when total <= 0), into buf of cap bytes (always NUL-terminated). */
void jq_ctl_render_bar(char *buf, size_t cap, int64_t done, int64_t total, int width);

/* Writes the line that --wait redraws on a terminal, such as
 * "[##########----------] 3/6  progress" or "[--------------------]  pending".
 * done/total are the last progress seen (total 0 if none); "completed" shows
 * a full bar. Bytes outside printable ASCII become '?', and the line is cut
 * to cap - 1 bytes (pass the terminal width + 1 to keep it on one row). */
void jq_ctl_format_progress_line(char *buf, size_t cap, const char *status, int64_t done,
				 int64_t total);

/* The rate of progress that watch shows: the last JQ_CTL_RATE_SAMPLES progress
 * points seen, oldest first in a ring. */
struct jq_ctl_rate {
	int64_t t_us[JQ_CTL_RATE_SAMPLES]; /* when each was seen, monotonic */
	int64_t done[JQ_CTL_RATE_SAMPLES];
	int n;    /* points held */
	int next; /* the slot the next point goes to */
};

void jq_ctl_rate_init(struct jq_ctl_rate *r);

/* Adds the point "done steps at t_us". A done lower than the last point's (a
 * retried job starting over) drops the points held before it. */
void jq_ctl_rate_add(struct jq_ctl_rate *r, int64_t t_us, int64_t done);

/* Steps per second from the oldest point held to the newest; -1 when there are
 * fewer than two points or no time passed between them. */
double jq_ctl_rate_per_s(const struct jq_ctl_rate *r);

/* Writes the line that watch redraws on a terminal, for a job in state (the
 * event's name) whose seed status is status, with done/total its progress
 * (total 0 if none) and rate its steps per second (< 0 if unknown):
 *   "[##########----------] 5/10 50%  2.0/s  ETA 3s"   running, with a rate
 *   "[##########----------] 5/10 50%"                   running, no rate yet
 *   "[--------------------]  pending"                   no progress: the status
 *   "[####################] 10/10 100%  completed"      a full bar
 * The ETA is rounded up: "ETA 45s", "ETA 2m05s", "ETA 3h20m", "ETA >99h". The
 * rate is "12/s" from 10 a second, "2.5/s" from 0.1, else "1.2/min". Bytes
 * outside printable ASCII become '?'; the line is cut to cap - 1 bytes. */
void jq_ctl_format_watch_line(char *buf, size_t cap, const char *state, const char *status,
			      int64_t done, int64_t total, double rate);

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

/* Checks an --idempotency-key value as the broker does: 1 to
 * JQ_CTL_IDEMPOTENCY_KEY_MAX printable ASCII characters, no spaces (so it can
 * never break the header line). 0 if it is one, -1 with the reason in err. */
int jq_ctl_idempotency_key_check(const char *key, char *err, size_t errlen);

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

#endif
