/* jobctl.c: jobctl's command table, its subcommands and what they print; see jobctl.h. */
#include "jobctl.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "httpc.h"
#include "job.h"
#include "keys.h"
#include "sse.h"
#include "util.h"

#define REQUEST_TIMEOUT_MAX_MS 3600000 /* --timeout-ms upper bound: one hour */
#define WAIT_TIMEOUT_MAX_S 604800      /* --wait-timeout upper bound: a week */
#define SNIPPET_MAX 120                /* bytes of a non-JSON error body shown */
#define LINE_MAX_BYTES 512             /* longest progress line drawn */
#define LABEL_WIDTH 12                 /* the name column of the status summary */
#define CELL_MAX 80                    /* bytes of a dead list cell but the error */
#define ERROR_COLS_MIN 20              /* characters of the error column, however narrow */
#define NAME_COLS_MIN 8                /* characters a type or queue column keeps */
#define ANSWER_MAX 64                  /* bytes of the answer to purge's question read */
#define TABLE_COLS_MAX 8               /* columns of a table of print_table */
#define KEY_SHOWN_MAX 40               /* bytes of a refused idempotency key shown */
#define TIME_MS_MAX 253402300799999    /* epoch ms of 9999-12-31T23:59:59.999Z */

/* One run of the program. */
struct ctl {
	const char *url; /* from --url or JOBQ_URL; points into argv/environ */
	const char *token, *token_file; /* --token / JOBQ_TOKEN, --token-file / JOBQ_TOKEN_FILE */
	int64_t timeout_ms;
	int json;
	FILE *out, *err;
	int tty;      /* out is a terminal: --wait draws its bar in place */
	int bar_open; /* a bar line is on screen without its newline */
	int curl_ready, http_ready;
	struct jq_httpc http; /* valid when http_ready */
	/* what the next failf reports beside its text, for --json (put_error): a code
	 * ("failed" when empty), the broker's HTTP status (0: none) and its own message */
	char fail_code[64];
	long fail_http;
	char fail_message[1024];
	const char *conflict_hint; /* what a 409 answer to this command should suggest */
};

struct command {
	const char *name; /* a subcommand's is "<group> <name>" */
	/* argv[0] is the command name; returns the exit status */
	int (*run)(struct ctl *c, const struct command *cmd, int argc, char **argv);
	const char *usage;
	const char *help;                  /* the options, one per line, ends with '\n' */
	const struct command *const *subs; /* a group's subcommands, NULL-terminated */
};

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	interrupted = 1;
}

/* Copies src into dst (cap bytes, NUL-terminated), replacing each control byte
 * with '?' (or, when spaces is set, runs of them with one space, trimmed at the
 * end) and, when ascii is set, each byte outside ASCII with '?'. A cut never
 * splits a UTF-8 sequence. Returns dst. */
static char *clean_text(char *dst, size_t cap, const char *src, size_t len, int ascii, int spaces)
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

/* Writes a text from the broker, its control characters replaced. */
static void put_text(FILE *out, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		fputc(ch < 0x20 || ch == 0x7f ? '?' : ch, out);
	}
}

static void end_bar(struct ctl *c)
{
	if (c->bar_open) {
		fputc('\n', c->out);
		fflush(c->out);
		c->bar_open = 0;
	}
}

