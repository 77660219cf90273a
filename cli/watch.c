/* watch.c: watch's event stream, --wait's polls and the line both redraw; see watch.h. */
#include "watch.h"

#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jobctl.h"
#include "print.h"
#include "sse.h"
#include "util.h"

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	interrupted = 1;
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
	char line[JQ_CTL_LINE_MAX];
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
	ctl_clean_text(buf, cap, line, strlen(line), 1, 0);
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
	char bar[JQ_CTL_BAR_WIDTH + 3], line[JQ_CTL_LINE_MAX];
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
		int64_t pct = done >= total            ? 100
			      : done > INT64_MAX / 100 ? 99
						       : done * 100 / total;
		n += (size_t)snprintf(line + n, sizeof(line) - n,
				      " %" PRId64 "/%" PRId64 " %" PRId64 "%%", done, total, pct);
	}
	if (running && total > 0 && done < total && rate > 0) {
		char r[32], eta[32];
		format_rate(r, sizeof(r), rate);
		format_eta(eta, sizeof(eta), (double)(total - done) / rate);
		n += (size_t)snprintf(line + n, sizeof(line) - n, "  %s  ETA %s", r, eta);
	}
	if (!(running && total > 0) && n < sizeof(line))
		snprintf(line + n, sizeof(line) - n, "  %s", status);
	ctl_clean_text(buf, cap, line, strlen(line), 1, 0);
}

static void draw_bar(struct ctl *c, const char *status, int64_t done, int64_t total)
{
	char line[JQ_CTL_LINE_MAX];
	int cols = ctl_term_cols(c->out);
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

/* Catches Ctrl-C until release_sigint(), without SA_RESTART: it cuts a pause short, and
 * a request in flight stops through c->http.interrupted. */
static void catch_sigint(struct ctl *c, struct sigaction *old)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint;
	sigemptyset(&sa.sa_mask);
	interrupted = 0;
	sigaction(SIGINT, &sa, old);
	c->http.interrupted = &interrupted;
}

static void release_sigint(struct ctl *c, const struct sigaction *old)
{
	c->http.interrupted = NULL;
	sigaction(SIGINT, old, NULL);
}

/* The exit status of a wait for task id last seen as last, or -1 while it goes on. */
static int wait_over(struct ctl *c, int64_t id, const char *last, int64_t deadline,
		     int64_t timeout_s)
{
	char shown[512];
	int outcome = jq_ctl_task_outcome(last);
	ctl_clean_text(shown, sizeof(shown), last, strlen(last), 0, 0);
	if (outcome == 0)
		return JQ_CTL_EXIT_OK;
	if (outcome > 0)
		return ctl_failf(c, JQ_CTL_EXIT_FAIL, "task %" PRId64 " ended as '%s'", id, shown);
	if (deadline != 0 && jq_mono_us() >= deadline)
		return ctl_failf(c, JQ_CTL_EXIT_FAIL,
				 "task %" PRId64 " is still '%s' after %" PRId64
				 " s (--wait-timeout)",
				 id, shown, timeout_s);
	return -1;
}

/* One GET /task-status/id after a pause: -1 with *status its status (held by *body), or
 * the exit status of a failure or of Ctrl-C (the task was last). */
static int poll_task(struct ctl *c, int64_t id, const char *last, struct jq_httpc_reply *r,
		     json_t **body, const char **status)
{
	char path[64], shown[512];
	pause_ms(JQ_CTL_POLL_MS);
	int rc = interrupted ? JQ_CTL_EXIT_INTERRUPT : JQ_CTL_EXIT_OK;
	if (rc == JQ_CTL_EXIT_OK) {
		json_decref(*body);
		snprintf(path, sizeof(path), "/task-status/%" PRId64, id);
		rc = ctl_request(c, JQ_HTTPC_GET, path, NULL, NULL, r, body);
	}
	if (rc == JQ_CTL_EXIT_INTERRUPT) {
		ctl_clean_text(shown, sizeof(shown), last, strlen(last), 0, 0);
		return ctl_failf(c, JQ_CTL_EXIT_INTERRUPT,
				 "interrupted; task %" PRId64 " was '%s' and goes on", id, shown);
	}
	if (rc != JQ_CTL_EXIT_OK)
		return rc;
	*status = json_string_value(json_object_get(*body, "status"));
	return *status ? -1 : ctl_unexpected(c, "no string 'status'");
}

/* Shows a new status of task id: its answer r with --json, a bar redrawn on a terminal,
 * else a line. */
