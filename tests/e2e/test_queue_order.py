#!/usr/bin/python3
"""E2E: a worker serving several queues: --queues a,b takes them in strict
order; --queues hi:3,lo:1 by weight, with no starvation. Checked on the order
of completions (the worker's debug log), never on timings. And --concurrency is a
bound on jobs running at once, also when jobs end as they start."""
import datetime
import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import E2ETestCase  # noqa: E402

DONE = re.compile(r"job (\d+) \(noop, queue (\w+)\) completed")


class QueueOrderTest(E2ETestCase):
    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()

    def fill(self, queue, n):
        r = self.env.http("POST", "/jobs/bulk", [{"type": "noop", "queue": queue}] * n)
        self.assertEqual(r.status, 201, r)

    def run_worker(self, queues, total):
        w = self.env.start_worker(extra_args=["--queues", queues, "--concurrency", "1",
                                              "--log-level", "debug"])
        harness.wait_until(lambda: len(DONE.findall(w.log_text())) >= total, 60,
                           "%d completions" % total, env=self.env)
        order = [q for _, q in DONE.findall(w.log_text())]
        w.stop()
        return order

    def test_strict_order(self):
        self.fill("s2", 20)
        self.fill("s1", 20)
        order = self.run_worker("s1,s2", 40)
        self.assertEqual(order, ["s1"] * 20 + ["s2"] * 20)

    def test_weighted_without_starvation(self):
        self.fill("hi", 200)
        self.fill("lo", 200)
        order = self.run_worker("hi:3,lo:1", 400)
        first = order[:100]
        # each fetch puts 'hi' first with probability 3/4: far more hi than lo early,
        # and lo is not starved (P of either failing is below 1e-7)
        self.assertGreater(first.count("hi"), 55, first)
        self.assertGreater(first.count("lo"), 5, first)
        self.assertEqual(sorted(order), ["hi"] * 200 + ["lo"] * 200)

    def test_concurrency_bounds_running_jobs(self):
        """A fetch's answer starts its jobs one by one; one that ends as it starts (a noop)
        freed its slot for a new fetch while the rest of the answer still had to start:
        with --concurrency 3, four 1-second jobs ran at once."""
        jobs = [{"type": "noop", "queue": "cb"}, {"type": "progress", "queue": "cb",
                                                  "payload": {"duration": 1}},
                {"type": "progress", "queue": "cb", "payload": {"duration": 1}}] * 4
        r = self.env.http("POST", "/jobs/bulk", jobs)
        ids = self.assertJSONResponse(r, 201)["ids"]
        w = self.env.start_worker(extra_args=["--queues", "cb", "--concurrency", "3"])
        spans = []
        for jid, job in zip(ids, jobs):
            got = self.env.wait_job(jid, timeout=60)
            self.assertEqual(got["state"], "completed", got)
            if job["type"] == "progress":
                spans.append((self.when(got["started_at"]), self.when(got["finished_at"])))
        w.stop()
        # finished_at is written after the job's slot is free: a job that takes the slot
        # starts a few ms before it; 0.2 s into each job, count the others running
        most = max(sum(1 for a, b in spans if a <= t + 0.2 < b) for t, _ in spans)
        self.assertLessEqual(most, 3, sorted(spans))

    @staticmethod
    def when(text):
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


if __name__ == "__main__":
    harness.main()
