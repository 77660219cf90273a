/* test_cron.c: unit tests of common/cron.c: parsing, errors, next and previous times. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cron.h"
#include "unit.h"

/* "YYYY-MM-DD HH:MM:SS" UTC <-> epoch seconds, with libc as the independent oracle */
static int64_t at(const char *s)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	if (!strptime(s, "%Y-%m-%d %H:%M:%S", &tm))
		return -1;
	return (int64_t)timegm(&tm);
}

static const char *fmt(int64_t t, char buf[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, 32, "%Y-%m-%d %H:%M:%S", &tm);
	return buf;
}

static void test_parse_ok(void)
{
	static const char *const ok[] = {
		"* * * * *",
		"0 0 * * *",
		"*/5 * * * *",
		"1-10/2 * * * *",
		"0 9-17 * * MON-FRI",
		"0 0 1 JAN,jul *",
		"0 0 * * 7",
		"0 0 * * 5-7",
		"0,15,30,45 * * * *",
		"5/15 * * * *",
		"  0   0  *  *  *  ",
		"0\t0\t*\t*\t*",
		"*/1 * * * * *",
		"30 0 0 1 1 *",
		"@hourly",
		"@daily",
		"@midnight",
		"@weekly",
		"@monthly",
		"@yearly",
		"@annually",
		" @DAILY ",
		"0 0 29 2 *",
		"0 0 31 1-12 *",
		"0 0 30 2 MON",
		"59 23 31 12 6",
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		UNIT_CASE("'%s'", ok[i]);
		struct jq_cron c;
		char err[160] = "";
		CHECK_INT_EQ(jq_cron_parse(&c, ok[i], err, sizeof(err)), 0);
		CHECK_STR_EQ(err, "");
	}
}

static void test_parse_masks(void)
{
	struct jq_cron c;
	char err[160];
	UNIT_CASE("*/15 minutes");
	CHECK_INT_EQ(jq_cron_parse(&c, "*/15 * * * *", err, sizeof(err)), 0);
	CHECK(c.minute == ((1ULL << 0) | (1ULL << 15) | (1ULL << 30) | (1ULL << 45)));
	CHECK(c.second == 1);
	CHECK_INT_EQ(c.has_seconds, 0);
	CHECK(c.dom_star && c.dow_star);
	UNIT_CASE("1-10/3");
	CHECK_INT_EQ(jq_cron_parse(&c, "1-10/3 * * * *", err, sizeof(err)), 0);
	CHECK(c.minute == ((1ULL << 1) | (1ULL << 4) | (1ULL << 7) | (1ULL << 10)));
	UNIT_CASE("7 is Sunday, names and ranges");
	CHECK_INT_EQ(jq_cron_parse(&c, "0 0 * * 7", err, sizeof(err)), 0);
	CHECK_INT_EQ(c.dow, 1);
	CHECK_INT_EQ(jq_cron_parse(&c, "0 0 * * FRI-7", err, sizeof(err)), 0);
	CHECK_INT_EQ(c.dow, (1 << 5) | (1 << 6) | 1);
	CHECK_INT_EQ(jq_cron_parse(&c, "0 0 * * 7/2", err, sizeof(err)), 0); /* not empty */
	CHECK_INT_EQ(c.dow, 1);
	CHECK_INT_EQ(jq_cron_parse(&c, "0 0 * * 5/1", err, sizeof(err)), 0);
	CHECK_INT_EQ(c.dow, (1 << 5) | (1 << 6));
	CHECK_INT_EQ(jq_cron_parse(&c, "0 0 * * sun,Sat", err, sizeof(err)), 0);
	CHECK_INT_EQ(c.dow, (1 << 6) | 1);
	CHECK(!c.dow_star && c.dom_star);
	UNIT_CASE("months by name");
	CHECK_INT_EQ(jq_cron_parse(&c, "0 0 1 feb-APR,dec *", err, sizeof(err)), 0);
	CHECK_INT_EQ(c.month, (1 << 2) | (1 << 3) | (1 << 4) | (1 << 12));
	UNIT_CASE("N/S runs to the end");
	CHECK_INT_EQ(jq_cron_parse(&c, "0 20/2 * * *", err, sizeof(err)), 0);
	CHECK_INT_EQ(c.hour, (1 << 20) | (1 << 22));
	UNIT_CASE("six fields");
	CHECK_INT_EQ(jq_cron_parse(&c, "*/20 0 * * * *", err, sizeof(err)), 0);
	CHECK(c.has_seconds);
	CHECK(c.second == ((1ULL << 0) | (1ULL << 20) | (1ULL << 40)));
	CHECK(c.minute == 1);
	UNIT_CASE("macro = its expression");
	struct jq_cron m;
	CHECK_INT_EQ(jq_cron_parse(&c, "@weekly", err, sizeof(err)), 0);
	CHECK_INT_EQ(jq_cron_parse(&m, "0 0 * * 0", err, sizeof(err)), 0);
	CHECK(memcmp(&c, &m, sizeof(c)) == 0);
}

