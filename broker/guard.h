/* guard.h: the broker's browser protections, applied to every request before it is routed,
 * whatever the authentication setting (docs/security.md):
 *
 * - Host: a browser sends the name it resolved, so a page of a name an attacker rebinds to
 *   the broker's address (DNS rebinding) arrives with that name. The Host must be one of the
 *   allowed hosts: the listen address (unless a wildcard: 0.0.0.0, ::), localhost, 127.0.0.1,
 *   [::1], and --allowed-hosts (flag or JOBQ_ALLOWED_HOSTS, comma-separated too; "*": any).
 *   A name listed without a port matches the Host with no port or with the broker's own
 *   port; listed with a port, that port (or none). Not allowed: 421 misdirected_request. A
 *   Host that is not "name[:port]" or "[v6]:port" (a space, '/', '@', ...): 400.
 * - Origin: a request that may change something (any method but GET and HEAD, and a GET
 *   that asks for a WebSocket upgrade) from a browser page of another origin is refused
 *   (403 forbidden). The broker's own origins are http(s)://<the request's Host>, a Host
 *   already checked against the allowed hosts (https for a TLS proxy in front; a port left
 *   out is the scheme's default, as a browser leaves it out); --allow-origin (flag or
 *   JOBQ_ALLOW_ORIGIN;
 *   --ws-origin is its old name) adds scheme://host[:port] values, "*" any. Without an
 *   Origin, a Sec-Fetch-Site other than same-origin or none is refused the same way. Two
 *   Origin headers: 400.
 * - Bodies: a non-empty request body must be application/json or application/msgpack
 *   (parameters such as charset allowed): 415 otherwise, so no form a page can post without
 *   a preflight ("simple" requests: form-urlencoded, multipart, text/plain, or none) is
 *   read by any route.
 * - CORS: none unless --allow-origin names the page's origin; then its requests get
 *   Access-Control-Allow-Origin and its preflights (OPTIONS) a 204.
 *
 * The checks are pure functions over the values (unit-tested); jq_guard_request applies
 * them to a request and answers refusals itself. */
#ifndef JQ_GUARD_H
#define JQ_GUARD_H

#include <stddef.h>

#include "config.h"
#include "http.h"

#define JQ_GUARD_MAX_HOSTS 72 /* allowed host entries, implicit ones included */
#define JQ_GUARD_MAX_ORIGINS 72
#define JQ_GUARD_NAME_MAX 255 /* longest host name (RFC 1035) */

struct jq_guard_host {
	char name[JQ_GUARD_NAME_MAX + 1]; /* lowercased; an IPv6 literal keeps its brackets */
	int port;                         /* -1: not given */
};

struct jq_guard {
	struct jq_guard_host hosts[JQ_GUARD_MAX_HOSTS];
	size_t nhosts;
	int any_host; /* "*" was listed */
	/* --allow-origin values, as given (scheme://host[:port], a trailing slash allowed) */
	char *origins[JQ_GUARD_MAX_ORIGINS];
	size_t norigins;
	int any_origin;
	int port; /* the broker's bound port */
};

/* Fills g from the listen host (as in --listen, brackets around IPv6 or not), the bound
 * port and the option lists (each value may hold several, comma-separated; any list may be
 * NULL). -1 with err on a value that is not a host[:port] or an origin. Release with
 * jq_guard_release. */
int jq_guard_init(struct jq_guard *g, const char *listen_host, int port,
		  const struct jq_opt_list *hosts, const struct jq_opt_list *origins,
		  const struct jq_opt_list *more_origins, char *err, size_t errlen);
void jq_guard_release(struct jq_guard *g);

/* The Host value: 0 if allowed, 400 if malformed, 421 if not an allowed host. */
int jq_guard_host(const struct jq_guard *g, const char *host);
/* 1 if a page of origin (an Origin header's value) may change things here: its scheme is
 * http or https and its host and port are host's (the request's Host; NULL: none), or
 * --allow-origin lists it. */
int jq_guard_origin(const struct jq_guard *g, const char *origin, const char *host);
/* 1 if origin is named by --allow-origin (and so gets CORS headers), not the broker's own. */
int jq_guard_origin_listed(const struct jq_guard *g, const char *origin);
/* 1 if the Content-Type value (NULL: none) is application/json or application/msgpack. */
int jq_guard_body_type(const char *content_type);

/* Applies every check to req (path is its route path, for the WebSocket case). 0: go on
 * (CORS headers may have been added to the reply); -1: req was answered (a refusal, or a
 * preflight's 204). */
int jq_guard_request(const struct jq_guard *g, struct jq_http_req *req);

#endif
