/* events.h: live job events: GET /jobs/{id}/events as Server-Sent Events.
 *
 * The scripts PUBLISH every change of a job on "<job key>:events" (docs/redis.md).
 * The broker keeps one subscriber connection; a channel is subscribed while at
 * least one client watches that job, and every message goes to each of them as
 * one SSE event. A stream starts with the job's current state and ends after a
 * terminal one (completed, failed, cancelled). */
#ifndef JQ_EVENTS_H
#define JQ_EVENTS_H

#include "broker.h"

struct jq_events;

/* Starts the subscriber connection (it reconnects by itself). */
struct jq_events *jq_events_new(struct jq_broker *b, const struct jq_redis_url *url);
/* Ends every open stream and drops the connection. Safe with NULL. */
void jq_events_free(struct jq_events *ev);
/* Open streams, for shutdown and metrics. */
int64_t jq_events_streams(const struct jq_events *ev);

#endif
