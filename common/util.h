/* util.h: small helpers every program shares: clocks, strict number parsing, text checks. */
#ifndef JQ_UTIL_H
#define JQ_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Wall-clock milliseconds since the epoch (what Redis fields store). */
int64_t jq_now_ms(void);
/* Monotonic microseconds, for durations only. */
int64_t jq_mono_us(void);

/* Parses all of s as a base-10 integer in [min, max]; -1 on anything else
 * (empty, trailing junk, overflow, out of range). Never touches *out on error. */
int jq_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);
/* The same for a buffer that is not NUL-terminated. */
int jq_parse_i64n(const char *s, size_t len, int64_t min, int64_t max, int64_t *out);

/* Writes v in base 10 and a NUL at buf (at least 21 bytes); returns the length. No printf:
 * ids and counts are formatted several times per job on the hot paths. */
size_t jq_fmt_i64(char *buf, int64_t v);

/* 1 if the len bytes at s are well-formed UTF-8 (no overlongs, no surrogates). */
int jq_utf8_valid(const char *s, size_t len);
/* A malloc'd, NUL-terminated copy of the len bytes at s in which every byte
 * that does not start a well-formed UTF-8 sequence is replaced by U+FFFD
 * (so output from programs and servers becomes a JSON string); *outlen gets
 * its length. NULL when out of memory. */
char *jq_utf8_sanitize(const char *s, size_t len, size_t *outlen);

/* Appends NUL-terminated s at buf[pos] as the inside of a JSON string (quote, backslash
 * and control characters escaped; other bytes as they are, so s should be UTF-8);
 * stops before it would pass cap - 1 and NUL-terminates. Returns the new position. */
size_t jq_json_escape(char *buf, size_t pos, size_t cap, const char *s);

/* Parses an RFC 3339 UTC time ("2026-11-25T22:03:17Z", optional fraction,
 * "Z" or "+00:00") into epoch milliseconds; -1 on anything else. */
int jq_parse_rfc3339(const char *s, int64_t *ms);

/* Formats epoch milliseconds as RFC 3339 UTC with milliseconds into buf
 * ("2026-11-25T22:03:17.123Z"); buf must hold 32 bytes. */
void jq_format_rfc3339(int64_t ms, char buf[32]);

/* A malloc'd printf, or NULL when out of memory. */
char *jq_strdup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
