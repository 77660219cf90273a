#!/usr/bin/python3
"""E2E: the http job type. A worker makes real requests (curl multi on its
loop) to a small HTTP server this test runs on 127.0.0.1: echoes of method,
headers and body, chosen statuses, a slow endpoint, a big body; and payloads
it must refuse before sending anything."""
import http.server
import json
import os
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import E2ETestCase  # noqa: E402


class Target(http.server.BaseHTTPRequestHandler):
    """/echo: the request as JSON; /status/N: that status; /slow?ms=N: answers
    late; /big?n=N: N bytes; /redirect?to=URL: a 302. Every request is
    recorded on the server."""

    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def handle_any(self):
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        rec = {"method": self.command, "path": url.path, "query": q,
               "headers": {k.lower(): v for k, v in self.headers.items()},
               "body": body.decode("utf-8", "replace")}
        with self.server.lock:
            self.server.seen.append(rec)
        status, out, ctype = 200, b"", "text/plain"
        if url.path == "/echo":
            out, ctype = json.dumps(rec).encode(), "application/json"
        elif url.path.startswith("/status/"):
            status = int(url.path[len("/status/"):])
            out = ("status %d" % status).encode()
        elif url.path == "/slow":
            time.sleep(int(q.get("ms", "1000")) / 1000.0)
            out = b"late"
        elif url.path == "/big":
            out = b"a" * int(q["n"])
        elif url.path == "/cookie":  # a target that hands out a session
            out = b"welcome"
            self.send_response(200)
            self.send_header("Set-Cookie", "sid=setcookie-SECRET-11; HttpOnly")
            self.send_header("Set-Cookie", "theme=dark")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
            return
        elif url.path == "/redirect":
            status, out = 302, b"see /echo"
            self.send_response(status)
            self.send_header("Location", q.get("to", "/echo"))
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
            return
        else:
            status, out = 404, b"no such path"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(out)))
        self.send_header("X-Test", "one")
        self.send_header("X-Test", "two")
        self.end_headers()
        if self.command != "HEAD":
            try:
                self.wfile.write(out)
            except OSError:
                pass  # the client stopped reading (a truncated body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = handle_any


class HttpMixin:
    """What both classes share: the target server's record and job helpers."""

    @classmethod
    def start_target(cls):
        """The HTTP server the jobs talk to, on 127.0.0.1, in a thread of this process."""
        srv = http.server.ThreadingHTTPServer((harness.HOST, 0), Target)
        srv.daemon_threads = True
        srv.seen = []
        srv.lock = threading.Lock()
        cls.srv = srv
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        cls.port = srv.server_address[1]
        cls.base = "http://%s:%d" % (harness.HOST, cls.port)

    @classmethod
    def tearDownClass(cls):
        cls.srv.shutdown()
        cls.srv.server_close()
        super().tearDownClass()

    def seen(self, pred):
        with self.srv.lock:
            return [r for r in self.srv.seen if pred(r)]

    def run_job(self, payload, timeout=15, **envelope):
        body = {"type": "http", "payload": payload}
        body.update(envelope)
        jid = self.post_job(body)
        job = self.env.wait_job(jid, timeout=timeout)
        self.assertJobShape(job)
        return job

    def assertCompleted(self, job):
        self.assertEqual(job["state"], "completed", job)
        self.assertIsNone(job["error"], job)
        r = job["result"]
        self.assertEqual(set(r), {"status", "headers", "body", "truncated"}, job)
        return r

    def assertFailed(self, job, attempts, *needles):
        self.assertEqual(job["state"], "failed", job)
        self.assertEqual(job["attempts"], attempts, job)
        self.assertIsNone(job["result"], job)
        self.assertIsInstance(job["error"], str, job)
        for n in needles:
            self.assertIn(n, job["error"], job)
        self.assertIsNotNone(self.env.redis.execute("ZSCORE", harness.dead_key(), str(job["id"])),
                             "failed job is not in the dead set: %r" % job)


