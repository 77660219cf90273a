/* contain.c: a supervisor per exec job that keeps the job's processes together and
 * ends them with it; see contain.h. */
#include "contain.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h> /* struct clone_args, CLONE_NEW* */
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* the supervisor's fds: 0-2 the program's, then these */
#define FD_STATUS 3 /* write end: one struct msg, then the supervisor exits */
#define FD_WORKER 4 /* a pidfd of the worker, closed once checked */
/* ending a subreaper's tree: rounds of "SIGKILL what is left, reap", at most this long */
#define KILL_ROUNDS 2500
#define KILL_ROUND_US 2000

extern char **environ;

/* What the supervisor reports on FD_STATUS: the first message is the one that counts. */
struct msg {
	int32_t kind;
	int32_t value;
};

enum {
	MSG_EXITED = 1,  /* value: the program's wait status */
	MSG_EXEC_FAILED, /* value: errno of the program's execve */
	MSG_SETUP_MAPS,  /* the rest: value is an errno, at that step of starting up */
	MSG_SETUP_FDS,
	MSG_SETUP_EXEC,
	MSG_SETUP_FORK,
};

struct jq_contain {
	enum jq_contain_mode mode;
	int self_pidfd; /* the worker's own pidfd, handed to each supervisor; -1: none */
	char uid_map[32], gid_map[32];
	char describe[640];
	int degraded;
};

int jq_contain_mode_parse(const char *s, enum jq_contain_mode *m)
{
	static const enum jq_contain_mode all[] = {JQ_CONTAIN_AUTO, JQ_CONTAIN_PIDNS,
						   JQ_CONTAIN_USERNS, JQ_CONTAIN_SUBREAPER};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(s, jq_contain_mode_name(all[i])) == 0) {
			*m = all[i];
			return 0;
		}
	return -1;
}

const char *jq_contain_mode_name(enum jq_contain_mode m)
{
	switch (m) {
	case JQ_CONTAIN_PIDNS: return "pidns";
	case JQ_CONTAIN_USERNS: return "userns";
	case JQ_CONTAIN_SUBREAPER: return "subreaper";
	default: return "auto";
	}
}

static uint64_t clone_flags(enum jq_contain_mode m)
{
	if (m == JQ_CONTAIN_PIDNS)
		return CLONE_NEWPID;
	if (m == JQ_CONTAIN_USERNS)
		return CLONE_NEWUSER | CLONE_NEWPID;
	return 0;
}

/* fork() with clone flags, without glibc's fork handlers: the child may only make
 * system calls until it execs or exits. */
static pid_t clone_child(uint64_t flags)
{
	struct clone_args a;
	memset(&a, 0, sizeof(a));
	a.flags = flags;
	a.exit_signal = SIGCHLD;
	return (pid_t)syscall(SYS_clone3, &a, sizeof(a));
}

/* In the child: one write of s to path. */
static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t n = strlen(s);
	ssize_t w = write(fd, s, n);
	int e = errno;
	close(fd);
	errno = e;
	return w == (ssize_t)n ? 0 : -1;
}

/* In a child of a new user namespace: map the worker's own uid and gid, nothing else. */
static int write_maps(const struct jq_contain *k)
{
	if (write_file("/proc/self/setgroups", "deny") != 0 && errno != ENOENT)
		return -1;
	return write_file("/proc/self/uid_map", k->uid_map) != 0 ||
			       write_file("/proc/self/gid_map", k->gid_map) != 0
		       ? -1
		       : 0;
}

/* Starts a child in mode m that exits at once: 0 if that works, else -1 with why. */
static int probe(const struct jq_contain *k, enum jq_contain_mode m, char *why, size_t len)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid_t pid = clone_child(clone_flags(m));
	if (pid == 0)
		_exit(m == JQ_CONTAIN_USERNS && write_maps(k) != 0 ? 1 : 0);
	int e = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		snprintf(why, len, "%s", strerror(e));
		return -1;
	}
	int st = 0;
	pid_t r;
	do
		r = waitpid(pid, &st, 0);
	while (r < 0 && errno == EINTR);
	if (r != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		snprintf(why, len, "cannot map the worker's user and group ids into it");
		return -1;
	}
	return 0;
}

