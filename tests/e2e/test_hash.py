#!/usr/bin/python3
"""E2E: native POST /jobs with JSON and msgpack bodies; the hash job runs on
the worker's CPU thread pool; noop; envelope fields round-trip."""
import hashlib
import os
import struct
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import E2ETestCase  # noqa: E402


def msgpack_encode(v):
    """A small msgpack encoder (spec: github.com/msgpack/msgpack/blob/master/spec.md)
    for None, bool, int, float, str, bytes, list and dict."""
    if v is None:
        return b"\xc0"
    if v is True:
        return b"\xc3"
    if v is False:
        return b"\xc2"
    if isinstance(v, int):
        if 0 <= v <= 0x7F:
            return struct.pack("B", v)
        if -32 <= v < 0:
            return struct.pack("b", v)
        if v >= 0:
            for fmt, tag, lim in ((">B", 0xCC, 1 << 8), (">H", 0xCD, 1 << 16),
                                  (">I", 0xCE, 1 << 32), (">Q", 0xCF, 1 << 64)):
                if v < lim:
                    return bytes([tag]) + struct.pack(fmt, v)
        else:
            for fmt, tag, lim in ((">b", 0xD0, 1 << 7), (">h", 0xD1, 1 << 15),
                                  (">i", 0xD2, 1 << 31), (">q", 0xD3, 1 << 63)):
                if v >= -lim:
                    return bytes([tag]) + struct.pack(fmt, v)
        raise ValueError("integer out of msgpack range")
    if isinstance(v, float):
        return b"\xcb" + struct.pack(">d", v)
    if isinstance(v, str):
        b = v.encode("utf-8")
        n = len(b)
        if n < 32:
            return bytes([0xA0 | n]) + b
        if n < 1 << 8:
            return b"\xd9" + struct.pack(">B", n) + b
        if n < 1 << 16:
            return b"\xda" + struct.pack(">H", n) + b
        return b"\xdb" + struct.pack(">I", n) + b
    if isinstance(v, (bytes, bytearray)):
        n = len(v)
        if n < 1 << 8:
            return b"\xc4" + struct.pack(">B", n) + bytes(v)
        if n < 1 << 16:
            return b"\xc5" + struct.pack(">H", n) + bytes(v)
        return b"\xc6" + struct.pack(">I", n) + bytes(v)
    if isinstance(v, (list, tuple)):
        n = len(v)
        head = (bytes([0x90 | n]) if n < 16 else
                b"\xdc" + struct.pack(">H", n) if n < 1 << 16 else
                b"\xdd" + struct.pack(">I", n))
        return head + b"".join(msgpack_encode(x) for x in v)
    if isinstance(v, dict):
        n = len(v)
        head = (bytes([0x80 | n]) if n < 16 else
                b"\xde" + struct.pack(">H", n) if n < 1 << 16 else
                b"\xdf" + struct.pack(">I", n))
        return head + b"".join(msgpack_encode(k) + msgpack_encode(x) for k, x in v.items())
    raise TypeError("cannot msgpack %r" % (v,))


class MsgpackEncoderSelfTest(harness.unittest.TestCase):
    def test_known_encodings(self):
        self.assertEqual(msgpack_encode({"a": 1}), b"\x81\xa1a\x01")
        self.assertEqual(msgpack_encode([None, True, False, -1, 200, -200, 70000]),
                         b"\x97\xc0\xc3\xc2\xff\xcc\xc8\xd1\xff\x38\xce\x00\x01\x11\x70")
        self.assertEqual(msgpack_encode("x" * 40)[:2], b"\xd9\x28")


def sha(data, repeat=1):
    return hashlib.sha256((data * repeat).encode()).hexdigest()


