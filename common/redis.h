/* redis.h: one asynchronous Redis connection on a libevent loop that reconnects by itself.
 *
 * On every (re)connect it authenticates, selects the database and loads the
 * scripts; only then is it "ready". With a redis-sentinel:// URL it first asks the
 * sentinels where the primary is (sentinel.h) and checks with ROLE that it is one; it goes
 * back to the sentinels when the connection is lost, when a sentinel announces a
 * failover (+switch-master), and when Redis answers READONLY or UNBLOCKED (the primary
 * became a replica). While not ready, jq_redis_ctx() is NULL
 * and callers must answer "unavailable" rather than queue work. A command's
 * callback gets a NULL reply when the connection drops before the answer:
 * treat that as "not done". Reconnects back off from 100 ms to 2 s.
 * With a redis-cluster:// URL the handle is a Redis Cluster client (redis_cluster.h): the
 * same calls, each command routed to the master of its key's slot; it is ready while
 * every slot's master is. */
#ifndef JQ_REDIS_H
#define JQ_REDIS_H

#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdint.h>
#include <stddef.h>

#include "metrics.h"
#include "redis_url.h"
#include "scripts.h"

struct jq_redis;
/* Called on the loop whenever the connection becomes ready (1) or is lost (0). */
typedef void jq_redis_state_cb(struct jq_redis *r, int ready, void *arg);

/* Starts connecting at once; never fails for a Redis that is down (it retries).
 * name appears in logs. cb may be NULL. */
struct jq_redis *jq_redis_new(struct event_base *base, const struct jq_redis_url *url,
			      const char *name, jq_redis_state_cb *cb, void *arg);
/* A bound on waiting for Redis (0, the default: none). When commands are awaiting replies
 * and none has come for ms, the connection is dropped as if Redis had closed it: their
 * callbacks get a NULL reply, and it reconnects (with backoff). For connections whose
 * commands answer at once: not for blocking commands or pub/sub. */
void jq_redis_set_reply_timeout(struct jq_redis *r, int64_t ms);
/* Drops the connection; pending callbacks run with a NULL reply first. */
void jq_redis_free(struct jq_redis *r);

/* Attaches a hiredis async context to base with jobq's own libevent hooks (redis.c says
 * why not hiredis' adapter): 0, or -1 when out of memory. For the side connections of
 * other modules (Sentinel). */
int jq_redis_attach(redisAsyncContext *ac, struct event_base *base);

/* The context while ready, else NULL (on a cluster: one master's, while all are ready;
 * a test of readiness). */
redisAsyncContext *jq_redis_ctx(const struct jq_redis *r);

/* How often this process met each kind of Redis trouble, over all its connections,
 * since it started. Error replies are counted as they are parsed, whoever sent the
 * command; a failed (re)connect attempt counts once per attempt. */
uint64_t jq_redis_errors(enum jq_redis_error_kind kind);

/* The integer in a reply element: an integer reply, or a string holding one;
 * dflt for anything else (nil, an error, junk). */
int64_t jq_redis_reply_i64(const redisReply *r, int64_t dflt);

/* One command of argc arguments (argvlen NULL: NUL-terminated), written in RESP here:
 * hiredis' printf-like formatting parses its format string on every call, which was a
 * large part of a short command's cost (docs/benchmarks.md). On a cluster it goes to the
 * master of argv[key]'s slot (key -1: a command without keys, to one node, the same
 * while it is up: SUBSCRIBE and UNSUBSCRIBE meet there).
 * Returns -1 (and the callback is never called) when not ready. */
int jq_redis_command(struct jq_redis *r, redisCallbackFn *cb, void *priv, int key, int argc,
		     const char **argv, const size_t *argvlen);
/* EVALSHA of a loaded script with nkeys keys followed by nargs arguments (on a cluster:
 * to the master of the first key's slot).
 * Returns -1 (and the callback is never called) when not ready. */
int jq_redis_eval(struct jq_redis *r, enum jq_script_id id, redisCallbackFn *cb, void *priv,
		  int nkeys, int nargs, const char **argv, const size_t *argvlen);
/* WAIT replicas timeout_ms: how many replicas have the writes sent before on r. On a
 * cluster, on every master written to since the last WAIT, the fewest of their answers
 * (jq_cluster_conn_wait; the callback's ac is NULL there). -1 when not ready. */
int jq_redis_wait(struct jq_redis *r, int64_t replicas, int64_t timeout_ms, redisCallbackFn *cb,
		  void *priv);
/* A command already written in RESP (len bytes, NUL after them), on a single-node
 * connection (the cluster client's own, to each master); -1 when not ready or on a
 * cluster handle. */
int jq_redis_formatted(struct jq_redis *r, redisCallbackFn *cb, void *priv, const char *cmd,
		       size_t len);
/* On a cluster: until jq_redis_route(r, NULL, 0), every command goes, as it is, to the
 * master of key's slot (a MULTI ... EXEC group: one connection). -1 when that master's
 * connection is not ready. A no-op (0) on one Redis. */
int jq_redis_route(struct jq_redis *r, const char *key, size_t len);

#endif