class HttpJobTest(HttpMixin, E2ETestCase):
    @classmethod
    def setUpEnv(cls, env):
        cls.start_target()
        env.start_redis()
        env.start_broker()
        env.start_worker(extra_args=["--retry-base-ms", "50"],
                         extra_env={"no_proxy": "*", "http_proxy": "", "https_proxy": ""})

    # -- requests that work ------------------------------------------------

    def test_get_with_headers(self):
        job = self.run_job({"url": self.base + "/echo?a=1",
                            "headers": {"X-Token": "s3cret", "Accept": "application/json"},
                            "max_body": 65536})
        r = self.assertCompleted(job)
        self.assertEqual(r["status"], 200, r)
        self.assertFalse(r["truncated"], r)
        self.assertEqual(r["headers"].get("content-type"), "application/json", r)
        self.assertEqual(r["headers"].get("x-test"), "one, two", r)
        echo = json.loads(r["body"])
        self.assertEqual(echo["method"], "GET")
        self.assertEqual(echo["path"], "/echo")
        self.assertEqual(echo["query"], {"a": "1"})
        self.assertEqual(echo["headers"].get("x-token"), "s3cret", echo)
        self.assertEqual(echo["headers"].get("accept"), "application/json", echo)
        self.assertTrue(echo["headers"].get("user-agent", "").startswith("jobq/"), echo)
        self.assertEqual(echo["body"], "")

    def test_traceparent_passed_on(self):
        """The POST's W3C traceparent goes on as a header of the job's request, in place
        of one the payload names (the job joins the trace it was enqueued in)."""
        tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        r = self.env.http("POST", "/jobs", {"type": "http", "payload": {
            "url": self.base + "/echo", "max_body": 65536,
            "headers": {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}}},
            {"traceparent": tp})
        jid = self.assertJSONResponse(r, 201)["id"]
        echo = json.loads(self.assertCompleted(self.env.wait_job(jid))["body"])
        self.assertEqual(echo["headers"].get("traceparent"), tp, echo)
        # without one, the payload's header is sent as given
        job = self.run_job({"url": self.base + "/echo", "max_body": 65536,
                            "headers": {"traceparent": tp}})
        echo = json.loads(self.assertCompleted(job)["body"])
        self.assertEqual(echo["headers"].get("traceparent"), tp, echo)

    def test_post_text_and_json_bodies(self):
        job = self.run_job({"method": "POST", "url": self.base + "/echo",
                            "headers": {"Content-Type": "text/plain; charset=utf-8"},
                            "body": "héllo\nworld", "max_body": 65536})
        echo = json.loads(self.assertCompleted(job)["body"])
        self.assertEqual(echo["method"], "POST")
        self.assertEqual(echo["body"], "héllo\nworld")
        self.assertEqual(echo["headers"].get("content-type"), "text/plain; charset=utf-8")
        self.assertNotIn("expect", echo["headers"], echo)

        # a JSON body is sent as JSON; a text body without Content-Type gets none made up
        job = self.run_job({"method": "put", "url": self.base + "/echo",
                            "body": {"k": [1, 2, "x"]}, "max_body": 65536})
        echo = json.loads(self.assertCompleted(job)["body"])
        self.assertEqual(echo["method"], "PUT")
        self.assertEqual(json.loads(echo["body"]), {"k": [1, 2, "x"]})
        self.assertEqual(echo["headers"].get("content-type"), "application/json", echo)
        job = self.run_job({"method": "PATCH", "url": self.base + "/echo", "body": "a=b",
                            "max_body": 65536})
        echo = json.loads(self.assertCompleted(job)["body"])
        self.assertEqual((echo["method"], echo["body"]), ("PATCH", "a=b"))
        self.assertNotIn("content-type", echo["headers"], echo)

    def test_head_and_delete(self):
        r = self.assertCompleted(self.run_job({"method": "HEAD", "url": self.base + "/big?n=50"}))
        self.assertEqual((r["status"], r["body"]), (200, ""), r)
        self.assertEqual(r["headers"].get("content-length"), "50", r)
        r = self.assertCompleted(self.run_job({"method": "DELETE",
                                               "url": self.base + "/echo"}))
        self.assertEqual(json.loads(r["body"])["method"], "DELETE")

    def test_expected_status_list(self):
        r = self.assertCompleted(self.run_job({"url": self.base + "/status/404",
                                               "expect_status": [200, 404]}))
        self.assertEqual((r["status"], r["body"]), (404, "status 404"), r)
        r = self.assertCompleted(self.run_job({"url": self.base + "/status/201",
                                               "expect_status": 201}))
        self.assertEqual(r["status"], 201, r)

    def test_redirects(self):
        # not followed by default: a 302 is not a 2xx, and no retry makes it one
        job = self.run_job({"url": self.base + "/redirect"}, max_attempts=3)
        self.assertFailed(job, 1, "302")
        r = self.assertCompleted(self.run_job({"url": self.base + "/redirect",
                                               "follow_redirects": True, "max_body": 65536}))
        self.assertEqual(r["status"], 200, r)
        self.assertEqual(json.loads(r["body"])["path"], "/echo")
        self.assertEqual(r["headers"].get("content-type"), "application/json",
                         "headers of the last response only: %r" % r)
        # never to another protocol
        job = self.run_job({"url": self.base + "/redirect?to=file:///etc/passwd",
                            "follow_redirects": True}, max_attempts=3)
        self.assertFailed(job, 1)
        # credentials stay with the first host (libcurl's rule, kept: no
        # CURLOPT_UNRESTRICTED_AUTH); "localhost" is another host than 127.0.0.1
        other = self.base.replace("127.0.0.1", "localhost") + "/echo"
        headers = {"Authorization": "Bearer s3cret", "Cookie": "sid=1", "X-Trace": "t1"}
        for to, kept in (("/echo", True), (other, False)):
            with self.subTest(to=to):
                r = self.assertCompleted(self.run_job({
                    "url": self.base + "/redirect?to=" + urllib.parse.quote(to, safe=""),
                    "headers": headers, "follow_redirects": True, "max_body": 65536}))
                seen = json.loads(r["body"])["headers"]
                self.assertEqual(seen.get("x-trace"), "t1", seen)
                self.assertEqual("authorization" in seen, kept, seen)
                self.assertEqual("cookie" in seen, kept, seen)

    def test_body_is_truncated_to_max_body(self):
        r = self.assertCompleted(self.run_job({"url": self.base + "/big?n=10000",
                                               "max_body": 100}))
        self.assertEqual((r["status"], r["body"], r["truncated"]), (200, "a" * 100, True), r)
        r = self.assertCompleted(self.run_job({"url": self.base + "/big?n=10000"}))
        self.assertEqual((len(r["body"]), r["truncated"]), (4096, True), "default max_body 4096")
        r = self.assertCompleted(self.run_job({"url": self.base + "/big?n=100",
                                               "max_body": 100}))
        self.assertEqual((r["body"], r["truncated"]), ("a" * 100, False), r)

    # -- failures ----------------------------------------------------------

    def test_unexpected_4xx_fails_without_retry(self):
        path = "/status/404"
        before = len(self.seen(lambda r: r["path"] == path))
        job = self.run_job({"url": self.base + path}, max_attempts=3)
        self.assertFailed(job, 1, "404", "status 404")
        self.assertEqual(len(self.seen(lambda r: r["path"] == path)) - before, 1)
        job = self.run_job({"url": self.base + "/status/200", "expect_status": 204},
                           max_attempts=3)
        self.assertFailed(job, 1, "200")

    def test_5xx_is_retried_then_dead(self):
        job = self.run_job({"url": self.base + "/status/503?k=retry"}, max_attempts=3)
        self.assertFailed(job, 3, "503")
        self.assertNotIn("k=retry", job["error"], "the query (tokens live there) is in the error")
        hits = self.seen(lambda r: r["path"] == "/status/503" and r["query"].get("k") == "retry")
        self.assertEqual(len(hits), 3, "one request per attempt: %r" % hits)
        job = self.run_job({"url": self.base + "/status/429"}, max_attempts=2)
        self.assertFailed(job, 2, "429")

    def test_connection_refused_is_retried(self):
        closed = harness.free_port()
        job = self.run_job({"url": "http://127.0.0.1:%d/x" % closed}, max_attempts=2)
        self.assertFailed(job, 2, "127.0.0.1")

    def test_payload_timeout(self):
        t0 = time.monotonic()
        job = self.run_job({"url": self.base + "/slow?ms=3000", "timeout_ms": 300},
                           max_attempts=1)
        self.assertLess(time.monotonic() - t0, 2.5, "the request was not cut at 300 ms")
        self.assertFailed(job, 1, "imed out")

    def test_job_timeout_removes_the_transfer(self):
        t0 = time.monotonic()
        job = self.run_job({"url": self.base + "/slow?ms=3000"}, max_attempts=1,
                           timeout_ms=300)
        self.assertLess(time.monotonic() - t0, 2.5)
        self.assertFailed(job, 1, "timed out after 300 ms")
        # the worker goes on (the easy handle left the loop cleanly)
        r = self.assertCompleted(self.run_job({"url": self.base + "/status/200"}))
        self.assertEqual(r["status"], 200)

    def test_cancel_a_running_request(self):
        jid = self.post_job({"type": "http", "payload": {"url": self.base + "/slow?ms=4000&k=c"}})
        harness.wait_until(lambda: self.seen(lambda r: r["query"].get("k") == "c"), 10,
                           "the slow request to arrive", env=self.env)
        r = self.env.http("DELETE", "/jobs/%d" % jid)
        self.assertIn(r.status, (200, 202), r)
        job = self.env.wait_job(jid, timeout=5)
        self.assertEqual(job["state"], "cancelled", job)
        r = self.assertCompleted(self.run_job({"url": self.base + "/status/200"}))
        self.assertEqual(r["status"], 200)

    def test_bad_payloads_refused_at_enqueue(self):
        """The broker checks an http payload with the worker's own rules
        (common/http_request.c): 400, nothing stored, nothing sent."""
        cases = [
            ({}, "'url' is required"),
            ({"url": "ftp://127.0.0.1/x"}, "http:// or https://"),
            ({"url": "file:///etc/passwd"}, "http:// or https://"),
            ({"url": "http://"}, "url"),
            ({"url": self.base + "/echo x"}, "spaces"),
            ({"url": self.base + "/echo", "method": "TRACE"}, "'method'"),
            ({"url": self.base + "/echo", "headers": {"X-A": "v\r\nX-Injected: 1"}},
             "header injection"),
            ({"url": self.base + "/echo", "headers": {"Bad Name": "v"}}, "not a valid HTTP token"),
            ({"url": self.base + "/echo", "headers": ["X-A: v"]}, "'headers'"),
            ({"url": self.base + "/echo", "headers": {"X-A": 1}}, "string value"),
            ({"url": self.base + "/echo", "expect_status": "2xx"}, "'expect_status'"),
            ({"url": self.base + "/echo", "expect_status": [99]}, "'expect_status'"),
            ({"url": self.base + "/echo", "timeout_ms": 0}, "'timeout_ms'"),
            ({"url": self.base + "/echo", "max_body": 2000000}, "'max_body'"),
            ({"url": self.base + "/echo", "method": "HEAD", "body": "x"}, "HEAD"),
            ({"url": self.base + "/echo", "follow_redirects": "yes"}, "'follow_redirects'"),
            ({"url": self.base + "/echo", "header": {"a": "b"}}, "unknown payload field 'header'"),
            ("http://127.0.0.1/", "payload must be an object"),
        ]
        before = len(self.seen(lambda r: True))
        for payload, needle in cases:
            with self.subTest(payload=payload):
                r = self.env.http("POST", "/jobs", {"type": "http", "payload": payload})
                err = self.assertError(r, 400, "invalid_argument")
                self.assertIn("'payload' of a http job: ", err["message"])
                self.assertIn(needle, err["message"])
        self.assertEqual(len(self.seen(lambda r: True)), before,
                         "a refused payload still sent a request")



