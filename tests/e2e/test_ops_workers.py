#!/usr/bin/python3
"""E2E: GET /workers (docs/api.md, "Operations"): every worker whose heartbeat
is recent, with its id, host, pid, queues, sizes, running count, times and
counters; a stopped worker leaves the list, and so does a killed one once its
heartbeat stops."""
import datetime
import os
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import is_int, parse_rfc3339, wait_until  # noqa: E402

W_KEYS = ("id", "host", "pid", "queues", "concurrency", "threads", "running", "started_at",
          "last_heartbeat", "completed", "failed")
LIST_TIMEOUT = 3.0   # s for a started worker to be listed
STOP_TIMEOUT = 3.0   # s for a worker stopped with SIGTERM to leave the list
KILL_TIMEOUT = 6.0   # s for a kill -9'd worker to leave it (3 beats of 1 s, plus polling)


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


class WorkersTest(harness.FreshEnvTestCase):
    """Per test: Redis, a broker, worker 1 with the harness defaults (queue
    default, concurrency 100, 2 threads) and worker 2 with --queues a,b
    --concurrency 7."""

    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()
        env.w1 = env.start_worker()
        env.w2 = env.start_worker(extra_args=["--queues", "a,b", "--concurrency", "7"])
        env.w1_id = env.worker_id(env.w1)
        env.w2_id = env.worker_id(env.w2)

    # -- helpers -------------------------------------------------------------

    def workers(self):
        body = self.assertJSONResponse(self.env.http("GET", "/workers"), 200)
        self.assertIsInstance(body, dict, body)
        self.assertIn("workers", body, body)
        ws = body["workers"]
        self.assertIsInstance(ws, list, body)
        for w in ws:
            self.assertWorkerShape(w)
        ids = [w["id"] for w in ws]
        self.assertEqual(len(ids), len(set(ids)), "GET /workers lists a worker twice: %r" % ws)
        return {w["id"]: w for w in ws}

    def assertWorkerShape(self, w):
        self.assertIsInstance(w, dict, w)
        for k in W_KEYS:
            self.assertIn(k, w, "worker object lacks %r: %r" % (k, w))
        for k in ("id", "host"):
            self.assertIsInstance(w[k], str, w)
            self.assertTrue(w[k], w)
        for k in ("pid", "concurrency", "threads", "running", "completed", "failed"):
            self.assertTrue(is_int(w[k]) and w[k] >= 0, "%s is not an integer: %r" % (k, w))
        self.assertIsInstance(w["queues"], list, w)
        for q in w["queues"]:
            self.assertIsInstance(q, str, w)
        parse_rfc3339(w["started_at"])
        parse_rfc3339(w["last_heartbeat"])

    def wait_workers(self, pred, timeout, what):
        # (ws,): an empty listing is a value too
        return wait_until(lambda: (lambda ws: (ws,) if pred(ws) else None)(self.workers()),
                          timeout, what, interval=0.1, env=self.env)[0]

    def wait_both(self):
        ids = {self.env.w1_id, self.env.w2_id}
        return self.wait_workers(lambda ws: ids <= set(ws), LIST_TIMEOUT,
                                 "both workers in GET /workers")

    def post(self, body):
        r = self.env.http("POST", "/jobs", body)
        return self.assertJSONResponse(r, 201)["id"]

    # -- tests ---------------------------------------------------------------

    def test_listing(self):
        ws = self.wait_both()
        self.assertEqual(set(ws), {self.env.w1_id, self.env.w2_id}, ws)
        w1, w2 = ws[self.env.w1_id], ws[self.env.w2_id]
        self.assertNotEqual(w1["id"], w2["id"])

        self.assertEqual(w1["pid"], self.env.w1.pid, w1)
        self.assertEqual(w2["pid"], self.env.w2.pid, w2)
        self.assertEqual(w1["queues"], ["default"], w1)
        self.assertEqual(w2["queues"], ["a", "b"], w2)
        self.assertEqual((w1["concurrency"], w1["threads"]), (100, 2), w1)
        self.assertEqual((w2["concurrency"], w2["threads"]), (7, 2), w2)
        host = socket.gethostname()
        for w in (w1, w2):
            self.assertEqual(w["host"], host, w)
            self.assertEqual((w["running"], w["completed"], w["failed"]), (0, 0, 0), w)
            now = utcnow()
            beat = parse_rfc3339(w["last_heartbeat"])
            started = parse_rfc3339(w["started_at"])
            self.assertLess(abs((now - beat).total_seconds()), 10,
                            "last_heartbeat is not recent: %r (now %s)" % (w, now))
            self.assertLess(abs((now - started).total_seconds()), 60,
                            "started_at is not recent: %r (now %s)" % (w, now))
            self.assertLessEqual(started, beat + datetime.timedelta(milliseconds=5), w)

        # the heartbeat moves on
        first = parse_rfc3339(w1["last_heartbeat"])
        self.wait_workers(lambda ws: self.env.w1_id in ws and
                          parse_rfc3339(ws[self.env.w1_id]["last_heartbeat"]) > first,
                          3.0, "a newer last_heartbeat of worker 1")

    def test_running_and_counters(self):
        self.wait_both()
        jid = self.post({"type": "progress", "queue": "a",
                         "payload": {"duration": 3, "interval_ms": 100}})
        job = self.env.wait_job(jid, states=("running",), timeout=10)
        self.assertEqual(job["worker"], self.env.w2_id, job)
        ws = self.wait_workers(lambda ws: ws.get(self.env.w2_id, {}).get("running") == 1,
                               3.0, "worker 2 running 1 job")
        self.assertEqual(ws[self.env.w1_id]["running"], 0, ws)

        self.assertEqual(self.env.wait_job(jid, timeout=15)["state"], "completed")
        bad = self.post({"type": "exec", "payload": {"command": "no-such-type"}, "queue": "b", "max_attempts": 1})
        self.assertEqual(self.env.wait_job(bad, timeout=15)["state"], "failed")
        ws = self.wait_workers(
            lambda ws: (lambda w: w.get("running") == 0 and w.get("completed") == 1
                        and w.get("failed") == 1)(ws.get(self.env.w2_id, {})),
            3.0, "worker 2 with running 0, completed 1, failed 1")
        w1 = ws[self.env.w1_id]
        self.assertEqual((w1["running"], w1["completed"], w1["failed"]), (0, 0, 0), w1)

    def test_stopped_and_killed_workers_leave_the_list(self):
        self.wait_both()
        # SIGTERM: a graceful stop (exit status 0, checked at tear-down)
        self.assertEqual(self.env.w1.stop(), 0)
        t0 = time.monotonic()
        ws = self.wait_workers(lambda ws: self.env.w1_id not in ws, STOP_TIMEOUT,
                               "the stopped worker 1 to leave GET /workers")
        sys.stderr.write("stopped worker left the list after %.2f s\n" % (time.monotonic() - t0))
        self.assertIn(self.env.w2_id, ws)

        # kill -9 the last one: nobody is left to reap it, the listing alone
        # must leave out a worker whose heartbeat is not recent
        self.env.w2.kill9()
        t0 = time.monotonic()
        ws = self.wait_workers(lambda ws: self.env.w2_id not in ws, KILL_TIMEOUT,
                               "the killed worker 2 to leave GET /workers")
        sys.stderr.write("killed worker left the list after %.2f s\n" % (time.monotonic() - t0))
        self.assertEqual(ws, {})

    def test_killed_worker_leaves_the_list_while_others_run(self):
        self.wait_both()
        self.env.w2.kill9()
        t0 = time.monotonic()
        ws = self.wait_workers(lambda ws: self.env.w2_id not in ws, KILL_TIMEOUT,
                               "the killed worker 2 to leave GET /workers")
        sys.stderr.write("killed worker left the list after %.2f s\n" % (time.monotonic() - t0))
        self.assertEqual(set(ws), {self.env.w1_id}, ws)
        # and it does not come back
        time.sleep(1.5)
        self.assertEqual(set(self.workers()), {self.env.w1_id})


class WorkersNoneTest(harness.E2ETestCase):
    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()

    def test_no_workers(self):
        r = self.env.http("GET", "/workers")
        self.assertEqual(self.assertJSONResponse(r, 200), {"workers": []})

    def test_wrong_method(self):
        self.assertError(self.env.http("POST", "/workers"), 405, "method_not_allowed")

    def test_redis_down_is_503(self):
        self.env.stop_redis()
        try:
            self.assertError(self.env.http("GET", "/workers"), 503, "redis_unavailable")
        finally:
            self.env.start_redis()


if __name__ == "__main__":
    harness.main()
