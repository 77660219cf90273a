/* sse.h: an incremental parser of Server-Sent Events (text/event-stream); knows no sockets.
 *
 * Bytes go in as they arrive, in pieces cut anywhere (even inside a CRLF or a
 * UTF-8 sequence); each complete event comes out through a callback. It
 * follows the WHATWG HTML "event stream interpretation": lines end with CRLF,
 * LF or CR; a line that starts with ':' is a comment; "field: value" (one
 * space after the colon dropped) or "field" alone (empty value); the fields
 * event, data (several are joined with '\n'), id and retry, others ignored;
 * an empty line dispatches the event, and only if it has data; a leading
 * UTF-8 BOM is skipped; an event cut off by the end of the stream is dropped.
 *
 * Bounded: a line longer than JQ_SSE_LINE_MAX or an event's data longer than
 * JQ_SSE_DATA_MAX is an error (the stream is not trusted to be sane). */
#ifndef JQ_CLI_SSE_H
#define JQ_CLI_SSE_H

#include <stddef.h>
#include <stdint.h>

#define JQ_SSE_LINE_MAX (64 * 1024)   /* longest line, its end not counted */
#define JQ_SSE_DATA_MAX (1024 * 1024) /* longest data of one event */
#define JQ_SSE_NAME_MAX 128           /* longest event type and id kept (longer: cut) */

/* One dispatched event. Every string is NUL-terminated and owned by the parser:
 * valid only during the callback. */
struct jq_sse_event {
	const char *type; /* the event field, or "message" when there was none */
	const char *data; /* the data lines joined with '\n' (no trailing '\n') */
	size_t data_len;  /* data may hold NULs of its own; this is authoritative */
	const char *id;   /* the last event id seen on the stream ("" if none) */
};

/* Called for each event; returns 0 to go on, anything else to stop the feed. */
typedef int (*jq_sse_event_cb)(void *arg, const struct jq_sse_event *ev);

enum jq_sse_err {
	JQ_SSE_OK = 0,
	JQ_SSE_ELINE, /* a line longer than JQ_SSE_LINE_MAX */
	JQ_SSE_EDATA, /* an event's data longer than JQ_SSE_DATA_MAX */
	JQ_SSE_ENOMEM,
};

struct jq_sse {
	char *line; /* the line being read, without its end; not NUL-terminated */
	size_t line_len, line_cap;
	char *data; /* the data of the event being read, each line followed by '\n' */
	size_t data_len, data_cap;
	int has_data;                   /* a data field was seen since the last dispatch */
	char type[JQ_SSE_NAME_MAX + 1]; /* the event field since the last dispatch */
	char id[JQ_SSE_NAME_MAX + 1];   /* the last event id: kept across events */
	int64_t retry_ms;               /* the last valid retry field, or -1 */
	uint64_t comments;              /* comment lines seen (": ping" keep-alives) */
	int after_cr;                   /* the last byte was a CR: a following LF ends nothing */
	int bom_state;                  /* bytes of a leading BOM matched; 3: past the start */
	int err;                        /* enum jq_sse_err; once set, feeding fails */
	char errstr[96];                /* why, when err != 0 */
};

/* Prepares p for a new stream; jq_sse_release frees what it allocated. */
void jq_sse_init(struct jq_sse *p);
void jq_sse_release(struct jq_sse *p);

/* Parses len bytes of the stream, calling cb for each event completed in them.
 * Returns 0 when all were taken, 1 when cb asked to stop (the bytes after that
 * event are not parsed), or -1 with p->err and p->errstr set (then and after,
 * nothing more is parsed). cb must not call back into p. */
int jq_sse_feed(struct jq_sse *p, const char *buf, size_t len, jq_sse_event_cb cb, void *arg);

#endif
