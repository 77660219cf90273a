#!/usr/bin/env bash
# memory.sh: shows that Redis memory stays flat under a steady stream of jobs.
# Starts a private Redis, a broker and one worker with a short retention
# (--keep-completed-ms), streams noop jobs at a fixed rate, and samples Redis'
# used_memory every few seconds. With retention R and rate r, the steady state
# holds about r*R finished jobs; memory climbs for R, then stays flat.
#   bench/memory.sh [seconds=40] [rate=2000] [retention_ms=5000]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-40}
rate=${2:-2000}
keep=${3:-5000}
build=build-release
cmake -S . -B $build -DCMAKE_BUILD_TYPE=Release -DJOBQ_TESTS=OFF >/dev/null
cmake --build $build -j2 >/dev/null
tmp=$(mktemp -d)
port=$((20000 + RANDOM % 10000))
hport=$((port + 1))
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
redis-server --port $port --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" >"$tmp/redis.log" 2>&1 &
pids+=($!)
sleep 0.3
url=redis://127.0.0.1:$port/0
$build/broker/jobq-broker --listen 127.0.0.1:$hport --redis-url $url 2>"$tmp/broker.log" &
pids+=($!)
$build/worker/jobq-worker --redis-url $url --keep-completed-ms "$keep" 2>"$tmp/worker.log" &
pids+=($!)
sleep 0.5
/usr/bin/python3 bench/stream.py 127.0.0.1:$hport --rate "$rate" --seconds "$secs" >"$tmp/stream.json" &
spid=$!
echo "| t (s) | used_memory (bytes) | job hashes | dbsize |"
echo "| --- | --- | --- | --- |"
t=0
while kill -0 $spid 2>/dev/null; do
  mem=$(redis-cli -p $port info memory | awk -F: '/^used_memory:/{print $2}' | tr -d '\r')
  size=$(redis-cli -p $port dbsize)
  jobs=$(redis-cli -p $port eval "return #redis.call('KEYS', 'jobq:{*}:job:*')" 0)
  echo "| $t | $mem | $jobs | $size |"
  sleep 4
  t=$((t + 4))
done
wait $spid || true
echo
echo "stream: $(cat "$tmp/stream.json"), retention ${keep} ms"
