/* test_http.c: unit tests of the broker's HTTP/1.x request parser (broker/http_parse.h):
 * request heads, their refusals and limits, chunked bodies, and reason phrases. Inputs
 * that should be incomplete are also cut at every byte, in buffers of their exact size so
 * that a sanitizer sees any read past them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_parse.h"
#include "unit.h"

#define MAX_HEAD 8192

/* Parses the head at s (NUL-terminated, the NUL not passed) with MAX_HEAD. */
static int parse(const char *s, struct jq_http_head *h)
{
	return jq_http_parse_head(s, strlen(s), MAX_HEAD, h);
}

/* A span of buf equals the string want. */
#define CHECK_SPAN(buf, span, want) CHECK_MEM_EQ((buf) + (span).off, (span).len, want, strlen(want))

/* A buffer of exactly n bytes (never NULL). */
static char *alloc_exact(size_t n)
{
	char *p = malloc(n ? n : 1);
	if (!p) {
		perror("malloc");
		exit(2);
	}
	return p;
}

/* A copy of s[0..n) in a buffer of exactly n bytes. */
static char *dup_exact(const char *s, size_t n)
{
	char *p = alloc_exact(n);
	memcpy(p, s, n);
	return p;
}

static void test_get_minimal(void)
{
	const char *req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	struct jq_http_head h = {0};
	CHECK_INT_EQ(parse(req, &h), 1);
	CHECK_INT_EQ(h.head_len, strlen(req));
	CHECK_INT_EQ(h.method, JQ_HTTP_GET);
	CHECK_SPAN(req, h.target, "/");
	CHECK_SPAN(req, h.path, "/");
	CHECK_INT_EQ(h.has_query, 0);
	CHECK_INT_EQ(h.query.len, 0);
	CHECK_INT_EQ(h.minor, 1);
	CHECK_INT_EQ(h.nheaders, 1);
	CHECK_SPAN(req, h.header[0].name, "Host");
	CHECK_SPAN(req, h.header[0].value, "x");
	CHECK_INT_EQ(h.content_length, -1);
	CHECK_INT_EQ(h.chunked, 0);
	CHECK_INT_EQ(h.keep_alive, 1);
	CHECK_INT_EQ(h.expect_continue, 0);

	/* no header at all */
	const char *bare = "GET /x HTTP/1.1\r\n\r\n";
	CHECK_INT_EQ(parse(bare, &h), 1);
	CHECK_INT_EQ(h.head_len, strlen(bare));
	CHECK_INT_EQ(h.nheaders, 0);
	CHECK_SPAN(bare, h.path, "/x");
}

static void test_post_content_length(void)
{
	const char *req = "POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
			  "Content-Length: 5\r\n\r\nhello";
	struct jq_http_head h = {0};
	CHECK_INT_EQ(parse(req, &h), 1);
	CHECK_INT_EQ(h.head_len, strlen(req) - 5); /* the body is not part of the head */
	CHECK_INT_EQ(h.method, JQ_HTTP_POST);
	CHECK_SPAN(req, h.path, "/jobs");
	CHECK_INT_EQ(h.nheaders, 3);
	CHECK_SPAN(req, h.header[1].name, "Content-Type");
	CHECK_SPAN(req, h.header[1].value, "application/json");
	CHECK_SPAN(req, h.header[2].name, "Content-Length");
	CHECK_SPAN(req, h.header[2].value, "5");
	CHECK_INT_EQ(h.content_length, 5);
	CHECK_INT_EQ(h.chunked, 0);
	CHECK_INT_EQ(h.keep_alive, 1);
	CHECK_MEM_EQ(req + h.head_len, 5, "hello", 5);
}

