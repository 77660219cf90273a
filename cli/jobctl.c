/* jobctl.c: jobctl's command table, its subcommands and what they print; see jobctl.h. */
#include "jobctl.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "http.h"
#include "job.h"
#include "keys.h"
#include "util.h"

#define REQUEST_TIMEOUT_MAX_MS 3600000 /* --timeout-ms upper bound: one hour */
#define WAIT_TIMEOUT_MAX_S 604800      /* --wait-timeout upper bound: a week */
#define SNIPPET_MAX 120                /* bytes of a non-JSON error body shown */
#define LINE_MAX_BYTES 512             /* longest progress line drawn */

/* One run of the program. */
struct ctl {
	const char *url; /* from --url or JOBQ_URL; points into argv/environ */
	int64_t timeout_ms;
	int json;
	FILE *out, *err;
	int tty;      /* out is a terminal: --wait draws its bar in place */
	int bar_open; /* a bar line is on screen without its newline */
	int curl_ready, http_ready;
	struct jq_http http; /* valid when http_ready */
};

struct command {
	const char *name;
	/* argv[0] is the command name; returns the exit status */
	int (*run)(struct ctl *c, const struct command *cmd, int argc, char **argv);
	const char *usage;
	const char *help; /* the options, one per line, ends with '\n' */
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
static int failf(struct ctl *c, int status, const char *fmt, ...)
{
	va_list ap;
	end_bar(c);
	fflush(c->out); /* keep the order of the two streams on one terminal */
	fputs("jobctl: ", c->err);
	va_start(ap, fmt);
	vfprintf(c->err, fmt, ap);
	va_end(ap);
	fputc('\n', c->err);
	return status;
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

enum field_kind { FIELD_VALUE, FIELD_PROGRESS, FIELD_ATTEMPTS };

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
    {"created", "created_at", FIELD_VALUE},
    {"started", "started_at", FIELD_VALUE},
    {"finished", "finished_at", FIELD_VALUE},
    {"worker", "worker", FIELD_VALUE},
    {"result", "result", FIELD_VALUE},
    {"error", "error", FIELD_VALUE},
};

int jq_ctl_print_job(FILE *out, const json_t *job)
{
	if (!json_is_object(job))
		return -1;
	for (size_t i = 0; i < sizeof(job_fields) / sizeof(job_fields[0]); i++) {
		const json_t *v = json_object_get(job, job_fields[i].name);
		fprintf(out, "%-10s", job_fields[i].label);
		switch (job_fields[i].kind) {
		case FIELD_VALUE:
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
		}
		fputc('\n', out);
	}
	return 0;
}

/* ---- talking to the broker ---- */

static int connect_broker(struct ctl *c)
{
	if (c->http_ready)
		return JQ_CTL_EXIT_OK;
	if (!c->curl_ready) {
		if (jq_http_global_init() != 0)
			return failf(c, JQ_CTL_EXIT_FAIL, "cannot initialize libcurl");
		c->curl_ready = 1;
	}
	if (jq_http_init(&c->http, c->url, (long)c->timeout_ms) != 0) {
		int status = c->http.err == JQ_HTTP_EURL ? JQ_CTL_EXIT_USAGE : JQ_CTL_EXIT_FAIL;
		failf(c, status, "%s", c->http.errstr);
		jq_http_release(&c->http);
		return status;
	}
	c->http_ready = 1;
	return JQ_CTL_EXIT_OK;
}

/* Sends one request and checks that the answer is a 2xx JSON object, which
 * *json gets (the caller decrefs it). Otherwise says why on err and returns
 * JQ_CTL_EXIT_FAIL, or JQ_CTL_EXIT_INTERRUPT without a word. */
static int call(struct ctl *c, enum jq_http_method method, const char *path, const char *body,
		struct jq_http_reply *r, json_t **json)
{
	json_error_t jerr;
	*json = NULL;
	int status = connect_broker(c);
	if (status != JQ_CTL_EXIT_OK)
		return status;
	if (jq_http_request(&c->http, method, path, body, r) != 0) {
		if (c->http.err == JQ_HTTP_EINTERRUPTED)
			return JQ_CTL_EXIT_INTERRUPT;
		return failf(c, JQ_CTL_EXIT_FAIL, "%s", c->http.errstr);
	}
	if (r->status < 200 || r->status > 299) {
		char msg[1024];
		jq_ctl_format_http_error(msg, sizeof(msg), r->status, r->body, r->len);
		return failf(c, JQ_CTL_EXIT_FAIL, "%s", msg);
	}
	*json = json_loadb(r->body, r->len, 0, &jerr);
	if (!json_is_object(*json)) {
		json_decref(*json);
		*json = NULL;
		return failf(c, JQ_CTL_EXIT_FAIL,
			     "unexpected answer from broker at '%s': not a JSON object",
			     c->http.base);
	}
	return JQ_CTL_EXIT_OK;
}

static int unexpected(struct ctl *c, const char *what)
{
	return failf(c, JQ_CTL_EXIT_FAIL, "unexpected answer from broker at '%s': %s", c->http.base,
		     what);
}

/* Prints an answer body as it came, on its own line. */
static void print_raw(struct ctl *c, const struct jq_http_reply *r)
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
	fputs("jobctl: ", c->err);
	va_start(ap, fmt);
	vfprintf(c->err, fmt, ap);
	va_end(ap);
	fprintf(c->err, "\nusage: %s\n", cmd->usage);
	return JQ_CTL_EXIT_USAGE;
}

