/* test_keys.c: unit tests of common/store/keys.c: Redis key names and name validation. */
#include <stdint.h>

#include "keys.h"
#include "unit.h"

enum which {
	JOB,
	QUEUE,
	WAKE,
	IDS,
	LEASES,
	DEAD,
	QUEUES,
	SCHEDULED,
	WORKERS,
	REAPER,
	REAPER_SEEN,
	WORKER,
	WORKER_JOBS,
	JOB_PREFIX,
};

/* q is the queue name or the worker id. */
static size_t build(const struct jq_keys *k, enum which w, int64_t id, const char *q, char *buf)
{
	switch (w) {
	case JOB: return jq_keys_job(k, id, buf);
	case QUEUE: return jq_keys_queue(k, q, buf);
	case WAKE: return jq_keys_wake(k, q, buf);
	case IDS: return jq_keys_ids(k, buf);
	case LEASES: return jq_keys_leases(k, buf);
	case DEAD: return jq_keys_dead(k, buf);
	case QUEUES: return jq_keys_queues(k, buf);
	case SCHEDULED: return jq_keys_scheduled(k, buf);
	case WORKERS: return jq_keys_workers(k, buf);
	case REAPER: return jq_keys_reaper(k, buf);
	case REAPER_SEEN: return jq_keys_reaper_seen(k, buf);
	case WORKER: return jq_keys_worker(k, q, buf);
	case WORKER_JOBS: return jq_keys_worker_jobs(k, q, buf);
	case JOB_PREFIX: return jq_keys_job_prefix(k, buf);
	}
	return 0;
}

#define P64 "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp"
#define Q64 "qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"
#define W127                                                                                       \
	Q64 "wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww" /* 127 characters */

static void test_names(void)
{
	static const struct {
		const char *prefix;
		enum which w;
		int64_t id;
		const char *q;
		const char *want;
	} cases[] = {
		/* a job's key carries its id's bucket (id mod 16384) as its hash tag */
		{"jobq:", JOB, 42, NULL, "jobq:{42}:job:42"},
		{"jobq:", JOB, 0, NULL, "jobq:{0}:job:0"},
		{"jobq:", JOB, 16384 * 5 + 77, NULL, "jobq:{77}:job:81997"},
		{"jobq:", JOB, 16384 * 7, NULL, "jobq:{0}:job:114688"},
		{"jobq:", JOB, INT64_MAX, NULL, "jobq:{16383}:job:9223372036854775807"},
		{"jobq:", QUEUE, 0, "default", "jobq:q:default"},
		{"jobq:", WAKE, 0, "default", "jobq:wake:default"},
		{"jobq:", IDS, 0, NULL, "jobq:id-counter"},
		{"jobq:", LEASES, 0, NULL, "jobq:leases"},
		{"jobq:", DEAD, 0, NULL, "jobq:dead"},
		{"jobq:", QUEUES, 0, NULL, "jobq:queues"},
		{"jobq:", SCHEDULED, 0, NULL, "jobq:scheduled"},
		{"jobq:", WORKERS, 0, NULL, "jobq:workers"},
		{"jobq:", REAPER, 0, NULL, "jobq:reaper"},
		{"jobq:", REAPER_SEEN, 0, NULL, "jobq:reaper-seen"},
		{"jobq:", WORKER, 0, "host:42:1", "jobq:worker:host:42:1"},
		{"jobq:", WORKER_JOBS, 0, "host:42:1", "jobq:worker-jobs:host:42:1"},
		{"jobq:", JOB_PREFIX, 0, NULL, "jobq:"},
		{"t-17:", QUEUE, 0, "emails", "t-17:q:emails"},
		{"", JOB, 7, NULL, "{7}:job:7"},
		{"", QUEUES, 0, NULL, "queues"},
		/* the longest names still fit JQ_KEY_MAX */
		{P64, WAKE, 0, Q64, P64 "wake:" Q64},
		{P64, JOB, INT64_MIN, NULL, P64 "{0}:job:-9223372036854775808"},
		{"jobq:", JOB, -1, NULL, "jobq:{16383}:job:-1"},
		{P64, WORKER_JOBS, 0, W127, P64 "worker-jobs:" W127},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("key row %zu '%s'", i, cases[i].want);
		struct jq_keys k;
		CHECK_INT_EQ(jq_keys_init(&k, cases[i].prefix), 0);
		char buf[JQ_KEY_MAX];
		size_t n = build(&k, cases[i].w, cases[i].id, cases[i].q, buf);
		CHECK_STR_EQ(buf, cases[i].want);
		CHECK_INT_EQ(n, strlen(cases[i].want));
	}
}

static void test_init(void)
{
	static const struct {
		const char *prefix;
		int ok;
	} cases[] = {
		{"jobq:", 1},       {"", 1},         {"a{tag}:", 1}, {P64, 1},
		{P64 "p", 0}, /* 65 characters */
		{"job q:", 0},      {" jobq:", 0},   {"jobq:\t", 0}, {"jobq:\n", 0},
		{"jo\x01\x62q", 0}, {"jobq\x7f", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("jq_keys_init row %zu", i);
		struct jq_keys k;
		memset(&k, 0, sizeof(k));
		CHECK_INT_EQ(jq_keys_init(&k, cases[i].prefix), cases[i].ok ? 0 : -1);
		if (cases[i].ok)
			CHECK_STR_EQ(k.prefix, cases[i].prefix);
	}
}

static void test_name_valid(void)
{
	static const struct {
		const char *s;
		size_t len;
		int valid;
	} cases[] = {
		{LIT("a"), 1},
		{LIT("default"), 1},
		{LIT("A-Z_a.z:0-9"), 1},
		{LIT("emails.high-priority"), 1},
		{LIT("tenant:7"), 1},
		{LIT(Q64), 1},
		{LIT(Q64 "q"), 0}, /* 65 characters */
		{LIT(""), 0},
		{LIT("a b"), 0},
		{LIT("a/b"), 0},
		{LIT("a*"), 0},
		{LIT("a{b}"), 0},
		{LIT("caf\xc3\xa9"), 0},
		{LIT("a\0b"), 0},
		{LIT("tab\t"), 0},
		{LIT("x\n"), 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("jq_name_valid row %zu (len %zu)", i, cases[i].len);
		CHECK_INT_EQ(jq_name_valid(cases[i].s, cases[i].len), cases[i].valid);
	}
	/* only len bytes are looked at */
	UNIT_CASE("jq_name_valid prefix");
	CHECK_INT_EQ(jq_name_valid("ab cd", 2), 1);
}

UNIT_MAIN({"names", test_names}, {"init", test_init}, {"name_valid", test_name_valid})
