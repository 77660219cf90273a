#!/usr/bin/python3
"""E2E: the seed's notifications. POST /send-notification(-sync) queues an
email job that a worker delivers over SMTP (libcurl) to a real SMTP sink."""
import datetime
import email.utils
import os
import re
import sys
import time
import urllib.parse

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import E2ETestCase, is_int  # noqa: E402

MESSAGE_ID_RE = re.compile(r"^<[^<>@\s]+@[^<>@\s]+>$")


def query(**params):
    return urllib.parse.urlencode(params, quote_via=urllib.parse.quote)


class NotifyMixin:
    def notify(self, path, to, content):
        r = self.env.http("POST", "%s?%s" % (path, query(email=to, content=content)))
        body = self.assertJSONResponse(r, 200)
        self.assertEqual(set(body), {"message", "task_id"}, r)
        self.assertEqual(body["message"], "Notification sent in the background", r)
        self.assertTrue(is_int(body["task_id"]) and body["task_id"] > 0, r)
        return body["task_id"]

    def job(self, tid):
        job = self.assertJSONResponse(self.env.http("GET", "/jobs/%d" % tid), 200)
        self.assertJobShape(job)
        return job


def text_body(msg):
    """The text/plain body of a message, decoded, with CRLF turned into LF."""
    part = msg.get_body(preferencelist=("plain",)) if msg.is_multipart() else msg
    if part is None:
        raise AssertionError("no text/plain part in:\n%s" % msg.as_string())
    return part.get_content().replace("\r\n", "\n")


class EmailTest(NotifyMixin, E2ETestCase):
    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_smtp()
        env.start_broker()
        env.start_worker()

    def deliver(self, path, to, content, sync):
        """Sends through `path`, waits for completed, checks the one message the
        sink got and the job's record; returns (message, body text)."""
        before = len(self.env.mails())
        tid = self.notify(path, to, content)
        status = self.env.wait_task_status(
            tid, lambda s: s == "completed" or s.startswith("failed") or s == "cancelled",
            timeout=15, what="email task %d to finish" % tid)
        self.assertEqual(status, "completed")
        # The sink stores the message before it answers 250, so it is there now.
        new = self.env.mails()[before:]
        self.assertEqual(len(new), 1, "expected exactly one new message, got %d: %r"
                         % (len(new), [(n, raw[:300]) for n, _, _, raw in new]))
        name, msg, envelope, raw = new[0]

        self.assertEqual(envelope.get("mail_from"), "jobq@example.test", envelope)
        self.assertEqual(envelope.get("rcpt_tos"), [to], envelope)
        for h in ("From", "To", "Subject", "Date", "Message-ID"):
            self.assertIsNotNone(msg[h], "header %s missing in:\n%r" % (h, raw))
        self.assertIn(to, str(msg["To"]), raw)
        self.assertIn("jobq@example.test", str(msg["From"]), raw)
        self.assertEqual(str(msg["Subject"]), "Notification", raw)
        sent = email.utils.parsedate_to_datetime(str(msg["Date"]))
        self.assertIsNotNone(sent.tzinfo, "Date without a zone: %r" % msg["Date"])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.assertLess(abs((now - sent).total_seconds()), 300, "Date: %s" % msg["Date"])
        message_id = str(msg["Message-ID"]).strip()
        self.assertRegex(message_id, MESSAGE_ID_RE)
        body = text_body(msg)

        job = self.job(tid)
        self.assertEqual(job["type"], "email", job)
        self.assertEqual(job["state"], "completed", job)
        self.assertEqual(job["attempts"], 1, job)
        payload = dict(job["payload"])
        self.assertEqual(payload.pop("sync", False), sync, job)
        self.assertEqual(payload, {"to": to, "subject": "Notification", "body": content}, job)
        self.assertEqual(job["result"], {"sent_to": to, "message_id": message_id}, job)
        self.assertIsNone(job["error"], job)
        return msg, body

    def test_rejection_shows_the_servers_code_and_reason(self):
        """A recipient the server refuses: the error carries its reply (550 5.1.1 ...),
        not only libcurl's own text, on the loop and on the pool alike."""
        for path in ("/send-notification", "/send-notification-sync"):
            with self.subTest(path=path):
                tid = self.notify(path, "rejected@example.test", "hello")
                job = self.env.wait_job(tid, states=("failed", "completed"), timeout=60)
                self.assertEqual(job["state"], "failed", job)
                self.assertIn("the server answered '550 5.1.1 <rejected@example.test>: "
                              "Recipient address rejected: User unknown'", job["error"], job)
                # a 5yz reply is a refusal for good: dead at once, not retried
                self.assertEqual(job["attempts"], 1, job)

    def test_a_transient_refusal_is_retried(self):
        """A 4yz reply (mailbox busy) is transient: the job is tried again while attempts
        remain, and fails with the server's reply once they are used up."""
        r = self.env.http("POST", "/jobs", {
            "type": "email", "max_attempts": 2,
            "payload": {"to": "busy@example.test", "subject": "s", "body": "b"}})
        jid = self.assertJSONResponse(r, 201)["id"]
        job = self.env.wait_job(jid, states=("failed", "completed"), timeout=60)
        self.assertEqual(job["state"], "failed", job)
        self.assertEqual(job["attempts"], 2, job)
        self.assertIn("the server answered '450 4.2.1", job["error"], job)

    def test_send_notification(self):
        msg, body = self.deliver("/send-notification", "alice@example.test", "hello world",
                                 sync=False)
        self.assertIn("hello world", body)

    def test_send_notification_sync(self):
        msg, body = self.deliver("/send-notification-sync", "alice@example.test",
                                 "hello world", sync=True)
        self.assertIn("hello world", body)

    def test_line_with_a_single_dot_is_not_the_end_of_data(self):
        content = "first line\n.\nlast line"
        msg, body = self.deliver("/send-notification", "dot@example.test", content, sync=False)
        self.assertIn("first line\n.\nlast line", body)

    def test_utf8_content(self):
        content = "héllo wörld ✓"
        msg, body = self.deliver("/send-notification", "utf8@example.test", content, sync=False)
        self.assertIn(content, body, "UTF-8 content mangled; message:\n%s" % msg.as_string())