class HashTest(E2ETestCase):
    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()
        env.start_worker()

    def run_job(self, body, headers=None, timeout=15):
        jid = self.post_job(body, headers)
        job = self.env.wait_job(jid, timeout=timeout)
        self.assertJobShape(job)
        self.assertEqual(job["id"], jid)
        return job

    def assertCompleted(self, job):
        self.assertEqual(job["state"], "completed", job)
        self.assertEqual(job["status"], "completed", job)
        self.assertEqual(job["attempts"], 1, job)
        self.assertIsNone(job["error"], job)
        self.assertIsNotNone(job["started_at"], job)
        self.assertIsNotNone(job["finished_at"], job)

    def test_hash_json(self):
        job = self.run_job({"type": "hash", "payload": {"data": "abc", "repeat": 1000}})
        self.assertCompleted(job)
        self.assertEqual(job["type"], "hash")
        self.assertEqual(job["payload"], {"data": "abc", "repeat": 1000}, job)
        self.assertEqual(job["result"], {"sha256": sha("abc", 1000)}, job)
        # The seed view of the same job.
        r = self.env.http("GET", "/task-status/%d" % job["id"])
        self.assertEqual(self.assertJSONResponse(r, 200),
                         {"task_id": job["id"], "status": "completed"})

    def test_hash_repeat_defaults_to_one(self):
        job = self.run_job({"type": "hash", "payload": {"data": "abc"}})
        self.assertCompleted(job)
        self.assertEqual(job["result"], {"sha256": sha("abc")}, job)

    def test_hash_large_and_unicode(self):
        job = self.run_job({"type": "hash", "payload": {"data": "héllo✓", "repeat": 100000}})
        self.assertCompleted(job)
        self.assertEqual(job["result"], {"sha256": sha("héllo✓", 100000)}, job)

    def test_hash_msgpack(self):
        body = msgpack_encode({"type": "hash", "payload": {"data": "abc", "repeat": 1000}})
        job = self.run_job(body, {"Content-Type": "application/msgpack"})
        self.assertCompleted(job)
        self.assertEqual(job["type"], "hash")
        self.assertEqual(job["queue"], "default")
        self.assertEqual(job["payload"], {"data": "abc", "repeat": 1000}, job)
        self.assertEqual(job["result"], {"sha256": sha("abc", 1000)}, job)

    def test_msgpack_envelope_fields(self):
        body = msgpack_encode({"type": "noop", "payload": {"k": [1, -2, 3.5, None, True]},
                               "priority": 5, "max_attempts": 2, "timeout_ms": 60000})
        job = self.run_job(body, {"Content-Type": "application/msgpack"})
        self.assertCompleted(job)
        self.assertEqual(job["payload"], {"k": [1, -2, 3.5, None, True]}, job)
        self.assertEqual((job["priority"], job["max_attempts"], job["timeout_ms"]),
                         (5, 2, 60000), job)

    def test_noop(self):
        job = self.run_job({"type": "noop"})
        self.assertCompleted(job)
        self.assertEqual(job["type"], "noop")
        self.assertIsNone(job["payload"], job)
        self.assertIsNone(job["result"], job)
        self.assertEqual(job["queue"], "default")

    def test_envelope_fields_round_trip(self):
        payload = {"nested": {"list": [1, 2.5, "x", None, False, {"deep": []}]}, "s": "é"}
        job = self.run_job({"type": "noop", "payload": payload, "priority": 9,
                            "max_attempts": 100, "timeout_ms": 604800000})
        self.assertCompleted(job)
        self.assertEqual(job["payload"], payload, job)
        self.assertEqual((job["priority"], job["max_attempts"], job["timeout_ms"]),
                         (9, 100, 604800000), job)

    def test_hash_with_undecodable_payload_fails_and_worker_goes_on(self):
        # "data" must be a string. The broker may refuse it (400) or store it
        # (the payload is any JSON value) and let the worker fail it.
        r = self.env.http("POST", "/jobs", {"type": "hash", "payload": {"data": 123},
                                            "max_attempts": 1})
        if r.status == 400:
            self.assertError(r, 400, "invalid_argument")
        else:
            body = self.assertJSONResponse(r, 201)
            job = self.env.wait_job(body["id"], timeout=15)
            self.assertEqual(job["state"], "failed", job)
            self.assertIsInstance(job["error"], str, job)
            self.assertTrue(job["error"].strip(), job)
            self.assertTrue(job["status"].startswith("failed: "), job)
        self.assertCompleted(self.run_job({"type": "noop"}))

    def test_many_hash_jobs(self):
        ids = [self.post_job({"type": "hash", "payload": {"data": "x%d" % i, "repeat": 10}})
               for i in range(50)]
        for i, jid in enumerate(ids):
            job = self.env.wait_job(jid, timeout=15)
            self.assertCompleted(job)
            self.assertEqual(job["result"], {"sha256": sha("x%d" % i, 10)}, job)


if __name__ == "__main__":
    harness.main()
