/* cron.c: cron expression parsing and matching times in UTC; see cron.h. */
#include "cron.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- the calendar (proleptic Gregorian, UTC) ---- */

static int is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* Days since 1970-01-01 of y-m-d: count the days of the years, then of the
 * months, with March as the first month so that February's leap day is last. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t yy = m <= 2 ? y - 1 : y;
	int64_t era = floor_div(yy, 400);
	int64_t yoe = yy - era * 400;                                  /* 0..399 */
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* 0..365 */
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* 0..146096 */
	return era * 146097 + doe - 719468;
}

struct civil {
	int64_t y;
	int mon, d, h, min, s;
};

static void civil_from_secs(int64_t t, struct civil *c)
{
	int64_t days = floor_div(t, 86400), rem = t - days * 86400;
	c->h = (int)(rem / 3600);
	c->min = (int)(rem % 3600 / 60);
	c->s = (int)(rem % 60);
	/* invert days_from_civil: find the year by estimate, then correct */
	int64_t y = 1970 + floor_div(days * 400, 146097);
	while (days_from_civil(y, 1, 1) > days)
		y--;
	while (days_from_civil(y + 1, 1, 1) <= days)
		y++;
	int m = 1;
	while (m < 12 && days_from_civil(y, m + 1, 1) <= days)
		m++;
	c->y = y;
	c->mon = m;
	c->d = (int)(days - days_from_civil(y, m, 1)) + 1;
}

static int64_t secs_from_civil(const struct civil *c)
{
	return days_from_civil(c->y, c->mon, c->d) * 86400 + c->h * 3600 + c->min * 60 + c->s;
}

/* 0 = Sunday; 1970-01-01 was a Thursday */
static int weekday(const struct civil *c)
{
	int64_t days = days_from_civil(c->y, c->mon, c->d);
	return (int)(((days % 7) + 7 + 4) % 7);
}

/* ---- parsing ---- */

struct field {
	const char *name;
	int min, max;
	const char *const *names; /* names[i] stands for min + i, or NULL */
};

static const char *const month_names[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL",
					  "AUG", "SEP", "OCT", "NOV", "DEC", NULL};