struct jq_contain *jq_contain_new(enum jq_contain_mode want, char *err, size_t errlen)
{
	if (access("/proc/self/exe", X_OK) != 0) {
		snprintf(err, errlen,
			 "exec jobs need /proc (to start their supervisor from "
			 "/proc/self/exe): %s",
			 strerror(errno));
		return NULL;
	}
	struct jq_contain *k = calloc(1, sizeof(*k));
	if (!k) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(k->uid_map, sizeof(k->uid_map), "%u %u 1", (unsigned)geteuid(),
		 (unsigned)geteuid());
	snprintf(k->gid_map, sizeof(k->gid_map), "%u %u 1", (unsigned)getegid(),
		 (unsigned)getegid());
	k->self_pidfd = pidfd_open(getpid(), 0);
	/* the probes wait for their child: a SIGCHLD ignored by whoever started us would
	 * let the kernel reap it first */
	struct sigaction dfl, old;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &dfl, &old);
	char why_pid[200] = "", why_user[200] = "";
	int rc = 0;
	if (want != JQ_CONTAIN_AUTO) {
		k->mode = want;
		if (want != JQ_CONTAIN_SUBREAPER && probe(k, want, why_pid, sizeof(why_pid)) != 0) {
			snprintf(
				err, errlen,
				"--exec-contain %s is not available here: %s (a PID namespace needs "
				"CAP_SYS_ADMIN; a user namespace needs a kernel that allows them "
				"unprivileged and no seccomp or systemd RestrictNamespaces= against it)",
				jq_contain_mode_name(want), why_pid);
			rc = -1;
		}
		snprintf(k->describe, sizeof(k->describe), "%s (as asked)",
			 jq_contain_mode_name(want));
	} else if (probe(k, JQ_CONTAIN_PIDNS, why_pid, sizeof(why_pid)) == 0) {
		k->mode = JQ_CONTAIN_PIDNS;
		snprintf(k->describe, sizeof(k->describe), "pidns (a PID namespace per job)");
	} else if (probe(k, JQ_CONTAIN_USERNS, why_user, sizeof(why_user)) == 0) {
		k->mode = JQ_CONTAIN_USERNS;
		snprintf(k->describe, sizeof(k->describe),
			 "userns (a user and PID namespace per job; no PID namespace alone: %s)",
			 why_pid);
	} else {
		k->mode = JQ_CONTAIN_SUBREAPER;
		k->degraded = 1;
		snprintf(k->describe, sizeof(k->describe),
			 "subreaper (a supervisor process per job: no PID namespace: %s; no user "
			 "namespace: %s); a job's processes can outlive it only if its supervisor "
			 "is SIGKILLed",
			 why_pid, why_user);
	}
	sigaction(SIGCHLD, &old, NULL);
	if (rc != 0) {
		jq_contain_free(k);
		return NULL;
	}
	return k;
}

void jq_contain_free(struct jq_contain *k)
{
	if (!k)
		return;
	if (k->self_pidfd >= 0)
		close(k->self_pidfd);
	free(k);
}

enum jq_contain_mode jq_contain_mode(const struct jq_contain *k)
{
	return k->mode;
}
const char *jq_contain_describe(const struct jq_contain *k)
{
	return k->describe;
}
int jq_contain_degraded(const struct jq_contain *k)
{
	return k->degraded;
}

/* In the child: report a failed step on fd and exit. */
static void __attribute__((noreturn)) child_fail(int fd, int kind, int e)
{
	struct msg m = {kind, e};
	if (write(fd, &m, sizeof(m)) < 0) {
		/* nobody to tell: the supervisor's exit status says it failed */
	}
	_exit(127);
}

