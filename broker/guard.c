/* guard.c: Host, Origin and body-type checks before routing; see guard.h. */
#include "guard.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "broker.h"
#include "reply.h"
#include "http.h"

/* The loopback names every broker answers to (only a page really served from this machine
 * sends them: a rebinding attacker's page carries the attacker's name). */
static const char *const loopback_names[] = {"localhost", "127.0.0.1", "[::1]"};

/* Parses "name[:port]" or "[v6][:port]" of len bytes: 0 with the lowercased name and the
 * port (-1 when absent), -1 if malformed. Names: letters, digits, '-', '.', '_', '~'. */
static int parse_authority(const char *s, size_t len, char name[JQ_GUARD_NAME_MAX + 1], int *port)
{
	size_t n = 0;
	if (len && s[0] == '[') {
		const char *close = memchr(s, ']', len);
		if (!close || close - s < 3)
			return -1;
		for (const char *p = s + 1; p < close; p++)
			if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
				return -1;
		n = (size_t)(close - s) + 1;
	} else {
		while (n < len && (isalnum((unsigned char)s[n]) || strchr("-._~", s[n])) && s[n])
			n++;
		if (n == 0)
			return -1;
	}
	if (n > JQ_GUARD_NAME_MAX)
		return -1;
	*port = -1;
	if (n < len) {
		if (s[n] != ':' || len - n - 1 == 0 || len - n - 1 > 5)
			return -1;
		int v = 0;
		for (size_t i = n + 1; i < len; i++) {
			if (!isdigit((unsigned char)s[i]))
				return -1;
			v = v * 10 + (s[i] - '0');
		}
		if (v > 65535)
			return -1;
		*port = v;
	}
	for (size_t i = 0; i < n; i++)
		name[i] = (char)tolower((unsigned char)s[i]);
	name[n] = '\0';
	return 0;
}

/* An origin "scheme://authority" (trailing slashes allowed when slash_ok, for configured
 * values): 0 with the lowercased scheme, name and port (the scheme's default when absent:
 * 80 for http, 443 for https, else -1), -1 if it is not one ("null" is not). */
static int parse_origin(const char *o, int slash_ok, char scheme[16],
			char name[JQ_GUARD_NAME_MAX + 1], int *port)
{
	const char *sep = strstr(o, "://");
	if (!sep || sep == o || sep - o >= 16)
		return -1;
	for (const char *p = o; p < sep; p++) {
		if (!isalnum((unsigned char)*p) && !strchr("+-.", *p))
			return -1;
		scheme[p - o] = (char)tolower((unsigned char)*p);
	}
	scheme[sep - o] = '\0';
	const char *auth = sep + 3;
	size_t alen = strlen(auth);
	while (slash_ok && alen && auth[alen - 1] == '/')
		alen--;
	if (parse_authority(auth, alen, name, port) != 0)
		return -1;
	if (*port < 0)
		*port = strcmp(scheme, "http") == 0 ? 80 : strcmp(scheme, "https") == 0 ? 443 : -1;
	return 0;
}

static int add_host(struct jq_guard *g, const char *s, size_t len, char *err, size_t errlen)
{
	if (len == 1 && s[0] == '*') {
		g->any_host = 1;
		return 0;
	}
	if (g->nhosts == JQ_GUARD_MAX_HOSTS) {
		snprintf(err, errlen, "more than %d allowed hosts", JQ_GUARD_MAX_HOSTS - 4);
		return -1;
	}
	struct jq_guard_host *h = &g->hosts[g->nhosts];
	if (parse_authority(s, len, h->name, &h->port) != 0) {
		snprintf(err, errlen, "allowed host '%.*s' is not a name[:port] or [v6][:port]",
			 (int)(len > 200 ? 200 : len), s);
		return -1;
	}
	g->nhosts++;
	return 0;
}