static const char *const dow_names[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", NULL};

enum { F_SECOND, F_MINUTE, F_HOUR, F_DOM, F_MONTH, F_DOW };
static const struct field fields[] = {
	[F_SECOND] = {"second", 0, 59, NULL},      [F_MINUTE] = {"minute", 0, 59, NULL},
	[F_HOUR] = {"hour", 0, 23, NULL},          [F_DOM] = {"day-of-month", 1, 31, NULL},
	[F_MONTH] = {"month", 1, 12, month_names}, [F_DOW] = {"day-of-week", 0, 7, dow_names},
};

/* One value (a number or a name) at *p, up to one of the stop characters. */
static int parse_value(const struct field *f, const char **p, const char *end, int *out, char *err,
		       size_t errlen)
{
	const char *s = *p;
	const char *e = s;
	while (e < end && *e != '-' && *e != '/' && *e != ',')
		e++;
	size_t n = (size_t)(e - s);
	if (n == 0) {
		snprintf(err, errlen, "%s: a value is missing in '%.*s'", f->name, (int)(end - s),
			 s);
		return -1;
	}
	if (s[0] >= '0' && s[0] <= '9') {
		int v = 0;
		for (const char *q = s; q < e; q++) {
			if (*q < '0' || *q > '9' || v > 1000) {
				snprintf(err, errlen, "%s: '%.*s' is not a number", f->name, (int)n,
					 s);
				return -1;
			}
			v = v * 10 + (*q - '0');
		}
		if (v < f->min || v > f->max) {
			snprintf(err, errlen, "%s: '%.*s' is out of range %d-%d", f->name, (int)n,
				 s, f->min, f->max);
			return -1;
		}
		*out = v;
	} else {
		int found = -1;
		for (int i = 0; f->names && f->names[i]; i++)
			if (n == 3 && strncasecmp(s, f->names[i], 3) == 0)
				found = f->min + i;
		if (found < 0) {
			snprintf(err, errlen, "%s: '%.*s' is not a %s", f->name,
				 (int)(n > 32 ? 32 : n), s,
				 f->names ? "number or a name" : "number");
			return -1;
		}
		*out = found;
	}
	*p = e;
	return 0;
}

/* One field (its text is [s, end)) into a bit mask; *star when it starts with '*'. */
static int parse_field(const struct field *f, const char *s, const char *end, uint64_t *mask,
		       int *star, char *err, size_t errlen)
{
	*mask = 0;
	*star = s < end && *s == '*';
	const char *p = s;
	for (;;) {
		int lo, hi, step = 1;
		const char *item = p;
		if (p < end && *p == '*') {
			lo = f->min;
			hi = f->max == 7 ? 6 : f->max;
			p++;
		} else {
			if (parse_value(f, &p, end, &lo, err, errlen) != 0)
				return -1;
			hi = lo;
			if (p < end && *p == '-') {
				p++;
				if (parse_value(f, &p, end, &hi, err, errlen) != 0)
					return -1;
				if (hi < lo) {
					snprintf(err, errlen, "%s: range '%.*s' runs backwards",
						 f->name, (int)(p - item), item);
					return -1;
				}
			} else if (p < end && *p == '/') {
				hi = f->max == 7 ? 6 : f->max; /* "N/S": from N to the end */
				if (lo > hi) /* day of week "7/S": Sunday alone, as in Vixie cron */
					hi = lo;
			}
		}
		if (p < end && *p == '/') {
			const char *ss = ++p;
			int v = 0;
			while (p < end && *p >= '0' && *p <= '9' && v <= 1000)
				v = v * 10 + (*p++ - '0');
			if (p == ss || (p < end && *p != ',') || v < 1 || v > f->max) {
				const char *se = ss;
				while (se < end && *se != ',')
					se++;
				snprintf(err, errlen,
					 "%s: step '%.*s' must be a number from 1 to %d", f->name,
					 (int)(se - ss > 32 ? 32 : se - ss), ss, f->max);
				return -1;
			}
			step = v;
		}
		if (p < end && *p != ',') {
			const char *ie = p;
			while (ie < end && *ie != ',')
				ie++;
			snprintf(err, errlen, "%s: cannot read '%.*s'", f->name,
				 (int)(ie - item > 32 ? 32 : ie - item), item);
			return -1;
		}
		for (int v = lo; v <= hi; v += step)
			*mask |= (uint64_t)1 << (f->max == 7 && v == 7 ? 0 : v);
		if (p == end)
			return 0;
		p++; /* the comma */
		if (p == end) {
			snprintf(err, errlen, "%s: a value is missing after the last ','", f->name);
			return -1;
		}
	}
}

static const struct {
	const char *name, *expr;
} macros[] = {
	{"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
	{"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
	{"@hourly", "0 * * * *"},
};

/* Can a day of dom fall in one of the months? (31 in a 30-day month cannot.) */
static int some_day_exists(const struct jq_cron *c)
{
	static const int longest[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	for (int m = 1; m <= 12; m++) {
		if (!(c->month >> m & 1))
			continue;
		for (int d = 1; d <= longest[m - 1]; d++)
			if (c->dom >> d & 1)
				return 1;
	}
	return 0;
}

int jq_cron_parse(struct jq_cron *c, const char *expr, char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	size_t len = strlen(expr);
	if (len > JQ_CRON_EXPR_MAX) {
		snprintf(err, errlen, "a cron expression is at most %d characters",
			 JQ_CRON_EXPR_MAX);
		return -1;
	}
	while (*expr == ' ' || *expr == '\t')
		expr++;
	if (*expr == '@') {
		size_t n = strcspn(expr, " \t");
		const char *rest = expr + n + strspn(expr + n, " \t");
		for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]); i++)
			if (strlen(macros[i].name) == n &&
			    strncasecmp(expr, macros[i].name, n) == 0 && *rest == '\0')
				return jq_cron_parse(c, macros[i].expr, err, errlen);
		snprintf(err, errlen,
			 "unknown macro '%.*s': use @yearly, @monthly, @weekly, @daily or @hourly",
			 (int)(n > 32 ? 32 : n), expr);
		return -1;
	}
	const char *start[7], *end[7];
	int n = 0;
	for (const char *p = expr; *p;) {
		if (*p == ' ' || *p == '\t') {
			p++;
			continue;
		}
		const char *e = p + strcspn(p, " \t");
		if (n < 7) {
			start[n] = p;
			end[n] = e;
		}
		n++;
		p = e;
	}
	if (n != 5 && n != 6) {
		snprintf(
			err, errlen,
			"expected 5 fields (minute hour day-of-month month day-of-week), or 6 with "
			"seconds first; got %d",
			n);
		return -1;
	}
	c->has_seconds = n == 6;
	int first = n == 6 ? F_SECOND : F_MINUTE;
	uint64_t masks[6] = {1, 0, 0, 0, 0, 0}; /* second 0 in the 5-field form */
	int stars[6] = {0};
	for (int i = 0; i < n; i++)
		if (parse_field(&fields[first + i], start[i], end[i], &masks[first + i],
				&stars[first + i], err, errlen) != 0)
			return -1;
	c->second = masks[F_SECOND];
	c->minute = masks[F_MINUTE];
	c->hour = (uint32_t)masks[F_HOUR];
	c->dom = (uint32_t)masks[F_DOM];
	c->month = (uint32_t)masks[F_MONTH];
	c->dow = (uint32_t)masks[F_DOW];
	c->dom_star = stars[F_DOM];
	c->dow_star = stars[F_DOW];
	/* with a '*' day of week, the days of the month alone decide: they must exist */
	if (c->dow_star && !some_day_exists(c)) {
		snprintf(err, errlen,
			 "day-of-month: no selected day exists in the selected months, so the "
			 "schedule never runs");
		return -1;
	}
	return 0;
}

/* ---- matching times ---- */

static int day_matches(const struct jq_cron *c, const struct civil *t)
{
	int dom = c->dom >> t->d & 1, dow = c->dow >> weekday(t) & 1;
	return c->dom_star || c->dow_star ? dom && dow : dom || dow;
}

/* Moves t to the first second of the next unit (dir > 0) or to the last second
 * of the previous one (dir < 0). unit: 0 month, 1 day, 2 hour, 3 minute, 4 second. */
static void move(struct civil *t, int unit, int dir)
{
	if (dir > 0) {
		switch (unit) {
		case 4:
			if (++t->s < 60)
				return;
			/* fall through */
		case 3:
			t->s = 0;
			if (++t->min < 60)
				return;
			/* fall through */
		case 2:
			t->min = t->s = 0;
			if (++t->h < 24)
				return;
			/* fall through */
		case 1:
			t->h = t->min = t->s = 0;
			if (++t->d <= days_in_month(t->y, t->mon))
				return;
			/* fall through */
		default:
			t->d = 1;
			t->h = t->min = t->s = 0;
			if (++t->mon > 12) {
				t->mon = 1;
				t->y++;
			}
		}
		return;
	}
	switch (unit) {
	case 4:
		if (--t->s >= 0)
			return;
		/* fall through */
	case 3:
		t->s = 59;
		if (--t->min >= 0)
			return;
		/* fall through */
	case 2:
		t->min = t->s = 59;
		if (--t->h >= 0)
			return;
		/* fall through */
	case 1:
		t->h = 23;
		t->min = t->s = 59;
		if (--t->d >= 1)
			return;
		/* fall through */
	default:
		if (--t->mon < 1) {
			t->mon = 12;
			t->y--;
		}
		t->d = days_in_month(t->y, t->mon);
		t->h = 23;
		t->min = t->s = 59;
	}
}

/* The first (dir > 0) or last (dir < 0) matching time from t on, t included. */
static int search(const struct jq_cron *c, int64_t t0, int dir, int64_t *out)
{
	struct civil t;
	if (t0 < 0 || t0 > JQ_CRON_TIME_MAX)
		return -1;
	civil_from_secs(t0, &t);
	int64_t limit = t.y + (dir > 0 ? JQ_CRON_SEARCH_YEARS : -JQ_CRON_SEARCH_YEARS);
	while (dir > 0 ? t.y <= limit : t.y >= limit) {
		if (!(c->month >> t.mon & 1))
			move(&t, 0, dir);
		else if (!day_matches(c, &t))
			move(&t, 1, dir);
		else if (!(c->hour >> t.h & 1))
			move(&t, 2, dir);
		else if (!(c->minute >> t.min & 1))
			move(&t, 3, dir);
		else if (!(c->second >> t.s & 1))
			move(&t, 4, dir);
		else {
			*out = secs_from_civil(&t);
			return 0;
		}
	}
	return -1;
}

int jq_cron_next(const struct jq_cron *c, int64_t after_s, int64_t *out_s)
{
	return search(c, after_s + 1, 1, out_s);
}

int jq_cron_prev(const struct jq_cron *c, int64_t at_s, int64_t *out_s)
{
	return search(c, at_s, -1, out_s);
}