static void show_task(struct ctl *c, int64_t id, const struct jq_httpc_reply *r, const char *status,
		      int64_t done, int64_t total)
{
	if (c->json) {
		ctl_print_raw(c, r);
	} else if (c->tty) {
		draw_bar(c, status, done, total);
	} else {
		fprintf(c->out, "task %" PRId64 ": ", id);
		ctl_put_text(c->out, status);
		fputc('\n', c->out);
		fflush(c->out);
	}
}

int ctl_wait_task(struct ctl *c, int64_t id, const char *first_status, int64_t timeout_s)
{
	int status;
	char *last = strdup(first_status); /* the last status seen */
	int64_t done = 0, total = 0;       /* the last progress seen */
	int64_t deadline = timeout_s > 0 ? jq_mono_us() + timeout_s * 1000000 : 0;
	struct sigaction old_sa;
	struct jq_httpc_reply r;
	json_t *body = NULL;

	jq_httpc_reply_init(&r);
	if (last == NULL)
		return ctl_failf(c, JQ_CTL_EXIT_FAIL, "out of memory");
	catch_sigint(c, &old_sa);
	jq_ctl_parse_progress(last, &done, &total);
	if (c->tty && !c->json)
		draw_bar(c, last, done, total);
	while ((status = wait_over(c, id, last, deadline, timeout_s)) < 0) {
		const char *s = NULL;
		status = poll_task(c, id, last, &r, &body, &s);
		if (status >= 0)
			break;
		jq_ctl_parse_progress(s, &done, &total);
		if (strcmp(s, last) == 0)
			continue;
		char *copy = strdup(s);
		if (copy == NULL) {
			status = ctl_failf(c, JQ_CTL_EXIT_FAIL, "out of memory");
			break;
		}
		free(last);
		last = copy;
		show_task(c, id, &r, last, done, total);
	}
	ctl_end_bar(c);
	release_sigint(c, &old_sa);
	json_decref(body);
	jq_httpc_reply_release(&r);
	free(last);
	return status;
}

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
	int terminal; /* the job has ended: state says how */
	int events;   /* events taken from the stream now open */
	int failed;   /* -1, or the exit status of an error already reported */
	struct jq_ctl_rate rate;
	int64_t deadline;  /* of --wait-timeout, monotonic us (0: none) */
	int64_t timeout_s; /* --wait-timeout */
	int opened;        /* a stream was opened (2xx) once */
	int lost;          /* streams lost in a row */
};

static void draw_watch(struct watch *w)
{
	char line[JQ_CTL_LINE_MAX];
	struct ctl *c = w->c;
	int cols = ctl_term_cols(c->out);
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
		w->failed = ctl_unexpected(c, "an event without string 'state' and 'status'");
		json_decref(data);
		return 1;
	}
	w->events++;
	int repeat = w->last_data && strcmp(w->last_data, ev->data) == 0;
	free(w->last_data);
	w->last_data = strdup(ev->data);
	snprintf(w->state, sizeof(w->state), "%s", state);
	ctl_clean_text(w->status, sizeof(w->status), status, strlen(status), 0, 0);
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
		w->failed = ctl_unexpected(w->c, w->sse.errstr);
	return rc != 0;
}

/* Opens the stream of w's job at path once and reads it until it ends; returns
 * jq_httpc_stream's. */
static int read_stream(struct watch *w, const char *path, struct jq_httpc_reply *r)
{
	long max_ms = 0;
	int stopped = 0;
	if (w->deadline != 0) {
		int64_t left = (w->deadline - jq_mono_us()) / 1000;
		max_ms = left > 0 ? (long)left : 1;
	}
	w->events = 0;
	jq_sse_init(&w->sse);
	int rc = jq_httpc_stream(&w->c->http, path, max_ms, JQ_CTL_STREAM_IDLE_MS, on_watch_data, w,
				 &stopped, r);
	jq_sse_release(&w->sse);
	return rc;
}

/* Once a stream has ended (rc as read_stream returned): the exit status if the watch is
 * over (the job ended, an error, Ctrl-C, --wait-timeout), or -1. */
