#!/usr/bin/python3
"""Script paths that real processes reach only in rare interleavings, run directly
against a real Redis (the scripts exactly as the build embeds them: common/store/scripts/
*.lua with their `-- @include` lines expanded, written by cmake/embed_scripts.cmake to
JOBQ_SCRIPTS_DIR):

* a batch member whose cancel was asked for, handed back at shutdown (requeue) while
  still running, ends cancelled, is counted in its batch, and the callback fires;
* a failed attempt of a job whose cancel was asked for ends it (no retry);
* a job retried from the dead set loses its old cancel request;
* an outcome resent under the same token (its answer lost, or not replicated) answers
  as the first and writes nothing again;
* poison jobs failed by the reaper respect the dead set's cap;
* the reaper tells a stall from a death: after a gap in its calls, or a new Redis
  run_id, it declares no worker dead and takes back no expired lease until its grace
  has passed, and then only a worker whose beat three turns saw unmoved."""
import os
import re
import sys
import time

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
        self.r.execute("HSET", harness.job_key(jid), *args)
        self.r.execute("ZADD", harness.leases_key(), "9999999999999", str(jid))
        self.r.execute("HINCRBY", harness.queue_stats_key("default"), "running", "1")

    def test_requeue_of_a_cancelled_batch_member_counts_it(self):
        self.r.execute("HSET", harness.batch_key(10), "total", "1", "created_at", "1", "keep_ms",
                       "60000")
        self.r.execute("HSET", harness.batch_key(10) + ":callback", "type", "noop", "queue", "cb")
        self.running_job(11, batch=10, cancel_requested=1)
        code = self.eval("requeue", [harness.job_key(11), harness.leases_key(), harness.queue_key("default"),
                                     harness.wake_key("default"), harness.queue_stats_key("default"),
                                     harness.type_stats_key("default")],
                         [11, 1, 60000, P])
        self.assertEqual(code, 2)
        self.assertEqual(self.hget(harness.job_key(11), "state"), "cancelled")
        self.assertEqual(self.hget(harness.batch_key(10), "cancelled"), "1")
        self.assertIsNotNone(self.hget(harness.batch_key(10), "finished_at"))
        cb = self.hget(harness.batch_key(10), "callback_id")
        self.assertIsNotNone(cb, "the callback did not fire")
        self.assertEqual(self.hget(harness.job_key(cb), "state"), "pending")
        self.assertEqual(self.r.execute("LLEN", harness.queue_key("cb")), 1)
        self.assertEqual(self.hget(harness.type_stats_key("default"), "noop|cancelled"), "1")
        self.assertEqual(self.hget(harness.queue_stats_key("default"), "running"), "0")
        # without a cancel request the job goes back to its queue, first in line
        self.running_job(12)
        code = self.eval("requeue", [harness.job_key(12), harness.leases_key(), harness.queue_key("default"),
                                     harness.wake_key("default"), harness.queue_stats_key("default"),
                                     harness.type_stats_key("default")],
                         [12, 1, 60000, P])
        self.assertEqual(code, 1)
        self.assertEqual(self.hget(harness.job_key(12), "state"), "pending")

    def finish(self, jid, kind, text="boom"):
        return self.eval("finish", [harness.leases_key(), harness.dead_key(), harness.scheduled_key(), P + "stats",
                                    harness.job_key(jid)],
                         [60000, 60000, 100, P, jid, 1, kind, text, 1000, "default"])

    def test_a_failed_attempt_of_a_job_whose_cancel_was_asked_ends_it(self):
        self.running_job(21, cancel_requested=1)
        self.assertEqual(self.finish(21, "failed"), [4])
        self.assertEqual(self.hget(harness.job_key(21), "state"), "cancelled")
        self.assertEqual(self.r.execute("ZSCORE", harness.scheduled_key(), "21"), None)
        # the same failure without a cancel request is retried, its progress reset
        self.running_job(22, done=5, total=10)
        self.assertEqual(self.finish(22, "failed"), [2])
        self.assertEqual(self.hget(harness.job_key(22), "state"), "scheduled")
        self.assertIsNone(self.hget(harness.job_key(22), "done"))

    def test_a_resent_outcome_answers_as_the_first_and_writes_nothing(self):
        """A worker resends an outcome whose answer it did not take (lost, or not
        replicated with --min-replicas-ack): the same token, state and text answer the
        first code again, nothing counted twice; anything else is still stale."""
        cases = [("completed", '{"r":1}', {}, 1, "completed"),
                 ("failed", "boom", {}, 2, "scheduled"),
                 ("failed", "boom", {"max_attempts": 1}, 3, "failed"),
                 ("fatal", "cannot", {}, 3, "failed"),
                 ("cancelled", "stopped", {}, 4, "cancelled"),
                 ("failed", "boom", {"cancel_requested": 1}, 4, "cancelled")]
        for jid, (kind, text, fields, code, state) in enumerate(cases, start=41):
            with self.subTest(kind=kind, fields=fields):
                self.running_job(jid, **fields)
                self.assertEqual(self.finish(jid, kind, text), [code])
                before = {k: self.r.execute("HGETALL", k) for k in
                          (P + "stats", harness.queue_stats_key("default"), harness.job_key(jid))}
                dead = self.r.execute("ZCARD", harness.dead_key())
                self.assertEqual(self.finish(jid, kind, text), [code])
                self.assertEqual(self.hget(harness.job_key(jid), "state"), state)
                for k, v in before.items():
                    self.assertEqual(self.r.execute("HGETALL", k), v, k)
                self.assertEqual(self.r.execute("ZCARD", harness.dead_key()), dead)
        # not this outcome: a different text or kind, another token, a job put back
        self.running_job(51)
        self.assertEqual(self.finish(51, "completed", "a"), [1])
        self.assertEqual(self.finish(51, "completed", "b"), [0])
        self.assertEqual(self.finish(51, "failed", "a"), [0])
        self.running_job(52)
        self.assertEqual(self.finish(52, "failed", "boom"), [2])
        self.assertEqual(self.finish(52, "completed", "boom"), [0])
        self.assertEqual(self.finish(52, "cancelled", "boom"), [0])
        self.running_job(53, token=2)
        self.assertEqual(self.finish(53, "completed", "x"), [0])
        self.running_job(54)
        self.r.execute("HSET", harness.job_key(54), "state", "pending")  # the reaper gave it back
        self.assertEqual(self.finish(54, "completed", "x"), [0])

    def test_dead_retry_forgets_the_old_cancel_request(self):
        self.r.execute("HSET", harness.job_key(31), "type", "noop", "state", "failed",
                       "cancel_requested", "1", "attempts", "3")
        self.r.execute("ZADD", harness.dead_key(), "1", "31")
        self.assertEqual(self.eval("dead", [harness.dead_key()], ["retry", P, 31]), 1)
        self.assertEqual(self.hget(harness.job_key(31), "state"), "pending")
        self.assertIsNone(self.hget(harness.job_key(31), "cancel_requested"))

    REAP_KEYS = [harness.leases_key(), P + "workers", harness.dead_key(), P + "reaper", P + "reaper-seen",
                 P + "worker-periods"]

    def now_ms(self):
        sec, usec = self.r.execute("TIME")
        return int(sec) * 1000 + int(usec) // 1000

    def run_id(self):
        info = self.r.execute("INFO", "server").decode()
        return re.search(r"run_id:([0-9a-f]+)", info).group(1)

    def reaper_state(self, at, healthy_since, run_id=None):
        self.r.execute("HSET", P + "reaper", "at", str(at), "healthy_since",
                       str(healthy_since), "run_id", run_id or self.run_id())

    def reap(self, beat=1000, dead_after=3000, grace=1000, maxrec=3, dead_max=3):
        return self.eval("reap", self.REAP_KEYS,
                         [beat, dead_after, P, maxrec, 100, grace, 60000, dead_max])

    def test_reaped_poison_respects_the_dead_cap(self):
        for i in range(5):
            self.r.execute("ZADD", harness.dead_key(), str(i), str(100 + i))
        self.running_job(41, recoveries=3)
        self.r.execute("ZADD", harness.leases_key(), "1", "41")  # expired
        self.reaper_state(self.now_ms(), 0)  # healthy for long
        got = self.reap()
        self.assertEqual(got[1], 1, got)
        self.assertEqual(self.hget(harness.job_key(41), "state"), "failed")
        self.assertEqual(self.r.execute("ZCARD", harness.dead_key()), 3)
        self.assertIsNotNone(self.r.execute("ZSCORE", harness.dead_key(), "41"))

    def stalled_world(self):
        """Worker w1 (beat 10 s old) runs job 51 whose lease expired; w2 is live."""
        now = self.now_ms()
        self.running_job(51)
        self.r.execute("ZADD", harness.leases_key(), str(now - 5000), "51")
        self.r.execute("SADD", P + "worker-jobs:w1", "51")
        self.r.execute("ZADD", P + "workers", str(now - 10000), "w1", str(now), "w2")
        return now

    def test_a_stall_is_not_a_death(self):
        now = self.stalled_world()
        self.reaper_state(now - 5000, 0)  # no reaper reached Redis for 5 s
        got = self.reap(beat=200, dead_after=600, grace=800)
        self.assertEqual(got[:3], [0, 0, 0], got)
        self.assertGreaterEqual(got[3], 5000, got)
        self.assertEqual(self.hget(harness.job_key(51), "state"), "running")
        self.assertIsNotNone(self.r.execute("ZSCORE", harness.leases_key(), "51"))
        # Calls every 100 ms (a turn every 200 ms); w2 beats, w1 does not: w1 is dead
        # once the grace (800 ms) has passed, and only then, and w2 never.
        t_stall = self.now_ms()
        for _ in range(60):
            time.sleep(0.1)
            self.r.execute("ZADD", P + "workers", str(self.now_ms()), "w2")
            got = self.reap(beat=200, dead_after=600, grace=800)
            if got != -1 and got[2]:
                break
        self.assertEqual(got[:3], [1, 0, 1], got)
        self.assertGreaterEqual(self.now_ms() - t_stall, 800)
        self.assertEqual(self.hget(harness.job_key(51), "state"), "pending")
        self.assertEqual(self.hget(harness.job_key(51), "recoveries"), "1")
        self.assertIsNone(self.r.execute("ZSCORE", P + "workers", "w1"))
        self.assertIsNotNone(self.r.execute("ZSCORE", P + "workers", "w2"))

    def test_a_new_run_id_is_a_stall(self):
        now = self.stalled_world()
        self.reaper_state(now, 0, run_id="0" * 40)  # no gap, but another Redis
        got = self.reap()
        self.assertEqual(got[:3], [0, 0, 0], got)
        self.assertGreater(got[3], 0, got)
        self.assertEqual(self.hget(harness.job_key(51), "state"), "running")
        self.assertEqual(s(self.r.execute("HGET", P + "reaper", "run_id")), self.run_id())

    def test_no_history_and_old_beats_is_a_stall(self):
        # no reaper state, and the freshest beat is 5 s old: a restored old snapshot
        self.stalled_world()
        self.r.execute("ZADD", P + "workers", str(self.now_ms() - 5000), "w2")
        got = self.reap()
        self.assertEqual(got[:3], [0, 0, 0], got)
        self.assertGreater(got[3], 0, got)
        self.assertEqual(self.hget(harness.job_key(51), "state"), "running")

    def test_no_history_and_a_fresh_beat_is_healthy(self):
        # a first run: the caller has just beaten; the expired lease comes back at once
        self.stalled_world()
        got = self.reap()
        self.assertEqual(got, [1, 0, 0, 0], got)
        self.assertEqual(self.hget(harness.job_key(51), "state"), "pending")

    def test_without_a_stall_an_expired_lease_and_a_silent_worker_are_reaped(self):
        now = self.stalled_world()
        self.reaper_state(now, 0)
        got = self.reap(beat=200, dead_after=600, grace=800)
        # w1 is seen once: not dead yet; its expired lease is taken back at once
        self.assertEqual(got, [1, 0, 0, 0], got)
        self.assertEqual(self.hget(harness.job_key(51), "state"), "pending")
        self.assertEqual(self.reap(beat=200), -1)  # less than a beat later: not a turn


if __name__ == "__main__":
    harness.main()
