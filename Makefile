# One entry point for every check; .ci/run calls the same targets.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: dev install test test-postgres lint format schema migrations bench clean

# A local virtual environment with pipegraph and its dev tools, rebuilt when pyproject.toml changes.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "pipegraph needs Python 3.11 or newer")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

## Run pipegraph on this machine: API + GraphiQL, in-process worker, SQLite and an embedded Redis.
dev: $(STAMP)
	$(BIN)/pipegraph dev $(ARGS)

## The whole test suite (SQLite + embedded Redis unless TEST_DATABASE_URL / TEST_REDIS_URL say otherwise).
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests workers bench
	$(BIN)/ruff format --check src tests workers bench
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix src tests workers bench
	$(BIN)/ruff format src tests workers bench

## Write schema.graphql from the code (a test fails when they drift).
schema: $(STAMP)
	$(BIN)/pipegraph export-schema -o schema.graphql

## Generate a migration from model changes (tortoise's own autodetector).
migrations: $(STAMP)
	cd src && PYTHONPATH=. ../$(BIN)/tortoise -c pipegraph.migrations_config.TORTOISE_ORM makemigrations

bench: $(STAMP)
	$(BIN)/python bench/graph_read.py
	@if [ -f bench/promote.py ]; then $(BIN)/python bench/promote.py; fi
	$(BIN)/python bench/build.py

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
