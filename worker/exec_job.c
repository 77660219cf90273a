/* exec_job.c: the exec job: allowed programs spawned without a shell, their pipes
 * on the loop; see exec_job.h. */
#include "exec_job.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "codec.h"
#include "contain.h"
#include "handlers.h"
#include "secrets.h"
#include "keys.h"
#include "log.h"
#include "util.h"

/* the exit of a child without a pidfd (old kernels) is polled this often */
#define REAP_POLL_MS 50
/* at exit, at most this much more output is read from pipes a grandchild may still fill */
#define DRAIN_MAX (4 * 1024 * 1024)
/* read per wake-up, so a program that writes without pause cannot hold the loop */
#define READ_SLICE (64 * 1024)
#define ENV_MAX 16

struct jq_exec {
	struct event_base *base;
	struct jq_exec_command cmds[JQ_EXEC_COMMANDS_MAX];
	int n;
	char names[JQ_EXEC_COMMANDS_MAX * (JQ_EXEC_NAME_MAX + 2) + 1];
	struct child *children;     /* every child not yet reaped and done with */
	struct jq_contain *contain; /* how a job's processes are kept together (contain.h) */
};

/* One spawned program. Owned by x's list; run points back while a job waits for it. */
struct child {
	struct jq_exec *x;
	struct jq_run *run; /* NULL once the job let go (timeout, cancel): only stop and reap */
	char name[JQ_EXEC_NAME_MAX + 1];
	const char *path; /* the command's, in x */
	pid_t pid;        /* the supervisor's (contain.h): its exit is the end of every process */
	int pidfd;        /* -1: exit polled on a timer */
	int status_fd;    /* the supervisor's report (jq_contain_outcome), -1 once read */
	int exited, status;
	int status_lost; /* reaped by someone else (ECHILD): the outcome is unknown */
	char *not_run;   /* why the program did not run or its status is unknown, or NULL */
	int in_fd, out_fd, err_fd; /* -1 once closed */
	struct event *exit_ev, *in_ev, *out_ev, *err_ev, *kill_ev, *progress_ev;
	char *input; /* owned; written to stdin from input_off on */
	size_t input_len, input_off;
	char *out; /* first JQ_EXEC_STDOUT_MAX bytes of stdout; not NUL-terminated */
	size_t out_len, out_cap;
	int out_truncated;
	char line[JQ_EXEC_STDERR_LINE_MAX]; /* the stderr line being read */
	size_t line_len;
	char tail[JQ_EXEC_STDERR_TAIL]; /* the last other stderr lines, '\n'-separated */
	size_t tail_len;
	int64_t done, total;           /* last progress read */
	int64_t sent_done, sent_total; /* last progress reported (-1: none) */
	int64_t sent_at_us;
	int killed_hard; /* SIGKILL was sent */
	int64_t term_us; /* when SIGTERM was sent (monotonic), 0: not yet */
	struct child *prev, *next;
};

/* ---- pure parts ---- */

int jq_exec_spec_parse(const char *spec, struct jq_exec_command *cmds, int *n, int cap, char *err,
		       size_t errlen)
{
	const char *p = spec;
	for (;;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		if (!eq) {
			snprintf(err, errlen, "exec command '%.*s' must be NAME=/absolute/path",
				 (int)(len > 200 ? 200 : len), p);
			return -1;
		}
		size_t nlen = (size_t)(eq - p), plen = len - nlen - 1;
		if (nlen == 0 || nlen > JQ_EXEC_NAME_MAX || !jq_name_valid(p, nlen)) {
			snprintf(err, errlen,
				 "exec command name '%.*s' must be 1 to %d of [A-Za-z0-9_.:-]",
				 (int)(nlen > 200 ? 200 : nlen), p, JQ_EXEC_NAME_MAX);
			return -1;
		}
		if (plen == 0 || eq[1] != '/' || plen > JQ_EXEC_PATH_MAX) {
			snprintf(err, errlen,
				 "exec command '%.*s' needs an absolute path of at most %d bytes",
				 (int)nlen, p, JQ_EXEC_PATH_MAX);
			return -1;
		}
		for (int i = 0; i < *n; i++)
			if (strlen(cmds[i].name) == nlen && memcmp(cmds[i].name, p, nlen) == 0) {
				snprintf(err, errlen, "exec command '%.*s' is given twice",
					 (int)nlen, p);
				return -1;
			}
		if (*n == cap) {
			snprintf(err, errlen, "at most %d exec commands", cap);
			return -1;
		}
		memcpy(cmds[*n].name, p, nlen);
		cmds[*n].name[nlen] = '\0';
		memcpy(cmds[*n].path, eq + 1, plen);
		cmds[*n].path[plen] = '\0';
		(*n)++;
		if (!end)
			return 0;
		p = end + 1;
	}
}

