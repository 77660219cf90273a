/* enqueue_args.c: the enqueue script's keys and arguments, built from job specs. */
#include "enqueue_args.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define FIELDS_MAX 16 /* name, value pairs one job stores besides state and created_at */

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
	size_t len = jq_fmt_i64(s, v);
	c->t += len + 1;
	put(c, s, len);
	return s;
}

/* The name, value pairs a job shares with the other jobs of its run (see build): its
 * envelope, 'type' first. batch: its batch id (0: none); callback_of: the batch whose
 * callback it is (0: none). */
static void put_shared(struct cursor *c, const struct jq_job_spec *s, int64_t batch,
		       int64_t callback_of)
{
	put_str(c, "type");
	put_str(c, s->type);
	/* defaults are not stored: a queued job is a few dozen bytes smaller */
	if (strcmp(s->queue, JQ_DEFAULT_QUEUE) != 0) {
		put_str(c, "queue");
		put_str(c, s->queue);
	}
	if (s->max_attempts != JQ_DEFAULT_MAX_ATTEMPTS) {
		put_str(c, "max_attempts");
		put_i64(c, s->max_attempts);
	}
	if (s->priority) {
		put_str(c, "priority");
		put_i64(c, s->priority);
	}
	if (s->timeout_ms) {
		put_str(c, "timeout_ms");
		put_i64(c, s->timeout_ms);
	}
	if (batch) {
		put_str(c, "batch");
		put_i64(c, batch);
	}
	if (callback_of) {
		put_str(c, "callback_of");
		put_i64(c, callback_of);
	}
	if (s->schedule[0]) { /* a job a periodic schedule made */
		put_str(c, "schedule");
		put_str(c, s->schedule);
		put_str(c, "schedule_tick");
		put_i64(c, s->schedule_tick_ms);
	}
	if (s->traceparent[0]) {
		put_str(c, "traceparent");
		put_str(c, s->traceparent);
	}
	if (s->secrets) { /* their own field: no read shows it (redact.h) */
		put_str(c, "secrets");
		put(c, s->secrets, s->secrets_len); /* binary */
	}
}

/* 1 if s's payload is stored: a null one is not (workers read a missing one as null) */
static int has_payload(const struct jq_job_spec *s)
{
	static const char nil_payload[] = {(char)0x92, 0x01, (char)0xc0};
	return s->payload.size != sizeof(nil_payload) ||
	       memcmp(s->payload.data, nil_payload, sizeof(nil_payload)) != 0;
}

/* All of a job's name, value pairs (a batch's callback job, stored as one hash). */
static void put_fields(struct cursor *c, const struct jq_job_spec *s, int64_t callback_of)
{
	put_shared(c, s, 0, callback_of);
	if (s->unique_key[0]) {
		put_str(c, "unique_key");
		put_str(c, s->unique_key);
	}
	if (has_payload(s)) {
		put_str(c, "payload");
		put(c, s->payload.data, s->payload.size); /* binary */
	}
}

/* 1 if b may join the run of a: every stored field but the unique key and the payload
 * is the same, and so are the queue list it goes to and when it runs. */
static int same_run(const struct jq_job_spec *a, const struct jq_job_spec *b)
{
	return a->priority == b->priority && a->max_attempts == b->max_attempts &&
	       a->timeout_ms == b->timeout_ms && a->delay_ms == b->delay_ms &&
	       a->run_at_ms == b->run_at_ms && a->schedule_tick_ms == b->schedule_tick_ms &&
	       !a->unique_key[0] == !b->unique_key[0] && has_payload(a) == has_payload(b) &&
	       strcmp(a->type, b->type) == 0 && strcmp(a->queue, b->queue) == 0 &&
	       strcmp(a->traceparent, b->traceparent) == 0 &&
	       strcmp(a->schedule, b->schedule) == 0 && a->secrets_len == b->secrets_len &&
	       (!a->secrets_len || memcmp(a->secrets, b->secrets, a->secrets_len) == 0);
}

/* Writes a count placeholder at argv[at] with the number of values put since. */
static void set_count(struct cursor *c, int at)
{
	char *cnt = c->t;
	size_t len = jq_fmt_i64(cnt, c->n - at - 1);
	c->t += len + 1;
	c->a->argv[at] = cnt;
	c->a->lens[at] = len;
}

/* The jobs of one call: contiguous specs with ids first_id.., or (a group of single
 * requests) one pointer and one id per job. */
struct jobs {
	const struct jq_job_spec *specs;
	const struct jq_job_spec *const *ptrs;
	const int64_t *ids;
	int64_t first_id;
};

static const struct jq_job_spec *spec_at(const struct jobs *j, size_t i)
{
	return j->ptrs ? j->ptrs[i] : &j->specs[i];
}

static int64_t id_at(const struct jobs *j, size_t i)
{
	return j->ids ? j->ids[i] : j->first_id + (int64_t)i;
}

