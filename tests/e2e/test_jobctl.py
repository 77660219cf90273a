#!/usr/bin/python3
"""E2E: the jobctl command-line client against a real broker and worker."""
import hashlib
import json
import os
import re
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import E2ETestCase  # noqa: E402


class JobctlTest(E2ETestCase):
    @classmethod
    def setUpEnv(cls, env):
        harness.require_executable(harness.jobctl_bin(), "jobctl")
        env.start_redis()
        env.start_smtp()
        env.start_broker()
        env.start_worker()

    def status_json(self, jid):
        p = self.jobctl("--json", "status", str(jid))
        self.assertEqual(p.returncode, 0, self.describe(p))
        try:
            return json.loads(p.out)
        except ValueError:
            self.fail("--json status printed no JSON: " + self.describe(p))

    def test_help_and_version(self):
        p = self.jobctl("--help", url=False)
        self.assertEqual(p.returncode, 0, self.describe(p))
        self.assertIn("start-task", p.out + p.err, self.describe(p))
        p = self.jobctl("--version", url=False)
        self.assertEqual(p.returncode, 0, self.describe(p))
        self.assertTrue((p.out + p.err).strip(), self.describe(p))

    def test_unknown_subcommand_fails(self):
        p = self.jobctl("no-such-command")
        self.assertNotEqual(p.returncode, 0, self.describe(p))
        self.assertTrue(p.err.strip(), "no reason on stderr: " + self.describe(p))

    def test_start_task_wait(self):
        t0 = time.monotonic()
        p = self.jobctl("start-task", "--duration", "2", "--wait", timeout=30)
        elapsed = time.monotonic() - t0
        self.assertEqual(p.returncode, 0, self.describe(p))
        self.assertIn("completed", p.out.lower(), self.describe(p))
        self.assertNotIn("\x1b[", p.out, "terminal escapes on a non-tty stdout: "
                         + self.describe(p))
        self.assertGreaterEqual(elapsed, 1.5, "returned before a 2 s task could finish: "
                                + self.describe(p))

    def test_enqueue_then_status_json(self):
        p = self.jobctl("enqueue", "hash", "data=abc", "repeat=3")
        self.assertEqual(p.returncode, 0, self.describe(p))
        m = re.search(r"\b(\d+)\b", p.out)
        self.assertIsNotNone(m, "no job id printed: " + self.describe(p))
        jid = int(m.group(1))
        job = None
        deadline = time.monotonic() + 15
        for _ in range(100):
            job = self.status_json(jid)
            if job.get("state") in ("completed", "failed") or \
                    job.get("status") in ("completed",) or \
                    str(job.get("status", "")).startswith("failed"):
                break
            if time.monotonic() > deadline:
                break
            time.sleep(0.15)
        self.assertIsInstance(job, dict, job)
        self.assertTrue(job.get("state") == "completed" or job.get("status") == "completed",
                        "jobctl --json status %d: %r" % (jid, job))
        if "id" in job:
            self.assertEqual(job["id"], jid, job)
        # The job itself, through the API: data=abc repeat=3 hashed "abcabcabc".
        api = self.assertJSONResponse(self.env.http("GET", "/jobs/%d" % jid), 200)
        self.assertEqual(api["type"], "hash", api)
        self.assertEqual(api["result"],
                         {"sha256": hashlib.sha256(b"abcabcabc").hexdigest()}, api)

    def test_status_plain(self):
        jid = self.post_job({"type": "noop"})
        self.env.wait_job(jid, timeout=10)
        p = self.jobctl("status", str(jid))
        self.assertEqual(p.returncode, 0, self.describe(p))
        self.assertIn("completed", p.out.lower(), self.describe(p))

    def test_url_from_environment(self):
        jid = self.post_job({"type": "noop"})
        self.env.wait_job(jid, timeout=10)
        p = self.jobctl("--json", "status", str(jid), url=False,
                        extra_env={"JOBQ_URL": self.env.broker_url})
        self.assertEqual(p.returncode, 0, self.describe(p))
        self.assertIn("completed", p.out, self.describe(p))

    def test_status_unknown_id_fails(self):
        p = self.jobctl("status", "999999")
        self.assertNotEqual(p.returncode, 0, self.describe(p))
        self.assertTrue(p.err.strip(), "no reason on stderr: " + self.describe(p))

    def test_unreachable_broker_fails(self):
        t0 = time.monotonic()
        p = self.jobctl("--url", "http://127.0.0.1:1", "status", "1", url=False, timeout=30)
        self.assertNotEqual(p.returncode, 0, self.describe(p))
        self.assertTrue(p.err.strip(), "no reason on stderr: " + self.describe(p))
        self.assertLess(time.monotonic() - t0, 20, self.describe(p))

    def test_send_notification(self):
        before = len(self.env.mails())
        p = self.jobctl("send-notification", "bob@example.test", "hi")
        self.assertEqual(p.returncode, 0, self.describe(p))

        def bob_mail():
            new = [m for m in self.env.mails()[before:]
                   if "bob@example.test" in str(m[1]["To"] or "")]
            return new or None
        mails = harness.wait_until(bob_mail, 15, "an email to bob@example.test", env=self.env)
        self.assertEqual(len(mails), 1, [m[3] for m in mails])
        msg = mails[0][1]
        part = msg.get_body(preferencelist=("plain",)) if msg.is_multipart() else msg
        self.assertIn("hi", part.get_content(), mails[0][3])


if __name__ == "__main__":
    harness.main()
