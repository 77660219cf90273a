/* test_cluster.c: unit tests of common/store/cluster.c: key slots (against CLUSTER KEYSLOT
 * of a real Redis 7.0), the slot map from recorded CLUSTER SLOTS replies, redirections. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "unit.h"

static void test_slots(void)
{
	/* each slot as `redis-cli CLUSTER KEYSLOT` of Redis 7.0.15 answered */
	static const struct {
		const char *key;
		uint16_t slot;
	} cases[] = {
		{"foo", 12182},
		{"bar", 5061},
		{"{user1000}.following", 3443},
		{"{user1000}.followers", 3443},
		{"foo{}{bar}", 8363},    /* an empty tag: the whole key */
		{"foo{{bar}}zap", 4015}, /* the tag is "{bar" */
		{"foo{bar}{zap}", 5061}, /* the first tag: "bar" */
		{"{}", 15257},
		{"", 0},
		{"a", 15495},
		{"jobq:q:default", 13238},
		{"{0}", 13907},
		{"{16383}", 15158},
		{"123456789", 12739}, /* CRC16/XMODEM of it is 0x31C3 */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("%s", cases[i].key);
		CHECK_INT_EQ(jq_cluster_slot(cases[i].key, strlen(cases[i].key)), cases[i].slot);
	}
}

/* ---- recorded replies, built by hand as hiredis builds them ---- */

static redisReply *r_int(long long v)
{
	redisReply *r = calloc(1, sizeof(*r));
	r->type = REDIS_REPLY_INTEGER;
	r->integer = v;
	return r;
}

static redisReply *r_str(const char *s)
{
	redisReply *r = calloc(1, sizeof(*r));
	r->type = REDIS_REPLY_STRING;
	r->len = strlen(s);
	r->str = strdup(s);
	return r;
}

static redisReply *r_arr(size_t n, ...)
{
	redisReply *r = calloc(1, sizeof(*r));
	r->type = REDIS_REPLY_ARRAY;
	r->elements = n;
	r->element = calloc(n ? n : 1, sizeof(*r->element));
	va_list ap;
	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		r->element[i] = va_arg(ap, redisReply *);
	va_end(ap);
	return r;
}

static void r_free(redisReply *r)
{
	for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
		r_free(r->element[i]);
	free(r->element);
	free(r->str);
	free(r);
}

/* [start, end, [host, port, id, []], [replica host, port, id, []]] as Redis 7.0 answers */
static redisReply *range(long long start, long long end, const char *host, long long port,
			 long long replica_port)
{
	return r_arr(4, r_int(start), r_int(end),
		     r_arr(4, r_str(host), r_int(port), r_str("a1b2c3"), r_arr(0)),
		     r_arr(4, r_str(host), r_int(replica_port), r_str("d4e5f6"), r_arr(0)));
}

