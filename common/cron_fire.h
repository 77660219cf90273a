/* cron_fire.h: the firer of periodic schedules, on a libevent loop and a jq_redis
 * connection; brokers and workers each run one.
 *
 * A timer wakes at the next due run (at least once a second, so schedules that
 * other processes create are seen), asks Redis which schedules are due by its
 * clock (cron_due.lua), and stores one job for each: an id (INCR), then in one
 * MULTI cron_claim.lua (compare-and-set of the schedule's next run) and the
 * enqueue script with the Idempotency-Key "cron:<name>:<tick s>". Of any number
 * of firers racing for a tick, the one whose claim wins stores the job; the
 * claims of the others mark the key so that their enqueue stores nothing.
 * Missed ticks (nothing ran) fire once, for the latest of them, like cron.
 *
 * Schedules of a --schedule-file are written (created, or replaced when their
 * definition changed; an unchanged one keeps its next run and history) each time
 * the connection becomes ready. Nothing here blocks the loop. */
#ifndef JQ_CRON_FIRE_H
#define JQ_CRON_FIRE_H

#include <event2/event.h>
#include <stddef.h>

#include "keys.h"
#include "redis.h"
#include "schedule.h"

#define JQ_CRON_FIRE_BATCH 100         /* due schedules taken per cron_due call */
#define JQ_CRON_FIRE_MAX_SLEEP_MS 1000 /* the longest the firer sleeps */
#define JQ_CRON_IDEM_WINDOW_MS 3600000 /* life of a tick's idempotency key */

struct jq_cron_firer;

/* Takes config (n schedules from jq_schedule_file_load, or NULL) and frees it
 * in _free. Does nothing until the first jq_cron_firer_ready(f, 1). NULL when
 * out of memory (config is freed then too). */
struct jq_cron_firer *jq_cron_firer_new(struct event_base *base, struct jq_redis *r,
					const struct jq_keys *keys, struct jq_schedule *config,
					size_t n);
/* Call after jq_redis_free of its connection (which answers what is in flight). */
void jq_cron_firer_free(struct jq_cron_firer *f);

/* The owner's jq_redis state callback passes its state on: on ready the config
 * schedules are written and firing starts; on lost it stops. */
void jq_cron_firer_ready(struct jq_cron_firer *f, int ready);

/* A schedule was created or changed through this process: look again now, so a
 * first run sooner than the next wake-up is on time. */
void jq_cron_firer_kick(struct jq_cron_firer *f);

/* Writes schedule s (mode "create" or "replace", source "api" or "config") with
 * schedules.lua; its first run is the next tick after the local clock's now. cb
 * gets the script's reply. -1 (cb never called) when Redis is not ready. */
int jq_cron_put(struct jq_redis *r, const struct jq_keys *keys, const struct jq_schedule *s,
		const char *mode, const char *source, redisCallbackFn *cb, void *priv);

#endif
