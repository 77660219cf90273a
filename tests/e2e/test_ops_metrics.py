#!/usr/bin/python3
"""E2E: GET /metrics (docs/api.md, "Operations"): Prometheus text format
0.0.4, parsed with prometheus_client's parser (Debian's
python3-prometheus-client); every documented metric with its type; counts
that match what happened, and the same numbers from any broker."""
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import E2ETestCase, HOST, http_request, wait_until  # noqa: E402

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:  # pragma: no cover
    sys.stderr.write("test_ops_metrics needs python3-prometheus-client "
                     "(deploy/install-deps.sh installs it)\n")
    raise

# The parser names a counter family without its _total suffix (its samples
# keep it): "jobq_jobs_enqueued_total" is family "jobq_jobs_enqueued".
COUNTERS = ("jobq_jobs_enqueued_total", "jobq_jobs_completed_total", "jobq_jobs_failed_total",
            "jobq_jobs_retried_total", "jobq_jobs_cancelled_total",
            "jobq_jobs_recovered_total")
QUEUE_GAUGES = ("jobq_queue_pending", "jobq_queue_scheduled", "jobq_queue_running",
                "jobq_queue_paused")
GLOBAL_GAUGES = ("jobq_workers", "jobq_dead_jobs")
N_WORKERS = 2


class Metrics:
    """The parsed exposition: families by name, and sample values."""

    def __init__(self, text):
        self.text = text
        self.families = {}
        for fam in text_string_to_metric_families(text):
            if fam.name in self.families:
                raise AssertionError("metric family %s appears twice" % fam.name)
            self.families[fam.name] = fam

    def samples(self, name):
        out = []
        for fam in self.families.values():
            out.extend(s for s in fam.samples if s.name == name)
        return out

    def value(self, name, **labels):
        """The value of the one sample `name` with exactly these labels, or None."""
        hits = [s for s in self.samples(name) if s.labels == labels]
        if len(hits) > 1:
            raise AssertionError("%s%r appears %d times" % (name, labels, len(hits)))
        return hits[0].value if hits else None