/* The run of jobs[i..j-1] (see enqueue.lua): its header and shared pairs, the ids, then
 * per job its unique key and payload. */
static void put_run(struct cursor *c, const struct jobs *jobs, size_t i, size_t j, int64_t batch)
{
	const struct jq_job_spec *s = spec_at(jobs, i);
	int u = s->unique_key[0] != '\0', w = has_payload(s);
	put_i64(c, (int64_t)(j - i));
	put_str(c, s->queue);
	/* the list it goes to: lib/queue.lua's level, 0..9 (specs are validated to it) */
	put_i64(c, s->priority < 0                 ? 0
		   : s->priority > JQ_PRIORITY_MAX ? JQ_PRIORITY_MAX
						   : s->priority);
	put_i64(c, s->delay_ms);
	put_i64(c, s->run_at_ms);
	put_str(c, u ? "1" : "0");
	put_str(c, w ? "1" : "0");
	int count_at = c->n;
	put_str(c, "0"); /* the count of shared values, set below */
	put_shared(c, s, batch, 0);
	set_count(c, count_at);
	for (size_t k = i; k < j; k++)
		put_i64(c, id_at(jobs, k));
	for (size_t k = i; k < j; k++) {
		s = spec_at(jobs, k);
		if (u)
			put_str(c, s->unique_key);
		if (w)
			put(c, s->payload.data, s->payload.size); /* binary */
	}
}

static int build(struct jq_enqueue_args *a, const struct jq_keys *k, const struct jobs *jobs,
		 size_t n, const char *idem, int64_t window_ms, const struct jq_enqueue_batch *b)
{
	memset(a, 0, sizeof(*a));
	if (!idem)
		idem = "";
	/* per job: its key, id, unique key and payload, and at worst a run of its own (8
	 * header values and up to FIELDS_MAX pairs); a batch adds 2 keys, 2 numbers and a
	 * callback's pairs */
	size_t cap = 17 + 2 * FIELDS_MAX + n * (4 + 8 + 2 * FIELDS_MAX);
	/* per job: up to 13 numbers of at most 21 bytes (id, a run's 6 header numbers, three
	 * envelope fields, batch, schedule tick) */
	size_t tsz = n * (JQ_KEY_MAX + 13 * 24) + 12 * JQ_KEY_MAX + 8 * 24;
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
	/* per job only its hash: the script builds a queue's keys from the prefix and name */
	int64_t max_id = 0;
	for (size_t i = 0; i < n; i++) {
		int64_t id = id_at(jobs, i);
		put_key(&c, jq_keys_job(k, id, c.t));
		if (id > max_id)
			max_id = id;
	}
	a->nkeys = c.n;
	put_i64(&c, idem[0] ? window_ms : 0);
	put_key(&c, jq_keys_job_prefix(k, c.t));
	put_key(&c, jq_keys_unique(k, "", c.t)); /* the unique keys' prefix */
	put_str(&c, k->prefix);                  /* the script builds queue keys with it */
	put_i64(&c, max_id);
	int section_at = c.n;
	put_str(&c, "0"); /* the batch section's length */
	if (b) {
		put_key(&c, jq_keys_batch(k, b->id, c.t));
		put_key(&c, jq_keys_batch_callback(k, b->id, c.t));
		put_i64(&c, b->keep_ms);
		int m_at = c.n;
		put_str(&c, "0");
		if (b->callback)
			put_fields(&c, b->callback, b->id);
		set_count(&c, m_at);
		set_count(&c, section_at);
	}
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && same_run(spec_at(jobs, i), spec_at(jobs, j)); j++)
			;
		put_run(&c, jobs, i, j, b ? b->id : 0);
	}
	a->nargs = c.n - a->nkeys;
	return 0;
}

int jq_enqueue_args_build(struct jq_enqueue_args *a, const struct jq_keys *k,
			  const struct jq_job_spec *specs, size_t n, int64_t first_id,
			  const char *idem, int64_t window_ms)
{
	struct jobs j = {specs, NULL, NULL, first_id};
	return build(a, k, &j, n, idem, window_ms, NULL);
}

int jq_enqueue_args_build_group(struct jq_enqueue_args *a, const struct jq_keys *k,
				const struct jq_job_spec *const *specs, const int64_t *ids,
				size_t n)
{
	struct jobs j = {NULL, specs, ids, 0};
	return build(a, k, &j, n, NULL, 0, NULL);
}

int jq_enqueue_args_build_batch(struct jq_enqueue_args *a, const struct jq_keys *k,
				const struct jq_job_spec *specs, size_t n,
				const struct jq_enqueue_batch *b, const char *idem,
				int64_t window_ms)
{
	struct jobs j = {specs, NULL, NULL, b->id + 1};
	return build(a, k, &j, n, idem, window_ms, b);
}

void jq_enqueue_args_release(struct jq_enqueue_args *a)
{
	free(a->argv);
	free(a->lens);
	free(a->text);
	memset(a, 0, sizeof(*a));
}
