/* json_mp.h: JSON text to msgpack in one pass, without building a JSON tree.
 *
 * The broker's enqueue bodies (POST /jobs, POST /jobs/bulk) are read here: parsing
 * a 1,000-job body with jansson (a hash table per object, a block per value, then
 * freeing them all) was most of the broker's work per bulk request (docs/benchmarks.md).
 *
 * The result is what jansson (json_loadb with JSON_REJECT_DUPLICATES | JSON_DECODE_ANY)
 * followed by jq_json_pack() would give, byte for byte, for every input both accept:
 * integers as msgpack ints (smallest encoding), other numbers as float 64, strings as
 * str, objects as maps in their order, the smallest container headers. It refuses what
 * jansson refuses: anything outside RFC 8259, invalid UTF-8 (also in escapes: lone
 * surrogates), NUL in strings ("\u0000"), duplicate object keys, integers outside
 * int64 and numbers that overflow a double. tests/unit/test_json_mp.c and
 * tests/fuzz/fuzz_json_mp.c check both against jansson. */
#ifndef JQ_JSON_MP_H
#define JQ_JSON_MP_H

#include <msgpack.h>
#include <stddef.h>

/* Appends the msgpack of the JSON text[0..len) to out. max_depth: how many containers
 * may nest on any path (the outermost counts as 1).
 * 0; -1 if the text is not valid JSON; -2 if it nests deeper than max_depth (checked
 * as it is read, so a deep document costs no more than max_depth levels). err says
 * why, with the byte offset. On failure out holds a partial value: discard it. */
int jq_json_to_msgpack(const char *text, size_t len, int max_depth, msgpack_sbuffer *out, char *err,
		       size_t errlen);

#endif
