/* test_sse.c: unit tests of the text/event-stream parser (cli/sse.h): every
 * case is fed whole, cut in two at every byte, and one byte at a time, and
 * must give the same events each way. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sse.h"
#include "unit.h"

/* What the callback saw: each event as "<type>#<id>{<data>}", data bytes
 * below 0x20 written as \xNN. */
struct seen {
	char text[4096];
	int events;
	int stop_after; /* ask to stop after this many events; 0: never */
};

static int on_event(void *arg, const struct jq_sse_event *ev)
{
	struct seen *s = arg;
	size_t n = strlen(s->text);
	n += (size_t)snprintf(s->text + n, sizeof(s->text) - n, "%s#%s{", ev->type, ev->id);
	for (size_t i = 0; i < ev->data_len && n + 8 < sizeof(s->text); i++) {
		unsigned char ch = (unsigned char)ev->data[i];
		if (ch < 0x20)
			n += (size_t)snprintf(s->text + n, sizeof(s->text) - n, "\\x%02x", ch);
		else
			s->text[n++] = (char)ch;
	}
	snprintf(s->text + n, sizeof(s->text) - n, "}");
	CHECK(ev->data[ev->data_len] == '\0');
	s->events++;
	return s->stop_after && s->events >= s->stop_after;
}

/* Feeds in (len bytes) in pieces: cut at `cut` (0: whole) or, with `bytewise`,
 * one byte at a time. Returns the last jq_sse_feed result; *comments gets the
 * comment count. */
static int feed(const char *in, size_t len, size_t cut, int bytewise, struct seen *s,
		uint64_t *comments)
{
	struct jq_sse p;
	int rc = 0;
	jq_sse_init(&p);
	if (bytewise) {
		for (size_t i = 0; i < len && rc == 0; i++)
			rc = jq_sse_feed(&p, in + i, 1, on_event, s);
	} else {
		rc = jq_sse_feed(&p, in, cut, on_event, s);
		if (rc == 0)
			rc = jq_sse_feed(&p, in + cut, len - cut, on_event, s);
	}
	*comments = p.comments;
	jq_sse_release(&p);
	return rc;
}