/* In the child (system calls only): become the supervisor. */
static void __attribute__((noreturn))
child_exec(const struct jq_contain *k, char *const iargv[], char *const envp[], const int src[5])
{
	if (k->mode == JQ_CONTAIN_USERNS && write_maps(k) != 0)
		child_fail(src[3], MSG_SETUP_MAPS, errno);
	prctl(PR_SET_PDEATHSIG, k->mode == JQ_CONTAIN_SUBREAPER ? SIGHUP : SIGKILL);
	/* out of the way of 0-4 first, so no dup2 overwrites a source not yet moved */
	int hi[5];
	for (int i = 0; i < 5; i++) {
		hi[i] = src[i] >= 0 ? fcntl(src[i], F_DUPFD_CLOEXEC, 10) : -1;
		if (src[i] >= 0 && hi[i] < 0)
			child_fail(src[3], MSG_SETUP_FDS, errno);
	}
	for (int i = 0; i < 5; i++) {
		if (hi[i] < 0)
			close(i);
		else if (dup2(hi[i], i) != i)
			child_fail(hi[3], MSG_SETUP_FDS, errno);
	}
	close_range(5, ~0U, 0);
	execve("/proc/self/exe", iargv, envp);
	child_fail(FD_STATUS, MSG_SETUP_EXEC, errno);
}

int jq_contain_spawn(struct jq_contain *k, const char *path, char *const argv[], char *const envp[],
		     int in_fd, int out_fd, int err_fd, pid_t *pid, int *status_fd, char *err,
		     size_t errlen)
{
	if (gettid() != getpid()) {
		snprintf(err, errlen,
			 "exec jobs start from the main thread only (the parent-death "
			 "signal follows the thread that starts them)");
		return -1;
	}
	size_t n = 0;
	while (argv[n])
		n++;
	/* [name, marker, path, args after argv[0]..., NULL] */
	char **iargv = calloc(n + 3, sizeof(*iargv));
	int sp[2] = {-1, -1};
	if (!iargv || pipe2(sp, O_CLOEXEC) != 0 ||
	    fcntl(sp[0], F_SETFL, fcntl(sp[0], F_GETFL) | O_NONBLOCK) != 0) {
		snprintf(err, errlen, "cannot start a supervisor: %s",
			 iargv ? strerror(errno) : "out of memory");
		goto fail;
	}
	iargv[0] = (char *)"jobq-exec-supervisor";
	iargv[1] = (char *)JQ_CONTAIN_INIT_ARG;
	iargv[2] = (char *)path;
	for (size_t i = 1; i < n; i++)
		iargv[2 + i] = argv[i];
	const int src[5] = {in_fd, out_fd, err_fd, sp[1], k->self_pidfd};
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid_t p = clone_child(clone_flags(k->mode));
	if (p == 0)
		child_exec(k, iargv, envp, src);
	int e = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (p < 0) {
		snprintf(err, errlen, "cannot start a supervisor (%s): %s",
			 jq_contain_mode_name(k->mode), strerror(e));
		goto fail;
	}
	close(sp[1]);
	free(iargv);
	*pid = p;
	*status_fd = sp[0];
	return 0;
fail:
	for (int i = 0; i < 2; i++)
		if (sp[i] >= 0)
			close(sp[i]);
	free(iargv);
	return -1;
}

void jq_contain_term(const struct jq_contain *k, pid_t pid)
{
	(void)k;
	kill(pid, SIGTERM);
}

void jq_contain_kill(const struct jq_contain *k, pid_t pid)
{
	/* a namespace ends with its process 1; a subreaper must end its tree itself */
	kill(pid, k->mode == JQ_CONTAIN_SUBREAPER ? SIGHUP : SIGKILL);
}

int jq_contain_outcome(int status_fd, int init_status, const char *path, int *status, char *err,
		       size_t errlen)
{
	struct msg m;
	ssize_t r;
	do
		r = read(status_fd, &m, sizeof(m));
	while (r < 0 && errno == EINTR);
	if (r == (ssize_t)sizeof(m)) {
		static const char *const step[] = {
			[MSG_SETUP_MAPS] = "mapping its user ids",
			[MSG_SETUP_FDS] = "setting up its fds",
			[MSG_SETUP_EXEC] = "executing /proc/self/exe",
			[MSG_SETUP_FORK] = "forking the program",
		};
		if (m.kind == MSG_EXITED) {
			*status = m.value;
			return 0;
		}
		if (m.kind == MSG_EXEC_FAILED)
			snprintf(err, errlen, "cannot run '%.200s': %s", path, strerror(m.value));
		else if (m.kind >= MSG_SETUP_MAPS && m.kind <= MSG_SETUP_FORK)
			snprintf(err, errlen, "the supervisor of '%.200s' failed %s: %s", path,
				 step[m.kind], strerror(m.value));
		else
			snprintf(err, errlen, "the supervisor of '%.200s' reported nonsense", path);
		return -1;
	}
	if (WIFSIGNALED(init_status))
		snprintf(err, errlen, "the supervisor of '%.200s' was killed by signal %d", path,
			 WTERMSIG(init_status));
	else
		snprintf(err, errlen,
			 "the supervisor of '%.200s' exited with status %d and no report", path,
			 WIFEXITED(init_status) ? WEXITSTATUS(init_status) : -1);
	return -1;
}

