#!/usr/bin/python3
"""E2E: authentication and scopes (docs/security.md, issue 15 item 1) against real brokers
sharing one Redis: the open loopback broker until a token exists, the first token made
from loopback, missing, wrong, revoked and under-scoped tokens on every route, tokens
kept hashed, a revocation reaching another broker, --open-healthz/--open-metrics, the
start-up policy on a non-loopback address, and jobctl's --token, JOBQ_TOKEN and
--token-file with jobctl token create|list|revoke."""
import hashlib
import http.client
import json
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import E2ETestCase, wait_until  # noqa: E402

JOB = {"type": "noop"}

# (method, path, body, scope): one request per route that needs a scope
ROUTES = [
    ("GET", "/task-status/1", None, "read"),
    ("GET", "/jobs/1", None, "read"),
    ("GET", "/jobs?state=failed", None, "read"),
    ("GET", "/queues", None, "read"),
    ("GET", "/queues/default", None, "read"),
    ("GET", "/workers", None, "read"),
    ("GET", "/dead", None, "read"),
    ("GET", "/batches/1", None, "read"),
    ("GET", "/schedules", None, "read"),
    ("GET", "/schedules/x", None, "read"),
    ("GET", "/healthz", None, "read"),
    ("GET", "/metrics", None, "read"),
    ("POST", "/jobs", JOB, "enqueue"),
    ("POST", "/jobs/bulk", [JOB], "enqueue"),
    ("POST", "/batches", {"jobs": [JOB]}, "enqueue"),
    ("POST", "/start-task?duration=0", None, "enqueue"),
    ("POST", "/send-notification?email=a@b.example&content=x", None, "enqueue"),
    ("POST", "/send-notification-sync?email=a@b.example&content=x", None, "enqueue"),
    ("DELETE", "/jobs/999999", None, "admin"),
    ("POST", "/queues/q/pause", None, "admin"),
    ("POST", "/queues/q/resume", None, "admin"),
    ("PUT", "/queues/q/rate-limit", {"limit": 1, "interval_ms": 1000}, "admin"),
    ("DELETE", "/queues/q/rate-limit", None, "admin"),
    ("POST", "/dead/999999/retry", None, "admin"),
    ("DELETE", "/dead", None, "admin"),
    ("POST", "/schedules", {"name": "s", "cron": "0 0 1 1 *", "job": JOB}, "admin"),
    ("PUT", "/schedules/s", {"cron": "0 0 1 1 *", "job": JOB}, "admin"),
    ("DELETE", "/schedules/s", None, "admin"),
    ("GET", "/tokens", None, "admin"),
]
OPEN = ["/", "/docs", "/static/app.js", "/openapi.json"]


def bearer(token):
    return {"Authorization": "Bearer " + token}


