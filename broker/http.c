/* http.c: the broker's HTTP/1.1 server; see http.h. */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define READ_CHUNK 65536 /* the shared read buffer; a connection keeps only what is left */
/* While a request is in flight the connection keeps reading (to see its client go away),
 * but stops once this much of the next requests is waiting */
#define IN_PAUSE (256 * 1024)
/* Nor are more requests read while this much of the replies waits for a client that does
 * not read them (pipelining without reading); a stream that piles up OUT_MAX unread is
 * dropped */
#define OUT_PAUSE (256 * 1024)
#define OUT_MAX (64 * 1024 * 1024)

struct jq_http {
	struct event_base *base;
	size_t max_head, max_body;
	const struct timeval *idle; /* a libevent common timeout */
	int timeout_s;
	jq_http_handler *cb;
	void *arg;
	struct jq_http_conn *conns; /* every open connection */
	size_t nconns;
};

struct jq_http_conn {
	struct jq_http *http;
	struct jq_http_conn *prev, *next;
	evutil_socket_t fd;
	struct event *ev;
	short events; /* what ev waits for now */
	char *in;     /* bytes read and not yet a request: in[in_off .. in_len) */
	size_t in_off, in_len, in_cap;
	char *out; /* reply bytes the socket did not take yet */
	size_t out_off, out_len, out_cap;
	struct jq_http_req *req; /* being answered, or NULL */
	int busy;                /* callers up the stack still use c: its free waits */
	unsigned closing : 1;    /* no more requests: close once the output is written */
	unsigned draining : 1;   /* written and shut down: reading what the client still sends */
	size_t drained;
	time_t partial_since; /* when the unfinished request in `in` began to arrive, or 0 */
	unsigned dead : 1;    /* the socket is closed or taken; free on the way out */
	unsigned continue_sent : 1;
	unsigned eof : 1;    /* the client sent all it will (half-closed): answer, then close */
	unsigned failed : 1; /* a write failed: nothing more is written; killed next turn */
	struct jq_http_chunked chunk; /* how far the chunked body being read was checked */
	unsigned char peer_family;
	uint16_t peer_port;
	unsigned char peer_addr[16];
};

struct jq_http_hdr {
	const char *name, *value;
};

struct jq_http_req {
	struct jq_http_conn *conn; /* NULL once the client went away */
	int method, minor, keep_alive;
	const char *path, *query, *body;
	size_t body_len, nheaders;
	struct jq_http_hdr *hdr;
	char *ohdr; /* the reply's own header lines */
	size_t ohdr_len, ohdr_cap;
	int streaming; /* jq_http_send_start was called */
	jq_http_close_cb *close_cb;
	void *close_arg;
	char data[]; /* headers array, then head and body */
};

static void conn_event_cb(evutil_socket_t fd, short what, void *arg);
static void process(struct jq_http_conn *c);
static void conn_kill(struct jq_http_conn *c);

/* ---- connection lifecycle ---- */

static void conn_set_events(struct jq_http_conn *c, short want)
{
	if (c->dead || c->events == want)
		return;
	event_del(c->ev); /* also takes it off the active queue: */
	event_assign(c->ev, c->http->base, c->fd, want | EV_PERSIST, conn_event_cb, c);
	event_add(c->ev, c->http->idle);
	c->events = want;
	if (c->failed) /* so a pending conn_fail is made active again */
		event_active(c->ev, EV_READ, 0);
}

/* What ev should wait for: reading unless closing or too much is waiting; writing while
 * output is left. */
static void conn_update_events(struct jq_http_conn *c)
{
	short want = 0;
	if (c->draining ||
	    (!c->closing && !c->eof && !(c->req && c->in_len - c->in_off >= IN_PAUSE) &&
	     c->out_len - c->out_off < OUT_PAUSE))
		want |= EV_READ;
	if (c->out_len > c->out_off)
		want |= EV_WRITE;
	conn_set_events(c, want);
}

