/* cluster_client.c: drives struct jq_redis with a redis-cluster:// URL for
 * tests/e2e/test_cluster_client.py, which starts the cluster, moves slots, flushes scripts
 * and kills masters around it.
 *
 * Usage: cluster_client <redis-cluster:// URL>. One line per command on stdin, one JSON
 * line per answer on stdout:
 *   load     keep 32 operations in flight until `stop`, over 2,000 keys (key:<i>, and
 *            key:{t<j>}:<i> of 64 hash tags): SET then GET of the value set (each GET must see it), and
 *            the batch_status script on a hash of the same tag
 *   stop     stop starting operations; answers once those in flight ended
 *   verify   one operation on each key, 32 at a time; answers with this round's counts
 *   stats    the counts so far: ok, fail (an error reply, a wrong value, or a NULL reply:
 *            the connection dropped), unsent (not ready), and the client's steps
 *            (moved, ask, later, load), ready
 *   wait T K...  SET each key K, then WAIT 1 T (jq_store_wait) right behind them; answers
 *            {"what":"wait","acks":N} (-1: an error, in last_error), once every SET and
 *            the WAIT answered
 *   quit     exit 0
 * Every operation goes through jq_store_send, as jobq's own calls do.
 *
 * cluster_client --client <URL> <N>: libjobq-client (synchronous) on the URL reads the
 * state of jobs 1..N (prefix jobq:), one line each: "<id> <state>" or "<id> error <why>".
 * cluster_client --job-keys <N>: the names of those jobs' hashes, one a line (the key
 * table's, whatever its layout). */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster.h"
#include "jobq/client.h"
#include "keys.h"
#include "log.h"
#include "redis.h"
#include "redis_cluster.h"
#include "store.h"
#include "util.h"
#include "wait.h"

#define NKEYS 2000
#define NTAGS 64
#define INFLIGHT 32

struct counts {
	long ok, fail, unsent;
};

static struct event_base *base;
static struct jq_redis *redis;
static int loading, verifying, inflight, next_key, verify_left;
static long gen;
static struct counts all, this_round;
static char last_error[256];
/* an operation on the key is in flight: none other starts on it (an answer delayed by
 * retries must not meet a later SET of the same key) */
static char busy[NKEYS];

struct op {
	int key;
	int kind; /* 0: SET, 1: GET, 2: the script */
	char value[64];
};

/* The first half spread over the slots by their names, the rest over NTAGS hash tags
 * (many keys in a slot: the one the test moves). */
static void key_name(int i, char *buf, size_t cap, const char *kind)
{
	if (i < NKEYS / 2)
		snprintf(buf, cap, "%s:%d", kind, i);
	else
		snprintf(buf, cap, "%s:{t%d}:%d", kind, i % NTAGS, i);
}

static void fail(const char *why, const redisReply *r)
{
	all.fail++;
	this_round.fail++;
	snprintf(last_error, sizeof(last_error), "%s: %s", why,
		 !r ? "no reply (connection lost)"
		 : r->type == REDIS_REPLY_ERROR || r->type == REDIS_REPLY_STRING ? r->str
										 : "?");
}

static void ok(void)
{
	all.ok++;
	this_round.ok++;
}

static void pump(void);
static int send_op(struct op *o);

static void op_done(struct op *o)
{
	busy[o->key] = 0;
	free(o);
	inflight--;
	pump();
}

static void on_reply(redisAsyncContext *ac, void *reply, void *priv)
{
	struct op *o = priv;
	redisReply *r = reply;
	if (o->kind == 0) {
		if (r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "OK") == 0) {
			o->kind = 1; /* then read it back */
			if (send_op(o) == 0)
				return;
			all.unsent++;
			this_round.unsent++;
		} else {
			fail("SET", r);
		}
	} else if (o->kind == 1) {
		if (r && r->type == REDIS_REPLY_STRING && strcmp(r->str, o->value) == 0)
			ok();
		else if (r && r->type == REDIS_REPLY_STRING)
			fail("GET saw another value", r);
		else
			fail("GET", r);
	} else {
		/* batch_status of a hash that does not exist: an empty array */
		if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 0)
			ok();
		else
			fail("EVALSHA batch_status", r);
	}
	op_done(o);
}

