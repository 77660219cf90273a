#!/usr/bin/python3
"""E2E: GET /jobs/{id}/events (Server-Sent Events fed by Redis pub/sub): one
event per state or progress change, starting from the current state and ending
after a terminal one; several watchers; clients that leave early."""
import http.client
import json
import os
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import E2ETestCase  # noqa: E402


class EventsTest(E2ETestCase):
    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()
        env.start_worker()

    def stream(self, job_id, timeout=20, limit=200):
        """Reads the event stream to its end; returns [(event, data)]."""
        c = http.client.HTTPConnection(harness.HOST, self.env.broker_port, timeout=timeout)
        c.request("GET", "/jobs/%d/events" % job_id)
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        self.assertTrue(r.getheader("Content-Type").startswith("text/event-stream"))
        events, name, deadline = [], None, time.monotonic() + timeout
        while len(events) < limit and time.monotonic() < deadline:
            line = r.readline()  # HTTPResponse undoes the chunked encoding
            if not line:
                break  # the server ended the stream
            line = line.decode().rstrip("\n")
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                events.append((name, json.loads(line[6:])))
        c.close()
        return events

    def test_progress_stream_ends_at_completed(self):
        jid = self.env.http("POST", "/start-task?duration=2").json()["task_id"]
        events = self.stream(jid)
        self.assertTrue(events, "no events")
        names = [e for e, _ in events]
        self.assertEqual(names[-1], "completed", events)
        self.assertEqual(events[-1][1]["status"], "completed")
        seen = [d["status"] for _, d in events if d["status"].startswith("progress: ")]
        self.assertIn("progress: 2/2", seen, events)
        dones = [d["progress"]["done"] for e, d in events if e == "running"]
        self.assertEqual(dones, sorted(dones), events)
        for _, d in events:
            self.assertEqual(d["id"], jid)
        # the last event says what GET /jobs/{id} says: the final progress
        self.assertEqual(events[-1][1]["progress"], {"done": 2, "total": 2}, events)
        self.assertEqual(self.env.http("GET", "/jobs/%d" % jid).json()["progress"],
                         {"done": 2, "total": 2})
        # one "running" per start; every event numbered, in order, none twice
        starts = [d for e, d in events if e == "running" and d["progress"]["total"] == 0]
        self.assertLessEqual(len(starts), 1, events)
        seqs = [d["seq"] for _, d in events]
        self.assertEqual(seqs, sorted(set(seqs)), events)

    def test_streams_opened_while_events_fly_lose_nothing(self):
        """Streams opened at staggered moments of a job that changes every 5 ms: the
        state read at the start and the events on the pub/sub connection race, and no
        stream may lose the end or go backwards (an event that came while the state read
        was out makes the broker read again)."""
        jid = self.env.http("POST", "/jobs", {"type": "progress", "payload": {
            "duration": 2, "interval_ms": 5}}).json()["id"]
        results, threads = {}, []

        def watch(k):
            results[k] = self.stream(jid, timeout=30, limit=10000)
        for k in range(30):
            t = threading.Thread(target=watch, args=(k,))
            t.start()
            threads.append(t)
            time.sleep(0.05)
        for t in threads:
            t.join(40)
        self.assertEqual(len(results), 30)
        for k, events in results.items():
            self.assertTrue(events, "stream %d: no events" % k)
            self.assertEqual(events[-1][0], "completed", "stream %d: %r" % (k, events[-3:]))
            dones = [d["progress"]["done"] for e, d in events if e == "running"]
            self.assertEqual(dones, sorted(dones), "stream %d went backwards" % k)
            # a step is (done, total): a stream opened before the job started sees its
            # start (0 of 0) and then its first report (0 of N), two steps with done 0
            # (the flake "stream 0 repeated a step")
            steps = [(d["progress"]["done"], d["progress"]["total"]) for e, d in events
                     if e == "running"]
            self.assertEqual(len(steps), len(set(steps)), "stream %d repeated a step: %r"
                             % (k, steps[:5]))

    def test_a_failure_text_that_is_not_utf8_still_ends_the_stream(self):
        """An error may be any bytes (a program's stderr) or cut inside a character:
        the terminal event still comes, with the bad bytes replaced."""
        jid = self.env.http("POST", "/jobs", {"type": "noop", "queue": "nobody"}).json()["id"]
        got = {}
        t = threading.Thread(target=lambda: got.update(events=self.stream(jid, timeout=15)))
        t.start()
        harness.wait_until(lambda: self.env.redis.execute(
            "PUBSUB", "NUMSUB", harness.job_key(jid) + ":events")[1] == 1, 10,
            "the broker to subscribe", env=self.env)
        bad = "failed ".encode() + "é".encode() * 300 + b"\xff\xfe"
        self.env.redis.execute("HSET", harness.job_key(jid), "state", "failed", "error",
                               bad[len("failed "):])
        self.env.redis.execute("PUBLISH", harness.job_key(jid) + ":events", bad)
        t.join(20)
        events = got.get("events")
        self.assertTrue(events, "no events")
        self.assertEqual(events[-1][0], "failed", events[-2:])
        self.assertTrue(events[-1][1]["status"].startswith("failed: éé"), events[-1])
        self.assertIn("\ufffd", events[-1][1]["status"])

    def test_finished_job_gives_one_event(self):
        jid = self.env.http("POST", "/jobs", {"type": "noop"}).json()["id"]
        self.env.wait_job(jid, timeout=15)
        events = self.stream(jid)
        self.assertEqual([e for e, _ in events], ["completed"], events)

    def test_errors(self):
        r = self.env.http("GET", "/jobs/987654/events")
        self.assertEqual(self.assertJSONResponse(r, 404)["error"]["code"], "not_found")
        r = self.env.http("GET", "/jobs/abc/events")
        self.assertEqual(self.assertJSONResponse(r, 400)["error"]["code"], "invalid_argument")

    def test_two_watchers_and_a_cancel(self):
        jid = self.env.http("POST", "/start-task?duration=30").json()["task_id"]
        out = [None, None]

        def watch(i):
            out[i] = self.stream(jid, timeout=30)

        threads = [threading.Thread(target=watch, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        time.sleep(1.5)
        self.assertEqual(self.env.http("DELETE", "/jobs/%d" % jid).status, 202)
        for t in threads:
            t.join(30)
        for events in out:
            self.assertTrue(events)
            self.assertEqual(events[-1][0], "cancelled", events)

    def test_client_leaving_early(self):
        jid = self.env.http("POST", "/start-task?duration=3").json()["task_id"]
        c = http.client.HTTPConnection(harness.HOST, self.env.broker_port, timeout=10)
        c.request("GET", "/jobs/%d/events" % jid)
        r = c.getresponse()
        r.readline()
        c.close()  # gone mid-stream
        self.assertEqual(self.env.http("GET", "/healthz").status, 200)
        # the job goes on, and a new watcher still sees it end
        events = self.stream(jid)
        self.assertEqual(events[-1][0], "completed", events)
        self.env.check_alive()


if __name__ == "__main__":
    harness.main()