/* The client is gone or the connection is over: closes the socket and detaches the request
 * in flight (its owner still ends it). The struct is freed by conn_release. */
static void conn_kill(struct jq_http_conn *c)
{
	if (c->dead)
		return;
	c->dead = 1;
	event_del(c->ev);
	evutil_closesocket(c->fd);
	struct jq_http_req *r = c->req;
	c->req = NULL;
	if (r) {
		r->conn = NULL;
		if (r->close_cb)
			r->close_cb(r, r->close_arg);
	}
}

static void conn_free(struct jq_http_conn *c)
{
	struct jq_http *h = c->http;
	if (c->prev)
		c->prev->next = c->next;
	else
		h->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	h->nconns--;
	event_free(c->ev);
	free(c->in);
	free(c->out);
	free(c);
}

/* No more requests on c: once its output is written, its sending side is shut down and
 * what the client still sends is read and dropped until it closes (or the timeout), so
 * that unread input does not turn the close into a reset that loses the reply (e.g. a
 * 413 sent before the body). */
static void conn_finish(struct jq_http_conn *c)
{
	c->closing = 1;
	if (c->dead || c->out_len > c->out_off || c->draining)
		return;
	c->draining = 1;
	if (shutdown(c->fd, SHUT_WR) != 0)
		conn_kill(c);
}

/* A write failed (the client is gone): nothing more is written, and c is killed on the
 * next turn of the loop, not here: the close callback must not run inside the send of the
 * code it calls back (an SSE stream would free what the sender still uses). */
static void conn_fail(struct jq_http_conn *c)
{
	if (c->failed || c->dead)
		return;
	c->failed = 1;
	event_active(c->ev, EV_READ, 0);
}

/* Frees c if it is dead and nobody up the stack still uses it. */
static int conn_release(struct jq_http_conn *c)
{
	if (c->dead && !c->busy) {
		conn_free(c);
		return 1;
	}
	return 0;
}

/* ---- writing ---- */

/* Writes what is queued; 0, or -1 after killing c (a write error). */
static int flush_out(struct jq_http_conn *c)
{
	while (c->out_len > c->out_off) {
		ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			conn_kill(c);
			return -1;
		}
		c->out_off += (size_t)n;
	}
	if (c->out_off == c->out_len) { /* all out: no buffer kept (an idle connection is small) */
		free(c->out);
		c->out = NULL;
		c->out_off = c->out_len = c->out_cap = 0;
	}
	return 0;
}

