/* http_job.c: the http job: its payload checked (http_request.h), then one request through
 * curl_loop; see http_job.h. */
#include "http_job.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <ctype.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/socket.h>

#include "codec.h"
#include "curl_loop.h"
#include "handlers.h"
#include "redact.h"
#include "secrets.h"
#include "util.h"

/* the body prefix quoted in the error of an unexpected status */
#define ERROR_BODY_QUOTE 200

/* ---- denied networks ---- */

static struct jq_httpjob_deny deny; /* set once at start-up, read by every transfer */

static int net_add(struct jq_httpjob_deny *d, const char *text, int bits, char *err, size_t errlen)
{
	struct jq_httpjob_net n = {0};
	int max;
	if (inet_pton(AF_INET, text, n.addr) == 1) {
		n.family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, text, n.addr) == 1) {
		n.family = AF_INET6;
		max = 128;
	} else {
		goto bad;
	}
	if (bits < 0)
		bits = max;
	if (bits > max) {
		snprintf(err, errlen, "--http-deny: '%s/%d': the prefix length is at most %d", text,
			 bits, max);
		return -1;
	}
	if (d->n >= JQ_HTTPJOB_DENY_MAX) {
		snprintf(err, errlen, "--http-deny: more than %d networks", JQ_HTTPJOB_DENY_MAX);
		return -1;
	}
	n.bits = bits;
	d->net[d->n++] = n;
	return 0;
bad:
	snprintf(err, errlen,
		 "--http-deny: '%s' is not an IPv4 or IPv6 address (ADDR or ADDR/BITS)", text);
	return -1;
}

int jq_httpjob_deny_add(struct jq_httpjob_deny *d, const char *spec, char *err, size_t errlen)
{
	/* not the public internet: "this network", private, shared (CGNAT), loopback,
	 * link-local (cloud metadata), IETF protocol assignments, benchmarking, multicast and
	 * reserved/broadcast; IPv6 unspecified/loopback/IPv4-compatible, local-use NAT64,
	 * unique-local, link-local and multicast. NAT64 (64:ff9b::/96) and 6to4 (2002::/16)
	 * addresses are also matched by the IPv4 address they carry (deny_match_addr). */
	static const char *const private_nets[] = {
		"0.0.0.0/8",      "10.0.0.0/8",    "100.64.0.0/10", "127.0.0.0/8",
		"169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",  "192.168.0.0/16",
		"198.18.0.0/15",  "224.0.0.0/4",   "240.0.0.0/4",   "::/96",
		"64:ff9b:1::/48", "fc00::/7",      "fe80::/10",     "ff00::/8",
	};
	const char *comma = strchr(spec, ',');
	if (comma) { /* "A,B": each in turn */
		char first[INET6_ADDRSTRLEN + 8];
		size_t len = (size_t)(comma - spec);
		if (len >= sizeof(first)) {
			snprintf(err, errlen, "--http-deny: '%.60s' is too long", spec);
			return -1;
		}
		memcpy(first, spec, len);
		first[len] = '\0';
		if (len && jq_httpjob_deny_add(d, first, err, errlen) != 0)
			return -1;
		return comma[1] ? jq_httpjob_deny_add(d, comma + 1, err, errlen) : 0;
	}
	if (strcmp(spec, "private") == 0) {
		for (size_t i = 0; i < sizeof(private_nets) / sizeof(private_nets[0]); i++)
			if (jq_httpjob_deny_add(d, private_nets[i], err, errlen) != 0)
				return -1;
		return 0;
	}
	char text[INET6_ADDRSTRLEN + 8];
	if (strlen(spec) >= sizeof(text)) {
		snprintf(err, errlen, "--http-deny: '%.60s' is too long", spec);
		return -1;
	}
	strcpy(text, spec);
	int bits = -1;
	char *slash = strchr(text, '/');
	if (slash) {
		int64_t b;
		*slash = '\0';
		if (jq_parse_i64(slash + 1, 0, 128, &b) != 0) {
			snprintf(err, errlen, "--http-deny: '%s' has a bad prefix length", spec);
			return -1;
		}
		bits = (int)b;
	}
	return net_add(d, text, bits, err, errlen);
}

