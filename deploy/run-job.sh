#!/bin/sh
# Run one `flask --app wsgi points ...` command for cron or systemd: from the project folder
# (this script's parent), with the app servers' settings from /etc/points.env when present.
set -eu
cd "$(dirname "$0")/.."
if [ -r "${POINTS_ENV_FILE:-/etc/points.env}" ]; then
    set -a
    . "${POINTS_ENV_FILE:-/etc/points.env}"
    set +a
fi
exec .venv/bin/flask --app wsgi points "$@"
