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
	    {"foo{}{bar}", 8363},     /* an empty tag: the whole key */
	    {"foo{{bar}}zap", 4015},  /* the tag is "{bar" */
	    {"foo{bar}{zap}", 5061},  /* the first tag: "bar" */
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
	    {"MOVED 12 :6380", JQ_REDIRECT_MOVED, 12, "from", 6380}, /* no name: the asked host */
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
	    {"CROSSSLOT Keys in request don't hash to the same slot", JQ_REDIRECT_NONE, 0, "", 0},
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

UNIT_MAIN({"slots", test_slots}, {"slot_map", test_slot_map}, {"redirect", test_redirect})