static int send_op(struct op *o)
{
	char key[64];
	struct jq_call c;
	if (o->kind == 2) {
		key_name(o->key, key, sizeof(key), "batch");
		jq_call_init(&c, JQ_SCRIPT_BATCH_STATUS);
		jq_call_key(&c, key, strlen(key));
		jq_call_str(&c, "job:");
		jq_call_str(&c, "1");
		return jq_store_send(redis, &c, on_reply, o);
	}
	key_name(o->key, key, sizeof(key), "key");
	jq_call_init(&c, JQ_CALL_COMMAND);
	jq_call_str(&c, o->kind == 0 ? "SET" : "GET");
	jq_call_key(&c, key, strlen(key));
	if (o->kind == 0)
		jq_call_str(&c, o->value);
	return jq_store_send(redis, &c, on_reply, o);
}

/* 0 when an operation started or was refused, -1 when every key is busy. */
static int start_op(void)
{
	for (int i = 0; i < NKEYS && busy[next_key]; i++)
		next_key = (next_key + 1) % NKEYS;
	if (busy[next_key])
		return -1;
	struct op *o = calloc(1, sizeof(*o));
	if (!o)
		abort();
	o->key = next_key;
	busy[o->key] = 1;
	next_key = (next_key + 1) % NKEYS;
	gen++;
	o->kind = gen % 4 == 3 ? 2 : 0;
	snprintf(o->value, sizeof(o->value), "v%d:%ld", o->key, gen);
	inflight++;
	if (send_op(o) != 0) {
		all.unsent++;
		this_round.unsent++;
		busy[o->key] = 0;
		free(o);
		inflight--;
	}
	return 0;
}

static void print_counts(const char *what, const struct counts *k)
{
	printf("{\"what\":\"%s\",\"ok\":%ld,\"fail\":%ld,\"unsent\":%ld,\"moved\":%llu,"
	       "\"ask\":%llu,\"later\":%llu,\"load\":%llu,\"ready\":%d,\"last_error\":\"",
	       what, k->ok, k->fail, k->unsent,
	       (unsigned long long)jq_cluster_conn_steps(JQ_CLUSTER_MOVED),
	       (unsigned long long)jq_cluster_conn_steps(JQ_CLUSTER_ASK),
	       (unsigned long long)jq_cluster_conn_steps(JQ_CLUSTER_LATER),
	       (unsigned long long)jq_cluster_conn_steps(JQ_CLUSTER_LOAD),
	       jq_redis_ctx(redis) != NULL);
	for (const char *p = last_error; *p; p++)
		if (*p != '"' && *p != '\\' && (unsigned char)*p >= 0x20)
			putchar(*p);
	printf("\"}\n");
	fflush(stdout);
}

static int stopping;

/* wait: the SETs and the WAIT in flight */
static int wait_out;
static long long wait_acks;

static void wait_step_done(void)
{
	if (--wait_out > 0)
		return;
	printf("{\"what\":\"wait\",\"acks\":%lld,\"last_error\":\"%s\"}\n", wait_acks,
	       wait_acks < 0 ? "WAIT failed" : "");
	fflush(stdout);
}

static void on_wait_set(redisAsyncContext *ac, void *reply, void *priv)
{
	redisReply *r = reply;
	if (!r || r->type != REDIS_REPLY_STATUS)
		wait_acks = -1;
	wait_step_done();
}

static void on_wait(redisAsyncContext *ac, void *reply, void *priv)
{
	char err[256];
	int64_t n = jq_store_wait_reply(reply, err, sizeof(err));
	if (wait_acks >= 0)
		wait_acks = n < 0 ? -1 : n;
	wait_step_done();
}

/* "T K1 K2 ...": the SETs, then one WAIT behind them. */
static void start_wait(char *args)
{
	char *save = NULL, *t = strtok_r(args, " ", &save);
	long timeout = t ? atol(t) : 0;
	wait_acks = 0;
	wait_out = 1; /* held until everything is sent */
	for (char *k = strtok_r(NULL, " ", &save); k; k = strtok_r(NULL, " ", &save)) {
		struct jq_call c;
		jq_call_init(&c, JQ_CALL_COMMAND);
		jq_call_str(&c, "SET");
		jq_call_key(&c, k, strlen(k));
		jq_call_str(&c, "w");
		if (jq_store_send(redis, &c, on_wait_set, NULL) == 0)
			wait_out++;
		else
			wait_acks = -1;
	}
	if (jq_store_wait(redis, 1, timeout, on_wait, NULL) == 0)
		wait_out++;
	else
		wait_acks = -1;
	wait_step_done();
}

