/* http_request.c: the http job type's payload, checked; see http_request.h. */
#include "http_request.h"

#include <ctype.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "redact.h"
#include "util.h"

static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
static const char *const payload_keys[] = {"url",      "method",          "headers",
					   "body",     "expect_status",   "timeout_ms",
					   "max_body", "follow_redirects"};

/* ---- payload checks (pure) ---- */

/* RFC 9110 token characters, what a header name is made of. */
static int is_tchar(unsigned char c)
{
	return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int known_key(const msgpack_object *k)
{
	if (k->type != MSGPACK_OBJECT_STR)
		return 0;
	for (size_t i = 0; i < sizeof(payload_keys) / sizeof(payload_keys[0]); i++)
		if (strlen(payload_keys[i]) == k->via.str.size &&
		    memcmp(payload_keys[i], k->via.str.ptr, k->via.str.size) == 0)
			return 1;
	return 0;
}

static int parse_method(struct jq_httpjob_request *r, const msgpack_object *v, char *err,
			size_t errlen)
{
	if (!v) {
		strcpy(r->method, "GET");
		return 0;
	}
	if (v->type == MSGPACK_OBJECT_STR && v->via.str.size <= JQ_HTTPJOB_METHOD_MAX) {
		char m[JQ_HTTPJOB_METHOD_MAX + 1];
		for (uint32_t i = 0; i < v->via.str.size; i++)
			m[i] = (char)toupper((unsigned char)v->via.str.ptr[i]);
		m[v->via.str.size] = '\0';
		for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
			if (strlen(m) == v->via.str.size && strcmp(m, methods[i]) == 0) {
				strcpy(r->method, m);
				return 0;
			}
	}
	snprintf(err, errlen,
		 "'method' must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
	return -1;
}

static int parse_url(struct jq_httpjob_request *r, const msgpack_object *v, char *err,
		     size_t errlen)
{
	if (!v || v->type != MSGPACK_OBJECT_STR || v->via.str.size == 0) {
		snprintf(err, errlen, "'url' is required: an http:// or https:// URL");
		return -1;
	}
	const char *s = v->via.str.ptr;
	size_t n = v->via.str.size;
	if (n > JQ_HTTPJOB_URL_MAX) {
		snprintf(err, errlen, "'url' is longer than %d bytes", JQ_HTTPJOB_URL_MAX);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c >= 0x7f) {
			snprintf(err, errlen,
				 "'url' must not hold spaces, control or non-ASCII characters "
				 "(percent-encode them)");
			return -1;
		}
	}
	r->url = strndup(s, n);
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *shown = NULL;
	int rc = -1;
	if (!r->url || !u) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	if (curl_url_set(u, CURLUPART_URL, r->url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
		char *clean = jq_redact_url(r->url); /* errors are shown: no userinfo in them */
		snprintf(err, errlen, "'url' must be an http:// or https:// URL, not '%.200s'",
			 clean ? clean : r->url);
		free(clean);
		goto done;
	}
	if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host) {
		char *clean = jq_redact_url(r->url);
		snprintf(err, errlen, "'url' has no host: '%.200s'", clean ? clean : r->url);
		free(clean);
		goto done;
	}
	/* credentials and tokens ride in userinfo and queries: keep them out of errors */
	if (curl_url_set(u, CURLUPART_USER, NULL, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_PASSWORD, NULL, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_QUERY, NULL, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &shown, 0) != CURLUE_OK ||
	    !(r->url_shown = strdup(shown))) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	rc = 0;
done:
	curl_free(shown);
	curl_free(host);
	curl_free(scheme);
	curl_url_cleanup(u);
	return rc;
}

static int parse_headers(struct jq_httpjob_request *r, const msgpack_object *v, char *err,
			 size_t errlen)
{
	if (!v)
		return 0;
	if (v->type != MSGPACK_OBJECT_MAP) {
		snprintf(err, errlen, "'headers' must be an object of name: value strings");
		return -1;
	}
	if (v->via.map.size > JQ_HTTPJOB_HEADERS_MAX) {
		snprintf(err, errlen, "'headers' has more than %d entries", JQ_HTTPJOB_HEADERS_MAX);
		return -1;
	}
	r->headers = calloc(v->via.map.size ? v->via.map.size : 1, sizeof(*r->headers));
	if (!r->headers) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (uint32_t i = 0; i < v->via.map.size; i++) {
		const msgpack_object *k = &v->via.map.ptr[i].key, *val = &v->via.map.ptr[i].val;
		const char *name = k->via.str.ptr;
		size_t nlen = k->type == MSGPACK_OBJECT_STR ? k->via.str.size : 0;
		int ok = nlen > 0 && nlen <= JQ_HTTPJOB_HEADER_NAME_MAX;
		for (size_t j = 0; ok && j < nlen; j++)
			ok = is_tchar((unsigned char)name[j]);
		if (!ok) {
			snprintf(err, errlen, "header name '%.*s' is not a valid HTTP token",
				 (int)(nlen > 64 ? 64 : nlen), nlen ? name : "");
			return -1;
		}
		if (val->type != MSGPACK_OBJECT_STR) {
			snprintf(err, errlen, "header '%.*s' must have a string value", (int)nlen,
				 name);
			return -1;
		}
		const char *value = val->via.str.ptr;
		size_t vlen = val->via.str.size;
		for (size_t j = 0; j < vlen; j++) {
			unsigned char c = (unsigned char)value[j];
			if ((c < 0x20 && c != '\t') || c == 0x7f) {
				snprintf(
					err, errlen,
					"header '%.*s' holds a control character (CR, LF and NUL are "
					"refused: no header injection)",
					(int)nlen, name);
				return -1;
			}
		}
		if (nlen + 2 + vlen > JQ_HTTPJOB_HEADER_LINE_MAX) {
			snprintf(err, errlen, "header '%.*s' is longer than %d bytes", (int)nlen,
				 name, JQ_HTTPJOB_HEADER_LINE_MAX);
			return -1;
		}
		if (nlen == 14 && strncasecmp(name, "Content-Length", nlen) == 0) {
			snprintf(err, errlen,
				 "header 'Content-Length' is set from 'body', not by hand");
			return -1;
		}
		if (nlen == 12 && strncasecmp(name, "Content-Type", nlen) == 0)
			r->has_content_type = 1;
		/* curl sends "Name;" as a header with an empty value ("Name:" would remove it) */
		char *line =
			vlen ? jq_strdup_printf("%.*s: %.*s", (int)nlen, name, (int)vlen, value)
			     : jq_strdup_printf("%.*s;", (int)nlen, name);
		if (!line) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		r->headers[r->nheaders++] = line;
	}
	return 0;
}

static int parse_body(struct jq_httpjob_request *r, const msgpack_object *v, char *err,
		      size_t errlen)
{
	if (!v || v->type == MSGPACK_OBJECT_NIL)
		return 0;
	if (strcmp(r->method, "HEAD") == 0) {
		snprintf(err, errlen, "a HEAD request has no 'body'");
		return -1;
	}
	if (v->type == MSGPACK_OBJECT_STR) {
		r->body_len = v->via.str.size;
		r->body = malloc(r->body_len + 1);
		if (!r->body) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		if (r->body_len)
			memcpy(r->body, v->via.str.ptr, r->body_len);
		r->body[r->body_len] = '\0';
		return 0;
	}
	/* any other value is sent as JSON */
	json_t *j = jq_msgpack_to_json(v, err, errlen);
	if (!j)
		return -1;
	r->body = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(j);
	if (!r->body) {
		snprintf(err, errlen, "'body' cannot be written as JSON");
		return -1;
	}
	r->body_len = strlen(r->body);
	if (!r->has_content_type) {
		char **h = realloc(r->headers, (r->nheaders + 1) * sizeof(*h));
		if (!h) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		r->headers = h;
		if (!(h[r->nheaders] = strdup("Content-Type: application/json"))) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		r->nheaders++;
		r->has_content_type = 1;
	}
	return 0;
}

static int parse_expect(struct jq_httpjob_request *r, const msgpack_object *v, char *err,
			size_t errlen)
{
	if (!v)
		return 0;
	const msgpack_object *items = v;
	uint32_t n = 1;
	if (v->type == MSGPACK_OBJECT_ARRAY) {
		items = v->via.array.ptr;
		n = v->via.array.size;
	}
	if (n == 0 || n > JQ_HTTPJOB_EXPECT_MAX)
		goto bad;
	for (uint32_t i = 0; i < n; i++) {
		int64_t s;
		if (jq_mp_i64(&items[i], &s) != 0 || s < 100 || s > 599)
			goto bad;
		r->expect[r->nexpect++] = (int)s;
	}
	return 0;
bad:
	snprintf(err, errlen,
		 "'expect_status' must be a status (100..599) or a list of 1 to %d of them",
		 JQ_HTTPJOB_EXPECT_MAX);
	return -1;
}

static int parse_int(const msgpack_object *payload, const char *key, int64_t min, int64_t max,
		     int64_t *out, char *err, size_t errlen)
{
	const msgpack_object *v = jq_mp_get(payload, key);
	if (!v)
		return 0;
	if (jq_mp_i64(v, out) != 0 || *out < min || *out > max) {
		snprintf(err, errlen, "'%s' must be an integer from %lld to %lld", key,
			 (long long)min, (long long)max);
		return -1;
	}
	return 0;
}

int jq_httpjob_request_parse(struct jq_httpjob_request *r, const msgpack_object *payload, char *err,
			     size_t errlen)
{
	memset(r, 0, sizeof(*r));
	r->timeout_ms = JQ_HTTPJOB_DEFAULT_TIMEOUT_MS;
	r->max_body = JQ_HTTPJOB_DEFAULT_MAX_BODY;
	if (!payload || payload->type != MSGPACK_OBJECT_MAP) {
		snprintf(err, errlen, "payload must be an object with at least 'url'");
		return -1;
	}
	for (uint32_t i = 0; i < payload->via.map.size; i++) {
		const msgpack_object *k = &payload->via.map.ptr[i].key;
		if (!known_key(k)) {
			int klen = k->type == MSGPACK_OBJECT_STR ? (int)k->via.str.size : 0;
			snprintf(err, errlen,
				 "unknown payload field '%.*s' (known: url, method, headers, body, "
				 "expect_status, timeout_ms, max_body, follow_redirects)",
				 klen > 64 ? 64 : klen, klen ? k->via.str.ptr : "");
			return -1;
		}
	}
	const msgpack_object *follow = jq_mp_get(payload, "follow_redirects");
	if (parse_method(r, jq_mp_get(payload, "method"), err, errlen) != 0 ||
	    parse_url(r, jq_mp_get(payload, "url"), err, errlen) != 0 ||
	    parse_headers(r, jq_mp_get(payload, "headers"), err, errlen) != 0 ||
	    parse_body(r, jq_mp_get(payload, "body"), err, errlen) != 0 ||
	    parse_expect(r, jq_mp_get(payload, "expect_status"), err, errlen) != 0 ||
	    parse_int(payload, "timeout_ms", 1, JQ_HTTPJOB_TIMEOUT_MS_MAX, &r->timeout_ms, err,
		      errlen) != 0 ||
	    parse_int(payload, "max_body", 0, JQ_HTTPJOB_MAX_BODY_CAP, &r->max_body, err, errlen) !=
		    0)
		goto fail;
	if (follow) {
		if (follow->type != MSGPACK_OBJECT_BOOLEAN) {
			snprintf(err, errlen, "'follow_redirects' must be true or false");
			goto fail;
		}
		r->follow_redirects = follow->via.boolean;
	}
	return 0;
fail:
	jq_httpjob_request_release(r);
	return -1;
}

void jq_httpjob_request_release(struct jq_httpjob_request *r)
{
	for (size_t i = 0; i < r->nheaders; i++)
		free(r->headers[i]);
	free(r->headers);
	free(r->url);
	free(r->url_shown);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

int jq_httpjob_status_expected(const struct jq_httpjob_request *r, long status)
{
	if (r->nexpect == 0)
		return status >= 200 && status <= 299;
	for (size_t i = 0; i < r->nexpect; i++)
		if (r->expect[i] == status)
			return 1;
	return 0;
}

int jq_httpjob_status_retryable(long status)
{
	return status == 408 || status == 429 || (status >= 500 && status <= 599);
}
