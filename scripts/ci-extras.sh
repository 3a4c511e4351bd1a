#!/usr/bin/env bash
# CI only (CI=true): the whole suite again on PostgreSQL 15 (started by scripts/ci-setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export DATABASE_URL="${CI_DATABASE_URL:-postgres://spinepath:spinepath@127.0.0.1:5432/spinepath}"
echo "== the suite on PostgreSQL"
.venv/bin/pytest
