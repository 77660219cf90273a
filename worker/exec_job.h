/* exec_job.h: the exec job type: runs a program that the worker's config allows by name.
 *
 * The worker is started with `--exec NAME=/abs/path` (repeatable, or several
 * comma-separated; env JOBQ_EXEC). A job {"command": NAME, "args"?: [strings],
 * "input"?: any} runs that program, never a shell and never a path from the
 * payload: argv = [path, args...], stdin = "input" as one line of JSON (the whole
 * payload when "input" is absent), then end of file.
 *
 * The program runs under a supervisor of its own (contain.h, chosen by
 * --exec-contain): every process it starts, setsid() and double-forked daemons
 * included, ends with its job, and with the worker should the worker die (kill -9
 * too). It runs in its own process group, with only fds 0-2 open, signals at
 * their defaults and a small environment (PATH, HOME, LANG, LC_ALL, TZ, TMPDIR
 * as the worker has them, plus JOBQ_JOB_ID, JOBQ_JOB_ATTEMPT, JOBQ_JOB_QUEUE);
 * none of the worker's secrets. Its pipes are read by libevent events on the
 * worker's loop and its supervisor's exit is seen through a pidfd: nothing blocks
 * the loop, and only the supervisors are ever waited for.
 *
 * - stdout (first JQ_EXEC_STDOUT_MAX bytes) is the result:
 *   {"exit_code": 0, "output": stdout as JSON if it parses, else as a string
 *   (null when empty), "truncated": bool}.
 * - stderr lines "progress N/M" report progress (at most every
 *   JQ_EXEC_PROGRESS_MIN_MS); other lines are kept as a tail of at most
 *   JQ_EXEC_STDERR_TAIL bytes for the error text.
 * - exit 0: completed; another status or a signal: a failed attempt, retried
 *   while attempts remain; a command this worker does not allow, or a bad
 *   payload: failed at once, never retried. Whatever the program leaves running
 *   is SIGKILLed when it exits.
 * - timeout, cancel, lost lease, shutdown: SIGTERM to every process of the job,
 *   then SIGKILL to all after JQ_EXEC_KILL_GRACE_MS (at once when the program
 *   exits sooner); the supervisor is reaped either way. */
#ifndef JQ_EXEC_JOB_H
#define JQ_EXEC_JOB_H

#include <event2/event.h>
#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#include "exec_request.h"

#define JQ_EXEC_COMMANDS_MAX 64
#define JQ_EXEC_PATH_MAX 1024
#define JQ_EXEC_STDOUT_MAX (1024 * 1024)
#define JQ_EXEC_STDERR_TAIL 2048
#define JQ_EXEC_STDERR_LINE_MAX 4096 /* a longer stderr line is cut into pieces */
#define JQ_EXEC_KILL_GRACE_MS 2000
#define JQ_EXEC_PROGRESS_MIN_MS 100

struct jq_exec_command {
	char name[JQ_EXEC_NAME_MAX + 1];
	char path[JQ_EXEC_PATH_MAX + 1];
};

/* Adds the commands of one allow-list value, "NAME=/abs/path" or several
 * comma-separated, to cmds[0..*n) (at most cap). Names are job-type-like
 * names, paths absolute; a name given twice is refused. Touches no file. */
int jq_exec_spec_parse(const char *spec, struct jq_exec_command *cmds, int *n, int cap, char *err,
		       size_t errlen);

/* 0 and done/total if line (len bytes, no line end) is "progress N/M" with
 * 0 <= N <= M, 1 <= M (spaces around allowed); -1 for any other line. */
int jq_exec_progress_line(const char *line, size_t len, int64_t *done, int64_t *total);

/* The worker's exec side: the allowed commands, and children being stopped. */
struct jq_exec;

/* Checks that every path is an executable file and, when there are commands, chooses
 * how their jobs are contained: contain is a jq_contain_mode_parse() word (NULL:
 * "auto"); the choice is logged. NULL with err on failure. */
struct jq_exec *jq_exec_new(struct event_base *base, const struct jq_exec_command *cmds, int n,
			    const char *contain, char *err, size_t errlen);
/* SIGKILLs every child still around and reaps it (briefly blocking: for exit). */
void jq_exec_free(struct jq_exec *x);
/* The allowed command of that name, or NULL. */
const struct jq_exec_command *jq_exec_find(const struct jq_exec *x, const char *name);
/* "a, b, c" for messages; "" when none. */
const char *jq_exec_names(const struct jq_exec *x);

#endif