static int prefix_equal(const unsigned char *a, const unsigned char *b, int bits)
{
	int whole = bits / 8, rest = bits % 8;
	if (memcmp(a, b, (size_t)whole) != 0)
		return 0;
	if (!rest)
		return 1;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

static int deny_match_exact(const struct jq_httpjob_deny *d, int family, const unsigned char *a)
{
	for (int i = 0; i < d->n; i++)
		if (d->net[i].family == family && prefix_equal(a, d->net[i].addr, d->net[i].bits))
			return 1;
	return 0;
}

/* 1 if the address (family, bytes in network order) is in d. IPv4-mapped IPv6 is IPv4;
 * an IPv6 address that carries an IPv4 one a gateway will connect to (NAT64's well-known
 * 64:ff9b::/96, 6to4's 2002:AABB:CCDD::/48) is denied when either form is. */
static int deny_match_addr(const struct jq_httpjob_deny *d, int family, const unsigned char *bytes)
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
	if (family == AF_INET)
		return deny_match_exact(d, AF_INET, bytes);
	if (memcmp(bytes, mapped, sizeof(mapped)) == 0) /* ::ffff:a.b.c.d is a.b.c.d */
		return deny_match_exact(d, AF_INET, bytes + 12);
	if (deny_match_exact(d, AF_INET6, bytes))
		return 1;
	if (memcmp(bytes, nat64, sizeof(nat64)) == 0)
		return deny_match_exact(d, AF_INET, bytes + 12);
	if (bytes[0] == 0x20 && bytes[1] == 0x02)
		return deny_match_exact(d, AF_INET, bytes + 2);
	return 0;
}

int jq_httpjob_deny_match(const struct jq_httpjob_deny *d, const char *ip)
{
	unsigned char a[16];
	if (inet_pton(AF_INET, ip, a) == 1)
		return deny_match_addr(d, AF_INET, a);
	if (inet_pton(AF_INET6, ip, a) == 1)
		return deny_match_addr(d, AF_INET6, a);
	return d->n > 0; /* not an address we can read: refuse rather than guess */
}

void jq_httpjob_set_deny(const struct jq_httpjob_deny *d)
{
	deny = *d;
}

static char ca_file[4097]; /* set once at start-up: --http-ca-file, or "" */

int jq_httpjob_set_ca_file(const char *path, char *err, size_t errlen)
{
	ca_file[0] = '\0';
	if (!path || !path[0])
		return 0;
	if (strlen(path) >= sizeof(ca_file) || access(path, R_OK) != 0) {
		snprintf(err, errlen, "--http-ca-file: cannot read '%.200s'", path);
		return -1;
	}
	snprintf(ca_file, sizeof(ca_file), "%s", path);
	return 0;
}

/* ---- the transfer, on the loop ---- */

struct http {
	struct jq_httpjob_request req;
	CURL *easy;
	struct curl_slist *hdrs;
	char *body; /* the response's first max_body bytes */
	size_t body_len;
	int truncated;            /* more body came than max_body: the transfer was cut */
	json_t *resp_headers;     /* of the last response (a redirect or 100 starts anew) */
	size_t resp_header_bytes; /* what resp_headers holds, bounded */
	char curl_err[CURL_ERROR_SIZE];
	char denied[INET6_ADDRSTRLEN]; /* an address --http-deny refused, or "" */
	int allowed_opened;            /* a socket was opened for an allowed address */
	int last_denied;               /* the last socket asked for was refused */
	/* the request carries headers curl sends to every host of a redirect chain that must
	 * reach only the first: one with a secret in it, or Proxy-Authorization (curl keeps
	 * only Authorization and Cookie to the first host) */
	int guarded;
	int redirecting;   /* the response being read is a 3xx */
	char crossed[300]; /* a redirect to another origin refused for them, or "" */
};

