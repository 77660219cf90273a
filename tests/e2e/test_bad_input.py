#!/usr/bin/python3
"""E2E: bad input gets the documented status and JSON error, and stores
nothing in Redis; unknown routes and methods; a job of an unknown type fails
on the worker, which keeps working."""
import os
import sys
import urllib.parse

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import E2ETestCase  # noqa: E402


def q(**params):
    return urllib.parse.urlencode(params, quote_via=urllib.parse.quote)


class BadInputTest(E2ETestCase):
    """No worker runs here, so any job that slipped in would stay visible."""

    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()

    def snapshot(self):
        r = self.env.redis
        return {"jobs": self.env.job_keys(), "lists": self.env.queue_lengths(),
                "queues": sorted(r.execute("SMEMBERS", harness.key("queues")) or [])}

    def assertRefused(self, method, path, body=None, headers=None, status=400,
                      codes=("invalid_argument",)):
        """The request gets `status` with the JSON error, and leaves no job,
        no queue entry and no new queue name behind."""
        before = self.snapshot()
        r = self.env.http(method, path, body, headers)
        with self.subTest(method=method, path=path, body=body if not isinstance(body, bytes)
                          or len(body) < 200 else body[:200]):
            self.assertError(r, status, codes)
            after = self.snapshot()
            self.assertEqual(after["jobs"], before["jobs"], "job hashes added by %r" % r)
            for k, n in after["lists"].items():
                self.assertLessEqual(n, before["lists"].get(k, 0), "list %s grew" % k)
            self.assertEqual(after["queues"], before["queues"], "queue names added")
        return r

    # -- POST /jobs ------------------------------------------------------------

    def test_malformed_json(self):
        for body in (b"{", b'{"type": "noop",}', b"not json", b'{"type": "noop"} trailing',
                     b""):
            self.assertRefused("POST", "/jobs", body, {"Content-Type": "application/json"},
                               codes="invalid_json")

    def test_invalid_utf8(self):
        for body in (b'{"type": "noop", "payload": "\xff\xfe"}',
                     b'{"type": "no\xc3op"}', b'{"type": "noop", "payload": "\xed\xa0\x80"}'):
            self.assertRefused("POST", "/jobs", body, {"Content-Type": "application/json"},
                               codes="invalid_json")

    def test_json_not_an_object(self):
        for body in ([1, 2], [{"type": "noop"}]):
            self.assertRefused("POST", "/jobs", body)
        # Scalars at top level: well-formed JSON (RFC 8259) but a JSON parser may
        # refuse them as such; either code is acceptable.
        for body in (b"42", b'"noop"', b"null", b"true"):
            self.assertRefused("POST", "/jobs", body, {"Content-Type": "application/json"},
                               codes=("invalid_argument", "invalid_json"))

    def test_missing_type(self):
        self.assertRefused("POST", "/jobs", {})
        self.assertRefused("POST", "/jobs", {"payload": {"data": "abc"}})

    def test_unknown_field(self):
        self.assertRefused("POST", "/jobs", {"type": "noop", "bogus": 1})
        self.assertRefused("POST", "/jobs", {"type": "noop", "Type": "noop"})

    def test_wrong_types(self):
        for body in ({"type": 5}, {"type": None}, {"type": ["noop"]},
                     {"type": "noop", "max_attempts": "3"},
                     {"type": "noop", "max_attempts": 3.5},
                     {"type": "noop", "max_attempts": True},
                     {"type": "noop", "max_attempts": None},
                     {"type": "noop", "priority": "1"},
                     {"type": "noop", "timeout_ms": "10"},
                     {"type": "noop", "queue": 7}):
            self.assertRefused("POST", "/jobs", body)

    def test_out_of_range(self):
        for body in ({"type": "noop", "max_attempts": 0},
                     {"type": "noop", "max_attempts": 101},
                     {"type": "noop", "max_attempts": -1},
                     {"type": "noop", "priority": 10},
                     {"type": "noop", "priority": -1},
                     {"type": "noop", "timeout_ms": -1},
                     {"type": "noop", "timeout_ms": 604800001}):
            self.assertRefused("POST", "/jobs", body)
        # Beyond 64 bits: a JSON parser may refuse the number itself.
        self.assertRefused("POST", "/jobs", {"type": "noop", "max_attempts": 2 ** 64},
                           codes=("invalid_argument", "invalid_json"))

    def test_bad_names(self):
        for name in ("bad type", "bad/type", "bad\ttype", "", "x" * 65, "é", "a\nb", "*"):
            self.assertRefused("POST", "/jobs", {"type": name})
            self.assertRefused("POST", "/jobs", {"type": "noop", "queue": name})
        # A NUL in a string: a JSON parser may refuse "\u0000" itself.
        self.assertRefused("POST", "/jobs", {"type": "a\u0000b"},
                           codes=("invalid_argument", "invalid_json"))

    def test_payload_too_deep(self):
        payload = 0
        for _ in range(100):
            payload = [payload]
        self.assertRefused("POST", "/jobs", {"type": "noop", "payload": payload})

    def test_unsupported_media_type(self):
        self.assertRefused("POST", "/jobs", b'{"type": "noop"}', {"Content-Type": "text/plain"},
                           status=415, codes="unsupported_media_type")

    def test_bad_msgpack(self):
        for body in (b"\xc1", b"\x81\xa4type", b"\x92\x01\x02", b"\x81\xa4type\xa4noop\xc0"):
            self.assertRefused("POST", "/jobs", body, {"Content-Type": "application/msgpack"},
                               codes=("invalid_argument", "invalid_json"))

    def test_oversized_headers(self):
        # headers are capped at 8 KiB: libevent refuses more with 400 before any handler runs
        import socket
        with socket.create_connection((harness.HOST, self.env.broker_port), timeout=10) as s:
            s.sendall(b"POST /jobs HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"a" * 16000
                      + b"\r\nContent-Length: 16\r\n\r\n{\"type\": \"noop\"}")
            head = s.recv(64)
        self.assertTrue(head.startswith(b"HTTP/1.1 400") or head.startswith(b"HTTP/1.1 431"),
                        head)
        self.assertEqual(self.env.http("GET", "/healthz").status, 200)

    def test_oversized_body(self):
        before = self.snapshot()
        status, raw, note = harness.raw_http_oversized(self.env.broker_port, "/jobs",
                                                       2 * 1024 * 1024)
        self.assertEqual(status, 413, "2 MiB body: expected 413, got %r (%s): %r"
                         % (status, note, raw[:300]))
        after = self.snapshot()
        self.assertEqual(after["jobs"], before["jobs"])
        # The broker still serves.
        self.assertEqual(self.env.http("GET", "/healthz").status, 200)

    # -- seed endpoints --------------------------------------------------------

    def test_start_task_bad_duration(self):
        for d in ("-1", "abc", "1.5", "999999", "86401", "1e3", "0x10", "5abc",
                  "99999999999999999999999"):
            self.assertRefused("POST", "/start-task?" + q(duration=d))

    def test_seed_endpoints_refuse_a_body(self):
        """The seed endpoints read the query only: a JSON body is refused with a word
        about where the parameters go, never ignored (it started a 10 s task)."""
        before = self.env.job_keys()
        for path, body, where in (
                ("/start-task", {"duration": 2}, "?duration=N"),
                ("/start-task?duration=2", {"duration": 2}, "?duration=N"),
                ("/send-notification", {"email": "a@example.test", "content": "hi"},
                 "?email="),
                ("/send-notification-sync?email=a%40example.test&content=hi", {"x": 1},
                 "?email=")):
            with self.subTest(path=path):
                r = self.env.http("POST", path, body)
                msg = self.assertError(r, 400, "invalid_argument")["message"]
                self.assertIn("takes no body", msg)
                self.assertIn(where, msg)
        self.assertEqual(self.env.job_keys(), before)
        # without a body, as always
        r = self.env.http("POST", "/start-task?duration=0")
        self.assertEqual(self.assertJSONResponse(r, 200)["status"], "pending")

    def test_send_notification_bad_input(self):
        for path in ("/send-notification", "/send-notification-sync"):
            self.assertRefused("POST", path + "?" + q(content="hi"))
            self.assertRefused("POST", path + "?" + q(email="", content="hi"))
            for addr in ("not-an-email", "a b@c.d", "a@b.c\r\nBcc: x@y.z", "a@b.c\n",
                         "@example.test", "alice@", "a\x00b@c.d", "a" * 243 + "@example.test"):
                self.assertRefused("POST", path + "?" + q(email=addr, content="hi"))
            self.assertRefused("POST", path + "?" + q(email="alice@example.test"))

    # -- reads -----------------------------------------------------------------

    def test_task_status_unknown_id(self):
        r = self.env.http("GET", "/task-status/999999")
        self.assertEqual(self.assertJSONResponse(r, 200),
                         {"task_id": 999999, "status": "not_found"})

    def test_task_status_bad_id(self):
        for tid in ("abc", "0", "-1", "1.5", "1abc"):
            self.assertRefused("GET", "/task-status/" + tid)

    def test_job_unknown_id(self):
        self.assertRefused("GET", "/jobs/999999", status=404, codes="not_found")

    def test_job_bad_id(self):
        for jid in ("abc", "0", "-1"):
            r = self.env.http("GET", "/jobs/" + jid)
            # A path id that is not a positive integer: invalid_argument per
            # docs/api.md ("query parameter or path id").
            self.assertError(r, 400, "invalid_argument")

    def test_unknown_route(self):
        for method, path in (("GET", "/nope"), ("POST", "/nope"), ("GET", "/jobsx"),
                             ("GET", "/jobs/1/nope"), ("GET", "/start-task/x")):
            self.assertRefused(method, path, status=404, codes="not_found")

    def test_wrong_method(self):
        for method, path in (("DELETE", "/jobs"), ("DELETE", "/start-task"),
                             ("GET", "/start-task"), ("GET", "/send-notification"),
                             ("POST", "/healthz"), ("PUT", "/jobs"),
                             ("POST", "/task-status/1")):
            before = self.snapshot()
            r = self.env.http(method, path)
            with self.subTest(method=method, path=path):
                if r.status == 405:
                    self.assertError(r, 405, "method_not_allowed")
                else:
                    self.assertError(r, 404, "not_found")
                self.assertEqual(self.snapshot()["jobs"], before["jobs"])

    def test_405_lists_allowed_methods(self):
        # Beyond docs/api.md: RFC 9110 section 15.5.6 says a 405 MUST carry an
        # Allow header naming the methods the resource supports.
        for method, path, allowed in (("DELETE", "/jobs", "POST"), ("DELETE", "/jobs", "GET"),
                                      ("DELETE", "/start-task", "POST")):
            r = self.env.http(method, path)
            if r.status != 405:
                continue
            with self.subTest(method=method, path=path):
                allow = [m.strip().upper() for m in r.headers.get("allow", "").split(",")]
                self.assertIn(allowed, allow, "405 without a proper Allow header: %r %r"
                              % (r, r.headers))


