#!/usr/bin/python3
"""E2E: periodic (cron) schedules: created through the API and from schedule
files, listed with their next run, fired exactly once per tick however many
brokers and workers run, stopped by DELETE, refused with a clear 400 when bad,
and not fired twice across a broker restart.

Ticks come every second through the 6-field form (seconds first), which runs
the same path as 5-field schedules. Timing precision is measured in
bench/cron.py, not asserted here: only "once per tick", "in the future" and
"eventually" are."""
import datetime
import json
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import E2ETestCase, FreshEnvTestCase, HOST, free_port, wait_until  # noqa: E402

EVERY_SECOND = "*/1 * * * * *"


def jobs_of(env, name):
    """{tick ms: [job ids]} of the jobs schedule `name` made, from Redis."""
    keys = env.redis.keys(harness.JOB_KEYS)
    replies = env.redis.pipeline([["HMGET", k, "schedule", "schedule_tick"] for k in keys])
    out = {}
    for k, (sched, tick) in zip(keys, replies):
        if sched is not None and sched.decode() == name:
            out.setdefault(int(tick), []).append(int(k.rsplit(":", 1)[1]))
    return out


def tick_keys(env, name):
    """{tick s: value} of the idempotency keys of the schedule's ticks ('0' marks a
    claim that lost)."""
    out = {}
    for k in env.redis.keys(harness.key("idem:cron:%s:*" % name)):
        out[int(k.rsplit(":", 1)[1])] = env.redis.execute("GET", k).decode()
    return out


