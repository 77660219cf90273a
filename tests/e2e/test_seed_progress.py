#!/usr/bin/python3
"""E2E: the seed's long task. POST /start-task and GET /task-status report
pending -> progress: i/n -> completed, on real redis/broker/worker processes."""
import datetime
import os
import re
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import E2ETestCase, is_int, parse_rfc3339  # noqa: E402

PROGRESS_RE = re.compile(r"^progress: (\d+)/(\d+)$")


def status_rank(status, n):
    """Where a seed status string sits in a job's life, or None if it is not
    a status a successful progress job of n steps may show."""
    if status == "pending":
        return (0, 0)
    if status == "running":
        return (1, 0)
    if status == "completed":
        return (3, 0)
    m = PROGRESS_RE.match(status or "")
    if m and int(m.group(2)) == n and 0 <= int(m.group(1)) <= n:
        return (2, int(m.group(1)))
    return None


class StartTaskMixin:
    def start_task(self, duration):
        r = self.env.http("POST", "/start-task?duration=%d" % duration)
        body = self.assertJSONResponse(r, 200)
        self.assertEqual(set(body), {"task_id", "status"}, r)
        self.assertTrue(is_int(body["task_id"]) and body["task_id"] > 0, r)
        self.assertEqual(body["status"], "pending", r)
        return body["task_id"]

    def task_status(self, task_id):
        r = self.env.http("GET", "/task-status/%d" % task_id)
        body = self.assertJSONResponse(r, 200)
        self.assertEqual(set(body), {"task_id", "status"}, r)
        self.assertEqual(body["task_id"], task_id, r)
        self.assertIsInstance(body["status"], str, r)
        return body["status"]


class PendingWithoutWorkerTest(StartTaskMixin, E2ETestCase):
    """No worker runs at first: the task stays pending, then a worker runs it."""

    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()

    def test_pending_until_a_worker_starts(self):
        tid = self.start_task(1)
        for _ in range(8):  # ~0.8 s, bounded
            self.assertEqual(self.task_status(tid), "pending")
            time.sleep(0.1)
        r = self.env.http("GET", "/jobs/%d" % tid)
        job = self.assertJSONResponse(r, 200)
        self.assertJobShape(job)
        self.assertEqual(job["id"], tid)
        self.assertEqual(job["state"], "pending", job)
        self.assertEqual(job["status"], "pending", job)
        self.assertEqual(job["type"], "progress", job)
        self.assertEqual(job["queue"], "default", job)
        self.assertEqual(job["attempts"], 0, job)
        self.assertEqual(job["payload"], {"duration": 1}, job)
        self.assertIsNone(job["started_at"], job)
        self.assertIsNone(job["finished_at"], job)
        self.assertTrue(self.env.redis.keys(harness.job_key(tid)), "no job hash in Redis")

        self.env.start_worker()
        status = self.env.wait_task_status(tid, lambda s: s == "completed" or
                                           (s or "").startswith("failed"),
                                           timeout=15, what="task %d to finish" % tid)
        self.assertEqual(status, "completed")


