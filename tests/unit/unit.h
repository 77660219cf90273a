/* unit.h: the unit tests' helper: CHECK macros that count failures, and a runner.
 *
 * A test file defines `static void test_x(void)` functions, usually looping
 * over a table of small cases, and ends with
 *
 *     UNIT_MAIN({"x", test_x}, {"y", test_y})
 *
 * A failed check prints "file:line: [case] failed: CHECK_x(...)" (plus both values for
 * the _EQ forms) and the test goes on; the executable exits 1 if any check
 * failed, so ctest reports it. UNIT_CASE() names the table row being checked;
 * it is cleared before every test. */
#ifndef JQ_UNIT_H
#define JQ_UNIT_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int unit_failed;  /* failed checks in the whole run */
static int unit_checked; /* checks run in the whole run */
static char unit_case[160];

static inline void unit_set_case(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void unit_set_case(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(unit_case, sizeof(unit_case), fmt, ap);
	va_end(ap);
}

/* Names the case that the following checks are about, e.g. UNIT_CASE("row %zu", i). */
#define UNIT_CASE(...) unit_set_case(__VA_ARGS__)

static inline int unit_fail(const char *file, int line, const char *expr)
{
	unit_failed++;
	fprintf(stderr, "%s:%d: %s%s%sfailed: %s\n", file, line, unit_case[0] ? "[" : "", unit_case,
		unit_case[0] ? "] " : "", expr);
	return 0;
}

#define CHECK(expr)                                                                                \
	do {                                                                                       \
		unit_checked++;                                                                    \
		if (!(expr))                                                                       \
			unit_fail(__FILE__, __LINE__, "CHECK(" #expr ")");                         \
	} while (0)

/* Integers of any width, compared as long long. */
#define CHECK_INT_EQ(a, b)                                                                         \
	do {                                                                                       \
		long long unit_a_ = (long long)(a), unit_b_ = (long long)(b);                      \
		unit_checked++;                                                                    \
		if (unit_a_ != unit_b_) {                                                          \
			unit_fail(__FILE__, __LINE__, "CHECK_INT_EQ(" #a ", " #b ")");             \
			fprintf(stderr, "    got %lld, want %lld\n", unit_a_, unit_b_);            \
		}                                                                                  \
	} while (0)

/* NUL-terminated strings; NULL equals only NULL. */
#define CHECK_STR_EQ(a, b)                                                                         \
	do {                                                                                       \
		const char *unit_a_ = (a), *unit_b_ = (b);                                         \
		unit_checked++;                                                                    \
		if (!((!unit_a_ && !unit_b_) ||                                                    \
		      (unit_a_ && unit_b_ && strcmp(unit_a_, unit_b_) == 0))) {                    \
			unit_fail(__FILE__, __LINE__, "CHECK_STR_EQ(" #a ", " #b ")");             \
			fprintf(stderr, "    got '%s', want '%s'\n", unit_a_ ? unit_a_ : "(null)", \
				unit_b_ ? unit_b_ : "(null)");                                     \
		}                                                                                  \
	} while (0)

/* haystack contains needle (both NUL-terminated). */
#define CHECK_CONTAINS(hay, needle)                                                                \
	do {                                                                                       \
		const char *unit_h_ = (hay), *unit_n_ = (needle);                                  \
		unit_checked++;                                                                    \
		if (!(unit_h_ && unit_n_ && strstr(unit_h_, unit_n_))) {                           \
			unit_fail(__FILE__, __LINE__, "CHECK_CONTAINS(" #hay ", " #needle ")");    \
			fprintf(stderr, "    '%s' does not contain '%s'\n",                        \
				unit_h_ ? unit_h_ : "(null)", unit_n_ ? unit_n_ : "(null)");       \
		}                                                                                  \
	} while (0)

/* n bytes at a equal n bytes at b; prints both in hex on failure. */
#define CHECK_MEM_EQ(a, alen, b, blen)                                                             \
	do {                                                                                       \
		const unsigned char *unit_a_ = (const unsigned char *)(a);                         \
		const unsigned char *unit_b_ = (const unsigned char *)(b);                         \
		size_t unit_al_ = (alen), unit_bl_ = (blen);                                       \
		unit_checked++;                                                                    \
		if (unit_al_ != unit_bl_ || memcmp(unit_a_, unit_b_, unit_al_) != 0) {             \
			unit_fail(__FILE__, __LINE__, "CHECK_MEM_EQ(" #a ", " #b ")");             \
			unit_hex("    got ", unit_a_, unit_al_);                                   \
			unit_hex("    want", unit_b_, unit_bl_);                                   \
		}                                                                                  \
	} while (0)

static inline void unit_hex(const char *label, const unsigned char *p, size_t n)
{
	fprintf(stderr, "%s", label);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, " %02x", p[i]);
	fputc('\n', stderr);
}

struct unit_test {
	const char *name;
	void (*fn)(void);
};

static inline int unit_run(const char *prog, const struct unit_test *tests, size_t n)
{
	int failed_tests = 0;
	for (size_t i = 0; i < n; i++) {
		int before = unit_failed;
		unit_case[0] = '\0';
		tests[i].fn();
		int bad = unit_failed - before;
		printf("%s %s/%s", bad ? "FAIL" : "ok  ", prog, tests[i].name);
		if (bad)
			printf(" (%d failed checks)", bad);
		putchar('\n');
		failed_tests += bad != 0;
	}
	printf("%s: %zu tests, %d failed; %d checks, %d failed\n", prog, n, failed_tests,
	       unit_checked, unit_failed);
	fflush(stdout);
	return unit_failed ? 1 : 0;
}

/* Defines main(): runs every {name, fn} in order and exits 1 if a check failed. */
#define UNIT_MAIN(...)                                                                             \
	int main(int argc, char **argv)                                                            \
	{                                                                                          \
		static const struct unit_test unit_tests_[] = {__VA_ARGS__};                       \
		const char *unit_prog_ = argc > 0 ? strrchr(argv[0], '/') : NULL;                  \
		unit_prog_ = unit_prog_ ? unit_prog_ + 1 : (argc > 0 ? argv[0] : "test");          \
		return unit_run(unit_prog_, unit_tests_,                                           \
				sizeof(unit_tests_) / sizeof(unit_tests_[0]));                     \
	}

/* Length of a string literal without its NUL, for byte-string table rows. */
#define LIT(s) (s), (sizeof(s) - 1)

#endif
