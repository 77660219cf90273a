#!/usr/bin/python3
"""E2E fault injection: a job that always fails (DESIGN.md, Guarantees:
retries with exponential backoff and jitter up to max_attempts, then failed
and listed in the dead set, from where it can be retried or purged; the error
of every attempt is kept).

* An email job whose worker's SMTP server is a closed port, max_attempts 4:
  exactly 4 attempts, 4 errors with growing gaps, then failed and in
  GET /dead. A worker with a working SMTP server then sends it after
  POST /dead/{id}/retry.
* DELETE /dead purges every dead job; POST /dead/{unknown}/retry is 404.
"""
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import FreshEnvTestCase, is_int, wait_until  # noqa: E402

RETRY_BASE_MS = 200
FAST = ["--heartbeat-ms", "200", "--lease-ms", "2000", "--retry-base-ms", str(RETRY_BASE_MS),
        "--grace-ms", "300", "--smtp-timeout-ms", "3000", "--log-level", "debug"]
MAX_ATTEMPTS = 4
# Time a retry may take beyond its backoff (promotion, fetch, the failed connect).
RETRY_SLACK_MS = 2000


class RetriesTest(FreshEnvTestCase):
    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_smtp()
        env.start_broker()

    def job(self, jid):
        return self.assertJSONResponse(self.env.http("GET", "/jobs/%d" % jid), 200)

    def dead(self):
        body = self.assertJSONResponse(self.env.http("GET", "/dead"), 200)
        self.assertEqual(set(body), {"jobs"}, body)
        return body["jobs"]

    def test_failing_email_retries_then_dead_then_retried_from_dead(self):
        env = self.env
        closed = "smtp://%s:%d" % (harness.HOST, harness.free_port())
        w1 = env.start_worker(smtp_url=closed, extra_args=FAST)
        to = "alice@example.test"
        jid = self.post_job({"type": "email", "max_attempts": MAX_ATTEMPTS,
                             "payload": {"to": to, "subject": "retry me", "body": "hello"}})
        job = env.wait_job(jid, states=("failed", "completed", "cancelled"), timeout=20)
        self.assertEqual(job["state"], "failed", job)
        self.assertEqual(job["attempts"], MAX_ATTEMPTS, job)
        self.assertEqual(job["max_attempts"], MAX_ATTEMPTS, job)
        self.assertTrue(isinstance(job["error"], str) and job["error"], job)
        self.assertIsNone(job["result"], job)
        self.assertTrue(job["status"].startswith("failed"), job)

        errors = job["errors"]
        self.assertEqual(len(errors), MAX_ATTEMPTS, "errors: %r" % errors)
        for n, e in enumerate(errors, 1):
            self.assertEqual(e.get("attempt"), n, errors)
            self.assertTrue(isinstance(e.get("error"), str) and e["error"], errors)
            self.assertTrue(is_int(e.get("at")), errors)
        self.assertEqual(errors[-1]["error"], job["error"], job)
        at = [e["at"] for e in errors]
        gaps = [b - a for a, b in zip(at, at[1:])]
        sys.stderr.write("\nretry gaps (ms) with --retry-base-ms %d: %r (nominal %r, +-25%%)\n"
                         % (RETRY_BASE_MS, gaps,
                            [RETRY_BASE_MS << i for i in range(len(gaps))]))
        for i, g in enumerate(gaps):
            nominal = RETRY_BASE_MS << i
            self.assertGreaterEqual(g, nominal * 3 // 4,
                                    "retry %d came before its backoff: gaps %r" % (i + 1, gaps))
            self.assertLessEqual(g, nominal * 5 // 4 + RETRY_SLACK_MS,
                                 "retry %d came far after its backoff: gaps %r" % (i + 1, gaps))
        self.assertGreater(gaps[2], gaps[0], "backoff does not grow: gaps %r" % gaps)
        # Exactly 4 attempts: none after the last one, none logged beyond 4/4.
        time.sleep(4 * RETRY_BASE_MS / 1000)
        self.assertEqual(self.job(jid)["attempts"], MAX_ATTEMPTS)
        log = w1.log_text()
        for n in range(1, MAX_ATTEMPTS + 1):
            self.assertIn("job %d (email, queue default) attempt %d/%d failed" %
                          (jid, n, MAX_ATTEMPTS), log)
        self.assertNotIn("attempt %d/%d" % (MAX_ATTEMPTS + 1, MAX_ATTEMPTS), log)
        self.assertEqual(env.mails(), [])

        dead = self.dead()
        self.assertEqual([d["id"] for d in dead], [jid], dead)
        d = dead[0]
        self.assertEqual(set(d), {"id", "failed_at", "type", "queue", "attempts", "error"}, d)
        self.assertEqual((d["type"], d["queue"], d["attempts"], d["error"]),
                         ("email", "default", MAX_ATTEMPTS, job["error"]), d)
        harness.parse_rfc3339(d["failed_at"])

        # A worker with a working SMTP server; the failing one goes away.
        rc = w1.stop()
        self.assertEqual(rc, 0, w1.log_tail())
        w2 = env.start_worker(extra_args=FAST)  # the sink
        r = env.http("POST", "/dead/%d/retry" % jid)
        self.assertEqual(self.assertJSONResponse(r, 200), {"id": jid, "state": "pending"})
        job = env.wait_job(jid, timeout=15)
        self.assertEqual(job["state"], "completed", job)
        self.assertEqual(job["attempts"], 1, "attempts are reset by a retry from dead: %r" % job)
        self.assertEqual(job["result"]["sent_to"], to, job)
        self.assertEqual(len(job["errors"]), MAX_ATTEMPTS,
                         "the errors of earlier attempts stay in the history: %r" % job)
        self.assertEqual(self.dead(), [])
        mails = wait_until(lambda: [m for m in env.mails() if to in m[2].get("rcpt_tos", [])],
                           10, "the mail to arrive at the sink", env=env)
        self.assertEqual(len(mails), 1, mails)
        self.assertEqual(mails[0][1]["Subject"], "retry me")
        self.assertIn("hello", mails[0][1].get_body().get_content())
        self.assertIn("job %d (email, queue default) completed" % jid, w2.log_text())
        # No longer dead: a second retry is 404.
        self.assertError(env.http("POST", "/dead/%d/retry" % jid), 404, "not_found")

    def test_history_numbers_attempts_across_dead_retries(self):
        """A job retried from the dead set that fails again: its error history goes on
        counting (attempts 3 and 4 after 1 and 2); it said attempt 1 and 2 again."""
        env = self.env
        env.start_worker(extra_args=FAST)
        url = "http://%s:%d/" % (harness.HOST, harness.free_port())  # refused: retried
        jid = self.post_job({"type": "http", "max_attempts": 2, "payload": {"url": url}})
        job = env.wait_job(jid, states=("failed", "completed", "cancelled"), timeout=20)
        self.assertEqual([e["attempt"] for e in job["errors"]], [1, 2], job)
        r = env.http("POST", "/dead/%d/retry" % jid)
        self.assertEqual(self.assertJSONResponse(r, 200), {"id": jid, "state": "pending"})
        job = wait_until(lambda: (lambda j: j if j["state"] == "failed" and len(j["errors"]) == 4
                                  else None)(self.job(jid)), 20, "the second life's end", env=env)
        self.assertEqual([e["attempt"] for e in job["errors"]], [1, 2, 3, 4], job)
        self.assertEqual(job["attempts"], 2, job)  # this life's, against max_attempts

    def test_purge_and_unknown_ids(self):
        env = self.env
        env.start_worker(extra_args=FAST)
        self.assertError(env.http("POST", "/dead/999999/retry"), 404, "not_found")
        # Jobs that cannot run go straight to dead.
        ids = [self.post_job({"type": "exec", "payload": {"command": "no_such_type"}, "max_attempts": 3}) for _ in range(3)]
        for jid in ids:
            job = env.wait_job(jid, timeout=10)
            self.assertEqual(job["state"], "failed", job)
            self.assertEqual(job["attempts"], 1, job)
        self.assertEqual(sorted(d["id"] for d in self.dead()), sorted(ids))
        ok = self.post_job({"type": "noop"})
        self.assertEqual(env.wait_job(ok, timeout=10)["state"], "completed")

        r = env.http("DELETE", "/dead")
        self.assertEqual(self.assertJSONResponse(r, 200), {"purged": len(ids)})
        self.assertEqual(self.dead(), [])
        for jid in ids:
            self.assertError(env.http("GET", "/jobs/%d" % jid), 404, "not_found")
            self.assertError(env.http("POST", "/dead/%d/retry" % jid), 404, "not_found")
        self.assertEqual(env.redis.execute("ZCARD", harness.dead_key()), 0)
        # The completed job is not touched by the purge.
        self.assertEqual(self.job(ok)["state"], "completed")
        # Purging an empty set.
        r = env.http("DELETE", "/dead")
        self.assertEqual(self.assertJSONResponse(r, 200), {"purged": 0})


if __name__ == "__main__":
    harness.main()
