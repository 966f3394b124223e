#!/usr/bin/env bash
# Run a command with Postgres and Redis available.
#
# When something already answers at the configured addresses it is used as is.
# Otherwise a throwaway instance is started from the installed binaries (as root,
# Debian's packages are installed first when missing) and stopped afterwards.
set -euo pipefail

PG_URL="${TASADOR_TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/tasador_test}"
REDIS_URL="${TASADOR_TEST_REDIS_URL:-redis://127.0.0.1:6379/15}"
export TASADOR_TEST_DATABASE_URL="$PG_URL" TASADOR_TEST_REDIS_URL="$REDIS_URL"

hostport() {  # URL -> "host port" (default port given as $2)
  python3 - "$1" "$2" <<'PY'
import sys
from urllib.parse import urlsplit
u = urlsplit(sys.argv[1])
print(u.hostname or "127.0.0.1", u.port or int(sys.argv[2]))
PY
}
answers() {  # host port -> exit 0 when a TCP connection succeeds
  python3 -c "import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 1).close()" "$1" "$2" 2>/dev/null
}

read -r PG_HOST PG_PORT < <(hostport "$PG_URL" 5432)
read -r REDIS_HOST REDIS_PORT < <(hostport "$REDIS_URL" 6379)
WORK="$(mktemp -d)"
started=()

cleanup() {
  for what in "${started[@]:-}"; do
    case "$what" in
      postgres) su_run "$PG_BIN/pg_ctl -D $WORK/pg -m fast stop" >/dev/null 2>&1 || true ;;
      redis) kill "$(cat "$WORK/redis.pid" 2>/dev/null)" 2>/dev/null || true ;;
    esac
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

apt_install() {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  fi
}
# initdb refuses to run as root: run the server as the postgres user when we are root.
su_run() {
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$1"; else bash -c "$1"; fi
}

if ! answers "$PG_HOST" "$PG_PORT"; then
  PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
  if [ -z "$PG_BIN" ]; then apt_install postgresql; PG_BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"; fi
  echo "starting a throwaway PostgreSQL on $PG_HOST:$PG_PORT"
  [ "$(id -u)" = 0 ] && chown postgres "$WORK" && chmod 755 "$WORK"
  su_run "$PG_BIN/initdb -D $WORK/pg -U postgres -A trust >/dev/null"
  su_run "$PG_BIN/pg_ctl -D $WORK/pg -o '-h $PG_HOST -p $PG_PORT -k $WORK' -l $WORK/pg.log -w start >/dev/null"
  started+=(postgres)
fi

if ! answers "$REDIS_HOST" "$REDIS_PORT"; then
  command -v redis-server >/dev/null || apt_install redis-server
  echo "starting a throwaway Redis on $REDIS_HOST:$REDIS_PORT"
  redis-server --bind "$REDIS_HOST" --port "$REDIS_PORT" --save "" --appendonly no \
    --daemonize yes --dir "$WORK" --pidfile "$WORK/redis.pid" --logfile "$WORK/redis.log"
  for _ in $(seq 50); do answers "$REDIS_HOST" "$REDIS_PORT" && break; sleep 0.1; done
  started+=(redis)
fi

# The browser tests of /ui drive Debian's Chromium; without it they are skipped.
if ! { [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; }; then
  apt_install chromium chromium-driver || echo "chromium could not be installed: the browser tests will be skipped"
fi

"$@"
