#!/usr/bin/python3
"""E2E: the Redis Cluster client (issue "Scale out I", part 3) on a real cluster.

Each test starts a Redis Cluster of 3 masters and 3 replicas (cluster-node-timeout 2 s) on
free loopback ports whose bus ports (+10000) are free too, with redis-cli --cluster create.

  * test_client drives struct jq_redis on a redis-cluster:// URL (tests/cluster/
    cluster_client.c: SET, GET and jobq's batch_status script, 32 in flight, through
    jq_store_send) while the test
      - checks the keys landed on every master and all read back;
      - flushes the scripts on every master (NOSCRIPT: the client loads them and resends);
      - moves a slot holding keys from one master to another, a key at a time, while
        commands flow (CLUSTER SETSLOT IMPORTING/MIGRATING, MIGRATE, SETSLOT NODE): ASK
        and MOVED answers are taken and not one command fails;
      - leaves a slot without a master for a moment (DELSLOTS, then ADDSLOTS): the
        cluster answers CLUSTERDOWN, the client resends later, not one command fails;
      - kills a master with kill -9: its replica takes over, and every key reads and writes
        again on the new map;
  * test_libjobq_client: libjobq-client (synchronous) on the URL reads the state of jobs
    whose hashes the test wrote on each master (it follows MOVED);
  * test_programs: jobq-broker given the URL answers /healthz; jobq-worker starts on it
    (jobq's scripts themselves answer CROSSSLOT on a cluster until the key layout has hash
    tags: docs/cluster.md; that is not tested here).

Skipped (with a line saying so) when redis-server has no cluster support.
"""
import json
import os
import queue
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import FreshEnvTestCase, Redis, wait_until  # noqa: E402

NODES = 6
CLUSTER_BOUND_S = 30.0
FAILOVER_BOUND_S = 40.0
ANSWER_BOUND_S = 60.0


def s(v):
    return v.decode() if isinstance(v, bytes) else v


def port_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as so:
        so.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            so.bind((harness.HOST, port))
        except OSError:
            return False
    return True


def cluster_ports(n):
    """n ports below 55536 that are free, each with its bus port (+10000) free too."""
    ports = []
    for _ in range(2000):
        p = random.randrange(20000, 45000)
        if p in ports or p + 10000 in ports or p - 10000 in ports:
            continue
        if port_free(p) and port_free(p + 10000):
            ports.append(p)
            if len(ports) == n:
                return ports
    raise AssertionError("no %d free port pairs (p, p+10000) on %s" % (n, harness.HOST))


def redis_cli_bin():
    server = harness.redis_server_bin()
    cli = os.path.join(os.path.dirname(server), "redis-cli")
    return cli if os.access(cli, os.X_OK) else shutil.which("redis-cli")


def cluster_supported():
    """'' when redis-server runs with cluster-enabled, else why not."""
    if not redis_cli_bin():
        return "no redis-cli beside redis-server"
    out = subprocess.run([harness.redis_server_bin(), "--version"], capture_output=True,
                         text=True, timeout=10).stdout
    if "v=" not in out:
        return "redis-server --version says nothing"
    major = int(out.split("v=")[1].split(".")[0])
    return "" if major >= 7 else "redis-server %s: jobq needs 7.0" % major


