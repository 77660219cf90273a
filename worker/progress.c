/* progress.c: the seed's long task: done/total reported on a loop timer, never sleep(). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "codec.h"
#include "handlers.h"

#define MAX_DURATION_S 86400
#define DEFAULT_INTERVAL_MS 1000

struct progress {
	struct event *timer;
	int64_t done, total;
};

static void tick(evutil_socket_t fd, short what, void *arg)
{
	struct jq_run *run = arg;
	struct progress *p = run->hdata;
	p->done++;
	jq_run_progress(run, p->done, p->total);
	if (p->done < p->total)
		return; /* the persistent timer fires again */
	char result[64];
	snprintf(result, sizeof(result), "{\"steps\":%" PRId64 "}", p->total);
	jq_progress_cancel(run);
	jq_run_done(run, 1, result);
}

int jq_progress_start(struct jq_run *run, char *err, size_t errlen)
{
	int64_t duration = 0, interval = DEFAULT_INTERVAL_MS;
	if (jq_mp_get_i64(run->payload, "duration", &duration) != 0 || duration < 0 ||
	    duration > MAX_DURATION_S) {
		snprintf(err, errlen, "'duration' must be an integer from 0 to %d", MAX_DURATION_S);
		return -1;
	}
	if (jq_mp_get(run->payload, "interval_ms") &&
	    (jq_mp_get_i64(run->payload, "interval_ms", &interval) != 0 || interval < 1 ||
	     interval > 3600000)) {
		snprintf(err, errlen, "'interval_ms' must be an integer from 1 to 3600000");
		return -1;
	}
	int64_t total = (duration * 1000 + interval - 1) / interval;
	if (total == 0) {
		jq_run_done(run, 1, "{\"steps\":0}");
		return 0;
	}
	struct progress *p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	p->total = total;
	p->timer = event_new(jq_run_base(run), -1, EV_PERSIST, tick, run);
	run->hdata = p;
	struct timeval tv = {interval / 1000, (interval % 1000) * 1000};
	evtimer_add(p->timer, &tv);
	jq_run_progress(run, 0, total);
	return 0;
}

void jq_progress_cancel(struct jq_run *run)
{
	struct progress *p = run->hdata;
	if (!p)
		return;
	event_free(p->timer);
	free(p);
	run->hdata = NULL;
}