class EmailFailureTest(NotifyMixin, E2ETestCase):
    """The worker's SMTP server is a closed port: the job fails after its
    retries, with a reason, and the worker keeps going."""

    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()
        closed = harness.free_port()
        env.start_worker(smtp_url="smtp://127.0.0.1:%d" % closed)

    def test_unreachable_smtp_server_fails_with_a_reason(self):
        tids = [self.notify("/send-notification", "alice@example.test", "hello world"),
                self.notify("/send-notification-sync", "alice@example.test", "hello world")]
        seen = {t: [] for t in tids}
        final = {}
        deadline = time.monotonic() + 60
        for _ in range(1200):
            for t in tids:
                if t in final:
                    continue
                r = self.env.http("GET", "/task-status/%d" % t)
                body = self.assertJSONResponse(r, 200)
                self.assertEqual(set(body), {"task_id", "status"}, r)
                s = body["status"]
                if not seen[t] or seen[t][-1] != s:
                    seen[t].append(s)
                if s.startswith("failed") or s in ("completed", "cancelled"):
                    final[t] = s
            if len(final) == len(tids) or time.monotonic() > deadline:
                break
            self.env.check_alive()
            time.sleep(0.1)
        for t in tids:
            self.assertIn(t, final, "task %d not finished after 60 s; statuses: %r" % (t, seen[t]))
            s = final[t]
            self.assertTrue(s.startswith("failed: "), "task %d ended %r; statuses %r"
                            % (t, s, seen[t]))
            self.assertTrue(s[len("failed: "):].strip(), "empty failure reason: %r" % s)
            for x in seen[t]:
                self.assertTrue(x in ("pending", "running") or x.startswith("failed: "),
                                "unexpected status %r in %r" % (x, seen[t]))
            job = self.job(t)
            self.assertEqual(job["state"], "failed", job)
            self.assertEqual(job["status"], s, job)
            self.assertEqual(job["max_attempts"], 3, job)
            self.assertEqual(job["attempts"], 3, "a failed job has used all its attempts: %r"
                             % job)
            self.assertIsInstance(job["error"], str, job)
            self.assertTrue(job["error"].strip(), job)
            self.assertIsNone(job["result"], job)
            self.assertIsNotNone(job["finished_at"], job)
            self.assertIsNotNone(self.env.redis.execute("ZSCORE", harness.dead_key(), str(t)),
                                 "failed job %d is not in the dead set jobq:dead" % t)
        # The worker is still alive and working.
        r = self.env.http("POST", "/jobs", {"type": "noop"})
        nid = self.assertJSONResponse(r, 201)["id"]
        self.assertEqual(self.env.wait_job(nid, timeout=10)["state"], "completed")


if __name__ == "__main__":
    harness.main()
