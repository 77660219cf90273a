#!/usr/bin/python3
"""E2E: no process an exec job starts outlives it (worker/contain.h). The program
escapes every way it can: (a) a child that calls setsid() and leaves a child of its
own sleeping, (b) a double-forked daemon, (c) all of them deaf to SIGTERM. Whatever way
the job ends (completed, failed, timed out, cancelled with DELETE /jobs/{id}) and when
its worker is killed with -9, none of its processes is left a second later (the
SIGTERM grace of 2 s first, for a timeout or a cancel: they ignore SIGTERM). The
program writes its processes' host pids to a file; /proc says which still run.
Each containment mode is tried: the one auto picks here, userns and subreaper."""
import json
import os
import signal
import sys
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import E2ETestCase  # noqa: E402

KILL_GRACE_S = 2.0  # JQ_EXEC_KILL_GRACE_MS: SIGTERM, then SIGKILL this much later
GONE_WITHIN_S = 1.0

# escape PIDFILE HOW: HOW is exit0 (completes), exit1 (fails) or hang (runs until stopped)
ESCAPE = r"""#!/usr/bin/python3
import json, os, signal, sys, time

def host_pid():
    return int(os.readlink("/proc/self"))  # /proc is the host's: its pid, not the namespace's

pidfile, how = sys.argv[1], sys.argv[2]
sys.stdin.read()
signal.signal(signal.SIGTERM, signal.SIG_IGN)  # (c), and every child inherits it
r, w = os.pipe()
if os.fork() == 0:  # (a) a new session, and a child of it sleeping
    os.setsid()
    os.write(w, b"%d\n" % host_pid())
    if os.fork() == 0:
        os.write(w, b"%d\n" % host_pid())
    time.sleep(1000)
    os._exit(0)
middle = os.fork()
if middle == 0:  # (b) a daemon: fork, setsid, fork again, the middle one exits
    os.setsid()
    if os.fork() == 0:
        os.write(w, b"%d\n" % host_pid())
        time.sleep(1000)
    os._exit(0)
os.waitpid(middle, 0)
os.close(w)
got = b""
while got.count(b"\n") < 3:
    chunk = os.read(r, 64)
    if not chunk:
        break
    got += chunk
with open(pidfile + ".tmp", "w") as f:
    f.write("%d %s\n" % (host_pid(), " ".join(got.decode().split())))
os.rename(pidfile + ".tmp", pidfile)
if how == "exit0":
    print(json.dumps({"escaped": 3}))
    sys.exit(0)
if how == "exit1":
    sys.exit(1)
while True:
    time.sleep(1000)
"""


