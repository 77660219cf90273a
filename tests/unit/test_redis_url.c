/* test_redis_url.c: unit tests of jq_redis_url_parse (common/redis_url.c). */
#include <stdlib.h>
#include <unistd.h>

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
		const char *user;
	} cases[] = {
		{"redis://localhost", "localhost", 6379, "", 0, "", ""},
		{"redis://127.0.0.1", "127.0.0.1", 6379, "", 0, "", ""},
		{"redis://redis.example.com:6380", "redis.example.com", 6380, "", 0, "", ""},
		{"redis://host:6380/5", "host", 6380, "", 5, "", ""},
		{"redis://host/15", "host", 6379, "", 15, "", ""},
		{"redis://host/0", "host", 6379, "", 0, "", ""},
		{"redis://host/", "host", 6379, "", 0, "", ""},
		{"redis://host:1", "host", 1, "", 0, "", ""},
		{"redis://host:65535", "host", 65535, "", 0, "", ""},
		{"redis://:pw@host:6390/2", "host", 6390, "", 2, "pw", ""},
		{"redis://:s3cr:et@host", "host", 6379, "", 0, "s3cr:et", ""},
		{"redis://:p@ss@host", "host", 6379, "", 0, "p@ss", ""},
		{"redis://user:pw@host", "host", 6379, "", 0, "pw", "user"},
		{"redis://jobq:s3cr%3At%40x%25@h:7/1", "h", 7, "", 1, "s3cr:t@x%", "jobq"},
		{"redis://us%3Aer:p%2fw@h", "h", 6379, "", 0, "p/w", "us:er"},
		{"redis://u%20x:@h", "h", 6379, "", 0, "", "u x"},
		{"redis://pw%41@h", "h", 6379, "", 0, "pwA", ""},
		{"unix:///tmp/x.sock", "", 6379, "/tmp/x.sock", 0, "", ""},
		{"unix:///tmp/x.sock?db=3", "", 6379, "/tmp/x.sock", 3, "", ""},
		{"unix:///var/run/redis/redis.sock?db=15", "", 6379, "/var/run/redis/redis.sock",
		 15, "", ""},
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
		CHECK_STR_EQ(u.user, cases[i].user ? cases[i].user : "");
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
		{"redis://:p%zz@host", "bad percent-encoding in the password"},
		{"redis://:p%4@host", "bad percent-encoding in the password"},
		{"redis://:p%@host", "bad percent-encoding in the password"},
		{"redis://:p%00x@host", "not %00"},
		{"redis://u%0@host", "bad percent-encoding in the password"},
		{"redis://u%g0:pw@host", "bad percent-encoding in the user"},
		{"redis://u%00:pw@host", "bad percent-encoding in the user"},
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

	snprintf(url, sizeof(url), "redis://%0256d:pw@host", 0);
	UNIT_CASE("user of 256");
	CHECK_INT_EQ(jq_redis_url_parse(url, &u, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "user in redis URL too long");

	/* 255 decoded bytes fit, though the URL spells them in 765 */
	char *q = url + snprintf(url, sizeof(url), "redis://:");
	for (int i = 0; i < 255; i++)
		q += sprintf(q, "%%41");
	snprintf(q, 8, "@host");
	UNIT_CASE("percent-encoded password of 255");
	CHECK_INT_EQ(jq_redis_url_parse(url, &u, err, sizeof(err)), 0);
	CHECK_INT_EQ(strlen(u.password), 255);

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
	UNIT_CASE("an ACL user, percent-encoded");
	CHECK_INT_EQ(jq_redis_url_parse("redis-sentinel://jobq:p%40w@h#m", &u, err, sizeof(err)),
		     0);
	CHECK_STR_EQ(u.user, "jobq");
	CHECK_STR_EQ(u.password, "p@w");
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

static void test_cluster(void)
{
	struct jq_redis_url u;
	char err[256] = "";
	UNIT_CASE("three nodes, db 0, an ACL user");
	CHECK_INT_EQ(jq_redis_url_parse("redis-cluster://jobq:p%40w@10.0.0.1:7000,n2,n3:7002/0", &u,
					err, sizeof(err)),
		     0);
	CHECK_INT_EQ(u.nseeds, 3);
	CHECK_INT_EQ(u.nsentinels, 0);
	CHECK_STR_EQ(u.seeds[0].host, "10.0.0.1");
	CHECK_INT_EQ(u.seeds[0].port, 7000);
	CHECK_STR_EQ(u.seeds[1].host, "n2");
	CHECK_INT_EQ(u.seeds[1].port, 6379);
	CHECK_STR_EQ(u.seeds[2].host, "n3");
	CHECK_INT_EQ(u.seeds[2].port, 7002);
	CHECK_STR_EQ(u.user, "jobq");
	CHECK_STR_EQ(u.password, "p@w");
	CHECK_INT_EQ(u.db, 0);
	CHECK_STR_EQ(u.host, "10.0.0.1"); /* the first node, for messages */
	CHECK_INT_EQ(u.port, 7000);
	UNIT_CASE("one node, a password alone");
	CHECK_INT_EQ(jq_redis_url_parse("redis-cluster://:s3cret@h", &u, err, sizeof(err)), 0);
	CHECK_INT_EQ(u.nseeds, 1);
	CHECK_STR_EQ(u.seeds[0].host, "h");
	CHECK_STR_EQ(u.password, "s3cret");
	CHECK_STR_EQ(u.user, "");
	UNIT_CASE("redis:// stays one Redis");
	CHECK_INT_EQ(jq_redis_url_parse("redis://h:7000", &u, err, sizeof(err)), 0);
	CHECK_INT_EQ(u.nseeds, 0);
	static const struct {
		const char *url, *msg;
	} bad[] = {
		{"redis-cluster://", "no cluster node"},
		{"redis-cluster:///0", "no cluster node"},
		{"redis-cluster://h,", "bad cluster node ''"},
		{"redis-cluster://h:0", "bad cluster node 'h:0'"},
		{"redis-cluster://h/1", "database 0 only"},
		{"redis-cluster://h/x", "database 0 only"},
		{"redis-cluster://a,b,c,d,e,f,g,h,i", "at most 8 cluster nodes"},
		{"redis-cluster://u:%zz@h", "bad percent-encoding"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		UNIT_CASE("%s", bad[i].url);
		err[0] = '\0';
		CHECK_INT_EQ(jq_redis_url_parse(bad[i].url, &u, err, sizeof(err)), -1);
		CHECK_CONTAINS(err, bad[i].msg);
	}
}

/* Writes content (len bytes) to a temporary file; its path in path. */
static void write_tmp(char *path, size_t pathlen, const char *content, size_t len)
{
	snprintf(path, pathlen, "/tmp/jq-test-redis-pw-XXXXXX");
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	CHECK_INT_EQ(write(fd, content, len), (long)len);
	close(fd);
}

static void test_password_file(void)
{
	static const struct {
		const char *content;
		size_t len;
		const char *password; /* NULL: refused */
		const char *msg;
	} cases[] = {
		{"s3cret\n", 7, "s3cret", NULL},
		{"s3cret", 6, "s3cret", NULL},
		{"s3cret\r\n", 8, "s3cret", NULL},
		{"with space %41@:\n", 17, "with space %41@:", NULL}, /* taken as it is */
		{"", 0, NULL, "is empty"},
		{"\n", 1, NULL, "is empty"},
		{"two\nlines\n", 10, NULL, "one line"},
		{"a\n\n", 3, NULL, "one line"},
		{"nul\0byte", 8, NULL, "one line"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("file %zu", i);
		char path[64], pw[256], err[512] = "";
		write_tmp(path, sizeof(path), cases[i].content, cases[i].len);
		int rc = jq_redis_password_file_read(path, pw, sizeof(pw), err, sizeof(err));
		if (cases[i].password) {
			CHECK_INT_EQ(rc, 0);
			CHECK_STR_EQ(pw, cases[i].password);
		} else {
			CHECK_INT_EQ(rc, -1);
			CHECK_CONTAINS(err, cases[i].msg);
		}
		unlink(path);
	}
	char long_pw[300], path[64], pw[256], err[512];
	memset(long_pw, 'x', sizeof(long_pw));
	UNIT_CASE("255 bytes and a newline");
	long_pw[255] = '\n';
	write_tmp(path, sizeof(path), long_pw, 256);
	CHECK_INT_EQ(jq_redis_password_file_read(path, pw, sizeof(pw), err, sizeof(err)), 0);
	CHECK_INT_EQ(strlen(pw), 255);
	unlink(path);
	UNIT_CASE("256 bytes");
	write_tmp(path, sizeof(path), long_pw, 300);
	CHECK_INT_EQ(jq_redis_password_file_read(path, pw, sizeof(pw), err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "more than 255 bytes");
	unlink(path);
	UNIT_CASE("missing file");
	CHECK_INT_EQ(
		jq_redis_password_file_read("/nonexistent/pw", pw, sizeof(pw), err, sizeof(err)),
		-1);
	CHECK_CONTAINS(err, "cannot read the redis password file '/nonexistent/pw'");

	/* the file's password replaces the URL's; the user stays */
	UNIT_CASE("url and file");
	struct jq_redis_url u;
	write_tmp(path, sizeof(path), "fromfile\n", 9);
	CHECK_INT_EQ(jq_redis_url_load("redis://jobq:fromurl@h/2", path, &u, err, sizeof(err)), 0);
	CHECK_STR_EQ(u.user, "jobq");
	CHECK_STR_EQ(u.password, "fromfile");
	CHECK_INT_EQ(u.db, 2);
	CHECK_INT_EQ(jq_redis_url_load("redis://jobq:fromurl@h/2", "", &u, err, sizeof(err)), 0);
	CHECK_STR_EQ(u.password, "fromurl");
	CHECK_INT_EQ(jq_redis_url_load("unix:///tmp/s", path, &u, err, sizeof(err)), 0);
	CHECK_STR_EQ(u.password, "fromfile");
	unlink(path);
}

UNIT_MAIN({"valid", test_valid}, {"refused", test_refused}, {"long_fields", test_long_fields},
	  {"sentinel", test_sentinel}, {"cluster", test_cluster},
	  {"password_file", test_password_file})
