/* test_client.c: libjobq-client against a real redis-server that the test starts
 * (and stops, to see errors and reconnects) on a free 127.0.0.1 port.
 *
 * Usage: test_client [REDIS_SERVER]  (default $JOBQ_REDIS_SERVER, else redis-server)
 * What is stored is checked with plain hiredis: the exact hash fields and bytes,
 * the queue list, the id counter. The broker side of "identical to the broker's
 * jobs" is tests/e2e/test_client.py. */
#include <jobq/client.h>

#include <errno.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../unit/unit.h"

static const char *redis_bin;
static char tmpdir[] = "/tmp/jobq-client-test-XXXXXX";
static int port;
static pid_t redis_pid = -1;
static redisContext *rc_test; /* the test's own view of Redis */
static char url[64];

/* ---- the redis-server ---- */

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int p = -1;
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		p = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return p;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static int redis_answers(void)
{
	struct timeval tv = {0, 200000};
	redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
	int ok = 0;
	if (c && !c->err) {
		redisReply *r = redisCommand(c, "PING");
		ok = r && r->type == REDIS_REPLY_STATUS;
		if (r)
			freeReplyObject(r);
	}
	if (c)
		redisFree(c);
	return ok;
}

/* Starts redis-server on port (a free one when 0); 0 once it answers PING. */
static int start_redis(void)
{
	for (int attempt = 0; attempt < 3; attempt++) {
		if (!port || attempt > 0)
			port = free_port();
		char sport[16];
		snprintf(sport, sizeof(sport), "%d", port);
		fflush(stdout); /* else the child writes our buffered output again */
		fflush(stderr);
		redis_pid = fork();
		if (redis_pid == 0) {
			char log[300];
			snprintf(log, sizeof(log), "%s/redis.log", tmpdir);
			if (!freopen(log, "a", stdout) || !freopen(log, "a", stderr))
				_exit(127);
			execlp(redis_bin, redis_bin, "--port", sport, "--bind", "127.0.0.1",
			       "--save", "", "--appendonly", "no", "--dir", tmpdir, "--daemonize",
			       "no", (char *)NULL);
			_exit(127);
		}
		for (int i = 0; i < 200; i++) { /* 10 s */
			if (redis_answers())
				break;
			if (waitpid(redis_pid, NULL, WNOHANG) == redis_pid) {
				redis_pid = -1;
				break;
			}
			sleep_ms(50);
		}
		if (redis_pid > 0 && redis_answers()) {
			snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0", port);
			struct timeval tv = {5, 0};
			if (rc_test)
				redisFree(rc_test);
			rc_test = redisConnectWithTimeout("127.0.0.1", port, tv);
			return rc_test && !rc_test->err ? 0 : -1;
		}
	}
	return -1;
}

static void stop_redis(void)
{
	if (redis_pid > 0) {
		kill(redis_pid, SIGTERM);
		kill(redis_pid, SIGCONT); /* in case a failed check left it stopped */
		waitpid(redis_pid, NULL, 0);
		redis_pid = -1;
	}
	if (rc_test) {
		redisFree(rc_test);
		rc_test = NULL;
	}
}

/* ---- helpers ---- */

/* A command on the test's connection; the caller frees the reply. */
static redisReply *cmd(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	redisReply *r = redisvCommand(rc_test, fmt, ap);
	va_end(ap);
	if (!r) {
		fprintf(stderr, "redis: %s\n", rc_test->errstr);
		exit(1);
	}
	return r;
}

static long long cmd_int(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	redisReply *r = redisvCommand(rc_test, fmt, ap);
	va_end(ap);
	long long v = -999;
	if (r && r->type == REDIS_REPLY_INTEGER)
		v = r->integer;
	else if (r && r->type == REDIS_REPLY_STRING)
		v = strtoll(r->str, NULL, 10);
	if (r)
		freeReplyObject(r);
	return v;
}

static void flush(void)
{
	freeReplyObject(cmd("FLUSHALL"));
}

static struct jq_client *connect_ok(void)
{
	char err[256] = "";
	struct jq_client *c = jq_client_connect(url, NULL, err, sizeof(err));
	if (!c) {
		fprintf(stderr, "connect to %s: %s\n", url, err);
		exit(1);
	}
	return c;
}

/* The fields of a job hash, sorted by name, as "name=value;..." (the payload hex). */
/* The hash of job id under the prefix "jobq:": its id's bucket (id mod 16384) is its hash
 * tag (docs/redis.md; the builder, keys.c, is pinned by tests/unit/test_keys.c). In one of
 * four rotating buffers, so that a call may name a few. */
static const char *job_key(int64_t id)
{
	static char bufs[4][64];
	static int next;
	char *b = bufs[next++ % 4];
	snprintf(b, sizeof(bufs[0]), "jobq:{%" PRId64 "}:job:%" PRId64, id % 16384, id);
	return b;
}

static void hash_text(const char *key, char *out, size_t cap)
{
	redisReply *r = cmd("HGETALL %s", key);
	out[0] = '\0';
	size_t n = r->elements / 2;
	/* selection sort of the field indexes by name: small hashes */
	size_t order[64];
	for (size_t i = 0; i < n && i < 64; i++)
		order[i] = i;
	for (size_t i = 0; i < n && i < 64; i++)
		for (size_t k = i + 1; k < n && k < 64; k++)
			if (strcmp(r->element[2 * order[k]]->str, r->element[2 * order[i]]->str) <
			    0) {
				size_t t = order[i];
				order[i] = order[k];
				order[k] = t;
			}
	for (size_t i = 0; i < n && i < 64; i++) {
		const redisReply *name = r->element[2 * order[i]],
				 *v = r->element[2 * order[i] + 1];
		size_t len = strlen(out);
		if (strcmp(name->str, "created_at") == 0) {
			snprintf(out + len, cap - len, "created_at=*;");
		} else if (strcmp(name->str, "payload") == 0) {
			len += (size_t)snprintf(out + len, cap - len, "payload=");
			for (size_t b = 0; b < v->len && len + 3 < cap; b++)
				len += (size_t)snprintf(out + len, cap - len, "%02x",
							(unsigned char)v->str[b]);
			snprintf(out + len, cap - len, ";");
		} else {
			snprintf(out + len, cap - len, "%s=%s;", name->str, v->str);
		}
	}
	freeReplyObject(r);
}

/* ---- tests ---- */