class ProgressTest(StartTaskMixin, E2ETestCase):
    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()
        env.start_worker()

    def watch(self, tid, n, timeout=15.0):
        """Polls /task-status every ~100 ms until completed (or failed); returns
        the distinct statuses in order with the time each was first seen."""
        seq = []
        t0 = time.monotonic()
        for _ in range(int(timeout / 0.1) + 1):
            s = self.task_status(tid)
            if not seq or seq[-1][0] != s:
                seq.append((s, round(time.monotonic() - t0, 2)))
            if s == "completed" or s.startswith("failed") or s == "cancelled":
                return seq
            if time.monotonic() - t0 > timeout:
                break
            self.env.check_alive()
            time.sleep(0.1)
        self.fail("task %d did not finish within %.0f s; statuses seen: %r" % (tid, timeout, seq))

    def assertProgressSequence(self, seq, n):
        statuses = [s for s, _ in seq]
        self.assertEqual(statuses[-1], "completed", "did not end completed: %r" % seq)
        ranks = []
        for s in statuses:
            r = status_rank(s, n)
            self.assertIsNotNone(r, "unexpected status %r in %r" % (s, seq))
            ranks.append(r)
        self.assertEqual(ranks, sorted(set(ranks)),
                         "statuses not in increasing order (went back or repeated): %r" % seq)
        steps = [r[1] for r in ranks if r[0] == 2]
        self.assertGreaterEqual(len(set(steps)), 2, "fewer than two progress values: %r" % seq)
        # Each step lasts ~1 s and we poll every 100 ms: the intermediate steps
        # cannot be missed (n/n may be replaced by completed at once).
        for i in range(1, n):
            self.assertIn(i, steps, "never saw 'progress: %d/%d': %r" % (i, n, seq))

    def test_progress_steps_then_completed(self):
        tid = self.start_task(3)
        t0 = time.monotonic()
        seq = self.watch(tid, 3)
        elapsed = time.monotonic() - t0
        self.assertProgressSequence(seq, 3)
        # Three one-second steps: not much faster, and not much slower.
        self.assertGreaterEqual(elapsed, 2.5, "finished too fast: %r" % seq)
        self.assertLess(elapsed, 8.0, "finished too slowly: %r" % seq)

        r = self.env.http("GET", "/jobs/%d" % tid)
        job = self.assertJSONResponse(r, 200)
        self.assertJobShape(job)
        self.assertEqual(job["id"], tid)
        self.assertEqual(job["state"], "completed", job)
        self.assertEqual(job["status"], "completed", job)
        self.assertEqual(job["type"], "progress", job)
        self.assertEqual(job["queue"], "default", job)
        self.assertEqual(job["attempts"], 1, job)
        self.assertEqual(job["max_attempts"], 3, job)
        self.assertEqual(job["priority"], 0, job)
        self.assertEqual(job["timeout_ms"], 0, job)
        self.assertEqual(job["payload"], {"duration": 3}, job)
        self.assertEqual(job["result"], {"steps": 3}, job)
        self.assertIsNone(job["error"], job)
        self.assertEqual(job["progress"].get("done"), 3, job)
        self.assertEqual(job["progress"].get("total"), 3, job)
        self.assertIsInstance(job["worker"], str, job)
        self.assertTrue(job["worker"], job)
        created = parse_rfc3339(job["created_at"])
        started = parse_rfc3339(job["started_at"])
        finished = parse_rfc3339(job["finished_at"])
        for name in ("created_at", "started_at", "finished_at"):
            self.assertTrue(job[name].endswith("Z") or job[name].endswith("+00:00"),
                            "%s is not UTC: %r" % (name, job[name]))
        self.assertLessEqual(created, started, job)
        self.assertLessEqual(started, finished, job)
        run = (finished - started).total_seconds()
        self.assertTrue(2.5 <= run <= 8.0, "started_at..finished_at is %.3f s: %r" % (run, job))
        now = datetime.datetime.now(datetime.timezone.utc)
        self.assertLess(abs((now - created).total_seconds()), 300, "created_at far from now: %r"
                        % job)

    def test_zero_duration_completes(self):
        tid = self.start_task(0)
        status = self.env.wait_task_status(
            tid, lambda s: s == "completed" or s.startswith("failed"), timeout=10)
        self.assertEqual(status, "completed")
        job = self.assertJSONResponse(self.env.http("GET", "/jobs/%d" % tid), 200)
        self.assertEqual(job["result"], {"steps": 0}, job)

    def test_ids_increase(self):
        a = self.start_task(0)
        b = self.start_task(0)
        self.assertGreater(b, a)
        for t in (a, b):
            self.env.wait_task_status(t, lambda s: s == "completed", timeout=10)

    def test_hundred_one_second_tasks_run_concurrently(self):
        # DESIGN.md: one worker runs 100 one-second IO jobs in about one second.
        ids = [self.start_task(1) for _ in range(100)]
        t_enqueued = time.monotonic()
        pending = set(ids)
        deadline = t_enqueued + 20
        for _ in range(400):
            for tid in sorted(pending):
                if self.task_status(tid) == "completed":
                    pending.discard(tid)
            if not pending or time.monotonic() > deadline:
                break
            self.env.check_alive()
            time.sleep(0.05)
        elapsed = time.monotonic() - t_enqueued
        self.assertFalse(pending, "%d of 100 tasks not completed after %.1f s"
                         % (len(pending), elapsed))
        self.assertLess(elapsed, 4.0, "100 one-second tasks took %.1f s after the last enqueue "
                        "(--concurrency 100: expected about 1 s)" % elapsed)


if __name__ == "__main__":
    harness.main()
