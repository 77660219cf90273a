#!/usr/bin/python3
"""E2E: jobq under a Redis ACL user with exactly the rights docs/deploy.md gives it
(its keys ~jobq:*, its channels &jobq:*, the commands it uses; the default user off).
A broker (password in the URL, percent-encoded) and a worker (password from
--redis-password-file) run the whole API: enqueue -> run -> status, progress,
events, bulk, cancel, dead retry and purge, queues, rate limits, schedules that fire,
metrics, and libjobq-client enqueues through the same user; Redis' ACL LOG then
holds no refusal. A wrong password is a clear error in the log, and no crash."""
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import E2ETestCase, wait_until  # noqa: E402

PASSWORD = "p@ss:w%rd/1"  # every character a URL must percent-encode
URL_PASSWORD = "p%40ss%3Aw%25rd%2F1"
ADMIN_PASSWORD = "admin-pw"


def deploy_acl():
    """The ACL rule of docs/deploy.md (the one line that starts with 'user jobq on'),
    so the test runs what the documentation tells people to run."""
    doc = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs",
                       "deploy.md")
    with open(doc) as f:
        for line in f:
            if line.startswith("user jobq on "):
                return line.strip()
    raise AssertionError("docs/deploy.md has no 'user jobq on ...' line")


class AuthRedis(harness.Redis):
    """harness.Redis, authenticated as the admin user on each connection."""

    def execute(self, *args):
        with socket.create_connection((self.host, self.port), timeout=self.timeout) as s:
            s.sendall(self._encode(["AUTH", "admin", ADMIN_PASSWORD]) + self._encode(args))
            with s.makefile("rb") as f:
                self._read(f)
                return self._read(f)