class MetricsTest(E2ETestCase):
    """Redis, a broker and two workers; worker 1 serves default, m, m3 and mf,
    worker 2 serves default; nobody serves m2."""

    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()
        env.start_worker(extra_args=["--queues", "default,m,m0,mf"])
        env.start_worker()

    # -- helpers -------------------------------------------------------------

    def get_metrics(self, port=None):
        r = http_request(port or self.env.broker_port, "GET", "/metrics")
        self.assertEqual(r.status, 200, r)
        parts = [p.strip() for p in r.content_type.split(";")]
        self.assertEqual(parts[0].lower(), "text/plain", "Content-Type: %r" % r.content_type)
        for p in parts[1:]:
            k, _, v = p.partition("=")
            if k.strip().lower() == "version":
                self.assertEqual(v.strip(), "0.0.4", "Content-Type: %r" % r.content_type)
        try:
            text = r.body.decode("utf-8")
        except UnicodeDecodeError as e:
            raise AssertionError("/metrics is not UTF-8: %s" % e)
        try:
            return Metrics(text)
        except Exception as e:
            raise AssertionError("prometheus_client cannot parse /metrics (%s: %s):\n%s"
                                 % (type(e).__name__, e, text[:3000]))

    def post(self, body, state="pending"):
        r = self.env.http("POST", "/jobs", body)
        got = self.assertJSONResponse(r, 201)
        self.assertEqual(got["state"], state, r)
        return got["id"]

    def queue(self, name):
        return self.assertJSONResponse(self.env.http("GET", "/queues/" + name), 200)

    def wait_metric(self, name, labels, pred, timeout, what):
        def poll():
            v = self.get_metrics().value(name, **labels)
            return (v,) if v is not None and pred(v) else None
        return wait_until(poll, timeout, what, interval=0.1, env=self.env)[0]

    # -- tests ---------------------------------------------------------------

    def test_format_names_and_types(self):
        jid = self.post({"type": "noop", "queue": "m0"})
        self.assertEqual(self.env.wait_job(jid, timeout=15)["state"], "completed")
        m = self.get_metrics()
        for name in COUNTERS:
            fam_name = name[:-len("_total")]
            self.assertIn(fam_name, m.families,
                          "no counter family %s (for %s) in:\n%s" % (fam_name, name, m.text))
            fam = m.families[fam_name]
            self.assertEqual(fam.type, "counter", "%s is a %s" % (name, fam.type))
            totals = [s for s in fam.samples if s.name == name]
            self.assertTrue(totals, "no %s samples:\n%s" % (name, m.text))
            for s in fam.samples:
                if s.name == name:
                    self.assertEqual(set(s.labels), {"queue"}, s)
                    self.assertGreaterEqual(s.value, 0, s)
            self.assertIn("m0", {s.labels["queue"] for s in totals},
                          "%s has no sample for queue m0" % name)
        for name in QUEUE_GAUGES:
            self.assertIn(name, m.families, "no gauge %s in:\n%s" % (name, m.text))
            fam = m.families[name]
            self.assertEqual(fam.type, "gauge", "%s is a %s" % (name, fam.type))
            self.assertTrue(fam.samples, "no %s samples" % name)
            for s in fam.samples:
                self.assertEqual(s.name, name, s)
                self.assertEqual(set(s.labels), {"queue"}, s)
                self.assertGreaterEqual(s.value, 0, s)
            self.assertIn("m0", {s.labels["queue"] for s in fam.samples},
                          "%s has no sample for queue m0" % name)
        for name in GLOBAL_GAUGES:
            self.assertIn(name, m.families, "no gauge %s in:\n%s" % (name, m.text))
            fam = m.families[name]
            self.assertEqual(fam.type, "gauge", "%s is a %s" % (name, fam.type))
            self.assertEqual([(s.name, s.labels) for s in fam.samples], [(name, {})],
                             "%s: one sample without labels: %r" % (name, fam.samples))
        self.assertEqual(m.value("jobq_jobs_completed_total", queue="m0"), 1.0)
        self.assertEqual(m.value("jobq_jobs_enqueued_total", queue="m0"), 1.0)
        self.assertEqual(m.value("jobq_queue_pending", queue="m0"), 0.0)

    def test_wrong_method(self):
        self.assertError(self.env.http("POST", "/metrics"), 405, "method_not_allowed")

    def test_completed_counter(self):
        n = 10
        ids = [self.post({"type": "noop", "queue": "m"}) for _ in range(n)]
        for jid in ids:
            self.assertEqual(self.env.wait_job(jid, timeout=15)["state"], "completed")
        m = self.get_metrics()
        completed = m.value("jobq_jobs_completed_total", queue="m")
        enqueued = m.value("jobq_jobs_enqueued_total", queue="m")
        self.assertIsNotNone(completed, m.text)
        self.assertGreaterEqual(completed, n)
        self.assertGreaterEqual(enqueued, n)
        # only this test uses queue m: exact
        self.assertEqual((completed, enqueued), (n, n))
        self.assertEqual(m.value("jobq_jobs_failed_total", queue="m"), 0.0)
        self.assertEqual(m.value("jobq_queue_pending", queue="m"), 0.0)
        self.assertEqual(m.value("jobq_queue_running", queue="m"), 0.0)

    def test_pending_and_paused_gauges(self):
        for _ in range(4):
            self.post({"type": "noop", "queue": "m2"})  # nobody serves m2
        q = self.queue("m2")
        m = self.get_metrics()
        self.assertEqual(m.value("jobq_queue_pending", queue="m2"), float(q["pending"]))
        self.assertEqual(m.value("jobq_queue_pending", queue="m2"), 4.0)
        self.assertEqual(m.value("jobq_queue_paused", queue="m2"), 0.0)
        self.assertEqual(m.value("jobq_queue_scheduled", queue="m2"), 0.0)
        self.assertEqual(m.value("jobq_queue_running", queue="m2"), 0.0)
        self.assertEqual(m.value("jobq_jobs_enqueued_total", queue="m2"), 4.0)

        r = self.env.http("POST", "/queues/m2/pause")
        self.assertEqual(self.assertJSONResponse(r, 200), {"name": "m2", "paused": True})
        self.assertEqual(self.get_metrics().value("jobq_queue_paused", queue="m2"), 1.0)
        r = self.env.http("POST", "/queues/m2/resume")
        self.assertEqual(self.assertJSONResponse(r, 200), {"name": "m2", "paused": False})
        self.assertEqual(self.get_metrics().value("jobq_queue_paused", queue="m2"), 0.0)

    def test_cancelled_scheduled_failed_and_dead(self):
        # m3: nobody serves it; one scheduled, one pending then cancelled
        self.post({"type": "noop", "queue": "m3", "delay_ms": 600000}, "scheduled")
        jid = self.post({"type": "noop", "queue": "m3"})
        r = self.env.http("DELETE", "/jobs/%d" % jid)
        self.assertEqual(self.assertJSONResponse(r, 200), {"id": jid, "state": "cancelled"})
        bad = self.post({"type": "exec", "payload": {"command": "no-such-type"}, "queue": "mf", "max_attempts": 1})
        self.assertEqual(self.env.wait_job(bad, timeout=15)["state"], "failed")
        m = self.get_metrics()
        self.assertEqual(m.value("jobq_queue_scheduled", queue="m3"), 1.0, m.text)
        self.assertEqual(m.value("jobq_queue_pending", queue="m3"), 0.0, m.text)
        self.assertEqual(m.value("jobq_jobs_cancelled_total", queue="m3"), 1.0, m.text)
        self.assertEqual(m.value("jobq_jobs_failed_total", queue="mf"), 1.0, m.text)
        dead = self.assertJSONResponse(self.env.http("GET", "/dead?limit=1000"), 200)["jobs"]
        self.assertIn(bad, [d["id"] for d in dead])
        self.assertEqual(m.value("jobq_dead_jobs"), float(len(dead)), m.text)

    def test_workers_gauge(self):
        running = sum(1 for w in self.env.workers if w.running())
        self.assertEqual(running, N_WORKERS)
        # heartbeats every second: allow the first beats to land
        self.wait_metric("jobq_workers", {}, lambda v: v == N_WORKERS, 5.0,
                         "jobq_workers == %d" % N_WORKERS)
        ws = self.assertJSONResponse(self.env.http("GET", "/workers"), 200)["workers"]
        self.assertEqual(len(ws), N_WORKERS, ws)
        # and it stays so
        for _ in range(5):
            self.assertEqual(self.get_metrics().value("jobq_workers"), float(N_WORKERS))
            time.sleep(0.3)

    def test_any_broker_answers_for_the_whole_system(self):
        for _ in range(2):
            self.post({"type": "noop", "queue": "mb"})  # nobody serves mb
        # a second broker on the same Redis
        port = harness.free_port()
        broker2 = self.env._spawn("broker2", [harness.broker_bin(), "--listen",
                                              "%s:%d" % (HOST, port),
                                              "--redis-url", self.env.redis_url])
        wait_until(lambda: harness.port_accepts(port) and
                   http_request(port, "GET", "/healthz", timeout=1.0).status == 200,
                   harness.READY_TIMEOUT, "second broker healthy", interval=0.1, env=self.env)
        a, b = self.get_metrics(), self.get_metrics(port)
        for name in ("jobq_queue_pending", "jobq_jobs_enqueued_total"):
            self.assertEqual(a.value(name, queue="mb"), 2.0, a.text)
            self.assertEqual(b.value(name, queue="mb"), 2.0, b.text)
        self.assertEqual(a.value("jobq_jobs_completed_total", queue="m0"),
                         b.value("jobq_jobs_completed_total", queue="m0"))
        self.assertEqual(broker2.stop(), 0, "second broker's exit status after SIGTERM")


class MetricsRedisDownTest(E2ETestCase):
    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()

    def test_redis_down_is_503(self):
        self.assertEqual(self.env.http("GET", "/metrics").status, 200)
        self.env.stop_redis()
        self.assertError(self.env.http("GET", "/metrics"), 503, "redis_unavailable")


if __name__ == "__main__":
    harness.main()