/* Reads an unsigned decimal at *s (at most 18 digits, so it fits). */
static int read_count(const char **s, const char *end, int64_t *out)
{
	const char *p = *s;
	int64_t v = 0;
	while (p < end && *p >= '0' && *p <= '9' && p - *s < 18)
		v = v * 10 + (*p++ - '0');
	if (p == *s || (p < end && *p >= '0' && *p <= '9'))
		return -1;
	*s = p;
	*out = v;
	return 0;
}

int jq_exec_progress_line(const char *line, size_t len, int64_t *done, int64_t *total)
{
	const char *p = line, *end = line + len;
	int64_t d, t;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if ((size_t)(end - p) < 9 || memcmp(p, "progress", 8) != 0 || (p[8] != ' ' && p[8] != '\t'))
		return -1;
	p += 8;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (read_count(&p, end, &d) != 0 || p == end || *p++ != '/' || read_count(&p, end, &t) != 0)
		return -1;
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
		p++;
	if (p != end || t < 1 || d > t)
		return -1;
	*done = d;
	*total = t;
	return 0;
}

/* ---- the allow list ---- */

struct jq_exec *jq_exec_new(struct event_base *base, const struct jq_exec_command *cmds, int n,
			    const char *contain, char *err, size_t errlen)
{
	enum jq_contain_mode mode;
	if (n > JQ_EXEC_COMMANDS_MAX) {
		snprintf(err, errlen, "at most %d exec commands", JQ_EXEC_COMMANDS_MAX);
		return NULL;
	}
	if (jq_contain_mode_parse(contain ? contain : "auto", &mode) != 0) {
		snprintf(err, errlen,
			 "--exec-contain must be auto, pidns, userns or subreaper, not '%.64s'",
			 contain);
		return NULL;
	}
	for (int i = 0; i < n; i++) {
		struct stat st;
		const char *why = NULL;
		if (stat(cmds[i].path, &st) != 0)
			why = strerror(errno);
		else if (!S_ISREG(st.st_mode))
			why = "not a regular file";
		else if (access(cmds[i].path, X_OK) != 0)
			why = strerror(errno);
		if (why) {
			snprintf(err, errlen, "exec command '%s': cannot run '%s': %s",
				 cmds[i].name, cmds[i].path, why);
			return NULL;
		}
	}
	struct jq_exec *x = calloc(1, sizeof(*x));
	if (!x) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	x->base = base;
	x->n = n;
	if (n && !(x->contain = jq_contain_new(mode, err, errlen))) {
		free(x);
		return NULL;
	}
	if (n && jq_contain_degraded(x->contain))
		jq_warn("exec jobs are contained by %s", jq_contain_describe(x->contain));
	else if (n)
		jq_info("exec jobs are contained by %s", jq_contain_describe(x->contain));
	size_t off = 0;
	for (int i = 0; i < n; i++) {
		x->cmds[i] = cmds[i];
		off += (size_t)snprintf(x->names + off, sizeof(x->names) - off, "%s%s",
					i ? ", " : "", cmds[i].name);
	}
	return x;
}

const struct jq_exec_command *jq_exec_find(const struct jq_exec *x, const char *name)
{
	for (int i = 0; x && i < x->n; i++)
		if (strcmp(x->cmds[i].name, name) == 0)
			return &x->cmds[i];
	return NULL;
}

const char *jq_exec_names(const struct jq_exec *x)
{
	return x ? x->names : "";
}

/* ---- a child's life ---- */

