#!/usr/bin/python3
"""E2E: the exec job type. The worker is started with --exec naming small
scripts written into the test's temp dir; jobs run them with argv and no
shell, stdin JSON in, stdout as the result, progress lines on stderr; they are
killed (with their grandchildren) on timeout and on cancel, and reaped."""
import json
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import E2ETestCase  # noqa: E402

# Writes "PID GRANDCHILD_PID" to the file $1 and leaves the grandchild (sleep 1000)
# running. Host pids, read from /proc/self (a builtin's redirection is opened by the
# shell itself): a program runs in a PID namespace of its own, where $$ is 2.
PIDS = """read -r me _ </proc/self/stat
(read -r g _ </proc/self/stat; echo "$g" >"$1.g"; exec sleep 1000) &
i=0
while [ ! -s "$1.g" ] && [ $i -lt 1000 ]; do sleep 0.01; i=$((i + 1)); done
echo "$me $(cat "$1.g")" >"$1"
"""

SCRIPTS = {
    # stdin JSON -> stdout JSON: what the program got and what it inherited
    "echo": """#!/usr/bin/python3
import json, os, sys
data = json.load(sys.stdin)
fds = []
for fd in range(3, 1024):
    try:
        os.fstat(fd)
        fds.append(fd)
    except OSError:
        pass
print(json.dumps({"input": data, "args": sys.argv[1:], "fds": fds,
                  "pgid_is_pid": os.getpgid(0) == os.getpid(),
                  "job_id": os.environ.get("JOBQ_JOB_ID"),
                  "traceparent": os.environ.get("TRACEPARENT"),
                  "env_keys": sorted(os.environ)}))
""",
    "text": """#!/bin/sh
cat >/dev/null
printf 'plain text, not JSON\\n'
echo 'a line for the log' >&2
""",
    "progress": """#!/bin/sh
cat >/dev/null
for i in 1 2 3 4; do
  echo "progress $i/4" >&2
  echo "working on step $i" >&2
  sleep 0.4
done
echo '{"steps": 4}'
""",
    # counts its runs in a file named by its first argument, then fails
    "fail": """#!/bin/sh
echo run >>"$1"
echo "first line of noise" >&2
echo "the reason it failed" >&2
exit 3
""",
    # records its pid and a grandchild's, then waits forever
    "hang": """#!/bin/sh
""" + PIDS + """wait
""",
    # leaves a grandchild running (holding stdout) and exits at once, successfully
    "leave": """#!/bin/sh
""" + PIDS + """echo '"done"'
""",
    # the same, deaf to SIGTERM (and so is its grandchild): needs the SIGKILL
    "deaf": """#!/bin/sh
trap '' TERM
""" + PIDS + """while :; do sleep 1; done
""",
    "big": """#!/usr/bin/python3
import sys
sys.stdin.read()
sys.stdout.write("x" * (2 * 1024 * 1024))
""",
}


def install(directory, name):
    """Writes SCRIPTS[name] as an executable file in directory; returns its path."""
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(SCRIPTS[name])
    os.chmod(path, 0o755)
    return path


def read(path):
    with open(path) as f:
        return f.read()


