/* json_mp.c: JSON text to msgpack in one pass; see json_mp.h.
 *
 * A container's (or string's) size is known only at its end, so a 5-byte header is
 * reserved, the body written after it, and at the end the real header written and the
 * body moved back over the unused bytes. Moves cost at most depth x size, and depth is
 * bounded by the caller. */
#include "json_mp.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define HDR_MAX 5 /* the largest msgpack header of a str, array or map: type + 32 bits */

/* A decoded object key: where its bytes are in the output, for the duplicate check. */
struct key {
	size_t off, len;
};

struct parser {
	const unsigned char *p, *start, *end;
	msgpack_sbuffer *out;
	int max_depth;
	struct key *keys; /* the keys of the objects open now, innermost last */
	size_t nkeys, keycap;
	char *err;
	size_t errlen;
};

static int fail(struct parser *ps, int rc, const char *what)
{
	snprintf(ps->err, ps->errlen, "%s at byte %zu", what, (size_t)(ps->p - ps->start));
	return rc;
}

/* Room for n more bytes in the output. */
static int reserve(struct parser *ps, size_t n)
{
	msgpack_sbuffer *o = ps->out;
	if (o->alloc - o->size >= n)
		return 0;
	size_t cap = o->alloc ? o->alloc : 256;
	while (cap - o->size < n)
		cap *= 2;
	char *d = realloc(o->data, cap);
	if (!d)
		return fail(ps, -1, "out of memory");
	o->data = d;
	o->alloc = cap;
	return 0;
}

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end &&
	       (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '\t'))
		ps->p++;
}

/* Writes the header of a value of n items/bytes: base is the fix type (0x90 array, 0x80
 * map, 0xa0 str), fixmax its largest fix count, t8 the type byte with an 8-bit length (str
 * only, else 0), t16 the one with 16 bits (t16 + 1 has 32). The same choices as msgpack-c's
 * msgpack_pack_array/map/str. Returns the header's length. */
static size_t header(unsigned char *h, size_t n, unsigned char base, size_t fixmax,
		     unsigned char t8, unsigned char t16)
{
	if (n <= fixmax) {
		h[0] = (unsigned char)(base | n);
		return 1;
	}
	if (t8 && n < 256) {
		h[0] = t8;
		h[1] = (unsigned char)n;
		return 2;
	}
	if (n < 65536) {
		h[0] = t16;
		h[1] = (unsigned char)(n >> 8);
		h[2] = (unsigned char)n;
		return 3;
	}
	h[0] = (unsigned char)(t16 + 1);
	h[1] = (unsigned char)(n >> 24);
	h[2] = (unsigned char)(n >> 16);
	h[3] = (unsigned char)(n >> 8);
	h[4] = (unsigned char)n;
	return 5;
}

/* Puts the real header at at (where HDR_MAX bytes were reserved) and moves the body back. */
static void close_value(struct parser *ps, size_t at, size_t n, unsigned char base, size_t fixmax,
			unsigned char t8, unsigned char t16)
{
	unsigned char h[HDR_MAX];
	size_t hl = header(h, n, base, fixmax, t8, t16);
	char *d = ps->out->data;
	size_t body = at + HDR_MAX;
	if (hl < HDR_MAX)
		memmove(d + at + hl, d + body, ps->out->size - body);
	memcpy(d + at, h, hl);
	ps->out->size -= HDR_MAX - hl;
}

static int hex4(const unsigned char *p, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		unsigned c = p[i], d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		*v = *v << 4 | d;
	}
	return 0;
}

/* Length of the well-formed UTF-8 sequence at p (its lead byte >= 0x80), or 0: the rule
 * of jq_utf8_valid (no overlong forms, no surrogates, nothing past U+10FFFF). */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	size_t n = (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 ? 4 : 0;
	return n && (size_t)(end - p) >= n && jq_utf8_valid((const char *)p, n) ? n : 0;
}