static void test_slot_map(void)
{
	struct jq_slot_map *m = calloc(1, sizeof(*m));
	char err[256] = "";
	UNIT_CASE("three masters, as redis-cli --cluster create splits the slots");
	redisReply *r = r_arr(3, range(0, 5460, "127.0.0.1", 30001, 30004),
			      range(5461, 10922, "127.0.0.1", 30002, 30005),
			      range(10923, 16383, "127.0.0.1", 30003, 30006));
	CHECK_INT_EQ(jq_slot_map_parse(m, r, "127.0.0.1", err, sizeof(err)), 0);
	CHECK_INT_EQ(m->nnodes, 3);
	CHECK_INT_EQ(jq_slot_map_node(m, 0)->port, 30001);
	CHECK_INT_EQ(jq_slot_map_node(m, 5460)->port, 30001);
	CHECK_INT_EQ(jq_slot_map_node(m, 5461)->port, 30002);
	CHECK_INT_EQ(jq_slot_map_node(m, 12182)->port, 30003); /* "foo" */
	CHECK_INT_EQ(jq_slot_map_node(m, 16383)->port, 30003);
	r_free(r);

	UNIT_CASE("a gap (slots no master serves) and a master of two ranges");
	r = r_arr(2, range(0, 99, "10.0.0.1", 7000, 7001), range(200, 299, "10.0.0.1", 7000, 7001));
	CHECK_INT_EQ(jq_slot_map_parse(m, r, "x", err, sizeof(err)), 0);
	CHECK_INT_EQ(m->nnodes, 1);
	CHECK(jq_slot_map_node(m, 150) == NULL);
	CHECK_STR_EQ(jq_slot_map_node(m, 250)->host, "10.0.0.1");
	r_free(r);

	UNIT_CASE("an empty host is the address asked");
	r = r_arr(1, range(0, 16383, "", 7002, 7003));
	CHECK_INT_EQ(jq_slot_map_parse(m, r, "192.0.2.7", err, sizeof(err)), 0);
	CHECK_STR_EQ(jq_slot_map_node(m, 42)->host, "192.0.2.7");
	r_free(r);

	UNIT_CASE("MOVED updates one slot");
	CHECK_INT_EQ(jq_slot_map_move(m, 42, "192.0.2.8", 7010), 0);
	CHECK_STR_EQ(jq_slot_map_node(m, 42)->host, "192.0.2.8");
	CHECK_INT_EQ(jq_slot_map_node(m, 43)->port, 7002);

	UNIT_CASE("replies that are no map");
	r = r_arr(1, r_arr(2, r_int(0), r_int(10)));
	CHECK_INT_EQ(jq_slot_map_parse(m, r, "h", err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "range 0");
	r_free(r);
	r = r_arr(1, range(10, 5, "h", 1, 2));
	CHECK_INT_EQ(jq_slot_map_parse(m, r, "h", err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "out of bounds");
	r_free(r);
	r = r_arr(1, range(0, 16384, "h", 1, 2));
	CHECK_INT_EQ(jq_slot_map_parse(m, r, "h", err, sizeof(err)), -1);
	r_free(r);
	r = r_str("ERR This instance has cluster support disabled");
	r->type = REDIS_REPLY_ERROR;
	CHECK_INT_EQ(jq_slot_map_parse(m, r, "h", err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "cluster support disabled");
	r_free(r);
	free(m);
}

static void test_redirect(void)
{
	static const struct {
		const char *err;
		enum jq_redirect_kind kind;
		int slot;
		const char *host;
		int port;
	} cases[] = {
		{"MOVED 3999 127.0.0.1:6381", JQ_REDIRECT_MOVED, 3999, "127.0.0.1", 6381},
		{"ASK 3999 127.0.0.1:6381", JQ_REDIRECT_ASK, 3999, "127.0.0.1", 6381},
		{"MOVED 16383 redis-2.internal:7000", JQ_REDIRECT_MOVED, 16383, "redis-2.internal",
		 7000},
		{"MOVED 12 :6380", JQ_REDIRECT_MOVED, 12, "from",
		 6380}, /* no name: the asked host */
		{"MOVED 7 ::1:6380", JQ_REDIRECT_MOVED, 7, "::1", 6380}, /* IPv6 */
		{"TRYAGAIN Multiple keys request during rehashing of slot", JQ_REDIRECT_TRYAGAIN, 0,
		 "", 0},
		{"CLUSTERDOWN The cluster is down", JQ_REDIRECT_CLUSTERDOWN, 0, "", 0},
		{"CLUSTERDOWN Hash slot not served", JQ_REDIRECT_CLUSTERDOWN, 0, "", 0},
		{"MOVED 16384 127.0.0.1:6381", JQ_REDIRECT_NONE, 0, "", 0}, /* no such slot */
		{"MOVED 1 127.0.0.1", JQ_REDIRECT_NONE, 0, "", 0},
		{"MOVED 1 127.0.0.1:0", JQ_REDIRECT_NONE, 0, "", 0},
		{"MOVED x 127.0.0.1:1", JQ_REDIRECT_NONE, 0, "", 0},
		{"NOSCRIPT No matching script", JQ_REDIRECT_NONE, 0, "", 0},
		{"CROSSSLOT Keys in request don't hash to the same slot", JQ_REDIRECT_NONE, 0, "",
		 0},
		{"ERR unknown command", JQ_REDIRECT_NONE, 0, "", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("%s", cases[i].err);
		struct jq_redirect d;
		jq_cluster_redirect(cases[i].err, strlen(cases[i].err), "from", &d);
		CHECK_INT_EQ(d.kind, cases[i].kind);
		if (cases[i].kind == JQ_REDIRECT_MOVED || cases[i].kind == JQ_REDIRECT_ASK) {
			CHECK_INT_EQ(d.slot, cases[i].slot);
			CHECK_STR_EQ(d.to.host, cases[i].host);
			CHECK_INT_EQ(d.to.port, cases[i].port);
		}
	}
}

static redisReply *r_err(const char *s)
{
	redisReply *r = r_str(s);
	r->type = REDIS_REPLY_ERROR;
	return r;
}

/* The client's step for each answer, as Redis 7.0 gave them (a slot moved with
 * CLUSTER SETSLOT, a master killed, SCRIPT FLUSH). */
static void test_next(void)
{
	static const struct {
		const char *err; /* NULL: a plain answer ("OK") */
		int is_script, tries;
		enum jq_cluster_action action;
		int slot, port, delay_ms;
	} cases[] = {
		{NULL, 0, 1, JQ_CLUSTER_DELIVER, 0, 0, 0},
		{"MOVED 13006 127.0.0.1:30002", 0, 1, JQ_CLUSTER_MOVED, 13006, 30002, 0},
		{"ASK 13006 127.0.0.1:30003", 1, 2, JQ_CLUSTER_ASK, 13006, 30003, 0},
		{"TRYAGAIN Multiple keys request during rehashing of slot", 0, 1, JQ_CLUSTER_LATER,
		 0, 0, 25},
		{"CLUSTERDOWN The cluster is down", 0, 3, JQ_CLUSTER_LATER, 0, 0, 100},
		{"CLUSTERDOWN Hash slot not served", 0, 9, JQ_CLUSTER_LATER, 0, 0, 1000},
		{"NOSCRIPT No matching script. Please use EVAL.", 1, 1, JQ_CLUSTER_LOAD, 0, 0, 0},
		/* a command that is no script: NOSCRIPT is its answer */
		{"NOSCRIPT No matching script. Please use EVAL.", 0, 1, JQ_CLUSTER_DELIVER, 0, 0,
		 0},
		{"CROSSSLOT Keys in request don't hash to the same slot", 1, 1, JQ_CLUSTER_DELIVER,
		 0, 0, 0},
		{"ERR wrong number of arguments", 0, 1, JQ_CLUSTER_DELIVER, 0, 0, 0},
		{"MOVED garbage", 0, 1, JQ_CLUSTER_DELIVER, 0, 0, 0},
		/* the bound: after JQ_CLUSTER_TRIES_MAX sends the caller gets the answer */
		{"MOVED 13006 127.0.0.1:30002", 0, JQ_CLUSTER_TRIES_MAX, JQ_CLUSTER_DELIVER, 0, 0,
		 0},
		{"TRYAGAIN Multiple keys", 0, JQ_CLUSTER_TRIES_MAX - 1, JQ_CLUSTER_LATER, 0, 0,
		 1000},
		{"CLUSTERDOWN The cluster is down", 0, JQ_CLUSTER_TRIES_MAX, JQ_CLUSTER_DELIVER, 0,
		 0, 0},
		{"NOSCRIPT No matching script", 1, JQ_CLUSTER_TRIES_MAX, JQ_CLUSTER_DELIVER, 0, 0,
		 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("%s after %d tries", cases[i].err ? cases[i].err : "OK", cases[i].tries);
		redisReply *r = cases[i].err ? r_err(cases[i].err) : r_str("OK");
		if (!cases[i].err)
			r->type = REDIS_REPLY_STATUS;
		struct jq_cluster_step st;
		jq_cluster_next(r, cases[i].tries, cases[i].is_script, "127.0.0.1", &st);
		CHECK_INT_EQ(st.action, cases[i].action);
		if (st.action == JQ_CLUSTER_MOVED || st.action == JQ_CLUSTER_ASK) {
			CHECK_INT_EQ(st.redirect.slot, cases[i].slot);
			CHECK_INT_EQ(st.redirect.to.port, cases[i].port);
			CHECK_STR_EQ(st.redirect.to.host, "127.0.0.1");
		}
		if (st.action == JQ_CLUSTER_LATER)
			CHECK_INT_EQ(st.delay_ms, cases[i].delay_ms);
		r_free(r);
	}
	UNIT_CASE("a lost connection (NULL) is delivered");
	struct jq_cluster_step st;
	jq_cluster_next(NULL, 1, 1, "h", &st);
	CHECK_INT_EQ(st.action, JQ_CLUSTER_DELIVER);
	UNIT_CASE("the backoff doubles from 25 ms to 1 s and stays there");
	CHECK_INT_EQ(jq_cluster_backoff_ms(1), 25);
	CHECK_INT_EQ(jq_cluster_backoff_ms(2), 50);
	CHECK_INT_EQ(jq_cluster_backoff_ms(6), 800);
	CHECK_INT_EQ(jq_cluster_backoff_ms(7), 1000);
	CHECK_INT_EQ(jq_cluster_backoff_ms(1000), 1000);
}

/* A command's path through a slot being moved, as the client takes it: the map's master
 * answers ASK while the key is on its way (the map stays), then MOVED (the map follows,
 * and the next command goes to the new master at once). */
static void test_route_sequence(void)
{
	struct jq_slot_map *m = calloc(1, sizeof(*m));
	char err[256] = "";
	redisReply *r = r_arr(3, range(0, 5460, "127.0.0.1", 30001, 30004),
			      range(5461, 10922, "127.0.0.1", 30002, 30005),
			      range(10923, 16383, "127.0.0.1", 30003, 30006));
	CHECK_INT_EQ(jq_slot_map_parse(m, r, "127.0.0.1", err, sizeof(err)), 0);
	r_free(r);
	uint16_t slot = jq_cluster_slot("key:{t0}:1000", 13);
	CHECK_INT_EQ(slot, jq_cluster_slot("{t0}", 4));
	const struct jq_cluster_node *to = jq_slot_map_node(m, slot);
	UNIT_CASE("first sent to the map's master of slot %u", slot);
	CHECK(to != NULL);
	int first = to ? to->port : 0;
	int other = first == 30001 ? 30002 : 30001;
	char text[128];
	struct jq_cluster_step st;
	UNIT_CASE("ASK: to the importing node, the map unchanged");
	snprintf(text, sizeof(text), "ASK %u 127.0.0.1:%d", slot, other);
	r = r_err(text);
	jq_cluster_next(r, 1, 0, "127.0.0.1", &st);
	r_free(r);
	CHECK_INT_EQ(st.action, JQ_CLUSTER_ASK);
	CHECK_INT_EQ(st.redirect.to.port, other);
	CHECK_INT_EQ(jq_slot_map_node(m, slot)->port, first);
	UNIT_CASE("MOVED: the map follows for that slot only");
	snprintf(text, sizeof(text), "MOVED %u :%d", slot, other); /* no host: the one asked */
	r = r_err(text);
	jq_cluster_next(r, 2, 0, "127.0.0.1", &st);
	r_free(r);
	CHECK_INT_EQ(st.action, JQ_CLUSTER_MOVED);
	CHECK_INT_EQ(
		jq_slot_map_move(m, st.redirect.slot, st.redirect.to.host, st.redirect.to.port), 0);
	CHECK_INT_EQ(jq_slot_map_node(m, slot)->port, other);
	CHECK_STR_EQ(jq_slot_map_node(m, slot)->host, "127.0.0.1");
	CHECK_INT_EQ(jq_slot_map_node(m, (uint16_t)(slot - 1))->port, first);
	CHECK_INT_EQ(m->nnodes, 3); /* a known master: no new entry */
	free(m);
}

UNIT_MAIN({"slots", test_slots}, {"slot_map", test_slot_map}, {"redirect", test_redirect},
	  {"next", test_next}, {"route_sequence", test_route_sequence})
