#!/usr/bin/python3
"""E2E: per-job priority (0..9) within a queue.

* With no worker, a mix of priorities is enqueued; GET /queues counts every
  level; then one worker with concurrency 1 (so every fetch takes one job)
  starts them highest first, FIFO within a level (the order of its log).
* A job keeps its level wherever it goes back to a queue: after a delay
  (promote), a failed attempt (retry via scheduled), a dead-retry, a worker
  killed with -9 (reap) and a SIGTERM (requeue). Each is checked in Redis,
  with no worker serving the queue: the id sits in the list of its level.
* Cancelling a pending priority job takes it out of its level.
* 400 for a priority outside 0..9.
"""
import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import E2ETestCase, wait_until  # noqa: E402

FAST = ["--heartbeat-ms", "200", "--lease-ms", "2000", "--grace-ms", "200",
        "--log-level", "debug"]
DONE = re.compile(r"job (\d+) \(noop, queue (\S+)\) completed")


def level_key(queue, prio):
    return harness.queue_key(queue, prio)


class PriorityTest(E2ETestCase):
    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()
        # serves only a queue nobody uses: it promotes and reaps for everyone
        env.start_worker(extra_args=FAST + ["--queues", "elsewhere"])

    def bulk(self, jobs):
        r = self.env.http("POST", "/jobs/bulk", jobs)
        return self.assertJSONResponse(r, 201)["ids"]

    def ids_in(self, queue, prio):
        return [int(x) for x in self.env.redis.execute("LRANGE", level_key(queue, prio), 0, -1)]

    def levels(self, queue):
        return [int(x) for x in self.env.redis.execute("ZRANGE", harness.levels_key(queue), 0, -1)]

    def queue(self, name):
        return self.assertJSONResponse(self.env.http("GET", "/queues/%s" % name), 200)

    def wait_in_level(self, queue, prio, jid, what):
        wait_until(lambda: jid in self.ids_in(queue, prio), 20,
                   "job %d in %s (%s)" % (jid, level_key(queue, prio), what), env=self.env)
        job = self.assertJSONResponse(self.env.http("GET", "/jobs/%d" % jid), 200)
        self.assertEqual((job["state"], job["priority"]), ("pending", prio), job)

    def test_start_order(self):
        q = "prio_order"
        prios = [0, 5, 9, 0, 1, 5, 9, 0, 3, 9, 1, 0]
        ids = self.bulk([{"type": "noop", "queue": q, "priority": p} for p in prios])
        ids.append(self.post_job({"type": "noop", "queue": q, "priority": 5}))
        prios.append(5)
        # nothing runs yet: the depth counts every level
        self.assertEqual(self.queue(q)["pending"], len(ids))
        self.assertEqual(self.levels(q), [1, 3, 5, 9])
        listed = [x for x in self.assertJSONResponse(self.env.http("GET", "/queues"),
                                                     200)["queues"] if x["name"] == q]
        self.assertEqual(listed[0]["pending"], len(ids), listed)

        w = self.env.start_worker(extra_args=FAST + ["--queues", q, "--concurrency", "1"])
        wait_until(lambda: len([m for m in DONE.findall(w.log_text()) if m[1] == q]) >= len(ids),
                   30, "%d completions" % len(ids), env=self.env)
        order = [int(i) for i, qq in DONE.findall(w.log_text()) if qq == q]
        want = [i for _, _, i in sorted((-p, n, i) for n, (p, i) in enumerate(zip(prios, ids)))]
        self.assertEqual(order, want, "priorities %r" % dict(zip(ids, prios)))
        # every level was emptied, and left the index
        self.assertEqual(self.levels(q), [])
        self.assertEqual(self.queue(q)["pending"], 0)
        w.stop()

    def test_delay_keeps_priority(self):
        q = "prio_delay"
        r = self.env.http("POST", "/jobs", {"type": "noop", "queue": q, "priority": 8,
                                            "delay_ms": 300})
        jid = self.assertJSONResponse(r, 201)["id"]
        self.wait_in_level(q, 8, jid, "promoted")
        self.assertEqual(self.ids_in(q, 0), [])
        self.assertEqual(self.queue(q)["pending"], 1)

    def test_retry_keeps_priority(self):
        q = "prio_retry"
        closed = "smtp://%s:%d" % (harness.HOST, harness.free_port())
        w = self.env.start_worker(smtp_url=closed, extra_args=FAST + [
            "--queues", q, "--retry-base-ms", "2000", "--smtp-timeout-ms", "2000"])
        jid = self.post_job({"type": "email", "queue": q, "priority": 4, "max_attempts": 3,
                             "payload": {"to": "a@example.test", "subject": "s", "body": "b"}})
        self.env.wait_job(jid, states=("scheduled",), timeout=15)
        w.stop()  # the retry is promoted by the other worker, into level 4
        self.wait_in_level(q, 4, jid, "retry promoted")

    def test_dead_retry_keeps_priority(self):
        q = "prio_dead"
        w = self.env.start_worker(extra_args=FAST + ["--queues", q])
        jid = self.post_job({"type": "exec", "payload": {"command": "no_such_type"}, "queue": q, "priority": 6})
        self.assertEqual(self.env.wait_job(jid)["state"], "failed")
        w.stop()
        r = self.env.http("POST", "/dead/%d/retry" % jid)
        self.assertJSONResponse(r, 200)
        self.wait_in_level(q, 6, jid, "retried from dead")

    def test_reap_keeps_priority(self):
        q = "prio_reap"
        w = self.env.start_worker(extra_args=FAST + ["--queues", q])
        jid = self.post_job({"type": "progress", "queue": q, "priority": 5,
                             "payload": {"duration": 30}})
        self.env.wait_job(jid, states=("running",), timeout=10)
        w.kill9()
        self.wait_in_level(q, 5, jid, "recovered by the reaper")

    def test_requeue_keeps_priority(self):
        q = "prio_requeue"
        w = self.env.start_worker(extra_args=FAST + ["--queues", q])
        jid = self.post_job({"type": "progress", "queue": q, "priority": 3,
                             "payload": {"duration": 30}})
        self.env.wait_job(jid, states=("running",), timeout=10)
        self.assertEqual(w.stop(), 0)
        self.wait_in_level(q, 3, jid, "requeued at shutdown")
        job = self.assertJSONResponse(self.env.http("GET", "/jobs/%d" % jid), 200)
        self.assertEqual(job["attempts"], 0, job)

    def test_cancel_pending_priority_job(self):
        q = "prio_cancel"
        ids = self.bulk([{"type": "noop", "queue": q, "priority": 7},
                         {"type": "noop", "queue": q, "priority": 7},
                         {"type": "noop", "queue": q, "priority": 2}])
        r = self.env.http("DELETE", "/jobs/%d" % ids[0])
        self.assertEqual(self.assertJSONResponse(r, 200)["state"], "cancelled")
        self.assertEqual(self.ids_in(q, 7), [ids[1]])
        self.assertEqual(self.queue(q)["pending"], 2)
        r = self.env.http("DELETE", "/jobs/%d" % ids[1])
        self.assertJSONResponse(r, 200)
        # its level is empty: gone from the index too
        self.assertEqual(self.levels(q), [2])
        self.assertEqual(self.env.redis.execute("EXISTS", level_key(q, 7)), 0)
        r = self.env.http("DELETE", "/jobs/%d" % ids[2])
        self.assertJSONResponse(r, 200)
        self.assertEqual(self.levels(q), [])
        self.assertEqual(self.queue(q)["pending"], 0)

    def test_priority_out_of_range(self):
        before = self.env.job_keys()
        for bad in (10, -1, "x", 1.5, None, 1000):
            r = self.env.http("POST", "/jobs", {"type": "noop", "priority": bad})
            err = self.assertError(r, 400, "invalid_argument")
            self.assertIn("priority", err["message"])
        r = self.env.http("POST", "/jobs/bulk", [{"type": "noop"},
                                                 {"type": "noop", "priority": 10}])
        self.assertIn("job 1", self.assertError(r, 400, "invalid_argument")["message"])
        self.assertEqual(self.env.job_keys(), before)


if __name__ == "__main__":
    harness.main()
