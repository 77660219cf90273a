#!/usr/bin/python3
"""E2E fault injection: jobs that overrun their timeout_ms (DESIGN.md,
Guarantees: a job that runs past timeout_ms is stopped and counts as a failed
attempt).

* A progress job (duration 10, timeout_ms 500, max_attempts 1) ends failed,
  "timed out", within a few seconds.
* A hash job on the thread pool that overruns timeout_ms 1 ends failed,
  "timed out", and the worker stays healthy: later jobs (on its loop and on
  its pool) complete and the process is alive.
"""
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import FreshEnvTestCase, parse_rfc3339  # noqa: E402

FAST = ["--heartbeat-ms", "200", "--lease-ms", "2000", "--retry-base-ms", "100",
        "--grace-ms", "300", "--log-level", "debug"]
# 16 bytes x 10,000,000 = 160 MB of sha256: tens of ms at the very least.
HASH_PAYLOAD = {"data": "x" * 16, "repeat": 10000000}
MIN_HASH_MS = 20


def run_ms(job):
    return (parse_rfc3339(job["finished_at"]) -
            parse_rfc3339(job["started_at"])).total_seconds() * 1000


class TimeoutTest(FreshEnvTestCase):
    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()
        env.start_worker(extra_args=FAST)

    def test_progress_job_times_out(self):
        env = self.env
        t0 = time.monotonic()
        jid = self.post_job({"type": "progress", "payload": {"duration": 10},
                             "timeout_ms": 500, "max_attempts": 1})
        job = env.wait_job(jid, timeout=8)
        elapsed = time.monotonic() - t0
        sys.stderr.write("\nprogress job with timeout_ms 500 ended %s after %.3f s: %r\n"
                         % (job["state"], elapsed, job["error"]))
        self.assertEqual(job["state"], "failed", job)
        self.assertIn("timed out", job["error"] or "", job)
        self.assertEqual(job["attempts"], 1, job)
        self.assertIsNone(job["result"], job)
        self.assertLess(elapsed, 5.0, job)
        self.assertGreaterEqual(run_ms(job), 450, "failed before its timeout: %r" % job)
        self.assertEqual([d["id"] for d in env.http("GET", "/dead").json()["jobs"]], [jid])
        # Stopped: no progress is written after the failure.
        before = env.redis.hgetall(harness.job_key(jid))
        time.sleep(1.3)
        self.assertEqual(env.redis.hgetall(harness.job_key(jid)), before)
        self.assertTrue(env.workers[0].running())

    def test_hash_job_on_the_pool_times_out_and_worker_stays_healthy(self):
        env = self.env
        worker = env.workers[0]
        # How long this hash takes here, without a timeout.
        ref = self.post_job({"type": "hash", "payload": HASH_PAYLOAD})
        ref_job = env.wait_job(ref, timeout=30)
        self.assertEqual(ref_job["state"], "completed", ref_job)
        ref_ms = run_ms(ref_job)
        sys.stderr.write("\nhash of %d bytes took %.0f ms without a timeout\n"
                         % (len(HASH_PAYLOAD["data"]) * HASH_PAYLOAD["repeat"], ref_ms))
        self.assertGreater(ref_ms, MIN_HASH_MS,
                           "the hash job is too quick to overrun timeout_ms 1 for sure")

        jid = self.post_job({"type": "hash", "payload": HASH_PAYLOAD, "timeout_ms": 1,
                             "max_attempts": 1})
        job = env.wait_job(jid, timeout=30)
        self.assertEqual(job["state"], "failed", job)
        self.assertIn("timed out", job["error"] or "", job)
        self.assertEqual(job["attempts"], 1, job)
        self.assertIsNone(job["result"], job)
        # The pool thread finishes later; its result must be dropped.
        time.sleep(max(0.5, 2 * ref_ms / 1000))
        job = self.assertJSONResponse(env.http("GET", "/jobs/%d" % jid), 200)
        self.assertEqual(job["state"], "failed", job)
        self.assertIsNone(job["result"], job)
        self.assertEqual(len(job["errors"]), 1, job)

        # The worker is healthy: a noop (its loop) and a hash (its pool) complete.
        nid = self.post_job({"type": "noop"})
        self.assertEqual(env.wait_job(nid, timeout=10)["state"], "completed")
        hid = self.post_job({"type": "hash", "payload": {"data": "abc"}})
        h = env.wait_job(hid, timeout=10)
        self.assertEqual(h["state"], "completed", h)
        self.assertEqual(h["result"], {"sha256": "ba7816bf8f01cfea414140de5dae2223"
                                                 "b00361a396177a9cb410ff61f20015ad"}, h)
        self.assertTrue(worker.running(), worker.log_tail())
        env.check_alive()


if __name__ == "__main__":
    harness.main()
