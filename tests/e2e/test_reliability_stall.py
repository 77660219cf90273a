#!/usr/bin/python3
"""E2E fault injection: Redis stalls and restarts never make live work run
twice (docs/reliability.md, "A stall is not a death"); a worker that really
dies still loses its jobs within a few beats.

Two workers (20 slots each) run 40 exec jobs of a program that appends one
"start" line per run to a log file and runs until a fixed wall-clock time.

* Three 5 s CLIENT PAUSEs (ALL, WRITE, ALL) at three phases of a worker's
  heartbeat, with leases shorter than a pause: no job is recovered (the
  `recovered` counters stay 0), each job starts once and completes once;
  then a kill -9 of one worker: its jobs are given back within a few beats
  (and run again), the other worker's are not.
* Redis stopped for 15 s (SIGTERM; append-only file) and started again on the
  same port and dir while the jobs run: no job is recovered, each starts once,
  and every outcome is written (state completed, its result stored).
* Workers with different --heartbeat-ms (1000 and 250) and no stall: each is
  judged by its own beat, so none is declared dead and every job starts once;
  a kill -9 of the slow one still gives its jobs back within a few of its beats.
"""
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import FreshEnvTestCase, wait_until  # noqa: E402
from test_reliability_crash import job_fields  # noqa: E402

HEARTBEAT_MS = 500
LEASE_MS = 3000          # shorter than a pause: every lease is past its deadline after one
PAUSE_MS = 5000
JOBS = 40
SLOTS = 20               # per worker: two workers run all 40 at once
WORKER_ARGS = ["--heartbeat-ms", str(HEARTBEAT_MS), "--lease-ms", str(LEASE_MS),
               "--concurrency", str(SLOTS), "--grace-ms", "300", "--log-level", "debug"]

# $1: the run log; $2: the epoch second to run until. One "start" line per run.
PROGRAM = """#!/bin/sh
cat >/dev/null
echo "start $JOBQ_JOB_ID $$" >>"$1"
d=$(( $2 - $(date +%s) ))
if [ "$d" -gt 0 ]; then sleep "$d"; fi
echo '{"ran": true}'
"""


