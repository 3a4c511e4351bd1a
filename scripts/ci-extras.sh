#!/usr/bin/env bash
# CI only (CI=true): the whole suite again on PostgreSQL 15 (started by scripts/ci-setup.sh),
# then once more on SQLite from a copy of the repository with nothing beside it.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== the suite on PostgreSQL"
DATABASE_URL="${CI_DATABASE_URL:-postgres://spinepath:spinepath@127.0.0.1:5432/spinepath}" \
  .venv/bin/pytest -n "${PYTEST_WORKERS:-auto}"
bash scripts/suite-from-a-copy.sh -n "${PYTEST_WORKERS:-auto}"
