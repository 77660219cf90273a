#!/usr/bin/python3
"""E2E: DELETE /jobs/{id} (docs/api.md, "Operations"): a pending or scheduled
job is cancelled (200) and never runs; a running job is cancelled on request
(202) and ends `cancelled` (an IO job stopped on the worker's loop, a
thread-pool job with its result dropped); a finished job is 409, an unknown
id 404, a bad id 400."""
import os
import signal
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import E2ETestCase, is_int  # noqa: E402

CANCEL_RUNNING_TIMEOUT = 3.0  # s from the 202 to the job's `cancelled` (docs: "at once")


class CancelTest(E2ETestCase):
    """One Redis, broker and worker (queue `default`, concurrency 100, 2
    threads); tests that need another worker start it on a queue of their own."""

    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()
        cls.default_worker = env.start_worker()

    # -- helpers -------------------------------------------------------------

    def post(self, body, state="pending"):
        r = self.env.http("POST", "/jobs", body)
        got = self.assertJSONResponse(r, 201)
        self.assertEqual(set(got), {"id", "state"}, r)
        self.assertTrue(is_int(got["id"]) and got["id"] > 0, r)
        self.assertEqual(got["state"], state, r)
        return got["id"]

    def get_job(self, jid):
        r = self.env.http("GET", "/jobs/%d" % jid)
        job = self.assertJSONResponse(r, 200)
        self.assertJobShape(job)
        return job

    def cancel(self, jid):
        return self.env.http("DELETE", "/jobs/%d" % jid)

    def assertCancelledNow(self, r, jid):
        """200 {"id": N, "state": "cancelled"} (a pending or scheduled job)."""
        self.assertEqual(self.assertJSONResponse(r, 200), {"id": jid, "state": "cancelled"}, r)

    def assertCancelRequested(self, r, jid):
        """202 {"id": N, "state": "running", "cancel_requested": true}."""
        self.assertEqual(self.assertJSONResponse(r, 202),
                         {"id": jid, "state": "running", "cancel_requested": True}, r)

    def assertCancelledJob(self, job, ran):
        self.assertEqual(job["state"], "cancelled", job)
        self.assertEqual(job["status"], "cancelled", job)
        if not ran:
            self.assertIsNone(job["started_at"], "a job cancelled before it ran has a "
                              "started_at: %r" % (job,))
            self.assertEqual(job["attempts"], 0, job)
        st = self.assertJSONResponse(self.env.http("GET", "/task-status/%d" % job["id"]), 200)
        self.assertEqual(st, {"task_id": job["id"], "status": "cancelled"})

    def hold(self, seconds, fn, what, interval=0.1):
        """A bounded negative check: fn() must hold (return truthy) at every
        poll for `seconds`."""
        deadline = time.monotonic() + seconds
        for _ in range(int(seconds / interval) + 2):
            ok = fn()
            self.assertTrue(ok, "%s stopped holding: %r" % (what, ok))
            self.env.check_alive()
            if time.monotonic() >= deadline:
                return
            time.sleep(interval)

    def state_is(self, jid, state):
        job = self.get_job(jid)
        return job if job["state"] == state else None

    def assertWorkerServes(self, queue="default"):
        jid = self.post({"type": "noop", "queue": queue})
        job = self.env.wait_job(jid, timeout=15)
        self.assertEqual(job["state"], "completed", job)

    # -- pending, scheduled ---------------------------------------------------

    def test_cancel_pending_job_never_runs(self):
        jid = self.post({"type": "noop", "queue": "idle"})  # nobody serves "idle" yet
        self.assertEqual(self.get_job(jid)["state"], "pending")
        self.assertCancelledNow(self.cancel(jid), jid)
        self.assertCancelledJob(self.get_job(jid), ran=False)

        # A worker for "idle" now: it must take the job after it and skip it.
        after = self.post({"type": "noop", "queue": "idle"})
        self.env.start_worker(extra_args=["--queues", "idle"])
        job = self.env.wait_job(after, timeout=15)
        self.assertEqual(job["state"], "completed", job)
        self.assertCancelledJob(self.get_job(jid), ran=False)
        self.assertEqual(self.env.redis.llen(harness.queue_key("idle")), 0,
                         "the worker left ids in the idle queue")
        # and it stays so
        self.hold(1.0, lambda: self.state_is(jid, "cancelled"), "job %d cancelled" % jid)
        self.assertCancelledJob(self.get_job(jid), ran=False)

    def test_cancel_pending_twice_is_conflict(self):
        jid = self.post({"type": "noop", "queue": "idle2"})  # never served
        self.assertCancelledNow(self.cancel(jid), jid)
        self.assertError(self.cancel(jid), 409, "conflict")
        self.assertCancelledJob(self.get_job(jid), ran=False)

    def test_cancel_scheduled_job_never_runs(self):
        jid = self.post({"type": "noop", "delay_ms": 2000}, state="scheduled")
        self.assertEqual(self.get_job(jid)["state"], "scheduled")
        self.assertCancelledNow(self.cancel(jid), jid)
        self.assertCancelledJob(self.get_job(jid), ran=False)
        # its time comes and goes (the default worker serves its queue)
        self.hold(3.0, lambda: self.state_is(jid, "cancelled"), "job %d cancelled" % jid)
        job = self.get_job(jid)
        self.assertCancelledJob(job, ran=False)
        self.assertIsNone(job["started_at"], job)
        self.assertWorkerServes()

    def test_cancel_job_waiting_for_a_retry(self):
        # An email to an SMTP port nobody listens on fails and is retried; with
        # --retry-base-ms 3000 it waits (scheduled) 2.25..3.75 s for attempt 2.
        self.env.start_worker(extra_args=["--queues", "retryq", "--retry-base-ms", "3000"])
        jid = self.post({"type": "email", "queue": "retryq", "max_attempts": 3,
                         "payload": {"to": "a@example.test", "subject": "s", "body": "b"}})
        job = self.env.wait_job(jid, states=("scheduled",), timeout=15)
        self.assertEqual(job["attempts"], 1, job)
        self.assertCancelledNow(self.cancel(jid), jid)
        self.hold(4.5, lambda: self.state_is(jid, "cancelled"), "job %d cancelled" % jid)
        job = self.get_job(jid)
        self.assertCancelledJob(job, ran=True)
        self.assertEqual(job["attempts"], 1, "a cancelled job was attempted again: %r" % job)

    # -- running ---------------------------------------------------------------

    def test_cancel_running_progress_job(self):
        r = self.env.http("POST", "/start-task?duration=10")
        jid = self.assertJSONResponse(r, 200)["task_id"]
        self.env.wait_job(jid, states=("running",), timeout=10)
        t0 = time.monotonic()
        self.assertCancelRequested(self.cancel(jid), jid)
        job = self.env.wait_job(jid, timeout=CANCEL_RUNNING_TIMEOUT)
        took = time.monotonic() - t0
        self.assertCancelledJob(job, ran=True)
        # cancelled for good: not completed, failed or recovered later
        self.hold(1.5, lambda: self.state_is(jid, "cancelled"), "job %d cancelled" % jid)
        job = self.get_job(jid)
        self.assertCancelledJob(job, ran=True)
        self.assertIsNone(job["result"], job)
        self.assertError(self.cancel(jid), 409, "conflict")
        self.assertWorkerServes()
        self.assertTrue(self.default_worker.running())
        sys.stderr.write("running progress job cancelled %.2f s after the 202\n" % took)

    def test_cancel_running_job_frees_its_slot(self):
        # With concurrency 1, a job queued behind a cancelled 10 s progress job
        # runs at once only if the worker really stopped the cancelled one.
        self.env.start_worker(extra_args=["--queues", "solo", "--concurrency", "1"])
        jid = self.post({"type": "progress", "queue": "solo",
                         "payload": {"duration": 10, "interval_ms": 100}})
        self.env.wait_job(jid, states=("running",), timeout=10)
        nxt = self.post({"type": "noop", "queue": "solo"})
        time.sleep(0.3)
        self.assertEqual(self.get_job(nxt)["state"], "pending",
                         "a concurrency-1 worker ran two jobs at once")
        self.assertCancelRequested(self.cancel(jid), jid)
        self.assertCancelledJob(self.env.wait_job(jid, timeout=CANCEL_RUNNING_TIMEOUT), ran=True)
        job = self.env.wait_job(nxt, timeout=CANCEL_RUNNING_TIMEOUT)
        self.assertEqual(job["state"], "completed",
                         "the job behind a cancelled one did not run: %r" % (job,))

    def test_cancel_running_hash_job_on_thread_pool(self):
        jid = self.post({"type": "hash", "payload": {"data": "x" * 1000000, "repeat": 2000}})
        self.env.wait_job(jid, states=("running",), timeout=15)
        time.sleep(0.35)
        job = self.get_job(jid)
        self.assertEqual(job["state"], "running",
                         "the hash job did not run > 300 ms, the test cannot cancel it "
                         "while it runs: %r" % (job,))
        self.assertCancelRequested(self.cancel(jid), jid)
        # a thread-pool job cannot be interrupted: allow it to finish hashing
        job = self.env.wait_job(jid, timeout=30)
        self.assertCancelledJob(job, ran=True)
        self.assertIsNone(job["result"], "the result of a cancelled job was kept: %r" % (job,))
        self.hold(1.0, lambda: self.state_is(jid, "cancelled"), "job %d cancelled" % jid)
        # the pool is still usable
        h = self.post({"type": "hash", "payload": {"data": "abc", "repeat": 10}})
        self.assertEqual(self.env.wait_job(h, timeout=30)["state"], "completed")
        self.assertWorkerServes()

    # -- refusals ----------------------------------------------------------------

    def test_cancel_completed_job_is_conflict(self):
        jid = self.post({"type": "noop"})
        self.assertEqual(self.env.wait_job(jid, timeout=15)["state"], "completed")
        self.assertError(self.cancel(jid), 409, "conflict")
        job = self.get_job(jid)
        self.assertEqual(job["state"], "completed", job)
        self.assertEqual(job["status"], "completed", job)

    def test_cancel_failed_job_is_conflict(self):
        jid = self.post({"type": "exec", "payload": {"command": "no-such-type"}, "max_attempts": 1})
        self.assertEqual(self.env.wait_job(jid, timeout=15)["state"], "failed")
        self.assertError(self.cancel(jid), 409, "conflict")
        self.assertEqual(self.get_job(jid)["state"], "failed")

    def test_cancel_unknown_id_is_not_found(self):
        self.assertError(self.env.http("DELETE", "/jobs/987654321"), 404, "not_found")

    def test_cancel_bad_id_is_invalid_argument(self):
        for bad in ("abc", "0", "-1", "1.5", "99999999999999999999999", "%20"):
            r = self.env.http("DELETE", "/jobs/" + bad)
            self.assertError(r, 400, "invalid_argument")

    def test_cancel_pending_job_of_paused_queue(self):
        self.env.start_worker(extra_args=["--queues", "pq"])
        r = self.env.http("POST", "/queues/pq/pause")
        self.assertEqual(self.assertJSONResponse(r, 200), {"name": "pq", "paused": True})
        jid = self.post({"type": "noop", "queue": "pq"})
        after = self.post({"type": "noop", "queue": "pq"})
        self.assertCancelledNow(self.cancel(jid), jid)
        r = self.env.http("POST", "/queues/pq/resume")
        self.assertEqual(self.assertJSONResponse(r, 200), {"name": "pq", "paused": False})
        self.assertEqual(self.env.wait_job(after, timeout=15)["state"], "completed")
        self.assertCancelledJob(self.get_job(jid), ran=False)


