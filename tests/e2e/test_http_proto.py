#!/usr/bin/python3
"""E2E: the broker's HTTP/1.1 server (broker/http.c, broker/http_parse.c) over
raw sockets (one Redis, one broker, no worker, so every stored job stays as it
was stored).

Covered: keep-alive, pipelining (answers in request order), requests that
arrive a few bytes at a time, Connection: close, HTTP/1.0 (answered with an
"HTTP/1.0" status line; kept open only when the request asks with Connection:
keep-alive, and the answer then says keep-alive), chunked request bodies (chunk
extensions are ignored), two Content-Length headers with the same value,
Expect: 100-continue (an "HTTP/1.1 100 Continue" as soon as the head is read
and its body has not come; none for HTTP/1.0), HEAD (the router has no HEAD
routes: 405 with Allow, a Content-Length and not one body byte), the body size
limit, malformed requests and unknown methods, clients that go away
mid-request, many idle keep-alive connections, query strings and the JSON
errors of the router, and case-insensitive header names.

A request the server refuses itself gets the error shape of docs/api.md
("Errors"), {"error": {"code": ..., "message": ...}} with Content-Type:
application/json and Connection: close; the connection is then closed and
nothing is stored:
  400 bad_request: a malformed request line or header line, a Content-Length
      that is not digits or differs between two headers, Transfer-Encoding
      together with Content-Length, a malformed chunk size line;
  413 payload_too_large: a body over --max-body, refused from the head (or the
      chunk size line) before the body is read;
  431 headers_too_large: a request head over 8 KiB;
  501 not_implemented: an unknown method, a Transfer-Encoding other than chunked;
  505 http_version_not_supported: not HTTP/1.0 or HTTP/1.1.
(evhttp, the server before, answered most of these with 400 and an HTML page.)
Reason phrases are not asserted: clients must ignore them.

Every socket has a timeout, so nothing can hang; responses are parsed here
(status line, headers case-insensitively, Content-Length, chunked or
read-to-close bodies)."""
import json
import os
import re
import select
import signal
import socket
import struct
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import E2ETestCase, HOST, is_int  # noqa: E402

TIMEOUT = 5.0  # seconds, on every socket of this test
HEALTHY = {"status": "ok", "redis": "ok"}
JOB_KEY = harness.JOB_KEY_RE
STATUS_LINE = re.compile(rb"^HTTP/(1\.[01]) (\d{3})(?: ([^\r\n]*))?$")


class PeerClosed(AssertionError):
    pass


class Resp:
    """One parsed HTTP response."""

    def __init__(self, version, status, reason, headers, body):
        self.version = version    # "1.0" or "1.1"
        self.status = status
        self.reason = reason
        self.headers = headers    # [(name as sent, value)]
        self.body = body

    def header(self, name):
        """The value of a header (names compared case-insensitively; repeated
        ones joined with ", "), or None."""
        vals = [v for k, v in self.headers if k.lower() == name.lower()]
        return ", ".join(vals) if vals else None

    def tokens(self, name):
        """The comma-separated tokens of a header, lower-cased."""
        return [t.strip().lower() for t in (self.header(name) or "").split(",") if t.strip()]

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise AssertionError("not JSON (%s): %r" % (e, self))

    def as_harness(self):
        """The harness' Response (for assertJSONResponse / assertError)."""
        return harness.Response(self.status, {k.lower(): v for k, v in self.headers}, self.body)

    def __repr__(self):
        return "<HTTP/%s %d %r %r %r>" % (self.version, self.status, self.reason, self.headers,
                                           self.body[:300])


class Conn:
    """A raw client connection with a read buffer; every read has a timeout."""

    def __init__(self, port, timeout=TIMEOUT, nodelay=False):
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.timeout = timeout
        if nodelay:
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            raise PeerClosed("connection closed by the broker; unparsed bytes %r" % self.buf[:300])
        self.buf += chunk

    def _line(self, limit=64 * 1024):
        while b"\n" not in self.buf:
            if len(self.buf) > limit:
                raise AssertionError("line longer than %d bytes: %r" % (limit, self.buf[:200]))
            self._fill()
        line, self.buf = self.buf.split(b"\n", 1)
        return line[:-1] if line.endswith(b"\r") else line

    def _exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_response(self, method="GET", skip_1xx=True):
        """Reads one response. method HEAD: no body whatever the headers say.
        skip_1xx: interim (1xx) responses are read and dropped."""
        while True:
            line = self._line()
            m = STATUS_LINE.match(line)
            if not m:
                raise AssertionError("not an HTTP/1.x status line: %r (then %r)"
                                     % (line, self.buf[:200]))
            version, status = m.group(1).decode(), int(m.group(2))
            reason = (m.group(3) or b"").decode("latin-1")
            headers = []
            while True:
                h = self._line()
                if h == b"":
                    break
                name, colon, value = h.partition(b":")
                if not colon or not name or name != name.strip():
                    raise AssertionError("malformed response header line %r" % h)
                headers.append((name.decode("latin-1"), value.strip().decode("latin-1")))
            resp = Resp(version, status, reason, headers, b"")
            if 100 <= status < 200:
                if status == 101 or not skip_1xx:
                    return resp
                continue
            break
        if method == "HEAD" or status in (204, 304):
            return resp
        te = resp.tokens("transfer-encoding")
        if te:
            self.assertTrue_(te[-1] == "chunked", "response Transfer-Encoding %r" % te)
            resp.body = self._chunked()
        elif resp.header("content-length") is not None:
            cl = resp.header("content-length")
            self.assertTrue_(re.fullmatch(r"\d+", cl), "response Content-Length %r" % cl)
            resp.body = self._exact(int(cl))
        else:  # delimited by the end of the connection
            while True:
                try:
                    self._fill()
                except PeerClosed:
                    break
            resp.body, self.buf = self.buf, b""
        return resp

    @staticmethod
    def assertTrue_(cond, msg):
        if not cond:
            raise AssertionError(msg)

    def _chunked(self):
        body = b""
        while True:
            size_line = self._line().split(b";", 1)[0].strip()
            self.assertTrue_(re.fullmatch(rb"[0-9A-Fa-f]+", size_line),
                             "bad chunk size line %r" % size_line)
            n = int(size_line, 16)
            if n == 0:
                while self._line() != b"":  # trailers
                    pass
                return body
            body += self._exact(n)
            self.assertTrue_(self._exact(2) == b"\r\n", "chunk not followed by CRLF")

    def closed_by_peer(self):
        """True if the broker closes the connection (recv returns b"" or a
        reset) with nothing more sent; False if it is still open after the
        timeout. Bytes after the last response fail the test."""
        if self.buf:
            raise AssertionError("bytes after the response: %r" % self.buf[:300])
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True
        if chunk:
            raise AssertionError("bytes after the response: %r" % chunk[:300])
        return True

    def nothing_more_within(self, seconds):
        """No bytes arrive (and the connection stays open) for `seconds`."""
        if self.buf:
            raise AssertionError("unexpected bytes: %r" % self.buf[:300])
        self.sock.settimeout(seconds)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return True
        finally:
            self.sock.settimeout(self.timeout)
        raise AssertionError("unexpected %s: %r" % ("bytes" if chunk else "close", chunk[:300]))


