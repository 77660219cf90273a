#!/usr/bin/env bash
# up.sh: runs all of jobq on this machine, in the foreground, under supervisord:
# a private redis-server (unless JOBQ_REDIS_URL is set), an SMTP sink that logs mail
# (unless JOBQ_SMTP_URL is set), the broker on 127.0.0.1:8000 and two workers.
# Ctrl-C (or SIGTERM) stops everything it started.
#
# It heals itself: supervisord restarts every program whenever it exits, whatever its
# exit status (a worker or broker that was sent SIGTERM exits 0, and still comes back).
# Run as root, supervisord and every program run as JOBQ_USER (jobq, created as a system
# user if missing); its control socket asks for a password made for each run (in the
# generated supervisord.conf, readable by that user only).
#
#   deploy/up.sh                      build (Release) and run
#   JOBQ_WORKERS=4 deploy/up.sh       more worker processes
#   JOBQ_BROKERS=2 deploy/up.sh       more broker processes on the one port (--reuse-port)
#   JOBQ_LISTEN=127.0.0.1:9000 ...    another broker address
#   JOBQ_REDIS_URL=redis://host:6379/0 deploy/up.sh   use an existing Redis
#   JOBQ_REDIS_PORT, JOBQ_SMTP_PORT                   ports of the private Redis and sink
#   JOBQ_USER=name deploy/up.sh       (as root) the user everything runs as
#   JOBQ_WORKER_ARGS='--exec resize=/usr/local/bin/resize' deploy/up.sh
#                                     more jobq-worker flags (split on spaces); the workers
#                                     always allow the demo program examples/exec/wordcount
#
# jobctl and its manual page are not installed: up.sh prints the line that puts them on
# PATH and MANPATH (the build's cli/ and man/), or `cmake --install build-release`.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

say() { echo "jobq: $*"; }

say "checking the Debian packages it needs (deploy/install-deps.sh)"
bash deploy/install-deps.sh
# JOBQ_BIN_DIR: a build directory to run instead of building build-release (the tests use it)
bin=${JOBQ_BIN_DIR:-$root/build-release}
if [ -z "${JOBQ_BIN_DIR:-}" ]; then
  # one line per step, and the build's own progress; the whole output in build.log
  mkdir -p "$bin"
  buildlog=$bin/build.log
  build_failed() {
    tail -n 30 "$buildlog" >&2
    say "the build failed (the whole output: $buildlog)" >&2
    exit 1
  }
  say "configuring $bin (cmake, Release)"
  cmake -S "$root" -B "$bin" -DCMAKE_BUILD_TYPE=Release -DJOBQ_TESTS=OFF >"$buildlog" 2>&1 ||
    build_failed
  say "building with $(nproc 2>/dev/null || echo 2) jobs (a minute or two the first time)"
  set +o pipefail
  cmake --build "$bin" -j "$(nproc 2>/dev/null || echo 2)" 2>&1 | tee -a "$buildlog" |
    grep --line-buffered -E '^\[ *[0-9]+%\] Built target' | sed -u 's/^/jobq:   /'
  built=${PIPESTATUS[0]}
  set -o pipefail
  [ "$built" -eq 0 ] || build_failed
  say "built"
fi

run=$(mktemp -d /tmp/jobq-up.XXXXXX)
listen=${JOBQ_LISTEN:-127.0.0.1:8000}
workers=${JOBQ_WORKERS:-2}
brokers=${JOBQ_BROKERS:-1}
redis_port=${JOBQ_REDIS_PORT:-6399}
smtp_port=${JOBQ_SMTP_PORT:-2525}

# Root runs nothing itself: supervisord drops to this user before it starts anything.
user=
if [ "$(id -u)" -eq 0 ]; then
  user=${JOBQ_USER:-jobq}
  if ! id -u "$user" >/dev/null 2>&1; then
    # another up.sh starting now may create it first (the tests run two at once)
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$user" ||
      id -u "$user" >/dev/null
  fi
  if ! runuser -u "$user" -- test -x "$bin/broker/jobq-broker"; then
    echo "jobq: user '$user' cannot run $bin/broker/jobq-broker (check the permissions of" \
      "its directories, or set JOBQ_USER)" >&2
    exit 1
  fi
fi
# the control socket's password, new for each run
password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')

conf=$run/supervisord.conf
cat >"$conf" <<EOC
[supervisord]
nodaemon=true
logfile=$run/supervisord.log
pidfile=$run/supervisord.pid
childlogdir=$run
${user:+user=$user}

[unix_http_server]
file=$run/supervisor.sock
chmod=0700
username=jobq
password=$password

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://$run/supervisor.sock
username=jobq
password=$password
EOC

# Every program: restarted whenever it exits (autorestart=true: whatever the exit
# status); up to 10 quick failures in a row (each within startsecs of its start) before
# supervisord gives it up (FATAL): a port taken by someone else, a missing binary.
restart="autorestart=true
startsecs=1
startretries=10"

