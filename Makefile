# One entry point for every check; .ci/run calls the same targets.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: dev install test test-postgres lint format schema migrations bench fuzz clean web web-lint

# The dashboard and GraphiQL (web/): npm ci from the lock file, then a Vite build into web/dist, redone only when the
# sources, the lock file or the schema changed. Without npm the server still runs and says the pages are not built.
WEB_DEPS  := web/node_modules/.ci-done
WEB_STAMP := web/dist/.built
WEB_SRC   := $(shell find web/src -type f -not -path 'web/src/gql/*' 2>/dev/null) web/index.html web/graphiql.html \
             web/vite.config.ts web/codegen.ts web/tsconfig.json web/package.json schema.graphql

# A local virtual environment with pipegraph and its dev tools, rebuilt when pyproject.toml changes.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "pipegraph needs Python 3.11 or newer")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

$(WEB_DEPS): web/package-lock.json web/package.json
	@command -v npm >/dev/null || { echo "npm not found: install Node.js 20+ to build the dashboard" >&2; exit 1; }
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(WEB_STAMP): $(WEB_DEPS) $(WEB_SRC)
	cd web && npm run --silent build
	touch $@

## Build the dashboard and GraphiQL into web/dist (served by the API).
web: $(WEB_STAMP)

## Run pipegraph on this machine: API + dashboard + GraphiQL, in-process worker, SQLite and an embedded Redis.
dev: $(STAMP)
	@if command -v npm >/dev/null; then $(MAKE) --no-print-directory web; \
	 else echo "npm not found: the API runs, the dashboard and GraphiQL pages are not built" >&2; fi
	$(BIN)/pipegraph dev $(ARGS)

## The whole test suite (SQLite + embedded Redis unless TEST_DATABASE_URL / TEST_REDIS_URL say otherwise).
## The browser tests need the built pages (and Chromium; they skip without it).
test: $(STAMP) $(WEB_STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

web-lint: $(WEB_DEPS)
	cd web && npm run --silent lint
	cd web && npx --no-install graphql-schema-linter ../schema.graphql

lint: $(STAMP) web-lint
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
	$(BIN)/python bench/releases_burst.py
	$(BIN)/python bench/build.py

## Generated GraphQL requests (schemathesis) against a live `pipegraph dev`: fails on any server error.
## A fixed budget and seed; more with `make fuzz ARGS="--examples 200 --seed 7"`.
fuzz: $(STAMP)
	$(BIN)/python bench/fuzz_graphql.py $(ARGS)

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache web/node_modules web/dist web/src/gql