static void print_command_help(FILE *out, const struct command *cmd)
{
	fprintf(out, "usage: %s\n\n%s", cmd->usage, cmd->help);
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
 * status; first_status is the one it was created with. */
static int wait_task(struct ctl *c, int64_t id, const char *first_status, int64_t timeout_s)
{
	int status = JQ_CTL_EXIT_FAIL;
	char path[64], shown[512];
	char *last = strdup(first_status); /* the last status seen */
	int64_t done = 0, total = 0;       /* the last progress seen */
	int64_t deadline = timeout_s > 0 ? jq_mono_us() + timeout_s * 1000000 : 0;
	int draw = c->tty && !c->json;
	struct sigaction sa, old_sa;
	struct jq_http_reply r;
	json_t *body = NULL;

	jq_http_reply_init(&r);
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
			rc = call(c, JQ_HTTP_GET, path, NULL, &r, &body);
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
	jq_http_reply_release(&r);
	free(last);
	return status;
}

static int cmd_start_task(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	const char *duration_arg = NULL;
	int wait = 0, npos = 0;
	int64_t wait_timeout = 0, duration = 0;
	char **pos = calloc((size_t)argc + 1, sizeof(*pos));
	struct jq_http_reply r;
	json_t *body = NULL;
	char path[64], err[256];
	const struct jq_opt opts[] = {
	    {"duration", NULL, JQ_OPT_STR, &duration_arg, 0, 0, ""},
	    {"wait", NULL, JQ_OPT_BOOL, &wait, 0, 0, ""},
	    {"wait-timeout", NULL, JQ_OPT_INT, &wait_timeout, 0, WAIT_TIMEOUT_MAX_S, ""},
	    {"json", NULL, JQ_OPT_BOOL, &c->json, 0, 0, ""},
	    {NULL, NULL, JQ_OPT_STR, NULL, 0, 0, NULL},
	};

	jq_http_reply_init(&r);
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
	if (duration_arg)
		snprintf(path, sizeof(path), "/start-task?duration=%" PRId64, duration);
	else
		snprintf(path, sizeof(path), "/start-task");

	status = call(c, JQ_HTTP_POST, path, NULL, &r, &body);
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
	jq_http_reply_release(&r);
	free(pos);
	return status;
}

/* ---- enqueue ---- */

static int cmd_enqueue(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	const char *queue = NULL;
	int npos = 0;
	int64_t max_attempts = 0, timeout_ms = -1, priority = INT64_MIN;
	char **pos = calloc((size_t)argc + 1, sizeof(*pos));
	struct jq_http_reply r;
	json_t *req = NULL, *payload = NULL, *body = NULL;
	char *text = NULL;
	char err[512];
	const struct jq_opt opts[] = {
	    {"queue", NULL, JQ_OPT_STR, &queue, 0, 0, ""},
	    {"max-attempts", NULL, JQ_OPT_INT, &max_attempts, 1, JQ_MAX_ATTEMPTS_LIMIT, ""},
	    {"timeout-ms", NULL, JQ_OPT_INT, &timeout_ms, 0, JQ_TIMEOUT_MS_LIMIT, ""},
	    {"priority", NULL, JQ_OPT_INT, &priority, -JQ_PRIORITY_LIMIT, JQ_PRIORITY_LIMIT, ""},
	    {"json", NULL, JQ_OPT_BOOL, &c->json, 0, 0, ""},
	    {NULL, NULL, JQ_OPT_STR, NULL, 0, 0, NULL},
	};

	jq_http_reply_init(&r);
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
	if (queue && !jq_name_valid(queue, strlen(queue))) {
		status = usage_error(
		    c, cmd, "invalid queue '%s': it must be 1 to %d of A-Z a-z 0-9 _ . : -", queue,
		    JQ_QUEUE_NAME_MAX);
		goto done;
	}
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
	text = bad ? NULL : json_dumps(req, JSON_COMPACT);
	if (text == NULL) {
		status = failf(c, JQ_CTL_EXIT_FAIL, "cannot encode the job as JSON");
		goto done;
	}

	status = call(c, JQ_HTTP_POST, "/jobs", text, &r, &body);
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
		fprintf(c->out, "job %" PRId64 " ", id);
		put_text(c->out, state);
		fputc('\n', c->out);
	}
done:
	free(text);
	json_decref(body);
	json_decref(payload);
	json_decref(req);
	jq_http_reply_release(&r);
	free(pos);
	return status;
}

