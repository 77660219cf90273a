/* redis_url.c: Redis URLs; see redis_url.h. */
#include "redis_url.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes s[0..n) into out (NUL-terminated). 0, or -1 with err naming what. */
static int url_decode(const char *s, size_t n, char *out, size_t outlen, const char *what,
		      char *err, size_t errlen)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '%') {
			int hi = i + 2 < n ? hex_digit(s[i + 1]) : -1;
			int lo = i + 2 < n ? hex_digit(s[i + 2]) : -1;
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
				snprintf(err, errlen,
					 "bad percent-encoding in the %s of the redis URL (%%XX, "
					 "not %%00)",
					 what);
				return -1;
			}
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (o + 1 >= outlen) {
			snprintf(err, errlen, "%s in redis URL too long", what);
			return -1;
		}
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

/* The userinfo p..at ("[user]:password" or "password") into out, percent-decoded. */
static int parse_userinfo(const char *p, const char *at, struct jq_redis_url *out, char *err,
			  size_t errlen)
{
	const char *colon = memchr(p, ':', (size_t)(at - p));
	const char *pw = colon ? colon + 1 : p;
	if (colon && url_decode(p, (size_t)(colon - p), out->user, sizeof(out->user), "user", err,
				errlen) != 0)
		return -1;
	return url_decode(pw, (size_t)(at - pw), out->password, sizeof(out->password), "password",
			  err, errlen);
}

/* "host[:port]" of length n into host and *port (dflt without one); -1 if malformed. */
static int host_port(const char *p, size_t n, char *host, size_t hostcap, int *port, int dflt)
{
	const char *colon = memchr(p, ':', n);
	size_t hn = colon ? (size_t)(colon - p) : n;
	if (hn == 0 || hn >= hostcap)
		return -1;
	memcpy(host, p, hn);
	host[hn] = '\0';
	*port = dflt;
	if (colon) {
		int64_t v;
		if (jq_parse_i64n(colon + 1, n - hn - 1, 1, 65535, &v) != 0)
			return -1;
		*port = (int)v;
	}
	return 0;
}

/* The userinfo before the last '@' of *p..end (a password may hold '@'), if any, into
 * out; *p moves past it. 0, or -1 with err. */
static int skip_userinfo(const char **p, const char *end, struct jq_redis_url *out, char *err,
			 size_t errlen)
{
	const char *at = NULL;
	for (const char *q = *p; q < end; q++)
		if (*q == '@')
			at = q;
	if (!at)
		return 0;
	if (parse_userinfo(*p, at, out, err, errlen) != 0)
		return -1;
	*p = at + 1;
	return 0;
}

/* The comma-separated "host[:port]" list p..end into list (at most max, dflt the port
 * without one); what names an entry in errors. 0, or -1 with err. */
static int parse_hosts(const char *url, const char *p, const char *end, const char *what,
		       struct jq_hostport *list, int *n, int max, int dflt, char *err,
		       size_t errlen)
{
	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *e = comma ? comma : end;
		if (*n == max) {
			snprintf(err, errlen, "at most %d %ss in '%s'", max, what, url);
			return -1;
		}
		if (host_port(p, (size_t)(e - p), list[*n].host, sizeof(list[0].host),
			      &list[*n].port, dflt) != 0) {
			snprintf(err, errlen, "bad %s '%.*s' in '%s'", what, (int)(e - p), p, url);
			return -1;
		}
		(*n)++;
		p = comma ? comma + 1 : e;
		if (comma && p == end) {
			snprintf(err, errlen, "bad %s '' in '%s'", what, url);
			return -1;
		}
	}
	if (*n == 0) {
		snprintf(err, errlen, "no %s in '%s'", what, url);
		return -1;
	}
	return 0;
}

_Static_assert(sizeof(((struct jq_redis_url *)0)->host) == sizeof(((struct jq_hostport *)0)->host),
	       "a node's host is copied whole into the URL's");

/* The part after "redis-cluster://": [[user]:password@]h[:p][,h[:p]...][/0] */
static int parse_cluster(const char *url, const char *p, struct jq_redis_url *out, char *err,
			 size_t errlen)
{
	const char *end = p + strlen(p);
	if (skip_userinfo(&p, end, out, err, errlen) != 0)
		return -1;
	const char *slash = memchr(p, '/', (size_t)(end - p));
	if (parse_hosts(url, p, slash ? slash : end, "cluster node", out->seeds, &out->nseeds,
			JQ_SEEDS_MAX, 6379, err, errlen) != 0)
		return -1;
	if (slash && slash[1] && strcmp(slash + 1, "0") != 0) {
		snprintf(err, errlen,
			 "bad database in redis URL '%s' (a Redis Cluster has "
			 "database 0 only)",
			 url);
		return -1;
	}
	memcpy(out->host, out->seeds[0].host, sizeof(out->host)); /* the same size, NUL-ended */
	out->port = out->seeds[0].port;
	return 0;
}

