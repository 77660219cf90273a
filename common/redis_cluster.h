/* redis_cluster.h: a Redis Cluster client on the loop, the part of struct jq_redis that a
 * redis-cluster:// URL uses (Debian 12's hiredis 0.14 knows no Cluster). redis.c calls it;
 * nothing else does.
 *
 * It keeps the slot map from CLUSTER SLOTS (read from any node: first the URL's, then
 * the masters it named), refreshed on MOVED, when a connection is lost, every 10 s, and
 * every 500 ms while not ready. It holds one single-node struct jq_redis per master (each
 * authenticates and loads the scripts on connect, as any connection does), and routes a
 * command by its key's slot (common/store/cluster.h). A routed command is kept, formatted,
 * until its answer; the answer passes jq_cluster_next first: MOVED (map updated, resent
 * to the node named), ASK (ASKING and the command on the node named), TRYAGAIN and
 * CLUSTERDOWN (resent after a backoff), NOSCRIPT (SCRIPT LOAD on that node, resent), a
 * bounded number of times (JQ_CLUSTER_TRIES_MAX); then the caller's callback gets the
 * answer. A lost connection gives its commands' callbacks a NULL reply, as on one Redis.
 * Commands without a key (SUBSCRIBE, UNSUBSCRIBE, PING) go as they are to one node, the
 * same while it is up; while routed (jq_cluster_conn_route) every command goes as it is
 * to the one node (MULTI ... EXEC).
 *
 * Ready while the map covers every slot and every master's connection is ready; the
 * state callback is called on each change, with the owner handle. Never blocks. */
#ifndef JQ_REDIS_CLUSTER_H
#define JQ_REDIS_CLUSTER_H

#include <event2/event.h>
#include <hiredis/async.h>
#include <stddef.h>
#include <stdint.h>

#include "redis.h"

struct jq_cluster_conn;

/* Starts asking the URL's nodes at once; NULL when out of memory. */
struct jq_cluster_conn *jq_cluster_conn_new(struct event_base *base, const struct jq_redis_url *url,
					    const char *name, struct jq_redis *owner,
					    jq_redis_state_cb *cb, void *arg);
/* Drops every connection: callbacks of commands awaiting an answer (or a resend) get a
 * NULL reply first. */
void jq_cluster_conn_free(struct jq_cluster_conn *c);
/* A master's context while the cluster is ready, else NULL. */
redisAsyncContext *jq_cluster_conn_ctx(const struct jq_cluster_conn *c);
/* jq_redis_set_reply_timeout on every master's connection, now and later ones. */
void jq_cluster_conn_set_reply_timeout(struct jq_cluster_conn *c, int64_t ms);
/* Sends cmd (len bytes of RESP, malloc'ed: the cluster owns it from now, sent or not),
 * routed by key (NULL: none); script is the command's enum jq_script_id, or -1. 0 when
 * sent (cb is called once), -1 when not (no ready connection to the slot's master). */
int jq_cluster_conn_send(struct jq_cluster_conn *c, redisCallbackFn *cb, void *priv, int script,
			 const char *key, size_t keylen, char *cmd, size_t len);
/* How many times this process took each step (enum jq_cluster_action) for a routed
 * command's answer, over all its cluster handles: JQ_CLUSTER_DELIVER counts answers
 * given to callers; the others, redirections, retries and script loads. */
uint64_t jq_cluster_conn_steps(int action);
/* WAIT replicas timeout_ms on every master a command went to since its last WAIT (one
 * node's when none): cb gets one integer answer, the fewest replicas any of them
 * confirmed; 0 when a write may have escaped the WAITs (a master's connection lost, a
 * command redirected or waiting to be resent meanwhile); the first error answer if any.
 * Its ac argument is NULL. -1 when not ready (cb is never called). */
int jq_cluster_conn_wait(struct jq_cluster_conn *c, int64_t replicas, int64_t timeout_ms,
			 redisCallbackFn *cb, void *priv);
/* See jq_redis_route. */
int jq_cluster_conn_route(struct jq_cluster_conn *c, const char *key, size_t len);

#endif
