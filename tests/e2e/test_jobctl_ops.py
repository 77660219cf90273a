#!/usr/bin/python3
"""E2E: jobctl's operations commands (cancel, queues, pause/resume, workers,
--idempotency-key) against a real broker and worker, and the bash completion
of deploy/jobctl.bash-completion. The worker serves queue `default` only, so
a job on any other queue stays pending."""
import json
import os
import re
import subprocess
import sys
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import E2ETestCase, is_int  # noqa: E402

IDLE_QUEUE = "ops_idle"  # no worker serves it
COLUMNS = 80             # the tables' width when stdout is not a terminal
COMPLETION = os.path.join(harness.REPO, "deploy", "jobctl.bash-completion")
QUEUE_HEAD = r"^NAME +PENDING +SCHEDULED +RUNNING +COMPLETED +FAILED +PAUSED +RATE$"
WORKER_HEAD = r"^ID +HOST +PID +QUEUES +RUNNING +LAST BEAT +STARTED$"


class JobctlOpsTest(E2ETestCase):
    @classmethod
    def setUpEnv(cls, env):
        harness.require_executable(harness.jobctl_bin(), "jobctl")
        env.start_redis()
        env.start_broker()
        cls.worker = env.start_worker()

    # -- helpers -------------------------------------------------------------

    def assertOK(self, p, out=None):
        self.assertEqual(p.returncode, 0, self.describe(p))
        self.assertEqual(p.err, "", self.describe(p))
        if out is not None:
            self.assertEqual(p.out, out, self.describe(p))

    def assertFails(self, p, code, err_part):
        self.assertEqual(p.returncode, code, self.describe(p))
        self.assertEqual(p.out, "", self.describe(p))
        self.assertIn(err_part, p.err, self.describe(p))

    def enqueue(self, *args):
        """jobctl enqueue ...; returns (id, the state printed)."""
        p = self.jobctl("enqueue", *args)
        self.assertOK(p)
        m = re.match(r"^job (\d+) (\S+)\n$", p.out)
        self.assertTrue(m, self.describe(p))
        return int(m.group(1)), m.group(2)

    def get_job(self, jid):
        return self.assertJSONResponse(self.env.http("GET", "/jobs/%d" % jid), 200)

    def queue_row(self, out, name):
        """The cells of the row of queue name in a queues table."""
        lines = out.splitlines()
        self.assertRegex(lines[0], QUEUE_HEAD, out)
        for ln in lines:
            self.assertLessEqual(len(ln), COLUMNS, out)
        rows = [ln.split() for ln in lines[1:] if ln.split()[0] == name]
        self.assertEqual(len(rows), 1, "no single row for %r in %r" % (name, out))
        return rows[0]

    # -- cancel --------------------------------------------------------------

    def test_cancel_pending_job(self):
        jid, state = self.enqueue("noop", "--queue", IDLE_QUEUE)
        self.assertEqual(state, "pending")
        self.assertOK(self.jobctl("cancel", str(jid)), "job %d cancelled\n" % jid)
        job = self.get_job(jid)
        self.assertEqual((job["state"], job["attempts"]), ("cancelled", 0), job)

        # a second cancel: the job has finished, the broker says 409
        self.assertFails(self.jobctl("cancel", str(jid)), 1,
                         "jobctl: conflict: job %d has already finished (HTTP 409)" % jid)
        self.assertFails(self.jobctl("cancel", "999999"), 1, "(HTTP 404)")
        self.assertFails(self.jobctl("cancel", "x"), 2, "invalid job id 'x'")

    def test_cancel_running_job(self):
        p = self.jobctl("start-task", "--duration", "30")
        self.assertOK(p)
        m = re.match(r"^task (\d+) pending\n$", p.out)
        self.assertTrue(m, self.describe(p))
        tid = int(m.group(1))
        self.env.wait_task_status(tid, lambda s: s == "running" or s.startswith("progress"),
                                  timeout=10)
        t0 = time.monotonic()
        self.assertOK(self.jobctl("cancel", str(tid)),
                      "job %d is running: cancel requested\n" % tid)
        job = self.env.wait_job(tid, states=("cancelled", "completed", "failed"), timeout=5)
        self.assertEqual(job["state"], "cancelled", job)
        self.assertLess(time.monotonic() - t0, 5)
        p = self.jobctl("--json", "cancel", str(tid))
        self.assertEqual(p.returncode, 1, self.describe(p))
        self.assertIn("conflict", p.err, self.describe(p))

    # -- queues --------------------------------------------------------------

    def test_queues_counts(self):
        queue = "ops_counts"
        ids = [self.enqueue("noop", "--queue", queue)[0] for _ in range(3)]
        self.assertOK(self.jobctl("cancel", str(ids[0])))

        p = self.jobctl("queues")
        self.assertOK(p)
        row = self.queue_row(p.out, queue)
        # NAME PENDING SCHEDULED RUNNING COMPLETED FAILED PAUSED RATE
        self.assertEqual(row, [queue, "2", "0", "0", "0", "0", "no", "-"], self.describe(p))
        self.queue_row(p.out, "default")

        p = self.jobctl("queues", queue)
        self.assertOK(p)
        fields = dict(ln.split(": ", 1) for ln in p.out.splitlines())
        self.assertEqual(list(fields)[:11], ["name", "pending", "scheduled", "running",
                                             "completed", "failed", "retried", "cancelled",
                                             "recovered", "enqueued", "paused"], p.out)
        self.assertEqual((fields["name"], fields["pending"], fields["cancelled"],
                          fields["enqueued"], fields["paused"]),
                         (queue, "2", "1", "3", "false"), self.describe(p))

        # --json is the broker's answer
        p = self.jobctl("queues", queue, "--json")
        self.assertOK(p)
        self.assertEqual(json.loads(p.out), self.assertJSONResponse(
            self.env.http("GET", "/queues/%s" % queue), 200))
        p = self.jobctl("--json", "queues")
        self.assertOK(p)
        names = [q["name"] for q in json.loads(p.out)["queues"]]
        self.assertIn(queue, names, self.describe(p))

        self.assertFails(self.jobctl("queues", "never_used"), 1,
                         "jobctl: not_found: no queue 'never_used' (HTTP 404)")
        self.assertFails(self.jobctl("queues", "a/b"), 2, "invalid queue 'a/b'")

    # -- pause / resume ------------------------------------------------------

    def test_pause_resume(self):
        try:
            self.assertOK(self.jobctl("pause", "default"), "queue default paused\n")
            p = self.jobctl("queues", "default")
            self.assertOK(p)
            self.assertIn("\npaused: true\n", p.out, self.describe(p))
            self.assertEqual(self.queue_row(self.jobctl("queues").out, "default")[-2], "yes")

            jid, _ = self.enqueue("noop")
            time.sleep(1.0)  # the worker is idle, and must leave the job alone
            self.assertEqual(self.get_job(jid)["state"], "pending")
        finally:
            p = self.jobctl("resume", "default")
        self.assertOK(p, "queue default resumed\n")
        self.assertEqual(self.env.wait_job(jid, timeout=10)["state"], "completed")
        p = self.jobctl("queues", "default")
        self.assertIn("\npaused: false\n", p.out, self.describe(p))

        self.assertFails(self.jobctl("pause", "bad name"), 2, "invalid queue 'bad name'")
        self.assertFails(self.jobctl("resume"), 2, "'resume' needs 1 argument")

    # -- workers -------------------------------------------------------------

    def test_workers_lists_the_worker(self):
        wid = self.env.worker_id(self.worker)
        pid = self.worker.pid
        p = self.jobctl("--json", "workers")
        self.assertOK(p)
        listed = {w["id"]: w for w in json.loads(p.out)["workers"]}
        self.assertIn(wid, listed, self.describe(p))
        self.assertEqual(listed[wid]["pid"], pid)

        p = self.jobctl("workers")
        self.assertOK(p)
        lines = p.out.splitlines()
        self.assertRegex(lines[0], WORKER_HEAD, self.describe(p))
        for ln in lines:
            self.assertLessEqual(len(ln), COLUMNS, self.describe(p))
        # the id and host may be cut to fit; the pid never is
        rows = [ln for ln in lines[1:] if re.search(r"  %d  " % pid, ln)]
        self.assertEqual(len(rows), 1, self.describe(p))
        m = re.match(r"^(\S+) +(\S+) +%d +default +(\d+)/100 +(\d+)\.(\d)s ago +"
                     r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)$" % pid, rows[0])
        self.assertTrue(m, self.describe(p))
        shown_id = m.group(1)
        self.assertTrue(shown_id == wid or (shown_id.endswith("...")
                                            and wid.startswith(shown_id[:-3])),
                        "id %r shown as %r" % (wid, shown_id))
        self.assertLess(int(m.group(4)), 5, "last beat %s.%s s ago" % (m.group(4), m.group(5)))

    # -- --idempotency-key ---------------------------------------------------

    def test_idempotency_key_gives_one_job(self):
        key = "ops-%d" % time.time_ns()
        jid, state = self.enqueue("noop", "--queue", IDLE_QUEUE, "--idempotency-key", key)
        self.assertEqual(state, "pending")
        p = self.jobctl("enqueue", "noop", "--queue", IDLE_QUEUE, "--idempotency-key", key)
        self.assertOK(p, "job %d (already enqueued with this key) pending\n" % jid)
        p = self.jobctl("--json", "enqueue", "noop", "--idempotency-key", key)
        self.assertOK(p)
        self.assertEqual(json.loads(p.out), {"id": jid, "state": "pending"}, self.describe(p))
        self.assertOK(self.jobctl("cancel", str(jid)))

        # start-task answers the first task again
        tasks = []
        for _ in range(2):
            p = self.jobctl("start-task", "--duration", "0", "--idempotency-key", key + "-t")
            self.assertOK(p)
            m = re.match(r"^task (\d+) \S+\n$", p.out)
            self.assertTrue(m, self.describe(p))
            tasks.append(int(m.group(1)))
        self.assertEqual(tasks[0], tasks[1], tasks)
        self.assertTrue(is_int(tasks[0]))
        self.env.wait_job(tasks[0], timeout=10)

        self.assertFails(self.jobctl("enqueue", "noop", "--idempotency-key", "a b"), 2,
                         "invalid idempotency key 'a b'")