class UnknownTypeTest(E2ETestCase):
    """The broker refuses an unknown type and a payload its type cannot run (400, nothing
    stored: common/jobtypes.c); a worker still fails such a job when it gets one (stored
    by an older broker, or by hand) at once, and keeps going."""

    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()
        env.start_worker()

    def test_refused_at_enqueue(self):
        before = self.env.job_keys()
        bad = [({"type": "sendmail"}, "unknown job type 'sendmail'"),
               ({"type": "no_such_type", "payload": {"x": 1}}, "unknown job type"),
               ({"type": "hash"}, "'payload' of a hash job: 'data' must be a string"),
               ({"type": "hash", "payload": {"data": "a", "repeat": 0}}, "'repeat'"),
               ({"type": "progress", "payload": {"duration": -1}}, "'duration'"),
               ({"type": "email", "payload": {"to": "nobody"}}, "'to' must be an email"),
               ({"type": "email", "payload": {"to": "a@b.c", "sync": "yes"}}, "'sync'"),
               ({"type": "http", "payload": {"url": "ftp://x/"}}, "'payload' of a http job"),
               ({"type": "exec", "payload": {"args": ["a"]}}, "'command' is required")]
        for body, why in bad:
            with self.subTest(body=body):
                for path, sent in (("/jobs", body), ("/jobs/bulk", [{"type": "noop"}, body]),
                                   ("/batches", {"jobs": [body]}),
                                   ("/batches", {"jobs": [{"type": "noop"}],
                                                 "callback": body}),
                                   ("/schedules", {"name": "s", "cron": "* * * * *",
                                                   "job": body})):
                    r = self.env.http("POST", path, sent)
                    err = self.assertError(r, 400, "invalid_argument")
                    self.assertIn(why, err["message"], (path, r))
        self.assertEqual(self.env.job_keys(), before)
        # what the types allow is still taken; an exec command is the worker's to judge
        for body in ({"type": "noop", "payload": [1, "any"]},
                     {"type": "hash", "payload": {"data": "a", "repeat": 2}},
                     {"type": "exec", "payload": {"command": "not_on_this_worker"}},
                     {"type": "email", "payload": {"to": "a@example.com", "sync": True}}):
            self.post_job(dict(body, queue="taken"))

    def test_unknown_type_fails_and_worker_keeps_going(self):
        jid = self.post_unchecked("default", type_="no_such_type", max_attempts=1)
        job = self.env.wait_job(jid, timeout=15)
        self.assertJobShape(job)
        self.assertEqual(job["state"], "failed", job)
        self.assertIsInstance(job["error"], str, job)
        self.assertIn("unknown job type 'no_such_type'", job["error"], job)
        self.assertTrue(job["status"].startswith("failed: "), job)
        r = self.env.http("GET", "/task-status/%d" % jid)
        self.assertEqual(self.assertJSONResponse(r, 200),
                         {"task_id": jid, "status": job["status"]})
        # The worker is alive and takes the next job.
        for w in self.env.workers:
            self.assertTrue(w.running(), "worker died")
        nid = self.post_job({"type": "noop"})
        self.assertEqual(self.env.wait_job(nid, timeout=10)["state"], "completed")

    def test_bad_payload_fails_at_once(self):
        # a hash job whose stored payload is {} (msgpack [1, {}]): no 'data'
        jid = self.post_unchecked("default", type_="hash", payload_mp=b"\x92\x01\x80")
        job = self.env.wait_job(jid, timeout=15)
        self.assertEqual(job["state"], "failed", job)
        self.assertEqual(job["attempts"], 1, job)  # fatal: never retried
        self.assertIn("'data' must be a string", job["error"], job)


if __name__ == "__main__":
    harness.main()
