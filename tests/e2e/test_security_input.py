#!/usr/bin/python3
"""E2E: strict input (docs/security.md, issue 15 item 7), each found by an adversarial run
against a real broker: a NUL in a query value, impossible calendar dates, the HTTP/2
preface, msgpack bodies JSON would refuse, malformed WebSocket control frames, and the cap
on WebSocket subscriptions. (A redirect to a --http-deny address: test_job_http.py,
HttpDenyTest; a Host with a space: test_security_browser.py.) Each refusal leaves Redis
as it was."""
import json
import os
import socket
import struct
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import E2ETestCase  # noqa: E402


def mp_str(s):
    b = s.encode() if isinstance(s, str) else s
    assert len(b) < 32
    return bytes([0xa0 | len(b)]) + b


def mp_map(pairs):
    assert len(pairs) < 16
    return bytes([0x80 | len(pairs)]) + b"".join(k + v for k, v in pairs)


def ws_frame(op, payload, fin=True, mask=True, rsv=0, len16=False):
    b0 = (0x80 if fin else 0) | rsv | op
    m = os.urandom(4)
    n = len(payload)
    if len16 or n > 125:
        head = bytes([b0, (0x80 if mask else 0) | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, (0x80 if mask else 0) | n])
    if not mask:
        return head + payload
    return head + m + bytes(c ^ m[i % 4] for i, c in enumerate(payload))


