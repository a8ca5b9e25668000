#!/bin/bash
# Run the whole suite on SQLite and on a throwaway PostgreSQL cluster that this script
# starts on a private port and socket directory and stops however the run ends.
# The two runs go side by side (one per core; TEST_PARALLEL=0 runs them one after the
# other); the SQLite run's output is printed when both have finished.
# DATABASES=sqlite or DATABASES=postgresql runs one of the two (make test-sqlite, test-postgresql).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
DATABASES=${DATABASES:-sqlite postgresql}
TEST_PARALLEL=${TEST_PARALLEL:-1}
wants() { [[ " $DATABASES " == *" $1 "* ]]; }

run_sqlite() {
    echo "== tests on SQLite"
    $BIN/pytest -p no:cacheprovider "$@"
}

if ! wants postgresql; then
    run_sqlite "$@"
    exit $?
fi

PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$PG_BIN" ]; then
    echo "PostgreSQL server binaries not found; run 'make install' as root." >&2
    exit 1
fi
PG_DIR=$(mktemp -d /tmp/points-pg.XXXXXX)
PG_PORT=${PG_PORT:-$((20000 + RANDOM % 20000))}
SQLITE_LOG=$(mktemp /tmp/points-sqlite-run.XXXXXX)
sqlite_pid=""
RUN_AS=()
if [ "$(id -u)" = "0" ]; then
    chown postgres:postgres "$PG_DIR"
    RUN_AS=(runuser -u postgres --)
fi
stop_cluster() {
    if [ -n "$sqlite_pid" ]; then kill "$sqlite_pid" 2>/dev/null || true; fi
    "${RUN_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR" "$SQLITE_LOG"
}
trap stop_cluster EXIT INT TERM

"${RUN_AS[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U points --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
"${RUN_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -o \
    "-p $PG_PORT -k $PG_DIR -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null
"${RUN_AS[@]}" "$PG_BIN/createdb" -h "$PG_DIR" -p "$PG_PORT" -U points points_test

sqlite_status=0
if wants sqlite; then
    if [ "$TEST_PARALLEL" = "1" ]; then
        echo "== tests on SQLite: running beside PostgreSQL, output below when both are done"
        run_sqlite "$@" >"$SQLITE_LOG" 2>&1 &
        sqlite_pid=$!
    else
        run_sqlite "$@" || sqlite_status=$?
    fi
fi

# The browser tests drive pages whose database work the HTTP tests already check on both
# databases; they run once, on SQLite (PG_MARKERS="" runs them here too).
PG_MARKERS=${PG_MARKERS-not browser}
echo "== tests on PostgreSQL (port $PG_PORT)${PG_MARKERS:+, -m \"$PG_MARKERS\"}"
pg_status=0
TEST_DATABASE_URL="postgresql+psycopg://points@/points_test?host=$PG_DIR&port=$PG_PORT" \
    $BIN/pytest -p no:cacheprovider ${PG_MARKERS:+-m "$PG_MARKERS"} "$@" || pg_status=$?

if [ -n "$sqlite_pid" ]; then
    wait "$sqlite_pid" || sqlite_status=$?
    sqlite_pid=""
    cat "$SQLITE_LOG"
fi

if [ $sqlite_status -ne 0 ] || [ $pg_status -ne 0 ]; then
    echo "FAILED: SQLite exit $sqlite_status, PostgreSQL exit $pg_status" >&2
    exit 1
fi
