#!/usr/bin/python3
"""E2E: the cluster key layout (docs/cluster.md, docs/redis.md).

- A job's hash and a batch's hash carry their id's bucket (id mod 16384) as their hash
  tag, so any broker finds them from the id alone and Redis Cluster puts them in that
  bucket's slot: checked for every job and batch a load over several queues stored, with
  the slots computed here (CRC16-XMODEM) and, for every key jobq wrote, by a
  cluster-enabled redis-server's own CLUSTER KEYSLOT.
- A broker or a worker that finds data of the earlier layout under its prefix (its id
  counter, <p>ids) refuses to run, says what to do, and changes nothing."""
import os
import sys
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import E2ETestCase, Env, Redis, wait_until  # noqa: E402

IDLE = "idle"  # no worker serves it: its jobs stay pending
QUEUES = ["default", "emails", "reports.daily", "tenant-7", IDLE]


class LayoutTest(E2ETestCase):
    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()
        env.start_worker(extra_args=["--queues", ",".join(QUEUES[:4])])

    def cluster_keyslots(self, keys):
        """CLUSTER KEYSLOT of each key, asked of a cluster-enabled redis-server of its own
        (a plain one refuses the command): Redis' slot function, not ours."""
        env = Env("LayoutTest-cluster-node")
        try:
            cdir = os.path.join(env.tmp, "node")
            os.makedirs(cdir)

            def start():
                env.redis_proc = env._spawn("redis", [
                    harness.redis_server_bin(), "--port", str(env.redis_port),
                    "--bind", harness.HOST, "--save", "", "--appendonly", "no",
                    "--cluster-enabled", "yes", "--cluster-port", str(harness.free_port()),
                    "--cluster-config-file",
                    os.path.join(cdir, "nodes.conf"), "--dir", cdir, "--daemonize", "no"])
                env._wait_ready(env.redis_proc, Redis(env.redis_port, timeout=0.5).ping,
                                "cluster-enabled redis-server")
                return env.redis_proc
            harness._on_free_port(start, None, lambda p: setattr(env, "redis_port", p))
            r = Redis(env.redis_port)
            return r.pipeline([["CLUSTER", "KEYSLOT", k] for k in keys])
        finally:
            env.close()

    def test_crc16_is_redis_cluster_slot_function(self):
        # the reference value of the Redis Cluster specification, and its tag rules
        self.assertEqual(harness.crc16(b"123456789"), 0x31C3)
        keys = ["123456789", "{user1000}.following", "foo{}{bar}", "foo{{bar}}zap",
                "foo{bar}{zap}", "jobq:{77}:job:81997", "{}", "a{b"]
        self.assertEqual([harness.key_slot(k) for k in keys], self.cluster_keyslots(keys))

    def test_job_and_batch_keys_carry_their_ids_bucket(self):
        jobs = []  # (id, queue)
        for q in QUEUES * 3:
            jobs.append((self.post_job({"type": "noop", "queue": q}), q))
        bulk = [q for q in QUEUES for _ in range(20)]
        r = self.env.http("POST", "/jobs/bulk", [{"type": "noop", "queue": q} for q in bulk])
        self.assertEqual(r.status, 201, r)
        jobs += list(zip(r.json()["ids"], bulk))
        b = self.env.http("POST", "/batches", {
            "jobs": [{"type": "noop", "queue": "emails"}] * 3,
            "callback": {"type": "noop", "queue": "reports.daily"}})
        self.assertEqual(b.status, 201, b)
        bid = b.json()["id"]
        jobs += [(j, "emails") for j in b.json()["ids"]]
        ids = [j for j, _ in jobs]

        def served_done():
            states = self.env.redis.pipeline([["HGET", harness.job_key(j), "state"]
                                              for j, q in jobs if q != IDLE])
            return all(s == b"completed" for s in states)
        wait_until(served_done, 30, "the jobs of the served queues to complete", env=self.env)
        cb = self.env.redis.execute("HGET", harness.batch_key(bid), "callback_id")
        self.assertIsNotNone(cb, "the batch's callback did not fire")
        ids.append(int(cb))
        keys = sorted(self.env.redis.keys(harness.PREFIX + "*"))
        job_keys = [k for k in keys if harness.JOB_KEY_RE.match(k)]
        self.assertGreaterEqual(len(job_keys), len(ids))
        for jid in ids:
            k = harness.job_key(jid)
            self.assertIn(k, keys)
            self.assertEqual(harness.key_slot(k), harness.key_slot("{%d}" % (jid % 16384)), k)
        for k in job_keys:
            jid = int(harness.JOB_KEY_RE.match(k).group(1))
            self.assertEqual(k, harness.job_key(jid), "a job hash not named from its id")
        bk = harness.batch_key(bid)
        self.assertIn(bk, keys)
        self.assertEqual(harness.key_slot(bk), harness.key_slot("{%d}" % (bid % 16384)))
        # our slot function is Redis' on every key jobq wrote
        self.assertEqual([harness.key_slot(k) for k in keys], self.cluster_keyslots(keys))
        # GET /task-status/{id} still finds a job by its id alone
        r = self.env.http("GET", "/task-status/%d" % ids[0])
        self.assertEqual(r.status, 200, r)


