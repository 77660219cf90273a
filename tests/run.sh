#!/usr/bin/env bash
# run.sh: installs what is missing, builds jobq twice (plain and ASan+UBSan) and runs
# every test through ctest in both builds. Exit status is non-zero if anything fails.
#   tests/run.sh            everything
#   JOBQ_SKIP_ASAN=1 ...    skip the sanitizer build (quicker while iterating)
#   JOBQ_SKIP_FUZZ=1 ...    skip the libFuzzer runs
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

bash deploy/install-deps.sh

jobs=$(nproc 2>/dev/null || echo 2)
status=0

run_build() { # name, cmake args...
  local dir="$root/build-$1"
  shift
  echo "== build $dir ($*)"
  cmake -S "$root" -B "$dir" "$@" >/dev/null
  cmake --build "$dir" -j "$jobs" >/dev/null
  echo "== ctest $dir"
  (cd "$dir" && ctest --output-on-failure -j "$jobs" --timeout 300) || status=1
}

run_build test -DCMAKE_BUILD_TYPE=Debug
if [ "${JOBQ_SKIP_ASAN:-0}" != 1 ]; then
  # leaks are checked at exit of every test program (LeakSanitizer)
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
  run_build asan -DCMAKE_BUILD_TYPE=Debug -DJOBQ_SANITIZE=ON
fi
if [ "${JOBQ_SKIP_FUZZ:-0}" != 1 ]; then
  # libFuzzer targets, each run briefly from its seed corpus (docs/reliability.md: longer runs)
  dir="$root/build-fuzz"
  echo "== build $dir (clang, libFuzzer)"
  CC=clang cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DJOBQ_FUZZ=ON -DJOBQ_TESTS=OFF \
    -DJOBQ_FUZZ_SECONDS="${JOBQ_FUZZ_SECONDS:-15}" >/dev/null
  cmake --build "$dir" -j "$jobs" --target fuzz_job_spec fuzz_payload fuzz_query >/dev/null
  (cd "$dir" && ctest --output-on-failure -R '^fuzz_') || status=1
fi
exit $status
