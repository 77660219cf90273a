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
		{"localhost:6379", "must start with redis:// or unix://"},
		{"", "must start with redis:// or unix://"},
		{"http://host", "must start with redis:// or unix://"},
		{"rediss://host", "must start with redis:// or unix://"},
		{"REDIS://host", "must start with redis:// or unix://"},
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

UNIT_MAIN({"valid", test_valid}, {"refused", test_refused}, {"long_fields", test_long_fields})
