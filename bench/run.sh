#!/usr/bin/env bash
# bench/run.sh: jobq's benchmark suite. Builds Release and bench/jqload, starts a private
# redis-server, then per measurement a fresh broker and the workers it needs, and prints
# a markdown table (median (min-max) over REPS runs) that it also writes into
# docs/benchmarks.md between the result markers. Methodology follows the peers' suite
# (../shared/bench-peers/run.sh) so that the ratios are fair; docs/benchmarks.md says
# what every figure is.
#
#   bench/run.sh                 # every figure, REPS=3 (~5 min on 2 cores)
#   bench/run.sh --peers         # also bash ../shared/bench-peers/run.sh (~15 min more)
#                                # and a table of jobq/peer ratios
#   REPS=1 FIGS="enqueue latency" bench/run.sh
#   N=5000 REPS=1 PEERS="sidekiq bullmq" bench/run.sh --peers
#
# Knobs (environment): REPS (3), N (20000: the peers' N; jobs for "enqueue one by one",
# memory and "process at N"), N_PROC (100000), N_CONC (100000 requests at 64 connections),
# N_SEED (100000), M (1000 latency samples), BACKLOG (10000), BACKLOG_PROBES (20),
# CONNS_K (19900), HASH_N (5000), FIGS (redis enqueue seed process latency memory conns
# progress hash), REDIS_PORT (6391), HTTP_PORT (8391), OUT (bench/results/<date>),
# WRITE_DOC (1: both blocks of docs/benchmarks.md; peers: only the ratios; 0: none),
# PEERS / PEERS_RUN (path of the peers' run.sh).
# Every process it starts is stopped by PID on exit; every load is bounded in count and time.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

KNOBS="REPS N N_PROC N_CONC N_SEED M BACKLOG BACKLOG_PROBES CONNS_K HASH_N FIGS REDIS_PORT HTTP_PORT OUT WRITE_DOC PEERS PEERS_RUN"
CMDLINE=""
for v in $KNOBS; do
	if [ -n "${!v+x}" ]; then CMDLINE+="$v=$(printf '%q' "${!v}") "; fi
done
CMDLINE+="bench/run.sh${*:+ $*}"

WITH_PEERS=0
for arg in "$@"; do
	case $arg in
	--peers) WITH_PEERS=1 ;;
	-h | --help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench/run.sh: unknown argument '$arg' (see --help)" >&2; exit 2 ;;
	esac
done

REPS=${REPS:-3}
N=${N:-20000}
N_PROC=${N_PROC:-100000}
N_CONC=${N_CONC:-100000}
N_SEED=${N_SEED:-100000}
M=${M:-1000}
BACKLOG=${BACKLOG:-10000}
BACKLOG_PROBES=${BACKLOG_PROBES:-20}
CONNS_K=${CONNS_K:-19900}
HASH_N=${HASH_N:-5000}
FIGS=${FIGS:-"redis enqueue seed process latency memory conns progress hash"}
REDIS_PORT=${REDIS_PORT:-6391}
HTTP_PORT=${HTTP_PORT:-8391}
OUT=${OUT:-$ROOT/bench/results/$(date +%Y%m%d-%H%M%S)}
WRITE_DOC=${WRITE_DOC:-1}
PEERS_RUN=${PEERS_RUN:-$ROOT/../shared/bench-peers/run.sh}
PY=/usr/bin/python3
BUILD=build-release
JQLOAD=$BUILD/bench/jqload
HOLD_CONNS=${HOLD_CONNS:-$ROOT/../shared/tools/hold_conns.py}
REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
HTTP=127.0.0.1:$HTTP_PORT

for v in REPS N N_PROC N_CONC N_SEED M BACKLOG BACKLOG_PROBES CONNS_K HASH_N; do
	[[ ${!v} =~ ^[0-9]+$ ]] && [ "${!v}" -ge 1 ] || { echo "$v must be a positive integer" >&2; exit 2; }
