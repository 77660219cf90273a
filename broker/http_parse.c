/* http_parse.c: HTTP/1.x request heads and chunked bodies; see http_parse.h. */
#include "http_parse.h"

#include <string.h>
#include <strings.h>

/* tchar of RFC 9110: what a method or a header name is made of */
static int is_tchar(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return 1;
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
		return 1;
	return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* a field value's byte: visible ASCII, space, tab or obs-text (>= 0x80); no other control */
static int is_value_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* a request-target's byte: visible ASCII or obs-text, no space or control */
static int is_target_char(unsigned char c)
{
	return c > 0x20 && c != 0x7f;
}

static int span_eq(const char *buf, struct jq_http_span s, const char *lit)
{
	size_t n = strlen(lit);
	return s.len == n && memcmp(buf + s.off, lit, n) == 0;
}

static int span_ieq(const char *buf, struct jq_http_span s, const char *lit)
{
	size_t n = strlen(lit);
	return s.len == n && strncasecmp(buf + s.off, lit, n) == 0;
}

static int method_bit(const char *buf, struct jq_http_span m)
{
	static const struct {
		const char *name;
		int bit;
	} methods[] = {{"GET", JQ_HTTP_GET},       {"POST", JQ_HTTP_POST},
		       {"HEAD", JQ_HTTP_HEAD},     {"PUT", JQ_HTTP_PUT},
		       {"DELETE", JQ_HTTP_DELETE}, {"OPTIONS", JQ_HTTP_OPTIONS},
		       {"TRACE", JQ_HTTP_TRACE},   {"CONNECT", JQ_HTTP_CONNECT},
		       {"PATCH", JQ_HTTP_PATCH}};
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (span_eq(buf, m, methods[i].name))
			return methods[i].bit;
	return 0; /* methods are case-sensitive: "get" is another method */
}

/* The request line in buf[s..e) (no line end). */
static int parse_request_line(const char *buf, size_t s, size_t e, struct jq_http_head *h)
{
	size_t p = s;
	while (p < e && is_tchar((unsigned char)buf[p]))
		p++;
	if (p == s || p >= e || buf[p] != ' ')
		return -400;
	h->method = method_bit(buf, (struct jq_http_span){s, p - s});
	size_t t = ++p;
	while (p < e && is_target_char((unsigned char)buf[p]))
		p++;
	if (p == t || p >= e || buf[p] != ' ')
		return -400;
	h->target = (struct jq_http_span){t, p - t};
	/* the version before the target: the HTTP/2 preface ("PRI * HTTP/2.0") is another
	 * protocol (505), not a malformed HTTP/1 target (docs/api.md) */
	size_t v = p + 1;
	if (e - v == 8 && memcmp(buf + v, "HTTP/", 5) == 0 && buf[v + 5] >= '2' &&
	    buf[v + 5] <= '9' && buf[v + 6] == '.')
		return -505;
	int star = p - t == 1 && buf[t] == '*';
	size_t ps = t; /* where the path starts */
	if (buf[t] != '/' && !(star && h->method == JQ_HTTP_OPTIONS)) {
		/* absolute-form (RFC 9112 3.2.2: a server must accept it): the path after
		 * "http[s]://authority"; the authority is not used (Host is) */
		size_t n = p - t, skip = n > 7 && strncasecmp(buf + t, "http://", 7) == 0    ? 7
					 : n > 8 && strncasecmp(buf + t, "https://", 8) == 0 ? 8
											     : 0;
		if (!skip)
			return -400;
		const char *slash = memchr(buf + t + skip, '/', n - skip);
		const char *qm = memchr(buf + t + skip, '?', n - skip);
		if (qm && (!slash || qm < slash))
			slash = NULL; /* "http://host?x": no path */
		ps = slash ? (size_t)(slash - buf) : (qm ? (size_t)(qm - buf) : p);
	}
	const char *q = memchr(buf + ps, '?', p - ps);
	size_t path_end = q ? (size_t)(q - buf) : p;
	h->path = (struct jq_http_span){ps, path_end - ps}; /* may be empty: "/" then */
	h->has_query = q != NULL;
	h->query = q ? (struct jq_http_span){path_end + 1, p - path_end - 1}
		     : (struct jq_http_span){p, 0};
	p++;
	/* "HTTP/" DIGIT "." DIGIT */
	if (e - p != 8 || memcmp(buf + p, "HTTP/", 5) != 0 || buf[p + 6] != '.' ||
	    buf[p + 5] < '0' || buf[p + 5] > '9' || buf[p + 7] < '0' || buf[p + 7] > '9')
		return -400;
	if (buf[p + 5] != '1')
		return -505;
	/* a later 1.x is answered as 1.1 (RFC 9110 2.5) */
	h->minor = buf[p + 7] > '1' ? 1 : buf[p + 7] - '0';
	return 0;
}

/* One header line in buf[s..e), stored in h; meaning of the ones the server acts on. */
static int parse_header_line(const char *buf, size_t s, size_t e, struct jq_http_head *h,
			     int *close_token, int *keep_alive_token, int *seen_te)
{
	if (buf[s] == ' ' || buf[s] == '\t')
		return -400; /* obsolete line folding */
	size_t p = s;
	while (p < e && is_tchar((unsigned char)buf[p]))
		p++;
	if (p == s || p >= e || buf[p] != ':')
		return -400; /* no name, a space before the colon, or no colon */
	if (h->nheaders == JQ_HTTP_MAX_HEADERS)
		return -431;
	struct jq_http_span name = {s, p - s};
	p++;
	while (p < e && (buf[p] == ' ' || buf[p] == '\t'))
		p++;
	size_t v = p, ve = e;
	while (ve > v && (buf[ve - 1] == ' ' || buf[ve - 1] == '\t'))
		ve--;
	for (size_t i = v; i < ve; i++)
		if (!is_value_char((unsigned char)buf[i]))
			return -400;
	struct jq_http_span value = {v, ve - v};
	h->header[h->nheaders].name = name;
	h->header[h->nheaders].value = value;
	h->nheaders++;

	if (span_ieq(buf, name, "Content-Length")) {
		if (value.len == 0 || value.len > 18)
			return -400;
		int64_t n = 0;
		for (size_t i = 0; i < value.len; i++) {
			char c = buf[value.off + i];
			if (c < '0' || c > '9')
				return -400;
			n = n * 10 + (c - '0');
		}
		if (h->content_length >= 0 && h->content_length != n)
			return -400;
		h->content_length = n;
	} else if (span_ieq(buf, name, "Transfer-Encoding")) {
		if (*seen_te)
			return -400;
		*seen_te = 1;
		if (!span_ieq(buf, value, "chunked"))
			return -501;
		h->chunked = 1;
	} else if (span_ieq(buf, name, "Connection")) {
		/* a list of tokens: "close", "keep-alive", "Upgrade"... */
		size_t i = value.off, end = value.off + value.len;
		while (i < end) {
			while (i < end && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == ','))
				i++;
			size_t ts = i;
			while (i < end && buf[i] != ',' && buf[i] != ' ' && buf[i] != '\t')
				i++;
			struct jq_http_span tok = {ts, i - ts};
			if (span_ieq(buf, tok, "close"))
				*close_token = 1;
			else if (span_ieq(buf, tok, "keep-alive"))
				*keep_alive_token = 1;
		}
	} else if (span_ieq(buf, name, "Expect")) {
		if (span_ieq(buf, value, "100-continue"))
			h->expect_continue = 1;
	}
	return 0;
}

