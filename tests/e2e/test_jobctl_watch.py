#!/usr/bin/python3
"""E2E: `jobctl watch ID` over the broker's event stream (GET /jobs/{id}/events)
against a real broker and worker: one line per event when stdout is not a
terminal, JSON lines with --json, a redrawn bar with rate and ETA on a
terminal (a pty), the exit status of each outcome, unknown jobs, an
unreachable broker, and a stream that breaks off (the broker restarts) and is
opened again."""
import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import E2ETestCase  # noqa: E402

STEPS = 8  # a progress job of 2 s at 250 ms a step
PROGRESS = {"type": "progress", "payload": {"duration": 2, "interval_ms": 250}}
STATES = {"pending", "scheduled", "running", "completed", "failed", "cancelled"}
LINE = re.compile(r"^task (\d+): (.*)$")


class WatchCase(E2ETestCase):
    @classmethod
    def setUpEnv(cls, env):
        harness.require_executable(harness.jobctl_bin(), "jobctl")
        env.start_redis()
        env.start_broker()
        env.start_worker()

    def statuses(self, p, jid):
        """The statuses of the "task ID: STATUS" lines of a run, in order."""
        out = []
        for ln in p.out.splitlines():
            m = LINE.match(ln)
            self.assertTrue(m, "not a 'task ID: STATUS' line: %r\n%s" % (ln, self.describe(p)))
            self.assertEqual(int(m.group(1)), jid, self.describe(p))
            out.append(m.group(2))
        return out

    def assertProgressInOrder(self, statuses, p):
        """progress: i/STEPS lines in order, every step after the first one seen
        (the broker may fold a change made while it reads the job's state into
        the first event), ending with completed."""
        self.assertEqual(statuses[-1], "completed", self.describe(p))
        steps = [int(m.group(1)) for m in
                 (re.match(r"^progress: (\d+)/%d$" % STEPS, s) for s in statuses) if m]
        self.assertTrue(steps, "no progress line: " + self.describe(p))
        self.assertEqual(steps[-1], STEPS, self.describe(p))
        self.assertEqual(steps[1:], list(range(steps[0] + 1, STEPS + 1)), self.describe(p))
        for s in statuses[:-1]:
            self.assertIn(s.split(":")[0], ("pending", "running", "progress"), self.describe(p))


