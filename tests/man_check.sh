#!/usr/bin/env bash
# man_check.sh MAN_DIR BROKER WORKER JOBCTL: checks the manual pages against the programs.
#
# Each page must render with groff without a single warning (-ww, any output on
# stderr fails), and must mention every long option and every JOBQ_* variable
# that its program's --help prints (for jobctl: the global --help and each
# command's --help, and every command by name). So an option added to a
# program without its page fails here.
set -euo pipefail
man_dir=$1
broker=$2
worker=$3
jobctl=$4
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

command -v groff >/dev/null || { echo "FAIL: groff not found (apt-get install groff-base)"; exit 1; }

# render PAGE: plain text (no overstriking, no escapes), lines long enough that
# no option is broken across two.
render() {
  groff -man -Tascii -rLL=250n -P-cbou "$1"
}

# check_page PAGE HELP_TEXT...: every --option and JOBQ_* of the help texts is in PAGE.
check_page() {
  local page=$1 text what n=0
  shift
  if ! groff -man -Tutf8 -ww -z "$page" >"$tmp/warn" 2>&1 || [ -s "$tmp/warn" ]; then
    echo "FAIL: $(basename "$page"): groff warnings:"
    sed 's/^/  /' "$tmp/warn"
    fail=1
  fi
  text=$(render "$page")
  for what in $(printf '%s\n' "$@" | grep -oE -- '--[a-z][a-z0-9-]*|JOBQ_[A-Z0-9_]+' | sort -u); do
    n=$((n + 1))
    # a whole word: --wait must not be found in --wait-timeout
    if ! grep -qE -- "(^|[^A-Za-z0-9_-])${what}([^A-Za-z0-9_-]|\$)" <<<"$text"; then
      echo "FAIL: $(basename "$page") does not mention $what (printed by --help)"
      fail=1
    fi
  done
  [ "$n" -gt 0 ] || { echo "FAIL: no option found in the --help of $(basename "$page")"; fail=1; }
  echo "$(basename "$page"): $n options and variables checked"
}

check_page "$man_dir/jobq-broker.1" "$("$broker" --help)"
check_page "$man_dir/jobq-worker.1" "$("$worker" --help)"

# jobctl: the global help, then each command's ("jobctl dead list ..." is "dead list",
# "jobctl schedule add ..." is "schedule add").
top=$("$jobctl" --help)
helps=("$top")
mapfile -t commands < <(sed -n 's/^  jobctl \([a-z-]*\)\( \(list\|retry\|purge\|add\|rm\)\)\{0,1\}\b.*/\1\2/p' <<<"$top")
[ "${#commands[@]}" -ge 10 ] || { echo "FAIL: commands not found in 'jobctl --help'"; exit 1; }
text=$(render "$man_dir/jobctl.1")
for c in "${commands[@]}"; do
  # shellcheck disable=SC2086 # "dead list" is two words
  helps+=("$("$jobctl" $c --help)")
  if ! grep -qE "^ {2,}$c( |,|\$)" <<<"$text"; then
    echo "FAIL: jobctl.1 has no section for the command '$c'"
    fail=1
  fi
done
check_page "$man_dir/jobctl.1" "${helps[@]}"
echo "jobctl.1: ${#commands[@]} commands checked"

[ "$fail" -eq 0 ] || exit 1
echo "man pages: ok"
