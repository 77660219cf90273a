/* enqueue_args.c: the enqueue script's keys and arguments, built from job specs. */
#include "enqueue_args.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIELDS_MAX 8 /* name, value pairs one job stores besides state and created_at */
#define I64_TEXT 24  /* room for one printed int64 and its NUL */

/* argv[] is filled through this cursor; numbers are printed into one text buffer */
struct cursor {
	struct jq_enqueue_args *a;
	int n;
	char *t;
};

static void put(struct cursor *c, const char *s, size_t len)
{
	c->a->argv[c->n] = s;
	c->a->lens[c->n] = len;
	c->n++;
}

static void put_str(struct cursor *c, const char *s)
{
	put(c, s, strlen(s));
}

/* a key name written by one of keys.h's functions into the text buffer */
static void put_key(struct cursor *c, size_t len)
{
	put(c, c->t, len);
	c->t += len + 1;
}

static const char *put_i64(struct cursor *c, int64_t v)
{
	char *s = c->t;
	size_t len = (size_t)sprintf(s, "%" PRId64, v);
	c->t += len + 1;
	put(c, s, len);
	return s;
}

int jq_enqueue_args_build(struct jq_enqueue_args *a, const struct jq_keys *k,
			  const struct jq_job_spec *specs, size_t n, int64_t first_id,
			  const char *idem, int64_t window_ms)
{
	memset(a, 0, sizeof(*a));
	if (!idem)
		idem = "";
	/* per job: 4 keys + id, queue, delay, run_at, count and up to FIELDS_MAX pairs */
	size_t cap = 8 + n * (4 + 5 + 2 * FIELDS_MAX);
	size_t tsz = n * (4 * JQ_KEY_MAX + 8 * I64_TEXT) + 8 * JQ_KEY_MAX + 2 * I64_TEXT;
	a->argv = malloc(sizeof(*a->argv) * cap);
	a->lens = malloc(sizeof(*a->lens) * cap);
	a->text = malloc(tsz);
	if (!a->argv || !a->lens || !a->text) {
		jq_enqueue_args_release(a);
		return -1;
	}
	struct cursor c = {a, 0, a->text};
	put_key(&c, jq_keys_queues(k, c.t));
	put_key(&c, jq_keys_stats(k, c.t));
	put_key(&c, jq_keys_ids(k, c.t));
	put_key(&c, jq_keys_scheduled(k, c.t));
	put_key(&c, jq_keys_wake_scheduled(k, c.t));
	put_key(&c, jq_keys_idempotency(k, idem, c.t)); /* not touched without a key */
	for (size_t i = 0; i < n; i++) {
		put_key(&c, jq_keys_job(k, first_id + (int64_t)i, c.t));
		put_key(&c, jq_keys_queue(k, specs[i].queue, c.t));
		put_key(&c, jq_keys_wake(k, specs[i].queue, c.t));
		put_key(&c, jq_keys_queue_stats(k, specs[i].queue, c.t));
	}
	a->nkeys = c.n;
	put_i64(&c, idem[0] ? window_ms : 0);
	put_key(&c, jq_keys_job_prefix(k, c.t));
	for (size_t i = 0; i < n; i++) {
		const struct jq_job_spec *s = &specs[i];
		put_i64(&c, first_id + (int64_t)i);
		put_str(&c, s->queue);
		put_i64(&c, s->delay_ms);
		put_i64(&c, s->run_at_ms);
		int count_at = c.n;
		put_str(&c, "0"); /* the count of values, set below */
		int first_field = c.n;
		put_str(&c, "type");
		put_str(&c, s->type);
		/* defaults are not stored: a queued job is a few dozen bytes smaller */
		if (strcmp(s->queue, JQ_DEFAULT_QUEUE) != 0) {
			put_str(&c, "queue");
			put_str(&c, s->queue);
		}
		if (s->max_attempts != JQ_DEFAULT_MAX_ATTEMPTS) {
			put_str(&c, "max_attempts");
			put_i64(&c, s->max_attempts);
		}
		if (s->priority) {
			put_str(&c, "priority");
			put_i64(&c, s->priority);
		}
		if (s->timeout_ms) {
			put_str(&c, "timeout_ms");
			put_i64(&c, s->timeout_ms);
		}
		if (s->schedule[0]) { /* a job a periodic schedule made */
			put_str(&c, "schedule");
			put_str(&c, s->schedule);
			put_str(&c, "schedule_tick");
			put_i64(&c, s->schedule_tick_ms);
		}
		/* a null payload is not stored either (workers read a missing one as null) */
		static const char nil_payload[] = {(char)0x92, 0x01, (char)0xc0};
		if (s->payload.size != sizeof(nil_payload) ||
		    memcmp(s->payload.data, nil_payload, sizeof(nil_payload)) != 0) {
			put_str(&c, "payload");
			put(&c, s->payload.data, s->payload.size); /* binary */
		}
		char *cnt = c.t;
		size_t len = (size_t)sprintf(cnt, "%d", c.n - first_field);
		c.t += len + 1;
		a->argv[count_at] = cnt;
		a->lens[count_at] = len;
	}
	a->nargs = c.n - a->nkeys;
	return 0;
}

void jq_enqueue_args_release(struct jq_enqueue_args *a)
{
	free(a->argv);
	free(a->lens);
	free(a->text);
	memset(a, 0, sizeof(*a));
}
