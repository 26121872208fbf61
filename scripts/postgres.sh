#!/usr/bin/env bash
# A throwaway PostgreSQL server for the hub's tests (and its Debian packages). It runs as
# an unprivileged user (the current one, or `postgres` when run as root, since initdb
# refuses root), listens on a Unix socket in its own folder only (no TCP port), and trusts
# every local connection: for tests, never for a hub in service.
#
#   scripts/postgres.sh install       installs PostgreSQL from Debian when it is missing
#   scripts/postgres.sh start         creates and starts a new server in a new temporary
#                                     folder and prints the folder; DIR/url holds the
#                                     connection URL (user custos, database postgres)
#   scripts/postgres.sh start DIR     starts the server of DIR again
#   scripts/postgres.sh stop DIR      stops it (fast: open sessions are ended)
#   scripts/postgres.sh restart DIR   stops and starts it
#   scripts/postgres.sh remove DIR    stops it and deletes the folder
#
# scripts/test runs `install` and `start`, exports CUSTOS_TEST_POSTGRES=$(cat DIR/url)
# for the tests, and removes the server at the end.
set -euo pipefail

pg_bin() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$d/pg_ctl" ] && [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
    dirname "$(command -v pg_ctl)"
    return 0
  fi
  return 1
}

# The user the server runs as.
server_user() {
  if [ "$(id -u)" -ne 0 ]; then
    id -un
  elif id postgres >/dev/null 2>&1; then
    echo postgres
  else
    echo nobody
  fi
}

as_server() {
  if [ "$(id -u)" -eq 0 ]; then
    (cd / && runuser -u "$(server_user)" -- "$@")
  else
    (cd / && "$@")
  fi
}

need_bin() {
  BIN=$(pg_bin) || {
    echo "postgres.sh: PostgreSQL is not installed: run scripts/postgres.sh install" >&2
    exit 1
  }
}

start_server() {
  local dir=$1
  if ! as_server "$BIN/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 start >/dev/null; then
    echo "postgres.sh: the server in $dir did not start:" >&2
    tail -n 20 "$dir/log" >&2 || true
    exit 1
  fi
}

cmd=${1:-}
case "$cmd" in
  install)
    if ! pg_bin >/dev/null; then
      . "$(dirname "$0")/deps.sh"
      install_packages postgresql
    fi
    pg_bin >/dev/null || { echo "postgres.sh: PostgreSQL did not install" >&2; exit 1; }
    ;;
  start)
    need_bin
    if [ $# -ge 2 ]; then
      start_server "$2"
      exit 0
    fi
    # In /tmp: a short path (a Unix socket's path has at most 107 bytes) that the
    # server's user can reach.
    dir=$(mktemp -d /tmp/custos-pg.XXXXXX)
    chmod 755 "$dir"
    if [ "$(id -u)" -eq 0 ]; then
      chown "$(server_user)" "$dir"
    fi
    as_server mkdir -m 700 "$dir/data"
    as_server mkdir -m 755 "$dir/run"
    if ! as_server "$BIN/initdb" -D "$dir/data" -U custos --auth=trust --encoding=UTF8 \
        --no-locale --no-sync >"$dir/initdb.log" 2>&1; then
      echo "postgres.sh: initdb failed:" >&2
      cat "$dir/initdb.log" >&2
      exit 1
    fi
    # Settings for tests: the socket in the folder and no TCP; connections for many tests
    # and their hub instances at once.
    as_server tee -a "$dir/data/postgresql.conf" >/dev/null <<EOF
listen_addresses = ''
unix_socket_directories = '$dir/run'
max_connections = 400
shared_buffers = 64MB
EOF
    start_server "$dir"
    echo "postgres://custos@${dir//\//%2F}%2Frun/postgres" >"$dir/url"
    echo "$dir"
    ;;
  stop | restart)
    need_bin
    [ $# -ge 2 ] || { echo "usage: $0 $cmd DIR" >&2; exit 2; }
    as_server "$BIN/pg_ctl" -D "$2/data" -m fast -w -t 60 stop >/dev/null
    [ "$cmd" = stop ] || start_server "$2"
    ;;
  remove)
    [ $# -ge 2 ] || { echo "usage: $0 remove DIR" >&2; exit 2; }
    case "$2" in */custos-pg.*) ;; *) echo "postgres.sh: $2 is not a server folder" >&2; exit 2 ;; esac
    if BIN=$(pg_bin) && [ -f "$2/data/postmaster.pid" ]; then
      as_server "$BIN/pg_ctl" -D "$2/data" -m immediate -w -t 60 stop >/dev/null 2>&1 || true
    fi
    rm -rf "$2"
    ;;
  *)
    echo "usage: $0 install | start [DIR] | stop DIR | restart DIR | remove DIR" >&2
    exit 2
    ;;
esac
