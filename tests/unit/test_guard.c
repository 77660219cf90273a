/* test_guard.c: unit tests of broker/guard.c: which Host, Origin and Content-Type values
 * the broker's browser protections let through. */
#include <stddef.h>

#include "guard.h"
#include "unit.h"

static const struct jq_opt_list no_list = {{NULL}, 0, 0};

static void test_host(void)
{
	static const struct jq_opt_list extra = {
		{"jobq.example.com, 10.0.0.5:9000", "ha.local"}, 2, 1};
	static const struct jq_opt_list star = {{"*"}, 1, 1};
	struct jq_guard def, wild, more, any;
	char err[256];
	CHECK_INT_EQ(jq_guard_init(&def, "127.0.0.1", 8000, &no_list, NULL, NULL, err, sizeof(err)),
		     0);
	CHECK_INT_EQ(jq_guard_init(&wild, "0.0.0.0", 8000, NULL, NULL, NULL, err, sizeof(err)), 0);
	CHECK_INT_EQ(
		jq_guard_init(&more, "192.168.1.2", 8000, &extra, NULL, NULL, err, sizeof(err)), 0);
	CHECK_INT_EQ(jq_guard_init(&any, "::", 8000, &star, NULL, NULL, err, sizeof(err)), 0);
	static const struct {
		int which; /* 0 def, 1 wild, 2 more, 3 any */
		const char *host;
		int want;
	} cases[] = {
		{0, "127.0.0.1:8000", 0},
		{0, "127.0.0.1", 0},
		{0, "localhost:8000", 0},
		{0, "LOCALHOST:8000", 0},
		{0, "[::1]:8000", 0},
		{0, "[::1]", 0},
		{0, "localhost:8001", 421},    /* another port */
		{0, "evil.example:8000", 421}, /* DNS rebinding */
		{0, "evil.example", 421},
		{0, "localhost.:8000", 421},
		{0, "0.0.0.0:8000", 421},
		{0, "local host", 400},
		{0, "localhost :8000", 400},
		{0, "a@localhost", 400},
		{0, "localhost/x", 400},
		{0, "localhost:", 400},
		{0, "localhost:80000", 400},
		{0, "localhost:8x", 400},
		{0, ":8000", 400},
		{0, "", 400},
		{0, "[::1", 400},
		{0, "[zz]:8000", 400},
		{0, NULL, 400},
		{1, "127.0.0.1:8000", 0}, /* a wildcard: loopback names only */
		{1, "0.0.0.0:8000", 421},
		{1, "192.168.1.2:8000", 421},
		{2, "192.168.1.2:8000", 0}, /* the listen address */
		{2, "jobq.example.com", 0},
		{2, "JOBQ.example.com:8000", 0},
		{2, "jobq.example.com:9000", 421},
		{2, "10.0.0.5:9000", 0}, /* listed with its port */
		{2, "10.0.0.5", 0},
		{2, "10.0.0.5:8000", 421},
		{2, "ha.local:8000", 0},
		{2, "hb.local:8000", 421},
		{3, "anything.example:1234", 0},
		{3, "bad host", 400},
	};
	const struct jq_guard *g[] = {&def, &wild, &more, &any};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("row %zu '%s'", i, cases[i].host ? cases[i].host : "(null)");
		CHECK_INT_EQ(jq_guard_host(g[cases[i].which], cases[i].host), cases[i].want);
	}
	for (size_t i = 0; i < 4; i++)
		jq_guard_release((struct jq_guard *)g[i]);
	/* bad values refuse the start */
	static const struct jq_opt_list bad_host = {{"ok.example, bad host"}, 1, 1};
	static const struct jq_opt_list bad_origin = {{"nonsense"}, 1, 1};
	static const struct jq_opt_list bad_origin2 = {{"https:///"}, 1, 1};
	struct jq_guard x;
	UNIT_CASE("bad values");
	CHECK_INT_EQ(jq_guard_init(&x, "127.0.0.1", 1, &bad_host, NULL, NULL, err, sizeof(err)),
		     -1);
	CHECK_CONTAINS(err, "bad host");
	CHECK_INT_EQ(jq_guard_init(&x, "127.0.0.1", 1, NULL, &bad_origin, NULL, err, sizeof(err)),
		     -1);
	CHECK_INT_EQ(jq_guard_init(&x, "127.0.0.1", 1, NULL, NULL, &bad_origin2, err, sizeof(err)),
		     -1);
}

