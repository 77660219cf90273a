/* enqueue.h: storing new jobs: the one path every route that creates jobs takes.
 *
 * Ids come from blocks the broker reserves with INCRBY (JQ_ID_BLOCK at a time, the next
 * block fetched before this one runs out), so a job usually needs no round trip for its
 * id. Single-job requests of one loop turn are stored together in one script call (a
 * group); a bulk or a batch is one call of its own. A 2xx goes out only after Redis
 * answered that it stored the jobs (and, with --min-replicas-ack, that enough replicas
 * have them: WAIT); on any failure the route gets no reply function call and the request
 * is answered 503 here. An idempotency key makes a repeat answer what the first stored.
 * The path knows nothing of HTTP headers: the route reads and checks them (reply.h,
 * jq_request_idempotency_key and jq_request_traceparent) and passes plain options. */
#ifndef JQ_ENQUEUE_H
#define JQ_ENQUEUE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "job.h"

struct jq_broker;
struct jq_enqueue;

#define JQ_ID_BLOCK 1000 /* ids reserved per INCRBY */
/* jobs in one POST /jobs/bulk: one atomic script call, so Redis serves nobody else
 * meanwhile (docs/api.md and docs/benchmarks.md give its time): clients should prefer
 * bulks of about 1,000 */
#define JQ_BULK_MAX 10000

/* A request's options, already checked by its route; the strings need only last the call. */
struct jq_enqueue_opts {
	const char *idempotency_key; /* NULL, or valid (jq_idempotency_key_valid) */
	const char *traceparent;     /* NULL, or valid (jq_traceparent_valid): stored with every
					job of the request, a batch's callback too */
};

/* How stored jobs are answered: called once with their ids, first_id .. first_id+n-1,
 * and their specs. */
typedef void jq_enqueue_reply_fn(struct jq_broker *b, struct jq_http_req *req, int64_t first_id,
				 size_t n, const struct jq_job_spec *specs, const char *dup_state);
/* dup_state: NULL for new jobs; for a request repeated with the same idempotency key,
 * first_id and n are what the first request stored, and dup_state (non-NULL) the state
 * of its job now when it stored one job (else "repeat"). */
/* "scheduled" for a job with a delay or a future run_at, else "pending". */
const char *jq_spec_initial_state(const struct jq_job_spec *s);
/* Stores n jobs as pending in one script call (ids come from the broker's
 * reserved block, so usually no extra round trip), then calls reply; on any
 * Redis failure answers 503 itself and stores nothing. Takes specs (malloc'd
 * array of n initialised specs) and frees it. */
void jq_broker_enqueue(struct jq_broker *b, struct jq_http_req *req, struct jq_job_spec *specs,
		       size_t n, const struct jq_enqueue_opts *opts, jq_enqueue_reply_fn *reply);
/* The same for POST /jobs/bulk: a repeated idempotency key answers with what the first
 * bulk request (or a POST /jobs) stored under it. */
void jq_broker_enqueue_bulk(struct jq_broker *b, struct jq_http_req *req, struct jq_job_spec *specs,
			    size_t n, const struct jq_enqueue_opts *opts,
			    jq_enqueue_reply_fn *reply);
/* The same for a batch (POST /batches): reply gets the batch's id as first_id, its jobs
 * have the n ids after it. Takes callback (malloc'd initialised spec, or NULL) too. */
void jq_broker_enqueue_batch(struct jq_broker *b, struct jq_http_req *req,
			     struct jq_job_spec *specs, size_t n, struct jq_job_spec *callback,
			     const struct jq_enqueue_opts *opts, jq_enqueue_reply_fn *reply);
/* The enqueue path's state (reserved ids, requests waiting for them, the group of this
 * turn), which the broker holds as b->enq: NULL when out of memory. */
struct jq_enqueue *jq_enqueue_new(void);
/* Drops reserved ids (Redis reconnected) and fails requests waiting for ids. */
void jq_ids_reset(struct jq_broker *b);
/* Answers the requests of a group not yet sent (503) and frees the group's event. */
void jq_enqueue_release(struct jq_broker *b);
/* Frees b->enq, once Redis' connection is gone (its callbacks reset the ids). */
void jq_enqueue_free(struct jq_broker *b);

/* Jobs from a JSON array of 1 to JQ_BULK_MAX job objects (what names it in errors): a
 * calloc'd array of *n initialised specs, or NULL after a 400 reply (nothing kept). */
struct jq_job_spec *jq_specs_from_json(struct jq_http_req *req, const json_t *arr, const char *what,
				       size_t *n);
#endif
