#!/usr/bin/env bash
# bench/replicas.sh: what --min-replicas-ack costs. A primary and one replica on loopback
# (a private redis-server pair); per rep, alternating 0 and 1 in the same run so that the
# machine's load falls on both alike:
#   - the broker answering N POST /jobs on 64 connections (jobq-broker --min-replicas-ack X);
#   - the broker storing N jobs as POST /jobs/bulk of 1,000;
#   - one worker (--min-replicas-ack X) processing N queued noop jobs (jqload watch).
# Prints a markdown table: median (min-max) per setting and the ratio of the medians.
#   bench/replicas.sh              REPS=3, N=20000 (~2 min on 2 cores)
#   REPS=5 N=50000 bench/replicas.sh
# Knobs: REPS, N (a multiple of 1000), REDIS_PORT (6395; the replica +1), HTTP_PORT (8395),
# OUT (bench/results/replicas-<date>), BUILD (build-release).
# Every process it starts is stopped by its PID on exit; every load is bounded in count
# and time.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
case ${1:-} in -h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
REPS=${REPS:-3}
N=${N:-20000}
REDIS_PORT=${REDIS_PORT:-6395}
REPLICA_PORT=$((REDIS_PORT + 1))
HTTP_PORT=${HTTP_PORT:-8395}
OUT=${OUT:-$ROOT/bench/results/replicas-$(date +%Y%m%d-%H%M%S)}
BUILD=${BUILD:-build-release}
PY=/usr/bin/python3
HTTP=127.0.0.1:$HTTP_PORT
REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
[ $((N % 1000)) -eq 0 ] || { echo "N: a multiple of 1000" >&2; exit 2; }
mkdir -p "$OUT/logs" "$OUT/primary" "$OUT/replica"

