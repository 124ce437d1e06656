#!/bin/bash
# The hp_archive index lives beside Airflow's metadata database, in its own database and role.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v pw="$POSTGRES_PASSWORD" <<'SQL'
CREATE ROLE hp_archive LOGIN PASSWORD :'pw';
CREATE DATABASE hp_archive OWNER hp_archive;
SQL