class CancelRedisDownTest(E2ETestCase):
    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()

    def test_redis_down_is_503(self):
        r = self.env.http("POST", "/jobs", {"type": "noop"})
        jid = self.assertJSONResponse(r, 201)["id"]
        self.env.stop_redis()
        self.assertError(self.env.http("DELETE", "/jobs/%d" % jid), 503, "redis_unavailable")


class CancelBackstopTest(harness.FreshEnvTestCase):
    """A running job whose worker never hears of its cancellation (the worker
    is frozen, then killed) still ends `cancelled`: the job is given back by
    the reaper, and the worker that takes it next is told by its heartbeat
    (the cancel channel message went out before it existed)."""

    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()

    def test_cancel_requested_job_of_a_lost_worker_ends_cancelled(self):
        victim = self.env.start_worker(extra_args=["--queues", "cq"])
        r = self.env.http("POST", "/jobs", {"type": "progress", "queue": "cq",
                                            "payload": {"duration": 4, "interval_ms": 100}})
        jid = self.assertJSONResponse(r, 201)["id"]
        self.env.wait_job(jid, states=("running",), timeout=10)
        os.killpg(victim.pid, signal.SIGSTOP)
        try:
            r = self.env.http("DELETE", "/jobs/%d" % jid)
            self.assertEqual(self.assertJSONResponse(r, 202),
                             {"id": jid, "state": "running", "cancel_requested": True}, r)
        finally:
            victim.kill9()
        self.env.start_worker(extra_args=["--queues", "cq"])
        job = self.env.wait_job(jid, states=("completed", "failed", "cancelled"), timeout=20)
        self.assertEqual(job["state"], "cancelled",
                         "a job whose cancellation was accepted (202) ended %r: %r"
                         % (job["state"], job))
        st = self.assertJSONResponse(self.env.http("GET", "/task-status/%d" % jid), 200)
        self.assertEqual(st["status"], "cancelled")
        sys.stderr.write("job after the lost worker: attempts %s, recoveries %s\n"
                         % (job.get("attempts"), job.get("recoveries")))


if __name__ == "__main__":
    harness.main()
