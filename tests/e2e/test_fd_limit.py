#!/usr/bin/python3
"""E2E: a broker out of file descriptors refuses new connections with a clean
503 (not a hang, not a spinning accept loop), keeps serving the connections it
has, and serves new ones again once descriptors are free."""
import os
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import E2ETestCase  # noqa: E402

LIMIT = 48  # open files the broker may have (soft = hard, so it cannot raise it)


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class FdLimitTest(E2ETestCase):
    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.broker_port = harness.free_port()
        cls.broker = env._spawn("broker", [
            "prlimit", "--nofile=%d:%d" % (LIMIT, LIMIT), "--", harness.broker_bin(),
            "--listen", "%s:%d" % (harness.HOST, env.broker_port),
            "--redis-url", env.redis_url])
        env._wait_ready(cls.broker, env._healthy, "jobq-broker (GET /healthz -> 200)")

    def ask(self, s):
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        try:
            return s.recv(512)
        except (socket.timeout, ConnectionResetError):
            return b""

    def test_refuses_with_503_then_recovers(self):
        held, ok, refused = [], 0, []
        try:
            for _ in range(LIMIT + 20):  # bounded: more than the broker can hold
                s = socket.create_connection((harness.HOST, self.env.broker_port), timeout=3)
                answer = self.ask(s)
                if answer.startswith(b"HTTP/1.1 200"):
                    ok += 1
                    held.append(s)
                else:
                    refused.append(answer)
                    s.close()
            self.assertGreater(ok, LIMIT // 2, "the broker served too few connections")
            self.assertTrue(refused, "no connection was refused at the limit")
            for a in refused:
                self.assertTrue(a.startswith(b"HTTP/1.1 503"), a)
                self.assertIn(b"too_many_connections", a)
            # the held connections still work
            self.assertTrue(self.ask(held[0]).startswith(b"HTTP/1.1 200"))
            # no busy loop while at the limit: a second of wall time costs little CPU
            extra = socket.create_connection((harness.HOST, self.env.broker_port), timeout=3)
            before = cpu_seconds(self.broker.pid)
            time.sleep(1.0)
            spent = cpu_seconds(self.broker.pid) - before
            extra.close()
            self.assertLess(spent, 0.5, "the broker spun at the fd limit (%.2f s CPU)" % spent)
        finally:
            for s in held:
                s.close()
        # descriptors are free again: new connections are served
        harness.wait_until(lambda: self.env._healthy(), 10, "the broker to serve again",
                           env=self.env)


if __name__ == "__main__":
    harness.main()
