#!/usr/bin/python3
"""E2E: GET /metrics, the parts workers report through Redis (docs/api.md,
"GET /metrics"): wait-time and run-time histograms and job counts by queue and
type, and Redis error counts of the broker and of the workers. Parsed with
prometheus_client's parser (Debian's python3-prometheus-client)."""
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import E2ETestCase, wait_until  # noqa: E402
from test_ops_metrics import Metrics  # noqa: E402

LE = ["0.001", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5",
      "10", "30", "60", "+Inf"]
EVENTS = ("enqueued", "started", "completed", "retried", "failed", "cancelled", "recovered")


class MetricsMixin:
    def get_metrics(self):
        r = self.env.http("GET", "/metrics")
        self.assertEqual(r.status, 200, r)
        text = r.body.decode("utf-8")
        try:
            return Metrics(text)
        except Exception as e:
            raise AssertionError("prometheus_client cannot parse /metrics (%s: %s):\n%s"
                                 % (type(e).__name__, e, text[:3000]))

    def wait_metrics(self, pred, what, timeout=10.0):
        """Polls /metrics until pred(m) holds (workers report with their heartbeat)."""
        def poll():
            m = self.get_metrics()
            return m if pred(m) else None
        return wait_until(poll, timeout, what, interval=0.2, env=self.env)

    def post(self, body, state="pending"):
        r = self.env.http("POST", "/jobs", body)
        got = self.assertJSONResponse(r, 201)
        self.assertEqual(got["state"], state, r)
        return got["id"]

    def buckets(self, m, name, **labels):
        """The le -> cumulative count map of one histogram series, checked whole."""
        fam = m.families.get(name)
        self.assertIsNotNone(fam, "no family %s in:\n%s" % (name, m.text))
        self.assertEqual(fam.type, "histogram", fam)
        got = {s.labels["le"]: s.value for s in fam.samples
               if s.name == name + "_bucket" and
               {k: v for k, v in s.labels.items() if k != "le"} == labels}
        self.assertEqual(sorted(got, key=float), sorted(LE, key=float),
                         "%s%r buckets:\n%s" % (name, labels, m.text))
        values = [got[le] for le in LE]
        self.assertEqual(values, sorted(values), "%s%r not cumulative: %r"
                         % (name, labels, values))
        self.assertEqual(got["+Inf"], m.value(name + "_count", **labels),
                         "%s%r: +Inf bucket is not _count" % (name, labels))
        self.assertIsNotNone(m.value(name + "_sum", **labels), m.text)
        return got


