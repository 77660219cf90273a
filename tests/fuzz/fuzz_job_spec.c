/* fuzz_job_spec.c: libFuzzer target for the request-to-job parser (JSON and msgpack bodies).
 * A JSON body is read both ways the broker reads one: through a jansson tree
 * (jq_job_spec_from_json: batches, schedules, the C client) and converted in one pass
 * (jq_json_to_msgpack + jq_job_spec_from_packed_json: POST /jobs and /jobs/bulk); both
 * must take or refuse it alike and make the same job of it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "job.h"
#include "json_mp.h"

static int same_spec(const struct jq_job_spec *a, const struct jq_job_spec *b)
{
	return strcmp(a->type, b->type) == 0 && strcmp(a->queue, b->queue) == 0 &&
	       a->priority == b->priority && a->max_attempts == b->max_attempts &&
	       a->timeout_ms == b->timeout_ms && a->delay_ms == b->delay_ms &&
	       a->run_at_ms == b->run_at_ms && strcmp(a->unique_key, b->unique_key) == 0 &&
	       a->payload.size == b->payload.size &&
	       memcmp(a->payload.data, b->payload.data, a->payload.size) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	/* the first byte picks the body format, the rest is the body */
	const char *body = (const char *)data + 1;
	size_t len = size - 1;
	struct jq_job_spec spec, packed;
	jq_job_spec_init(&spec);
	jq_job_spec_init(&packed);
	char err[256];
	if (data[0] & 1) {
		jq_job_spec_from_msgpack(&spec, body, len, err, sizeof(err));
	} else {
		json_error_t jerr;
		json_t *obj = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
		int tree = -1;
		if (obj) {
			tree = jq_job_spec_from_json(&spec, obj, err, sizeof(err));
			json_decref(obj);
		}
		msgpack_sbuffer mp;
		msgpack_sbuffer_init(&mp);
		int one = jq_json_to_msgpack(body, len, 1 + JQ_CODEC_MAX_DEPTH, &mp, err,
					     sizeof(err));
		if (one == 0)
			one = jq_job_spec_from_packed_json(&packed, mp.data, mp.size, err,
							   sizeof(err));
		msgpack_sbuffer_destroy(&mp);
		/* (jansson takes a NUL byte after the value for the end: no JSON has one) */
		if (!memchr(body, 0, len) &&
		    ((tree == 0) != (one == 0) || (tree == 0 && !same_spec(&spec, &packed))))
			abort();
	}
	jq_job_spec_release(&spec);
	jq_job_spec_release(&packed);
	return 0;
}