# the programs' logs; the brokers' and workers' are also shown on this terminal
logs=()

# A value for supervisord's config: '%' starts its expansions ('%(ENV_X)s') and must be
# '%%' (a Redis password may hold one); a newline or '"' cannot be written there at all.
sv() {
  case $2 in
  *$'\n'* | *$'\r'* | *'"'*)
    echo "up.sh: $1 holds a newline or a '\"', which a supervisord setting cannot hold" >&2
    exit 2 ;;
  esac
  printf '%s' "${2//%/%%}"
}
# what is printed of a Redis URL: without its password
redact_url() { sed -E 's#^([a-z-]+://)([^@/]*:)?[^@/]*@#\1\2***@#' <<<"$1"; }

if [ -z "${JOBQ_REDIS_URL:-}" ]; then
  export JOBQ_REDIS_URL="redis://127.0.0.1:$redis_port/0"
  cat >>"$conf" <<EOC

[program:redis]
command=/usr/bin/redis-server --bind 127.0.0.1 --port $redis_port --dir $run --appendonly yes --appendfsync everysec --save ''
priority=10
stdout_logfile=$run/redis.log
redirect_stderr=true
stopsignal=TERM
$restart
EOC
fi

if [ -z "${JOBQ_SMTP_URL:-}" ]; then
  export JOBQ_SMTP_URL="smtp://127.0.0.1:$smtp_port"
  cat >>"$conf" <<EOC

[program:smtp-sink]
command=/usr/bin/python3 -m aiosmtpd -n -l 127.0.0.1:$smtp_port -c aiosmtpd.handlers.Debugging
priority=10
stdout_logfile=$run/mail.log
redirect_stderr=true
$restart
EOC
fi

sv_redis=$(sv JOBQ_REDIS_URL "$JOBQ_REDIS_URL") || exit 2
sv_smtp=$(sv JOBQ_SMTP_URL "$JOBQ_SMTP_URL") || exit 2
sv_from=$(sv JOBQ_SMTP_FROM "${JOBQ_SMTP_FROM:-jobq@localhost}") || exit 2
sv_worker_args=${JOBQ_WORKER_ARGS:-} # a command line: quotes are its own, '%' is not
case $sv_worker_args in *$'\n'* | *$'\r'*) echo "up.sh: JOBQ_WORKER_ARGS holds a newline" >&2; exit 2 ;; esac
sv_worker_args=${sv_worker_args//%/%%}
cat >>"$conf" <<EOC

[program:broker]
process_name=broker-%(process_num)d
numprocs=$brokers
command=$bin/broker/jobq-broker --listen $listen --reuse-port
priority=20
stdout_logfile=$run/%(program_name)s-%(process_num)d.log
redirect_stderr=true
stopsignal=TERM
$restart
environment=JOBQ_REDIS_URL="$sv_redis"

[program:worker]
process_name=worker-%(process_num)d
numprocs=$workers
command=$bin/worker/jobq-worker --exec wordcount=$root/examples/exec/wordcount $sv_worker_args
priority=30
stdout_logfile=$run/%(program_name)s-%(process_num)d.log
redirect_stderr=true
stopsignal=TERM
stopwaitsecs=30
$restart
environment=JOBQ_REDIS_URL="$sv_redis",JOBQ_SMTP_URL="$sv_smtp",JOBQ_SMTP_FROM="$sv_from"
EOC
for ((i = 0; i < brokers; i++)); do logs+=("$run/broker-$i.log"); done
for ((i = 0; i < workers; i++)); do logs+=("$run/worker-$i.log"); done
touch "${logs[@]}"
chmod 600 "$conf"
if [ -n "$user" ]; then
  chown -R "$user:" "$run"
fi

echo "jobq: $brokers broker(s) on http://$listen, $workers workers, Redis $(redact_url "$JOBQ_REDIS_URL"), mail $JOBQ_SMTP_URL"
echo "jobq: logs and state in $run (mail in $run/mail.log); Ctrl-C stops everything"
echo "jobq: jobctl and 'man jobctl' in another shell: export PATH=\"$bin/cli:\$PATH\" MANPATH=\"$bin/man:\${MANPATH:-}\""
/usr/bin/supervisord -c "$conf" &
sup=$!
# Ctrl-C reaches supervisord with the rest of the terminal's group; a SIGTERM sent to
# this script alone is passed on. Either way supervisord stops the programs and exits.
trap 'kill -TERM "$sup" 2>/dev/null || true' INT TERM
tail -q -n +1 -F --pid="$sup" "${logs[@]}" &
status=0
while kill -0 "$sup" 2>/dev/null; do
  wait "$sup" && status=0 || status=$?
done
wait || true # tail ends once supervisord has
exit "$status"