static void close_fd(int *fd, struct event **ev)
{
	if (*ev) {
		event_free(*ev);
		*ev = NULL;
	}
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

static void child_free(struct child *c)
{
	struct jq_exec *x = c->x;
	if (c->prev)
		c->prev->next = c->next;
	else
		x->children = c->next;
	if (c->next)
		c->next->prev = c->prev;
	close_fd(&c->in_fd, &c->in_ev);
	close_fd(&c->out_fd, &c->out_ev);
	close_fd(&c->err_fd, &c->err_ev);
	close_fd(&c->pidfd, &c->exit_ev);
	if (c->status_fd >= 0)
		close(c->status_fd);
	if (c->kill_ev)
		event_free(c->kill_ev);
	if (c->progress_ev)
		event_free(c->progress_ev);
	free(c->input);
	free(c->out);
	free(c->not_run);
	free(c);
}

static void report_progress(struct child *c)
{
	if (!c->run || (c->done == c->sent_done && c->total == c->sent_total))
		return;
	c->sent_done = c->done;
	c->sent_total = c->total;
	c->sent_at_us = jq_mono_us();
	jq_run_progress(c->run, c->done, c->total);
}

static void progress_cb(evutil_socket_t fd, short what, void *arg)
{
	report_progress(arg);
}

static void tail_add(struct child *c, const char *s, size_t n)
{
	if (n + 1 > sizeof(c->tail)) {
		s += n + 1 - sizeof(c->tail);
		n = sizeof(c->tail) - 1;
	}
	if (c->tail_len + n + 1 > sizeof(c->tail)) {
		/* drop the oldest bytes to keep the newest */
		size_t drop = c->tail_len + n + 1 - sizeof(c->tail);
		memmove(c->tail, c->tail + drop, c->tail_len - drop);
		c->tail_len -= drop;
	}
	memcpy(c->tail + c->tail_len, s, n);
	c->tail_len += n;
	c->tail[c->tail_len++] = '\n';
}

static void stderr_line(struct child *c, const char *s, size_t n)
{
	int64_t done, total;
	if (jq_exec_progress_line(s, n, &done, &total) != 0) {
		if (n && s[n - 1] == '\r')
			n--;
		if (n)
			tail_add(c, s, n);
		return;
	}
	c->done = done;
	c->total = total;
	int64_t since_ms = (jq_mono_us() - c->sent_at_us) / 1000;
	if (since_ms >= JQ_EXEC_PROGRESS_MIN_MS) {
		report_progress(c);
	} else if (c->progress_ev && !evtimer_pending(c->progress_ev, NULL)) {
		/* reported a moment ago: the latest value goes out when the interval is over */
		int64_t wait_ms = JQ_EXEC_PROGRESS_MIN_MS - since_ms;
		struct timeval tv = {0, (suseconds_t)(wait_ms * 1000)};
		evtimer_add(c->progress_ev, &tv);
	}
}

/* Reads what a pipe has now (at most limit bytes). 1 at end of file (or a read error). */
static int read_pipe(struct child *c, int is_err, size_t limit)
{
	int fd = is_err ? c->err_fd : c->out_fd;
	char buf[16384];
	size_t got = 0;
	while (fd >= 0 && got < limit) {
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (r <= 0)
			return 1;
		got += (size_t)r;
		if (!is_err) {
			size_t take = (size_t)r;
			if (c->out_len + take > JQ_EXEC_STDOUT_MAX) {
				take = JQ_EXEC_STDOUT_MAX - c->out_len;
				c->out_truncated = 1; /* keep reading, so the child never blocks */
			}
			if (take && c->out_len + take > c->out_cap) {
				size_t cap = c->out_cap ? c->out_cap : 16384;
				while (cap < c->out_len + take)
					cap *= 2;
				if (cap > JQ_EXEC_STDOUT_MAX)
					cap = JQ_EXEC_STDOUT_MAX;
				char *p = realloc(c->out, cap);
				if (!p) {
					c->out_truncated = 1;
					continue;
				}
				c->out = p;
				c->out_cap = cap;
			}
			if (take) {
				memcpy(c->out + c->out_len, buf, take);
				c->out_len += take;
			}
			continue;
		}
		for (ssize_t i = 0; i < r; i++) {
			if (buf[i] == '\n') {
				stderr_line(c, c->line, c->line_len);
				c->line_len = 0;
				continue;
			}
			if (c->line_len == sizeof(c->line)) {
				stderr_line(c, c->line, c->line_len);
				c->line_len = 0;
			}
			c->line[c->line_len++] = buf[i];
		}
	}
	return 0;
}

static void out_cb(evutil_socket_t fd, short what, void *arg)
{
	struct child *c = arg;
	if (read_pipe(c, 0, READ_SLICE))
		close_fd(&c->out_fd, &c->out_ev);
}

static void err_cb(evutil_socket_t fd, short what, void *arg)
{
	struct child *c = arg;
	if (read_pipe(c, 1, READ_SLICE)) {
		if (c->line_len)
			stderr_line(c, c->line, c->line_len);
		c->line_len = 0;
		close_fd(&c->err_fd, &c->err_ev);
	}
}

static void in_cb(evutil_socket_t fd, short what, void *arg)
{
	struct child *c = arg;
	while (c->input_off < c->input_len) {
		ssize_t w = write(c->in_fd, c->input + c->input_off, c->input_len - c->input_off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (w < 0)
			break; /* EPIPE: the program does not read its input, which is its business */
		c->input_off += (size_t)w;
	}
	close_fd(&c->in_fd, &c->in_ev); /* end of file for the program */
}

static const char *signal_name(int sig)
{
	const char *s = sigabbrev_np(sig);
	return s ? s : "?";
}

/* The job's outcome from a child that exited, its pipes drained. */
static void child_report(struct child *c)
{
	struct jq_run *run = c->run;
	c->run = NULL;
	run->hdata = NULL;
	if (c->progress_ev && evtimer_pending(c->progress_ev, NULL)) {
		evtimer_del(c->progress_ev);
		c->run = run;
		report_progress(c);
		c->run = NULL;
	}
	size_t tlen = 0;
	char *tail = jq_utf8_sanitize(
		c->tail,
		c->tail_len && c->tail[c->tail_len - 1] == '\n' ? c->tail_len - 1 : c->tail_len,
		&tlen);
	char *text = NULL;
	int ok = 0;
	if (c->not_run) {
		text = jq_strdup_printf("command '%s': %s%s%s", c->name, c->not_run,
					tlen ? ": " : "", tail ? tail : "");
	} else if (c->status_lost) {
		text = jq_strdup_printf("command '%s' ended but its exit status was lost (reaped "
					"elsewhere)%s%s",
					c->name, tlen ? ": " : "", tail ? tail : "");
	} else if (WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0) {
		json_t *output = NULL;
		if (!c->out_truncated && c->out_len)
			output = json_loadb(c->out, c->out_len, JSON_DECODE_ANY, NULL);
		if (!output && c->out_len) {
			size_t slen;
			char *s = jq_utf8_sanitize(c->out, c->out_len, &slen);
			output = s ? json_stringn(s, slen) : NULL;
			free(s);
		}
		json_t *result =
			json_pack("{s:i, s:o, s:b}", "exit_code", 0, "output",
				  output ? output : json_null(), "truncated", c->out_truncated);
		text = result ? json_dumps(result, JSON_COMPACT) : NULL;
		json_decref(result);
		ok = text != NULL;
		if (!text)
			text = strdup("cannot write the result: out of memory");
	} else if (WIFEXITED(c->status)) {
		text = jq_strdup_printf("command '%s' exited with status %d%s%s", c->name,
					WEXITSTATUS(c->status), tlen ? ": " : "", tail ? tail : "");
	} else {
		int sig = WIFSIGNALED(c->status) ? WTERMSIG(c->status) : 0;
		text = jq_strdup_printf("command '%s' was killed by signal %d (SIG%s)%s%s", c->name,
					sig, signal_name(sig), tlen ? ": " : "", tail ? tail : "");
	}
	free(tail);
	child_free(c);
	jq_run_done(run, ok, text ? text : "command failed (out of memory for the reason)");
	free(text);
}

static void child_exited(struct child *c)
{
	close_fd(&c->pidfd, &c->exit_ev);
	if (c->run) {
		/* whatever the program wrote before it exited is in the pipes now; a
		 * grandchild that holds them open is not waited for */
		read_pipe(c, 0, DRAIN_MAX);
		read_pipe(c, 1, DRAIN_MAX);
		if (c->line_len)
			stderr_line(c, c->line, c->line_len);
		c->line_len = 0;
		/* the supervisor is gone, and with it whatever the program left running (a
		 * daemon it started, a `cmd &` it did not wait for): contain.h */
		child_report(c);
		return;
	}
	child_free(c); /* a stopped one: all of it is gone */
}

/* 1 if the child has exited (and is reaped now). */
static int child_reap(struct child *c)
{
	if (c->exited)
		return 1;
	int st;
	pid_t r;
	do
		r = waitpid(c->pid, &st, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == c->pid || (r < 0 && errno == ECHILD)) {
		/* ECHILD: someone else reaped it (SIGCHLD ignored, a stray wait): the outcome is
		 * unknown, so the job fails rather than passing as a success */
		c->exited = 1;
		c->status_lost = r != c->pid;
		c->status = 0;
		char why[512];
		if (r == c->pid && jq_contain_outcome(c->status_fd, st, c->path, &c->status, why,
						      sizeof(why)) != 0)
			c->not_run = strdup(why);
		return 1;
	}
	return 0;
}

static void exit_cb(evutil_socket_t fd, short what, void *arg)
{
	struct child *c = arg;
	if (child_reap(c))
		child_exited(c);
}

static void kill_cb(evutil_socket_t fd, short what, void *arg)
{
	struct child *c = arg;
	jq_contain_kill(c->x->contain, c->pid);
	c->killed_hard = 1;
	/* the exit event frees it */
}

/* Stops a child whose job let go: SIGTERM to its group now, SIGKILL after the grace. */
static void child_stop(struct child *c)
{
	c->run = NULL;
	close_fd(&c->in_fd, &c->in_ev);
	close_fd(&c->out_fd, &c->out_ev);
	close_fd(&c->err_fd, &c->err_ev);
	if (c->progress_ev)
		evtimer_del(c->progress_ev);
	jq_contain_term(c->x->contain, c->pid);
	c->term_us = jq_mono_us();
	struct timeval tv = {JQ_EXEC_KILL_GRACE_MS / 1000, (JQ_EXEC_KILL_GRACE_MS % 1000) * 1000};
	if (!c->kill_ev || evtimer_add(c->kill_ev, &tv) != 0) {
		jq_contain_kill(c->x->contain, c->pid); /* no timer: no grace */
		c->killed_hard = 1;
	}
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* The child's environment: a few harmless variables of the worker's, the job's id, and
 * the request's trace context. */
static int child_env(const struct jq_run *run, char env[ENV_MAX][512], char **envp)
{
	static const char *const keep[] = {"HOME", "LANG", "LC_ALL", "TZ", "TMPDIR"};
	int n = 0;
	const char *path = getenv("PATH");
	snprintf(env[n], sizeof(env[n]), "PATH=%s",
		 path && strlen(path) < 400 ? path : "/usr/local/bin:/usr/bin:/bin");
	n++;
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		const char *v = getenv(keep[i]);
		if (v && strlen(v) < 400)
			snprintf(env[n++], sizeof(env[0]), "%s=%s", keep[i], v);
	}
	snprintf(env[n++], sizeof(env[0]), "JOBQ_JOB_ID=%" PRId64, run->id);
	snprintf(env[n++], sizeof(env[0]), "JOBQ_JOB_ATTEMPT=%" PRId64, run->attempts);
	snprintf(env[n++], sizeof(env[0]), "JOBQ_JOB_QUEUE=%s", run->queue);
	if (run->traceparent
		    [0]) /* the W3C trace context, as OpenTelemetry's env carrier names it */
		snprintf(env[n++], sizeof(env[0]), "TRACEPARENT=%s", run->traceparent);
	for (int i = 0; i < n; i++)
		envp[i] = env[i];
	envp[n] = NULL;
	return n;
}

/* Spawns cmd for req under its supervisor (contain.h). 0 with *out, or -1 with err
 * (nothing left behind). */
/* The three pipes of a child, close-on-exec, the worker's ends non-blocking: 0, or -1
 * with errno (what was made stays in the arrays, -1 elsewhere). */
static int make_pipes(int in[2], int o[2], int e[2])
{
	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(o, O_CLOEXEC) != 0 || pipe2(e, O_CLOEXEC) != 0 ||
	    set_nonblock(in[1]) != 0 || set_nonblock(o[0]) != 0 || set_nonblock(e[0]) != 0)
		return -1;
	return 0;
}

/* Links the running child c into x's list and watches its exit (its pidfd, else a poll
 * every REAP_POLL_MS), its pipes and its timers: 0, or -1 out of memory (c is linked
 * still, for child_stop). */
static int child_watch(struct jq_exec *x, struct child *c)
{
	c->pidfd = pidfd_open(c->pid, 0);
	if (c->pidfd >= 0) {
		c->exit_ev = event_new(x->base, c->pidfd, EV_READ | EV_PERSIST, exit_cb, c);
	} else {
		c->exit_ev = event_new(x->base, -1, EV_PERSIST, exit_cb, c);
	}
	c->in_ev = event_new(x->base, c->in_fd, EV_WRITE | EV_PERSIST, in_cb, c);
	c->out_ev = event_new(x->base, c->out_fd, EV_READ | EV_PERSIST, out_cb, c);
	c->err_ev = event_new(x->base, c->err_fd, EV_READ | EV_PERSIST, err_cb, c);
	c->kill_ev = evtimer_new(x->base, kill_cb, c);
	c->progress_ev = evtimer_new(x->base, progress_cb, c);
	c->next = x->children;
	if (x->children)
		x->children->prev = c;
	x->children = c;
	struct timeval poll = {0, REAP_POLL_MS * 1000};
	if (!c->exit_ev || !c->in_ev || !c->out_ev || !c->err_ev || !c->kill_ev ||
	    !c->progress_ev || event_add(c->exit_ev, c->pidfd >= 0 ? NULL : &poll) != 0 ||
	    event_add(c->in_ev, NULL) != 0 || event_add(c->out_ev, NULL) != 0 ||
	    event_add(c->err_ev, NULL) != 0)
		return -1;
	return 0;
}

static int child_spawn(struct jq_exec *x, struct jq_run *run, const struct jq_exec_command *cmd,
		       struct jq_exec_request *req, struct child **out, char *err, size_t errlen)
{
	int in[2] = {-1, -1}, o[2] = {-1, -1}, e[2] = {-1, -1};
	struct child *c = NULL;
	char **argv = NULL;
	int rc = -1, status_fd = -1;
	char env[ENV_MAX][512];
	char *envp[ENV_MAX + JQ_SECRETS_MAX + 1];
	char **secret_env = NULL; /* secrets.h: the payload's "secret_env", after envp's own */

	if (make_pipes(in, o, e) != 0) {
		snprintf(err, errlen, "cannot make pipes: %s", strerror(errno));
		goto done;
	}
	argv = calloc(req->nargs + 2, sizeof(*argv));
	c = calloc(1, sizeof(*c));
	if (!argv || !c) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	argv[0] = (char *)cmd->path;
	for (size_t i = 0; i < req->nargs; i++)
		argv[i + 1] = req->args[i];
	int nenv = child_env(run, env, envp);
	if (jq_secrets_env(run->secrets, run->secrets_len, run->payload, envp + nenv,
			   JQ_SECRETS_MAX, err, errlen) < 0)
		goto done;
	secret_env = envp + nenv;

	pid_t pid;
	char why[256];
	if (jq_contain_spawn(x->contain, cmd->path, argv, envp, in[0], o[1], e[1], &pid, &status_fd,
			     why, sizeof(why)) != 0) {
		snprintf(err, errlen, "cannot run command '%s' ('%.200s'): %.200s", cmd->name,
			 cmd->path, why);
		goto done;
	}
	c->x = x;
	c->run = run;
	c->pid = pid;
	c->status_fd = status_fd;
	c->path = cmd->path;
	snprintf(c->name, sizeof(c->name), "%s", cmd->name);
	c->sent_done = c->sent_total = -1;
	c->in_fd = in[1];
	c->out_fd = o[0];
	c->err_fd = e[0];
	in[1] = o[0] = e[0] = -1;
	c->input = req->input;
	c->input_len = req->input_len;
	req->input = NULL;
	if (child_watch(x, c) != 0) {
		snprintf(err, errlen, "cannot watch command '%s': out of memory", cmd->name);
		/* the program runs already: stop it like a cancelled one (jq_exec_free
		 * reaps it if its exit cannot be watched) */
		child_stop(c);
		c = NULL;
		goto done;
	}
	*out = c;
	c = NULL;
	rc = 0;
done:
	jq_secrets_env_free(secret_env);
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (o[i] >= 0)
			close(o[i]);
		if (e[i] >= 0)
			close(e[i]);
	}
	free(c);
	free(argv);
	return rc;
}