/* ---- the supervisor ---- */

static void on_signal(int sig)
{
	(void)sig;
}

/* Reads pid, state and parent of /proc/<name>/stat. 0, or -1 if it is gone. */
static int read_stat(const char *name, pid_t *pid, char *state, pid_t *ppid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%s/stat", name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	const char *rp = strrchr(buf, ')'); /* the name may hold anything, ')' too */
	int pp;
	/* the kernel's own numbers, and name is a /proc entry of digits (the caller checks) */
	if (!rp || sscanf(rp + 1, " %c %d", state, &pp) != 2) // NOLINT(cert-err34-c)
		return -1;
	*pid = (pid_t)atoi(name); // NOLINT(cert-err34-c)
	*ppid = (pid_t)pp;
	return 0;
}

struct proc {
	pid_t pid, ppid;
	char state, below;
};

static int proc_cmp(const void *a, const void *b)
{
	pid_t x = ((const struct proc *)a)->pid, y = ((const struct proc *)b)->pid;
	return (x > y) - (x < y);
}

/* Sends sig to every live process below this one (from /proc). Their number, or -1
 * when /proc cannot be read. */
static int signal_tree(int sig)
{
	DIR *d = opendir("/proc");
	if (!d)
		return -1;
	size_t n = 0, cap = 0;
	struct proc *ps = NULL;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		if (n == cap) {
			size_t nc = cap ? 2 * cap : 1024;
			struct proc *np = realloc(ps, nc * sizeof(*np));
			if (!np)
				break;
			ps = np;
			cap = nc;
		}
		if (read_stat(de->d_name, &ps[n].pid, &ps[n].state, &ps[n].ppid) == 0) {
			ps[n].below = 0;
			n++;
		}
	}
	closedir(d);
	pid_t me = getpid();
	if (n)
		qsort(ps, n, sizeof(*ps), proc_cmp);
	/* a pass per generation: at most n */
	for (size_t pass = 0, grew = 1; grew && pass < n; pass++) {
		grew = 0;
		for (size_t i = 0; i < n; i++) {
			if (ps[i].below)
				continue;
			struct proc key = {.pid = ps[i].ppid};
			const struct proc *parent =
				ps[i].ppid == me ? NULL
						 : bsearch(&key, ps, n, sizeof(*ps), proc_cmp);
			if (ps[i].ppid == me || (parent && parent->below))
				ps[i].below = 1, grew = 1;
		}
	}
	int live = 0;
	for (size_t i = 0; i < n; i++)
		if (ps[i].below && ps[i].state != 'Z' && ps[i].state != 'X') {
			kill(ps[i].pid, sig);
			live++;
		}
	free(ps);
	return live;
}

/* Signals every process of the job but this one. */
static void signal_job(int ns, pid_t prog, int sig)
{
	if (ns)
		kill(-1, sig); /* in a PID namespace: every process of it but its process 1 */
	else if (signal_tree(sig) < 0)
		kill(-prog, sig); /* no /proc: the program's group, at least */
}

/* SIGKILLs every process of the job, reaps them, and exits. */
static void __attribute__((noreturn)) end_job(int ns, pid_t prog)
{
	/* in a PID namespace the kernel does it when we exit */
	for (int round = 0; !ns && round < KILL_ROUNDS; round++) {
		int live = signal_tree(SIGKILL);
		if (live < 0)
			kill(-prog, SIGKILL);
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (live <= 0 && waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD)
			break;
		usleep(KILL_ROUND_US); /* what was SIGKILLed is still dying: look again */
	}
	_exit(0);
}

