#!/usr/bin/python3
"""cron.py: how precisely periodic schedules fire: the delay from a tick to its
job being stored and to its job starting, with several brokers racing.

  bench/cron.py [--build DIR] [--brokers 3] [--workers 1] [--schedules 1] [--seconds 10]

Starts a private redis-server, the brokers and workers (from DIR, default
build/) on free 127.0.0.1 ports in a temp dir (tests/e2e/harness.py does the
process work), creates --schedules schedules that fire every second (the
6-field form) with a noop job, waits --seconds, deletes them, and reads every
job they made from Redis. Prints, in ms (Redis' clock, which stamps both the
job and its start): stored - tick and started - tick (p50, p95, max), the
ticks fired, missed and fired twice. Bounded: at most 10 brokers, 10 workers,
50 schedules, 120 s. Measures; asserts nothing.
"""
import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
sys.dont_write_bytecode = True
import harness  # noqa: E402


def healthy(port):
    try:
        return harness.http_request(port, "GET", "/healthz", timeout=1.0).status == 200
    except OSError:
        return False


def pct(values, p):
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def summary(values):
    return {"p50": pct(values, 50), "p95": pct(values, 95), "max": max(values) if values else None,
            "n": len(values)}


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--brokers", type=int, default=3)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--schedules", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=10)
    a = ap.parse_args()
    if not (1 <= a.brokers <= 10 and 0 <= a.workers <= 10 and 1 <= a.schedules <= 50
            and 1 <= a.seconds <= 120):
        ap.error("brokers 1..10, workers 0..10, schedules 1..50, seconds 1..120")
    os.environ.setdefault("JOBQ_BROKER_BIN", os.path.join(a.build, "broker", "jobq-broker"))
    os.environ.setdefault("JOBQ_WORKER_BIN", os.path.join(a.build, "worker", "jobq-worker"))

    env = harness.Env("bench-cron")
    try:
        env.start_redis()
        env.start_broker()
        ports = [env.broker_port]
        for i in range(a.brokers - 1):
            port = harness.free_port()
            env._spawn("broker%d" % (i + 2), [harness.broker_bin(), "--listen",
                                              "%s:%d" % (harness.HOST, port),
                                              "--redis-url", env.redis_url])
            harness.wait_until(lambda: healthy(port), 10, "broker on port %d" % port, env=env)
            ports.append(port)
        for _ in range(a.workers):
            env.start_worker()
        names = ["bench-%d" % i for i in range(a.schedules)]
        for i, n in enumerate(names):
            r = harness.http_request(ports[i % len(ports)], "POST", "/schedules", {
                "name": n, "cron": "*/1 * * * * *", "job": {"type": "noop"}})
            if r.status != 201:
                raise SystemExit("creating %s: %r" % (n, r))
        started = time.time()
        time.sleep(a.seconds)
        for n in names:
            harness.http_request(ports[0], "DELETE", "/schedules/" + n)
        ended = time.time()
        time.sleep(1.0)  # let the last jobs start

        keys = env.redis.keys(harness.JOB_KEYS)
        rows = env.redis.pipeline([["HMGET", k, "schedule", "schedule_tick", "created_at",
                                    "started_at"] for k in keys])
        stored, start, per_tick = [], [], {}
        for sched, tick, created, st in rows:
            if sched is None:
                continue
            tick = int(tick)
            key = (sched.decode(), tick)
            per_tick[key] = per_tick.get(key, 0) + 1
            stored.append(int(created) - tick)
            if st is not None:
                start.append(int(st) - tick)
        expected = a.schedules * int(ended - started)
        out = {
            "brokers": a.brokers, "workers": a.workers, "schedules": a.schedules,
            "seconds": a.seconds,
            "ticks_fired": len(per_tick),
            "ticks_expected_about": expected,
            "ticks_fired_twice": sum(1 for c in per_tick.values() if c > 1),
            "stored_minus_tick_ms": summary(stored),
            "started_minus_tick_ms": summary(start),
        }
        print(json.dumps(out))
        print("%d brokers, %d workers, %d schedules every second for %.0f s: %d ticks fired "
              "(about %d due), %d twice" % (a.brokers, a.workers, a.schedules, a.seconds,
                                            len(per_tick), expected, out["ticks_fired_twice"]),
              file=sys.stderr)
        for what, s in (("tick -> stored", out["stored_minus_tick_ms"]),
                        ("tick -> started", out["started_minus_tick_ms"])):
            print("  %-16s p50 %s ms, p95 %s ms, max %s ms (n=%d)" % (what, s["p50"], s["p95"],
                                                                     s["max"], s["n"]),
                  file=sys.stderr)
    finally:
        env.close()


if __name__ == "__main__":
    main()
