#!/usr/bin/python3
"""E2E: a POST /jobs/bulk of unlike jobs. The broker sends a bulk to Redis in runs of
jobs that share their envelope (enqueue.lua), so a bulk that changes queue, priority,
delay, options, unique keys and payloads from job to job must still store every job
exactly as it would store it alone: the same hash fields, the same list (in order),
the scheduled set, the unique keys and the counters. Also the JSON bodies the broker
reads in one pass (common/json_mp.c): what it accepts and refuses."""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import E2ETestCase  # noqa: E402

# No worker: every job stays where the enqueue put it.
JOBS = [
    {"type": "noop", "payload": {"x": 1}},
    {"type": "noop", "payload": {"x": 2}},                       # same run as the first
    {"type": "noop"},                                             # no payload: a new run
    {"type": "noop", "queue": "rq2", "priority": 3, "payload": [1]},
    {"type": "noop", "queue": "rq2", "priority": 3, "payload": [2], "unique_key": "ru1"},
    {"type": "noop", "queue": "rq2", "priority": 3, "payload": [3], "unique_key": "ru2"},
    {"type": "noop", "delay_ms": 600000, "payload": "later"},
    {"type": "noop", "delay_ms": 600000, "payload": "later too"},
    {"type": "noop", "max_attempts": 5, "timeout_ms": 1000},
    {"type": "hash", "queue": "rq2", "payload": {"data": "x"}},  # another type, priority 0
    {"type": "noop", "payload": {"x": 3}},                        # the first shape again
]


def expected_fields(job):
    """The hash fields a job stores: defaults are left out (docs/redis.md)."""
    f = {"state", "created_at", "type"}
    if job.get("queue", "default") != "default":
        f.add("queue")
    for name, default in (("priority", 0), ("max_attempts", 3), ("timeout_ms", 0)):
        if job.get(name, default) != default:
            f.add(name)
    if "unique_key" in job:
        f.add("unique_key")
    if job.get("payload") is not None:
        f.add("payload")
    if job.get("delay_ms"):
        f.add("run_at")
    return f


