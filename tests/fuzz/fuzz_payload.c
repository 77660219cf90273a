/* fuzz_payload.c: libFuzzer target for the msgpack payload decoder as a worker runs it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	msgpack_unpacked up;
	const msgpack_object *v;
	char err[256];
	if (jq_payload_unpack((const char *)data, size, &up, &v, err, sizeof(err)) != 0)
		return 0;
	json_t *j = jq_msgpack_to_json(v, err, sizeof(err));
	if (j) {
		char *text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
		free(text);
		json_decref(j);
	}
	const char *s;
	size_t n;
	int64_t i;
	int b;
	jq_mp_get_str(v, "to", &s, &n);
	jq_mp_get_i64(v, "duration", &i);
	jq_mp_get_bool(v, "sync", &b);
	msgpack_unpacked_destroy(&up);
	return 0;
}
