/* metrics.c: histogram buckets and metric names shared by broker and worker; see metrics.h. */
#include "metrics.h"

#include <stdio.h>
#include <string.h>

const int64_t jq_hist_bounds_us[JQ_HIST_BUCKETS - 1] = {
	1000,   5000,    10000,   25000,   50000,    100000,   250000,
	500000, 1000000, 2500000, 5000000, 10000000, 30000000, 60000000};

const char *const jq_hist_le[JQ_HIST_BUCKETS] = {"0.001", "0.005", "0.01", "0.025", "0.05",
						 "0.1",   "0.25",  "0.5",  "1",     "2.5",
						 "5",     "10",    "30",   "60",    "+Inf"};

const char *const jq_stat_names[JQ_STAT_COUNT] = {"enqueued", "started",   "completed", "retried",
						  "failed",   "cancelled", "recovered"};

const char *const jq_redis_error_names[JQ_REDIS_ERR_COUNT] = {"reply", "disconnect", "connect"};

int jq_hist_bucket(int64_t us)
{
	int i = 0;
	while (i < JQ_HIST_BUCKETS - 1 && us > jq_hist_bounds_us[i])
		i++;
	return i;
}

int jq_series_field_name(int i, char *buf)
{
	if (i < JQ_SERIES_RUN)
		return snprintf(buf, JQ_SERIES_FIELD_NAME_MAX, "w%d", i - JQ_SERIES_WAIT);
	if (i < JQ_SERIES_WAIT_SUM)
		return snprintf(buf, JQ_SERIES_FIELD_NAME_MAX, "r%d", i - JQ_SERIES_RUN);
	if (i == JQ_SERIES_WAIT_SUM)
		return snprintf(buf, JQ_SERIES_FIELD_NAME_MAX, "wsum");
	if (i == JQ_SERIES_RUN_SUM)
		return snprintf(buf, JQ_SERIES_FIELD_NAME_MAX, "rsum");
	return snprintf(buf, JQ_SERIES_FIELD_NAME_MAX, "%s", jq_stat_names[i - JQ_SERIES_STAT]);
}

int jq_series_field_index(const char *name, size_t n)
{
	char buf[JQ_SERIES_FIELD_NAME_MAX];
	for (int i = 0; i < JQ_SERIES_FIELDS; i++)
		if ((size_t)jq_series_field_name(i, buf) == n && memcmp(buf, name, n) == 0)
			return i;
	return -1;
}
