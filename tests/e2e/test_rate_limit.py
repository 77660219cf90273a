#!/usr/bin/python3
"""E2E: rate limits per queue (PUT/DELETE /queues/{name}/rate-limit).

* 5 jobs per 1000 ms, 20 noop jobs, three workers: counted from the jobs'
  started_at (Redis' clock, the one fetch.lua counts with), no window of
  1000 ms holds more than 5 starts. A correctness bound, not a timing: the
  only time asserted is a generous upper bound so the test cannot hang.
* GET /queues and GET /queues/{name} show the limit and the current usage;
  jobctl queues shows it in its RATE column.
* Clearing the limit lets the held-back jobs run at once.
* A paused queue with a limit stays paused.
* Bad bodies are 400 and change nothing.
"""
import os
import re
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import E2ETestCase, parse_rfc3339, wait_until  # noqa: E402

FAST = ["--heartbeat-ms", "200", "--lease-ms", "2000", "--concurrency", "10"]


class RateLimitTest(E2ETestCase):
    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()
        queues = "rl_window,rl_clear,rl_paused"
        for _ in range(3):
            env.start_worker(extra_args=FAST + ["--queues", queues])

    def limit(self, queue, limit, interval_ms):
        r = self.env.http("PUT", "/queues/%s/rate-limit" % queue,
                          {"limit": limit, "interval_ms": interval_ms})
        body = self.assertJSONResponse(r, 200)
        self.assertEqual(body, {"name": queue, "rate_limit": {"limit": limit,
                                                              "interval_ms": interval_ms}})

    def queue(self, name):
        return self.assertJSONResponse(self.env.http("GET", "/queues/%s" % name), 200)

    def fill(self, queue, n):
        r = self.env.http("POST", "/jobs/bulk", [{"type": "noop", "queue": queue}] * n)
        return self.assertJSONResponse(r, 201)["ids"]

    def jobs(self, ids):
        return [self.assertJSONResponse(self.env.http("GET", "/jobs/%d" % i), 200) for i in ids]

    def completed(self, ids):
        return sum(1 for j in self.jobs(ids) if j["state"] == "completed")

    def test_at_most_n_per_window(self):
        q, n, interval = "rl_window", 5, 1000
        self.limit(q, n, interval)
        self.assertEqual(self.queue(q)["rate_limit"],
                         {"limit": n, "interval_ms": interval, "used": 0})
        ids = self.fill(q, 20)
        seen_used = []

        def done():
            seen_used.append(self.queue(q)["rate_limit"]["used"])
            return self.completed(ids) == len(ids)
        # 20 jobs at 5 per second take about 3 s; 30 s means something is wrong
        wait_until(done, 30, "20 rate-limited jobs to complete", interval=0.1, env=self.env)
        self.assertTrue(all(0 <= u <= n for u in seen_used), seen_used)
        starts = sorted(parse_rfc3339(j["started_at"]).timestamp() * 1000
                        for j in self.jobs(ids))
        busiest = max(sum(1 for s in starts if t <= s < t + interval) for t in starts)
        self.assertLessEqual(busiest, n, "starts (ms from the first): %r"
                             % [round(s - starts[0]) for s in starts])
        listed = [x for x in self.assertJSONResponse(self.env.http("GET", "/queues"),
                                                     200)["queues"] if x["name"] == q]
        self.assertEqual(listed[0]["rate_limit"]["limit"], n, listed)
        p = self.jobctl("queues")
        self.assertEqual(p.returncode, 0, self.describe(p))
        self.assertRegex(p.out, r"(?m)^NAME .* PAUSED +RATE$")
        self.assertRegex(p.out, r"(?m)^rl_\S* .* no +\d/5 per 1000ms$")  # the name may be cut

    def test_clear_lets_the_rest_run(self):
        q = "rl_clear"
        self.limit(q, 2, 600000)
        ids = self.fill(q, 10)
        wait_until(lambda: self.completed(ids) >= 2, 15, "the 2 allowed jobs", env=self.env)
        time.sleep(0.5)  # the others stay held back: the bound is checked, not a time
        self.assertEqual(self.completed(ids), 2)
        self.assertEqual(self.queue(q)["pending"], 8)
        self.assertEqual(self.queue(q)["rate_limit"]["used"], 2)
        r = self.env.http("DELETE", "/queues/%s/rate-limit" % q)
        self.assertEqual(self.assertJSONResponse(r, 200), {"name": q, "rate_limit": None})
        # at 2 per 10 minutes the rest would take 40 minutes
        wait_until(lambda: self.completed(ids) == 10, 15, "the rest after clearing",
                   env=self.env)
        self.assertIsNone(self.queue(q)["rate_limit"])

    def test_paused_queue_with_a_limit_stays_paused(self):
        q = "rl_paused"
        self.assertJSONResponse(self.env.http("POST", "/queues/%s/pause" % q), 200)
        self.limit(q, 100, 1000)
        ids = self.fill(q, 3)
        time.sleep(0.5)
        self.assertEqual([j["state"] for j in self.jobs(ids)], ["pending"] * 3)
        got = self.queue(q)
        self.assertEqual((got["paused"], got["pending"], got["rate_limit"]["used"]),
                         (True, 3, 0), got)
        self.assertJSONResponse(self.env.http("POST", "/queues/%s/resume" % q), 200)
        wait_until(lambda: self.completed(ids) == 3, 15, "jobs after resume", env=self.env)

    def test_bad_requests(self):
        q = "rl_bad"
        for body in ({"limit": 0, "interval_ms": 1000}, {"limit": 5},
                     {"limit": 5, "interval_ms": 0}, {"limit": "5", "interval_ms": 1000},
                     {"limit": 5, "interval_ms": 1000, "burst": 1}, [5, 1000],
                     {"limit": 1000001, "interval_ms": 1000},
                     {"limit": 1, "interval_ms": 86400001}):
            r = self.env.http("PUT", "/queues/%s/rate-limit" % q, body)
            self.assertError(r, 400, "invalid_argument")
        r = self.env.http("PUT", "/queues/%s/rate-limit" % q, "{nope",
                          headers={"Content-Type": "application/json"})
        self.assertError(r, 400, "invalid_json")
        r = self.env.http("PUT", "/queues/bad%20name/rate-limit", {"limit": 1, "interval_ms": 1})
        self.assertError(r, 400, "invalid_argument")
        r = self.env.http("PUT", "/queues/%s/rate-limits" % q, {"limit": 1, "interval_ms": 1})
        self.assertError(r, 404, "not_found")
        self.assertError(self.env.http("GET", "/queues/%s" % q), 404, "not_found")
        self.assertIsNone(self.env.redis.execute("HGET", harness.key("rate-limits"), q))


if __name__ == "__main__":
    harness.main()
