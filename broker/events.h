/* events.h: live job events: GET /jobs/{id}/events as Server-Sent Events, and watchers
 * of jobs and queues for other modules (the WebSocket endpoint, ws.h).
 *
 * The scripts PUBLISH every change of a job on "<job key>:events", and the same change as
 * "<id> <message>" on its queue's "<queue list key>:events" (docs/redis.md). The broker
 * keeps one subscriber connection; a channel is subscribed while at least one client
 * (stream or watcher) follows that job or queue, and every message goes to each of them.
 * A stream starts with the job's current state and ends after a terminal one
 * (completed, failed, cancelled). */
#ifndef JQ_EVENTS_H
#define JQ_EVENTS_H

#include <jansson.h>
#include <stdint.h>

#include "redis.h"

struct jq_broker;

struct jq_events;

/* Starts the subscriber connection (it reconnects by itself). */
struct jq_events *jq_events_new(struct jq_broker *b, const struct jq_redis_url *url);
/* Ends every open stream and watch (watchers get JQ_EVENT_END "unavailable") and drops
 * the connection. Safe with NULL. */
void jq_events_free(struct jq_events *ev);
/* Ends the SSE streams whose token (the one that opened them, auth.h jq_auth_current) no
 * longer holds the read scope: revoked. Safe with NULL. */
struct jq_auth;
void jq_events_check_grants(struct jq_events *ev, const struct jq_auth *a);
/* Open streams, for shutdown and metrics. */
int64_t jq_events_streams(const struct jq_events *ev);
/* Live watches. */
int64_t jq_events_watchers(const struct jq_events *ev);

/* The JSON object one change is sent as: {"id", "state", "status" (the seed's string),
 * "progress": {"done", "total"}, "seq"}: the data of an SSE event and of a WebSocket
 * "event". seq numbers a job's events (its hash's 'seq' field, lib/events.lua: 0 is the
 * enqueue, each later event one more); -1 leaves it out (an event from a script of an
 * older jobq). NULL when out of memory; the caller owns the reference. */
json_t *jq_events_data(int64_t id, const char *state, int64_t done, int64_t total,
		       const char *error, int64_t seq);

/* ---- watchers ---- */

enum jq_events_kind { JQ_EVENTS_JOB, JQ_EVENTS_QUEUE };

enum jq_event_kind {
	JQ_EVENT_READY, /* subscribed: for a job, told once it is known to exist, and its
			   current state follows; for a queue, every change from now on */
	JQ_EVENT_STATE, /* a job's state or progress */
	JQ_EVENT_END    /* the watch is over and freed once the callback returns */
};

/* What a watcher is told. Strings live only during the callback. */
struct jq_event {
	enum jq_event_kind kind;
	int64_t id;        /* the job (0 in a queue's READY/END) */
	const char *queue; /* the watched queue; "" when a job is watched */
	/* JQ_EVENT_STATE: */
	const char *state;   /* pending, scheduled, running, completed, failed, cancelled */
	int64_t done, total; /* a completed job's: its final progress */
	const char *error;   /* the reason of a failure or retry, else NULL */
	int64_t seq;         /* the job's event number (jq_events_data), -1: unknown */
	/* JQ_EVENT_END: "done" (a job's terminal state was sent), "not_found" (no such
	 * job), "unavailable" (Redis went away or the broker is stopping) */
	const char *end;
};

/* Called on the loop. It must not call jq_events_watch or jq_events_unwatch (defer
 * them): it may only record or send. */
typedef void jq_events_cb(void *arg, const struct jq_event *e);

struct jq_events_watch;

/* Follows a job (kind JQ_EVENTS_JOB, id >= 1; queue ignored) or a queue (a valid name).
 * A job's watch tells READY, its current state, then every change, each once and in the
 * order of their seq, and ends by itself after a terminal state (END "done"); a job that
 * does not exist gets END "not_found" alone, no READY. A queue's watch tells READY then
 * every change of its jobs until unwatched. A queue's READY may be told before this
 * returns. NULL (and cb is never called) when Redis is unavailable,
 * the arguments are invalid or memory is short. */
struct jq_events_watch *jq_events_watch(struct jq_events *ev, enum jq_events_kind kind, int64_t id,
					const char *queue, jq_events_cb *cb, void *arg);
/* Stops a watch that has not ended; its callback is not called again. Safe with NULL. */
void jq_events_unwatch(struct jq_events_watch *w);

#endif
