"""Harness for the jobq end-to-end tests.

Each environment (Env) lives in a fresh temporary directory and runs, on free
127.0.0.1 ports, the processes a test asks for:

  * a private redis-server (no persistence, or an append-only file fsynced at
    every write with start_redis(appendonly=True); restart_redis() brings it
    back on the same port and dir),
  * an SMTP sink (smtp_sink.py, aiosmtpd) that stores each message as a file,
  * jobq-broker, pointed at that Redis,
  * jobq-worker processes, pointed at that Redis and that SMTP sink.

Every wait is bounded and, when it gives up, fails with the tail of the logs.
Tear-down stops everything the environment started (SIGTERM to the process
group, SIGKILL after 5 s), also when a test fails; children also get SIGKILL
from the kernel if the test process dies (PR_SET_PDEATHSIG).

The binaries come from the environment (set by ctest, see CMakeLists.txt):
JOBQ_BROKER_BIN, JOBQ_WORKER_BIN, JOBCTL_BIN, JOBQ_REDIS_SERVER; without them
the harness looks in <repo>/build. JOBQ_E2E_KEEP=1 keeps the temp dirs
(logs, Redis dir, received mail) for a look after the run.

Only the Python standard library (plus python3-aiosmtpd in the sink) is used;
run with /usr/bin/python3.
"""
import atexit
import base64
import ctypes
import datetime
import email
import email.policy
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
PYTHON = "/usr/bin/python3"
HOST = "127.0.0.1"

READY_TIMEOUT = 10.0  # seconds for any process to become ready
STOP_GRACE = 5.0      # seconds between SIGTERM and SIGKILL
HTTP_TIMEOUT = 10.0   # seconds for one HTTP exchange
LOG_TAIL_LINES = 80
SANITIZER_RE = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer|ThreadSanitizer)|"
                          r"runtime error: |WARNING: ThreadSanitizer")


def _binary(env_name, default_rel):
    path = os.environ.get(env_name)
    if path:
        return path
    return os.path.join(REPO, "build", default_rel)


def broker_bin():
    return _binary("JOBQ_BROKER_BIN", "broker/jobq-broker")


def worker_bin():
    return _binary("JOBQ_WORKER_BIN", "worker/jobq-worker")


def jobctl_bin():
    return _binary("JOBCTL_BIN", "cli/jobctl")


def script_text(name):
    """The bytes of Lua script <name> exactly as jobq loads it into Redis (its includes
    expanded by the build, in JOBQ_SCRIPTS_DIR)."""
    with open(os.path.join(_binary("JOBQ_SCRIPTS_DIR", "common/scripts"), name + ".lua"),
              "rb") as f:
        return f.read()


def redis_server_bin():
    return os.environ.get("JOBQ_REDIS_SERVER") or shutil.which("redis-server") or "redis-server"


def require_executable(path, what):
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise AssertionError("%s not found or not executable: %s (build it, or set its *_BIN "
                             "environment variable)" % (what, path))


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def port_accepts(port, timeout=0.5):
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            return True
    except OSError:
        return False


# ---------------------------------------------------------------------------
# waiting

class WaitTimeout(AssertionError):
    pass


def wait_until(fn, timeout, what, interval=0.05, env=None):
    """Calls fn() until it returns a truthy value (returned) or timeout seconds
    pass (fails with `what`, the last value and the log tails). Bounded in time
    and, through the interval, in count. If env is given, a process of it that
    died unexpectedly fails the wait at once."""
    deadline = time.monotonic() + timeout
    max_rounds = int(timeout / max(interval, 0.001)) + 2
    last = None
    for _ in range(max_rounds):
        last = fn()
        if last:
            return last
        if env is not None:
            env.check_alive()
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    msg = "timed out after %.1f s waiting for %s; last value: %r" % (timeout, what, last)
    if env is not None:
        msg += "\n" + env.logs_text()
    raise WaitTimeout(msg)


# ---------------------------------------------------------------------------
# a tiny RESP client

class StartFailed(AssertionError):
    def __init__(self, msg, log=""):
        super().__init__(msg)
        self.log = log

    def port_in_use(self):
        return "in use" in self.log.lower()


def _on_free_port(start, fixed_port, set_port, attempts=3):
    """Runs start() on a port from free_port() (retrying with another one if
    another process took it meanwhile), or on fixed_port if given."""
    for i in range(attempts):
        set_port(fixed_port or free_port())
        try:
            return start()
        except StartFailed as e:
            if fixed_port or not e.port_in_use() or i == attempts - 1:
                raise


class RedisError(Exception):
    pass