class AuthTest(E2ETestCase):

    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()

    def make_token(self, name, scopes, headers=None):
        r = self.env.http("POST", "/tokens", {"name": name, "scopes": scopes}, headers)
        self.assertEqual(r.status, 201, r)
        got = r.json()
        self.assertEqual(set(got), {"name", "scopes", "created_at", "token"}, got)
        self.assertEqual(sorted(got["scopes"]), sorted(scopes))
        self.assertRegex(got["token"], r"^jq_[0-9a-f]{64}$")
        return got["token"]

    def test_auth(self):
        # no token yet, on a loopback address: open, as before tokens existed
        for method, path, body, _ in ROUTES[:13]:
            self.assertNotEqual(self.env.http(method, path, body).status, 401, path)
        admin = self.make_token("root", ["admin"])
        # from here every route needs a token
        r = self.env.http("GET", "/queues")
        self.assertError(r, 401, "unauthorized")
        self.assertTrue(r.headers.get("www-authenticate", "").startswith("Bearer"), r.headers)
        read = self.make_token("reader", ["read"], bearer(admin))
        enq = self.make_token("producer", ["enqueue"], bearer(admin))
        both = self.make_token("both", ["read", "enqueue"], bearer(admin))
        # kept hashed: the table holds SHA-256 hex -> name/scopes, never a token
        table = self.env.redis.hgetall(harness.key("tokens"))
        self.assertEqual(set(table), {hashlib.sha256(t.encode()).hexdigest()
                                      for t in (admin, read, enq, both)})
        for v in table.values():
            self.assertNotIn(b"jq_", v)
            self.assertEqual(set(json.loads(v)), {"name", "scopes", "created_at"})
        # the list shows names and scopes, never the tokens
        r = self.env.http("GET", "/tokens", headers=bearer(admin))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(sorted(t["name"] for t in r.json()["tokens"]),
                         ["both", "producer", "reader", "root"])
        for t in (admin, read, enq, both):
            self.assertNotIn(t.encode(), r.body)
        before = sorted(self.env.redis.keys("*"))
        for method, path, body, scope in ROUTES:
            with self.subTest(method=method, path=path):
                for headers, why in (({}, "missing"), (bearer("jq_" + "0" * 64), "wrong"),
                                     ({"Authorization": "Basic " + admin}, "not bearer"),
                                     (bearer(admin[:-1]), "cut")):
                    r = self.env.http(method, path, body, headers)
                    self.assertError(r, 401, "unauthorized")
                    self.assertIn("Bearer", r.headers.get("www-authenticate", ""), why)
                lacking = {"read": [enq], "enqueue": [read],
                           "admin": [read, enq, both]}[scope]
                for t in lacking:
                    r = self.env.http(method, path, body, bearer(t))
                    self.assertError(r, 403, "insufficient_scope")
                    self.assertIn('scope="%s"' % scope,
                                  r.headers.get("www-authenticate", ""))
        self.assertEqual(sorted(self.env.redis.keys("*")), before)
        # ...and the right scope (or admin) passes
        for method, path, body, scope in ROUTES:
            with self.subTest(method=method, path=path, ok=True):
                tok = {"read": read, "enqueue": enq, "admin": admin}[scope]
                for t in (tok, admin):
                    r = self.env.http(method, path, body, bearer(t))
                    self.assertNotIn(r.status, (401, 403), r)
        # the dashboard's files need nothing (the sign-in page)
        for path in OPEN:
            self.assertEqual(self.env.http("GET", path).status, 200, path)
        # a second broker on the same Redis: the tokens are the same; --open-* flags
        other = harness.Env("auth-other")
        try:
            other.redis_port = self.env.redis_port
            other.start_broker(extra_args=["--open-healthz", "--open-metrics"],
                               wait_healthy=True)
            self.assertEqual(other.http("GET", "/healthz").status, 200)
            self.assertEqual(other.http("GET", "/metrics").status, 200)
            self.assertError(other.http("GET", "/queues"), 401, "unauthorized")
            self.assertEqual(other.http("GET", "/queues", headers=bearer(read)).status, 200)
            # revoked through this broker: refused there at once, on the other within the
            # table's refresh (1 s) and a round trip
            r = self.env.http("DELETE", "/tokens/reader", headers=bearer(admin))
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json(), {"name": "reader", "revoked": 1})
            self.assertError(self.env.http("GET", "/queues", headers=bearer(read)), 401,
                             "unauthorized")
            wait_until(lambda: other.http("GET", "/queues", headers=bearer(read)).status
                       == 401, 3.0, "the other broker to refuse the revoked token")
            self.assertError(self.env.http("DELETE", "/tokens/reader", headers=bearer(admin)),
                             404, "not_found")
        finally:
            other.close()
        # healthz and metrics need read on a broker without the flags
        self.assertError(self.env.http("GET", "/healthz"), 401, "unauthorized")
        self.assertEqual(self.env.http("GET", "/healthz", headers=bearer(both)).status, 200)
        # bad token requests
        for body in ({"name": "x"}, {"name": "x", "scopes": []}, {"name": "x", "scopes": ["god"]},
                     {"name": "bad name", "scopes": ["read"]}, {"scopes": ["read"]}):
            with self.subTest(body=body):
                self.assertError(self.env.http("POST", "/tokens", body, bearer(admin)), 400,
                                 "invalid_argument")
        self.assertError(self.env.http("POST", "/tokens", {"name": "root", "scopes": ["read"]},
                                       bearer(admin)), 409, "conflict")

    def test_jobctl_hides_a_token_given_on_the_command_line(self):
        # /proc/<pid>/cmdline is readable by every local user while jobctl runs (review)
        import socket
        silent = socket.socket()
        silent.bind((harness.HOST, 0))
        silent.listen(5)  # accepts, never answers: jobctl waits
        token = "jq_" + "ab" * 32
        try:
            for args in (["--token", token], ["--token=" + token]):
                p = subprocess.Popen([harness.jobctl_bin(), "--url", "http://%s:%d" % (
                    harness.HOST, silent.getsockname()[1]), "--timeout-ms", "5000"] + args +
                    ["queues"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                try:
                    # once jobctl has connected it is past its start (a read right after
                    # exec would still see the argv the kernel copied in)
                    silent.settimeout(5)
                    conn, _ = silent.accept()
                    with open("/proc/%d/cmdline" % p.pid, "rb") as f:
                        cmdline = f.read()
                    conn.close()
                    self.assertIn(b"queues", cmdline)
                    self.assertNotIn(token.encode(), cmdline)
                finally:
                    p.kill()
                    p.communicate()
        finally:
            silent.close()

    def test_jobctl_tokens(self):
        # runs after test_auth (alphabetical): tokens exist, 'root' is admin
        admin = self.make_token_via_redis_admin()
        env = {"JOBQ_TOKEN": admin}
        p = self.jobctl("token", "create", "ci", "--scopes", "enqueue,read", extra_env=env)
        self.assertEqual(p.returncode, 0, self.describe(p))
        ci = p.out.strip()
        self.assertRegex(ci, r"^jq_[0-9a-f]{64}$")
        self.assertIn("shown this once", p.err)
        p = self.jobctl("token", "list", extra_env=env)
        self.assertEqual(p.returncode, 0, self.describe(p))
        self.assertIn("ci", p.out)
        self.assertIn("enqueue,read", p.out.replace("read,enqueue", "enqueue,read"))
        self.assertNotIn(ci, p.out)
        # --token, JOBQ_TOKEN and --token-file each work; without, 401 and exit 1
        p = self.jobctl("queues")
        self.assertEqual(p.returncode, 1, self.describe(p))
        self.assertIn("401", p.err)
        path = os.path.join(self.env.tmp, "token")
        with open(path, "w") as f:
            f.write(ci + "\n")
        for args, extra in ((["--token", ci], None), ([], {"JOBQ_TOKEN": ci}),
                            (["--token-file", path], None),
                            ([], {"JOBQ_TOKEN_FILE": path})):
            with self.subTest(args=args, env=extra):
                p = self.jobctl(*(args + ["enqueue", "noop"]), extra_env=extra)
                self.assertEqual(p.returncode, 0, self.describe(p))
        p = self.jobctl("--token", ci, "pause", "q")
        self.assertEqual(p.returncode, 1, self.describe(p))
        self.assertIn("insufficient_scope", p.err)
        # the token never shows in --help
        p = self.jobctl("--help", extra_env={"JOBQ_TOKEN": ci}, url=False)
        self.assertNotIn(ci, p.out)
        p = self.jobctl("token", "revoke", "ci", extra_env=env)
        self.assertEqual(p.returncode, 0, self.describe(p))
        self.assertEqual(p.out.strip(), "token ci revoked")
        p = self.jobctl("--token", ci, "queues")
        self.assertEqual(p.returncode, 1, self.describe(p))

    def make_token_via_redis_admin(self):
        """An admin token written straight into the table (as a broker would)."""
        token = "jq_" + "ab" * 32
        self.env.redis.execute("HSET", harness.key("tokens"), hashlib.sha256(token.encode()).hexdigest(),
                               json.dumps({"name": "ops", "scopes": ["admin"],
                                           "created_at": 0}))
        wait_until(lambda: self.env.http("GET", "/queues", headers=bearer(token)).status == 200,
                   3.0, "the broker to read the new token")
        return token


class RevokeTest(E2ETestCase):
    """A token revoked ends what it opened: its SSE streams and WebSockets end (a stream
    went on for as long as the client kept it), on the broker that revoked it and, within
    a read of the table (1 s), on every other; streams of other tokens go on."""

    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()
        env.start_worker()

    def sse(self, port, jid, token):
        c = http.client.HTTPConnection(harness.HOST, port, timeout=20)
        c.request("GET", "/jobs/%d/events" % jid, headers=bearer(token))
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        self.assertTrue(r.readline().startswith(b"event: "))  # the job's state: it is live
        return c, r

    def ws(self, port, token):
        return harness.ws_raw_open(port, headers=bearer(token), host="localhost", timeout=20)

    @staticmethod
    def ws_close_code(s):
        """Reads server frames until a close; its status code (None: the socket ended)."""
        def exact(n):
            b = b""
            while len(b) < n:
                chunk = s.recv(n - len(b))
                if not chunk:
                    return None
                b += chunk
            return b
        for _ in range(100):
            h = exact(2)
            if h is None:
                return None
            n = h[1] & 0x7F
            if n == 126:
                n = int.from_bytes(exact(2), "big")
            body = exact(n) if n else b""
            if h[0] & 0x0F == 8:
                return int.from_bytes(body[:2], "big")
        return None

    def test_revoked_token_ends_its_streams(self):
        admin = json.loads(self.env.http("POST", "/tokens", {
            "name": "root", "scopes": ["admin"]}).body)["token"]
        r = self.env.http("POST", "/tokens", {"name": "watcher", "scopes": ["read"]},
                          bearer(admin))
        watcher = json.loads(r.body)["token"]
        r = self.env.http("POST", "/jobs", {"type": "progress", "payload": {
            "duration": 60, "interval_ms": 200}}, bearer(admin))
        jid = json.loads(r.body)["id"]
        port = self.env.broker_port
        # a second broker of the same Redis: it learns of the revoke by reading the table
        port2 = harness.free_port()
        b2 = self.env._spawn("broker2", [harness.broker_bin(), "--listen",
                                         "%s:%d" % (harness.HOST, port2), "--redis-url",
                                         self.env.redis_url])
        wait_until(lambda: harness.port_accepts(port2) and harness.http_request(
            port2, "GET", "/healthz", headers=bearer(admin)).status == 200, 20,
            "the second broker", env=self.env)
        kept_c, kept = self.sse(port, jid, admin)
        c1, s1 = self.sse(port, jid, watcher)
        c2, s2 = self.sse(port2, jid, watcher)
        w1, w2 = self.ws(port, watcher), self.ws(port2, watcher)
        t0 = time.monotonic()
        r = self.env.http("DELETE", "/tokens/watcher", None, bearer(admin))
        self.assertIn(r.status, (200, 204), r)
        for stream in (s1, s2):  # the chunked stream ends: read() returns what is left
            while stream.readline():
                pass
        self.assertEqual(self.ws_close_code(w1), 1008)
        self.assertEqual(self.ws_close_code(w2), 1008)
        self.assertLess(time.monotonic() - t0, 10)  # a bound, not a timing claim
        # the admin's stream goes on: more of the job's events come
        self.assertTrue(kept.readline())
        for c in (kept_c, c1, c2):
            c.close()
        for s in (w1, w2):
            s.close()
        b2.stop()
        # the job is cancelled: the worker then stops at once at tear-down
        self.env.http("DELETE", "/jobs/%d" % jid, None, bearer(admin))
        wait_until(lambda: self.env.http("GET", "/jobs/%d" % jid, None, bearer(admin)).json()[
            "state"] == "cancelled", 20, "the job to be cancelled", env=self.env)
        self.assertIn("the token that opened it was revoked", self.env.broker_proc.log_text())
        self.assertIn("the token that opened it was revoked", b2.log_text())


class PolicyTest(E2ETestCase):
    """A broker on a non-loopback address with no token refuses to start, saying why,
    unless --no-auth; with a token it starts and asks for it; the first token cannot be
    made from another address."""

    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()

    def broker(self, *args, timeout=15):
        port = harness.free_port()
        return subprocess.Popen(
            [harness.broker_bin(), "--listen", "0.0.0.0:%d" % port, "--redis-url",
             self.env.redis_url] + list(args), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE), port

    def test_policy(self):
        p, _ = self.broker()
        try:
            out, err = p.communicate(timeout=15)
        finally:
            if p.poll() is None:
                p.kill()
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"refusing to start", err)
        self.assertIn(b"--no-auth", err)
        # --no-auth: it runs, open, and says so
        p, port = self.broker("--no-auth")
        try:
            wait_until(lambda: harness.port_accepts(port), 10, "the --no-auth broker")
            # until it has read the token table from Redis it answers 503 (a CI flake when
            # the first request came sooner)
            wait_until(lambda: harness.http_request(port, "GET", "/queues").status != 503, 10,
                       "the broker to read its tokens")
            r = harness.http_request(port, "GET", "/queues")
            self.assertEqual(r.status, 200, r)
            # tokens routes are not open with --no-auth: the first token from loopback only
            # (this connection is from 127.0.0.1: allowed)
            r = harness.http_request(port, "POST", "/tokens", {"name": "first",
                                                                 "scopes": ["admin"]})
            self.assertEqual(r.status, 201, r)
            admin = json.loads(r.body)["token"]
            # once one exists, the token routes want an admin token, --no-auth or not
            # (review: anyone could make admin tokens that every broker of the Redis takes)
            wait_until(lambda: harness.http_request(port, "GET", "/tokens").status == 401, 5,
                       "GET /tokens to want a token")
            r = harness.http_request(port, "POST", "/tokens", {"name": "second",
                                                                 "scopes": ["admin"]})
            self.assertEqual(r.status, 401, r)
            r = harness.http_request(port, "GET", "/tokens",
                                     headers={"Authorization": "Bearer " + admin})
            self.assertEqual(r.status, 200, r)
            # the other routes stay open
            self.assertEqual(harness.http_request(port, "GET", "/queues").status, 200)
        finally:
            p.terminate()
            _, err = p.communicate(timeout=10)
        self.assertIn(b"--no-auth: no request is authenticated", err)
        # now a token exists: the non-loopback broker starts, and wants it
        p, port = self.broker()
        try:
            wait_until(lambda: harness.port_accepts(port), 10, "the broker")
            wait_until(lambda: harness.http_request(port, "GET", "/queues").status == 401, 5,
                       "401 from the broker")
        finally:
            p.terminate()
            p.communicate(timeout=10)

    def test_redis_down_at_start(self):
        """Until the token table is read, a request is answered 503: redis_unavailable
        while Redis cannot be reached (the cause a client knows)."""
        port = harness.free_port()
        p = subprocess.Popen([harness.broker_bin(), "--listen", "127.0.0.1:%d" % port,
                              "--redis-url", "redis://127.0.0.1:%d/0" % harness.free_port()],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            wait_until(lambda: harness.port_accepts(port), 10, "the broker")
            r = harness.http_request(port, "GET", "/queues")
            self.assertError(r, 503, "redis_unavailable")
            self.assertEqual(harness.http_request(port, "GET", "/").status, 200)
        finally:
            p.terminate()
            p.communicate(timeout=10)


if __name__ == "__main__":
    harness.main()
