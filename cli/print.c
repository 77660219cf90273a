/* print.c: jobctl's tables and summaries of the broker's answers; see print.h. */
#include "print.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "util.h"

#define SNIPPET_MAX 120             /* bytes of a non-JSON error body shown */
#define LABEL_WIDTH 12              /* the name column of the status summary */
#define CELL_MAX 80                 /* bytes of a dead list cell but the error */
#define ERROR_COLS_MIN 20           /* characters of the error column, however narrow */
#define NAME_COLS_MIN 8             /* characters a type or queue column keeps */
#define TABLE_COLS_MAX 8            /* columns of a table of print_table */
#define TIME_MS_MAX 253402300799999 /* epoch ms of 9999-12-31T23:59:59.999Z */

char *ctl_clean_text(char *dst, size_t cap, const char *src, size_t len, int ascii, int spaces)
{
	size_t n = 0, i = 0;
	if (cap == 0)
		return dst;
	for (; i < len && n + 1 < cap; i++) {
		unsigned char ch = (unsigned char)src[i];
		if (ch < 0x20 || ch == 0x7f) {
			if (!spaces)
				dst[n++] = '?';
			else if (n > 0 && dst[n - 1] != ' ')
				dst[n++] = ' ';
		} else {
			dst[n++] = (char)(ascii && ch >= 0x80 ? '?' : ch);
		}
	}
	if (!ascii && i < len) {
		/* Cut: drop the last sequence, which may be partial. */
		size_t k = n;
		while (k > 0 && ((unsigned char)dst[k - 1] & 0xC0) == 0x80)
			k--;
		if (k > 0 && (unsigned char)dst[k - 1] >= 0xC0)
			n = k - 1;
	}
	while (spaces && n > 0 && dst[n - 1] == ' ')
		n--;
	dst[n] = '\0';
	return dst;
}

void ctl_put_text(FILE *out, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		fputc(ch < 0x20 || ch == 0x7f ? '?' : ch, out);
	}
}

