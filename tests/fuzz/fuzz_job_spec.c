/* fuzz_job_spec.c: libFuzzer target for the request-to-job parser (JSON and msgpack bodies). */
#include <stddef.h>
#include <stdint.h>

#include "job.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	/* the first byte picks the body format, the rest is the body */
	struct jq_job_spec spec;
	jq_job_spec_init(&spec);
	char err[256];
	if (data[0] & 1) {
		jq_job_spec_from_msgpack(&spec, (const char *)data + 1, size - 1, err, sizeof(err));
	} else {
		json_error_t jerr;
		json_t *obj = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, &jerr);
		if (obj) {
			jq_job_spec_from_json(&spec, obj, err, sizeof(err));
			json_decref(obj);
		}
	}
	jq_job_spec_release(&spec);
	return 0;
}
