/* fetcher.h: taking jobs from Redis, as many as the worker has free slots.
 *
 * A fetch (fetch.lua) takes and leases up to a batch of jobs in one call, on the command
 * connection. When it comes back short, the queues are empty: the worker waits in Redis
 * (BLPOP on the queues' wake lists, on the blocking connection) with the next fetch
 * queued right behind it, which Redis runs the moment the BLPOP returns. A queue held
 * back by its rate limit is fetched again by a timer, as no wake token comes for it. */
#ifndef JQ_FETCHER_H
#define JQ_FETCHER_H

#include <event2/event.h>
#include <stdint.h>

struct jq_worker;

/* Fetches when there are free slots, nothing is being fetched and both connections are
 * up; else nothing (the next event that frees a slot or a connection calls it again). */
void jq_fetch_maybe(struct jq_worker *w);
/* The worker's rate timer: a queue held back by its rate limit may start jobs again. */
void jq_fetch_rate_due(evutil_socket_t fd, short what, void *arg);

/* The order in which one fetch serves n queues (it drains the first before the next):
 * with weighted 0, as listed; else a fresh weighted shuffle (random()), so each queue
 * comes first in proportion to its weight (each >= 1) and none starves. order gets a
 * permutation of 0..n-1. */
void jq_queue_order(int n, const int64_t *weights, int weighted, int *order);

#endif