static void test_parse_errors(void)
{
	static const struct {
		const char *expr, *want; /* want: a part of the message */
	} cases[] = {
		{"", "expected 5 fields"},
		{"* * * *", "got 4"},
		{"* * * * * * *", "got 7"},
		{"60 * * * *", "minute: '60' is out of range 0-59"},
		{"* 24 * * *", "hour: '24' is out of range 0-23"},
		{"* * 0 * *", "day-of-month: '0' is out of range 1-31"},
		{"* * 32 * *", "day-of-month: '32'"},
		{"* * * 13 *", "month: '13' is out of range 1-12"},
		{"* * * 0 *", "month: '0'"},
		{"* * * * 8", "day-of-week: '8' is out of range 0-7"},
		{"* * * FOO *", "month: 'FOO' is not a number or a name"},
		{"* * * * FUN", "day-of-week: 'FUN'"},
		{"* * * * MONDAY", "day-of-week: 'MONDAY'"},
		{"* JAN * * *", "hour: 'JAN' is not a number"},
		{"*/0 * * * *", "minute: step '0' must be a number from 1 to 59"},
		{"*/x * * * *", "minute: step 'x'"},
		{"*/ * * * *", "minute: step ''"},
		{"10-5 * * * *", "minute: range '10-5' runs backwards"},
		{"1,,2 * * * *", "minute: a value is missing"},
		{"1, * * * *", "minute: a value is missing after the last ','"},
		{",1 * * * *", "minute: a value is missing"},
		{"1-2-3 * * * *", "minute: cannot read '1-2-3'"},
		{"** * * * *", "minute: cannot read '**'"},
		{"1- * * * *", "minute: a value is missing"},
		{"-1 * * * *", "minute: a value is missing"},
		{"99999999999 * * * *", "minute: '99999999999' is not a number"},
		{"60 * * * * *", "second: '60' is out of range 0-59"},
		{"0 0 30 2 *", "day-of-month: no selected day exists"},
		{"0 0 31 4,6,9,11 *", "never runs"},
		{"@reboot", "unknown macro '@reboot'"},
		{"@daily 5", "unknown macro"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("'%s'", cases[i].expr);
		struct jq_cron c;
		char err[160] = "";
		CHECK_INT_EQ(jq_cron_parse(&c, cases[i].expr, err, sizeof(err)), -1);
		CHECK_CONTAINS(err, cases[i].want);
	}
	UNIT_CASE("too long");
	char big[JQ_CRON_EXPR_MAX + 10];
	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	struct jq_cron c;
	char err[160];
	CHECK_INT_EQ(jq_cron_parse(&c, big, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "at most");
}

struct next_case {
	const char *expr, *after, *want;
};

static void run_next(const struct next_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		UNIT_CASE("'%s' after %s", cases[i].expr, cases[i].after);
		struct jq_cron c;
		char err[160], buf[32];
		CHECK_INT_EQ(jq_cron_parse(&c, cases[i].expr, err, sizeof(err)), 0);
		int64_t got = -1;
		int rc = jq_cron_next(&c, at(cases[i].after), &got);
		CHECK_INT_EQ(rc, 0);
		CHECK_STR_EQ(rc == 0 ? fmt(got, buf) : "none", cases[i].want);
	}
}

static void test_next(void)
{
	static const struct next_case cases[] = {
		/* strictly after: a matching time itself is not returned */
		{"* * * * *", "2026-11-26 10:00:00", "2026-11-26 10:01:00"},
		{"* * * * *", "2026-11-26 10:00:59", "2026-11-26 10:01:00"},
		{"0 0 * * *", "2026-11-26 00:00:00", "2026-11-27 00:00:00"},
		{"0 0 * * *", "2026-11-25 23:59:59", "2026-11-26 00:00:00"},
		{"*/5 * * * *", "2026-11-26 10:03:10", "2026-11-26 10:05:00"},
		{"*/5 * * * *", "2026-11-26 10:55:00", "2026-11-26 11:00:00"},
		{"1-10/2 3 * * *", "2026-11-26 03:09:00", "2026-11-27 03:01:00"},
		{"30 9 * * MON-FRI", "2026-11-27 10:00:00", "2026-11-30 09:30:00"}, /* Fri -> Mon */
		{"0 12 * * 7", "2026-11-26 00:00:00", "2026-11-29 12:00:00"},       /* Sunday */
		{"0 12 * * 0", "2026-11-26 00:00:00", "2026-11-29 12:00:00"},
		/* month ends and year ends */
		{"0 0 31 * *", "2026-11-26 00:00:00", "2026-12-31 00:00:00"},
		{"0 0 31 * *", "2026-12-31 00:00:00", "2027-01-31 00:00:00"},
		{"0 0 31 * *", "2027-01-31 00:00:00", "2027-03-31 00:00:00"}, /* no Feb 31 */
		{"0 0 30 * *", "2027-01-30 12:00:00", "2027-03-30 00:00:00"},
		{"59 23 31 12 *", "2026-11-26 00:00:00", "2026-12-31 23:59:00"},
		{"0 0 1 1 *", "2026-12-31 23:59:59", "2027-01-01 00:00:00"},
		{"@monthly", "2026-12-15 00:00:00", "2027-01-01 00:00:00"},
		{"@yearly", "2026-01-01 00:00:00", "2027-01-01 00:00:00"},
		{"@hourly", "2026-11-26 10:00:00", "2026-11-26 11:00:00"},
		{"@weekly", "2026-11-26 10:00:00", "2026-11-29 00:00:00"},
		/* leap years: Feb 29 only in leap years; 2100 is not one, 2000 was */
		{"0 0 29 2 *", "2026-11-26 00:00:00", "2028-02-29 00:00:00"},
		{"0 0 29 2 *", "2028-02-29 00:00:00", "2032-02-29 00:00:00"},
		{"0 0 29 2 *", "2097-01-01 00:00:00", "2104-02-29 00:00:00"},
		{"0 0 29 2 *", "1999-01-01 00:00:00", "2000-02-29 00:00:00"},
		{"0 0 28 2 *", "2028-02-28 00:00:00", "2029-02-28 00:00:00"},
		{"0 0 * 2 *", "2028-02-28 12:00:00", "2028-02-29 00:00:00"},
		{"0 0 * 2 *", "2027-02-28 12:00:00", "2028-02-01 00:00:00"},
		{"0 0 * 3 *", "2028-02-28 12:00:00", "2028-03-01 00:00:00"},
		/* Vixie: both day fields restricted -> either matches */
		{"0 0 13 * FRI", "2026-11-01 00:00:00", "2026-11-06 00:00:00"}, /* a Friday first */
		{"0 0 13 * FRI", "2026-11-06 00:00:00", "2026-11-13 00:00:00"}, /* Fri 13th */
		{"0 0 1 * MON", "2026-11-26 00:00:00", "2026-11-30 00:00:00"},  /* Monday */
		{"0 0 1 * MON", "2026-11-30 00:00:00", "2026-12-01 00:00:00"},  /* the 1st */
		{"0 0 30 2 MON", "2026-11-26 00:00:00", "2027-02-01 00:00:00"}, /* a Feb Monday */
		/* a day field starting with '*' restricts with AND */
		{"0 0 */2 * MON", "2026-11-26 00:00:00", "2026-12-07 00:00:00"}, /* odd Monday */
		{"0 0 1 * *", "2026-11-26 00:00:00", "2026-12-01 00:00:00"},
		/* seconds (6 fields) */
		{"*/1 * * * * *", "2026-11-26 10:00:00", "2026-11-26 10:00:01"},
		{"*/10 * * * * *", "2026-11-26 10:00:55", "2026-11-26 10:01:00"},
		{"30 0 0 1 1 *", "2026-11-26 10:00:00", "2027-01-01 00:00:30"},
		{"0 0 0 29 2 *", "2096-03-01 00:00:00", "2104-02-29 00:00:00"},
	};
	run_next(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_never(void)
{
	struct jq_cron c;
	char err[160];
	int64_t got;
	/* "0 0 30 2 MON" can match via Monday; Feb 30 in a hand-built mask never can */
	UNIT_CASE("hand-built impossible mask hits the search bound");
	CHECK_INT_EQ(jq_cron_parse(&c, "0 0 30 2 *", err, sizeof(err)), -1);
	CHECK_INT_EQ(jq_cron_parse(&c, "0 0 30 * *", err, sizeof(err)), 0);
	c.month = 1 << 2; /* February only: what the parser refuses */
	CHECK_INT_EQ(jq_cron_next(&c, at("2026-01-01 00:00:00"), &got), -1);
	CHECK_INT_EQ(jq_cron_prev(&c, at("2026-01-01 00:00:00"), &got), -1);
	UNIT_CASE("times out of range");
	CHECK_INT_EQ(jq_cron_parse(&c, "* * * * *", err, sizeof(err)), 0);
	CHECK_INT_EQ(jq_cron_next(&c, -5, &got), -1);
	CHECK_INT_EQ(jq_cron_next(&c, JQ_CRON_TIME_MAX, &got), -1);
	CHECK_INT_EQ(jq_cron_next(&c, INT64_MAX - 1, &got), -1);
	CHECK_INT_EQ(jq_cron_next(&c, 0, &got), 0);
	CHECK_INT_EQ(got, 60);
}

static void test_prev(void)
{
	static const struct {
		const char *expr, *at, *want;
	} cases[] = {
		/* at or before: a matching time itself is returned */
		{"* * * * *", "2026-11-26 10:00:00", "2026-11-26 10:00:00"},
		{"* * * * *", "2026-11-26 10:00:59", "2026-11-26 10:00:00"},
		{"0 0 * * *", "2026-11-26 09:00:00", "2026-11-26 00:00:00"},
		{"0 0 31 * *", "2027-03-30 00:00:00", "2027-01-31 00:00:00"},
		{"0 0 29 2 *", "2027-06-01 00:00:00", "2024-02-29 00:00:00"},
		{"0 0 29 2 *", "2104-01-01 00:00:00", "2096-02-29 00:00:00"},
		{"0 0 1 1 *", "2027-01-01 00:00:00", "2027-01-01 00:00:00"},
		{"0 0 1 1 *", "2026-12-31 23:59:59", "2026-01-01 00:00:00"},
		{"0 0 13 * FRI", "2026-11-12 00:00:00", "2026-11-06 00:00:00"},
		{"*/5 * * * * *", "2026-11-26 10:00:04", "2026-11-26 10:00:00"},
		{"*/5 * * * * *", "2026-11-26 00:00:00", "2026-11-26 00:00:00"},
		{"*/7 * * * * *", "2026-11-26 00:00:06", "2026-11-26 00:00:00"},
		{"*/7 * * * * *", "2026-11-25 23:59:59", "2026-11-25 23:59:56"},
		{"30 9 * * MON-FRI", "2026-11-30 09:00:00", "2026-11-27 09:30:00"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CASE("'%s' at %s", cases[i].expr, cases[i].at);
		struct jq_cron c;
		char err[160], buf[32];
		CHECK_INT_EQ(jq_cron_parse(&c, cases[i].expr, err, sizeof(err)), 0);
		int64_t got = -1;
		CHECK_INT_EQ(jq_cron_prev(&c, at(cases[i].at), &got), 0);
		CHECK_STR_EQ(fmt(got, buf), cases[i].want);
	}
}

/* Against brute force: every minute of 2027-2028 checked one by one. */
static void test_brute_force(void)
{
	static const char *const exprs[] = {"*/7 3-5 * * *",       "0 0 13 * FRI", "15 10 * * *",
					    "0 12 1,15 * MON-WED", "0 0 29 2 *",   "5 4 * * SUN"};
	int64_t from = at("2027-01-01 00:00:00"), to = at("2029-01-01 00:00:00");
	for (size_t i = 0; i < sizeof(exprs) / sizeof(exprs[0]); i++) {
		struct jq_cron c;
		char err[160];
		UNIT_CASE("'%s'", exprs[i]);
		CHECK_INT_EQ(jq_cron_parse(&c, exprs[i], err, sizeof(err)), 0);
		int64_t t = from - 60, mismatches = 0, count = 0;
		while (t < to) {
			int64_t got;
			if (jq_cron_next(&c, t, &got) != 0)
				break;
			/* nothing matches strictly between t and got */
			for (int64_t m = (t / 60 + 1) * 60; m < got && m < to; m += 60) {
				time_t tt = (time_t)m;
				struct tm tm;
				gmtime_r(&tt, &tm);
				int dom = c.dom >> tm.tm_mday & 1, dow = c.dow >> tm.tm_wday & 1;
				int day = c.dom_star || c.dow_star ? dom && dow : dom || dow;
				if ((c.month >> (tm.tm_mon + 1) & 1) && day &&
				    (c.hour >> tm.tm_hour & 1) && (c.minute >> tm.tm_min & 1))
					mismatches++;
			}
			int64_t back;
			CHECK_INT_EQ(jq_cron_prev(&c, got, &back), 0);
			CHECK_INT_EQ(back, got);
			if (got > t + 60) {
				CHECK_INT_EQ(jq_cron_prev(&c, got - 1, &back), 0);
				CHECK(back <= t);
			}
			t = got;
			count++;
		}
		CHECK_INT_EQ(mismatches, 0);
		CHECK(count > 0);
	}
}

UNIT_MAIN({"parse_ok", test_parse_ok}, {"parse_masks", test_parse_masks},
	  {"parse_errors", test_parse_errors}, {"next", test_next}, {"never", test_never},
	  {"prev", test_prev}, {"brute_force", test_brute_force})