static int watch_over(struct watch *w, int rc)
{
	struct ctl *c = w->c;
	if (w->failed >= 0)
		return w->failed;
	if (w->terminal)
		return strcmp(w->state, "completed") == 0
			       ? JQ_CTL_EXIT_OK
			       : ctl_failf(c, JQ_CTL_EXIT_FAIL, "task %" PRId64 " ended as '%s'",
					   w->id, w->status);
	if (rc != 0 && c->http.err == JQ_HTTPC_EINTERRUPTED) {
		if (w->state[0])
			return ctl_failf(c, JQ_CTL_EXIT_INTERRUPT,
					 "interrupted; task %" PRId64 " was '%s' and goes on",
					 w->id, w->status);
		return ctl_failf(c, JQ_CTL_EXIT_INTERRUPT, "interrupted");
	}
	/* curl's clock may call time a little before ours does */
	int timed_out =
		rc != 0 && c->http.err == JQ_HTTPC_ETIMEOUT && jq_mono_us() >= w->deadline - 100000;
	if (w->deadline != 0 && (timed_out || jq_mono_us() >= w->deadline))
		return ctl_failf(c, JQ_CTL_EXIT_FAIL,
				 "task %" PRId64 " is still '%s' after %" PRId64
				 " s (--wait-timeout)",
				 w->id, w->state[0] ? w->status : "unknown", w->timeout_s);
	return -1;
}

/* Once a stream has ended before its job (rc, r: how): the exit status if opening it
 * again is no use (unknown job, refused, broker never reached), or -1 with why (cap
 * bytes) saying what became of it. */
static int stream_over(struct watch *w, int rc, const struct jq_httpc_reply *r, char *why,
		       size_t cap)
{
	struct ctl *c = w->c;
	if (rc == 0 && r->status == 404)
		return ctl_failf(c, JQ_CTL_EXIT_FAIL, "task %" PRId64 " not found", w->id);
	if (rc == 0 && (r->status < 200 || r->status > 299)) {
		jq_ctl_format_http_error(why, cap, r->status, r->body, r->len);
		if (!w->opened || r->status != 503) /* 503: Redis may be back soon */
			return ctl_failf(c, JQ_CTL_EXIT_FAIL, "%s", why);
	} else if (rc != 0) {
		if (!w->opened && r->status == 0) /* never reached the broker */
			return ctl_failf(c, JQ_CTL_EXIT_FAIL, "%s", c->http.errstr);
		snprintf(why, cap, "%s", c->http.errstr);
	} else {
		snprintf(why, cap, "the stream ended before the job did");
	}
	if (r->status >= 200 && r->status <= 299)
		w->opened = 1;
	return -1;
}

/* Counts a lost stream, says so and pauses before it is opened again: the exit status
 * when it was lost too many times in a row, else -1. */
static int stream_lost(struct watch *w, const char *why)
{
	struct ctl *c = w->c;
	if (w->events > 0)
		w->lost = 0; /* it was worth opening: a fresh count */
	if (++w->lost > JQ_CTL_STREAM_REOPENS)
		return ctl_failf(c, JQ_CTL_EXIT_FAIL,
				 "lost the event stream of task %" PRId64 " %d times in a row: %s",
				 w->id, JQ_CTL_STREAM_REOPENS, why);
	ctl_end_bar(c);
	fflush(c->out);
	fprintf(c->err, "jobctl: event stream of task %" PRId64 " lost (%s); reopening\n", w->id,
		why);
	long pause = JQ_CTL_REOPEN_PAUSE_MS << (w->lost - 1);
	pause_ms(pause < JQ_CTL_REOPEN_PAUSE_MAX_MS ? pause : JQ_CTL_REOPEN_PAUSE_MAX_MS);
	return -1;
}

int ctl_watch_job(struct ctl *c, int64_t id, int64_t timeout_s)
{
	struct watch w = {.c = c, .id = id, .draw = c->tty && !c->json, .failed = -1};
	struct sigaction old_sa;
	struct jq_httpc_reply r;
	char path[64], why[600];
	int status = ctl_connect(c);

	if (status != JQ_CTL_EXIT_OK)
		return status;
	w.timeout_s = timeout_s;
	w.deadline = timeout_s > 0 ? jq_mono_us() + timeout_s * 1000000 : 0;
	jq_httpc_reply_init(&r);
	jq_ctl_rate_init(&w.rate);
	snprintf(path, sizeof(path), "/jobs/%" PRId64 "/events", id);
	catch_sigint(c, &old_sa);
	do {
		int rc = read_stream(&w, path, &r);
		status = watch_over(&w, rc);
		if (status < 0)
			status = stream_over(&w, rc, &r, why, sizeof(why));
		if (status < 0)
			status = stream_lost(&w, why);
	} while (status < 0);
	ctl_end_bar(c);
	release_sigint(c, &old_sa);
	jq_httpc_reply_release(&r);
	free(w.last_data);
	return status;
}