static int failf(struct ctl *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* An error on stderr: "jobctl: TEXT", or with --json one line of JSON,
 * {"error": {"code", "message", "http_status"?, "hint"?, "usage"?}} (jobctl(1), ERRORS):
 * the broker's code and message when it answered with an error, else jobctl's own code
 * ("usage", "request_failed", "unexpected_answer", "failed") and text. */
static void put_error(struct ctl *c, int status, const char *text, const char *usage)
{
	end_bar(c);
	fflush(c->out); /* keep the order of the two streams on one terminal */
	if (!c->json) {
		fprintf(c->err, "jobctl: %s\n", text);
		if (usage)
			fprintf(c->err, "usage: %s\n", usage);
	} else {
		const char *code = c->fail_code[0]		 ? c->fail_code
				   : status == JQ_CTL_EXIT_USAGE ? "usage"
								 : "failed";
		json_t *e = json_object();
		json_object_set_new(e, "code", json_string_nocheck(code));
		json_object_set_new(e, "message",
				    json_string_nocheck(c->fail_message[0] ? c->fail_message : text));
		if (c->fail_http)
			json_object_set_new(e, "http_status", json_integer(c->fail_http));
		if (c->fail_http == 409 && c->conflict_hint)
			json_object_set_new(e, "hint", json_string_nocheck(c->conflict_hint));
		if (usage)
			json_object_set_new(e, "usage", json_string_nocheck(usage));
		json_t *o = json_pack("{s:o}", "error", e);
		char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
		fprintf(c->err, "%s\n", line ? line : "{\"error\":{\"code\":\"failed\"}}");
		free(line);
		json_decref(o);
	}
	c->fail_code[0] = c->fail_message[0] = '\0';
	c->fail_http = 0;
}

static int failf(struct ctl *c, int status, const char *fmt, ...)
{
	va_list ap;
	char text[2048];
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	put_error(c, status, text, NULL);
	return status;
}

/* failf with a code for --json. */
static int fail_code(struct ctl *c, int status, const char *code, const char *text)
{
	snprintf(c->fail_code, sizeof(c->fail_code), "%s", code);
	return failf(c, status, "%s", text);
}

/* ---- pieces without a broker (jobctl.h) ---- */

int jq_ctl_parse_duration(const char *s, int64_t *out, char *err, size_t errlen)
{
	if (jq_parse_i64(s, 0, JQ_CTL_DURATION_MAX, out) != 0) {
		snprintf(err, errlen, "invalid duration '%s': it must be an integer from 0 to %d",
			 s, JQ_CTL_DURATION_MAX);
		return -1;
	}
	return 0;
}

int jq_ctl_payload_add(json_t *payload, const char *arg, char *err, size_t errlen)
{
	int rc = -1;
	char *key = NULL;
	json_t *value = NULL;
	const char *eq = strchr(arg, '=');

	if (eq == NULL) {
		snprintf(err, errlen, "expected key=value, not '%s'", arg);
		goto done;
	}
	if (eq == arg) {
		snprintf(err, errlen, "empty key in '%s'", arg);
		goto done;
	}
	if (!jq_utf8_valid(arg, (size_t)(eq - arg))) {
		snprintf(err, errlen, "key of '%s' is not valid UTF-8", arg);
		goto done;
	}
	key = strndup(arg, (size_t)(eq - arg));
	if (key == NULL) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	if (json_object_get(payload, key) != NULL) {
		snprintf(err, errlen, "key '%s' is given twice", key);
		goto done;
	}
	const char *text = eq + 1;
	json_error_t jerr;
	if (*text)
		value = json_loads(text, JSON_DECODE_ANY, &jerr);
	if (value == NULL) {
		value = json_stringn(text, strlen(text));
		if (value == NULL) {
			snprintf(err, errlen, "value of '%s' is not valid UTF-8", key);
			goto done;
		}
	}
	if (json_object_set_new(payload, key, value) != 0) {
		value = NULL; /* set_new took it, even on failure */
		snprintf(err, errlen, "cannot add '%s' to the payload", key);
		goto done;
	}
	value = NULL;
	rc = 0;
done:
	json_decref(value);
	free(key);
	return rc;
}

int jq_ctl_parse_progress(const char *status, int64_t *done, int64_t *total)
{
	static const char prefix[] = "progress: ";
	if (strncmp(status, prefix, sizeof(prefix) - 1) != 0)
		return -1;
	const char *p = status + sizeof(prefix) - 1;
	const char *slash = strchr(p, '/');
	int64_t d, t;
	if (slash == NULL || jq_parse_i64n(p, (size_t)(slash - p), 0, INT64_MAX, &d) != 0 ||
	    jq_parse_i64(slash + 1, 1, INT64_MAX, &t) != 0)
		return -1;
	*done = d;
	*total = t;
	return 0;
}

int jq_ctl_task_outcome(const char *status)
{
	if (strcmp(status, "completed") == 0)
		return 0;
	if (strcmp(status, "failed") == 0 || strncmp(status, "failed:", 7) == 0 ||
	    strcmp(status, "cancelled") == 0 || strcmp(status, "not_found") == 0)
		return 1;
	return -1;
}

void jq_ctl_render_bar(char *buf, size_t cap, int64_t done, int64_t total, int width)
{
	int64_t fill = 0;
	size_t n = 0;
	if (cap == 0)
		return;
	if (width < 0)
		width = 0;
	if (total > 0 && done > 0) {
		if (done >= total)
			fill = width;
		else if (width == 0 || total <= INT64_MAX / width)
			fill = done * width / total;
		else
			fill = (int64_t)((double)done / (double)total * width);
		if (fill >= width && done < total)
			fill = width - 1; /* a full bar means done, whatever the rounding */
	}
	if (n + 1 < cap)
		buf[n++] = '[';
	for (int i = 0; i < width && n + 1 < cap; i++)
		buf[n++] = i < fill ? '#' : '-';
	if (n + 1 < cap)
		buf[n++] = ']';
	buf[n] = '\0';
}

void jq_ctl_format_progress_line(char *buf, size_t cap, const char *status, int64_t done,
				 int64_t total)
{
	char bar[JQ_CTL_BAR_WIDTH + 3];
	char line[LINE_MAX_BYTES];
	const char *label = status;
	int64_t d, t;

	if (jq_ctl_parse_progress(status, &d, &t) == 0) {
		label = "progress";
	} else {
		d = done;
		t = total;
	}
	int full = strcmp(status, "completed") == 0;
	if (full && t > 0)
		d = t;
	jq_ctl_render_bar(bar, sizeof(bar), full ? 1 : d, full ? 1 : t, JQ_CTL_BAR_WIDTH);
	if (t > 0)
		snprintf(line, sizeof(line), "%s %" PRId64 "/%" PRId64 "  %s", bar, d, t, label);
	else
		snprintf(line, sizeof(line), "%s  %s", bar, label);
	clean_text(buf, cap, line, strlen(line), 1, 0);
}

void jq_ctl_rate_init(struct jq_ctl_rate *r)
{
	memset(r, 0, sizeof(*r));
}

void jq_ctl_rate_add(struct jq_ctl_rate *r, int64_t t_us, int64_t done)
{
	int last = (r->next + JQ_CTL_RATE_SAMPLES - 1) % JQ_CTL_RATE_SAMPLES;
	if (r->n > 0 && done < r->done[last])
		r->n = 0; /* it went back: what came before says nothing of the new run */
	r->t_us[r->next] = t_us;
	r->done[r->next] = done;
	r->next = (r->next + 1) % JQ_CTL_RATE_SAMPLES;
	if (r->n < JQ_CTL_RATE_SAMPLES)
		r->n++;
}

double jq_ctl_rate_per_s(const struct jq_ctl_rate *r)
{
	if (r->n < 2)
		return -1;
	int newest = (r->next + JQ_CTL_RATE_SAMPLES - 1) % JQ_CTL_RATE_SAMPLES;
	int oldest = (r->next + JQ_CTL_RATE_SAMPLES - r->n) % JQ_CTL_RATE_SAMPLES;
	int64_t dt = r->t_us[newest] - r->t_us[oldest];
	if (dt <= 0)
		return -1;
	return (double)(r->done[newest] - r->done[oldest]) * 1e6 / (double)dt;
}

/* Writes a rate of steps per second as watch shows it. */
static void format_rate(char *buf, size_t cap, double per_s)
{
	if (per_s >= 10)
		snprintf(buf, cap, "%.0f/s", per_s);
	else if (per_s >= 0.1)
		snprintf(buf, cap, "%.1f/s", per_s);
	else
		snprintf(buf, cap, "%.1f/min", per_s * 60);
}

/* Writes the time left, s seconds rounded up to a whole second, as watch shows it. */
static void format_eta(char *buf, size_t cap, double s)
{
	if (s >= 100 * 3600.0) {
		snprintf(buf, cap, ">99h");
		return;
	}
	if (s > (int)s)
		s = (int)s + 1;
	if (s >= 100 * 3600.0)
		snprintf(buf, cap, ">99h");
	else if (s >= 3600)
		snprintf(buf, cap, "%dh%02dm", (int)s / 3600, (int)s % 3600 / 60);
	else if (s >= 60)
		snprintf(buf, cap, "%dm%02ds", (int)s / 60, (int)s % 60);
	else
		snprintf(buf, cap, "%ds", (int)s);
}

void jq_ctl_format_watch_line(char *buf, size_t cap, const char *state, const char *status,
			      int64_t done, int64_t total, double rate)
{
	char bar[JQ_CTL_BAR_WIDTH + 3], line[LINE_MAX_BYTES];
	int completed = strcmp(state, "completed") == 0;
	int running = strcmp(state, "running") == 0;
	size_t n = 0;

	if (total <= 0)
		total = 0;
	if (done < 0)
		done = 0;
	if (completed && total > 0)
		done = total;
	jq_ctl_render_bar(bar, sizeof(bar), completed ? 1 : done, completed ? 1 : total,
			  JQ_CTL_BAR_WIDTH);
	n = (size_t)snprintf(line, sizeof(line), "%s", bar);
	if (total > 0) {
		int64_t pct = done >= total ? 100 : done > INT64_MAX / 100 ? 99 : done * 100 / total;
		n += (size_t)snprintf(line + n, sizeof(line) - n, " %" PRId64 "/%" PRId64 " %" PRId64 "%%",
				      done, total, pct);
	}
	if (running && total > 0 && done < total && rate > 0) {
		char r[32], eta[32];
		format_rate(r, sizeof(r), rate);
		format_eta(eta, sizeof(eta), (double)(total - done) / rate);
		n += (size_t)snprintf(line + n, sizeof(line) - n, "  %s  ETA %s", r, eta);
	}
	if (!(running && total > 0) && n < sizeof(line))
		snprintf(line + n, sizeof(line) - n, "  %s", status);
	clean_text(buf, cap, line, strlen(line), 1, 0);
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
		clean_text(c, sizeof(c), code ? code : "error", strlen(code ? code : "error"), 0,
			   0);
		clean_text(m, sizeof(m), message ? message : "no message",
			   strlen(message ? message : "no message"), 0, 0);
		snprintf(buf, cap, "%s: %s (HTTP %ld)", c, m, status);
	} else if (len == 0) {
		snprintf(buf, cap, "broker answered HTTP %ld with an empty body", status);
	} else {
		char snippet[SNIPPET_MAX + 1];
		clean_text(snippet, sizeof(snippet), body, len, 1, 1);
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
		put_text(out, json_string_value(v));
	} else if (json_is_integer(v)) {
		fprintf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	} else {
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		put_text(out, s ? s : "?");
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
		case FIELD_IF_SET:
			print_value(out, v);
			break;
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
				put_text(out, msg);
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
		clean_text(buf, cap, json_string_value(v), json_string_length(v), 1, 0);
	} else if (json_is_integer(v)) {
		snprintf(buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	} else {
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		clean_text(buf, cap, s ? s : "?", s ? strlen(s) : 1, 1, 0);
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
	char cell[CELL_MAX], text[LINE_MAX_BYTES * 4 + 1];
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
	width[DEAD_ERROR] = left < LINE_MAX_BYTES ? left : LINE_MAX_BYTES;

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
    "name",   "pending",   "scheduled", "running",  "completed", "failed",
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
		put_text(out, key);
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

int jq_ctl_idempotency_key_check(const char *key, char *err, size_t errlen)
{
	size_t len = strlen(key);
	int ok = len >= 1 && len <= JQ_CTL_IDEMPOTENCY_KEY_MAX;
	for (size_t i = 0; ok && i < len; i++)
		ok = (unsigned char)key[i] > ' ' && (unsigned char)key[i] < 0x7f;
	if (!ok) {
		char shown[KEY_SHOWN_MAX + 1];
		clean_text(shown, sizeof(shown), key, len, 1, 0);
		snprintf(err, errlen,
			 "invalid idempotency key '%s%s': it must be 1 to %d printable ASCII "
			 "characters without spaces",
			 shown, len > KEY_SHOWN_MAX ? "..." : "", JQ_CTL_IDEMPOTENCY_KEY_MAX);
		return -1;
	}
	return 0;
}

/* ---- talking to the broker ---- */

/* The API token of --token, or the first line of --token-file, for every request. */
static int use_token(struct ctl *c)
{
	char line[JQ_HTTPC_TOKEN_MAX + 2] = "";
	const char *token = c->token && c->token[0] ? c->token : NULL;
	if (!token && c->token_file && c->token_file[0]) {
		FILE *f = fopen(c->token_file, "r");
		if (!f)
			return failf(c, JQ_CTL_EXIT_USAGE, "cannot read the token file '%s': %s",
				     c->token_file, strerror(errno));
		if (!fgets(line, sizeof(line), f))
			line[0] = '\0';
		fclose(f);
		line[strcspn(line, "\r\n")] = '\0';
		token = line;
	}
	if (token && jq_httpc_set_token(&c->http, token) != 0)
		return failf(c, JQ_CTL_EXIT_USAGE,
			     "the token must be 1 to %d printable characters without spaces",
			     JQ_HTTPC_TOKEN_MAX);
	return JQ_CTL_EXIT_OK;
}

static int connect_broker(struct ctl *c)
{
	if (c->http_ready)
		return JQ_CTL_EXIT_OK;
	if (!c->curl_ready) {
		if (jq_httpc_global_init() != 0)
			return failf(c, JQ_CTL_EXIT_FAIL, "cannot initialize libcurl");
		c->curl_ready = 1;
	}
	if (jq_httpc_init(&c->http, c->url, (long)c->timeout_ms) != 0) {
		int status = c->http.err == JQ_HTTPC_EURL ? JQ_CTL_EXIT_USAGE : JQ_CTL_EXIT_FAIL;
		failf(c, status, "%s", c->http.errstr);
		jq_httpc_release(&c->http);
		return status;
	}
	c->http_ready = 1;
	return use_token(c);
}

/* Sends one request, with the extra header lines of headers (NULL-terminated,
 * or NULL), and checks that the answer is a 2xx JSON object, which *json gets
 * (the caller decrefs it). Otherwise says why on err and returns
 * JQ_CTL_EXIT_FAIL, or JQ_CTL_EXIT_INTERRUPT without a word. */
static int call_with(struct ctl *c, enum jq_httpc_method method, const char *path,
		     const char *body, const char *const *headers, struct jq_httpc_reply *r,
		     json_t **json)
{
	json_error_t jerr;
	*json = NULL;
	int status = connect_broker(c);
	if (status != JQ_CTL_EXIT_OK)
		return status;
	if (jq_httpc_request(&c->http, method, path, body, headers, r) != 0) {
		if (c->http.err == JQ_HTTPC_EINTERRUPTED)
			return JQ_CTL_EXIT_INTERRUPT;
		return fail_code(c, JQ_CTL_EXIT_FAIL, "request_failed", c->http.errstr);
	}
	if (r->status < 200 || r->status > 299) {
		char msg[1024 + 256];
		jq_ctl_format_http_error(msg, sizeof(msg) - 256, r->status, r->body, r->len);
		if (r->status == 409 && c->conflict_hint) {
			size_t n = strlen(msg);
			snprintf(msg + n, sizeof(msg) - n, "; %s", c->conflict_hint);
		}
		/* for --json: the broker's own code and message, as it sent them */
		json_t *root = json_loadb(r->body, r->len, 0, NULL);
		json_t *error = json_object_get(root, "error");
		const char *code = json_string_value(json_object_get(error, "code"));
		const char *message = json_string_value(json_object_get(error, "message"));
		snprintf(c->fail_code, sizeof(c->fail_code), "%s", code ? code : "http_error");
		snprintf(c->fail_message, sizeof(c->fail_message), "%s", message ? message : "");
		c->fail_http = r->status;
		json_decref(root);
		return failf(c, JQ_CTL_EXIT_FAIL, "%s", msg);
	}
	*json = json_loadb(r->body, r->len, 0, &jerr);
	if (!json_is_object(*json)) {
		json_decref(*json);
		*json = NULL;
		snprintf(c->fail_code, sizeof(c->fail_code), "unexpected_answer");
		return failf(c, JQ_CTL_EXIT_FAIL,
			     "unexpected answer from broker at '%s': not a JSON object",
			     c->http.base);
	}
	return JQ_CTL_EXIT_OK;
}

/* call_with without extra headers. */
static int call(struct ctl *c, enum jq_httpc_method method, const char *path, const char *body,
		struct jq_httpc_reply *r, json_t **json)
{
	return call_with(c, method, path, body, NULL, r, json);
}

static int unexpected(struct ctl *c, const char *what)
{
	snprintf(c->fail_code, sizeof(c->fail_code), "unexpected_answer");
	return failf(c, JQ_CTL_EXIT_FAIL, "unexpected answer from broker at '%s': %s", c->http.base,
		     what);
}

/* Prints an answer body as it came, on its own line. */
static void print_raw(struct ctl *c, const struct jq_httpc_reply *r)
{
	fwrite(r->body, 1, r->len, c->out);
	if (r->len == 0 || r->body[r->len - 1] != '\n')
		fputc('\n', c->out);
	fflush(c->out);
}

/* A positive integer id field of an answer, or 0. */
static int64_t id_field(const json_t *obj, const char *name)
{
	const json_t *v = json_object_get(obj, name);
	return json_is_integer(v) && json_integer_value(v) > 0 ? (int64_t)json_integer_value(v) : 0;
}

/* ---- command-line parsing ---- */

/* Parses the flags of a command (argv[0] is its name) wherever they stand
 * among its positional arguments, which go to pos (room for argc entries).
 * After "--" every argument is positional. Returns a JQ_OPTS_* code. */
static int parse_args(const struct jq_opt *opts, int argc, char **argv, char **pos, int *npos,
		      char *err, size_t errlen)
{
	int base = 0;
	*npos = 0;
	while (base < argc) {
		int first = argc;
		int rc = jq_opts_parse(opts, argc - base, argv + base, &first, err, errlen);
		if (rc != JQ_OPTS_OK)
			return rc;
		first += base;
		int rest = first > base + 1 && strcmp(argv[first - 1], "--") == 0;
		for (int i = first; i < argc && (rest || i == first); i++)
			pos[(*npos)++] = argv[i];
		if (rest)
			break;
		base = first;
	}
	return JQ_OPTS_OK;
}

static int usage_error(struct ctl *c, const struct command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int usage_error(struct ctl *c, const struct command *cmd, const char *fmt, ...)
{
	va_list ap;
	char text[1024];
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	put_error(c, JQ_CTL_EXIT_USAGE, text, cmd->usage);
	return JQ_CTL_EXIT_USAGE;
}

static void print_command_help(FILE *out, const struct command *cmd)
{
	fprintf(out, "usage: %s\n\n%s", cmd->usage, cmd->help);
	if (cmd->subs == NULL)
		return;
	fputs("\ncommands:\n", out);
	for (const struct command *const *sub = cmd->subs; *sub; sub++)
		fprintf(out, "  %s\n", (*sub)->usage);
	fprintf(out, "\nrun 'jobctl %s <command> --help' for the options of a command.\n",
		cmd->name);
}

/* Runs the common part of every command's argument parsing. Returns -1 when
 * the caller should go on, or the exit status (help shown, or a usage error). */
static int command_args(struct ctl *c, const struct command *cmd, const struct jq_opt *opts,
			int argc, char **argv, char **pos, int *npos, int min_pos, int max_pos)
{
	char err[256];
	switch (parse_args(opts, argc, argv, pos, npos, err, sizeof(err))) {
	case JQ_OPTS_HELP:
		print_command_help(c->out, cmd);
		return JQ_CTL_EXIT_OK;
	case JQ_OPTS_VERSION:
		fprintf(c->out, "jobctl %s\n", JOBQ_VERSION);
		return JQ_CTL_EXIT_OK;
	case JQ_OPTS_ERROR:
		return usage_error(c, cmd, "%s", err);
	default:
		break;
	}
	if (*npos < min_pos)
		return usage_error(c, cmd, "'%s' needs %s%d argument%s", cmd->name,
				   max_pos < 0 ? "at least " : "", min_pos,
				   min_pos == 1 ? "" : "s");
	if (max_pos >= 0 && *npos > max_pos)
		return usage_error(c, cmd, "unexpected argument '%s'", pos[max_pos]);
	return -1;
}

/* The Idempotency-Key header of --idempotency-key: the line goes into line
 * (IDEMPOTENCY_LINE_MAX bytes) and headers (2 entries) lists it, or is NULL
 * when key is. Returns -1 to go on, or a usage error (exit 2). */
#define IDEMPOTENCY_LINE_MAX (JQ_CTL_IDEMPOTENCY_KEY_MAX + 32)
static int idempotency_header(struct ctl *c, const struct command *cmd, const char *key,
			      char *line, const char **headers)
{
	char err[256];
	headers[0] = headers[1] = NULL;
	if (key == NULL)
		return -1;
	if (jq_ctl_idempotency_key_check(key, err, sizeof(err)) != 0)
		return usage_error(c, cmd, "%s", err);
	snprintf(line, IDEMPOTENCY_LINE_MAX, "Idempotency-Key: %s", key);
	headers[0] = line;
	return -1;
}

/* Checks a queue name argument; -1 to go on, or a usage error (exit 2). */
static int queue_arg(struct ctl *c, const struct command *cmd, const char *queue)
{
	if (!jq_name_valid(queue, strlen(queue)))
		return usage_error(
		    c, cmd, "invalid queue '%s': it must be 1 to %d of A-Z a-z 0-9 _ . : -", queue,
		    JQ_QUEUE_NAME_MAX);
	return -1;
}

/* ---- start-task ---- */

static int term_cols(FILE *f)
{
	struct winsize ws;
	if (ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

static void draw_bar(struct ctl *c, const char *status, int64_t done, int64_t total)
{
	char line[LINE_MAX_BYTES];
	int cols = term_cols(c->out);
	size_t cap = (size_t)cols < sizeof(line) ? (size_t)cols : sizeof(line);
	jq_ctl_format_progress_line(line, cap, status, done, total);
	fprintf(c->out, "\r%s\033[K", line);
	fflush(c->out);
	c->bar_open = 1;
}

/* Sleeps ms milliseconds, or less if a signal arrives. */
static void pause_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Polls GET /task-status/id until the task ends, showing each change of its
 * status; first_status is the one already seen (and, but on a terminal,
 * already printed): start-task's answer, or watch's first poll. */
static int wait_task(struct ctl *c, int64_t id, const char *first_status, int64_t timeout_s)
{
	int status = JQ_CTL_EXIT_FAIL;
	char path[64], shown[512];
	char *last = strdup(first_status); /* the last status seen */
	int64_t done = 0, total = 0;       /* the last progress seen */
	int64_t deadline = timeout_s > 0 ? jq_mono_us() + timeout_s * 1000000 : 0;
	int draw = c->tty && !c->json;
	struct sigaction sa, old_sa;
	struct jq_httpc_reply r;
	json_t *body = NULL;

	jq_httpc_reply_init(&r);
	if (last == NULL)
		return failf(c, JQ_CTL_EXIT_FAIL, "out of memory");
	snprintf(path, sizeof(path), "/task-status/%" PRId64, id);

	/* No SA_RESTART: Ctrl-C cuts the pause short, and a request in flight
	 * stops through c->http.interrupted. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint;
	sigemptyset(&sa.sa_mask);
	interrupted = 0;
	sigaction(SIGINT, &sa, &old_sa);
	c->http.interrupted = &interrupted;

	jq_ctl_parse_progress(last, &done, &total);
	if (draw)
		draw_bar(c, last, done, total);
	for (;;) {
		int outcome = jq_ctl_task_outcome(last);
		clean_text(shown, sizeof(shown), last, strlen(last), 0, 0);
		if (outcome == 0) {
			status = JQ_CTL_EXIT_OK;
			break;
		}
		if (outcome > 0) {
			status =
			    failf(c, JQ_CTL_EXIT_FAIL, "task %" PRId64 " ended as '%s'", id, shown);
			break;
		}
		if (deadline != 0 && jq_mono_us() >= deadline) {
			status = failf(c, JQ_CTL_EXIT_FAIL,
				       "task %" PRId64 " is still '%s' after %" PRId64
				       " s (--wait-timeout)",
				       id, shown, timeout_s);
			break;
		}
		pause_ms(JQ_CTL_POLL_MS);
		int rc = interrupted ? JQ_CTL_EXIT_INTERRUPT : JQ_CTL_EXIT_OK;
		if (rc == JQ_CTL_EXIT_OK) {
			json_decref(body);
			rc = call(c, JQ_HTTPC_GET, path, NULL, &r, &body);
		}
		if (rc == JQ_CTL_EXIT_INTERRUPT) {
			status =
			    failf(c, JQ_CTL_EXIT_INTERRUPT,
				  "interrupted; task %" PRId64 " was '%s' and goes on", id, shown);
			break;
		}
		if (rc != JQ_CTL_EXIT_OK) {
			status = rc;
			break;
		}
		const char *s = json_string_value(json_object_get(body, "status"));
		if (s == NULL) {
			status = unexpected(c, "no string 'status'");
			break;
		}
		jq_ctl_parse_progress(s, &done, &total);
		if (strcmp(s, last) == 0)
			continue;
		char *copy = strdup(s);
		if (copy == NULL) {
			status = failf(c, JQ_CTL_EXIT_FAIL, "out of memory");
			break;
		}
		free(last);
		last = copy;
		if (c->json) {
			print_raw(c, &r);
		} else if (draw) {
			draw_bar(c, last, done, total);
		} else {
			fprintf(c->out, "task %" PRId64 ": ", id);
			put_text(c->out, last);
			fputc('\n', c->out);
			fflush(c->out);
		}
	}
	end_bar(c);
	c->http.interrupted = NULL;
	sigaction(SIGINT, &old_sa, NULL);
	json_decref(body);
	jq_httpc_reply_release(&r);
	free(last);
	return status;
}

static int cmd_start_task(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	const char *duration_arg = NULL, *key = NULL, *headers[2];
	int wait = 0, npos = 0;
	int64_t wait_timeout = 0, duration = 0;
	char **pos = calloc((size_t)argc + 1, sizeof(*pos));
	struct jq_httpc_reply r;
	json_t *body = NULL;
	char path[64], err[256], key_line[IDEMPOTENCY_LINE_MAX];
	const struct jq_opt opts[] = {
	    {"duration", NULL, JQ_OPT_STR, &duration_arg, 0, 0, ""},
	    {"wait", NULL, JQ_OPT_BOOL, &wait, 0, 0, ""},
	    {"wait-timeout", NULL, JQ_OPT_INT, &wait_timeout, 0, WAIT_TIMEOUT_MAX_S, ""},
	    {"idempotency-key", NULL, JQ_OPT_STR, &key, 0, 0, ""},
	    {"json", NULL, JQ_OPT_BOOL, &c->json, 0, 0, ""},
	    {NULL, NULL, JQ_OPT_STR, NULL, 0, 0, NULL},
	};

	jq_httpc_reply_init(&r);
	int status = JQ_CTL_EXIT_FAIL;
	if (pos == NULL) {
		failf(c, status, "out of memory");
		goto done;
	}
	status = command_args(c, cmd, opts, argc, argv, pos, &npos, 0, 0);
	if (status >= 0)
		goto done;
	if (duration_arg && jq_ctl_parse_duration(duration_arg, &duration, err, sizeof(err)) != 0) {
		status = usage_error(c, cmd, "%s", err);
		goto done;
	}
	status = idempotency_header(c, cmd, key, key_line, headers);
	if (status >= 0)
		goto done;
	if (duration_arg)
		snprintf(path, sizeof(path), "/start-task?duration=%" PRId64, duration);
	else
		snprintf(path, sizeof(path), "/start-task");

	/* A repeated key answers the first task: --wait then follows that one. */
	status = call_with(c, JQ_HTTPC_POST, path, NULL, headers, &r, &body);
	if (status != JQ_CTL_EXIT_OK)
		goto done;
	int64_t id = id_field(body, "task_id");
	const char *st = json_string_value(json_object_get(body, "status"));
	if (id == 0 || st == NULL) {
		status = unexpected(c, "no positive integer 'task_id' and string 'status'");
		goto done;
	}
	if (c->json) {
		print_raw(c, &r);
	} else {
		fprintf(c->out, "task %" PRId64 " ", id);
		put_text(c->out, st);
		fputc('\n', c->out);
		fflush(c->out);
	}
	if (wait)
		status = wait_task(c, id, st, wait_timeout);
done:
	json_decref(body);
	jq_httpc_reply_release(&r);
	free(pos);
	return status;
}

/* Parses a positive integer id argument; a usage error (exit 2) otherwise. */
static int id_arg(struct ctl *c, const struct command *cmd, const char *what, const char *arg,
		  int64_t *id)
{
	if (jq_parse_i64(arg, 1, INT64_MAX, id) != 0)
		return usage_error(c, cmd, "invalid %s id '%s': it must be a positive integer",
				   what, arg);
	return -1;
}

/* Parses a command's flags (opts) and its one positional argument, an id of what.
 * Returns -1 to go on with *id set, else the exit status (the reason printed). */
static int one_id_args(struct ctl *c, const struct command *cmd, const struct jq_opt *opts,
		       int argc, char **argv, const char *what, int64_t *id)
{
	int npos = 0;
	char **pos = calloc((size_t)argc + 1, sizeof(*pos));
	if (pos == NULL)
		return failf(c, JQ_CTL_EXIT_FAIL, "out of memory");
	int status = command_args(c, cmd, opts, argc, argv, pos, &npos, 1, 1);
	if (status < 0)
		status = id_arg(c, cmd, what, pos[0], id);
	free(pos);
	return status;
}

/* ---- watch ---- */

/* What watch knows of its job, fed by the events of the stream. */
struct watch {
	struct ctl *c;
	int64_t id;
	struct jq_sse sse; /* the parser of the stream being read */
	int draw;          /* redraw a bar line (a terminal, no --json) */
	char *last_data;   /* the data of the last event shown: a reopened stream repeats it */
	char state[32];    /* the last event's state ("" before the first) */
	char status[600];  /* its seed status, control characters replaced */
	int64_t done, total;
	int terminal;           /* the job has ended: state says how */
	int events;             /* events taken from the stream now open */
	int failed;             /* -1, or the exit status of an error already reported */
	struct jq_ctl_rate rate;
};

static void draw_watch(struct watch *w)
{
	char line[LINE_MAX_BYTES];
	struct ctl *c = w->c;
	int cols = term_cols(c->out);
	size_t cap = (size_t)cols < sizeof(line) ? (size_t)cols : sizeof(line);
	jq_ctl_format_watch_line(line, cap, w->state, w->status, w->done, w->total,
				 jq_ctl_rate_per_s(&w->rate));
	fprintf(c->out, "\r%s\033[K", line);
	fflush(c->out);
	c->bar_open = 1;
}

/* One event of the stream: {"id", "state", "status", "progress": {"done", "total"}}. */
static int on_watch_event(void *arg, const struct jq_sse_event *ev)
{
	struct watch *w = arg;
	struct ctl *c = w->c;
	json_error_t jerr;
	json_t *data = json_loadb(ev->data, ev->data_len, 0, &jerr);
	const char *state = json_string_value(json_object_get(data, "state"));
	const char *status = json_string_value(json_object_get(data, "status"));
	const json_t *progress = json_object_get(data, "progress");
	const json_t *done = json_object_get(progress, "done");
	const json_t *total = json_object_get(progress, "total");

	if (state == NULL || status == NULL || strlen(state) >= sizeof(w->state)) {
		w->failed = unexpected(c, "an event without string 'state' and 'status'");
		json_decref(data);
		return 1;
	}
	w->events++;
	int repeat = w->last_data && strcmp(w->last_data, ev->data) == 0;
	free(w->last_data);
	w->last_data = strdup(ev->data);
	snprintf(w->state, sizeof(w->state), "%s", state);
	clean_text(w->status, sizeof(w->status), status, strlen(status), 0, 0);
	w->terminal = jq_ctl_task_outcome(state) >= 0 && strcmp(state, "not_found") != 0;
	/* The event of an ending carries no progress: the bar keeps the last one. */
	if (!w->terminal || (json_is_integer(total) && json_integer_value(total) > 0)) {
		w->done = json_is_integer(done) ? (int64_t)json_integer_value(done) : 0;
		w->total = json_is_integer(total) ? (int64_t)json_integer_value(total) : 0;
	}
	if (strcmp(state, "running") == 0 && w->total > 0 && !repeat)
		jq_ctl_rate_add(&w->rate, jq_mono_us(), w->done);
	if (repeat) {
		/* the first event of a reopened stream: already shown */
	} else if (c->json) {
		char *text = json_dumps(data, JSON_COMPACT);
		fprintf(c->out, "%s\n", text ? text : "{}");
		fflush(c->out);
		free(text);
	} else if (w->draw) {
		draw_watch(w);
	} else {
		fprintf(c->out, "task %" PRId64 ": %s\n", w->id, w->status);
		fflush(c->out);
	}
	json_decref(data);
	return w->terminal;
}

static int on_watch_data(void *arg, const char *data, size_t len)
{
	struct watch *w = arg;
	int rc = jq_sse_feed(&w->sse, data, len, on_watch_event, w);
	if (rc < 0)
		w->failed = unexpected(w->c, w->sse.errstr);
	return rc != 0;
}

/* Follows job id through GET /jobs/{id}/events until it ends (see watch's help). */
static int watch_job(struct ctl *c, int64_t id, int64_t timeout_s)
{
	struct watch w = {.c = c, .id = id, .draw = c->tty && !c->json, .failed = -1};
	struct sigaction sa, old_sa;
	struct jq_httpc_reply r;
	char path[64], why[600];
	int status = connect_broker(c), opened = 0, lost = 0, stopped = 0;
	int64_t deadline = timeout_s > 0 ? jq_mono_us() + timeout_s * 1000000 : 0;

	if (status != JQ_CTL_EXIT_OK)
		return status;
	jq_httpc_reply_init(&r);
	jq_ctl_rate_init(&w.rate);
	snprintf(path, sizeof(path), "/jobs/%" PRId64 "/events", id);
	/* No SA_RESTART: Ctrl-C cuts a pause short, and the stream stops through
	 * c->http.interrupted. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint;
	sigemptyset(&sa.sa_mask);
	interrupted = 0;
	sigaction(SIGINT, &sa, &old_sa);
	c->http.interrupted = &interrupted;

	for (;;) {
		long max_ms = 0;
		if (deadline != 0) {
			int64_t left = (deadline - jq_mono_us()) / 1000;
			max_ms = left > 0 ? (long)left : 1;
		}
		w.events = 0;
		jq_sse_init(&w.sse);
		int rc = jq_httpc_stream(&c->http, path, max_ms, JQ_CTL_STREAM_IDLE_MS, on_watch_data,
					&w, &stopped, &r);
		jq_sse_release(&w.sse);
		if (w.failed >= 0) {
			status = w.failed;
			break;
		}
		if (w.terminal) {
			status = strcmp(w.state, "completed") == 0
				     ? JQ_CTL_EXIT_OK
				     : failf(c, JQ_CTL_EXIT_FAIL, "task %" PRId64 " ended as '%s'", id,
					     w.status);
			break;
		}
		if (rc != 0 && c->http.err == JQ_HTTPC_EINTERRUPTED) {
			if (w.state[0])
				status = failf(c, JQ_CTL_EXIT_INTERRUPT,
					       "interrupted; task %" PRId64 " was '%s' and goes on", id,
					       w.status);
			else
				status = failf(c, JQ_CTL_EXIT_INTERRUPT, "interrupted");
			break;
		}
		/* curl's clock may call time a little before ours does */
		int timed_out = rc != 0 && c->http.err == JQ_HTTPC_ETIMEOUT &&
				jq_mono_us() >= deadline - 100000;
		if (deadline != 0 && (timed_out || jq_mono_us() >= deadline)) {
			status = failf(c, JQ_CTL_EXIT_FAIL,
				       "task %" PRId64 " is still '%s' after %" PRId64
				       " s (--wait-timeout)",
				       id, w.state[0] ? w.status : "unknown", timeout_s);
			break;
		}
		if (rc == 0 && r.status == 404) {
			status = failf(c, JQ_CTL_EXIT_FAIL, "task %" PRId64 " not found", id);
			break;
		}
		if (rc == 0 && (r.status < 200 || r.status > 299)) {
			jq_ctl_format_http_error(why, sizeof(why), r.status, r.body, r.len);
			if (!opened || r.status != 503) { /* 503: Redis may be back soon */
				status = failf(c, JQ_CTL_EXIT_FAIL, "%s", why);
				break;
			}
		} else if (rc != 0) {
			if (!opened && r.status == 0) { /* never reached the broker */
				status = failf(c, JQ_CTL_EXIT_FAIL, "%s", c->http.errstr);
				break;
			}
			snprintf(why, sizeof(why), "%s", c->http.errstr);
		} else {
			snprintf(why, sizeof(why), "the stream ended before the job did");
		}
		if (r.status >= 200 && r.status <= 299)
			opened = 1;
		if (w.events > 0)
			lost = 0; /* it was worth opening: a fresh count */
		if (++lost > JQ_CTL_STREAM_REOPENS) {
			status = failf(c, JQ_CTL_EXIT_FAIL,
				       "lost the event stream of task %" PRId64 " %d times in a row: %s",
				       id, JQ_CTL_STREAM_REOPENS, why);
			break;
		}
		end_bar(c);
		fflush(c->out);
		fprintf(c->err, "jobctl: event stream of task %" PRId64 " lost (%s); reopening\n", id,
			why);
		long pause = JQ_CTL_REOPEN_PAUSE_MS << (lost - 1);
		pause_ms(pause < JQ_CTL_REOPEN_PAUSE_MAX_MS ? pause : JQ_CTL_REOPEN_PAUSE_MAX_MS);
	}
	end_bar(c);
	c->http.interrupted = NULL;
	sigaction(SIGINT, &old_sa, NULL);
	jq_httpc_reply_release(&r);
	free(w.last_data);
	return status;
}

static int cmd_watch(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	int64_t id, wait_timeout = 0;
	const struct jq_opt opts[] = {
	    {"wait-timeout", NULL, JQ_OPT_INT, &wait_timeout, 0, WAIT_TIMEOUT_MAX_S, ""},
	    {"json", NULL, JQ_OPT_BOOL, &c->json, 0, 0, ""},
	    {NULL, NULL, JQ_OPT_STR, NULL, 0, 0, NULL},
	};

	int status = one_id_args(c, cmd, opts, argc, argv, "task", &id);
	if (status >= 0)
		return status;
	return watch_job(c, id, wait_timeout);
}

/* ---- enqueue ---- */

static int cmd_enqueue(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	const char *queue = NULL, *key = NULL, *unique_key = NULL, *headers[2];
	int npos = 0;
	int64_t max_attempts = 0, timeout_ms = -1, priority = INT64_MIN;
	char **pos = calloc((size_t)argc + 1, sizeof(*pos));
	struct jq_httpc_reply r;
	json_t *req = NULL, *payload = NULL, *body = NULL;
	char *text = NULL;
	char err[512], key_line[IDEMPOTENCY_LINE_MAX];
	const struct jq_opt opts[] = {
	    {"queue", NULL, JQ_OPT_STR, &queue, 0, 0, ""},
	    {"max-attempts", NULL, JQ_OPT_INT, &max_attempts, 1, JQ_MAX_ATTEMPTS_LIMIT, ""},
	    {"timeout-ms", NULL, JQ_OPT_INT, &timeout_ms, 0, JQ_TIMEOUT_MS_LIMIT, ""},
	    {"priority", NULL, JQ_OPT_INT, &priority, 0, JQ_PRIORITY_MAX, ""},
	    {"idempotency-key", NULL, JQ_OPT_STR, &key, 0, 0, ""},
	    {"unique-key", NULL, JQ_OPT_STR, &unique_key, 0, 0, ""},
	    {"json", NULL, JQ_OPT_BOOL, &c->json, 0, 0, ""},
	    {NULL, NULL, JQ_OPT_STR, NULL, 0, 0, NULL},
	};

	jq_httpc_reply_init(&r);
	int status = JQ_CTL_EXIT_FAIL;
	if (pos == NULL) {
		failf(c, status, "out of memory");
		goto done;
	}
	status = command_args(c, cmd, opts, argc, argv, pos, &npos, 1, -1);
	if (status >= 0)
		goto done;
	const char *type = pos[0];
	if (!jq_name_valid(type, strlen(type))) {
		status = usage_error(
		    c, cmd, "invalid job type '%s': it must be 1 to %d of A-Z a-z 0-9 _ . : -",
		    type, JQ_TYPE_NAME_MAX);
		goto done;
	}
	if (queue) {
		status = queue_arg(c, cmd, queue);
		if (status >= 0)
			goto done;
	}
	status = idempotency_header(c, cmd, key, key_line, headers);
	if (status >= 0)
		goto done;
	req = json_object();
	payload = json_object();
	if (req == NULL || payload == NULL) {
		status = failf(c, JQ_CTL_EXIT_FAIL, "out of memory");
		goto done;
	}
	for (int i = 1; i < npos; i++) {
		if (jq_ctl_payload_add(payload, pos[i], err, sizeof(err)) != 0) {
			status = usage_error(c, cmd, "%s", err);
			goto done;
		}
	}
	/* Only what was asked for is sent: the broker owns the defaults. */
	int bad = json_object_set_new(req, "type", json_string(type));
	bad |= json_object_set(req, "payload", payload);
	if (queue)
		bad |= json_object_set_new(req, "queue", json_string(queue));
	if (max_attempts > 0)
		bad |= json_object_set_new(req, "max_attempts", json_integer(max_attempts));
	if (timeout_ms >= 0)
		bad |= json_object_set_new(req, "timeout_ms", json_integer(timeout_ms));
	if (priority != INT64_MIN)
		bad |= json_object_set_new(req, "priority", json_integer(priority));
	if (unique_key) /* the broker checks it */
		bad |= json_object_set_new(req, "unique_key", json_string(unique_key));
	text = bad ? NULL : json_dumps(req, JSON_COMPACT);
	if (text == NULL) {
		status = failf(c, JQ_CTL_EXIT_FAIL, "cannot encode the job as JSON");
		goto done;
	}

	status = call_with(c, JQ_HTTPC_POST, "/jobs", text, headers, &r, &body);
	if (status != JQ_CTL_EXIT_OK)
		goto done;
	int64_t id = id_field(body, "id");
	const char *state = json_string_value(json_object_get(body, "state"));
	if (id == 0 || state == NULL) {
		status = unexpected(c, "no positive integer 'id' and string 'state'");
		goto done;
	}
	if (c->json) {
		print_raw(c, &r);
	} else {
		/* 200, not 201: the key was seen, nothing was stored; state is the
		 * first job's now */
		fprintf(c->out, "job %" PRId64 " %s", id,
			r.status == 200 ? "(already enqueued with this key) " : "");
		put_text(c->out, state);
		fputc('\n', c->out);
	}
done:
	free(text);
	json_decref(body);
	json_decref(payload);
	json_decref(req);
	jq_httpc_reply_release(&r);
	free(pos);
	return status;
}

/* ---- status ---- */

static int cmd_status(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	int64_t id;
	struct jq_httpc_reply r;
	json_t *body = NULL;
	char path[64];
	const struct jq_opt opts[] = {
	    {"json", NULL, JQ_OPT_BOOL, &c->json, 0, 0, ""},
	    {NULL, NULL, JQ_OPT_STR, NULL, 0, 0, NULL},
	};

	jq_httpc_reply_init(&r);
	int status = one_id_args(c, cmd, opts, argc, argv, "job", &id);
	if (status >= 0)
		goto done;
	snprintf(path, sizeof(path), "/jobs/%" PRId64, id);
	status = call(c, JQ_HTTPC_GET, path, NULL, &r, &body);
	if (status != JQ_CTL_EXIT_OK)
		goto done;
	if (c->json)
		print_raw(c, &r);
	else
		jq_ctl_print_job(c->out, body);
done:
	json_decref(body);
	jq_httpc_reply_release(&r);
	return status;
}

/* ---- send-notification ---- */

static int cmd_notify(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	int npos = 0, sync = 0;
	char **pos = calloc((size_t)argc + 1, sizeof(*pos));
	char *email = NULL, *content = NULL, *path = NULL;
	const char *key = NULL, *headers[2];
	char key_line[IDEMPOTENCY_LINE_MAX];
	struct jq_httpc_reply r;
	json_t *body = NULL;
	const struct jq_opt opts[] = {
	    {"sync", NULL, JQ_OPT_BOOL, &sync, 0, 0, ""},
	    {"idempotency-key", NULL, JQ_OPT_STR, &key, 0, 0, ""},
	    {"json", NULL, JQ_OPT_BOOL, &c->json, 0, 0, ""},
	    {NULL, NULL, JQ_OPT_STR, NULL, 0, 0, NULL},
	};

	jq_httpc_reply_init(&r);
	int status = JQ_CTL_EXIT_FAIL;
	if (pos == NULL) {
		failf(c, status, "out of memory");
		goto done;
	}
	status = command_args(c, cmd, opts, argc, argv, pos, &npos, 2, 2);
	if (status >= 0)
		goto done;
	status = idempotency_header(c, cmd, key, key_line, headers);
	if (status >= 0)
		goto done;
	status = connect_broker(c);
	if (status != JQ_CTL_EXIT_OK)
		goto done;
	email = jq_httpc_escape(&c->http, pos[0]);
	content = jq_httpc_escape(&c->http, pos[1]);
	const char *route = sync ? "/send-notification-sync" : "/send-notification";
	size_t len = email && content ? strlen(route) + strlen(email) + strlen(content) + 32 : 0;
	path = len ? malloc(len) : NULL;
	if (path == NULL) {
		status = failf(c, JQ_CTL_EXIT_FAIL, "out of memory");
		goto done;
	}
	snprintf(path, len, "%s?email=%s&content=%s", route, email, content);
	status = call_with(c, JQ_HTTPC_POST, path, NULL, headers, &r, &body);
	if (status != JQ_CTL_EXIT_OK)
		goto done;
	int64_t id = id_field(body, "task_id");
	if (id == 0) {
		status = unexpected(c, "no positive integer 'task_id'");
		goto done;
	}
	if (c->json)
		print_raw(c, &r);
	else
		fprintf(c->out, "notification queued as task %" PRId64 "\n", id);
done:
	json_decref(body);
	jq_httpc_reply_release(&r);
	free(path);
	free(content);
	free(email);
	free(pos);
	return status;
}

/* ---- cancel ---- */

static int cmd_cancel(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	int64_t id;
	struct jq_httpc_reply r;
	json_t *body = NULL;
	char path[64];
	const struct jq_opt opts[] = {
	    {"json", NULL, JQ_OPT_BOOL, &c->json, 0, 0, ""},
	    {NULL, NULL, JQ_OPT_STR, NULL, 0, 0, NULL},
	};

	jq_httpc_reply_init(&r);
	int status = one_id_args(c, cmd, opts, argc, argv, "job", &id);
	if (status >= 0)
		goto done;
	/* 409 (already finished) and 404 end in call() with the broker's message. */
	snprintf(path, sizeof(path), "/jobs/%" PRId64, id);
	status = call(c, JQ_HTTPC_DELETE, path, NULL, &r, &body);
	if (status != JQ_CTL_EXIT_OK)
		goto done;
	int64_t got = id_field(body, "id");
	if (got == 0 || (r.status != 200 && r.status != 202)) {
		status = unexpected(c, "not HTTP 200 or 202 with a positive integer 'id'");
		goto done;
	}
	if (c->json)
		print_raw(c, &r);
	else if (r.status == 202) /* running: its worker stops it soon */
		fprintf(c->out, "job %" PRId64 " is running: cancel requested\n", got);
	else
		fprintf(c->out, "job %" PRId64 " cancelled\n", got);
done:
	json_decref(body);
	jq_httpc_reply_release(&r);
	return status;
}

/* ---- queues ---- */

static int cmd_queues(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	int npos = 0;
	char **pos = calloc((size_t)argc + 1, sizeof(*pos));
	struct jq_httpc_reply r;
	json_t *body = NULL;
	char path[JQ_QUEUE_NAME_MAX + 16];
	const struct jq_opt opts[] = {
	    {"json", NULL, JQ_OPT_BOOL, &c->json, 0, 0, ""},
	    {NULL, NULL, JQ_OPT_STR, NULL, 0, 0, NULL},
	};

	jq_httpc_reply_init(&r);
	int status = JQ_CTL_EXIT_FAIL;
	if (pos == NULL) {
		failf(c, status, "out of memory");
		goto done;
	}
	status = command_args(c, cmd, opts, argc, argv, pos, &npos, 0, 1);
	if (status >= 0)
		goto done;
	if (npos == 1) {
		status = queue_arg(c, cmd, pos[0]);
		if (status >= 0)
			goto done;
		/* a valid name needs no escaping; 404 ends in call() */
		snprintf(path, sizeof(path), "/queues/%s", pos[0]);
		status = call(c, JQ_HTTPC_GET, path, NULL, &r, &body);
		if (status != JQ_CTL_EXIT_OK)
			goto done;
		if (c->json)
			print_raw(c, &r);
		else
			jq_ctl_print_queue(c->out, body);
		goto done;
	}
	status = call(c, JQ_HTTPC_GET, "/queues", NULL, &r, &body);
	if (status != JQ_CTL_EXIT_OK)
		goto done;
	const json_t *queues = json_object_get(body, "queues");
	if (!json_is_array(queues)) {
		status = unexpected(c, "no array 'queues'");
		goto done;
	}
	if (c->json)
		print_raw(c, &r);
	else if (jq_ctl_print_queues(c->out, queues, term_cols(c->out)) != 0)
		status = failf(c, JQ_CTL_EXIT_FAIL, "out of memory");
done:
	json_decref(body);
	jq_httpc_reply_release(&r);
	free(pos);
	return status;
}

/* pause and resume: one function, told apart by the command's name. */
static int cmd_queue_action(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	int npos = 0, pause = strcmp(cmd->name, "pause") == 0;
	char **pos = calloc((size_t)argc + 1, sizeof(*pos));
	struct jq_httpc_reply r;
	json_t *body = NULL;
	char path[JQ_QUEUE_NAME_MAX + 32];
	const struct jq_opt opts[] = {
	    {"json", NULL, JQ_OPT_BOOL, &c->json, 0, 0, ""},
	    {NULL, NULL, JQ_OPT_STR, NULL, 0, 0, NULL},
	};

	jq_httpc_reply_init(&r);
	int status = JQ_CTL_EXIT_FAIL;
	if (pos == NULL) {
		failf(c, status, "out of memory");
		goto done;
	}
	status = command_args(c, cmd, opts, argc, argv, pos, &npos, 1, 1);
	if (status >= 0)
		goto done;
	status = queue_arg(c, cmd, pos[0]);
	if (status >= 0)
		goto done;
	snprintf(path, sizeof(path), "/queues/%s/%s", pos[0], pause ? "pause" : "resume");
	status = call(c, JQ_HTTPC_POST, path, NULL, &r, &body);
	if (status != JQ_CTL_EXIT_OK)
		goto done;
	const json_t *paused = json_object_get(body, "paused");
	if (!json_is_boolean(paused) || json_is_true(paused) != pause) {
		status = unexpected(c, pause ? "no 'paused': true" : "no 'paused': false");
		goto done;
	}
	if (c->json)
		print_raw(c, &r);
	else
		fprintf(c->out, "queue %s %s\n", pos[0], pause ? "paused" : "resumed");
done:
	json_decref(body);
	jq_httpc_reply_release(&r);
	free(pos);
	return status;
}

/* ---- workers ---- */

static int cmd_workers(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	int npos = 0;
	char **pos = calloc((size_t)argc + 1, sizeof(*pos));
	struct jq_httpc_reply r;
	json_t *body = NULL;
	const struct jq_opt opts[] = {
	    {"json", NULL, JQ_OPT_BOOL, &c->json, 0, 0, ""},
	    {NULL, NULL, JQ_OPT_STR, NULL, 0, 0, NULL},
	};

	jq_httpc_reply_init(&r);
	int status = JQ_CTL_EXIT_FAIL;
	if (pos == NULL) {
		failf(c, status, "out of memory");
		goto done;
	}
	status = command_args(c, cmd, opts, argc, argv, pos, &npos, 0, 0);
	if (status >= 0)
		goto done;
	status = call(c, JQ_HTTPC_GET, "/workers", NULL, &r, &body);
	if (status != JQ_CTL_EXIT_OK)
		goto done;
	const json_t *workers = json_object_get(body, "workers");
	if (!json_is_array(workers)) {
		status = unexpected(c, "no array 'workers'");
		goto done;
	}
	if (c->json)
		print_raw(c, &r);
	else if (jq_ctl_print_workers(c->out, workers, jq_now_ms(), term_cols(c->out)) != 0)
		status = failf(c, JQ_CTL_EXIT_FAIL, "out of memory");
done:
	json_decref(body);
	jq_httpc_reply_release(&r);
	free(pos);
	return status;
}

/* ---- dead ---- */

static int cmd_dead_list(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	int npos = 0;
	int64_t limit = -1, offset = -1; /* -1: not given, the broker's default */
	char **pos = calloc((size_t)argc + 1, sizeof(*pos));
	struct jq_httpc_reply r;
	json_t *body = NULL;
	char path[96];
	const struct jq_opt opts[] = {
	    {"limit", NULL, JQ_OPT_INT, &limit, 1, JQ_CTL_DEAD_LIMIT_MAX, ""},
	    {"offset", NULL, JQ_OPT_INT, &offset, 0, JQ_CTL_DEAD_OFFSET_MAX, ""},
	    {"json", NULL, JQ_OPT_BOOL, &c->json, 0, 0, ""},
	    {NULL, NULL, JQ_OPT_STR, NULL, 0, 0, NULL},
	};

	jq_httpc_reply_init(&r);
	int status = JQ_CTL_EXIT_FAIL;
	if (pos == NULL) {
		failf(c, status, "out of memory");
		goto done;
	}
	status = command_args(c, cmd, opts, argc, argv, pos, &npos, 0, 0);
	if (status >= 0)
		goto done;
	/* Only what was asked for is sent: the broker owns the defaults. */
	int n = snprintf(path, sizeof(path), "/dead");
	if (limit >= 0)
		n += snprintf(path + n, sizeof(path) - (size_t)n, "?limit=%" PRId64, limit);
	if (offset >= 0)
		snprintf(path + n, sizeof(path) - (size_t)n, "%coffset=%" PRId64,
			 limit >= 0 ? '&' : '?', offset);
	status = call(c, JQ_HTTPC_GET, path, NULL, &r, &body);
	if (status != JQ_CTL_EXIT_OK)
		goto done;
	const json_t *jobs = json_object_get(body, "jobs");
	if (!json_is_array(jobs)) {
		status = unexpected(c, "no array 'jobs'");
		goto done;
	}
	if (c->json)
		print_raw(c, &r);
	else
		jq_ctl_print_dead(c->out, jobs, term_cols(c->out));
done:
	json_decref(body);
	jq_httpc_reply_release(&r);
	free(pos);
	return status;
}

static int cmd_dead_retry(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	int64_t id;
	struct jq_httpc_reply r;
	json_t *body = NULL;
	char path[64];
	const struct jq_opt opts[] = {
	    {"json", NULL, JQ_OPT_BOOL, &c->json, 0, 0, ""},
	    {NULL, NULL, JQ_OPT_STR, NULL, 0, 0, NULL},
	};

	jq_httpc_reply_init(&r);
	int status = one_id_args(c, cmd, opts, argc, argv, "job", &id);
	if (status >= 0)
		goto done;
	/* 404 (not in the dead set), 409 (its unique_key is held by a live job) and 410
	 * (expired) end in call() with the broker's message. */
	snprintf(path, sizeof(path), "/dead/%" PRId64 "/retry", id);
	status = call(c, JQ_HTTPC_POST, path, NULL, &r, &body);
	if (status != JQ_CTL_EXIT_OK)
		goto done;
	int64_t got = id_field(body, "id");
	if (got == 0) {
		status = unexpected(c, "no positive integer 'id'");
		goto done;
	}
	if (c->json)
		print_raw(c, &r);
	else
		fprintf(c->out, "job %" PRId64 " requeued\n", got);
done:
	json_decref(body);
	jq_httpc_reply_release(&r);
	return status;
}

/* Asks question on c->err and reads the answer from the standard input:
 * 1 for y or yes (any case), 0 for anything else or none. */
static int confirm(struct ctl *c, const char *question)
{
	char answer[ANSWER_MAX];
	fflush(c->out);
	fprintf(c->err, "%s [y/N] ", question);
	fflush(c->err);
	if (fgets(answer, sizeof(answer), stdin) == NULL) {
		fputc('\n', c->err);
		return 0;
	}
	answer[strcspn(answer, "\r\n")] = '\0';
	return strcasecmp(answer, "y") == 0 || strcasecmp(answer, "yes") == 0;
}

static int cmd_dead_purge(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	int npos = 0, yes = 0;
	char **pos = calloc((size_t)argc + 1, sizeof(*pos));
	struct jq_httpc_reply r;
	json_t *body = NULL;
	char url[JQ_HTTPC_URL_MAX + 1], question[JQ_HTTPC_URL_MAX + 64];
	const struct jq_opt opts[] = {
	    {"yes", NULL, JQ_OPT_BOOL, &yes, 0, 0, ""},
	    {"json", NULL, JQ_OPT_BOOL, &c->json, 0, 0, ""},
	    {NULL, NULL, JQ_OPT_STR, NULL, 0, 0, NULL},
	};

	jq_httpc_reply_init(&r);
	int status = JQ_CTL_EXIT_FAIL;
	if (pos == NULL) {
		failf(c, status, "out of memory");
		goto done;
	}
	status = command_args(c, cmd, opts, argc, argv, pos, &npos, 0, 0);
	if (status >= 0)
		goto done;
	if (!yes) {
		/* Nobody to ask: a script must say --yes. */
		if (isatty(STDIN_FILENO) != 1) {
			status = usage_error(c, cmd,
					     "refusing to purge without --yes: the standard input "
					     "is not a terminal to confirm on");
			goto done;
		}
		status = connect_broker(c); /* a bad --url fails before the question */
		if (status != JQ_CTL_EXIT_OK)
			goto done;
		clean_text(url, sizeof(url), c->http.base, strlen(c->http.base), 0, 0);
		snprintf(question, sizeof(question), "delete every job in the dead set of '%s'?",
			 url);
		if (!confirm(c, question)) {
			status = failf(c, JQ_CTL_EXIT_FAIL, "nothing purged");
			goto done;
		}
	}
	status = call(c, JQ_HTTPC_DELETE, "/dead", NULL, &r, &body);
	if (status != JQ_CTL_EXIT_OK)
		goto done;
	const json_t *purged = json_object_get(body, "purged");
	if (!json_is_integer(purged) || json_integer_value(purged) < 0) {
		status = unexpected(c, "no non-negative integer 'purged'");
		goto done;
	}
	if (c->json)
		print_raw(c, &r);
	else
		fprintf(c->out, "purged %" JSON_INTEGER_FORMAT " jobs\n",
			json_integer_value(purged));
done:
	json_decref(body);
	jq_httpc_reply_release(&r);
	free(pos);
	return status;
}

/* The last word of a command's name: what selects it in its group. */
static const char *leaf_name(const struct command *cmd)
{
	const char *sp = strrchr(cmd->name, ' ');
	return sp ? sp + 1 : cmd->name;
}

/* Runs a group ("dead"): argv[1] names one of its subcommands. */
static int cmd_group(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	if (argc < 2)
		return usage_error(c, cmd, "'%s' needs a command", cmd->name);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		print_command_help(c->out, cmd);
		return JQ_CTL_EXIT_OK;
	}
	for (const struct command *const *sub = cmd->subs; *sub; sub++)
		if (strcmp(argv[1], leaf_name(*sub)) == 0)
			return (*sub)->run(c, *sub, argc - 1, argv + 1);
	return usage_error(c, cmd, "unknown %s command '%s'", cmd->name, argv[1]);
}

/* ==== periodic schedules: schedules, schedule add|rm (GET/POST/PUT/DELETE /schedules) ====
 * Kept in one block of its own: the commands, their table entries, nothing shared
 * edited but the commands[] list. */

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

/* The table of GET /schedules: one row a schedule, or "no schedules". */
static int print_schedules(FILE *out, const json_t *list, int cols)
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

/* One schedule as "key: value" lines, the job template as JSON. */
static void print_schedule(FILE *out, const json_t *s)
{
	static const char *const fields[] = {"name",	     "cron",	    "job",
					     "next_run",    "last_run",    "last_job_id",
					     "source",	     "created_at", "updated_at"};
	for (size_t k = 0; k < sizeof(fields) / sizeof(fields[0]); k++) {
		fprintf(out, "%s: ", fields[k]);
		print_value(out, json_object_get(s, fields[k]));
		fputc('\n', out);
	}
}

/* Checks a schedule name argument; -1 to go on, or a usage error (exit 2). */
static int schedule_name_arg(struct ctl *c, const struct command *cmd, const char *name)
{
	if (!jq_name_valid(name, strlen(name)))
		return usage_error(c, cmd,
				   "invalid schedule name '%s': it must be 1 to %d of A-Z a-z 0-9 _ . : -",
				   name, JQ_QUEUE_NAME_MAX);
	return -1;
}

static int cmd_schedules(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	int npos = 0;
	char **pos = calloc((size_t)argc + 1, sizeof(*pos));
	struct jq_httpc_reply r;
	json_t *body = NULL;
	char path[JQ_QUEUE_NAME_MAX + 16];
	const struct jq_opt opts[] = {
	    {"json", NULL, JQ_OPT_BOOL, &c->json, 0, 0, ""},
	    {NULL, NULL, JQ_OPT_STR, NULL, 0, 0, NULL},
	};

	jq_httpc_reply_init(&r);
	int status = JQ_CTL_EXIT_FAIL;
	if (pos == NULL) {
		failf(c, status, "out of memory");
		goto done;
	}
	status = command_args(c, cmd, opts, argc, argv, pos, &npos, 0, 1);
	if (status >= 0)
		goto done;
	if (npos == 1 && (status = schedule_name_arg(c, cmd, pos[0])) >= 0)
		goto done;
	/* a valid name needs no escaping; 404 ends in call() */
	snprintf(path, sizeof(path), npos ? "/schedules/%s" : "/schedules", npos ? pos[0] : "");
	status = call(c, JQ_HTTPC_GET, path, NULL, &r, &body);
	if (status != JQ_CTL_EXIT_OK)
		goto done;
	const json_t *list = json_object_get(body, "schedules");
	if (npos == 0 && !json_is_array(list)) {
		status = unexpected(c, "no array 'schedules'");
		goto done;
	}
	if (c->json)
		print_raw(c, &r);
	else if (npos == 1)
		print_schedule(c->out, body);
	else if (print_schedules(c->out, list, term_cols(c->out)) != 0)
		status = failf(c, JQ_CTL_EXIT_FAIL, "out of memory");
done:
	json_decref(body);
	jq_httpc_reply_release(&r);
	free(pos);
	return status;
}

static int cmd_schedule_add(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	int npos = 0, replace = 0;
	char **pos = calloc((size_t)argc + 1, sizeof(*pos));
	struct jq_httpc_reply r;
	json_t *body = NULL, *req = NULL, *job = NULL;
	char *text = NULL;
	char path[JQ_QUEUE_NAME_MAX + 16];
	const struct jq_opt opts[] = {
	    {"replace", NULL, JQ_OPT_BOOL, &replace, 0, 0, ""},
	    {"json", NULL, JQ_OPT_BOOL, &c->json, 0, 0, ""},
	    {NULL, NULL, JQ_OPT_STR, NULL, 0, 0, NULL},
	};

	jq_httpc_reply_init(&r);
	int status = JQ_CTL_EXIT_FAIL;
	if (pos == NULL) {
		failf(c, status, "out of memory");
		goto done;
	}
	status = command_args(c, cmd, opts, argc, argv, pos, &npos, 3, 3);
	if (status >= 0)
		goto done;
	if ((status = schedule_name_arg(c, cmd, pos[0])) >= 0)
		goto done;
	json_error_t jerr;
	job = json_loads(pos[2], JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(job)) {
		status = usage_error(c, cmd, "JOB_JSON must be a JSON object like '{\"type\": \"noop\"}'%s%s",
				     job ? "" : ": ", job ? "" : jerr.text);
		goto done;
	}
	/* the broker checks the cron expression and the job, and names what is wrong */
	req = json_pack("{s:s,s:s,s:O}", "name", pos[0], "cron", pos[1], "job", job);
	text = req ? json_dumps(req, JSON_COMPACT) : NULL;
	if (!text) {
		status = failf(c, JQ_CTL_EXIT_FAIL, "CRON and JOB_JSON must be valid UTF-8");
		goto done;
	}
	if (replace)
		snprintf(path, sizeof(path), "/schedules/%s", pos[0]);
	else
		c->conflict_hint = "add --replace to change it: jobctl schedule add --replace NAME CRON "
				   "JOB_JSON";
	status = call(c, replace ? JQ_HTTPC_PUT : JQ_HTTPC_POST, replace ? path : "/schedules", text,
		      &r, &body);
	if (status != JQ_CTL_EXIT_OK)
		goto done;
	const char *next = json_string_value(json_object_get(body, "next_run"));
	if (c->json)
		print_raw(c, &r);
	else
		fprintf(c->out, "schedule %s %s, next run %s\n", pos[0],
			r.status == 201 ? "created" : "replaced", next ? next : "never");
done:
	free(text);
	json_decref(req);
	json_decref(job);
	json_decref(body);
	jq_httpc_reply_release(&r);
	free(pos);
	return status;
}

static int cmd_schedule_rm(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	int npos = 0;
	char **pos = calloc((size_t)argc + 1, sizeof(*pos));
	struct jq_httpc_reply r;
	char path[JQ_QUEUE_NAME_MAX + 16];
	const struct jq_opt opts[] = {
	    {"json", NULL, JQ_OPT_BOOL, &c->json, 0, 0, ""},
	    {NULL, NULL, JQ_OPT_STR, NULL, 0, 0, NULL},
	};

	jq_httpc_reply_init(&r);
	int status = JQ_CTL_EXIT_FAIL;
	if (pos == NULL) {
		failf(c, status, "out of memory");
		goto done;
	}
	status = command_args(c, cmd, opts, argc, argv, pos, &npos, 1, 1);
	if (status >= 0)
		goto done;
	if ((status = schedule_name_arg(c, cmd, pos[0])) >= 0)
		goto done;
	if ((status = connect_broker(c)) != JQ_CTL_EXIT_OK)
		goto done;
	/* 204 has no body: not call(), which wants a JSON object */
	snprintf(path, sizeof(path), "/schedules/%s", pos[0]);
	if (jq_httpc_request(&c->http, JQ_HTTPC_DELETE, path, NULL, NULL, &r) != 0) {
		status = c->http.err == JQ_HTTPC_EINTERRUPTED
			     ? JQ_CTL_EXIT_INTERRUPT
			     : failf(c, JQ_CTL_EXIT_FAIL, "%s", c->http.errstr);
		goto done;
	}
	if (r.status != 204) {
		char msg[1024];
		jq_ctl_format_http_error(msg, sizeof(msg), r.status, r.body, r.len);
		status = failf(c, JQ_CTL_EXIT_FAIL, "%s", msg);
		goto done;
	}
	status = JQ_CTL_EXIT_OK;
	if (c->json)
		fprintf(c->out, "{\"name\":\"%s\",\"deleted\":true}\n", pos[0]);
	else
		fprintf(c->out, "schedule %s deleted\n", pos[0]);
done:
	jq_httpc_reply_release(&r);
	free(pos);
	return status;
}

static const struct command cmd_schedules_def = {
    "schedules",
    cmd_schedules,
    "jobctl schedules [NAME]",
    "Without NAME, lists the periodic schedules: name, cron expression, next and last run\n"
    "(UTC), the job of the last run and its type. With NAME, prints that schedule whole\n"
    "as \"key: value\" lines (exit 1 if unknown).\n\n"
    "options:\n"
    "  --json             print the broker's answer as it is\n",
    NULL,
};

static const struct command cmd_schedule_add_def = {
    "schedule add",
    cmd_schedule_add,
    "jobctl schedule add NAME CRON JOB_JSON [--replace]",
    "Creates schedule NAME: a job JOB_JSON (a POST /jobs body, such as '{\"type\": \"noop\"}')\n"
    "at each time of CRON, five fields in UTC ('*/5 * * * *', 'MIN HOUR DOM MON DOW') or a\n"
    "macro (@hourly, @daily, @weekly, @monthly, @yearly); a sixth field in front counts\n"
    "seconds. Prints \"schedule NAME created, next run TIME\"; exit 1 if the name is taken\n"
    "or the broker refuses the expression or the job (its message names the field).\n\n"
    "options:\n"
    "  --replace          create or replace NAME (PUT): an unchanged definition keeps its\n"
    "                     next run\n"
    "  --json             print the broker's answer as it is\n",
    NULL,
};

static const struct command cmd_schedule_rm_def = {
    "schedule rm",
    cmd_schedule_rm,
    "jobctl schedule rm NAME",
    "Deletes schedule NAME and prints \"schedule NAME deleted\": it fires no more (jobs it\n"
    "made stay). Exit 1 if there is no such schedule.\n\n"
    "options:\n"
    "  --json             print {\"name\": NAME, \"deleted\": true}\n",
    NULL,
};

static const struct command *const schedule_commands[] = {
    &cmd_schedule_add_def,
    &cmd_schedule_rm_def,
    NULL,
};

static const struct command cmd_schedule_def = {
    "schedule",
    cmd_group,
    "jobctl schedule add|rm ...",
    "Periodic schedules: a job stored at each time of a cron expression, once per time\n"
    "however many brokers and workers run. 'jobctl schedules' lists them.\n",
    schedule_commands,
};

/* ==== end of periodic schedules ==== */

/* ==== API tokens: token create|list|revoke (POST/GET/DELETE /tokens) ====
 * Kept in one block of its own, as the schedules. */

static const struct column token_columns[] = {{"NAME", 1}, {"SCOPES", 0}, {"CREATED", 0}};
#define TOKEN_NCOLS (sizeof(token_columns) / sizeof(token_columns[0]))

static int token_name_arg(struct ctl *c, const struct command *cmd, const char *name)
{
	if (!jq_name_valid(name, strlen(name)))
		return usage_error(c, cmd,
				   "invalid token name '%s': it must be 1 to %d of A-Z a-z 0-9 _ . : -",
				   name, JQ_QUEUE_NAME_MAX);
	return -1;
}

/* "read,admin" as a JSON array; NULL (after a usage error in *status) if a name is none of
 * read, enqueue, admin. */
static json_t *scopes_array(struct ctl *c, const struct command *cmd, const char *list,
			    int *status)
{
	json_t *arr = json_array();
	char *copy = strdup(list), *save = NULL;
	for (char *p = copy ? strtok_r(copy, ",", &save) : NULL; p; p = strtok_r(NULL, ",", &save)) {
		if (strcmp(p, "read") != 0 && strcmp(p, "enqueue") != 0 && strcmp(p, "admin") != 0) {
			*status = usage_error(c, cmd, "unknown scope '%s' (read, enqueue, admin)", p);
			json_decref(arr);
			free(copy);
			return NULL;
		}
		json_array_append_new(arr, json_string(p));
	}
	free(copy);
	if (!json_array_size(arr)) {
		*status = usage_error(c, cmd, "--scopes names at least one of read, enqueue, admin");
		json_decref(arr);
		return NULL;
	}
	return arr;
}

static int cmd_token_create(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	int npos = 0;
	const char *scopes = NULL;
	char **pos = calloc((size_t)argc + 1, sizeof(*pos));
	char *text = NULL;
	struct jq_httpc_reply r;
	json_t *body = NULL, *req = NULL;
	const struct jq_opt opts[] = {
	    {"scopes", NULL, JQ_OPT_STR, &scopes, 0, 64, ""},
	    {"json", NULL, JQ_OPT_BOOL, &c->json, 0, 0, ""},
	    {NULL, NULL, JQ_OPT_STR, NULL, 0, 0, NULL},
	};

	jq_httpc_reply_init(&r);
	int status = JQ_CTL_EXIT_FAIL;
	if (pos == NULL) {
		failf(c, status, "out of memory");
		goto done;
	}
	status = command_args(c, cmd, opts, argc, argv, pos, &npos, 1, 1);
	if (status >= 0 || (status = token_name_arg(c, cmd, pos[0])) >= 0)
		goto done;
	if (!scopes) {
		status = usage_error(c, cmd, "--scopes is required (read, enqueue, admin)");
		goto done;
	}
	json_t *arr = scopes_array(c, cmd, scopes, &status);
	if (!arr)
		goto done;
	req = json_pack("{s:s,s:o}", "name", pos[0], "scopes", arr);
	text = req ? json_dumps(req, JSON_COMPACT) : NULL;
	if (!text) {
		status = failf(c, JQ_CTL_EXIT_FAIL, "out of memory");
		goto done;
	}
	status = call(c, JQ_HTTPC_POST, "/tokens", text, &r, &body);
	if (status != JQ_CTL_EXIT_OK)
		goto done;
	const char *token = json_string_value(json_object_get(body, "token"));
	if (!token) {
		status = unexpected(c, "no 'token'");
		goto done;
	}
	if (c->json)
		print_raw(c, &r);
	else
		fprintf(c->out, "%s\n", token);
	fprintf(c->err, "token '%s' created; it is shown this once: keep it now\n", pos[0]);
done:
	if (r.body)
		memset(r.body, 0, r.len); /* the secret leaves no copy behind here */
	json_decref(body);
	json_decref(req);
	free(text);
	jq_httpc_reply_release(&r);
	free(pos);
	return status;
}

static int cmd_token_list(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	int npos = 0;
	char **pos = calloc((size_t)argc + 1, sizeof(*pos));
	struct jq_httpc_reply r;
	json_t *body = NULL;
	const struct jq_opt opts[] = {
	    {"json", NULL, JQ_OPT_BOOL, &c->json, 0, 0, ""},
	    {NULL, NULL, JQ_OPT_STR, NULL, 0, 0, NULL},
	};

	jq_httpc_reply_init(&r);
	int status = JQ_CTL_EXIT_FAIL;
	if (pos == NULL) {
		failf(c, status, "out of memory");
		goto done;
	}
	status = command_args(c, cmd, opts, argc, argv, pos, &npos, 0, 0);
	if (status >= 0)
		goto done;
	status = call(c, JQ_HTTPC_GET, "/tokens", NULL, &r, &body);
	if (status != JQ_CTL_EXIT_OK)
		goto done;
	const json_t *list = json_object_get(body, "tokens");
	if (!json_is_array(list)) {
		status = unexpected(c, "no array 'tokens'");
		goto done;
	}
	if (c->json) {
		print_raw(c, &r);
		goto done;
	}
	if (json_array_size(list) == 0) {
		fputs("no tokens\n", c->out);
		goto done;
	}
	char(*cells)[CELL_MAX] = table_cells(json_array_size(list), TOKEN_NCOLS);
	if (cells == NULL) {
		status = failf(c, JQ_CTL_EXIT_FAIL, "out of memory");
		goto done;
	}
	size_t i;
	const json_t *t;
	json_array_foreach(list, i, t)
	{
		char(*row)[CELL_MAX] = cells + i * TOKEN_NCOLS;
		cell_text(row[0], CELL_MAX, json_object_get(t, "name"));
		row[1][0] = '\0';
		size_t k;
		const json_t *sc;
		json_array_foreach(json_object_get(t, "scopes"), k, sc)
			snprintf(row[1] + strlen(row[1]), CELL_MAX - strlen(row[1]), "%s%s",
				 k ? "," : "", json_string_value(sc) ? json_string_value(sc) : "?");
		time_cell(row[2], CELL_MAX, json_object_get(t, "created_at"));
	}
	print_table(c->out, token_columns, TOKEN_NCOLS, cells, json_array_size(list),
		    term_cols(c->out));
	free(cells);
done:
	json_decref(body);
	jq_httpc_reply_release(&r);
	free(pos);
	return status;
}

static int cmd_token_revoke(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	int npos = 0;
	char **pos = calloc((size_t)argc + 1, sizeof(*pos));
	struct jq_httpc_reply r;
	json_t *body = NULL;
	char path[JQ_QUEUE_NAME_MAX + 16];
	const struct jq_opt opts[] = {
	    {"json", NULL, JQ_OPT_BOOL, &c->json, 0, 0, ""},
	    {NULL, NULL, JQ_OPT_STR, NULL, 0, 0, NULL},
	};

	jq_httpc_reply_init(&r);
	int status = JQ_CTL_EXIT_FAIL;
	if (pos == NULL) {
		failf(c, status, "out of memory");
		goto done;
	}
	status = command_args(c, cmd, opts, argc, argv, pos, &npos, 1, 1);
	if (status >= 0 || (status = token_name_arg(c, cmd, pos[0])) >= 0)
		goto done;
	snprintf(path, sizeof(path), "/tokens/%s", pos[0]);
	status = call(c, JQ_HTTPC_DELETE, path, NULL, &r, &body);
	if (status != JQ_CTL_EXIT_OK)
		goto done;
	if (c->json)
		print_raw(c, &r);
	else
		fprintf(c->out, "token %s revoked\n", pos[0]);
done:
	json_decref(body);
	jq_httpc_reply_release(&r);
	free(pos);
	return status;
}

static const struct command cmd_token_create_def = {
    "token create",
    cmd_token_create,
    "jobctl token create NAME --scopes read,enqueue,admin",
    "Creates API token NAME with the scopes listed (read: the GETs; enqueue: storing jobs;\n"
    "admin: everything, tokens too) and prints it on a line of its own: it is shown this\n"
    "once (the broker keeps only its SHA-256). Needs an admin token, except while no token\n"
    "exists: the first one is created through a broker on a loopback address.\n\n"
    "options:\n"
    "  --scopes LIST      read, enqueue, admin, comma-separated\n"
    "  --json             print the broker's answer as it is (the token in it)\n",
    NULL,
};

static const struct command cmd_token_list_def = {
    "token list",
    cmd_token_list,
    "jobctl token list",
    "Lists the API tokens: name, scopes, creation time (never the tokens themselves).\n\n"
    "options:\n"
    "  --json             print the broker's answer as it is\n",
    NULL,
};

static const struct command cmd_token_revoke_def = {
    "token revoke",
    cmd_token_revoke,
    "jobctl token revoke NAME",
    "Revokes API token NAME and prints \"token NAME revoked\": every broker refuses it within\n"
    "a second, and the dashboard sessions opened with it end. Exit 1 if there is none.\n\n"
    "options:\n"
    "  --json             print the broker's answer as it is\n",
    NULL,
};

static const struct command *const token_commands[] = {
    &cmd_token_create_def,
    &cmd_token_list_def,
    &cmd_token_revoke_def,
    NULL,
};

static const struct command cmd_token_def = {
    "token",
    cmd_group,
    "jobctl token create|list|revoke ...",
    "API tokens (bearer tokens with scopes): whoever holds one may use the broker within\n"
    "its scopes. Other commands send one with --token, JOBQ_TOKEN or --token-file.\n",
    token_commands,
};

/* ==== end of API tokens ==== */

/* ---- the command table ---- */

static const struct command cmd_start_task_def = {
    "start-task",
    cmd_start_task,
    "jobctl start-task [--duration N] [--wait [--wait-timeout S]] [--idempotency-key K]",
    "Starts the seed's long task (a 'progress' job) and prints \"task ID STATUS\".\n\n"
    "options:\n"
    "  --duration N       seconds the task runs, 0 to 86400 (default: the broker's, 10)\n"
    "  --wait             poll the task every 200 ms until it ends: a progress bar on a\n"
    "                     terminal, one line per change otherwise (JSON lines with --json);\n"
    "                     exit 0 if it completed, 1 if not, 130 on Ctrl-C\n"
    "  --wait-timeout S   with --wait, give up (exit 1) after S seconds (default 0: never)\n"
    "  --idempotency-key K\n"
    "                     send K as the Idempotency-Key header: a repeat with the same key\n"
    "                     starts nothing and answers the first task (1 to 200 printable\n"
    "                     ASCII characters, no spaces)\n"
    "  --json             print the broker's answers as they are\n",
    NULL,
};

static const struct command cmd_watch_def = {
    "watch",
    cmd_watch,
    "jobctl watch ID [--wait-timeout S]",
    "Follows job ID (any job, not only a task) through the broker's event stream,\n"
    "GET /jobs/ID/events, until it ends. On a terminal it redraws one line: a progress\n"
    "bar, steps done, the rate of progress and the time left, as in\n"
    "\"[##########----------] 5/10 50%  2.0/s  ETA 3s\". Otherwise it prints one line per\n"
    "event, \"task ID: STATUS\" (STATUS as in GET /task-status: pending, running,\n"
    "progress: I/N, completed, failed: REASON, cancelled). A job that has already ended\n"
    "gives its one last event at once. A stream that breaks off before the job ends is\n"
    "opened again (it starts with the job's current state), up to 8 times in a row.\n\n"
    "exit status: 0 the job completed; 1 it failed or was cancelled, or it is unknown,\n"
    "or the broker cannot be reached or its stream was lost; 130 on Ctrl-C (the job\n"
    "goes on).\n\n"
    "options:\n"
    "  --wait-timeout S   give up (exit 1) after S seconds (default 0: never)\n"
    "  --json             print each event's data, one JSON object per line:\n"
    "                     {\"id\", \"state\", \"status\", \"progress\": {\"done\", \"total\"}}\n",
    NULL,
};

static const struct command cmd_enqueue_def = {
    "enqueue",
    cmd_enqueue,
    "jobctl enqueue TYPE [key=value ...] [--queue Q] [--max-attempts N] [--timeout-ms N]"
    " [--priority N] [--idempotency-key K] [--unique-key K]",
    "Queues a job of type TYPE and prints \"job ID STATE\". Each key=value becomes a payload\n"
    "field; a value that is valid JSON is taken as JSON (3, true, null, \"3\", [1,2],\n"
    "{\"a\":1}), any other as a string (to=a@b.c).\n\n"
    "options:\n"
    "  --queue Q          queue name (default: the broker's, \"default\")\n"
    "  --max-attempts N   attempts before the job fails, 1 to 100 (default: 3)\n"
    "  --timeout-ms N     stop an attempt after N ms, 0 for none (default: 0)\n"
    "  --priority N       0 to 9, higher runs first within the queue (default: 0)\n"
    "  --idempotency-key K\n"
    "                     send K as the Idempotency-Key header: a repeat with the same key\n"
    "                     stores nothing and prints \"job ID (already enqueued with this key)\n"
    "                     STATE\" of the first job (1 to 200 printable ASCII characters,\n"
    "                     no spaces)\n"
    "  --unique-key K     refuse the job (exit 1, the broker names the job holding K)\n"
    "                     while another job with this key is pending, scheduled or running\n"
    "  --json             print the broker's answer as it is\n"
    "  --                 every later argument is a key=value\n",
    NULL,
};

static const struct command cmd_status_def = {
    "status",
    cmd_status,
    "jobctl status ID",
    "Prints a job's state, progress, attempts, recoveries, times, result, last error and the\n"
    "error of every failed attempt (exit 1 if unknown).\n\n"
    "options:\n"
    "  --json             print the broker's answer (the whole job) as it is\n",
    NULL,
};

static const struct command cmd_notify_def = {
    "send-notification",
    cmd_notify,
    "jobctl send-notification EMAIL CONTENT [--sync] [--idempotency-key K]",
    "Queues an email to EMAIL with body CONTENT and prints \"notification queued as task N\".\n\n"
    "options:\n"
    "  --sync             have the worker send it on its blocking thread pool\n"
    "  --idempotency-key K\n"
    "                     send K as the Idempotency-Key header: a repeat with the same key\n"
    "                     queues nothing and answers the first task (1 to 200 printable\n"
    "                     ASCII characters, no spaces)\n"
    "  --json             print the broker's answer as it is\n",
    NULL,
};

static const struct command cmd_cancel_def = {
    "cancel",
    cmd_cancel,
    "jobctl cancel ID",
    "Cancels job ID: prints \"job ID cancelled\" if it had not started (it never runs), or\n"
    "\"job ID is running: cancel requested\" (its worker stops it, and it ends cancelled).\n"
    "Exit 1 if it has already finished or is unknown.\n\n"
    "options:\n"
    "  --json             print the broker's answer as it is\n",
    NULL,
};

static const struct command cmd_queues_def = {
    "queues",
    cmd_queues,
    "jobctl queues [NAME]",
    "Without NAME, lists every queue: one row with its name, its pending, scheduled and\n"
    "running jobs now, its completed and failed jobs so far, whether it is paused and its\n"
    "rate limit (jobs started in the current interval/limit per interval), the\n"
    "name cut to fit the terminal (80 columns when the output is not one). With NAME,\n"
    "prints all the counts of that queue as \"key: value\" lines (exit 1 if unknown).\n\n"
    "options:\n"
    "  --json             print the broker's answer as it is\n",
    NULL,
};

static const struct command cmd_pause_def = {
    "pause",
    cmd_queue_action,
    "jobctl pause QUEUE",
    "Pauses QUEUE and prints \"queue QUEUE paused\": it keeps accepting jobs, but workers\n"
    "take none from it until it is resumed (jobs already running finish).\n\n"
    "options:\n"
    "  --json             print the broker's answer as it is\n",
    NULL,
};

static const struct command cmd_resume_def = {
    "resume",
    cmd_queue_action,
    "jobctl resume QUEUE",
    "Resumes QUEUE and prints \"queue QUEUE resumed\": workers take its jobs again.\n\n"
    "options:\n"
    "  --json             print the broker's answer as it is\n",
    NULL,
};

static const struct command cmd_workers_def = {
    "workers",
    cmd_workers,
    "jobctl workers",
    "Lists the workers whose heartbeat is recent: their id, host, pid, queues, running\n"
    "jobs/concurrency, the age of their last heartbeat and when they started, cut to fit\n"
    "the terminal (80 columns when the output is not one).\n\n"
    "options:\n"
    "  --json             print the broker's answer as it is\n",
    NULL,
};

static const struct command cmd_dead_list_def = {
    "dead list",
    cmd_dead_list,
    "jobctl dead list [--limit N] [--offset N]",
    "Lists the dead-letter set, newest first: one row per job with its id, failure time,\n"
    "type, queue, attempts and last error, the error whole and wrapped in its column (80\n"
    "columns when the output is not one; --json for the broker's answer as it is).\n\n"
    "options:\n"
    "  --limit N          show at most N jobs, 1 to 1000 (default: the broker's, 100)\n"
    "  --offset N         skip the N newest (default: 0)\n"
    "  --json             print the broker's answer as it is\n",
    NULL,
};

static const struct command cmd_dead_retry_def = {
    "dead retry",
    cmd_dead_retry,
    "jobctl dead retry ID",
    "Puts dead job ID back in its queue with its attempts reset and prints \"job ID requeued\";\n"
    "exit 1 if it is not in the dead set or has expired.\n\n"
    "options:\n"
    "  --json             print the broker's answer as it is\n",
    NULL,
};

static const struct command cmd_dead_purge_def = {
    "dead purge",
    cmd_dead_purge,
    "jobctl dead purge [--yes]",
    "Deletes every job in the dead-letter set and prints \"purged N jobs\". Without --yes it\n"
    "asks first when the standard input is a terminal, and refuses (exit 2) when it is not.\n\n"
    "options:\n"
    "  --yes              do not ask\n"
    "  --json             print the broker's answer as it is\n",
    NULL,
};

static const struct command *const dead_commands[] = {
    &cmd_dead_list_def,
    &cmd_dead_retry_def,
    &cmd_dead_purge_def,
    NULL,
};

static const struct command cmd_dead_def = {
    "dead",
    cmd_group,
    "jobctl dead list|retry|purge ...",
    "The dead-letter set: the jobs that failed all their attempts or could never run.\n",
    dead_commands,
};

static const struct command *const commands[] = {
    &cmd_start_task_def, &cmd_watch_def,  &cmd_enqueue_def, &cmd_status_def,
    &cmd_cancel_def,     &cmd_notify_def, &cmd_queues_def,  &cmd_pause_def,
    &cmd_resume_def,     &cmd_workers_def, &cmd_dead_def,
    &cmd_schedules_def,  &cmd_schedule_def, &cmd_token_def,
};

static void print_usage(FILE *out, const struct jq_opt *opts)
{
	jq_opts_usage(out, "usage: jobctl [options] <command> [args]", opts);
	fputs("\ncommands:\n", out);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (commands[i]->subs == NULL)
			fprintf(out, "  %s\n", commands[i]->usage);
		for (const struct command *const *sub = commands[i]->subs; sub && *sub; sub++)
			fprintf(out, "  %s\n", (*sub)->usage);
	}
	fputs("\nrun 'jobctl <command> --help' for the options of a command.\n", out);
}

int jq_ctl_run(int argc, char **argv, FILE *out, FILE *err)
{
	struct ctl c = {
	    .url = JQ_CTL_DEFAULT_URL,
	    .timeout_ms = JQ_CTL_DEFAULT_TIMEOUT_MS,
	    .out = out,
	    .err = err,
	};
	const struct jq_opt opts[] = {
	    {"url", "JOBQ_URL", JQ_OPT_STR, &c.url, 0, JQ_HTTPC_URL_MAX, "broker base URL"},
	    {"token", "JOBQ_TOKEN", JQ_OPT_SECRET, &c.token, 0, JQ_HTTPC_TOKEN_MAX,
	     "API token sent as 'Authorization: Bearer' (jobctl token create makes one)"},
	    {"token-file", "JOBQ_TOKEN_FILE", JQ_OPT_STR, &c.token_file, 0, 4096,
	     "file whose first line is the API token (when --token is not given)"},
	    {"json", NULL, JQ_OPT_BOOL, &c.json, 0, 0,
	     "print the broker's JSON answers as they are; errors as one JSON object on stderr"},
	    {"timeout-ms", NULL, JQ_OPT_INT, &c.timeout_ms, 1, REQUEST_TIMEOUT_MAX_MS,
	     "timeout of each HTTP request, in milliseconds"},
	    {NULL, NULL, JQ_OPT_STR, NULL, 0, 0, NULL},
	};
	char errbuf[256];
	int first = argc, status;

	switch (jq_opts_parse(opts, argc, argv, &first, errbuf, sizeof(errbuf))) {
	case JQ_OPTS_HELP:
		print_usage(out, opts);
		return JQ_CTL_EXIT_OK;
	case JQ_OPTS_VERSION:
		fprintf(out, "jobctl %s\n", JOBQ_VERSION);
		return JQ_CTL_EXIT_OK;
	case JQ_OPTS_ERROR:
		fprintf(err, "jobctl: %s\nrun 'jobctl --help' for usage\n", errbuf);
		return JQ_CTL_EXIT_USAGE;
	default:
		break;
	}
	if (first >= argc) {
		print_usage(err, opts);
		return JQ_CTL_EXIT_USAGE;
	}
	const struct command *cmd = NULL;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[first], commands[i]->name) == 0)
			cmd = commands[i];
	if (cmd == NULL) {
		fprintf(err, "jobctl: unknown command '%s'\nrun 'jobctl --help' for usage\n",
			argv[first]);
		return JQ_CTL_EXIT_USAGE;
	}

	c.tty = isatty(fileno(out)) == 1;
	status = cmd->run(&c, cmd, argc - first, argv + first);

	end_bar(&c);
	if (c.http_ready)
		jq_httpc_release(&c.http);
	if (c.curl_ready)
		jq_httpc_global_cleanup();
	if (fflush(out) != 0 || ferror(out)) {
		fprintf(err, "jobctl: cannot write the output: %s\n", strerror(errno));
		if (status == JQ_CTL_EXIT_OK)
			status = JQ_CTL_EXIT_FAIL;
	}
	return status;
}
