#!/usr/bin/python3
"""E2E: /metrics also counts this broker's HTTP traffic: requests by route and
responses by status (parsed with Debian's python3-prometheus-client)."""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import E2ETestCase  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402


class HttpMetricsTest(E2ETestCase):
    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()

    def samples(self):
        r = self.env.http("GET", "/metrics")
        self.assertEqual(r.status, 200)
        out = {}
        for fam in text_string_to_metric_families(r.body.decode()):
            for s in fam.samples:
                out[(s.name, tuple(sorted(s.labels.items())))] = s.value
        return out

    def test_counts_routes_and_statuses(self):
        before = self.samples()
        for _ in range(7):
            self.assertEqual(self.env.http("POST", "/jobs", {"type": "noop"}).status, 201)
        for _ in range(3):
            self.assertEqual(self.env.http("GET", "/nope").status, 404)
        after = self.samples()

        def delta(name, **labels):
            key = (name, tuple(sorted(labels.items())))
            return after.get(key, 0) - before.get(key, 0)

        self.assertEqual(delta("jobq_http_requests_total", route="POST /jobs"), 7)
        self.assertEqual(delta("jobq_http_requests_total", route="unmatched"), 3)
        self.assertEqual(delta("jobq_http_responses_total", code="201"), 7)
        self.assertEqual(delta("jobq_http_responses_total", code="404"), 3)


if __name__ == "__main__":
    harness.main()
