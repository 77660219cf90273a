#!/usr/bin/python3
"""E2E: unique_key. A job with a unique_key is refused (409 conflict, with the
id of the job holding the key) while that job is pending, scheduled or
running; once it has completed, failed or been cancelled (or its hash
expired) the key is free again. Concurrent duplicates store exactly one job.
A bulk request is refused as a whole: 409 naming the index and the holder when
a key is held, 400 when two of its jobs share a key. jobctl --unique-key."""
import os
import sys
import threading

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import E2ETestCase, is_int  # noqa: E402

IDLE = "uq_idle"  # no worker serves it: its jobs stay pending


class UniqueTest(E2ETestCase):
    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()
        env.start_worker(extra_args=["--queues", "default"])

    def post(self, body):
        return self.env.http("POST", "/jobs", body)

    def assertConflict(self, r, holder, index=None):
        body = self.assertJSONResponse(r, 409)
        want = {"error", "id"} | ({"index"} if index is not None else set())
        self.assertEqual(set(body), want, r)
        self.assertEqual(body["error"]["code"], "conflict", r)
        self.assertIn(str(holder), body["error"]["message"], r)
        self.assertEqual(body["id"], holder, r)
        if index is not None:
            self.assertEqual(body["index"], index, r)

    def test_refused_while_pending_then_free_after_cancel(self):
        first = self.post_job({"type": "noop", "queue": IDLE, "unique_key": "report:42"})
        before = self.env.job_keys()
        for body in ({"type": "noop", "queue": IDLE, "unique_key": "report:42"},
                     # the key is global, not per queue or type
                     {"type": "hash", "queue": "other", "payload": {"data": "x"},
                      "unique_key": "report:42"}):
            self.assertConflict(self.post(body), first)
        self.assertEqual(self.env.job_keys(), before)
        job = self.assertJSONResponse(self.env.http("GET", "/jobs/%d" % first), 200)
        self.assertEqual(job["unique_key"], "report:42", job)
        self.assertJSONResponse(self.env.http("DELETE", "/jobs/%d" % first), 200)
        second = self.post_job({"type": "noop", "queue": IDLE, "unique_key": "report:42"})
        self.assertNotEqual(second, first)
        self.assertEqual(self.env.redis.execute("GET", harness.unique_key("report:42")),
                         str(second).encode())

    def test_refused_while_scheduled(self):
        r = self.post({"type": "noop", "delay_ms": 60000, "unique_key": "later"})
        held = self.assertJSONResponse(r, 201)
        self.assertEqual(held["state"], "scheduled")
        self.assertConflict(self.post({"type": "noop", "unique_key": "later"}), held["id"])

    def test_refused_while_running_free_once_completed(self):
        first = self.post_job({"type": "progress", "payload": {"duration": 1,
                                                               "interval_ms": 100},
                               "unique_key": "long"})
        self.env.wait_job(first, states=("running",), timeout=10)
        self.assertConflict(self.post({"type": "noop", "unique_key": "long"}), first)
        self.assertEqual(self.env.wait_job(first)["state"], "completed")
        second = self.post_job({"type": "noop", "unique_key": "long"})
        self.assertEqual(self.env.wait_job(second)["state"], "completed")

    def test_free_once_failed_or_expired(self):
        failed = self.post_job({"type": "exec", "payload": {"command": "no_such_type"}, "unique_key": "fails"})
        self.assertEqual(self.env.wait_job(failed)["state"], "failed")
        self.post_job({"type": "noop", "queue": IDLE, "unique_key": "fails"})
        # a holder whose hash is gone (expired) holds nothing
        gone = self.post_job({"type": "noop", "queue": IDLE, "unique_key": "expires"})
        self.env.redis.execute("DEL", harness.job_key(gone))
        self.post_job({"type": "noop", "queue": IDLE, "unique_key": "expires"})

    def test_concurrent_duplicates_store_one_job(self):
        results, lock = [], threading.Lock()

        def send():
            r = self.post({"type": "noop", "queue": IDLE, "unique_key": "burst"})
            with lock:
                results.append((r.status, r.json()["id"]))

        before = len(self.env.job_keys())
        threads = [threading.Thread(target=send) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(sorted(s for s, _ in results), [201] + [409] * 19, results)
        self.assertEqual(len({i for _, i in results}), 1, results)
        self.assertEqual(len(self.env.job_keys()), before + 1)

    def test_bulk(self):
        held = self.post_job({"type": "noop", "queue": IDLE, "unique_key": "bulk-held"})
        before = self.env.job_keys()
        r = self.env.http("POST", "/jobs/bulk", [
            {"type": "noop", "queue": IDLE, "unique_key": "bulk-new"},
            {"type": "noop", "queue": IDLE},
            {"type": "noop", "queue": IDLE, "unique_key": "bulk-held"}])
        self.assertConflict(r, held, index=2)
        r = self.env.http("POST", "/jobs/bulk", [
            {"type": "noop", "queue": IDLE, "unique_key": "twice"},
            {"type": "noop", "queue": IDLE, "unique_key": "other"},
            {"type": "noop", "queue": IDLE, "unique_key": "twice"}])
        self.assertIn("jobs 0 and 2", self.assertError(r, 400, "invalid_argument")["message"])
        # nothing of either was stored, and no key was taken
        self.assertEqual(self.env.job_keys(), before)
        self.assertIsNone(self.env.redis.execute("GET", harness.unique_key("bulk-new")))
        r = self.env.http("POST", "/jobs/bulk", [
            {"type": "noop", "queue": IDLE, "unique_key": "bulk-a"},
            {"type": "noop", "queue": IDLE, "unique_key": "bulk-b"}])
        ids = self.assertJSONResponse(r, 201)["ids"]
        self.assertConflict(self.post({"type": "noop", "unique_key": "bulk-b"}), ids[1])

    def test_dead_retry_checks_the_key(self):
        # a job of an unknown type fails for good on its first attempt: dead
        dead = self.post_job({"type": "exec", "payload": {"command": "no_such_type"}, "unique_key": "dead-key",
                              "max_attempts": 1})
        self.assertEqual(self.env.wait_job(dead)["state"], "failed")
        # the key is free for a new job meanwhile (no worker serves IDLE: it stays pending)
        taker = self.post_job({"type": "noop", "queue": IDLE, "unique_key": "dead-key"})
        r = self.env.http("POST", "/dead/%d/retry" % dead)
        self.assertConflict(r, taker)
        job = self.assertJSONResponse(self.env.http("GET", "/jobs/%d" % dead), 200)
        self.assertEqual(job["state"], "failed", job)
        self.assertEqual(self.env.redis.execute("GET", harness.unique_key("dead-key")),
                         str(taker).encode())
        self.assertIn(str(dead).encode(),
                      self.env.redis.execute("ZRANGE", harness.dead_key(), 0, -1))
        # once the taker has ended, the retry takes the key back
        self.assertJSONResponse(self.env.http("DELETE", "/jobs/%d" % taker), 200)
        r = self.env.http("POST", "/dead/%d/retry" % dead)
        self.assertEqual(self.assertJSONResponse(r, 200), {"id": dead, "state": "pending"})
        # (the worker runs it again at once, and it fails again: no check of its key here)
        self.assertEqual(self.env.redis.execute("GET", harness.unique_key("dead-key")),
                         str(dead).encode())

    def test_bad_keys(self):
        before = self.env.job_keys()
        for bad in ("", "has space", "x" * 201, 5, None, "tab\there", "caf\u00e9"):
            r = self.post({"type": "noop", "unique_key": bad})
            self.assertIn("unique_key", self.assertError(r, 400, "invalid_argument")["message"])
        self.assertEqual(self.env.job_keys(), before)
        self.post_job({"type": "noop", "queue": IDLE, "unique_key": "~" * 200})

    def test_jobctl(self):
        harness.require_executable(harness.jobctl_bin(), "jobctl")
        p = self.jobctl("enqueue", "noop", "--queue", IDLE, "--unique-key", "ctl-1",
                        "--priority", "9")
        self.assertEqual(p.returncode, 0, self.describe(p))
        jid = int(p.out.split()[1])
        job = self.assertJSONResponse(self.env.http("GET", "/jobs/%d" % jid), 200)
        self.assertEqual((job["unique_key"], job["priority"]), ("ctl-1", 9), job)
        p = self.jobctl("enqueue", "noop", "--unique-key", "ctl-1")
        self.assertEqual(p.returncode, 1, self.describe(p))
        self.assertIn("conflict", p.err)
        self.assertIn("job %d" % jid, p.err)
        p = self.jobctl("enqueue", "noop", "--priority", "10")
        self.assertEqual(p.returncode, 2, self.describe(p))
        self.assertTrue(is_int(jid))


if __name__ == "__main__":
    harness.main()
