#!/usr/bin/python3
"""E2E: jobq on a Sentinel-guarded primary (issue "Scale out II", part 1).

Real processes on loopback ports: a primary, two replicas, three sentinels (quorum 2,
down-after-milliseconds 1000), a broker and a worker given
redis-sentinel://<a closed port>,<s1>,<s2>,<s3>/0#mymaster (the first sentinel is
down: discovery asks the next).

  * discovery: jobs are stored on the primary the sentinels name and complete;
  * kill -9 of the primary under a stream of enqueues: the replica is promoted, broker and
    worker follow it; every answer is 201 or 503; the seconds without a 201 are reported;
    every 201 job found on the new primary completes, and those lost (acknowledged
    before the replica had them: asynchronous replication) are counted and reported, or,
    with --min-replicas-ack 1, must be none;
  * a manual failover (SENTINEL FAILOVER: the old primary stays up, as a replica): broker
    and worker leave it (+switch-master, READONLY) and new jobs complete on the new one.
"""
import json
import os
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import FreshEnvTestCase, Redis, wait_until  # noqa: E402

MASTER = "mymaster"
FAST = ["--heartbeat-ms", "200", "--lease-ms", "10000", "--retry-base-ms", "100",
        "--grace-ms", "300"]
FAILOVER_BOUND_S = 30.0
COMPLETE_BOUND_S = 40.0


def s(v):
    return v.decode() if isinstance(v, bytes) else v


class SentinelEnv:
    """The replica and the sentinels beside env's redis-server (the first primary)."""

    def __init__(self, env):
        self.env = env
        self.replica_ports = []
        self.sentinel_ports = []

    def start(self):
        env = self.env
        env.start_redis()
        self.primary_port = env.redis_port
        # a full sync at once, not after the default 5 s of waiting for more replicas
        Redis(self.primary_port).execute("CONFIG", "SET", "repl-diskless-sync-delay", "0")
        # two replicas: with --min-replicas-ack 1, one is left to confirm writes once the
        # other is promoted
        for i in range(2):
            rdir = os.path.join(env.tmp, "replica%d" % i)
            os.makedirs(rdir, exist_ok=True)
            port = harness.free_port()
            env._spawn("replica%d" % i, [
                harness.redis_server_bin(), "--port", str(port), "--bind", harness.HOST,
                "--save", "", "--appendonly", "no", "--dir", rdir, "--daemonize", "no",
                "--replicaof", harness.HOST, str(self.primary_port),
                "--repl-diskless-sync-delay", "0"])
            self.replica_ports.append(port)
            wait_until(lambda: self.link_up(port), 10, "replica %d to sync" % i, env=env)
        for i in range(3):
            port = harness.free_port()
            sdir = os.path.join(env.tmp, "sentinel%d" % i)
            os.makedirs(sdir, exist_ok=True)
            conf = os.path.join(sdir, "sentinel.conf")
            with open(conf, "w") as f:  # sentinel rewrites it: its own copy
                f.write("port %d\nbind %s\ndir %s\n"
                        "sentinel monitor %s %s %d 2\n"
                        "sentinel down-after-milliseconds %s 1000\n"
                        "sentinel failover-timeout %s 4000\n"
                        "sentinel parallel-syncs %s 1\n"
                        % (port, harness.HOST, sdir, MASTER, harness.HOST, self.primary_port,
                           MASTER, MASTER, MASTER))
            env._spawn("sentinel%d" % i, [harness.redis_server_bin(), conf, "--sentinel"])
            self.sentinel_ports.append(port)
        # every sentinel sees the replica and the two others: a failover can be agreed
        def ready():
            for p in self.sentinel_ports:
                try:
                    m = dict(zip(*[iter(Redis(p, timeout=0.5).execute(
                        "SENTINEL", "MASTER", MASTER))] * 2))
                except (OSError, harness.RedisError):
                    return False
                if int(m[b"num-slaves"]) < 2 or int(m[b"num-other-sentinels"]) < 2:
                    return False
            return True
        wait_until(ready, 30, "the sentinels to see the replica and each other", env=env)
        self.dead_port = harness.free_port()  # nothing listens there

    def link_up(self, port):
        try:
            info = s(Redis(port, timeout=0.5).execute("INFO", "replication"))
        except (OSError, harness.RedisError):
            return False
        return "master_link_status:up" in info

    @property
    def url(self):
        hosts = ",".join("%s:%d" % (harness.HOST, p)
                         for p in [self.dead_port] + self.sentinel_ports)
        return "redis-sentinel://%s/0#%s" % (hosts, MASTER)

    def primary(self):
        """The port the sentinels name now (the first that answers)."""
        for p in self.sentinel_ports:
            try:
                host, port = Redis(p, timeout=0.5).execute("SENTINEL", "get-master-addr-by-name",
                                                          MASTER)
                return int(port)
            except (OSError, harness.RedisError, TypeError, ValueError):
                continue
        return None


