#!/usr/bin/env bash
# run.sh: installs what is missing, builds jobq twice (plain and ASan+UBSan) and runs
# every test through ctest in both builds. Exit status is non-zero if anything fails.
#   tests/run.sh            everything
#   JOBQ_SKIP_ASAN=1 ...    skip the sanitizer build (quicker while iterating)
#   JOBQ_SKIP_FUZZ=1 ...    skip the libFuzzer runs
#   JOBQ_SKIP_BUILD_TYPES=1 skip building the Release, RelWithDebInfo and MinSizeRel types
# Every build here treats warnings as errors (-DJOBQ_WERROR=ON); a user's build does not.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

bash deploy/install-deps.sh

jobs=$(nproc 2>/dev/null || echo 2)
status=0
passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# runs ctest with the given arguments and adds its counts to the totals
run_ctest() {
  set +e
  ctest --output-on-failure "$@" 2>&1 | tee "$log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
  set -e
  local line total bad
  line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1) || true
  if [ -z "$line" ]; then
    status=1
    return
  fi
  total=$(echo "$line" | sed -E 's/.*out of ([0-9]+).*/\1/')
  bad=$(echo "$line" | sed -E 's/.*, ([0-9]+) tests? failed.*/\1/')
  passed=$((passed + total - bad))
  failed=$((failed + bad))
}

run_build() { # name, cmake args...
  local dir="$root/build-$1"
  shift
  echo "== build $dir ($*)"
  cmake -S "$root" -B "$dir" -DJOBQ_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j "$jobs" >/dev/null
  echo "== ctest $dir"
  pushd "$dir" >/dev/null
  run_ctest -j "$jobs" --timeout 300
  popd >/dev/null
}

run_build test -DCMAKE_BUILD_TYPE=Debug
if [ "${JOBQ_SKIP_ASAN:-0}" != 1 ]; then
  # leaks are checked at exit of every test program (LeakSanitizer)
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
  run_build asan -DCMAKE_BUILD_TYPE=Debug -DJOBQ_SANITIZE=ON
fi
# the optimizing build types: -O2 and -Os bring warnings that Debug does not (e.g.
# -Wformat-truncation, -Wuse-after-free); each must build, its tests included, and
# build-release is the one deploy/up.sh and bench/run.sh run
build_type() { # dir, what, cmake args...
  local dir=$1 what=$2
  shift 2
  echo "== build $dir ($what)"
  if cmake -S "$root" -B "$dir" -DJOBQ_WERROR=ON "$@" >/dev/null &&
    cmake --build "$dir" -j "$jobs" >/dev/null; then
    passed=$((passed + 1))
  else
    echo "FAILED: the $what build"
    failed=$((failed + 1))
    status=1
  fi
}
build_type "$root/build-release" "Release, as deploy/up.sh builds it" \
  -DCMAKE_BUILD_TYPE=Release -DJOBQ_TESTS=OFF
if [ "${JOBQ_SKIP_BUILD_TYPES:-0}" != 1 ]; then
  for type in Release RelWithDebInfo MinSizeRel; do
    build_type "$root/build-type-$type" "$type with the tests" -DCMAKE_BUILD_TYPE="$type" \
      -DJOBQ_TESTS=ON
  done
fi
if [ "${JOBQ_SKIP_FUZZ:-0}" != 1 ]; then
  # libFuzzer targets, each run briefly from its seed corpus (docs/reliability.md: longer runs)
  dir="$root/build-fuzz"
  echo "== build $dir (clang, libFuzzer)"
  CC=clang cmake -S "$root" -B "$dir" -DJOBQ_WERROR=ON -DCMAKE_BUILD_TYPE=Debug -DJOBQ_FUZZ=ON -DJOBQ_TESTS=OFF \
    -DJOBQ_FUZZ_SECONDS="${JOBQ_FUZZ_SECONDS:-15}" >/dev/null
  cmake --build "$dir" -j "$jobs" --target fuzz_job_spec fuzz_payload fuzz_query fuzz_http fuzz_json_mp >/dev/null
  pushd "$dir" >/dev/null
  run_ctest -R '^fuzz_'
  popd >/dev/null
fi
echo
echo "jobq: $passed passed, $failed failed"
exit $status
