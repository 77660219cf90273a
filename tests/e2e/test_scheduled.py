#!/usr/bin/python3
"""E2E: delayed jobs (delay_ms, run_at): scheduled until due, then run; bad
values refused. Timing precision is measured in bench/, not asserted here:
only "not before its time" and "eventually" are."""
import datetime
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import E2ETestCase  # noqa: E402


def ms(ts):
    return datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp() * 1000


class ScheduledTest(E2ETestCase):
    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()
        env.start_worker()

    def post(self, body, status=201):
        r = self.env.http("POST", "/jobs", body)
        return self.assertJSONResponse(r, status)

    def test_delay_ms(self):
        got = self.post({"type": "noop", "delay_ms": 600})
        self.assertEqual(got["state"], "scheduled")
        job = self.env.http("GET", "/jobs/%d" % got["id"]).json()
        self.assertEqual(job["state"], "scheduled", job)
        self.assertIsNotNone(job["run_at"], job)
        due = job["run_at"]
        # the seed's view knows no scheduled state
        st = self.env.http("GET", "/task-status/%d" % got["id"]).json()
        self.assertEqual(st["status"], "pending")
        job = self.env.wait_job(got["id"], timeout=15)
        self.assertEqual(job["state"], "completed", job)
        self.assertEqual(job["run_at"], due, job)  # kept once it started
        self.assertGreaterEqual(ms(job["started_at"]) - ms(job["created_at"]), 600, job)

    def test_run_at_string_and_integer(self):
        due = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=1)
        text = due.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (due.microsecond // 1000)
        a = self.post({"type": "noop", "run_at": text})
        b = self.post({"type": "noop", "run_at": int(due.timestamp() * 1000)})
        for got in (a, b):
            self.assertEqual(got["state"], "scheduled")
            job = self.env.wait_job(got["id"], timeout=15)
            self.assertEqual(job["state"], "completed", job)
            self.assertEqual(job["run_at"], text, job)  # as asked, after it ran
            # Redis' clock and ours are the same machine's here
            self.assertGreaterEqual(ms(job["started_at"]), due.timestamp() * 1000 - 5, job)

    def test_run_at_in_the_past_runs_now(self):
        got = self.post({"type": "noop", "run_at": int(time.time() * 1000) - 60000})
        self.assertEqual(got["state"], "pending")
        self.assertEqual(self.env.wait_job(got["id"], timeout=15)["state"], "completed")

    def test_bulk_mixes_now_and_later(self):
        r = self.env.http("POST", "/jobs/bulk", [{"type": "noop"},
                                                 {"type": "noop", "delay_ms": 300}])
        ids = self.assertJSONResponse(r, 201)["ids"]
        self.assertEqual(len(ids), 2)
        for jid in ids:
            self.assertEqual(self.env.wait_job(jid, timeout=15)["state"], "completed")

    def test_bad_values(self):
        before = self.env.redis.keys(harness.JOB_KEYS)
        for body in ({"type": "noop", "delay_ms": -1},
                     {"type": "noop", "delay_ms": "5"},
                     {"type": "noop", "delay_ms": 10 ** 15},
                     {"type": "noop", "run_at": "tomorrow"},
                     {"type": "noop", "run_at": "2026-11-25T22:03:17+02:00"},
                     {"type": "noop", "run_at": 0},
                     {"type": "noop", "delay_ms": 5, "run_at": 1}):
            got = self.post(body, status=400)
            self.assertEqual(got["error"]["code"], "invalid_argument", body)
        self.assertEqual(self.env.redis.keys(harness.JOB_KEYS), before)


if __name__ == "__main__":
    harness.main()
