#!/usr/bin/python3
"""E2E: group commit. Single-job requests (POST /jobs, POST /start-task) that the
broker reads in one turn of its loop are stored by one enqueue script call. The
broker is stopped (SIGSTOP) while requests are written on many connections, so
that it reads them all in one turn when it continues (SIGCONT). Then: every
request gets its own answer and id, every job is stored exactly as asked (queue,
priority, delay, payload, traceparent), and Redis ran far fewer enqueue calls
than there were jobs. Requests that the script may refuse on their own
(Idempotency-Key, unique_key) are not grouped, so one of them never fails the
others. If the grouped call is refused (an id already taken), every request of
the group gets 503, nothing is overwritten, and the next requests succeed."""
import json
import os
import signal
import socket
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import E2ETestCase, is_int  # noqa: E402

IDLE = "gc_idle"  # no worker: jobs stay as stored
TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def request_bytes(method, path, body=None, headers=None):
    data = b"" if body is None else json.dumps(body).encode()
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: 127.0.0.1",
             "Content-Length: %d" % len(data)]
    if body is not None:
        lines.append("Content-Type: application/json")
    for k, v in (headers or {}).items():
        lines.append("%s: %s" % (k, v))
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


def read_response(sock):
    """(status, parsed JSON body) of one HTTP/1.1 response with Content-Length."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError("connection closed before the response: %r" % buf)
        buf += chunk
    head, body = buf.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == "content-length":
            length = int(v.strip())
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError("connection closed mid-body")
        body += chunk
    return status, json.loads(body[:length].decode()) if length else None


class GroupCommitTest(E2ETestCase):
    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()

    def evalsha_calls(self):
        info = self.env.redis.execute("INFO", "commandstats").decode()
        for line in info.splitlines():
            if line.startswith("cmdstat_evalsha:"):
                return int(line.split("calls=")[1].split(",")[0])
        return 0

    def burst(self, requests):
        """Writes each request on its own connection while the broker is stopped, lets it
        go on, and returns [(status, body)] in request order."""
        socks = []
        try:
            for _ in requests:
                s = socket.create_connection(("127.0.0.1", self.env.broker_port), timeout=10)
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                socks.append(s)
            pid = self.env.broker_proc.pid
            os.kill(pid, signal.SIGSTOP)
            try:
                for s, req in zip(socks, requests):
                    s.sendall(request_bytes(*req))
            finally:
                os.kill(pid, signal.SIGCONT)
            return [read_response(s) for s in socks]
        finally:
            for s in socks:
                s.close()

    def test_burst_stored_in_one_call_each_job_as_asked(self):
        reqs, want = [], []
        for i in range(40):
            body = {"type": "noop", "queue": IDLE, "payload": {"i": i, "s": "x" * i}}
            if i % 5 == 1:
                body["priority"] = 7
            if i % 5 == 2:
                body["delay_ms"] = 60000
            if i % 5 == 3:
                body["queue"] = IDLE + "_b"
            headers = {"traceparent": TRACE} if i % 4 == 0 else None
            reqs.append(("POST", "/jobs", body, headers))
            want.append((body, headers))
        reqs.append(("POST", "/start-task?duration=2", None, None))
        before = self.evalsha_calls()
        answers = self.burst(reqs)
        calls = self.evalsha_calls() - before
        ids = []
        for (status, got), (body, headers) in zip(answers[:-1], want):
            self.assertEqual(status, 201, got)
            self.assertTrue(is_int(got["id"]), got)
            self.assertEqual(got["state"], "scheduled" if "delay_ms" in body else "pending")
            ids.append(got["id"])
            job = self.assertJSONResponse(self.env.http("GET", "/jobs/%d" % got["id"]), 200)
            self.assertEqual(job["type"], "noop", job)
            self.assertEqual(job["queue"], body["queue"], job)
            self.assertEqual(job["payload"], body["payload"], job)
            self.assertEqual(job["priority"], body.get("priority", 0), job)
            self.assertEqual(job["state"], got["state"], job)
            if headers:
                self.assertEqual(job.get("traceparent"), TRACE, job)
        status, task = answers[-1]
        self.assertEqual(status, 200, task)
        self.assertEqual(task["status"], "pending", task)
        ids.append(task["task_id"])
        self.assertEqual(len(set(ids)), len(ids), ids)
        # the queues hold exactly the pending ones, each once
        r = self.env.redis
        listed = [int(x) for x in r.execute("LRANGE", harness.queue_key(IDLE), 0, -1)]
        listed += [int(x) for x in r.execute("LRANGE", harness.queue_key(IDLE, 7), 0, -1)]
        listed += [int(x) for x in r.execute("LRANGE", harness.queue_key(IDLE + "_b"), 0, -1)]
        pending = [ids[i] for i in range(40) if i % 5 != 2]
        self.assertEqual(sorted(listed), sorted(pending))
        # 41 jobs; one turn of the loop reads them all: a handful of calls at most (a
        # periodic-schedule scan may land in between), never one per job
        self.assertLessEqual(calls, 5, "%d enqueue calls for 41 jobs" % calls)

    def test_requests_that_may_be_refused_alone_are_not_grouped(self):
        holder = self.post_job({"type": "noop", "queue": IDLE, "unique_key": "gc-held"})
        reqs = []
        for i in range(20):
            reqs.append(("POST", "/jobs", {"type": "noop", "queue": IDLE, "payload": i}, None))
        reqs.insert(5, ("POST", "/jobs", {"type": "noop", "queue": IDLE,
                                          "unique_key": "gc-held"}, None))
        reqs.insert(10, ("POST", "/jobs", {"type": "noop", "queue": IDLE},
                         {"Idempotency-Key": "gc-once"}))
        reqs.insert(15, ("POST", "/jobs", {"type": "noop", "queue": IDLE},
                         {"Idempotency-Key": "gc-once"}))
        answers = self.burst(reqs)
        statuses = [s for s, _ in answers]
        self.assertEqual(answers[5][0], 409, answers[5])
        self.assertEqual(answers[5][1]["id"], holder)
        # the second use of the key answers the first job
        self.assertIn(answers[10][0], (200, 201), answers[10])
        self.assertIn(answers[15][0], (200, 201), answers[15])
        self.assertEqual(answers[10][1]["id"], answers[15][1]["id"])
        others = [a for i, a in enumerate(answers) if i not in (5, 10, 15)]
        self.assertEqual([s for s, _ in others], [201] * 20, statuses)
        self.assertEqual(len({b["id"] for _, b in others}), 20)

    def test_refused_group_answers_503_overwrites_nothing(self):
        first = self.post_job({"type": "noop", "queue": IDLE})
        r = self.env.redis
        # the next ids this broker hands out are taken by hashes stored by someone else
        for k in range(first + 1, first + 31):
            r.execute("HSET", harness.job_key(k), "state", "sentinel")
        reqs = [("POST", "/jobs", {"type": "noop", "queue": IDLE, "payload": i}, None)
                for i in range(30)]
        answers = self.burst(reqs)
        self.assertEqual([s for s, _ in answers], [503] * 30, answers)
        for _, body in answers:
            self.assertEqual(body["error"]["code"], "redis_unavailable", body)
        for k in range(first + 1, first + 31):
            self.assertEqual(r.hgetall(harness.job_key(k)), {"state": b"sentinel"})
        # the broker goes on: the ids after the taken ones are free
        later = self.post_job({"type": "noop", "queue": IDLE})
        self.assertGreater(later, first + 30)


if __name__ == "__main__":
    harness.main()