class HistogramTest(MetricsMixin, E2ETestCase):
    """Redis, a broker, one worker serving h, hp, hd and hf."""

    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()
        env.start_worker(extra_args=["--queues", "h,hp,hd,hf"])

    def test_families_and_types(self):
        m = self.get_metrics()
        for name in ("jobq_job_wait_seconds", "jobq_job_run_seconds"):
            self.assertIn(name, m.families, m.text)
            self.assertEqual(m.families[name].type, "histogram")
        for name in ("jobq_jobs_by_type", "jobq_redis_errors"):
            self.assertIn(name, m.families, m.text)
            self.assertEqual(m.families[name].type, "counter")
        for process in ("broker", "worker"):
            for kind in ("reply", "disconnect", "connect"):
                self.assertIsNotNone(m.value("jobq_redis_errors_total", process=process,
                                             kind=kind), m.text)

    def test_counts_equal_jobs_run(self):
        n = 7
        ids = [self.post({"type": "noop", "queue": "h"}) for _ in range(n)]
        for jid in ids:
            self.assertEqual(self.env.wait_job(jid, timeout=15)["state"], "completed")
        lab = {"queue": "h", "type": "noop"}
        m = self.wait_metrics(
            lambda m: m.value("jobq_job_run_seconds_count", **lab) == n,
            "run-time count of h/noop == %d" % n)
        wait = self.buckets(m, "jobq_job_wait_seconds", **lab)
        run = self.buckets(m, "jobq_job_run_seconds", **lab)
        self.assertEqual(wait["+Inf"], n)
        self.assertEqual(run["+Inf"], n)
        # a noop runs in well under a second, and waits little on an idle worker
        self.assertEqual(run["1"], n, m.text)
        self.assertEqual(wait["2.5"], n, m.text)
        self.assertLess(m.value("jobq_job_run_seconds_sum", **lab), n * 1.0)
        for event in EVENTS:
            self.assertIsNotNone(m.value("jobq_jobs_by_type_total", event=event, **lab),
                                 "no %s event for h/noop:\n%s" % (event, m.text))
        self.assertEqual(m.value("jobq_jobs_by_type_total", event="enqueued", **lab), n)
        self.assertEqual(m.value("jobq_jobs_by_type_total", event="started", **lab), n)
        self.assertEqual(m.value("jobq_jobs_by_type_total", event="completed", **lab), n)
        self.assertEqual(m.value("jobq_jobs_by_type_total", event="failed", **lab), 0)
        # and the per-queue counter agrees
        self.assertEqual(m.value("jobq_jobs_completed_total", queue="h"), n)

    def test_a_one_and_a_half_second_job(self):
        jid = self.post({"type": "progress", "queue": "hp",
                         "payload": {"duration": 1, "interval_ms": 1500}})
        job = self.env.wait_job(jid, timeout=15)
        self.assertEqual(job["state"], "completed", job)
        lab = {"queue": "hp", "type": "progress"}
        m = self.wait_metrics(lambda m: m.value("jobq_job_run_seconds_count", **lab) == 1,
                              "run-time count of hp/progress == 1")
        run = self.buckets(m, "jobq_job_run_seconds", **lab)
        self.assertEqual(run["1"], 0, "a 1.5 s job at or below le=1:\n" + m.text)
        self.assertEqual(run["2.5"], 1, "a 1.5 s job above le=2.5:\n" + m.text)
        s = m.value("jobq_job_run_seconds_sum", **lab)
        self.assertTrue(1.45 <= s < 2.5, "run-time sum %r for a 1.5 s job" % s)

    def test_delayed_job_waits_from_its_due_time(self):
        jid = self.post({"type": "noop", "queue": "hd", "delay_ms": 2000}, "scheduled")
        job = self.env.wait_job(jid, timeout=15)
        self.assertEqual(job["state"], "completed", job)
        lab = {"queue": "hd", "type": "noop"}
        m = self.wait_metrics(lambda m: m.value("jobq_job_wait_seconds_count", **lab) == 1,
                              "wait-time count of hd/noop == 1")
        wait = self.buckets(m, "jobq_job_wait_seconds", **lab)
        # from created_at it would be 2 s or more; from its due time, tens of ms
        self.assertEqual(wait["0.5"], 1, "a delayed job's wait, not from run_at:\n" + m.text)
        self.assertLess(m.value("jobq_job_wait_seconds_sum", **lab), 0.5)

    def test_failed_for_good_by_type(self):
        jid = self.post({"type": "exec", "payload": {"command": "no-such-type"}, "queue": "hf", "max_attempts": 1})
        self.assertEqual(self.env.wait_job(jid, timeout=15)["state"], "failed")
        lab = {"queue": "hf", "type": "exec"}
        m = self.wait_metrics(
            lambda m: m.value("jobq_jobs_by_type_total", event="failed", **lab) == 1,
            "failed count of hf/exec == 1")
        self.assertEqual(m.value("jobq_jobs_by_type_total", event="started", **lab), 1)
        self.assertEqual(m.value("jobq_jobs_by_type_total", event="completed", **lab), 0)
        self.assertEqual(self.buckets(m, "jobq_job_run_seconds", **lab)["+Inf"], 1)


