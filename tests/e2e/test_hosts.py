#!/usr/bin/python3
"""E2E: jobq across hosts (issue "Scale out II", part 3), hosts being Linux network
namespaces on this machine (netns.py), joined by a bridge on 10.77.0.0/24:

    r1 .11  the first primary      s1 .31  sentinel    b1 .21  broker      w1 .41  worker
    r2 .12  replica                s2 .32  sentinel    b2 .22  broker      w2 .42  worker
    r3 .13  replica                s3 .33  sentinel                        c  .100 the test

Every program gets redis-sentinel://10.77.0.31:26379,...,10.77.0.33:26379/0#mymaster
(docs/deploy.md, "From one host to many", lists these commands). Sentinel's
down-after-milliseconds is 1000. Jobs are exec jobs of a script that appends a line to a
run log (its marker, id, attempt, worker host, time), so every run is counted. Load
generators post jobs back to back to each broker, each job with a marker of its own; a
job is "acknowledged" when its POST got 201. After each case every acknowledged job
must still exist (GET /jobs/{id}, with its own marker: an id the new primary gave again
to another job counts as lost) and end completed, or failed with a reason; lost and
duplicated runs are counted and printed, with the seconds without a 201:

  * kill -9 of the primary, brokers with --min-replicas-ack 1: a replica is promoted,
    brokers and workers follow; none lost;
  * the primary's link cut for 8 s (its veth down) while a broker on the primary's own
    host (b0, with its clients there too) keeps writing to it: with --min-replicas-ack 1
    none lost (WAIT cannot be satisfied by a primary cut off from its replicas); without
    it, the count of lost jobs is printed (docs/reliability.md);
  * kill -9 of a worker host's processes and of a broker host's: none lost, the killed
    ones restart and serve.

Skipped, saying why, where namespaces cannot be made (not root, no veth or bridge).
"""
import http.client
import json
import os
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import FreshEnvTestCase, Redis, RedisError, wait_until  # noqa: E402
from netns import NetHosts  # noqa: E402

MASTER = "mymaster"
# The times that must agree (docs/deploy.md, "The times that must agree"), short for a test
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 4000
REDIS_TIMEOUT_MS = 2000
ACK_TIMEOUT_MS = 500
LEASE_MS = 3000
HEARTBEAT_MS = 250
REDIS_PORT, SENTINEL_PORT, BROKER_PORT = 6379, 26379, 8000
HOSTS = {"r1": 11, "r2": 12, "r3": 13, "s1": 31, "s2": 32, "s3": 33,
         "b1": 21, "b2": 22, "w1": 41, "w2": 42, "c": 100}
# between one answer and the next request, per load generator: at most ~25 jobs/s each, so
# that workers built with ASan (an exec job re-executes the worker as its supervisor) keep up
LOAD_INTERVAL_S = 0.04
FAILOVER_BOUND_S = 30.0
SETTLE_IDLE_S = 30.0    # acknowledged jobs must keep ending: none for this long fails
SETTLE_BOUND_S = 240.0  # and all must have ended within this
SKIP_WHY = NetHosts.unavailable()
if SKIP_WHY:
    print("e2e_hosts SKIPPED: %s" % SKIP_WHY, flush=True)

RUN_SCRIPT = """#!/bin/sh
# one line per run: marker, job id, attempt, the worker's host, the time
echo "$1 $JOBQ_JOB_ID $JOBQ_JOB_ATTEMPT %s $(date +%%s.%%N)" >> %s
sleep 0.05
"""


def s(v):
    return v.decode() if isinstance(v, bytes) else v