/* Starts operations up to INFLIGHT while loading or verifying; answers a finished
 * verify or stop. A send refused (not ready) is retried on the next tick. */
static void pump(void)
{
	int budget = INFLIGHT * 2; /* refused sends: at most this many a turn */
	while (inflight < INFLIGHT && budget-- > 0) {
		if (loading && !stopping) {
			if (start_op() != 0)
				break;
		} else if (verifying && verify_left > 0) {
			if (start_op() != 0)
				break;
			verify_left--;
		} else {
			break;
		}
	}
	if (stopping && inflight == 0) {
		stopping = 0;
		loading = 0;
		print_counts("stop", &all);
	}
	if (verifying && verify_left == 0 && inflight == 0) {
		verifying = 0;
		print_counts("verify", &this_round);
	}
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	pump();
}

static void on_stdin(evutil_socket_t fd, short what, void *arg)
{
	static char buf[256];
	static size_t used;
	ssize_t n = read(fd, buf + used, sizeof(buf) - 1 - used);
	if (n <= 0) {
		event_base_loopbreak(base);
		return;
	}
	used += (size_t)n;
	char *nl;
	while ((nl = memchr(buf, '\n', used))) {
		*nl = '\0';
		if (strcmp(buf, "load") == 0) {
			loading = 1;
		} else if (strcmp(buf, "stop") == 0) {
			stopping = 1;
		} else if (strcmp(buf, "verify") == 0) {
			memset(&this_round, 0, sizeof(this_round));
			last_error[0] = '\0';
			next_key = 0;
			verifying = 1;
			verify_left = NKEYS;
		} else if (strcmp(buf, "stats") == 0) {
			print_counts("stats", &all);
		} else if (strncmp(buf, "wait ", 5) == 0) {
			start_wait(buf + 5);
		} else if (strcmp(buf, "quit") == 0) {
			event_base_loopbreak(base);
		}
		size_t rest = used - (size_t)(nl + 1 - buf);
		memmove(buf, nl + 1, rest);
		used = rest;
	}
	if (used == sizeof(buf) - 1)
		used = 0; /* a line too long: dropped */
	pump();
}

static int client_main(const char *url, int n)
{
	char err[512], state[64];
	struct jq_client *c = jq_client_connect(url, "jobq:", err, sizeof(err));
	if (!c) {
		printf("connect error %s\n", err);
		return 1;
	}
	for (int id = 1; id <= n; id++) {
		int terminal;
		if (jq_client_state(c, id, state, sizeof(state), &terminal, err, sizeof(err)) == 0)
			printf("%d %s\n", id, state);
		else
			printf("%d error %s\n", id, err);
	}
	jq_client_free(c);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "--client") == 0)
		return client_main(argv[2], atoi(argv[3]));
	if (argc == 3 && strcmp(argv[1], "--job-keys") == 0) {
		struct jq_keys k;
		char name[JQ_KEY_MAX];
		if (jq_keys_init(&k, "jobq:") != 0)
			return 1;
		for (int id = 1; id <= atoi(argv[2]); id++) {
			jq_keys_job(&k, id, name);
			printf("%s\n", name);
		}
		return 0;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: cluster_client <redis-cluster:// URL>\n");
		return 2;
	}
	struct jq_redis_url url;
	char err[256];
	if (jq_redis_url_parse(argv[1], &url, err, sizeof(err)) != 0) {
		fprintf(stderr, "cluster_client: %s\n", err);
		return 2;
	}
	base = event_base_new();
	redis = jq_redis_new(base, &url, "test", NULL, NULL);
	struct event *in = event_new(base, 0, EV_READ | EV_PERSIST, on_stdin, NULL);
	struct event *tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
	struct timeval tv = {0, 20 * 1000};
	if (!base || !redis || !in || !tick || event_add(in, NULL) != 0 ||
	    evtimer_add(tick, &tv) != 0) {
		fprintf(stderr, "cluster_client: out of memory\n");
		return 1;
	}
	event_base_dispatch(base);
	jq_redis_free(redis);
	event_free(in);
	event_free(tick);
	event_base_free(base);
	return 0;
}
