#!/usr/bin/python3
"""summarize.py: turn one bench/run.sh results folder into the markdown table.

  summarize.py RESULTS_DIR [--doc docs/benchmarks.md] [--peers PEERS_RESULTS_DIR]

Prints the tables; with --doc, also replaces the text between the result markers of
that file (and, with --peers, between the peer-ratio markers). Stdlib only."""
import argparse
import collections
import json
import math
import os
import re
import statistics
import sys

BEGIN, END = "<!-- BEGIN bench/run.sh results -->", "<!-- END bench/run.sh results -->"
PBEGIN, PEND = "<!-- BEGIN bench/run.sh --peers ratios -->", "<!-- END bench/run.sh --peers ratios -->"


def num(v, nd=0):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    return ("{:,.%df}" % nd).format(v)


def fmt(vals, nd=0):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "n/a"
    med = statistics.median(vals)
    if len(vals) == 1:
        return num(med, nd)
    return "%s (%s–%s)" % (num(med, nd), num(min(vals), nd), num(max(vals), nd))


def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def load(d):
    rows = []
    with open(os.path.join(d, "raw.jsonl")) as f:
        for line in f:
            if line.strip():
                rows.append(json.loads(line))
    return rows


def redis_bench(path):
    res = collections.defaultdict(list)
    if not os.path.exists(path):
        return res
    P = None
    for line in open(path):
        m = re.match(r"## rep=\d+ P=(\d+)( c=1)?", line)
        if m:
            P = int(m.group(1)) if not m.group(2) else "c1"
            continue
        m = re.match(r"\s*(\S+).*?:\s*([\d.]+) requests per second", line)
        if m and P is not None:
            name = m.group(1).rstrip(":")
            if name.startswith("EVALSHA"):
                name = "EVALSHA(HSET+LPUSH)"
            res[(name, P)].append(float(m.group(2)))
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--doc")
    ap.add_argument("--peers")
    ap.add_argument("--peers-only", action="store_true",
                    help="with --doc: rewrite only the peer-ratio block")
    a = ap.parse_args()
    rows = load(a.dir)
    by = collections.defaultdict(list)
    for r in rows:
        by[r["fig"]].append(r)
    reps = max([r["rep"] for r in rows] or [0])
    rb = redis_bench(os.path.join(a.dir, "redis-benchmark.txt"))
    lim = {k: med(v) for k, v in rb.items()}
    ev1, ev16 = lim.get(("EVALSHA(HSET+LPUSH)", 1)), lim.get(("EVALSHA(HSET+LPUSH)", 16))
    evc1 = lim.get(("EVALSHA(HSET+LPUSH)", "c1"))
    get16 = lim.get(("GET", 16))

    def d(fig, key, sel=None):
        """Values of data[key] (a dotted path) over the rows of fig that pass sel."""
        out = []
        for r in by.get(fig, []):
            if sel and not sel(r):
                continue
            v = r.get("data")
            for k in key.split("."):
                v = v.get(k) if isinstance(v, dict) else None
            out.append(v)
        return out

    lines = []
    table = []  # (figure, values, nd, target text, ok(median) or None, limit)

    def row(name, vals, nd, target=None, ok=None, limit=None, note=""):
        if not [v for v in vals if v is not None]:
            return  # figure not run (FIGS) or failed: listed under "Failed measurements"
        m = med(vals)
        met = "—"
        if ok is not None and m is not None:
            good = ok(m)
            met = "**yes**" if good else "**no**"
            vs = [v for v in vals if v is not None]
            if len(vs) > 1 and ok(min(vs)) != ok(max(vs)):
                met += " (range straddles)"
        frac = "—"
        if limit and m is not None and limit[1]:
            frac = "%.0f %% of %s" % (100.0 * m / limit[1], limit[0])
        table.append("| %s | %s | %s | %s | %s | %s |" % (
            name, fmt(vals, nd), target or "—", met, frac, note))

    ge = lambda t: (lambda v: v >= t)  # noqa: E731
    le = lambda t: (lambda v: v <= t)  # noqa: E731
    L_EV1 = ("EVALSHA, 1 client", evc1) if evc1 else ("EVALSHA -P 1", ev1)
    L_EV16 = ("EVALSHA -P 16", ev16)
    L_GET16 = ("GET -P 16", get16)

    n_single = (d("enq_single", "requested") or [None])[0]
    row("Enqueue one by one: `POST /jobs`, 1 connection, 1 request at a time, N=%s (requests/s)"
        % num(n_single), d("enq_single", "req_per_s"), 0, "≥ 35,000", ge(35000), L_EV1,
        "p99 %s ms" % fmt(d("enq_single", "latency_ms.p99"), 2))
    row("Enqueue: `POST /jobs`, 64 keep-alive connections (requests/s)", d("enq_c64", "req_per_s"),
        0, "≥ 60,000", ge(60000), L_EV16, "p99 %s ms" % fmt(d("enq_c64", "latency_ms.p99"), 2))
    row("Enqueue: `POST /jobs`, 64 connections, 2 brokers on one port (`--reuse-port`) (requests/s)",
        d("enq_c64_b2", "req_per_s"), 0, "≥ 60,000", ge(60000), L_EV16,
        "p99 %s ms" % fmt(d("enq_c64_b2", "latency_ms.p99"), 2))
    row("Enqueue a batch: `POST /batches`, 1,000 jobs and a callback per request, 1 connection (jobs/s)",
        d("enq_batch", "jobs_per_s"), 0, None, None, L_EV16)
    row("Enqueue bulk: `POST /jobs/bulk`, 1,000 jobs per request, 1 connection (jobs/s)",
        d("enq_bulk", "jobs_per_s"), 0, "≥ 320,000", ge(320000), L_EV16,
        "%d samples (every bulk load of the run)" % len(d("enq_bulk", "jobs_per_s")))
    for fig, k in (("proc1", 1), ("proc2", 2), ("proc2_n", 2)):
        n = (d(fig, "n") or [None])[0]
        tgt, ok = ("≥ 45,000", ge(45000)) if fig == "proc2" else (None, None)
        boot = fmt(d(fig, "first_taken_secs"), 3)
        row("Process %s queued noop jobs, %d worker process%s, incl. worker boot (jobs/s)"
            % (num(n), k, "es" if k > 1 else ""), d(fig, "jobs_per_s"), 0, tgt, ok, L_EV16,
            "boot (spawn → first job taken) %s s" % boot)
        row("Process %s, %d worker%s, steady: first job taken → all done (jobs/s)"
            % (num(n), k, "s" if k > 1 else ""), d(fig, "steady_jobs_per_s"), 0, tgt, ok, L_EV16)
    row("Enqueue-to-start latency p50, idle, 1 ms spacing, 2 workers (ms)",
        d("lat_idle", "latency_ms.p50"), 3, "≤ 0.18", le(0.18), None,
        "HTTP round trip of the enqueue alone: p50 %s ms" % fmt(d("lat_idle", "enqueue_rt_ms.p50"), 3))
    row("Enqueue-to-start latency p99 (ms)", d("lat_idle", "latency_ms.p99"), 3, "≤ 0.7", le(0.7),
        None, "enqueue round trip alone: p99 %s ms" % fmt(d("lat_idle", "enqueue_rt_ms.p99"), 3))
    row("Enqueue-to-start latency p99.9 (ms)", d("lat_idle", "latency_ms.p999"), 3, None, None, None,
        "max %s ms" % fmt(d("lat_idle", "latency_ms.max"), 2))
    bl = (d("lat_backlog", "backlog") or [None])[0]
    nprobe = (d("lat_backlog", "sent") or [None])[0]
    row("Wait of a new job behind %s queued noop jobs, 2 workers: p50 of %s probes (ms)"
        % (num(bl), num(nprobe)), d("lat_backlog", "latency_ms.p50"), 1, None, None, None,
        "max %s ms; ≈ %s jobs/s drained" % (
            fmt(d("lat_backlog", "latency_ms.max"), 1),
            fmt([bl / (v / 1000.0) if v and bl else None for v in d("lat_backlog", "latency_ms.p50")], 0)))
    n_mem = (d("memory", "n") or [None])[0]
    # exact, from the raw samples (early runs stored a truncated integer)
    bpj = [(r["data"]["after"] - r["data"]["before"]) / r["data"]["n"]
           if isinstance(r.get("data"), dict) and "after" in r["data"] else None
           for r in by.get("memory", [])]
    row("Redis memory per queued job, N=%s noop jobs (bytes)" % num(n_mem),
        bpj, 1, "≤ 160", le(160), None,
        "`MEMORY USAGE` of one job hash: %s B; read right after the last request, before Redis "
        "finished resizing its key table: %s B" % (
            fmt(d("memory", "job_hash_memory_usage"), 0),
            fmt([(r["data"]["after_immediate"] - r["data"]["before"]) / r["data"]["n"]
                 if isinstance(r.get("data"), dict) and "after_immediate" in r["data"] else None
                 for r in by.get("memory", [])], 1)))

    # idle connections: the largest K tried per rep
    conns = by.get("conns", [])
    ks = sorted({r.get("k") for r in conns if r.get("k")}, reverse=True)
    for k in ks:
        sel = lambda r, k=k: r.get("k") == k  # noqa: E731
        held = d("conns", "open_at_sample", sel)
        row("Idle keep-alive connections held by one broker, of K=%s (`hold_conns.py`)" % num(k),
            held, 0, "19,900" if k == 19900 else None, ge(19900) if k == 19900 else None, None,
            "%s of %s runs succeeded" % (sum(1 for r in conns if sel(r) and r.get("ok")),
                                         sum(1 for r in conns if sel(r))))
        row("Broker RSS growth per held connection, K=%s (bytes)" % num(k),
            d("conns", "rss_growth_per_open_conn_B", sel), 0, "≤ 2,048", le(2048), None,
            "peak growth per connection %s B" % fmt(d("conns", "rss_peak_growth_per_succeeded_conn_B", sel), 0))
        fresh = d("conns", "fresh_request_while_held", sel)
        served = [f for f in fresh if isinstance(f, dict) and f.get("served")]
        row("Fresh request served while K=%s are held (s to answer)" % num(k),
            [f.get("secs") for f in served], 4, "served", None, None,
            "served in %d of %d runs" % (len(served), len(fresh)))
    for k in (100, 1000, 10000):
        sel = lambda r, k=k: r.get("k") == k  # noqa: E731
        tgt = {1000: ("≤ 1.2", le(1.2)), 10000: ("≤ 1.5", le(1.5))}.get(k, (None, None))
        row("%s one-second `progress` jobs on ONE worker (--concurrency 10000): first enqueue → "
            "all completed (s)" % num(k), d("progress", "total_secs", sel), 3, tgt[0], tgt[1], None,
            "enqueue (one bulk request) %s s" % fmt(
                [r["enqueue"]["secs"] if isinstance(r.get("enqueue"), dict) else None
                 for r in by.get("progress", []) if sel(r)], 3))
    for t in (1, 2):
        sel = lambda r, t=t: r.get("threads") == t  # noqa: E731
        n = (d("hash", "n", sel) or [None])[0]
        row("`hash` jobs (sha256 of 1,000 × 1,000 bytes), one worker, --threads %d, %s jobs, incl. "
            "boot (jobs/s)" % (t, num(n)), d("hash", "jobs_per_s", sel), 0, None, None, None,
            "steady %s jobs/s" % fmt(d("hash", "steady_jobs_per_s", sel), 0))
    row("Seed endpoint `POST /start-task?duration=1`, 64 connections (requests/s)",
        d("seed_start", "req_per_s"), 0, "≥ 36,500 (5 × 7,300)", ge(36500), L_EV16)
    row("`POST /start-task` p99 at 64 connections (ms)", d("seed_start", "latency_ms.p99"), 2,
        "≤ 5", le(5), None)
    row("Seed endpoint `GET /task-status/1`, 64 connections (requests/s)",
        d("seed_status", "req_per_s"), 0, "≥ 49,000 (5 × 9,800)", ge(49000), L_GET16)
    row("`GET /task-status/1` p99 at 64 connections (ms)", d("seed_status", "latency_ms.p99"), 2,
        "≤ 5", le(5), None)

    versions = open(os.path.join(a.dir, "versions.txt")).read().strip().splitlines()
    lines.append("Measured %s. Each cell is **median (min–max)** over %d rep%s%s." % (
        next((v[6:] for v in versions if v.startswith("date: ")), "?"), reps,
        "s" if reps != 1 else "",
        "" if reps >= 3 else " (**fewer than 3 reps: ranges are not meaningful**)"))
    lines.append("")
    lines.append("```")
    lines.extend(versions)
    lines.append("```")
    lines.append("")
    noise = by.get("noise", [])
    if noise:
        lines.append("Machine noise: CPU used by processes other than this suite's (and its Redis) "
                     "during each rep, in %% of all %s cores: %s; hypervisor steal: %s. About 5 %% is "
                     "normal (interrupt time of the suite's own loopback traffic counts here); "
                     "more means another session was busy during that rep." % (
                         os.cpu_count(), ", ".join("rep %d %.0f %%" % (r["rep"], r["data"]["foreign_pct"]) for r in noise),
                         ", ".join("%.1f %%" % r["data"]["steal_pct"] for r in noise)))
        lines.append("")
    lines.append("| figure | jobq | target | met? | fraction of the Redis limit | notes |")
    lines.append("|---|---|---|---|---|---|")
    lines.extend(table)
    lines.append("")

    # what a connection past the fd limit got (rep 1 only)
    for r in conns:
        ov = r.get("over_limit")
        if not isinstance(ov, dict):
            continue
        lines.append(
            "Past the limit (K=%s held, %s more opened, rep %s): %s got a response %s, failed %s %s; "
            "broker CPU while they waited: %s %% of a core for %s s, logging %s lines "
            "`Error from accept() call: Too many open files` (%s %% once they were closed); "
            "a fresh connection then: %s; after the hold: %s." % (
                num(r.get("k")), num(ov.get("k")), r.get("rep"), num(ov.get("succeeded")),
                json.dumps(ov.get("statuses")), num(ov.get("failed")),
                json.dumps(ov.get("errors")), r.get("broker_cpu_pct_during_over_limit"),
                r.get("over_limit_secs"), num(r.get("accept_error_log_lines")),
                r.get("broker_cpu_pct_after_over_limit_closed"),
                json.dumps(ov.get("fresh_request_while_held")),
                json.dumps(r.get("data", {}).get("fresh_request_after_hold"))))
        lines.append("")

    if rb:
        lines.append("The Redis limit: `redis-benchmark -q -n 200000` (50 clients), requests/s, "
                     "median (min–max), run in the same session as the peers do:")
        lines.append("")
        lines.append("| command | no pipelining | `-P 16` |")
        lines.append("|---|---|---|")
        for name in ["LPUSH", "RPOP", "SET", "GET", "EVALSHA(HSET+LPUSH)"]:
            lines.append("| %s | %s | %s |" % (name, fmt(rb.get((name, 1), [])), fmt(rb.get((name, 16), []))))
        if rb.get(("EVALSHA(HSET+LPUSH)", "c1")):
            lines.append("| EVALSHA(HSET+LPUSH), **one** client (`-c 1 -n 20000`) | %s | — |"
                         % fmt(rb[("EVALSHA(HSET+LPUSH)", "c1")]))
        lines.append("")
    errors = ["%s rep %s" % (r["fig"], r["rep"]) for r in rows
              if r.get("data") is None or (isinstance(r.get("data"), dict) and r["data"].get("done") is False)]
    if errors:
        lines.append("**Failed measurements:** " + ", ".join(errors))
        lines.append("")
    text = "\n".join(lines)
    print(text)

    ptext = None
    if a.peers:
        ptext = peer_ratios(a.peers, d, by)
        print(ptext)
    if a.doc:
        if not a.peers_only:
            update_doc(a.doc, BEGIN, END, text)
        if ptext:
            update_doc(a.doc, PBEGIN, PEND, ptext)


