#!/usr/bin/python3
"""Script paths that real processes reach only in rare interleavings, run directly
against a real Redis (the scripts exactly as the build embeds them: common/store/scripts/
*.lua with their `-- @include` lines expanded, written by cmake/embed_scripts.cmake to
JOBQ_SCRIPTS_DIR):

* a batch member whose cancel was asked for, handed back at shutdown (requeue) while
  still running, ends cancelled, is counted in its batch, and the callback fires;
* a failed attempt of a job whose cancel was asked for ends it (no retry);
* a job retried from the dead set loses its old cancel request;
* poison jobs failed by the reaper respect the dead set's cap."""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import E2ETestCase  # noqa: E402

P = "jobq:"


def script(name):
    return harness.script_text(name).decode()


def s(v):
    return v.decode() if isinstance(v, bytes) else v


class ScriptPathsTest(E2ETestCase):
    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()

    def setUp(self):
        self.r = self.env.redis
        self.r.execute("FLUSHALL")

    def eval(self, name, keys, args):
        return self.r.execute("EVAL", script(name), str(len(keys)), *keys, *[str(a) for a in args])

    def hget(self, key, field):
        return s(self.r.execute("HGET", key, field))

    def running_job(self, jid, **fields):
        h = {"type": "noop", "state": "running", "token": "1", "attempts": "1",
             "worker": "w1", "started_at": "1"}
        h.update({k: str(v) for k, v in fields.items()})
        args = []
        for k, v in h.items():
            args += [k, v]
        self.r.execute("HSET", P + "job:%d" % jid, *args)
        self.r.execute("ZADD", P + "leases", "9999999999999", str(jid))
        self.r.execute("HINCRBY", P + "queue-stats:default", "running", "1")

    def test_requeue_of_a_cancelled_batch_member_counts_it(self):
        self.r.execute("HSET", P + "batch:10", "total", "1", "created_at", "1", "keep_ms",
                       "60000")
        self.r.execute("HSET", P + "batch:10:callback", "type", "noop", "queue", "cb")
        self.running_job(11, batch=10, cancel_requested=1)
        code = self.eval("requeue", [P + "job:11", P + "leases", P + "q:default",
                                     P + "wake:default", P + "queue-stats:default",
                                     P + "type-stats:default"],
                         [11, 1, 60000, P])
        self.assertEqual(code, 2)
        self.assertEqual(self.hget(P + "job:11", "state"), "cancelled")
        self.assertEqual(self.hget(P + "batch:10", "cancelled"), "1")
        self.assertIsNotNone(self.hget(P + "batch:10", "finished_at"))
        cb = self.hget(P + "batch:10", "callback_id")
        self.assertIsNotNone(cb, "the callback did not fire")
        self.assertEqual(self.hget(P + "job:" + cb, "state"), "pending")
        self.assertEqual(self.r.execute("LLEN", P + "q:cb"), 1)
        self.assertEqual(self.hget(P + "type-stats:default", "noop|cancelled"), "1")
        self.assertEqual(self.hget(P + "queue-stats:default", "running"), "0")
        # without a cancel request the job goes back to its queue, first in line
        self.running_job(12)
        code = self.eval("requeue", [P + "job:12", P + "leases", P + "q:default",
                                     P + "wake:default", P + "queue-stats:default",
                                     P + "type-stats:default"],
                         [12, 1, 60000, P])
        self.assertEqual(code, 1)
        self.assertEqual(self.hget(P + "job:12", "state"), "pending")

    def finish(self, jid, kind, text="boom"):
        return self.eval("finish", [P + "leases", P + "dead", P + "scheduled", P + "stats",
                                    P + "job:%d" % jid],
                         [60000, 60000, 100, P, jid, 1, kind, text, 1000, "default"])

    def test_a_failed_attempt_of_a_job_whose_cancel_was_asked_ends_it(self):
        self.running_job(21, cancel_requested=1)
        self.assertEqual(self.finish(21, "failed"), [4])
        self.assertEqual(self.hget(P + "job:21", "state"), "cancelled")
        self.assertEqual(self.r.execute("ZSCORE", P + "scheduled", "21"), None)
        # the same failure without a cancel request is retried, its progress reset
        self.running_job(22, done=5, total=10)
        self.assertEqual(self.finish(22, "failed"), [2])
        self.assertEqual(self.hget(P + "job:22", "state"), "scheduled")
        self.assertIsNone(self.hget(P + "job:22", "done"))

    def test_dead_retry_forgets_the_old_cancel_request(self):
        self.r.execute("HSET", P + "job:31", "type", "noop", "state", "failed",
                       "cancel_requested", "1", "attempts", "3")
        self.r.execute("ZADD", P + "dead", "1", "31")
        self.assertEqual(self.eval("dead", [P + "dead"], ["retry", P, 31]), 1)
        self.assertEqual(self.hget(P + "job:31", "state"), "pending")
        self.assertIsNone(self.hget(P + "job:31", "cancel_requested"))

    def test_reaped_poison_respects_the_dead_cap(self):
        for i in range(5):
            self.r.execute("ZADD", P + "dead", str(i), str(100 + i))
        self.running_job(41, recoveries=3)
        self.r.execute("ZADD", P + "leases", "1", "41")  # expired
        got = self.eval("reap", [P + "leases", P + "workers", P + "dead", P + "reaper-lock"],
                        [0, 3000, P, 3, 100, "me", 1000, 60000, 3])
        self.assertEqual(got[1], 1, got)
        self.assertEqual(self.hget(P + "job:41", "state"), "failed")
        self.assertEqual(self.r.execute("ZCARD", P + "dead"), 3)
        self.assertIsNotNone(self.r.execute("ZSCORE", P + "dead", "41"))


if __name__ == "__main__":
    harness.main()
