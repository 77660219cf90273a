#!/usr/bin/python3
"""E2E fault injection: fencing tokens (DESIGN.md, Guarantees: completion,
failure and progress from a worker whose lease is no longer current are
rejected, so a recovered job is never completed twice).

* While a progress job runs, its token is bumped in Redis (as if another
  worker had taken it over): the old worker's next progress write is
  rejected, it logs "lease lost" and stops the job, and it never marks the
  job completed.
* The finish, progress and requeue scripts, called directly with EVALSHA and
  a wrong token on a running job, return 0 and change nothing; in one finish
  call with a stale outcome and a current one, only the current one is
  written (so the calls are well-formed: the 0s are the fence).
"""
import hashlib
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import FreshEnvTestCase, wait_until  # noqa: E402
from test_script_paths import script  # noqa: E402

# A long lease: the reaper's expired-lease backstop must not give the job
# back while the test looks at it (the heartbeat is what detects crashes).
ARGS = ["--heartbeat-ms", "200", "--lease-ms", "60000", "--retry-base-ms", "100",
        "--grace-ms", "300", "--log-level", "debug"]


# finish.lua's fixed KEYS, in order (docs/redis.md, common/store/scripts/finish.lua); the
# job hashes follow.
FINISH_KEYS = [harness.leases_key(), harness.dead_key(), harness.scheduled_key(), harness.key("stats")]


def script_sha(redis, name):
    """The SHA1 of script <name> as jobq loads it, loaded into Redis if needed."""
    text = harness.script_text(name)
    sha = hashlib.sha1(text).hexdigest()
    if redis.execute("SCRIPT", "EXISTS", sha) == [1]:
        sys.stderr.write("%s.lua: sha1 %s (as loaded by jobq)\n" % (name, sha))
    else:
        loaded = redis.execute("SCRIPT", "LOAD", text)
        assert loaded.decode() == sha, (loaded, sha)
    return sha


LEASE_LOST_BOUND_S = 3.0