class Redis:
    """A minimal RESP2 client: one connection per command (so it survives a
    restarted redis-server), replies parsed into Python values."""

    def __init__(self, port, host=HOST, timeout=5.0):
        self.host, self.port, self.timeout = host, port, timeout

    @staticmethod
    def _encode(args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            if isinstance(a, str):
                a = a.encode()
            elif isinstance(a, int):
                a = str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        return b"".join(out)

    @classmethod
    def _read(cls, f, depth=0):
        if depth > 32:
            raise RedisError("reply nested too deeply")
        line = f.readline(1 << 20)
        if not line.endswith(b"\r\n"):
            raise RedisError("connection closed or bad reply: %r" % line)
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RedisError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = f.read(n + 2)
            if len(data) != n + 2:
                raise RedisError("short bulk reply")
            return data[:-2]
        if kind == b"*":
            n = int(rest)
            if n < 0:
                return None
            return [cls._read(f, depth + 1) for _ in range(n)]
        raise RedisError("unknown reply type %r" % line)

    def execute(self, *args):
        with socket.create_connection((self.host, self.port), timeout=self.timeout) as s:
            s.sendall(self._encode(args))
            with s.makefile("rb") as f:
                return self._read(f)

    def pipeline(self, commands):
        """Sends every command (a list of argument lists) on one connection and
        returns their replies in order; an error reply is returned as a
        RedisError instance, not raised."""
        if not commands:
            return []
        with socket.create_connection((self.host, self.port), timeout=self.timeout) as s:
            s.sendall(b"".join(self._encode(c) for c in commands))
            out = []
            with s.makefile("rb") as f:
                for _ in commands:
                    try:
                        out.append(self._read(f))
                    except RedisError as e:
                        if "connection closed" in str(e) or "short bulk" in str(e):
                            raise
                        out.append(e)
            return out

    def ping(self):
        try:
            return self.execute("PING") == "PONG"
        except (OSError, RedisError):
            return False

    def dbsize(self):
        return self.execute("DBSIZE")

    def keys(self, pattern):
        return sorted(k.decode() for k in self.execute("KEYS", pattern))

    def hgetall(self, key):
        flat = self.execute("HGETALL", key)
        return {flat[i].decode(): flat[i + 1] for i in range(0, len(flat), 2)}

    def type(self, key):
        return self.execute("TYPE", key)

    def llen(self, key):
        return self.execute("LLEN", key)


# ---------------------------------------------------------------------------
# HTTP

class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-cased names
        self.body = body

    @property
    def content_type(self):
        return self.headers.get("content-type", "")

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise AssertionError("response body is not JSON (%s): status %d, body %r"
                                 % (e, self.status, self.body[:500]))

    def __repr__(self):
        return "<HTTP %d %s %r>" % (self.status, self.content_type, self.body[:300])


def http_request(port, method, path, body=None, headers=None, timeout=HTTP_TIMEOUT):
    """One HTTP/1.1 exchange on a fresh connection. Never raises for a non-2xx
    status; the body is always read. body: bytes, str, or a dict/list (sent
    as JSON with Content-Type application/json unless headers say otherwise)."""
    headers = dict(headers or {})
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    elif isinstance(body, str):
        body = body.encode()
    if body is not None:
        headers.setdefault("Content-Length", str(len(body)))
    elif method in ("POST", "PUT", "PATCH"):
        headers.setdefault("Content-Length", "0")
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
    finally:
        conn.close()


def ws_raw_open(port, path="/ws", headers=None, host=None, timeout=10):
    """A WebSocket opened over a bare socket (frames read and written by hand: clients
    that misbehave, or a test that waits for one frame): the socket after the 101, or
    AssertionError."""
    s = socket.create_connection((HOST, port), timeout=timeout)
    key = base64.b64encode(os.urandom(16)).decode()
    lines = ["GET %s HTTP/1.1" % path, "Host: %s" % (host or "%s:%d" % (HOST, port)),
             "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Key: " + key,
             "Sec-WebSocket-Version: 13"] + ["%s: %s" % kv for kv in (headers or {}).items()]
    s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(1)
        if not chunk:
            s.close()
            raise AssertionError("connection closed during the handshake: %r" % head)
        head += chunk
    if not head.startswith(b"HTTP/1.1 101 "):
        s.close()
        raise AssertionError("no 101: %r" % head)
    return s


def raw_http_oversized(port, path, size, content_type="application/json", timeout=10.0):
    """POSTs a body of `size` bytes announced by Content-Length over a raw
    socket and returns (status or None, raw response bytes, note). The server
    may answer before reading the body and close the connection; this sends the
    headers first, waits a moment for an early answer, then sends the body
    while also reading, and tolerates a reset."""
    head = ("POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: %s\r\n"
            "Content-Length: %d\r\nConnection: close\r\n\r\n"
            % (path, HOST, port, content_type, size)).encode()
    received = b""
    note = []
    deadline = time.monotonic() + timeout
    s = socket.create_connection((HOST, port), timeout=timeout)
    try:
        s.sendall(head)
        s.settimeout(1.0)
        try:
            chunk = s.recv(65536)
            received += chunk
            if not chunk:
                note.append("closed right after the headers")
        except socket.timeout:
            pass
        except OSError as e:
            note.append("recv after headers: %s" % e)
        if not received and not note:
            # No early answer: send the body (bounded), reading as we go.
            body = b"x" * 65536
            sent = 0
            s.settimeout(2.0)
            try:
                for _ in range(size // 1024 + 64):  # each send moves >= 1 KiB or blocks
                    if sent >= size or time.monotonic() >= deadline:
                        break
                    sent += s.send(body[: min(len(body), size - sent)])
            except OSError as e:
                note.append("send stopped after %d bytes: %s" % (sent, e))
        s.settimeout(1.0)
        for _ in range(200):
            if time.monotonic() >= deadline:
                break
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                if received:
                    break
                continue
            except OSError as e:
                note.append("recv: %s" % e)
                break
            if not chunk:
                break
            received += chunk
    finally:
        s.close()
    m = re.match(rb"HTTP/1\.[01] (\d{3})", received)
    return (int(m.group(1)) if m else None), received, "; ".join(note)


# ---------------------------------------------------------------------------
# processes

_libc = None
try:
    _libc = ctypes.CDLL("libc.so.6", use_errno=True)
except OSError:
    pass
_PR_SET_PDEATHSIG = 1


def _child_setup(parent_pid):
    def setup():
        # Die with the test process, even if it is SIGKILLed (ctest timeout).
        if _libc is not None:
            _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent_pid:
            os._exit(1)
    return setup


class Proc:
    """One child process, its own process group, output to a log file."""

    def __init__(self, name, argv, log_path, env=None):
        self.name, self.argv, self.log_path, self.env = name, list(argv), log_path, env
        self.popen = None
        self.expected_exit = False
        self.needed_kill = False  # SIGTERM was not enough
        self.stopped_by_us = False

    def start(self):
        with open(self.log_path, "ab") as log:
            log.write(("=== %s: %s\n" % (self.name, " ".join(self.argv))).encode())
            log.flush()
            self.popen = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=self.env, cwd=os.path.dirname(self.log_path), start_new_session=True,
                preexec_fn=_child_setup(os.getpid()))
        self.expected_exit = False
        return self

    @property
    def pid(self):
        return self.popen.pid if self.popen else None

    def running(self):
        return self.popen is not None and self.popen.poll() is None

    def _signal(self, sig):
        try:
            os.killpg(self.popen.pid, sig)  # its own group: pgid == pid
        except ProcessLookupError:
            pass
        except PermissionError:
            self.popen.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, grace=STOP_GRACE):
        """Signals the process (SIGTERM by default), then SIGKILL after grace
        seconds. Returns its exit status."""
        if self.popen is None:
            return None
        self.expected_exit = True
        if self.popen.poll() is None:
            self.stopped_by_us = True
            self._signal(sig)
            try:
                self.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.needed_kill = True
                self._signal(signal.SIGKILL)
                try:
                    self.popen.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
        else:
            # Reap anything left in its group.
            self._signal(signal.SIGKILL)
        return self.popen.returncode

    def kill9(self, timeout=5.0):
        """kill -9 (the whole process group): a crash, not a stop. The exit is
        expected, but it is not counted as a stop by the harness (so no
        "status after SIGTERM" check at tear-down). Returns its exit status."""
        if self.popen is None:
            return None
        self.expected_exit = True
        self._signal(signal.SIGKILL)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("%s (pid %d) still alive %.0f s after SIGKILL"
                                 % (self.name, self.pid, timeout))
        return self.popen.returncode

    def log_text(self):
        """The whole log (the tests grep it; bounded by what the process wrote)."""
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError as e:
            return "(no log: %s)" % e

    def log_tail(self, lines=LOG_TAIL_LINES):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                size = f.tell()
                f.seek(max(0, size - 256 * 1024))
                data = f.read()
        except OSError as e:
            return "(no log: %s)" % e
        text = data.decode("utf-8", "replace").splitlines()
        return "\n".join(text[-lines:])


