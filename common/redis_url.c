/* redis_url.c: Redis URLs; see redis_url.h. */
#include "redis_url.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

int jq_redis_url_parse(const char *url, struct jq_redis_url *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	out->port = 6379;
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
		snprintf(err, errlen, "redis URL '%s' must start with redis:// or unix://", url);
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
