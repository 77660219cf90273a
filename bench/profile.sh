#!/usr/bin/env bash
# bench/profile.sh: where the CPU goes under bench/run.sh's processing and enqueue loads.
#   1. perf (cpu-clock sampling, whole machine, -F 999): which process and which functions
#      take the 2 cores while 2 workers process N_PROC noop jobs, and while 64 connections
#      POST /jobs, and while one connection POSTs /jobs/bulk. perf's hardware counters are not available in this VM (`perf stat -e
#      instructions true` says <not supported>), the cpu-clock software event is.
#   2. valgrind --tool=callgrind (instruction counts, exact but ~50x slower, so smaller N):
#      one worker processing N_CG noop jobs; the broker answering N_CG POST /jobs on 64
#      connections.
# Prints markdown; with WRITE_DOC=1 (default) also writes it into docs/benchmarks.md
# between the profile markers.
#   bench/profile.sh            # ~2 min
#   N_PROC=100000 N_CG=20000 bench/profile.sh
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
N_PROC=${N_PROC:-100000}
N_CG=${N_CG:-20000}
REDIS_PORT=${REDIS_PORT:-6392}
HTTP_PORT=${HTTP_PORT:-8392}
WRITE_DOC=${WRITE_DOC:-1}
OUT=${OUT:-$ROOT/bench/results/profile-$(date +%Y%m%d-%H%M%S)}
BUILD=build-prof
PY=/usr/bin/python3
HTTP=127.0.0.1:$HTTP_PORT
REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
mkdir -p "$OUT/logs"
[ $((N_PROC % 1000)) -eq 0 ] && [ $((N_CG % 1000)) -eq 0 ] || { echo "N_PROC and N_CG: multiples of 1000" >&2; exit 2; }

PIDS=()
stop_pid() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 600; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}
cleanup() { local p; for p in "${PIDS[@]}"; do stop_pid "$p"; done; }
trap cleanup EXIT
trap 'exit 130' INT TERM
for p in "$REDIS_PORT" "$HTTP_PORT"; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "port $p in use" >&2; exit 1; fi
done

# Release optimisation plus symbols and frame pointers, in its own build folder
{ cmake -S . -B $BUILD -DCMAKE_BUILD_TYPE=Release -DJOBQ_TESTS=OFF \
	-DCMAKE_C_FLAGS="-g -fno-omit-frame-pointer" && cmake --build $BUILD -j2; } \
	>"$OUT/logs/build.log" 2>&1 || { tail -20 "$OUT/logs/build.log" >&2; exit 1; }
mkdir -p $BUILD/bench
cc -O2 -Wall -Wextra -Werror -o $BUILD/bench/jqload bench/jqload.c
JQLOAD=$BUILD/bench/jqload
rc() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }

redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no --dir "$OUT" \
	--logfile "$OUT/logs/redis.log" &
PIDS+=($!)
for _ in $(seq 100); do rc ping >/dev/null 2>&1 && break; sleep 0.05; done
$PY -c 'import sys; open(sys.argv[1],"w").write("[" + ",".join([sys.argv[2]]*1000) + "]")' \
	"$OUT/noop1000.json" '{"type":"noop","payload":{"i":1}}'
BROKER_PID=""
start_broker() { # start_broker [wrapper...]
	"$@" $BUILD/broker/jobq-broker --listen "$HTTP" --redis-url "$REDIS_URL" --log-level warn \
		2>>"$OUT/logs/broker.log" &
	BROKER_PID=$!
	PIDS+=("$BROKER_PID")
	for _ in $(seq 600); do
		$JQLOAD throughput -n 1 -d 1 -p /healthz "$HTTP" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "broker did not start" >&2
	exit 1
}
queue_noops() { $JQLOAD throughput -c 1 -n $(($1 / 1000)) -d 120 -X POST -p /jobs/bulk -B "$OUT/noop1000.json" "$HTTP" >/dev/null; }
perf_top() { # perf_top DATA: share per process, then the top functions
	echo '```'
	perf report -i "$1" --no-children --sort comm --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | head -8 || true
	echo
	perf report -i "$1" --no-children --sort comm,dso,sym --stdio --percent-limit 0.7 2>/dev/null |
		grep -v '^#' | grep -v '^$' | head -30 || true
	echo '```'
}
cg_top() { # cg_top OUTFILE: the functions with the most instructions (self, then inclusive)
	echo '```'
	callgrind_annotate "$1" 2>/dev/null | sed -n '/^Ir/,$p' | head -24 || true
	echo '```'
	echo
	echo 'Inclusive (function and everything it calls):'
	echo
	echo '```'
	callgrind_annotate --inclusive=yes "$1" 2>/dev/null | sed -n '/^Ir/,$p' | head -22 || true
	echo '```'
}

md=$OUT/profile.md
{
	echo "Profiled $(date -u '+%Y-%m-%d %H:%M UTC') with \`bench/profile.sh\` (N_PROC=$N_PROC, N_CG=$N_CG), jobq $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- broker worker common 2>/dev/null || echo ' + uncommitted changes'), build \`$BUILD\` (Release + \`-g -fno-omit-frame-pointer\`), $(nproc) cores, $(uname -r)."
	echo
} >"$md"