int jq_http_parse_head(const char *buf, size_t len, size_t max_head, struct jq_http_head *h)
{
	memset(h, 0, offsetof(struct jq_http_head, header));
	h->content_length = -1;
	size_t limit = len < max_head ? len : max_head;
	size_t p = 0;
	int line = 0, close_token = 0, keep_alive_token = 0, seen_te = 0;
	for (;;) {
		const char *nl = memchr(buf + p, '\n', limit - p);
		if (!nl)
			return len >= max_head ? -431 : 0;
		size_t e = (size_t)(nl - buf), next = e + 1;
		if (e > p && buf[e - 1] == '\r')
			e--;
		if (line == 0 && e == p) {
			p = next; /* empty lines before the request line are ignored (RFC 9112 2.2) */
			continue;
		}
		int rc;
		if (line == 0) {
			rc = parse_request_line(buf, p, e, h);
		} else if (e == p) {
			h->head_len = next;
			break;
		} else {
			rc = parse_header_line(buf, p, e, h, &close_token, &keep_alive_token,
					       &seen_te);
		}
		if (rc != 0)
			return rc;
		line++;
		p = next;
	}
	if (h->chunked && (h->content_length >= 0 || h->minor == 0))
		return -400; /* both lengths (smuggling), or chunked in HTTP/1.0 */
	h->keep_alive = h->minor == 1 ? !close_token : keep_alive_token && !close_token;
	if (h->minor == 0)
		h->expect_continue = 0;
	return 1;
}

int jq_http_head_find(const char *buf, const struct jq_http_head *h, const char *name,
		      struct jq_http_span *value)
{
	for (size_t i = 0; i < h->nheaders; i++)
		if (span_ieq(buf, h->header[i].name, name)) {
			*value = h->header[i].value;
			return 1;
		}
	return 0;
}

/* ---- chunked bodies ---- */

#define CHUNK_LINE_MAX 1024 /* a chunk-size line with its extensions, or a trailer line */

/* The line starting at p: its end (the '\n') in *nl. 0 ok, 1 incomplete, -400 too long. */
static int find_line(const char *buf, size_t len, size_t p, size_t *nl)
{
	size_t n = len - p < CHUNK_LINE_MAX ? len - p : CHUNK_LINE_MAX;
	const char *x = memchr(buf + p, '\n', n);
	if (!x)
		return n == CHUNK_LINE_MAX ? -400 : 1;
	*nl = (size_t)(x - buf);
	return 0;
}

