#!/usr/bin/python3
"""E2E: Idempotency-Key on POST /jobs and the seed endpoints: the same key
within the window answers with the first job (201 the first time, 200 after),
also when the duplicates arrive at once (one job is stored)."""
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

        before = len(self.env.redis.keys("jobq:job:*"))
        threads = [threading.Thread(target=send) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(len(results), 20)
        self.assertEqual(sorted(s for s, _ in results), [200] * 19 + [201], results)
        self.assertEqual(len({i for _, i in results}), 1, results)
        self.assertEqual(len(self.env.redis.keys("jobq:job:*")), before + 1)

    def test_seed_endpoints(self):
        a = self.assertJSONResponse(self.post("/start-task?duration=0", None, "seed-1"), 200)
        b = self.assertJSONResponse(self.post("/start-task?duration=0", None, "seed-1"), 200)
        self.assertEqual(a["task_id"], b["task_id"])
        path = "/send-notification?email=a%40example.test&content=hi"
        c = self.assertJSONResponse(self.post(path, None, "mail-1"), 200)
        d = self.assertJSONResponse(self.post(path, None, "mail-1"), 200)
        self.assertEqual(c["task_id"], d["task_id"])

    def test_bad_keys(self):
        before = self.env.redis.keys("jobq:job:*")
        for key in ("has space", "x" * 201, "tab\there"):
            r = self.post("/jobs", {"type": "noop"}, key)
            self.assertEqual(self.assertJSONResponse(r, 400)["error"]["code"],
                             "invalid_argument", key)
        r = self.env.http("POST", "/jobs/bulk", [{"type": "noop"}], {"Idempotency-Key": "b-1"})
        self.assertJSONResponse(r, 400)
        self.assertEqual(self.env.redis.keys("jobq:job:*"), before)


if __name__ == "__main__":
    harness.main()
