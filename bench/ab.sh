#!/usr/bin/env bash
# bench/ab.sh: an A/B of two commits by instruction counts (valgrind --tool=callgrind), which
# do not move with the load of a shared machine the way seconds do, and Redis' own time per
# script call (INFO commandstats), taken in the same run for both.
#   bench/ab.sh REV_A REV_B        e.g. bench/ab.sh a4f3075 HEAD
#   N=20000 bench/ab.sh ...        jobs per measurement (a multiple of 1000)
# For each commit (built Release in a worktree of its own under $OUT): one worker processing
# N queued noop jobs, the broker answering N POST /jobs on 64 connections, and the broker
# storing N jobs as POST /jobs/bulk of 1,000. Prints a markdown table: instructions per job
# for A and B and their ratio, and Redis' microseconds per EVALSHA in each workload.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
[ $# -eq 2 ] || { sed -n '2,10p' "$0" >&2; exit 2; }
N=${N:-20000}
REDIS_PORT=${REDIS_PORT:-6393}
HTTP_PORT=${HTTP_PORT:-8393}
OUT=${OUT:-$ROOT/bench/results/ab-$(date +%Y%m%d-%H%M%S)}
PY=/usr/bin/python3
HTTP=127.0.0.1:$HTTP_PORT
REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
[ $((N % 1000)) -eq 0 ] || { echo "N: a multiple of 1000" >&2; exit 2; }
mkdir -p "$OUT/logs"

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
	for side in a b; do git -C "$ROOT" worktree remove --force "$OUT/src-$side" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM
for p in "$REDIS_PORT" "$HTTP_PORT"; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "port $p in use" >&2; exit 1; fi
done

build() { # build SIDE REV: a Release build of REV in $OUT/src-SIDE
	local side=$1 rev=$2 src=$OUT/src-$1
	git -C "$ROOT" worktree add --detach "$src" "$rev" >"$OUT/logs/worktree-$side.log" 2>&1
	{ cmake -S "$src" -B "$src/build" -DCMAKE_BUILD_TYPE=Release -DJOBQ_TESTS=OFF &&
		cmake --build "$src/build" -j2; } >"$OUT/logs/build-$side.log" 2>&1 ||
		{ tail -20 "$OUT/logs/build-$side.log" >&2; exit 1; }
}
build a "$1"
build b "$2"
JQLOAD=$OUT/jqload
cc -O2 -Wall -Wextra -Werror -o "$JQLOAD" bench/jqload.c
rc() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no --dir "$OUT" \
	--logfile "$OUT/logs/redis.log" &
PIDS+=($!)
for _ in $(seq 100); do rc ping >/dev/null 2>&1 && break; sleep 0.05; done
$PY -c 'import sys; open(sys.argv[1],"w").write("[" + ",".join([sys.argv[2]]*1000) + "]")' \
	"$OUT/noop1000.json" '{"type":"noop","payload":{"i":1}}'

BROKER_PID=""
start_broker() { # start_broker SIDE [wrapper...]
	local side=$1
	shift
	"$@" "$OUT/src-$side/build/broker/jobq-broker" --listen "$HTTP" --redis-url "$REDIS_URL" \
		--log-level warn 2>>"$OUT/logs/broker-$side.log" &
	BROKER_PID=$!
	PIDS+=("$BROKER_PID")
	for _ in $(seq 600); do
		"$JQLOAD" throughput -n 1 -d 1 -p /healthz "$HTTP" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "broker did not start" >&2
	exit 1
}
# total instructions of a callgrind output file
instr() { { callgrind_annotate "$1" 2>/dev/null || true; } | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}'; }
# Redis' microseconds per EVALSHA since the last CONFIG RESETSTAT
evalsha_us() { rc info commandstats | sed -nE 's/^cmdstat_evalsha:.*usec_per_call=([0-9.]+).*/\1/p'; }
fresh() { rc flushall >/dev/null; rc config resetstat >/dev/null; }

declare -A R
for side in a b; do
	# the worker processing N queued jobs
	fresh
	start_broker $side
	"$JQLOAD" throughput -c 1 -n $((N / 1000)) -d 120 -X POST -p /jobs/bulk -B "$OUT/noop1000.json" "$HTTP" >/dev/null
	rc config resetstat >/dev/null
	valgrind --tool=callgrind --callgrind-out-file="$OUT/cg.worker.$side" \
		"$OUT/src-$side/build/worker/jobq-worker" --redis-url "$REDIS_URL" --log-level warn \
		2>"$OUT/logs/valgrind-worker-$side.log" &
	VW=$!
	PIDS+=("$VW")
	"$JQLOAD" watch -n "$N" -d 300 "127.0.0.1:$REDIS_PORT" >/dev/null || true
	R[worker_redis_$side]=$(evalsha_us)
	stop_pid "$VW"
	stop_pid "$BROKER_PID"
	R[worker_$side]=$(instr "$OUT/cg.worker.$side")
	# the broker answering N POST /jobs, 64 connections
	fresh
	start_broker $side valgrind --tool=callgrind --callgrind-out-file="$OUT/cg.post.$side"
	"$JQLOAD" throughput -c 64 -n "$N" -d 300 -X POST -p /jobs -b '{"type":"noop","payload":{"i":1}}' "$HTTP" >/dev/null
	R[post_redis_$side]=$(evalsha_us)
	stop_pid "$BROKER_PID"
	R[post_$side]=$(instr "$OUT/cg.post.$side")
	# the broker storing N jobs in bulk requests of 1,000
	fresh
	start_broker $side valgrind --tool=callgrind --callgrind-out-file="$OUT/cg.bulk.$side"
	"$JQLOAD" throughput -c 1 -n $((N / 1000)) -d 300 -X POST -p /jobs/bulk -B "$OUT/noop1000.json" "$HTTP" >/dev/null
	R[bulk_redis_$side]=$(evalsha_us)
	stop_pid "$BROKER_PID"
	R[bulk_$side]=$(instr "$OUT/cg.bulk.$side")
done

{
	echo "A/B by \`bench/ab.sh $1 $2\` at $(date -u '+%Y-%m-%d %H:%M UTC'), N=$N: A = $(git rev-parse --short "$1"), B = $(git rev-parse --short "$2")."
	echo "Instructions per job of the whole process under callgrind (start-up included), and"
	echo "Redis' µs per EVALSHA call (INFO commandstats) in the same workload."
	echo
	echo "| workload | A instr/job | B instr/job | B/A | A Redis µs/call | B Redis µs/call |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: |"
	for w in worker post bulk; do
		case $w in
		worker) name="1 worker processes $N noop jobs" ;;
		post) name="broker: $N POST /jobs, 64 connections" ;;
		bulk) name="broker: $N jobs as POST /jobs/bulk of 1,000" ;;
		esac
		$PY - "$name" "${R[${w}_a]}" "${R[${w}_b]}" "${R[${w}_redis_a]:-?}" "${R[${w}_redis_b]:-?}" "$N" <<'PYEOF'
import sys
name, a, b, ra, rb, n = sys.argv[1:]
a, b, n = int(a), int(b), int(n)
print("| %s | %.0f | %.0f | %.3f | %s | %s |" % (name, a / n, b / n, b / a, ra, rb))
PYEOF
	done
} | tee "$OUT/ab.md"
