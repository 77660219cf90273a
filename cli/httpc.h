/* httpc.h: jobctl's HTTP requests to the broker; the only file that knows libcurl.
 *
 * One struct jq_httpc per program run holds one curl easy handle, so the
 * polling of --wait reuses its connection. Requests are blocking and bounded:
 * a timeout for the whole request and JQ_HTTPC_BODY_MAX for the answer. A
 * stream (jq_httpc_stream, for watch's text/event-stream) has no time limit
 * of its own but one for silence. */
#ifndef JQ_HTTPC_H
#define JQ_HTTPC_H

#include <signal.h>
#include <stddef.h>

#define JQ_HTTPC_BODY_MAX ((size_t)8 * 1024 * 1024) /* longest answer body accepted */
#define JQ_HTTPC_URL_MAX 2048                       /* longest broker base URL accepted */
#define JQ_HTTPC_TOKEN_MAX 256                      /* longest API token accepted */

enum jq_httpc_method { JQ_HTTPC_GET, JQ_HTTPC_POST, JQ_HTTPC_DELETE, JQ_HTTPC_PUT };

/* What went wrong with the last request (struct jq_httpc.err). */
enum jq_httpc_err {
	JQ_HTTPC_OK = 0,
	JQ_HTTPC_EURL,         /* jq_httpc_init: the base URL is not http(s):// or too long */
	JQ_HTTPC_ECONNECT,     /* the broker could not be reached */
	JQ_HTTPC_ETIMEOUT,     /* no complete answer within timeout_ms */
	JQ_HTTPC_ETOOBIG,      /* the answer body is larger than JQ_HTTPC_BODY_MAX */
	JQ_HTTPC_EINTERRUPTED, /* *interrupted became non-zero during the request */
	JQ_HTTPC_EIDLE,        /* jq_httpc_stream: nothing arrived for idle_ms */
	JQ_HTTPC_EOTHER,       /* anything else (bad URL, broken connection, out of memory) */
};

struct jq_httpc {
	void *curl;                         /* CURL *; owned */
	char base[JQ_HTTPC_URL_MAX + 1];    /* broker URL without trailing '/' */
	long timeout_ms;                    /* for a whole request, connection included */
	volatile sig_atomic_t *interrupted; /* optional; a request stops soon after it is set */
	int err;                            /* enum jq_httpc_err of the last request */
	char errstr[512];                   /* why, when err != 0 (the URL cut at 256 bytes) */
	char authorization[JQ_HTTPC_TOKEN_MAX + 32]; /* "Authorization: Bearer <token>", or "" */
};

/* An answer. body is always NUL-terminated (it may hold NULs of its own; len is
 * authoritative) and owned by the reply: jq_httpc_reply_release frees it. */
struct jq_httpc_reply {
	long status; /* HTTP status code */
	char *body;
	size_t len;
};

/* Call once per process before jq_httpc_init, and _cleanup once at the end. */
int jq_httpc_global_init(void);
void jq_httpc_global_cleanup(void);

/* Prepares h for the broker at base_url ("http://host:port", an optional path
 * and trailing '/' allowed). -1 with h->errstr set if base_url is not an
 * http:// or https:// URL of at most JQ_HTTPC_URL_MAX bytes or curl fails;
 * jq_httpc_release must be called either way. */
int jq_httpc_init(struct jq_httpc *h, const char *base_url, long timeout_ms);
void jq_httpc_release(struct jq_httpc *h);
/* Every later request of h carries "Authorization: Bearer <token>". -1 (nothing set) if
 * the token is empty, longer than JQ_HTTPC_TOKEN_MAX or holds a space or control
 * character. */
int jq_httpc_set_token(struct jq_httpc *h, const char *token);

/* Sends method base+path (path starts with '/' and holds the query, already
 * escaped). body, if not NULL, is sent as application/json with a POST or PUT; a
 * POST without a body sends an empty one, a GET or DELETE never sends one.
 * headers, if not NULL, is a NULL-terminated list of extra "Name: value"
 * lines, sent as they are: the caller keeps CR and LF out of them.
 * Returns 0 when the broker answered, whatever the status (r is filled and
 * must be released), and -1 otherwise (h->err and h->errstr say why, r is
 * left empty). r must have been _init'ed. */
int jq_httpc_request(struct jq_httpc *h, enum jq_httpc_method method, const char *path,
		     const char *body, const char *const *headers, struct jq_httpc_reply *r);

/* Takes the next piece of a streamed answer body; returns 0 to go on, anything
 * else to stop the transfer. */
typedef int (*jq_httpc_data_cb)(void *arg, const char *data, size_t len);

/* Sends GET base+path with "Accept: text/event-stream" and streams the answer:
 * a 2xx answer's body goes to on_data piece by piece as it arrives (r->body
 * stays empty); any other answer's body is collected in r as by
 * jq_httpc_request. The connection must be made within h->timeout_ms; after
 * that, the whole transfer may last max_ms (0: no limit, else ETIMEOUT), and
 * fails with JQ_HTTPC_EIDLE when no byte of body arrives for idle_ms (0: no
 * limit). Returns 0 when the answer ended: the server finished it, or on_data
 * asked to stop (*stopped is then 1). Returns -1 otherwise (h->err, h->errstr
 * as for jq_httpc_request); r->status is then the answer's status if it had
 * begun (a stream that broke off), else 0, and r->body is NULL. */
int jq_httpc_stream(struct jq_httpc *h, const char *path, long max_ms, long idle_ms,
		    jq_httpc_data_cb on_data, void *arg, int *stopped, struct jq_httpc_reply *r);

void jq_httpc_reply_init(struct jq_httpc_reply *r);
void jq_httpc_reply_release(struct jq_httpc_reply *r);

/* URL-encodes s for a query parameter value; the result is malloc'ed (free it)
 * or NULL when out of memory. */
char *jq_httpc_escape(struct jq_httpc *h, const char *s);

#endif
