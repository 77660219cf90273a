#!/usr/bin/env bash
# install_check.sh BUILD_DIR: cmake --install into a temp prefix and cpack a .deb, then
# check that the programs run from there and the package holds what it should.
set -euo pipefail
build=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/usr" >/dev/null
for p in jobq-broker jobq-worker jobctl; do
  v=$("$tmp/usr/bin/$p" --version)
  grep -q "^$p " <<<"$v" || { echo "FAIL: $p --version"; exit 1; }
done
man_pages="share/man/man1/jobq-broker.1.gz share/man/man1/jobq-worker.1.gz share/man/man1/jobctl.1.gz"
for f in share/jobq/deploy/supervisord.conf share/jobq/deploy/systemd/jobq-worker@.service \
         share/bash-completion/completions/jobctl share/doc/jobq/api.md $man_pages; do
  [ -f "$tmp/usr/$f" ] || { echo "FAIL: $f not installed"; exit 1; }
done
for f in $man_pages; do
  # gzip -n: no name or time in the header (bytes 4-7 are the time), so builds are reproducible
  [ "$(od -An -tx1 -j4 -N4 "$tmp/usr/$f" | tr -d ' ')" = 00000000 ] ||
    { echo "FAIL: $f is not gzip -n"; exit 1; }
  page=$(basename "$f" .1.gz)
  out=$(MANWIDTH=80 man -l "$tmp/usr/$f" 2>&1) || { echo "FAIL: man -l $f"; exit 1; }
  if ! grep -q "^NAME" <<<"$out" || ! grep -q "$page" <<<"$out"; then
    echo "FAIL: $f does not read as a manual page"
    exit 1
  fi
done
(cd "$tmp" && cpack --config "$build/CPackConfig.cmake" -B "$tmp/pkg" >/dev/null)
deb=$(ls "$tmp"/pkg/*.deb)
info=$(dpkg-deb -I "$deb") # captured first: grep -q closing a pipe early fails pipefail
files=$(dpkg-deb -c "$deb")
grep -q "Package: jobq" <<<"$info" || { echo "FAIL: package name"; exit 1; }
grep -q "Depends:.*libhiredis" <<<"$info" || { echo "FAIL: no library dependencies"; exit 1; }
grep -q "/bin/jobq-worker$" <<<"$files" || { echo "FAIL: jobq-worker not in the .deb"; exit 1; }
for f in $man_pages; do
  grep -q " \./usr/$f$" <<<"$files" || { echo "FAIL: $f not in the .deb"; exit 1; }
done
echo "install and .deb: ok ($(basename "$deb"))"