static int out_append(struct jq_http_conn *c, const char *p, size_t n)
{
	if (c->out_off && c->out_len + n > c->out_cap) { /* move the unwritten part to the front */
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (c->out_len + n > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		while (cap < c->out_len + n)
			cap *= 2;
		char *o = realloc(c->out, cap);
		if (!o)
			return -1;
		c->out = o;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
	return 0;
}

/* Sends the parts: at once if nothing is queued, the rest queued for EV_WRITE. */
static void conn_writev(struct jq_http_conn *c, struct iovec *iov, int n)
{
	if (c->dead || c->failed)
		return;
	int i = 0;
	if (c->out_len == c->out_off) {
		size_t total = 0;
		for (int k = 0; k < n; k++)
			total += iov[k].iov_len;
		ssize_t w;
		do
			w = writev(c->fd, iov, n);
		while (w < 0 && errno == EINTR);
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			conn_fail(c);
			return;
		}
		if (w == (ssize_t)total)
			return;
		size_t done = w > 0 ? (size_t)w : 0;
		while (i < n && done >= iov[i].iov_len)
			done -= iov[i++].iov_len;
		if (i < n) {
			iov[i].iov_base = (char *)iov[i].iov_base + done;
			iov[i].iov_len -= done;
		}
	}
	for (; i < n; i++)
		if (out_append(c, iov[i].iov_base, iov[i].iov_len) != 0 ||
		    (c->req && c->req->streaming && c->out_len - c->out_off > OUT_MAX)) {
			/* out of memory, or a client that reads nothing of a stream (a single
			 * reply, however large, is bounded by itself; OUT_PAUSE bounds how many) */
			conn_fail(c);
			return;
		}
	conn_update_events(c);
}

/* The Date header's value, formatted once a second. */
static const char *http_date(void)
{
	static char text[40];
	static time_t at = -1;
	time_t now = time(NULL);
	if (now != at) {
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(text, sizeof(text), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		at = now;
	}
	return text;
}

/* 1 if a reply with this status carries a body (and so a length): not 1xx, 204, 304. */
static int status_has_body(int status)
{
	return status >= 200 && status != 204 && status != 304;
}

/* The status line and headers into out (room: 512 + the request's own header lines).
 * length < 0: a streamed reply. */
static size_t format_head(const struct jq_http_req *r, int status, int64_t length, int close,
			  char *out)
{
	char *p = out;
	p += sprintf(p, "HTTP/1.%d %d %s\r\n", r->minor, status, jq_http_reason(status));
	if (r->ohdr_len) {
		memcpy(p, r->ohdr, r->ohdr_len);
		p += r->ohdr_len;
	}
	p += sprintf(p, "Date: %s\r\n", http_date());
	if (length >= 0 && status_has_body(status)) {
		memcpy(p, "Content-Length: ", 16);
		p += 16;
		p += jq_fmt_i64(p, length);
		*p++ = '\r';
		*p++ = '\n';
	} else if (length < 0 && r->minor == 1) {
		p += sprintf(p, "Transfer-Encoding: chunked\r\n");
	}
	if (close)
		p += sprintf(p, "Connection: close\r\n");
	else if (r->minor == 0)
		p += sprintf(p, "Connection: keep-alive\r\n");
	*p++ = '\r';
	*p++ = '\n';
	return (size_t)(p - out);
}

/* ---- requests ---- */

static void req_free(struct jq_http_req *r)
{
	free(r->ohdr);
	free(r);
}

/* r is answered: c moves on to the next request, or closes. */
static void req_done(struct jq_http_req *r, int close)
{
	struct jq_http_conn *c = r->conn;
	req_free(r);
	if (!c)
		return;
	c->req = NULL;
	if (close || c->closing || (c->eof && c->in_len == c->in_off)) {
		conn_finish(c);
		if (!conn_release(c))
			conn_update_events(c);
		return;
	}
	conn_update_events(c);
	/* requests already read (pipelined) are taken on the next turn of the loop, not from
	 * inside whatever answered this one (process() goes on by itself when it is up the
	 * stack) */
	if (c->in_len > c->in_off && !c->busy)
		event_active(c->ev, EV_READ, 0);
}

/* Writes the head of r's reply (length < 0: streamed), then body[0..len) unless the
 * request or the status has none. */
static void send_head(struct jq_http_req *r, int status, int64_t length, int close,
		      const char *body, size_t len)
{
	struct jq_http_conn *c = r->conn;
	if (!c || c->dead)
		return;
	char stack[2048];
	size_t need = 512 + r->ohdr_len;
	char *head = need <= sizeof(stack) ? stack : malloc(need);
	if (!head) {
		conn_fail(c);
		return;
	}
	struct iovec iov[2] = {{head, format_head(r, status, length, close, head)},
			       {(void *)body, len}};
	int with_body = r->method != JQ_HTTP_HEAD && len > 0 && status_has_body(status);
	conn_writev(c, iov, with_body ? 2 : 1);
	if (head != stack)
		free(head);
}

void jq_http_send(struct jq_http_req *r, int status, const char *body, size_t len)
{
	int close = !r->keep_alive;
	send_head(r, status, (int64_t)len, close, body, len);
	req_done(r, close);
}

void jq_http_send_start(struct jq_http_req *r, int status)
{
	struct jq_http_conn *c = r->conn;
	r->streaming = 1;
	if (r->minor == 0)
		r->keep_alive = 0; /* no length: the end of the connection ends the reply */
	if (!c || c->dead)
		return;
	send_head(r, status, -1, !r->keep_alive, NULL, 0);
	/* the client ended its side before its stream began: a stream is not a half-close's
	 * business, so it is taken as gone (else only the next write would tell) */
	if (c->eof)
		conn_fail(c);
}

void jq_http_send_chunk(struct jq_http_req *r, const char *data, size_t len)
{
	struct jq_http_conn *c = r->conn;
	if (!c || c->dead || len == 0)
		return;
	if (r->minor == 0) {
		struct iovec iov[1] = {{(void *)data, len}};
		conn_writev(c, iov, 1);
		return;
	}
	char size[24];
	int n = snprintf(size, sizeof(size), "%zx\r\n", len);
	struct iovec iov[3] = {{size, (size_t)n}, {(void *)data, len}, {"\r\n", 2}};
	conn_writev(c, iov, 3);
}

void jq_http_send_end(struct jq_http_req *r)
{
	struct jq_http_conn *c = r->conn;
	if (c && !c->dead && r->minor == 1) {
		struct iovec iov[1] = {{"0\r\n\r\n", 5}};
		conn_writev(c, iov, 1);
	}
	req_done(r, !r->keep_alive);
}

void jq_http_set_close_cb(struct jq_http_req *r, jq_http_close_cb *cb, void *arg)
{
	r->close_cb = cb;
	r->close_arg = arg;
}

int jq_http_add_header(struct jq_http_req *r, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value), need = nl + vl + 4;
	/* a value with CR or LF would split the reply: never from jobq's code, but refuse */
	if (strpbrk(value, "\r\n") || strpbrk(name, "\r\n: "))
		return -1;
	if (r->ohdr_len + need > r->ohdr_cap) {
		size_t cap = r->ohdr_cap ? r->ohdr_cap * 2 : 256;
		while (cap < r->ohdr_len + need)
			cap *= 2;
		char *o = realloc(r->ohdr, cap);
		if (!o)
			return -1;
		r->ohdr = o;
		r->ohdr_cap = cap;
	}
	char *p = r->ohdr + r->ohdr_len;
	memcpy(p, name, nl);
	p[nl] = ':';
	p[nl + 1] = ' ';
	memcpy(p + nl + 2, value, vl);
	p[nl + 2 + vl] = '\r';
	p[nl + 3 + vl] = '\n';
	r->ohdr_len += need;
	return 0;
}

int jq_http_takeover(struct jq_http_req *r, evutil_socket_t *fd, struct evbuffer *leftover)
{
	struct jq_http_conn *c = r->conn;
	if (!c || c->dead || c->failed || c->out_len > c->out_off)
		return -1;
	if (c->in_len > c->in_off &&
	    evbuffer_add(leftover, c->in + c->in_off, c->in_len - c->in_off) != 0)
		return -1;
	*fd = c->fd;
	c->dead = 1; /* the socket is the caller's now: not closed here */
	event_del(c->ev);
	c->req = NULL;
	req_free(r);
	conn_release(c);
	return 0;
}

int jq_http_method(const struct jq_http_req *r)
{
	return r->method;
}
const char *jq_http_path(const struct jq_http_req *r)
{
	return r->path;
}
const char *jq_http_query(const struct jq_http_req *r)
{
	return r->query;
}

const char *jq_http_header(const struct jq_http_req *r, const char *name)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->hdr[i].name, name) == 0)
			return r->hdr[i].value;
	return NULL;
}