class Cluster:
    def __init__(self, env):
        self.env = env
        self.ports = []
        self.procs = {}

    def start(self):
        env = self.env
        self.ports = cluster_ports(NODES)
        for p in self.ports:
            d = os.path.join(env.tmp, "node%d" % p)
            os.makedirs(d, exist_ok=True)
            self.procs[p] = env._spawn("node%d" % p, [
                harness.redis_server_bin(), "--port", str(p), "--bind", harness.HOST,
                "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", "2000", "--cluster-replica-validity-factor", "0",
                "--dir", d, "--save", "", "--appendonly", "no", "--daemonize", "no"])
        for p in self.ports:
            wait_until(lambda: harness.port_accepts(p), 10, "cluster node %d" % p, env=env)
            if "cluster_enabled:1" not in s(Redis(p).execute("INFO", "cluster")):
                print("e2e_cluster_client SKIPPED: redis-server has no cluster support",
                      flush=True)
                raise unittest.SkipTest("redis-server has no cluster support")
        out = subprocess.run(
            [redis_cli_bin(), "--cluster", "create"] +
            ["%s:%d" % (harness.HOST, p) for p in self.ports] +
            ["--cluster-replicas", "1", "--cluster-yes"],
            capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise AssertionError("redis-cli --cluster create: %s\n%s" % (out.stdout, out.stderr))
        wait_until(self.settled, CLUSTER_BOUND_S, "the cluster to be ok on every node",
                   interval=0.2, env=env)

    def settled(self, ports=None):
        """Every node (of ports) says ok and names the same 3 masters with their slots."""
        seen = None
        for p in ports or self.ports:
            try:
                info = s(Redis(p, timeout=1).execute("CLUSTER", "INFO"))
                slots = Redis(p, timeout=1).execute("CLUSTER", "SLOTS")
            except (OSError, harness.RedisError):
                return False
            if "cluster_state:ok" not in info:
                return False
            view = sorted((r[0], r[1], int(r[2][1])) for r in slots)
            if seen is not None and view != seen:
                return False
            seen = view
        return len({m for _, _, m in seen}) == 3 and len(seen) >= 3

    def url(self, first_dead=False):
        ports = self.ports[:2]
        if first_dead:  # a node of the URL that does not answer: the next is asked
            ports = [harness.free_port()] + ports
        return "redis-cluster://%s/0" % ",".join("%s:%d" % (harness.HOST, p) for p in ports)

    def nodes(self, via):
        """CLUSTER NODES of node via: {port: (id, flags, master id)}."""
        out = {}
        for line in s(Redis(via).execute("CLUSTER", "NODES")).splitlines():
            f = line.split()
            port = int(f[1].split("@")[0].rsplit(":", 1)[1])
            out[port] = (f[0], f[2], f[3])
        return out

    def masters(self, via=None):
        """The masters serving slots, as node via sees them."""
        via = via or self.live()[0]
        return sorted({int(r[2][1]) for r in Redis(via).execute("CLUSTER", "SLOTS")})

    def owner(self, slot, via=None):
        via = via or self.live()[0]
        for r in Redis(via).execute("CLUSTER", "SLOTS"):
            if r[0] <= slot <= r[1]:
                return int(r[2][1])
        return None

    def live(self):
        return [p for p in self.ports if self.procs[p].running()]


class Driver:
    """tests/cluster/cluster_client, a line in and a JSON line out."""

    @staticmethod
    def binary():
        path = os.environ.get("JOBQ_CLUSTER_CLIENT_BIN") or os.path.join(
            harness.REPO, "build", "tests", "cluster", "cluster_client")
        harness.require_executable(path, "cluster_client")
        return path

    def __init__(self, env, url):
        binary = self.binary()
        self.log = open(os.path.join(env.tmp, "cluster_client.log"), "wb")
        self.p = subprocess.Popen([binary, url], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=self.log, text=True, bufsize=1)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def ask(self, cmd, timeout=ANSWER_BOUND_S):
        self.p.stdin.write(cmd + "\n")
        self.p.stdin.flush()
        line = self.lines.get(timeout=timeout)
        if line is None:
            raise AssertionError("cluster_client exited (status %s)" % self.p.wait(5))
        return json.loads(line)

    def send(self, cmd):
        self.p.stdin.write(cmd + "\n")
        self.p.stdin.flush()

    def verify_clean(self, bound, what, env):
        """verify rounds until one has every operation answered right."""
        last = {}
        deadline = time.monotonic() + bound
        for _ in range(200):
            last = self.ask("verify")
            if last["fail"] == 0 and last["unsent"] == 0 and last["ok"] == 2000:
                return last
            if time.monotonic() > deadline:
                break
            time.sleep(0.5)
        raise AssertionError("%s: no clean round in %.0f s; the last: %s\n%s"
                             % (what, bound, last, env.logs_text()))

    def close(self):
        """Its exit status (0 unless a sanitizer found something)."""
        try:
            self.send("quit")
            rc = self.p.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired, ValueError):
            self.p.kill()
            rc = self.p.wait(timeout=5)
        for f in (self.p.stdin, self.p.stdout, self.log):
            try:
                f.close()
            except OSError:
                pass
        return rc


