#!/usr/bin/env bash
# `make airflow`: Airflow standalone on the embedded defaults (SQLite, local store) with the
# platform simulators, so a newcomer sees the DAGs in the UI without Docker.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
DATA=${HP_ARCHIVE_HOME:-$PWD/hp-archive-data}
mkdir -p "$DATA"
export HP_ARCHIVE_HOME="$DATA"
export HP_ARCHIVE_ACCOUNTS="$DATA/simulated-accounts.yaml"
export AIRFLOW_HOME="$DATA/airflow"
export AIRFLOW__CORE__DAGS_FOLDER="$PWD/dags"
export AIRFLOW__CORE__PLUGINS_FOLDER="$PWD/plugins"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__DEFAULT_TIMEZONE=America/Chicago

"$BIN/hp-archive" simulate --accounts "$HP_ARCHIVE_ACCOUNTS" --env-file "$DATA/simulated-tokens.env" &
SIMULATOR=$!
trap 'kill $SIMULATOR 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -s "$DATA/simulated-tokens.env" ] && break; sleep 0.2; done
# shellcheck disable=SC1091
. "$DATA/simulated-tokens.env"
"$BIN/hp-archive" init >/dev/null
"$BIN/airflow" db migrate >/dev/null
for platform in $("$BIN/hp-archive" sources --json | "$BIN/python" -c 'import json,sys; print(" ".join(s["platform"] for s in json.load(sys.stdin)["sources"]))'); do
  "$BIN/airflow" pools set "hp_$platform" 2 "concurrent API calls to $platform" >/dev/null
done
exec "$BIN/airflow" standalone
