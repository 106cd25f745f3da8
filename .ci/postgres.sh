#!/usr/bin/env bash
# Start a throwaway PostgreSQL cluster on a temporary folder and a free loopback port.
# Usage: source .ci/postgres.sh   -> exports ATELIER_TEST_POSTGRES_URL and defines pg_stop.
# Debian's `postgresql` package provides the binaries; initdb refuses to run as root,
# so the cluster belongs to the `postgres` user when we are root.
set -euo pipefail
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
if [ -z "$PG_BIN" ]; then
  echo "PostgreSQL is not installed (apt-get install -y postgresql)" >&2
  return 1 2>/dev/null || exit 1
fi
PG_DIR="$(mktemp -d /tmp/atelier-pg.XXXXXX)"
PG_PORT="$(python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
pg_run() {
  if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if [ "$(id -u)" = "0" ]; then chown postgres "$PG_DIR"; fi
pg_run "$PG_BIN/initdb" -D "$PG_DIR/data" -U atelier -A trust --no-sync -E UTF8 >/dev/null
pg_run "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w \
  -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
pg_run "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U atelier atelier_test
export ATELIER_TEST_POSTGRES_URL="postgresql+psycopg://atelier@127.0.0.1:$PG_PORT/atelier_test"
pg_stop() {
  pg_run "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
}
echo "PostgreSQL on 127.0.0.1:$PG_PORT ($PG_DIR)"