class ByTypeWithoutWorkerTest(MetricsMixin, E2ETestCase):
    """Counts kept by the scripts themselves: enqueued (bulk too), cancelled while
    queued, and recovered from a worker killed with -9."""

    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()

    def test_enqueued_and_cancelled(self):
        r = self.env.http("POST", "/jobs/bulk", [{"type": "noop", "queue": "nq"}] * 3 +
                          [{"type": "progress", "payload": {"duration": 1}, "queue": "nq"}, {"type": "noop", "queue": "nq2"}])
        ids = self.assertJSONResponse(r, 201)["ids"]
        self.post({"type": "progress", "payload": {"duration": 1}, "queue": "nq"})
        r = self.env.http("DELETE", "/jobs/%d" % ids[0])
        self.assertEqual(self.assertJSONResponse(r, 200)["state"], "cancelled")
        m = self.get_metrics()
        v = lambda q, t, e: m.value("jobq_jobs_by_type_total", queue=q, type=t, event=e)
        self.assertEqual(v("nq", "noop", "enqueued"), 3, m.text)
        self.assertEqual(v("nq", "progress", "enqueued"), 2, m.text)
        self.assertEqual(v("nq2", "noop", "enqueued"), 1, m.text)
        self.assertEqual(v("nq", "noop", "cancelled"), 1, m.text)
        self.assertEqual(v("nq", "progress", "cancelled"), 0, m.text)
        self.assertEqual(v("nq", "noop", "started"), 0, m.text)
        # nothing ran: the histograms have the series, empty
        self.assertEqual(self.buckets(m, "jobq_job_wait_seconds", queue="nq",
                                      type="noop")["+Inf"], 0)

    def test_recovered(self):
        w1 = self.env.start_worker(extra_args=["--queues", "nr"])
        jid = self.post({"type": "progress", "queue": "nr",
                         "payload": {"duration": 30, "interval_ms": 100}})
        self.env.wait_job(jid, states=("running",), timeout=10)
        w1.kill9()
        self.env.start_worker(extra_args=["--queues", "nr"])
        lab = {"queue": "nr", "type": "progress"}
        m = self.wait_metrics(
            lambda m: m.value("jobq_jobs_by_type_total", event="recovered", **lab) == 1,
            "recovered count of nr/progress == 1", timeout=20)
        self.assertEqual(m.value("jobq_jobs_recovered_total", queue="nr"), 1, m.text)
        # the new worker started it again
        m = self.wait_metrics(
            lambda m: m.value("jobq_jobs_by_type_total", event="started", **lab) >= 1,
            "nr/progress started again", timeout=10)
        r = self.env.http("DELETE", "/jobs/%d" % jid)
        self.assertIn(r.status, (200, 202), r)


class RedisErrorsTest(MetricsMixin, E2ETestCase):
    """Redis, a broker and a worker; Redis goes away and comes back."""

    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()
        env.start_worker()

    def errors(self, m, process, kind):
        v = m.value("jobq_redis_errors_total", process=process, kind=kind)
        self.assertIsNotNone(v, m.text)
        return v

    def test_a_restart_counts_for_broker_and_workers(self):
        m0 = self.get_metrics()
        self.assertEqual(self.errors(m0, "broker", "disconnect"), 0, m0.text)
        self.assertEqual(self.errors(m0, "worker", "disconnect"), 0, m0.text)
        self.env.stop_redis()
        self.assertError(self.env.http("GET", "/metrics"), 503, "redis_unavailable")
        time.sleep(1.0)  # a few reconnect attempts fail meanwhile
        self.env.start_redis()
        wait_until(self.env._healthy, 10, "broker healthy again", interval=0.1, env=self.env)
        m = self.get_metrics()
        self.assertGreaterEqual(self.errors(m, "broker", "disconnect"), 1, m.text)
        self.assertGreaterEqual(self.errors(m, "broker", "connect"), 1, m.text)
        # the worker's three connections each lost theirs; it reports once back
        m = self.wait_metrics(lambda m: self.errors(m, "worker", "disconnect") >= 3,
                              "workers' disconnects reported")
        self.assertGreaterEqual(self.errors(m, "worker", "connect"), 1, m.text)
        # and jobs still run
        jid = self.post({"type": "noop"})
        self.assertEqual(self.env.wait_job(jid, timeout=15)["state"], "completed")

    def test_b_error_replies_count_for_broker_and_workers(self):
        m0 = self.get_metrics()
        b0, w0 = self.errors(m0, "broker", "reply"), self.errors(m0, "worker", "reply")
        redis = self.env.redis
        # without its scripts every EVALSHA is answered -NOSCRIPT: the broker's /queues
        # and the worker's heartbeat and reaper meet error replies
        redis.execute("SCRIPT", "FLUSH")
        self.assertError(self.env.http("GET", "/queues"), 503, "redis_unavailable")
        time.sleep(1.5)  # at least one heartbeat
        # make everyone reconnect: each connection loads the scripts again on connect
        redis.execute("CLIENT", "KILL", "TYPE", "normal")
        wait_until(lambda: self.env.http("GET", "/metrics").status == 200, 10,
                   "/metrics answers again", interval=0.1, env=self.env)
        m = self.get_metrics()
        self.assertGreaterEqual(self.errors(m, "broker", "reply"), b0 + 1, m.text)
        self.wait_metrics(lambda m: self.errors(m, "worker", "reply") >= w0 + 1,
                          "workers' error replies reported")
        # and the worker works again
        jid = self.post({"type": "noop"})
        self.assertEqual(self.env.wait_job(jid, timeout=15)["state"], "completed")


if __name__ == "__main__":
    harness.main()
