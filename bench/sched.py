#!/usr/bin/python3
"""bench/sched.py: how well priorities and rate limits hold under load; prints figures.

Starts a private redis-server, a broker and workers on free 127.0.0.1 ports (through
tests/e2e/harness.py, so every process is stopped on exit) and measures:

  1. priority under load: a backlog of BACKLOG priority-0 hash jobs (1 MB of sha256
     each, a few ms on the thread pool) is being worked off by WORKERS workers when
     PROBES jobs of priority 9 and PROBES more of priority 0 arrive; prints how long each kind waited (created -> started) and
     how many jobs of the backlog started after the first probe but before the last
     priority-9 one (ideally no more than the jobs already fetched in batches).
  2. rate-limit accuracy: RATE_N jobs per RATE_MS on one queue, RATE_JOBS jobs,
     WORKERS workers: the achieved rate against the limit, and the most starts seen
     in any window of RATE_MS (must not exceed RATE_N).

Times are the jobs' own created_at/started_at (Redis' clock, ms), read from Redis.
Bounded: every wait has a deadline; the whole run takes about 20 s on 2 cores.

    bench/sched.py                        # the binaries of ./build
    JOBQ_BUILD=build-release bench/sched.py
    BACKLOG=5000 RATE_N=50 RATE_MS=500 RATE_JOBS=400 bench/sched.py
"""
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
BUILD = os.path.join(ROOT, os.environ.get("JOBQ_BUILD", "build"))
os.environ.setdefault("JOBQ_BROKER_BIN", os.path.join(BUILD, "broker", "jobq-broker"))
os.environ.setdefault("JOBQ_WORKER_BIN", os.path.join(BUILD, "worker", "jobq-worker"))
import harness  # noqa: E402

WORKERS = int(os.environ.get("WORKERS", "2"))
CONCURRENCY = os.environ.get("CONCURRENCY", "20")
BACKLOG = int(os.environ.get("BACKLOG", "3000"))
PROBES = int(os.environ.get("PROBES", "50"))
RATE_N = int(os.environ.get("RATE_N", "20"))
RATE_MS = int(os.environ.get("RATE_MS", "500"))
RATE_JOBS = int(os.environ.get("RATE_JOBS", "200"))
DEADLINE_S = 60
WORK = {"type": "hash", "payload": {"data": "x" * 64, "repeat": 16384}}


def times(env, ids):
    """{id: (created_at, started_at)} in ms, for the jobs that started."""
    r = env.redis.pipeline([["HMGET", harness.job_key(i), "created_at", "started_at"]
                            for i in ids])
    out = {}
    for i, (c, s) in zip(ids, r):
        if s is not None:
            out[i] = (int(c), int(s))
    return out


def wait_started(env, ids, what):
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        if len(times(env, ids)) == len(ids):
            return times(env, ids)
        time.sleep(0.1)
    raise SystemExit("bench/sched.py: %s did not all start within %d s" % (what, DEADLINE_S))


def bulk(env, jobs):
    ids = []
    for k in range(0, len(jobs), 1000):
        r = env.http("POST", "/jobs/bulk", jobs[k:k + 1000])
        if r.status != 201:
            raise SystemExit("bench/sched.py: POST /jobs/bulk answered %r" % r)
        ids += r.json()["ids"]
    return ids


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


