/* sse.c: the incremental text/event-stream parser; see sse.h. */
#include "sse.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char utf8_bom[3] = {0xEF, 0xBB, 0xBF};

static int set_error(struct jq_sse *p, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int set_error(struct jq_sse *p, int err, const char *fmt, ...)
{
	va_list ap;
	p->err = err;
	va_start(ap, fmt);
	vsnprintf(p->errstr, sizeof(p->errstr), fmt, ap);
	va_end(ap);
	return -1;
}

void jq_sse_init(struct jq_sse *p)
{
	memset(p, 0, sizeof(*p));
	p->retry_ms = -1;
}

void jq_sse_release(struct jq_sse *p)
{
	free(p->line);
	free(p->data);
	p->line = p->data = NULL;
	p->line_len = p->line_cap = p->data_len = p->data_cap = 0;
}

/* Makes room for *cap >= need bytes in *buf; -1 when out of memory. */
static int reserve(char **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : 256;
	while (n < need)
		n *= 2;
	char *b = realloc(*buf, n);
	if (b == NULL)
		return -1;
	*buf = b;
	*cap = n;
	return 0;
}

static int line_append(struct jq_sse *p, const char *s, size_t n)
{
	if (n == 0)
		return 0;
	if (n > JQ_SSE_LINE_MAX - p->line_len)
		return set_error(p, JQ_SSE_ELINE, "event stream line longer than %d bytes",
				 JQ_SSE_LINE_MAX);
	if (reserve(&p->line, &p->line_cap, p->line_len + n) != 0)
		return set_error(p, JQ_SSE_ENOMEM, "out of memory");
	memcpy(p->line + p->line_len, s, n);
	p->line_len += n;
	return 0;
}

/* Copies n bytes of s into dst (JQ_SSE_NAME_MAX + 1 bytes), cut to fit. */
static void copy_name(char *dst, const char *s, size_t n)
{
	if (n > JQ_SSE_NAME_MAX)
		n = JQ_SSE_NAME_MAX;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

static int field(struct jq_sse *p, const char *name, size_t nlen, const char *value, size_t vlen)
{
	if (nlen == 5 && memcmp(name, "event", 5) == 0) {
		copy_name(p->type, value, vlen);
	} else if (nlen == 4 && memcmp(name, "data", 4) == 0) {
		if (vlen > JQ_SSE_DATA_MAX - p->data_len)
			return set_error(p, JQ_SSE_EDATA, "event data longer than %d bytes",
					 JQ_SSE_DATA_MAX);
		/* + '\n' + room for the NUL that replaces the last '\n' at dispatch */
		if (reserve(&p->data, &p->data_cap, p->data_len + vlen + 2) != 0)
			return set_error(p, JQ_SSE_ENOMEM, "out of memory");
		memcpy(p->data + p->data_len, value, vlen);
		p->data_len += vlen;
		p->data[p->data_len++] = '\n';
		p->has_data = 1;
	} else if (nlen == 2 && memcmp(name, "id", 2) == 0) {
		if (memchr(value, '\0', vlen) == NULL) /* the spec ignores an id with a NUL */
			copy_name(p->id, value, vlen);
	} else if (nlen == 5 && memcmp(name, "retry", 5) == 0) {
		int64_t ms = 0;
		size_t i = 0;
		for (; i < vlen && value[i] >= '0' && value[i] <= '9'; i++) {
			if (ms > (INT64_MAX - 9) / 10)
				break; /* too large: ignored, as any other invalid value */
			ms = ms * 10 + (value[i] - '0');
		}
		if (vlen > 0 && i == vlen)
			p->retry_ms = ms;
	}
	/* any other field is ignored */
	return 0;
}

/* The empty line: hands the event to cb when it has data, then starts anew. */
static int dispatch(struct jq_sse *p, jq_sse_event_cb cb, void *arg)
{
	int rc = 0;
	if (p->has_data) {
		p->data[--p->data_len] = '\0'; /* the '\n' after the last data line */
		struct jq_sse_event ev = {
			.type = p->type[0] ? p->type : "message",
			.data = p->data,
			.data_len = p->data_len,
			.id = p->id,
		};
		rc = cb(arg, &ev) != 0;
	}
	p->type[0] = '\0';
	p->data_len = 0;
	p->has_data = 0;
	return rc;
}

/* Interprets the line in p->line and empties it. Returns 0, 1 (stop) or -1. */
static int line_end(struct jq_sse *p, jq_sse_event_cb cb, void *arg)
{
	const char *s = p->line;
	size_t n = p->line_len;
	p->line_len = 0;
	if (n == 0)
		return dispatch(p, cb, arg);
	if (s[0] == ':') {
		p->comments++;
		return 0;
	}
	const char *colon = memchr(s, ':', n);
	size_t nlen = colon ? (size_t)(colon - s) : n;
	const char *value = colon ? colon + 1 : s + n;
	size_t vlen = (size_t)(s + n - value);
	if (vlen > 0 && value[0] == ' ') {
		value++;
		vlen--;
	}
	return field(p, s, nlen, value, vlen);
}

int jq_sse_feed(struct jq_sse *p, const char *buf, size_t len, jq_sse_event_cb cb, void *arg)
{
	size_t i = 0;
	if (p->err)
		return -1;
	while (p->bom_state < 3 && i < len) {
		if ((unsigned char)buf[i] == utf8_bom[p->bom_state]) {
			p->bom_state++;
			i++;
			continue;
		}
		/* no BOM after all: the bytes taken for one are the first of a line */
		if (line_append(p, (const char *)utf8_bom, (size_t)p->bom_state) != 0)
			return -1;
		p->bom_state = 3;
	}
	while (i < len) {
		if (p->after_cr) {
			p->after_cr = 0;
			if (buf[i] == '\n') { /* the LF of a CRLF whose CR ended the line */
				i++;
				continue;
			}
		}
		size_t j = i;
		while (j < len && buf[j] != '\r' && buf[j] != '\n')
			j++;
		if (line_append(p, buf + i, j - i) != 0)
			return -1;
		if (j == len)
			break; /* the line goes on in the next piece */
		p->after_cr = buf[j] == '\r';
		i = j + 1;
		int rc = line_end(p, cb, arg);
		if (rc != 0)
			return rc;
	}
	return 0;
}