static int add_origin(struct jq_guard *g, const char *s, size_t len, char *err, size_t errlen)
{
	char *v = strndup(s, len);
	char scheme[16], name[JQ_GUARD_NAME_MAX + 1];
	int port;
	if (!v) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (strcmp(v, "*") == 0) {
		g->any_origin = 1;
		free(v);
		return 0;
	}
	if (parse_origin(v, 1, scheme, name, &port) != 0 || g->norigins == JQ_GUARD_MAX_ORIGINS) {
		snprintf(err, errlen, "allowed origin '%.200s' is not scheme://host[:port]%s", v,
			 g->norigins == JQ_GUARD_MAX_ORIGINS ? " (or too many)" : "");
		free(v);
		return -1;
	}
	g->origins[g->norigins++] = v;
	return 0;
}

/* Each value of list, split at commas (surrounding spaces dropped), given to add. */
static int add_list(struct jq_guard *g, const struct jq_opt_list *list,
		    int (*add)(struct jq_guard *, const char *, size_t, char *, size_t), char *err,
		    size_t errlen)
{
	for (int i = 0; list && i < list->n; i++) {
		const char *p = list->v[i];
		while (*p) {
			while (*p == ' ' || *p == ',')
				p++;
			const char *end = p;
			while (*end && *end != ',')
				end++;
			const char *last = end;
			while (last > p && last[-1] == ' ')
				last--;
			if (last > p && add(g, p, (size_t)(last - p), err, errlen) != 0)
				return -1;
			p = end;
		}
	}
	return 0;
}

int jq_guard_init(struct jq_guard *g, const char *listen_host, int port,
		  const struct jq_opt_list *hosts, const struct jq_opt_list *origins,
		  const struct jq_opt_list *more_origins, char *err, size_t errlen)
{
	memset(g, 0, sizeof(*g));
	g->port = port;
	for (size_t i = 0; i < sizeof(loopback_names) / sizeof(loopback_names[0]); i++)
		add_host(g, loopback_names[i], strlen(loopback_names[i]), err, errlen);
	/* the listen address, unless it is a wildcard: a wildcard is no name a client uses,
	 * and the machine's other names are not known here (--allowed-hosts lists them) */
	char bracketed[JQ_GUARD_NAME_MAX + 1];
	if (listen_host && strchr(listen_host, ':') && listen_host[0] != '[') {
		snprintf(bracketed, sizeof(bracketed), "[%s]", listen_host);
		listen_host = bracketed;
	}
	if (listen_host && listen_host[0] && strcmp(listen_host, "0.0.0.0") != 0 &&
	    strcmp(listen_host, "[::]") != 0 && strcmp(listen_host, "[0:0:0:0:0:0:0:0]") != 0 &&
	    add_host(g, listen_host, strlen(listen_host), err, errlen) != 0)
		goto fail;
	if (add_list(g, hosts, add_host, err, errlen) != 0 ||
	    add_list(g, origins, add_origin, err, errlen) != 0 ||
	    add_list(g, more_origins, add_origin, err, errlen) != 0)
		goto fail;
	return 0;
fail:
	jq_guard_release(g);
	return -1;
}

void jq_guard_release(struct jq_guard *g)
{
	for (size_t i = 0; i < g->norigins; i++)
		free(g->origins[i]);
	g->norigins = 0;
}

int jq_guard_host(const struct jq_guard *g, const char *host)
{
	char name[JQ_GUARD_NAME_MAX + 1];
	int port;
	if (!host || parse_authority(host, strlen(host), name, &port) != 0)
		return 400;
	if (g->any_host)
		return 0;
	for (size_t i = 0; i < g->nhosts; i++) {
		const struct jq_guard_host *h = &g->hosts[i];
		if (strcmp(h->name, name) == 0 &&
		    (port < 0 || port == (h->port >= 0 ? h->port : g->port)))
			return 0;
	}
	return 421;
}

int jq_guard_origin_listed(const struct jq_guard *g, const char *origin)
{
	if (g->any_origin)
		return 1;
	char scheme[16], name[JQ_GUARD_NAME_MAX + 1];
	int port;
	if (parse_origin(origin, 0, scheme, name, &port) != 0)
		return 0;
	for (size_t i = 0; i < g->norigins; i++) {
		char s2[16], n2[JQ_GUARD_NAME_MAX + 1];
		int p2;
		if (parse_origin(g->origins[i], 1, s2, n2, &p2) == 0 && strcmp(s2, scheme) == 0 &&
		    strcmp(n2, name) == 0 && p2 == port)
			return 1;
	}
	return 0;
}