def _clean_env(extra=None):
    """The environment for a child: ours without JOBQ_* settings (so an outer
    JOBQ_REDIS_URL cannot leak in), plus `extra`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("JOBQ_") and k not in ("JOBCTL_BIN",)}
    env.update(extra or {})
    return env


_live_envs = []


@atexit.register
def _close_all_envs():
    for e in list(_live_envs):
        e.close()


class Env:
    """A private jobq deployment in a temp dir. Start what you need:

        env = Env("name")
        env.start_redis(); env.start_smtp(); env.start_broker(); env.start_worker()
        ...
        env.close()
    """

    def __init__(self, name="e2e"):
        self.name = name
        self.tmp = tempfile.mkdtemp(prefix="jobq-e2e-%s-" % re.sub(r"[^A-Za-z0-9_.-]", "_", name))
        self.procs = []
        self.redis_port = None
        self.smtp_port = None
        self.broker_port = None
        self.redis_proc = None
        self.redis_appendonly = False
        self.smtp_proc = None
        self.broker_proc = None
        self.workers = []
        self.mail_dir = os.path.join(self.tmp, "mail")
        self.failed = False
        self.closed = False
        self.shutdown_problems = []
        _live_envs.append(self)

    # -- generic -------------------------------------------------------------

    def _spawn(self, name, argv, extra_env=None):
        log = os.path.join(self.tmp, "%s.log" % name)
        p = Proc(name, argv, log, _clean_env(extra_env))
        self.procs.append(p)
        return p.start()

    def check_alive(self):
        """Fails (with logs) if a process died that nobody asked to stop."""
        for p in self.procs:
            if p.popen is not None and not p.expected_exit and p.popen.poll() is not None:
                p.expected_exit = True  # report once
                raise AssertionError("%s (pid %d) exited unexpectedly with status %s\n%s"
                                     % (p.name, p.pid, p.popen.returncode, self.logs_text()))

    def _wait_ready(self, proc, ready, what, timeout=READY_TIMEOUT):
        deadline = time.monotonic() + timeout
        for _ in range(int(timeout / 0.05) + 2):
            if proc.popen.poll() is None and ready():
                return
            if proc.popen.poll() is not None:
                proc.expected_exit = True
                raise StartFailed("%s exited with status %s before it was ready\n%s"
                                  % (what, proc.popen.returncode, proc.log_tail()),
                                  proc.log_tail())
            if time.monotonic() >= deadline:
                break
            time.sleep(0.05)
        raise AssertionError("%s not ready after %.0f s\n%s" % (what, timeout, proc.log_tail()))

    def logs_text(self, lines=LOG_TAIL_LINES):
        out = []
        seen = set()
        for p in self.procs:  # a restarted process appends to the same log
            if p.log_path in seen:
                continue
            seen.add(p.log_path)
            out.append("----- %s log (%s), last %d lines -----\n%s"
                       % (p.name, p.log_path, lines, p.log_tail(lines)))
        return "\n".join(out)

    def dump_logs(self, why=""):
        sys.stderr.write("\n===== jobq e2e environment %s (%s)%s =====\n%s\n"
                         % (self.name, self.tmp, (": " + why) if why else "", self.logs_text()))
        sys.stderr.flush()

    def close(self):
        if self.closed:
            return
        self.closed = True
        for p in reversed(self.procs):
            try:
                p.stop()
            except Exception as e:  # keep stopping the others
                sys.stderr.write("stopping %s: %s\n" % (p.name, e))
        self.shutdown_problems = self._check_shutdown()
        if self.shutdown_problems:
            self.shutdown_problems.append(self.logs_text(200))
        if self in _live_envs:
            _live_envs.remove(self)
        if os.environ.get("JOBQ_E2E_KEEP"):
            sys.stderr.write("jobq e2e: kept %s\n" % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def _check_shutdown(self):
        """What went wrong with the jobq processes, seen at tear-down: a
        sanitizer report in a log, or a broker/worker that did not exit with
        status 0 within STOP_GRACE seconds of SIGTERM (DESIGN.md: graceful
        shutdown)."""
        problems = []
        seen = set()
        for p in self.procs:
            if not (p.name == "broker" or p.name.startswith("worker")):
                continue
            if p.log_path not in seen:
                seen.add(p.log_path)
                for line in p.log_tail(100000).splitlines():
                    if not line.startswith("=== ") and SANITIZER_RE.search(line):
                        problems.append("%s log has a sanitizer report: %s" % (p.name, line))
                        break
            if p.needed_kill:
                problems.append("%s (pid %d) did not exit within %.0f s of SIGTERM"
                                % (p.name, p.pid, STOP_GRACE))
            elif p.stopped_by_us and p.popen.returncode != 0:
                problems.append("%s (pid %d) exited with status %s after SIGTERM (expected 0)"
                                % (p.name, p.pid, p.popen.returncode))
        return problems

    # -- redis ---------------------------------------------------------------

    @property
    def redis(self):
        return Redis(self.redis_port)

    @property
    def redis_url(self):
        return "redis://%s:%d/0" % (HOST, self.redis_port)

    @property
    def redis_dir(self):
        return os.path.join(self.tmp, "redis")

    def start_redis(self, port=None, appendonly=None):
        """Starts redis-server (on `port`, or the previous port, or a free one)
        and waits until it answers PING. appendonly=True: with an append-only
        file fsynced at every write (--appendonly yes --appendfsync always) in
        redis_dir, so a restart keeps every acknowledged write; None keeps the
        previous choice (default: no persistence)."""
        if appendonly is not None:
            self.redis_appendonly = bool(appendonly)
        rdir = self.redis_dir
        os.makedirs(rdir, exist_ok=True)
        persistence = (["--appendonly", "yes", "--appendfsync", "always"]
                       if self.redis_appendonly else ["--appendonly", "no"])

        def start():
            self.redis_proc = self._spawn("redis", [
                redis_server_bin(), "--port", str(self.redis_port), "--bind", HOST,
                "--save", ""] + persistence + ["--dir", rdir, "--daemonize", "no"])
            self._wait_ready(self.redis_proc, Redis(self.redis_port, timeout=0.5).ping,
                             "redis-server on port %d" % self.redis_port)
            return self.redis_proc
        return _on_free_port(start, port or self.redis_port,
                             lambda p: setattr(self, "redis_port", p))

    def stop_redis(self, how="sigterm"):
        """Stops redis-server: how="sigterm" (the signal), or "shutdown" (the
        SHUTDOWN command over RESP; the connection closes without a reply).
        Waits until it has exited and its port is closed."""
        if how == "shutdown":
            self.redis_proc.expected_exit = True
            try:
                Redis(self.redis_port).execute("SHUTDOWN")
            except (OSError, RedisError):
                pass  # success closes the connection without a reply
            try:
                self.redis_proc.popen.wait(timeout=STOP_GRACE)
            except subprocess.TimeoutExpired:
                pass
        self.redis_proc.stop()
        wait_until(lambda: not port_accepts(self.redis_port, 0.2), 5, "redis port to close")

    def restart_redis(self, how="sigterm", downtime=0.0):
        """Stops redis-server and starts it again on the same port and dir
        (same persistence), after `downtime` seconds."""
        self.stop_redis(how)
        if downtime > 0:
            time.sleep(downtime)
        return self.start_redis(port=self.redis_port)

    # -- smtp sink -----------------------------------------------------------

    @property
    def smtp_url(self):
        return "smtp://%s:%d" % (HOST, self.smtp_port)

    def start_smtp(self):
        os.makedirs(self.mail_dir, exist_ok=True)

        def start():
            self.smtp_proc = self._spawn("smtp", [
                PYTHON, "-u", os.path.join(HERE, "smtp_sink.py"),
                "--port", str(self.smtp_port), "--dir", self.mail_dir])
            # The sink says so once it has bound the port (a port that merely
            # accepts could be someone else's).
            self._wait_ready(self.smtp_proc,
                             lambda: "smtp_sink: listening" in self.smtp_proc.log_tail(20)
                             and port_accepts(self.smtp_port),
                             "SMTP sink on port %d" % self.smtp_port)
            return self.smtp_proc
        return _on_free_port(start, self.smtp_port, lambda p: setattr(self, "smtp_port", p))

    def mails(self):
        """[(file name, EmailMessage, envelope dict, raw bytes)] in arrival order."""
        out = []
        if not os.path.isdir(self.mail_dir):
            return out
        for fn in sorted(os.listdir(self.mail_dir)):
            if not fn.endswith(".eml"):
                continue
            path = os.path.join(self.mail_dir, fn)
            with open(path, "rb") as f:
                raw = f.read()
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            envelope = {}
            try:
                with open(path[:-4] + ".json", encoding="utf-8") as f:
                    envelope = json.load(f)
            except (OSError, ValueError):
                pass
            out.append((fn, msg, envelope, raw))
        return out

    # -- broker --------------------------------------------------------------

    def start_broker(self, extra_args=(), extra_env=None, wait_healthy=True):
        require_executable(broker_bin(), "jobq-broker")

        def start():
            self.broker_proc = self._spawn("broker", [
                broker_bin(), "--listen", "%s:%d" % (HOST, self.broker_port),
                "--redis-url", self.redis_url] + list(extra_args), extra_env)
            if wait_healthy:
                self._wait_ready(self.broker_proc, self._healthy,
                                 "jobq-broker on port %d (GET /healthz -> 200)"
                                 % self.broker_port)
            else:
                self._wait_ready(self.broker_proc, lambda: port_accepts(self.broker_port),
                                 "jobq-broker on port %d" % self.broker_port)
            return self.broker_proc
        return _on_free_port(start, self.broker_port,
                             lambda p: setattr(self, "broker_port", p))

    def _healthy(self):
        try:
            return self.http("GET", "/healthz", timeout=1.0).status == 200
        except OSError:
            return False

    @property
    def broker_url(self):
        return "http://%s:%d" % (HOST, self.broker_port)

    def http(self, method, path, body=None, headers=None, timeout=HTTP_TIMEOUT):
        return http_request(self.broker_port, method, path, body, headers, timeout)

    # -- workers -------------------------------------------------------------

    def start_worker(self, smtp_url=None, extra_args=(), extra_env=None):
        require_executable(worker_bin(), "jobq-worker")
        env = {"JOBQ_SMTP_URL": smtp_url or (self.smtp_url if self.smtp_port else
                                             "smtp://%s:%d" % (HOST, free_port())),
               "JOBQ_SMTP_FROM": "jobq@example.test"}
        env.update(extra_env or {})
        n = len(self.workers) + 1
        p = self._spawn("worker%d" % n, [
            worker_bin(), "--redis-url", self.redis_url,
            "--concurrency", "100", "--threads", "2"] + list(extra_args), env)
        self.workers.append(p)
        # No readiness endpoint for workers: make sure it did not die at start.
        time.sleep(0.2)
        if p.popen.poll() is not None:
            p.expected_exit = True
            raise AssertionError("jobq-worker exited at start with status %s\n%s"
                                 % (p.popen.returncode, p.log_tail()))
        return p

    def worker_id(self, proc, timeout=READY_TIMEOUT):
        """The id a worker logs at start ("worker <id> serving ...")."""
        pat = re.compile(r"worker (\S+) serving ")

        def find():
            m = None
            for m in pat.finditer(proc.log_text()):
                pass  # a log may hold several starts: the last one
            return m.group(1) if m else None
        return wait_until(find, timeout, "%s to log its id" % proc.name, env=self)

    # -- jobs ----------------------------------------------------------------

    def wait_job(self, job_id, states=("completed", "failed", "cancelled"), timeout=15.0):
        """Polls GET /jobs/{id} until its state is one of `states`; returns the job."""
        def poll():
            r = self.http("GET", "/jobs/%d" % job_id)
            if r.status != 200:
                raise AssertionError("GET /jobs/%d answered %r" % (job_id, r))
            job = r.json()
            return job if job.get("state") in states else None
        return wait_until(poll, timeout, "job %d to reach %s" % (job_id, "/".join(states)),
                          interval=0.05, env=self)

    def wait_task_status(self, task_id, pred, timeout=15.0, what=None):
        """Polls GET /task-status/{id} until pred(status) holds; returns the status."""
        def poll():
            r = self.http("GET", "/task-status/%d" % task_id)
            if r.status != 200:
                raise AssertionError("GET /task-status/%d answered %r" % (task_id, r))
            s = r.json().get("status")
            return s if pred(s) else None
        return wait_until(poll, timeout, what or "task %d status" % task_id,
                          interval=0.05, env=self)

    def job_keys(self):
        return set(self.redis.keys(JOB_KEYS))

    def queue_lengths(self):
        out = {}
        for k in self.redis.keys(PREFIX + "*"):
            if self.redis.type(k) == "list":
                out[k] = self.redis.llen(k)
        return out


# ---------------------------------------------------------------------------
# Redis key names (docs/redis.md): the one place the tests spell them, so that a change of
# the layout (docs/cluster.md) is a change here. Every helper takes the queue a key
# belongs to, even where the layout keeps that key global today.

PREFIX = "jobq:"
SLOTS = 16384


def crc16(data):
    """CRC16-XMODEM (polynomial 0x1021, initial value 0), the one Redis Cluster uses."""
    if isinstance(data, str):
        data = data.encode()
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def key_slot(key):
    """The Redis Cluster slot of a key: CRC16 of its hash tag (the text between the first
    '{' and the next '}', when not empty), else of the whole key, mod 16384."""
    if isinstance(key, str):
        key = key.encode()
    start = key.find(b"{")
    if start >= 0:
        end = key.find(b"}", start + 1)
        if end > start + 1:
            key = key[start + 1:end]
    return crc16(key) % SLOTS


def bucket(queue):
    """A queue's bucket (docs/cluster.md): CRC16 of its name mod 16384."""
    return crc16(queue) % SLOTS