static size_t put_utf8(unsigned char *d, unsigned cp)
{
	if (cp < 0x80) {
		d[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		d[0] = (unsigned char)(0xc0 | cp >> 6);
		d[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		d[0] = (unsigned char)(0xe0 | cp >> 12);
		d[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		d[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	d[0] = (unsigned char)(0xf0 | cp >> 18);
	d[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
	d[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
	d[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A string (ps->p at its opening quote) as msgpack str; *off gets where its bytes are. */
static int string(struct parser *ps, size_t *off)
{
	ps->p++;
	size_t at = ps->out->size;
	/* the decoded string is never longer than the text left */
	if (reserve(ps, HDR_MAX + (size_t)(ps->end - ps->p)) != 0)
		return -1;
	unsigned char *d = (unsigned char *)ps->out->data + at + HDR_MAX, *d0 = d;
	const unsigned char *p = ps->p, *end = ps->end;
	for (;;) {
		/* the common run: plain ASCII copied as is */
		const unsigned char *run = p;
		while (p < end && *p >= 0x20 && *p != '"' && *p != '\\' && *p < 0x80)
			p++;
		memcpy(d, run, (size_t)(p - run));
		d += p - run;
		ps->p = p;
		if (p == end)
			return fail(ps, -1, "unterminated string");
		unsigned c = *p;
		if (c == '"')
			break;
		if (c < 0x20)
			return fail(ps, -1, "control character in a string");
		if (c >= 0x80) {
			size_t n = utf8_len(p, end);
			if (!n)
				return fail(ps, -1, "invalid UTF-8 in a string");
			memcpy(d, p, n);
			d += n;
			p += n;
			continue;
		}
		/* an escape */
		if (end - p < 2)
			return fail(ps, -1, "unterminated string");
		c = p[1];
		p += 2;
		const char *plain = strchr("\"\\/bfnrt", (int)c);
		if (c && plain) {
			static const char to[] = "\"\\/\b\f\n\r\t";
			*d++ = (unsigned char)to[plain - "\"\\/bfnrt"];
			continue;
		}
		unsigned cp, lo;
		if (c != 'u' || end - p < 4 || hex4(p, &cp) != 0)
			return fail(ps, -1, "invalid escape in a string");
		p += 4;
		if (cp >= 0xd800 && cp <= 0xdbff) { /* a high surrogate: its low half must follow */
			if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, &lo) != 0 ||
			    lo < 0xdc00 || lo > 0xdfff) {
				ps->p = p;
				return fail(ps, -1, "invalid Unicode escape (a lone surrogate)");
			}
			p += 6;
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		} else if (cp >= 0xdc00 && cp <= 0xdfff) {
			ps->p = p;
			return fail(ps, -1, "invalid Unicode escape (a lone surrogate)");
		} else if (cp == 0) {
			ps->p = p;
			return fail(ps, -1, "\\u0000 is not allowed in a string");
		}
		d += put_utf8(d, cp);
	}
	ps->p = p + 1;
	size_t n = (size_t)(d - d0);
	ps->out->size = at + HDR_MAX + n;
	close_value(ps, at, n, 0xa0, 31, 0xd9, 0xda);
	*off = ps->out->size - n;
	return 0;
}

static int literal(struct parser *ps, const char *word, unsigned char byte)
{
	size_t n = strlen(word);
	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
		return fail(ps, -1, "invalid token");
	ps->p += n;
	if (reserve(ps, 1) != 0)
		return -1;
	ps->out->data[ps->out->size++] = (char)byte;
	return 0;
}

static int number(struct parser *ps)
{
	const unsigned char *s = ps->p, *p = s, *end = ps->end;
	int neg = 0, real = 0;
	if (p < end && *p == '-') {
		neg = 1;
		p++;
	}
	if (p == end || *p < '0' || *p > '9')
		return fail(ps, -1, "invalid number");
	if (*p == '0' && p + 1 < end && p[1] >= '0' && p[1] <= '9')
		return fail(ps, -1, "invalid number (a leading zero)");
	uint64_t mag = 0;
	int big = 0;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		unsigned dgt = *p - '0';
		if (mag > (UINT64_MAX - dgt) / 10)
			big = 1;
		else
			mag = mag * 10 + dgt;
	}
	if (p < end && *p == '.') {
		real = 1;
		p++;
		if (p == end || *p < '0' || *p > '9')
			return fail(ps, -1, "invalid number");
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		real = 1;
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p == end || *p < '0' || *p > '9')
			return fail(ps, -1, "invalid number");
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	msgpack_packer pk;
	msgpack_packer_init(&pk, ps->out, msgpack_sbuffer_write);
	if (!real) {
		if (big || mag > (uint64_t)INT64_MAX + (uint64_t)neg)
			return fail(ps, -1, neg ? "too big negative integer" : "too big integer");
		int64_t v = neg ? (int64_t)(0 - mag) : (int64_t)mag;
		ps->p = p;
		return msgpack_pack_int64(&pk, v) == 0 ? 0 : fail(ps, -1, "out of memory");
	}
	/* strtod needs a NUL-terminated copy; the grammar above bounds what it reads */
	size_t n = (size_t)(p - s);
	char small[64], *txt = n < sizeof(small) ? small : malloc(n + 1);
	if (!txt)
		return fail(ps, -1, "out of memory");
	memcpy(txt, s, n);
	txt[n] = '\0';
	errno = 0;
	double v = strtod(txt, NULL);
	int overflow = errno == ERANGE && isinf(v);
	if (txt != small)
		free(txt);
	if (overflow)
		return fail(ps, -1, "real number overflow");
	ps->p = p;
	return msgpack_pack_double(&pk, v) == 0 ? 0 : fail(ps, -1, "out of memory");
}

static int value(struct parser *ps, int depth);

struct key_ref {
	const char *p;
	size_t len;
};

static int key_cmp(const void *a, const void *b)
{
	const struct key_ref *x = a, *y = b;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->p, y->p, x->len);
}

/* 1 if two of keys[0..n) are equal (their bytes are in d), -1 if out of memory. */
static int has_duplicate(const char *d, const struct key *keys, size_t n)
{
	if (n <= 16) {
		for (size_t i = 1; i < n; i++)
			for (size_t j = 0; j < i; j++)
				if (keys[i].len == keys[j].len &&
				    memcmp(d + keys[i].off, d + keys[j].off, keys[i].len) == 0)
					return 1;
		return 0;
	}
	/* many keys: sorted, equal ones are neighbours (n log n, not n squared) */
	struct key_ref *s = malloc(n * sizeof(*s));
	if (!s)
		return -1;
	for (size_t i = 0; i < n; i++)
		s[i] = (struct key_ref){d + keys[i].off, keys[i].len};
	qsort(s, n, sizeof(*s), key_cmp);
	int dup = 0;
	for (size_t i = 1; i < n && !dup; i++)
		dup = key_cmp(&s[i - 1], &s[i]) == 0;
	free(s);
	return dup;
}

/* An object's next key and its ':' (ps->p at the key's quote), kept for the duplicate check. */
static int object_key(struct parser *ps)
{
	if (ps->p == ps->end || *ps->p != '"')
		return fail(ps, -1, "string expected");
	if (ps->nkeys == ps->keycap) {
		size_t cap = ps->keycap ? 2 * ps->keycap : 64;
		struct key *k = realloc(ps->keys, cap * sizeof(*k));
		if (!k)
			return fail(ps, -1, "out of memory");
		ps->keys = k;
		ps->keycap = cap;
	}
	struct key *k = &ps->keys[ps->nkeys];
	int rc = string(ps, &k->off);
	if (rc != 0)
		return rc;
	k->len = ps->out->size - k->off;
	ps->nkeys++;
	skip_ws(ps);
	if (ps->p == ps->end || *ps->p != ':')
		return fail(ps, -1, "':' expected");
	ps->p++;
	return 0;
}

/* An array or (is_map) an object, ps->p at its opening bracket. */
static int container(struct parser *ps, int depth, int is_map)
{
	if (depth > ps->max_depth)
		return fail(ps, -2, "nested too deep");
	const unsigned char close = is_map ? '}' : ']';
	ps->p++;
	size_t at = ps->out->size, n = 0, base = ps->nkeys;
	if (reserve(ps, HDR_MAX) != 0)
		return -1;
	ps->out->size += HDR_MAX;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
	} else {
		for (;;) {
			skip_ws(ps);
			int rc = is_map ? object_key(ps) : 0;
			if (rc == 0)
				rc = value(ps, depth);
			if (rc != 0)
				return rc;
			n++;
			skip_ws(ps);
			if (ps->p < ps->end && *ps->p == ',') {
				ps->p++;
				continue;
			}
			if (ps->p < ps->end && *ps->p == close) {
				ps->p++;
				break;
			}
			return fail(ps, -1, is_map ? "',' or '}' expected" : "',' or ']' expected");
		}
	}
	if (!is_map) {
		close_value(ps, at, n, 0x90, 15, 0, 0xdc);
		return 0;
	}
	int dup =
		n > 1 ? has_duplicate(ps->out->data, ps->keys + base, n) : 0; /* keys: NULL at {} */
	ps->nkeys = base;
	if (dup)
		return fail(ps, -1, dup < 0 ? "out of memory" : "duplicate object key");
	close_value(ps, at, n, 0x80, 15, 0, 0xde);
	return 0;
}

static int value(struct parser *ps, int depth)
{
	skip_ws(ps);
	if (ps->p == ps->end)
		return fail(ps, -1, "unexpected end of input");
	size_t off;
	switch (*ps->p) {
	case '{': return container(ps, depth + 1, 1);
	case '[': return container(ps, depth + 1, 0);
	case '"': return string(ps, &off);
	case 't': return literal(ps, "true", 0xc3);
	case 'f': return literal(ps, "false", 0xc2);
	case 'n': return literal(ps, "null", 0xc0);
	default: return number(ps);
	}
}

int jq_json_to_msgpack(const char *text, size_t len, int max_depth, msgpack_sbuffer *out, char *err,
		       size_t errlen)
{
	const unsigned char *t = (const unsigned char *)text;
	struct parser ps = {t, t, t + len, out, max_depth, NULL, 0, 0, err, errlen};
	int rc = value(&ps, 0);
	if (rc == 0) {
		skip_ws(&ps);
		if (ps.p != ps.end)
			rc = fail(&ps, -1, "end of input expected");
	}
	free(ps.keys);
	return rc;
}