class BulkRunsTest(E2ETestCase):
    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()

    def test_unlike_jobs_stored_as_alone(self):
        r = self.env.http("POST", "/jobs/bulk", JOBS)
        ids = self.assertJSONResponse(r, 201)["ids"]
        self.assertEqual(len(ids), len(JOBS))
        self.assertEqual(ids, list(range(ids[0], ids[0] + len(JOBS))))
        redis = self.env.redis
        for job, jid in zip(JOBS, ids):
            with self.subTest(job=job):
                h = redis.hgetall(harness.job_key(jid))
                self.assertEqual(set(h), expected_fields(job), h)
                self.assertEqual(h["state"], b"scheduled" if job.get("delay_ms") else b"pending")
                self.assertEqual(h["type"].decode(), job["type"])
                for name in ("queue", "priority", "max_attempts", "timeout_ms", "unique_key"):
                    if name in h:
                        self.assertEqual(h[name].decode(), str(job[name]))
                got = self.assertJSONResponse(self.env.http("GET", "/jobs/%d" % jid), 200)
                self.assertEqual(got["payload"], job.get("payload"))
                self.assertEqual(got["queue"], job.get("queue", "default"))
                self.assertEqual(got["priority"], job.get("priority", 0))
                self.assertEqual(got["max_attempts"], job.get("max_attempts", 3))
                if job.get("delay_ms"):
                    self.assertEqual(int(redis.execute("ZSCORE", harness.scheduled_key(), str(jid))),
                                     int(h["run_at"]))
        # each list holds its jobs in request order (LPUSH: the newest at the head)
        def listed(key):
            return [int(x) for x in reversed(redis.execute("LRANGE", key, 0, -1))]
        self.assertEqual(listed(harness.queue_key("default")), [ids[i] for i in (0, 1, 2, 8, 10)])
        self.assertEqual(listed(harness.queue_key("rq2", 3)), [ids[i] for i in (3, 4, 5)])
        self.assertEqual(listed(harness.queue_key("rq2")), [ids[9]])
        self.assertEqual(redis.execute("ZRANGE", harness.levels_key("rq2"), 0, -1), [b"3"])
        self.assertEqual(redis.execute("GET", harness.unique_key("ru1")), str(ids[4]).encode())
        self.assertEqual(redis.execute("GET", harness.unique_key("ru2")), str(ids[5]).encode())
        # counters: per queue, per type, in all
        self.assertEqual(redis.hgetall(harness.queue_stats_key("default"))["enqueued"], b"7")
        self.assertEqual(redis.hgetall(harness.queue_stats_key("default"))["scheduled"], b"2")
        self.assertEqual(redis.hgetall(harness.queue_stats_key("rq2"))["enqueued"], b"4")
        self.assertEqual(redis.hgetall(harness.type_stats_key("default"))["noop|enqueued"], b"7")
        self.assertEqual(redis.hgetall(harness.type_stats_key("rq2"))["noop|enqueued"], b"3")
        self.assertEqual(redis.hgetall(harness.type_stats_key("rq2"))["hash|enqueued"], b"1")
        self.assertGreaterEqual(int(redis.execute("GET", harness.ids_key())), ids[-1])
        # a held unique key in a later run refuses the whole request with its index
        before = self.env.job_keys()
        r = self.env.http("POST", "/jobs/bulk", [
            {"type": "noop"}, {"type": "progress", "payload": {"duration": 1},
                               "unique_key": "fresh"}, {"type": "noop"},
            {"type": "noop", "unique_key": "other"}, {"type": "noop", "unique_key": "ru2"}])
        body = self.assertJSONResponse(r, 409)
        self.assertEqual((body["id"], body["index"]), (ids[5], 4), body)
        self.assertEqual(self.env.job_keys(), before)
        self.assertIsNone(redis.execute("GET", harness.unique_key("fresh")))

    def test_json_bodies(self):
        # accepted: escapes, Unicode, numbers at the int64 edges, key order kept
        payload = {"s": "\u00e9\u20ac\U0001F600\n\"\\/", "big": 2 ** 63 - 1, "neg": -2 ** 63,
                   "f": 1.5e300, "z": [], "o": {"b": 1, "a": 2}, "t": True, "n": None}
        jid = self.post_job({"type": "noop", "queue": "rq3", "payload": payload})
        got = self.assertJSONResponse(self.env.http("GET", "/jobs/%d" % jid), 200)
        self.assertEqual(got["payload"], payload)
        self.assertEqual(list(got["payload"]["o"]), ["b", "a"])
        raw = b'{"type":"noop","queue":"rq3","payload":"\\ud83d\\ude00 \\u00e9"}'
        r = self.env.http("POST", "/jobs", raw, {"Content-Type": "application/json"})
        jid = self.assertJSONResponse(r, 201)["id"]
        got = self.assertJSONResponse(self.env.http("GET", "/jobs/%d" % jid), 200)
        self.assertEqual(got["payload"], "\U0001F600 \u00e9")
        # refused, nothing stored: each path and its code
        before = self.env.job_keys()
        for path, body, code in (
                ("/jobs", b'{"type":"noop","payload":{"k":1,"k":2}}', "invalid_json"),
                ("/jobs", b'{"type":"noop","payload":"\\ud800"}', "invalid_json"),
                ("/jobs", b'{"type":"noop","payload":9223372036854775808}', "invalid_json"),
                ("/jobs", b'{"type":"noop","payload":1e999}', "invalid_json"),
                ("/jobs", b'{"type":"noop"} {"type":"noop"}', "invalid_json"),
                ("/jobs", b'{"type":"noop","bogus":1}', "invalid_argument"),
                ("/jobs", b'[{"type":"noop"}]', "invalid_argument"),
                ("/jobs/bulk", b'[{"type":"noop"},{"type":"noop",}]', "invalid_json"),
                ("/jobs/bulk", b'{"type":"noop"}', "invalid_argument"),
                ("/jobs/bulk", b'[]', "invalid_argument"),
                ("/jobs/bulk", b'[{"type":"noop"},{"type":"noop","priority":10}]',
                 "invalid_argument"),
                ("/jobs/bulk", b'[{"type":"noop"},' + b'[' * 40 + b']' * 40 + b']',
                 "invalid_argument"),
                ("/jobs/bulk",
                 b'[{"type":"noop","queue":"rq3","payload":' + b'[' * 31 + b']' * 31 + b'}]', None),
                ("/jobs/bulk", b'[{"type":"noop","payload":' + b'[' * 32 + b']' * 32 + b'}]',
                 "invalid_argument")):
            with self.subTest(path=path, body=body[:80]):
                r = self.env.http("POST", path, body, {"Content-Type": "application/json"})
                if code is None:  # the deepest payload allowed
                    ids = self.assertJSONResponse(r, 201)["ids"]
                    before |= {harness.job_key(i) for i in ids}
                    continue
                err = self.assertError(r, 400, code)
                if b"priority" in body:
                    self.assertIn("job 1:", err["message"])
        self.assertEqual(self.env.job_keys(), before)


if __name__ == "__main__":
    harness.main()
