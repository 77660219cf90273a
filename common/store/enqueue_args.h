/* enqueue_args.h: the arguments of the enqueue script (common/scripts/enqueue.lua)
 * for n validated job specs.
 *
 * Every caller that stores jobs builds them here, so the broker, the cron firer
 * and the C client write exactly the same hash fields: the broker's POST
 * handlers, periodic schedules, and libjobq-client all share this one encoder.
 * Pure: no Redis, no IO. */
#ifndef JQ_ENQUEUE_ARGS_H
#define JQ_ENQUEUE_ARGS_H

#include <stddef.h>
#include <stdint.h>

#include "job.h"
#include "keys.h"

struct jq_enqueue_args {
	const char **argv; /* keys first (nkeys), then the arguments (nargs) */
	size_t *lens;
	int nkeys, nargs;
	char *text; /* owns the key names and numbers argv points at */
};

/* Builds the call that stores specs[0..n-1] under ids first_id..first_id+n-1.
 * idem: an Idempotency-Key ("" or NULL for none; then window_ms is ignored). A repeat
 * within the window stores nothing; the script answers {what, state}: for one job
 * what is its id and state its state now, for several "bulk:<first id>:<n>".
 * argv points into the specs' payload buffers: keep the specs alive until the
 * call was sent. 0, or -1 when out of memory (a is then empty). */
int jq_enqueue_args_build(struct jq_enqueue_args *a, const struct jq_keys *k,
			  const struct jq_job_spec *specs, size_t n, int64_t first_id,
			  const char *idem, int64_t window_ms);
/* The same for n unrelated jobs stored in one call (single-job requests the broker
 * groups): specs[i] under ids[i], no Idempotency-Key. The call stores all or none. */
int jq_enqueue_args_build_group(struct jq_enqueue_args *a, const struct jq_keys *k,
				const struct jq_job_spec *const *specs, const int64_t *ids,
				size_t n);
/* A batch (POST /batches): its jobs get ids id+1 .. id+n and a 'batch' field; the
 * batch hash counts their end states and fires the callback job once at the end. */
struct jq_enqueue_batch {
	int64_t id;
	const struct jq_job_spec *callback; /* NULL: none */
	int64_t keep_ms;                    /* the record's life once every member ended */
};
/* The same for the n jobs of batch b; a repeat's what is "batch:<batch id>:<n>". */
int jq_enqueue_args_build_batch(struct jq_enqueue_args *a, const struct jq_keys *k,
				const struct jq_job_spec *specs, size_t n,
				const struct jq_enqueue_batch *b, const char *idem,
				int64_t window_ms);
void jq_enqueue_args_release(struct jq_enqueue_args *a);

#endif
