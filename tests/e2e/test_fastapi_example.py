#!/usr/bin/python3
"""E2E: examples/fastapi/app.py, the seed's FastAPI service with its work handed to jobq,
run by Debian's uvicorn against a live jobq (Redis, broker, a worker, the SMTP sink).
Each route is checked: the long task polled through /task-status until completed (with
"progress: i/n" on the way), both email routes delivered to the sink, the sha256 job's
result, an unknown task, a duration out of range, a refused email address, a repeated
Idempotency-Key, and the WebSocket relaying a job's events from jobq.

Needs python3-fastapi, python3-uvicorn and python3-websockets (deploy/install-deps.sh);
without them it FAILS, it does not skip."""
import asyncio
import hashlib
import json
import os
import sys
import urllib.parse

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import E2ETestCase  # noqa: E402

APP_DIR = os.path.join(harness.REPO, "examples", "fastapi")


class FastapiExampleTest(E2ETestCase):
    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_smtp()
        env.start_broker()
        env.start_worker()

    def setUp(self):
        super().setUp()
        try:
            import fastapi  # noqa: F401
            import uvicorn  # noqa: F401
            import websockets  # noqa: F401
        except ImportError as e:
            raise AssertionError("the FastAPI example needs python3-fastapi, python3-uvicorn "
                                 "and python3-websockets (deploy/install-deps.sh): %s" % e)
        self.port = harness.free_port()
        proc = self.env._spawn("uvicorn", [
            harness.PYTHON, "-m", "uvicorn", "app:app", "--app-dir", APP_DIR,
            "--host", harness.HOST, "--port", str(self.port)],
            {"JOBQ_URL": self.env.broker_url})
        self.env._wait_ready(proc, lambda: harness.port_accepts(self.port),
                             "uvicorn on port %d" % self.port)

    def app(self, method, path, headers=None):
        return harness.http_request(self.port, method, path, None, headers)

    def wait_status(self, task_id, done=("completed",), seen=None, timeout=30):
        def poll():
            r = self.app("GET", "/task-status/%d" % task_id)
            body = self.assertJSONResponse(r, 200)
            self.assertEqual(set(body), {"task_id", "status"}, body)
            if seen is not None and (not seen or seen[-1] != body["status"]):
                seen.append(body["status"])
            return body["status"] if body["status"] in done or \
                body["status"].startswith("failed") else None
        return harness.wait_until(poll, timeout, "task %d to end" % task_id, env=self.env)

    def test_routes(self):
        # the long task: pending, progress: i/n, completed
        r = self.app("POST", "/start-task?duration=3")
        body = self.assertJSONResponse(r, 200)
        self.assertEqual(body["status"], "pending", body)
        self.assertEqual(set(body), {"task_id", "status"})
        seen = []
        self.assertEqual(self.wait_status(body["task_id"], seen=seen), "completed")
        self.assertTrue(any(s.startswith("progress: ") and s.endswith("/3") for s in seen),
                        seen)
        job = self.env.http("GET", "/jobs/%d" % body["task_id"]).json()
        self.assertEqual((job["type"], job["payload"]), ("progress", {"duration": 3}), job)

        # both email routes: a message in the sink for each, sent by jobq's worker
        before = len(self.env.mails())
        ids = []
        for path, sync in (("/send-notification", False), ("/send-notification-sync", True)):
            q = urllib.parse.urlencode({"email": "seed@example.test", "content": "from %s" % path})
            body = self.assertJSONResponse(self.app("POST", "%s?%s" % (path, q)), 200)
            self.assertEqual(body["message"], "Notification sent in the background")
            self.assertEqual(set(body), {"message", "task_id"})
            self.assertEqual(self.wait_status(body["task_id"]), "completed")
            job = self.env.http("GET", "/jobs/%d" % body["task_id"]).json()
            self.assertEqual(job["payload"]["sync"], sync, job)
            ids.append(body["task_id"])
        mails = self.env.mails()[before:]
        self.assertEqual(sorted(m[2]["rcpt_tos"][0] for m in mails), ["seed@example.test"] * 2)

        # the sha256 job and its result
        body = self.assertJSONResponse(self.app("POST", "/compute-hash?data=abc&repeat=1000"),
                                       200)
        self.assertEqual(self.wait_status(body["task_id"]), "completed")
        r = self.assertJSONResponse(self.app("GET", "/task-result/%d" % body["task_id"]), 200)
        self.assertEqual(r, {"task_id": body["task_id"], "status": "completed", "result": {
            "sha256": hashlib.sha256(b"abc" * 1000).hexdigest()}})

        # an unknown task, as the seed answers it
        self.assertEqual(self.assertJSONResponse(self.app("GET", "/task-status/999999"), 200),
                         {"task_id": 999999, "status": "not_found"})
        # FastAPI's own validation, and jobq's refusal passed on
        self.assertEqual(self.app("POST", "/start-task?duration=-1").status, 422)
        r = self.app("POST", "/send-notification?email=nobody&content=x")
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.json()["detail"]["code"], "invalid_argument", r)
        # a repeated Idempotency-Key: the first task, nothing new stored
        a = self.assertJSONResponse(self.app("POST", "/start-task?duration=0",
                                             {"Idempotency-Key": "seed-k1"}), 200)
        b = self.assertJSONResponse(self.app("POST", "/start-task?duration=0",
                                             {"Idempotency-Key": "seed-k1"}), 200)
        self.assertEqual(a["task_id"], b["task_id"])

    def test_websocket_relays_jobq_events(self):
        import websockets
        task = self.assertJSONResponse(self.app("POST", "/start-task?duration=2"), 200)
        url = "ws://%s:%d/ws/client-7" % (harness.HOST, self.port)

        async def follow():
            got = []
            async with websockets.connect(url, open_timeout=10) as ws:
                await ws.send(json.dumps({"type": "subscribe", "job_id": task["task_id"]}))
                for _ in range(50):
                    msg = json.loads(await asyncio.wait_for(ws.recv(), 15))
                    got.append(msg)
                    if msg.get("type") == "event" and msg.get("event") == "completed":
                        break
                await ws.send(json.dumps({"type": "dance"}))
                got.append(json.loads(await asyncio.wait_for(ws.recv(), 15)))
            return got
        got = asyncio.run(follow())
        events = [m for m in got if m.get("type") == "event"]
        self.assertTrue(events, got)
        self.assertEqual(events[-1]["event"], "completed", got)
        self.assertEqual(events[-1]["job"], task["task_id"], got)
        self.assertTrue(any(e["data"]["status"].startswith("progress: ") for e in events), got)
        self.assertEqual(got[-1]["type"], "error", got)  # jobq's answer to an unknown type


if __name__ == "__main__":
    harness.main()
