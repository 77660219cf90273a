#!/usr/bin/env bash
# install_check.sh BUILD_DIR: cmake --install into a temp prefix and cpack a .deb, then
# check that the programs run from there and the package holds what it should; build
# libjobq-client's example from the installed source with pkg-config, as a user would,
# and run it against a real redis-server and the installed jobq-worker.
set -euo pipefail
build=$1
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
cmake --install "$build" --prefix "$tmp/usr" >/dev/null
for p in jobq-broker jobq-worker jobctl; do
  v=$("$tmp/usr/bin/$p" --version)
  grep -q "^$p " <<<"$v" || { echo "FAIL: $p --version"; exit 1; }
done
man_pages="share/man/man1/jobq-broker.1.gz share/man/man1/jobq-worker.1.gz share/man/man1/jobctl.1.gz"
for f in share/jobq/deploy/supervisord.conf share/jobq/deploy/systemd/jobq-worker@.service \
         share/jobq/deploy/sentinel/sentinel.conf \
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

# ---- libjobq-client: header, library, pkg-config file, example ----
for f in include/jobq/client.h share/doc/jobq/examples/client_example.c share/doc/jobq/client.md; do
  [ -f "$tmp/usr/$f" ] || { echo "FAIL: $f not installed"; exit 1; }
done
pc=$(find "$tmp/usr" -name jobq-client.pc)
[ -n "$pc" ] || { echo "FAIL: jobq-client.pc not installed"; exit 1; }
PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_PATH
libdir=$(pkg-config --variable=libdir jobq-client)
[ "$(pkg-config --variable=prefix jobq-client)" = "$tmp/usr" ] || {
  echo "FAIL: jobq-client.pc names prefix $(pkg-config --variable=prefix jobq-client), not $tmp/usr"; exit 1; }
for f in libjobq-client.so libjobq-client.so.0; do
  [ -e "$libdir/$f" ] || { echo "FAIL: $libdir/$f not installed"; exit 1; }
done
soname=$(readelf -d "$libdir/libjobq-client.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libjobq-client.so.0 ] || { echo "FAIL: SONAME is '$soname'"; exit 1; }
# only the public API is exported: libjobq's internals stay inside
others=$(nm -D --defined-only "$libdir/libjobq-client.so" | awk '{print $3}' |
         grep -v -e '^jq_client_' -e '^JOBQ_CLIENT_0$' || true)
[ -z "$others" ] || { echo "FAIL: libjobq-client exports more than jq_client_*: $others"; exit 1; }

# an ASan build's library needs the sanitizer runtime in the program too
san=()
if grep -q '^JOBQ_SANITIZE:BOOL=ON' "$build/CMakeCache.txt"; then
  san=("-fsanitize=address,undefined")
fi
# what `$(pkg-config --cflags --libs jobq-client)` gives a user's command line
read -ra cflags <<<"$(pkg-config --cflags jobq-client)"
read -ra libs <<<"$(pkg-config --libs jobq-client)"
# the header stands alone: standard headers only, C11 and C++
printf '#include <jobq/client.h>\nint main(void) { return jq_client_version() == 0; }\n' >"$tmp/h.c"
cc -std=c11 -pedantic -Wall -Wextra -Werror ${san[@]+"${san[@]}"} "${cflags[@]}" "$tmp/h.c" \
  "${libs[@]}" -o "$tmp/h" || { echo "FAIL: header alone (C)"; exit 1; }
if command -v c++ >/dev/null; then
  c++ -x c++ -fsyntax-only -Wall -Wextra -Werror "${cflags[@]}" "$tmp/h.c" ||
    { echo "FAIL: header alone (C++)"; exit 1; }
fi
# the documented build line, on the installed example's source
cc -std=c11 -Wall -Wextra -Werror ${san[@]+"${san[@]}"} "${cflags[@]}" \
  "$tmp/usr/share/doc/jobq/examples/client_example.c" "${libs[@]}" -o "$tmp/client_example" ||
  { echo "FAIL: the example does not build with pkg-config"; exit 1; }
export LD_LIBRARY_PATH=$libdir
deps=$(ldd "$tmp/client_example") # captured first, as below: grep -q would break the pipe
grep -q "libjobq-client.so.0 => $libdir/" <<<"$deps" ||
  { echo "FAIL: the example does not load the installed library"; exit 1; }
help=$("$tmp/client_example" --help)
grep -q '^usage: client_example' <<<"$help" || { echo "FAIL: example --help"; exit 1; }

# run it: a private redis-server, the installed worker, one job end to end
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir "$tmp/redis"
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$tmp/redis" \
  >"$tmp/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && break
  sleep 0.1
done
url=redis://127.0.0.1:$port/0
"$tmp/usr/bin/jobq-worker" --redis-url "$url" --threads 1 >"$tmp/worker.log" 2>&1 &
pids+=($!)
out=$("$tmp/client_example" --redis-url "$url" --timeout 30 \
  '{"type": "hash", "payload": {"data": "abc", "repeat": 1}}') ||
  { echo "FAIL: the example's job did not complete: $out"; cat "$tmp/worker.log"; exit 1; }
grep -q '^status completed$' <<<"$out" || { echo "FAIL: example output: $out"; exit 1; }
grep -q '"sha256":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"' <<<"$out" ||
  { echo "FAIL: example result: $out"; exit 1; }
unset LD_LIBRARY_PATH PKG_CONFIG_PATH

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
for f in /include/jobq/client.h /libjobq-client.so.0.1.0 /pkgconfig/jobq-client.pc; do
  grep -q "$f$" <<<"$files" || { echo "FAIL: $f not in the .deb"; exit 1; }
done
grep -q "usr/lib/.*libjobq-client.so.0 -> libjobq-client.so.0.1.0" <<<"$files" ||
  { echo "FAIL: no SONAME link in the .deb"; exit 1; }
control=$(dpkg-deb --ctrl-tarfile "$deb" | tar -t)
grep -q shlibs <<<"$control" || { echo "FAIL: no shlibs file in the .deb"; exit 1; }
debpc=$(dpkg-deb --fsys-tarfile "$deb" | tar -xO --wildcards '*/jobq-client.pc')
grep -q '^prefix=/usr$' <<<"$debpc" ||
  { echo "FAIL: the .deb's jobq-client.pc does not name prefix /usr"; exit 1; }
echo "install, libjobq-client example and .deb: ok ($(basename "$deb"))"
