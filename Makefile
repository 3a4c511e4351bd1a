# spinepath: `make run` sets up and runs the clinic's main job; `make test` runs every check.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
EXAMPLES := examples/workups
STAMP := $(VENV)/.installed

.PHONY: run screen-cases test venv lint typecheck unit suite ci-setup ci-extras bench clean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# The main job: migrate, load the demo clinic (printing its logins), serve on :8000.
run: venv
	SPINEPATH_DEMO=1 $(BIN)/spinepath demo
	SPINEPATH_DEMO=1 $(BIN)/spinepath serve --host 127.0.0.1 --port 8000

# The candidacy engine on the example workups, as readable reports.
screen-cases: venv
	$(BIN)/spinepath screen --explain $(sort $(wildcard $(EXAMPLES)/[0-9]*.json)); \
	  status=$$?; [ $$status -le 2 ] || exit $$status

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy spinepath/pathway

# xdist workers, one per core (PYTEST_WORKERS=0 runs in one process); each run of the suite
# ends with its 15 slowest tests.
PYTEST_WORKERS ?= auto
export PYTEST_WORKERS

# The suite once, on SQLite.
unit: venv
	$(BIN)/pytest -n $(PYTEST_WORKERS) --durations=15

test: lint typecheck ci-setup suite

# The suite: once on SQLite; with CI=true, on PostgreSQL and then on SQLite from a copy of the
# repository (scripts/ci-extras.sh) instead - the copy's run is the SQLite run.
suite: venv
	@if [ "$$CI" = "true" ]; then $(MAKE) --no-print-directory ci-extras; \
	  else $(MAKE) --no-print-directory unit; fi

# With CI=true: Debian's Chromium and PostgreSQL 15 are set up first.
ci-setup:
	@if [ "$$CI" = "true" ]; then bash scripts/ci-setup.sh; fi

ci-extras: venv
	@if [ "$$CI" = "true" ]; then bash scripts/ci-extras.sh; fi

bench: venv
	$(BIN)/python benchmarks/bench_screen.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
