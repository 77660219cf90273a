#!/usr/bin/env bash
# up.sh: runs all of jobq on this machine, in the foreground, under supervisord:
# a private redis-server (unless JOBQ_REDIS_URL is set), an SMTP sink that logs mail
# (unless JOBQ_SMTP_URL is set), the broker on 127.0.0.1:8000 and two workers.
# Ctrl-C (or SIGTERM) stops everything it started.
#
#   deploy/up.sh                      build (Release) and run
#   JOBQ_WORKERS=4 deploy/up.sh       more worker processes
#   JOBQ_BROKERS=2 deploy/up.sh       more broker processes on the one port (--reuse-port)
#   JOBQ_LISTEN=127.0.0.1:9000 ...    another broker address
#   JOBQ_REDIS_URL=redis://host:6379/0 deploy/up.sh   use an existing Redis
#   JOBQ_REDIS_PORT, JOBQ_SMTP_PORT                   ports of the private Redis and sink
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

bash deploy/install-deps.sh
# JOBQ_BIN_DIR: a build directory to run instead of building build-release (the tests use it)
bin=${JOBQ_BIN_DIR:-$root/build-release}
if [ -z "${JOBQ_BIN_DIR:-}" ]; then
  cmake -S "$root" -B "$bin" -DCMAKE_BUILD_TYPE=Release -DJOBQ_TESTS=OFF >/dev/null
  cmake --build "$bin" -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
fi

run=$(mktemp -d /tmp/jobq-up.XXXXXX)
listen=${JOBQ_LISTEN:-127.0.0.1:8000}
workers=${JOBQ_WORKERS:-2}
brokers=${JOBQ_BROKERS:-1}
redis_port=${JOBQ_REDIS_PORT:-6399}
smtp_port=${JOBQ_SMTP_PORT:-2525}

conf=$run/supervisord.conf
cat >"$conf" <<EOC
[supervisord]
nodaemon=true
logfile=$run/supervisord.log
pidfile=$run/supervisord.pid
childlogdir=$run

[unix_http_server]
file=$run/supervisor.sock

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://$run/supervisor.sock
EOC

if [ -z "${JOBQ_REDIS_URL:-}" ]; then
  export JOBQ_REDIS_URL="redis://127.0.0.1:$redis_port/0"
  cat >>"$conf" <<EOC

[program:redis]
command=/usr/bin/redis-server --bind 127.0.0.1 --port $redis_port --dir $run --appendonly yes --appendfsync everysec --save ''
priority=10
stdout_logfile=$run/redis.log
redirect_stderr=true
stopsignal=TERM
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
EOC
fi

cat >>"$conf" <<EOC

[program:broker]
process_name=broker-%(process_num)d
numprocs=$brokers
command=$bin/broker/jobq-broker --listen $listen --reuse-port
priority=20
stdout_logfile=/dev/stdout
stdout_logfile_maxbytes=0
redirect_stderr=true
stopsignal=TERM
environment=JOBQ_REDIS_URL="$JOBQ_REDIS_URL"

[program:worker]
process_name=worker-%(process_num)d
numprocs=$workers
command=$bin/worker/jobq-worker
priority=30
stdout_logfile=/dev/stdout
stdout_logfile_maxbytes=0
redirect_stderr=true
stopsignal=TERM
stopwaitsecs=30
environment=JOBQ_REDIS_URL="$JOBQ_REDIS_URL",JOBQ_SMTP_URL="$JOBQ_SMTP_URL",JOBQ_SMTP_FROM="${JOBQ_SMTP_FROM:-jobq@localhost}"
EOC

echo "jobq: $brokers broker(s) on http://$listen, $workers workers, Redis $JOBQ_REDIS_URL, mail $JOBQ_SMTP_URL"
echo "jobq: logs and state in $run (mail in $run/mail.log); Ctrl-C stops everything"
exec /usr/bin/supervisord -c "$conf"
