/* test_ws.c: unit tests of broker/ws.c's pure helpers: the accept key, key checks, and
 * header tokens of the WebSocket handshake. */
#include <stddef.h>

#include "unit.h"
#include "ws.h"

static void test_accept_key(void)
{
	static const struct {
		const char *key, *accept;
	} cases[] = {
		/* RFC 6455, section 1.3 */
		{"dGhlIHNhbXBsZSBub25jZQ==", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="},
		/* two more, computed apart with Python's hashlib and base64 */
		{"x3JJHMbDL1EzLkh9GBhXDw==", "HSmrc0sMlYUkAGmm5OPpG2HaGWk="},
		{"AQIDBAUGBwgJCgsMDQ4PEC==", "OfS0wDaT5NoxF2gqm7Zj2YtetzM="},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("%s", cases[i].key);
		char out[29] = "";
		CHECK_INT_EQ(jq_ws_accept_key(cases[i].key, out), 0);
		CHECK_STR_EQ(out, cases[i].accept);
	}
}

static void test_key_valid(void)
{
	static const struct {
		const char *key;
		int valid;
	} cases[] = {
		{"dGhlIHNhbXBsZSBub25jZQ==", 1},
		{"AAAAAAAAAAAAAAAAAAAAAA==", 1},
		{"+/+/+/+/+/+/+/+/+/+/+w==", 1},
		{NULL, 0},
		{"", 0},
		{"dGhlIHNhbXBsZSBub25jZQ=", 0},   /* 23 characters */
		{"dGhlIHNhbXBsZSBub25jZQ===", 0}, /* 25 */
		{"dGhlIHNhbXBsZSBub25jZQAA", 0},  /* 18 bytes, no padding */
		{"dGhlIHNhbXBsZSBub25j*Q==", 0},  /* not base64 */
		{"dGhlIHNhbXBsZSBub25j Q==", 0},
		{"dGhlIHNhbXBsZSBub2=jZQ==", 0}, /* padding inside */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("row %zu '%s'", i, cases[i].key ? cases[i].key : "(null)");
		CHECK_INT_EQ(jq_ws_key_valid(cases[i].key), cases[i].valid);
	}
}

static void test_header_token(void)
{
	static const struct {
		const char *value, *token;
		int has;
	} cases[] = {
		{"Upgrade", "upgrade", 1},
		{"upgrade", "upgrade", 1},
		{"keep-alive, Upgrade", "upgrade", 1},
		{"keep-alive,Upgrade ", "upgrade", 1},
		{"  Upgrade\t, keep-alive", "upgrade", 1},
		{"websocket", "websocket", 1},
		{"h2c, WebSocket", "websocket", 1},
		{"keep-alive", "upgrade", 0},
		{"upgrades", "upgrade", 0},
		{"x-upgrade", "upgrade", 0},
		{"up grade", "upgrade", 0},
		{"", "upgrade", 0},
		{",,,", "upgrade", 0},
		{NULL, "upgrade", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("row %zu '%s'", i, cases[i].value ? cases[i].value : "(null)");
		CHECK_INT_EQ(jq_ws_header_has_token(cases[i].value, cases[i].token), cases[i].has);
	}
}

UNIT_MAIN({"accept_key", test_accept_key}, {"key_valid", test_key_valid},
	  {"header_token", test_header_token})