# ---- 1a. perf: 2 workers processing N_PROC noop jobs --------------------------------------
rc flushall >/dev/null
start_broker
queue_noops "$N_PROC"
perf record -e cpu-clock -F 999 -a -o "$OUT/perf-process.data" >"$OUT/logs/perf1.log" 2>&1 &
PERF=$!
PIDS+=("$PERF")
sleep 0.3
t0=$(date +%s%N)
W=()
for i in 1 2; do
	$BUILD/worker/jobq-worker --redis-url "$REDIS_URL" --log-level warn 2>>"$OUT/logs/worker.log" &
	W+=($!)
	PIDS+=($!)
done
res=$($JQLOAD watch -n "$N_PROC" --t0-ns "$t0" -d 170 "127.0.0.1:$REDIS_PORT" || true)
kill -INT "$PERF"; wait "$PERF" || true
for w in "${W[@]}"; do stop_pid "$w"; done
{
	echo "### perf, whole machine: 2 workers processing $N_PROC queued noop jobs"
	echo
	echo "$res"
	echo
	perf_top "$OUT/perf-process.data"
	echo
} >>"$md"

# ---- 1b. perf: 64 connections POST /jobs -----------------------------------------------
rc flushall >/dev/null
stop_pid "$BROKER_PID"
start_broker
perf record -e cpu-clock -F 999 -a -o "$OUT/perf-enqueue.data" >"$OUT/logs/perf2.log" 2>&1 &
PERF=$!
PIDS+=("$PERF")
sleep 0.3
res=$($JQLOAD throughput -c 64 -n 100000 -d 120 -X POST -p /jobs -b '{"type":"noop","payload":{"i":1}}' "$HTTP" | grep -E 'requests/s|p99' | tr '\n' ' ')
kill -INT "$PERF"; wait "$PERF" || true
{
	echo "### perf, whole machine: 64 connections, 100,000 POST /jobs"
	echo
	echo "$res"
	echo
	perf_top "$OUT/perf-enqueue.data"
	echo
} >>"$md"

# ---- 1c. perf: bulk enqueue, 1,000 jobs per request, one connection ------------------------
rc flushall >/dev/null
stop_pid "$BROKER_PID"
start_broker
perf record -e cpu-clock -F 999 -a -o "$OUT/perf-bulk.data" >"$OUT/logs/perf3.log" 2>&1 &
PERF=$!
PIDS+=("$PERF")
sleep 0.3
res=$($JQLOAD throughput -c 1 -n $((N_PROC / 1000)) -d 120 -X POST -p /jobs/bulk -B "$OUT/noop1000.json" -j 1000 "$HTTP" | grep -E 'jobs/s' | tr '\n' ' ')
kill -INT "$PERF"; wait "$PERF" || true
{
	echo "### perf, whole machine: POST /jobs/bulk, $((N_PROC / 1000)) requests of 1,000 noop jobs, one connection"
	echo
	echo "$res"
	echo
	perf_top "$OUT/perf-bulk.data"
	echo
} >>"$md"

# ---- 2a. callgrind: one worker processing N_CG noop jobs ---------------------------------
rc flushall >/dev/null
stop_pid "$BROKER_PID"
start_broker
queue_noops "$N_CG"
valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.worker" \
	$BUILD/worker/jobq-worker --redis-url "$REDIS_URL" --log-level warn 2>"$OUT/logs/valgrind-worker.log" &
VW=$!
PIDS+=("$VW")
res=$($JQLOAD watch -n "$N_CG" -d 170 "127.0.0.1:$REDIS_PORT" || true)
stop_pid "$VW"
{
	echo "### callgrind: one worker processing $N_CG queued noop jobs (instructions, self)"
	echo
	echo "$res (under valgrind)"
	echo
	cg_top "$OUT/callgrind.worker"
	echo
} >>"$md"

# ---- 2b. callgrind: the broker answering N_CG POST /jobs on 64 connections ----------------
rc flushall >/dev/null
stop_pid "$BROKER_PID"
start_broker valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.broker"
res=$($JQLOAD throughput -c 64 -n "$N_CG" -d 170 -X POST -p /jobs -b '{"type":"noop","payload":{"i":1}}' "$HTTP" | grep -E 'requests/s' || true)
stop_pid "$BROKER_PID"
{
	echo "### callgrind: the broker answering $N_CG POST /jobs on 64 connections (instructions, self)"
	echo
	echo "$res (under valgrind)"
	echo
	cg_top "$OUT/callgrind.broker"
} >>"$md"

cat "$md"
if [ "$WRITE_DOC" = 1 ]; then
	$PY -c 'import sys; sys.path.insert(0, "bench"); import summarize; summarize.update_doc(sys.argv[1], "<!-- BEGIN bench/profile.sh -->", "<!-- END bench/profile.sh -->", open(sys.argv[2]).read())' \
		docs/benchmarks.md "$md"
fi
echo "profile data in $OUT" >&2
