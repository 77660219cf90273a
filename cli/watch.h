/* watch.h: following a job while it runs: watch's event stream (GET /jobs/{id}/events)
 * and the polls of start-task --wait (GET /task-status/{id}), with the progress line
 * each redraws on a terminal. The pieces without a broker (status strings, the bar,
 * the rate, the lines) are pure and exposed for the unit tests. */
#ifndef JQ_CLI_WATCH_H
#define JQ_CLI_WATCH_H

#include <stddef.h>
#include <stdint.h>

#include "ctl.h"

#define JQ_CTL_POLL_MS 200     /* interval of the GET /task-status polls of --wait */
#define JQ_CTL_BAR_WIDTH 20    /* cells between the brackets of the progress bar */
#define JQ_CTL_RATE_SAMPLES 16 /* progress points the rate of watch is taken over */

/* watch's event stream: the broker sends ": ping" every 15 s, so a stream
 * silent for three of them is dead; a stream lost before the job ends is
 * opened again after a pause that doubles each time, up to
 * JQ_CTL_STREAM_REOPENS times in a row (a stream that gave an event resets
 * the count). */
#define JQ_CTL_STREAM_IDLE_MS 45000
#define JQ_CTL_STREAM_REOPENS 8
#define JQ_CTL_REOPEN_PAUSE_MS 250
#define JQ_CTL_REOPEN_PAUSE_MAX_MS 4000

/* Polls GET /task-status/id every JQ_CTL_POLL_MS until the task ends, showing each
 * change of its status (a bar redrawn on a terminal, else a line "task ID: STATUS",
 * or the answer with --json); first_status is the one already seen and printed. Gives
 * up after timeout_s seconds (0: never). Returns the exit status: JQ_CTL_EXIT_OK if
 * the task completed, JQ_CTL_EXIT_INTERRUPT on Ctrl-C, else JQ_CTL_EXIT_FAIL, the
 * reason reported. */
int ctl_wait_task(struct ctl *c, int64_t id, const char *first_status, int64_t timeout_s);

/* Follows job id through GET /jobs/{id}/events until it ends (see watch's --help):
 * each event shown as a redrawn line on a terminal, else "task ID: STATUS", or its
 * data with --json; a stream lost before the end is opened again. Gives up after
 * timeout_s seconds (0: never). Returns the exit status as ctl_wait_task does. */
int ctl_watch_job(struct ctl *c, int64_t id, int64_t timeout_s);

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

#endif
