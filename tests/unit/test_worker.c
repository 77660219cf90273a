/* test_worker: the worker's pure choices: the order one fetch serves its queues in
 * (worker/fetcher.h) and the backoff before a retry (worker/outcome.h). */
#include <stdint.h>
#include <stdlib.h>

#include "fetcher.h"
#include "outcome.h"
#include "unit.h"
#include "worker.h"

/* order holds each of 0..n-1 once */
static int is_permutation(const int *order, int n)
{
	int seen[JQ_WORKER_MAX_QUEUES] = {0};
	for (int i = 0; i < n; i++) {
		if (order[i] < 0 || order[i] >= n || seen[order[i]])
			return 0;
		seen[order[i]] = 1;
	}
	return 1;
}

static void test_strict_order(void)
{
	int64_t weights[4] = {1, 1, 1, 1};
	int order[4];
	for (int rep = 0; rep < 50; rep++) {
		jq_queue_order(4, weights, 0, order);
		for (int i = 0; i < 4; i++)
			CHECK_INT_EQ(order[i], i);
	}
}

/* Weighted: every order is a permutation, and each queue comes first in proportion to
 * its weight (5:3:1:1 over 20,000 draws, within 2 points of its share). */
static void test_weighted_order(void)
{
	int64_t weights[4] = {5, 3, 1, 1};
	int first[4] = {0}, order[4];
	const int draws = 20000;
	srandom(7);
	for (int d = 0; d < draws; d++) {
		jq_queue_order(4, weights, 1, order);
		if (!is_permutation(order, 4)) {
			CHECK(is_permutation(order, 4));
			return;
		}
		first[order[0]]++;
	}
	for (int i = 0; i < 4; i++) {
		UNIT_CASE("queue %d, weight %lld: first %d of %d", i, (long long)weights[i],
			  first[i], draws);
		double share = (double)first[i] / draws, want = (double)weights[i] / 10;
		CHECK(share > want - 0.02 && share < want + 0.02);
	}
}

/* One queue, or all queues but one weighing 1 against 1000: never starved, always there. */
static void test_weighted_edges(void)
{
	int64_t one[1] = {7};
	int order[JQ_WORKER_MAX_QUEUES];
	jq_queue_order(1, one, 1, order);
	CHECK_INT_EQ(order[0], 0);
	int64_t skew[3] = {1000, 1, 1000};
	int small_first = 0;
	srandom(11);
	for (int d = 0; d < 100000; d++) {
		jq_queue_order(3, skew, 1, order);
		CHECK(is_permutation(order, 3));
		small_first += order[0] == 1;
	}
	CHECK(small_first > 0); /* ~50 of 100,000 */
	int64_t many[JQ_WORKER_MAX_QUEUES];
	for (int i = 0; i < JQ_WORKER_MAX_QUEUES; i++)
		many[i] = i + 1;
	jq_queue_order(JQ_WORKER_MAX_QUEUES, many, 1, order);
	CHECK(is_permutation(order, JQ_WORKER_MAX_QUEUES));
}

/* base * 2^(attempt-1), capped at an hour, times 0.75..1.25 */
static void test_retry_delay(void)
{
	static const struct {
		int64_t base, attempt, mid;
	} cases[] = {
		{1000, 1, 1000},     {1000, 2, 2000},     {1000, 3, 4000},
		{1000, 11, 1024000}, {1000, 13, 3600000}, {1000, 1000, 3600000},
		{1, 1, 1},           {250, 0, 250},       {3600000, 5, 3600000},
	};
	srandom(3);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("base %lld attempt %lld", (long long)cases[i].base,
			  (long long)cases[i].attempt);
		int64_t lo = cases[i].mid * 3 / 4, hi = lo + cases[i].mid / 2, min = hi, max = lo;
		for (int rep = 0; rep < 2000; rep++) {
			int64_t d = jq_retry_delay_ms(cases[i].base, cases[i].attempt);
			CHECK(d >= lo && d <= hi);
			min = d < min ? d : min;
			max = d > max ? d : max;
		}
		if (cases[i].mid >= 1000) /* the jitter spreads over its range */
			CHECK(max - min > cases[i].mid / 3);
	}
}

UNIT_MAIN({"strict_order", test_strict_order}, {"weighted_order", test_weighted_order},
	  {"weighted_edges", test_weighted_edges}, {"retry_delay", test_retry_delay})
