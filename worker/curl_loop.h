/* curl_loop.h: where curl multi meets libevent (and nowhere else).
 *
 * Easy handles added here run on the event loop without blocking it; when
 * one finishes, its done callback runs on the loop with curl's result. */
#ifndef JQ_CURL_LOOP_H
#define JQ_CURL_LOOP_H

#include <curl/curl.h>
#include <event2/event.h>

struct jq_curl_loop;
typedef void jq_curl_done_fn(CURL *easy, CURLcode rc, void *arg);

struct jq_curl_loop *jq_curl_loop_new(struct event_base *base);
/* Removes any handles still running (their callbacks are not called). */
void jq_curl_loop_free(struct jq_curl_loop *l);

/* Starts easy (which stays the caller's); done(easy, rc, arg) runs once when it
 * ends, after which the handle is no longer in the loop. -1: not started, no callback. */
int jq_curl_loop_add(struct jq_curl_loop *l, CURL *easy, jq_curl_done_fn *done, void *arg);
/* Stops a running transfer (timeout, cancel); its callback is never called. */
void jq_curl_loop_remove(struct jq_curl_loop *l, CURL *easy);

#endif
