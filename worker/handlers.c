/* handlers.c: the table of job types. A new type is one file and one row here. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "codec.h"

#include "handler.h"
#include "handlers.h"

/* noop: nothing; with {"t0_us": wall-clock microseconds at enqueue} it answers
 * {"latency_us": N}, the enqueue-to-start time the benchmarks measure. */
static int noop_start(struct jq_run *run, char *err, size_t errlen)
{
	int64_t t0;
	if (jq_mp_get_i64(run->payload, "t0_us", &t0) == 0) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		int64_t now = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
		char result[64];
		snprintf(result, sizeof(result), "{\"latency_us\":%" PRId64 "}", now - t0);
		jq_run_done(run, 1, result);
		return 0;
	}
	jq_run_done(run, 1, NULL);
	return 0;
}

static const struct jq_handler handlers[] = {
	{"noop", noop_start, NULL, NULL, NULL},
	{"progress", jq_progress_start, jq_progress_cancel, NULL, NULL},
	{"email", jq_email_start, jq_email_cancel, jq_email_cpu, jq_email_wants_pool},
	{"hash", NULL, NULL, jq_hash_cpu, NULL},
	{"http", jq_httpjob_start, jq_httpjob_cancel, NULL, NULL},
	{"exec", jq_exec_start, jq_exec_cancel, NULL, NULL},
};

const struct jq_handler *jq_handler_find(const char *type)
{
	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
		if (strcmp(handlers[i].type, type) == 0)
			return &handlers[i];
	return NULL;
}