/* The chunk-size line buf[p..nl) (nl: its '\n'): the size, in hex, into *size; 0, or
 * -400 (no digits, more than 15, or something after them other than blanks, extensions
 * and the CR). */
static int chunk_size(const char *buf, size_t p, size_t nl, size_t *size)
{
	size_t i = p;
	int digits = 0;
	*size = 0;
	for (; i < nl; i++, digits++) {
		char c = buf[i];
		int d = c >= '0' && c <= '9'                     ? c - '0'
			: (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10
								 : -1;
		if (d < 0)
			break;
		if (digits == 15)
			return -400;
		*size = *size * 16 + (size_t)d;
	}
	if (digits == 0)
		return -400;
	/* what may follow the size: spaces or tabs, then ";" and extensions, then CR.
	 * Anything else ("0x5", "5 5") is refused: a proxy might read it otherwise */
	while (i < nl && (buf[i] == ' ' || buf[i] == '\t'))
		i++;
	if (i < nl && buf[i] == ';') {
		for (; i < nl; i++)
			if (!is_value_char((unsigned char)buf[i]) &&
			    !(buf[i] == '\r' && i + 1 == nl))
				return -400;
	} else if (i < nl && !(buf[i] == '\r' && i + 1 == nl)) {
		return -400;
	}
	return 0;
}

/* The line end after a chunk's data, at *p: 1 and *p past it, 0 not all here yet, -400
 * something else. */
static int chunk_end(const char *buf, size_t len, size_t *p)
{
	if (len - *p < 1)
		return 0;
	if (buf[*p] == '\r') {
		if (len - *p < 2)
			return 0;
		if (buf[*p + 1] != '\n')
			return -400;
		*p += 2;
	} else if (buf[*p] == '\n') {
		(*p)++;
	} else {
		return -400;
	}
	return 1;
}

/* The trailer section at *p, after the last chunk: header lines (ignored) up to an empty
 * line. 1 and *p past it, 0 not all here yet, -400 a bad or too long line, or too many. */
static int trailer_walk(const char *buf, size_t len, size_t *p)
{
	for (int lines = 0;; lines++) {
		size_t nl;
		int rc = find_line(buf, len, *p, &nl);
		if (rc)
			return rc < 0 ? rc : 0;
		size_t e = nl > *p && buf[nl - 1] == '\r' ? nl - 1 : nl;
		if (e == *p) {
			*p = nl + 1;
			return 1;
		}
		/* a trailer field is read as a header line would be, then ignored */
		if (buf[*p] == ' ' || buf[*p] == '\t' || !memchr(buf + *p, ':', e - *p))
			return -400;
		for (size_t i = *p; i < e; i++)
			if (!is_value_char((unsigned char)buf[i]))
				return -400;
		*p = nl + 1;
		if (lines == JQ_HTTP_MAX_HEADERS)
			return -400;
	}
}

/* Walks a chunked body; out non-NULL: copies the data there. */
static int chunked_walk(const char *buf, size_t len, size_t max_body, struct jq_http_chunked *st,
			size_t *raw_len, size_t *body_len, char *out)
{
	size_t p = st ? st->pos : 0, total = st ? st->total : 0;
	/* the framing may not take much more room than the data: tiny chunks would make the
	 * server hold many times max_body before it could refuse */
	size_t raw_max = max_body > ((size_t)-1 - 65536) / 4 ? (size_t)-1 : max_body * 4 + 65536;
	for (;;) {
		if (p > raw_max)
			return -413;
		size_t nl;
		int rc = find_line(buf, len, p, &nl);
		if (rc)
			return rc < 0 ? rc : 0;
		size_t size;
		if (chunk_size(buf, p, nl, &size) != 0)
			return -400;
		p = nl + 1;
		if (size == 0)
			break;
		if (size > max_body || total + size > max_body)
			return -413;
		if (len - p < size)
			return 0;
		if (out)
			memcpy(out + total, buf + p, size);
		total += size;
		p += size;
		rc = chunk_end(buf, len, &p);
		if (rc <= 0)
			return rc;
		if (st) { /* a whole chunk read: the next scan starts after it */
			st->pos = p;
			st->total = total;
		}
	}
	int rc = trailer_walk(buf, len, &p);
	if (rc <= 0)
		return rc;
	*raw_len = p;
	*body_len = total;
	return 1;
}

int jq_http_chunked_scan(const char *buf, size_t len, size_t max_body, size_t *raw_len,
			 size_t *body_len)
{
	return chunked_walk(buf, len, max_body, NULL, raw_len, body_len, NULL);
}

int jq_http_chunked_resume(const char *buf, size_t len, size_t max_body, struct jq_http_chunked *st,
			   size_t *raw_len, size_t *body_len)
{
	return chunked_walk(buf, len, max_body, st, raw_len, body_len, NULL);
}

void jq_http_chunked_decode(const char *buf, size_t raw_len, char *out)
{
	size_t r, b;
	chunked_walk(buf, raw_len, (size_t)-1, NULL, &r, &b, out);
}

const char *jq_http_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 421: return "Misdirected Request";
	case 426: return "Upgrade Required";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}
