/* email.c: the email job: an RFC 5322 message sent over SMTP with libcurl,
 * on the loop through curl multi, or on the pool with "sync": true. */
#include <curl/curl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "curl_loop.h"
#include "handlers.h"
#include "jobtypes.h"
#include "util.h"
#include "worker.h"

struct email {
	CURL *easy;
	struct curl_slist *rcpt;
	char *msg; /* the whole message, CRLF line ends */
	size_t len, off;
	char to[JQ_EMAIL_ADDR_MAX + 1];
	char message_id[320];
	char curl_err[CURL_ERROR_SIZE];
	char reply[256]; /* the server's last refusal, CR LF cut ("550 5.1.1 ...") */
};

static int is_ascii(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return 0;
	return 1;
}

/* Appends to a growing buffer; returns -1 on out of memory. */
struct buf {
	char *p;
	size_t len, cap;
};

static int buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->cap ? b->cap * 2 : 1024) + n;
		char *p = realloc(b->p, cap);
		if (!p)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static int buf_str(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

/* RFC 2047 B-encoding for a non-ASCII subject, in chunks that keep lines short. */
static int add_encoded_word(struct buf *b, const char *s, size_t n)
{
	static const char tbl[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i = 0;
	int first = 1;
	while (i < n) {
		/* 45 bytes -> 60 base64 chars; never split a UTF-8 sequence */
		size_t end = i + 45 < n ? i + 45 : n;
		while (end < n && end > i && ((unsigned char)s[end] & 0xC0) == 0x80)
			end--;
		if (buf_str(b, first ? "=?UTF-8?B?" : "\r\n =?UTF-8?B?") != 0)
			return -1;
		first = 0;
		for (size_t k = i; k < end; k += 3) {
			uint32_t v = (uint32_t)(unsigned char)s[k] << 16;
			if (k + 1 < end)
				v |= (uint32_t)(unsigned char)s[k + 1] << 8;
			if (k + 2 < end)
				v |= (unsigned char)s[k + 2];
			char q[4] = {tbl[(v >> 18) & 63], tbl[(v >> 12) & 63],
				     k + 1 < end ? tbl[(v >> 6) & 63] : '=',
				     k + 2 < end ? tbl[v & 63] : '='};
			if (buf_add(b, q, 4) != 0)
				return -1;
		}
		if (buf_str(b, "?=") != 0)
			return -1;
		i = end;
	}
	return 0;
}

/* Quoted-printable body (RFC 2045): any text, lines under 78 characters, CRLF ends. */
static int add_qp_body(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t col = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\r' && i + 1 < n && s[i + 1] == '\n')
			continue; /* CRLF and LF both become CRLF */
		if (c == '\n' || c == '\r') {
			if (buf_str(b, "\r\n") != 0)
				return -1;
			col = 0;
			continue;
		}
		char enc[4];
		size_t elen;
		int trailing_space = (c == ' ' || c == '\t') &&
				     (i + 1 == n || s[i + 1] == '\n' || s[i + 1] == '\r');
		if ((c >= 33 && c <= 126 && c != '=') ||
		    ((c == ' ' || c == '\t') && !trailing_space)) {
			enc[0] = (char)c;
			elen = 1;
		} else {
			enc[0] = '=';
			enc[1] = hex[c >> 4];
			enc[2] = hex[c & 15];
			elen = 3;
		}
		if (col + elen > 75) {
			if (buf_str(b, "=\r\n") != 0)
				return -1;
			col = 0;
		}
		if (buf_add(b, enc, elen) != 0)
			return -1;
		col += elen;
	}
	return buf_str(b, "\r\n");
}

static const char *addr_domain(const char *addr)
{
	const char *at = strrchr(addr, '@');
	return at && at[1] ? at + 1 : "localhost";
}

/* Validates the payload and builds the message. 0, or -1 with *out = error text. */
static int email_prepare(struct jq_run *run, struct email *e, char **out)
{
	const struct jq_worker_config *cfg = jq_run_config(run);
	if (!cfg->smtp_url || !*cfg->smtp_url) {
		*out = strdup("no SMTP server configured (JOBQ_SMTP_URL)");
		return -1;
	}
	struct jq_email_payload ep;
	char why[256];
	if (jq_email_payload(run->payload, &ep, why, sizeof(why)) != 0) {
		*out = strdup(why);
		return -1;
	}
	const char *to = ep.to, *subject = ep.subject, *body = ep.body;
	size_t tolen = ep.to_len, slen = ep.subject_len, blen = ep.body_len;
	memcpy(e->to, to, tolen);
	e->to[tolen] = '\0';

	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	snprintf(e->message_id, sizeof(e->message_id),
		 "<jobq.%" PRId64 ".%" PRId64 ".%" PRId64 ".%d@%s>", run->id, run->attempts,
		 jq_now_ms(), (int)getpid(), addr_domain(cfg->smtp_from));

	struct buf b = {0};
	int rc = buf_str(&b, "Date: ") | buf_str(&b, date) | buf_str(&b, "\r\nFrom: ") |
		 buf_str(&b, cfg->smtp_from) | buf_str(&b, "\r\nTo: ") | buf_str(&b, e->to) |
		 buf_str(&b, "\r\nSubject: ");
	if (is_ascii(subject, slen))
		rc |= buf_add(&b, subject, slen);
	else
		rc |= add_encoded_word(&b, subject, slen);
	rc |= buf_str(&b, "\r\nMessage-ID: ") | buf_str(&b, e->message_id) |
	      buf_str(&b, "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
			  "Content-Transfer-Encoding: quoted-printable\r\n\r\n") |
	      add_qp_body(&b, body, blen);
	if (rc != 0) {
		free(b.p);
		*out = strdup("out of memory");
		return -1;
	}
	e->msg = b.p;
	e->len = b.len;

	char from_angle[JQ_EMAIL_ADDR_MAX + 3], to_angle[JQ_EMAIL_ADDR_MAX + 3];
	snprintf(from_angle, sizeof(from_angle), "<%s>", cfg->smtp_from);
	snprintf(to_angle, sizeof(to_angle), "<%s>", e->to);
	e->rcpt = curl_slist_append(NULL, to_angle);
	e->easy = curl_easy_init();
	if (!e->rcpt || !e->easy) {
		*out = strdup("cannot set up curl");
		return -1;
	}
	CURL *c = e->easy;
	curl_easy_setopt(c, CURLOPT_URL, cfg->smtp_url);
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, from_angle);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, e->rcpt);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)e->len);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY); /* STARTTLS when offered */
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)cfg->smtp_timeout_ms);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, e->curl_err);
	if (cfg->smtp_user && *cfg->smtp_user) {
		curl_easy_setopt(c, CURLOPT_USERNAME, cfg->smtp_user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, cfg->smtp_password ? cfg->smtp_password : "");
	}
	return 0;
}

