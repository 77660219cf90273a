#!/usr/bin/python3
"""E2E: Idempotency-Key on POST /jobs, POST /jobs/bulk, POST /batches and the
seed endpoints: the same key within the window answers with what the first
request stored (201 the first time, 200 after, whatever the body), also when
the duplicates arrive at once (one request's jobs are stored); a key first
used by another kind of request answers 409 and stores nothing."""
import os
import sys
import threading

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import E2ETestCase  # noqa: E402


class IdempotencyTest(E2ETestCase):
    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()
        env.start_worker()

    def post(self, path, body, key):
        return self.env.http("POST", path, body, {"Idempotency-Key": key})

    def test_post_jobs_repeated(self):
        first = self.post("/jobs", {"type": "noop"}, "order-1")
        got = self.assertJSONResponse(first, 201)
        again = self.assertJSONResponse(self.post("/jobs", {"type": "noop"}, "order-1"), 200)
        self.assertEqual(again["id"], got["id"])
        self.assertIn(again["state"], ("pending", "running", "completed"))
        other = self.assertJSONResponse(self.post("/jobs", {"type": "noop"}, "order-2"), 201)
        self.assertNotEqual(other["id"], got["id"])
        # once the first has run, a repeat still names it, with its state now
        self.env.wait_job(got["id"], timeout=15)
        again = self.assertJSONResponse(self.post("/jobs", {"type": "noop"}, "order-1"), 200)
        self.assertEqual(again, {"id": got["id"], "state": "completed"})

    def test_concurrent_duplicates_store_one_job(self):
        results, lock = [], threading.Lock()

        def send():
            r = self.post("/jobs", {"type": "progress", "payload": {"duration": 0}}, "burst-7")
            with lock:
                results.append((r.status, r.json()["id"]))

        before = len(self.env.redis.keys(harness.JOB_KEYS))
        threads = [threading.Thread(target=send) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(len(results), 20)
        self.assertEqual(sorted(s for s, _ in results), [200] * 19 + [201], results)
        self.assertEqual(len({i for _, i in results}), 1, results)
        self.assertEqual(len(self.env.redis.keys(harness.JOB_KEYS)), before + 1)

    def test_seed_endpoints(self):
        a = self.assertJSONResponse(self.post("/start-task?duration=0", None, "seed-1"), 200)
        b = self.assertJSONResponse(self.post("/start-task?duration=0", None, "seed-1"), 200)
        self.assertEqual(a["task_id"], b["task_id"])
        # a repeat answers the task's status now, as /task-status says it: mid-way, then
        # completed (it answered "pending" whatever the job had done)
        t = self.assertJSONResponse(self.post("/start-task?duration=3", None, "seed-2"), 200)
        self.assertEqual(t["status"], "pending")

        def repeat_says_progress():
            r = self.assertJSONResponse(self.post("/start-task?duration=3", None, "seed-2"), 200)
            self.assertEqual(r["task_id"], t["task_id"])
            return r["status"].startswith("progress: ") and r
        r = harness.wait_until(repeat_says_progress, 10, "a repeat to say progress: i/3")
        self.assertRegex(r["status"], r"^progress: [12]/3$")
        self.env.wait_job(t["task_id"], timeout=15)
        r = self.assertJSONResponse(self.post("/start-task?duration=3", None, "seed-2"), 200)
        self.assertEqual(r, {"task_id": t["task_id"], "status": "completed"})
        path = "/send-notification?email=a%40example.test&content=hi"
        c = self.assertJSONResponse(self.post(path, None, "mail-1"), 200)
        d = self.assertJSONResponse(self.post(path, None, "mail-1"), 200)
        self.assertEqual(c["task_id"], d["task_id"])

    def test_bad_keys(self):
        before = self.env.redis.keys(harness.JOB_KEYS)
        for key in ("has space", "x" * 201, "tab\there"):
            r = self.post("/jobs", {"type": "noop"}, key)
            self.assertEqual(self.assertJSONResponse(r, 400)["error"]["code"],
                             "invalid_argument", key)
        r = self.env.http("POST", "/jobs/bulk", [{"type": "noop"}], {"Idempotency-Key": "b 1"})
        self.assertError(r, 400, "invalid_argument")
        r = self.env.http("POST", "/batches", {"jobs": [{"type": "noop"}]},
                          {"Idempotency-Key": "cron:x"})
        self.assertError(r, 400, "invalid_argument")
        self.assertEqual(self.env.redis.keys(harness.JOB_KEYS), before)

    def jobs_and_batches(self):
        return (len(self.env.redis.keys(harness.JOB_KEYS)),
                len(self.env.redis.keys(harness.BATCH_KEYS)))

    def test_bulk_repeated(self):
        bulk = [{"type": "noop", "payload": {"i": i}} for i in range(3)]
        got = self.assertJSONResponse(self.post("/jobs/bulk", bulk, "bulk-1"), 201)
        self.assertEqual(len(got["ids"]), 3)
        stored = self.jobs_and_batches()
        again = self.assertJSONResponse(self.post("/jobs/bulk", bulk, "bulk-1"), 200)
        self.assertEqual(again, got)
        # another body with the same key: as POST /jobs, the first request's jobs
        other = self.assertJSONResponse(self.post("/jobs/bulk", bulk * 2, "bulk-1"), 200)
        self.assertEqual(other, got)
        self.assertEqual(self.jobs_and_batches(), stored)
        for jid in got["ids"]:
            self.assertEqual(self.env.wait_job(jid, timeout=15)["state"], "completed")
        self.assertEqual(self.assertJSONResponse(self.post("/jobs/bulk", bulk, "bulk-1"), 200),
                         got)

    def test_concurrent_bulk_duplicates_store_one_request(self):
        results, lock = [], threading.Lock()
        bulk = [{"type": "noop"}] * 50

        def send():
            r = self.post("/jobs/bulk", bulk, "bulk-burst")
            with lock:
                results.append((r.status, tuple(r.json()["ids"])))

        before = self.jobs_and_batches()
        threads = [threading.Thread(target=send) for _ in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(sorted(s for s, _ in results), [200] * 9 + [201], results)
        self.assertEqual(len({ids for _, ids in results}), 1)
        self.assertEqual(self.jobs_and_batches(), (before[0] + 50, before[1]))

    def test_batch_repeated(self):
        body = {"jobs": [{"type": "noop"}, {"type": "noop"}], "callback": {"type": "noop"}}
        # the queue is held while jobs are counted: once the batch's jobs ran, its callback
        # becomes a job of its own, and the count would move by one (a CI flake)
        self.assertJSONResponse(self.env.http("POST", "/queues/default/pause"), 200)
        try:
            got = self.assertJSONResponse(self.post("/batches", body, "batch-1"), 201)
            stored = self.jobs_and_batches()
            again = self.assertJSONResponse(self.post("/batches", body, "batch-1"), 200)
            self.assertEqual(again, got)
            other = {"jobs": [{"type": "noop"}] * 5}
            self.assertEqual(
                self.assertJSONResponse(self.post("/batches", other, "batch-1"), 200), got)
            self.assertEqual(self.jobs_and_batches(), stored)
        finally:
            self.assertJSONResponse(self.env.http("POST", "/queues/default/resume"), 200)
        self.assertEqual(self.env.wait_job(got["ids"][0], timeout=15)["state"], "completed")
        status = self.assertJSONResponse(self.env.http("GET", "/batches/%d" % got["id"]), 200)
        self.assertEqual(status["total"], 2)

    def test_a_key_of_another_kind_of_request(self):
        one = self.assertJSONResponse(self.post("/jobs", {"type": "noop"}, "kind-1"), 201)
        # a bulk of one job is one job: a bulk request of one job with its key gets it; a
        # bulk of more is another kind of request (review: it got 200 with one id)
        self.assertEqual(self.assertJSONResponse(
            self.post("/jobs/bulk", [{"type": "noop"}], "kind-1"), 200), {"ids": [one["id"]]})
        self.assertError(self.post("/jobs/bulk", [{"type": "noop"}] * 3, "kind-1"), 409,
                         "conflict")
        bulk = self.assertJSONResponse(
            self.post("/jobs/bulk", [{"type": "noop"}] * 2, "kind-2"), 201)
        before = self.jobs_and_batches()
        for path, body, key in (("/jobs", {"type": "noop"}, "kind-2"),
                                ("/batches", {"jobs": [{"type": "noop"}]}, "kind-2"),
                                ("/batches", {"jobs": [{"type": "noop"}]}, "kind-1")):
            err = self.assertError(self.post(path, body, key), 409, "conflict")
            self.assertIn("Idempotency-Key", err["message"])
        batch = self.assertJSONResponse(
            self.post("/batches", {"jobs": [{"type": "noop"}]}, "kind-3"), 201)
        self.assertError(self.post("/jobs/bulk", [{"type": "noop"}], "kind-3"), 409, "conflict")
        self.assertEqual(self.jobs_and_batches(), (before[0] + 1, before[1] + 1))
        self.assertEqual(len(bulk["ids"]) + len(batch["ids"]), 3)


if __name__ == "__main__":
    harness.main()
