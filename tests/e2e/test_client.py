#!/usr/bin/python3
"""E2E: libjobq-client (through examples/client_example) next to a real broker and
worker: a job it enqueues is stored exactly as the broker stores the same request
(every hash field but created_at), shares Idempotency-Keys with the broker, is run
by the worker, and reads back as GET /jobs/{id} shows it."""
import hashlib
import json
import os
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import E2ETestCase  # noqa: E402


def example_bin():
    return harness._binary("JOBQ_CLIENT_EXAMPLE_BIN", "examples/client_example")


class ClientTest(E2ETestCase):
    @classmethod
    def setUpEnv(cls, env):
        harness.require_executable(example_bin(), "client_example")
        env.start_redis()
        env.start_broker()
        # serves "default" only: jobs on other queues stay as they were stored
        env.start_worker(extra_args=["--queues", "default"])

    def example(self, *args, timeout=30):
        argv = [example_bin(), "--redis-url", self.env.redis_url] + list(args)
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout,
                           env=harness._clean_env())
        p.out = p.stdout.decode()
        p.err = p.stderr.decode()
        p.lines = p.out.splitlines()
        return p

    def enqueue(self, job, *args):
        p = self.example("--no-wait", *args, json.dumps(job))
        self.assertEqual(p.returncode, 0, (p.out, p.err))
        self.assertTrue(p.lines and p.lines[0].startswith("id "), p.out)
        return int(p.lines[0].split()[1])

    def stored(self, job_id):
        h = self.env.redis.hgetall(harness.job_key(job_id))
        self.assertIn("created_at", h)
        del h["created_at"]
        return h

    def test_same_hash_as_broker(self):
        jobs = [
            {"type": "noop", "queue": "cmp"},
            {"type": "hash", "queue": "cmp", "payload": {"data": "abc", "repeat": 3},
             "priority": 7, "max_attempts": 5, "timeout_ms": 2500},
            {"type": "noop", "queue": "cmp", "payload": [1, -2, 3.25, None, True, "\u00e9\u4e2d",
                                                           {"deep": [[{"k": []}]]}, {}],
             "max_attempts": 3, "priority": 0},
            {"type": "noop", "queue": "cmp", "payload": "plain string"},
            {"type": "noop", "queue": "cmp", "delay_ms": 600000},
            {"type": "noop", "queue": "cmp", "run_at": "2099-01-01T00:00:00.000Z"},
        ]
        tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        for job, trace in [(j, None) for j in jobs] + [(jobs[1], tp)]:
            with self.subTest(job=job, traceparent=trace):
                r = self.env.http("POST", "/jobs", job, {"traceparent": trace} if trace else None)
                by_broker = self.assertJSONResponse(r, 201)["id"]
                by_client = self.enqueue(job, *(["--traceparent", trace] if trace else []))
                self.assertGreater(by_client, by_broker)
                a, b = self.stored(by_broker), self.stored(by_client)
                if "delay_ms" in job:  # due = Redis' clock at enqueue + delay
                    self.assertAlmostEqual(int(a.pop("run_at")), int(b.pop("run_at")),
                                           delta=5000)
                self.assertEqual(a, b)
                self.assertEqual(
                    self.env.redis.execute("ZSCORE", harness.scheduled_key(), str(by_client)) is None,
                    "delay_ms" not in job and "run_at" not in job)
        queued = [int(x) for x in self.env.redis.execute("LRANGE", harness.queue_key("cmp"), 0, -1)]
        self.assertEqual(len(queued), 6, queued)  # 3 immediate priority-0 jobs, twice
        # the priority 7 job (twice, once with a traceparent) waits in its level's list
        high = [int(x) for x in self.env.redis.execute("LRANGE", harness.queue_key("cmp", 7), 0, -1)]
        self.assertEqual(len(high), 4, high)
        stats = self.env.redis.hgetall(harness.queue_stats_key("cmp"))
        self.assertEqual(stats["enqueued"], b"14")
        self.assertEqual(self.env.redis.hgetall(harness.job_key(by_client))["traceparent"],
                         tp.encode())

    def test_idempotency_shared_with_broker(self):
        r = self.env.http("POST", "/jobs", {"type": "noop", "queue": "held"},
                          {"Idempotency-Key": "shared-1"})
        first = self.assertJSONResponse(r, 201)["id"]
        p = self.example("--no-wait", "--idempotency-key", "shared-1", '{"type": "noop"}')
        self.assertEqual(p.returncode, 0, p.err)
        self.assertEqual(p.lines[0], "id %d (stored earlier under this idempotency key)" % first)

        second = self.enqueue({"type": "noop", "queue": "held"}, "--idempotency-key", "shared-2")
        r = self.env.http("POST", "/jobs", {"type": "noop"}, {"Idempotency-Key": "shared-2"})
        self.assertEqual(self.assertJSONResponse(r, 200), {"id": second, "state": "pending"})

    def test_worker_runs_client_job(self):
        p = self.example('{"type": "hash", "payload": {"data": "abc", "repeat": 1000}}')
        self.assertEqual(p.returncode, 0, (p.out, p.err))
        job_id = int(p.lines[0].split()[1])
        self.assertEqual(p.lines[-2], "status completed", p.out)
        job = json.loads(p.lines[-1])
        self.assertJobShape(job)
        self.assertEqual(job["state"], "completed")
        self.assertEqual(job["result"],
                         {"sha256": hashlib.sha256(b"abc" * 1000).hexdigest()})
        # the client's JSON is the broker's GET /jobs/{id}, field for field
        self.assertEqual(job, self.assertJSONResponse(self.env.http("GET", "/jobs/%d" % job_id),
                                                      200))

    def test_progress_and_failure_seen(self):
        p = self.example('{"type": "progress", "payload": {"duration": 2}}')
        self.assertEqual(p.returncode, 0, (p.out, p.err))
        statuses = [line[len("status "):] for line in p.lines if line.startswith("status ")]
        self.assertIn("progress: 1/2", statuses, p.out)
        self.assertEqual(statuses[-1], "completed", p.out)

        p = self.example('{"type": "exec", "payload": {"command": "no_such_type"}, "max_attempts": 1}')
        self.assertEqual(p.returncode, 1, (p.out, p.err))
        self.assertTrue(p.lines[-2].startswith("status failed: "), p.out)
        self.assertIn("no_such_type", p.lines[-2])
        self.assertEqual(json.loads(p.lines[-1])["state"], "failed")

    def test_bad_input_stores_nothing(self):
        before = self.env.redis.keys("jobq:*")
        ids = self.env.redis.execute("GET", harness.ids_key())
        for arg, why in (("not json", "not valid JSON"),
                         ('{"type": "noop", "colour": "red"}', "unknown field 'colour'"),
                         ('{"queue": "x"}', "'type' is required"),
                         ('{"type": "sendmail"}', "unknown job type 'sendmail'"),
                         ('{"type": "hash"}', "'data' must be a string")):
            p = self.example(arg)
            self.assertEqual(p.returncode, 2, (arg, p.out, p.err))
            self.assertIn(why, p.err)
            self.assertEqual(p.out, "")
        self.assertEqual(self.env.redis.keys("jobq:*"), before)
        self.assertEqual(self.env.redis.execute("GET", harness.ids_key()), ids)

    def test_help_and_unreachable_redis(self):
        p = subprocess.run([example_bin(), "--help"], stdout=subprocess.PIPE, timeout=10)
        self.assertEqual(p.returncode, 0)
        self.assertIn(b"usage: client_example", p.stdout)
        p = subprocess.run([example_bin(), "--redis-url",
                            "redis://127.0.0.1:%d" % harness.free_port(), '{"type": "noop"}'],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
        self.assertEqual(p.returncode, 3)
        self.assertIn(b"cannot connect to redis", p.stderr)


if __name__ == "__main__":
    harness.main()
