/* httpc.c: blocking requests to the broker with the libcurl easy API; see httpc.h. */
#include "httpc.h"

#include <curl/curl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Where the write callback puts an answer body. */
struct sink {
	struct jq_httpc *h;
	struct jq_httpc_reply *r;
	size_t cap;
	int too_big; /* the body went past JQ_HTTPC_BODY_MAX; the transfer was stopped */
	/* a stream (jq_httpc_stream) only: */
	jq_httpc_data_cb on_data; /* NULL for a plain request */
	void *arg;
	int status_known; /* the status has been read: streaming is valid */
	int streaming;    /* a 2xx answer: its body goes to on_data */
	int stopped;      /* on_data asked to stop */
	int idle;         /* stopped for silence */
	long idle_ms;
	int64_t last_us; /* when the last byte of body came (or the request began) */
};

int jq_httpc_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void jq_httpc_global_cleanup(void)
{
	curl_global_cleanup();
}

int jq_httpc_init(struct jq_httpc *h, const char *base_url, long timeout_ms)
{
	memset(h, 0, sizeof(*h));
	h->timeout_ms = timeout_ms;
	size_t len = strlen(base_url);
	if (len > JQ_HTTPC_URL_MAX) {
		h->err = JQ_HTTPC_EURL;
		snprintf(h->errstr, sizeof(h->errstr), "broker url is longer than %d bytes",
			 JQ_HTTPC_URL_MAX);
		return -1;
	}
	if (strncmp(base_url, "http://", 7) != 0 && strncmp(base_url, "https://", 8) != 0) {
		h->err = JQ_HTTPC_EURL;
		snprintf(h->errstr, sizeof(h->errstr),
			 "invalid broker url '%.*s': it must start with http:// or https://", 256,
			 base_url);
		return -1;
	}
	while (len > 0 && base_url[len - 1] == '/')
		len--;
	memcpy(h->base, base_url, len);
	h->base[len] = '\0';
	h->curl = curl_easy_init();
	if (h->curl == NULL) {
		h->err = JQ_HTTPC_EOTHER;
		snprintf(h->errstr, sizeof(h->errstr), "cannot initialize libcurl");
		return -1;
	}
	return 0;
}

void jq_httpc_release(struct jq_httpc *h)
{
	if (h->curl)
		curl_easy_cleanup(h->curl);
	h->curl = NULL;
}

void jq_httpc_reply_init(struct jq_httpc_reply *r)
{
	r->status = 0;
	r->body = NULL;
	r->len = 0;
}