size_t jq_http_header_count(const struct jq_http_req *r, const char *name)
{
	size_t n = 0;
	for (size_t i = 0; i < r->nheaders; i++)
		n += strcasecmp(r->hdr[i].name, name) == 0;
	return n;
}

const char *jq_http_body(const struct jq_http_req *r, size_t *len)
{
	*len = r->body_len;
	return r->body;
}

void jq_http_peer(const struct jq_http_req *r, char *out, size_t outlen)
{
	const struct jq_http_conn *c = r->conn;
	char addr[INET6_ADDRSTRLEN] = "?";
	if (!c) {
		snprintf(out, outlen, "?");
		return;
	}
	if (c->peer_family == AF_INET || c->peer_family == AF_INET6)
		inet_ntop(c->peer_family, c->peer_addr, addr, sizeof(addr));
	snprintf(out, outlen, c->peer_family == AF_INET6 ? "[%s]:%u" : "%s:%u", addr,
		 (unsigned)c->peer_port);
}

int jq_http_peer_loopback(const struct jq_http_req *r)
{
	const struct jq_http_conn *c = r->conn;
	static const unsigned char v6_loop[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	static const unsigned char v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (!c)
		return 0;
	if (c->peer_family == AF_INET)
		return c->peer_addr[0] == 127;
	return c->peer_family == AF_INET6 &&
	       (memcmp(c->peer_addr, v6_loop, 16) == 0 ||
		(memcmp(c->peer_addr, v4_mapped, 12) == 0 && c->peer_addr[12] == 127));
}

/* A refusal the server makes itself (malformed, too large...): a JSON error, then close. */
static void refuse(struct jq_http_conn *c, int status, int minor)
{
	const char *code = status == 408   ? "request_timeout"
			   : status == 413 ? "payload_too_large"
			   : status == 431 ? "headers_too_large"
			   : status == 501 ? "not_implemented"
			   : status == 505 ? "http_version_not_supported"
			   : status == 503 ? "out_of_memory"
					   : "bad_request";
	char body[160];
	int blen = snprintf(body, sizeof(body), "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}",
			    code, jq_http_reason(status));
	char head[256];
	int hlen = snprintf(head, sizeof(head),
			    "HTTP/1.%d %d %s\r\nContent-Type: application/json\r\nDate: %s\r\n"
			    "Content-Length: %d\r\nConnection: close\r\n\r\n",
			    minor, status, jq_http_reason(status), http_date(), blen);
	struct iovec iov[2] = {{head, (size_t)hlen}, {body, (size_t)blen}};
	conn_writev(c, iov, 2);
	c->in_off = c->in_len = 0;
	conn_finish(c);
	conn_update_events(c);
}

/* Copies a complete request (head at buf, body: body_len bytes at body_at, chunked or
 * not) into one block, its strings NUL-terminated in place. */
static struct jq_http_req *req_new(struct jq_http_conn *c, const char *buf,
				   const struct jq_http_head *h, const char *body_raw,
				   size_t body_raw_len, size_t body_len, int chunked)
{
	size_t harr = h->nheaders * sizeof(struct jq_http_hdr);
	struct jq_http_req *r = malloc(sizeof(*r) + harr + h->head_len + body_len + 1);
	if (!r)
		return NULL;
	memset(r, 0, sizeof(*r));
	r->conn = c;
	r->method = h->method;
	r->minor = h->minor;
	r->keep_alive = h->keep_alive;
	r->hdr = (struct jq_http_hdr *)r->data;
	r->nheaders = h->nheaders;
	char *head = r->data + harr;
	memcpy(head, buf, h->head_len);
	/* every span is followed by a delimiter (' ', '?', ':', CR, LF, tab) in the copy:
	 * overwritten with NUL */
	head[h->path.off + h->path.len] = '\0';
	r->path = head + h->path.off;
	if (h->has_query) {
		head[h->query.off + h->query.len] = '\0';
		r->query = head + h->query.off;
	}
	for (size_t i = 0; i < h->nheaders; i++) {
		head[h->header[i].name.off + h->header[i].name.len] = '\0';
		head[h->header[i].value.off + h->header[i].value.len] = '\0';
		r->hdr[i].name = head + h->header[i].name.off;
		r->hdr[i].value = head + h->header[i].value.off;
	}
	char *body = head + h->head_len;
	if (chunked)
		jq_http_chunked_decode(body_raw, body_raw_len, body);
	else
		memcpy(body, body_raw, body_len);
	body[body_len] = '\0';
	r->body = body;
	r->body_len = body_len;
	return r;
}

/* 1 if the head has exactly one Host header, or none in HTTP/1.0 (RFC 9112 3.2). */
static int host_ok(const char *buf, const struct jq_http_head *head)
{
	int hosts = 0;
	for (size_t i = 0; i < head->nheaders; i++)
		hosts += head->header[i].name.len == 4 &&
			 strncasecmp(buf + head->header[i].name.off, "Host", 4) == 0;
	return hosts == 1 || (hosts == 0 && head->minor != 1);
}

/* The body after the head at buf[0..len): 1 when all of it is here (*raw: its bytes as
 * sent, *body_len: decoded), 0 while it is still coming, or minus the status that refuses
 * it (a chunked body is checked as far as it came, in c->chunk). */
static int body_extent(struct jq_http_conn *c, const char *buf, size_t len,
		       const struct jq_http_head *head, size_t *raw, size_t *body_len)
{
	*raw = *body_len = 0;
	if (head->chunked)
		return jq_http_chunked_resume(buf + head->head_len, len - head->head_len,
					      c->http->max_body, &c->chunk, raw, body_len);
	if (head->content_length < 0)
		return 1;
	if ((uint64_t)head->content_length > c->http->max_body)
		return -413;
	*raw = *body_len = (size_t)head->content_length;
	return len - head->head_len >= *raw;
}

/* "100 Continue", once per request, to a client that waits for it before its body. */
static void send_continue(struct jq_http_conn *c, const struct jq_http_head *head)
{
	if (head->expect_continue && !c->continue_sent) {
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
		struct iovec iov[1] = {{(void *)cont, sizeof(cont) - 1}};
		c->continue_sent = 1;
		conn_writev(c, iov, 1);
	}
}

/* r, made of the next used bytes of c->in, becomes c's request being answered. */
static void req_begin(struct jq_http_conn *c, struct jq_http_req *r, size_t used)
{
	c->in_off += used;
	if (c->in_off == c->in_len)
		c->in_off = c->in_len = 0;
	c->continue_sent = 0;
	c->partial_since = 0; /* the next request's deadline starts with its own bytes */
	memset(&c->chunk, 0, sizeof(c->chunk)); /* the next request's body starts anew */
	c->req = r;
}

/* 501 for a method the parser does not know, then close. */
static void reply_unknown_method(struct jq_http_req *r)
{
	jq_http_add_header(r, "Content-Type", "application/json");
	static const char body[] =
		"{\"error\":{\"code\":\"not_implemented\",\"message\":\"unknown method\"}}";
	r->keep_alive = 0;
	jq_http_send(r, 501, body, sizeof(body) - 1);
}

/* Parses and dispatches the requests waiting in c->in, one at a time. */
static void process(struct jq_http_conn *c)
{
	struct jq_http *h = c->http;
	static struct jq_http_head head; /* large (64 headers): one for the process */
	c->busy++;
	while (!c->dead && !c->failed && !c->req && !c->closing && c->in_len > c->in_off &&
	       c->out_len - c->out_off < OUT_PAUSE) {
		const char *buf = c->in + c->in_off;
		size_t len = c->in_len - c->in_off;
		int rc = jq_http_parse_head(buf, len, h->max_head, &head);
		if (rc == 0)
			break;
		if (rc < 0) {
			refuse(c, -rc, 1);
			break;
		}
		if (!host_ok(buf, &head)) {
			refuse(c, 400, head.minor);
			break;
		}
		size_t raw, body_len;
		rc = body_extent(c, buf, len, &head, &raw, &body_len);
		if (rc < 0) {
			refuse(c, -rc, head.minor);
			break;
		}
		if (rc == 0) { /* the body is still coming */
			send_continue(c, &head);
			break;
		}
		struct jq_http_req *r =
			req_new(c, buf, &head, buf + head.head_len, raw, body_len, head.chunked);
		if (!r) {
			refuse(c, 503, head.minor);
			break;
		}
		req_begin(c, r, head.head_len + raw);
		if (!r->method) {
			reply_unknown_method(r);
			continue;
		}
		h->cb(r, h->arg); /* may answer at once (then the loop goes on) or later */
	}
	/* the client sends no more: once nothing whole is held back (OUT_PAUSE), what is left
	 * is no request */
	if (c->eof && !c->req && !c->dead &&
	    (c->in_len == c->in_off || c->out_len - c->out_off < OUT_PAUSE))
		conn_finish(c);
	c->busy--;
	if (!conn_release(c))
		conn_update_events(c);
}

/* ---- reading ---- */

static void on_readable(struct jq_http_conn *c)
{
	static char scratch[READ_CHUNK];
	int borrowed = 0;
	if (!c->in) { /* nothing kept: read into the shared buffer, keep only a leftover */
		c->in = scratch;
		c->in_cap = sizeof(scratch);
		borrowed = 1;
	} else if (c->in_cap - c->in_len < 4096) {
		if (c->in_off) {
			memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
			c->in_len -= c->in_off;
			c->in_off = 0;
		}
		if (c->in_cap - c->in_len < 4096) {
			char *n = realloc(c->in, c->in_cap * 2);
			if (!n) {
				conn_kill(c);
				return;
			}
			c->in = n;
			c->in_cap *= 2;
		}
	}
	ssize_t n;
	do
		n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		c->in_len += (size_t)n;
		c->busy++; /* keeps c alive across process() */
		process(c);
		c->busy--;
	} else if (n == 0 && !(c->req && c->req->streaming) &&
		   (c->req || c->out_len > c->out_off)) {
		/* the client shut down its sending side after its requests (a half-close), or
		 * closed: either way it gets the answers (if it went, a write fails) */
		c->eof = 1;
		if (!c->req && (c->in_len == c->in_off || c->out_len - c->out_off < OUT_PAUSE))
			conn_finish(
				c); /* else the EV_WRITE branch goes on with what is held back */
	} else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
		/* closed (or failed): a stream in flight ends; a partial request is dropped */
		conn_kill(c);
	}
	/* A request must arrive whole within the timeout: the idle timer alone restarts with
	 * every byte, so a client sending one now and then could hold it for ever */
	if (!c->dead && !c->req && !c->closing && c->in_len > c->in_off) {
		struct timeval now;
		event_base_gettimeofday_cached(c->http->base, &now);
		if (!c->partial_since)
			c->partial_since = now.tv_sec;
		else if (now.tv_sec - c->partial_since >= c->http->timeout_s)
			refuse(c, 408, 1);
	} else {
		c->partial_since = 0;
	}
	if (borrowed) { /* keep what is left, in a buffer of its own */
		size_t left = c->in_len - c->in_off;
		char *keep = NULL;
		size_t cap = left < 4096 ? 8192 : left * 2;
		if (left && !c->dead) {
			keep = malloc(cap);
			if (keep)
				memcpy(keep, c->in + c->in_off, left);
			else
				conn_kill(c);
		}
		c->in = keep;
		c->in_off = 0;
		c->in_len = keep ? left : 0;
		c->in_cap = keep ? cap : 0;
	} else if (c->in && c->in_off == c->in_len && !c->req) {
		free(c->in); /* idle again: no buffer kept */
		c->in = NULL;
		c->in_off = c->in_len = c->in_cap = 0;
	}
}