/* ---- the handler ---- */

int jq_exec_start(struct jq_run *run, char *err, size_t errlen)
{
	struct jq_exec *x = jq_run_exec(run);
	struct jq_exec_request req;
	if (jq_exec_request_parse(&req, run->payload, err, errlen) != 0)
		return -1;
	const struct jq_exec_command *cmd = jq_exec_find(x, req.name);
	if (!cmd) {
		if (x && x->n)
			snprintf(err, errlen,
				 "command '%s' is not allowed on this worker (allowed: %s)",
				 req.name, x->names);
		else
			snprintf(err, errlen,
				 "command '%s' is not allowed on this worker (it allows none: see "
				 "--exec)",
				 req.name);
		jq_exec_request_release(&req);
		return -1;
	}
	char *probe[JQ_SECRETS_MAX + 1]; /* a bad "secret_env" cannot mend: no retry */
	if (jq_secrets_env(run->secrets, run->secrets_len, run->payload, probe, JQ_SECRETS_MAX, err,
			   errlen) < 0) {
		jq_exec_request_release(&req);
		return -1;
	}
	jq_secrets_env_free(probe);
	struct child *c = NULL;
	char why[512];
	if (child_spawn(x, run, cmd, &req, &c, why, sizeof(why)) != 0) {
		/* a missing program or no fds can mend, or be fine on another worker: retry */
		jq_exec_request_release(&req);
		jq_run_done(run, 0, why);
		return 0;
	}
	jq_exec_request_release(&req);
	run->hdata = c;
	jq_run_log(run, JQ_LOG_DEBUG, "job %" PRId64 ": command '%s' runs under supervisor pid %d",
		   run->id, cmd->name, (int)c->pid);
	return 0;
}