static void test_events(void)
{
	static const struct {
		const char *what;
		const char *in;
		size_t len;
		const char *want;
		int comments;
	} cases[] = {
		{"the broker's event", LIT("event: running\ndata: {\"id\": 1}\n\n"),
		 "running#{{\"id\": 1}}", 0},
		{"two events", LIT("event: a\ndata: 1\n\nevent: b\ndata: 2\n\n"), "a#{1}b#{2}", 0},
		{"no event field: message", LIT("data: x\n\n"), "message#{x}", 0},
		{"CRLF", LIT("event: a\r\ndata: 1\r\n\r\nevent: b\r\ndata: 2\r\n\r\n"),
		 "a#{1}b#{2}", 0},
		{"CR alone", LIT("event: a\rdata: 1\r\r"), "a#{1}", 0},
		{"mixed line ends", LIT("data: 1\r\n\ndata: 2\n\r\ndata: 3\r\r\n"),
		 "message#{1}message#{2}message#{3}", 0},
		{"multi-line data", LIT("data: a\ndata: b\ndata:\ndata: c\n\n"),
		 "message#{a\\x0ab\\x0a\\x0ac}", 0},
		{"empty data", LIT("data\n\n"), "message#{}", 0},
		{"two empty data lines", LIT("data:\ndata\n\n"), "message#{\\x0a}", 0},
		{"comments", LIT(": ping\n\n:\nevent: a\n: in between\ndata: 1\n\n: ping\n\n"),
		 "a#{1}", 4},
		{"only one space dropped", LIT("data:  two\n\n"), "message#{ two}", 0},
		{"no space after the colon", LIT("data:x\nevent:e\n\n"), "e#{x}", 0},
		{"colon in the value", LIT("data: a: b\n\n"), "message#{a: b}", 0},
		{"no data: not dispatched", LIT("event: a\n\nevent: b\ndata: 2\n\n"), "b#{2}", 0},
		{"the type does not carry over", LIT("event: a\ndata: 1\n\ndata: 2\n\n"),
		 "a#{1}message#{2}", 0},
		{"last event wins", LIT("event: a\nevent: b\ndata: 1\n\n"), "b#{1}", 0},
		{"id carries over", LIT("id: 7\ndata: 1\n\ndata: 2\n\nid\ndata: 3\n\n"),
		 "message#7{1}message#7{2}message#{3}", 0},
		{"id with a NUL is ignored", LIT("id: 1\n\nid: a\0b\ndata: x\n\n"), "message#1{x}",
		 0},
		{"unknown fields ignored", LIT("foo: bar\nDATA: no\ndata: yes\n\n"),
		 "message#{yes}", 0},
		{"field names are exact", LIT("data : no\nevent  : x\ndata: yes\n\n"),
		 "message#{yes}", 0},
		{"an unfinished event is dropped", LIT("data: 1\n\ndata: 2\n"), "message#{1}", 0},
		{"an unfinished line is dropped", LIT("data: 1\n\ndata: 2"), "message#{1}", 0},
		{"BOM",
		 LIT("\xEF\xBB\xBF"
		     "data: 1\n\n"),
		 "message#{1}", 0},
		{"BOM only at the start",
		 LIT("\xEF\xBB\xBF\xEF\xBB\xBF"
		     "data: 1\n\n"),
		 "", 0},
		{"half a BOM is text",
		 LIT("\xEF\xBB"
		     "data: 1\n\ndata: 2\n\n"),
		 "message#{2}", 0},
		{"UTF-8 and NUL in data", LIT("data: caf\xC3\xA9\0!\n\n"),
		 "message#{caf\xC3\xA9\\x00!}", 0},
		{"empty stream", LIT(""), "", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (size_t cut = 0; cut <= cases[i].len + 1; cut++) {
			struct seen s = {"", 0, 0};
			uint64_t comments = 0;
			int bytewise = cut == cases[i].len + 1;
			UNIT_CASE("%s, %s %zu", cases[i].what, bytewise ? "bytewise" : "cut at",
				  cut);
			int rc = feed(cases[i].in, cases[i].len, bytewise ? 0 : cut, bytewise, &s,
				      &comments);
			CHECK_INT_EQ(rc, 0);
			CHECK_STR_EQ(s.text, cases[i].want);
			CHECK_INT_EQ(comments, cases[i].comments);
		}
	}
}

static void test_retry(void)
{
	static const struct {
		const char *in;
		long long want;
	} cases[] = {
		{"retry: 1500\n", 1500}, {"retry: 1500\nretry: x\n", 1500},
		{"retry: 15x\n", -1},    {"retry:\n", -1},
		{"retry: -1\n", -1},     {"retry: 99999999999999999999999\n", -1},
		{"retry: 0\n", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct jq_sse p;
		struct seen s = {"", 0, 0};
		UNIT_CASE("'%s'", cases[i].in);
		jq_sse_init(&p);
		CHECK_INT_EQ(jq_sse_feed(&p, cases[i].in, strlen(cases[i].in), on_event, &s), 0);
		CHECK_INT_EQ(p.retry_ms, cases[i].want);
		jq_sse_release(&p);
	}
}

/* The callback stops the feed: the rest is not parsed, and a later feed goes on. */
static void test_stop(void)
{
	static const char in[] = "data: 1\r\n\r\ndata: 2\r\n\r\ndata: 3\n\n";
	struct jq_sse p;
	struct seen s = {"", 0, 1};
	jq_sse_init(&p);
	/* the stop comes on the CR of the empty line: its LF must not start a line */
	CHECK_INT_EQ(jq_sse_feed(&p, in, sizeof(in) - 1, on_event, &s), 1);
	CHECK_STR_EQ(s.text, "message#{1}");
	s.stop_after = 0;
	CHECK_INT_EQ(jq_sse_feed(&p, in + 10, sizeof(in) - 1 - 10, on_event, &s), 0);
	CHECK_STR_EQ(s.text, "message#{1}message#{2}message#{3}");
	jq_sse_release(&p);
}

/* Lines and data past their bounds are errors, and the parser stays failed. */
static void test_limits(void)
{
	size_t n = JQ_SSE_LINE_MAX + 16;
	char *big = malloc(n);
	struct jq_sse p;
	struct seen s = {"", 0, 0};
	if (big == NULL) {
		CHECK(!"out of memory");
		return;
	}

	UNIT_CASE("a line of JQ_SSE_LINE_MAX bytes is fine");
	jq_sse_init(&p);
	memcpy(big, "data:", 5);
	memset(big + 5, 'x', JQ_SSE_LINE_MAX - 5);
	CHECK_INT_EQ(jq_sse_feed(&p, big, JQ_SSE_LINE_MAX, on_event, &s), 0);
	CHECK_INT_EQ(jq_sse_feed(&p, "\n\n", 2, on_event, &s), 0);
	CHECK_INT_EQ(s.events, 1);
	jq_sse_release(&p);

	UNIT_CASE("one byte more is not, even in pieces");
	jq_sse_init(&p);
	CHECK_INT_EQ(jq_sse_feed(&p, big, JQ_SSE_LINE_MAX, on_event, &s), 0);
	CHECK_INT_EQ(jq_sse_feed(&p, "x", 1, on_event, &s), -1);
	CHECK_INT_EQ(p.err, JQ_SSE_ELINE);
	CHECK_CONTAINS(p.errstr, "event stream line longer than");
	CHECK_INT_EQ(jq_sse_feed(&p, "\n\ndata: 1\n\n", 11, on_event, &s), -1);
	CHECK_INT_EQ(s.events, 1);
	jq_sse_release(&p);

	UNIT_CASE("data past JQ_SSE_DATA_MAX over many lines");
	jq_sse_init(&p);
	int rc = 0;
	memset(big, 'y', n);
	memcpy(big, "data:", 5);
	big[60005] = '\n';
	for (int k = 0; k < JQ_SSE_DATA_MAX / 60000 + 2 && rc == 0; k++)
		rc = jq_sse_feed(&p, big, 60006, on_event, &s);
	CHECK_INT_EQ(rc, -1);
	CHECK_INT_EQ(p.err, JQ_SSE_EDATA);
	CHECK_INT_EQ(s.events, 1);
	jq_sse_release(&p);
	jq_sse_release(&p); /* twice is harmless */
	free(big);
}

UNIT_MAIN({"events", test_events}, {"retry", test_retry}, {"stop", test_stop},
	  {"limits", test_limits})