/* After conn_finish: what the client still sends is dropped, up to a bound. */
static void drain(struct jq_http_conn *c)
{
	static char sink[READ_CHUNK];
	ssize_t n = read(c->fd, sink, sizeof(sink));
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
		conn_kill(c);
	else if (n > 0 && (c->drained += (size_t)n) > 16 * READ_CHUNK)
		conn_kill(c); /* enough: a reset now is the client's doing */
}

static void conn_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct jq_http_conn *c = arg;
	c->busy++;
	if (c->failed) {
		conn_kill(c); /* a write failed on an earlier turn (conn_fail) */
		what = 0;
	}
	if (what & EV_WRITE) {
		if (flush_out(c) == 0 && c->out_len == c->out_off && c->closing && !c->req)
			conn_finish(c);
		else if (!c->dead && c->out_len - c->out_off < OUT_PAUSE && !c->req &&
			 c->in_len > c->in_off)
			process(c); /* requests held back while the replies piled up */
	}
	if ((what & EV_READ) && !c->dead && c->draining) {
		drain(c);
	} else if ((what & EV_READ) && !c->dead) {
		if (c->in_len > c->in_off && !c->req)
			process(c); /* pipelined requests read earlier (req_done) */
		if (!c->dead && !c->eof && !c->closing)
			on_readable(c);
	}
	if ((what & EV_TIMEOUT) && !c->dead && !(what & (EV_READ | EV_WRITE))) {
		/* idle for the timeout: close, unless a request is still being answered and the
		 * client reads what it is sent (a stream, or a slow Redis) */
		if (!c->req || c->out_len > c->out_off)
			conn_kill(c);
	}
	c->busy--;
	if (!conn_release(c))
		conn_update_events(c);
}

