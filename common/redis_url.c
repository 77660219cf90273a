/* redis_url.c: Redis URLs; see redis_url.h. */
#include "redis_url.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

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

/* The part after "redis-sentinel://": [:password@]h[:p][,h[:p]...][/db]#master */
static int parse_sentinel(const char *url, const char *p, struct jq_redis_url *out, char *err,
			  size_t errlen)
{
	const char *hash = strchr(p, '#');
	if (!hash || !hash[1] || strlen(hash + 1) >= sizeof(out->master)) {
		snprintf(err, errlen, "redis-sentinel URL '%s' must end with #<master name>", url);
		return -1;
	}
	snprintf(out->master, sizeof(out->master), "%s", hash + 1);
	const char *at = NULL; /* the last '@' before the master name: a password may hold '@' */
	for (const char *q = p; q < hash; q++)
		if (*q == '@')
			at = q;
	if (at) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		const char *pw = colon ? colon + 1 : p;
		size_t n = (size_t)(at - pw);
		if (n >= sizeof(out->password)) {
			snprintf(err, errlen, "password in redis URL too long");
			return -1;
		}
		memcpy(out->password, pw, n);
		p = at + 1;
	}
	const char *slash = memchr(p, '/', (size_t)(hash - p));
	const char *end = slash ? slash : hash;
	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *e = comma ? comma : end;
		if (out->nsentinels == JQ_SENTINELS_MAX) {
			snprintf(err, errlen, "at most %d sentinels in '%s'", JQ_SENTINELS_MAX, url);
			return -1;
		}
		if (host_port(p, (size_t)(e - p), out->sentinels[out->nsentinels].host,
			      sizeof(out->sentinels[0].host), &out->sentinels[out->nsentinels].port,
			      26379) != 0) {
			snprintf(err, errlen, "bad sentinel '%.*s' in '%s'", (int)(e - p), p, url);
			return -1;
		}
		out->nsentinels++;
		p = comma ? comma + 1 : e;
		if (comma && p == end) {
			snprintf(err, errlen, "bad sentinel '' in '%s'", url);
			return -1;
		}
	}
	if (out->nsentinels == 0) {
		snprintf(err, errlen, "no sentinel in '%s'", url);
		return -1;
	}
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
			 "redis URL '%s' must start with redis://, redis-sentinel:// or unix://", url);
		return -1;
	}
	const char *p = url + 8;
	const char *at = strrchr(p, '@');
	if (at) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		const char *pw = colon ? colon + 1 : p;
		size_t n = (size_t)(at - pw);
		if (n >= sizeof(out->password)) {
			snprintf(err, errlen, "password in redis URL too long");
			return -1;
		}
		memcpy(out->password, pw, n);
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
