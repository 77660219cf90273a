/* reply.h: what every route uses to read its request and answer it.
 *
 * Every answer is JSON (docs/api.md): a value, or {"error": {"code", "message"}} with
 * the status that says why. Each reply is counted by status for /metrics. A request that
 * waits on Redis holds a jq_pending, counted in the broker's in_flight (a graceful stop
 * waits for those). */
#ifndef JQ_REPLY_H
#define JQ_REPLY_H

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "job.h"

struct jq_broker;

/* Replies with a JSON value (takes the reference) and the given status. */
void jq_reply_json(struct jq_http_req *req, int status, json_t *body);
/* Replies with JSON text the caller built (copied). */
void jq_reply_text(struct jq_http_req *req, int status, const char *json, size_t len);
/* Replies {"error": {"code", "message"}}; a message that is not valid UTF-8 (it may quote
 * the client's input) becomes "invalid input". */
void jq_reply_error(struct jq_http_req *req, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Replies 503 redis_unavailable. */
void jq_reply_unavailable(struct jq_http_req *req);
/* 409 {"error": {"code": "conflict", "message": msg}, "id": holder} (and "index" when index
 * >= 0): a unique_key is held by live job holder (enqueue, dead retry). */
void jq_reply_key_held(struct jq_http_req *req, int64_t holder, int64_t index, const char *msg);

/* Counts a response with this status (for answers sent without the helpers above). */
void jq_broker_count_response(int status);
/* The responses counted by status, in Prometheus text, appended to out. */
void jq_reply_status_metrics(struct evbuffer *out);

/* 1 if the Content-Type value ct (NULL: none) is want, parameters aside. */
int jq_content_type_is(const char *ct, const char *want);
/* 0 if the request's Content-Type is JSON (or none: the body is then empty, guard.h
 * refused any other), else answers 415 and -1. */
int jq_request_is_json(struct jq_http_req *req);
/* The body as JSON, or an error reply (400 or 415) and NULL. */
json_t *jq_request_json(struct jq_http_req *req);
/* The request's query parameters, percent-decoded: 0, and the caller frees them with
 * evhttp_clear_headers; -1 after answering 400 (malformed, or a %00 in it). */
int jq_request_query(struct jq_http_req *req, struct evkeyvalq *out);
/* The request's Idempotency-Key header: 0 and *key = NULL when absent, 0 with *key set
 * when valid (jq_idempotency_key_valid), -1 after answering 400. */
int jq_request_idempotency_key(struct jq_http_req *req, const char **key);
/* The request's W3C traceparent header: 0 and *tp = NULL when absent, 0 with *tp set
 * when valid (jq_traceparent_valid), -1 after answering 400. */
int jq_request_traceparent(struct jq_http_req *req, const char **tp);

/* A request waiting on one Redis reply: what its callback needs. _new counts it in
 * b->in_flight (or answers 503 itself and gives NULL); _free uncounts and frees it. */
struct jq_pending {
	struct jq_broker *b;
	struct jq_http_req *req;
	int64_t id;                       /* the job's, or a number the route needs */
	char name[JQ_QUEUE_NAME_MAX + 1]; /* a queue's, or "" */
	int flag;
	int64_t arg; /* one more number the route needs */
};
struct jq_pending *jq_pending_new(struct jq_broker *b, struct jq_http_req *req, int64_t id);
void jq_pending_free(struct jq_pending *p);
/* After a store call for p that returned rc: on failure to send (rc != 0) answers 503
 * and frees p. Returns rc. */
int jq_pending_sent(struct jq_pending *p, int rc);

#endif
