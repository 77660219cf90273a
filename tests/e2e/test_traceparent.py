#!/usr/bin/python3
"""E2E: the W3C `traceparent` header (docs/api.md, "Tracing"): on any request
that stores jobs it is validated (400, nothing stored, when malformed), stored
with every job of the request, shown by GET /jobs/{id}, and written on the
worker's log lines about the job."""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import E2ETestCase  # noqa: E402

TP = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
TP2 = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


class TraceparentTest(E2ETestCase):
    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()
        cls.worker = env.start_worker(extra_args=["--log-level", "debug"])

    def job(self, jid):
        return self.assertJSONResponse(self.env.http("GET", "/jobs/%d" % jid), 200)

    def test_stored_shown_and_logged(self):
        jid = self.post_job({"type": "noop"}, {"traceparent": TP})
        self.assertEqual(self.env.wait_job(jid)["traceparent"], TP)
        # the worker's log lines about this job carry the trace context
        harness.wait_until(lambda: any(("job=%d " % jid) in line and ("traceparent=" + TP) in line
                                       for line in self.worker.log_text().splitlines()),
                           10, "a worker log line with job %d and its traceparent" % jid,
                           env=self.env)

    def test_without_header_null(self):
        jid = self.post_job({"type": "noop"})
        self.assertIsNone(self.job(jid)["traceparent"])

    def test_bulk_batches_and_seed_endpoints_store_it(self):
        r = self.env.http("POST", "/jobs/bulk", [{"type": "noop"}] * 3, {"traceparent": TP2})
        for jid in self.assertJSONResponse(r, 201)["ids"]:
            self.assertEqual(self.job(jid)["traceparent"], TP2)
        r = self.env.http("POST", "/batches", {"jobs": [{"type": "noop"}] * 2,
                                               "callback": {"type": "noop"}},
                          {"traceparent": TP2})
        got = self.assertJSONResponse(r, 201)
        for jid in got["ids"]:
            self.assertEqual(self.job(jid)["traceparent"], TP2)

        def callback():
            b = self.assertJSONResponse(self.env.http("GET", "/batches/%d" % got["id"]), 200)
            return b["callback_id"]
        cb = harness.wait_until(callback, 10, "the batch's callback", env=self.env)
        self.assertEqual(self.job(cb)["traceparent"], TP2)
        r = self.env.http("POST", "/start-task?duration=0", None, {"traceparent": TP})
        tid = self.assertJSONResponse(r, 200)["task_id"]
        self.assertEqual(self.job(tid)["traceparent"], TP)

    def test_malformed_refused_and_nothing_stored(self):
        before = self.env.redis.dbsize()
        for bad in ["", "garbage", TP.upper(), TP + "-x", "ff" + TP[2:],
                    "00-00000000000000000000000000000000-00f067aa0ba902b7-01"]:
            for method, path, body in [("POST", "/jobs", {"type": "noop"}),
                                       ("POST", "/jobs/bulk", [{"type": "noop"}]),
                                       ("POST", "/batches", {"jobs": [{"type": "noop"}],
                                                             "callback": {"type": "noop"}}),
                                       ("POST", "/start-task", None),
                                       ("POST", "/send-notification?email=a@b.c&content=x",
                                        None)]:
                r = self.env.http(method, path, body, {"traceparent": bad})
                err = self.assertError(r, 400, "invalid_argument")
                self.assertIn("traceparent", err["message"])
        self.assertEqual(self.env.redis.dbsize(), before)

    def test_checked_after_the_key_and_the_body(self):
        """The route checks the Idempotency-Key first, then the body, then traceparent
        (just before storing): a request wrong in several ways hears of the first."""
        before = self.env.redis.dbsize()
        err = self.assertError(self.env.http("POST", "/jobs", {"type": "noop"},
                                             {"traceparent": "garbage",
                                              "Idempotency-Key": "k" * 300}),
                               400, "invalid_argument")
        self.assertIn("Idempotency-Key", err["message"])
        for path, body in [("/jobs", {"type": "noop", "nope": 1}),
                           ("/jobs/bulk", [{"type": "noop", "nope": 1}]),
                           ("/batches", {"jobs": [{"type": "noop", "nope": 1}]})]:
            err = self.assertError(self.env.http("POST", path, body, {"traceparent": "garbage"}),
                                   400, "invalid_argument")
            self.assertIn("nope", err["message"])
        self.assertEqual(self.env.redis.dbsize(), before)


if __name__ == "__main__":
    harness.main()
