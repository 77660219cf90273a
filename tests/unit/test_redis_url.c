/* test_redis_url.c: unit tests of jq_redis_url_parse (common/redis_url.c). */
#include "redis.h"
#include "unit.h"

static void test_valid(void)
{
	static const struct {
		const char *url;
		const char *host;
		int port;
		const char *unix_path;
		int db;
		const char *password;
	} cases[] = {
		{"redis://localhost", "localhost", 6379, "", 0, ""},
		{"redis://127.0.0.1", "127.0.0.1", 6379, "", 0, ""},
		{"redis://redis.example.com:6380", "redis.example.com", 6380, "", 0, ""},
		{"redis://host:6380/5", "host", 6380, "", 5, ""},
		{"redis://host/15", "host", 6379, "", 15, ""},
		{"redis://host/0", "host", 6379, "", 0, ""},
		{"redis://host/", "host", 6379, "", 0, ""},
		{"redis://host:1", "host", 1, "", 0, ""},
		{"redis://host:65535", "host", 65535, "", 0, ""},
		{"redis://:pw@host:6390/2", "host", 6390, "", 2, "pw"},
		{"redis://:s3cr:et@host", "host", 6379, "", 0, "s3cr:et"},
		{"redis://:p@ss@host", "host", 6379, "", 0, "p@ss"},
		{"redis://user:pw@host", "host", 6379, "", 0, "pw"},
		{"unix:///tmp/x.sock", "", 6379, "/tmp/x.sock", 0, ""},
		{"unix:///tmp/x.sock?db=3", "", 6379, "/tmp/x.sock", 3, ""},
		{"unix:///var/run/redis/redis.sock?db=15", "", 6379, "/var/run/redis/redis.sock",
		 15, ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("%s", cases[i].url);
		struct jq_redis_url u;
		char err[256] = "";
		CHECK_INT_EQ(jq_redis_url_parse(cases[i].url, &u, err, sizeof(err)), 0);
		CHECK_STR_EQ(err, "");
		CHECK_STR_EQ(u.host, cases[i].host);
		CHECK_INT_EQ(u.port, cases[i].port);
		CHECK_STR_EQ(u.unix_path, cases[i].unix_path);
		CHECK_INT_EQ(u.db, cases[i].db);
		CHECK_STR_EQ(u.password, cases[i].password);
	}
}

static void test_refused(void)
{
	static const struct {
		const char *url;
		const char *msg; /* a part of the error message */
	} cases[] = {
		{"localhost:6379", "must start with redis://"},
		{"", "must start with redis://"},
		{"http://host", "must start with redis://"},
		{"rediss://host", "must start with redis://"},
		{"REDIS://host", "must start with redis://"},
		{"redis://host:0", "bad port"},
		{"redis://host:70000", "bad port"},
		{"redis://host:65536", "bad port"},
		{"redis://host:abc", "bad port"},
		{"redis://host:-1", "bad port"},
		{"redis://host:+6379", "bad port"},
		{"redis://host:", "bad port"},
		{"redis://host:/1", "bad port"},
		{"redis://host:6379x/1", "bad port"},
		{"redis://host/16", "bad database"},
		{"redis://host/-1", "bad database"},
		{"redis://host/x", "bad database"},
		{"redis://host/1/2", "bad database"},
		{"redis://", "bad host"},
		{"redis://:6379", "bad host"},
		{"redis:///0", "bad host"},
		{"redis://:pw@", "bad host"},
		{"redis://:pw@:6379/1", "bad host"},
		{"unix://", "bad unix socket path"},
		{"unix://?db=1", "bad unix socket path"},
		{"unix:///tmp/x.sock?db=16", "bad database"},
		{"unix:///tmp/x.sock?db=", "bad database"},
		{"unix:///tmp/x.sock?db=x", "bad database"},
		{"unix:///tmp/x.sock?foo=1", "bad database"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("%s", cases[i].url);
		struct jq_redis_url u;
		char err[256] = "";
		CHECK_INT_EQ(jq_redis_url_parse(cases[i].url, &u, err, sizeof(err)), -1);
		CHECK_CONTAINS(err, cases[i].msg);
	}
}

static void test_long_fields(void)
{
	char url[1024], err[256];
	struct jq_redis_url u;

	/* 255 host characters fit host[256]; 256 do not */
	snprintf(url, sizeof(url), "redis://%0255d", 0);
	UNIT_CASE("host of 255");
	CHECK_INT_EQ(jq_redis_url_parse(url, &u, err, sizeof(err)), 0);
	CHECK_INT_EQ(strlen(u.host), 255);
	snprintf(url, sizeof(url), "redis://%0256d", 0);
	UNIT_CASE("host of 256");
	CHECK_INT_EQ(jq_redis_url_parse(url, &u, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "bad host");

	snprintf(url, sizeof(url), "redis://:%0256d@host", 0);
	UNIT_CASE("password of 256");
	CHECK_INT_EQ(jq_redis_url_parse(url, &u, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "password");

	snprintf(url, sizeof(url), "unix://%0256d", 0);
	UNIT_CASE("unix path of 256");
	CHECK_INT_EQ(jq_redis_url_parse(url, &u, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "bad unix socket path");
}

static void test_sentinel(void)
{
	struct jq_redis_url u;
	char err[256] = "";
	UNIT_CASE("three sentinels, a db, a password");
	CHECK_INT_EQ(jq_redis_url_parse("redis-sentinel://:p@ss@10.0.0.1:26380,s2,s3:7/3#mymaster",
					&u, err, sizeof(err)),
		     0);
	CHECK_INT_EQ(u.nsentinels, 3);
	CHECK_STR_EQ(u.sentinels[0].host, "10.0.0.1");
	CHECK_INT_EQ(u.sentinels[0].port, 26380);
	CHECK_STR_EQ(u.sentinels[1].host, "s2");
	CHECK_INT_EQ(u.sentinels[1].port, 26379);
	CHECK_STR_EQ(u.sentinels[2].host, "s3");
	CHECK_INT_EQ(u.sentinels[2].port, 7);
	CHECK_INT_EQ(u.db, 3);
	CHECK_STR_EQ(u.password, "p@ss");
	CHECK_STR_EQ(u.master, "mymaster");
	CHECK_STR_EQ(u.host, "");
	UNIT_CASE("one sentinel, no db");
	CHECK_INT_EQ(jq_redis_url_parse("redis-sentinel://h#m", &u, err, sizeof(err)), 0);
	CHECK_INT_EQ(u.nsentinels, 1);
	CHECK_STR_EQ(u.sentinels[0].host, "h");
	CHECK_INT_EQ(u.db, 0);
	CHECK_STR_EQ(u.master, "m");
	CHECK_STR_EQ(u.password, "");
	static const struct {
		const char *url, *msg;
	} bad[] = {
	    {"redis-sentinel://h", "must end with #<master name>"},
	    {"redis-sentinel://h#", "must end with #<master name>"},
	    {"redis-sentinel://#m", "no sentinel"},
	    {"redis-sentinel://h,#m", "bad sentinel ''"},
	    {"redis-sentinel://h,,k#m", "bad sentinel ''"},
	    {"redis-sentinel://h:0#m", "bad sentinel 'h:0'"},
	    {"redis-sentinel://h:99999#m", "bad sentinel"},
	    {"redis-sentinel://h/16#m", "bad database"},
	    {"redis-sentinel://h/x#m", "bad database"},
	    {"redis-sentinel://a,b,c,d,e,f,g,h,i#m", "at most 8 sentinels"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		UNIT_CASE("%s", bad[i].url);
		err[0] = '\0';
		CHECK_INT_EQ(jq_redis_url_parse(bad[i].url, &u, err, sizeof(err)), -1);
		CHECK_CONTAINS(err, bad[i].msg);
	}
}

UNIT_MAIN({"valid", test_valid}, {"refused", test_refused}, {"long_fields", test_long_fields},
	  {"sentinel", test_sentinel})