class RedisAclTest(E2ETestCase):
    @classmethod
    def setUpEnv(cls, env):
        acl = deploy_acl().replace(">PASSWORD", ">" + PASSWORD)
        assert ">" + PASSWORD in acl, acl
        conf = os.path.join(env.tmp, "redis-acl.conf")
        with open(conf, "w") as f:
            f.write("user default off\n")
            f.write(acl + "\n")
            f.write("user admin on >%s ~* &* +@all\n" % ADMIN_PASSWORD)
        rdir = env.redis_dir
        os.makedirs(rdir, exist_ok=True)
        env.redis_port = harness.free_port()
        env.redis_proc = env._spawn("redis", [
            harness.redis_server_bin(), conf, "--port", str(env.redis_port), "--bind",
            harness.HOST, "--save", "", "--appendonly", "no", "--dir", rdir,
            "--daemonize", "no"])
        cls.admin = AuthRedis(env.redis_port)
        wait_until(lambda: cls.admin.ping(), 10, "redis-server with an ACL", env=env)
        cls.url = "redis://jobq:%s@%s:%d/0" % (URL_PASSWORD, harness.HOST, env.redis_port)
        pwfile = os.path.join(env.tmp, "redis-password")
        with open(pwfile, "w") as f:
            f.write(PASSWORD + "\n")
        env.start_smtp()
        cls.broker = env.start_broker(extra_args=["--redis-url", cls.url])
        # the worker: the user in the URL, the password from the file (the URL's is wrong)
        cls.worker = env.start_worker(smtp_url=env.smtp_url, extra_args=[
            "--redis-url", "redis://jobq:wrong@%s:%d/0" % (harness.HOST, env.redis_port),
            "--redis-password-file", pwfile, "--queues", "default,acl"])

    def refusals(self):
        """ACL LOG entries other than failed logins."""
        out = []
        for e in self.admin.execute("ACL", "LOG"):
            d = {e[i].decode(): e[i + 1] for i in range(0, len(e), 2)}
            if d["reason"] != b"auth":
                out.append({k: v.decode() if isinstance(v, bytes) else v
                            for k, v in d.items()})
        return out

    def test_whole_api_under_the_acl(self):
        http = self.env.http
        self.assertEqual(self.admin.execute("ACL", "LOG", "RESET"), "OK")
        # enqueue -> process -> status, with progress and its events
        jid = http("POST", "/start-task?duration=1").json()["task_id"]
        conn = http_client_stream(self.env.broker_port, "/jobs/%d/events" % jid)
        job = self.env.wait_job(jid, timeout=20)
        self.assertEqual(job["state"], "completed", job)
        events = read_events(conn)
        self.assertEqual(events[-1][0], "completed", events)
        self.assertEqual(http("GET", "/task-status/%d" % jid).json()["status"], "completed")
        # every job type the worker runs without outside help, and email
        ids = [self.post_job({"type": "hash", "payload": {"data": "a", "repeat": 2}}),
               self.post_job({"type": "noop", "queue": "acl", "priority": 5,
                              "unique_key": "u1"})]
        r = http("POST", "/send-notification?email=a@example.test&content=hi")
        self.assertEqual(r.status, 200, r)
        ids.append(r.json()["task_id"])
        r = http("POST", "/jobs/bulk", [{"type": "noop"}, {"type": "noop"}])
        self.assertEqual(r.status, 201, r)
        ids += r.json()["ids"]
        r = http("POST", "/batches", {"jobs": [{"type": "noop"}], "callback": {"type": "noop"}})
        self.assertEqual(r.status, 201, r)
        batch = r.json()
        ids += batch["ids"]
        for i in ids:
            self.assertEqual(self.env.wait_job(i, timeout=20)["state"], "completed", i)
        self.assertEqual(len(self.env.mails()), 1)
        b = wait_until(lambda: (lambda b: b if b["finished"] else None)(
            http("GET", "/batches/%d" % batch["id"]).json()), 20, "the batch", env=self.env)
        self.assertIsNotNone(b["callback_id"], b)
        self.assertEqual(self.env.wait_job(b["callback_id"], timeout=20)["state"], "completed")
        # a delayed job, listed, then cancelled before it runs
        r = http("POST", "/jobs", {"type": "noop", "run_at": "2099-01-01T00:00:00Z"})
        self.assertEqual(r.json()["state"], "scheduled", r)
        jid = r.json()["id"]
        self.assertEqual(http("GET", "/jobs?state=scheduled").status, 200)
        self.assertEqual(http("DELETE", "/jobs/%d" % jid).json()["state"], "cancelled")
        # a running job cancelled (the worker hears it on its channel)
        jid = http("POST", "/start-task?duration=30").json()["task_id"]
        self.env.wait_job(jid, states=("running",), timeout=20)
        self.assertEqual(http("DELETE", "/jobs/%d" % jid).status, 202)
        self.assertEqual(self.env.wait_job(jid, timeout=20)["state"], "cancelled")
        # dead: a type nobody runs fails for good; retried; purged
        jid = self.post_job({"type": "exec", "payload": {"command": "no_such_type"}, "max_attempts": 1})
        self.assertEqual(self.env.wait_job(jid, timeout=20)["state"], "failed")
        dead = http("GET", "/dead").json()["jobs"]
        self.assertIn(jid, [d["id"] for d in dead])
        self.assertEqual(http("POST", "/dead/%d/retry" % jid).status, 200)
        wait_until(lambda: jid in [d["id"] for d in http("GET", "/dead").json()["jobs"]], 20,
                   "the retried job to die again", env=self.env)
        self.assertEqual(http("DELETE", "/dead").json()["purged"], 1)
        # queues: pause, resume, a rate limit
        self.assertTrue(http("POST", "/queues/acl/pause").json()["paused"])
        self.assertFalse(http("POST", "/queues/acl/resume").json()["paused"])
        r = http("PUT", "/queues/acl/rate-limit", {"limit": 100, "interval_ms": 1000})
        self.assertEqual(r.status, 200, r)
        jid = self.post_job({"type": "noop", "queue": "acl"})
        self.assertEqual(self.env.wait_job(jid, timeout=20)["state"], "completed")
        self.assertEqual(http("DELETE", "/queues/acl/rate-limit").status, 200)
        self.assertEqual(http("GET", "/queues").status, 200)
        self.assertEqual(http("GET", "/queues/acl").status, 200)
        workers = http("GET", "/workers").json()["workers"]
        self.assertEqual(len(workers), 1, workers)
        self.assertIn("jobq_jobs_completed_total", http("GET", "/metrics").body.decode())
        # a schedule that fires every second, run by the worker
        r = http("POST", "/schedules", {"name": "acl-tick", "cron": "* * * * * *",
                                        "job": {"type": "noop"}})
        self.assertEqual(r.status, 201, r)
        s = wait_until(lambda: http("GET", "/schedules/acl-tick").json()["last_job_id"], 15,
                       "the schedule to fire", env=self.env)
        self.assertEqual(self.env.wait_job(s, timeout=20)["state"], "completed")
        self.assertEqual(http("DELETE", "/schedules/acl-tick").status, 204)
        # libjobq-client, the same user
        example = harness._binary("JOBQ_CLIENT_EXAMPLE_BIN", "examples/client_example")
        p = subprocess.run([example, "--redis-url", self.url, '{"type": "noop"}'],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=30,
                           env=harness._clean_env())
        self.assertEqual(p.returncode, 0, p)
        self.assertIn(b"status completed", p.stdout)
        # nothing jobq did was refused, and every key is its own
        self.assertEqual(self.refusals(), [])
        self.assertEqual([k for k in self.admin.keys("*") if not k.startswith("jobq:")], [])
        self.assertNotIn("set-up failed", self.broker.log_text() + self.worker.log_text())

    def test_wrong_password_is_a_clear_error(self):
        bad = "redis://jobq:nope@%s:%d/0" % (harness.HOST, self.env.redis_port)
        w = self.env.start_worker(extra_args=["--redis-url", bad, "--queues", "never"])
        wait_until(lambda: "authentication as user 'jobq' failed: WRONGPASS" in w.log_text(),
                   10, "the worker to say why", env=self.env)
        # no password at all: Redis wants one
        w2 = self.env.start_worker(extra_args=["--redis-url", "redis://%s:%d/0" % (
            harness.HOST, self.env.redis_port), "--queues", "never"])
        wait_until(lambda: "give a password in --redis-url or --redis-password-file"
                   in w2.log_text(), 10, "the second worker to say why", env=self.env)
        # an unreadable password file: refused at start
        try:
            w3 = self.env.start_worker(extra_args=["--redis-password-file", "/nonexistent/pw"])
            w3.popen.wait(timeout=10)
            w3.expected_exit = True
            log = w3.log_text()
        except AssertionError as e:
            log = str(e)
        self.assertIn("cannot read the redis password file '/nonexistent/pw'", log)
        # the client library says it too
        example = harness._binary("JOBQ_CLIENT_EXAMPLE_BIN", "examples/client_example")
        p = subprocess.run([example, "--redis-url", bad, '{"type": "noop"}'],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=30,
                           env=harness._clean_env())
        self.assertEqual(p.returncode, 3, p)
        self.assertIn(b"AUTH failed: WRONGPASS", p.stderr)
        # still running, and they stop cleanly
        self.assertTrue(w.running() and w2.running())
        self.assertEqual(w.stop(), 0, w.log_tail())
        self.assertEqual(w2.stop(), 0, w2.log_tail())
        self.assertNotRegex(w.log_text(), re.compile("AddressSanitizer|runtime error"))


def http_client_stream(port, path):
    c = http.client.HTTPConnection(harness.HOST, port, timeout=20)
    c.request("GET", path)
    r = c.getresponse()
    assert r.status == 200, r.status
    return r


def read_events(r, limit=100):
    events, name = [], None
    while len(events) < limit:
        line = r.readline()
        if not line:
            break
        line = line.decode().rstrip("\n")
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            events.append((name, json.loads(line[6:])))
    return events


if __name__ == "__main__":
    harness.main()
