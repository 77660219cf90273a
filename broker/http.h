/* http.h: the broker's HTTP/1.1 server on a libevent loop.
 *
 * Why not libevent's evhttp: per request it made 11 system calls where 2 do (it stops
 * reading while a request is handled, registers for writing to send the reply and reads
 * the socket's size with an ioctl first: three epoll_ctl and an ioctl per request), copied
 * every header into a list, and kept 13 blocks per idle connection. Here a
 * connection is one struct with one persistent event: it is read into a shared buffer,
 * a complete request is copied into one block (head, headers and body, NUL-terminated in
 * place), and a reply is written with one write() as soon as it is ready; only a reply the
 * socket cannot take at once waits for EV_WRITE. (docs/benchmarks.md has the figures.)
 *
 * What it serves: HTTP/1.0 and 1.1 (http_parse.h), keep-alive, pipelining (requests of a
 * connection are answered one at a time, in order), Content-Length and chunked bodies up
 * to max_body (413 past it, sent before the body is read), Expect: 100-continue, HEAD (the
 * length of the body a GET would get, no body), streamed replies (chunked), and handing a
 * connection over for an Upgrade. Malformed requests get a JSON error and the connection
 * is closed. A connection is closed when idle for timeout_s seconds, and when its client
 * does not read its replies for that long. Single-threaded: every call on the loop. */
#ifndef JQ_HTTP_H
#define JQ_HTTP_H

#include <event2/event.h>
#include <event2/listener.h>
#include <stddef.h>
#include <stdint.h>

#include "http_parse.h"

struct evbuffer;
struct jq_http;
struct jq_http_req;

/* Called once per request; the request must be answered exactly once, now or later, with
 * jq_http_send, jq_http_send_start .. jq_http_send_end, or jq_http_takeover. */
typedef void jq_http_handler(struct jq_http_req *req, void *arg);

struct jq_http *jq_http_new(struct event_base *base, size_t max_head, size_t max_body,
			    int timeout_s, jq_http_handler *cb, void *arg);
/* Serves the connections lev accepts (the listener is the caller's; its callback becomes
 * the server's). */
void jq_http_serve(struct jq_http *h, struct evconnlistener *lev);
/* Takes no more requests on the open connections (a graceful stop; the caller closes
 * its listener): an idle one is closed now; the reply to a request being answered says
 * "Connection: close" and its connection closes once it is written. Requests read behind
 * it (pipelined) are not taken: the close after a reply tells the client they were not
 * (RFC 9112 9.3.2), and it may send them again elsewhere. */
void jq_http_stop(struct jq_http *h);
/* Closes every connection (requests in flight are detached: answering them frees them
 * without writing) and frees h. */
void jq_http_free(struct jq_http *h);
/* Open connections. */
size_t jq_http_connections(const struct jq_http *h);

/* ---- the request ---- */
int jq_http_method(const struct jq_http_req *r);        /* one JQ_HTTP_* bit */
const char *jq_http_path(const struct jq_http_req *r);  /* as sent: not percent-decoded */
const char *jq_http_query(const struct jq_http_req *r); /* after '?', or NULL */
/* The first value of a header (case-insensitive name), or NULL. */
const char *jq_http_header(const struct jq_http_req *r, const char *name);
/* How many times a header (case-insensitive name) was sent. */
size_t jq_http_header_count(const struct jq_http_req *r, const char *name);
/* The body (NUL-terminated, may hold NULs) and its length. */
const char *jq_http_body(const struct jq_http_req *r, size_t *len);
/* "addr:port" of the client ("?" once it went away). */
void jq_http_peer(const struct jq_http_req *r, char *out, size_t outlen);
/* 1 if the client connected from a loopback address (127.0.0.0/8, ::1, or ::ffff:127.x). */
int jq_http_peer_loopback(const struct jq_http_req *r);

/* ---- the answer ---- */
/* A header of the reply (name and value are copied). The server writes Date,
 * Content-Length or Transfer-Encoding, and Connection itself. -1 when out of memory. */
int jq_http_add_header(struct jq_http_req *r, const char *name, const char *value);
/* The whole reply; frees r. For HEAD, the body is left out and its length kept. */
void jq_http_send(struct jq_http_req *r, int status, const char *body, size_t len);
/* A reply sent in parts (chunked in HTTP/1.1; in HTTP/1.0 the connection's end ends it). */
void jq_http_send_start(struct jq_http_req *r, int status);
void jq_http_send_chunk(struct jq_http_req *r, const char *data, size_t len);
void jq_http_send_end(struct jq_http_req *r); /* frees r */
/* Called once if the client goes away before r is answered (r stays valid and must still
 * be ended: jq_http_send_end or jq_http_send frees it without writing). */
typedef void jq_http_close_cb(struct jq_http_req *r, void *arg);
void jq_http_set_close_cb(struct jq_http_req *r, jq_http_close_cb *cb, void *arg);
/* Hands the connection to the caller (an Upgrade): its socket, with what the client sent
 * after this request appended to leftover; frees r and forgets the connection. -1 (and
 * nothing changed) if the client went away or a reply is still being written. */
int jq_http_takeover(struct jq_http_req *r, evutil_socket_t *fd, struct evbuffer *leftover);

#endif
