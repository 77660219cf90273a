#!/usr/bin/env bash
# install-deps.sh: installs the Debian packages jobq needs to build, run and test.
# Runs apt-get only for what is missing, and only as root; otherwise says what to install.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config
  libhiredis-dev libevent-dev libmsgpack-dev libcurl4-openssl-dev libssl-dev libjansson-dev
  libwslay-dev
  redis-server redis-tools supervisor python3-aiosmtpd python3-prometheus-client
  jq  # the README's examples read ids from JSON answers (tests/e2e/test_readme.py)
  python3-websockets curl openssl ca-certificates  # openssl: test_job_http's TLS certificate
  python3-fastapi python3-uvicorn  # examples/fastapi (tests/e2e/test_fastapi_example.py)
  clang groff-base man-db  # man_check.sh (groff), install_check.sh (man -l)
  cppcheck clang-tidy clang-format  # tests/lint (ctest lint_cppcheck, lint_clang_tidy, lint_format)
  chromium chromium-driver python3-selenium  # the dashboard test (tests/e2e/test_dashboard.py)
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing Debian packages: ${missing[*]}" >&2
  echo "install-deps: run as root, or: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