/* The part after "redis-sentinel://": [[user]:password@]h[:p][,h[:p]...][/db]#master */
static int parse_sentinel(const char *url, const char *p, struct jq_redis_url *out, char *err,
			  size_t errlen)
{
	const char *hash = strchr(p, '#');
	if (!hash || !hash[1] || strlen(hash + 1) >= sizeof(out->master)) {
		snprintf(err, errlen, "redis-sentinel URL '%s' must end with #<master name>", url);
		return -1;
	}
	snprintf(out->master, sizeof(out->master), "%s", hash + 1);
	if (skip_userinfo(&p, hash, out, err, errlen) != 0)
		return -1;
	const char *slash = memchr(p, '/', (size_t)(hash - p));
	if (parse_hosts(url, p, slash ? slash : hash, "sentinel", out->sentinels, &out->nsentinels,
			JQ_SENTINELS_MAX, 26379, err, errlen) != 0)
		return -1;
	if (slash && slash + 1 < hash) {
		int64_t db;
		if (jq_parse_i64n(slash + 1, (size_t)(hash - slash - 1), 0, 15, &db) != 0) {
			snprintf(err, errlen, "bad database in redis URL '%s'", url);
			return -1;
		}
		out->db = (int)db;
	}
	return 0;
}

int jq_redis_url_parse(const char *url, struct jq_redis_url *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	out->port = 6379;
	if (strncmp(url, "redis-sentinel://", 17) == 0)
		return parse_sentinel(url, url + 17, out, err, errlen);
	if (strncmp(url, "redis-cluster://", 16) == 0)
		return parse_cluster(url, url + 16, out, err, errlen);
	if (strncmp(url, "unix://", 7) == 0) {
		const char *path = url + 7;
		const char *q = strchr(path, '?');
		size_t n = q ? (size_t)(q - path) : strlen(path);
		if (n == 0 || n >= sizeof(out->unix_path)) {
			snprintf(err, errlen, "bad unix socket path in '%s'", url);
			return -1;
		}
		memcpy(out->unix_path, path, n);
		if (q) {
			int64_t db;
			if (strncmp(q, "?db=", 4) != 0 || jq_parse_i64(q + 4, 0, 15, &db) != 0) {
				snprintf(err, errlen, "bad database in '%s'", url);
				return -1;
			}
			out->db = (int)db;
		}
		return 0;
	}
	if (strncmp(url, "redis://", 8) != 0) {
		snprintf(err, errlen,
			 "redis URL '%s' must start with redis://, redis-sentinel://, "
			 "redis-cluster:// or unix://",
			 url);
		return -1;
	}
	const char *p = url + 8;
	const char *at = strrchr(p, '@');
	if (at) {
		if (parse_userinfo(p, at, out, err, errlen) != 0)
			return -1;
		p = at + 1;
	}
	const char *slash = strchr(p, '/');
	const char *hostend = slash ? slash : p + strlen(p);
	const char *colon = memchr(p, ':', (size_t)(hostend - p));
	const char *hend = colon ? colon : hostend;
	size_t hn = (size_t)(hend - p);
	if (hn == 0 || hn >= sizeof(out->host)) {
		snprintf(err, errlen, "bad host in redis URL '%s'", url);
		return -1;
	}
	memcpy(out->host, p, hn);
	if (colon) {
		int64_t port;
		if (jq_parse_i64n(colon + 1, (size_t)(hostend - colon - 1), 1, 65535, &port) != 0) {
			snprintf(err, errlen, "bad port in redis URL '%s'", url);
			return -1;
		}
		out->port = (int)port;
	}
	if (slash && slash[1]) {
		int64_t db;
		if (jq_parse_i64(slash + 1, 0, 15, &db) != 0) {
			snprintf(err, errlen, "bad database in redis URL '%s'", url);
			return -1;
		}
		out->db = (int)db;
	}
	return 0;
}

int jq_redis_password_file_read(const char *path, char *out, size_t outlen, char *err,
				size_t errlen)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		snprintf(err, errlen, "cannot read the redis password file '%s': %s", path,
			 strerror(errno));
		return -1;
	}
	char buf[258]; /* 255 bytes, "\r\n", and one more to see that it is longer */
	size_t n = fread(buf, 1, sizeof(buf), f);
	int failed = ferror(f);
	fclose(f);
	if (failed) {
		snprintf(err, errlen, "cannot read the redis password file '%s'", path);
		return -1;
	}
	if (n < sizeof(buf) && n && buf[n - 1] == '\n') {
		n--;
		if (n && buf[n - 1] == '\r')
			n--;
	}
	if (n == 0 || n >= outlen || n > 255) {
		snprintf(err, errlen, "the redis password file '%s' %s", path,
			 n == 0 ? "is empty" : "holds more than 255 bytes");
		return -1;
	}
	if (memchr(buf, '\0', n) || memchr(buf, '\n', n) || memchr(buf, '\r', n)) {
		snprintf(err, errlen,
			 "the redis password file '%s' must hold one line (a NUL or a line break "
			 "inside)",
			 path);
		return -1;
	}
	memcpy(out, buf, n);
	out[n] = '\0';
	return 0;
}

int jq_redis_url_load(const char *url, const char *password_file, struct jq_redis_url *out,
		      char *err, size_t errlen)
{
	if (jq_redis_url_parse(url, out, err, errlen) != 0)
		return -1;
	if (!password_file || !password_file[0])
		return 0;
	return jq_redis_password_file_read(password_file, out->password, sizeof(out->password), err,
					   errlen);
}