static void test_origin(void)
{
	static const struct jq_opt_list dash = {{"https://dash.example.com"}, 1, 1};
	static const struct jq_opt_list any = {{"https://a.example", "*"}, 2, 1};
	static const struct jq_opt_list slash = {{"https://dash.example.com/"}, 1, 1};
	static struct jq_guard none, d, a, s;
	char err[256];
	CHECK_INT_EQ(jq_guard_init(&none, "127.0.0.1", 8000, NULL, NULL, NULL, err, sizeof(err)),
		     0);
	CHECK_INT_EQ(jq_guard_init(&d, "127.0.0.1", 8000, NULL, NULL, &dash, err, sizeof(err)), 0);
	CHECK_INT_EQ(jq_guard_init(&a, "127.0.0.1", 8000, NULL, &any, NULL, err, sizeof(err)), 0);
	CHECK_INT_EQ(jq_guard_init(&s, "127.0.0.1", 8000, NULL, &slash, NULL, err, sizeof(err)), 0);
	const struct {
		const struct jq_guard *g;
		const char *origin, *host;
		int want, listed;
	} cases[] = {
		{&none, "http://127.0.0.1:8000", "127.0.0.1:8000", 1,
		 0}, /* the broker's own page */
		{&none, "http://BROKER.local:80", "broker.local:80", 1, 0},
		{&none, "http://127.0.0.1:8001", "127.0.0.1:8000", 0, 0}, /* another port */
		{&none, "http://evil.example", "127.0.0.1:8000", 0, 0},
		{&none, "null", "127.0.0.1:8000", 0, 0}, /* sandboxed pages, file: URLs */
		{&none, "http://127.0.0.1:8000", NULL, 0, 0},
		{&none, "http://127.0.0.1:8000", "", 0, 0},
		{&none, "http://127.0.0.1:8000/", "127.0.0.1:8000", 0, 0}, /* not an origin */
		{&none, "ftp://127.0.0.1:8000", "127.0.0.1:8000", 0, 0},
		{&d, "https://dash.example.com", "127.0.0.1:8000", 1, 1},
		{&d, "HTTPS://DASH.example.com", "127.0.0.1:8000", 1, 1},
		{&d, "http://dash.example.com", "127.0.0.1:8000", 0, 0}, /* scheme counts */
		{&d, "https://dash.example.com.evil", "127.0.0.1:8000", 0, 0},
		{&a, "http://anything.example", "127.0.0.1:8000", 1, 1},
		{&a, "null", "127.0.0.1:8000", 1, 1},
		{&none, "http://broker.local", "broker.local:80", 1, 0}, /* default ports */
		{&none, "http://broker.local:80", "broker.local", 1, 0},
		{&none, "https://broker.local", "broker.local:443", 1, 0},
		{&none, "https://broker.local", "broker.local", 1, 0}, /* behind a TLS proxy */
		{&none, "https://broker.local", "broker.local:80", 0, 0},
		{&none, "http://broker.local", "broker.local:8080", 0, 0},
		{&s, "https://dash.example.com", "127.0.0.1:8000", 1, 1}, /* "…com/" listed */
		{&s, "https://dash.example.com:443", "127.0.0.1:8000", 1, 1},
		{&s, "https://dash.example.co", "127.0.0.1:8000", 0, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("row %zu %s host %s", i, cases[i].origin,
			  cases[i].host ? cases[i].host : "(none)");
		CHECK_INT_EQ(jq_guard_origin(cases[i].g, cases[i].origin, cases[i].host),
			     cases[i].want);
		CHECK_INT_EQ(jq_guard_origin_listed(cases[i].g, cases[i].origin), cases[i].listed);
	}
	jq_guard_release(&none);
	jq_guard_release(&d);
	jq_guard_release(&a);
	jq_guard_release(&s);
}

static void test_body_type(void)
{
	static const struct {
		const char *ct;
		int ok;
	} cases[] = {
		{"application/json", 1},
		{"application/json; charset=utf-8", 1},
		{"Application/JSON;charset=UTF-8", 1},
		{"application/msgpack", 1},
		{NULL, 0},
		{"", 0},
		{"application/x-www-form-urlencoded", 0},
		{"multipart/form-data; boundary=x", 0},
		{"text/plain", 0},
		{"application/jsonx", 0},
		{"application/json-seq", 0},
		{"text/plain; x=application/json", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("row %zu '%s'", i, cases[i].ct ? cases[i].ct : "(null)");
		CHECK_INT_EQ(jq_guard_body_type(cases[i].ct), cases[i].ok);
	}
}

UNIT_MAIN({"host", test_host}, {"origin", test_origin}, {"body_type", test_body_type})