class OldLayoutTest(unittest.TestCase):
    """Keys of the earlier layout under the prefix: both programs refuse them."""

    OLD = [["SET", "jobq:ids", "2"],
           ["HSET", "jobq:job:1", "type", "noop", "state", "pending", "created_at", "1"],
           ["HSET", "jobq:job:2", "type", "noop", "state", "running", "token", "1"],
           ["LPUSH", "jobq:q:default", "1"],
           ["LPUSH", "jobq:wake:default", "1"],
           ["ZADD", "jobq:leases", "1", "2"],
           ["SADD", "jobq:queues", "default"]]

    def setUp(self):
        self.env = Env("OldLayoutTest")
        self.env.start_redis()
        self.env.redis.pipeline(self.OLD)

    def tearDown(self):
        self.env.close()

    def snapshot(self):
        r = self.env.redis
        keys = sorted(r.keys("*"))
        return keys, r.pipeline([["DUMP", k] for k in keys])

    def assertRefuses(self, start, what):
        try:
            start()
        except AssertionError:
            pass  # it exited before it was ready, or at once: looked at below
        p = self.env.procs[-1]
        try:
            wait_until(lambda: p.popen.poll() is not None, 10, "%s to refuse the old layout" % what)
        finally:
            p.expected_exit = True
        self.assertEqual(p.popen.returncode, 1, p.log_tail())
        log = p.log_text()
        self.assertIn("refusing to run: found 'jobq:ids'", log)
        self.assertIn("earlier key layout", log)
        self.assertIn("empty prefix (--prefix) or database", log)
        self.assertIn("docs/redis.md, Upgrading", log)

    def test_broker_and_worker_refuse_and_change_nothing(self):
        before = self.snapshot()
        self.assertRefuses(self.env.start_broker, "jobq-broker")
        self.assertRefuses(self.env.start_worker, "jobq-worker")
        time.sleep(0.5)  # a worker that ran would have reaped or taken a job by now
        self.assertEqual(self.snapshot(), before)

    def test_another_prefix_is_an_empty_one(self):
        p = self.env.start_broker(extra_args=["--prefix", "new:"])
        w = self.env.start_worker(extra_args=["--prefix", "new:"])
        r = self.env.http("POST", "/jobs", {"type": "noop"})
        self.assertEqual(r.status, 201, r)
        jid = r.json()["id"]
        self.env.wait_job(jid, ("completed",))
        self.assertIsNone(p.popen.poll())
        self.assertIsNone(w.popen.poll())
        self.assertEqual(self.env.redis.execute("LRANGE", "jobq:q:default", 0, -1), [b"1"])


if __name__ == "__main__":
    harness.main()
