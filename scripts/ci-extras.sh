#!/usr/bin/env bash
# CI only: the suite again on PostgreSQL 15 (the machine's own cluster, started here).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v pg_ctlcluster >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null
fi
pg_ctlcluster 15 main start 2>/dev/null || true
for _ in $(seq 1 30); do pg_isready -q && break; sleep 1; done
su postgres -c "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='spinepath'\"" | grep -q 1 \
  || su postgres -c "psql -qc \"CREATE ROLE spinepath LOGIN CREATEDB PASSWORD 'spinepath'\""
export DATABASE_URL="postgres://spinepath:spinepath@127.0.0.1:5432/spinepath"
echo "== the suite on PostgreSQL ($DATABASE_URL)"
.venv/bin/pytest
