/* progress.c: the seed's long task: done/total reported on a loop timer, never sleep(). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "codec.h"
#include "handlers.h"
#include "jobtypes.h"

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
	struct jq_progress_payload pp;
	if (jq_progress_payload(run->payload, &pp, err, errlen) != 0)
		return -1;
	int64_t duration = pp.duration_s, interval = pp.interval_ms;
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
