/* outcome.h: the writes about a running job: its progress, and its outcome until Redis
 * has it.
 *
 * Outcomes of one loop turn go together in one finish.lua call (up to 256), a requeue
 * alone (requeue.lua); every write carries the job's fencing token. A write Redis did
 * not answer (connection lost, an error) stays FINISHING and is sent again on the next
 * beat or reconnect (upkeep.h), so an outcome is never dropped while this worker lives.
 * A stale token means another worker holds the job now: the outcome is dropped. */
#ifndef JQ_OUTCOME_H
#define JQ_OUTCOME_H

#include <event2/event.h>
#include <stdint.h>

struct jq_task;

/* Queues a FINISHING task's outcome for the end of this loop turn (or sends a requeue);
 * nothing when one is in flight. */
void jq_outcome_send(struct jq_task *t);
/* The worker's flush event: sends what jq_outcome_send queued this turn. */
void jq_outcome_flush(evutil_socket_t fd, short what, void *arg);

/* The backoff before retry number attempt (1 = after the first failure): base doubled per
 * attempt, at most an hour, times 0.75..1.25 at random (random()). Pure but for that. */
int64_t jq_retry_delay_ms(int64_t base_ms, int64_t attempt);

#endif
