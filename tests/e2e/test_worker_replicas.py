#!/usr/bin/python3
"""E2E: jobq-worker --min-replicas-ack (issue "Scale out II", part 2): a job's outcome
counts as written only once a replica has it.

A primary and one replica on loopback ports; a broker without --min-replicas-ack (so
that jobs can be enqueued while the replica is away) and a worker with
--min-replicas-ack 1. The replica is stopped (SIGSTOP: CLIENT PAUSE on a replica does
not stop its acknowledgements) while a job runs: the primary has the outcome, but the
worker does not count it (GET /workers, its warning in the log) and keeps resending it
on each beat; once the replica is back (SIGCONT) it counts it, once, and the job ended
once (the stats counter moved by one, one attempt, no "lease lost")."""
import os
import signal
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import E2ETestCase, Redis, wait_until  # noqa: E402

BEAT_MS = 300
WORKER_ARGS = ["--min-replicas-ack", "1", "--replica-ack-timeout-ms", "250",
               "--heartbeat-ms", str(BEAT_MS), "--lease-ms", "10000"]
WARNING = "not counted yet, resent on the next beat"


def s(v):
    return v.decode() if isinstance(v, bytes) else v


class WorkerReplicasAckTest(E2ETestCase):
    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        Redis(env.redis_port).execute("CONFIG", "SET", "repl-diskless-sync-delay", "0")
        rdir = os.path.join(env.tmp, "replica")
        os.makedirs(rdir, exist_ok=True)
        cls.replica_port = harness.free_port()
        cls.replica = env._spawn("replica", [
            harness.redis_server_bin(), "--port", str(cls.replica_port), "--bind", harness.HOST,
            "--save", "", "--appendonly", "no", "--dir", rdir, "--daemonize", "no",
            "--replicaof", harness.HOST, str(env.redis_port),
            "--repl-diskless-sync-delay", "0"])

        def link_up():
            try:
                info = s(Redis(cls.replica_port, timeout=0.5).execute("INFO", "replication"))
            except (OSError, harness.RedisError):
                return False
            return "master_link_status:up" in info
        wait_until(link_up, 10, "the replica to sync", env=env)
        env.start_broker()
        cls.worker = env.start_worker(extra_args=WORKER_ARGS)
        cls.worker_id = env.worker_id(cls.worker)

    def me(self):
        r = self.env.http("GET", "/workers")
        self.assertEqual(r.status, 200, r)
        for w in r.json()["workers"]:
            if w["id"] == self.worker_id:
                return w
        return {}

    def completed_stat(self):
        return int(s(self.env.redis.execute("HGET", harness.key("stats"), "completed")) or 0)

    def post(self, job):
        r = self.env.http("POST", "/jobs", job)
        self.assertEqual(r.status, 201, r)
        return r.json()["id"]

    def wait_counted(self, n, bound=10):
        return wait_until(lambda: self.me().get("completed") == n, bound,
                          "the worker to count %d completed" % n, env=self.env)

    def test_an_outcome_counts_once_a_replica_has_it(self):
        jid = self.post({"type": "noop"})
        self.env.wait_job(jid)
        self.wait_counted(1)
        base = self.completed_stat()
        # (a loaded machine may miss a healthy replica's ack too: counted, not refused)
        before = self.worker.log_text().count(WARNING)

        os.kill(self.replica.pid, signal.SIGSTOP)
        try:
            jid = self.post({"type": "noop"})
            # the primary has it...
            self.assertEqual(self.env.wait_job(jid)["state"], "completed")
            self.assertEqual(self.completed_stat(), base + 1)
            # ...but the worker does not count it while no replica confirms it
            wait_until(lambda: self.worker.log_text().count(WARNING) > before, 10,
                       "the worker's warning that the replica did not confirm", env=self.env)
            deadline = time.monotonic() + 6 * BEAT_MS / 1000.0  # several resends
            while time.monotonic() < deadline:
                self.assertEqual(self.me().get("completed"), 1)
                time.sleep(0.1)
            warnings = self.worker.log_text().count(WARNING) - before
            # at most one warning a beat (with some slack for the start and end)
            self.assertLessEqual(warnings, 2 + 12, warnings)
        finally:
            os.kill(self.replica.pid, signal.SIGCONT)
        self.wait_counted(2)
        time.sleep(3 * BEAT_MS / 1000.0)  # a resend more would count it twice
        w = self.me()
        self.assertEqual((w["completed"], w["failed"], w["running"]), (2, 0, 0), w)
        self.assertEqual(self.completed_stat(), base + 1)  # written once
        job = self.env.http("GET", "/jobs/%d" % jid).json()
        self.assertEqual((job["state"], job["attempts"]), ("completed", 1), job)
        self.assertNotIn("lease lost", self.worker.log_text())

    def test_unconfirmed_outcomes_hold_their_slots(self):
        """While no replica confirms, a worker takes at most --concurrency jobs: their
        outcomes hold the slots until a replica has them (it took job after job before,
        each ended on the primary only, piling up outcomes no replica had)."""
        w = self.env.start_worker(extra_args=WORKER_ARGS + [
            "--queues", "acked", "--concurrency", "3"])
        wid = self.env.worker_id(w)

        def mine():
            for x in self.env.http("GET", "/workers").json()["workers"]:
                if x["id"] == wid:
                    return x
            return {}
        os.kill(self.replica.pid, signal.SIGSTOP)
        try:
            ids = [self.post({"type": "noop", "queue": "acked"}) for _ in range(12)]
            wait_until(lambda: mine().get("unconfirmed") == 3, 10,
                       "three unconfirmed outcomes", env=self.env)
            time.sleep(6 * BEAT_MS / 1000.0)  # beats come and go: it takes no more
            ended = [j for j in ids if s(self.env.redis.execute(
                "HGET", harness.job_key(j), "state")) == "completed"]
            self.assertEqual(len(ended), 3, ended)
            self.assertEqual(mine().get("running"), 0)
        finally:
            os.kill(self.replica.pid, signal.SIGCONT)
        for j in ids:
            self.assertEqual(self.env.wait_job(j, timeout=20)["state"], "completed")
        wait_until(lambda: mine().get("completed") == 12, 10, "twelve counted", env=self.env)
        self.assertEqual(mine().get("unconfirmed"), 0)

    def test_stop_names_outcomes_no_replica_confirmed(self):
        """A worker stopped while replicas are away waits for them 10 s past its grace,
        then says how many outcomes no replica confirmed (it said Redis did not take
        them, which was not so: the primary had)."""
        w = self.env.start_worker(extra_args=WORKER_ARGS + [
            "--queues", "acked-stop", "--grace-ms", "0"])
        wid = self.env.worker_id(w)
        os.kill(self.replica.pid, signal.SIGSTOP)
        try:
            jid = self.post({"type": "noop", "queue": "acked-stop"})
            self.assertEqual(self.env.wait_job(jid)["state"], "completed")
            wait_until(lambda: any(x["id"] == wid and x["unconfirmed"] == 1 for x in
                                   self.env.http("GET", "/workers").json()["workers"]),
                       10, "one unconfirmed outcome", env=self.env)
            w.stop(grace=30)
        finally:
            os.kill(self.replica.pid, signal.SIGCONT)
        self.assertIn("1 outcome(s) not confirmed by 1 replica(s) within 10 s "
                      "(--min-replicas-ack)", w.log_text())

    def test_timeout_must_be_less_than_the_beat(self):
        p = harness.subprocess.run(
            [harness.worker_bin(), "--redis-url", self.env.redis_url, "--min-replicas-ack", "1",
             "--replica-ack-timeout-ms", "1000", "--heartbeat-ms", "1000"],
            stdin=harness.subprocess.DEVNULL, stdout=harness.subprocess.PIPE,
            stderr=harness.subprocess.PIPE, timeout=10, env=harness._clean_env())
        self.assertEqual(p.returncode, 2, p)
        self.assertIn(b"--replica-ack-timeout-ms must be less than --heartbeat-ms", p.stderr)


if __name__ == "__main__":
    harness.main()