int ctl_term_cols(FILE *f)
{
	struct winsize ws;
	if (ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

void jq_ctl_format_http_error(char *buf, size_t cap, long status, const char *body, size_t len)
{
	json_error_t jerr;
	json_t *root = len > 0 ? json_loadb(body, len, 0, &jerr) : NULL;
	json_t *error = json_object_get(root, "error");
	const char *code = json_string_value(json_object_get(error, "code"));
	const char *message = json_string_value(json_object_get(error, "message"));

	if (code != NULL || message != NULL) {
		char c[128], m[512];
		ctl_clean_text(c, sizeof(c), code ? code : "error", strlen(code ? code : "error"),
			       0, 0);
		ctl_clean_text(m, sizeof(m), message ? message : "no message",
			       strlen(message ? message : "no message"), 0, 0);
		snprintf(buf, cap, "%s: %s (HTTP %ld)", c, m, status);
	} else if (len == 0) {
		snprintf(buf, cap, "broker answered HTTP %ld with an empty body", status);
	} else {
		char snippet[SNIPPET_MAX + 1];
		ctl_clean_text(snippet, sizeof(snippet), body, len, 1, 1);
		snprintf(buf, cap, "broker answered HTTP %ld: '%s%s'", status, snippet,
			 len > SNIPPET_MAX ? "..." : "");
	}
	json_decref(root);
}

/* Prints v as a field value: "-" for none, strings as text, the rest as JSON. */
static void print_value(FILE *out, const json_t *v)
{
	if (v == NULL || json_is_null(v)) {
		fputs("-", out);
	} else if (json_is_string(v)) {
		ctl_put_text(out, json_string_value(v));
	} else if (json_is_integer(v)) {
		fprintf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	} else {
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		ctl_put_text(out, s ? s : "?");
		free(s);
	}
}

/* Prints an entry of a job's errors, {"attempt": N, "at": ms, "error": "..."},
 * as "attempt N  AT  ERROR"; any other shape as a value. */
static void print_attempt_error(FILE *out, const json_t *e)
{
	const json_t *attempt = json_object_get(e, "attempt"), *at = json_object_get(e, "at");
	if (!json_is_object(e)) {
		print_value(out, e);
		return;
	}
	fputs("attempt ", out);
	print_value(out, attempt);
	if (json_is_integer(at) && json_integer_value(at) >= 0 &&
	    json_integer_value(at) <= TIME_MS_MAX) {
		char when[32];
		jq_format_rfc3339((int64_t)json_integer_value(at), when);
		fprintf(out, "  %s", when);
	} else if (at != NULL) {
		fputs("  ", out);
		print_value(out, at);
	}
	fputs("  ", out);
	print_value(out, json_object_get(e, "error"));
}

enum field_kind {
	FIELD_VALUE,
	FIELD_IF_SET, /* a value whose line is left out when it is missing or null */
	FIELD_PROGRESS,
	FIELD_ATTEMPTS,
	FIELD_ERRORS,
};

static const struct {
	const char *label;
	const char *name; /* the field of GET /jobs/{id} */
	enum field_kind kind;
} job_fields[] = {
	{"id", "id", FIELD_VALUE},
	{"type", "type", FIELD_VALUE},
	{"queue", "queue", FIELD_VALUE},
	{"state", "state", FIELD_VALUE},
	{"status", "status", FIELD_VALUE},
	{"progress", "progress", FIELD_PROGRESS},
	{"attempts", "attempts", FIELD_ATTEMPTS},
	{"recoveries", "recoveries", FIELD_VALUE},
	{"created", "created_at", FIELD_VALUE},
	{"started", "started_at", FIELD_VALUE},
	{"finished", "finished_at", FIELD_VALUE},
	{"run at", "run_at", FIELD_IF_SET},
	{"worker", "worker", FIELD_VALUE},
	{"result", "result", FIELD_VALUE},
	{"error", "error", FIELD_VALUE},
	{"errors", "errors", FIELD_ERRORS},
};

int jq_ctl_print_job(FILE *out, const json_t *job)
{
	if (!json_is_object(job))
		return -1;
	for (size_t i = 0; i < sizeof(job_fields) / sizeof(job_fields[0]); i++) {
		const json_t *v = json_object_get(job, job_fields[i].name);
		if (job_fields[i].kind == FIELD_IF_SET && (v == NULL || json_is_null(v)))
			continue;
		fprintf(out, "%-*s", LABEL_WIDTH, job_fields[i].label);
		switch (job_fields[i].kind) {
		case FIELD_VALUE:
		case FIELD_IF_SET: print_value(out, v); break;
		case FIELD_PROGRESS: {
			const json_t *d = json_object_get(v, "done"),
				     *t = json_object_get(v, "total");
			const char *msg = json_string_value(json_object_get(v, "message"));
			if (json_is_integer(d) && json_is_integer(t) && json_integer_value(t) > 0)
				fprintf(out, "%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT,
					json_integer_value(d), json_integer_value(t));
			else
				fputs("-", out);
			if (msg != NULL && *msg) {
				fputs("  ", out);
				ctl_put_text(out, msg);
			}
			break;
		}
		case FIELD_ATTEMPTS: {
			const json_t *m = json_object_get(job, "max_attempts");
			print_value(out, v);
			if (json_is_integer(m))
				fprintf(out, "/%" JSON_INTEGER_FORMAT, json_integer_value(m));
			break;
		}
		case FIELD_ERRORS: {
			size_t k;
			const json_t *e;
			if (!json_is_array(v) || json_array_size(v) == 0)
				print_value(out, json_is_array(v) ? NULL : v);
			json_array_foreach(v, k, e)
			{
				if (k > 0)
					fprintf(out, "\n%-*s", LABEL_WIDTH, "");
				print_attempt_error(out, e);
			}
			break;
		}
		}
		fputc('\n', out);
	}
	return 0;
}

/* Writes src into dst (cap bytes) as one line of at most cols characters:
 * each run of spaces and control characters becomes one space (none at the
 * ends), and a text cut short ends in "..." A cut never splits a UTF-8
 * sequence. */
static void fit_line(char *dst, size_t cap, const char *src, int cols)
{
	size_t n = 0, keep = 0; /* bytes written; bytes of the first cols - 3 characters */
	int chars = 0, space = 0, cut = 0;
	if (cap == 0)
		return;
	if (cols < 3)
		cols = 3;
	for (const unsigned char *p = (const unsigned char *)src; *p;) {
		if (*p <= ' ' || *p == 0x7f) {
			space = chars > 0;
			p++;
			continue;
		}
		if (p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F) { /* C1 controls, as UTF-8 */
			space = chars > 0;
			p += 2;
			continue;
		}
		size_t len = 1;
		while (len < 4 && (p[len] & 0xC0) == 0x80)
			len++;
		if (chars + space + 1 > cols || n + (size_t)space + len + 1 > cap) {
			cut = 1;
			break;
		}
		if (space)
			dst[n++] = ' ';
		chars += space + 1;
		space = 0;
		memcpy(dst + n, p, len);
		n += len;
		p += len;
		if (chars <= cols - 3)
			keep = n;
	}
	if (cut) {
		n = keep;
		while (n > 0 && dst[n - 1] == ' ')
			n--;
		if (n + 3 < cap) {
			memcpy(dst + n, "...", 3);
			n += 3;
		}
	}
	dst[n] = '\0';
}

/* Takes the next line of at most cols characters from *src as fit_line writes one (each
 * run of spaces and control characters is one space, none at the ends), broken at the
 * last space that fits, or inside a word longer than a line; never inside a UTF-8
 * sequence. Advances *src past it. Returns 0, with dst "", when nothing is left. */
static int wrap_line(char *dst, size_t cap, const char **src, int cols)
{
	const unsigned char *p = (const unsigned char *)*src, *brk_p = NULL;
	size_t n = 0, brk_n = 0; /* brk: where the line ends if broken at the last space */
	int chars = 0, space = 0;
	if (cols < 1)
		cols = 1;
	for (; *p;) {
		int c1 = p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F; /* C1 controls, as UTF-8 */
		if (*p <= ' ' || *p == 0x7f || c1) {
			space = chars > 0;
			p += c1 ? 2 : 1;
			continue;
		}
		size_t len = 1;
		while (len < 4 && (p[len] & 0xC0) == 0x80)
			len++;
		if (chars + space + 1 > cols || n + (size_t)space + len + 1 > cap) {
			if (brk_p) {
				n = brk_n;
				p = brk_p;
			}
			break;
		}
		if (space) {
			brk_n = n;
			brk_p = p;
			dst[n++] = ' ';
			chars++;
			space = 0;
		}
		memcpy(dst + n, p, len);
		n += len;
		p += len;
		chars++;
	}
	dst[n] = '\0';
	*src = (const char *)p;
	return n > 0;
}

/* Writes v as a table cell: "-" for none, printable ASCII only. */
static void cell_text(char *buf, size_t cap, const json_t *v)
{
	if (v == NULL || json_is_null(v)) {
		snprintf(buf, cap, "-");
	} else if (json_is_string(v)) {
		ctl_clean_text(buf, cap, json_string_value(v), json_string_length(v), 1, 0);
	} else if (json_is_integer(v)) {
		snprintf(buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	} else {
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		ctl_clean_text(buf, cap, s ? s : "?", s ? strlen(s) : 1, 1, 0);
		free(s);
	}
}

static const struct {
	const char *head;
	const char *name; /* the field of an entry of GET /dead */
	int shrinks;      /* cut to make room for the error, down to NAME_COLS_MIN */
} dead_columns[] = {
	{"ID", "id", 0},       {"FAILED AT", "failed_at", 0}, {"TYPE", "type", 1},
	{"QUEUE", "queue", 1}, {"ATTEMPTS", "attempts", 0},   {"ERROR", "error", 0},
};

#define DEAD_NCOLS (sizeof(dead_columns) / sizeof(dead_columns[0]))
#define DEAD_ERROR (DEAD_NCOLS - 1) /* the last column */

int jq_ctl_print_dead(FILE *out, const json_t *jobs, int cols)
{
	int width[DEAD_NCOLS];
	char cell[CELL_MAX], text[JQ_CTL_LINE_MAX * 4 + 1];
	size_t i, k;
	const json_t *job;

	if (!json_is_array(jobs))
		return -1;
	if (json_array_size(jobs) == 0) {
		fputs("no dead jobs\n", out);
		return 0;
	}
	/* Every column but the error is as wide as its widest cell, and the
	 * error gets what is left of the line; when that is too little, the
	 * widest of the names give up room first. */
	int left = cols;
	for (k = 0; k < DEAD_ERROR; k++) {
		width[k] = (int)strlen(dead_columns[k].head);
		json_array_foreach(jobs, i, job)
		{
			cell_text(cell, sizeof(cell), json_object_get(job, dead_columns[k].name));
			if ((int)strlen(cell) > width[k])
				width[k] = (int)strlen(cell);
		}
		left -= width[k] + 2;
	}
	while (left < ERROR_COLS_MIN) {
		size_t widest = DEAD_NCOLS;
		for (k = 0; k < DEAD_ERROR; k++)
			if (dead_columns[k].shrinks && width[k] > NAME_COLS_MIN &&
			    (widest == DEAD_NCOLS || width[k] > width[widest]))
				widest = k;
		if (widest == DEAD_NCOLS)
			break;
		width[widest]--;
		left++;
	}
	if (left < ERROR_COLS_MIN)
		left = ERROR_COLS_MIN; /* the row is wider than cols: names are long already */
	width[DEAD_ERROR] = left < JQ_CTL_LINE_MAX ? left : JQ_CTL_LINE_MAX;

	int indent = 0; /* where the error column starts */
	for (k = 0; k < DEAD_ERROR; k++)
		indent += width[k] + 2;
	for (k = 0; k < DEAD_ERROR; k++)
		fprintf(out, "%-*s  ", width[k], dead_columns[k].head);
	fprintf(out, "%s\n", dead_columns[DEAD_ERROR].head);
	json_array_foreach(jobs, i, job)
	{
		for (k = 0; k < DEAD_ERROR; k++) {
			cell_text(cell, sizeof(cell), json_object_get(job, dead_columns[k].name));
			fit_line(text, sizeof(text), cell, width[k]);
			fprintf(out, "%-*s  ", width[k], text);
		}
		/* the error in full, wrapped in its column */
		const json_t *e = json_object_get(job, dead_columns[DEAD_ERROR].name);
		if (!json_is_string(e))
			cell_text(cell, sizeof(cell), e);
		const char *src = json_is_string(e) ? json_string_value(e) : cell;
		wrap_line(text, sizeof(text), &src, width[DEAD_ERROR]);
		fprintf(out, "%s\n", text);
		while (wrap_line(text, sizeof(text), &src, width[DEAD_ERROR]))
			fprintf(out, "%*s%s\n", indent, "", text);
	}
	return 0;
}

/* A column of print_table. */
struct column {
	const char *head;
	int shrinks; /* cut with "..." down to NAME_COLS_MIN when a row is wider than cols */
};

/* Prints a header row and nrows rows of cells (row-major, ncols <=
 * TABLE_COLS_MAX a row, printable ASCII), each column as wide as its widest
 * cell and two spaces from the next. While a row is wider than cols, the
 * widest shrinking column gives up one character. */
static void print_table(FILE *out, const struct column *columns, size_t ncols,
			char (*cells)[CELL_MAX], size_t nrows, int cols)
{
	int width[TABLE_COLS_MAX], total = -2;
	char text[CELL_MAX];
	size_t i, k;

	for (k = 0; k < ncols; k++) {
		width[k] = (int)strlen(columns[k].head);
		for (i = 0; i < nrows; i++)
			if ((int)strlen(cells[i * ncols + k]) > width[k])
				width[k] = (int)strlen(cells[i * ncols + k]);
		total += width[k] + 2;
	}
	while (total > cols) {
		size_t widest = ncols; /* none */
		int widest_w = NAME_COLS_MIN;
		for (k = 0; k < ncols; k++)
			if (columns[k].shrinks && width[k] > widest_w) {
				widest = k;
				widest_w = width[k];
			}
		if (widest >= ncols)
			break; /* the row is wider than cols: numbers and times are never cut */
		width[widest]--;
		total--;
	}
	for (k = 0; k < ncols; k++)
		fprintf(out, k + 1 < ncols ? "%-*s  " : "%-.*s\n", width[k], columns[k].head);
	for (i = 0; i < nrows; i++) {
		for (k = 0; k < ncols; k++) {
			fit_line(text, sizeof(text), cells[i * ncols + k], width[k]);
			fprintf(out, k + 1 < ncols ? "%-*s  " : "%-.*s\n", width[k], text);
		}
	}
}

/* A row-major array of nrows * ncols cells, or NULL when out of memory. */
static char (*table_cells(size_t nrows, size_t ncols))[CELL_MAX]
{
	return calloc(nrows * ncols, CELL_MAX);
}

static const struct column queue_columns[] = {
	{"NAME", 1},      {"PENDING", 0}, {"SCHEDULED", 0}, {"RUNNING", 0},
	{"COMPLETED", 0}, {"FAILED", 0},  {"PAUSED", 0},    {"RATE", 0},
};

/* The fields of GET /queues/{name} in the order they are shown. */
static const char *const queue_fields[] = {
	"name",    "pending",   "scheduled", "running",  "completed", "failed",
	"retried", "cancelled", "recovered", "enqueued", "paused",
};

#define QUEUE_NCOLS (sizeof(queue_columns) / sizeof(queue_columns[0]))

int jq_ctl_print_queues(FILE *out, const json_t *queues, int cols)
{
	size_t i, k;
	const json_t *q;

	if (!json_is_array(queues))
		return -1;
	if (json_array_size(queues) == 0) {
		fputs("no queues\n", out);
		return 0;
	}
	char(*cells)[CELL_MAX] = table_cells(json_array_size(queues), QUEUE_NCOLS);
	if (cells == NULL)
		return -1;
	json_array_foreach(queues, i, q)
	{
		char(*row)[CELL_MAX] = cells + i * QUEUE_NCOLS;
		/* the columns are the first fields of queue_fields, then paused and the rate limit */
		for (k = 0; k + 2 < QUEUE_NCOLS; k++)
			cell_text(row[k], CELL_MAX, json_object_get(q, queue_fields[k]));
		const json_t *paused = json_object_get(q, "paused");
		if (json_is_boolean(paused))
			snprintf(row[k], CELL_MAX, "%s", json_is_true(paused) ? "yes" : "no");
		else
			cell_text(row[k], CELL_MAX, paused);
		/* "used/limit per interval": the starts of the current interval */
		const json_t *rate = json_object_get(q, "rate_limit");
		const json_t *limit = json_object_get(rate, "limit");
		if (json_is_integer(limit))
			snprintf(row[k + 1], CELL_MAX,
				 "%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT
				 " per %" JSON_INTEGER_FORMAT "ms",
				 json_integer_value(json_object_get(rate, "used")),
				 json_integer_value(limit),
				 json_integer_value(json_object_get(rate, "interval_ms")));
		else
			cell_text(row[k + 1], CELL_MAX, rate);
	}
	print_table(out, queue_columns, QUEUE_NCOLS, cells, json_array_size(queues), cols);
	free(cells);
	return 0;
}

int jq_ctl_print_queue(FILE *out, const json_t *queue)
{
	const char *key;
	const json_t *v;
	size_t k, n = sizeof(queue_fields) / sizeof(queue_fields[0]);

	if (!json_is_object(queue))
		return -1;
	for (k = 0; k < n; k++) {
		fprintf(out, "%s: ", queue_fields[k]);
		print_value(out, json_object_get(queue, queue_fields[k]));
		fputc('\n', out);
	}
	/* Fields of a newer broker come last, as they are. */
	json_object_foreach((json_t *)queue, key, v)
	{
		for (k = 0; k < n && strcmp(key, queue_fields[k]) != 0; k++)
			;
		if (k < n)
			continue;
		ctl_put_text(out, key);
		fputs(": ", out);
		print_value(out, v);
		fputc('\n', out);
	}
	return 0;
}

void jq_ctl_format_age(char *buf, size_t cap, int64_t ms)
{
	if (ms < 0)
		ms = 0;
	int64_t s = ms / 1000;
	if (s < 60)
		snprintf(buf, cap, "%" PRId64 ".%" PRId64 "s ago", s, ms % 1000 / 100);
	else if (s < 3600)
		snprintf(buf, cap, "%" PRId64 "m%02" PRId64 "s ago", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, cap, "%" PRId64 "h%02" PRId64 "m ago", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, cap, "%" PRId64 "d%02" PRId64 "h ago", s / 86400, s % 86400 / 3600);
}

/* The epoch ms of an RFC 3339 string field, or -1. */
static int64_t time_field(const json_t *v)
{
	int64_t ms;
	if (!json_is_string(v) || jq_parse_rfc3339(json_string_value(v), &ms) != 0 || ms < 0 ||
	    ms > TIME_MS_MAX)
		return -1;
	return ms;
}

static const struct column worker_columns[] = {
	{"ID", 1},      {"HOST", 1},      {"PID", 0},     {"QUEUES", 1},
	{"RUNNING", 0}, {"LAST BEAT", 0}, {"STARTED", 0},
};

#define WORKER_NCOLS (sizeof(worker_columns) / sizeof(worker_columns[0]))

/* Writes a worker's queues, comma-joined, as a cell. */
static void queues_cell(char *buf, size_t cap, const json_t *queues)
{
	char name[CELL_MAX];
	size_t i, n = 0;
	const json_t *q;
	if (!json_is_array(queues)) {
		cell_text(buf, cap, queues);
		return;
	}
	buf[0] = '\0';
	json_array_foreach(queues, i, q)
	{
		cell_text(name, sizeof(name), q);
		int w = snprintf(buf + n, cap - n, "%s%s", i > 0 ? "," : "", name);
		if (w < 0 || (size_t)w >= cap - n)
			break; /* cut: fit_line ends it with "..." if the column is narrower */
		n += (size_t)w;
	}
	if (json_array_size(queues) == 0)
		snprintf(buf, cap, "-");
}

int jq_ctl_print_workers(FILE *out, const json_t *workers, int64_t now_ms, int cols)
{
	size_t i;
	const json_t *w;
	char a[CELL_MAX], b[CELL_MAX];

	if (!json_is_array(workers))
		return -1;
	if (json_array_size(workers) == 0) {
		fputs("no workers\n", out);
		return 0;
	}
	char(*cells)[CELL_MAX] = table_cells(json_array_size(workers), WORKER_NCOLS);
	if (cells == NULL)
		return -1;
	json_array_foreach(workers, i, w)
	{
		char(*row)[CELL_MAX] = cells + i * WORKER_NCOLS;
		cell_text(row[0], CELL_MAX, json_object_get(w, "id"));
		cell_text(row[1], CELL_MAX, json_object_get(w, "host"));
		cell_text(row[2], CELL_MAX, json_object_get(w, "pid"));
		queues_cell(row[3], CELL_MAX, json_object_get(w, "queues"));
		cell_text(a, sizeof(a), json_object_get(w, "running"));
		cell_text(b, sizeof(b), json_object_get(w, "concurrency"));
		snprintf(row[4], CELL_MAX, "%.*s/%.*s", CELL_MAX / 2 - 1, a, CELL_MAX / 2 - 1, b);
		const json_t *beat = json_object_get(w, "last_heartbeat");
		int64_t ms = time_field(beat);
		if (ms >= 0)
			jq_ctl_format_age(row[5], CELL_MAX, now_ms - ms);
		else
			cell_text(row[5], CELL_MAX, beat);
		const json_t *started = json_object_get(w, "started_at");
		ms = time_field(started);
		if (ms >= 0) {
			/* to the second: "2026-11-25T22:03:17Z" */
			jq_format_rfc3339(ms, a);
			snprintf(row[6], CELL_MAX, "%.19sZ", a);
		} else {
			cell_text(row[6], CELL_MAX, started);
		}
	}
	print_table(out, worker_columns, WORKER_NCOLS, cells, json_array_size(workers), cols);
	free(cells);
	return 0;
}

static const struct column schedule_columns[] = {
	{"NAME", 1}, {"CRON", 0}, {"NEXT RUN", 0}, {"LAST RUN", 0}, {"LAST JOB", 0}, {"TYPE", 1},
};
#define SCHEDULE_NCOLS (sizeof(schedule_columns) / sizeof(schedule_columns[0]))

/* A time cell: an RFC 3339 string cut to the second ("2026-11-26T10:00:00Z"), or "-". */
static void time_cell(char *buf, size_t cap, const json_t *v)
{
	const char *s = json_string_value(v);
	if (s && strlen(s) >= 19 && s[10] == 'T')
		snprintf(buf, cap, "%.19sZ", s);
	else
		cell_text(buf, cap, v);
}

int jq_ctl_print_schedules(FILE *out, const json_t *list, int cols)
{
	size_t i;
	const json_t *s;
	if (json_array_size(list) == 0) {
		fputs("no schedules\n", out);
		return 0;
	}
	char(*cells)[CELL_MAX] = table_cells(json_array_size(list), SCHEDULE_NCOLS);
	if (cells == NULL)
		return -1;
	json_array_foreach(list, i, s)
	{
		char(*row)[CELL_MAX] = cells + i * SCHEDULE_NCOLS;
		cell_text(row[0], CELL_MAX, json_object_get(s, "name"));
		cell_text(row[1], CELL_MAX, json_object_get(s, "cron"));
		time_cell(row[2], CELL_MAX, json_object_get(s, "next_run"));
		time_cell(row[3], CELL_MAX, json_object_get(s, "last_run"));
		cell_text(row[4], CELL_MAX, json_object_get(s, "last_job_id"));
		cell_text(row[5], CELL_MAX, json_object_get(json_object_get(s, "job"), "type"));
	}
	print_table(out, schedule_columns, SCHEDULE_NCOLS, cells, json_array_size(list), cols);
	free(cells);
	return 0;
}

void jq_ctl_print_schedule(FILE *out, const json_t *s)
{
	static const char *const fields[] = {"name",     "cron",       "job",
					     "next_run", "last_run",   "last_job_id",
					     "source",   "created_at", "updated_at"};
	for (size_t k = 0; k < sizeof(fields) / sizeof(fields[0]); k++) {
		fprintf(out, "%s: ", fields[k]);
		print_value(out, json_object_get(s, fields[k]));
		fputc('\n', out);
	}
}

static const struct column token_columns[] = {{"NAME", 1}, {"SCOPES", 0}, {"CREATED", 0}};
#define TOKEN_NCOLS (sizeof(token_columns) / sizeof(token_columns[0]))

int jq_ctl_print_tokens(FILE *out, const json_t *tokens, int cols)
{
	size_t i, k;
	const json_t *t, *sc;
	if (json_array_size(tokens) == 0) {
		fputs("no tokens\n", out);
		return 0;
	}
	char(*cells)[CELL_MAX] = table_cells(json_array_size(tokens), TOKEN_NCOLS);
	if (cells == NULL)
		return -1;
	json_array_foreach(tokens, i, t)
	{
		char(*row)[CELL_MAX] = cells + i * TOKEN_NCOLS;
		cell_text(row[0], CELL_MAX, json_object_get(t, "name"));
		row[1][0] = '\0';
		json_array_foreach(json_object_get(t, "scopes"), k, sc)
			snprintf(row[1] + strlen(row[1]), CELL_MAX - strlen(row[1]), "%s%s",
				 k ? "," : "", json_string_value(sc) ? json_string_value(sc) : "?");
		time_cell(row[2], CELL_MAX, json_object_get(t, "created_at"));
	}
	print_table(out, token_columns, TOKEN_NCOLS, cells, json_array_size(tokens), cols);
	free(cells);
	return 0;
}
