#!/usr/bin/python3
"""E2E: GET /queues, GET /queues/{name}, POST /queues/{name}/pause|resume
(docs/api.md, "Operations"): the listing's shape and counts, the per-queue
counters, and a paused queue that keeps accepting jobs but runs none of them
until it is resumed."""
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import E2ETestCase, is_int, wait_until  # noqa: E402

Q_KEYS = ("name", "pending", "scheduled", "running", "completed", "failed", "retried",
          "cancelled", "recovered", "enqueued", "paused")
COUNT_KEYS = Q_KEYS[1:-1]

# Queues served by the class's worker; "a" and "idle*" are served by nobody.
SERVED = "b,cnt,cnt2,fail,retry,sched,run,pr"


class QueuesTest(E2ETestCase):
    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()
        cls.worker = env.start_worker(extra_args=["--queues", SERVED,
                                                  "--retry-base-ms", "200"])

    # -- helpers -------------------------------------------------------------

    def post(self, body, state="pending"):
        r = self.env.http("POST", "/jobs", body)
        got = self.assertJSONResponse(r, 201)
        self.assertEqual(got["state"], state, r)
        return got["id"]

    def assertQueueShape(self, q):
        self.assertIsInstance(q, dict, q)
        for k in Q_KEYS:
            self.assertIn(k, q, "queue object lacks %r: %r" % (k, q))
        self.assertIsInstance(q["name"], str, q)
        for k in COUNT_KEYS:
            self.assertTrue(is_int(q[k]) and q[k] >= 0,
                            "%s is not a non-negative integer: %r" % (k, q))
        self.assertIsInstance(q["paused"], bool, q)

    def list_queues(self):
        body = self.assertJSONResponse(self.env.http("GET", "/queues"), 200)
        self.assertIsInstance(body, dict, body)
        self.assertIn("queues", body, body)
        qs = body["queues"]
        self.assertIsInstance(qs, list, body)
        for q in qs:
            self.assertQueueShape(q)
        names = [q["name"] for q in qs]
        self.assertEqual(names, sorted(names), "GET /queues is not sorted by name")
        self.assertEqual(len(names), len(set(names)), "GET /queues lists a queue twice")
        return {q["name"]: q for q in qs}

    def queue(self, name):
        q = self.assertJSONResponse(self.env.http("GET", "/queues/" + name), 200)
        self.assertQueueShape(q)
        self.assertEqual(q["name"], name, q)
        return q

    def wait_queue(self, name, pred, timeout, what):
        return wait_until(lambda: (lambda q: q if pred(q) else None)(self.queue(name)),
                          timeout, "queue %s: %s" % (name, what), interval=0.05, env=self.env)

    def hold(self, seconds, fn, what, interval=0.1):
        """A bounded negative check: fn() must hold at every poll for `seconds`."""
        deadline = time.monotonic() + seconds
        for _ in range(int(seconds / interval) + 2):
            ok = fn()
            self.assertTrue(ok, "%s stopped holding: %r" % (what, ok))
            self.env.check_alive()
            if time.monotonic() >= deadline:
                return
            time.sleep(interval)

    def assertCounts(self, q, **expected):
        got = {k: q[k] for k in expected}
        self.assertEqual(got, expected, "queue %s: %r" % (q["name"], q))

    def pause(self, name, paused=True):
        r = self.env.http("POST", "/queues/%s/%s" % (name, "pause" if paused else "resume"))
        self.assertEqual(self.assertJSONResponse(r, 200), {"name": name, "paused": paused}, r)

    # -- listing -----------------------------------------------------------------

    def test_list_and_get(self):
        a_ids = [self.post({"type": "noop", "queue": "a"}) for _ in range(3)]
        b_id = self.post({"type": "noop", "queue": "b"})
        self.assertEqual(self.env.wait_job(b_id, timeout=15)["state"], "completed")

        qs = self.list_queues()
        self.assertIn("a", qs, qs)
        self.assertIn("b", qs, qs)
        a = qs["a"]
        self.assertCounts(a, pending=3, scheduled=0, running=0, completed=0, failed=0,
                          retried=0, cancelled=0, recovered=0, enqueued=3, paused=False)
        b = qs["b"]
        self.assertEqual((b["pending"], b["running"], b["paused"]), (0, 0, False), b)
        self.assertGreaterEqual(b["completed"], 1, b)
        self.assertGreaterEqual(b["enqueued"], 1, b)

        self.assertEqual(self.queue("a"), a, "GET /queues/a differs from its list entry")
        for jid in a_ids:
            job = self.env.http("GET", "/jobs/%d" % jid).json()
            self.assertEqual(job["state"], "pending", job)

    def test_unknown_queue_is_not_found(self):
        self.assertError(self.env.http("GET", "/queues/nope"), 404, "not_found")
        self.assertNotIn("nope", self.list_queues())

    def test_wrong_methods(self):
        for method, path in (("POST", "/queues"), ("DELETE", "/queues/a"),
                             ("GET", "/queues/a/pause"), ("GET", "/queues/a/resume")):
            self.assertError(self.env.http(method, path), 405, "method_not_allowed")

    def test_pause_a_queue_that_never_had_a_job(self):
        self.pause("fresh")
        q = self.queue("fresh")
        self.assertCounts(q, pending=0, scheduled=0, running=0, enqueued=0, paused=True)
        self.assertIn("fresh", self.list_queues())
        self.pause("fresh", False)
        self.assertEqual(self.queue("fresh")["paused"], False)

    # -- pause / resume ----------------------------------------------------------

    def test_pause_and_resume(self):
        first = self.post({"type": "noop", "queue": "b"})
        self.assertEqual(self.env.wait_job(first, timeout=15)["state"], "completed")

        self.pause("b")
        self.pause("b")  # idempotent
        self.assertTrue(self.queue("b")["paused"])
        ids = [self.post({"type": "noop", "queue": "b"}) for _ in range(3)]

        def all_pending():
            states = [self.env.http("GET", "/jobs/%d" % j).json()["state"] for j in ids]
            return states if set(states) == {"pending"} else None
        self.hold(1.5, all_pending, "jobs of paused queue b pending")
        q = self.queue("b")
        self.assertCounts(q, pending=3, running=0, paused=True)
        self.assertTrue(self.list_queues()["b"]["paused"])

        t0 = time.monotonic()
        self.pause("b", False)
        for jid in ids:
            self.assertEqual(self.env.wait_job(jid, timeout=10)["state"], "completed")
        sys.stderr.write("jobs of a resumed queue done %.2f s after the resume\n"
                         % (time.monotonic() - t0))
        q = self.queue("b")
        self.assertCounts(q, pending=0, paused=False)

    def test_pause_lets_running_job_finish(self):
        jid = self.post({"type": "progress", "queue": "pr",
                         "payload": {"duration": 1, "interval_ms": 100}})
        self.env.wait_job(jid, states=("running",), timeout=10)
        self.pause("pr")
        try:
            nxt = self.post({"type": "noop", "queue": "pr"})
            job = self.env.wait_job(jid, timeout=10)
            self.assertEqual(job["state"], "completed", job)
            self.hold(1.0, lambda: self.env.http("GET", "/jobs/%d" % nxt).json()["state"]
                      == "pending", "job %d of paused queue pr pending" % nxt)
        finally:
            self.pause("pr", False)
        self.assertEqual(self.env.wait_job(nxt, timeout=10)["state"], "completed")

    def test_paused_queue_does_not_hold_up_the_others(self):
        # the worker serves b first: b paused with jobs waiting must not keep
        # it from the jobs of its other queues
        self.pause("b")
        try:
            held = [self.post({"type": "noop", "queue": "b"}) for _ in range(3)]
            t0 = time.monotonic()
            jid = self.post({"type": "noop", "queue": "cnt2"})
            self.assertEqual(self.env.wait_job(jid, timeout=3)["state"], "completed")
            sys.stderr.write("job of an unpaused queue done in %.2f s\n" % (time.monotonic() - t0))
            for h in held:
                self.assertEqual(self.env.http("GET", "/jobs/%d" % h).json()["state"], "pending")
        finally:
            self.pause("b", False)
        for h in held:
            self.assertEqual(self.env.wait_job(h, timeout=10)["state"], "completed")

    def test_bad_queue_names(self):
        for name in ("a%20b", "x" * 65, "%2A", "a%2Fb", "a,b"):
            for method, path in (("GET", "/queues/" + name), ("POST", "/queues/%s/pause" % name),
                                 ("POST", "/queues/%s/resume" % name)):
                self.assertError(self.env.http(method, path), 400, "invalid_argument")
        self.assertEqual(self.env.redis.keys("jobq:*a,b*") + self.env.redis.keys("jobq:*a b*"),
                         [])
        for q in self.list_queues():
            self.assertRegex(q, r"^[A-Za-z0-9_.:-]{1,64}$")

    # -- counters ----------------------------------------------------------------

    def test_completed_and_enqueued_counters(self):
        n = 5
        ids = [self.post({"type": "noop", "queue": "cnt"}) for _ in range(n)]
        for jid in ids:
            self.assertEqual(self.env.wait_job(jid, timeout=15)["state"], "completed")
        q = self.queue("cnt")
        self.assertGreaterEqual(q["completed"], n, q)
        self.assertGreaterEqual(q["enqueued"], n, q)
        # nothing else ever used this queue: the totals are exact
        self.assertCounts(q, pending=0, scheduled=0, running=0, completed=n, failed=0,
                          retried=0, cancelled=0, recovered=0, enqueued=n)

    def test_failed_counter(self):
        jid = self.post({"type": "exec", "payload": {"command": "no-such-type"}, "queue": "fail", "max_attempts": 1})
        self.assertEqual(self.env.wait_job(jid, timeout=15)["state"], "failed")
        q = self.queue("fail")
        self.assertGreaterEqual(q["failed"], 1, q)
        self.assertCounts(q, failed=1, completed=0, pending=0, running=0, enqueued=1)

    def test_retried_counter(self):
        # an email to an SMTP port nobody listens on: attempt 1 fails and is
        # retried, attempt 2 fails for good
        jid = self.post({"type": "email", "queue": "retry", "max_attempts": 2,
                         "payload": {"to": "a@example.test", "subject": "s", "body": "b"}})
        job = self.env.wait_job(jid, states=("failed",), timeout=20)
        self.assertEqual(job["attempts"], 2, job)
        q = self.queue("retry")
        self.assertCounts(q, retried=1, failed=1, completed=0, pending=0, scheduled=0,
                          running=0)

    def test_scheduled_count_and_cancelled_counter(self):
        jid = self.post({"type": "noop", "queue": "sched", "delay_ms": 5000}, "scheduled")
        q = self.queue("sched")
        self.assertCounts(q, scheduled=1, pending=0, running=0)
        # cancelled while it waits: no longer scheduled
        r = self.env.http("DELETE", "/jobs/%d" % jid)
        self.assertEqual(self.assertJSONResponse(r, 200), {"id": jid, "state": "cancelled"})
        q = self.queue("sched")
        self.assertCounts(q, scheduled=0, pending=0, cancelled=1, completed=0)
        # one that waits its time and runs
        jid2 = self.post({"type": "noop", "queue": "sched", "delay_ms": 1000}, "scheduled")
        self.assertEqual(self.queue("sched")["scheduled"], 1)
        self.assertEqual(self.env.wait_job(jid2, timeout=15)["state"], "completed")
        q = self.queue("sched")
        self.assertCounts(q, scheduled=0, pending=0, running=0, completed=1, cancelled=1)

    def test_running_count(self):
        jid = self.post({"type": "progress", "queue": "run",
                         "payload": {"duration": 2, "interval_ms": 100}})
        self.env.wait_job(jid, states=("running",), timeout=10)
        q = self.queue("run")
        self.assertCounts(q, running=1, pending=0)
        self.assertEqual(self.env.wait_job(jid, timeout=15)["state"], "completed")
        # `running` is a current count; allow it a moment, bounded
        self.wait_queue("run", lambda q: q["running"] == 0, 3.0, "running back to 0")
        self.assertCounts(self.queue("run"), running=0, completed=1)