def request(addr, port, method, path, body=None, timeout=10.0):
    """One exchange from the calling thread's namespace: (status, parsed JSON or None)."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data is not None else {}
    conn = http.client.HTTPConnection(addr, port, timeout=timeout)
    try:
        conn.request(method, path, body=data, headers=headers)
        r = conn.getresponse()
        raw = r.read()
        try:
            return r.status, json.loads(raw) if raw else None
        except ValueError:
            return r.status, raw
    finally:
        conn.close()


class Load(threading.Thread):
    """Posts exec jobs to one broker, from one host, until stopped (bounded in count)."""

    def __init__(self, net, host, addr, tag):
        super().__init__(daemon=True)
        self.net, self.host, self.addr, self.tag = net, host, addr, tag
        self.samples = []  # (t_sent, t_answered, status or None, id or None, marker)
        self.halt = threading.Event()
        self.error = None

    def run(self):
        try:
            self.net.enter_for_good(self.host)
        except OSError as e:
            self.error = e
            return
        for n in range(200000):
            if self.halt.is_set():
                break
            marker = "%s-%d" % (self.tag, n)
            t0 = time.monotonic()
            try:
                st, body = request(self.addr, BROKER_PORT, "POST", "/jobs",
                                {"type": "exec", "payload": {"command": "count", "args": [marker]}})
                jid = body.get("id") if st == 201 and isinstance(body, dict) else None
                self.samples.append((t0, time.monotonic(), st, jid, marker))
            except OSError:
                self.samples.append((t0, time.monotonic(), None, None, marker))
            time.sleep(LOAD_INTERVAL_S)

    def stop(self):
        self.halt.set()
        self.join(30)
        if self.is_alive():
            raise AssertionError("load generator %s did not stop" % self.tag)

    def acked(self):
        return [(x[3], x[4]) for x in self.samples if x[2] == 201]

    def statuses(self):
        out = {}
        for x in self.samples:
            out[x[2]] = out.get(x[2], 0) + 1
        return out


class Hosts:
    """The processes of the deployment, each on its host."""

    def __init__(self, env, net, broker_args):
        self.env, self.net, self.broker_args = env, net, list(broker_args)
        self.redis = {}
        self.brokers = {}
        self.workers = {}
        self.run_log = os.path.join(env.tmp, "runs.log")

    @property
    def url(self):
        return "redis-sentinel://%s/0#%s" % (
            ",".join("%s:%d" % (self.net.addr(h), SENTINEL_PORT) for h in ("s1", "s2", "s3")),
            MASTER)

    def start(self):
        net, env = self.net, self.env
        net.start()
        for host, octet in HOSTS.items():
            net.add_host(host, octet)
        primary = net.addr("r1")
        for host in ("r1", "r2", "r3"):
            rdir = os.path.join(env.tmp, "redis-" + host)
            os.makedirs(rdir)
            argv = [harness.redis_server_bin(), "--port", str(REDIS_PORT), "--bind",
                    net.addr(host), "--protected-mode", "no", "--save", "", "--appendonly",
                    "no", "--dir", rdir, "--daemonize", "no", "--repl-diskless-sync-delay", "0"]
            if host != "r1":
                argv += ["--replicaof", primary, str(REDIS_PORT)]
            self.redis[host] = net.spawn(env, "redis-" + host, host, argv)
        with net.inside("c"):
            for host in ("r2", "r3"):
                wait_until(lambda: self.link_up(host), 15, "replica %s to sync" % host, env=env)
        for host in ("s1", "s2", "s3"):
            sdir = os.path.join(env.tmp, "sentinel-" + host)
            os.makedirs(sdir)
            conf = os.path.join(sdir, "sentinel.conf")
            with open(conf, "w") as f:  # sentinel rewrites it: each its own copy
                f.write("port %d\nbind %s\nprotected-mode no\ndir %s\n"
                        "sentinel monitor %s %s %d 2\n"
                        "sentinel down-after-milliseconds %s %d\n"
                        "sentinel failover-timeout %s %d\n"
                        "sentinel parallel-syncs %s 1\n"
                        % (SENTINEL_PORT, net.addr(host), sdir, MASTER, primary, REDIS_PORT,
                           MASTER, DOWN_AFTER_MS, MASTER, FAILOVER_TIMEOUT_MS, MASTER))
            net.spawn(env, "sentinel-" + host, host,
                      [harness.redis_server_bin(), conf, "--sentinel"])
        with net.inside("c"):
            wait_until(self.sentinels_ready, 30, "the sentinels to see both replicas and "
                       "each other", interval=0.2, env=env)
        for host in ("w1", "w2"):
            script = os.path.join(env.tmp, "count-%s.sh" % host)
            with open(script, "w") as f:
                f.write(RUN_SCRIPT % (host, self.run_log))
            os.chmod(script, 0o755)
            self.start_worker(host)
        for host in ("b1", "b2"):
            self.start_broker(host)

    def start_worker(self, host):
        self.workers[host] = self.net.spawn(self.env, "worker-" + host, host, [
            harness.worker_bin(), "--redis-url", self.url, "--concurrency", "16",
            "--threads", "1", "--exec", "count=%s" % os.path.join(self.env.tmp,
                                                                   "count-%s.sh" % host),
            "--exec-contain", "subreaper", "--heartbeat-ms", str(HEARTBEAT_MS), "--lease-ms",
            str(LEASE_MS), "--retry-base-ms", "100", "--grace-ms", "1000"])

    def start_broker(self, host, listen=None):
        """A broker on host: on its address with --no-auth (a test network, no tokens), or
        on listen (the loopback broker on the primary's host)."""
        listen = listen or "%s:%d" % (self.net.addr(host), BROKER_PORT)
        args = ["--listen", listen, "--redis-url", self.url, "--redis-timeout-ms",
                str(REDIS_TIMEOUT_MS)] + self.broker_args
        if not listen.startswith("127."):
            args.append("--no-auth")
        name = "broker-" + host
        self.brokers[host] = (self.net.spawn(self.env, name, host,
                                             [harness.broker_bin()] + args), listen)
        addr, port = listen.rsplit(":", 1)
        with self.net.inside(host):
            wait_until(lambda: self._healthy(addr, int(port)), 15,
                       "broker on %s (%s) to be healthy" % (host, listen), env=self.env)

    @staticmethod
    def _healthy(addr, port):
        try:
            return request(addr, port, "GET", "/healthz", timeout=1.0)[0] == 200
        except OSError:
            return False

    # -- observing (from host c) ------------------------------------------------------------

    def link_up(self, host):
        try:
            info = s(Redis(REDIS_PORT, host=self.net.addr(host), timeout=0.5).execute(
                "INFO", "replication"))
        except (OSError, RedisError):
            return False
        return "master_link_status:up" in info

    def role(self, host):
        try:
            return s(Redis(REDIS_PORT, host=self.net.addr(host), timeout=0.5).execute("ROLE")[0])
        except (OSError, RedisError, IndexError, TypeError):
            return None

    def sentinels_ready(self):
        for h in ("s1", "s2", "s3"):
            try:
                m = dict(zip(*[iter(Redis(SENTINEL_PORT, host=self.net.addr(h), timeout=0.5)
                                    .execute("SENTINEL", "MASTER", MASTER))] * 2))
            except (OSError, RedisError):
                return False
            if int(m[b"num-slaves"]) < 2 or int(m[b"num-other-sentinels"]) < 2:
                return False
        return True

    def primary(self):
        """The host the sentinels name as primary now (the first that answers)."""
        by_addr = {a: h for h, a in self.net.hosts.items()}
        for h in ("s1", "s2", "s3"):
            try:
                addr, _ = Redis(SENTINEL_PORT, host=self.net.addr(h), timeout=0.5).execute(
                    "SENTINEL", "get-master-addr-by-name", MASTER)
                return by_addr.get(s(addr))
            except (OSError, RedisError, TypeError, ValueError):
                continue
        return None

    def api(self, method, path):
        """An answer from the first broker host that gives one."""
        last = None
        for h in ("b1", "b2"):
            try:
                return request(self.net.addr(h), BROKER_PORT, method, path, timeout=5.0)
            except OSError as e:
                last = e
        raise last

    def runs(self):
        """marker -> [(job id, attempt, worker host, time)] from the run log."""
        out = {}
        try:
            with open(self.run_log) as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            return out
        for line in lines:
            p = line.split()
            if len(p) == 5:
                out.setdefault(p[0], []).append((int(p[1]), int(p[2]), p[3], float(p[4])))
        return out


class HostsTest(FreshEnvTestCase):
    BROKER_ARGS = []

    @classmethod
    def setUpClass(cls):
        if SKIP_WHY:
            raise unittest.SkipTest(SKIP_WHY)

    @classmethod
    def setUpEnv(cls, env):
        pass  # per test, in setUp: the topology depends on the case

    def run(self, result=None):
        try:
            return super().run(result)  # ends with Env.close: every process stopped
        finally:
            # only then the network: without the bridge, a stopping worker or broker
            # would wait for Redis in vain
            if getattr(self, "net", None) is not None:
                self.net.close()
                self.net = None

    def start_hosts(self, broker_args):
        self.net = NetHosts()
        self.hosts = Hosts(self.env, self.net, broker_args)
        self.hosts.start()
        ctx = self.net.inside("c")
        ctx.__enter__()
        self.addCleanup(ctx.__exit__, None, None, None)

    def loads(self, spec):
        """Starts one load generator per (host, address, tag)."""
        out = [Load(self.net, h, a, t) for h, a, t in spec]
        for ld in out:
            ld.start()
        self.addCleanup(lambda: [ld.halt.set() for ld in out])
        return out

    def broker_loads(self):
        return self.loads([("c", self.net.addr(h), h) for h in ("b1", "b2")])

    def wait_201_after(self, loads, t, more_s=2.0, bound=FAILOVER_BOUND_S):
        """Until every load got a 201 sent after t, then more_s seconds more."""
        def served():
            return all(any(x[2] == 201 and x[0] > t for x in ld.samples) for ld in loads)
        wait_until(served, bound, "201 answers again from every broker", interval=0.1,
                   env=self.env)
        time.sleep(more_s)

    @staticmethod
    def gap(loads, t_from):
        """The longest time between two 201 answers (any of loads) after t_from - 1 s."""
        times = sorted(x[1] for ld in loads for x in ld.samples
                       if x[2] == 201 and x[1] > t_from - 1.0)
        return max((b - a for a, b in zip(times, times[1:])), default=float("nan"))

    def settle(self, loads, case, t_event, must_lose_none, served_by=None):
        """Checks and prints what became of every acknowledged job; returns (lost, dups).
        served_by: the loads whose 201 answers measure the time without service (all)."""
        for ld in loads:
            ld.stop()
            self.assertIsNone(ld.error)
        acked = [(jid, marker) for ld in loads for jid, marker in ld.acked()]
        self.assertTrue(acked, "no job acknowledged")
        for ld in loads:
            self.assertTrue([x for x in ld.samples if x[2] == 201 and x[0] > t_event],
                            "broker %s gave no 201 after the event" % ld.tag)
            odd = [x for x in ld.samples if x[2] not in (201, 503, None)]
            self.assertEqual(odd, [], "answers other than 201, 503 and no answer")
        ids = {}
        for jid, marker in acked:
            ids.setdefault(jid, []).append(marker)
        reused = {j: m for j, m in ids.items() if len(m) > 1}
        pending = dict(acked)
        lost, final = [], {}
        deadline = time.monotonic() + SETTLE_BOUND_S
        last_progress = time.monotonic()
        for _ in range(int(SETTLE_BOUND_S / 0.5) + 2):
            before = len(pending)
            for jid, marker in list(pending.items()):
                st, job = self.hosts.api("GET", "/jobs/%d" % jid)
                if st == 404:
                    lost.append(marker)
                elif st != 200:
                    continue
                elif (job.get("payload") or {}).get("args") != [marker]:
                    lost.append(marker)  # the id was given again to a job posted later
                elif job["state"] in ("completed", "failed", "cancelled"):
                    final[marker] = job
                else:
                    continue
                del pending[jid]
            if len(pending) < before:
                last_progress = time.monotonic()
            if not pending or time.monotonic() > min(deadline, last_progress + SETTLE_IDLE_S):
                break
            time.sleep(0.5)
        # the markers whose id was reused: the job that kept the id is checked above, the
        # other ones are lost
        for jid, markers in reused.items():
            lost += [m for m in markers if m not in final and m not in lost]
        if pending:
            seen = []
            for jid in list(pending)[:5]:
                st, job = self.hosts.api("GET", "/jobs/%d" % jid)
                seen.append((jid, st, {k: job.get(k) for k in (
                    "state", "worker", "attempts", "recoveries", "started_at", "error")}
                    if isinstance(job, dict) else job))
            self.fail("%d acknowledged jobs did not end (none for %.0f s, or not all within "
                      "%.0f s), e.g. %r" % (len(pending), SETTLE_IDLE_S, SETTLE_BOUND_S, seen))
        for marker, job in final.items():
            self.assertTrue(job["state"] == "completed" or
                            (job["state"] == "failed" and job.get("error")),
                            "a job neither completed nor failed with a reason: %r" % job)
        runs = self.hosts.runs()
        completed = [m for m, j in final.items() if j["state"] == "completed"]
        never_ran = [m for m in completed if m not in runs]
        dups = {m: len(runs[m]) for m in final if len(runs.get(m, ())) > 1}
        served_by = served_by or loads
        per_broker = "; ".join(
            "%s %r, %d lost, %.2f s without a 201" % (
                ld.tag, ld.statuses(), len([m for m in lost if m.startswith(ld.tag + "-")]),
                self.gap([ld], t_event)) for ld in loads)
        report = ("\n[hosts] %s: %d acknowledged; %.2f s without a 201 from %s; %d "
                  "acknowledged jobs lost%s; %d completed, %d failed; %d jobs ran more than "
                  "once (%d extra runs)\n[hosts]   per broker: %s\n"
                  % (case, len(acked), self.gap(served_by, t_event),
                     "+".join(ld.tag for ld in served_by), len(lost),
                     (" (%d of them ids given again)" % len(reused)) if reused else "",
                     len(completed), len(final) - len(completed), len(dups),
                     sum(dups.values()) - len(dups), per_broker))
        sys.stderr.write(report)
        if lost:
            sys.stderr.write("[hosts] lost markers (first 10): %r\n" % lost[:10])
        if dups:
            sys.stderr.write("[hosts] runs of jobs that ran more than once (first 5; host, "
                             "attempt, seconds after the first run): %r\n" % [
                                 (m, [(r[2], r[1], round(r[3] - runs[m][0][3], 2))
                                      for r in runs[m]]) for m in list(dups)[:5]])
        self.assertEqual(never_ran, [], "completed jobs without a run in the run log")
        if must_lose_none:
            self.assertEqual(lost, [], "acknowledged jobs lost")
        return lost, dups

    def assert_stayed_on(self, host):
        """No broker or worker left host's primary once there: every sentinel announces the
        same failover (+switch-master), and only the first of them is news."""
        needle = "leaving %s:%d, which is no longer the primary" % (self.net.addr(host),
                                                                   REDIS_PORT)
        for p in self.env.procs:
            if p.name.startswith(("broker-", "worker-")):
                self.assertFalse(needle in p.log_text(), "%s logged %r (its log: %s)"
                                 % (p.name, needle, p.log_path))

    def assert_workers_follow(self, t_wall):
        """Both worker hosts ran jobs that started after t_wall (wall clock)."""
        def ran():
            hosts = {r[2] for rs in self.hosts.runs().values() for r in rs if r[3] > t_wall}
            return {"w1", "w2"} <= hosts
        wait_until(ran, 20, "both worker hosts to run jobs after the event", interval=0.2,
                   env=self.env)


class PrimaryKillTest(HostsTest):
    """kill -9 of the primary's redis-server; brokers with --min-replicas-ack 1 of the two
    replicas (one is left to confirm once the other is promoted)."""

    def test_kill_9_of_the_primary(self):
        self.start_hosts(["--min-replicas-ack", "1", "--replica-ack-timeout-ms",
                          str(ACK_TIMEOUT_MS)])
        hosts = self.hosts
        loads = self.broker_loads()
        time.sleep(2.0)
        t_event, t_wall = time.monotonic(), time.time()
        hosts.redis["r1"].kill9()
        wait_until(lambda: hosts.primary() in ("r2", "r3"), FAILOVER_BOUND_S,
                   "the sentinels to promote a replica", interval=0.1, env=self.env)
        self.wait_201_after(loads, time.monotonic())
        self.settle(loads, "kill -9 of the primary, --min-replicas-ack 1", t_event,
                    must_lose_none=True)
        self.assert_stayed_on(hosts.primary())
        self.assert_workers_follow(t_wall)
        self.env.check_alive()


class PartitionTest(HostsTest):
    """The primary's link down for 8 s. A broker on the primary's own host (b0, listening
    on its loopback, with a load generator there too) goes on writing to it: the other
    hosts promote a replica meanwhile; once the link is back, Sentinel turns the old
    primary into a replica of the new one, and what it took alone is gone."""
    BROKER_ARGS = []
    MUST_LOSE_NONE = False
    CASE = "the primary's link cut for 8 s, --min-replicas-ack 0"

    def test_partition_of_the_primary(self):
        self.start_hosts(self.BROKER_ARGS)
        hosts, net = self.hosts, self.net
        hosts.start_broker("r1", listen="127.0.0.1:%d" % BROKER_PORT)
        loads = self.broker_loads() + self.loads([("r1", "127.0.0.1", "b0")])
        time.sleep(2.0)
        t_event, t_wall = time.monotonic(), time.time()
        net.cut("r1")
        t_cut = time.monotonic()
        try:
            wait_until(lambda: hosts.primary() in ("r2", "r3"), FAILOVER_BOUND_S,
                       "the sentinels to promote a replica", interval=0.1, env=self.env)
            t_promoted = time.monotonic()
            time.sleep(max(0.0, 8.0 - (time.monotonic() - t_event)))
            b0_alone = [x for x in loads[2].samples if x[2] == 201 and x[0] > t_cut]
        finally:
            net.heal("r1")
        sys.stderr.write("\n[hosts] promoted %.2f s after the cut; b0 acknowledged %d jobs "
                         "on the cut-off primary\n" % (t_promoted - t_event, len(b0_alone)))
        wait_until(lambda: hosts.role("r1") == "slave" and hosts.link_up("r1"), 60,
                   "the old primary to become a replica of the new one", interval=0.2,
                   env=self.env)
        self.wait_201_after(loads, time.monotonic())
        self.settle(loads, self.CASE, t_event, must_lose_none=self.MUST_LOSE_NONE,
                    served_by=loads[:2])
        self.assert_stayed_on(hosts.primary())
        self.assert_workers_follow(t_wall)
        self.env.check_alive()


class PartitionAckTest(PartitionTest):
    BROKER_ARGS = ["--min-replicas-ack", "1", "--replica-ack-timeout-ms", str(ACK_TIMEOUT_MS)]
    MUST_LOSE_NONE = True
    CASE = "the primary's link cut for 8 s, --min-replicas-ack 1"


class HostKillTest(HostsTest):
    """kill -9 of every process of a worker host, then of a broker host; each restarts."""

    def test_kill_9_of_a_worker_host_and_a_broker_host(self):
        self.start_hosts([])
        hosts = self.hosts
        loads = self.broker_loads()
        time.sleep(2.0)
        t_event = time.monotonic()
        hosts.workers["w1"].kill9()
        time.sleep(2.0)
        hosts.start_worker("w1")
        t_wall = time.time()
        hosts.brokers["b1"][0].kill9()
        time.sleep(2.0)
        hosts.start_broker("b1")
        self.wait_201_after(loads, time.monotonic())
        _, dups = self.settle(loads, "kill -9 of worker host w1, then of broker host b1",
                              t_event, must_lose_none=True)
        self.assert_workers_follow(t_wall)
        self.env.check_alive()


if __name__ == "__main__":
    harness.main()
