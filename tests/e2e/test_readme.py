#!/usr/bin/python3
"""E2E: README.md's Quick start and jobctl blocks, taken from README.md as they are and
run in order by bash against a fresh deploy/up.sh, so the README cannot drift from
what jobq does.

What the test changes, and only this: the broker's address (127.0.0.1:8000 becomes the
free port up.sh was given; jobctl gets it as JOBQ_URL, as the README says), the
`export PATH=...` line is the one up.sh printed (it names this build), and `curl` is
run with --fail-with-body, so a 4xx or 5xx answer stops the run like a failed jobctl
command does (bash -e -o pipefail). Then the jobs the blocks made are checked: each one
that should complete did (hash, http to the broker, the exec demo, the emails, the
progress tasks), the one made to fail did, the cancelled ones were cancelled, and the
mail reached the sink."""
import json
import os
import re
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

README = os.path.join(harness.REPO, "README.md")


def blocks(section_start, section_end):
    """The ```sh blocks of README.md between two headings (exclusive)."""
    with open(README) as f:
        text = f.read()
    a = text.index(section_start)
    b = text.index(section_end, a)
    return re.findall(r"^```sh\n(.*?)^```$", text[a:b], re.M | re.S)


class ReadmeTest(unittest.TestCase):
    def test_quick_start_and_jobctl_blocks_run_as_written(self):
        quick = blocks("\n## Quick start\n", "\n## The dashboard\n")
        ctl = blocks("\n## The dashboard\n", "\n## From C")
        self.assertEqual(len(quick), 2, "the PATH line and the curl block")
        self.assertEqual(len(ctl), 1, "the jobctl block")
        self.assertTrue(quick[0].startswith("export PATH="), quick[0])
        self.assertIn("jobctl ", ctl[0])

        up = harness.UpSh()
        self.addCleanup(up.stop)
        path_line = up.path_line()
        self.assertIsNotNone(path_line, up.log())
        # the README shows the line up.sh prints from a fresh clone's folder
        self.assertEqual(quick[0].strip(), path_line.replace(up.bindir, "$PWD/build-release"))
        url = "http://%s:%d" % (harness.HOST, up.port)
        script = "\n".join([
            "set -euo pipefail",
            "curl() { command curl --fail-with-body --max-time 60 \"$@\"; }",
            path_line,
            quick[1].replace("127.0.0.1:8000", "%s:%d" % (harness.HOST, up.port)),
            ctl[0],
        ])
        env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"),
               "JOBQ_URL": url, "LANG": "C.UTF-8"}
        r = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                           timeout=240, env=env, stdin=subprocess.DEVNULL,
                           cwd=harness.REPO)
        out = "--- stdout\n%s\n--- stderr\n%s\n--- up.sh\n%s" % (r.stdout, r.stderr,
                                                                 up.log()[-4000:])
        self.assertEqual(r.returncode, 0, out)

        # what each block did, through the API
        jobs = {}
        for jid in range(1, 200):
            resp = up.http("GET", "/jobs/%d" % jid)
            if resp.status == 200:
                jobs[jid] = resp.json()

        def of(kind, pred=lambda j: True):
            return [j for j in jobs.values() if j["type"] == kind and pred(j)]

        def until_done(j):
            harness.wait_until(lambda: up.http("GET", "/jobs/%d" % j["id"]).json()["state"]
                               in ("completed", "failed", "cancelled"), 60,
                               "job %d to end" % j["id"])
            return up.http("GET", "/jobs/%d" % j["id"]).json()

        hashes = of("hash")
        self.assertEqual(len(hashes), 3, out)
        for j in hashes:
            self.assertEqual(until_done(j)["state"], "completed", j)
        self.assertTrue(any(j["result"] and j["result"]["sha256"].startswith("328de8f1")
                            for j in map(until_done, hashes)), hashes)
        (http_job,) = of("http")
        self.assertEqual(until_done(http_job)["result"]["status"], 200, http_job)
        words = of("exec", lambda j: "input" in j["payload"])
        self.assertEqual(len(words), 1, out)
        self.assertEqual(until_done(words[0])["result"]["output"],
                         {"lines": 1, "words": 3, "chars": 13})
        self.assertIn("lines", r.stdout)  # the README printed it too
        emails = of("email")
        self.assertEqual(len(emails), 2, out)
        for j in emails:
            self.assertEqual(until_done(j)["state"], "completed", j)
        with open(os.path.join(up.run_dir(), "mail.log")) as f:
            self.assertGreaterEqual(f.read().count("alice@example.com"), 2)
        progress = sorted(of("progress"), key=lambda j: j["id"])
        self.assertEqual(len(progress), 3, out)  # start-task twice, the cancelled one
        self.assertEqual([until_done(j)["state"] for j in progress],
                         ["completed", "completed", "cancelled"])
        noops = of("noop")
        self.assertEqual(sorted(until_done(j)["state"] for j in noops),
                         ["cancelled", "completed", "completed"], noops)
        # the job made to fail, retried from the dead set, then purged with it
        self.assertEqual(of("exec", lambda j: "input" not in j["payload"]), [], jobs)
        self.assertIn("job %s failed" % re.search(r"job (\d+) failed", r.stdout).group(1),
                      r.stdout)
        self.assertEqual(up.http("GET", "/schedules").json()["schedules"], [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
