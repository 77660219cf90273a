#!/usr/bin/python3
"""E2E: GET /jobs?state=running|scheduled|failed lists the jobs in one state, bounded,
in the documented order and shape; bad arguments are 400."""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import E2ETestCase, wait_until  # noqa: E402


class JobsListTest(E2ETestCase):
    """GET /jobs?state=running|scheduled|failed over plain HTTP."""

    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()
        env.start_worker()

    def list(self, state, limit=None):
        q = "/jobs?state=%s" % state + ("&limit=%d" % limit if limit else "")
        body = self.assertJSONResponse(self.env.http("GET", q), 200)
        self.assertEqual(set(body), {"state", "count", "jobs"}, body)
        self.assertEqual(body["state"], state)
        return body

    def test_states(self):
        run = self.post_job({"type": "progress", "payload": {"duration": 3, "interval_ms": 500}})
        later = self.env.http("POST", "/jobs", {"type": "noop", "delay_ms": 600000}).json()["id"]
        dead = self.post_job({"type": "exec", "payload": {"command": "no-such-type"}, "max_attempts": 1})
        self.env.wait_job(run, states=("running",))
        self.env.wait_job(dead, states=("failed",))
        running = wait_until(lambda: [j for j in self.list("running")["jobs"]
                                      if j["id"] == run and j["progress"]["total"] > 0],
                             10, "job %d listed as running with its progress" % run)[0]
        self.assertEqual((running["type"], running["queue"], running["state"]),
                         ("progress", "default", "running"), running)
        self.assertEqual(running["attempts"], 1)
        self.assertTrue(running["worker"])
        harness.parse_rfc3339(running["started_at"])
        self.assertTrue(running["status"].startswith("progress: ") or
                        running["status"] == "running", running)

        sched = self.list("scheduled")
        self.assertIn(later, [j["id"] for j in sched["jobs"]])
        job = [j for j in sched["jobs"] if j["id"] == later][0]
        harness.parse_rfc3339(job["run_at"])
        self.assertIsNone(job["error"])

        failed = self.list("failed")
        self.assertGreaterEqual(failed["count"], 1)
        job = [j for j in failed["jobs"] if j["id"] == dead][0]
        self.assertIn("is not allowed on this worker", job["error"])
        harness.parse_rfc3339(job["failed_at"])
        self.assertEqual((job["attempts"], job["max_attempts"]), (1, 1))

    def test_limit_and_order(self):
        ids = [self.post_job({"type": "exec", "payload": {"command": "no-such-type"}, "max_attempts": 1}) for _ in range(5)]
        for i in ids:
            self.env.wait_job(i, states=("failed",))
        page = self.list("failed", limit=3)
        self.assertEqual(len(page["jobs"]), 3)
        self.assertGreaterEqual(page["count"], 5)
        got = [j["id"] for j in page["jobs"]]
        self.assertEqual(got, sorted(got, reverse=True), "newest first")
        self.assertEqual(got, sorted(ids, reverse=True)[:3])

    def test_bad_arguments(self):
        for q in ("/jobs", "/jobs?state=pending", "/jobs?state=completed", "/jobs?state=",
                  "/jobs?state=running&limit=0", "/jobs?state=running&limit=1001",
                  "/jobs?state=running&limit=x"):
            self.assertError(self.env.http("GET", q), 400, "invalid_argument")


if __name__ == "__main__":
    harness.main()
