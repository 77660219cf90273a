/* fuzz_json_mp.c: libFuzzer target comparing json_mp.c's JSON-to-msgpack converter
 * with jansson + jq_json_pack: the same inputs accepted, the same bytes written. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "json_mp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	msgpack_sbuffer ref, got;
	msgpack_sbuffer_init(&ref);
	msgpack_sbuffer_init(&got);
	char err[160];
	json_error_t jerr;
	json_t *v = json_loadb(text, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	int want = 1; /* refused */
	if (v) {
		msgpack_packer pk;
		msgpack_packer_init(&pk, &ref, msgpack_sbuffer_write);
		want = jq_json_pack(&pk, v, err, sizeof(err)) == 0 ? 0 : 2; /* 2: too deep */
		json_decref(v);
	}
	/* jansson takes a NUL byte after the top-level value for its end; NUL is never JSON */
	if (want == 0 && memchr(text, 0, size))
		want = 1;
	int rc = jq_json_to_msgpack(text, size, JQ_CODEC_MAX_DEPTH, &got, err, sizeof(err));
	if (want == 0 && (rc != 0 || got.size != ref.size || memcmp(got.data, ref.data, got.size)))
		abort(); /* jansson's bytes differ, or valid JSON refused */
	if (want == 2 && rc != -2)
		abort(); /* too deep, not said so */
	if (want == 1 && rc == 0)
		abort(); /* accepted what jansson refuses */
	msgpack_sbuffer_destroy(&ref);
	msgpack_sbuffer_destroy(&got);
	return 0;
}
