/* upkeep.h: what a worker does on its timers besides running jobs.
 *
 * The heartbeat (every --heartbeat-ms, heartbeat.lua) says the worker is alive, renews
 * every lease it holds in one call, reports its stats, learns of cancellations it missed
 * on the cancel channel, and resends outcomes still unacknowledged. The reaper
 * (reap.lua, every half beat from every worker; one call per beat is a turn) gives back
 * the jobs of dead workers, telling a stall of Redis from a death (docs/reliability.md).
 * The promoter (promote.lua) moves due delayed jobs and retries to their queues, timed
 * by Redis' answer of when the next is due, at least every 250 ms. */
#ifndef JQ_UPKEEP_H
#define JQ_UPKEEP_H

#include <event2/event.h>
#include <stdint.h>

struct jq_worker;

/* Arms the timers (beat, reaper; the promoter arms itself). 0, or -1 out of memory. */
int jq_upkeep_init(struct jq_worker *w);
void jq_upkeep_release(struct jq_worker *w);
/* The command connection is (back) up: beat, reap and promote at once. */
void jq_upkeep_connected(struct jq_worker *w);
/* The cancel channel's connection is (back) up: subscribe. */
void jq_upkeep_subscribe(struct jq_worker *w);
/* Arms the promoter for at_ms (a Unix time in ms) unless it fires sooner already. */
void jq_upkeep_promote_at(struct jq_worker *w, int64_t at_ms);

#endif