void jq_exec_cancel(struct jq_run *run)
{
	struct child *c = run->hdata;
	if (!c)
		return;
	run->hdata = NULL;
	child_stop(c);
}

void jq_exec_free(struct jq_exec *x)
{
	if (!x)
		return;
	/* Every job has let go of its child by now (the worker cancels running jobs first),
	 * but the loop is over: the SIGTERM grace is kept here, polling, so a program still
	 * gets its JQ_EXEC_KILL_GRACE_MS to clean up before SIGKILL. At most that long in
	 * all, as the children's graces run at once. */
	for (struct child *c = x->children; c; c = c->next) {
		if (!c->exited && !c->killed_hard && !c->term_us) {
			jq_contain_term(x->contain, c->pid);
			c->term_us = jq_mono_us();
		}
	}
	while (x->children) {
		struct child *c = x->children;
		int st;
		while (!c->exited && !c->killed_hard &&
		       jq_mono_us() < c->term_us + JQ_EXEC_KILL_GRACE_MS * 1000LL) {
			pid_t got = waitpid(c->pid, &st, WNOHANG);
			if (got == c->pid || (got < 0 && errno != EINTR))
				c->exited = 1;
			else
				usleep(10000);
		}
		if (!c->exited) {
			jq_contain_kill(x->contain, c->pid); /* every process of the job */
			while (waitpid(c->pid, &st, 0) < 0 && errno == EINTR)
				;
		}
		child_free(c);
	}
	jq_contain_free(x->contain);
	free(x);
}