class StallTest(FreshEnvTestCase):
    @classmethod
    def setUpEnv(cls, env):
        env.start_redis(appendonly=True)
        env.start_broker()
        cls.program = os.path.join(env.tmp, "runlog.sh")
        with open(cls.program, "w") as f:
            f.write(PROGRAM)
        os.chmod(cls.program, 0o755)
        cls.run_log = os.path.join(env.tmp, "runs.log")
        args = WORKER_ARGS + ["--exec", "runlog=" + cls.program]
        cls.workers = [env.start_worker(extra_args=args) for _ in range(2)]
        cls.worker_ids = [env.worker_id(w) for w in cls.workers]

    # -- helpers --------------------------------------------------------------

    def starts(self):
        """{job id: number of runs started}, from the program's log."""
        counts = {}
        try:
            with open(self.run_log) as f:
                for line in f:
                    parts = line.split()
                    if len(parts) == 3 and parts[0] == "start":
                        counts[int(parts[1])] = counts.get(int(parts[1]), 0) + 1
        except FileNotFoundError:
            pass
        return counts

    def recovered(self):
        st = self.env.redis.hgetall(harness.queue_stats_key("default"))
        return int(st.get("recovered", b"0"))

    def start_jobs(self, run_s):
        until = int(time.time()) + run_s
        ids = [self.post_job({"type": "exec", "max_attempts": 1,
                              "payload": {"command": "runlog",
                                          "args": [self.run_log, str(until)]}})
               for _ in range(JOBS)]

        def all_started():
            f = job_fields(self.env, ids, "state", "worker")
            return (all(v["state"] == "running" for v in f.values())
                    and len(self.starts()) == JOBS)
        wait_until(all_started, 15, "all %d jobs running" % JOBS, env=self.env)
        f = job_fields(self.env, ids, "worker")
        on = {w: [i for i in ids if f[i]["worker"] == w] for w in self.worker_ids}
        self.assertEqual(sorted(len(v) for v in on.values()), [SLOTS, SLOTS],
                         "the jobs are not spread over both workers: %r" % on)
        return ids, on

    def pause_at_phase(self, phase, mode):
        """CLIENT PAUSE for PAUSE_MS, sent when the first worker's last beat is
        `phase` of a beat old; returns once the pause is over."""
        r = self.env.redis
        sec, usec = r.execute("TIME")
        now_ms = int(sec) * 1000 + int(usec) // 1000
        beat = int(float(r.execute("ZSCORE", harness.key("workers"), self.worker_ids[0])))
        wait_ms = (int(phase * HEARTBEAT_MS) - (now_ms - beat)) % HEARTBEAT_MS
        time.sleep(wait_ms / 1000.0)
        self.assertEqual(r.execute("CLIENT", "PAUSE", str(PAUSE_MS), mode), "OK")
        # Nothing here talks to Redis while it is paused (it would wait too).
        time.sleep(PAUSE_MS / 1000.0 + 0.1)

    def check_ran_once(self, ids, what):
        counts = self.starts()
        twice = {i: counts.get(i, 0) for i in ids if counts.get(i, 0) != 1}
        self.assertEqual(twice, {}, "%s: jobs not started exactly once (id: runs)" % what)

    def check_completed(self, ids):
        def done():
            f = job_fields(self.env, ids, "state")
            return all(v["state"] == "completed" for v in f.values())
        wait_until(done, 60, "all jobs completed", interval=0.2, env=self.env)
        for jid in ids:
            job = self.assertJSONResponse(self.env.http("GET", "/jobs/%d" % jid), 200)
            self.assertEqual(job["state"], "completed", job)
            self.assertEqual(job["result"]["exit_code"], 0, job)
            self.assertEqual(job["result"]["output"], {"ran": True}, job)

    # -- tests ----------------------------------------------------------------

    def test_three_pauses_then_kill9(self):
        env = self.env
        # Long enough to outlast the pauses; a run started after that ends at once.
        ids, on = self.start_jobs(run_s=40)
        for phase, mode in ((0.1, "ALL"), (0.45, "WRITE"), (0.8, "ALL")):
            self.pause_at_phase(phase, mode)
            # More than the reaper's grace after a stall (3 beats + a reconnect):
            # a worker wrongly seen dead would have lost its jobs by now.
            time.sleep(4 * HEARTBEAT_MS / 1000.0 + 2.5)
            self.assertEqual(self.recovered(), 0,
                             "jobs recovered after the %s pause at phase %.2f" % (mode, phase))
            self.check_ran_once(ids, "after the %s pause at phase %.2f" % (mode, phase))
            f = job_fields(env, ids, "state")
            self.assertEqual([i for i in ids if f[i]["state"] != "running"], [],
                             "jobs no longer running after a pause")
        for w in self.workers:
            self.assertNotIn("lease lost", w.log_text())

        # A real death: the second worker's jobs come back within a few beats.
        victim_id = self.worker_ids[1]
        victim = on[victim_id]
        t_kill = time.monotonic()
        self.workers[1].kill9()

        def given_back():
            f = job_fields(env, victim, "worker", "recoveries")
            return all(v["worker"] != victim_id and v["recoveries"] == "1" for v in f.values())
        wait_until(given_back, 15, "the killed worker's jobs given back", interval=0.02, env=env)
        recovery_s = time.monotonic() - t_kill
        sys.stderr.write("\nkill -9 after three pauses: %d jobs given back %.3f s after the "
                         "kill (%.1f beats of %d ms)\n"
                         % (len(victim), recovery_s, recovery_s * 1000 / HEARTBEAT_MS,
                            HEARTBEAT_MS))
        # A bound, not a measurement: today's rule gives 3-4 beats; 8 leaves room
        # for a loaded machine, and a stall-era grace that never ends fails it.
        self.assertLess(recovery_s * 1000, 8 * HEARTBEAT_MS)
        self.assertEqual(self.recovered(), len(victim))

        self.check_completed(ids)
        counts = self.starts()
        self.assertEqual({i: counts.get(i) for i in on[self.worker_ids[0]]
                          if counts.get(i) != 1}, {}, "the live worker's jobs ran again")
        self.assertEqual({i: counts.get(i) for i in victim if counts.get(i) != 2}, {},
                         "the killed worker's jobs did not run exactly twice")
        self.assertTrue(self.workers[0].running())

    def test_redis_restart_15s(self):
        env = self.env
        ids, _ = self.start_jobs(run_s=30)
        env.stop_redis(how="sigterm")
        time.sleep(15)
        env.start_redis()  # same port, dir and append-only file
        # Past the reaper's grace after a restart, with leases long expired.
        time.sleep(4 * HEARTBEAT_MS / 1000.0 + 2.5)
        self.assertEqual(self.recovered(), 0, "jobs recovered after the Redis restart")
        self.check_ran_once(ids, "after the Redis restart")
        self.check_completed(ids)
        self.check_ran_once(ids, "at the end")
        self.assertEqual(self.recovered(), 0)
        self.assertEqual(env.redis.execute("ZCARD", harness.leases_key()), 0)
        for w in self.workers:
            self.assertNotIn("lease lost", w.log_text())
            self.assertTrue(w.running())



