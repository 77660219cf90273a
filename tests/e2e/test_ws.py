#!/usr/bin/python3
"""E2E: GET /ws, the WebSocket endpoint, driven by a real client (Debian's
python3-websockets): job and queue subscriptions fed by Redis pub/sub, bad
messages and handshakes, many clients, clients that vanish or read nothing,
pings, the close handshake and the limits."""
import asyncio
import http.client
import json
import os
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import E2ETestCase  # noqa: E402

try:
    import websockets  # noqa: E402
except ImportError:  # pragma: no cover
    sys.stderr.write("test_ws needs python3-websockets (deploy/install-deps.sh)\n")
    raise

WAIT = 15.0  # seconds for any one expected message


def raw_handshake(port, path="/ws", timeout=10):
    """A WebSocket opened over a bare socket (for clients that misbehave)."""
    return harness.ws_raw_open(port, path, host="localhost", timeout=timeout)


class WsTest(E2ETestCase):
    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker(extra_args=["--ws-origin", "https://dash.example.com"])
        env.start_worker(extra_args=["--queues", "default,ws-a,ws-b,ws-c,ws-d,ws-e,ws-seq"])

    # -- helpers -------------------------------------------------------------

    def url(self, path="/ws"):
        return "ws://%s:%d%s" % (harness.HOST, self.env.broker_port, path)

    def run_async(self, coro, timeout=90):
        return asyncio.run(asyncio.wait_for(coro, timeout))

    def connect(self, path="/ws", **kw):
        kw.setdefault("ping_interval", None)
        kw.setdefault("open_timeout", 10)
        return websockets.connect(self.url(path), **kw)

    async def recv(self, ws, timeout=WAIT):
        text = await asyncio.wait_for(ws.recv(), timeout)
        self.assertIsInstance(text, str, "the broker sends text messages")
        return json.loads(text)

    async def until(self, ws, pred, what, timeout=WAIT, limit=500):
        """Messages up to and including the first for which pred holds."""
        got = []
        deadline = time.monotonic() + timeout
        while len(got) < limit:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                got.append(await self.recv(ws, left))
            except asyncio.TimeoutError:
                break
            if pred(got[-1]):
                return got
        self.fail("no %s within %.0f s; got %r" % (what, timeout, got))

    async def send(self, ws, msg):
        await ws.send(msg if isinstance(msg, str) else json.dumps(msg))

    async def subscribe(self, ws, **targets):
        await self.send(ws, {"subscribe": targets})
        want = [("job", j) for j in targets.get("jobs", [])] + \
               [("queue", q) for q in targets.get("queues", [])]
        acks = set()
        for _ in range(len(want)):
            m = await self.recv(ws)
            self.assertEqual(m.get("type"), "subscribed", m)
            acks.add(("job", m["job"]) if "job" in m else ("queue", m["queue"]))
        self.assertEqual(acks, set(want))

    async def assert_quiet(self, ws):
        """Nothing is pending for this client: an application ping's pong comes next."""
        await self.send(ws, {"type": "ping"})
        self.assertEqual(await self.recv(ws), {"type": "pong"})

    def post(self, body):
        return self.post_job(body)

    def assertWsError(self, m, code):
        self.assertEqual(m.get("type"), "error", m)
        self.assertEqual(m["error"]["code"], code, m)
        self.assertTrue(m["error"]["message"], m)

    def raw_handshake(self, path="/ws"):
        return raw_handshake(self.env.broker_port, path)

    @staticmethod
    def frame(text, opcode=1):
        """One masked client frame."""
        data = text.encode() if isinstance(text, str) else text
        mask = os.urandom(4)
        n = len(data)
        if n < 126:
            head = bytes([0x80 | opcode, 0x80 | n])
        elif n < 65536:
            head = bytes([0x80 | opcode, 0x80 | 126]) + n.to_bytes(2, "big")
        else:
            head = bytes([0x80 | opcode, 0x80 | 127]) + n.to_bytes(8, "big")
        return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))

    # -- handshake -----------------------------------------------------------

    def test_accept_key_and_101(self):
        key = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455, section 1.3
        s = socket.create_connection((harness.HOST, self.env.broker_port), timeout=10)
        try:
            # a first message right behind the request, in the same write
            s.sendall(("GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                       "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                       "Sec-WebSocket-Version: 13\r\n\r\n" % key).encode() +
                      self.frame(json.dumps({"type": "ping"})))
            pong = b"\x81\x0f" + b'{"type":"pong"}'
            data = b""
            for _ in range(100):
                if b"\r\n\r\n" in data and data.endswith(pong):
                    break
                chunk = s.recv(4096)
                self.assertTrue(chunk, data)
                data += chunk
        finally:
            s.close()
        head, _, rest = data.partition(b"\r\n\r\n")
        self.assertEqual(rest, pong)
        lines = head.decode().split("\r\n")
        self.assertEqual(lines[0], "HTTP/1.1 101 Switching Protocols")
        headers = {k.lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:])}
        self.assertEqual(headers["sec-websocket-accept"], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        self.assertEqual(headers["upgrade"].lower(), "websocket")
        self.assertEqual(headers["connection"].lower(), "upgrade")

    def test_bad_handshakes(self):
        good = {"Upgrade": "websocket", "Connection": "Upgrade",
                "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
        cases = [
            ("plain GET", {}, 400, "invalid_argument"),
            ("no key", {k: v for k, v in good.items() if k != "Sec-WebSocket-Key"}, 400,
             "invalid_argument"),
            ("short key", dict(good, **{"Sec-WebSocket-Key": "c2hvcnQ="}), 400,
             "invalid_argument"),
            ("no Connection: Upgrade", dict(good, Connection="keep-alive"), 400,
             "invalid_argument"),
            ("no Upgrade", {k: v for k, v in good.items() if k != "Upgrade"}, 400,
             "invalid_argument"),
            ("version 8", dict(good, **{"Sec-WebSocket-Version": "8"}), 426, "upgrade_required"),
            ("no version", {k: v for k, v in good.items() if k != "Sec-WebSocket-Version"}, 426,
             "upgrade_required"),
        ]
        for name, headers, status, code in cases:
            with self.subTest(name):
                r = self.env.http("GET", "/ws", headers=headers)
                self.assertError(r, status, code)
                if status == 426:
                    self.assertEqual(r.headers.get("sec-websocket-version"), "13", r)
        r = self.env.http("GET", "/ws/bad%20id", headers=good)
        self.assertError(r, 400, "invalid_argument")
        self.assertError(self.env.http("POST", "/ws", headers=good), 405, "method_not_allowed")
        self.assertEqual(self.env.http("GET", "/healthz").status, 200)

    def test_origin_checked(self):
        good = {"Upgrade": "websocket", "Connection": "Upgrade",
                "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
        own = "http://%s:%d" % (harness.HOST, self.env.broker_port)
        # a page of another site: refused before the upgrade, the connection stays HTTP
        for origin in ("http://evil.example", "null", own.replace(
                str(self.env.broker_port), str(self.env.broker_port + 1))):
            with self.subTest(origin):
                r = self.env.http("GET", "/ws", headers=dict(good, Origin=origin))
                self.assertError(r, 403, "forbidden")
                self.assertIn("--allow-origin", r.json()["error"]["message"])
        # two Origin headers: refused
        conn = http.client.HTTPConnection(harness.HOST, self.env.broker_port, timeout=10)
        try:
            conn.putrequest("GET", "/ws")
            for k, v in good.items():
                conn.putheader(k, v)
            conn.putheader("Origin", own)
            conn.putheader("Origin", "http://evil.example")
            conn.endheaders()
            r = conn.getresponse()
            self.assertEqual(r.status, 400)
            self.assertEqual(json.loads(r.read())["error"]["code"], "bad_request")
        finally:
            conn.close()
        # the broker's own pages, and the origin --ws-origin (the old name of
        # --allow-origin) names, are let in
        async def go(origin):
            async with websockets.connect(self.url(), origin=origin) as ws:
                await self.send(ws, {"type": "ping"})
                self.assertEqual((await self.recv(ws))["type"], "pong")
        for origin in (own, "https://dash.example.com"):
            with self.subTest(origin):
                self.run_async(go(origin))

    # -- jobs ----------------------------------------------------------------

    def test_job_events_in_order(self):
        self.assertEqual(self.env.http("POST", "/queues/ws-a/pause").status, 200)
        try:
            jid = self.post({"type": "progress", "queue": "ws-a",
                             "payload": {"duration": 1, "interval_ms": 250}})

            async def go():
                async with self.connect() as ws:
                    await self.send(ws, {"type": "subscribe", "job_id": jid})
                    ack = await self.recv(ws)
                    self.assertEqual(ack, {"type": "subscribed", "job": jid})
                    first = await self.recv(ws)  # the current state comes first
                    self.assertEqual((first["type"], first["job"], first["event"]),
                                     ("event", jid, "pending"), first)
                    self.assertEqual(first["data"]["status"], "pending")
                    self.assertEqual(
                        self.env.http("POST", "/queues/ws-a/resume").status, 200)
                    got = await self.until(ws, lambda m: m.get("event") == "completed",
                                           "completed")
                    await self.assert_quiet(ws)  # the subscription ended with the job
                    return [first] + got
            events = self.run_async(go())
        finally:
            self.env.http("POST", "/queues/ws-a/resume")
        for m in events:
            self.assertEqual(m["type"], "event", m)
            self.assertEqual(m["job"], jid, m)
            self.assertEqual(m["data"]["id"], jid, m)
            self.assertEqual(m["data"]["state"], m["event"], m)
            self.assertNotIn("queue", m, m)
        names = [m["event"] for m in events]
        self.assertEqual(names[0], "pending")
        self.assertEqual(names[1], "running", names)
        self.assertEqual(names[-1], "completed", names)
        self.assertEqual(set(names[1:-1]), {"running"}, names)
        progress = [m["data"]["status"] for m in events if
                    m["data"]["status"].startswith("progress: ")]
        self.assertEqual(progress, ["progress: %d/4" % i for i in range(1, 5)], events)
        dones = [m["data"]["progress"]["done"] for m in events if m["event"] == "running"]
        self.assertEqual(dones, sorted(dones), events)
        # one "running" per start: the start itself, then only progress steps
        starts = [m for m in events if m["event"] == "running"
                  and m["data"]["progress"]["total"] == 0]
        self.assertEqual(len(starts), 1, events)
        # every event numbered, in order, none twice
        seqs = [m["data"]["seq"] for m in events]
        self.assertEqual(seqs, sorted(set(seqs)), events)
        # the final event carries the final progress, as GET /jobs/{id} shows it
        job = self.env.http("GET", "/jobs/%d" % jid).json()
        self.assertEqual(job["progress"], {"done": 4, "total": 4}, job)
        self.assertEqual(events[-1]["data"],
                         {"id": jid, "state": "completed", "status": "completed",
                          "progress": {"done": 4, "total": 4}, "seq": seqs[-1]})

    def test_finished_and_unknown_jobs(self):
        jid = self.post({"type": "noop"})
        self.env.wait_job(jid)

        async def go():
            async with self.connect() as ws:
                await self.send(ws, {"type": "subscribe", "jobs": [jid, 987654321]})
                got = [await self.recv(ws) for _ in range(3)]
                await self.assert_quiet(ws)
                return got
        got = self.run_async(go())
        # an unknown job gets its error only, never "subscribed" first
        acks = [m for m in got if m["type"] == "subscribed"]
        self.assertEqual([m["job"] for m in acks], [jid], got)
        done = [m for m in got if m["type"] == "event"]
        self.assertEqual([(m["job"], m["event"]) for m in done], [(jid, "completed")], got)
        errors = [m for m in got if m["type"] == "error"]
        self.assertEqual(len(errors), 1, got)
        self.assertWsError(errors[0], "not_found")
        self.assertEqual(errors[0]["job"], 987654321)

    def test_two_connections_agree_on_the_order(self):
        """One connection follows the job, another its queue: every event of the job
        carries its number, the same on both, so a client can merge the two."""
        self.assertEqual(self.env.http("POST", "/queues/ws-seq/pause").status, 200)
        try:
            jid = self.post({"type": "progress", "queue": "ws-seq",
                             "payload": {"duration": 1, "interval_ms": 250}})

            async def go():
                async with self.connect() as a, self.connect() as b:
                    await self.subscribe(a, jobs=[jid])
                    first = await self.recv(a)  # its current state: pending, seq 0
                    await self.subscribe(b, queues=["ws-seq"])
                    self.assertEqual(
                        self.env.http("POST", "/queues/ws-seq/resume").status, 200)
                    done = lambda m: m.get("job") == jid and m.get("event") == "completed"
                    on_a = [first] + await self.until(a, done, "completed on the job's")
                    on_b = await self.until(b, done, "completed on the queue's")
                    return on_a, on_b
            on_a, on_b = self.run_async(go())
        finally:
            self.env.http("POST", "/queues/ws-seq/resume")
        self.assertEqual(on_a[0]["data"]["seq"], 0, on_a)
        by_seq_a = {m["data"]["seq"]: m["data"] for m in on_a}
        by_seq_b = {m["data"]["seq"]: m["data"] for m in on_b if m.get("job") == jid}
        self.assertEqual(len(by_seq_a), len(on_a), "a number came twice: %r" % on_a)
        self.assertEqual([m["data"]["seq"] for m in on_a], sorted(by_seq_a), on_a)
        # the queue's connection hears every change from its subscription on: the same
        # events under the same numbers
        for seq, data in by_seq_b.items():
            if seq in by_seq_a:
                self.assertEqual(data, by_seq_a[seq])
        self.assertEqual(max(by_seq_a), max(by_seq_b))
        self.assertEqual(set(by_seq_b) - set(by_seq_a), set(),
                         "the job's connection missed events: %r %r" % (on_a, on_b))

    # -- queues --------------------------------------------------------------

    def test_queue_events_only_of_that_queue(self):
        async def go():
            async with self.connect() as ws:
                await self.subscribe(ws, queues=["ws-b"])
                other = self.post({"type": "noop", "queue": "ws-c"})
                self.env.wait_job(other)
                mine = self.post({"type": "noop", "queue": "ws-b"})
                got = await self.until(
                    ws, lambda m: m.get("job") == mine and m.get("event") == "completed",
                    "job %d completed" % mine)
                await self.assert_quiet(ws)
                return other, mine, got
        other, mine, got = self.run_async(go())
        self.assertNotIn(other, [m.get("job") for m in got], got)
        self.assertEqual([m["event"] for m in got], ["pending", "running", "completed"], got)
        for m in got:
            self.assertEqual((m["type"], m["job"], m["queue"]), ("event", mine, "ws-b"), m)
            self.assertEqual(m["data"]["id"], mine)

    def test_queue_sees_every_transition(self):
        """The queue's channel carries what each script publishes: enqueue (pending,
        scheduled), promote, fetch, finish (completed, failed), cancel, dead retry."""
        def events_of(got, jid):
            return [m["event"] for m in got if m.get("job") == jid]

        async def go():
            async with self.connect() as ws:
                await self.subscribe(ws, queues=["ws-e"])
                r = self.env.http("POST", "/jobs", {"type": "noop", "queue": "ws-e",
                                                    "delay_ms": 300})
                delayed = self.assertJSONResponse(r, 201)["id"]
                got = await self.until(ws, lambda m: m.get("job") == delayed and
                                       m.get("event") == "completed", "completed")
                self.assertEqual(events_of(got, delayed),
                                 ["scheduled", "pending", "running", "completed"], got)

                self.assertEqual(self.env.http("POST", "/queues/ws-e/pause").status, 200)
                try:
                    held = self.post({"type": "noop", "queue": "ws-e"})
                    self.assertEqual(self.env.http("DELETE", "/jobs/%d" % held).status, 200)
                finally:
                    self.env.http("POST", "/queues/ws-e/resume")
                got = await self.until(ws, lambda m: m.get("job") == held and
                                       m.get("event") == "cancelled", "cancelled")
                self.assertEqual(events_of(got, held), ["pending", "cancelled"], got)

                bad = self.post({"type": "exec", "payload": {"command": "no-such-type"}, "queue": "ws-e", "max_attempts": 1})
                got = await self.until(ws, lambda m: m.get("job") == bad and
                                       m.get("event") == "failed", "failed")
                self.assertEqual(events_of(got, bad), ["pending", "running", "failed"], got)
                self.assertIn("no-such-type", got[-1]["data"]["status"])
                self.assertEqual(self.env.http("POST", "/dead/%d/retry" % bad).status, 200)
                got = await self.until(ws, lambda m: m.get("job") == bad and
                                       m.get("event") == "failed", "failed again")
                self.assertEqual(events_of(got, bad), ["pending", "running", "failed"], got)
                await self.assert_quiet(ws)
        self.run_async(go())

    def test_unsubscribe_stops_events(self):
        async def go():
            async with self.connect() as ws:
                await self.subscribe(ws, queues=["ws-b"])
                await self.send(ws, {"type": "unsubscribe", "queue": "ws-b"})
                self.assertEqual(await self.recv(ws), {"type": "unsubscribed", "queue": "ws-b"})
                jid = self.post({"type": "noop", "queue": "ws-b"})
                self.env.wait_job(jid)
                time.sleep(0.2)  # an event wrongly sent would be on its way by now
                await self.assert_quiet(ws)
                # and the other form, for a job
                r = self.env.http("POST", "/jobs",
                                  {"type": "noop", "queue": "ws-b", "delay_ms": 60000})
                jid2 = self.assertJSONResponse(r, 201)["id"]
                await self.subscribe(ws, jobs=[jid2])
                first = await self.recv(ws)
                self.assertEqual((first["job"], first["event"]), (jid2, "scheduled"), first)
                await self.send(ws, {"unsubscribe": {"jobs": [jid2]}})
                self.assertEqual(await self.recv(ws), {"type": "unsubscribed", "job": jid2})
                self.assertEqual(self.env.http("DELETE", "/jobs/%d" % jid2).status, 200)
                time.sleep(0.2)
                await self.assert_quiet(ws)
        self.run_async(go())

    # -- bad messages --------------------------------------------------------

    def test_bad_messages_keep_the_connection(self):
        bad = [
            ("not json", "invalid_json"),
            ("[1, 2]", "invalid_json"),
            ({"type": "dance"}, "invalid_argument"),
            ({"type": 7}, "invalid_argument"),
            ({"hello": 1}, "invalid_argument"),
            ({"type": "subscribe"}, "invalid_argument"),
            ({"type": "subscribe", "job_id": -3}, "invalid_argument"),
            ({"type": "subscribe", "job_id": "12"}, "invalid_argument"),
            ({"type": "subscribe", "jobs": 12}, "invalid_argument"),
            ({"type": "subscribe", "queue": "bad name!"}, "invalid_argument"),
            ({"type": "subscribe", "queue": "q", "colour": "red"}, "invalid_argument"),
            ({"subscribe": ["q"]}, "invalid_argument"),
            ({"subscribe": {"queues": ["ok", ""]}}, "invalid_argument"),
            ({"type": "subscribe", "jobs": list(range(1, 1003))}, "invalid_argument"),
        ]

        async def go():
            async with self.connect() as ws:
                for msg, code in bad:
                    await self.send(ws, msg)
                    m = await self.recv(ws)
                    self.assertWsError(m, code)
                # nothing was taken by the bad ones ("ok" of the mixed message included),
                # and the connection still works
                await self.send(ws, {"type": "unsubscribe", "queue": "ok"})
                self.assertEqual(await self.recv(ws), {"type": "unsubscribed", "queue": "ok"})
                await self.subscribe(ws, queues=["ws-d"])
                jid = self.post({"type": "noop", "queue": "ws-d"})
                await self.until(ws, lambda m: m.get("job") == jid and
                                 m.get("event") == "completed", "completed")
        self.run_async(go())

    def test_subscription_limit(self):
        async def go():
            async with self.connect() as ws:
                names = ["lim-%d" % i for i in range(1000)]
                for i in range(0, 1000, 250):
                    await self.subscribe(ws, queues=names[i:i + 250])
                await self.send(ws, {"type": "subscribe", "queue": "one-more"})
                self.assertWsError(await self.recv(ws), "limit_exceeded")
                await self.send(ws, {"type": "subscribe", "queue": "lim-7"})  # already held
                self.assertEqual(await self.recv(ws), {"type": "subscribed", "queue": "lim-7"})
                await self.send(ws, {"type": "unsubscribe", "queue": "lim-7"})
                await self.recv(ws)
                await self.subscribe(ws, queues=["one-more"])
        self.run_async(go())

    def test_binary_and_oversized_messages_close(self):
        async def go():
            async with self.connect() as ws:
                await ws.send(b"\x00\x01")
                await asyncio.wait_for(ws.wait_closed(), WAIT)
                self.assertEqual(ws.close_code, 1003)
            async with self.connect(max_size=None) as ws:
                await ws.send(json.dumps({"type": "ping", "pad": "x" * 70000}))
                await asyncio.wait_for(ws.wait_closed(), WAIT)
                self.assertEqual(ws.close_code, 1009)
        self.run_async(go())
        self.assertEqual(self.env.http("GET", "/healthz").status, 200)

    # -- connection life -----------------------------------------------------

    def test_ping_close_and_seed_path(self):
        async def go():
            async with self.connect("/ws/client-7") as ws:
                pong = await ws.ping(b"hi")
                await asyncio.wait_for(pong, WAIT)
                await self.assert_quiet(ws)
                await ws.close()
                self.assertEqual(ws.close_code, 1000)
        self.run_async(go())

    def test_many_clients(self):
        n = 50

        async def client(i, ready, go_on):
            async with self.connect() as ws:
                await self.subscribe(ws, queues=["ws-c"])
                ready.append(i)
                await go_on.wait()
                ids = await ids_box
                seen = set()
                await self.until(ws, lambda m: m.get("event") == "completed" and
                                 seen.add(m["job"]) is None and set(ids) <= seen,
                                 "the 3 jobs completed", timeout=30)
                return seen

        async def go():
            nonlocal ids_box
            ready, go_on = [], asyncio.Event()
            loop = asyncio.get_running_loop()
            ids_box = loop.create_future()
            tasks = [asyncio.create_task(client(i, ready, go_on)) for i in range(n)]
            for _ in range(600):
                if len(ready) == n or any(t.done() for t in tasks):
                    break
                await asyncio.sleep(0.05)
            self.assertEqual(len(ready), n)
            ids = [self.post({"type": "noop", "queue": "ws-c"}) for _ in range(3)]
            ids_box.set_result(ids)
            go_on.set()
            return ids, await asyncio.gather(*tasks)
        ids_box = None
        ids, seen = self.run_async(go())
        for s in seen:
            self.assertTrue(set(ids) <= s, (ids, s))

    def test_abrupt_disconnects_do_not_disturb_others(self):
        async def go():
            async with self.connect() as ws:
                await self.subscribe(ws, queues=["ws-b"])
                # a client that vanishes without a close frame, subscribed to the same queue
                async with self.connect() as gone:
                    await self.subscribe(gone, queues=["ws-b"])
                    gone.transport.abort()
                # one that leaves in the middle of a frame
                s = self.raw_handshake()
                s.sendall(self.frame(json.dumps({"type": "subscribe", "queue": "ws-b"}))[:9])
                s.close()
                # one that sends garbage instead of frames (unmasked, bad opcode)
                s = self.raw_handshake()
                s.sendall(b"\x8f\x05hello")
                s.settimeout(WAIT)
                data = b""
                for _ in range(100):
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                s.close()
                self.assertEqual(data[:1], b"\x88", "a close frame: %r" % data)
                self.assertEqual(int.from_bytes(data[2:4], "big"), 1002, data)
                jid = self.post({"type": "noop", "queue": "ws-b"})
                await self.until(ws, lambda m: m.get("job") == jid and
                                 m.get("event") == "completed", "completed")
        self.run_async(go())
        self.env.check_alive()
        self.assertEqual(self.env.http("GET", "/healthz").status, 200)

    def test_slow_client_is_dropped(self):
        """A client that subscribes and then reads nothing is dropped once its unread
        events pass the limit; the others go on."""
        s = self.raw_handshake()
        s.sendall(self.frame(json.dumps({"type": "subscribe", "queue": "ws-slow"})))
        time.sleep(0.3)  # subscribed (its acknowledgement stays unread)

        async def go():
            async with self.connect() as ws:
                await self.subscribe(ws, queues=["ws-d"])
                log = self.env.broker_proc.log_text
                for _ in range(12):  # each bulk: 5,000 "pending" events of ~190 bytes
                    r = self.env.http("POST", "/jobs/bulk",
                                      [{"type": "noop", "queue": "ws-slow"}] * 5000)
                    self.assertEqual(r.status, 201, r)
                    if "dropped: " in log():
                        break
                harness.wait_until(lambda: "unread" in log(), 10, "the slow client dropped",
                                   env=self.env)
                jid = self.post({"type": "noop", "queue": "ws-d"})
                await self.until(ws, lambda m: m.get("job") == jid and
                                 m.get("event") == "completed", "completed")
        try:
            self.run_async(go())
            # the dropped client finds its connection closed once it reads what got through
            # (the kernel still delivers what it had taken before the drop)
            s.settimeout(WAIT)
            total = 0
            for _ in range(100000):
                try:
                    chunk = s.recv(65536)
                except ConnectionResetError:
                    break
                if not chunk:
                    break
                total += len(chunk)
            self.assertLess(total, 16 * 1024 * 1024)
        finally:
            s.close()
        self.assertEqual(self.env.http("GET", "/healthz").status, 200)

    def test_invalid_utf8_closes(self):
        s = self.raw_handshake()
        try:
            s.sendall(self.frame(b'{"type": "ping", "x": "\xff\xfe"}'))
            s.settimeout(WAIT)
            data = b""
            for _ in range(100):
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        finally:
            s.close()
        self.assertEqual(data[:1], b"\x88", "a close frame: %r" % data)
        self.assertEqual(int.from_bytes(data[2:4], "big"), 1007, data)


class WsLifecycleTest(harness.FreshEnvTestCase):
    """Each test with its own processes: the broker stopping with WebSockets open (each
    gets a close frame 1001; the broker exits 0 within the grace period and, under ASan,
    without a leak report), and Redis going away under open subscriptions."""

    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()

    def test_sigterm_closes_websockets(self):
        url = "ws://%s:%d/ws" % (harness.HOST, self.env.broker_port)

        async def go():
            clients = [await websockets.connect(url, ping_interval=None) for _ in range(5)]
            for i, ws in enumerate(clients):
                await ws.send(json.dumps({"type": "subscribe", "queues": ["q%d" % i, "all"],
                                          "job_id": 12345}))
            for ws in clients:
                for _ in range(3):  # two acknowledgements and a not_found
                    json.loads(await asyncio.wait_for(ws.recv(), WAIT))
            status = await asyncio.get_running_loop().run_in_executor(
                None, self.env.broker_proc.stop)
            self.assertEqual(status, 0)
            for ws in clients:
                await asyncio.wait_for(ws.wait_closed(), WAIT)
                self.assertEqual(ws.close_code, 1001)
        asyncio.run(asyncio.wait_for(go(), 60))

    def test_pings_and_idle_clients(self):
        """The broker pings; a client that answers stays, one silent for --ws-idle-ms is
        dropped."""
        self.env.broker_proc.stop()
        self.env.start_broker(extra_args=["--ws-ping-ms", "200", "--ws-idle-ms", "1000"])
        url = "ws://%s:%d/ws" % (harness.HOST, self.env.broker_port)
        raw = raw_handshake(self.env.broker_port)  # answers nothing, not even pings
        raw.settimeout(WAIT)

        async def go():
            async with websockets.connect(url, ping_interval=None) as ws:  # answers pings
                start = time.monotonic()
                data = b""
                for _ in range(1000):
                    chunk = await asyncio.get_running_loop().run_in_executor(
                        None, raw.recv, 4096)
                    if not chunk:
                        break
                    data += chunk
                waited = time.monotonic() - start
                self.assertTrue(data.startswith(b"\x89\x00"), data)  # pinged, then closed
                self.assertGreater(waited, 0.5)
                self.assertLess(waited, 5)
                await ws.send(json.dumps({"type": "ping"}))
                self.assertEqual(json.loads(await asyncio.wait_for(ws.recv(), WAIT)),
                                 {"type": "pong"})
        try:
            asyncio.run(asyncio.wait_for(go(), 60))
        finally:
            raw.close()
        self.assertIn("dropped: silent for", self.env.broker_proc.log_text())

    def test_requeue_and_reap_events(self):
        """A queue's followers see a running job go back to its queue when its worker
        stops (requeue.lua) and when its worker dies (reap.lua)."""
        first = self.env.start_worker(extra_args=["--grace-ms", "100"])
        url = "ws://%s:%d/ws" % (harness.HOST, self.env.broker_port)

        last = [None]

        async def next_event(ws, jid):
            """The job's next state (progress reports repeat "running": skipped)."""
            for _ in range(50):
                m = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
                if m.get("job") == jid and m["event"] != last[0]:
                    last[0] = m["event"]
                    return m["event"]
            self.fail("no new state of job %d" % jid)

        async def go():
            async with websockets.connect(url, ping_interval=None) as ws:
                await ws.send(json.dumps({"type": "subscribe", "queue": "default"}))
                self.assertEqual(json.loads(await asyncio.wait_for(ws.recv(), WAIT)),
                                 {"type": "subscribed", "queue": "default"})
                jid = self.post_job({"type": "progress", "payload": {"duration": 60,
                                                                     "interval_ms": 60000}})
                self.assertEqual(await next_event(ws, jid), "pending")
                self.assertEqual(await next_event(ws, jid), "running")
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(None, first.stop)  # graceful: requeued
                self.assertEqual(await next_event(ws, jid), "pending")
                # processes start on this thread: they die with the thread that started
                # them (PR_SET_PDEATHSIG), and the executor's threads come and go
                second = self.env.start_worker()
                self.assertEqual(await next_event(ws, jid), "running")

                def beat_with_job():  # the reaper knows a dead worker's jobs from its beats
                    ws_ = self.env.http("GET", "/workers").json()["workers"]
                    return any(w["running"] >= 1 for w in ws_)
                await loop.run_in_executor(None, lambda: harness.wait_until(
                    beat_with_job, 10, "a heartbeat naming the job", env=self.env))
                await loop.run_in_executor(None, second.kill9)
                self.env.start_worker()  # reaps the job, and runs it
                self.assertEqual(await next_event(ws, jid), "pending")
                self.assertEqual(await next_event(ws, jid), "running")
                self.assertEqual(self.env.http("DELETE", "/jobs/%d" % jid).status, 202)
                self.assertEqual(await next_event(ws, jid), "cancelled")
        asyncio.run(asyncio.wait_for(go(), 90))

    def test_redis_restart(self):
        """Redis goes away: every subscription ends with an error message, the connection
        stays, and once Redis is back subscribing works again."""
        self.env.start_worker()
        url = "ws://%s:%d/ws" % (harness.HOST, self.env.broker_port)

        async def recv(ws):
            return json.loads(await asyncio.wait_for(ws.recv(), WAIT))

        async def go():
            async with websockets.connect(url, ping_interval=None) as ws:
                r = self.env.http("POST", "/jobs", {"type": "noop", "delay_ms": 600000})
                jid = self.assertJSONResponse(r, 201)["id"]
                await ws.send(json.dumps({"type": "subscribe", "queue": "default",
                                          "job_id": jid}))
                got = [await recv(ws) for _ in range(3)]  # two acks and the job's state
                self.assertEqual(sorted(m["type"] for m in got),
                                 ["event", "subscribed", "subscribed"], got)
                await asyncio.get_running_loop().run_in_executor(None, self.env.stop_redis)
                errors = []
                for _ in range(50):
                    m = await recv(ws)
                    if m["type"] == "error":
                        errors.append(m)
                    if len(errors) == 2:
                        break
                self.assertEqual(sorted((m["error"]["code"], "job" in m) for m in errors),
                                 [("redis_unavailable", False), ("redis_unavailable", True)],
                                 errors)
                await ws.send(json.dumps({"type": "ping"}))
                self.assertEqual(await recv(ws), {"type": "pong"})
                await ws.send(json.dumps({"type": "subscribe", "queue": "default"}))
                m = await recv(ws)
                self.assertEqual((m["type"], m["error"]["code"]), ("error", "redis_unavailable"))
                self.env.start_redis(port=self.env.redis_port)  # on this thread (PDEATHSIG)
                harness.wait_until(lambda: self.env.http("GET", "/healthz").status == 200, 15,
                                   "the broker back on Redis", env=self.env)
                for _ in range(100):  # the subscriber connection comes back on its own
                    await ws.send(json.dumps({"type": "subscribe", "queue": "default"}))
                    m = await recv(ws)
                    if m["type"] == "subscribed":
                        break
                    await asyncio.sleep(0.1)
                self.assertEqual(m, {"type": "subscribed", "queue": "default"})
                jid2 = self.post_job({"type": "noop"})
                for _ in range(50):
                    m = await recv(ws)
                    if m.get("job") == jid2 and m.get("event") == "completed":
                        break
                self.assertEqual((m.get("job"), m.get("event")), (jid2, "completed"), m)
        asyncio.run(asyncio.wait_for(go(), 90))


if __name__ == "__main__":
    harness.main()