def req(method, path, body=None, headers=(), version="1.1", host=True, json_type=True):
    """The bytes of one request. body: bytes, or a dict (JSON). headers: pairs,
    sent as written (name case kept). Content-Length is added for a body unless
    headers carry Content-Length or Transfer-Encoding (any case)."""
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    names = {k.lower() for k, _ in headers}
    lines = ["%s %s HTTP/%s" % (method, path, version)]
    if host and "host" not in names:
        lines.append("Host: %s" % HOST)
    if body is not None and json_type and "content-type" not in names:
        lines.append("Content-Type: application/json")
    if body is not None and not names & {"content-length", "transfer-encoding"}:
        lines.append("Content-Length: %d" % len(body))
    lines += ["%s: %s" % (k, v) for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


def job_body(**payload):
    return {"type": "noop", "payload": payload}


def chunked(data, sizes):
    """data as chunks of the given sizes (the rest as a last chunk), then the
    last-chunk and an empty trailer section."""
    out, i = b"", 0
    for n in list(sizes) + [len(data)]:
        part = data[i:i + n]
        i += len(part)
        if part:
            out += b"%x\r\n%s\r\n" % (len(part), part)
    return out + b"0\r\n\r\n"


class HttpProtoTest(E2ETestCase):
    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()

    # -- helpers ---------------------------------------------------------------

    def conn(self, **kw):
        c = Conn(self.env.broker_port, **kw)
        self.addCleanup(c.close)
        return c

    def job_ids(self):
        return {int(m.group(1)) for m in map(JOB_KEY.match, self.env.job_keys()) if m}

    def assertCreated(self, r):
        """201 {"id": N, "state": "pending"}; returns N."""
        got = self.assertJSONResponse(r.as_harness(), 201)
        self.assertEqual(set(got), {"id", "state"}, r)
        self.assertTrue(is_int(got["id"]) and got["id"] > 0, r)
        self.assertEqual(got["state"], "pending", r)
        return got["id"]

    def assertHealthz(self, r):
        self.assertEqual(self.assertJSONResponse(r.as_harness(), 200), HEALTHY, r)

    def assertTaskStatus(self, r, task_id, status="pending"):
        self.assertEqual(self.assertJSONResponse(r.as_harness(), 200),
                         {"task_id": task_id, "status": status}, r)

    def assertPayload(self, job_id, payload):
        """The job is stored with that payload (read through a separate client)."""
        job = self.assertJSONResponse(self.env.http("GET", "/jobs/%d" % job_id), 200)
        self.assertEqual(job["type"], "noop", job)
        self.assertEqual(job["payload"], payload, job)

    def assertBrokerUp(self):
        self.env.check_alive()
        r = self.env.http("GET", "/healthz", timeout=TIMEOUT)
        self.assertEqual(self.assertJSONResponse(r, 200), HEALTHY)

    def assertClosesAfter(self, c, r, what):
        """r said Connection: close, and the broker then closes c with nothing
        more sent."""
        self.assertIn("close", r.tokens("connection"), "%s: %r" % (what, r))
        self.assertTrue(c.closed_by_peer(),
                        "%s: connection still open %.0f s after %r" % (what, TIMEOUT, r))

    def assertRefusal(self, c, r, status, code, what):
        """r is a refusal made by the server itself: status, the JSON error
        with that code, Content-Type: application/json, Connection: close; then
        the connection closes (after a request it cannot read there is no
        telling where the next one would start)."""
        self.assertEqual(r.status, status, "%s: %r" % (what, r))
        self.assertEqual(r.version, "1.1", "%s: %r" % (what, r))
        self.assertError(r.as_harness(), status, code)
        self.assertClosesAfter(c, r, what)

    def assertRefused(self, data, status, code, what):
        """Sends data on a new connection: the broker answers status with the
        JSON error code, then closes (assertRefusal). Returns the answer."""
        c = self.conn()
        try:
            c.send(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the answer may already be there: reading tells
        r = self.read_or_fail(c, "%d %s to %s" % (status, code, what))
        self.assertRefusal(c, r, status, code, what)
        return r

    def read_or_fail(self, c, what, **kw):
        try:
            return c.read_response(**kw)
        except socket.timeout:
            self.fail("no answer: expected %s" % what)

    def post_stored(self, payload):
        """POST /jobs through the harness' client; returns the id."""
        return self.post_job(job_body(**payload))

    # -- 1. keep-alive ---------------------------------------------------------

    def test_01_keep_alive(self):
        c = self.conn()
        ids = []
        for i in range(3):
            c.send(req("POST", "/jobs", job_body(i=i)))
            jid = self.assertCreated(c.read_response())
            ids.append(jid)
            c.send(req("GET", "/task-status/%d" % jid))
            self.assertTaskStatus(c.read_response(), jid)
        self.assertEqual(ids, sorted(set(ids)), ids)
        # HTTP/1.1 without Connection: close: still open.
        self.assertTrue(c.nothing_more_within(0.3))
        c.send(req("GET", "/healthz"))
        self.assertHealthz(c.read_response())
        for i, jid in enumerate(ids):
            self.assertPayload(jid, {"i": i})

    # -- 2. pipelining -----------------------------------------------------------

    def test_02_pipelining(self):
        earlier = self.post_stored({"before": True})
        before = self.job_ids()
        c = self.conn()
        c.send(req("POST", "/jobs", job_body(p=1)) + req("GET", "/healthz")
               + req("POST", "/jobs", job_body(p=2)) + req("GET", "/task-status/%d" % earlier)
               + req("POST", "/jobs", job_body(p=3)))
        a = self.assertCreated(c.read_response())
        self.assertHealthz(c.read_response())
        b = self.assertCreated(c.read_response())
        self.assertTaskStatus(c.read_response(), earlier)
        d = self.assertCreated(c.read_response())
        self.assertTrue(earlier < a < b < d, (earlier, a, b, d))
        self.assertTrue(c.nothing_more_within(0.3))
        self.assertEqual(self.job_ids() - before, {a, b, d})
        for jid, p in ((a, 1), (b, 2), (d, 3)):
            self.assertPayload(jid, {"p": p})

        # A longer pipeline in one write, bodies of several sizes, ending with a
        # request that closes: 30 answers in order, then the close.
        before = self.job_ids()
        data, kinds = b"", []
        for i in range(30):
            if i % 3 == 0:
                data += req("POST", "/jobs", job_body(k=i, pad="x" * (i * 37)))
                kinds.append(("post", i))
            elif i % 3 == 1:
                data += req("GET", "/healthz")
                kinds.append(("healthz", i))
            else:
                data += req("GET", "/task-status/%d" % earlier)
                kinds.append(("status", i))
        data += req("GET", "/healthz", headers=[("Connection", "close")])
        c = self.conn()
        c.send(data)
        posted = []
        for kind, i in kinds:
            r = c.read_response()
            if kind == "post":
                posted.append((self.assertCreated(r), i))
            elif kind == "healthz":
                self.assertHealthz(r)
            else:
                self.assertTaskStatus(r, earlier)
        self.assertHealthz(c.read_response())
        self.assertTrue(c.closed_by_peer(), "Connection: close at the end of a pipeline")
        ids = [jid for jid, _ in posted]
        self.assertEqual(ids, sorted(set(ids)), ids)
        self.assertEqual(self.job_ids() - before, set(ids))
        for jid, i in posted:
            self.assertPayload(jid, {"k": i, "pad": "x" * (i * 37)})

    # -- 3. a request in many small writes ----------------------------------------

    def test_03_small_writes(self):
        c = self.conn(nodelay=True)

        def dribble(data):
            i, n = 0, 0
            while i < len(data):
                step = 1 + n % 3  # 1, 2, 3, 1, 2, 3 ... bytes
                c.send(data[i:i + step])
                i += step
                n += 1
                time.sleep(0.002)

        dribble(req("POST", "/jobs", job_body(dribbled="slowly, a few bytes at a time")))
        jid = self.assertCreated(c.read_response())
        self.assertPayload(jid, {"dribbled": "slowly, a few bytes at a time"})
        # and the next request on the same connection, also in pieces
        dribble(req("GET", "/task-status/%d" % jid))
        self.assertTaskStatus(c.read_response(), jid)
        # a chunked body in pieces, the chunk framing split anywhere
        body = json.dumps(job_body(dribbled="chunked")).encode()
        dribble(req("POST", "/jobs", headers=[("Content-Type", "application/json"),
                                              ("Transfer-Encoding", "chunked")])
                + chunked(body, [7, 11]))
        jid = self.assertCreated(c.read_response())
        self.assertPayload(jid, {"dribbled": "chunked"})

    # -- 4. Connection: close ----------------------------------------------------

    def test_04_connection_close(self):
        c = self.conn()
        c.send(req("GET", "/healthz", headers=[("Connection", "close")]))
        r = c.read_response()
        self.assertHealthz(r)
        self.assertTrue(c.closed_by_peer(), "still open %.0f s after a Connection: close "
                        "answer" % TIMEOUT)
        # after a keep-alive request on the same connection too, and for a POST
        before = self.job_ids()
        c = self.conn()
        c.send(req("GET", "/healthz"))
        self.assertHealthz(c.read_response())
        c.send(req("POST", "/jobs", job_body(close=1), headers=[("Connection", "close")]))
        jid = self.assertCreated(c.read_response())
        self.assertTrue(c.closed_by_peer(), "still open after Connection: close on a POST")
        self.assertEqual(self.job_ids() - before, {jid})

    # -- 5. HTTP/1.0 --------------------------------------------------------------

    def test_05_http10_closes(self):
        # no Host (HTTP/1.0 does not need one), no keep-alive: one answer, then close
        c = self.conn()
        c.send(req("GET", "/healthz", version="1.0", host=False))
        r = c.read_response()
        # answered in the request's version, with a Content-Length
        self.assertEqual(r.version, "1.0", r)
        self.assertHealthz(r)
        self.assertEqual(r.header("content-length"), str(len(r.body)), r)
        self.assertClosesAfter(c, r, "HTTP/1.0 without keep-alive")
        before = self.job_ids()
        c = self.conn()
        c.send(req("POST", "/jobs", job_body(v="1.0"), version="1.0", host=False))
        r = c.read_response()
        self.assertEqual(r.version, "1.0", r)
        jid = self.assertCreated(r)
        self.assertClosesAfter(c, r, "HTTP/1.0 POST")
        self.assertEqual(self.job_ids() - before, {jid})
        self.assertPayload(jid, {"v": "1.0"})

    def test_06_http10_keep_alive(self):
        # An HTTP/1.0 request with Connection: keep-alive keeps the connection
        # open, and the answer says so: an HTTP/1.0 client closes unless it
        # does (RFC 9112 section 9.3).
        c = self.conn()
        c.send(req("GET", "/healthz", version="1.0", host=False,
                   headers=[("Connection", "keep-alive")]))
        r = c.read_response()
        self.assertEqual(r.version, "1.0", r)
        self.assertHealthz(r)
        self.assertEqual(r.tokens("connection"), ["keep-alive"], r)
        self.assertTrue(c.nothing_more_within(0.3))
        c.send(req("POST", "/jobs", job_body(v="1.0 keep-alive"), version="1.0", host=False,
                   headers=[("Connection", "Keep-Alive")]))
        r = c.read_response()
        self.assertEqual(r.version, "1.0", r)
        self.assertEqual(r.tokens("connection"), ["keep-alive"], r)
        jid = self.assertCreated(r)
        self.assertPayload(jid, {"v": "1.0 keep-alive"})
        # the last one without keep-alive: answered, then closed
        c.send(req("GET", "/task-status/%d" % jid, version="1.0", host=False))
        r = c.read_response()
        self.assertEqual(r.version, "1.0", r)
        self.assertTaskStatus(r, jid)
        self.assertClosesAfter(c, r, "HTTP/1.0 without keep-alive")

    # -- 7. chunked request bodies -----------------------------------------------

    def test_07_chunked_body(self):
        payload = {"chunked": True, "text": "caf\u00e9 " * 20, "n": [1, 2, 3]}
        body = json.dumps(job_body(**payload)).encode()
        before = self.job_ids()
        c = self.conn()
        c.send(req("POST", "/jobs", headers=[("Content-Type", "application/json"),
                                             ("Transfer-Encoding", "chunked")])
               + chunked(body, [5, 40]))
        a = self.assertCreated(c.read_response())
        # upper-case hex sizes and a trailer section; then keep-alive goes on
        c.send(req("POST", "/jobs", headers=[("Content-Type", "application/json"),
                                             ("Transfer-Encoding", "chunked")])
               + b"%X\r\n%s\r\n" % (26, body[:26]) + b"%X\r\n%s\r\n" % (len(body) - 26, body[26:])
               + b"0\r\nX-Trailer: yes\r\n\r\n")
        b = self.assertCreated(c.read_response())
        c.send(req("GET", "/healthz"))
        self.assertHealthz(c.read_response())
        self.assertEqual(self.job_ids() - before, {a, b})
        self.assertPayload(a, payload)
        self.assertPayload(b, payload)
        # Chunk extensions (";name=value", RFC 9112 section 7.1.1) are ignored,
        # on data chunks and on the last chunk.
        c.send(req("POST", "/jobs", headers=[("Content-Type", "application/json"),
                                             ("Transfer-Encoding", "chunked")])
               + b"5;foo=bar\r\n%s\r\n" % body[:5]
               + b"%x;a=1;b=\"two words\"\r\n%s\r\n" % (len(body) - 5, body[5:])
               + b"0;last\r\n\r\n")
        e = self.assertCreated(c.read_response())
        self.assertPayload(e, payload)
        before |= {e}
        # An empty chunked body reaches the handler as an empty body.
        c.send(req("POST", "/jobs", headers=[("Content-Type", "application/json"),
                                             ("Transfer-Encoding", "chunked")]) + b"0\r\n\r\n")
        self.assertError(c.read_response().as_harness(), 400, "invalid_json")
        self.assertEqual(self.job_ids() - before, {a, b})

    # -- 8. Expect: 100-continue -------------------------------------------------

    def test_08_expect_100_continue(self):
        body = json.dumps(job_body(expect="100-continue")).encode()
        head = req("POST", "/jobs", body, headers=[("Expect", "100-continue")])[:-len(body)]
        c = self.conn()
        c.send(head)
        # "HTTP/1.1 100 Continue" (no header) as soon as the head is read.
        c.sock.settimeout(2.0)
        interim = self.read_or_fail(c, "100 Continue within 2 s of a head with Expect: "
                                    "100-continue", skip_1xx=False)
        c.sock.settimeout(TIMEOUT)
        self.assertEqual(interim.status, 100, interim)
        self.assertEqual(interim.version, "1.1", interim)
        self.assertEqual(interim.headers, [], interim)
        self.assertTrue(c.nothing_more_within(0.3))  # one 100, then the final answer waits
        c.send(body)
        jid = self.assertCreated(c.read_response())
        self.assertPayload(jid, {"expect": "100-continue"})
        # A client may send the body without waiting for the 100 (RFC 9110
        # section 10.1.1). The server sends the 100 only while the body has not
        # come, which depends on how the bytes arrive: a 100 is allowed (and
        # skipped) before the 201, and the connection goes on.
        c.send(req("POST", "/jobs", job_body(expect="no wait"),
                   headers=[("Expect", "100-continue")]))
        jid2 = self.assertCreated(c.read_response())
        self.assertGreater(jid2, jid)
        self.assertPayload(jid2, {"expect": "no wait"})
        # A second head with Expect on the same connection gets its own 100.
        body3 = json.dumps(job_body(expect="again")).encode()
        c.send(req("POST", "/jobs", body3, headers=[("Expect", "100-continue")])[:-len(body3)])
        c.sock.settimeout(2.0)
        interim = self.read_or_fail(c, "a second 100 Continue on the connection",
                                    skip_1xx=False)
        c.sock.settimeout(TIMEOUT)
        self.assertEqual((interim.version, interim.status), ("1.1", 100), interim)
        c.send(body3)
        jid3 = self.assertCreated(c.read_response())
        self.assertPayload(jid3, {"expect": "again"})
        c.send(req("GET", "/healthz"))
        self.assertHealthz(c.read_response())
        # HTTP/1.0 has no 100 (RFC 9110 section 10.1.1: the expectation is
        # ignored): nothing until the body is sent, then the 201.
        body4 = json.dumps(job_body(expect="1.0")).encode()
        c = self.conn()
        c.send(req("POST", "/jobs", body4, version="1.0", host=False,
                   headers=[("Expect", "100-continue")])[:-len(body4)])
        self.assertTrue(c.nothing_more_within(0.5))
        c.send(body4)
        r = c.read_response(skip_1xx=False)
        self.assertEqual(r.version, "1.0", r)
        jid4 = self.assertCreated(r)
        self.assertPayload(jid4, {"expect": "1.0"})
        self.assertClosesAfter(c, r, "HTTP/1.0 POST")

    # -- 9. HEAD -----------------------------------------------------------------

    def test_09_head_has_no_body(self):
        # HEAD is GET without the body (RFC 9110 9.3.2): the status and headers
        # of GET /healthz, its Content-Length, and not one body byte.
        c = self.conn()
        c.send(req("GET", "/healthz"))
        ref = c.read_response()
        self.assertHealthz(ref)
        c.send(req("HEAD", "/healthz"))
        r = c.read_response(method="HEAD")
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.header("content-type") or "").split(";")[0].strip().lower(),
                         "application/json", r)
        self.assertEqual(r.header("content-length"), str(len(ref.body)), r)
        self.assertIsNone(r.header("transfer-encoding"), r)
        self.assertNotIn("close", r.tokens("connection"), r)
        # No body bytes: nothing arrives, and the next request on the
        # connection is read and answered.
        self.assertTrue(c.nothing_more_within(0.5))
        c.send(req("GET", "/healthz"))
        self.assertHealthz(c.read_response())
        # HEAD then GET in one write: the GET's status line follows the HEAD's head.
        c.send(req("HEAD", "/healthz") + req("GET", "/healthz"))
        r = c.read_response(method="HEAD")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("content-length"), str(len(ref.body)), r)
        self.assertHealthz(c.read_response())
        self.assertTrue(c.nothing_more_within(0.3))
        # The streams have no length: HEAD there is 405, naming GET only.
        c.send(req("HEAD", "/jobs/1/events"))
        r = c.read_response(method="HEAD")
        self.assertEqual(r.status, 405, r)
        self.assertEqual(r.tokens("allow"), ["get"], r)
        c.send(req("GET", "/healthz"))
        self.assertHealthz(c.read_response())

    # -- 10. body over the limit ---------------------------------------------------

    def test_10_body_too_large(self):
        before = self.job_ids()
        size = 2 * 1024 * 1024  # --max-body is 1 MiB by default
        ct = ("Content-Type", "application/json")
        # Declared by Content-Length: 413 from the head (and a bit of the body)
        # alone, without waiting for the 2 MiB.
        c = self.conn()
        c.send(req("POST", "/jobs", headers=[ct, ("Content-Length", str(size))])
               + b'{"type":"noop"')
        r = self.read_or_fail(c, "413 within %.0f s of a head declaring %d bytes" % (TIMEOUT, size))
        self.assertRefusal(c, r, 413, "payload_too_large", "Content-Length: %d" % size)
        # With Expect: 100-continue: the 413 comes instead of a 100.
        c = self.conn()
        c.send(req("POST", "/jobs", headers=[ct, ("Content-Length", str(size)),
                                             ("Expect", "100-continue")]))
        r = self.read_or_fail(c, "413 to a head declaring %d bytes with Expect: 100-continue"
                              % size, skip_1xx=False)
        self.assertRefusal(c, r, 413, "payload_too_large", "Content-Length: %d with Expect" % size)
        # Chunked: a 2 MiB chunk is refused from its size line, before its data.
        c = self.conn()
        c.send(req("POST", "/jobs", headers=[ct, ("Transfer-Encoding", "chunked")])
               + b"%x\r\n" % size + b'{"type":"noop","payload":"')
        r = self.read_or_fail(c, "413 within %.0f s of a chunk size line of %d bytes"
                              % (TIMEOUT, size))
        self.assertRefusal(c, r, 413, "payload_too_large", "a chunk of %d bytes" % size)
        self.assertEqual(self.job_ids(), before)
        self.assertBrokerUp()

    # -- 11. malformed requests ----------------------------------------------------

    def test_11_malformed(self):
        # Each is refused from its head (or its chunk framing) with the JSON
        # error of its status, then the connection closes; nothing is stored.
        before = self.job_ids()
        jb = json.dumps(job_body(bad=1)).encode()
        post = b"POST /jobs HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        cases = [
            ("garbage request line", b"GARBAGE\r\n\r\n", 400, "bad_request"),
            ("header without colon", b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nNoColonHere\r\n\r\n",
             400, "bad_request"),
            # RFC 9112 3.2: an HTTP/1.1 request has exactly one Host
            ("HTTP/1.1 without Host", b"GET /healthz HTTP/1.1\r\n\r\n", 400, "bad_request"),
            ("two Hosts", b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nHost: y\r\n\r\n",
             400, "bad_request"),
            ("a target that is no path", b"GET healthz HTTP/1.1\r\nHost: localhost\r\n\r\n",
             400, "bad_request"),
            ("Content-Length: abc", post + b"Content-Length: abc\r\n\r\n" + jb,
             400, "bad_request"),
            ("Content-Length: -5", post + b"Content-Length: -5\r\n\r\n" + jb,
             400, "bad_request"),
            # two lengths: which one frames the body is ambiguous (smuggling)
            ("two different Content-Lengths", post + b"Content-Length: %d\r\n"
             b"Content-Length: 5\r\n\r\n" % len(jb) + jb, 400, "bad_request"),
            ("Transfer-Encoding with Content-Length", post + b"Transfer-Encoding: chunked\r\n"
             b"Content-Length: %d\r\n\r\n" % len(jb) + chunked(jb, []), 400, "bad_request"),
            # a chunk size is bare hex: no "0x" prefix
            ("chunk size 0x5", post + b"Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n"
             b"0\r\n\r\n", 400, "bad_request"),
            ("Transfer-Encoding: gzip", post + b"Transfer-Encoding: gzip\r\n\r\n" + jb,
             501, "not_implemented"),
            ("HTTP/9.9", b"GET /healthz HTTP/9.9\r\nHost: localhost\r\n\r\n",
             505, "http_version_not_supported"),
            ("HTTP/2.0 in text", b"GET /healthz HTTP/2.0\r\nHost: localhost\r\n\r\n",
             505, "http_version_not_supported"),
            # a request head over the 8 KiB limit
            ("16 KB header", b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"a" * 16000
             + b"\r\n\r\n", 431, "headers_too_large"),
        ]
        for what, data, status, code in cases:
            with self.subTest(what):
                self.assertRefused(data, status, code, what)
                self.assertBrokerUp()
        self.assertEqual(self.job_ids(), before)

    # -- 12. unknown methods ---------------------------------------------------------

    def test_12_unknown_method(self):
        # A method the server does not know: 501 not_implemented from the server
        # itself, then close.
        self.assertRefused(req("BREW", "/jobs"), 501, "not_implemented", "BREW")
        self.assertBrokerUp()
        # TRACE is a known method that no route takes: the router's 405 with
        # the methods /jobs takes, and the connection goes on.
        c = self.conn()
        c.send(req("TRACE", "/jobs"))
        r = c.read_response()
        self.assertError(r.as_harness(), 405, "method_not_allowed")
        self.assertEqual(r.tokens("allow"), ["get", "head", "post"], r)
        self.assertNotIn("close", r.tokens("connection"), r)
        c.send(req("GET", "/healthz"))
        self.assertHealthz(c.read_response())

    # -- 13. clients that go away ------------------------------------------------------

    def test_13_client_closes_early(self):
        # A whole POST, then close before reading the answer: the broker stays
        # up and the job is stored (the answer is lost, not the job).
        for n in range(5):
            before = self.job_ids()
            s = socket.create_connection((HOST, self.env.broker_port), timeout=TIMEOUT)
            s.sendall(req("POST", "/jobs", job_body(gone=n)))
            s.close()
            # (within milliseconds in practice; 5 s leaves room for a loaded machine)
            new = harness.wait_until(lambda: self.job_ids() - before, 5.0,
                                     "the job of a client that closed at once", env=self.env)
            self.assertEqual(len(new), 1, new)
            self.assertPayload(new.pop(), {"gone": n})
        # Half-closed (shutdown(SHUT_WR)): the answer still comes.
        c = self.conn()
        c.send(req("POST", "/jobs", job_body(half="closed")))
        c.sock.shutdown(socket.SHUT_WR)
        jid = self.assertCreated(c.read_response())
        self.assertPayload(jid, {"half": "closed"})
        # Gone mid-head, mid-body: nothing stored. Reset (SO_LINGER 0) after a
        # whole request: the kernel may drop it unread, so only the broker's
        # survival is asserted.
        before = self.job_ids()
        full = req("POST", "/jobs", job_body(partial="x" * 200))
        for what, data, rst in (("mid-head", full[:20], False),
                                ("mid-body", full[:-50], False),
                                ("mid-body, reset", full[:-50], True),
                                ("whole, reset", full, True)):
            with self.subTest(what):
                s = socket.create_connection((HOST, self.env.broker_port), timeout=TIMEOUT)
                s.sendall(data)
                if rst:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.close()
                time.sleep(0.3)
                self.assertBrokerUp()
        time.sleep(0.5)
        new = self.job_ids() - before
        self.assertLessEqual(len(new), 1, new)  # only "whole, reset" may have been stored
        for jid in new:
            self.assertPayload(jid, {"partial": "x" * 200})
        self.assertBrokerUp()

    # -- 14. many idle keep-alive connections ---------------------------------------------

    def test_14_many_idle_connections(self):
        n = 200
        conns = []
        try:
            for _ in range(n):
                conns.append(Conn(self.env.broker_port))
            time.sleep(0.5)  # all idle, none has sent a byte
            self.assertBrokerUp()
            for c in conns:
                c.send(req("GET", "/healthz"))
            for c in conns:
                self.assertHealthz(c.read_response())
            time.sleep(0.3)  # idle again, now between requests
            for i, c in enumerate(conns):
                c.send(req("GET", "/task-status/%d" % (10 ** 9 + i)))
            for i, c in enumerate(conns):
                self.assertTaskStatus(c.read_response(), 10 ** 9 + i, "not_found")
        finally:
            for c in conns:
                c.close()
        self.assertBrokerUp()

    # -- 15. router answers, query strings ------------------------------------------------

    def test_15_query_strings_and_router_errors(self):
        before = self.job_ids()
        c = self.conn()  # all on one keep-alive connection: errors do not close it
        c.send(req("POST", "/start-task?duration=1"))
        got = self.assertJSONResponse(c.read_response().as_harness(), 200)
        self.assertEqual(set(got), {"task_id", "status"}, got)
        self.assertTrue(is_int(got["task_id"]), got)
        self.assertEqual(got["status"], "pending", got)
        tid = got["task_id"]
        self.assertEqual(self.job_ids() - before, {tid})
        job = self.assertJSONResponse(self.env.http("GET", "/jobs/%d" % tid), 200)
        self.assertEqual(job["payload"], {"duration": 1}, job)
        c.send(req("POST", "/start-task?duration=abc"))
        self.assertError(c.read_response().as_harness(), 400, "invalid_argument")
        c.send(req("GET", "/task-status/abc"))
        self.assertError(c.read_response().as_harness(), 400, "invalid_argument")
        c.send(req("GET", "/nope"))
        self.assertError(c.read_response().as_harness(), 404, "not_found")
        c.send(req("GET", "/nope?x=1&y=%20"))
        self.assertError(c.read_response().as_harness(), 404, "not_found")
        c.send(req("DELETE", "/healthz"))
        r = c.read_response()
        self.assertError(r.as_harness(), 405, "method_not_allowed")
        self.assertEqual(r.tokens("allow"), ["get", "head"], r)
        c.send(req("PATCH", "/jobs", b"{}"))
        r = c.read_response()
        self.assertError(r.as_harness(), 405, "method_not_allowed")
        self.assertIn("post", r.tokens("allow"), r)
        c.send(req("GET", "/healthz?verbose=1"))
        self.assertHealthz(c.read_response())
        self.assertEqual(self.job_ids() - before, {tid})

    # -- 16. header names in any case --------------------------------------------------------

    def test_16_header_names_case_insensitive(self):
        before = self.job_ids()
        c = self.conn()
        body = json.dumps(job_body(case="lower")).encode()
        c.send(req("POST", "/jobs", body, headers=[("content-type", "application/json"),
                                                   ("content-length", str(len(body)))]))
        a = self.assertCreated(c.read_response())
        # the lower-case Content-Type is read, not ignored: text/plain is refused
        c.send(req("POST", "/jobs", body, headers=[("content-type", "text/plain")]))
        self.assertError(c.read_response().as_harness(), 415, "unsupported_media_type")
        body = json.dumps(job_body(case="UPPER")).encode()
        c.send(req("POST", "/jobs", body, headers=[("CONTENT-TYPE", "application/json"),
                                                   ("CONTENT-LENGTH", str(len(body)))]))
        b = self.assertCreated(c.read_response())
        body = json.dumps(job_body(case="Chunked")).encode()
        c.send(req("POST", "/jobs", headers=[("cOnTeNt-TyPe", "application/json"),
                                             ("TRANSFER-ENCODING", "Chunked")])
               + chunked(body, [9]))
        d = self.assertCreated(c.read_response())
        # Content-Length with spaces around the value (optional whitespace)
        body = json.dumps(job_body(case="ows")).encode()
        c.send(req("POST", "/jobs", body, headers=[("Content-Length", "  %d  " % len(body))]))
        e = self.assertCreated(c.read_response())
        c.send(req("GET", "/healthz", headers=[("CONNECTION", "Close")]))
        self.assertHealthz(c.read_response())
        self.assertTrue(c.closed_by_peer(), "CONNECTION: Close left the connection open")
        self.assertEqual(self.job_ids() - before, {a, b, d, e})
        self.assertPayload(a, {"case": "lower"})
        self.assertPayload(b, {"case": "UPPER"})
        self.assertPayload(d, {"case": "Chunked"})
        self.assertPayload(e, {"case": "ows"})


    # -- 17. the same Content-Length twice ------------------------------------------------

    def test_17_repeated_content_length(self):
        # Two Content-Length headers with the same value frame the body the same
        # way (RFC 9112 section 6.3): accepted. (Different values: test_11.)
        before = self.job_ids()
        body = json.dumps(job_body(twice="same")).encode()
        c = self.conn()
        c.send(req("POST", "/jobs", body, headers=[("Content-Length", str(len(body))),
                                                   ("Content-Length", str(len(body)))]))
        jid = self.assertCreated(c.read_response())
        c.send(req("GET", "/healthz"))
        self.assertHealthz(c.read_response())
        self.assertEqual(self.job_ids() - before, {jid})
        self.assertPayload(jid, {"twice": "same"})

    # -- 18. absolute-form targets and later HTTP/1.x ---------------------------------------

    def test_18_absolute_form_and_http_1_2(self):
        # RFC 9112 3.2.2: a server must accept "http://authority/path" (the
        # path is used, the authority is not); RFC 9110 2.5: HTTP/1.2 is read
        # as 1.1.
        c = self.conn()
        c.send(b"GET http://elsewhere.example/healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        self.assertHealthz(c.read_response())
        c.send(b"GET HTTPS://x:1/healthz?v=1 HTTP/1.1\r\nHost: localhost\r\n\r\n")
        self.assertHealthz(c.read_response())
        c.send(b"GET http://x HTTP/1.1\r\nHost: localhost\r\n\r\n")  # no path: "/", the dashboard
        r = c.read_response()
        self.assertEqual(r.status, 200, r)
        self.assertIn("text/html", r.header("content-type") or "", r)
        c.send(b"GET /healthz HTTP/1.2\r\nHost: localhost\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.version, "1.1", r)
        self.assertHealthz(r)

    # -- 19. what a review found: streams of clients that left, replies nobody reads --------

    def http_connections(self):
        """The broker's jobq_http_connections gauge (the metrics request's own included)."""
        text = self.env.http("GET", "/metrics").body.decode()
        m = re.search(r"^jobq_http_connections (\d+)$", text, re.M)
        self.assertIsNotNone(m, "no jobq_http_connections in /metrics")
        return int(m.group(1))

    def test_19_streams_of_clients_that_left(self):
        # An SSE request whose client closes at once: its stream's first write
        # fails. The stream must end cleanly (under ASan a use-after-free here
        # stopped the broker), and the connection must be freed, not kept dead.
        r = self.env.http("POST", "/jobs", {"type": "noop"})
        self.assertEqual(r.status, 201, r)
        jid = r.json()["id"]
        for _ in range(5):
            s = socket.create_connection((HOST, self.env.broker_port), timeout=TIMEOUT)
            s.sendall(req("GET", "/jobs/%d/events" % jid))
            s.close()
            time.sleep(0.05)
        # the same with a reset, and with a half-close then a close after the first event
        for how in ("reset", "half-close"):
            s = socket.create_connection((HOST, self.env.broker_port), timeout=TIMEOUT)
            s.sendall(req("GET", "/jobs/%d/events" % jid))
            if how == "reset":
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                s.shutdown(socket.SHUT_WR)
                self.assertIn(b"200", s.recv(4096))
            s.close()
        self.assertBrokerUp()
        harness.wait_until(lambda: self.http_connections() == 1, 5.0,
                           "the connections of the clients that left freed", env=self.env)

    def test_20_replies_nobody_reads(self):
        # A client pipelines many requests with big replies and reads none: the
        # broker stops taking its requests while the replies wait, instead of
        # buffering them all (it held 100 MB before).
        rss0 = self.broker_rss()
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(TIMEOUT)
        s.connect((HOST, self.env.broker_port))
        s.setblocking(False)
        one = req("GET", "/openapi.json")
        sent = 0
        deadline = time.time() + 5
        data = one * 2000
        while sent < len(data) and time.time() < deadline:
            try:
                sent += s.send(data[sent:])
            except BlockingIOError:
                time.sleep(0.01)
        time.sleep(0.5)
        grown = self.broker_rss() - rss0
        self.assertLess(grown, 16 * 1024 * 1024, "broker RSS grew by %d bytes" % grown)
        self.assertBrokerUp()
        s.close()

    def test_21_half_close_gets_every_reply(self):
        # Many pipelined requests, then shutdown(SHUT_WR) before reading: every
        # reply still comes, in order, then the close.
        n = 150
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(TIMEOUT)
        s.connect((HOST, self.env.broker_port))
        c = Conn.__new__(Conn)
        c.sock, c.timeout, c.buf = s, TIMEOUT, b""
        self.addCleanup(s.close)
        # /healthz first: it waits on Redis, so the end of input is seen while a
        # request is in flight and the rest are held back by the unread replies
        c.send(req("GET", "/healthz") + req("GET", "/openapi.json") * n)
        s.shutdown(socket.SHUT_WR)
        time.sleep(0.5)
        self.assertHealthz(c.read_response())
        for i in range(n):
            r = c.read_response()
            self.assertEqual(r.status, 200, "reply %d: %r" % (i, r))
        self.assertTrue(c.closed_by_peer(), "the connection should close after the replies")

    def broker_rss(self):
        with open("/proc/%d/status" % self.env.broker_proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")


class HttpStopTest(E2ETestCase):
    """SIGTERM: the broker takes no more requests on open connections. An idle
    keep-alive connection is closed at once; a request waiting for Redis is answered,
    with "Connection: close", and its connection closed after; the broker then exits 0."""

    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()

    def test_sigterm_closes_idle_connections_and_answers_the_rest(self):
        idle = Conn(self.env.broker_port, timeout=5.0)
        self.addCleanup(idle.close)
        idle.send(req("GET", "/healthz"))
        self.assertEqual(idle.read_response().status, 200)
        busy = Conn(self.env.broker_port, timeout=10.0)
        self.addCleanup(busy.close)
        # Redis holds every client's commands for 2 s: the enqueue sent now waits
        self.env.redis.execute("CLIENT", "PAUSE", "2000", "ALL")
        busy.send(req("POST", "/jobs", body={"type": "noop", "queue": "stopq"}))
        time.sleep(0.2)
        self.env.broker_proc._signal(signal.SIGTERM)
        self.assertTrue(idle.closed_by_peer(), "an idle connection stays open after SIGTERM")
        # ... closed while the enqueue still waits for Redis, not when the broker exits
        self.assertEqual(select.select([busy.sock], [], [], 0)[0], [],
                         "the idle connection was closed only after the busy one's reply")
        r = busy.read_response("POST")
        self.assertEqual(r.status, 201, r)
        self.assertIn("close", r.tokens("Connection"), r)
        self.assertTrue(busy.closed_by_peer(), "the connection stays open after its reply")
        self.assertEqual(self.env.broker_proc.stop(), 0, "the broker's exit status")
        self.assertEqual(self.env.redis.llen(harness.queue_key("stopq")), 1, "the job was not stored")


class HttpTimeoutTest(E2ETestCase):
    """jobq-broker --http-timeout-s 1: idle connections are closed, and a request
    that trickles in gets 408 once it has taken longer than the timeout (the idle
    timer alone restarts with every byte)."""

    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker(extra_args=["--http-timeout-s", "1"])

    def conn(self):
        c = Conn(self.env.broker_port, timeout=5.0)
        self.addCleanup(c.close)
        return c

    def test_idle_connections_closed(self):
        t0 = time.monotonic()
        silent = self.conn()  # never sends a byte
        used = self.conn()  # one request, then idle
        used.send(req("GET", "/healthz"))
        self.assertEqual(used.read_response().status, 200)
        self.assertTrue(silent.closed_by_peer(), "a silent connection stays open")
        self.assertTrue(used.closed_by_peer(), "an idle keep-alive connection stays open")
        self.assertLess(time.monotonic() - t0, 4.5)

    def test_pipelined_requests_split_across_reads(self):
        # Each write ends partway through the next request, for longer than the
        # timeout: every request arrives within milliseconds, so no 408.
        c = self.conn()
        one = req("GET", "/docs")  # answered at once (a static page), not after Redis
        half = len(one) // 2
        n = 50
        c.send(one[:half])
        for i in range(n):
            c.send(one[half:] + (one[:half] if i < n - 1 else b""))
            time.sleep(0.05)  # 50 x 50 ms: 2.5 s, over the 1 s timeout
        for i in range(n):
            r = c.read_response()
            self.assertEqual(r.status, 200, "reply %d: %r" % (i, r))

    def test_slow_request_gets_408(self):
        c = self.conn()
        whole = req("POST", "/jobs", {"type": "noop"})
        t0 = time.monotonic()
        sent = 0
        r = None
        # a few bytes every 0.3 s: each resets the idle timer, never the request's deadline
        while sent < len(whole) - 1 and time.monotonic() - t0 < 4:
            if select.select([c.sock], [], [], 0)[0]:
                break  # the answer (or the close) is there
            try:
                c.send(whole[sent:sent + 3])
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += 3
            time.sleep(0.3)
        try:
            r = c.read_response()
        except PeerClosed:
            pass
        self.assertIsNotNone(r, "no answer to a request trickling in for %.1f s"
                             % (time.monotonic() - t0))
        self.assertEqual(r.status, 408, r)
        self.assertEqual(json.loads(r.body)["error"]["code"], "request_timeout", r)
        self.assertLess(sent, len(whole) - 1, "the whole request was sent before the 408")
        self.assertFalse(self.env.job_keys(), "a job was stored")


if __name__ == "__main__":
    harness.main()
