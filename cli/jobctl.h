/* jobctl.h: the jobctl command-line client as a library (jobctl_core); main.c only calls in.
 *
 * jq_ctl_run() is the whole program: jobctl.c holds its command table and the
 * parsing of its arguments, ctl.h the run's context and requests, print.h what it
 * prints, watch.h watch and --wait. The other functions here are argument checks that
 * need no broker, exposed for the unit tests. Nothing here keeps state between calls. */
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

/* Checks a --duration value: an integer 0..JQ_CTL_DURATION_MAX, digits only.
 * -1 with the reason in err otherwise. */
int jq_ctl_parse_duration(const char *s, int64_t *out, char *err, size_t errlen);

/* Adds one "key=value" argument to the JSON object payload. value becomes the
 * JSON it spells if it is valid JSON (3, -1.5, true, null, "x", [1], {"a": 1}),
 * else the string itself; "key=" is the empty string. -1 with the reason in
 * err if there is no '=', the key is empty or already set, or a text is not
 * UTF-8; payload is then unchanged. */
int jq_ctl_payload_add(json_t *payload, const char *arg, char *err, size_t errlen);

/* Checks an --idempotency-key value as the broker does: 1 to
 * JQ_CTL_IDEMPOTENCY_KEY_MAX printable ASCII characters, no spaces (so it can
 * never break the header line). 0 if it is one, -1 with the reason in err. */
int jq_ctl_idempotency_key_check(const char *key, char *err, size_t errlen);

#endif
