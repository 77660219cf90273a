/* cron.h: cron expressions: a parser and the next (and previous) matching time.
 *
 * Pure: no clock, no IO. Times are whole seconds since the epoch, in UTC (there
 * are no time zones: "0 9 * * *" is 09:00 UTC).
 *
 * The form is Vixie cron's five fields, "minute hour day-of-month month
 * day-of-week", each a comma list of items: '*', N, N-M, with an optional
 * step /S ("*" + "/5", "1-10/2", and "N/S" meaning N-max/S). Months take JAN..DEC
 * and days of the week SUN..SAT (any case); both 0 and 7 are Sunday. When
 * both day fields are restricted (neither starts with '*'), a day matches if
 * either does (Vixie's rule); otherwise both must. Macros: @yearly
 * (@annually), @monthly, @weekly, @daily (@midnight), @hourly.
 *
 * Extension: six fields, the first being the second ("*" + "/10 * * * * *"),
 * for schedules finer than a minute (and fast tests). */
#ifndef JQ_CRON_H
#define JQ_CRON_H

#include <stddef.h>
#include <stdint.h>

#define JQ_CRON_EXPR_MAX 200    /* longest expression accepted, in bytes */
#define JQ_CRON_SEARCH_YEARS 28 /* next/prev give up beyond this (a full leap-weekday cycle) */
#define JQ_CRON_TIME_MAX 253402300799LL /* 9999-12-31T23:59:59Z: times past it find nothing */

struct jq_cron {
	uint64_t second;        /* bit s set: second s matches; only bit 0 in the 5-field form */
	uint64_t minute;        /* bits 0..59 */
	uint32_t hour;          /* bits 0..23 */
	uint32_t dom;           /* bits 1..31 */
	uint32_t month;         /* bits 1..12 */
	uint32_t dow;           /* bits 0..6, Sunday 0 (a 7 in the text sets bit 0) */
	int dom_star, dow_star; /* the field starts with '*': see the rule above */
	int has_seconds;        /* the 6-field form */
};

/* Parses expr into c. -1 with err naming the field and the bad text otherwise
 * ("hour: '24' is out of range 0-23"). An expression that can never match
 * ("0 0 30 2 *") is refused too. */
int jq_cron_parse(struct jq_cron *c, const char *expr, char *err, size_t errlen);

/* The first matching time strictly after after_s, into *out_s. -1 when none is
 * found within JQ_CRON_SEARCH_YEARS years. */
int jq_cron_next(const struct jq_cron *c, int64_t after_s, int64_t *out_s);

/* The last matching time at or before at_s, into *out_s; -1 when none within
 * JQ_CRON_SEARCH_YEARS years. */
int jq_cron_prev(const struct jq_cron *c, int64_t at_s, int64_t *out_s);

#endif