PIDS=()
stop_pid() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 600; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}
cleanup() {
	local p
	for p in "${PIDS[@]}"; do stop_pid "$p"; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM
for p in "$REDIS_PORT" "$REPLICA_PORT" "$HTTP_PORT"; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "port $p in use" >&2; exit 1; fi
done

{ cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DJOBQ_TESTS=OFF &&
	cmake --build "$BUILD" -j2 --target jobq-broker jobq-worker; } >"$OUT/logs/build.log" 2>&1 ||
	{ tail -20 "$OUT/logs/build.log" >&2; exit 1; }
BROKER=$BUILD/broker/jobq-broker
WORKER=$BUILD/worker/jobq-worker
JQLOAD=$OUT/jqload
cc -O2 -Wall -Wextra -Werror -o "$JQLOAD" bench/jqload.c

rc() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
	--dir "$OUT/primary" --logfile "$OUT/logs/primary.log" --repl-diskless-sync-delay 0 &
PIDS+=($!)
for _ in $(seq 100); do rc ping >/dev/null 2>&1 && break; sleep 0.05; done
redis-server --bind 127.0.0.1 --port "$REPLICA_PORT" --save '' --appendonly no \
	--dir "$OUT/replica" --logfile "$OUT/logs/replica.log" \
	--replicaof 127.0.0.1 "$REDIS_PORT" &
PIDS+=($!)
for _ in $(seq 200); do
	redis-cli -p "$REPLICA_PORT" info replication 2>/dev/null | grep -q "master_link_status:up" && break
	sleep 0.05
done
redis-cli -p "$REPLICA_PORT" info replication | grep -q 'master_link_status:up' ||
	{ echo "the replica did not sync" >&2; exit 1; }
$PY -c 'import sys; open(sys.argv[1],"w").write("[" + ",".join([sys.argv[2]]*1000) + "]")' \
	"$OUT/noop1000.json" '{"type":"noop","payload":{"i":1}}'

BROKER_PID=""
start_broker() { # start_broker ACK
	"$BROKER" --listen "$HTTP" --redis-url "$REDIS_URL" --no-auth --log-level warn \
		--min-replicas-ack "$1" --replica-ack-timeout-ms 1000 2>>"$OUT/logs/broker.log" &
	BROKER_PID=$!
	PIDS+=("$BROKER_PID")
	for _ in $(seq 600); do
		"$JQLOAD" throughput -n 1 -d 1 -p /healthz "$HTTP" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "broker did not start" >&2
	exit 1
}
# the value of key in the one JSON object of file
field() { $PY -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
all_2xx() { # all_2xx FILE: every request answered 2xx
	[ "$(field "$1" ok_2xx)" = "$(field "$1" requested)" ] ||
		{ echo "not every request got a 2xx: $(cat "$1")" >&2; exit 1; }
}

: >"$OUT/samples.tsv" # workload ack value
for ((rep = 1; rep <= REPS; rep++)); do
	for ack in 0 1; do
		rc flushall >/dev/null
		start_broker "$ack"
		"$JQLOAD" throughput --json -c 64 -n "$N" -d 300 -X POST -p /jobs \
			-b '{"type":"noop","payload":{"i":1}}' "$HTTP" >"$OUT/post-$rep-$ack.json" || true
		all_2xx "$OUT/post-$rep-$ack.json"
		printf 'post\t%s\t%s\n' "$ack" "$(field "$OUT/post-$rep-$ack.json" req_per_s)" >>"$OUT/samples.tsv"
		rc flushall >/dev/null
		"$JQLOAD" throughput --json -c 1 -n $((N / 1000)) -d 300 -X POST -p /jobs/bulk -j 1000 \
			-B "$OUT/noop1000.json" "$HTTP" >"$OUT/bulk-$rep-$ack.json" || true
		all_2xx "$OUT/bulk-$rep-$ack.json"
		printf 'bulk\t%s\t%s\n' "$ack" "$(field "$OUT/bulk-$rep-$ack.json" jobs_per_s)" >>"$OUT/samples.tsv"
		# the jobs just stored, processed by one worker with the same setting
		t0=$(date +%s%N)
		"$WORKER" --redis-url "$REDIS_URL" --log-level warn --min-replicas-ack "$ack" \
			--replica-ack-timeout-ms 500 2>>"$OUT/logs/worker.log" &
		WPID=$!
		PIDS+=("$WPID")
		"$JQLOAD" watch --json -n "$N" --t0-ns "$t0" -d 300 "127.0.0.1:$REDIS_PORT" \
			>"$OUT/worker-$rep-$ack.json" || { echo "the worker did not finish" >&2; exit 1; }
		stop_pid "$WPID"
		printf 'worker\t%s\t%s\n' "$ack" \
			"$(field "$OUT/worker-$rep-$ack.json" steady_from_first_completion_jobs_per_s)" >>"$OUT/samples.tsv"
		stop_pid "$BROKER_PID"
	done
done

{
	echo "\`bench/replicas.sh\` at $(date -u '+%Y-%m-%d %H:%M UTC'), $(git rev-parse --short HEAD), REPS=$REPS, N=$N;"
	echo "a primary and one replica on loopback, 0 and 1 alternating in one run; $(nproc) cores, shared."
	echo
	$PY - "$OUT/samples.tsv" "$N" <<'PYEOF'
import statistics, sys
rows = [l.split("\t") for l in open(sys.argv[1]).read().split("\n") if l]
n = int(sys.argv[2])
names = {"post": "broker: POST /jobs, 64 connections (requests/s)",
         "bulk": "broker: POST /jobs/bulk of 1,000 (jobs/s)",
         "worker": "1 worker, %d noop jobs (jobs/s)" % n}
print("| workload | `--min-replicas-ack 0` | `--min-replicas-ack 1` | 1 / 0 (medians) |")
print("| --- | ---: | ---: | ---: |")
for w in ("post", "bulk", "worker"):
    v = {a: [float(r[2]) for r in rows if r[0] == w and r[1] == a] for a in ("0", "1")}
    med = {a: statistics.median(v[a]) for a in v}
    cell = lambda a: "%.0f (%.0f-%.0f)" % (med[a], min(v[a]), max(v[a]))
    print("| %s | %s | %s | %.2f |" % (names[w], cell("0"), cell("1"), med["1"] / med["0"]))
PYEOF
} | tee "$OUT/replicas.md"
