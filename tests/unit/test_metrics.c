/* test_metrics.c: unit tests of common/metrics.c: histogram buckets and series field names. */
#include <stdint.h>
#include <stdlib.h>

#include "metrics.h"
#include "unit.h"

static void test_buckets(void)
{
	static const struct {
		int64_t us;
		int bucket;
	} cases[] = {
		{-5, 0},      {0, 0},        {1000, 0},      {1001, 1},      {5000, 1},
		{5001, 2},    {999999, 8},   {1000000, 8},   {1000001, 9},   {1500000, 9},
		{2500000, 9}, {2500001, 10}, {60000000, 13}, {60000001, 14}, {INT64_MAX, 14},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("%lld us", (long long)cases[i].us);
		CHECK_INT_EQ(jq_hist_bucket(cases[i].us), cases[i].bucket);
	}
	/* the le labels say the bounds */
	for (int b = 0; b < JQ_HIST_BUCKETS - 1; b++) {
		UNIT_CASE("bucket %d", b);
		CHECK_INT_EQ((int64_t)(strtod(jq_hist_le[b], NULL) * 1e6 + 0.5),
			     jq_hist_bounds_us[b]);
		if (b > 0)
			CHECK(jq_hist_bounds_us[b] > jq_hist_bounds_us[b - 1]);
	}
	CHECK_STR_EQ(jq_hist_le[JQ_HIST_BUCKETS - 1], "+Inf");
}

static void test_field_names(void)
{
	static const struct {
		int index;
		const char *name;
	} cases[] = {
		{JQ_SERIES_WAIT, "w0"},
		{JQ_SERIES_WAIT + 14, "w14"},
		{JQ_SERIES_RUN, "r0"},
		{JQ_SERIES_RUN + 14, "r14"},
		{JQ_SERIES_WAIT_SUM, "wsum"},
		{JQ_SERIES_RUN_SUM, "rsum"},
		{JQ_SERIES_STAT + JQ_STAT_ENQUEUED, "enqueued"},
		{JQ_SERIES_STAT + JQ_STAT_STARTED, "started"},
		{JQ_SERIES_STAT + JQ_STAT_FAILED, "failed"},
		{JQ_SERIES_STAT + JQ_STAT_CANCELLED, "cancelled"},
		{JQ_SERIES_STAT + JQ_STAT_RECOVERED, "recovered"},
		{JQ_SERIES_FIELDS - 1, "recovered"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("field %s", cases[i].name);
		char buf[JQ_SERIES_FIELD_NAME_MAX];
		CHECK_INT_EQ(jq_series_field_name(cases[i].index, buf), strlen(cases[i].name));
		CHECK_STR_EQ(buf, cases[i].name);
		CHECK_INT_EQ(jq_series_field_index(cases[i].name, strlen(cases[i].name)),
			     cases[i].index);
	}
	/* every index round-trips, and names a reader does not know are refused */
	for (int f = 0; f < JQ_SERIES_FIELDS; f++) {
		UNIT_CASE("index %d", f);
		char buf[JQ_SERIES_FIELD_NAME_MAX];
		int n = jq_series_field_name(f, buf);
		CHECK_INT_EQ(jq_series_field_index(buf, (size_t)n), f);
	}
	UNIT_CASE("unknown");
	CHECK_INT_EQ(jq_series_field_index("w15", 3), -1);
	CHECK_INT_EQ(jq_series_field_index("w1", 1), -1);
	CHECK_INT_EQ(jq_series_field_index("", 0), -1);
	CHECK_INT_EQ(jq_series_field_index("paused", 6), -1);
	CHECK_INT_EQ(jq_series_field_index("recovered", 8), -1); /* a prefix is not a name */
}

UNIT_MAIN({"buckets", test_buckets}, {"field_names", test_field_names})
