#!/usr/bin/python3
"""E2E: credentials a job carries are never shown (docs/security.md, issue 15 item 4),
against a real broker, worker and HTTP target: the http headers Authorization,
Proxy-Authorization and Cookie and the URL's userinfo are redacted in every view, and a
job's `secrets` are handed to its handler (an http header "${secret:NAME}", an exec
program's environment through "secret_env") and returned by no read.

Every secret below holds the marker "SECRET-"; each view is searched for it as raw bytes
(the job, job lists, the dead set, its event stream, GET /schedules, jobctl status, and
the broker's and worker's logs). The target server records what it received, so each
test also checks the credential did reach it."""
import json
import os
import socket
import stat
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import E2ETestCase  # noqa: E402
from test_job_http import HttpMixin  # noqa: E402

MARK = b"SECRET-"
ENVDUMP = """#!/usr/bin/python3
import json, os, sys
sys.stdin.read()
print(json.dumps({k: os.environ.get(k) for k in ("JOBQ_SECRET_API_TOKEN", "API_TOKEN",
                                                   "JOBQ_SECRET_DB_PASSWORD", "BASH_ENV",
                                                   "JOBQ_SECRET_BASH_ENV", "PATH")}))
"""


class SecretsTest(HttpMixin, E2ETestCase):

    @classmethod
    def setUpEnv(cls, env):
        cls.start_target()
        d = os.path.join(env.tmp, "bin")
        os.mkdir(d)
        script = os.path.join(d, "envdump")
        with open(script, "w") as f:
            f.write(ENVDUMP)
        os.chmod(script, stat.S_IRWXU)
        env.start_redis()
        env.start_broker()
        env.start_worker(extra_args=["--exec", "envdump=" + script, "--retry-base-ms", "50"])

    def views_of(self, jid):
        """Every read that may show job jid, as raw bytes."""
        out = {}
        for path in ("/jobs/%d" % jid, "/jobs?state=running", "/jobs?state=failed",
                     "/dead", "/schedules"):
            r = self.env.http("GET", path)
            self.assertEqual(r.status, 200, "%s: %r" % (path, r))
            out[path] = r.body
        out["events"] = self.sse(jid)
        for args in (("status", str(jid)), ("status", "--json", str(jid))):
            p = self.jobctl(*args)
            self.assertEqual(p.returncode, 0, self.describe(p))
            out["jobctl " + " ".join(args)] = p.stdout
        return out

    def sse(self, jid):
        s = socket.create_connection((harness.HOST, self.env.broker_port), timeout=10)
        try:
            s.sendall(("GET /jobs/%d/events HTTP/1.1\r\nHost: %s:%d\r\n\r\n"
                       % (jid, harness.HOST, self.env.broker_port)).encode())
            data = b""
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not data.endswith(b"0\r\n\r\n"):
                c = s.recv(65536)
                if not c:
                    break
                data += c
            return data
        finally:
            s.close()

    def assertNoSecret(self, views):
        for name, body in views.items():
            self.assertNotIn(MARK, body, "%s shows a secret: %r" % (name, body[:2000]))
        for proc in [self.env.broker_proc] + list(self.env.workers):
            self.assertNotIn("SECRET-", proc.log_text(), "a log shows a secret")

    def test_credential_headers_redacted(self):
        headers = {"Authorization": "Bearer auth-SECRET-1", "cookie": "sid=cookie-SECRET-2",
                   "Proxy-Authorization": "Basic proxy-SECRET-3", "X-Other": "plain"}
        job = self.run_job({"url": self.base + "/status/200?h=1", "headers": headers})
        self.assertCompleted(job)
        self.assertEqual(job["payload"]["headers"], {
            "Authorization": "[redacted]", "cookie": "[redacted]",
            "Proxy-Authorization": "[redacted]", "X-Other": "plain"})
        sent = self.seen(lambda r: r["query"].get("h") == "1")[0]["headers"]
        self.assertEqual(sent["authorization"], "Bearer auth-SECRET-1")
        self.assertEqual(sent["cookie"], "sid=cookie-SECRET-2")
        self.assertNoSecret(self.views_of(job["id"]))

    def test_secret_headers_stay_with_the_first_origin(self):
        # curl keeps only Authorization and Cookie to the first host of a redirect chain;
        # a header holding a secret, or Proxy-Authorization, must not follow a redirect to
        # another origin either (review: X-Api-Key went to the second host)
        other = "http://localhost:%d/echo?x=1" % self.port  # another origin, same server
        for headers in ({"X-Api-Key": "${secret:APIK}"},
                        {"Proxy-Authorization": "Basic proxy-SECRET-12"}):
            with self.subTest(headers=list(headers)):
                before = len(self.seen(lambda r: r["query"].get("x") == "1"))
                job = self.run_job({"url": self.base + "/redirect?to=" + other,
                                    "headers": headers, "follow_redirects": True},
                                   max_attempts=3, secrets={"APIK": "apik-SECRET-13"})
                self.assertFailed(job, 1, "another origin", "localhost")
                self.assertEqual(len(self.seen(lambda r: r["query"].get("x") == "1")), before,
                                 "the second origin was asked")
                self.assertNoSecret(self.views_of(job["id"]))
        # a redirect within the origin keeps them
        job = self.run_job({"url": self.base + "/redirect?to=/echo%3Fx%3D2",
                            "headers": {"X-Api-Key": "${secret:APIK}"},
                            "follow_redirects": True}, secrets={"APIK": "apik-SECRET-14"})
        self.assertCompleted(job)
        got = self.seen(lambda r: r["query"].get("x") == "2")[-1]["headers"]
        self.assertEqual(got["x-api-key"], "apik-SECRET-14")
        # and without such headers a redirect to another origin is followed, as before
        job = self.run_job({"url": self.base + "/redirect?to=" + other.replace("x=1", "x=3"),
                            "headers": {"X-Plain": "p"}, "follow_redirects": True})
        self.assertCompleted(job)

    def test_response_set_cookie_redacted(self):
        # the result shows the response's headers: a session the target set is not shown
        job = self.run_job({"url": self.base + "/cookie"})
        self.assertCompleted(job)
        self.assertEqual(job["result"]["headers"]["set-cookie"], "[redacted], [redacted]", job)
        self.assertNoSecret(self.views_of(job["id"]))

    def test_url_userinfo_redacted(self):
        url = "http://alice:pw-SECRET-4@%s:%d/status/200?u=1" % (harness.HOST, self.port)
        job = self.run_job({"url": url})
        self.assertCompleted(job)
        self.assertEqual(job["payload"]["url"], "http://[redacted]@%s:%d/status/200?u=1"
                         % (harness.HOST, self.port))
        sent = self.seen(lambda r: r["query"].get("u") == "1")[0]["headers"]
        self.assertTrue(sent["authorization"].startswith("Basic "), sent)
        # a URL refused (by the broker now, with the worker's rule) is quoted in the
        # error without its userinfo
        r = self.env.http("POST", "/jobs", {"type": "http", "payload": {
            "url": "ftp://bob:pw-SECRET-5@example.invalid/x"}})
        msg = self.assertError(r, 400, "invalid_argument")["message"]
        self.assertIn("[redacted]@example.invalid", msg)
        self.assertNotIn("pw-SECRET-5", msg)
        self.assertNoSecret(self.views_of(job["id"]))

    def test_secrets_used_in_headers_and_never_shown(self):
        job = self.run_job({"url": self.base + "/status/200?s=1",
                            "headers": {"Authorization": "Bearer ${secret:API_TOKEN}",
                                        "X-Both": "${secret:API_TOKEN}/${secret:OTHER}"}},
                           secrets={"API_TOKEN": "tok-SECRET-6", "OTHER": "o-SECRET-7"})
        self.assertCompleted(job)
        self.assertNotIn("secrets", job)
        # the view keeps the reference, not the secret (and redacts Authorization anyway)
        self.assertEqual(job["payload"]["headers"]["X-Both"],
                         "${secret:API_TOKEN}/${secret:OTHER}")
        sent = self.seen(lambda r: r["query"].get("s") == "1")[0]["headers"]
        self.assertEqual(sent["authorization"], "Bearer tok-SECRET-6")
        self.assertEqual(sent["x-both"], "tok-SECRET-6/o-SECRET-7")
        self.assertNoSecret(self.views_of(job["id"]))
        # stored apart from the payload, in a field no read renders
        raw = self.env.redis.hgetall(harness.job_key(job["id"]))
        self.assertIn(b"tok-SECRET-6", raw["secrets"])
        self.assertNotIn(MARK, raw["payload"])

    def test_unknown_secret_fails_at_once(self):
        job = self.run_job({"url": self.base + "/status/200?s=2",
                            "headers": {"X-Key": "${secret:MISSING}"}},
                           max_attempts=3, secrets={"THERE": "t-SECRET-8"})
        self.assertFailed(job, 1, "no secret 'MISSING'")
        self.assertEqual(self.seen(lambda r: r["query"].get("s") == "2"), [])
        self.assertNoSecret(self.views_of(job["id"]))

    def test_exec_gets_secrets_as_environment(self):
        jid = self.post_job({"type": "exec", "payload": {"command": "envdump",
                                                         "secret_env": ["API_TOKEN"]},
                             "secrets": {"API_TOKEN": "env-SECRET-9", "DB_PASSWORD": "no"}})
        job = self.env.wait_job(jid)
        self.assertEqual(job["state"], "completed", job)
        out = job["result"]
        out = out.get("output", out) if isinstance(out, dict) else out
        # the program saw the secret the payload named, and only that one; its output is
        # its own business (a program that prints a secret shows it): here it is checked
        # and then the views are searched without it
        self.assertEqual(out["JOBQ_SECRET_API_TOKEN"], "env-SECRET-9", job)
        self.assertIsNone(out["API_TOKEN"], job)
        self.assertIsNone(out["JOBQ_SECRET_DB_PASSWORD"], job)
        # a variable a shell runs (the review found BASH_ENV ran $(...) through a bash
        # program): a secret of that name reaches the program only under the prefix
        jid = self.post_job({"type": "exec", "payload": {"command": "envdump",
                                                         "secret_env": ["BASH_ENV", "PATH"]},
                             "secrets": {"BASH_ENV": "$(touch /tmp/jq-pwned)",
                                         "PATH": "/evil"}})
        job = self.env.wait_job(jid)
        self.assertEqual(job["state"], "completed", job)
        out = job["result"]
        out = out.get("output", out) if isinstance(out, dict) else out
        self.assertIsNone(out["BASH_ENV"], job)
        self.assertEqual(out["JOBQ_SECRET_BASH_ENV"], "$(touch /tmp/jq-pwned)", job)
        self.assertNotEqual(out["PATH"], "/evil", job)
        for bad, why in ((["NOPE"], "not one of the job's secrets"), ("API_TOKEN", "array")):
            with self.subTest(bad):
                jid = self.post_job({"type": "exec", "payload": {"command": "envdump",
                                                                 "secret_env": bad},
                                     "secrets": {"API_TOKEN": "env-SECRET-10"}})
                job = self.env.wait_job(jid)
                self.assertEqual(job["state"], "failed", job)
                self.assertIn(why, job["error"])
                self.assertEqual(job["attempts"], 1, job)
                self.assertNoSecret(self.views_of(jid))

    def test_bad_secrets_refused(self):
        before = sorted(self.env.redis.keys("*"))
        for secrets, why in (([1], "object"), ({}, "object"), ({"a-b": "x"}, "names"),
                             ({"A": 1}, "string"), ({"A": "x" * 4097}, "string"),
                             ({"K%d" % i: "v" for i in range(17)}, "object")):
            with self.subTest(secrets=str(secrets)[:40]):
                r = self.env.http("POST", "/jobs", {"type": "noop", "secrets": secrets})
                err = self.assertError(r, 400, "invalid_argument")
                self.assertIn("secrets", err["message"])
                self.assertIn(why, err["message"])
        # a schedule's job is shown by GET /schedules: no secrets there
        r = self.env.http("POST", "/schedules", {"name": "s", "cron": "* * * * *",
                                                 "job": {"type": "noop",
                                                         "secrets": {"A": "s-SECRET-11"}}})
        err = self.assertError(r, 400, "invalid_argument")
        self.assertIn("secrets", err["message"])
        self.assertNotIn("SECRET-", err["message"])
        self.assertEqual(sorted(self.env.redis.keys("*")), before)

    def test_schedule_template_redacted(self):
        r = self.env.http("POST", "/schedules", {
            "name": "hook", "cron": "0 0 1 1 *",
            "job": {"type": "http", "payload": {
                "url": "https://u:p-SECRET-12@example.invalid/",
                "headers": {"Authorization": "Bearer sched-SECRET-13"}}}})
        self.assertEqual(r.status, 201, r)
        try:
            for path in ("/schedules", "/schedules/hook"):
                with self.subTest(path):
                    r = self.env.http("GET", path)
                    self.assertEqual(r.status, 200, r)
                    self.assertNotIn(MARK, r.body)
                    self.assertIn(b"[redacted]", r.body)
            # the stored definition keeps them: the jobs it makes need them
            self.assertIn(b"SECRET-13", self.env.redis.execute("HGET", harness.key("schedules"),
                                                               "hook"))
        finally:
            self.env.http("DELETE", "/schedules/hook")


if __name__ == "__main__":
    harness.main()
