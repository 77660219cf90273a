/* handlers.c: the table of job types. A new type is one file and one row here. */
#include <string.h>

#include "handler.h"
#include "handlers.h"

static int noop_start(struct jq_run *run, char *err, size_t errlen)
{
	jq_run_done(run, 1, NULL);
	return 0;
}

static const struct jq_handler handlers[] = {
    {"noop", noop_start, NULL, NULL, NULL},
    {"progress", jq_progress_start, jq_progress_cancel, NULL, NULL},
    {"email", jq_email_start, jq_email_cancel, jq_email_cpu, jq_email_wants_pool},
    {"hash", NULL, NULL, jq_hash_cpu, NULL},
};

const struct jq_handler *jq_handler_find(const char *type)
{
	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
		if (strcmp(handlers[i].type, type) == 0)
			return &handlers[i];
	return NULL;
}
