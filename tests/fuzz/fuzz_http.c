/* fuzz_http.c: libFuzzer target for the broker's HTTP/1.x request parser
 * (broker/http_parse.h): the input is parsed as a head, and when the head is complete and
 * chunked, the rest as its body; the whole input is also scanned as a chunked body. Every
 * result must keep the header's invariants; a broken one aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_parse.h"

#define FUZZ_MAX_HEAD 8192
#define FUZZ_MAX_BODY (64 * 1024)
#define FUZZ_SMALL_MAX_BODY 256

#define REQUIRE(cond)                                                                              \
	do {                                                                                       \
		if (!(cond))                                                                       \
			__builtin_trap();                                                          \
	} while (0)

/* A span lies within the head. */
static int span_in(struct jq_http_span s, size_t head_len)
{
	return s.off <= head_len && s.len <= head_len - s.off;
}

/* No line end inside a span. */
static int span_one_line(const char *buf, struct jq_http_span s)
{
	return memchr(buf + s.off, '\n', s.len) == NULL && memchr(buf + s.off, '\r', s.len) == NULL;
}

static int is_flag(int v)
{
	return v == 0 || v == 1;
}

/* A chunked body at buf[0..len): the scan's result and, when complete, its decoding. */
static void check_chunked(const char *buf, size_t len, size_t max_body)
{
	size_t raw = 0, body = 0;
	int rc = jq_http_chunked_scan(buf, len, max_body, &raw, &body);
	REQUIRE(rc == 1 || rc == 0 || rc == -400 || rc == -413);
	if (rc != 1)
		return;
	REQUIRE(raw > 0 && raw <= len);
	REQUIRE(body <= max_body);
	REQUIRE(body < raw); /* at least the last chunk's "0\n\n" is framing */

	/* the body ends where raw_len says, whatever follows it */
	size_t raw2 = 0, body2 = 0;
	REQUIRE(jq_http_chunked_scan(buf, raw, max_body, &raw2, &body2) == 1);
	REQUIRE(raw2 == raw && body2 == body);
	REQUIRE(jq_http_chunked_scan(buf, raw - 1, max_body, &raw2, &body2) == 0);

	/* exactly body_len bytes: ASan sees any write past them */
	char *out = malloc(body ? body : 1);
	if (!out)
		return;
	jq_http_chunked_decode(buf, raw, out);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct jq_http_head h;
	memset(&h, 0, sizeof(h));
	int rc = jq_http_parse_head(buf, size, FUZZ_MAX_HEAD, &h);
	REQUIRE(rc == 1 || rc == 0 || rc == -400 || rc == -431 || rc == -501 || rc == -505);
	if (rc == 0)
		REQUIRE(size < FUZZ_MAX_HEAD); /* past the limit it is -431, not incomplete */
	if (rc == 1) {
		size_t hl = h.head_len;
		REQUIRE(hl > 0 && hl <= size && hl <= FUZZ_MAX_HEAD);
		REQUIRE(buf[hl - 1] == '\n');
		REQUIRE(span_in(h.target, hl) && h.target.len > 0);
		REQUIRE(span_in(h.path, hl) && span_in(h.query, hl));
		/* the path (and query) end the target; origin-form: the path starts it,
		 * absolute-form ("http[s]://authority/path"): the path follows the authority */
		size_t tend = h.target.off + h.target.len;
		REQUIRE(h.path.off >= h.target.off && h.path.len <= h.target.len);
		int absolute = buf[h.target.off] != '/' &&
			       !(h.target.len == 1 && buf[h.target.off] == '*');
		if (absolute)
			REQUIRE(h.target.len > 7 &&
				(buf[h.target.off] == 'h' || buf[h.target.off] == 'H') &&
				(h.path.len == 0 || buf[h.path.off] == '/'));
		else
			REQUIRE(h.path.off == h.target.off);
		REQUIRE(buf[h.target.off] == '/' || absolute || h.method == JQ_HTTP_OPTIONS);
		REQUIRE(is_flag(h.has_query));
		if (h.has_query) {
			REQUIRE(buf[h.path.off + h.path.len] == '?');
			REQUIRE(h.query.off == h.path.off + h.path.len + 1);
			REQUIRE(h.query.off + h.query.len == tend);
		} else {
			REQUIRE(h.path.off + h.path.len == tend);
			REQUIRE(h.query.len == 0);
		}
		REQUIRE(h.method == 0 || (h.method & (h.method - 1)) == 0);
		REQUIRE(h.method >= 0 && h.method <= JQ_HTTP_PATCH);
		REQUIRE(h.minor == 0 || h.minor == 1);
		REQUIRE(h.nheaders <= JQ_HTTP_MAX_HEADERS);
		for (size_t i = 0; i < h.nheaders; i++) {
			struct jq_http_span n = h.header[i].name, v = h.header[i].value;
			REQUIRE(span_in(n, hl) && span_in(v, hl));
			REQUIRE(n.len > 0 && n.off + n.len < v.off);
			REQUIRE(buf[n.off + n.len] == ':');
			REQUIRE(span_one_line(buf, n) && span_one_line(buf, v));
			if (v.len > 0) {
				char first = buf[v.off], last = buf[v.off + v.len - 1];
				REQUIRE(first != ' ' && first != '\t');
				REQUIRE(last != ' ' && last != '\t');
			}
			/* the first header of a name is the one found */
			char name[256];
			if (n.len < sizeof(name) && !memchr(buf + n.off, '\0', n.len)) {
				memcpy(name, buf + n.off, n.len);
				name[n.len] = '\0';
				struct jq_http_span found;
				REQUIRE(jq_http_head_find(buf, &h, name, &found) == 1);
				REQUIRE(span_in(found, hl) && found.off <= v.off);
			}
		}
		REQUIRE(h.content_length >= -1);
		REQUIRE(is_flag(h.chunked) && is_flag(h.keep_alive) && is_flag(h.expect_continue));
		if (h.chunked)
			REQUIRE(h.content_length == -1 && h.minor == 1);
		if (h.minor == 0)
			REQUIRE(h.expect_continue == 0);

		/* the head does not depend on what follows it, and is incomplete one byte short */
		struct jq_http_head h2;
		memset(&h2, 0, sizeof(h2));
		REQUIRE(jq_http_parse_head(buf, hl, FUZZ_MAX_HEAD, &h2) == 1);
		REQUIRE(h2.head_len == hl && h2.nheaders == h.nheaders &&
			h2.content_length == h.content_length && h2.chunked == h.chunked &&
			h2.keep_alive == h.keep_alive && h2.method == h.method);
		REQUIRE(jq_http_parse_head(buf, hl - 1, FUZZ_MAX_HEAD, &h2) == 0);

		if (h.chunked)
			check_chunked(buf + hl, size - hl, FUZZ_MAX_BODY);
	}
	/* the whole input as a chunked body, with a small limit to reach -413 */
	check_chunked(buf, size, FUZZ_SMALL_MAX_BODY);
	/* resumed scans (the server's way): fed in two parts, the same answer as one scan */
	size_t raw1 = 0, body1 = 0, raw2 = 0, body2 = 0;
	int whole = jq_http_chunked_scan(buf, size, FUZZ_SMALL_MAX_BODY, &raw1, &body1);
	struct jq_http_chunked st = {0, 0};
	int first = jq_http_chunked_resume(buf, size / 2, FUZZ_SMALL_MAX_BODY, &st, &raw2, &body2);
	REQUIRE(st.pos <= size / 2 && st.total <= FUZZ_SMALL_MAX_BODY);
	if (first == 0) {
		int second =
			jq_http_chunked_resume(buf, size, FUZZ_SMALL_MAX_BODY, &st, &raw2, &body2);
		REQUIRE(second == whole);
		if (whole == 1)
			REQUIRE(raw2 == raw1 && body2 == body1);
	}
	return 0;
}
