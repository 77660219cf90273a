#!/usr/bin/python3
"""E2E: the broker's browser protections (docs/security.md, broker/guard.h) against a real
broker, whatever the authentication setting: what a web page a user visits can make the
user's browser send, and what a name rebound to the broker's address (DNS rebinding) can.

Each attack is made with the headers a browser would send; each refusal is checked to
change nothing in Redis (the keys and the job counter are compared before and after)."""
import http.client
import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import E2ETestCase  # noqa: E402

EVIL = "http://evil.example"
JOB = json.dumps({"type": "noop"}).encode()

# every route that changes something, with a body when it takes one
MUTATING = [
    ("POST", "/jobs", JOB),
    ("POST", "/jobs/bulk", b'[{"type": "noop"}]'),
    ("POST", "/batches", b'{"jobs": [{"type": "noop"}]}'),
    ("POST", "/start-task?duration=1", None),
    ("POST", "/send-notification?email=a@b.example&content=hi", None),
    ("POST", "/send-notification-sync?email=a@b.example&content=hi", None),
    ("DELETE", "/jobs/1", None),
    ("POST", "/queues/default/pause", None),
    ("POST", "/queues/default/resume", None),
    ("PUT", "/queues/default/rate-limit", b'{"limit": 1, "interval_ms": 1000}'),
    ("DELETE", "/queues/default/rate-limit", None),
    ("POST", "/dead/1/retry", None),
    ("DELETE", "/dead", None),
    ("POST", "/schedules", b'{"name": "n", "cron": "* * * * *", "job": {"type": "noop"}}'),
    ("PUT", "/schedules/n", b'{"cron": "* * * * *", "job": {"type": "noop"}}'),
    ("DELETE", "/schedules/n", None),
]


