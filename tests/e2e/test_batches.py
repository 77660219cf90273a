#!/usr/bin/python3
"""E2E: batches (docs/api.md, "Batches"): POST /batches stores its jobs in one
request and one script call and groups them; GET /batches/{id} counts their
states; the callback job is stored once, when the last member ends (completed,
failed or cancelled), and never again, also when a failed member is retried
from the dead set. Bad requests store nothing."""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import E2ETestCase, is_int  # noqa: E402

BAD_HASH = {"type": "exec", "payload": {"command": "not_allowed"}, "max_attempts": 1}  # fails, fatally


class BatchesTest(E2ETestCase):
    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()
        env.start_worker()  # queue 'default'; queue 'idle' has no worker
        env.start_worker()

    def post_batch(self, body):
        r = self.env.http("POST", "/batches", body)
        got = self.assertJSONResponse(r, 201)
        self.assertEqual(set(got), {"id", "total", "ids"}, r)
        self.assertTrue(is_int(got["id"]), r)
        n = len(body["jobs"])
        self.assertEqual(got["total"], n, r)
        # the batch's own id comes just before its jobs' ids
        self.assertEqual(got["ids"], list(range(got["id"] + 1, got["id"] + 1 + n)), r)
        return got

    def get_batch(self, bid):
        return self.assertJSONResponse(self.env.http("GET", "/batches/%d" % bid), 200)

    def wait_finished(self, bid, timeout=15.0):
        def poll():
            b = self.get_batch(bid)
            return b if b["finished"] else None
        return harness.wait_until(poll, timeout, "batch %d to finish" % bid, env=self.env)

    def hget(self, key, field):
        v = self.env.redis.execute("HGET", key, field)
        return v.decode() if isinstance(v, bytes) else v

    def callbacks_of(self, bid):
        """Ids of the jobs whose hash says they are batch bid's callback."""
        out = []
        for k in self.env.redis.keys(harness.JOB_KEYS):
            m = harness.JOB_KEY_RE.match(k)
            if m and self.hget(k, "callback_of") == str(bid):
                out.append(int(m.group(1)))
        return out

    def test_jobs_run_and_the_callback_runs_once_at_the_end(self):
        cb = {"type": "noop", "payload": {"note": "all done"}}
        got = self.post_batch({"jobs": [{"type": "noop"}] * 20 +
                                       [{"type": "progress", "payload": {"duration": 1}}],
                               "callback": cb})
        bid = got["id"]
        # while the 1 s job runs the batch is not finished and the callback is not stored
        b = self.get_batch(bid)
        self.assertFalse(b["finished"], b)
        self.assertIsNone(b["callback_id"], b)
        self.assertEqual(self.callbacks_of(bid), [])
        b = self.wait_finished(bid)
        self.assertEqual((b["total"], b["completed"], b["failed"], b["cancelled"]), (21, 21, 0, 0), b)
        self.assertEqual((b["pending"], b["scheduled"], b["running"]), (0, 0, 0), b)
        harness.parse_rfc3339(b["created_at"])
        harness.parse_rfc3339(b["finished_at"])
        self.assertTrue(is_int(b["callback_id"]), b)
        self.assertEqual(self.callbacks_of(bid), [b["callback_id"]])
        job = self.env.wait_job(b["callback_id"])
        self.assertEqual(job["state"], "completed", job)
        self.assertEqual(job["type"], "noop", job)
        self.assertEqual(job["payload"], {"note": "all done"}, job)
        self.assertEqual((job["callback_of"], job["batch"]), (bid, None), job)
        self.assertEqual(self.env.wait_job(got["ids"][0])["batch"], bid)
        for jid in got["ids"]:
            self.assertEqual(self.hget(harness.job_key(jid), "batch"), str(bid))

    def test_counts_every_end_state_and_a_dead_retry_does_not_refire(self):
        jobs = [{"type": "noop"}] * 3 + [BAD_HASH, {"type": "noop", "delay_ms": 60000}]
        got = self.post_batch({"jobs": jobs, "callback": {"type": "noop", "queue": "idle",
                                                          "priority": 5}})
        bid, ids = got["id"], got["ids"]
        self.env.wait_job(ids[3])
        b = self.get_batch(bid)
        self.assertEqual((b["completed"], b["failed"], b["scheduled"], b["finished"]),
                         (3, 1, 1, False), b)
        r = self.env.http("DELETE", "/jobs/%d" % ids[4])
        self.assertEqual(r.status, 200, r)
        b = self.wait_finished(bid)
        self.assertEqual((b["completed"], b["failed"], b["cancelled"]), (3, 1, 1), b)
        first_cb = b["callback_id"]
        self.assertEqual(self.callbacks_of(bid), [first_cb])
        # the callback waits in queue 'idle' (no worker there): pending
        self.assertEqual(self.env.wait_job(first_cb, states=("pending",))["queue"], "idle")
        # on the list of its priority (lib/queue.lua), like any job stored with one
        self.assertIn(str(first_cb).encode(),
                      [x if isinstance(x, bytes) else x.encode()
                       for x in self.env.redis.execute("LRANGE", harness.queue_key("idle", 5), 0, -1)])
        # retried from the dead set, the failed member leaves the count; it fails again
        r = self.env.http("POST", "/dead/%d/retry" % ids[3])
        self.assertIn(r.status, (200, 202), r)
        self.env.wait_job(ids[3], states=("failed",))
        b = self.get_batch(bid)
        self.assertEqual((b["completed"], b["failed"], b["cancelled"]), (3, 1, 1), b)
        self.assertEqual(b["callback_id"], first_cb, b)
        self.assertEqual(self.callbacks_of(bid), [first_cb])

    def test_two_workers_racing_to_the_last_job_store_one_callback(self):
        for _ in range(3):
            got = self.post_batch({"jobs": [{"type": "noop"}] * 2000,
                                   "callback": {"type": "noop", "queue": "idle"}})
            b = self.wait_finished(got["id"], timeout=30)
            self.assertEqual((b["completed"], b["failed"], b["cancelled"]), (2000, 0, 0), b)
            self.assertEqual(self.callbacks_of(got["id"]), [b["callback_id"]])

    def test_pending_members_are_counted(self):
        got = self.post_batch({"jobs": [{"type": "noop", "queue": "idle"}] * 7})
        b = self.get_batch(got["id"])
        self.assertEqual((b["total"], b["pending"], b["completed"], b["finished"]), (7, 7, 0, False), b)
        self.assertIsNone(b["finished_at"], b)
        r = self.env.http("DELETE", "/jobs/%d" % got["ids"][0])
        self.assertEqual(r.status, 200, r)
        b = self.get_batch(got["id"])
        self.assertEqual((b["pending"], b["cancelled"]), (6, 1), b)

    def test_bad_requests_store_nothing(self):
        before = self.env.redis.dbsize()
        for body, why in [
            ([{"type": "noop"}], "an array, not an object"),
            ({"jobs": []}, "no jobs"),
            ({"jobs": "x"}, "jobs not an array"),
            ({}, "no jobs field"),
            ({"jobs": [{"type": "noop"}], "extra": 1}, "unknown field"),
            ({"jobs": [{"type": "noop"}, {"type": "noop", "priority": "x"}]}, "a bad job"),
            ({"jobs": [{"type": "noop"}], "callback": {"type": ""}}, "a bad callback"),
            ({"jobs": [{"type": "noop"}], "callback": {"type": "noop", "delay_ms": 5}},
             "a delayed callback"),
        ]:
            err = self.assertError(self.env.http("POST", "/batches", body), 400, "invalid_argument")
            if why == "a bad job":
                self.assertIn("job 1", err["message"])
        r = self.env.http("POST", "/batches", {"jobs": [{"type": "noop"}]},
                          {"Idempotency-Key": "bad key"})
        self.assertError(r, 400, "invalid_argument")
        self.assertEqual(self.env.redis.dbsize(), before)
        too_many = {"jobs": [{"type": "noop"}] * 10001}
        self.assertError(self.env.http("POST", "/batches", too_many), 400, "invalid_argument")
        self.assertEqual(self.env.redis.dbsize(), before)

    def test_unknown_and_bad_ids(self):
        self.assertError(self.env.http("GET", "/batches/999999999"), 404, "not_found")
        self.assertError(self.env.http("GET", "/batches/abc"), 400, "invalid_argument")
        self.assertError(self.env.http("GET", "/batches/0"), 400, "invalid_argument")


if __name__ == "__main__":
    harness.main()