/* ---- status ---- */

static int cmd_status(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	int npos = 0;
	int64_t id;
	char **pos = calloc((size_t)argc + 1, sizeof(*pos));
	struct jq_http_reply r;
	json_t *body = NULL;
	char path[64];
	const struct jq_opt opts[] = {
	    {"json", NULL, JQ_OPT_BOOL, &c->json, 0, 0, ""},
	    {NULL, NULL, JQ_OPT_STR, NULL, 0, 0, NULL},
	};

	jq_http_reply_init(&r);
	int status = JQ_CTL_EXIT_FAIL;
	if (pos == NULL) {
		failf(c, status, "out of memory");
		goto done;
	}
	status = command_args(c, cmd, opts, argc, argv, pos, &npos, 1, 1);
	if (status >= 0)
		goto done;
	if (jq_parse_i64(pos[0], 1, INT64_MAX, &id) != 0) {
		status = usage_error(c, cmd, "invalid job id '%s': it must be a positive integer",
				     pos[0]);
		goto done;
	}
	snprintf(path, sizeof(path), "/jobs/%" PRId64, id);
	status = call(c, JQ_HTTP_GET, path, NULL, &r, &body);
	if (status != JQ_CTL_EXIT_OK)
		goto done;
	if (c->json)
		print_raw(c, &r);
	else
		jq_ctl_print_job(c->out, body);
done:
	json_decref(body);
	jq_http_reply_release(&r);
	free(pos);
	return status;
}

/* ---- send-notification ---- */

static int cmd_notify(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	int npos = 0, sync = 0;
	char **pos = calloc((size_t)argc + 1, sizeof(*pos));
	char *email = NULL, *content = NULL, *path = NULL;
	struct jq_http_reply r;
	json_t *body = NULL;
	const struct jq_opt opts[] = {
	    {"sync", NULL, JQ_OPT_BOOL, &sync, 0, 0, ""},
	    {"json", NULL, JQ_OPT_BOOL, &c->json, 0, 0, ""},
	    {NULL, NULL, JQ_OPT_STR, NULL, 0, 0, NULL},
	};

	jq_http_reply_init(&r);
	int status = JQ_CTL_EXIT_FAIL;
	if (pos == NULL) {
		failf(c, status, "out of memory");
		goto done;
	}
	status = command_args(c, cmd, opts, argc, argv, pos, &npos, 2, 2);
	if (status >= 0)
		goto done;
	status = connect_broker(c);
	if (status != JQ_CTL_EXIT_OK)
		goto done;
	email = jq_http_escape(&c->http, pos[0]);
	content = jq_http_escape(&c->http, pos[1]);
	const char *route = sync ? "/send-notification-sync" : "/send-notification";
	size_t len = email && content ? strlen(route) + strlen(email) + strlen(content) + 32 : 0;
	path = len ? malloc(len) : NULL;
	if (path == NULL) {
		status = failf(c, JQ_CTL_EXIT_FAIL, "out of memory");
		goto done;
	}
	snprintf(path, len, "%s?email=%s&content=%s", route, email, content);
	status = call(c, JQ_HTTP_POST, path, NULL, &r, &body);
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
	jq_http_reply_release(&r);
	free(path);
	free(content);
	free(email);
	free(pos);
	return status;
}