class BrowserAttackTest(E2ETestCase):
    """Default settings: the broker on 127.0.0.1, no --allowed-hosts, no --allow-origin."""

    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()

    def snapshot(self):
        r = self.env.redis
        return sorted(r.keys("*")), r.execute("GET", harness.ids_key())

    def own(self):
        return "http://%s:%d" % (harness.HOST, self.env.broker_port)

    def req(self, method, path, body=None, headers=None):
        h = dict(headers or {})
        if body is not None and "Content-Type" not in h:
            h["Content-Type"] = "application/json"
        return self.env.http(method, path, body, h)

    def test_cross_site_form_posts_change_nothing(self):
        """The attack of the issue: a page posts a form (urlencoded, multipart, text/plain,
        or a blob without type) holding JSON to /jobs: 201 before; now 403 (Origin) and, for
        a client that sends no Origin, 415 (the body type)."""
        before = self.snapshot()
        for ct in ("application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                   "text/plain", None):
            with self.subTest(ct):
                h = {"Origin": EVIL}
                if ct:
                    h["Content-Type"] = ct
                r = self.env.http("POST", "/jobs", JOB, h)
                self.assertError(r, 403, "forbidden")
                h.pop("Origin")
                r = self.env.http("POST", "/jobs", JOB, h)
                self.assertError(r, 415, "unsupported_media_type")
                # the old browsers' way without Origin: Sec-Fetch-Site tells
                r = self.env.http("POST", "/jobs", JOB, {"Sec-Fetch-Site": "cross-site",
                                                         "Content-Type": "application/json"})
                self.assertError(r, 403, "forbidden")
        self.assertEqual(self.snapshot(), before)

    def test_every_mutating_route_refuses_other_origins(self):
        before = self.snapshot()
        for method, path, body in MUTATING:
            for origin in (EVIL, "null", self.own().replace(str(self.env.broker_port),
                                                            str(self.env.broker_port + 1)),
                           "https://%s:%d" % (harness.HOST, self.env.broker_port + 1)):
                with self.subTest(method=method, path=path, origin=origin):
                    r = self.req(method, path, body, {"Origin": origin})
                    self.assertError(r, 403, "forbidden")
                    self.assertIn("--allow-origin", r.json()["error"]["message"])
                    self.assertNotIn("access-control-allow-origin", r.headers)
            for site in ("cross-site", "same-site"):
                with self.subTest(method=method, path=path, site=site):
                    r = self.req(method, path, body, {"Sec-Fetch-Site": site})
                    self.assertError(r, 403, "forbidden")
        self.assertEqual(self.snapshot(), before)

    def test_own_origin_and_no_origin_work(self):
        """The dashboard's own fetches (Origin = the broker's origin), same-origin fetch
        metadata, and clients that send no Origin (curl, jobctl) go through."""
        for headers in ({"Origin": self.own()}, {"Sec-Fetch-Site": "same-origin"},
                        {"Origin": "http://localhost:%d" % self.env.broker_port,
                         "Host": "localhost:%d" % self.env.broker_port}, {}):
            with self.subTest(headers):
                r = self.req("POST", "/jobs", JOB, headers)
                self.assertEqual(r.status, 201, r)
                self.assertNotIn("access-control-allow-origin", r.headers)
                r = self.env.http("POST", "/queues/own/pause", None, headers)
                self.assertEqual(r.status, 200, r)
        # reading needs no Origin check (the browser keeps other origins from reading)
        r = self.env.http("GET", "/queues", headers={"Origin": EVIL})
        self.assertEqual(r.status, 200, r)
        self.assertNotIn("access-control-allow-origin", r.headers)

    def test_two_origins_refused(self):
        before = self.snapshot()
        conn = http.client.HTTPConnection(harness.HOST, self.env.broker_port, timeout=10)
        try:
            conn.putrequest("POST", "/jobs")
            conn.putheader("Content-Type", "application/json")
            conn.putheader("Content-Length", str(len(JOB)))
            conn.putheader("Origin", self.own())
            conn.putheader("Origin", EVIL)
            conn.endheaders(JOB)
            r = conn.getresponse()
            self.assertEqual(r.status, 400)
            self.assertEqual(json.loads(r.read())["error"]["code"], "bad_request")
        finally:
            conn.close()
        self.assertEqual(self.snapshot(), before)

    def test_rebinding_host_refused(self):
        """DNS rebinding: the page's name arrives as Host; only the broker's names pass."""
        before = self.snapshot()
        port = self.env.broker_port
        for host in ("evil.example:%d" % port, "evil.example", "localhost.:%d" % port,
                     "127.0.0.1:%d" % (port + 1), "0.0.0.0:%d" % port):
            for method, path, body in (("GET", "/jobs/1", None), ("GET", "/queues", None),
                                       ("GET", "/", None), ("POST", "/jobs", JOB)):
                with self.subTest(host=host, path=path):
                    r = self.req(method, path, body, {"Host": host})
                    self.assertError(r, 421, "misdirected_request")
        for host in ("local host", "localhost :%d" % port, "a@localhost", "localhost/x",
                     "localhost:99999", "[::1"):
            with self.subTest(host=host):
                r = self.req("GET", "/healthz", None, {"Host": host})
                self.assertError(r, 400, "bad_request")
        self.assertEqual(self.snapshot(), before)
        for host in ("127.0.0.1:%d" % port, "127.0.0.1", "localhost:%d" % port, "LOCALHOST",
                     "[::1]:%d" % port):
            with self.subTest(host=host):
                self.assertEqual(self.req("GET", "/healthz", None, {"Host": host}).status, 200)

    def test_json_endpoints_take_only_json_or_msgpack(self):
        before = self.snapshot()
        for method, path, body in MUTATING:
            if body is None:
                continue
            for ct in ("application/x-www-form-urlencoded", "text/plain", "multipart/form-data",
                       None):
                with self.subTest(path=path, ct=ct):
                    r = self.env.http(method, path, body, {"Content-Type": ct} if ct else {})
                    self.assertError(r, 415, "unsupported_media_type")
        self.assertEqual(self.snapshot(), before)
        r = self.env.http("POST", "/jobs", JOB, {"Content-Type": "application/json; charset=utf-8"})
        self.assertEqual(r.status, 201, r)

    def test_query_endpoints_keep_working_without_body(self):
        """The seed's clients send no body and no Content-Type; a body of a form type is
        refused (never read as parameters), an empty one with curl's form default passes."""
        r = self.env.http("POST", "/start-task?duration=0")
        self.assertEqual(r.status, 200, r)
        r = self.env.http("POST", "/start-task?duration=0", b"",
                          {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(r.status, 200, r)
        before = self.snapshot()
        for path in ("/start-task", "/send-notification", "/send-notification-sync"):
            with self.subTest(path):
                r = self.env.http("POST", path + "?duration=0&email=a@b.example&content=x",
                                  b"email=c@d.example&content=y&duration=1",
                                  {"Content-Type": "application/x-www-form-urlencoded"})
                self.assertError(r, 415, "unsupported_media_type")
        self.assertEqual(self.snapshot(), before)


class AllowListTest(E2ETestCase):
    """--allowed-hosts (the env form, comma-separated), --allow-origin with CORS for its
    origins, and --ws-origin as its old name; the broker listens on a wildcard address."""

    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.broker_port = harness.free_port()
        env.start_broker(extra_args=["--listen", "0.0.0.0:%d" % env.broker_port,
                                     "--allow-origin", "https://dash.example",
                                     "--ws-origin", "https://old.example", "--no-auth"],
                         extra_env={"JOBQ_ALLOWED_HOSTS": "jobq.example, 10.1.2.3:9999"})

    def test_hosts(self):
        port = self.env.broker_port
        for host, want in (("jobq.example:%d" % port, 200), ("jobq.example", 200),
                           ("10.1.2.3:9999", 200), ("10.1.2.3:%d" % port, 421),
                           ("127.0.0.1:%d" % port, 200), ("localhost", 200),
                           ("0.0.0.0:%d" % port, 421), ("other.example", 421)):
            with self.subTest(host):
                self.assertEqual(self.env.http("GET", "/healthz", headers={"Host": host}).status,
                                 want)

    def test_listed_origins_get_cors(self):
        for origin in ("https://dash.example", "https://old.example"):
            with self.subTest(origin):
                r = self.env.http("POST", "/jobs", JOB, {"Origin": origin,
                                                         "Content-Type": "application/json"})
                self.assertEqual(r.status, 201, r)
                self.assertEqual(r.headers.get("access-control-allow-origin"), origin)
                self.assertIn("Origin", r.headers.get("vary", ""))
                pre = self.env.http("OPTIONS", "/jobs", None, {
                    "Origin": origin, "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "content-type"})
                self.assertEqual(pre.status, 204, pre)
                self.assertEqual(pre.headers.get("access-control-allow-origin"), origin)
                self.assertIn("POST", pre.headers.get("access-control-allow-methods", ""))
                self.assertIn("Content-Type", pre.headers.get("access-control-allow-headers", ""))
        r = self.env.http("OPTIONS", "/jobs", None, {"Origin": EVIL,
                                                     "Access-Control-Request-Method": "POST"})
        self.assertError(r, 403, "forbidden")
        self.assertNotIn("access-control-allow-origin", r.headers)
        r = self.env.http("POST", "/jobs", JOB, {"Origin": "http://dash.example",
                                                 "Content-Type": "application/json"})
        self.assertError(r, 403, "forbidden")


class BadSettingsTest(E2ETestCase):
    """A value that is no host or origin stops the broker at start, saying which."""

    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()

    def test_bad_values_refused(self):
        for args, want in ((["--allowed-hosts", "bad host"], "bad host"),
                           (["--allow-origin", "nonsense"], "nonsense")):
            with self.subTest(args):
                p = harness.subprocess.run(
                    [harness.broker_bin(), "--listen", "127.0.0.1:%d" % harness.free_port(),
                     "--redis-url", self.env.redis_url] + args,
                    stdout=harness.subprocess.PIPE, stderr=harness.subprocess.PIPE, timeout=20)
                self.assertNotEqual(p.returncode, 0)
                self.assertIn(want, p.stderr.decode())


if __name__ == "__main__":
    harness.main()