def peer_ratios(pdir, d, by_fig):
    path = os.path.join(pdir, "raw.jsonl")
    if not os.path.exists(path):
        return "The peers' suite left no results in %s.\n" % pdir
    prow = [json.loads(l) for l in open(path) if l.strip()]
    by = collections.defaultdict(lambda: collections.defaultdict(list))
    for r in prow:
        if r.get("error"):
            continue
        b = by[r["peer"]]
        if r["what"] == "single":
            b["single"].append(r["enqueue_jobs_per_s"])
        elif r["what"] == "bulkproc":
            b["bulk"].append(r["enqueue_jobs_per_s"])
            b["proc"].append(r["process_jobs_per_s"])
            b["steady"].append(r["steady_jobs_per_s"])
            b["bytes"].append(r["bytes_per_job"])
        elif r["what"] == "latency" and r.get("spacing_ms", 1.0) == 1.0:
            b["p50"].append(r["lat_p50_ms"])
            b["p99"].append(r["lat_p99_ms"])
    jobq = {
        "single": med(d("enq_single", "req_per_s")),
        "bulk": med(d("enq_bulk", "jobs_per_s")),
        "proc": med(d("proc2_n", "jobs_per_s")),
        "steady": med(d("proc2_n", "steady_jobs_per_s")),
        "p50": med(d("lat_idle", "latency_ms.p50")),
        "p99": med(d("lat_idle", "latency_ms.p99")),
        # the peers' method: read right after the last push (their suite reads at once)
        "bytes": med([(r["data"].get("after_immediate", r["data"]["after"]) - r["data"]["before"])
                      / r["data"]["n"]
                      for r in by_fig.get("memory", []) if isinstance(r.get("data"), dict)]),
    }
    figs = [("single", "enqueue one by one (jobs/s)", 0, True),
            ("bulk", "enqueue bulk, 1,000 per call (jobs/s)", 0, True),
            ("proc", "process, 2 workers, incl. boot, peers' N (jobs/s)", 0, True),
            ("steady", "process, steady (jobs/s)", 0, True),
            ("p50", "latency p50 at 1 ms spacing (ms)", 3, False),
            ("p99", "latency p99 (ms)", 3, False),
            ("bytes", "Redis bytes per queued job (read at once, as the peers are)", 1, False)]
    order = ["bullmq", "rq", "rq-simple", "celery", "celery-prefork", "sidekiq", "beanstalkd"]
    peers = sorted(by, key=lambda p: order.index(p) if p in order else 99)
    out = ["Peers measured in the same run (`%s`; their medians). Each cell: peer value → "
           "**jobq / peer**. Above 1 is better for jobq in the throughput rows; below 1 is "
           "better for jobq in the latency and memory rows." % os.path.relpath(pdir), ""]
    out.append("| figure | jobq | " + " | ".join(peers) + " |")
    out.append("|---|---|" + "---|" * len(peers))
    for key, name, nd, _ in figs:
        cells = []
        for p in peers:
            pv = med(by[p][key])
            jv = jobq[key]
            if pv and jv:
                cells.append("%s → **%.2f**" % (num(pv, nd if nd else 0), jv / pv))
            else:
                cells.append("n/a")
        out.append("| %s | %s | %s |" % (name, num(jobq[key], nd), " | ".join(cells)))
    vf = os.path.join(pdir, "versions.txt")
    if os.path.exists(vf):
        out += ["", "```"] + open(vf).read().strip().splitlines() + ["```"]
    out.append("")
    return "\n".join(out)


def update_doc(path, begin, end, text):
    doc = open(path).read() if os.path.exists(path) else ""
    block = begin + "\n" + text.rstrip() + "\n" + end
    if begin in doc and end in doc:
        pre, rest = doc.split(begin, 1)
        _, post = rest.split(end, 1)
        doc = pre + block + post
    else:
        doc = doc.rstrip() + "\n\n" + block + "\n"
    with open(path, "w") as f:
        f.write(doc)


if __name__ == "__main__":
    sys.exit(main())
