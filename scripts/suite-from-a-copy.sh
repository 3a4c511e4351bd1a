#!/usr/bin/env bash
# The suite on SQLite from a copy of the repository's files, with nothing beside it (no
# requirements folder, no checkout): proves that no test needs a path outside the repository.
# The copy imports its own spinepath (the project's .venv supplies only the dependencies), and
# a file opened or listed in the checkout or beside it fails the run (tests/conftest.py).
# CI runs it (scripts/ci-extras.sh); by hand: bash scripts/suite-from-a-copy.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd -P)
workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
copy="$workdir/spinepath"
mkdir "$copy"

# The files a clone has (and any new ones not yet committed), not var/, .venv or caches.
git ls-files -z --cached --others --exclude-standard \
  | while IFS= read -r -d '' file; do [ -e "$file" ] && printf '%s\0' "$file"; done \
  | tar --null -T - -cf - | tar -xf - -C "$copy"
[ -e "$copy/.venv" ] || ln -s "$repo/.venv" "$copy/.venv"

echo "== the suite on SQLite from a copy in $copy (nothing beside it)"
cd "$copy"
env -u DATABASE_URL -u SPINEPATH_SHARED -u SPINEPATH_VAR \
  PYTHONPATH="$copy" SPINEPATH_CONFINED_TO="$copy" SPINEPATH_CHECKOUT="$repo" \
  "$copy/.venv/bin/python" -m pytest -p no:cacheprovider "$@"
