#!/usr/bin/python3
"""E2E fault injection: redis-server (append-only file, fsync at every write)
is shut down (SHUTDOWN over RESP, or SIGTERM) and restarted on the same port and dir in the middle of a stream
of enqueues (DESIGN.md, Guarantees: the broker never answers 2xx for a job
that is not stored in Redis; broker and workers reconnect by themselves
without losing a job).

A client thread POSTs noop and progress (duration 0) jobs back to back for
about 4 s; Redis goes down once in the middle. Then:
  * every answer is 201 or 503 redis_unavailable, and every request made
    while Redis was down got 503;
  * every id that got a 201 is in Redis once it is back, and completes.
"""
import os
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import FreshEnvTestCase, wait_until  # noqa: E402

FAST = ["--heartbeat-ms", "200", "--lease-ms", "2000", "--retry-base-ms", "100",
        "--grace-ms", "300"]
STREAM_S = 4.0
DOWN_AT_S = 1.5      # Redis goes down this long after the stream starts
DOWNTIME_S = 0.8     # and stays down this long
AFTER_UP_S = 1.5     # the stream goes on at least this long after Redis is back
COMPLETE_BOUND_S = 30.0


class Sample:
    __slots__ = ("t0", "t1", "status", "body", "error", "job")

    def __repr__(self):
        return "<%.3f..%.3f %s %r %s>" % (self.t0, self.t1, self.status, self.body[:120]
                                          if self.body else None, self.error or "")


class RedisRestartTest(FreshEnvTestCase):
    @classmethod
    def setUpEnv(cls, env):
        env.start_redis(appendonly=True)
        env.start_broker()
        env.start_worker(extra_args=FAST)

    def test_restart_under_a_stream_of_enqueues_shutdown_command(self):
        self.restart_under_a_stream("shutdown")

    def test_restart_under_a_stream_of_enqueues_sigterm(self):
        self.restart_under_a_stream("sigterm")

    def restart_under_a_stream(self, how):
        env = self.env
        self.assertEqual(env.redis.execute("CONFIG", "GET", "appendfsync"),
                         [b"appendfsync", b"always"])
        samples = []
        stop = threading.Event()
        marks = {}

        def client():
            n = 0
            while not stop.is_set() and n < 100000:
                n += 1
                body = ({"type": "noop", "payload": {"n": n}} if n % 2 else
                        {"type": "progress", "payload": {"duration": 0}})
                s = Sample()
                s.t0 = time.monotonic()
                s.status = s.body = s.error = None
                s.job = body
                try:
                    r = env.http("POST", "/jobs", body, timeout=10)
                    s.status, s.body = r.status, r.body
                except OSError as e:
                    s.error = "%s: %s" % (type(e).__name__, e)
                s.t1 = time.monotonic()
                samples.append(s)
                time.sleep(0.002)

        th = threading.Thread(target=client, daemon=True)
        t_start = time.monotonic()
        th.start()
        try:
            time.sleep(DOWN_AT_S)
            marks["down_begin"] = time.monotonic()
            env.stop_redis(how=how)
            marks["down"] = time.monotonic()  # exited, port closed
            time.sleep(DOWNTIME_S)
            marks["up_begin"] = time.monotonic()
            env.start_redis()  # same port, dir and append-only file
            marks["up"] = time.monotonic()
            time.sleep(max(AFTER_UP_S, STREAM_S - (time.monotonic() - t_start)))
        finally:
            stop.set()
            th.join(15)
        self.assertFalse(th.is_alive(), "client thread did not stop")

        rel = {k: v - t_start for k, v in marks.items()}
        by_status = {}
        for s in samples:
            by_status[s.status or s.error] = by_status.get(s.status or s.error, 0) + 1
        sys.stderr.write("\nstream: %d requests in %.1f s, %r; Redis stopped (%s) "
                         "%.3f..%.3f s, up again at %.3f s\n"
                         % (len(samples), samples[-1].t1 - t_start, by_status, how,
                            rel["down_begin"], rel["down"], rel["up"]))

        # Every request got an answer, 201 or the documented 503.
        errors = [s for s in samples if s.error]
        self.assertEqual(errors, [], "requests without an HTTP answer")
        ok_ids = []
        for s in samples:
            if s.status == 201:
                got = harness.json.loads(s.body)
                self.assertEqual(got["state"], "pending", s)
                ok_ids.append(got["id"])
            else:
                self.assertEqual(s.status, 503, "unexpected answer %r" % s)
                err = harness.json.loads(s.body)["error"]
                self.assertEqual(err["code"], "redis_unavailable", s)
        self.assertEqual(len(ok_ids), len(set(ok_ids)), "an id was answered twice")

        # While Redis was surely down (request sent after it exited, answer
        # received before it was started again), only 503.
        down = [s for s in samples if s.t0 >= marks["down"] and s.t1 <= marks["up_begin"]]
        self.assertTrue(down, "no request fell in the %.1f s Redis was down" % DOWNTIME_S)
        self.assertEqual([s for s in down if s.status != 503], [],
                         "answers other than 503 while Redis was down")
        # There were 2xx before the shutdown and after the restart.
        self.assertTrue([s for s in samples if s.status == 201 and s.t1 < marks["down_begin"]],
                        "no 201 before Redis went down")
        after = [s for s in samples if s.status == 201 and s.t0 > marks["up"]]
        self.assertTrue(after, "the broker never answered 201 after Redis came back")
        first_after = min(s.t1 for s in after) - marks["up"]
        sys.stderr.write("first 201 %.3f s after Redis was back; %d ids got 201\n"
                         % (first_after, len(ok_ids)))

        # No 2xx id is missing from Redis.
        replies = env.redis.pipeline([["HGET", harness.job_key(i), "state"] for i in ok_ids])
        missing = [i for i, st in zip(ok_ids, replies) if st is None]
        self.assertEqual(missing, [], "ids answered 201 but not in Redis after the restart")

        # Every one completes (the worker reconnects by itself).
        def states():
            rep = env.redis.pipeline([["HGET", harness.job_key(i), "state"] for i in ok_ids])
            return {i: (st.decode() if st else None) for i, st in zip(ok_ids, rep)}

        def all_completed():
            st = states()
            return all(v == "completed" for v in st.values())
        try:
            wait_until(all_completed, COMPLETE_BOUND_S, "every 201 job to complete",
                       interval=0.2, env=env)
        except harness.WaitTimeout:
            st = states()
            bad = {i: v for i, v in st.items() if v != "completed"}
            raise AssertionError("%d of %d jobs answered 201 did not complete within %.0f s: "
                                 "%r\n%s" % (len(bad), len(ok_ids), COMPLETE_BOUND_S,
                                             dict(list(bad.items())[:20]), env.logs_text()))
        self.assertEqual(env.redis.llen(harness.queue_key("default")), 0)
        self.assertEqual(env.redis.execute("ZCARD", harness.leases_key()), 0)

        # For the record: jobs stored although their answer was 503 (a request
        # in flight when Redis went down may have been stored before its
        # reply was lost). Not a 2xx for an unstored job, so only reported.
        stored = set(int(k.rsplit(":", 1)[1]) for k in env.job_keys())
        extra = sorted(stored - set(ok_ids))
        sys.stderr.write("jobs stored without a 201: %r\n" % extra)
        self.assertEqual(env.http("GET", "/healthz").status, 200)
        env.check_alive()


if __name__ == "__main__":
    harness.main()
