#!/usr/bin/python3
"""E2E: jobctl's dead-letter commands (dead list / retry / purge) and watch,
against a real broker and worker. A job of a type no worker knows fails at
once, for good, and so lands in the dead set."""
import json
import os
import re
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import E2ETestCase, is_int  # noqa: E402

UNKNOWN_TYPE = "no_such_type"
COLUMNS = 80  # the table's width when stdout is not a terminal


class JobctlDeadTest(E2ETestCase):
    @classmethod
    def setUpEnv(cls, env):
        harness.require_executable(harness.jobctl_bin(), "jobctl")
        env.start_redis()
        env.start_broker()
        env.start_worker()

    # -- helpers -------------------------------------------------------------

    def assertExit(self, p, code):
        self.assertEqual(p.returncode, code, self.describe(p))

    def dead_ids(self):
        """The ids in the dead set, newest first, through the API."""
        body = self.assertJSONResponse(self.env.http("GET", "/dead?limit=1000"), 200)
        return [j["id"] for j in body["jobs"]]

    def make_dead_job(self):
        """A job of an unknown type (as an older broker stored it: the broker refuses one
        now) and waits until it is in the dead set."""
        jid = self.post_unchecked("default", type_=UNKNOWN_TYPE, payload={"n": 1})
        job = self.env.wait_job(jid, states=("failed",), timeout=15)
        self.assertIn("unknown job type", job["error"] or "", job)
        harness.wait_until(lambda: jid in self.dead_ids(), 10,
                           "job %d in GET /dead" % jid, env=self.env)
        return jid

    def start_task(self, duration):
        body = self.assertJSONResponse(
            self.env.http("POST", "/start-task?duration=%d" % duration), 200)
        self.assertTrue(is_int(body.get("task_id")), body)
        return body["task_id"]

    # -- dead ----------------------------------------------------------------

    def test_dead_flow(self):
        jid = self.make_dead_job()

        # list: a table with a header and the job's row, within 80 columns
        p = self.jobctl("dead", "list")
        self.assertExit(p, 0)
        self.assertEqual(p.err, "", self.describe(p))
        lines = p.out.splitlines()
        self.assertRegex(lines[0], r"^ID +FAILED AT +TYPE +QUEUE +ATTEMPTS +ERROR$",
                         self.describe(p))
        rows = [i for i, ln in enumerate(lines) if i > 0 and ln.split()[0] == str(jid)]
        self.assertEqual(len(rows), 1, self.describe(p))
        # the type, if need be, is cut to fit in 80 columns; the error is whole, wrapped in
        # its column (the lines after the row that start with spaces)
        row = lines[rows[0]]
        m = re.match(r"^%d +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z +"
                     r"(%s|no_\S*\.\.\.) +default +1 +(\S.*)$" % (jid, UNKNOWN_TYPE), row)
        self.assertIsNotNone(m, self.describe(p))
        start = row.index(m.group(2))
        error = [m.group(2)]
        for ln in lines[rows[0] + 1:]:
            if not ln.startswith(" " * start):
                break
            error.append(ln[start:])
        self.assertEqual(" ".join(error), "unknown job type '%s'" % UNKNOWN_TYPE,
                         self.describe(p))
        for ln in lines:
            self.assertLessEqual(len(ln), COLUMNS, "row wider than %d columns: %s"
                                 % (COLUMNS, self.describe(p)))
        self.assertNotIn("\x1b", p.out, self.describe(p))

        # --json: the broker's answer; --limit 1 is the newest
        p = self.jobctl("--json", "dead", "list", "--limit", "1", "--offset", "0")
        self.assertExit(p, 0)
        listed = json.loads(p.out)
        self.assertEqual(len(listed["jobs"]), 1, self.describe(p))
        self.assertEqual(listed["jobs"][0]["id"], self.dead_ids()[0], self.describe(p))
        p = self.jobctl("dead", "list", "--json")
        self.assertExit(p, 0)
        mine = [j for j in json.loads(p.out)["jobs"] if j["id"] == jid]
        self.assertEqual(len(mine), 1, self.describe(p))
        self.assertEqual((mine[0]["type"], mine[0]["queue"], mine[0]["attempts"], mine[0]["error"]),
                         (UNKNOWN_TYPE, "default", 1, "unknown job type '%s'" % UNKNOWN_TYPE),
                         self.describe(p))

        # status shows the error of each attempt
        p = self.jobctl("status", str(jid))
        self.assertExit(p, 0)
        self.assertRegex(p.out, r"(?m)^errors +attempt 1  \S+Z  unknown job type '%s'$"
                         % UNKNOWN_TYPE, self.describe(p))
        self.assertRegex(p.out, r"(?m)^recoveries +0$", self.describe(p))

        # retry: requeued, and it fails again at once (its type is still unknown)
        p = self.jobctl("dead", "retry", str(jid))
        self.assertExit(p, 0)
        self.assertEqual(p.out, "job %d requeued\n" % jid, self.describe(p))
        self.assertEqual(p.err, "", self.describe(p))

        def failed_twice():
            job = self.assertJSONResponse(self.env.http("GET", "/jobs/%d" % jid), 200)
            return job if job["state"] == "failed" and len(job["errors"]) == 2 else None
        harness.wait_until(failed_twice, 15, "job %d to fail again" % jid, env=self.env)
        harness.wait_until(lambda: jid in self.dead_ids(), 10,
                           "job %d back in GET /dead" % jid, env=self.env)
        p = self.jobctl("status", str(jid))
        self.assertExit(p, 0)
        # the history numbers attempts across the retry from the dead set: 1, then 2
        self.assertEqual(re.findall(r"(?m)^(?:errors|) +attempt (\d+)  ", p.out), ["1", "2"],
                         self.describe(p))

        # purge --yes empties the set and deletes the jobs
        before = len(self.dead_ids())
        self.assertGreaterEqual(before, 1)
        p = self.jobctl("dead", "purge", "--yes")
        self.assertExit(p, 0)
        self.assertEqual(p.out, "purged %d jobs\n" % before, self.describe(p))
        self.assertEqual(self.dead_ids(), [])
        p = self.jobctl("dead", "list")
        self.assertExit(p, 0)
        self.assertEqual(p.out, "no dead jobs\n", self.describe(p))
        self.assertEqual(self.env.http("GET", "/jobs/%d" % jid).status, 404)

    def test_dead_purge_without_yes_and_no_terminal_exits_2(self):
        jid = self.make_dead_job()
        p = self.jobctl("dead", "purge")  # stdin is /dev/null
        self.assertExit(p, 2)
        self.assertEqual(p.out, "", self.describe(p))
        self.assertIn("--yes", p.err, self.describe(p))
        self.assertIn(jid, self.dead_ids(), "purged without --yes")

    def test_dead_retry_unknown_id_exits_1(self):
        p = self.jobctl("dead", "retry", "999999")
        self.assertExit(p, 1)
        self.assertEqual(p.out, "", self.describe(p))
        self.assertIn("not_found: job 999999 is not in the dead set (HTTP 404)", p.err,
                      self.describe(p))

    # -- watch ---------------------------------------------------------------

    def test_watch_progress_job_completes(self):
        tid = self.start_task(2)
        t0 = time.monotonic()
        p = self.jobctl("watch", str(tid))
        elapsed = time.monotonic() - t0
        self.assertExit(p, 0)
        self.assertEqual(p.err, "", self.describe(p))
        lines = p.out.splitlines()
        self.assertEqual(lines[-1], "task %d: completed" % tid, self.describe(p))
        self.assertTrue(any(re.match(r"^task %d: progress: [0-2]/2$" % tid, ln)
                            for ln in lines), self.describe(p))
        self.assertEqual(len(lines), len(set(lines)), "a status printed twice: "
                         + self.describe(p))
        self.assertNotIn("\x1b", p.out, self.describe(p))
        self.assertGreaterEqual(elapsed, 1.0, self.describe(p))

    def test_watch_failed_job_exits_1(self):
        jid = self.post_unchecked("default", type_=UNKNOWN_TYPE)
        p = self.jobctl("watch", str(jid))
        self.assertExit(p, 1)
        self.assertIn("task %d ended as 'failed: unknown job type" % jid, p.err,
                      self.describe(p))

    def test_watch_unknown_task_exits_1(self):
        p = self.jobctl("watch", "999999")
        self.assertExit(p, 1)
        self.assertEqual(p.err, "jobctl: task 999999 not found\n", self.describe(p))

    def test_watch_wait_timeout_exits_1(self):
        tid = self.start_task(3)
        p = self.jobctl("watch", str(tid), "--wait-timeout", "1")
        self.assertExit(p, 1)
        self.assertRegex(p.err, r"^jobctl: task %d is still '[^']+' after 1 s \(--wait-timeout\)\n$"
                         % tid, self.describe(p))
        # the task goes on: let it end before tear-down stops the worker
        self.env.wait_task_status(tid, lambda s: s == "completed", timeout=15)


if __name__ == "__main__":
    harness.main()
