/* pool.h: a fixed thread pool for CPU work whose completions run back on the event loop.
 *
 * work() runs on a pool thread and must not touch the loop; done() runs later
 * on the loop thread, exactly once per accepted submit, in no set order. */
#ifndef JQ_POOL_H
#define JQ_POOL_H

#include <event2/event.h>

struct jq_pool;
typedef void jq_pool_fn(void *arg);

/* NULL on failure (threads or eventfd could not be created). */
struct jq_pool *jq_pool_new(struct event_base *base, int threads);
/* -1 if the pool is shutting down or out of memory; then neither fn is called. */
int jq_pool_submit(struct jq_pool *p, jq_pool_fn *work, jq_pool_fn *done, void *arg);
/* Tasks submitted but not yet started. */
int jq_pool_queued(struct jq_pool *p);
/* Stops the threads after the work they are running; queued work that never
 * started is dropped (its done is not called). Safe with NULL. */
void jq_pool_free(struct jq_pool *p);

#endif
