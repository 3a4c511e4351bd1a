#!/usr/bin/env bash
# CI only (CI=true; `make test` runs it instead of the plain SQLite run): the suite's tests
# that reach the test database on PostgreSQL 15 (started by scripts/ci-setup.sh), then the
# whole suite on SQLite from a copy of the repository with nothing beside it (which is also the
# suite's SQLite run). The tests that never reach the test database - the pure rules, the
# code's own checks, the tests of a new installation (which always makes its own SQLite
# database) - do the very same on either database and run once, in the SQLite run
# (tests/conftest.py). Each run uses the xdist workers and ends with its 15 slowest tests.
set -euo pipefail
cd "$(dirname "$0")/.."
workers="${PYTEST_WORKERS:-auto}"
echo "== the suite on PostgreSQL"
start=$SECONDS
DATABASE_URL="${CI_DATABASE_URL:-postgres://spinepath:spinepath@127.0.0.1:5432/spinepath}" \
  SPINEPATH_SUITE_DATABASE_TESTS_ONLY=1 .venv/bin/pytest -n "$workers" --durations=15
echo "== the suite on PostgreSQL took $((SECONDS - start)) s"
start=$SECONDS
bash scripts/suite-from-a-copy.sh -n "$workers" --durations=15
echo "== the suite from a copy on SQLite took $((SECONDS - start)) s"