def key(name):
    """A key of no queue: key("ids"), key("tokens"), key("workers"), ..."""
    return PREFIX + name


def id_bucket(jid):
    """The bucket an id carries: id mod 16384 (docs/cluster.md)."""
    return int(jid) % SLOTS


def ids_key(queue="default"):
    """The counter the ids of a queue's jobs come from."""
    return PREFIX + "id-counter"


def job_key(jid, prefix=PREFIX):
    """The hash of job jid, found from its id alone: under its id's bucket's hash tag."""
    return "%s{%d}:job:%d" % (prefix, id_bucket(jid), int(jid))


JOB_KEY_RE = re.compile(r"^" + re.escape(PREFIX) + r"\{\d+\}:job:(\d+)$")  # group 1: the id
JOB_KEYS = PREFIX + "{*}:job:*"  # a KEYS pattern that matches every job hash (and no other key)


def batch_key(bid, prefix=PREFIX):
    return "%s{%d}:batch:%d" % (prefix, id_bucket(bid), int(bid))


BATCH_KEYS = PREFIX + "{*}:batch:*"


def queue_key(queue, prio=0):
    """The pending list of a queue's priority prio (0: the queue's own list)."""
    return "%sq:%s%s" % (PREFIX, queue, "#p%d" % prio if prio else "")