/* libcurl hands an SMTP client every reply line of the server as a "header". The last
 * refusal (a 4xx or 5xx line) is what the server said about the step that failed; the
 * lines after it (QUIT's "221 Bye") are not. */
static size_t reply_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct email *e = arg;
	size_t n = size * nmemb, len = n;
	if (len < 3 || (data[0] != '4' && data[0] != '5'))
		return n;
	while (len > 0 && (data[len - 1] == '\r' || data[len - 1] == '\n'))
		len--;
	if (len >= sizeof(e->reply))
		len = sizeof(e->reply) - 1;
	for (size_t i = 0; i < len; i++) /* shown in errors, logs and the dashboard */
		e->reply[i] = (unsigned char)data[i] < 0x20 || data[i] == 0x7f ? ' ' : data[i];
	e->reply[len] = '\0';
	return n;
}

static size_t read_cb(char *dst, size_t size, size_t nmemb, void *arg)
{
	struct email *e = arg;
	size_t n = size * nmemb;
	if (n > e->len - e->off)
		n = e->len - e->off;
	memcpy(dst, e->msg + e->off, n);
	e->off += n;
	return n;
}

static void email_free(struct email *e)
{
	if (!e)
		return;
	if (e->easy)
		curl_easy_cleanup(e->easy);
	curl_slist_free_all(e->rcpt);
	free(e->msg);
	free(e);
}