static void accept_cb(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
		      int salen, void *arg)
{
	struct jq_http *h = arg;
	struct jq_http_conn *c = calloc(1, sizeof(*c));
	if (!c) {
		evutil_closesocket(fd);
		return;
	}
	c->http = h;
	c->fd = fd;
	if (sa && sa->sa_family == AF_INET && salen >= (int)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		c->peer_family = AF_INET;
		c->peer_port = ntohs(s4->sin_port);
		memcpy(c->peer_addr, &s4->sin_addr, 4);
	} else if (sa && sa->sa_family == AF_INET6 && salen >= (int)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		c->peer_family = AF_INET6;
		c->peer_port = ntohs(s6->sin6_port);
		memcpy(c->peer_addr, &s6->sin6_addr, 16);
	}
	c->ev = event_new(h->base, fd, EV_READ | EV_PERSIST, conn_event_cb, c);
	if (!c->ev || event_add(c->ev, h->idle) != 0) {
		if (c->ev)
			event_free(c->ev);
		evutil_closesocket(fd);
		free(c);
		return;
	}
	c->events = EV_READ;
	c->next = h->conns;
	if (h->conns)
		h->conns->prev = c;
	h->conns = c;
	h->nconns++;
}

struct jq_http *jq_http_new(struct event_base *base, size_t max_head, size_t max_body,
			    int timeout_s, jq_http_handler *cb, void *arg)
{
	struct jq_http *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->base = base;
	h->max_head = max_head;
	h->max_body = max_body;
	h->cb = cb;
	h->arg = arg;
	h->timeout_s = timeout_s;
	struct timeval tv = {timeout_s, 0};
	/* one queue for every connection's timer: adding to it is O(1), not a heap insert */
	h->idle = event_base_init_common_timeout(base, &tv);
	if (!h->idle) {
		free(h);
		return NULL;
	}
	return h;
}

void jq_http_serve(struct jq_http *h, struct evconnlistener *lev)
{
	evconnlistener_set_cb(lev, accept_cb, h);
}

void jq_http_stop(struct jq_http *h)
{
	for (struct jq_http_conn *c = h->conns, *next; c; c = next) {
		next = c->next;
		if (c->dead)
			continue;
		if (c->req) { /* closed once answered (req_done); a stream's head is out already */
			if (!c->req->streaming)
				c->req->keep_alive = 0;
			c->closing = 1;
			conn_update_events(c);
			continue;
		}
		c->busy++;
		conn_finish(c); /* shut down now, or once the output left is written */
		c->busy--;
		if (!conn_release(c))
			conn_update_events(c);
	}
}

size_t jq_http_connections(const struct jq_http *h)
{
	return h->nconns;
}

void jq_http_free(struct jq_http *h)
{
	if (!h)
		return;
	while (h->conns) {
		struct jq_http_conn *c = h->conns;
		conn_kill(c);
		c->busy = 0;
		conn_free(c);
	}
	free(h);
}