def stat_state(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def ours(pid, marker):
    """True while pid is a live process of this test's program (a zombie is gone; the
    marker, a path in its argv, rules out a reused pid)."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            if marker.encode() not in f.read():
                return False
    except OSError:
        return False
    return stat_state(pid) not in (None, "Z", "X")


class ContainmentCase:
    MODE = None  # --exec-contain, or None for the default (auto)

    @classmethod
    def setUpEnv(cls, env):
        cls.path = os.path.join(env.tmp, "escape")
        with open(cls.path, "w") as f:
            f.write(ESCAPE)
        os.chmod(cls.path, 0o755)
        env.start_redis()
        env.start_broker()
        cls.worker = cls.start_exec_worker(env, "default")

    @classmethod
    def start_exec_worker(cls, env, queue):
        args = ["--queues", queue, "--exec", "escape=" + cls.path]
        if cls.MODE:
            args += ["--exec-contain", cls.MODE]
        return env.start_worker(extra_args=args)

    def setUp(self):
        super().setUp()
        self.tracked = []

    def tearDown(self):
        # a failed test leaves no sleeper behind
        for marker, pids in self.tracked:
            for p in pids:
                if ours(p, marker):
                    os.kill(p, signal.SIGKILL)
        super().tearDown()

    def start(self, how, **envelope):
        pidfile = os.path.join(self.env.tmp, "pids-%s-%d" % (how, time.monotonic_ns()))
        body = {"type": "exec", "payload": {"command": "escape", "args": [pidfile, how]},
                "max_attempts": 1}
        body.update(envelope)
        jid = self.post_job(body)
        harness.wait_until(lambda: os.path.exists(pidfile), 20,
                           "the program to write %s" % pidfile, env=self.env)
        with open(pidfile) as f:
            pids = [int(p) for p in f.read().split()]
        self.assertEqual(len(pids), 4, pids)
        self.tracked.append((pidfile, pids))
        return jid, pidfile, pids

    def assertAllGone(self, pidfile, pids, within):
        t0 = time.monotonic()
        while time.monotonic() - t0 < within:
            if not any(ours(p, pidfile) for p in pids):
                return
            time.sleep(0.02)
        left = [p for p in pids if ours(p, pidfile)]
        if left:
            self.fail("%d of the job's processes %r still run %.1f s after its end: %r"
                      % (len(left), pids, within, left) + "\n" + self.env.logs_text())

    def test_completed(self):
        jid, pidfile, pids = self.start("exit0")
        job = self.env.wait_job(jid, timeout=20)
        self.assertEqual(job["state"], "completed", job)
        self.assertEqual(job["result"]["output"], {"escaped": 3}, job)
        self.assertAllGone(pidfile, pids, GONE_WITHIN_S)

    def test_failed(self):
        jid, pidfile, pids = self.start("exit1")
        job = self.env.wait_job(jid, timeout=20)
        self.assertEqual(job["state"], "failed", job)
        self.assertIn("exited with status 1", job["error"], job)
        self.assertAllGone(pidfile, pids, GONE_WITHIN_S)

    def test_timed_out(self):
        jid, pidfile, pids = self.start("hang", timeout_ms=1500)
        self.assertTrue(all(ours(p, pidfile) for p in pids), pids)
        job = self.env.wait_job(jid, timeout=20)
        self.assertEqual(job["state"], "failed", job)
        self.assertIn("timed out", job["error"], job)
        self.assertAllGone(pidfile, pids, KILL_GRACE_S + GONE_WITHIN_S)

    def test_cancelled(self):
        jid, pidfile, pids = self.start("hang")
        self.assertTrue(all(ours(p, pidfile) for p in pids), pids)
        r = self.env.http("DELETE", "/jobs/%d" % jid)
        self.assertEqual(r.status, 202, r)
        job = self.env.wait_job(jid, timeout=10)
        self.assertEqual(job["state"], "cancelled", job)
        self.assertAllGone(pidfile, pids, KILL_GRACE_S + GONE_WITHIN_S)

    def test_worker_killed(self):
        # a worker of its own (another queue), killed with -9 while the job runs: its
        # pid alone, so only the parent-death signal can reach the job
        w = self.start_exec_worker(self.env, "k9")
        jid, pidfile, pids = self.start("hang", queue="k9")
        self.assertTrue(all(ours(p, pidfile) for p in pids), pids)
        w.expected_exit = True
        os.kill(w.pid, signal.SIGKILL)
        w.popen.wait(timeout=10)
        self.assertAllGone(pidfile, pids, GONE_WITHIN_S)
        job = self.env.http("GET", "/jobs/%d" % jid).json()
        self.assertEqual(job["state"], "running", job)  # its lease brings it back later


class AutoContainmentTest(ContainmentCase, E2ETestCase):
    """The default: the strongest mode this machine allows, named in the log."""

    def test_mode_is_logged(self):
        log = self.worker.log_text()
        self.assertRegex(log, r"exec jobs are contained by (pidns|userns|subreaper) \(", log)


class UsernsContainmentTest(ContainmentCase, E2ETestCase):
    MODE = "userns"

    @classmethod
    def setUpEnv(cls, env):
        try:
            super().setUpEnv(env)
        except AssertionError as e:
            if "not available here" in str(e):  # a kernel or policy without user namespaces
                raise unittest.SkipTest("userns: " + str(e).splitlines()[0])
            raise

    def test_program_keeps_its_ids(self):
        jid, pidfile, pids = self.start("exit0")
        self.env.wait_job(jid, timeout=20)
        st = os.stat(pidfile)
        self.assertEqual((st.st_uid, st.st_gid), (os.geteuid(), os.getegid()))


class SubreaperContainmentTest(ContainmentCase, E2ETestCase):
    MODE = "subreaper"


class ContainConfigTest(E2ETestCase):
    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()

    def test_program_gone_after_start_fails_the_attempt(self):
        # the supervisor reports the program's failed execve to the worker
        path = os.path.join(self.env.tmp, "gone")
        with open(path, "w") as f:
            f.write("#!/bin/sh\nexit 0\n")
        os.chmod(path, 0o755)
        w = self.env.start_worker(extra_args=["--exec", "gone=" + path])
        # the worker checks its --exec paths at start: delete the program only after that
        # (under load it had not yet, and refused to start)
        self.env.worker_id(w)
        os.unlink(path)
        jid = self.post_job({"type": "exec", "payload": {"command": "gone"},
                             "max_attempts": 1})
        job = self.env.wait_job(jid, timeout=20)
        self.assertEqual(job["state"], "failed", job)
        self.assertIn("command 'gone': cannot run '%s': No such file or directory" % path,
                      job["error"], job)

    def test_bad_mode_is_refused(self):
        try:
            p = self.env.start_worker(extra_args=["--exec", "t=/bin/true",
                                                  "--exec-contain", "chroot"])
        except AssertionError as e:
            self.assertIn("--exec-contain must be auto, pidns, userns or subreaper", str(e))
            return
        p.popen.wait(timeout=10)
        p.expected_exit = True
        self.assertIn("--exec-contain must be", p.log_text())


if __name__ == "__main__":
    harness.main()