def priority_under_load(env):
    q = "bench_prio"
    for _ in range(WORKERS):
        env.start_worker(extra_args=["--queues", q, "--concurrency", CONCURRENCY])
    backlog = bulk(env, [dict(WORK, queue=q)] * BACKLOG)
    # let the workers get going on the backlog, then the probes arrive together
    deadline = time.monotonic() + DEADLINE_S
    while len(times(env, backlog[:BACKLOG // 5])) < BACKLOG // 5:
        if time.monotonic() > deadline:
            raise SystemExit("bench/sched.py: the backlog does not move")
        time.sleep(0.02)
    probes = bulk(env, [dict(WORK, queue=q, priority=9)] * PROBES +
                  [dict(WORK, queue=q)] * PROBES)
    hi, lo = probes[:PROBES], probes[PROBES:]
    t = wait_started(env, probes + backlog, "the priority jobs")
    wait_hi = [t[i][1] - t[i][0] for i in hi]
    wait_lo = [t[i][1] - t[i][0] for i in lo]
    first_probe = min(t[i][0] for i in probes)
    last_hi = max(t[i][1] for i in hi)
    overtaking = sum(1 for i in backlog if first_probe <= t[i][1] < last_hi)
    span = (max(s for _, s in t.values()) - min(s for _, s in t.values())) / 1000
    print("## priority under load: %d hash jobs (1 MB) of priority 0 queued, %d workers x "
          "concurrency %s; %d of priority 9 and %d of priority 0 arrive together"
          % (BACKLOG, WORKERS, CONCURRENCY, PROBES, PROBES))
    print("| jobs | wait median ms | p95 ms | max ms |")
    print("| --- | --- | --- | --- |")
    for name, w in (("priority 9 (arrived late)", wait_hi), ("priority 0 (arrived late)", wait_lo)):
        print("| %s | %d | %d | %d |" % (name, statistics.median(w), pct(w, 95), max(w)))
    print("backlog jobs started between the probes' arrival and the last priority-9 start: %d"
          " (fetched in the same millisecond as the probes arrived: times are in ms)"
          % overtaking)
    print("priority-0 probes that started before the last priority-9 one: %d"
          % sum(1 for i in lo if t[i][1] < last_hi))
    print("throughput: %d jobs in %.2f s" % (len(t), span))
    print()


def rate_limit_accuracy(env):
    q = "bench_rate"
    r = env.http("PUT", "/queues/%s/rate-limit" % q, {"limit": RATE_N, "interval_ms": RATE_MS})
    if r.status != 200:
        raise SystemExit("bench/sched.py: PUT rate-limit answered %r" % r)
    for _ in range(WORKERS):
        env.start_worker(extra_args=["--queues", q, "--concurrency", CONCURRENCY])
    ids = bulk(env, [{"type": "noop", "queue": q}] * RATE_JOBS)
    t = wait_started(env, ids, "the rate-limited jobs")
    starts = sorted(s for _, s in t.values())
    busiest = max(sum(1 for x in starts if s <= x < s + RATE_MS) for s in starts)
    span_ms = starts[-1] - starts[0]
    limit_rate = RATE_N * 1000.0 / RATE_MS
    # the first RATE_N start at once: the rest are paced by the limit
    achieved = (len(starts) - RATE_N) * 1000.0 / span_ms if span_ms else float("inf")
    # per full window from the first start: how many started in each
    windows = [sum(1 for x in starts if k * RATE_MS <= x - starts[0] < (k + 1) * RATE_MS)
               for k in range(span_ms // RATE_MS)]
    print("## rate limit: %d jobs per %d ms on one queue, %d jobs, %d workers x concurrency %s"
          % (RATE_N, RATE_MS, RATE_JOBS, WORKERS, CONCURRENCY))
    print("| limit (jobs/s) | achieved (jobs/s) | achieved / limit | most starts in any %d ms "
          "| starts per full window (min-max) |" % RATE_MS)
    print("| --- | --- | --- | --- | --- |")
    print("| %.1f | %.1f | %.3f | %d | %d-%d |" % (limit_rate, achieved, achieved / limit_rate,
                                                   busiest, min(windows), max(windows)))
    print()


def main():
    for name, fn in (("prio", priority_under_load), ("rate", rate_limit_accuracy)):
        env = harness.Env("bench-sched-" + name)
        try:
            env.start_redis()
            env.start_broker()
            fn(env)
        finally:
            env.close()


if __name__ == "__main__":
    main()
