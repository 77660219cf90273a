#!/usr/bin/python3
"""E2E fault injection: graceful shutdown of a worker (DESIGN.md, Guarantees:
on SIGTERM a worker stops fetching, lets running jobs finish within
--grace-ms, then returns the rest to the head of their queue without spending
an attempt).

* SIGTERM during a long job with --grace-ms 300: the worker exits 0 within a
  few seconds, the job is pending at the head of jobq:q:default with
  attempts 0, and a new worker runs it (and completes a short one).
* SIGTERM during a job that ends within the grace period: it completes
  normally and is not requeued.
"""
import os
import re
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import FreshEnvTestCase, wait_until  # noqa: E402

FAST = ["--heartbeat-ms", "200", "--lease-ms", "2000", "--retry-base-ms", "100",
        "--log-level", "debug"]
EXIT_BOUND_S = 4.0  # after SIGTERM with a short grace period


class ShutdownTest(FreshEnvTestCase):
    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()

    def job(self, jid):
        return self.assertJSONResponse(self.env.http("GET", "/jobs/%d" % jid), 200)

    def wait_running(self, jid, min_done=0, timeout=10):
        def poll():
            job = self.job(jid)
            return job if job["state"] == "running" and \
                job["progress"]["done"] >= min_done else None
        return wait_until(poll, timeout, "job %d running with done >= %d" % (jid, min_done),
                          env=self.env)

    def sigterm(self, proc):
        """SIGTERM; returns (exit status, seconds to exit)."""
        t0 = time.monotonic()
        rc = proc.stop()
        elapsed = time.monotonic() - t0
        sys.stderr.write("\n%s exited with status %s %.3f s after SIGTERM\n"
                         % (proc.name, rc, elapsed))
        self.assertFalse(proc.needed_kill, "%s needed SIGKILL after SIGTERM\n%s"
                         % (proc.name, proc.log_tail()))
        return rc, elapsed

    def assert_requeued(self, jid):
        env = self.env
        h = env.redis.hgetall(harness.job_key(jid))
        self.assertEqual(h.get("state"), b"pending", h)
        # (a field at its default, attempts 0, may be left out of the hash)
        self.assertEqual(int(h.get("attempts", b"0")), 0, "the aborted attempt was spent: %r" % h)
        for k in ("worker", "started_at", "done", "total", "result", "error"):
            self.assertNotIn(k, h, "field %r left on a requeued job: %r" % (k, h))
        queue = [int(x) for x in env.redis.execute("LRANGE", harness.queue_key("default"), 0, -1)]
        self.assertIn(jid, queue, "job %d not back in jobq:q:default" % jid)
        # Workers RPOP: a requeued job goes first in line (the right end).
        self.assertEqual(queue[-1], jid, "requeued job is not first in line: %r" % queue)
        self.assertEqual(env.redis.execute("ZSCORE", harness.leases_key(), str(jid)), None)
        job = self.job(jid)
        self.assertEqual((job["state"], job["attempts"]), ("pending", 0), job)
        self.assertEqual(env.http("GET", "/task-status/%d" % jid).json()["status"], "pending")

    def test_sigterm_requeues_a_long_job_without_spending_an_attempt(self):
        env = self.env
        w1 = env.start_worker(extra_args=FAST + ["--grace-ms", "300"])
        jid = self.post_job({"type": "progress", "payload": {"duration": 30}})
        self.wait_running(jid, min_done=1)
        rc, elapsed = self.sigterm(w1)
        self.assertEqual(rc, 0, w1.log_tail())
        self.assertLess(elapsed, EXIT_BOUND_S, w1.log_tail())
        self.assertGreaterEqual(elapsed, 0.25, "exited before its grace period was over")
        self.assertIn("job %d (progress, queue default) returned to its queue" % jid,
                      w1.log_text())
        self.assert_requeued(jid)
        # No worker entry left behind by a clean exit.
        self.assertEqual(env.redis.execute("ZCARD", harness.key("workers")), 0)

        # A new worker takes it and runs it: attempt 1, progress moving.
        w2 = env.start_worker(extra_args=FAST + ["--grace-ms", "300"])
        w2_id = env.worker_id(w2)
        job = self.wait_running(jid, min_done=1)
        self.assertEqual(job["worker"], w2_id, job)
        self.assertEqual(job["attempts"], 1, job)
        self.assertEqual(job["progress"]["total"], 30, job)
        # And gives it back again when stopped.
        rc, elapsed = self.sigterm(w2)
        self.assertEqual(rc, 0, w2.log_tail())
        self.assertLess(elapsed, EXIT_BOUND_S)
        self.assert_requeued(jid)

    def test_sigterm_then_another_worker_completes_the_job(self):
        env = self.env
        w1 = env.start_worker(extra_args=FAST + ["--grace-ms", "300"])
        jid = self.post_job({"type": "progress", "payload": {"duration": 2}})
        self.wait_running(jid)
        rc, elapsed = self.sigterm(w1)
        self.assertEqual(rc, 0, w1.log_tail())
        self.assertLess(elapsed, EXIT_BOUND_S)
        job = self.job(jid)
        if job["state"] == "completed":
            self.fail("the job completed within 300 ms of grace; cannot test the requeue: %r"
                      % job)
        self.assert_requeued(jid)

        w2 = env.start_worker(extra_args=FAST + ["--grace-ms", "300"])
        w2_id = env.worker_id(w2)
        job = env.wait_job(jid, timeout=10)
        self.assertEqual(job["state"], "completed", job)
        self.assertEqual(job["result"], {"steps": 2}, job)
        self.assertEqual(job["attempts"], 1, job)
        self.assertEqual(job["worker"], w2_id, job)
        self.assertEqual(env.redis.llen(harness.queue_key("default")), 0)
        time.sleep(0.2)
        n = len(re.findall(r"job %d \(progress, queue default\) completed" % jid,
                           w1.log_text() + w2.log_text()))
        self.assertEqual(n, 1, "completion log lines for job %d" % jid)

    def test_job_that_ends_within_the_grace_period_completes(self):
        env = self.env
        w1 = env.start_worker(extra_args=FAST + ["--grace-ms", "5000"])
        jid = self.post_job({"type": "progress", "payload": {"duration": 1}})
        self.wait_running(jid)
        rc, elapsed = self.sigterm(w1)
        self.assertEqual(rc, 0, w1.log_tail())
        self.assertLess(elapsed, EXIT_BOUND_S, w1.log_tail())
        job = self.job(jid)
        self.assertEqual(job["state"], "completed", job)
        self.assertEqual(job["result"], {"steps": 1}, job)
        self.assertEqual(job["attempts"], 1, job)
        self.assertEqual(env.redis.llen(harness.queue_key("default")), 0)
        log = w1.log_text()
        self.assertNotIn("returned to its queue", log)
        self.assertIn("job %d (progress, queue default) completed" % jid, log)


if __name__ == "__main__":
    harness.main()
