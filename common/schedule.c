/* schedule.c: schedule definitions and the schedule file; see schedule.h. */
#include "schedule.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"

int jq_schedule_init(struct jq_schedule *s, const char *name, size_t namelen, const json_t *cron,
		     const json_t *job, char *err, size_t errlen)
{
	char why[256];
	memset(s, 0, sizeof(*s));
	if (!jq_name_valid(name, namelen)) {
		snprintf(err, errlen,
			 "'name' must be 1 to %d characters of letters, digits and _.:-",
			 JQ_SCHEDULE_NAME_MAX);
		return -1;
	}
	memcpy(s->name, name, namelen);
	s->name[namelen] = '\0';
	if (!json_is_string(cron)) {
		snprintf(err, errlen, "'cron' must be a string like \"*/5 * * * *\"");
		return -1;
	}
	if (jq_cron_parse(&s->expr, json_string_value(cron), why, sizeof(why)) != 0) {
		snprintf(err, errlen, "'cron': %s", why);
		return -1;
	}
	snprintf(s->cron, sizeof(s->cron), "%s", json_string_value(cron));
	if (!json_is_object(job)) {
		snprintf(err, errlen, "'job' must be a JSON object, the body of a POST /jobs");
		return -1;
	}
	if (json_object_get(job, "secrets")) { /* GET /schedules shows the template */
		snprintf(err, errlen,
			 "'job': 'secrets' are not kept in schedules (GET /schedules "
			 "shows a schedule's job)");
		return -1;
	}
	if (json_object_get(job, "run_at")) {
		snprintf(err, errlen, "'job': 'run_at' cannot repeat; use 'delay_ms' for a delay");
		return -1;
	}
	/* the very check POST /jobs makes, so a schedule never makes a job it would refuse */
	struct jq_job_spec spec;
	jq_job_spec_init(&spec);
	int rc = jq_job_spec_from_json(&spec, job, why, sizeof(why));
	jq_job_spec_release(&spec);
	if (rc != 0) {
		snprintf(err, errlen, "'job': %s", why);
		return -1;
	}
	s->job = json_deep_copy(job);
	json_t *d = s->job ? json_pack("{s:s,s:O}", "cron", s->cron, "job", s->job) : NULL;
	s->def = d ? json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(d);
	if (!s->def) {
		snprintf(err, errlen, "out of memory");
		jq_schedule_release(s);
		return -1;
	}
	return 0;
}

int jq_schedule_from_def(struct jq_schedule *s, const char *name, const char *def, size_t len,
			 char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *d = json_loadb(def, len, 0, &jerr);
	if (!json_is_object(d)) {
		json_decref(d);
		memset(s, 0, sizeof(*s));
		snprintf(err, errlen, "the stored definition is not a JSON object");
		return -1;
	}
	int rc = jq_schedule_init(s, name, strlen(name), json_object_get(d, "cron"),
				  json_object_get(d, "job"), err, errlen);
	json_decref(d);
	return rc;
}

void jq_schedule_release(struct jq_schedule *s)
{
	json_decref(s->job);
	free(s->def);
	s->job = NULL;
	s->def = NULL;
}

int jq_schedule_job_spec(const struct jq_schedule *s, int64_t tick_ms, struct jq_job_spec *spec,
			 char *err, size_t errlen)
{
	if (jq_job_spec_from_json(spec, s->job, err, errlen) != 0)
		return -1;
	snprintf(spec->schedule, sizeof(spec->schedule), "%s", s->name);
	spec->schedule_tick_ms = tick_ms;
	return 0;
}

void jq_schedules_free(struct jq_schedule *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		jq_schedule_release(&v[i]);
	free(v);
}

/* One line of a schedule file into s; -1 with err (without the line number). */
static int parse_line(struct jq_schedule *s, char *line, char *err, size_t errlen)
{
	size_t nlen = strcspn(line, " \t");
	char *brace = strchr(line, '{');
	if (!brace || brace < line + nlen) {
		snprintf(err, errlen, "expected NAME CRON JOB_JSON, the job a JSON object in {}");
		return -1;
	}
	/* the cron expression: between the name and the brace, spaces trimmed */
	char *c = line + nlen;
	char *ce = brace;
	while (c < ce && (*c == ' ' || *c == '\t'))
		c++;
	while (ce > c && (ce[-1] == ' ' || ce[-1] == '\t'))
		ce--;
	*ce = '\0';
	json_error_t jerr;
	json_t *job = json_loads(brace, JSON_REJECT_DUPLICATES, &jerr);
	if (!job) {
		snprintf(err, errlen, "the job is not valid JSON: %s", jerr.text);
		return -1;
	}
	json_t *cron = json_string(c);
	int rc = jq_schedule_init(s, line, nlen, cron, job, err, errlen);
	json_decref(cron);
	json_decref(job);
	return rc;
}

int jq_schedule_file_load(const char *path, struct jq_schedule **out, size_t *n, char *err,
			  size_t errlen)
{
	*out = NULL;
	*n = 0;
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "cannot open schedule file '%s': %s", path, strerror(errno));
		return -1;
	}
	struct jq_schedule *v = calloc(JQ_SCHEDULE_FILE_MAX, sizeof(*v));
	char *line = malloc(JQ_SCHEDULE_LINE_MAX + 2);
	size_t count = 0;
	int lineno = 0, rc = -1;
	if (!v || !line) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	while (fgets(line, JQ_SCHEDULE_LINE_MAX + 2, f)) {
		lineno++;
		size_t len = strlen(line);
		if (len > JQ_SCHEDULE_LINE_MAX) {
			snprintf(err, errlen, "%s:%d: the line is longer than %d bytes", path,
				 lineno, JQ_SCHEDULE_LINE_MAX);
			goto done;
		}
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		char *p = line + strspn(line, " \t");
		if (*p == '\0' || *p == '#')
			continue;
		if (count == JQ_SCHEDULE_FILE_MAX) {
			snprintf(err, errlen, "%s:%d: more than %d schedules", path, lineno,
				 JQ_SCHEDULE_FILE_MAX);
			goto done;
		}
		char why[300];
		if (parse_line(&v[count], p, why, sizeof(why)) != 0) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
			goto done;
		}
		count++;
		for (size_t i = 0; i + 1 < count; i++) {
			if (strcmp(v[i].name, v[count - 1].name) == 0) {
				snprintf(err, errlen, "%s:%d: schedule '%s' is defined twice", path,
					 lineno, v[i].name);
				goto done;
			}
		}
	}
	if (ferror(f)) {
		snprintf(err, errlen, "cannot read schedule file '%s': %s", path, strerror(errno));
		goto done;
	}
	*out = v;
	*n = count;
	v = NULL;
	rc = 0;
done:
	jq_schedules_free(v, count);
	free(line);
	fclose(f);
	return rc;
}