class StrictInputTest(E2ETestCase):

    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker(extra_args=["--ws-max-subs", "3"])

    def snapshot(self):
        return sorted(self.env.redis.keys("*"))

    def test_nul_in_a_query_value(self):
        """/send-notification?email=a@b.c%00x sent to a@b.c before (the value was cut)."""
        before = self.snapshot()
        for path in ("/send-notification?email=a@b.example%00x&content=hi",
                     "/send-notification-sync?email=a@b.example&content=hi%00there",
                     "/start-task?duration=1%00",
                     "/start-task?dur%00ation=1"):
            with self.subTest(path):
                err = self.assertError(self.env.http("POST", path), 400, "invalid_argument")
                self.assertIn("NUL", err["message"])
        for path in ("/jobs?state=failed%00", "/dead?limit=1%00"):
            with self.subTest(path):
                self.assertError(self.env.http("GET", path), 400, "invalid_argument")
        self.assertEqual(self.snapshot(), before)
        # %2500 is a literal "%00" text, not a NUL: accepted as the content it is
        r = self.env.http("POST", "/send-notification?email=a@b.example&content=50%2500")
        self.assertEqual(r.status, 200, r)

    def test_impossible_dates_refused(self):
        """run_at 2027-02-30 was moved to March 2 before."""
        before = self.snapshot()
        for when in ("2027-02-30T00:00:00Z", "2027-02-29T12:00:00Z", "2027-04-31T00:00:00Z",
                     "2027-01-01T24:00:00Z", "2027-01-01T23:59:60Z", "2027-1-01T00:00:00Z"):
            with self.subTest(when):
                err = self.assertError(self.post_raw({"type": "noop", "run_at": when}), 400,
                                       "invalid_argument")
                self.assertIn("run_at", err["message"])
        self.assertEqual(self.snapshot(), before)
        r = self.post_raw({"type": "noop", "run_at": "2028-02-29T12:00:00Z"})
        self.assertEqual(r.status, 201, r)
        job = self.env.http("GET", "/jobs/%d" % r.json()["id"]).json()
        self.assertEqual(job["run_at"], "2028-02-29T12:00:00.000Z")

    def post_raw(self, body, ctype="application/json"):
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
        return self.env.http("POST", "/jobs", body, {"Content-Type": ctype})

    def test_http2_preface(self):
        """docs/api.md: not HTTP/1.x gets 505 and the connection closes (no h2c)."""
        s = socket.create_connection((harness.HOST, self.env.broker_port), timeout=10)
        try:
            s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
                      b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")  # and an empty SETTINGS
            data = b""
            for _ in range(100):
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        finally:
            s.close()
        head, _, body = data.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 505 "), data)
        self.assertIn(b"connection: close", head.lower())
        self.assertEqual(json.loads(body)["error"]["code"], "http_version_not_supported")

    def test_msgpack_refused_as_json_is(self):
        """The API showed the last of two keys and the worker ran the first."""
        before = self.snapshot()
        t = (mp_str("type"), mp_str("noop"))
        cases = {
            "duplicate payload key": (
                mp_map([t, (mp_str("payload"), mp_map([(mp_str("a"), b"\x01"),
                                                       (mp_str("a"), b"\x02")]))]),
                '{"type": "noop", "payload": {"a": 1, "a": 2}}'),
            "duplicate key, two encodings": (
                mp_map([t, (mp_str("payload"), mp_map([(mp_str("a"), b"\x01"),
                                                       (b"\xd9\x01a", b"\x02")]))]),
                None),
            "duplicate type": (mp_map([t, (mp_str("type"), mp_str("hash"))]),
                               '{"type": "noop", "type": "hash"}'),
            "NUL in a payload string": (
                mp_map([t, (mp_str("payload"), mp_map([(mp_str("a"), mp_str(b"x\0y"))]))]),
                '{"type": "noop", "payload": {"a": "x\\u0000y"}}'),
            "NUL in a key": (
                mp_map([t, (mp_str("payload"), mp_map([(mp_str(b"a\0b"), b"\x01")]))]),
                '{"type": "noop", "payload": {"a\\u0000b": 1}}'),
        }
        for what, (mp, js) in cases.items():
            with self.subTest(what):
                r = self.post_raw(mp, "application/msgpack")
                self.assertError(r, 400, "invalid_argument")
                if js:
                    self.assertError(self.post_raw(js.encode()), 400, "invalid_json")
        self.assertEqual(self.snapshot(), before)
        ok = mp_map([t, (mp_str("payload"), mp_map([(mp_str("a"), b"\x01"),
                                                   (mp_str("b"), b"\x02")]))])
        r = self.post_raw(ok, "application/msgpack")
        self.assertEqual(r.status, 201, r)
        job = self.env.http("GET", "/jobs/%d" % r.json()["id"]).json()
        self.assertEqual(job["payload"], {"a": 1, "b": 2})

    # -- WebSocket -------------------------------------------------------------------

    def ws_open(self):
        return harness.ws_raw_open(self.env.broker_port)

    def ws_read_all(self, s):
        data = b""
        for _ in range(1000):
            try:
                c = s.recv(4096)
            except socket.timeout:
                break
            if not c:
                break
            data += c
        return data

    def test_malformed_control_frames_close_1002(self):
        cases = {
            "close with a 1-byte payload": ws_frame(8, b"\x03"),
            "ping of 126 bytes": ws_frame(9, b"a" * 126),
            "fragmented ping": ws_frame(9, b"a", fin=False),
            "fragmented close": ws_frame(8, b"\x03\xe8", fin=False),
            "ping length in 16 bits": ws_frame(9, b"abc", len16=True),
            "close code 999": ws_frame(8, struct.pack(">H", 999)),
            "close code 1005": ws_frame(8, struct.pack(">H", 1005)),
            "reserved bit on a ping": ws_frame(9, b"a", rsv=0x40),
            "opcode 0xB": ws_frame(0xB, b""),
            "unmasked ping": ws_frame(9, b"a", mask=False),
        }
        for what, frame in cases.items():
            with self.subTest(what):
                s = self.ws_open()
                try:
                    s.sendall(frame)
                    data = self.ws_read_all(s)
                finally:
                    s.close()
                self.assertGreaterEqual(len(data), 4, "no close frame: %r" % data)
                self.assertEqual(data[0], 0x88, data)
                self.assertEqual(struct.unpack(">H", data[2:4])[0], 1002, data)
        # a good close is answered with the client's code, the broker stays up
        s = self.ws_open()
        try:
            s.sendall(ws_frame(8, struct.pack(">H", 1000)))
            data = self.ws_read_all(s)
        finally:
            s.close()
        self.assertEqual(data[:4], b"\x88\x02\x03\xe8", data)
        self.assertEqual(self.env.http("GET", "/healthz").status, 200)

    def test_subscriptions_capped(self):
        """--ws-max-subs 3: a fourth subscription is refused, the three stay."""
        s = self.ws_open()
        try:
            def send(msg):
                s.sendall(ws_frame(1, json.dumps(msg).encode()))

            def recv():
                head = s.recv(2)
                n = head[1] & 0x7f
                if n == 126:
                    n = struct.unpack(">H", s.recv(2))[0]
                data = b""
                while len(data) < n:
                    data += s.recv(n - len(data))
                return json.loads(data)
            send({"type": "subscribe", "queues": ["a", "b", "c"]})
            acks = [recv() for _ in range(3)]
            self.assertEqual(sorted(a["queue"] for a in acks), ["a", "b", "c"], acks)
            send({"type": "subscribe", "queue": "d"})
            err = recv()
            self.assertEqual(err["error"]["code"], "limit_exceeded", err)
            self.assertIn("3", err["error"]["message"])
            send({"type": "subscribe", "queues": ["a", "b", "c", "d", "e"]})
            self.assertEqual(recv()["error"]["code"], "invalid_argument")
            send({"type": "unsubscribe", "queue": "a"})
            self.assertEqual(recv()["type"], "unsubscribed")
            send({"type": "subscribe", "queue": "d"})
            self.assertEqual(recv(), {"type": "subscribed", "queue": "d"})
        finally:
            s.close()


if __name__ == "__main__":
    harness.main()