class HttpDenyTest(HttpMixin, E2ETestCase):
    """jobq-worker --http-deny: a job whose connection lands on a denied address fails
    at once (no retry) and sends nothing; the check is made on the address connected
    to, for redirects too; other addresses are served as before."""

    @classmethod
    def setUpEnv(cls, env):
        cls.start_target()
        env.start_redis()
        env.start_broker()
        # 127.0.0.2 is loopback too (all of 127/8), but denied; 127.0.0.1 is not. A proxy
        # in the environment (the target server answers absolute-form requests too) must
        # not carry a job to a denied network: with a deny list the worker goes direct.
        env.start_worker(extra_args=["--http-deny", "10.0.0.0/8,127.0.0.2",
                                     "--http-deny", "fe80::/10"],
                         extra_env={"no_proxy": "", "http_proxy": cls.base,
                                    "HTTP_PROXY": cls.base, "https_proxy": ""})

    def test_denied_address_fails_at_once(self):
        url = "http://127.0.0.2:%d/echo?deny=1" % self.port
        job = self.run_job({"url": url}, max_attempts=3)
        self.assertFailed(job, 1, "address 127.0.0.2 is denied (--http-deny)")
        self.assertEqual(self.seen(lambda r: r["query"].get("deny") == "1"), [])

    def test_redirect_to_a_denied_address_fails(self):
        to = "http://127.0.0.2:%d/echo?deny=2" % self.port
        job = self.run_job({"url": self.base + "/redirect?to=" + urllib.parse.quote(to),
                            "follow_redirects": True}, max_attempts=3)
        self.assertFailed(job, 1, "is denied (--http-deny)")
        self.assertEqual(self.seen(lambda r: r["query"].get("deny") == "2"), [])

    def test_redirect_to_a_denied_address_fails_at_once(self):
        """The first hop on a new connection (a name no other test uses, so no cached
        connection hides it): its allowed socket must not make the denied one of the
        redirect look like a connection error to retry."""
        to = "http://127.0.0.2:%d/echo?deny=4" % self.port
        job = self.run_job({"url": "http://localhost:%d/redirect?to=%s"
                            % (self.port, urllib.parse.quote(to, safe="")),
                            "follow_redirects": True}, max_attempts=3)
        self.assertFailed(job, 1, "a redirect led to address 127.0.0.2, which is denied "
                          "(--http-deny)")
        self.assertEqual(len(job["errors"]), 1, job)
        self.assertEqual(self.seen(lambda r: r["query"].get("deny") == "4"), [])

    def test_no_proxy_around_the_deny_list(self):
        job = self.run_job({"url": "http://10.1.2.3/echo?deny=3", "timeout_ms": 2000},
                           max_attempts=3)
        self.assertFailed(job, 1, "address 10.1.2.3 is denied (--http-deny)")
        self.assertEqual(self.seen(lambda r: r["query"].get("deny") == "3"), [])

    def test_other_addresses_are_served(self):
        r = self.assertCompleted(self.run_job({"url": self.base + "/echo?ok=1"}))
        self.assertEqual(r["status"], 200)


