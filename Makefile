# Every target installs what it needs into .venv first, so a fresh machine with
# only Python 3.11 and pip can run any of them.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test test-fast chaos lint format bench run screenshots clean

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found; set PYTHON=..." >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,standalone]'
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	bash tests/with-services.sh $(BIN)/python -m pytest $(PYTEST_ARGS)

# The unit tests alone: every test that uses no Postgres, Redis, S3 server or
# worker (tests/conftest.py marks the others "services"). Starts nothing.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not services" $(PYTEST_ARGS)

# Kills, pauses and outages against the whole service on its own private Postgres,
# Redis and S3 (nothing shared is touched); writes chaos-results.json.
chaos: $(STAMP)
	$(BIN)/python -m pytest tests/chaos --confcutdir=tests/chaos --tb=short $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	bash tests/with-services.sh $(BIN)/python -m tests.perf.run

# Every /ui page at 1400 px wide from a demo run of `tasador standalone`, into docs/ui/.
screenshots: $(STAMP)
	$(BIN)/python -m tests.ui.screenshots docs/ui

run: $(STAMP)
	$(BIN)/tasador standalone

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
