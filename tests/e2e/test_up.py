#!/usr/bin/python3
"""E2E: the README's "run everything" command, deploy/up.sh, with 4 workers under
supervisord: all four appear in /workers; a worker killed with kill -9 is
restarted by supervisor and no job is lost; `supervisorctl stop` drains the
workers gracefully (exit status 0); Ctrl-C (SIGINT) stops everything.

It heals itself: each program (Redis, the SMTP sink, the broker, a worker) sent
SIGTERM (a clean exit, status 0) or SIGKILL comes back, and the stack serves
again (a job and an email job complete). supervisord starts without a CRIT line:
run as root it drops to a user of its own, and its socket asks for a password."""
import os
import re
import signal
import subprocess
import sys
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402



class UpTest(unittest.TestCase):
    def setUp(self):
        self.up = harness.UpSh(workers=4)
        self.addCleanup(self.up.stop)
        self.port = self.up.port
        self.log, self.run_dir, self.http, self.healthy = (
            self.up.log, self.up.run_dir, self.up.http, self.up.healthy)

    def workers(self):
        return self.http("GET", "/workers").json()["workers"]

    def supervisorctl(self, *args):
        conf = os.path.join(self.run_dir(), "supervisord.conf")
        return subprocess.run(["supervisorctl", "-c", conf] + list(args), capture_output=True,
                              text=True, timeout=60)

    def test_four_workers_restart_and_drain(self):
        harness.wait_until(lambda: len(self.workers()) == 4, 20, "4 workers in /workers")
        ids = [self.http("POST", "/jobs", {"type": "progress", "payload": {"duration": 2}})
               .json()["id"] for _ in range(20)]
        harness.wait_until(lambda: any(w["running"] > 0 for w in self.workers()), 10,
                           "a worker running jobs")
        victim = max(self.workers(), key=lambda w: w["running"])["pid"]
        os.kill(victim, signal.SIGKILL)
        # supervisor starts a new one; the dead one leaves /workers after 3 missed beats
        harness.wait_until(lambda: len(self.workers()) == 4 and
                           victim not in [w["pid"] for w in self.workers()], 30,
                           "4 workers again, without the killed one")
        for jid in ids:  # no job lost: the reaper gave the victim's jobs back
            harness.wait_until(lambda: self.http("GET", "/jobs/%d" % jid).json()["state"]
                               == "completed", 30, "job %d to complete" % jid)
        r = self.supervisorctl("stop", "worker:*")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with open(os.path.join(self.run_dir(), "supervisord.log")) as f:
            log = f.read()
        stops = re.findall(r"stopped: worker-\d+ \(exit status (\d+)\)", log)
        self.assertEqual(len(stops), 4, log)
        self.assertEqual(set(stops), {"0"}, log)
        harness.wait_until(lambda: self.workers() == [], 15, "no worker left in /workers")
        self.assertTrue(self.healthy())

    def supervisor_log(self):
        with open(os.path.join(self.run_dir(), "supervisord.log")) as f:
            return f.read()

    def pid_of(self, name):
        r = self.supervisorctl("pid", name)
        out = r.stdout.strip()
        return int(out) if r.returncode == 0 and out.isdigit() and int(out) > 0 else None

    def serves(self, what):
        """A job and an email job complete through the whole stack."""
        for path, body in (("/jobs", {"type": "noop"}),
                           ("/send-notification?email=a%40example.test&content=hi", None)):
            def stored():
                try:
                    r = self.http("POST", path, body)
                except OSError:
                    return None
                return r if r.status in (200, 201) else None
            r = harness.wait_until(stored, 30, "%s stored after %s" % (path, what))
            jid = r.json().get("id") or r.json().get("task_id")

            def done():
                try:
                    return self.http("GET", "/jobs/%d" % jid).json().get("state") == "completed"
                except (OSError, ValueError):
                    return False
            harness.wait_until(done, 30, "job %d (%s) completed after %s" % (jid, path, what))

    def test_path_line_finds_jobctl_and_its_manual(self):
        """The line up.sh prints puts jobctl on PATH and its page on MANPATH, in a shell
        that had neither (MANPATH unset: the system's pages stay found too)."""
        line = self.up.path_line()
        self.assertIsNotNone(line, self.log())
        env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root")}
        r = subprocess.run(["bash", "-c", line + "; command -v jobctl; man -w jobctl; "
                            "man -w ls; jobctl --url http://%s:%d queues"
                            % (harness.HOST, self.port)],
                           capture_output=True, text=True, timeout=60, env=env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        bindir = self.up.bindir
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0], os.path.join(bindir, "cli", "jobctl"))
        self.assertEqual(lines[1], os.path.join(bindir, "man", "man1", "jobctl.1.gz"))
        self.assertTrue(lines[2].startswith("/usr/share/man/"), lines[2])
        self.assertEqual(lines[3], "no queues")  # it talked to the broker

    def test_every_program_comes_back(self):
        log = self.supervisor_log()
        self.assertNotIn("CRIT", log)
        if os.getuid() == 0:
            self.assertIn("Set uid to user", log)
        # the socket asks for the password (supervisorctl -c has it)
        conf = os.path.join(self.run_dir(), "supervisord.conf")
        r = subprocess.run(["supervisorctl", "-s", "unix://" + os.path.join(self.run_dir(),
                            "supervisor.sock"), "status"], capture_output=True, text=True,
                           timeout=60)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertEqual(os.stat(conf).st_mode & 0o077, 0, "the conf holds the password")
        self.serves("the start")
        for name in ("redis", "smtp-sink", "broker:broker-0", "worker:worker-0"):
            for sig in (signal.SIGTERM, signal.SIGKILL):
                what = "%s got %s" % (name, signal.Signals(sig).name)
                pid = harness.wait_until(lambda: self.pid_of(name), 30, "%s running" % name)
                os.kill(pid, sig)
                harness.wait_until(lambda: self.pid_of(name) not in (None, pid), 30,
                                   "%s back under supervisord after %s" % (name, what))
                if os.getuid() == 0:
                    with open("/proc/%d/status" % self.pid_of(name)) as f:
                        uid = re.search(r"^Uid:\s+(\d+)", f.read(), re.M).group(1)
                    self.assertNotEqual(uid, "0", "%s runs as root" % name)
                self.serves(what)
        self.assertNotIn("FATAL", self.supervisor_log())
        self.assertNotIn("CRIT", self.supervisor_log())