def levels_key(queue):
    return "%sq:%s#prio" % (PREFIX, queue)


def wake_key(queue):
    return PREFIX + "wake:" + queue


def queue_stats_key(queue):
    return PREFIX + "queue-stats:" + queue


def type_stats_key(queue):
    return PREFIX + "type-stats:" + queue


def leases_key(queue="default"):
    return PREFIX + "leases"


def dead_key(queue="default"):
    return PREFIX + "dead"


def scheduled_key(queue="default"):
    return PREFIX + "scheduled"


def unique_key(ukey, queue="default"):
    """Where a job's unique_key is held."""
    return PREFIX + "unique:" + ukey


# ---------------------------------------------------------------------------
# checks shared by the tests

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")


def parse_rfc3339(s):
    if not isinstance(s, str) or not RFC3339.match(s):
        raise AssertionError("not an RFC 3339 timestamp: %r" % (s,))
    # fromisoformat in 3.11 takes 'Z' and up to 6 fractional digits.
    m = re.match(r"^(.*T\d{2}:\d{2}:\d{2})(\.\d+)?(.*)$", s)
    frac = (m.group(2) or "")[:7]
    return datetime.datetime.fromisoformat(m.group(1) + frac + m.group(3))


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


class E2ETestCase(unittest.TestCase):
    """Base class: one Env per test class, built by setUpEnv(env) (override);
    the logs of every process are printed when a test of the class fails."""

    env = None
    maxDiff = None

    @classmethod
    def setUpEnv(cls, env):
        raise NotImplementedError

    @classmethod
    def setUpClass(cls):
        cls.env = Env(cls.__name__)
        try:
            cls.setUpEnv(cls.env)
        except BaseException:
            cls.env.dump_logs("set-up of %s failed" % cls.__name__)
            cls.env.close()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.env is not None:
            cls.env.close()
            if cls.env.shutdown_problems:
                raise AssertionError("at tear-down of %s:\n%s"
                                     % (cls.__name__, "\n".join(cls.env.shutdown_problems)))

    def run(self, result=None):
        if result is None:
            return super().run(result)
        before = len(result.failures) + len(result.errors)
        out = super().run(result)
        if len(result.failures) + len(result.errors) > before and self.env is not None \
                and not self.env.closed:
            self.env.failed = True
            self.env.dump_logs("after the failure of %s" % self.id())
        return out

    # -- jobctl ---------------------------------------------------------------

    def jobctl(self, *args, url=True, timeout=30, extra_env=None):
        """Runs jobctl against this class's broker (with --url unless url is
        False), stdin from /dev/null and stdout a pipe (neither a terminal);
        returns the CompletedProcess with .out, .err and .argv."""
        argv = [jobctl_bin()]
        if url:
            argv += ["--url", self.env.broker_url]
        argv += list(args)
        try:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=_clean_env(extra_env),
                               timeout=timeout)
        except subprocess.TimeoutExpired as e:
            self.fail("%s did not finish within %d s; stdout %r stderr %r"
                      % (argv, timeout, e.stdout, e.stderr))
        p.out = p.stdout.decode("utf-8", "replace")
        p.err = p.stderr.decode("utf-8", "replace")
        p.argv = argv
        return p

    def describe(self, p):
        """A jobctl run, for assertion messages."""
        return "%s -> exit %d\nstdout: %r\nstderr: %r" % (p.argv, p.returncode, p.out, p.err)

    # -- assertions ----------------------------------------------------------

    def assertJSONResponse(self, r, status):
        """Status and Content-Type: application/json; returns the parsed body."""
        self.assertEqual(r.status, status, "unexpected status: %r" % r)
        self.assertTrue(r.content_type.split(";")[0].strip().lower() == "application/json",
                        "Content-Type is %r, not application/json: %r" % (r.content_type, r))
        return r.json()

    def assertError(self, r, status, codes):
        """The documented error shape {"error": {"code", "message"}} with a code in codes."""
        if isinstance(codes, str):
            codes = (codes,)
        body = self.assertJSONResponse(r, status)
        self.assertIsInstance(body, dict, r)
        self.assertEqual(set(body), {"error"}, "error body has other top-level keys: %r" % r)
        err = body["error"]
        self.assertIsInstance(err, dict, r)
        self.assertEqual(set(err), {"code", "message"}, "error object keys: %r" % r)
        self.assertIn(err["code"], codes, "error code: %r" % r)
        self.assertIsInstance(err["message"], str, r)
        self.assertTrue(err["message"].strip(), "empty error message: %r" % r)
        return err

    def post_job(self, body, headers=None):
        """POST /jobs; asserts 201 {"id": N, "state": "pending"}; returns N."""
        r = self.env.http("POST", "/jobs", body, headers)
        got = self.assertJSONResponse(r, 201)
        self.assertEqual(set(got), {"id", "state"}, r)
        self.assertTrue(is_int(got["id"]) and got["id"] > 0, r)
        self.assertEqual(got["state"], "pending", r)
        return got["id"]

    def post_unchecked(self, queue, type_=None, payload_mp=None, **fields):
        """A job as an older broker, or a hand-written one, may have stored it: a valid
        noop job posted to a paused queue, its type and/or stored payload (the msgpack
        bytes of [1, value]) then rewritten in its hash, and the queue resumed. Returns
        its id. The broker refuses such a job at enqueue; a worker must fail it."""
        r = self.env.http("POST", "/queues/%s/pause" % queue)
        self.assertEqual(r.status, 200, r)
        jid = self.post_job(dict({"type": "noop", "queue": queue}, **fields))
        if type_ is not None:
            self.env.redis.execute("HSET", job_key(jid), "type", type_)
        if payload_mp is not None:
            self.env.redis.execute("HSET", job_key(jid), "payload", payload_mp)
        r = self.env.http("POST", "/queues/%s/resume" % queue)
        self.assertEqual(r.status, 200, r)
        return jid

    def assertJobShape(self, job):
        """The documented keys of GET /jobs/{id}, with their types."""
        for k in ("id", "type", "queue", "state", "status", "progress", "attempts",
                  "max_attempts", "priority", "timeout_ms", "payload", "result", "error",
                  "created_at", "started_at", "finished_at", "worker"):
            self.assertIn(k, job, "GET /jobs/{id} lacks %r: %r" % (k, job))
        for k in ("id", "attempts", "max_attempts", "priority", "timeout_ms"):
            self.assertTrue(is_int(job[k]), "%s is not an integer: %r" % (k, job))
        for k in ("type", "queue", "state", "status"):
            self.assertIsInstance(job[k], str, "%s: %r" % (k, job))
        self.assertIsInstance(job["progress"], dict, job)
        self.assertTrue(is_int(job["progress"].get("done")) and
                        is_int(job["progress"].get("total")), job)
        for k in ("created_at", "started_at", "finished_at"):
            if job[k] is not None:
                parse_rfc3339(job[k])
        parse_rfc3339(job["created_at"])