class RecoveredCounterTest(harness.FreshEnvTestCase):
    """A job whose worker is killed (kill -9) is given back by the reaper of
    another worker: the queue's `recovered` counter counts it."""

    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()

    def test_recovered_counter(self):
        victim = self.env.start_worker(extra_args=["--queues", "rec"])
        r = self.env.http("POST", "/jobs", {"type": "progress", "queue": "rec",
                                            "payload": {"duration": 2, "interval_ms": 100}})
        jid = self.assertJSONResponse(r, 201)["id"]
        self.env.wait_job(jid, states=("running",), timeout=10)
        victim.kill9()
        self.env.start_worker(extra_args=["--queues", "rec"])
        job = self.env.wait_job(jid, states=("completed", "failed"), timeout=30)
        self.assertEqual(job["state"], "completed", job)
        q = self.assertJSONResponse(self.env.http("GET", "/queues/rec"), 200)
        self.assertEqual((q["recovered"], q["completed"], q["running"]), (1, 1, 0), q)


class QueuesRedisDownTest(E2ETestCase):
    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()

    def test_redis_down_is_503(self):
        r = self.env.http("POST", "/jobs", {"type": "noop", "queue": "a"})
        self.assertJSONResponse(r, 201)
        self.env.stop_redis()
        for method, path in (("GET", "/queues"), ("GET", "/queues/a"),
                             ("POST", "/queues/a/pause"), ("POST", "/queues/a/resume")):
            self.assertError(self.env.http(method, path), 503, "redis_unavailable")


if __name__ == "__main__":
    harness.main()