/* ---- the command table ---- */

static const struct command cmd_start_task_def = {
    "start-task",
    cmd_start_task,
    "jobctl start-task [--duration N] [--wait [--wait-timeout S]]",
    "Starts the seed's long task (a 'progress' job) and prints \"task ID STATUS\".\n\n"
    "options:\n"
    "  --duration N       seconds the task runs, 0 to 86400 (default: the broker's, 10)\n"
    "  --wait             poll the task every 200 ms until it ends: a progress bar on a\n"
    "                     terminal, one line per change otherwise (JSON lines with --json);\n"
    "                     exit 0 if it completed, 1 if not, 130 on Ctrl-C\n"
    "  --wait-timeout S   with --wait, give up (exit 1) after S seconds (default 0: never)\n"
    "  --json             print the broker's answers as they are\n",
};

static const struct command cmd_enqueue_def = {
    "enqueue",
    cmd_enqueue,
    "jobctl enqueue TYPE [key=value ...] [--queue Q] [--max-attempts N] [--timeout-ms N]"
    " [--priority N]",
    "Queues a job of type TYPE and prints \"job ID STATE\". Each key=value becomes a payload\n"
    "field; a value that is valid JSON is taken as JSON (3, true, null, \"3\", [1,2],\n"
    "{\"a\":1}), any other as a string (to=a@b.c).\n\n"
    "options:\n"
    "  --queue Q          queue name (default: the broker's, \"default\")\n"
    "  --max-attempts N   attempts before the job fails, 1 to 100 (default: 3)\n"
    "  --timeout-ms N     stop an attempt after N ms, 0 for none (default: 0)\n"
    "  --priority N       -1000 to 1000 (default: 0)\n"
    "  --json             print the broker's answer as it is\n"
    "  --                 every later argument is a key=value\n",
};

static const struct command cmd_status_def = {
    "status",
    cmd_status,
    "jobctl status ID",
    "Prints a job's state, progress, attempts, times, result and error (exit 1 if unknown).\n\n"
    "options:\n"
    "  --json             print the broker's answer (the whole job) as it is\n",
};

static const struct command cmd_notify_def = {
    "send-notification",
    cmd_notify,
    "jobctl send-notification EMAIL CONTENT [--sync]",
    "Queues an email to EMAIL with body CONTENT and prints \"notification queued as task N\".\n\n"
    "options:\n"
    "  --sync             have the worker send it on its blocking thread pool\n"
    "  --json             print the broker's answer as it is\n",
};

static const struct command *const commands[] = {
    &cmd_start_task_def,
    &cmd_enqueue_def,
    &cmd_status_def,
    &cmd_notify_def,
};

static void print_usage(FILE *out, const struct jq_opt *opts)
{
	jq_opts_usage(out, "usage: jobctl [options] <command> [args]", opts);
	fputs("\ncommands:\n", out);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %s\n", commands[i]->usage);
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
	    {"url", "JOBQ_URL", JQ_OPT_STR, &c.url, 0, JQ_HTTP_URL_MAX, "broker base URL"},
	    {"json", NULL, JQ_OPT_BOOL, &c.json, 0, 0,
	     "print the broker's JSON answers as they are"},
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
		jq_http_release(&c.http);
	if (c.curl_ready)
		jq_http_global_cleanup();
	if (fflush(out) != 0 || ferror(out)) {
		fprintf(err, "jobctl: cannot write the output: %s\n", strerror(errno));
		if (status == JQ_CTL_EXIT_OK)
			status = JQ_CTL_EXIT_FAIL;
	}
	return status;
}