class MixedBeatsTest(FreshEnvTestCase):
    """A reaper judges each worker by the worker's own beat period (heartbeat.lua records
    it): before, a worker beating every second was declared dead by one beating every
    250 ms, and its jobs ran again (review)."""
    SLOW_MS, FAST_MS = 1000, 250

    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()
        cls.program = os.path.join(env.tmp, "runlog.sh")
        with open(cls.program, "w") as f:
            f.write(PROGRAM)
        os.chmod(cls.program, 0o755)
        cls.run_log = os.path.join(env.tmp, "runs.log")
        cls.workers = []
        for beat in (cls.SLOW_MS, cls.FAST_MS):
            cls.workers.append(env.start_worker(extra_args=[
                "--heartbeat-ms", str(beat), "--lease-ms", "30000", "--concurrency", "10",
                "--grace-ms", "300", "--exec", "runlog=" + cls.program]))
        cls.slow_id = env.worker_id(cls.workers[0])

    starts = StallTest.starts
    recovered = StallTest.recovered

    def test_each_worker_by_its_own_beat(self):
        env = self.env
        until = int(time.time()) + 8
        ids = [self.post_job({"type": "exec", "max_attempts": 1,
                              "payload": {"command": "runlog",
                                          "args": [self.run_log, str(until)]}})
               for _ in range(20)]
        wait_until(lambda: len(self.starts()) == 20, 15, "all 20 jobs running", env=env)
        time.sleep(4)  # 16 beats of the fast worker, 4 of the slow one
        self.assertEqual(self.recovered(), 0, "live workers' jobs were given back")
        self.assertEqual({i: n for i, n in self.starts().items() if n != 1}, {},
                         "jobs started more than once")
        # a real death is still seen: the slow worker's jobs come back
        f = job_fields(env, ids, "worker")
        on_slow = [i for i in ids if f[i]["worker"] == self.slow_id]
        self.assertTrue(on_slow, "no job ran on the slow worker")
        self.workers[0].popen.kill()
        self.workers[0].expected_exit = True
        t0 = time.monotonic()
        wait_until(lambda: self.recovered() >= len(on_slow), 15,
                   "the slow worker's jobs to come back", env=env)
        sys.stderr.write("\nkill -9 of the 1 s worker: its %d jobs back after %.1f s\n"
                         % (len(on_slow), time.monotonic() - t0))


if __name__ == "__main__":
    harness.main()