class CronMixin:
    def create(self, name, cron=EVERY_SECOND, job=None, status=201):
        body = {"name": name, "cron": cron, "job": job or {"type": "noop"}}
        r = self.env.http("POST", "/schedules", body)
        return self.assertJSONResponse(r, status)

    def get(self, name, port=None):
        r = harness.http_request(port or self.env.broker_port, "GET", "/schedules/" + name)
        return self.assertJSONResponse(r, 200)

    def assertOncePerTick(self, name):
        jobs = jobs_of(self.env, name)
        dup = {t: ids for t, ids in jobs.items() if len(ids) > 1}
        self.assertEqual(dup, {}, "ticks fired more than once: %r" % dup)
        for t, ids in jobs.items():
            self.assertEqual(t % 1000, 0, "a tick is a whole second: %r" % t)
        # each fired tick's idempotency key names its one job
        keys = tick_keys(self.env, name)
        for t, ids in jobs.items():
            self.assertEqual(keys.get(t // 1000), str(ids[0]), (t, ids, keys))
        return jobs


class CronApiTest(CronMixin, E2ETestCase):
    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()
        env.start_worker()

    def test_fires_jobs_that_complete(self):
        got = self.create("api-fire", job={"type": "noop", "payload": {"k": 1},
                                           "max_attempts": 2})
        self.assertEqual(got["name"], "api-fire")
        self.assertEqual(got["source"], "api")
        self.assertIsNone(got["last_job_id"])
        s = wait_until(lambda: (lambda s: s if s["last_job_id"] else None)(self.get("api-fire")),
                       10, "a first firing", env=self.env)
        job = self.env.wait_job(s["last_job_id"], timeout=15)
        self.assertEqual(job["state"], "completed", job)
        self.assertEqual(job["type"], "noop")
        self.assertEqual(job["payload"], {"k": 1})
        self.assertEqual(job["max_attempts"], 2)
        self.assertEqual(job["schedule"], "api-fire")
        self.assertEqual(harness.parse_rfc3339(job["schedule_tick"]),
                         harness.parse_rfc3339(s["last_run"]))
        # several ticks, each once
        wait_until(lambda: len(jobs_of(self.env, "api-fire")) >= 3, 10, "three ticks",
                   env=self.env)
        self.assertOncePerTick("api-fire")
        self.assertEqual(self.env.http("DELETE", "/schedules/api-fire").status, 204)

    def test_next_run_in_the_future_and_consistent(self):
        self.create("yearly", cron="0 0 1 1 *", job={"type": "noop"})
        s = self.get("yearly")
        now = datetime.datetime.now(datetime.timezone.utc)
        want = datetime.datetime(now.year + 1, 1, 1, tzinfo=datetime.timezone.utc)
        self.assertEqual(harness.parse_rfc3339(s["next_run"]), want, s)
        self.assertEqual(s["next_run_ms"], int(want.timestamp() * 1000), s)
        self.assertIsNone(s["last_run"])
        self.assertIsNone(s["last_run_ms"])
        self.create("minutely", cron="* * * * *")
        s = self.get("minutely")
        self.assertEqual(s["next_run_ms"] % 60000, 0, s)
        self.assertGreater(s["next_run_ms"], time.time() * 1000 - 1000, s)
        self.assertLessEqual(s["next_run_ms"], time.time() * 1000 + 61000, s)
        # a fast schedule: next_run stays ahead of its last run, ticks apart
        self.create("fast")
        wait_until(lambda: self.get("fast")["last_run_ms"], 10, "a firing", env=self.env)
        for _ in range(3):
            s = self.get("fast")
            self.assertEqual(s["next_run_ms"], s["last_run_ms"] + 1000, s)
            # ahead of the clock, give or take a firing in progress on a busy machine
            self.assertGreater(s["next_run_ms"], time.time() * 1000 - 3000, s)
            self.assertEqual(harness.parse_rfc3339(s["next_run"]).timestamp() * 1000,
                             s["next_run_ms"])
            time.sleep(0.4)
        # the list: every schedule, sorted by name, in the same shape
        listed = self.assertJSONResponse(self.env.http("GET", "/schedules"), 200)["schedules"]
        names = [x["name"] for x in listed]
        self.assertEqual(names, sorted(names))
        self.assertTrue({"fast", "minutely", "yearly"} <= set(names), names)
        for x in listed:
            self.assertEqual(set(x), {"name", "cron", "job", "source", "next_run",
                                      "next_run_ms", "last_run", "last_run_ms",
                                      "last_job_id", "created_at", "updated_at"}, x)
        for n in ("fast", "minutely", "yearly"):
            self.assertEqual(self.env.http("DELETE", "/schedules/" + n).status, 204)

    def test_delete_stops_firing(self):
        self.create("doomed")
        wait_until(lambda: jobs_of(self.env, "doomed"), 10, "a firing", env=self.env)
        r = self.env.http("DELETE", "/schedules/doomed")
        self.assertEqual(r.status, 204, r)
        self.assertEqual(r.body, b"")
        time.sleep(0.3)  # a firing that had started before the DELETE may finish
        before = jobs_of(self.env, "doomed")
        time.sleep(2.5)
        self.assertEqual(jobs_of(self.env, "doomed"), before)
        self.assertError(self.env.http("GET", "/schedules/doomed"), 404, "not_found")
        self.assertError(self.env.http("DELETE", "/schedules/doomed"), 404, "not_found")
        self.assertNotIn("doomed", [s["name"] for s in self.assertJSONResponse(
            self.env.http("GET", "/schedules"), 200)["schedules"]])

    def test_put_creates_and_replaces(self):
        r = self.env.http("PUT", "/schedules/swap", {"cron": "0 3 * * *",
                                                     "job": {"type": "noop"}})
        first = self.assertJSONResponse(r, 201)
        self.assertEqual(first["cron"], "0 3 * * *")
        # the same definition again: nothing changes
        r = self.env.http("PUT", "/schedules/swap", {"name": "swap", "cron": "0 3 * * *",
                                                     "job": {"type": "noop"}})
        same = self.assertJSONResponse(r, 200)
        self.assertEqual(same["next_run_ms"], first["next_run_ms"])
        self.assertEqual(same["updated_at"], first["updated_at"])
        r = self.env.http("PUT", "/schedules/swap", {"cron": "0 4 * * *",
                                                     "job": {"type": "hash", "payload": {"data": "x"}}})
        new = self.assertJSONResponse(r, 200)
        self.assertEqual(new["cron"], "0 4 * * *")
        self.assertEqual(new["job"], {"type": "hash", "payload": {"data": "x"}})
        self.assertEqual(new["next_run_ms"] % 86400000, 4 * 3600000)
        self.assertEqual(new["created_at"], first["created_at"])
        # POST of a name in use is a conflict
        self.assertError(self.env.http("POST", "/schedules", {
            "name": "swap", "cron": "* * * * *", "job": {"type": "noop"}}), 409, "conflict")
        self.assertEqual(self.env.http("DELETE", "/schedules/swap").status, 204)

    def test_jobctl(self):
        p = self.jobctl("schedule", "add", "ctl-fast", EVERY_SECOND, '{"type": "noop"}')
        self.assertEqual(p.returncode, 0, self.describe(p))
        self.assertRegex(p.out, r"^schedule ctl-fast created, next run \d{4}-\d\d-\d\dT")
        p = self.jobctl("schedule", "add", "ctl-fast", "0 1 * * *", '{"type": "noop"}')
        self.assertEqual(p.returncode, 1, self.describe(p))
        self.assertIn("conflict", p.err)
        self.assertIn("add --replace to change it", p.err)  # what jobctl's user types
        # --json: the error as one JSON line on stderr, the broker's code and message
        p = self.jobctl("--json", "schedule", "add", "ctl-fast", "0 1 * * *", '{"type": "noop"}')
        self.assertEqual(p.returncode, 1, self.describe(p))
        self.assertEqual(p.out, "", self.describe(p))
        err = json.loads(p.err)["error"]
        self.assertEqual((err["code"], err["http_status"]), ("conflict", 409), p.err)
        self.assertIn("schedule 'ctl-fast' exists", err["message"])
        self.assertIn("--replace", err["hint"])
        p = self.jobctl("--json", "enqueue", "sendmail")
        self.assertEqual(p.returncode, 1, self.describe(p))
        self.assertEqual(json.loads(p.err), {"error": {
            "code": "invalid_argument", "http_status": 400, "message":
            "unknown job type 'sendmail' (the types are noop, progress, email, hash, http, exec)"}})
        p = self.jobctl("--json", "schedule", "add", "x")
        self.assertEqual(p.returncode, 2, self.describe(p))
        err = json.loads(p.err)["error"]
        self.assertEqual(err["code"], "usage", p.err)
        self.assertTrue(err["usage"].startswith("jobctl schedule add NAME CRON JOB_JSON"), p.err)
        p = self.jobctl("schedule", "add", "ctl-day", "0 1 * * *", '{"type": "hash", "payload": {"data": "x"}}',
                        "--replace")
        self.assertEqual(p.returncode, 0, self.describe(p))
        self.assertIn("schedule ctl-day created, next run ", p.out)
        p = self.jobctl("schedule", "add", "--replace", "ctl-day", "0 2 * * *",
                        '{"type": "hash", "payload": {"data": "x"}}')
        self.assertEqual(p.returncode, 0, self.describe(p))
        self.assertIn("schedule ctl-day replaced, next run ", p.out)
        self.assertIn("T02:00:00.000Z", p.out)
        p = self.jobctl("schedule", "add", "ctl-bad", "0 0 * * FUN", '{"type": "noop"}')
        self.assertEqual(p.returncode, 1, self.describe(p))
        self.assertIn("'cron': day-of-week", p.err)
        p = self.jobctl("schedule", "add", "ctl-bad", "* * * * *", "[1]")
        self.assertEqual(p.returncode, 2, self.describe(p))
        wait_until(lambda: self.get("ctl-fast")["last_job_id"], 10, "a firing", env=self.env)
        p = self.jobctl("schedules")
        self.assertEqual(p.returncode, 0, self.describe(p))
        lines = p.out.splitlines()
        self.assertEqual(lines[0].split()[:3], ["NAME", "CRON", "NEXT"], p.out)
        rows = {l.split()[0]: l for l in lines[1:]}
        self.assertIn("0 2 * * *", rows["ctl-day"])
        self.assertIn(EVERY_SECOND, rows["ctl-fast"])
        p = self.jobctl("schedules", "ctl-day")
        self.assertEqual(p.returncode, 0, self.describe(p))
        self.assertIn("cron: 0 2 * * *\n", p.out)
        self.assertIn('job: {"payload":{"data":"x"},"type":"hash"}\n', p.out)
        p = self.jobctl("--json", "schedules")
        names = [s["name"] for s in json.loads(p.out)["schedules"]]
        self.assertTrue({"ctl-day", "ctl-fast"} <= set(names), names)
        for n in ("ctl-fast", "ctl-day"):
            p = self.jobctl("schedule", "rm", n)
            self.assertEqual((p.returncode, p.out), (0, "schedule %s deleted\n" % n),
                             self.describe(p))
        p = self.jobctl("schedule", "rm", "ctl-day")
        self.assertEqual(p.returncode, 1, self.describe(p))
        self.assertIn("no schedule 'ctl-day'", p.err)
        # --json: the broker's code and status, as every command gives them
        p = self.jobctl("--json", "schedule", "rm", "ctl-day")
        self.assertEqual(p.returncode, 1, self.describe(p))
        err = json.loads(p.err)["error"]
        self.assertEqual((err["code"], err["http_status"]), ("not_found", 404), err)
        p = self.jobctl("schedules", "ctl-day")
        self.assertEqual(p.returncode, 1, self.describe(p))

    def test_bad_input_names_the_field(self):
        before = self.env.redis.keys("jobq:*")
        cases = [
            ({"name": "b", "cron": "61 * * * *", "job": {"type": "noop"}}, "'cron': minute"),
            ({"name": "b", "cron": "0 24 * * *", "job": {"type": "noop"}}, "'cron': hour"),
            ({"name": "b", "cron": "0 0 * * FUN", "job": {"type": "noop"}},
             "'cron': day-of-week"),
            ({"name": "b", "cron": "0 0 30 2 *", "job": {"type": "noop"}}, "never runs"),
            ({"name": "b", "cron": "* * *", "job": {"type": "noop"}}, "'cron': expected 5"),
            ({"name": "b", "cron": 5, "job": {"type": "noop"}}, "'cron' must be a string"),
            ({"name": "b", "cron": "* * * * *", "job": {"payload": 1}}, "'job': 'type'"),
            ({"name": "b", "cron": "* * * * *", "job": {"type": "noop", "priority": 5000}},
             "'job': 'priority'"),
            ({"name": "b", "cron": "* * * * *", "job": {"type": "noop", "bogus": 1}},
             "'job': unknown field 'bogus'"),
            ({"name": "b", "cron": "* * * * *", "job": {"type": "noop", "run_at": 1}},
             "'job': 'run_at'"),
            ({"name": "b", "cron": "* * * * *", "job": "noop"}, "'job' must be a JSON object"),
            ({"name": "b c", "cron": "* * * * *", "job": {"type": "noop"}}, "'name'"),
            ({"name": "", "cron": "* * * * *", "job": {"type": "noop"}}, "'name'"),
            ({"cron": "* * * * *", "job": {"type": "noop"}}, "'name' is required"),
            ({"name": "b", "job": {"type": "noop"}}, "'cron' is required"),
            ({"name": "b", "cron": "* * * * *"}, "'job' is required"),
            ({"name": "b", "cron": "* * * * *", "job": {"type": "noop"}, "x": 1},
             "unknown field 'x'"),
            ([1, 2], "JSON object"),
        ]
        for body, want in cases:
            err = self.assertError(self.env.http("POST", "/schedules", body), 400,
                                   "invalid_argument")
            self.assertIn(want, err["message"], body)
        self.assertError(self.env.http("POST", "/schedules", "{nope",
                                       headers={"Content-Type": "application/json"}),
                         400, "invalid_json")
        self.assertError(self.env.http("GET", "/schedules/a%20b"), 400, "invalid_argument")
        self.assertError(self.env.http("PUT", "/schedules/p", {
            "name": "q", "cron": "* * * * *", "job": {"type": "noop"}}), 400, "invalid_argument")
        self.assertEqual(self.env.redis.keys("jobq:*"), before)


def start_broker_on(env, name, extra_args=()):
    """Another jobq-broker on the environment's Redis (the harness keeps one)."""
    port = free_port()
    proc = env._spawn(name, [harness.broker_bin(), "--listen", "%s:%d" % (HOST, port),
                             "--redis-url", env.redis_url] + list(extra_args))
    wait_until(lambda: _healthy(port), 10, "%s on port %d" % (name, port), env=env)
    return proc, port


def _healthy(port):
    try:
        return harness.http_request(port, "GET", "/healthz", timeout=1.0).status == 200
    except OSError:
        return False


class CronManyFirersTest(CronMixin, E2ETestCase):
    """Three brokers and two workers fire the same schedules: each tick once."""

    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()
        cls.more = [start_broker_on(env, "broker%d" % i) for i in (2, 3)]
        env.start_worker()
        env.start_worker()

    def test_each_tick_once(self):
        for n in ("many-a", "many-b"):
            self.create(n)
        wait_until(lambda: all(len(jobs_of(self.env, n)) >= 5 for n in ("many-a", "many-b")),
                   20, "five ticks of each schedule", env=self.env)
        for n in ("many-a", "many-b"):
            self.assertEqual(self.env.http("DELETE", "/schedules/" + n).status, 204)
        time.sleep(0.5)
        for n in ("many-a", "many-b"):
            jobs = self.assertOncePerTick(n)
            for ids in jobs.values():
                self.assertEqual(self.env.wait_job(ids[0], timeout=15)["state"], "completed")

    def test_every_broker_lists_the_same(self):
        self.create("seen-everywhere", cron="0 12 * * MON-FRI")
        views = [self.get("seen-everywhere", port) for port in
                 [self.env.broker_port] + [p for _, p in self.more]]
        self.assertEqual(len({v["next_run_ms"] for v in views}), 1, views)
        self.assertEqual(self.env.http("DELETE", "/schedules/seen-everywhere").status, 204)


class CronConfigTest(CronMixin, FreshEnvTestCase):
    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()

    def write(self, name, text):
        path = os.path.join(self.env.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_schedule_files_at_start_up(self):
        bfile = self.write("broker.cron",
                           "# nightly report, and a fast one\n\n"
                           'nightly   0 2 * * *   {"type": "noop", "queue": "reports"}\n'
                           '  fast-cfg */1 * * * * * {"type": "noop"}\n')
        wfile = self.write("worker.cron", 'from-worker @weekly {"type": "hash", '
                                          '"payload": {"data": "a=b {c}"}}\n')
        self.env.start_broker(extra_args=["--schedule-file", bfile])
        self.env.start_worker(extra_args=["--schedule-file", wfile])
        def listed():
            r = self.env.http("GET", "/schedules")
            got = {s["name"]: s for s in self.assertJSONResponse(r, 200)["schedules"]}
            return got if len(got) == 3 else None
        got = wait_until(listed, 10, "the three config schedules", env=self.env)
        self.assertEqual(got["nightly"]["cron"], "0 2 * * *")
        self.assertEqual(got["nightly"]["job"], {"type": "noop", "queue": "reports"})
        self.assertEqual(got["nightly"]["next_run_ms"] % 86400000, 2 * 3600000)
        self.assertEqual(got["from-worker"]["job"]["payload"], {"data": "a=b {c}"})
        self.assertEqual(got["from-worker"]["cron"], "@weekly")
        for s in got.values():
            self.assertEqual(s["source"], "config")
        wait_until(lambda: jobs_of(self.env, "fast-cfg"), 10, "a config firing", env=self.env)

    def test_bad_schedule_file_stops_start_up(self):
        path = self.write("bad.cron", '# ok\nfine * * * * * {"type": "noop"}\n'
                                      'bad 0 25 * * * {"type": "noop"}\n')
        with self.assertRaises(harness.StartFailed) as ctx:
            self.env.start_broker(extra_args=["--schedule-file", path])
        self.assertIn("bad.cron:3: 'cron': hour: '25' is out of range 0-23", str(ctx.exception))
        path = self.write("nojob.cron", "x * * * * *\n")
        with self.assertRaises(harness.StartFailed) as ctx:
            self.env.start_broker(extra_args=["--schedule-file", path])
        self.assertIn("nojob.cron:1: expected NAME CRON JOB_JSON", str(ctx.exception))

    def test_restart_does_not_fire_a_tick_twice(self):
        path = self.write("b.cron", 'restart */1 * * * * * {"type": "noop"}\n')
        self.env.start_broker(extra_args=["--schedule-file", path])
        wait_until(lambda: len(jobs_of(self.env, "restart")) >= 2, 10, "two ticks", env=self.env)
        first = self.get("restart")
        # restarted at once, with the same file: the definition is unchanged, so its
        # next run and history are kept
        self.env.broker_proc.stop()
        self.env.start_broker(extra_args=["--schedule-file", path])
        again = self.get("restart")
        self.assertEqual(again["created_at"], first["created_at"])
        self.assertEqual(again["updated_at"], first["updated_at"])
        wait_until(lambda: len(jobs_of(self.env, "restart")) >= 4, 10, "more ticks",
                   env=self.env)
        # stopped for 3 s: the ticks missed meanwhile fire once, for the latest
        self.env.broker_proc.stop()
        last_before = max(jobs_of(self.env, "restart"))
        time.sleep(3)
        restart_ms = time.time() * 1000
        self.env.start_broker(extra_args=["--schedule-file", path])
        wait_until(lambda: max(jobs_of(self.env, "restart")) > restart_ms - 1000, 10,
                   "a tick after the restart", env=self.env)
        jobs = self.assertOncePerTick("restart")
        self.assertGreater(restart_ms - last_before, 2500)
        missed = [t for t in jobs if last_before < t <= restart_ms - 1000]
        self.assertEqual(missed, [], "ticks of the downtime fired: %r" % missed)
        first_after = min(t for t in jobs if t > last_before)
        # the latest missed tick fires as soon as the broker is up (the slack is its start-up)
        self.assertLess(first_after, restart_ms + 5000, "the latest missed tick fires at once")
        # the broker logged nothing at error level
        self.assertNotIn(" error ", self.env.broker_proc.log_text())


class CronClaimScriptTest(E2ETestCase):
    """cron_claim.lua on its own, against a bare Redis: the compare-and-set that
    keeps firers which picked different ticks (or a deleted schedule) from
    storing a job, whatever the timing."""

    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        cls.sha = env.redis.execute("SCRIPT", "LOAD", harness.script_text("cron_claim")).decode()

    def claim(self, name, read, tick, nxt, job, definition=None):
        idem = "t:idem:cron:%s:%d" % (name, tick // 1000)
        if definition is None:  # the firer read what is stored
            definition = self.env.redis.execute("HGET", "t:schedules", name) or b""
        return self.env.redis.execute("EVALSHA", self.sha, 4, "t:schedule-next",
                                      "t:schedule-state", idem, "t:schedules", name, read,
                                      tick, nxt, job, 3600000, definition)

    def test_replaced_definition_fires_nothing(self):
        r = self.env.redis
        old = '{"cron": "* * * * *", "job": {"type": "noop"}}'
        r.execute("HSET", "t:schedules", "p", old)
        r.execute("ZADD", "t:schedule-next", 30000, "p")
        # a PUT replaced the job but kept the next run, between the scan and the claim
        r.execute("HSET", "t:schedules", "p", '{"cron": "* * * * *", "job": {"type": "hash"}}')
        self.assertEqual(self.claim("p", 30000, 30000, 31000, 4, definition=old), 0)
        self.assertEqual(r.execute("GET", "t:idem:cron:p:30"), b"0")
        self.assertEqual(r.execute("ZSCORE", "t:schedule-next", "p"), b"30000")
        # a firer that read the new definition claims the tick
        self.assertEqual(self.claim("p", 30000, 30000, 31000, 5), 1)
        self.assertIsNone(r.execute("GET", "t:idem:cron:p:30"))

    def test_one_claim_per_read(self):
        r = self.env.redis
        r.execute("ZADD", "t:schedule-next", 10000, "a")
        r.execute("HSET", "t:schedules", "a", '{"cron": "* * * * * *", "job": {"type": "noop"}}')
        # firer 1 picked tick 10 s, firer 2 (a later clock) tick 11 s; both read 10000
        self.assertEqual(self.claim("a", 10000, 10000, 11000, 7), 1)
        self.assertEqual(self.claim("a", 10000, 11000, 12000, 8), 0)
        self.assertEqual(r.execute("ZSCORE", "t:schedule-next", "a"), b"11000")
        # the loser's key is marked, so the enqueue in its MULTI stores nothing
        self.assertEqual(r.execute("GET", "t:idem:cron:a:11"), b"0")
        self.assertGreater(r.execute("PTTL", "t:idem:cron:a:11"), 0)
        state = json.loads(r.execute("HGET", "t:schedule-state", "a"))
        self.assertEqual((state["last_tick"], state["last_job_id"]), (10000, 7))
        # tick 11 s is due now: its winner clears the loser's mark and fires it
        self.assertEqual(self.claim("a", 11000, 11000, 12000, 9), 1)
        self.assertIsNone(r.execute("GET", "t:idem:cron:a:11"))
        # a key that names a job already (a tick stored before) is kept and recorded
        r.execute("SET", "t:idem:cron:a:12", "5")
        self.assertEqual(self.claim("a", 12000, 12000, 13000, 10), 1)
        self.assertEqual(r.execute("GET", "t:idem:cron:a:12"), b"5")
        state = json.loads(r.execute("HGET", "t:schedule-state", "a"))
        self.assertEqual(state["last_job_id"], 5)

    def test_deleted_schedule_fires_nothing(self):
        r = self.env.redis
        r.execute("ZADD", "t:schedule-next", 20000, "gone")
        r.execute("ZREM", "t:schedule-next", "gone")  # DELETE came first
        self.assertEqual(self.claim("gone", 20000, 20000, 21000, 3), 0)
        self.assertEqual(r.execute("GET", "t:idem:cron:gone:20"), b"0")
        self.assertIsNone(r.execute("ZSCORE", "t:schedule-next", "gone"))
        self.assertEqual(r.execute("HEXISTS", "t:schedule-state", "gone"), 0)


class CronRedisRestartTest(CronMixin, FreshEnvTestCase):
    @classmethod
    def setUpEnv(cls, env):
        env.start_redis(appendonly=True)
        env.start_broker()
        env.start_worker()

    def test_firing_resumes_after_a_redis_restart(self):
        self.create("survivor")
        wait_until(lambda: len(jobs_of(self.env, "survivor")) >= 2, 10, "two ticks",
                   env=self.env)
        self.env.restart_redis(downtime=1.5)
        before = max(jobs_of(self.env, "survivor"))
        wait_until(lambda: max(jobs_of(self.env, "survivor")) >= before + 2000, 15,
                   "ticks after the restart", env=self.env)
        jobs = self.assertOncePerTick("survivor")
        for ids in jobs.values():
            self.assertEqual(self.env.wait_job(ids[0], timeout=15)["state"], "completed")


if __name__ == "__main__":
    harness.main()
