#!/usr/bin/python3
"""E2E: Redis goes away and comes back. The broker answers 503
redis_unavailable while it is down (and stores nothing), and both broker and
worker reconnect by themselves once redis-server is back on the same port."""
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import E2ETestCase  # noqa: E402


class RedisDownTest(E2ETestCase):
    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()
        env.start_worker()

    def test_503_while_down_then_recovers(self):
        env = self.env
        # Everything works first.
        jid = self.post_job({"type": "noop"})
        self.assertEqual(env.wait_job(jid, timeout=10)["state"], "completed")
        health = self.assertJSONResponse(env.http("GET", "/healthz"), 200)
        self.assertEqual(health, {"status": "ok", "redis": "ok"})

        env.stop_redis()

        # Down: 503 with the JSON error, from the first request on.
        r = env.http("POST", "/jobs", {"type": "noop"}, timeout=10)
        self.assertError(r, 503, "redis_unavailable")
        r = env.http("GET", "/healthz", timeout=10)
        self.assertError(r, 503, "redis_unavailable")
        for path in ("/start-task?duration=1",
                     "/send-notification?email=alice%40example.test&content=hi"):
            r = env.http("POST", path, timeout=10)
            self.assertError(r, 503, "redis_unavailable")
        # Still 503 a moment later (no crash, no hang), and the processes live.
        time.sleep(0.5)
        self.assertError(env.http("POST", "/jobs", {"type": "noop"}, timeout=10), 503,
                         "redis_unavailable")
        env.check_alive()

        env.start_redis()  # same port, empty data set
        self.assertEqual(env.redis.dbsize(), 0)

        # The broker reconnects: POST /jobs answers 201 again within 15 s.
        t0 = time.monotonic()
        statuses = []
        jid = None
        for _ in range(150):
            r = env.http("POST", "/jobs", {"type": "noop"}, timeout=10)
            statuses.append(r.status)
            if r.status == 201:
                body = self.assertJSONResponse(r, 201)
                self.assertEqual(body["state"], "pending", r)
                jid = body["id"]
                break
            self.assertError(r, 503, "redis_unavailable")
            if time.monotonic() - t0 > 15:
                break
            time.sleep(0.1)
        self.assertIsNotNone(jid, "POST /jobs never answered 201 within 15 s after Redis "
                             "came back; statuses: %r" % statuses)
        # 503s stored nothing; the 201 stored exactly its job.
        self.assertEqual(env.job_keys(), {"jobq:job:%d" % jid})
        self.assertEqual(env.http("GET", "/healthz").status, 200)

        # The worker reconnects by itself and runs the job.
        job = env.wait_job(jid, timeout=20)
        self.assertEqual(job["state"], "completed", job)

        # And a seed task too.
        r = env.http("POST", "/start-task?duration=1")
        tid = self.assertJSONResponse(r, 200)["task_id"]
        self.assertEqual(env.wait_task_status(tid, lambda s: s == "completed" or
                                              s.startswith("failed"), timeout=15),
                         "completed")


if __name__ == "__main__":
    harness.main()