class SentinelTest(FreshEnvTestCase):
    """Without --min-replicas-ack: 2xx means "on the primary"; jobs acknowledged in the
    moments before a failover may be lost, and are counted."""
    BROKER_ARGS = []
    MUST_LOSE_NONE = False

    @classmethod
    def setUpEnv(cls, env):
        cls.sen = SentinelEnv(env)
        cls.sen.start()
        env.start_broker(extra_args=["--redis-url", cls.sen.url] + cls.BROKER_ARGS)
        env.start_worker(extra_args=["--redis-url", cls.sen.url] + FAST)

    def setUp(self):
        super().setUp()
        self.sen = type(self).sen

    def job_state(self, port, jid):
        return s(Redis(port).execute("HGET", harness.job_key(jid), "state"))

    def enqueue(self):
        r = self.env.http("POST", "/jobs", {"type": "noop"})
        self.assertEqual(r.status, 201, r.body)
        return json.loads(r.body)["id"]

    def test_discovery_through_the_second_sentinel(self):
        env = self.env
        jid = self.enqueue()
        wait_until(lambda: self.job_state(self.sen.primary_port, jid) == "completed", 10,
                   "job %d to complete on the primary" % jid, env=env)
        with open(os.path.join(env.tmp, "broker.log")) as f:
            log = f.read()
        self.assertIn("the primary of %s" % MASTER, log)

    def stream(self, during, stop_after_ok=1.0, bound=FAILOVER_BOUND_S):
        """POSTs noop jobs back to back from 1 s before during() runs until a 201 came
        stop_after_ok seconds after it ended (bounded). Returns the samples, the time
        during() began and the time it ended."""
        env = self.env
        samples = []
        stop = threading.Event()

        def client():
            n = 0
            while not stop.is_set() and n < 200000:
                n += 1
                t0 = time.monotonic()
                try:
                    r = env.http("POST", "/jobs", {"type": "noop", "payload": {"n": n}},
                                 timeout=15)
                    samples.append((t0, time.monotonic(), r.status, r.body))
                except OSError as e:
                    samples.append((t0, time.monotonic(), None, str(e)))
                time.sleep(0.003)

        th = threading.Thread(target=client, daemon=True)
        th.start()
        try:
            time.sleep(1.0)
            t_event = time.monotonic()
            during()
            t_done = time.monotonic()
            deadline = t_done + bound
            while time.monotonic() < deadline:
                ok_after = [x for x in samples if x[2] == 201 and x[0] > t_done]
                if ok_after and time.monotonic() - min(x[1] for x in ok_after) > stop_after_ok:
                    break
                time.sleep(0.1)
        finally:
            stop.set()
            th.join(20)
        self.assertFalse(th.is_alive())
        return samples, t_event, t_done

    def check_stream(self, samples, t_event, t_done, new_port, must_lose_none):
        env = self.env
        statuses = {}
        for x in samples:
            statuses[x[2]] = statuses.get(x[2], 0) + 1
        self.assertEqual([x for x in samples if x[2] not in (201, 503)], [],
                         "answers other than 201 and 503")
        ok = [json.loads(x[3])["id"] for x in samples if x[2] == 201]
        self.assertEqual(len(ok), len(set(ok)))
        before = [x for x in samples if x[2] == 201 and x[1] < t_event]
        after = [x for x in samples if x[2] == 201 and x[0] > t_done]
        self.assertTrue(before, "no 201 before the failover")
        self.assertTrue(after, "no 201 on the new primary after the failover")
        # the seconds without service: the longest time between two 201 answers
        times = sorted(x[1] for x in samples if x[2] == 201)
        gap = max(b - a for a, b in zip(times, times[1:]))
        states = Redis(new_port).pipeline([["HGET", harness.job_key(i), "state"] for i in ok])
        lost = [i for i, st in zip(ok, states) if st is None]
        sys.stderr.write("\nfailover: %d requests %r; %.2f s without a 201; %d of %d "
                         "acknowledged jobs not on the new primary (lost)\n"
                         % (len(samples), statuses, gap, len(lost), len(ok)))
        if lost:
            sys.stderr.write("lost ids: %r (first acknowledged %r, last %r)\n"
                             % (lost[:10], ok[:3], ok[-3:]))
        if must_lose_none:
            self.assertEqual(lost, [], "acknowledged jobs lost")
        kept = [i for i in ok if i not in set(lost)]

        def done():
            rep = Redis(new_port).pipeline([["HGET", harness.job_key(i), "state"] for i in kept])
            return all(st == b"completed" for st in rep)
        wait_until(done, COMPLETE_BOUND_S, "every acknowledged job kept to complete",
                   interval=0.3, env=env)
        return lost

    def test_kill_9_of_the_primary(self):
        env, sen = self.env, self.sen
        old = sen.primary_port

        def kill():
            env.redis_proc.expected_exit = True
            env.redis_proc.popen.kill()
            env.redis_proc.popen.wait()
            wait_until(lambda: sen.primary() in sen.replica_ports, FAILOVER_BOUND_S,
                       "the sentinels to promote a replica", env=env)
        samples, t_event, t_done = self.stream(kill)
        new = sen.primary()
        self.assertIn(new, sen.replica_ports)
        self.assertNotEqual(new, old)
        self.check_stream(samples, t_event, t_done, new, must_lose_none=self.MUST_LOSE_NONE)
        self.assertEqual(env.http("GET", "/healthz").status, 200)
        env.check_alive()

    def test_manual_failover_leaves_the_old_primary(self):
        env, sen = self.env, self.sen
        old = sen.primary_port

        def failover():
            Redis(sen.sentinel_ports[0]).execute("SENTINEL", "FAILOVER", MASTER)
            wait_until(lambda: sen.primary() in sen.replica_ports, FAILOVER_BOUND_S,
                       "the manual failover", env=env)
        samples, t_event, t_done = self.stream(failover, bound=40)
        new = sen.primary()
        self.check_stream(samples, t_event, t_done, new, must_lose_none=self.MUST_LOSE_NONE)
        # the old primary is a replica now (Sentinel turns it into one some seconds
        # after the failover), and both replicas follow the new primary
        wait_until(lambda: "role:slave" in s(Redis(old).execute("INFO", "replication")), 40,
                   "the old primary to become a replica", env=env)
        wait_until(lambda: all(sen.link_up(p) for p in [old] + sen.replica_ports if p != new),
                   40, "both replicas to sync with the new primary", env=env)
        jid = self.enqueue()
        wait_until(lambda: self.job_state(new, jid) == "completed", 10,
                   "a new job to complete on the new primary", env=env)
        env.check_alive()