static void test_connect_errors(void)
{
	static const struct {
		const char *url, *prefix, *want;
	} cases[] = {
		{"http://127.0.0.1", NULL, "must start with redis://"},
		{"redis://127.0.0.1:99999", NULL, "bad port"},
		{"redis://127.0.0.1/16", NULL, "bad database"},
		{NULL, "has space", "prefix 'has space'"},
		{NULL, "0123456789012345678901234567890123456789012345678901234567890123456789",
		 "at most 64"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("%s %s", cases[i].url ? cases[i].url : "(default url)",
			  cases[i].prefix ? cases[i].prefix : "");
		char err[256] = "";
		struct jq_client *c = jq_client_connect(cases[i].url ? cases[i].url : url,
							cases[i].prefix, err, sizeof(err));
		CHECK(c == NULL);
		CHECK_CONTAINS(err, cases[i].want);
		jq_client_free(c);
	}
	UNIT_CASE("nothing listening");
	char err[256] = "", down[64];
	snprintf(down, sizeof(down), "redis://127.0.0.1:%d", free_port());
	struct jq_client *c = jq_client_connect(down, NULL, err, sizeof(err));
	CHECK(c == NULL);
	CHECK_CONTAINS(err, "cannot connect to redis at '127.0.0.1:");
	UNIT_CASE("NULL err buffer");
	CHECK(jq_client_connect(down, NULL, NULL, 0) == NULL);
	jq_client_free(NULL); /* a no-op */
	UNIT_CASE("version");
	CHECK_STR_EQ(jq_client_version(), JQ_CLIENT_VERSION);
}

static void test_options(void)
{
	struct jq_client *c = connect_ok();
	CHECK_INT_EQ(jq_client_set(c, JQ_CLIENT_OPT_TIMEOUT_MS, 0), JQ_CLIENT_EINVAL);
	CHECK_INT_EQ(jq_client_set(c, JQ_CLIENT_OPT_TIMEOUT_MS, 3600001), JQ_CLIENT_EINVAL);
	CHECK_INT_EQ(jq_client_set(c, JQ_CLIENT_OPT_TIMEOUT_MS, 2000), 0);
	CHECK_INT_EQ(jq_client_set(c, JQ_CLIENT_OPT_IDEMPOTENCY_WINDOW_MS, 999), JQ_CLIENT_EINVAL);
	CHECK_INT_EQ(jq_client_set(c, JQ_CLIENT_OPT_KEEP_CANCELLED_MS, 60000), 0);
	CHECK_INT_EQ(jq_client_set(c, (enum jq_client_option)99, 1), JQ_CLIENT_EINVAL);
	/* still usable after the timeout changed on a live connection */
	int64_t id = 0;
	CHECK_INT_EQ(jq_client_enqueue_json(c, "{\"type\": \"noop\"}", &id, NULL, 0), 0);
	CHECK(id > 0);
	jq_client_free(c);
}

/* The exact hash fields, bytes, list entries and counters of stored jobs. */
static void test_enqueue_stores(void)
{
	flush();
	struct jq_client *c = connect_ok();
	static const struct {
		const char *json;
		const char *hash; /* hash_text() of the stored job */
		const char *list; /* where its id went */
	} cases[] = {
		{"{\"type\": \"noop\"}", "created_at=*;state=pending;type=noop;", "jobq:q:default"},
		/* defaults given explicitly are not stored either */
		{"{\"type\": \"noop\", \"queue\": \"default\", \"max_attempts\": 3, \"priority\": 0, "
		 "\"timeout_ms\": 0, \"payload\": null}",
		 "created_at=*;state=pending;type=noop;", "jobq:q:default"},
		{"{\"type\": \"hash\", \"payload\": {\"data\": \"abc\", \"repeat\": 2}, \"queue\": "
		 "\"q1\", \"priority\": 5, \"max_attempts\": 7, \"timeout_ms\": 1000}",
		 "created_at=*;max_attempts=7;payload=920182a464617461a3616263a672657065617402;"
		 "priority=5;queue=q1;state=pending;timeout_ms=1000;type=hash;",
		 "jobq:q:q1#p5"}, /* priority 1..9: the level's own list (docs/redis.md) */
		{"{\"type\": \"noop\", \"payload\": [1, \"\xc3\xa9\", true, 1.5]}",
		 "created_at=*;payload=92019401a2c3a9c3cb3ff8000000000000;state=pending;type=noop;",
		 "jobq:q:default"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("%s", cases[i].json);
		int64_t id = 0;
		char err[256] = "";
		CHECK_INT_EQ(jq_client_enqueue_json(c, cases[i].json, &id, err, sizeof(err)), 0);
		CHECK_STR_EQ(err, "");
		CHECK_INT_EQ(id, (int64_t)i + 1);
		char key[64], text[1024];
		snprintf(key, sizeof(key), "%s", job_key(id));
		hash_text(key, text, sizeof(text));
		CHECK_STR_EQ(text, cases[i].hash);
		redisReply *r = cmd("LRANGE %s 0 0", cases[i].list);
		CHECK(r->elements == 1 && r->element[0]->str && atoll(r->element[0]->str) == id);
		freeReplyObject(r);
	}
	UNIT_CASE("counters and wake-ups");
	CHECK_INT_EQ(cmd_int("GET jobq:id-counter"), 4);
	CHECK_INT_EQ(cmd_int("LLEN jobq:q:default"), 3);
	CHECK_INT_EQ(cmd_int("LLEN jobq:wake:default"), 1);
	CHECK_INT_EQ(cmd_int("LLEN jobq:wake:q1"), 1);
	CHECK_INT_EQ(cmd_int("SISMEMBER jobq:queues q1"), 1);
	CHECK_INT_EQ(cmd_int("HGET jobq:stats enqueued"), 4);
	CHECK_INT_EQ(cmd_int("HGET jobq:queue-stats:default enqueued"), 3);

	UNIT_CASE("delayed");
	int64_t id = 0;
	CHECK_INT_EQ(jq_client_enqueue_json(c, "{\"type\": \"noop\", \"delay_ms\": 60000}", &id,
					    NULL, 0),
		     0);
	char state[16], status[64];
	int terminal = -1;
	CHECK_INT_EQ(jq_client_state(c, id, state, sizeof(state), &terminal, NULL, 0), 0);
	CHECK_STR_EQ(state, "scheduled");
	CHECK_INT_EQ(terminal, 0);
	CHECK_INT_EQ(jq_client_status(c, id, status, sizeof(status), NULL, 0), 0);
	CHECK_STR_EQ(status, "pending"); /* the seed knows no scheduled state */
	CHECK_INT_EQ(cmd_int("ZCARD jobq:scheduled"), 1);
	CHECK(cmd_int("HGET %s run_at", job_key(id)) > 0);
	CHECK_INT_EQ(cmd_int("LLEN jobq:q:default"), 3);
	jq_client_free(c);
}

/* Ids come from the broker's counter: after a block a broker reserved, never inside it. */
static void test_ids(void)
{
	flush();
	struct jq_client *c = connect_ok();
	freeReplyObject(cmd("SET jobq:id-counter 1000")); /* as if a broker took 1..1000 */
	int64_t id = 0, first = 0;
	size_t n = 0;
	CHECK_INT_EQ(jq_client_enqueue_json(c, "{\"type\": \"noop\"}", &id, NULL, 0), 0);
	CHECK_INT_EQ(id, 1001);
	CHECK_INT_EQ(
		jq_client_enqueue_bulk_json(
			c,
			"[{\"type\": \"noop\"}, {\"type\": \"progress\", \"queue\": \"b\", \"payload\": {\"duration\": 1}}, "
			"{\"type\": \"noop\", \"delay_ms\": 5000}]",
			&first, &n, NULL, 0),
		0);
	CHECK_INT_EQ(first, 1002);
	CHECK_INT_EQ(n, 3);
	CHECK_INT_EQ(cmd_int("GET jobq:id-counter"), 1004);
	char text[512];
	hash_text(job_key(1003), text, sizeof(text));
	CHECK_STR_EQ(text, "created_at=*;payload=920181a86475726174696f6e01;queue=b;state=pending;"
			   "type=progress;");
	CHECK_INT_EQ(cmd_int("EXISTS %s", job_key(1004)), 1);
	CHECK_INT_EQ(cmd_int("ZCARD jobq:scheduled"), 1);
	/* a stored id is never overwritten: the script refuses it, nothing is written */
	freeReplyObject(cmd("SET jobq:id-counter 1003"));
	char err[256] = "";
	CHECK_INT_EQ(jq_client_enqueue_json(c, "{\"type\": \"noop\"}", &id, err, sizeof(err)),
		     JQ_CLIENT_EREDIS);
	CHECK_CONTAINS(err, "ID_TAKEN");
	hash_text(job_key(1004), text, sizeof(text));
	CHECK_CONTAINS(text, "state=scheduled;");
	jq_client_free(c);
}

/* A trace context goes with every job enqueued after it is set, bulk ones too. */
static void test_traceparent(void)
{
	flush();
	struct jq_client *c = connect_ok();
	const char *tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
	const char *upper = "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01";
	CHECK_INT_EQ(jq_client_set_traceparent(c, upper), JQ_CLIENT_EINVAL);
	CHECK_INT_EQ(jq_client_set_traceparent(c, "not a trace"), JQ_CLIENT_EINVAL);
	CHECK_INT_EQ(jq_client_set_traceparent(c, tp), 0);
	int64_t id = 0, first = 0;
	CHECK_INT_EQ(jq_client_enqueue_json(c, "{\"type\": \"noop\"}", &id, NULL, 0), 0);
	CHECK_INT_EQ(jq_client_enqueue_bulk_json(c, "[{\"type\": \"noop\"}, {\"type\": \"noop\"}]",
						 &first, NULL, NULL, 0),
		     0);
	char text[512], want[160];
	snprintf(want, sizeof(want), "created_at=*;state=pending;traceparent=%s;type=noop;", tp);
	for (int64_t i = id; i <= first + 1; i++) {
		UNIT_CASE("job %" PRId64, i);
		char key[64];
		snprintf(key, sizeof(key), "%s", job_key(i));
		hash_text(key, text, sizeof(text));
		CHECK_STR_EQ(text, want);
	}
	UNIT_CASE("in the JSON");
	char *json = NULL;
	CHECK_INT_EQ(jq_client_job_json(c, id, &json, NULL, 0), 0);
	json_t *j = json ? json_loads(json, 0, NULL) : NULL;
	CHECK_STR_EQ(json_string_value(json_object_get(j, "traceparent")), tp);
	json_decref(j);
	free(json);
	UNIT_CASE("a later version: its first 55 characters");
	CHECK_INT_EQ(jq_client_set_traceparent(
			     c, "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future"),
		     0);
	CHECK_INT_EQ(jq_client_enqueue_json(c, "{\"type\": \"noop\"}", &id, NULL, 0), 0);
	hash_text(job_key(4), text, sizeof(text));
	CHECK_CONTAINS(text,
		       "traceparent=01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01;");
	UNIT_CASE("cleared");
	CHECK_INT_EQ(jq_client_set_traceparent(c, NULL), 0);
	CHECK_INT_EQ(jq_client_enqueue_json(c, "{\"type\": \"noop\"}", &id, NULL, 0), 0);
	hash_text(job_key(5), text, sizeof(text));
	CHECK_STR_EQ(text, "created_at=*;state=pending;type=noop;");
	jq_client_free(c);
}

/* Bad input is refused before anything is written, the id counter included. */
static void test_bad_input(void)
{
	flush();
	struct jq_client *c = connect_ok();
	static const struct {
		const char *json;
		int bulk;
		const char *want;
	} cases[] = {
		{"{\"type\": \"noop\"", 0, "not valid JSON"},
		{"", 0, "not valid JSON"},
		{"{\"type\": \"noop\", \"type\": \"hash\"}", 0, "duplicate"},
		{"[{\"type\": \"noop\"}]", 0, "must be a JSON object"},
		{"{\"payload\": 1}", 0, "'type' is required"},
		{"{\"type\": \"a b\"}", 0, "'type' must be"},
		{"{\"type\": \"noop\", \"colour\": 1}", 0, "unknown field 'colour'"},
		{"{\"type\": \"noop\", \"max_attempts\": 0}", 0, "'max_attempts' must be"},
		{"{\"type\": \"noop\", \"delay_ms\": 5, \"run_at\": 5}", 0, "not both"},
		{"{\"type\": \"noop\", \"run_at\": \"yesterday\"}", 0, "RFC 3339"},
		{"[]", 1, "array of 1 to 10000"},
		{"{\"type\": \"noop\"}", 1, "array of 1 to 10000"},
		{"[{\"type\": \"noop\"}, {\"type\": 7}, {\"type\": \"noop\"}]", 1, "job 1: 'type'"},
		{"[{\"type\": \"noop\"}, {\"type\": \"noop\", \"x\": 1}]", 1,
		 "job 1: unknown field"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("%s%s", cases[i].bulk ? "bulk " : "", cases[i].json);
		char err[256] = "";
		int64_t id = -7;
		int rc = cases[i].bulk
				 ? jq_client_enqueue_bulk_json(c, cases[i].json, &id, NULL, err,
							       sizeof(err))
				 : jq_client_enqueue_json(c, cases[i].json, &id, err, sizeof(err));
		CHECK_INT_EQ(rc, JQ_CLIENT_EINVAL);
		CHECK_CONTAINS(err, cases[i].want);
		CHECK_INT_EQ(id, -7);
	}
	UNIT_CASE("NULL json");
	CHECK_INT_EQ(jq_client_enqueue_json(c, NULL, NULL, NULL, 0), JQ_CLIENT_EINVAL);
	CHECK_INT_EQ(jq_client_enqueue_bulk_json(c, NULL, NULL, NULL, NULL, 0), JQ_CLIENT_EINVAL);
	UNIT_CASE("bad idempotency keys");
	const char *keys[] = {"", "has space", "tab\there", NULL};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char err[256] = "";
		CHECK_INT_EQ(jq_client_enqueue_json_idem(c, "{\"type\": \"noop\"}", keys[i], NULL,
							 NULL, err, sizeof(err)),
			     JQ_CLIENT_EINVAL);
		CHECK_CONTAINS(err, "idempotency key");
	}
	UNIT_CASE("bad ids");
	char *json = (char *)"untouched";
	CHECK_INT_EQ(jq_client_job_json(c, 0, &json, NULL, 0), JQ_CLIENT_EINVAL);
	CHECK(json == NULL);
	char buf[32];
	CHECK_INT_EQ(jq_client_status(c, -1, buf, sizeof(buf), NULL, 0), JQ_CLIENT_EINVAL);
	CHECK_INT_EQ(jq_client_cancel(c, 0, NULL, NULL, 0), JQ_CLIENT_EINVAL);
	UNIT_CASE("nothing stored");
	CHECK_INT_EQ(cmd_int("DBSIZE"), 0);
	jq_client_free(c);
}

static void test_idempotency(void)
{
	flush();
	struct jq_client *c = connect_ok();
	int64_t a = 0, b = 0, other = 0;
	int dup = -1;
	const char *job = "{\"type\": \"noop\", \"queue\": \"idem\"}";
	CHECK_INT_EQ(jq_client_enqueue_json_idem(c, job, "order-1", &a, &dup, NULL, 0), 0);
	CHECK_INT_EQ(dup, 0);
	CHECK_INT_EQ(jq_client_enqueue_json_idem(c, job, "order-1", &b, &dup, NULL, 0), 0);
	CHECK_INT_EQ(dup, 1);
	CHECK_INT_EQ(b, a);
	/* the key names the first job whatever the later body says */
	CHECK_INT_EQ(jq_client_enqueue_json_idem(
			     c, "{\"type\": \"hash\", \"payload\": {\"data\": \"x\"}}", "order-1",
			     &b, &dup, NULL, 0),
		     0);
	CHECK_INT_EQ(dup, 1);
	CHECK_INT_EQ(b, a);
	CHECK_INT_EQ(jq_client_enqueue_json_idem(c, job, "order-2", &other, &dup, NULL, 0), 0);
	CHECK_INT_EQ(dup, 0);
	CHECK(other != a);
	CHECK_INT_EQ(cmd_int("LLEN jobq:q:idem"), 2);
	CHECK_INT_EQ(cmd_int("GET jobq:idem:order-1"), a);
	long long ttl = cmd_int("PTTL jobq:idem:order-1");
	CHECK(ttl > 23 * 3600 * 1000LL && ttl <= 24 * 3600 * 1000LL);
	CHECK_INT_EQ(jq_client_set(c, JQ_CLIENT_OPT_IDEMPOTENCY_WINDOW_MS, 60000), 0);
	CHECK_INT_EQ(jq_client_enqueue_json_idem(c, job, "order-3", &other, &dup, NULL, 0), 0);
	ttl = cmd_int("PTTL jobq:idem:order-3");
	CHECK(ttl > 50000 && ttl <= 60000);
	jq_client_free(c);
}

/* unique_key: a second job with the key of a live one is a conflict naming the holder */
static void test_unique(void)
{
	flush();
	struct jq_client *c = connect_ok();
	int64_t a = 0, b = 0;
	char err[256] = "";
	const char *job = "{\"type\": \"noop\", \"queue\": \"uq\", \"unique_key\": \"u-1\"}";
	CHECK_INT_EQ(jq_client_enqueue_json(c, job, &a, err, sizeof(err)), 0);
	CHECK_INT_EQ(jq_client_enqueue_json(c, job, &b, err, sizeof(err)), JQ_CLIENT_ECONFLICT);
	char holder[64];
	snprintf(holder, sizeof(holder), "held by live job %lld", (long long)a);
	CHECK_CONTAINS(err, holder);
	CHECK_INT_EQ(cmd_int("LLEN jobq:q:uq"), 1);
	/* the connection is still good: another key is stored */
	CHECK_INT_EQ(jq_client_enqueue_json(c,
					    "{\"type\": \"noop\", \"queue\": \"uq\", "
					    "\"unique_key\": \"u-2\"}",
					    &b, err, sizeof(err)),
		     0);
	CHECK_INT_EQ(cmd_int("LLEN jobq:q:uq"), 2);
	jq_client_free(c);
}

static void test_read(void)
{
	flush();
	struct jq_client *c = connect_ok();
	char *json = NULL, err[256] = "", status[600];
	CHECK_INT_EQ(jq_client_job_json(c, 42, &json, err, sizeof(err)), JQ_CLIENT_ENOTFOUND);
	CHECK_STR_EQ(err, "job 42 not found");
	CHECK(json == NULL);
	CHECK_INT_EQ(jq_client_status(c, 42, status, sizeof(status), NULL, 0), JQ_CLIENT_ENOTFOUND);
	CHECK_STR_EQ(status, "not_found");
	char state[16];
	CHECK_INT_EQ(jq_client_state(c, 42, state, sizeof(state), NULL, NULL, 0),
		     JQ_CLIENT_ENOTFOUND);

	int64_t id = 0;
	CHECK_INT_EQ(
		jq_client_enqueue_json(c,
				       "{\"type\": \"progress\", \"payload\": {\"duration\": 5}, "
				       "\"priority\": 3}",
				       &id, NULL, 0),
		0);
	CHECK_INT_EQ(jq_client_job_json(c, id, &json, NULL, 0), 0);
	json_t *j = json ? json_loads(json, 0, NULL) : NULL;
	CHECK(j != NULL);
	if (j) {
		CHECK_INT_EQ(json_integer_value(json_object_get(j, "id")), id);
		CHECK_STR_EQ(json_string_value(json_object_get(j, "type")), "progress");
		CHECK_STR_EQ(json_string_value(json_object_get(j, "queue")), "default");
		CHECK_STR_EQ(json_string_value(json_object_get(j, "state")), "pending");
		CHECK_STR_EQ(json_string_value(json_object_get(j, "status")), "pending");
		CHECK_INT_EQ(json_integer_value(json_object_get(j, "max_attempts")), 3);
		CHECK_INT_EQ(json_integer_value(json_object_get(j, "priority")), 3);
		CHECK_INT_EQ(json_integer_value(json_object_get(j, "attempts")), 0);
		CHECK_INT_EQ(json_integer_value(
				     json_object_get(json_object_get(j, "payload"), "duration")),
			     5);
		CHECK(json_is_null(json_object_get(j, "result")));
		CHECK(json_is_null(json_object_get(j, "started_at")));
		CHECK_CONTAINS(json_string_value(json_object_get(j, "created_at")), "Z");
		CHECK(json_is_null(json_object_get(j, "batch")));
		CHECK(json_is_null(json_object_get(j, "traceparent")));
		CHECK(json_is_null(json_object_get(j, "unique_key")));
		CHECK(json_is_null(json_object_get(j, "schedule")));
		CHECK(json_is_null(json_object_get(j, "schedule_tick")));
		CHECK_INT_EQ(json_object_size(j), 26); /* GET /jobs/{id}'s keys, all of them */
	}
	json_decref(j);
	free(json);

	/* what workers write, seen through the status string */
	static const struct {
		const char *kv[4]; /* field, value pairs to HSET */
		const char *status, *state;
		int terminal;
	} cases[] = {
		{{"state", "running"}, "running", "running", 0},
		{{"done", "2", "total", "5"}, "progress: 2/5", "running", 0},
		{{"state", "completed", "result", "{\"steps\": 5}"}, "completed", "completed", 1},
		{{"state", "failed", "error", "boom"}, "failed: boom", "failed", 1},
		{{"state", "cancelled"}, "cancelled", "cancelled", 1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("%s %s", cases[i].kv[0], cases[i].kv[1]);
		char key[64];
		snprintf(key, sizeof(key), "%s", job_key(id));
		const char *argv[6] = {"HSET", key};
		int argc = 2;
		for (int k = 0; k < 4 && cases[i].kv[k]; k++)
			argv[argc++] = cases[i].kv[k];
		redisReply *r = redisCommandArgv(rc_test, argc, argv, NULL);
		CHECK(r && r->type == REDIS_REPLY_INTEGER);
		if (r)
			freeReplyObject(r);
		CHECK_INT_EQ(jq_client_status(c, id, status, sizeof(status), NULL, 0), 0);
		CHECK_STR_EQ(status, cases[i].status);
		int terminal = -1;
		CHECK_INT_EQ(jq_client_state(c, id, state, sizeof(state), &terminal, NULL, 0), 0);
		CHECK_STR_EQ(state, cases[i].state);
		CHECK_INT_EQ(terminal, cases[i].terminal);
	}
	UNIT_CASE("small buffer");
	char tiny[5];
	CHECK_INT_EQ(jq_client_status(c, id, tiny, sizeof(tiny), NULL, 0), 0);
	CHECK_STR_EQ(tiny, "canc");
	jq_client_free(c);
}

static void test_cancel(void)
{
	flush();
	struct jq_client *c = connect_ok();
	int64_t pending = 0, scheduled = 0, running = 0;
	CHECK_INT_EQ(jq_client_enqueue_json(c, "{\"type\": \"noop\"}", &pending, NULL, 0), 0);
	CHECK_INT_EQ(jq_client_enqueue_json(c, "{\"type\": \"noop\", \"delay_ms\": 9000}",
					    &scheduled, NULL, 0),
		     0);
	CHECK_INT_EQ(jq_client_enqueue_json(c, "{\"type\": \"noop\"}", &running, NULL, 0), 0);
	freeReplyObject(cmd("LREM jobq:q:default 0 %" PRId64, running));
	freeReplyObject(cmd("HSET %s state running", job_key(running)));
	int was_running = -1;
	char err[256] = "", state[16];
	CHECK_INT_EQ(jq_client_cancel(c, pending, &was_running, NULL, 0), 0);
	CHECK_INT_EQ(was_running, 0);
	CHECK_INT_EQ(cmd_int("LLEN jobq:q:default"), 0);
	CHECK_INT_EQ(jq_client_state(c, pending, state, sizeof(state), NULL, NULL, 0), 0);
	CHECK_STR_EQ(state, "cancelled");
	long long ttl = cmd_int("PTTL %s", job_key(pending));
	CHECK(ttl > 23 * 3600 * 1000LL && ttl <= 24 * 3600 * 1000LL);

	CHECK_INT_EQ(jq_client_set(c, JQ_CLIENT_OPT_KEEP_CANCELLED_MS, 60000), 0);
	CHECK_INT_EQ(jq_client_cancel(c, scheduled, &was_running, NULL, 0), 0);
	CHECK_INT_EQ(was_running, 0);
	CHECK_INT_EQ(cmd_int("ZCARD jobq:scheduled"), 0);
	ttl = cmd_int("PTTL %s", job_key(scheduled));
	CHECK(ttl > 50000 && ttl <= 60000);

	CHECK_INT_EQ(jq_client_cancel(c, running, &was_running, NULL, 0), 0);
	CHECK_INT_EQ(was_running, 1);
	CHECK_INT_EQ(cmd_int("HGET %s cancel_requested", job_key(running)), 1);

	CHECK_INT_EQ(jq_client_cancel(c, pending, NULL, err, sizeof(err)), JQ_CLIENT_ECONFLICT);
	CHECK_CONTAINS(err, "already finished");
	CHECK_INT_EQ(jq_client_cancel(c, 999, NULL, err, sizeof(err)), JQ_CLIENT_ENOTFOUND);
	CHECK_STR_EQ(err, "job 999 not found");
	jq_client_free(c);
}

/* A Redis without the scripts (restarted, SCRIPT FLUSH): EVAL once, then EVALSHA again. */
static void test_noscript(void)
{
	flush();
	struct jq_client *c = connect_ok();
	int64_t id = 0;
	CHECK_INT_EQ(jq_client_enqueue_json(c, "{\"type\": \"noop\"}", &id, NULL, 0), 0);
	freeReplyObject(cmd("SCRIPT FLUSH"));
	CHECK_INT_EQ(jq_client_enqueue_json(c, "{\"type\": \"noop\"}", &id, NULL, 0), 0);
	CHECK_INT_EQ(id, 2);
	freeReplyObject(cmd("SCRIPT FLUSH"));
	CHECK_INT_EQ(jq_client_cancel(c, id, NULL, NULL, 0), 0);
	CHECK_INT_EQ(cmd_int("LLEN jobq:q:default"), 1);
	jq_client_free(c);
}

/* Prefixes, databases and passwords from the URL. */
static void test_where(void)
{
	flush();
	char err[256] = "", u[96];
	struct jq_client *c = jq_client_connect(url, "other:", err, sizeof(err));
	CHECK(c != NULL);
	int64_t id = 0;
	CHECK_INT_EQ(jq_client_enqueue_json(c, "{\"type\": \"noop\"}", &id, NULL, 0), 0);
	CHECK_INT_EQ(cmd_int("EXISTS other:{1}:job:1"), 1);
	CHECK_INT_EQ(cmd_int("EXISTS %s", job_key(1)), 0);
	jq_client_free(c);

	snprintf(u, sizeof(u), "redis://127.0.0.1:%d/3", port);
	c = jq_client_connect(u, NULL, err, sizeof(err));
	CHECK(c != NULL);
	CHECK_INT_EQ(jq_client_enqueue_json(c, "{\"type\": \"noop\"}", &id, NULL, 0), 0);
	freeReplyObject(cmd("SELECT 3"));
	CHECK_INT_EQ(cmd_int("EXISTS %s", job_key(1)), 1);
	freeReplyObject(cmd("SELECT 0"));
	CHECK_INT_EQ(cmd_int("EXISTS %s", job_key(1)), 0);
	jq_client_free(c);

	freeReplyObject(cmd("CONFIG SET requirepass s3cret"));
	freeReplyObject(cmd("AUTH s3cret"));
	snprintf(u, sizeof(u), "redis://:wrong@127.0.0.1:%d", port);
	CHECK(jq_client_connect(u, NULL, err, sizeof(err)) == NULL);
	CHECK_CONTAINS(err, "AUTH failed");
	snprintf(u, sizeof(u), "redis://127.0.0.1:%d", port);
	c = jq_client_connect(u, NULL, err, sizeof(err));
	CHECK(c == NULL);
	CHECK_CONTAINS(err, "SELECT failed"); /* no password: refused at set-up */
	snprintf(u, sizeof(u), "redis://:s3cret@127.0.0.1:%d/0", port);
	c = jq_client_connect(u, NULL, err, sizeof(err));
	CHECK(c != NULL);
	if (c)
		CHECK_INT_EQ(jq_client_enqueue_json(c, "{\"type\": \"noop\"}", &id, NULL, 0), 0);
	CHECK_INT_EQ(cmd_int("EXISTS %s", job_key(id)), 1);
	jq_client_free(c);
	freeReplyObject(cmd("CONFIG SET requirepass %s", ""));
}

/* Redis goes away: calls fail with EREDIS, quickly; it comes back: the next call works. */
static void test_redis_down(void)
{
	flush();
	struct jq_client *c = connect_ok();
	int64_t id = 0;
	CHECK_INT_EQ(jq_client_enqueue_json(c, "{\"type\": \"noop\"}", &id, NULL, 0), 0);
	stop_redis();
	char err[256] = "", status[64];
	for (int i = 0; i < 2; i++) { /* the broken connection, then no connection */
		UNIT_CASE("down, call %d", i);
		err[0] = '\0';
		CHECK_INT_EQ(
			jq_client_enqueue_json(c, "{\"type\": \"noop\"}", &id, err, sizeof(err)),
			JQ_CLIENT_EREDIS);
		CHECK_CONTAINS(err, "redis");
		CHECK_INT_EQ(jq_client_status(c, 1, status, sizeof(status), err, sizeof(err)),
			     JQ_CLIENT_EREDIS);
		char *json = NULL;
		CHECK_INT_EQ(jq_client_job_json(c, 1, &json, NULL, 0), JQ_CLIENT_EREDIS);
		CHECK(json == NULL);
		CHECK_INT_EQ(jq_client_cancel(c, 1, NULL, NULL, 0), JQ_CLIENT_EREDIS);
	}
	UNIT_CASE("back");
	if (start_redis() != 0) {
		CHECK(!"redis-server restarted");
		jq_client_free(c);
		return;
	}
	/* a healthy replica gets time enough on a loaded machine (it missed 300 ms under
	 * ASan in a parallel suite run); the stopped one only what a refusal needs */
	CHECK_INT_EQ(jq_client_set(c, JQ_CLIENT_OPT_REPLICA_ACK_TIMEOUT_MS, 10000), 0);
	CHECK_INT_EQ(jq_client_enqueue_json(c, "{\"type\": \"noop\"}", &id, err, sizeof(err)), 0);
	CHECK_INT_EQ(id, 1); /* a fresh Redis without persistence */
	CHECK_INT_EQ(jq_client_status(c, id, status, sizeof(status), NULL, 0), 0);
	CHECK_STR_EQ(status, "pending");
	jq_client_free(c);
}

/* The largest bulk call stores every job with consecutive ids; one more is refused. */
static void test_bulk_limit(void)
{
	flush();
	struct jq_client *c = connect_ok();
	const char item[] = "{\"type\": \"noop\", \"queue\": \"bulk\"},";
	size_t cap = (JQ_CLIENT_BULK_MAX + 1) * (sizeof(item) - 1) + 2;
	char *text = malloc(cap + 1);
	for (int n = JQ_CLIENT_BULK_MAX; n <= JQ_CLIENT_BULK_MAX + 1; n++) {
		UNIT_CASE("%d jobs", n);
		size_t len = 0;
		text[len++] = '[';
		for (int i = 0; i < n; i++) {
			memcpy(text + len, item, sizeof(item) - 1);
			len += sizeof(item) - 1;
		}
		text[len - 1] = ']';
		text[len] = '\0';
		int64_t first = 0;
		size_t count = 0;
		char err[256] = "";
		int rc = jq_client_enqueue_bulk_json(c, text, &first, &count, err, sizeof(err));
		if (n == JQ_CLIENT_BULK_MAX) {
			CHECK_INT_EQ(rc, 0);
			CHECK_INT_EQ(first, 1);
			CHECK_INT_EQ(count, n);
			CHECK_INT_EQ(cmd_int("LLEN jobq:q:bulk"), n);
			CHECK_INT_EQ(cmd_int("EXISTS %s", job_key(n)), 1);
		} else {
			CHECK_INT_EQ(rc, JQ_CLIENT_EINVAL);
			CHECK_CONTAINS(err, "1 to 10000 jobs");
			CHECK_INT_EQ(cmd_int("LLEN jobq:q:bulk"), JQ_CLIENT_BULK_MAX);
		}
	}
	free(text);
	jq_client_free(c);
}

/* One client per thread, several threads at once: every job stored, no id twice. */
#define THREADS 4
#define JOBS_PER_THREAD 200

static void *enqueue_many(void *arg)
{
	int64_t *ids = arg;
	char err[256];
	struct jq_client *c = jq_client_connect(url, NULL, err, sizeof(err));
	for (int i = 0; c && i < JOBS_PER_THREAD; i++)
		if (jq_client_enqueue_json(c, "{\"type\": \"noop\", \"queue\": \"mt\"}", &ids[i],
					   err, sizeof(err)) != 0)
			ids[i] = -1;
	jq_client_free(c);
	return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static void test_threads(void)
{
	flush();
	static int64_t ids[THREADS * JOBS_PER_THREAD];
	memset(ids, 0, sizeof(ids));
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		CHECK_INT_EQ(pthread_create(&t[i], NULL, enqueue_many, &ids[i * JOBS_PER_THREAD]),
			     0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	qsort(ids, THREADS * JOBS_PER_THREAD, sizeof(ids[0]), cmp_i64);
	for (int i = 0; i < THREADS * JOBS_PER_THREAD; i++) {
		UNIT_CASE("job %d", i);
		CHECK_INT_EQ(ids[i], i + 1); /* all stored, ids 1..N each once */
	}
	UNIT_CASE("queue");
	CHECK_INT_EQ(cmd_int("LLEN jobq:q:mt"), THREADS * JOBS_PER_THREAD);
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A Redis that stops answering (SIGSTOP): calls fail after the timeout, not never. */
static void test_timeout(void)
{
	flush();
	struct jq_client *c = connect_ok();
	CHECK_INT_EQ(jq_client_set(c, JQ_CLIENT_OPT_TIMEOUT_MS, 300), 0);
	kill(redis_pid, SIGSTOP);
	char err[256] = "", status[64];
	int64_t id = 0, t0 = mono_ms();
	CHECK_INT_EQ(jq_client_enqueue_json(c, "{\"type\": \"noop\"}", &id, err, sizeof(err)),
		     JQ_CLIENT_EREDIS);
	int64_t took = mono_ms() - t0;
	CHECK(took >= 250 && took < 3000);
	CHECK_CONTAINS(err, "redis at '127.0.0.1'");
	/* the next call connects again: accepted by the kernel, then SELECT times out */
	t0 = mono_ms();
	CHECK_INT_EQ(jq_client_status(c, 1, status, sizeof(status), err, sizeof(err)),
		     JQ_CLIENT_EREDIS);
	took = mono_ms() - t0;
	CHECK(took >= 250 && took < 3000);
	kill(redis_pid, SIGCONT);
	CHECK_INT_EQ(jq_client_enqueue_json(c, "{\"type\": \"noop\"}", &id, err, sizeof(err)), 0);
	CHECK_INT_EQ(jq_client_status(c, id, status, sizeof(status), NULL, 0), 0);
	CHECK_STR_EQ(status, "pending");
	jq_client_free(c);
}

/* ---- a replica (JQ_CLIENT_OPT_MIN_REPLICAS_ACK) ---- */

static pid_t replica_pid = -1;

static void stop_replica(void)
{
	if (replica_pid > 0) {
		kill(replica_pid, SIGCONT);
		kill(replica_pid, SIGTERM);
		waitpid(replica_pid, NULL, 0);
		replica_pid = -1;
	}
	/* what it received from the primary: not for the primary's restarts to load */
	char rdb[300];
	snprintf(rdb, sizeof(rdb), "%s/replica.rdb", tmpdir);
	unlink(rdb);
}

/* Starts a replica of the test's redis-server; 0 once the primary sees it online. */
static int start_replica(void)
{
	char sport[16], sprimary[16], log[300];
	snprintf(sport, sizeof(sport), "%d", free_port());
	snprintf(sprimary, sizeof(sprimary), "%d", port);
	snprintf(log, sizeof(log), "%s/replica.log", tmpdir);
	fflush(stdout);
	fflush(stderr);
	replica_pid = fork();
	if (replica_pid == 0) {
		if (!freopen(log, "a", stdout) || !freopen(log, "a", stderr))
			_exit(127);
		execlp(redis_bin, redis_bin, "--port", sport, "--bind", "127.0.0.1", "--save", "",
		       "--appendonly", "no", "--dir", tmpdir, "--dbfilename", "replica.rdb",
		       "--daemonize", "no", "--replicaof", "127.0.0.1", sprimary, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200 && replica_pid > 0; i++) { /* 10 s */
		redisReply *r = cmd("INFO replication");
		int online = r && r->type == REDIS_REPLY_STRING &&
			     strstr(r->str, "connected_slaves:1") && strstr(r->str, "state=online");
		if (r)
			freeReplyObject(r);
		if (online)
			return 0;
		sleep_ms(50);
	}
	stop_replica();
	return -1;
}

/* With MIN_REPLICAS_ACK an enqueue succeeds only once a replica confirmed it; a stopped
 * replica: JQ_CLIENT_ENOTREPLICATED, the job stored on the primary with its id given, and
 * a retry with the same Idempotency-Key stores nothing more and succeeds once the replica
 * is back. */
static void test_replicas_ack(void)
{
	flush();
	struct jq_client *c = connect_ok();
	CHECK_INT_EQ(jq_client_set(c, JQ_CLIENT_OPT_MIN_REPLICAS_ACK, -1), JQ_CLIENT_EINVAL);
	CHECK_INT_EQ(jq_client_set(c, JQ_CLIENT_OPT_MIN_REPLICAS_ACK, 101), JQ_CLIENT_EINVAL);
	CHECK_INT_EQ(jq_client_set(c, JQ_CLIENT_OPT_REPLICA_ACK_TIMEOUT_MS, 0), JQ_CLIENT_EINVAL);
	CHECK_INT_EQ(jq_client_set(c, JQ_CLIENT_OPT_REPLICA_ACK_TIMEOUT_MS, 60001),
		     JQ_CLIENT_EINVAL);
	CHECK_INT_EQ(jq_client_set(c, JQ_CLIENT_OPT_REPLICA_ACK_TIMEOUT_MS, 300), 0);
	CHECK_INT_EQ(jq_client_set(c, JQ_CLIENT_OPT_MIN_REPLICAS_ACK, 1), 0);
	char err[512] = "";
	int64_t id = 0, first = 0;
	size_t count = 0;
	int dup = -1;
	/* no replica at all: not replicated, but stored */
	CHECK_INT_EQ(jq_client_enqueue_json(c, "{\"type\": \"noop\"}", &id, err, sizeof(err)),
		     JQ_CLIENT_ENOTREPLICATED);
	CHECK_CONTAINS(err, "0 of the 1 replicas");
	CHECK_CONTAINS(err, "retry with the same idempotency key");
	CHECK(id > 0);
	CHECK_INT_EQ(cmd_int("EXISTS %s", job_key(id)), 1);

	if (start_replica() != 0) {
		CHECK(!"the replica did not come online");
		jq_client_free(c);
		return;
	}
	/* a healthy replica gets time enough on a loaded machine (it missed 300 ms under
	 * ASan in a parallel suite run, and in CI); the stopped one only what a refusal
	 * needs */
	CHECK_INT_EQ(jq_client_set(c, JQ_CLIENT_OPT_REPLICA_ACK_TIMEOUT_MS, 10000), 0);
	CHECK_INT_EQ(jq_client_enqueue_json(c, "{\"type\": \"noop\"}", &id, err, sizeof(err)), 0);
	CHECK_INT_EQ(jq_client_enqueue_bulk_json(c, "[{\"type\": \"noop\"}, {\"type\": \"noop\"}]",
						 &first, &count, err, sizeof(err)),
		     0);
	CHECK_INT_EQ((long long)count, 2);

	CHECK_INT_EQ(jq_client_set(c, JQ_CLIENT_OPT_REPLICA_ACK_TIMEOUT_MS, 300), 0);
	kill(replica_pid, SIGSTOP);
	int64_t held = 0;
	CHECK_INT_EQ(jq_client_enqueue_json_idem(c, "{\"type\": \"noop\"}", "ack-1", &held, &dup,
						 err, sizeof(err)),
		     JQ_CLIENT_ENOTREPLICATED);
	CHECK(held > id);
	CHECK_INT_EQ(dup, 0);
	CHECK_INT_EQ(cmd_int("EXISTS %s", job_key(held)), 1);
	first = 0;
	CHECK_INT_EQ(jq_client_enqueue_bulk_json(c, "[{\"type\": \"noop\"}]", &first, &count, err,
						 sizeof(err)),
		     JQ_CLIENT_ENOTREPLICATED);
	CHECK(first > held);
	/* still stopped: the retry is not confirmed either, and stores nothing */
	int64_t again = 0;
	CHECK_INT_EQ(jq_client_enqueue_json_idem(c, "{\"type\": \"noop\"}", "ack-1", &again, &dup,
						 err, sizeof(err)),
		     JQ_CLIENT_ENOTREPLICATED);
	CHECK_INT_EQ(again, held);
	kill(replica_pid, SIGCONT);
	CHECK_INT_EQ(jq_client_set(c, JQ_CLIENT_OPT_REPLICA_ACK_TIMEOUT_MS, 10000), 0);
	/* back: the retry succeeds, the same job */
	again = 0;
	int rc = JQ_CLIENT_ENOTREPLICATED;
	for (int i = 0; i < 20 && rc == JQ_CLIENT_ENOTREPLICATED; i++) /* the link may reconnect */
		rc = jq_client_enqueue_json_idem(c, "{\"type\": \"noop\"}", "ack-1", &again, &dup,
						 err, sizeof(err));
	CHECK_INT_EQ(rc, 0);
	CHECK_INT_EQ(again, held);
	CHECK_INT_EQ(dup, 1);

	/* more than there are */
	CHECK_INT_EQ(jq_client_set(c, JQ_CLIENT_OPT_REPLICA_ACK_TIMEOUT_MS, 300), 0);
	CHECK_INT_EQ(jq_client_set(c, JQ_CLIENT_OPT_MIN_REPLICAS_ACK, 2), 0);
	CHECK_INT_EQ(jq_client_enqueue_json(c, "{\"type\": \"noop\"}", &id, err, sizeof(err)),
		     JQ_CLIENT_ENOTREPLICATED);
	CHECK_CONTAINS(err, "1 of the 2 replicas");
	/* 0: the primary's word again */
	CHECK_INT_EQ(jq_client_set(c, JQ_CLIENT_OPT_MIN_REPLICAS_ACK, 0), 0);
	kill(replica_pid, SIGSTOP);
	CHECK_INT_EQ(jq_client_enqueue_json(c, "{\"type\": \"noop\"}", &id, err, sizeof(err)), 0);
	jq_client_free(c);
	stop_replica();
}

static void cleanup(void)
{
	stop_replica();
	stop_redis();
	char log[300];
	snprintf(log, sizeof(log), "%s/redis.log", tmpdir);
	unlink(log);
	snprintf(log, sizeof(log), "%s/replica.log", tmpdir);
	unlink(log);
	rmdir(tmpdir);
}

static int setup(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	redis_bin = argc > 1 ? argv[1] : getenv("JOBQ_REDIS_SERVER");
	if (!redis_bin || !*redis_bin)
		redis_bin = "redis-server";
	if (!mkdtemp(tmpdir)) {
		fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
		return -1;
	}
	atexit(cleanup);
	if (start_redis() != 0) {
		fprintf(stderr, "cannot start '%s' (log in %s)\n", redis_bin, tmpdir);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (setup(argc, argv) != 0)
		return 1;
	static const struct unit_test tests[] = {
		{"connect_errors", test_connect_errors},
		{"options", test_options},
		{"enqueue_stores", test_enqueue_stores},
		{"ids", test_ids},
		{"traceparent", test_traceparent},
		{"bad_input", test_bad_input},
		{"idempotency", test_idempotency},
		{"unique", test_unique},
		{"read", test_read},
		{"cancel", test_cancel},
		{"noscript", test_noscript},
		{"where", test_where},
		{"bulk_limit", test_bulk_limit},
		{"threads", test_threads},
		{"replicas_ack", test_replicas_ack},
		{"timeout", test_timeout},
		{"redis_down", test_redis_down},
	};
	return unit_run("test_client", tests, sizeof(tests) / sizeof(tests[0]));
}