class UpExternalRedisTest(unittest.TestCase):
    """JOBQ_REDIS_URL names a Redis of one's own, whose password holds a '%' (written
    %25 in the URL): supervisord takes a bare '%' for the start of an expansion, so
    up.sh must write it as '%%'; and the line up.sh prints hides the password."""

    PASSWORD = "pa%ss-w0rd"

    def setUp(self):
        tmp = harness.tempfile.mkdtemp(prefix="jobq-up-redis-")
        port = harness.free_port()
        self.redis = subprocess.Popen(
            [harness.redis_server_bin(), "--port", str(port), "--bind", harness.HOST,
             "--save", "", "--appendonly", "no", "--dir", tmp,
             "--requirepass", self.PASSWORD], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        self.addCleanup(self.stop_redis)
        url = "redis://:%s@%s:%d/0" % (self.PASSWORD.replace("%", "%25"), harness.HOST, port)
        self.up = harness.UpSh(workers=1, extra_env={"JOBQ_REDIS_URL": url})
        self.addCleanup(self.up.stop)

    def stop_redis(self):
        self.redis.terminate()
        try:
            self.redis.wait(10)
        except subprocess.TimeoutExpired:
            self.redis.kill()
            self.redis.wait(10)

    def test_password_with_percent(self):
        r = self.up.http("POST", "/jobs", {"type": "noop", "payload": {}})
        self.assertEqual(r.status, 201, r)
        job = r.json()["id"]
        harness.wait_until(
            lambda: self.up.http("GET", "/jobs/%s" % job).json().get("state") == "completed",
            60, "the job to complete")
        log = self.up.log()
        self.assertNotIn(self.PASSWORD.replace("%", "%25"), log)
        self.assertRegex(log, r"Redis redis://:\*\*\*@")


if __name__ == "__main__":
    unittest.main(verbosity=2)