class ClusterClientTest(FreshEnvTestCase):
    def setUpEnv(self, env):
        why = cluster_supported()
        if why:
            print("e2e_cluster_client SKIPPED: %s" % why, flush=True)
            self.skipTest(why)
        self.cluster = Cluster(env)
        self.cluster.start()

    def test_client(self):
        env, cl = self.env, self.cluster
        d = Driver(env, cl.url(first_dead=True))
        closed = False
        try:
            # every key written and read back, spread over the three masters
            first = d.verify_clean(20, "the first round", env)
            self.assertEqual(first["ready"], 1)
            for p in cl.masters():
                self.assertGreater(Redis(p).dbsize(), 100, "master %d holds few keys" % p)

            # NOSCRIPT: the scripts flushed on every master, each loads them again
            before = d.ask("stats")
            for p in cl.masters():
                Redis(p).execute("SCRIPT", "FLUSH")
            after = d.verify_clean(10, "after SCRIPT FLUSH", env)
            self.assertGreaterEqual(after["load"] - before["load"], 3, after)

            # a slot with keys moves while commands flow: ASK, then MOVED, and no failure
            before = d.ask("stats")
            d.send("load")
            slot = Redis(cl.ports[0]).execute("CLUSTER", "KEYSLOT", "{t0}")
            src = cl.owner(slot)
            dst = [p for p in cl.masters() if p != src][0]
            ids = {p: v[0] for p, v in cl.nodes(src).items()}
            Redis(dst).execute("CLUSTER", "SETSLOT", slot, "IMPORTING", ids[src])
            Redis(src).execute("CLUSTER", "SETSLOT", slot, "MIGRATING", ids[dst])
            moved_keys = 0
            for _ in range(500):
                keys = Redis(src).execute("CLUSTER", "GETKEYSINSLOT", slot, 1)
                if not keys:
                    break
                Redis(src).execute("MIGRATE", harness.HOST, dst, "", 0, 5000, "KEYS", keys[0])
                moved_keys += 1
                time.sleep(0.02)
            self.assertEqual(Redis(src).execute("CLUSTER", "COUNTKEYSINSLOT", slot), 0)
            self.assertGreater(moved_keys, 5)
            time.sleep(0.3)  # more commands meet the half-moved slot
            for p in [dst, src] + [m for m in cl.masters() if m not in (src, dst)]:
                Redis(p).execute("CLUSTER", "SETSLOT", slot, "NODE", ids[dst])
            time.sleep(1.0)  # and the moved one
            stopped = d.ask("stop")
            sys.stderr.write("slot %d moved (%d keys): %s\n" % (slot, moved_keys, stopped))
            self.assertEqual(stopped["fail"], before["fail"], stopped)
            self.assertEqual(stopped["unsent"], before["unsent"], stopped)
            self.assertGreater(stopped["ok"], before["ok"] + 1000, stopped)
            self.assertGreater(stopped["ask"], before["ask"], stopped)
            self.assertGreater(stopped["moved"], before["moved"], stopped)
            self.assertEqual(cl.owner(slot), dst)
            d.verify_clean(10, "after the slot moved", env)

            # CLUSTERDOWN: a slot served by no master for a moment (the cluster is down on
            # every node); the commands in flight wait and are resent, none fails
            before = d.ask("stats")
            d.send("load")
            time.sleep(0.3)
            slot = Redis(cl.ports[0]).execute("CLUSTER", "KEYSLOT", "{t2}")
            owner = cl.owner(slot)
            for p in cl.live():
                Redis(p).execute("CLUSTER", "DELSLOTS", slot)
            wait_until(lambda: "cluster_state:fail" in s(Redis(owner).execute("CLUSTER", "INFO")),
                       10, "the cluster to be down", env=env)
            time.sleep(0.5)
            Redis(owner).execute("CLUSTER", "ADDSLOTS", slot)
            wait_until(lambda: cl.settled(cl.live()), CLUSTER_BOUND_S,
                       "the cluster to be ok again", interval=0.2, env=env)
            time.sleep(0.5)
            stopped = d.ask("stop")
            sys.stderr.write("slot %d not served: %s\n" % (slot, stopped))
            self.assertEqual(stopped["fail"], before["fail"], stopped)
            self.assertGreater(stopped["later"], before["later"], stopped)
            d.verify_clean(10, "after the cluster was down", env)

            # kill -9 of a master under load: its replica takes over, commands resume
            d.send("load")
            victim = cl.owner(Redis(cl.ports[0]).execute("CLUSTER", "KEYSLOT", "{t1}"))
            time.sleep(0.3)
            cl.procs[victim].kill9()
            rest = [p for p in cl.ports if p != victim]
            wait_until(lambda: cl.settled(rest) and victim not in cl.masters(rest[0]),
                       FAILOVER_BOUND_S, "a replica to take over from %d" % victim,
                       interval=0.2, env=env)
            time.sleep(0.5)
            stopped = d.ask("stop")
            clean = d.verify_clean(30, "after the failover", env)
            self.assertEqual(clean["ready"], 1, clean)
            sys.stderr.write("failover: %d failed or unsent while the master was down; %s\n"
                             % (stopped["fail"] + stopped["unsent"] - before["fail"] -
                                before["unsent"], stopped))
            closed = True
            rc = d.close()
            with open(os.path.join(env.tmp, "cluster_client.log")) as f:
                self.assertEqual(rc, 0, "cluster_client's exit status\n%s" % f.read()[-4000:])
        finally:
            if not closed:
                d.close()

    def test_libjobq_client(self):
        """libjobq-client (synchronous) on the URL follows MOVED to each job's master."""
        env, cl = self.env, self.cluster
        binary = Driver.binary()
        n = 60
        names = subprocess.run([binary, "--job-keys", str(n)], capture_output=True, text=True,
                               timeout=10, check=True).stdout.split()
        self.assertEqual(len(names), n)
        owners = set()
        for i, name in enumerate(names):
            owner = cl.owner(Redis(cl.ports[0]).execute("CLUSTER", "KEYSLOT", name))
            owners.add(owner)
            state = ["pending", "running", "completed"][i % 3]
            Redis(owner).execute("HSET", name, "state", state, "done", 0, "total", 0)
        self.assertEqual(len(owners), 3, "the jobs' hashes are not on every master")
        out = subprocess.run([binary, "--client", cl.url(), str(n)], capture_output=True,
                             text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        got = out.stdout.splitlines()
        want = ["%d %s" % (i + 1, ["pending", "running", "completed"][i % 3])
                for i in range(n)]
        self.assertEqual(got, want, out.stderr)

    def test_wait_covers_every_master_written(self):
        """WAIT (--min-replicas-ack) goes to every master written to since the last WAIT,
        and the answer is the fewest replicas any confirmed: it went to one node only,
        which may not be the one that took the write."""
        env, cl = self.env, self.cluster
        by_master = {}
        for i in range(200):
            k = "w:%d" % i
            by_master.setdefault(cl.owner(Redis(cl.ports[0]).execute("CLUSTER", "KEYSLOT", k)),
                                 k)
        self.assertEqual(len(by_master), 3, by_master)
        a, b = sorted(by_master)[:2]
        replica = []

        def replicas_online():
            """a and b each have their replica online (just after create they may not)."""
            for m in (a, b):
                info = s(Redis(m).execute("INFO", "replication"))
                line = [l for l in info.splitlines() if l.startswith("slave0:")]
                if not line or "state=online" not in line[0]:
                    return False
                if m == a:
                    replica[:] = [int(line[0].split("port=")[1].split(",")[0])]
            return True
        wait_until(replicas_online, CLUSTER_BOUND_S, "the replicas to be online", env=env)
        d = Driver(env, cl.url())
        closed = False
        try:
            d.verify_clean(20, "the first round", env)
            self.assertEqual(d.ask("wait 2000 %s %s" % (by_master[a], by_master[b]))["acks"], 1)
            os.kill(cl.procs[replica[0]].pid, signal.SIGSTOP)
            try:
                # a's replica is away: a write on a is confirmed by none...
                self.assertEqual(d.ask("wait 300 %s" % by_master[a])["acks"], 0)
                # ...one on b alone by b's replica (a was not written to since)
                self.assertEqual(d.ask("wait 2000 %s" % by_master[b])["acks"], 1)
                # both: the fewest
                self.assertEqual(d.ask("wait 300 %s %s" % (by_master[a], by_master[b]))["acks"],
                                 0)
            finally:
                os.kill(cl.procs[replica[0]].pid, signal.SIGCONT)
            def confirmed():
                got = d.ask("wait 2000 %s %s" % (by_master[a], by_master[b]))
                return got if got["acks"] == 1 else None
            wait_until(confirmed, 20, "a's replica to confirm again", env=env)
            closed = True
            self.assertEqual(d.close(), 0)
        finally:
            if not closed:
                d.close()

    def test_programs(self):
        env, cl = self.env, self.cluster
        url = cl.url(first_dead=True)
        port = harness.free_port()
        broker = env._spawn("broker", [harness.broker_bin(), "--listen",
                                       "%s:%d" % (harness.HOST, port), "--redis-url", url])
        env.broker_port = port

        def healthy():
            try:
                return env.http("GET", "/healthz", timeout=1.0).status == 200
            except OSError:
                return False
        env._wait_ready(broker, healthy, "jobq-broker on a cluster (GET /healthz -> 200)",
                        timeout=20)
        self.assertIn("cluster ready (3 masters)", broker.log_text())
        worker = env._spawn("worker", [harness.worker_bin(), "--redis-url", url])
        wait_until(lambda: worker.log_text().count("cluster ready (3 masters)") >= 3, 20,
                   "the worker's three connections to the cluster", env=env)
        env.check_alive()


if __name__ == "__main__":
    harness.main()