class HttpsTest(HttpMixin, E2ETestCase):
    """https requests against a TLS target with its own certificate authority
    (jobq-worker --http-ca-file), and redirects that would leave TLS: refused, the job
    failed at once, nothing sent in clear."""

    @classmethod
    def setUpEnv(cls, env):
        cls.start_target()  # the plain one: where a downgrade would land
        # a self-signed certificate for 127.0.0.1, which the worker is told to trust
        cert, key = os.path.join(env.tmp, "ca.pem"), os.path.join(env.tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True)
        tls = http.server.ThreadingHTTPServer((harness.HOST, 0), Target)
        tls.daemon_threads = True
        tls.seen = cls.srv.seen  # one record of what both servers were sent
        tls.lock = cls.srv.lock
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
        cls.tls = tls
        threading.Thread(target=tls.serve_forever, daemon=True).start()
        cls.tls_base = "https://%s:%d" % (harness.HOST, tls.server_address[1])
        env.start_redis()
        env.start_broker()
        env.start_worker(extra_args=["--http-ca-file", cert],
                         extra_env={"no_proxy": "*", "http_proxy": "", "https_proxy": ""})

    @classmethod
    def tearDownClass(cls):
        cls.tls.shutdown()
        cls.tls.server_close()
        super().tearDownClass()

    def test_https_with_a_private_ca(self):
        r = self.assertCompleted(self.run_job({"url": self.tls_base + "/echo?tls=1",
                                               "max_body": 65536}))
        self.assertEqual(json.loads(r["body"])["query"], {"tls": "1"})
        # https to https is followed
        to = urllib.parse.quote(self.tls_base + "/echo?tls=2", safe="")
        r = self.assertCompleted(self.run_job({"url": self.tls_base + "/redirect?to=" + to,
                                               "follow_redirects": True, "max_body": 65536}))
        self.assertEqual(json.loads(r["body"])["query"], {"tls": "2"})

    def test_redirect_never_leaves_tls(self):
        to = urllib.parse.quote(self.base + "/echo?clear=1", safe="")
        job = self.run_job({"url": self.tls_base + "/redirect?to=" + to,
                            "headers": {"X-Token": "s3cret"}, "follow_redirects": True},
                           max_attempts=3)
        self.assertFailed(job, 1)
        self.assertEqual(self.seen(lambda r: r["query"].get("clear") == "1"), [],
                         "a request went out in clear")
        # from http, both are allowed (nothing to keep secret there)
        to = urllib.parse.quote(self.tls_base + "/echo?up=1", safe="")
        self.assertCompleted(self.run_job({"url": self.base + "/redirect?to=" + to,
                                           "follow_redirects": True}))


if __name__ == "__main__":
    harness.main()