def alive(pid):
    """True while pid is a live process (a zombie counts as gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def children_of(pid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append((int(d), fields[0]))
    return out


class ExecJobTest(E2ETestCase):
    @classmethod
    def setUpEnv(cls, env):
        cls.dir = os.path.join(env.tmp, "bin")
        os.mkdir(cls.dir)
        specs = []
        for name in SCRIPTS:
            specs.append("%s=%s" % (name, install(cls.dir, name)))
        env.start_redis()
        env.start_broker()
        # two ways to name commands: repeated flags, and commas in one value
        cls.worker = env.start_worker(
            extra_args=["--retry-base-ms", "50", "--grace-ms", "1000",
                        "--exec", specs[0], "--exec", ",".join(specs[1:])],
            extra_env={"JOBQ_SMTP_PASSWORD": "do-not-leak"})

    def run_job(self, payload, timeout=15, **envelope):
        body = {"type": "exec", "payload": payload}
        body.update(envelope)
        jid = self.post_job(body)
        job = self.env.wait_job(jid, timeout=timeout)
        self.assertJobShape(job)
        return job

    def assertCompleted(self, job):
        self.assertEqual(job["state"], "completed", job)
        self.assertIsNone(job["error"], job)
        self.assertEqual(set(job["result"]), {"exit_code", "output", "truncated"}, job)
        self.assertEqual(job["result"]["exit_code"], 0, job)
        return job["result"]

    def assertFailed(self, job, attempts, *needles):
        self.assertEqual(job["state"], "failed", job)
        self.assertEqual(job["attempts"], attempts, job)
        self.assertIsNone(job["result"], job)
        for n in needles:
            self.assertIn(n, job["error"], job)

    def assertNoChildren(self, timeout=5):
        """The worker has reaped every program it started."""
        harness.wait_until(lambda: not children_of(self.worker.pid), timeout,
                           "the worker to reap its children (%r)" % children_of(self.worker.pid),
                           env=self.env)

    def pids(self, path):
        harness.wait_until(lambda: os.path.exists(path) and read(path).endswith("\n"),
                           10, "the program to write %s" % path, env=self.env)
        return [int(p) for p in read(path).split()]

    # -- completed ---------------------------------------------------------

    def test_stdin_json_to_stdout_json(self):
        r = self.assertCompleted(self.run_job({"command": "echo", "args": ["a", "b c"],
                                               "input": {"n": [1, 2], "s": "é"}}))
        out = r["output"]
        self.assertFalse(r["truncated"], r)
        self.assertEqual(out["input"], {"n": [1, 2], "s": "é"})
        self.assertEqual(out["args"], ["a", "b c"])
        self.assertEqual(out["fds"], [], "the program inherited the worker's fds")
        self.assertTrue(out["pgid_is_pid"], "the program is not in its own process group")
        self.assertTrue(out["job_id"].isdigit(), out)
        self.assertNotIn("JOBQ_SMTP_PASSWORD", out["env_keys"], "a worker secret leaked")
        self.assertNotIn("JOBQ_REDIS_URL", out["env_keys"])
        self.assertIn("PATH", out["env_keys"])

    def test_traceparent_in_the_environment(self):
        tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        r = self.env.http("POST", "/jobs", {"type": "exec", "payload": {"command": "echo"}},
                          {"traceparent": tp})
        jid = self.assertJSONResponse(r, 201)["id"]
        out = self.assertCompleted(self.env.wait_job(jid))["output"]
        self.assertEqual(out["traceparent"], tp, out)
        out = self.assertCompleted(self.run_job({"command": "echo"}))["output"]
        self.assertIsNone(out["traceparent"], out)

    def test_whole_payload_is_the_default_input(self):
        payload = {"command": "echo", "width": 640, "tags": ["x"]}
        r = self.assertCompleted(self.run_job(payload))
        self.assertEqual(r["output"]["input"], payload)
        self.assertEqual(r["output"]["args"], [])

    def test_no_shell_interpretation(self):
        marker = os.path.join(self.env.tmp, "pwned")
        args = ["$(touch %s)" % marker, "`touch %s`" % marker, "; touch %s" % marker, "*",
                "a b", "'q'", ""]
        r = self.assertCompleted(self.run_job({"command": "echo", "args": args}))
        self.assertEqual(r["output"]["args"], args)
        self.assertFalse(os.path.exists(marker), "an argument was run by a shell")

    def test_text_output_is_a_string(self):
        r = self.assertCompleted(self.run_job({"command": "text"}))
        self.assertEqual(r["output"], "plain text, not JSON\n")

    def test_big_output_is_truncated(self):
        r = self.assertCompleted(self.run_job({"command": "big"}))
        self.assertTrue(r["truncated"], {k: v for k, v in r.items() if k != "output"})
        self.assertEqual(r["output"], "x" * (1024 * 1024))

    def test_progress_lines(self):
        jid = self.post_job({"type": "exec", "payload": {"command": "progress"}})
        seen, statuses = [], []
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            job = self.env.http("GET", "/jobs/%d" % jid).json()
            p = (job["progress"]["done"], job["progress"]["total"])
            if not seen or seen[-1] != p:
                seen.append(p)
            s = self.env.http("GET", "/task-status/%d" % jid).json()["status"]
            if not statuses or statuses[-1] != s:
                statuses.append(s)
            if job["state"] in ("completed", "failed", "cancelled"):
                break
            time.sleep(0.05)
        self.assertEqual(job["state"], "completed", job)
        self.assertEqual(job["result"]["output"], {"steps": 4}, job)
        self.assertTrue(any(t == 4 and 1 <= d < 4 for d, t in seen),
                        "no intermediate progress seen: %r" % seen)
        self.assertTrue(any(s.startswith("progress: ") and s.endswith("/4") for s in statuses),
                        statuses)
        self.assertNoChildren()

    # -- failed ------------------------------------------------------------

    def test_nonzero_exit_is_retried_then_failed(self):
        count = os.path.join(self.env.tmp, "fail.count")
        job = self.run_job({"command": "fail", "args": [count]}, max_attempts=3)
        self.assertFailed(job, 3, "command 'fail' exited with status 3", "the reason it failed")
        self.assertEqual(read(count).count("run"), 3, "one run per attempt")
        self.assertIsNotNone(self.env.redis.execute("ZSCORE", harness.dead_key(), str(job["id"])))
        self.assertNoChildren()

    def test_command_not_allowed_is_fatal(self):
        for name in ("rm", "sh"):  # the worker's to judge: stored, then failed at once
            with self.subTest(command=name):
                job = self.run_job({"command": name, "args": ["-rf", "/"]}, max_attempts=3)
                self.assertFailed(job, 1, "command")
        for name in ("/bin/sh", "../echo"):  # never a path: refused at enqueue
            with self.subTest(command=name):
                r = self.env.http("POST", "/jobs", {"type": "exec", "payload": {
                    "command": name, "args": ["-rf", "/"]}})
                self.assertIn("'command' must be", self.assertError(r, 400, "invalid_argument")
                              ["message"])
        job = self.run_job({"command": "rm"}, max_attempts=3)
        self.assertFailed(job, 1, "command 'rm' is not allowed on this worker", "echo")

    def test_bad_payloads_refused_at_enqueue(self):
        cases = [({}, "'command' is required"),
                 ({"command": 5}, "'command' is required"),
                 ({"command": "echo", "args": "a b"}, "'args' must be a list"),
                 ({"command": "echo", "args": ["a", 1]}, "item 1 is not"),
                 ("echo", "'command' is required")]
        for payload, needle in cases:
            with self.subTest(payload=payload):
                r = self.env.http("POST", "/jobs", {"type": "exec", "payload": payload})
                self.assertIn(needle, self.assertError(r, 400, "invalid_argument")["message"])

    # -- stopped -----------------------------------------------------------

    def test_what_a_program_leaves_running_ends_with_its_job(self):
        pidfile = os.path.join(self.env.tmp, "leave.pids")
        result = self.assertCompleted(self.run_job({"command": "leave", "args": [pidfile]}))
        self.assertEqual(result["output"], "done")
        pids = self.pids(pidfile)
        harness.wait_until(lambda: not any(alive(p) for p in pids), 5,
                           "programs %r to be gone" % pids, env=self.env)
        self.assertNoChildren()

    def test_timeout_kills_the_program_and_its_grandchild(self):
        pidfile = os.path.join(self.env.tmp, "timeout.pids")
        t0 = time.monotonic()
        job = self.run_job({"command": "hang", "args": [pidfile]}, max_attempts=1,
                           timeout_ms=700)
        self.assertLess(time.monotonic() - t0, 5)
        self.assertFailed(job, 1, "timed out after 700 ms")
        pids = self.pids(pidfile)
        harness.wait_until(lambda: not any(alive(p) for p in pids), 5,
                           "programs %r to be killed" % pids, env=self.env)
        self.assertNoChildren()

    def test_cancel_kills_even_a_program_deaf_to_sigterm(self):
        pidfile = os.path.join(self.env.tmp, "cancel.pids")
        jid = self.post_job({"type": "exec", "payload": {"command": "deaf", "args": [pidfile]}})
        pids = self.pids(pidfile)
        self.assertTrue(all(alive(p) for p in pids), pids)
        r = self.env.http("DELETE", "/jobs/%d" % jid)
        self.assertEqual(r.status, 202, r)
        job = self.env.wait_job(jid, timeout=5)
        self.assertEqual(job["state"], "cancelled", job)
        # SIGTERM is ignored: SIGKILL follows after the grace (2 s)
        harness.wait_until(lambda: not any(alive(p) for p in pids), 6,
                           "programs %r to be killed" % pids, env=self.env)
        self.assertNoChildren()
        # the worker goes on
        self.assertCompleted(self.run_job({"command": "text"}))


class ExecShutdownTest(E2ETestCase):
    """SIGTERM to a worker running an exec job: past --grace-ms the job goes back
    to its queue, and the program (with its grandchild) does not outlive the worker."""

    @classmethod
    def setUpEnv(cls, env):
        path = install(env.tmp, "hang")
        env.start_redis()
        env.start_broker()
        cls.worker = env.start_worker(extra_args=["--grace-ms", "300", "--exec",
                                                  "hang=" + path])

    def test_shutdown_stops_the_program(self):
        pidfile = os.path.join(self.env.tmp, "shutdown.pids")
        jid = self.post_job({"type": "exec", "payload": {"command": "hang", "args": [pidfile]}})
        harness.wait_until(lambda: os.path.exists(pidfile) and read(pidfile).endswith("\n"),
                           10, "the program to start", env=self.env)
        pids = [int(p) for p in read(pidfile).split()]
        self.assertEqual(self.worker.stop(), 0, self.worker.log_tail())
        harness.wait_until(lambda: not any(alive(p) for p in pids), 5,
                           "programs %r to be gone" % pids, env=self.env)
        job = self.env.http("GET", "/jobs/%d" % jid).json()
        self.assertEqual((job["state"], job["attempts"]), ("pending", 0), job)


class ExecIgnoredSigchldTest(E2ETestCase):
    """A worker whose parent ignores SIGCHLD (the disposition survives exec; some
    supervisors and shells do this) still reads its programs' exit statuses: a failing
    program fails its job, not passes it. The worker restores SIGCHLD's default at start;
    were a status still lost (reaped elsewhere), the job would fail saying so."""

    @classmethod
    def setUpEnv(cls, env):
        path = install(env.tmp, "fail")
        env.start_redis()
        env.start_broker()
        ignore_then_exec = ("import os, signal, sys; signal.signal(signal.SIGCHLD, "
                            "signal.SIG_IGN); os.execv(sys.argv[1], sys.argv[1:])")
        cls.worker = env._spawn("worker-sigchld-ignored", [
            "/usr/bin/python3", "-c", ignore_then_exec, harness.worker_bin(),
            "--redis-url", env.redis_url, "--exec", "fail=" + path])

    def test_exit_status_is_read(self):
        count = os.path.join(self.env.tmp, "fail.count")
        jid = self.post_job({"type": "exec", "payload": {"command": "fail", "args": [count]},
                             "max_attempts": 1})
        job = self.env.wait_job(jid, timeout=15)
        self.assertEqual(job["state"], "failed", job)
        self.assertIn("command 'fail' exited with status 3", job["error"], job)


class ExecConfigTest(E2ETestCase):
    """A worker refuses to start with an --exec it cannot honour."""

    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()

    def start_bad(self, *args):
        """Starts a worker that must exit 1 at once; returns its log."""
        try:
            p = self.env.start_worker(extra_args=list(args))
        except AssertionError as e:
            return str(e)
        # (a slow start, e.g. under a sanitizer: give it a moment to give up)
        try:
            p.popen.wait(timeout=10)
        except Exception:
            p.stop()
            self.fail("the worker started with %r" % (args,))
        p.expected_exit = True
        self.assertEqual(p.popen.returncode, 1, p.log_tail())
        return p.log_text()

    def test_bad_exec_options(self):
        self.assertIn("must be NAME=/absolute/path", self.start_bad("--exec", "noequals"))
        self.assertIn("absolute path", self.start_bad("--exec", "x=relative/path"))
        self.assertIn("No such file", self.start_bad("--exec", "x=/nonexistent/prog"))
        self.assertIn("not a regular file", self.start_bad("--exec", "x=/tmp"))
        self.assertIn("given twice", self.start_bad("--exec", "x=/bin/true,x=/bin/false"))
        self.assertIn("name", self.start_bad("--exec", "bad name=/bin/true"))


if __name__ == "__main__":
    harness.main()