/* scheme, host and port of url, lowercased, as "scheme://host:port"; -1 if unreadable. */
static int origin_of(CURLU *u, char *out, size_t outlen)
{
	char *scheme = NULL, *host = NULL, *port = NULL;
	int rc = -1;
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
		snprintf(out, outlen, "%s://%s:%s", scheme, host, port);
		for (char *c = out; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		rc = 0;
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	return rc;
}

/* 1 if location (a redirect's target, maybe relative) leads away from the origin of the
 * URL curl is at: then *where is the target's origin. Unreadable: away (refused). */
static int leaves_origin(CURL *easy, const char *location, size_t len, char *where, size_t wherelen)
{
	char *at = NULL;
	char from[300] = "", to[300] = "";
	curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &at);
	CURLU *u = curl_url();
	char *loc = strndup(location, len);
	int away = 1;
	if (u && loc && at && curl_url_set(u, CURLUPART_URL, at, 0) == CURLUE_OK &&
	    origin_of(u, from, sizeof(from)) == 0 &&
	    curl_url_set(u, CURLUPART_URL, loc, 0) == CURLUE_OK && /* relative: resolved */
	    origin_of(u, to, sizeof(to)) == 0)
		away = strcmp(from, to) != 0;
	snprintf(where, wherelen, "%s", to[0] ? to : "an unreadable location");
	free(loc);
	curl_url_cleanup(u);
	return away;
}

/* Before each socket curl opens (redirects and fallback addresses too): a denied address
 * gets no socket, so not even a TCP handshake reaches it. */
static curl_socket_t on_open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *address)
{
	struct http *h = arg;
	const struct sockaddr *sa = &address->addr;
	const void *bytes = NULL;
	if (sa->sa_family == AF_INET)
		bytes = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		bytes = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	/* not IP (a Unix socket, never asked for here): refused, as an unreadable address is */
	if (deny.n && (!bytes || deny_match_addr(&deny, sa->sa_family, bytes))) {
		if (!bytes || !inet_ntop(sa->sa_family, bytes, h->denied, sizeof(h->denied)))
			snprintf(h->denied, sizeof(h->denied), "(not IP)");
		h->last_denied = 1;
		return CURL_SOCKET_BAD;
	}
	h->allowed_opened = 1;
	h->last_denied = 0;
	return socket(address->family, address->socktype, address->protocol);
}

static void http_free(struct http *h)
{
	if (!h)
		return;
	if (h->easy)
		curl_easy_cleanup(h->easy);
	curl_slist_free_all(h->hdrs);
	json_decref(h->resp_headers);
	free(h->body);
	jq_httpjob_request_release(&h->req);
	free(h);
}

static int header_named(const char *line, const char *name)
{
	size_t n = strlen(name);
	return strncasecmp(line, name, n) == 0 && (line[n] == ':' || line[n] == ';');
}

/* The request's header list: the payload's headers, then extra (whole
 * "Name: value" lines the worker adds from the job's envelope rather than its
 * payload, e.g. a W3C traceparent), which replace payload headers of the same
 * name; then curl defaults turned off unless the payload set them. NULL when
 * out of memory. */
