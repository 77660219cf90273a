/* jobctl.h: the jobctl command-line client as a library (jobctl_core); main.c only calls in.
 *
 * jq_ctl_run() is the whole program. jobctl.c holds its command table and dispatch;
 * the parts are each behind a header: args.h (a command and its arguments), rows.h
 * (the commands that are one request), commands.h (the others), ctl.h (the run's
 * context, failures and requests), print.h (what it prints), watch.h (watch and
 * --wait). */
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

#endif