class SentinelAckTest(SentinelTest):
    """With --min-replicas-ack 1 (of two replicas): a 2xx means "on a replica too". When
    the primary dies, Sentinel promotes the replica that has the most of its writes: no
    acknowledged job is lost. A manual failover is not covered (the old primary goes on
    taking writes, and the replica that is not promoted confirms them, until Sentinel
    reconfigures both): its losses are reported, and docs/reliability.md says so."""
    BROKER_ARGS = ["--min-replicas-ack", "1", "--replica-ack-timeout-ms", "500"]
    MUST_LOSE_NONE = True

    def test_discovery_through_the_second_sentinel(self):
        self.skipTest("the same as without --min-replicas-ack")

    def test_manual_failover_leaves_the_old_primary(self):
        self.skipTest("not covered by 1 of 2 replicas (see the class): SentinelTest counts "
                      "what a manual failover loses without a guarantee, SentinelAckAllTest "
                      "shows none lost with every replica's ack")


class SentinelAckAllTest(SentinelTest):
    """With --min-replicas-ack 2 (every replica): an acknowledged job is on the replica
    Sentinel promotes whatever it picks, so a manual failover loses none either; writes
    wait (503) until the old primary has joined the new one as its second replica."""
    BROKER_ARGS = ["--min-replicas-ack", "2", "--replica-ack-timeout-ms", "500"]
    MUST_LOSE_NONE = True

    def test_discovery_through_the_second_sentinel(self):
        self.skipTest("the same as without --min-replicas-ack")

    def test_kill_9_of_the_primary(self):
        self.skipTest("one replica is left after the promotion: every write waits for a "
                      "second one (503) until the dead primary comes back")


if __name__ == "__main__":
    harness.main()