/* The outcome of a finished transfer: 0 and result JSON, JQ_FAIL_RETRY and an error, or
 * JQ_FAIL_FATAL and an error when the server refused for good. RFC 5321 4.2.1: a 5yz
 * reply is a permanent refusal (unknown user, policy), which no retry mends; a 4yz reply
 * or a lost connection is transient. */
static char *email_outcome(struct email *e, CURLcode rc, int *fail)
{
	*fail = rc == CURLE_OK ? 0 : e->reply[0] == '5' ? JQ_FAIL_FATAL : JQ_FAIL_RETRY;
	const char *why = e->curl_err[0] ? e->curl_err : curl_easy_strerror(rc);
	if (rc != CURLE_OK && e->reply[0])
		/* the server refused a step: its code and reason, then libcurl's word */
		return jq_strdup_printf("smtp send to '%s' failed: the server answered '%s' (%s)",
					e->to, e->reply, why);
	if (rc != CURLE_OK)
		return jq_strdup_printf("smtp send to '%s' failed: %s", e->to, why);
	return jq_strdup_printf("{\"sent_to\":\"%s\",\"message_id\":\"%s\"}", e->to, e->message_id);
}

static struct email *email_new(struct jq_run *run, char **out)
{
	struct email *e = calloc(1, sizeof(*e));
	if (!e) {
		*out = strdup("out of memory");
		return NULL;
	}
	if (email_prepare(run, e, out) != 0) {
		email_free(e);
		return NULL;
	}
	curl_easy_setopt(e->easy, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(e->easy, CURLOPT_READDATA, e);
	curl_easy_setopt(e->easy, CURLOPT_HEADERFUNCTION, reply_cb);
	curl_easy_setopt(e->easy, CURLOPT_HEADERDATA, e);
	return e;
}

/* ---- on the loop ---- */

static void on_sent(CURL *easy, CURLcode rc, void *arg)
{
	struct jq_run *run = arg;
	struct email *e = run->hdata;
	int fail;
	char *text = email_outcome(e, rc, &fail);
	email_free(e);
	run->hdata = NULL;
	if (fail == JQ_FAIL_FATAL)
		jq_run_fatal(run, text);
	else
		jq_run_done(run, !fail, text);
	free(text);
}

int jq_email_start(struct jq_run *run, char *err, size_t errlen)
{
	char *why = NULL;
	struct email *e = email_new(run, &why);
	if (!e) {
		snprintf(err, errlen, "%s", why ? why : "out of memory");
		free(why);
		return -1;
	}
	run->hdata = e;
	if (jq_curl_loop_add(jq_run_curl(run), e->easy, on_sent, run) != 0) {
		email_free(e);
		run->hdata = NULL;
		snprintf(err, errlen, "cannot start the SMTP transfer");
		return -1;
	}
	return 0;
}

void jq_email_cancel(struct jq_run *run)
{
	struct email *e = run->hdata;
	if (!e)
		return;
	jq_curl_loop_remove(jq_run_curl(run), e->easy);
	email_free(e);
	run->hdata = NULL;
}

/* ---- on the pool ("sync": true, the seed's blocking variant) ---- */

int jq_email_wants_pool(const struct jq_run *run)
{
	int sync = 0;
	return jq_mp_get_bool(run->payload, "sync", &sync) == 0 && sync;
}

int jq_email_cpu(struct jq_run *run, char **out)
{
	struct email *e = email_new(run, out);
	if (!e)
		return JQ_FAIL_FATAL; /* a payload no retry will fix */
	int fail;
	*out = email_outcome(e, curl_easy_perform(e->easy), &fail);
	email_free(e);
	return fail;
}
