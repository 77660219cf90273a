#!/usr/bin/python3
"""E2E: garbage in Redis never crashes a worker. An id with no job hash is
dropped (and logged); a job hash with an undecodable payload, a payload of an
unknown version, or no type fails that one job with the reason; the worker
keeps running and later jobs complete."""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import E2ETestCase  # noqa: E402


class GarbageTest(E2ETestCase):
    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()
        env.start_worker()

    def plant(self, job_id, fields):
        """Writes a job hash by hand and queues its id, as a buggy client might."""
        r = self.env.redis
        args = ["HSET", harness.job_key(job_id)]
        for k, v in fields.items():
            args += [k, v]
        r.execute(*args)
        r.execute("LPUSH", harness.queue_key("default"), str(job_id))
        r.execute("LPUSH", harness.wake_key("default"), "1")

    def assertFailedWith(self, job_id, words):
        job = self.env.wait_job(job_id, timeout=15)
        self.assertEqual(job["state"], "failed", job)
        for w in words:
            self.assertIn(w, job["error"], job)
        # a reason like this never gets better with retries: one attempt, then dead
        self.assertEqual(job["attempts"], 1, job)
        dead = self.env.http("GET", "/dead").json()
        self.assertIn(job_id, [d["id"] for d in dead["jobs"]], dead)

    def assertWorkerHealthy(self):
        jid = self.post_job({"type": "noop"})
        job = self.env.wait_job(jid, timeout=15)
        self.assertEqual(job["state"], "completed", job)
        self.env.check_alive()

    def test_id_without_hash_is_dropped_and_logged(self):
        self.env.redis.execute("LPUSH", harness.queue_key("default"), "987654321")
        self.env.redis.execute("LPUSH", harness.wake_key("default"), "1")
        harness.wait_until(
            lambda: "dropped id '987654321'" in self.env.workers[0].log_text(), 10,
            "the worker to log the dropped id", env=self.env)
        self.assertEqual(self.env.redis.llen(harness.queue_key("default")), 0)
        self.assertWorkerHealthy()

    def test_undecodable_payload(self):
        self.plant(900001, {"state": "pending", "type": "hash", "created_at": "1",
                            "payload": b"\xc1\xff\x00"})
        self.assertFailedWith(900001, ["undecodable payload"])
        self.assertWorkerHealthy()

    def test_unknown_payload_version(self):
        self.plant(900002, {"state": "pending", "type": "noop", "created_at": "1",
                            "payload": b"\x92\x02\xc0"})
        self.assertFailedWith(900002, ["unsupported payload version 2"])
        self.assertWorkerHealthy()

    def test_hash_without_type(self):
        self.plant(900003, {"state": "pending", "created_at": "1", "payload": b"\x92\x01\xc0"})
        self.assertFailedWith(900003, ["no type"])
        self.assertWorkerHealthy()

    def test_payload_of_the_wrong_shape(self):
        # valid msgpack, but the hash job needs a map with a string 'data'
        self.plant(900004, {"state": "pending", "type": "hash", "created_at": "1",
                            "payload": b"\x92\x01\x93\x01\x02\x03"})
        self.assertFailedWith(900004, ["'data' must be a string"])
        self.assertWorkerHealthy()


if __name__ == "__main__":
    harness.main()
