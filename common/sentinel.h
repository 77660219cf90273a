/* sentinel.h: finding a Redis primary through Redis Sentinel, and hearing when it moves.
 *
 * As Redis' guidelines for Sentinel clients say: the sentinels of the URL are asked in
 * turn, each with a short timeout, for the address of the primary they know by the
 * master name (SENTINEL get-master-addr-by-name); the first that answers moves to the
 * front of the list, so the next discovery asks it first. The caller then connects and
 * checks with ROLE that the address is a primary (redis.c). A subscription to
 * +switch-master on every sentinel tells of a failover at once; a lost connection or a
 * READONLY answer also sends the caller back to discovery.
 * All on the loop, never blocking: connections are hiredis async ones on libevent. */
#ifndef JQ_SENTINEL_H
#define JQ_SENTINEL_H

#include <event2/event.h>

#include "redis_url.h"

#define JQ_SENTINEL_TIMEOUT_MS 500 /* per sentinel asked */

struct jq_sentinel;
/* The primary's address (host NUL-terminated, valid during the call), or host NULL when
 * no sentinel named one. */
typedef void jq_sentinel_found_fn(void *arg, const char *host, int port);
/* A sentinel announced that the primary moved (+switch-master for our master name) to
 * host:port (host NUL-terminated, valid during the call), or host NULL when the message
 * did not say where in a form read here. Every sentinel announces the same failover:
 * the callee should leave only a primary other than host:port. */
typedef void jq_sentinel_switch_fn(void *arg, const char *host, int port);

/* url: a redis-sentinel:// URL (its sentinels, master name); name appears in logs.
 * NULL when out of memory. */
struct jq_sentinel *jq_sentinel_new(struct event_base *base, const struct jq_redis_url *url,
				    const char *name, jq_sentinel_switch_fn *on_switch, void *arg);
/* Starts a discovery: cb is called once, later, on the loop (never from this call). A
 * discovery still running is abandoned (its callback is not called). */
void jq_sentinel_discover(struct jq_sentinel *s, jq_sentinel_found_fn *cb, void *arg);
/* Subscribes to +switch-master on every sentinel that has no live subscription. */
void jq_sentinel_watch(struct jq_sentinel *s);
/* Closes every connection; no callback is called after. NULL: no-op. */
void jq_sentinel_free(struct jq_sentinel *s);

#endif
