/* http_parse.h: HTTP/1.x request heads and chunked bodies (RFC 9112), read from a byte
 * buffer by pure functions: no allocation, no IO. The broker's server (http.h) drives
 * them; tests/unit/test_http.c and tests/fuzz/fuzz_http.c test them on their own.
 *
 * A head is a request line "METHOD SP target SP HTTP/1.x" (x = 0 or 1) and header lines
 * "name: value", each line ending in CRLF or a bare LF, then an empty line. Names are
 * tokens; surrounding spaces and tabs are trimmed from values, which hold no control
 * character but HTAB. Refused as malformed (400): obsolete line folding, whitespace before
 * a colon, a target that is neither a path ("/...", or "*" for OPTIONS) nor absolute
 * ("http://host/path": the path is taken), a Content-Length that is not digits or
 * differs between two headers, Transfer-Encoding together with Content-Length (a request
 * smuggling vector). HTTP/1.2 and later 1.x are read as 1.1. (The server refuses an
 * HTTP/1.1 request without exactly one Host itself.) Other refusals: 431 (head over the limit or
 * more than JQ_HTTP_MAX_HEADERS headers), 501 (a Transfer-Encoding other than "chunked"),
 * 505 (not HTTP/1.0 or 1.1).
 *
 * Positions are offsets from the start of the buffer, so a head parsed in one buffer is
 * valid in a copy of it. */
#ifndef JQ_HTTP_PARSE_H
#define JQ_HTTP_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define JQ_HTTP_MAX_HEADERS 64

/* Methods, as bits (the same values as libevent's JQ_HTTP_*). */
enum {
	JQ_HTTP_GET = 1 << 0,
	JQ_HTTP_POST = 1 << 1,
	JQ_HTTP_HEAD = 1 << 2,
	JQ_HTTP_PUT = 1 << 3,
	JQ_HTTP_DELETE = 1 << 4,
	JQ_HTTP_OPTIONS = 1 << 5,
	JQ_HTTP_TRACE = 1 << 6,
	JQ_HTTP_CONNECT = 1 << 7,
	JQ_HTTP_PATCH = 1 << 8,
};

struct jq_http_span {
	size_t off, len;
};

struct jq_http_head {
	size_t head_len; /* bytes up to and including the empty line */
	int method;      /* a JQ_HTTP_* bit; 0 for another token (the server answers 501) */
	struct jq_http_span target;      /* as sent: path and query */
	struct jq_http_span path, query; /* path may be empty (absolute-form without one) */
	int has_query;                   /* a '?' was there (query may be empty) */
	int minor;                       /* HTTP/1.<minor> */
	int64_t content_length;          /* -1: no Content-Length */
	int chunked;                     /* Transfer-Encoding: chunked */
	int keep_alive;      /* the connection may serve another request after this one */
	int expect_continue; /* Expect: 100-continue */
	size_t nheaders;
	/* last: everything before it is reset on every parse, the array only as filled */
	struct {
		struct jq_http_span name, value;
	} header[JQ_HTTP_MAX_HEADERS];
};

/* Parses the head at buf[0..len). 1: complete (h filled); 0: incomplete, more bytes may
 * complete it; negative: the HTTP status to refuse it with (-400, -431, -501, -505). A head
 * whose end is not within max_head bytes is -431. */
int jq_http_parse_head(const char *buf, size_t len, size_t max_head, struct jq_http_head *h);

/* 1 if the head has a header name (case-insensitive), with its first value's span. */
int jq_http_head_find(const char *buf, const struct jq_http_head *h, const char *name,
		      struct jq_http_span *value);

/* A chunked body at buf[0..len), just after its head. 1: complete, with *raw_len the bytes
 * it takes (chunks, last chunk, trailer) and *body_len the decoded size; 0: incomplete;
 * -400: malformed; -413: the decoded body passes max_body. */
int jq_http_chunked_scan(const char *buf, size_t len, size_t max_body, size_t *raw_len,
			 size_t *body_len);
/* The same, resuming where an earlier scan of the same body stopped (st zeroed before the
 * first): a body arriving in many reads is walked once, not once per read. */
struct jq_http_chunked {
	size_t pos, total; /* the end of the last whole chunk seen, and the data before it */
};
int jq_http_chunked_resume(const char *buf, size_t len, size_t max_body, struct jq_http_chunked *st,
			   size_t *raw_len, size_t *body_len);
/* Writes the decoded bytes of a complete chunked body (jq_http_chunked_scan gave 1 for
 * buf[0..raw_len)) to out, which has room for body_len bytes. */
void jq_http_chunked_decode(const char *buf, size_t raw_len, char *out);

/* The reason phrase of a status ("OK", "Not Found"...; "Unknown" for others). */
const char *jq_http_reason(int status);

#endif