done
[ $((N % 1000)) -eq 0 ] && [ $((N_PROC % 1000)) -eq 0 ] ||
	{ echo "N and N_PROC must be multiples of 1000 (bulk requests of 1000 jobs)" >&2; exit 2; }
[ "$HASH_N" -ge 100 ] && [ $((HASH_N % 100)) -eq 0 ] || { echo "HASH_N must be a multiple of 100" >&2; exit 2; }
[ "$BACKLOG" -le 10000 ] || { echo "BACKLOG is at most 10000 (one bulk request)" >&2; exit 2; }

mkdir -p "$OUT/logs" "$OUT/bodies"
RAW=$OUT/raw.jsonl
: >"$RAW"
want() { [[ " $FIGS " == *" $1 "* ]]; }
log() { printf '>> %s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ---- processes: started here, stopped by PID --------------------------------------------
PIDS=()
REDIS_PID="" BROKER_PID="" BROKER_PIDS=() WORKER_PIDS=()
stop_pid() { # stop_pid PID [grace_s]: SIGTERM, then SIGKILL after the grace
	local pid=$1 grace=${2:-10} i
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < grace * 20; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}
cleanup() {
	local p
	for p in "${PIDS[@]}"; do stop_pid "$p" 3; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for p in "$REDIS_PORT" "$HTTP_PORT"; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
		echo "port $p is already in use on 127.0.0.1; set REDIS_PORT/HTTP_PORT" >&2
		exit 1
	fi
done

# ---- build -----------------------------------------------------------------------------
log "building Release into $BUILD (log: $OUT/logs/build.log)"
{ cmake -S . -B $BUILD -DCMAKE_BUILD_TYPE=Release -DJOBQ_TESTS=OFF &&
	cmake --build $BUILD -j2; } >"$OUT/logs/build.log" 2>&1 ||
	{ tail -20 "$OUT/logs/build.log" >&2; exit 1; }
mkdir -p $BUILD/bench
cc -O2 -Wall -Wextra -Werror -o $JQLOAD bench/jqload.c

# ---- helpers ---------------------------------------------------------------------------
rc() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }
flush() { rc flushall >/dev/null; }
record() { # record FIG REP JSON [extra JSON fields]; a failed tool's empty output is null
	printf '{"fig":"%s","rep":%s,%s"data":%s}\n' "$1" "$2" "${4:+$4,}" "${3:-null}" >>"$RAW"
}

start_redis() {
	redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
		--daemonize no --dir "$OUT" --logfile "$OUT/logs/redis-server.log" &
	REDIS_PID=$!
	PIDS+=("$REDIS_PID")
	local i
	for i in $(seq 100); do rc ping >/dev/null 2>&1 && return 0; sleep 0.05; done
	echo "redis-server did not start, see $OUT/logs/redis-server.log" >&2
	exit 1
}

start_broker() { # start_broker [COUNT]: fresh brokers (their id blocks start from the
	# current, flushed, Redis); COUNT > 1 shares the port with --reuse-port
	stop_broker
	local k=${1:-1} j reuse=()
	((k > 1)) && reuse=(--reuse-port)
	for ((j = 0; j < k; j++)); do
		build-release/broker/jobq-broker --listen "$HTTP" --redis-url "$REDIS_URL" \
			--log-level warn "${reuse[@]}" 2>>"$OUT/logs/broker.log" &
		BROKER_PIDS+=("$!")
		PIDS+=("$!")
	done
	BROKER_PID=${BROKER_PIDS[0]} # the one the connection figures watch
	local i
	for i in $(seq 200); do
		$JQLOAD throughput -n 1 -d 1 -p /healthz "$HTTP" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "the broker did not become healthy, see $OUT/logs/broker.log" >&2
	exit 1
}
stop_broker() {
	local p
	for p in "${BROKER_PIDS[@]}"; do stop_pid "$p"; done
	BROKER_PIDS=() BROKER_PID=""
}

start_workers() { # start_workers COUNT [worker flags...]
	local k=$1 i
	shift
	for ((i = 0; i < k; i++)); do
		build-release/worker/jobq-worker --redis-url "$REDIS_URL" --log-level warn "$@" \
			2>>"$OUT/logs/worker.log" &
		WORKER_PIDS+=("$!")
		PIDS+=("$!")
	done
}
stop_workers() {
	local p
	for p in "${WORKER_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${WORKER_PIDS[@]}"; do stop_pid "$p" 15; done
	WORKER_PIDS=()
}
wait_workers_idle() { # until every worker has registered (its first heartbeat) or 5 s
	local want=$1 i
	for i in $(seq 100); do
		[ "$(rc zcard jobq:workers)" -ge "$want" ] && return 0
		sleep 0.05
	done
	echo "only $(rc zcard jobq:workers) of $want workers registered" >&2
}

# Noise: CPU the rest of the machine used during a rep = all busy time (/proc/stat) minus what
# this script's children used (bash `times`, for children already waited for) minus redis-server.
HZ=$(getconf CLK_TCK)
cpu_busy() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8; exit}' /proc/stat; } # user nice system irq softirq
cpu_steal() { awk '/^cpu /{print $9; exit}' /proc/stat; }
own_ticks() { # sets OWN: this shell's and its waited-for children's CPU, in ticks
	times >"$OUT/.times" # not in $(...): a subshell would report its own times
	OWN=$(awk -v hz="$HZ" '{for (i = 1; i <= 2; i++) {split($i, a, "m"); sub("s", "", a[2]); s += a[1] * 60 + a[2]}} END {printf "%d", s * hz}' "$OUT/.times")
}
noise_start() { own_ticks; N0_OWN=$OWN; N0_BUSY=$(cpu_busy); N0_STEAL=$(cpu_steal); N0_REDIS=$(cpu_ticks "$REDIS_PID"); N0_WALL=$(date +%s%N); }
noise_end() { # noise_end REP
	local busy steal own redis wall
	busy=$(($(cpu_busy) - N0_BUSY)); steal=$(($(cpu_steal) - N0_STEAL)); own_ticks; own=$((OWN - N0_OWN))
	redis=$(($(cpu_ticks "$REDIS_PID") - N0_REDIS)); wall=$(($(date +%s%N) - N0_WALL))
	record noise "$1" "$(awk -v b=$busy -v s=$steal -v o=$own -v r=$redis -v w=$wall -v hz="$HZ" -v n="$(nproc)" \
		'BEGIN{t = w / 1e9 * hz * n; f = (b - o - r) / t * 100; if (f < 0) f = 0; printf "{\"wall_s\":%.1f,\"busy_pct\":%.1f,\"foreign_pct\":%.1f,\"steal_pct\":%.1f,\"ticks\":{\"busy\":%d,\"own\":%d,\"redis\":%d}}", w / 1e9, b / t * 100, f, s / t * 100, b, o, r}')"
}

