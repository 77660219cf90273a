/* schedule.h: a periodic schedule's definition: a name, a cron expression and a job
 * template, checked, and in the canonical JSON text that Redis stores; and the
 * --schedule-file format that brokers and workers read at start-up.
 *
 * Pure: no Redis, no clock (the file loader reads one file). docs/api.md
 * describes schedules; docs/redis.md where they are stored. */
#ifndef JQ_SCHEDULE_H
#define JQ_SCHEDULE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "cron.h"
#include "job.h"

#define JQ_SCHEDULE_NAME_MAX JQ_QUEUE_NAME_MAX /* names are 1..64 of [A-Za-z0-9_.:-] */
#define JQ_SCHEDULES_MAX 10000                 /* schedules one deployment keeps */
#define JQ_SCHEDULE_FILE_MAX 1000              /* schedules one --schedule-file holds */
#define JQ_SCHEDULE_LINE_MAX 65536             /* bytes of one line of that file */

struct jq_schedule {
	char name[JQ_SCHEDULE_NAME_MAX + 1];
	char cron[JQ_CRON_EXPR_MAX + 1]; /* the expression as given */
	struct jq_cron expr;
	json_t *job; /* the job template, a POST /jobs body; owned */
	char *def;   /* {"cron": ..., "job": ...}, compact with sorted keys: equal
		      * definitions have equal text; owned */
};

/* Checks and fills s from a name (namelen bytes), a cron value and a job value
 * (JSON, as a request gives them): the job is checked as POST /jobs checks a
 * body, and may not have "run_at" (a fixed time cannot repeat). -1 with err
 * naming the field otherwise ("'cron': hour: '24' is out of range 0-23"); s
 * needs no release then. */
int jq_schedule_init(struct jq_schedule *s, const char *name, size_t namelen, const json_t *cron,
		     const json_t *job, char *err, size_t errlen);
/* The same from a stored definition text (s->def as Redis holds it). */
int jq_schedule_from_def(struct jq_schedule *s, const char *name, const char *def, size_t len,
			 char *err, size_t errlen);
void jq_schedule_release(struct jq_schedule *s);

/* The job that tick tick_ms of s makes: spec (jq_job_spec_init'ed by the
 * caller) from the template, marked with the schedule's name and the tick. */
int jq_schedule_job_spec(const struct jq_schedule *s, int64_t tick_ms, struct jq_job_spec *spec,
			 char *err, size_t errlen);

/* Reads a schedule file: one schedule per line, "NAME CRON JOB_JSON", where
 * NAME is the first word, JOB_JSON the JSON object that starts at the line's
 * first '{', and CRON what stands between them (5 or 6 fields, or a macro);
 * blank lines and lines starting with '#' are skipped. Fills *out with *n
 * schedules (free with jq_schedules_free), or -1 with err naming the file and
 * line. A name may appear once. */
int jq_schedule_file_load(const char *path, struct jq_schedule **out, size_t *n, char *err,
			  size_t errlen);
void jq_schedules_free(struct jq_schedule *v, size_t n);

#endif