static void test_target(void)
{
	static const struct {
		const char *req, *target, *path, *query;
		int has_query;
	} cases[] = {
		{"GET /a?b=1 HTTP/1.1\r\n\r\n", "/a?b=1", "/a", "b=1", 1},
		{"GET /a? HTTP/1.1\r\n\r\n", "/a?", "/a", "", 1},
		{"GET /a HTTP/1.1\r\n\r\n", "/a", "/a", "", 0},
		{"GET /?x HTTP/1.1\r\n\r\n", "/?x", "/", "x", 1},
		{"GET /a?b?c=d HTTP/1.1\r\n\r\n", "/a?b?c=d", "/a", "b?c=d", 1}, /* the first '?' */
		{"GET /j/x%20y?q=%3F&r HTTP/1.1\r\n\r\n", "/j/x%20y?q=%3F&r", "/j/x%20y", "q=%3F&r",
		 1},
		{"GET //a HTTP/1.1\r\n\r\n", "//a", "//a", "", 0},
		{"OPTIONS * HTTP/1.1\r\n\r\n", "*", "*", "", 0},
		{"OPTIONS /x HTTP/1.1\r\n\r\n", "/x", "/x", "", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("row %zu %s", i, cases[i].target);
		struct jq_http_head h = {0};
		const char *req = cases[i].req;
		CHECK_INT_EQ(parse(req, &h), 1);
		CHECK_SPAN(req, h.target, cases[i].target);
		CHECK_SPAN(req, h.path, cases[i].path);
		CHECK_SPAN(req, h.query, cases[i].query);
		CHECK_INT_EQ(h.has_query, cases[i].has_query);
		CHECK_INT_EQ(h.path.off, h.target.off);
		CHECK(h.query.off + h.query.len <= h.head_len);
	}
}

/* absolute-form targets: the path after the authority (RFC 9112 3.2.2); later 1.x as 1.1 */
static void test_absolute_form(void)
{
	static const struct {
		const char *req, *path, *query;
		int has_query;
	} cases[] = {
		{"GET http://a.example/healthz HTTP/1.1\r\nHost: a.example\r\n\r\n", "/healthz", "",
		 0},
		{"GET HTTPS://a.example:8000/jobs?x=1 HTTP/1.1\r\nHost: a\r\n\r\n", "/jobs", "x=1",
		 1},
		{"GET http://a.example HTTP/1.1\r\nHost: a\r\n\r\n", "", "", 0},
		{"GET http://a.example?q HTTP/1.1\r\nHost: a\r\n\r\n", "", "q", 1},
		{"GET http://a.example/p?q/r HTTP/1.1\r\nHost: a\r\n\r\n", "/p", "q/r", 1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("row %zu", i);
		struct jq_http_head h = {0};
		const char *req = cases[i].req;
		CHECK_INT_EQ(parse(req, &h), 1);
		CHECK_SPAN(req, h.path, cases[i].path);
		CHECK_SPAN(req, h.query, cases[i].query);
		CHECK_INT_EQ(h.has_query, cases[i].has_query);
	}
	UNIT_CASE("HTTP/1.2 is read as 1.1");
	struct jq_http_head h = {0};
	CHECK_INT_EQ(parse("GET / HTTP/1.2\r\nHost: a\r\n\r\n", &h), 1);
	CHECK_INT_EQ(h.minor, 1);
	CHECK_INT_EQ(h.keep_alive, 1);
}

static void test_line_endings(void)
{
	static const struct {
		const char *req;
		size_t lead; /* bytes of empty lines before the request line */
	} cases[] = {
		{"GET /a?b HTTP/1.1\nHost: x\nX-Y: z\n\n", 0},
		{"GET /a?b HTTP/1.1\r\nHost: x\nX-Y: z\r\n\n", 0}, /* mixed */
		{"GET /a?b HTTP/1.1\nHost: x\r\nX-Y: z\n\r\n", 0},
		{"\r\nGET /a?b HTTP/1.1\r\nHost: x\r\nX-Y: z\r\n\r\n", 2},
		{"\r\n\r\n\nGET /a?b HTTP/1.1\r\nHost: x\r\nX-Y: z\r\n\r\n", 5},
		{"\n\nGET /a?b HTTP/1.1\nHost: x\nX-Y: z\n\n", 2},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("row %zu", i);
		struct jq_http_head h = {0};
		const char *req = cases[i].req;
		CHECK_INT_EQ(parse(req, &h), 1);
		CHECK_INT_EQ(h.head_len, strlen(req));
		CHECK_INT_EQ(h.method, JQ_HTTP_GET);
		CHECK_INT_EQ(h.target.off, cases[i].lead + 4);
		CHECK_SPAN(req, h.path, "/a");
		CHECK_SPAN(req, h.query, "b");
		CHECK_INT_EQ(h.minor, 1);
		CHECK_INT_EQ(h.nheaders, 2);
		CHECK_SPAN(req, h.header[0].name, "Host");
		CHECK_SPAN(req, h.header[0].value, "x"); /* no CR left in a value */
		CHECK_SPAN(req, h.header[1].name, "X-Y");
		CHECK_SPAN(req, h.header[1].value, "z");
	}
	/* only empty lines so far: waiting for the request line */
	struct jq_http_head h = {0};
	CHECK_INT_EQ(parse("\r\n\r\n\n", &h), 0);
}

static void test_incomplete_prefixes(void)
{
	static const char *const heads[] = {
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		("POST /jobs?wait=1 HTTP/1.1\r\nHost: example.com:8000\r\nContent-Length: 12\r\n"
		 "Content-Type: application/json\r\nConnection: keep-alive, close\r\n\r\n"),
		"POST /x HTTP/1.1\nTransfer-Encoding: chunked\nExpect: 100-continue\n\n",
		"\r\n\nGET /a?b HTTP/1.0\r\nConnection: keep-alive\r\nX-Empty:\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		size_t len = strlen(heads[i]);
		struct jq_http_head h = {0};
		for (size_t n = 0; n < len; n++) {
			UNIT_CASE("head %zu cut at %zu of %zu", i, n, len);
			char *p = dup_exact(heads[i], n);
			CHECK_INT_EQ(jq_http_parse_head(p, n, MAX_HEAD, &h), 0);
			free(p);
		}
		UNIT_CASE("head %zu whole", i);
		char *p = dup_exact(heads[i], len);
		CHECK_INT_EQ(jq_http_parse_head(p, len, MAX_HEAD, &h), 1);
		CHECK_INT_EQ(h.head_len, len);
		free(p);
	}
}

static void test_max_head(void)
{
	const char *req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	size_t len = strlen(req);
	struct jq_http_head h = {0};

	/* exactly fitting, also with a body after it in the buffer */
	CHECK_INT_EQ(jq_http_parse_head(req, len, len, &h), 1);
	CHECK_INT_EQ(h.head_len, len);
	const char *with_body = "POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody";
	size_t wlen = strlen(with_body);
	CHECK_INT_EQ(jq_http_parse_head(with_body, wlen, wlen - 4, &h), 1);
	CHECK_INT_EQ(h.head_len, wlen - 4);

	/* one byte too long, whether the buffer holds the whole head or not */
	CHECK_INT_EQ(jq_http_parse_head(req, len, len - 1, &h), -431);
	CHECK_INT_EQ(jq_http_parse_head(req, len - 1, len - 1, &h), -431);

	/* a head with no end yet: incomplete below the limit, refused at and past it */
	char big[300];
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET / HTTP/1.1\r\nX-Long: ", 24);
	CHECK_INT_EQ(jq_http_parse_head(big, 99, 100, &h), 0);
	CHECK_INT_EQ(jq_http_parse_head(big, 100, 100, &h), -431);
	CHECK_INT_EQ(jq_http_parse_head(big, sizeof(big), 100, &h), -431);
	CHECK_INT_EQ(jq_http_parse_head(big, sizeof(big), sizeof(big) + 1, &h), 0);

	/* the end is past max_head even though the buffer holds it */
	char full[320];
	memcpy(full, big, sizeof(big));
	memcpy(full + sizeof(big), "\r\n\r\n", 4);
	CHECK_INT_EQ(jq_http_parse_head(full, sizeof(big) + 4, 100, &h), -431);
	CHECK_INT_EQ(jq_http_parse_head(full, sizeof(big) + 4, sizeof(big) + 4, &h), 1);
	CHECK_INT_EQ(h.head_len, sizeof(big) + 4);

	/* empty lines before the request line count too */
	char blank[200];
	memset(blank, '\n', sizeof(blank));
	CHECK_INT_EQ(jq_http_parse_head(blank, sizeof(blank), 1000, &h), 0);
	CHECK_INT_EQ(jq_http_parse_head(blank, sizeof(blank), 100, &h), -431);
}

/* "GET / HTTP/1.1\r\n", then n headers "H<i>: <i>\r\n", then the empty line; in buf. */
static size_t many_headers(char *buf, size_t cap, int n)
{
	size_t len = (size_t)snprintf(buf, cap, "GET / HTTP/1.1\r\n");
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, cap - len, "H%d: %d\r\n", i, i);
	len += (size_t)snprintf(buf + len, cap - len, "\r\n");
	return len;
}

static void test_max_headers(void)
{
	char buf[2048];
	struct jq_http_head h = {0};

	size_t len = many_headers(buf, sizeof(buf), JQ_HTTP_MAX_HEADERS);
	CHECK_INT_EQ(jq_http_parse_head(buf, len, MAX_HEAD, &h), 1);
	CHECK_INT_EQ(h.nheaders, JQ_HTTP_MAX_HEADERS);
	CHECK_SPAN(buf, h.header[0].name, "H0");
	CHECK_SPAN(buf, h.header[JQ_HTTP_MAX_HEADERS - 1].name, "H63");
	CHECK_SPAN(buf, h.header[JQ_HTTP_MAX_HEADERS - 1].value, "63");

	len = many_headers(buf, sizeof(buf), JQ_HTTP_MAX_HEADERS + 1);
	CHECK_INT_EQ(jq_http_parse_head(buf, len, MAX_HEAD, &h), -431);
	len = many_headers(buf, sizeof(buf), 100);
	CHECK_INT_EQ(jq_http_parse_head(buf, len, MAX_HEAD, &h), -431);
}

static void test_head_find(void)
{
	const char *req = "GET / HTTP/1.1\r\nHost: a.example\r\nContent-Type: text/plain\r\n"
			  "X-Dup: first\r\nx-dup: second\r\nX-Empty:\r\n\r\n";
	static const struct {
		const char *name, *value; /* value NULL: not found */
	} cases[] = {
		{"Content-Type", "text/plain"},
		{"content-type", "text/plain"},
		{"CONTENT-TYPE", "text/plain"},
		{"cOnTeNt-TyPe", "text/plain"},
		{"host", "a.example"},
		{"X-DUP", "first"}, /* the first one */
		{"X-Empty", ""},
		{"Content-Typ", NULL},
		{"Content-Type2", NULL},
		{"Content", NULL},
		{"", NULL},
		{"Accept", NULL},
	};
	struct jq_http_head h = {0};
	CHECK_INT_EQ(parse(req, &h), 1);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("'%s'", cases[i].name);
		struct jq_http_span v = {12345, 67890};
		int found = jq_http_head_find(req, &h, cases[i].name, &v);
		CHECK_INT_EQ(found, cases[i].value != NULL);
		if (found && cases[i].value)
			CHECK_SPAN(req, v, cases[i].value);
	}
}