static struct curl_slist *http_header_list(const struct jq_httpjob_request *r,
					   const char *const *extra, size_t nextra)
{
	struct curl_slist *l = NULL, *t;
	for (size_t i = 0; i < r->nheaders; i++) {
		int replaced = 0;
		for (size_t k = 0; k < nextra && !replaced; k++) {
			const char *colon = strchr(extra[k], ':');
			size_t n = colon ? (size_t)(colon - extra[k]) : strlen(extra[k]);
			replaced = strncasecmp(r->headers[i], extra[k], n) == 0 &&
				   (r->headers[i][n] == ':' || r->headers[i][n] == ';');
		}
		if (replaced)
			continue;
		if (!(t = curl_slist_append(l, r->headers[i])))
			goto oom;
		l = t;
	}
	for (size_t k = 0; k < nextra; k++) {
		if (!(t = curl_slist_append(l, extra[k])))
			goto oom;
		l = t;
	}
	int has_expect = 0;
	for (size_t i = 0; i < r->nheaders; i++)
		has_expect |= header_named(r->headers[i], "Expect");
	/* no "Expect: 100-continue" round trip; no made-up form Content-Type for a text body */
	if (!has_expect) {
		if (!(t = curl_slist_append(l, "Expect:")))
			goto oom;
		l = t;
	}
	if (r->body && !r->has_content_type) {
		if (!(t = curl_slist_append(l, "Content-Type:")))
			goto oom;
		l = t;
	}
	return l;
oom:
	curl_slist_free_all(l);
	return NULL;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http *h = arg;
	size_t n = size * nmemb;
	size_t room = (size_t)h->req.max_body - h->body_len;
	size_t take = n < room ? n : room;
	if (take) {
		memcpy(h->body + h->body_len, data, take);
		h->body_len += take;
	}
	if (take < n) {
		h->truncated = 1;
		return 0; /* enough: stop the download (CURLE_WRITE_ERROR, known to be ours) */
	}
	return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http *h = arg;
	size_t n = size * nmemb;
	if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		/* a new response (after a redirect or a 100): its headers are the ones that count */
		json_object_clear(h->resp_headers);
		h->resp_header_bytes = 0;
		const char *sp = memchr(data, ' ', n);
		h->redirecting = sp && (size_t)(sp - data) + 4 <= n && sp[1] == '3';
		return n;
	}
	if (h->guarded && h->redirecting && h->req.follow_redirects && n > 9 &&
	    strncasecmp(data, "location:", 9) == 0) {
		const char *v = data + 9;
		size_t vlen = n - 9;
		while (vlen && (*v == ' ' || *v == '\t'))
			v++, vlen--;
		while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
			vlen--;
		if (leaves_origin(h->easy, v, vlen, h->crossed, sizeof(h->crossed)))
			return 0; /* stop here (CURLE_WRITE_ERROR, told apart by crossed) */
		h->crossed[0] = '\0';
	}
	size_t len = n;
	while (len && (data[len - 1] == '\r' || data[len - 1] == '\n'))
		len--;
	const char *colon = memchr(data, ':', len);
	if (!colon || colon == data || data[0] == ' ' || data[0] == '\t')
		return n; /* the blank end line, or an obsolete folded line */
	size_t nlen = (size_t)(colon - data);
	const char *v = colon + 1;
	size_t vlen = len - nlen - 1;
	while (vlen && (*v == ' ' || *v == '\t'))
		v++, vlen--;
	while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	if (nlen > JQ_HTTPJOB_HEADER_NAME_MAX ||
	    json_object_size(h->resp_headers) >= JQ_HTTPJOB_RESP_HEADERS_MAX ||
	    h->resp_header_bytes + nlen + vlen > JQ_HTTPJOB_RESP_HEADER_BYTES_MAX)
		return n; /* kept bounded: the rest are dropped */
	char name[JQ_HTTPJOB_HEADER_NAME_MAX + 1];
	for (size_t i = 0; i < nlen; i++)
		name[i] = (char)tolower((unsigned char)data[i]);
	name[nlen] = '\0';
	if (!jq_utf8_valid(name, nlen))
		return n;
	/* a session the target hands out is a credential: the result (shown by every read)
	 * says one was set, not what it is (review) */
	if (strcmp(name, "set-cookie") == 0) {
		v = "[redacted]";
		vlen = strlen(v);
	}
	size_t slen;
	char *value = jq_utf8_sanitize(v, vlen, &slen);
	if (!value)
		return n;
	json_t *old = json_object_get(h->resp_headers, name);
	if (old) {
		/* a repeated header: one value, comma-joined (RFC 9110 5.3) */
		char *joined = jq_strdup_printf("%s, %s", json_string_value(old), value);
		if (joined)
			json_object_set_new(h->resp_headers, name, json_string(joined));
		free(joined);
	} else {
		json_object_set_new(h->resp_headers, name, json_stringn(value, slen));
	}
	h->resp_header_bytes += nlen + vlen;
	free(value);
	return n;
}