class CompletionTest(unittest.TestCase):
    """deploy/jobctl.bash-completion, in a non-interactive bash."""

    def complete(self, *words):
        """The completions of `jobctl words...`, the last word being completed."""
        script = ('source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); '
                  '_jobctl; printf "%s\\n" "${COMPREPLY[@]}"')
        p = subprocess.run(["bash", "--norc", "--noprofile", "-c", script, "bash", COMPLETION,
                            "jobctl"] + list(words), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=10)
        self.assertEqual((p.returncode, p.stderr), (0, b""), p)
        return [w for w in p.stdout.decode().split("\n") if w]

    def test_syntax(self):
        p = subprocess.run(["bash", "-n", COMPLETION], stderr=subprocess.PIPE, timeout=10)
        self.assertEqual((p.returncode, p.stderr), (0, b""))

    def test_registered(self):
        p = subprocess.run(["bash", "--norc", "-c", 'source "$1"; complete -p jobctl', "bash",
                            COMPLETION], stdout=subprocess.PIPE, timeout=10)
        self.assertEqual(p.stdout.decode().strip(), "complete -F _jobctl jobctl")

    def test_words(self):
        self.assertEqual(self.complete("de"), ["dead"])
        self.assertEqual(self.complete("--url", "http://x", "de"), ["dead"])
        self.assertEqual(self.complete("dead", "p"), ["purge"])
        self.assertEqual(self.complete("dead", "purge", "--y"), ["--yes"])
        self.assertEqual(self.complete("enqueue", "t", "--idem"), ["--idempotency-key"])
        self.assertEqual(self.complete("--ti"), ["--timeout-ms"])
        self.assertEqual(self.complete("--url", ""), [])
        self.assertEqual(set(self.complete("")),
                         {"start-task", "watch", "enqueue", "status", "cancel",
                          "send-notification", "queues", "pause", "resume", "workers", "dead",
                          "schedules", "schedule", "token"})
        self.assertEqual(self.complete("token", ""), ["create", "list", "revoke"])
        self.assertEqual(self.complete("token", "create", "--s"), ["--scopes"])
        self.assertEqual(self.complete("--tok"), ["--token", "--token-file"])
        self.assertEqual(self.complete("schedule", ""), ["add", "rm"])
        self.assertEqual(self.complete("schedule", "add", "--r"), ["--replace"])

    def test_every_command_of_help(self):
        """Every command 'jobctl --help' lists is completed."""
        harness.require_executable(harness.jobctl_bin(), "jobctl")
        p = subprocess.run([harness.jobctl_bin(), "--help"], stdout=subprocess.PIPE,
                           timeout=10, env=harness._clean_env())
        listed = set(re.findall(r"(?m)^  jobctl (\S+)", p.stdout.decode()))
        self.assertTrue(listed, p)
        self.assertEqual(listed, set(self.complete("")))


if __name__ == "__main__":
    harness.main()