void jq_httpc_reply_release(struct jq_httpc_reply *r)
{
	free(r->body);
	jq_httpc_reply_init(r);
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	struct jq_httpc_reply *r = s->r;
	size_t n = size * nmemb;
	if (s->on_data) {
		s->last_us = jq_mono_us();
		if (!s->status_known) {
			long status = 0;
			curl_easy_getinfo(s->h->curl, CURLINFO_RESPONSE_CODE, &status);
			s->streaming = status >= 200 && status <= 299;
			s->status_known = 1;
		}
		if (s->streaming) {
			if (s->on_data(s->arg, data, n) != 0) {
				s->stopped = 1;
				return 0; /* curl stops with CURLE_WRITE_ERROR */
			}
			return n;
		}
	}
	if (n > JQ_HTTPC_BODY_MAX - r->len) {
		s->too_big = 1;
		return 0; /* anything but n makes curl stop with CURLE_WRITE_ERROR */
	}
	if (r->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		while (cap < r->len + n + 1)
			cap *= 2;
		char *body = realloc(r->body, cap);
		if (body == NULL)
			return 0;
		r->body = body;
		s->cap = cap;
	}
	memcpy(r->body + r->len, data, n);
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

static int xferinfo_cb(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct sink *s = arg;
	if (s->h->interrupted && *s->h->interrupted)
		return 1;
	if (s->idle_ms > 0 && jq_mono_us() - s->last_us > (int64_t)s->idle_ms * 1000) {
		s->idle = 1;
		return 1;
	}
	return 0;
}

static void set_error(struct jq_httpc *h, CURLcode cc, const struct sink *s, const char *detail)
{
	const char *why = *detail ? detail : curl_easy_strerror(cc);
	switch (cc) {
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
		h->err = JQ_HTTPC_ECONNECT;
		snprintf(h->errstr, sizeof(h->errstr), "cannot reach broker at '%.256s': %.200s",
			 h->base, why);
		return;
	case CURLE_OPERATION_TIMEDOUT:
		h->err = JQ_HTTPC_ETIMEOUT;
		snprintf(h->errstr, sizeof(h->errstr),
			 "broker at '%.256s' did not answer within %ld ms", h->base, h->timeout_ms);
		return;
	case CURLE_ABORTED_BY_CALLBACK:
		if (s->idle) {
			h->err = JQ_HTTPC_EIDLE;
			snprintf(h->errstr, sizeof(h->errstr),
				 "broker at '%.256s' sent nothing for %ld ms", h->base, s->idle_ms);
			return;
		}
		h->err = JQ_HTTPC_EINTERRUPTED;
		snprintf(h->errstr, sizeof(h->errstr), "interrupted");
		return;
	case CURLE_FILESIZE_EXCEEDED: h->err = JQ_HTTPC_ETOOBIG; break;
	case CURLE_WRITE_ERROR: h->err = s->too_big ? JQ_HTTPC_ETOOBIG : JQ_HTTPC_EOTHER; break;
	default: h->err = JQ_HTTPC_EOTHER; break;
	}
	if (h->err == JQ_HTTPC_ETOOBIG)
		snprintf(h->errstr, sizeof(h->errstr),
			 "answer of broker at '%.256s' is larger than %zu bytes", h->base,
			 JQ_HTTPC_BODY_MAX);
	else if (cc == CURLE_WRITE_ERROR)
		snprintf(h->errstr, sizeof(h->errstr),
			 "out of memory reading the answer of '%.256s'", h->base);
	else
		snprintf(h->errstr, sizeof(h->errstr),
			 "request to broker at '%.256s' failed: %.200s", h->base, why);
}

/* Appends line to *list; -1 with h->err set when out of memory. */
static int add_header(struct jq_httpc *h, struct curl_slist **list, const char *line)
{
	struct curl_slist *l = curl_slist_append(*list, line);
	if (l == NULL) {
		h->err = JQ_HTTPC_EOTHER;
		snprintf(h->errstr, sizeof(h->errstr), "out of memory");
		return -1;
	}
	*list = l;
	return 0;
}

int jq_httpc_set_token(struct jq_httpc *h, const char *token)
{
	size_t n = strlen(token);
	if (n == 0 || n > JQ_HTTPC_TOKEN_MAX)
		return -1;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)token[i] <= ' ' || (unsigned char)token[i] >= 0x7f)
			return -1;
	snprintf(h->authorization, sizeof(h->authorization), "Authorization: Bearer %s", token);
	return 0;
}

/* The header lines of a request: what it accepts and sends, then extra (NULL-terminated,
 * or NULL), then the token. -1 with h->err set when out of memory; *list is the
 * caller's to free either way. */
static int request_headers(struct jq_httpc *h, int stream, const char *body,
			   const char *const *extra, struct curl_slist **list)
{
	/* An empty Content-Type drops curl's form default on a body-less POST;
	 * an empty Expect never waits for "100 Continue". */
	const char *lines[] = {
		stream ? "Accept: text/event-stream" : "Accept: application/json",
		"Expect:", body ? "Content-Type: application/json" : "Content-Type:"};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		if (add_header(h, list, lines[i]) != 0)
			return -1;
	for (size_t i = 0; extra && extra[i]; i++)
		if (add_header(h, list, extra[i]) != 0)
			return -1;
	if (h->authorization[0] && add_header(h, list, h->authorization) != 0)
		return -1;
	return 0;
}

/* Sets up h->curl for one request of method to url; the handle keeps pointers to url,
 * body, headers, detail and s until perform() clears them. */
