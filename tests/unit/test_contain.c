/* test_contain.c: unit tests of worker/contain.c: the modes' names, and real programs
 * run under a supervisor in each mode this machine allows (this test binary is the
 * supervisor too, as jobq-worker is: see supervise_if_asked). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "contain.h"
#include "unit.h"

extern char **environ;

/* Runs before main(): when started as a supervisor, be one (glibc hands constructors
 * argc and argv). */
__attribute__((constructor)) static void supervise_if_asked(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], JQ_CONTAIN_INIT_ARG) == 0)
		_exit(jq_contain_init_main(argc, argv));
}

static void test_mode_names(void)
{
	static const char *const words[] = {"auto", "pidns", "userns", "subreaper"};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		UNIT_CASE("%s", words[i]);
		enum jq_contain_mode m;
		CHECK_INT_EQ(jq_contain_mode_parse(words[i], &m), 0);
		CHECK_STR_EQ(jq_contain_mode_name(m), words[i]);
	}
	enum jq_contain_mode m;
	UNIT_CASE("bad words");
	CHECK_INT_EQ(jq_contain_mode_parse("", &m), -1);
	CHECK_INT_EQ(jq_contain_mode_parse("PIDNS", &m), -1);
	CHECK_INT_EQ(jq_contain_mode_parse("cgroup", &m), -1);
}

/* Runs argv under k, its output to a pipe; returns the supervisor's outcome (0 with
 * *status, or -1 with err), after kill_after_ms (0: never) a jq_contain_kill. */
static int run(struct jq_contain *k, char *const argv[], int kill_after_ms, int *status, char *err,
	       size_t errlen)
{
	int in[2], out[2];
	CHECK_INT_EQ(pipe2(in, O_CLOEXEC), 0);
	CHECK_INT_EQ(pipe2(out, O_CLOEXEC), 0);
	pid_t pid;
	int sfd;
	int rc = jq_contain_spawn(k, argv[0], argv, environ, in[0], out[1], out[1], &pid, &sfd, err,
				  errlen);
	close(in[0]);
	close(in[1]);
	close(out[0]);
	close(out[1]);
	if (rc != 0)
		return -2;
	if (kill_after_ms) {
		struct timespec ts = {0, kill_after_ms * 1000000L};
		nanosleep(&ts, NULL);
		jq_contain_kill(k, pid);
	}
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	rc = jq_contain_outcome(sfd, st, argv[0], status, err, errlen);
	close(sfd);
	return rc;
}

static void test_modes(void)
{
	static const enum jq_contain_mode modes[] = {JQ_CONTAIN_PIDNS, JQ_CONTAIN_USERNS,
						     JQ_CONTAIN_SUBREAPER};
	int tried = 0;
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		char err[512] = "";
		struct jq_contain *k = jq_contain_new(modes[i], err, sizeof(err));
		UNIT_CASE("%s", jq_contain_mode_name(modes[i]));
		if (!k) { /* not here (no root, no user namespaces): said so */
			CHECK_CONTAINS(err, "is not available here");
			continue;
		}
		tried++;
		CHECK_INT_EQ(jq_contain_mode(k), modes[i]);
		int status = -1;
		char *const exit3[] = {"/bin/sh", "-c", "exit 3", NULL};
		CHECK_INT_EQ(run(k, exit3, 0, &status, err, sizeof(err)), 0);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 3);
		char *const killed[] = {"/bin/sh", "-c", "kill -USR1 $$", NULL};
		CHECK_INT_EQ(run(k, killed, 0, &status, err, sizeof(err)), 0);
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGUSR1);
		char *const missing[] = {"/nonexistent/prog", NULL};
		CHECK_INT_EQ(run(k, missing, 0, &status, err, sizeof(err)), -1);
		CHECK_CONTAINS(err, "cannot run '/nonexistent/prog': No such file or directory");
		/* SIGKILL for all: no report from the program, which never ended by itself */
		char *const sleeper[] = {"/bin/sleep", "100", NULL};
		CHECK_INT_EQ(run(k, sleeper, 50, &status, err, sizeof(err)), -1);
		CHECK_CONTAINS(err, "the supervisor of '/bin/sleep'");
		jq_contain_free(k);
	}
	UNIT_CASE("at least subreaper");
	CHECK(tried >= 1);
	UNIT_CASE("auto");
	char err[512];
	struct jq_contain *k = jq_contain_new(JQ_CONTAIN_AUTO, err, sizeof(err));
	CHECK(k != NULL);
	if (k) {
		CHECK(strlen(jq_contain_describe(k)) > 0);
		CHECK_INT_EQ(jq_contain_degraded(k), jq_contain_mode(k) == JQ_CONTAIN_SUBREAPER);
	}
	jq_contain_free(k);
	jq_contain_free(NULL);
}

UNIT_MAIN({"mode_names", test_mode_names}, {"modes", test_modes})
