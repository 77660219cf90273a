"""Hosts on one machine: Linux network namespaces joined by a bridge (for test_hosts.py).

    net = NetHosts()                      # a unique name prefix for this run
    net.add_host("r1", "10.77.0.11")      # a namespace, its eth0 on the bridge, lo up
    net.spawn(env, "redis-r1", "r1", argv) # argv run inside r1 (ip netns exec), via env
    with net.inside("c"): ...             # this thread's sockets live in host c
    net.cut("r1"); net.heal("r1")         # its link down / up
    net.close()                           # every namespace deleted (and what it holds)

The bridge lives in a namespace of its own, so nothing is added to the root namespace:
no address, no route, no interface. Names are jqh<pid>-<host>: two runs never share one,
and namespaces left by a run that died (its pid gone) are deleted by the next one.
Everything needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN): NetHosts.unavailable() says why
not, for a clear skip.
"""
import contextlib
import ctypes
import os
import re
import subprocess

CLONE_NEWNET = 0x40000000
NETNS_DIR = "/run/netns"
PREFIX_RE = re.compile(r"^jqh(\d+)-")
BRIDGE_HOST = "br"
_libc = ctypes.CDLL(None, use_errno=True)


def ip(*args, check=True):
    """Runs ip(8); returns its stdout. A failure raises with ip's own message."""
    p = subprocess.run(["ip"] + list(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=20)
    if check and p.returncode != 0:
        raise RuntimeError("ip %s: %s" % (" ".join(args), p.stderr.decode(errors="replace")))
    return p.stdout.decode(errors="replace")


def _setns(path):
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, "setns(%s): %s" % (path, os.strerror(e)))
    finally:
        os.close(fd)


def remove_stale():
    """Deletes the namespaces of earlier runs whose process is gone."""
    try:
        names = os.listdir(NETNS_DIR)
    except OSError:
        return
    for n in names:
        m = PREFIX_RE.match(n)
        if m and not os.path.exists("/proc/%s" % m.group(1)):
            ip("netns", "del", n, check=False)


class NetHosts:
    def __init__(self, subnet_prefix="10.77.0."):
        self.prefix = "jqh%d-" % os.getpid()
        self.subnet = subnet_prefix
        self.hosts = {}  # host -> address
        self.created = []  # namespace names, in creation order

    @staticmethod
    def unavailable():
        """None when namespaces, veth pairs and bridges can be made here, else why not."""
        if os.geteuid() != 0:
            return "network namespaces need root (ip netns add); running as uid %d" % os.geteuid()
        probe = "jqh%d-probe" % os.getpid()
        try:
            ip("netns", "add", probe)
        except (OSError, RuntimeError, subprocess.TimeoutExpired) as e:
            return "cannot create a network namespace: %s" % e
        try:
            ip("-n", probe, "link", "add", "p0", "type", "veth", "peer", "name", "p1")
            ip("-n", probe, "link", "add", "b0", "type", "bridge")
        except RuntimeError as e:
            return "cannot create veth pairs or bridges in a namespace: %s" % e
        finally:
            ip("netns", "del", probe, check=False)
        return None

    def ns(self, host):
        return self.prefix + host

    def _add_ns(self, host):
        name = self.ns(host)
        ip("netns", "add", name)
        self.created.append(name)
        ip("-n", name, "link", "set", "lo", "up")
        return name

    def start(self):
        remove_stale()
        br = self._add_ns(BRIDGE_HOST)
        ip("-n", br, "link", "add", "br0", "type", "bridge")
        ip("-n", br, "link", "set", "br0", "up")

    def add_host(self, host, last_octet):
        """A namespace with eth0 = <subnet><last_octet>/24, linked to the bridge by a veth
        pair whose bridge end is v-<host>. Returns the address."""
        name = self._add_ns(host)
        br = self.ns(BRIDGE_HOST)
        addr = "%s%d" % (self.subnet, last_octet)
        ip("-n", br, "link", "add", "v-" + host, "type", "veth", "peer", "name", "eth0",
           "netns", name)
        ip("-n", br, "link", "set", "v-" + host, "master", "br0", "up")
        ip("-n", name, "addr", "add", addr + "/24", "dev", "eth0")
        ip("-n", name, "link", "set", "eth0", "up")
        self.hosts[host] = addr
        return addr

    def addr(self, host):
        return self.hosts[host]

    def cmd(self, host, argv):
        """argv as run inside host's namespace (ip netns exec execs it: same pid)."""
        return ["ip", "netns", "exec", self.ns(host)] + list(argv)

    def spawn(self, env, name, host, argv, extra_env=None):
        """Starts argv inside host through env (its log, its tear-down, kill by pid)."""
        return env._spawn(name, self.cmd(host, argv), extra_env)

    def cut(self, host):
        """The host's link goes down: nothing in or out, no RST, no FIN (a partition)."""
        ip("-n", self.ns(BRIDGE_HOST), "link", "set", "v-" + host, "down")

    def heal(self, host):
        ip("-n", self.ns(BRIDGE_HOST), "link", "set", "v-" + host, "up")

    @contextlib.contextmanager
    def inside(self, host):
        """The calling thread's network namespace is host's within the block."""
        saved = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            _setns(os.path.join(NETNS_DIR, self.ns(host)))
            yield
        finally:
            try:
                if _libc.setns(saved, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns back to the test's namespace")
            finally:
                os.close(saved)

    def enter_for_good(self, host):
        """For a thread of its own (a load generator): it stays in host until it ends."""
        _setns(os.path.join(NETNS_DIR, self.ns(host)))

    def close(self):
        for name in reversed(self.created):
            ip("netns", "del", name, check=False)
        self.created = []