static int http_setup(struct http *h, const char *const *extra, size_t nextra, char *err,
		      size_t errlen)
{
	const struct jq_httpjob_request *r = &h->req;
	h->body = malloc((size_t)r->max_body + 1);
	h->resp_headers = json_object();
	h->hdrs = http_header_list(r, extra, nextra);
	h->easy = curl_easy_init();
	if (!h->body || !h->resp_headers || !h->hdrs || !h->easy) {
		snprintf(err, errlen, "cannot set up curl: out of memory");
		return -1;
	}
	CURL *c = h->easy;
	curl_easy_setopt(c, CURLOPT_URL, r->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	/* a redirect never leaves TLS: from an https URL only to https (headers and body would
	 * go out in clear); from http to either */
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR,
			 strncasecmp(r->url, "https://", 8) == 0 ? "https" : "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (ca_file[0]) { /* in place of the system's: its bundle file and its directory */
		curl_easy_setopt(c, CURLOPT_CAINFO, ca_file);
		curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	}
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)r->timeout_ms);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, (long)r->follow_redirects);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, (long)JQ_HTTPJOB_MAX_REDIRECTS);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "jobq/" JOBQ_VERSION);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->hdrs);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->curl_err);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
	if (deny.n) {
		curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
		curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, h);
		/* no proxy from the environment: the check needs the target's own address, and
		 * a proxy would reach a denied network on the job's behalf */
		curl_easy_setopt(c, CURLOPT_PROXY, "");
	}
	if (r->body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS,
				 r->body); /* owned by h, outlives the transfer */
		if (strcmp(r->method, "POST") != 0)
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
	} else if (strcmp(r->method, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (strcmp(r->method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
	} else if (strcmp(r->method, "GET") != 0) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
	}
	return 0;
}

/* curl errors that another attempt cannot mend */
static int curl_rc_fatal(CURLcode rc)
{
	return rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_URL_MALFORMAT ||
	       rc == CURLE_TOO_MANY_REDIRECTS;
}

static void on_done(CURL *easy, CURLcode rc, void *arg)
{
	struct jq_run *run = arg;
	struct http *h = run->hdata;
	run->hdata = NULL;
	long status = 0;
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	size_t blen = 0;
	char *body = jq_utf8_sanitize(h->body, h->body_len, &blen);
	char *text = NULL;
	int ok = 0, fatal = 0;
	long redirects = 0;
	curl_easy_getinfo(easy, CURLINFO_REDIRECT_COUNT, &redirects);
	if (rc == CURLE_WRITE_ERROR && h->crossed[0]) {
		/* the next hop would have carried them: refused, and it would be again */
		text = jq_strdup_printf(
			"%s %s refused: it redirects to %s, another origin, and "
			"the request carries a secret or Proxy-Authorization header, "
			"which would go there too",
			h->req.method, h->req.url_shown, h->crossed);
		fatal = 1;
	} else if (rc != CURLE_OK && h->denied[0] && (!h->allowed_opened || h->last_denied)) {
		/* refused, and no other address of the name was tried after it (a redirect to a
		 * denied address comes after the first host's allowed one): the deny list is
		 * why, and the same address would be refused next time: no retry */
		if (redirects > 0)
			text = jq_strdup_printf(
				"%s %s refused: a redirect led to address %s, which "
				"is denied (--http-deny)",
				h->req.method, h->req.url_shown, h->denied);
		else
			text = jq_strdup_printf("%s %s refused: address %s is denied (--http-deny)",
						h->req.method, h->req.url_shown, h->denied);
		fatal = 1;
	} else if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && h->truncated)) {
		text = jq_strdup_printf("%s %s failed: %s", h->req.method, h->req.url_shown,
					h->curl_err[0] ? h->curl_err : curl_easy_strerror(rc));
		fatal = curl_rc_fatal(rc);
	} else if (!jq_httpjob_status_expected(&h->req, status)) {
		int quote = blen > ERROR_BODY_QUOTE ? ERROR_BODY_QUOTE : (int)blen;
		text = jq_strdup_printf("%s %s answered %ld, not the expected %s%s%.*s%s",
					h->req.method, h->req.url_shown, status,
					h->req.nexpect ? "status" : "2xx", quote ? ": " : "", quote,
					body ? body : "", blen > ERROR_BODY_QUOTE ? "..." : "");
		fatal = !jq_httpjob_status_retryable(status);
	} else {
		json_t *result = json_pack("{s:i, s:O, s:s%, s:b}", "status", (json_int_t)status,
					   "headers", h->resp_headers, "body", body ? body : "",
					   body ? blen : 0, "truncated", h->truncated);
		text = result ? json_dumps(result, JSON_COMPACT) : NULL;
		json_decref(result);
		ok = text != NULL;
		if (!text)
			text = strdup("cannot write the result: out of memory");
	}
	free(body);
	http_free(h);
	if (fatal)
		jq_run_fatal(run, text ? text : "http request failed");
	else
		jq_run_done(run, ok, text);
	free(text);
}