class FreshEnvTestCase(E2ETestCase):
    """Like E2ETestCase, but every test method gets its own Env (for tests
    that crash or stop processes): setUpEnv(env) is called per test; the Env
    is closed after the test (its logs printed first if the test failed), and
    a shutdown problem (a jobq process that did not exit 0 within STOP_GRACE
    of SIGTERM, or a sanitizer report) fails the test."""

    @classmethod
    def setUpClass(cls):
        pass

    @classmethod
    def tearDownClass(cls):
        pass

    def setUp(self):
        self.env = Env(self.id().split(".", 1)[-1])
        self.setUpEnv(self.env)

    def run(self, result=None):
        if result is None:
            return super().run(result)
        self.env = None
        out = super().run(result)  # dumps the logs if the test failed
        env = self.env
        if env is not None and not env.closed:
            env.close()
            if env.shutdown_problems:
                try:
                    raise AssertionError("at tear-down of %s:\n%s"
                                         % (self.id(), "\n".join(env.shutdown_problems)))
                except AssertionError:
                    result.addFailure(self, sys.exc_info())
        return out


class UpSh:
    """deploy/up.sh, run as the README says (as root in CI: it drops to its own user),
    on the binaries of this build (JOBQ_BIN_DIR) and free ports, in a process group of
    its own; its output in a file. stop() is what Ctrl-C does (SIGINT to the group)."""

    def __init__(self, workers=2, extra_env=None):
        self.port = free_port()
        self.bindir = os.path.dirname(os.path.dirname(os.path.abspath(broker_bin())))
        env = {k: v for k, v in os.environ.items() if not k.startswith("JOBQ_")}
        env.update({"JOBQ_BIN_DIR": self.bindir, "JOBQ_WORKERS": str(workers),
                    "JOBQ_LISTEN": "%s:%d" % (HOST, self.port),
                    "JOBQ_REDIS_PORT": str(free_port()),
                    "JOBQ_SMTP_PORT": str(free_port())})
        env.update(extra_env or {})
        self.out = open(os.path.join(tempfile.mkdtemp(prefix="jobq-up-test-"), "up.log"), "w+")
        self.proc = subprocess.Popen(["bash", os.path.join(REPO, "deploy", "up.sh")],
                                     stdout=self.out, stderr=subprocess.STDOUT, env=env,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            wait_until(lambda: self.run_dir() is not None, 60, "deploy/up.sh to start")
            wait_until(self.healthy, 30, "the broker behind deploy/up.sh")
        except BaseException:
            self.stop()
            raise

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)  # what Ctrl-C does
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.out.close()

    def log(self):
        self.out.flush()
        with open(self.out.name) as f:
            return f.read()

    def run_dir(self):
        m = re.search(r"logs and state in (\S+)", self.log())
        return m.group(1) if m else None

    def path_line(self):
        """The line up.sh prints that puts jobctl and its manual on PATH and MANPATH."""
        m = re.search(r"^jobq: jobctl and 'man jobctl' in another shell: (export .*)$",
                      self.log(), re.M)
        return m.group(1) if m else None

    def http(self, method, path, body=None):
        return http_request(self.port, method, path, body)

    def healthy(self):
        try:
            return self.http("GET", "/healthz").status == 200
        except OSError:
            return False


def main():
    sys.dont_write_bytecode = True
    # A SIGTERM (ctest, CI) becomes an exception so that tear-down runs.
    def on_term(signum, frame):
        raise KeyboardInterrupt("SIGTERM")
    signal.signal(signal.SIGTERM, on_term)
    try:
        unittest.main(verbosity=2)
    finally:
        _close_all_envs()
