/* contain.h: keeps every process an exec job starts inside that job.
 *
 * A program is never started straight from the worker. The worker starts a small
 * supervisor (this same binary, re-executed from /proc/self/exe with
 * JQ_CONTAIN_INIT_ARG: jq_contain_init_main), and the supervisor starts the program.
 * What holds the job's processes together is the mode:
 *
 * - pidns: the supervisor is process 1 of a new PID namespace. Everything the program
 *   starts (setsid() and double-forked daemons included) lives in that namespace, and
 *   the kernel SIGKILLs every process of it when its process 1 ends. The supervisor gets
 *   PR_SET_PDEATHSIG(SIGKILL): the worker's death (kill -9 too) ends the namespace.
 *   Needs CAP_SYS_ADMIN (root).
 * - userns: the same inside a new user namespace that maps only the worker's own uid
 *   and gid (so it needs no privilege, where the kernel lets unprivileged users make
 *   user namespaces). The program runs with its usual ids; files of other users show
 *   as the overflow id.
 * - subreaper: no namespace. The supervisor is a child subreaper
 *   (PR_SET_CHILD_SUBREAPER), so orphans of the program's tree (setsid(), double fork)
 *   become its children, and it SIGKILLs its whole tree (found in /proc) when the
 *   program ends, when the worker says so and when the worker dies
 *   (PR_SET_PDEATHSIG(SIGHUP), caught). Only a SIGKILL of the supervisor itself lets
 *   the program's descendants outlive it (the program has PR_SET_PDEATHSIG(SIGKILL)).
 *
 * jq_contain_new(AUTO) takes the first of pidns, userns, subreaper that works here.
 *
 * In every mode: when the program exits, the job is over and whatever it left running
 * is SIGKILLed at once; jq_contain_term() forwards SIGTERM to every process of the job;
 * jq_contain_kill() SIGKILLs them all. The supervisor's own exit means every process of
 * the job is gone. The program runs in its own process group, signals at their
 * defaults and unblocked, with fds 0-2 as given and nothing else, and the environment
 * given. In a PID namespace it sees itself as pid 2 (getpid()), while /proc is the
 * host's (/proc/self shows its host pid).
 *
 * PR_SET_PDEATHSIG follows the thread that created the supervisor, not the process:
 * jq_contain_spawn() refuses to run on any thread but the main one (the worker's loop),
 * whose end is the process's end. */
#ifndef JQ_CONTAIN_H
#define JQ_CONTAIN_H

#include <stddef.h>
#include <sys/types.h>

#define JQ_CONTAIN_INIT_ARG "--jobq-contain-init" /* argv[1] of a supervisor */

enum jq_contain_mode {
	JQ_CONTAIN_AUTO,
	JQ_CONTAIN_PIDNS,
	JQ_CONTAIN_USERNS,
	JQ_CONTAIN_SUBREAPER,
};

/* "auto", "pidns", "userns" or "subreaper". 0, or -1 for another word. */
int jq_contain_mode_parse(const char *s, enum jq_contain_mode *m);
const char *jq_contain_mode_name(enum jq_contain_mode m);

struct jq_contain;

/* Chooses the mode (AUTO: the strongest that works, tried by starting a process that
 * exits at once) or checks that the one asked for works. NULL with err when a mode
 * asked for by name is not available. */
struct jq_contain *jq_contain_new(enum jq_contain_mode want, char *err, size_t errlen);
void jq_contain_free(struct jq_contain *k);
enum jq_contain_mode jq_contain_mode(const struct jq_contain *k);
/* One line for the log: the mode and, when AUTO fell back, why the stronger ones were
 * not available ("" reasons when none was needed). */
const char *jq_contain_describe(const struct jq_contain *k);
/* 1 if AUTO had to settle for less than a PID namespace. */
int jq_contain_degraded(const struct jq_contain *k);

/* Starts path with argv (argv[0] included, NULL-terminated) and envp under a new
 * supervisor, its fds 0-2 dup'd from in_fd, out_fd, err_fd (the caller keeps and
 * closes its own). 0 with *pid (the supervisor, a child of the caller: wait for it) and
 * *status_fd (read end, O_NONBLOCK|O_CLOEXEC, the caller closes it; read it with
 * jq_contain_outcome once the supervisor has exited); -1 with err, nothing started.
 * Blocks the caller only for the fork (like posix_spawn). */
int jq_contain_spawn(struct jq_contain *k, const char *path, char *const argv[], char *const envp[],
		     int in_fd, int out_fd, int err_fd, pid_t *pid, int *status_fd, char *err,
		     size_t errlen);

/* SIGTERM to every process of the job (the supervisor forwards it). */
void jq_contain_term(const struct jq_contain *k, pid_t pid);
/* SIGKILL to every process of the job; the supervisor exits right after. */
void jq_contain_kill(const struct jq_contain *k, pid_t pid);

/* Once the supervisor pid has exited with wait status init_status: 0 with the
 * program's wait status in *status; or -1 with why the program did not run or its
 * status is unknown in err ("cannot run '...': No such file or directory", the
 * supervisor killed by a signal). */
int jq_contain_outcome(int status_fd, int init_status, const char *path, int *status, char *err,
		       size_t errlen);

/* The supervisor: main() calls it when argv[1] is JQ_CONTAIN_INIT_ARG, first thing.
 * Returns only on bad arguments (exit status 127). */
int jq_contain_init_main(int argc, char **argv);

#endif