static void set_options(struct jq_httpc *h, enum jq_httpc_method method, const char *url,
			const char *body, struct curl_slist *headers, char *detail, struct sink *s,
			long max_ms)
{
	CURL *curl = h->curl;
	/* Reset keeps the connection cache: the polls of --wait reuse one socket. */
	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, s->on_data ? max_ms : h->timeout_ms);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, h->timeout_ms);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "jobctl/" JOBQ_VERSION);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, detail);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, s);
	if (!s->on_data) /* a stream may go on for ever; its non-2xx body is bounded in write_cb */
		curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)JQ_HTTPC_BODY_MAX);
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
	curl_easy_setopt(curl, CURLOPT_XFERINFODATA, s);
	if (method == JQ_HTTPC_POST || method == JQ_HTTPC_PUT) {
		curl_easy_setopt(curl, CURLOPT_POST, 1L);
		if (method ==
		    JQ_HTTPC_PUT) /* a POST with another name: the body goes the same way */
			curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "PUT");
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)(body ? strlen(body) : 0));
	} else {
		curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
		if (method == JQ_HTTPC_DELETE) /* reset above clears it for the next request */
			curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "DELETE");
	}
}

/* One request: a plain one (s->on_data NULL) or a stream. s is filled but
 * for its stream fields. */
static int perform(struct jq_httpc *h, enum jq_httpc_method method, const char *path,
		   const char *body, const char *const *extra, struct jq_httpc_reply *r,
		   struct sink *s, long max_ms)
{
	int rc = -1;
	char *url = NULL;
	struct curl_slist *headers = NULL;
	char detail[CURL_ERROR_SIZE] = "";
	CURL *curl = h->curl;

	s->h = h;
	s->r = r;
	s->last_us = jq_mono_us();

	h->err = JQ_HTTPC_OK;
	h->errstr[0] = '\0';
	jq_httpc_reply_release(r);

	size_t blen = strlen(h->base), plen = strlen(path);
	url = malloc(blen + plen + 1);
	if (url == NULL) {
		h->err = JQ_HTTPC_EOTHER;
		snprintf(h->errstr, sizeof(h->errstr), "out of memory");
		goto done;
	}
	memcpy(url, h->base, blen);
	memcpy(url + blen, path, plen + 1);
	if (request_headers(h, s->on_data != NULL, body, extra, &headers) != 0)
		goto done;
	set_options(h, method, url, body, headers, detail, s, max_ms);

	CURLcode cc = curl_easy_perform(curl);
	if (cc == CURLE_WRITE_ERROR && s->stopped)
		cc = CURLE_OK; /* the caller's on_data asked for it */
	if (cc != CURLE_OK) {
		set_error(h, cc, s, detail);
		goto done;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->body == NULL) {
		r->body = calloc(1, 1); /* an empty answer is still a string */
		if (r->body == NULL) {
			h->err = JQ_HTTPC_EOTHER;
			snprintf(h->errstr, sizeof(h->errstr), "out of memory");
			goto done;
		}
	}
	rc = 0;
done:
	/* The handle must not keep pointers to what is freed below. */
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(headers);
	free(url);
	if (rc != 0)
		jq_httpc_reply_release(r);
	return rc;
}

int jq_httpc_request(struct jq_httpc *h, enum jq_httpc_method method, const char *path,
		     const char *body, const char *const *extra, struct jq_httpc_reply *r)
{
	struct sink s = {.cap = 0};
	return perform(h, method, path, body, extra, r, &s, 0);
}

int jq_httpc_stream(struct jq_httpc *h, const char *path, long max_ms, long idle_ms,
		    jq_httpc_data_cb on_data, void *arg, int *stopped, struct jq_httpc_reply *r)
{
	struct sink s = {.on_data = on_data, .arg = arg, .idle_ms = idle_ms};
	int rc = perform(h, JQ_HTTPC_GET, path, NULL, NULL, r, &s, max_ms);
	*stopped = s.stopped;
	if (rc != 0 && s.streaming) /* it broke off: say that it had begun */
		curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &r->status);
	return rc;
}

char *jq_httpc_escape(struct jq_httpc *h, const char *s)
{
	size_t len = strlen(s);
	if (len > INT_MAX)
		return NULL;
	char *e = curl_easy_escape(h->curl, s, (int)len);
	if (e == NULL)
		return NULL;
	char *copy = strdup(e);
	curl_free(e);
	return copy;
}