used_memory() { rc info memory | awk -F: '/^used_memory:/{print $2}' | tr -d '\r'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# request bodies
mk_bulk() { # mk_bulk FILE COUNT JOB_JSON
	$PY -c 'import sys; n=int(sys.argv[2]); open(sys.argv[1],"w").write("[" + ",".join([sys.argv[3]]*n) + "]")' "$1" "$2" "$3"
}
NOOP='{"type":"noop","payload":{"i":1}}'
mk_bulk "$OUT/bodies/noop1000.json" 1000 "$NOOP"
# POST /batches: the same 1,000 jobs as one batch with a callback job
$PY -c 'import sys; open(sys.argv[1], "w").write("{\"jobs\":" + open(sys.argv[2]).read() + ",\"callback\":{\"type\":\"noop\"}}")' \
	"$OUT/bodies/batch1000.json" "$OUT/bodies/noop1000.json"
for k in 100 1000 10000; do
	mk_bulk "$OUT/bodies/progress$k.json" $k '{"type":"progress","payload":{"duration":1}}'
done
HASH_DATA=$($PY -c 'print("x" * 1000)')
mk_bulk "$OUT/bodies/hash100.json" 100 "{\"type\":\"hash\",\"payload\":{\"data\":\"$HASH_DATA\",\"repeat\":1000}}"

bulk_enqueue() { # bulk_enqueue JOBS (multiple of 1000) -> jqload JSON on stdout
	$JQLOAD throughput -c 1 -n $(($1 / 1000)) -d 120 -X POST -p /jobs/bulk \
		-B "$OUT/bodies/noop1000.json" -j 1000 --json "$HTTP"
}

# processing: N noop jobs queued with /jobs/bulk, then WORKERS processes started and timed
process_run() { # process_run FIG REP JOBS WORKERS
	local fig=$1 rep=$2 n=$3 k=$4 enq t0 res
	flush
	start_broker
	enq=$(bulk_enqueue "$n")
	record enq_bulk "$rep" "$enq" "\"jobs\":$n"
	[ "$(rc llen jobq:q:default)" -eq "$n" ] || { echo "$fig: expected $n queued" >&2; return 1; }
	t0=$(date +%s%N)
	start_workers "$k"
	res=$($JQLOAD watch -n "$n" --t0-ns "$t0" -d 170 --json "127.0.0.1:$REDIS_PORT") || true
	stop_workers
	record "$fig" "$rep" "$res" "\"jobs\":$n,\"workers\":$k"
	log "  $fig: $res"
}

# ---- the run ---------------------------------------------------------------------------
start_redis
{
	echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "command: $CMDLINE"
	echo "host: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -s) $(uname -r), Debian $(cat /etc/debian_version 2>/dev/null || echo '?')"
	echo "redis: $(redis-server --version | sed 's/ sha=[^ ]*//; s/ build=.*//')"
	echo "jobq: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD -- broker worker common 2>/dev/null || echo ' (+ uncommitted changes in broker/worker/common)'), $($BUILD/broker/jobq-broker --version)"
	echo "cc: $(cc --version | head -1)"
	echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$OUT/versions.txt"

LUA="redis.call('HSET', KEYS[1], 'payload', ARGV[1]); return redis.call('LPUSH', KEYS[2], KEYS[1])"
: >"$OUT/redis-benchmark.txt"
for rep in $(seq "$REPS"); do
	log "rep $rep/$REPS"
	noise_start
	stop_broker
	stop_workers

	# h. the physical limit of this redis-server, exactly as the peers' suite measures it
	if want redis; then
		log "redis-benchmark"
		SHA=$(rc script load "$LUA")
		for P in 1 16; do
			flush
			echo "## rep=$rep P=$P -t lpush,rpop,set,get" >>"$OUT/redis-benchmark.txt"
			redis-benchmark -h 127.0.0.1 -p "$REDIS_PORT" -q -n 200000 -P "$P" -t lpush,rpop,set,get \
				2>&1 | tr '\r' '\n' | grep 'requests per second' >>"$OUT/redis-benchmark.txt"
			flush
			echo "## rep=$rep P=$P evalsha(HSET+LPUSH)" >>"$OUT/redis-benchmark.txt"
			redis-benchmark -h 127.0.0.1 -p "$REDIS_PORT" -q -n 200000 -P "$P" -r 1000000 \
				evalsha "$SHA" 2 'job:__rand_int__' 'q:bench' 'payload-xxxxxxxxxxxxxxxxxxxx' \
				2>&1 | tr '\r' '\n' | grep 'requests per second' |
				sed 's/^/EVALSHA_HSET_LPUSH /' >>"$OUT/redis-benchmark.txt"
		done
		# and what ONE client doing one call at a time gets (the bound of "enqueue one by one")
		flush
		echo "## rep=$rep P=1 c=1 evalsha(HSET+LPUSH)" >>"$OUT/redis-benchmark.txt"
		redis-benchmark -h 127.0.0.1 -p "$REDIS_PORT" -q -c 1 -n 20000 -r 1000000 \
			evalsha "$SHA" 2 'job:__rand_int__' 'q:bench' 'payload-xxxxxxxxxxxxxxxxxxxx' \
			2>&1 | tr '\r' '\n' | grep 'requests per second' |
			sed 's/^/EVALSHA_HSET_LPUSH /' >>"$OUT/redis-benchmark.txt"
		flush
	fi

	# a. enqueue over HTTP
	if want enqueue; then
		log "enqueue: one connection, one request at a time, N=$N"
		flush
		start_broker
		res=$($JQLOAD throughput -c 1 -n "$N" -d 120 -X POST -p /jobs -b "$NOOP" --json "$HTTP") || true
		record enq_single "$rep" "$res"
		log "  $res"
		log "enqueue: 64 keep-alive connections, $N_CONC requests"
		flush
		start_broker
		res=$($JQLOAD throughput -c 64 -n "$N_CONC" -d 120 -X POST -p /jobs -b "$NOOP" --json "$HTTP") || true
		record enq_c64 "$rep" "$res"
		log "  $res"
		log "enqueue: 64 keep-alive connections over 2 brokers on one port (--reuse-port)"
		flush
		start_broker 2
		res=$($JQLOAD throughput -c 64 -n "$N_CONC" -d 120 -X POST -p /jobs -b "$NOOP" --json "$HTTP") || true
		record enq_c64_b2 "$rep" "$res"
		log "  $res"
		log "enqueue: POST /batches of 1,000 jobs with a callback, 1 connection, N=$N"
		flush
		start_broker
		res=$($JQLOAD throughput -c 1 -n $((N / 1000)) -d 120 -X POST -p /batches \
			-B "$OUT/bodies/batch1000.json" -j 1000 --json "$HTTP") || true
		record enq_batch "$rep" "$res"
		log "  $res"
	fi

	# seed endpoints, 64 connections (no workers: the jobs just queue up)
	if want seed; then
		log "seed endpoints: POST /start-task, GET /task-status/1, 64 connections, $N_SEED each"
		flush
		start_broker
		res=$($JQLOAD throughput -c 64 -n "$N_SEED" -d 120 -X POST -p '/start-task?duration=1' --json "$HTTP") || true
		record seed_start "$rep" "$res"
		log "  $res"
		res=$($JQLOAD throughput -c 64 -n "$N_SEED" -d 120 -X GET -p /task-status/1 --json "$HTTP") || true
		record seed_status "$rep" "$res"
		log "  $res"
	fi

	# b. processing throughput (and a. bulk enqueue, which queues the jobs)
	if want process; then
		log "process: $N_PROC noop jobs, 1 worker"
		process_run proc1 "$rep" "$N_PROC" 1
		log "process: $N_PROC noop jobs, 2 workers"
		process_run proc2 "$rep" "$N_PROC" 2
		log "process: $N noop jobs (the peers' N), 2 workers"
		process_run proc2_n "$rep" "$N" 2
	fi

	# c. enqueue-to-start latency, 2 workers
	if want latency; then
		flush
		start_broker
		start_workers 2
		wait_workers_idle 2
		log "latency: $M samples at 1 ms spacing, idle"
		res=$($JQLOAD latency -m "$M" --spacing-us 1000 --redis "127.0.0.1:$REDIS_PORT" -d 120 --json "$HTTP") || true
		record lat_idle "$rep" "$res"
		log "  $res"
		log "latency: $BACKLOG_PROBES probes, each behind $BACKLOG queued noop jobs"
		res=$($JQLOAD latency -m "$BACKLOG_PROBES" --backlog "$BACKLOG" --redis "127.0.0.1:$REDIS_PORT" -d 150 --json "$HTTP") || true
		record lat_backlog "$rep" "$res"
		log "  $res"
		stop_workers
	fi

	# d. Redis memory per queued job (the peers' method)
	if want memory; then
		log "memory: $N noop jobs queued with /jobs/bulk"
		flush
		start_broker
		m0=$(used_memory)
		enq=$(bulk_enqueue "$N")
		m1_now=$(used_memory)
		# Read again once Redis has finished growing its key table: past 16,384 keys it
		# rehashes into a table twice the size step by step, keeping both until done (one
		# step per key lookup, plus 1 ms every 100 ms in serverCron). Right after the
		# last request the old table may still be there: ~131 KB (6.6 B per job at N =
		# 20,000) that is freed within 0.1 s. Both readings are recorded.
		sleep 1
		m1=$(used_memory)
		q=$(rc llen jobq:q:default)
		hash_bytes=$(rc memory usage 'jobq:{1}:job:1' samples 0)
		bpj=$(awk -v a="$m1" -v b="$m0" -v n="$N" 'BEGIN{printf "%.2f", (a - b) / n}')
		record memory "$rep" "{\"n\":$N,\"queued\":$q,\"before\":$m0,\"after\":$m1,\"after_immediate\":$m1_now,\"bytes_per_job\":$bpj,\"job_hash_memory_usage\":${hash_bytes:-0}}"
		record enq_bulk "$rep" "$enq" "\"jobs\":$N"
		log "  $bpj bytes/job (queued $q; MEMORY USAGE of one job hash: $hash_bytes)"
	fi

	# e. idle keep-alive connections on one broker
	if want conns; then
		flush
		start_broker
		rc hset 'jobq:{1}:job:1' state pending >/dev/null # so /task-status/1 is a real lookup
		for k in "$CONNS_K" 10000; do
			log "connections: holding $k idle keep-alive connections (hold_conns.py)"
			hold_rc=0
			$PY "$HOLD_CONNS" "$HTTP" -k "$k" -j 2 --pid "$BROKER_PID" --path /task-status/1 \
				--hold 20 --max-time 170 --json "$OUT/hold-$rep-$k.json" \
				>"$OUT/logs/hold-$rep-$k.txt" 2>&1 &
			hold_pid=$!
			PIDS+=("$hold_pid")
			over=""
			if [ "$rep" -eq 1 ]; then
				# once: what does a connection past the fd limit get? Wait until the broker
				# holds the K connections, then open 200 more while watching its CPU.
				for i in $(seq 1200); do
					nfd=$(ls "/proc/$BROKER_PID/fd" 2>/dev/null | wc -l)
					[ "$nfd" -ge "$k" ] && break
					kill -0 "$hold_pid" 2>/dev/null || break
					sleep 0.1
				done
				sleep 1 # let hold_conns take its fresh-request sample first
				c0=$(cpu_ticks "$BROKER_PID")
				w0=$(date +%s%N)
				$PY "$HOLD_CONNS" "$HTTP" -k 200 --src-base 127.0.100.1 --pid "$BROKER_PID" \
					--path /task-status/1 --conn-timeout 5 --hold 0 --fresh-timeout 3 \
					--max-time 30 --json "$OUT/over-$rep-$k.json" >"$OUT/logs/over-$rep-$k.txt" 2>&1 || true
				c1=$(cpu_ticks "$BROKER_PID")
				w1=$(date +%s%N)
				# accept() failing with EMFILE is logged once per try: keep the count, not the flood
				nlog=$(grep -c 'Error from accept' "$OUT/logs/broker.log" || true)
				: >"$OUT/logs/broker.log"
				echo "bench/run.sh: removed $nlog lines 'Error from accept() call: Too many open files'" >>"$OUT/logs/broker.log"
				cpu_pct=$(awk -v c=$((c1 - c0)) -v w=$((w1 - w0)) -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.0f", 100 * c / hz / (w / 1e9)}')
				over=",\"over_limit\":$(tr -d '\n' <"$OUT/over-$rep-$k.json"),\"broker_cpu_pct_during_over_limit\":$cpu_pct"
				over+=",\"accept_error_log_lines\":${nlog:-0},\"over_limit_secs\":$(awk -v w=$((w1 - w0)) 'BEGIN{printf "%.2f", w / 1e9}')"
				sleep 2
				c2=$(cpu_ticks "$BROKER_PID")
				sleep 2
				c3=$(cpu_ticks "$BROKER_PID")
				over+=",\"broker_cpu_pct_after_over_limit_closed\":$(awk -v c=$((c3 - c2)) -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.0f", 100 * c / hz / 2}')"
			fi
			wait "$hold_pid" || hold_rc=$?
			if [ -s "$OUT/hold-$rep-$k.json" ]; then
				record conns "$rep" "$(tr -d '\n' <"$OUT/hold-$rep-$k.json")" "\"k\":$k,\"ok\":$([ $hold_rc -eq 0 ] && echo true || echo false)$over"
			else
				record conns "$rep" "{}" "\"k\":$k,\"ok\":false$over"
			fi
			log "  $(sed -n '2p;5p;6p' "$OUT/logs/hold-$rep-$k.txt" | tr '\n' ' ')"
			if [ $hold_rc -eq 0 ]; then break; fi
			# the broker may be in a bad state after a failed attempt: start afresh
			start_broker
		done
	fi

	# f. the seed's claim: K one-second progress jobs on ONE worker, enqueue included
	if want progress; then
		for k in 100 1000 10000; do
			log "progress: $k one-second jobs on one worker (--concurrency 10000)"
			flush
			start_broker
			start_workers 1 --concurrency 10000
			wait_workers_idle 1
			sleep 0.2
			t0=$(date +%s%N)
			enq=$($JQLOAD throughput -c 1 -n 1 -d 60 -X POST -p /jobs/bulk \
				-B "$OUT/bodies/progress$k.json" -j "$k" --json "$HTTP") || true
			res=$($JQLOAD watch -n "$k" --t0-ns "$t0" --interval-ms 2 -d 60 --json "127.0.0.1:$REDIS_PORT") || true
			stop_workers
			record progress "$rep" "$res" "\"k\":$k,\"enqueue\":${enq:-null}"
			log "  $res"
		done
	fi

	# g. hash jobs (sha256 of 1000 x 1000 bytes) on the worker's thread pool
	if want hash; then
		for t in 1 2; do
			log "hash: $HASH_N jobs, one worker, --threads $t"
			flush
			start_broker
			$JQLOAD throughput -c 1 -n $((HASH_N / 100)) -d 60 -X POST -p /jobs/bulk \
				-B "$OUT/bodies/hash100.json" -j 100 --json "$HTTP" >/dev/null || true
			t0=$(date +%s%N)
			start_workers 1 --threads "$t"
			res=$($JQLOAD watch -n "$HASH_N" --t0-ns "$t0" -d 170 --json "127.0.0.1:$REDIS_PORT") || true
			stop_workers
			record hash "$rep" "$res" "\"threads\":$t"
			log "  $res"
		done
	fi
	stop_broker
	noise_end "$rep"
	log "  CPU used by other processes on the machine during rep $rep: $(tail -1 "$RAW")"
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/versions.txt"
stop_broker
stop_pid "$REDIS_PID"

# ---- the peers, in the same run ---------------------------------------------------------
PEERS_OUT=""
if [ "$WITH_PEERS" -eq 1 ]; then
	log "peers: bash $PEERS_RUN (N=$N REPS=$REPS PEERS=${PEERS:-all})"
	PEERS_OUT=$OUT/peers
	N=$N REPS=$REPS OUT=$PEERS_OUT bash "$PEERS_RUN" 2>&1 | tee "$OUT/logs/peers.log" >&2 ||
		echo "the peers' suite failed; see $OUT/logs/peers.log" >&2
fi

# ---- the table -------------------------------------------------------------------------
args=("$OUT")
[ "$WRITE_DOC" = 1 ] && args+=(--doc "$ROOT/docs/benchmarks.md")
[ "$WRITE_DOC" = peers ] && args+=(--doc "$ROOT/docs/benchmarks.md" --peers-only)
[ -n "$PEERS_OUT" ] && args+=(--peers "$PEERS_OUT")
$PY bench/summarize.py "${args[@]}" | tee "$OUT/summary.md"
echo "results in $OUT" >&2
