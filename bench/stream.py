#!/usr/bin/python3
"""stream.py: POST jobs to a jobq broker at a steady rate over one keep-alive connection.

  stream.py HOST:PORT --rate 2000 --seconds 30 [--type noop] [--body JSON]

Bounded in count and time: sends at most rate*seconds requests, stops at the
deadline. Prints one JSON line: sent, ok (2xx), errors, elapsed.
"""
import argparse
import http.client
import json
import sys
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("addr")
    ap.add_argument("--rate", type=int, default=2000, help="requests per second (max 50000)")
    ap.add_argument("--seconds", type=float, default=10, help="how long (max 3600)")
    ap.add_argument("--type", default="noop")
    ap.add_argument("--body", default=None, help="raw JSON body (overrides --type)")
    a = ap.parse_args()
    if not (1 <= a.rate <= 50000 and 0 < a.seconds <= 3600):
        ap.error("rate must be 1..50000 and seconds 0..3600")
    host, port = a.addr.rsplit(":", 1)
    if not host.startswith("127.") and host != "localhost":
        ap.error("only loopback addresses")
    body = (a.body or json.dumps({"type": a.type})).encode()
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    sent = ok = errors = 0
    limit = int(a.rate * a.seconds)
    start = time.monotonic()
    deadline = start + a.seconds
    while sent < limit:
        now = time.monotonic()
        if now >= deadline:
            break
        due = start + sent / a.rate
        if due > now:
            time.sleep(due - now)
        try:
            conn.request("POST", "/jobs", body, {"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            if 200 <= r.status < 300:
                ok += 1
            else:
                errors += 1
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
            conn = http.client.HTTPConnection(host, int(port), timeout=10)
        sent += 1
    print(json.dumps({"sent": sent, "ok": ok, "errors": errors,
                      "elapsed": round(time.monotonic() - start, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