class FencingTest(FreshEnvTestCase):
    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()
        env.start_worker(extra_args=ARGS)

    def hash(self, jid):
        return self.env.redis.hgetall(harness.job_key(jid))

    def test_bumped_token_stops_the_old_worker(self):
        env = self.env
        worker = env.workers[0]
        wid = env.worker_id(worker)
        t0 = time.monotonic()
        jid = self.post_job({"type": "progress", "payload": {"duration": 5}})
        wait_until(lambda: int(self.hash(jid).get("done", b"0")) >= 1, 10,
                   "job %d to report progress 1/5" % jid, env=env)
        token = int(self.hash(jid)["token"])
        self.assertEqual(env.redis.execute("HINCRBY", harness.job_key(jid), "token", 1),
                         token + 1)
        t_bump = time.monotonic()
        done_at_bump = int(self.hash(jid)["done"])

        # The next progress step (1 s apart) is rejected: "lease lost", at
        # once, not when the job would have ended (3.9 s after the bump).
        wait_until(lambda: "job %d: lease lost" % jid in worker.log_text(), LEASE_LOST_BOUND_S,
                   "worker to log 'job %d: lease lost' at its next progress step" % jid,
                   env=env)
        sys.stderr.write("\nlease lost logged %.3f s after the token bump\n"
                         % (time.monotonic() - t_bump))

        # It stopped the job: its heartbeat reports no running job.
        def running_count():
            info = env.redis.execute("GET", harness.key("worker:%s" % wid))
            return harness.json.loads(info)["running"] if info else None
        wait_until(lambda: running_count() == 0, 2,
                   "the worker's heartbeat info to report 0 running jobs", env=env)

        def check(h, when):
            self.assertEqual(h.get("state"), b"running", "%s: %r" % (when, h))
            self.assertEqual(h.get("token"), str(token + 1).encode(), "%s: %r" % (when, h))
            self.assertEqual(h.get("worker"), wid.encode(), "%s: %r" % (when, h))
            self.assertNotIn("result", h, "%s: %r" % (when, h))
            self.assertNotIn("finished_at", h, "%s: %r" % (when, h))
            self.assertNotIn("error", h, "%s: %r" % (when, h))
            self.assertEqual(int(h.get("done", b"0")), done_at_bump,
                             "%s: progress written after the bump: %r" % (when, h))
        check(self.hash(jid), "right after 'lease lost'")

        # Past the job's natural end (5 s): the old worker still wrote nothing.
        time.sleep(max(0.0, 6.5 - (time.monotonic() - t0)))
        check(self.hash(jid), "after the job's natural end")
        self.assertIsNotNone(env.redis.execute("ZSCORE", harness.leases_key(), str(jid)))
        log = worker.log_text()
        self.assertNotIn("job %d (progress, queue default) completed" % jid, log)
        self.assertEqual(log.count("job %d: lease lost" % jid), 1,
                         "the job went on after its lease was lost")
        self.assertEqual(env.http("GET", "/jobs/%d" % jid).json()["state"], "running")

        # The worker goes on with other jobs (its slot was freed).
        nid = self.post_job({"type": "noop"})
        self.assertEqual(env.wait_job(nid, timeout=10)["state"], "completed")
        self.assertTrue(worker.running())

    def test_scripts_reject_a_wrong_token(self):
        env = self.env
        r = env.redis
        # Two jobs of one progress step of 30 s: nothing is written to their
        # hashes meanwhile.
        ids = [self.post_job({"type": "progress",
                              "payload": {"duration": 30, "interval_ms": 30000}})
               for _ in range(2)]
        for jid in ids:
            wait_until(lambda: self.hash(jid).get("state") == b"running" and
                       "total" in self.hash(jid), 10, "job %d running" % jid, env=env)
        a, b = ids
        before = {jid: self.hash(jid) for jid in ids}
        tok = {jid: int(before[jid]["token"]) for jid in ids}
        finish = script_sha(r, "finish")
        progress = script_sha(r, "progress")
        requeue = script_sha(r, "requeue")

        def finish_call(*outcomes):
            """finish.lua (docs/redis.md): KEYS leases, dead, scheduled, stats, then
            one job hash per job; ARGV keep completed ms, keep failed ms, dead set
            cap, key prefix, then id, token, kind, result or error, retry delay ms,
            queue per job.
            outcomes: (id, token, kind, text). Returns one code per job."""
            keys = FINISH_KEYS + [harness.job_key(o[0]) for o in outcomes]
            argv = ["86400000", "604800000", "10000", "jobq:"]
            for jid, token, kind, text in outcomes:
                argv += [str(jid), str(token), kind, text, "1000", "default"]
            return r.execute("EVALSHA", finish, len(keys), *(keys + argv))

        for bad in (tok[a] + 1, tok[a] - 1, 0):
            for kind, text in (("completed", '{"forged":true}'), ("failed", "forged failure"),
                               ("fatal", "forged failure"), ("cancelled", "forged")):
                self.assertEqual(finish_call((a, bad, kind, text)), [0],
                                 "finish %s accepted token %d (current %d)"
                                 % (kind, bad, tok[a]))
            kjob = harness.job_key(a)
            self.assertEqual(r.execute("EVALSHA", progress, 1, kjob, str(bad), "7", "9"), 0)
            self.assertEqual(r.execute("EVALSHA", requeue, 5, kjob, harness.leases_key(),
                                       harness.queue_key("default"), harness.wake_key("default"),
                                       harness.queue_stats_key("default"), str(a), str(bad)), 0)
        for jid in ids:
            self.assertEqual(self.hash(jid), before[jid],
                             "a call with a wrong token changed job %d" % jid)
            sid = str(jid)
            self.assertIsNotNone(r.execute("ZSCORE", harness.leases_key(), sid), "lease released")
            self.assertIsNone(r.execute("ZSCORE", harness.dead_key(), sid))
            self.assertIsNone(r.execute("ZSCORE", harness.scheduled_key(), sid))
            self.assertEqual(env.http("GET", "/jobs/%d" % jid).json()["state"], "running")
        self.assertEqual(r.llen(harness.queue_key("default")), 0)

        # One call, a stale outcome for a and a current one for b: only b is
        # written (so the 0s above are the fence, not malformed calls).
        self.assertEqual(finish_call((a, tok[a] + 1, "completed", '{"by":"stale"}'),
                                     (b, tok[b], "completed", '{"by":"test"}')), [0, 1])
        self.assertEqual(self.hash(a), before[a])
        self.assertIsNotNone(r.execute("ZSCORE", harness.leases_key(), str(a)))
        job = env.http("GET", "/jobs/%d" % b).json()
        self.assertEqual((job["state"], job["result"]), ("completed", {"by": "test"}), job)
        self.assertIsNone(r.execute("ZSCORE", harness.leases_key(), str(b)))
        # A second acknowledgement with the same token is stale too.
        self.assertEqual(finish_call((b, tok[b], "completed", '{"by":"again"}')), [0])
        self.assertEqual(env.http("GET", "/jobs/%d" % b).json()["result"], {"by": "test"})

if __name__ == "__main__":
    harness.main()
