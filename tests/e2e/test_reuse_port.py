#!/usr/bin/python3
"""E2E: several brokers on one port (`--reuse-port`, SO_REUSEPORT): both
start, the kernel spreads new connections between them, jobs enqueued through
either run, and when one stops the other serves alone. Without the flag a
second broker refuses to start with a clear error."""
import http.client
import json
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import E2ETestCase  # noqa: E402

HELD = 100  # keep-alive connections held at once


def tcp_sockets(pid):
    """Open socket descriptors of a process."""
    n = 0
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith("socket:"):
                n += 1
        except OSError:
            pass
    return n


class ReusePortTest(E2ETestCase):
    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker(extra_args=["--reuse-port"])
        env.start_worker()

    def spawn_broker(self, name, *extra):
        return self.env._spawn(name, [harness.broker_bin(), "--listen",
                                      "%s:%d" % (harness.HOST, self.env.broker_port),
                                      "--redis-url", self.env.redis_url] + list(extra))

    def test_two_brokers_share_the_port(self):
        first = self.env.broker_proc
        second = self.spawn_broker("broker2", "--reuse-port")
        harness.wait_until(lambda: "listening" in second.log_text().lower() or
                           tcp_sockets(second.pid) >= 2, 10, "broker2 to listen", env=self.env)
        base = {p.pid: tcp_sockets(p.pid) for p in (first, second)}
        conns = []
        try:
            for _ in range(HELD):
                c = http.client.HTTPConnection(harness.HOST, self.env.broker_port, timeout=10)
                c.request("POST", "/jobs", body=b'{"type":"noop"}',
                          headers={"Content-Type": "application/json"})
                r = c.getresponse()
                self.assertEqual(r.status, 201)
                self.env.wait_job(json.loads(r.read())["id"])
                conns.append(c)
            held = {p.pid: tcp_sockets(p.pid) - base[p.pid] for p in (first, second)}
            # (+ at most a Redis connection each broker may open meanwhile)
            self.assertTrue(HELD <= sum(held.values()) <= HELD + 4, held)
            # the kernel hashes each connection to one of the two listeners
            self.assertTrue(all(n >= HELD // 10 for n in held.values()),
                            "connections not spread over both brokers: %r" % held)
        finally:
            for c in conns:
                c.close()
        second.stop()
        # the first still serves alone; new connections reach it only
        for _ in range(20):
            jid = self.post_job({"type": "noop"})
            self.env.wait_job(jid)

    def test_without_the_flag_a_second_broker_refuses_to_start(self):
        other = self.spawn_broker("broker3")
        deadline = time.monotonic() + 10
        while other.popen.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        other.expected_exit = True
        self.assertIsNotNone(other.popen.returncode, "a second broker started without --reuse-port")
        self.assertNotEqual(other.popen.returncode, 0)
        self.assertIn("cannot listen", other.log_text())


if __name__ == "__main__":
    harness.main()