/* 1 if origin is http(s)://host: the page is the broker's own (host already allowed). */
static int same_origin(const char *origin, const char *host)
{
	char scheme[16], name[JQ_GUARD_NAME_MAX + 1], hname[JQ_GUARD_NAME_MAX + 1];
	int port, hport;
	if (!host || parse_origin(origin, 0, scheme, name, &port) != 0 ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) ||
	    parse_authority(host, strlen(host), hname, &hport) != 0)
		return 0;
	if (hport < 0) /* a browser leaves the scheme's default port out of Host */
		hport = strcmp(scheme, "http") == 0 ? 80 : 443;
	return strcmp(name, hname) == 0 && port == hport;
}

int jq_guard_origin(const struct jq_guard *g, const char *origin, const char *host)
{
	return same_origin(origin, host) || jq_guard_origin_listed(g, origin);
}

int jq_guard_body_type(const char *ct)
{
	static const char *const types[] = {"application/json", "application/msgpack"};
	if (!ct)
		return 0;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		size_t n = strlen(types[i]);
		if (strncasecmp(ct, types[i], n) == 0 &&
		    (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ' || ct[n] == '\t'))
			return 1;
	}
	return 0;
}

int jq_guard_request(const struct jq_guard *g, struct jq_http_req *req)
{
	const char *host = jq_http_header(req, "Host");
	int method = jq_http_method(req);
	/* an HTTP/1.0 request may come without a Host (http.c refuses a 1.1 one): no browser */
	int rc = host ? jq_guard_host(g, host) : 0;
	if (rc == 400) {
		jq_reply_error(req, 400, "bad_request",
			       "'Host' must be name[:port] or [v6][:port]");
		return -1;
	}
	if (rc == 421) {
		jq_reply_error(req, 421, "misdirected_request",
			       "this broker does not answer to the name '%.200s'; list it with "
			       "--allowed-hosts",
			       host);
		return -1;
	}
	size_t norigins = jq_http_header_count(req, "Origin");
	if (norigins > 1) {
		jq_reply_error(req, 400, "bad_request", "more than one 'Origin' header");
		return -1;
	}
	const char *origin = jq_http_header(req, "Origin");
	int changes = !(method & (JQ_HTTP_GET | JQ_HTTP_HEAD)) || jq_http_header(req, "Upgrade");
	if (changes && origin && !jq_guard_origin(g, origin, host)) {
		jq_reply_error(req, 403, "forbidden",
			       "a page of origin '%.200s' may not change anything here (not the "
			       "broker's own pages; allow it with --allow-origin)",
			       origin);
		return -1;
	}
	const char *site = jq_http_header(req, "Sec-Fetch-Site");
	if (changes && !origin && site && strcasecmp(site, "same-origin") != 0 &&
	    strcasecmp(site, "none") != 0) {
		jq_reply_error(req, 403, "forbidden",
			       "a request from another site (Sec-Fetch-Site: %.40s) may not change "
			       "anything here",
			       site);
		return -1;
	}
	size_t len;
	jq_http_body(req, &len);
	const char *ct = jq_http_header(req, "Content-Type");
	if (len > 0 && !jq_guard_body_type(ct)) {
		jq_reply_error(
			req, 415, "unsupported_media_type",
			"a request body must be application/json or application/msgpack, not "
			"'%.100s'",
			ct ? ct : "(none)");
		return -1;
	}
	if (origin && !same_origin(origin, host) && jq_guard_origin_listed(g, origin)) {
		jq_http_add_header(req, "Access-Control-Allow-Origin", origin);
		jq_http_add_header(req, "Vary", "Origin");
		if (method == JQ_HTTP_OPTIONS &&
		    jq_http_header(req, "Access-Control-Request-Method")) {
			jq_http_add_header(req, "Access-Control-Allow-Methods",
					   "GET, HEAD, POST, PUT, DELETE");
			jq_http_add_header(
				req, "Access-Control-Allow-Headers",
				"Content-Type, Authorization, Idempotency-Key, X-CSRF-Token");
			jq_http_add_header(req, "Access-Control-Max-Age", "600");
			jq_broker_count_response(204);
			jq_http_send(req, 204, "", 0);
			return -1;
		}
	}
	return 0;
}