static void test_value_trim(void)
{
	static const struct {
		const char *line, *value;
	} cases[] = {
		{"X: v", "v"},
		{"X:v", "v"},
		{"X:  \t v \t ", "v"},
		{"X:\ta b\t c\t", "a b\t c"}, /* inner spaces and tabs stay */
		{"X:", ""},
		{"X:   ", ""},
		{"X: \t\t ", ""},
		{"X: caf\xc3\xa9", "caf\xc3\xa9"}, /* obs-text is allowed */
		{"X: a:b: c", "a:b: c"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("row %zu", i);
		char req[256];
		snprintf(req, sizeof(req), "GET / HTTP/1.1\r\n%s\r\n\r\n", cases[i].line);
		struct jq_http_head h = {0};
		CHECK_INT_EQ(parse(req, &h), 1);
		CHECK_INT_EQ(h.nheaders, 1);
		CHECK_SPAN(req, h.header[0].name, "X");
		CHECK_SPAN(req, h.header[0].value, cases[i].value);
	}
}

/* Heads refused whole, and where they are refused. */
static void test_refused(void)
{
	static const struct {
		const char *req;
		int rc;
	} cases[] = {
		/* header lines */
		{"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", -400}, /* obs-fold */
		{"GET / HTTP/1.1\r\nHost: x\r\n\tfolded\r\n\r\n", -400},
		{"GET / HTTP/1.1\r\n Host: x\r\n\r\n", -400},
		{"GET / HTTP/1.1\r\nHost : x\r\n\r\n", -400}, /* space before the colon */
		{"GET / HTTP/1.1\r\nHost\t: x\r\n\r\n", -400},
		{"GET / HTTP/1.1\r\nHost x\r\n\r\n", -400},    /* no colon */
		{"GET / HTTP/1.1\r\n: x\r\n\r\n", -400},       /* no name */
		{"GET / HTTP/1.1\r\nHo(st: x\r\n\r\n", -400},  /* not a token */
		{"GET / HTTP/1.1\r\nX: a\001b\r\n\r\n", -400}, /* control characters in a value */
		{"GET / HTTP/1.1\r\nX: a\177\r\n\r\n", -400},
		{"GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", -400},
		{"GET / HTTP/1.1\r\nX: a\r\r\n\r\n", -400},
		{"GET / HTTP/1.1\r\nX: \033[31m\r\n\r\n", -400},
		/* request lines */
		{"GET / HTTP/2.0\r\n\r\n", -505},
		{"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
		 -505}, /* the HTTP/2 preface (h2c prior knowledge) */
		{"GET / HTTP/0.9\r\n\r\n", -505},
		{"GET / HTTP/3.1\r\n\r\n", -505},
		{"GET / HTTP/1.1x\r\n\r\n", -400},
		{"GET / HTTX/1.1\r\n\r\n", -400},
		{"GET / http/1.1\r\n\r\n", -400},
		{"GET / HTTP/1.\r\n\r\n", -400},
		{"GET / HTTP/11\r\n\r\n", -400},
		{"GET / HTTP/1.a\r\n\r\n", -400},
		{"GET / HTTP/1.1 \r\n\r\n", -400},
		{"GET /\r\n\r\n", -400}, /* HTTP/0.9 style */
		{"GET\r\n\r\n", -400},
		{"GET  / HTTP/1.1\r\n\r\n", -400}, /* two spaces */
		{"GET /  HTTP/1.1\r\n\r\n", -400},
		{" GET / HTTP/1.1\r\n\r\n", -400},
		{"GET\t/ HTTP/1.1\r\n\r\n", -400},
		{"G(T / HTTP/1.1\r\n\r\n", -400},
		{"GET a/b HTTP/1.1\r\n\r\n", -400}, /* targets: a path, or absolute http(s) */
		{"GET ftp://a.example/ HTTP/1.1\r\n\r\n", -400},
		{"GET http:/a HTTP/1.1\r\n\r\n", -400},
		{"CONNECT a.example:443 HTTP/1.1\r\n\r\n", -400},
		{"GET * HTTP/1.1\r\n\r\n", -400},
		{"OPTIONS ** HTTP/1.1\r\n\r\n", -400},
		{"OPTIONS *x HTTP/1.1\r\n\r\n", -400},
		{"GET /a\001 HTTP/1.1\r\n\r\n", -400},
		{"GET /a\177 HTTP/1.1\r\n\r\n", -400},
		{"GET /a\rb HTTP/1.1\r\n\r\n", -400},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("row %zu", i);
		struct jq_http_head h = {0};
		CHECK_INT_EQ(parse(cases[i].req, &h), cases[i].rc);
	}
}

static void test_content_length(void)
{
	static const struct {
		const char *headers;
		int rc;
		long long length; /* when rc is 1 */
	} cases[] = {
		{"Content-Length: 0\r\n", 1, 0},
		{"Content-Length: 42\r\n", 1, 42},
		{"content-length:42 \r\n", 1, 42},
		{"Content-Length: 007\r\n", 1, 7},
		{"Content-Length: 999999999999999999\r\n", 1, 999999999999999999LL}, /* 18 digits */
		{"Content-Length: 5\r\nContent-Length: 5\r\n", 1, 5},
		{"Content-Length: 5\r\nContent-Length: 05\r\n", 1, 5},
		{"Content-Length: 5\r\nContent-Length: 6\r\n", -400, 0},
		{"Content-Length: 6\r\nX: y\r\nCONTENT-LENGTH: 5\r\n", -400, 0},
		{"Content-Length: x\r\n", -400, 0},
		{"Content-Length: 5x\r\n", -400, 0},
		{"Content-Length: -1\r\n", -400, 0},
		{"Content-Length: +5\r\n", -400, 0},
		{"Content-Length: 0x10\r\n", -400, 0},
		{"Content-Length: 1 2\r\n", -400, 0},
		{"Content-Length: 5, 5\r\n", -400, 0},
		{"Content-Length: 5.0\r\n", -400, 0},
		{"Content-Length:\r\n", -400, 0},
		{"Content-Length:  \r\n", -400, 0},
		{"Content-Length: 99999999999999999999999\r\n", -400, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("row %zu", i);
		char req[256];
		snprintf(req, sizeof(req), "POST / HTTP/1.1\r\n%s\r\n", cases[i].headers);
		struct jq_http_head h = {0};
		CHECK_INT_EQ(parse(req, &h), cases[i].rc);
		if (cases[i].rc == 1) {
			CHECK_INT_EQ(h.content_length, cases[i].length);
			CHECK_INT_EQ(h.chunked, 0);
		}
	}
}

static void test_transfer_encoding(void)
{
	static const struct {
		const char *req;
		int rc;
	} cases[] = {
		{"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 1},
		{"POST / HTTP/1.1\r\ntransfer-encoding: Chunked \r\n\r\n", 1},
		{"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", -501},
		{"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", -501},
		{"POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n", -501},
		{"POST / HTTP/1.1\r\nTransfer-Encoding: chunkedx\r\n\r\n", -501},
		{"POST / HTTP/1.1\r\nTransfer-Encoding:\r\n\r\n", -501},
		/* both lengths: request smuggling */
		{"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
		 -400},
		{"POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
		 -400},
		{"POST / HTTP/1.1\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n",
		 -400},
		/* chunked is HTTP/1.1 only */
		{"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", -400},
		{"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
		 -400},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("row %zu", i);
		struct jq_http_head h = {0};
		CHECK_INT_EQ(parse(cases[i].req, &h), cases[i].rc);
		if (cases[i].rc == 1) {
			CHECK_INT_EQ(h.chunked, 1);
			CHECK_INT_EQ(h.content_length, -1);
		}
	}
}

static void test_version_keep_alive(void)
{
	static const struct {
		const char *req;
		int minor, keep_alive;
	} cases[] = {
		{"GET / HTTP/1.0\r\n\r\n", 0, 0},
		{"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 0, 1},
		{"GET / HTTP/1.0\r\nconnection: Keep-Alive\r\n\r\n", 0, 1},
		{"GET / HTTP/1.0\r\nConnection: close\r\n\r\n", 0, 0},
		{"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", 0, 0},
		{"GET / HTTP/1.0\r\nConnection: Upgrade,keep-alive\r\n\r\n", 0, 1},
		{"GET / HTTP/1.0\r\nConnection: keep-alives\r\n\r\n", 0, 0},
		{"GET / HTTP/1.0\r\nKeep-Alive: timeout=5\r\n\r\n", 0, 0},
		{"GET / HTTP/1.1\r\n\r\n", 1, 1},
		{"GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n", 1, 1},
		{"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", 1, 0},
		{"GET / HTTP/1.1\r\nConnection: CLOSE\r\n\r\n", 1, 0},
		{"GET / HTTP/1.1\r\nConnection: keep-alive, close\r\n\r\n", 1, 0},
		{"GET / HTTP/1.1\r\nConnection: close,keep-alive\r\n\r\n", 1, 0},
		{"GET / HTTP/1.1\r\nConnection: Upgrade ,\tclose\r\n\r\n", 1, 0},
		{"GET / HTTP/1.1\r\nConnection: ,,close,,\r\n\r\n", 1, 0},
		{"GET / HTTP/1.1\r\nConnection: Upgrade\r\n\r\n", 1, 1},
		{"GET / HTTP/1.1\r\nConnection: closed\r\n\r\n", 1, 1},
		{"GET / HTTP/1.1\r\nConnection: xclose\r\n\r\n", 1, 1},
		{"GET / HTTP/1.1\r\nConnection:\r\n\r\n", 1, 1},
		{"GET / HTTP/1.1\r\nX-Connection: close\r\n\r\n", 1, 1},
		{"GET / HTTP/1.1\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", 1, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("row %zu", i);
		struct jq_http_head h = {0};
		CHECK_INT_EQ(parse(cases[i].req, &h), 1);
		CHECK_INT_EQ(h.minor, cases[i].minor);
		CHECK_INT_EQ(h.keep_alive, cases[i].keep_alive);
	}
}

static void test_methods(void)
{
	static const struct {
		const char *method;
		int bit;
	} cases[] = {
		{"GET", JQ_HTTP_GET},
		{"POST", JQ_HTTP_POST},
		{"HEAD", JQ_HTTP_HEAD},
		{"PUT", JQ_HTTP_PUT},
		{"DELETE", JQ_HTTP_DELETE},
		{"OPTIONS", JQ_HTTP_OPTIONS},
		{"TRACE", JQ_HTTP_TRACE},
		{"CONNECT", JQ_HTTP_CONNECT},
		{"PATCH", JQ_HTTP_PATCH},
		/* other tokens parse, as method 0 (the server answers 501) */
		{"get", 0}, /* methods are case-sensitive */
		{"Post", 0},
		{"BREW", 0},
		{"GETX", 0},
		{"GE", 0},
		{"M-SEARCH", 0},
		{"X!#$%&'*+-.^_`|~9", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("%s", cases[i].method);
		char req[128];
		snprintf(req, sizeof(req), "%s /m HTTP/1.1\r\nHost: x\r\n\r\n", cases[i].method);
		struct jq_http_head h = {0};
		h.method = -1;
		CHECK_INT_EQ(parse(req, &h), 1);
		CHECK_INT_EQ(h.method, cases[i].bit);
		CHECK_SPAN(req, h.path, "/m");
		CHECK_INT_EQ(h.head_len, strlen(req));
	}
}

static void test_expect(void)
{
	static const struct {
		const char *req;
		int expect_continue;
	} cases[] = {
		{"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n", 1},
		{"POST / HTTP/1.1\r\nexpect:  100-Continue \r\nContent-Length: 3\r\n\r\n", 1},
		{"POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n", 0},
		{"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\n", 0},
		{"POST / HTTP/1.1\r\nExpect: 200-ok\r\n\r\n", 0},
		{"POST / HTTP/1.1\r\nExpect: 100-continuex\r\n\r\n", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("row %zu", i);
		struct jq_http_head h = {0};
		CHECK_INT_EQ(parse(cases[i].req, &h), 1);
		CHECK_INT_EQ(h.expect_continue, cases[i].expect_continue);
	}
}

/* A head struct used before (or never cleared) is filled anew: no field keeps a value
 * from an earlier request. */
static void test_head_reused(void)
{
	struct jq_http_head h = {0};
	const char *chunked = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
			      "Expect: 100-continue\r\nConnection: close\r\n\r\n";
	const char *plain = "POST /b?q HTTP/1.1\r\nContent-Length: 3\r\n\r\n";
	const char *get = "GET / HTTP/1.1\r\n\r\n";

	UNIT_CASE("chunked, then Content-Length");
	CHECK_INT_EQ(parse(chunked, &h), 1);
	CHECK_INT_EQ(h.chunked, 1);
	CHECK_INT_EQ(h.expect_continue, 1);
	CHECK_INT_EQ(parse(plain, &h), 1);
	CHECK_INT_EQ(h.chunked, 0);
	CHECK_INT_EQ(h.expect_continue, 0);
	CHECK_INT_EQ(h.keep_alive, 1);
	CHECK_INT_EQ(h.content_length, 3);
	CHECK_INT_EQ(h.has_query, 1);

	UNIT_CASE("Content-Length, then none");
	CHECK_INT_EQ(parse(get, &h), 1);
	CHECK_INT_EQ(h.content_length, -1);
	CHECK_INT_EQ(h.has_query, 0);
	CHECK_INT_EQ(h.nheaders, 0);

	UNIT_CASE("garbage struct");
	memset(&h, 0xa5, sizeof(h));
	CHECK_INT_EQ(parse(get, &h), 1);
	CHECK_INT_EQ(h.method, JQ_HTTP_GET);
	CHECK_INT_EQ(h.has_query, 0);
	CHECK_INT_EQ(h.nheaders, 0);
	CHECK_INT_EQ(h.content_length, -1);
	CHECK_INT_EQ(h.chunked, 0);
	CHECK_INT_EQ(h.keep_alive, 1);
	CHECK_INT_EQ(h.expect_continue, 0);
}

/* ---- chunked bodies ---- */

static void test_chunked_basic(void)
{
	const char *body = "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
	size_t len = strlen(body), raw = 0, n = 0;
	CHECK_INT_EQ(jq_http_chunked_scan(body, len, 1024, &raw, &n), 1);
	CHECK_INT_EQ(raw, len);
	CHECK_INT_EQ(n, 11);
	char out[11];
	memset(out, '#', sizeof(out));
	jq_http_chunked_decode(body, raw, out);
	CHECK_MEM_EQ(out, sizeof(out), "hello world", 11);
}

static void test_chunked_valid(void)
{
	static const struct {
		const char *body;
		const char *decoded;
	} cases[] = {
		{"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world"},
		{"5;x=y\r\nhello\r\n6;a;b=\"c d\"\r\n world\r\n0;z\r\n\r\n", "hello world"},
		{"5 ;x=y\r\nhello\r\n0\r\n\r\n", "hello"},
		{"5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n", "hello"},
		{"5\r\nhello\r\n0\r\nX-T: 1\r\nX-U: two\r\n\r\n", "hello"},
		{"5\nhello\n6\n world\n0\n\n", "hello world"},
		{"5\nhello\r\n0\r\nX-T: 1\n\n", "hello"},
		{"a\r\n0123456789\r\nA\r\nabcdefghij\r\n0\r\n\r\n", "0123456789abcdefghij"},
		{"0000b\r\nhello world\r\n000\r\n\r\n", "hello world"},
		{"2\r\n\r\n\r\n0\r\n\r\n", "\r\n"}, /* data is data */
		{"3\r\n0\r\n\r\n0\r\n\r\n", "0\r\n"},
		{"0\r\n\r\n", ""},
		{"0\n\n", ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("row %zu", i);
		size_t len = strlen(cases[i].body), want = strlen(cases[i].decoded);
		char *body = dup_exact(cases[i].body, len);
		size_t raw = 0, n = 0;
		CHECK_INT_EQ(jq_http_chunked_scan(body, len, 1024, &raw, &n), 1);
		CHECK_INT_EQ(raw, len);
		CHECK_INT_EQ(n, want);
		if (n == want) {
			char *out = alloc_exact(want); /* exactly body_len bytes */
			jq_http_chunked_decode(body, raw, out);
			CHECK_MEM_EQ(out, n, cases[i].decoded, want);
			free(out);
		}
		free(body);
	}
}

static void test_chunked_prefixes(void)
{
	static const char *const bodies[] = {
		"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
		"5;x=y\r\nhello\r\n0;e\r\nX-T: 1\r\nX-U: 2\r\n\r\n",
		"5\nhello\n6\n world\n0\nX-T: 1\n\n",
		"0\r\n\r\n",
		"10\r\n0123456789abcdef\r\n0\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		size_t len = strlen(bodies[i]);
		for (size_t n = 0; n < len; n++) {
			UNIT_CASE("body %zu cut at %zu of %zu", i, n, len);
			char *p = dup_exact(bodies[i], n);
			size_t raw = 7, blen = 7;
			CHECK_INT_EQ(jq_http_chunked_scan(p, n, 1024, &raw, &blen), 0);
			free(p);
		}
	}
}

static void test_chunked_refused(void)
{
	static const struct {
		const char *body;
		size_t max_body;
		int rc;
	} cases[] = {
		{"g\r\nhello\r\n0\r\n\r\n", 1024, -400}, /* not hex */
		{"\r\nhello\r\n0\r\n\r\n", 1024, -400},  /* no size */
		{";x\r\nhello\r\n0\r\n\r\n", 1024, -400},
		{" 5\r\nhello\r\n0\r\n\r\n", 1024, -400},
		{"-5\r\nhello\r\n0\r\n\r\n", 1024, -400},
		{"5\r\nhello\r\nz\r\n\r\n", 1024, -400},
		{"5\r\nhelloXX0\r\n\r\n", 1024, -400}, /* no line end after the data */
		{"5\r\nhello\rX0\r\n\r\n", 1024, -400},
		{"5\r\nhello world\r\n0\r\n\r\n", 1024, -400}, /* more data than the size */
		{"5;\001\r\nhello\r\n0\r\n\r\n", 1024, -400},  /* a control character */
		{"5\r\r\nhello\r\n0\r\n\r\n", 1024, -400},
		{"5;a\rb\r\nhello\r\n0\r\n\r\n", 1024, -400},
		{"10000000000000000\r\n", (size_t)-1, -400}, /* 17 hex digits */
		{"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", 10, -413},
		{"b\r\nhello world\r\n0\r\n\r\n", 10, -413},
		{"b\r\n", 10, -413}, /* known from the size line, before the data */
		{"fffffffffffffff\r\n", 1 << 20, -413},
		{"1\r\na\r\n0\r\n\r\n", 0, -413},
		/* at the limit */
		{"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", 11, 1},
		{"0\r\n\r\n", 0, 1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("row %zu", i);
		size_t len = strlen(cases[i].body);
		char *body = dup_exact(cases[i].body, len);
		size_t raw = 0, n = 0;
		CHECK_INT_EQ(jq_http_chunked_scan(body, len, cases[i].max_body, &raw, &n),
			     cases[i].rc);
		free(body);
	}

	/* a size line or a trailer line that never ends */
	char line[4096];
	memset(line, 'a', sizeof(line));
	size_t raw = 0, n = 0;
	UNIT_CASE("endless size line");
	CHECK_INT_EQ(jq_http_chunked_scan(line, sizeof(line), 1 << 20, &raw, &n), -400);
	memcpy(line, "5;", 2);
	CHECK_INT_EQ(jq_http_chunked_scan(line, sizeof(line), 1 << 20, &raw, &n), -400);
	UNIT_CASE("endless trailer line");
	memcpy(line, "0\r\nX: ", 6);
	CHECK_INT_EQ(jq_http_chunked_scan(line, sizeof(line), 1 << 20, &raw, &n), -400);
}

/* A complete body followed by the next request: raw_len stops at the body's end. */
static void test_chunked_pipelined(void)
{
	const char *in = "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
			 "5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n"
			 "GET /b HTTP/1.1\r\n\r\n"
			 "5\r\n";
	size_t len = strlen(in);
	struct jq_http_head h = {0};
	CHECK_INT_EQ(jq_http_parse_head(in, len, MAX_HEAD, &h), 1);
	CHECK_INT_EQ(h.chunked, 1);
	CHECK_SPAN(in, h.path, "/a");

	const char *body = in + h.head_len;
	size_t raw = 0, n = 0;
	CHECK_INT_EQ(jq_http_chunked_scan(body, len - h.head_len, 1024, &raw, &n), 1);
	CHECK_INT_EQ(raw, strlen("5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n"));
	CHECK_INT_EQ(n, 5);
	char out[5];
	jq_http_chunked_decode(body, raw, out);
	CHECK_MEM_EQ(out, sizeof(out), "hello", 5);

	const char *next = body + raw;
	size_t off = (size_t)(next - in);
	CHECK_INT_EQ(jq_http_parse_head(next, len - off, MAX_HEAD, &h), 1);
	CHECK_INT_EQ(h.method, JQ_HTTP_GET);
	CHECK_SPAN(next, h.path, "/b");
	CHECK_INT_EQ(h.head_len, strlen("GET /b HTTP/1.1\r\n\r\n"));

	/* positions are offsets: the head is the same in a copy */
	char *copy = dup_exact(next, len - off);
	struct jq_http_head h2 = {0};
	CHECK_INT_EQ(jq_http_parse_head(copy, len - off, MAX_HEAD, &h2), 1);
	CHECK_INT_EQ(h2.path.off, h.path.off);
	CHECK_INT_EQ(h2.head_len, h.head_len);
	free(copy);
}

static void test_reason(void)
{
	static const struct {
		int status;
		const char *reason;
	} cases[] = {
		{200, "OK"},
		{404, "Not Found"},
		{400, "Bad Request"},
		{413, "Content Too Large"},
		{431, "Request Header Fields Too Large"},
		{501, "Not Implemented"},
		{505, "HTTP Version Not Supported"},
		{999, "Unknown"},
		{0, "Unknown"},
		{-400, "Unknown"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("%d", cases[i].status);
		CHECK_STR_EQ(jq_http_reason(cases[i].status), cases[i].reason);
	}
}

/* jq_http_chunked_resume: fed a body a few bytes more at a time, it gives what one scan
 * of the whole gives, and each call starts after the last whole chunk it saw */
static void test_chunked_resume(void)
{
	const char *body = "3\r\nabc\r\n1;x=y\r\nd\r\nA\r\n0123456789\r\n0\r\nT: 1\r\n\r\nNEXT";
	size_t whole = strlen(body) - 4, raw = 0, blen = 0;
	struct jq_http_chunked st = {0, 0};
	size_t last_pos = 0;
	int rc = 0;
	for (size_t n = 0; n <= strlen(body) && rc == 0; n++) {
		UNIT_CASE("%zu bytes", n);
		rc = jq_http_chunked_resume(body, n, 1024, &st, &raw, &blen);
		CHECK(st.pos >= last_pos); /* never goes back */
		CHECK(st.pos <= n);
		last_pos = st.pos;
		if (rc == 0)
			CHECK(n < whole);
	}
	CHECK_INT_EQ(rc, 1);
	CHECK_INT_EQ(raw, whole);
	CHECK_INT_EQ(blen, 14);
	CHECK_INT_EQ(st.total, 14);
	char out[14];
	jq_http_chunked_decode(body, raw, out);
	CHECK(memcmp(out, "abcd0123456789", 14) == 0);
	/* the limit counts what earlier calls saw */
	struct jq_http_chunked st2 = {0, 0};
	CHECK_INT_EQ(jq_http_chunked_resume(body, 8, 5, &st2, &raw, &blen), 0);
	CHECK_INT_EQ(jq_http_chunked_resume(body, strlen(body), 5, &st2, &raw, &blen), -413);
}

UNIT_MAIN({"get_minimal", test_get_minimal}, {"post_content_length", test_post_content_length},
	  {"target", test_target}, {"absolute_form", test_absolute_form},
	  {"chunked_resume", test_chunked_resume}, {"line_endings", test_line_endings},
	  {"incomplete_prefixes", test_incomplete_prefixes}, {"max_head", test_max_head},
	  {"max_headers", test_max_headers}, {"head_find", test_head_find},
	  {"value_trim", test_value_trim}, {"refused", test_refused},
	  {"content_length", test_content_length}, {"transfer_encoding", test_transfer_encoding},
	  {"version_keep_alive", test_version_keep_alive}, {"methods", test_methods},
	  {"expect", test_expect}, {"head_reused", test_head_reused},
	  {"chunked_basic", test_chunked_basic}, {"chunked_valid", test_chunked_valid},
	  {"chunked_prefixes", test_chunked_prefixes}, {"chunked_refused", test_chunked_refused},
	  {"chunked_pipelined", test_chunked_pipelined}, {"reason", test_reason})