/* Every signal at its default (one the worker ignores would pass to the program), but
 * SIGCHLD, SIGTERM, SIGINT and SIGHUP, which are blocked and waited for: *mine. */
static void signals_setup(sigset_t *mine)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			sigaction(s, &sa, NULL);
	/* a handler, not SIG_DFL: process 1 of a namespace gets no signal it has none for */
	sa.sa_handler = on_signal;
	sigemptyset(mine);
	static const int kept[] = {SIGCHLD, SIGTERM, SIGINT, SIGHUP};
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
		sigaddset(mine, kept[i]);
		sigaction(kept[i], &sa, NULL);
	}
	sigprocmask(SIG_SETMASK, mine, NULL);
}

/* In the forked child: the program argv[0] in a group of its own, dying with the
 * supervisor me. */
static void __attribute__((noreturn)) program_exec(pid_t me, char **argv)
{
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != me)
		_exit(127); /* the supervisor is gone already */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(argv[0], argv, environ);
	struct msg m = {MSG_EXEC_FAILED, errno};
	if (write(FD_STATUS, &m, sizeof(m)) < 0) {
		/* the exit status 127 says enough */
	}
	_exit(127);
}

/* stdin, stdout and stderr on /dev/null (closed if it cannot be opened): the pipes are
 * the program's; held here, stdout and stderr would stay open after it ended and stdin
 * would never refuse a write. */
static void stdio_to_null(void)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int fd = 0; fd < 3; fd++)
		if (null < 0 || dup2(null, fd) != fd)
			close(fd);
	if (null > 2)
		close(null);
}

/* Passes the signals in mine on to the job until the program prog exits: its wait
 * status. */
static int wait_program(int ns, pid_t prog, const sigset_t *mine)
{
	int status = 0;
	for (int done = 0; !done;) {
		int sig = sigwaitinfo(mine, NULL);
		if (sig == SIGCHLD) {
			int st;
			pid_t r;
			while ((r = waitpid(-1, &st, WNOHANG)) > 0)
				if (r == prog)
					status = st, done = 1;
		} else if (sig == SIGHUP) {
			end_job(ns, prog); /* the worker's word, or its death */
		} else if (sig > 0) {
			signal_job(ns, prog, sig);
		}
	}
	return status;
}

int jq_contain_init_main(int argc, char **argv)
{
	if (argc < 3 || argv[2][0] != '/') {
		fprintf(stderr, "%s: not to be run by hand\n", argv[0]);
		return 127;
	}
	int ns = getpid() == 1;
	sigset_t mine;
	signals_setup(&mine);
	prctl(PR_SET_PDEATHSIG, ns ? SIGKILL : SIGHUP); /* again: kept across execve, or not */
	/* the worker may have died before the parent-death signal was set: its pidfd says */
	struct pollfd pf = {FD_WORKER, POLLIN, 0};
	if (poll(&pf, 1, 0) == 1 && (pf.revents & POLLIN))
		_exit(0);
	close(FD_WORKER);
	setpgid(0, 0); /* out of the worker's group: a signal to that group is not ours */
	if (!ns)
		prctl(PR_SET_CHILD_SUBREAPER, 1);
	fcntl(FD_STATUS, F_SETFD, FD_CLOEXEC);
	pid_t me = getpid();
	pid_t prog = fork();
	if (prog == 0)
		program_exec(me, &argv[2]);
	if (prog < 0) {
		struct msg m = {MSG_SETUP_FORK, errno};
		if (write(FD_STATUS, &m, sizeof(m)) < 0) {
			/* the supervisor's status says it failed */
		}
		_exit(127);
	}
	stdio_to_null();
	struct msg m = {MSG_EXITED, wait_program(ns, prog, &mine)};
	if (write(FD_STATUS, &m, sizeof(m)) < 0) {
		/* the worker is gone: nobody reads it */
	}
	end_job(ns, prog); /* the program is over, so is whatever it left running */
}
