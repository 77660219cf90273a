/* handlers.h: the built-in job types' entry points (see handler.h for the contract). */
#ifndef JQ_HANDLERS_H
#define JQ_HANDLERS_H

#include "handler.h"

/* progress: the seed's long task; a loop timer reports done/total each step. */
int jq_progress_start(struct jq_run *run, char *err, size_t errlen);
void jq_progress_cancel(struct jq_run *run);

/* email: SMTP with libcurl, on the loop (curl multi) or, with "sync": true, on the pool. */
int jq_email_start(struct jq_run *run, char *err, size_t errlen);
void jq_email_cancel(struct jq_run *run);
int jq_email_cpu(struct jq_run *run, char **out);
int jq_email_wants_pool(const struct jq_run *run);

/* http: one HTTP(S) request with curl multi on the loop (http_job.h). */
int jq_httpjob_start(struct jq_run *run, char *err, size_t errlen);
void jq_httpjob_cancel(struct jq_run *run);

/* exec: a command the worker's config allows by name, no shell (exec_job.h). */
int jq_exec_start(struct jq_run *run, char *err, size_t errlen);
void jq_exec_cancel(struct jq_run *run);

/* hash: sha256 of data repeated repeat times, on the pool. */
int jq_hash_cpu(struct jq_run *run, char **out);

#endif