int jq_httpjob_start(struct jq_run *run, char *err, size_t errlen)
{
	struct http *h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (jq_httpjob_request_parse(&h->req, run->payload, err, errlen) != 0) {
		free(h);
		return -1;
	}
	/* "${secret:NAME}" in a header value: the job's secret, put in only now (the stored
	 * payload and every view of it keep the reference, not the secret) */
	for (size_t i = 0; i < h->req.nheaders; i++) {
		if (strncasecmp(h->req.headers[i], "proxy-authorization:", 20) == 0)
			h->guarded = 1;
		if (!strstr(h->req.headers[i], JQ_SECRET_REF))
			continue;
		h->guarded = 1;
		char why[160];
		char *line = jq_secrets_expand(run->secrets, run->secrets_len, h->req.headers[i], 1,
					       why, sizeof(why));
		if (!line) {
			snprintf(err, errlen, "'headers': %s", why);
			http_free(h);
			return -1;
		}
		free(h->req.headers[i]);
		h->req.headers[i] = line;
	}
	/* Headers from the job's envelope, not its payload: the request's W3C trace
	 * context goes on, so the call joins the trace the job was enqueued in */
	char trace[JQ_TRACEPARENT_LEN + 16];
	const char *extra[1] = {trace};
	size_t nextra = 0;
	if (run->traceparent[0]) {
		snprintf(trace, sizeof(trace), "traceparent: %s", run->traceparent);
		nextra = 1;
	}
	if (http_setup(h, extra, nextra, err, errlen) != 0) {
		http_free(h);
		return -1;
	}
	run->hdata = h;
	if (jq_curl_loop_add(jq_run_curl(run), h->easy, on_done, run) != 0) {
		run->hdata = NULL;
		http_free(h);
		snprintf(err, errlen, "cannot start the HTTP transfer");
		return -1;
	}
	return 0;
}

void jq_httpjob_cancel(struct jq_run *run)
{
	struct http *h = run->hdata;
	if (!h)
		return;
	jq_curl_loop_remove(jq_run_curl(run), h->easy);
	http_free(h);
	run->hdata = NULL;
}