class JobctlWatchTest(WatchCase):
    def test_progress_job_to_completion(self):
        jid = self.post_job(PROGRESS)
        t0 = time.monotonic()
        p = self.jobctl("watch", str(jid))
        self.assertEqual(p.returncode, 0, self.describe(p))
        self.assertEqual(p.err, "", self.describe(p))
        self.assertNotIn("\x1b[", p.out, self.describe(p))
        self.assertNotIn("\r", p.out, self.describe(p))
        self.assertProgressInOrder(self.statuses(p, jid), p)
        self.assertGreaterEqual(time.monotonic() - t0, 1.0, self.describe(p))
        self.assertEqual(self.env.wait_job(jid)["state"], "completed")

    def test_json_lines(self):
        jid = self.post_job(PROGRESS)
        p = self.jobctl("watch", "--json", str(jid))
        self.assertEqual(p.returncode, 0, self.describe(p))
        events = []
        for ln in p.out.splitlines():
            try:
                events.append(json.loads(ln))
            except ValueError:
                self.fail("not a JSON line: %r\n%s" % (ln, self.describe(p)))
        self.assertTrue(events, self.describe(p))
        for e in events:
            self.assertEqual(set(e), {"id", "state", "status", "progress", "seq"}, e)
            self.assertEqual(e["id"], jid, e)
            self.assertIn(e["state"], STATES, e)
            self.assertEqual(set(e["progress"]), {"done", "total"}, e)
        self.assertEqual((events[-1]["state"], events[-1]["status"]),
                         ("completed", "completed"), self.describe(p))
        self.assertProgressInOrder([e["status"] for e in events], p)
        seqs = [e["seq"] for e in events]
        self.assertEqual(seqs, sorted(set(seqs)), "seq not strictly increasing: %r" % events)
        # the global flag works as well
        p = self.jobctl("--json", "watch", str(jid))
        self.assertEqual(p.returncode, 0, self.describe(p))
        self.assertEqual(json.loads(p.out)["state"], "completed", self.describe(p))

    def test_already_completed(self):
        jid = self.post_job({"type": "noop"})
        self.env.wait_job(jid)
        t0 = time.monotonic()
        p = self.jobctl("watch", str(jid))
        self.assertEqual((p.returncode, p.out, p.err), (0, "task %d: completed\n" % jid, ""),
                         self.describe(p))
        self.assertLess(time.monotonic() - t0, 5, self.describe(p))

    def test_failed_job_exits_nonzero(self):
        jid = self.post_job({"type": "exec", "payload": {"command": "no_such_type"}, "max_attempts": 1})
        p = self.jobctl("watch", str(jid))
        self.assertEqual(p.returncode, 1, self.describe(p))
        last = self.statuses(p, jid)[-1]
        self.assertTrue(last.startswith("failed: "), self.describe(p))
        self.assertIn("jobctl: task %d ended as 'failed: " % jid, p.err, self.describe(p))
        p = self.jobctl("watch", "--json", str(jid))
        self.assertEqual(p.returncode, 1, self.describe(p))
        self.assertEqual(json.loads(p.out)["state"], "failed", self.describe(p))

    def test_cancelled_job_exits_nonzero(self):
        jid = self.post_job({"type": "progress", "payload": {"duration": 60}})
        self.env.wait_job(jid, states=("running",))
        watcher = subprocess.Popen(
            [harness.jobctl_bin(), "--url", self.env.broker_url, "watch", str(jid)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            time.sleep(0.5)
            self.assertIn(self.env.http("DELETE", "/jobs/%d" % jid).status, (200, 202))
            out, err = watcher.communicate(timeout=20)
        finally:
            if watcher.poll() is None:
                watcher.kill()
                watcher.communicate()
        self.assertEqual(watcher.returncode, 1, (out, err))
        self.assertTrue(out.decode().endswith("task %d: cancelled\n" % jid), (out, err))
        self.assertIn(b"ended as 'cancelled'", err)

    def test_ctrl_c_leaves_the_job_running(self):
        jid = self.post_job({"type": "progress", "payload": {"duration": 60}})
        self.env.wait_job(jid, states=("running",))
        watcher = subprocess.Popen(
            [harness.jobctl_bin(), "--url", self.env.broker_url, "watch", str(jid)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            time.sleep(0.5)
            t0 = time.monotonic()
            watcher.send_signal(signal.SIGINT)
            out, err = watcher.communicate(timeout=10)
        finally:
            if watcher.poll() is None:
                watcher.kill()
                watcher.communicate()
        self.assertEqual(watcher.returncode, 130, (out, err))
        self.assertLess(time.monotonic() - t0, 3, (out, err))
        self.assertRegex(err.decode(), r"^jobctl: interrupted; task %d was '(running|progress: "
                         r"\d+/60)' and goes on\n$" % jid)
        self.assertEqual(self.assertJSONResponse(self.env.http("GET", "/jobs/%d" % jid),
                                                 200)["state"], "running")
        self.env.http("DELETE", "/jobs/%d" % jid)

    def test_unknown_job(self):
        p = self.jobctl("watch", "987654")
        self.assertEqual((p.returncode, p.out), (1, ""), self.describe(p))
        self.assertEqual(p.err, "jobctl: task 987654 not found\n", self.describe(p))

    def test_unreachable_broker(self):
        p = self.jobctl("--url", "http://127.0.0.1:1", "watch", "1", url=False)
        self.assertEqual((p.returncode, p.out), (1, ""), self.describe(p))
        self.assertIn("jobctl: cannot reach broker at 'http://127.0.0.1:1'", p.err,
                      self.describe(p))
        self.assertNotIn("reopening", p.err, self.describe(p))

    def test_wait_timeout(self):
        jid = self.post_job({"type": "progress", "payload": {"duration": 60}})
        t0 = time.monotonic()
        p = self.jobctl("watch", str(jid), "--wait-timeout", "1")
        self.assertEqual(p.returncode, 1, self.describe(p))
        self.assertLess(time.monotonic() - t0, 10, self.describe(p))
        self.assertRegex(p.err, r"jobctl: task %d is still '[^']+' after 1 s \(--wait-timeout\)"
                         % jid, self.describe(p))
        self.env.http("DELETE", "/jobs/%d" % jid)

    def test_terminal_bar(self):
        """Under a pty: the line is redrawn in place and shows the bar, the
        count, the percentage, the rate and the ETA."""
        jid = self.post_job({"type": "progress", "payload": {"duration": 3, "interval_ms": 300}})
        master, slave = pty.openpty()
        try:
            proc = subprocess.Popen(
                [harness.jobctl_bin(), "--url", self.env.broker_url, "watch", str(jid)],
                stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE,
                env=harness._clean_env({"TERM": "xterm"}))
            os.close(slave)
            slave = None
            out = b""
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                r, _, _ = select.select([master], [], [], 0.5)
                if r:
                    try:
                        chunk = os.read(master, 65536)
                    except OSError:  # EIO: the child closed the pty
                        break
                    if not chunk:
                        break
                    out += chunk
                elif proc.poll() is not None:
                    break
            rc = proc.wait(timeout=10)
            err = proc.stderr.read().decode()
        finally:
            os.close(master)
            if slave is not None:
                os.close(slave)
        text = out.decode("utf-8", "replace")
        self.assertEqual(rc, 0, (text, err))
        self.assertEqual(err, "")
        frames = [f.replace("\x1b[K", "") for f in text.split("\r") if f.strip()]
        self.assertGreater(len(frames), 3, text)
        bar = r"\[[#-]{20}\]"
        with_eta = [f for f in frames
                    if re.match(bar + r" \d+/10 \d+%  \d+(\.\d)?/s  ETA \d+s$", f)]
        self.assertTrue(with_eta, "no frame with rate and ETA: %r" % frames)
        self.assertRegex(frames[-1], r"^\[#{20}\] 10/10 100%  completed\n?$", text)
        self.assertIn("\x1b[K", text)


class JobctlWatchReopenTest(WatchCase):
    def test_broker_restart_reopens_the_stream(self):
        """The broker goes away in the middle of a job: watch opens the stream
        again, gets the current state first, and follows the job to its end."""
        jid = self.post_job(PROGRESS)
        self.env.wait_job(jid, states=("running",))
        watcher = subprocess.Popen(
            [harness.jobctl_bin(), "--url", self.env.broker_url, "watch", str(jid)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            time.sleep(0.6)
            self.env.broker_proc.stop()
            time.sleep(0.3)
            self.env.start_broker()
            out, err = watcher.communicate(timeout=30)
        finally:
            if watcher.poll() is None:
                watcher.kill()
                watcher.communicate()
        p = subprocess.CompletedProcess(watcher.args, watcher.returncode, out, err)
        p.out, p.err, p.argv = out.decode(), err.decode(), watcher.args
        self.assertEqual(p.returncode, 0, self.describe(p))
        self.assertIn("jobctl: event stream of task %d lost (" % jid, p.err, self.describe(p))
        self.assertIn("); reopening\n", p.err, self.describe(p))
        statuses = self.statuses(p, jid)
        self.assertEqual(statuses[-1], "completed", self.describe(p))
        self.assertEqual(len(statuses), len(set(statuses)), "a status shown twice: "
                         + self.describe(p))
        steps = [int(s.split(" ")[1].split("/")[0]) for s in statuses if s.startswith("progress")]
        self.assertEqual(steps, sorted(steps), self.describe(p))


if __name__ == "__main__":
    harness.main()
