# Two commands on a fresh machine with Python 3.11: `make up` runs the stack, `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install up test bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# The customers' panel (panel/): npm ci when the lock changes, a build when its sources or the API change.
PANEL_SOURCES := $(shell find panel/src panel/index.html panel/vite.config.ts panel/tsconfig.json -type f \
	-not -name openapi.json -not -name schema.d.ts 2>/dev/null) $(wildcard ingest_api/*.py ingest_api/*/*.py)

panel/node_modules/.installed: panel/package-lock.json
	command -v npm >/dev/null || bash scripts/system-test-deps.sh
	cd panel && npm ci --no-audit --no-fund
	touch $@

panel/dist/index.html: $(BIN)/.installed panel/node_modules/.installed $(PANEL_SOURCES)
	cd panel && PYTHON=$(abspath $(BIN)/python) npm run build

# The browser SDK (sdk/): JS dependencies from the lock file, then the built files the API serves.
SDK_SOURCES := $(wildcard sdk/src/*.ts) sdk/build.mjs sdk/package.json
sdk/node_modules/.package-lock.json: sdk/package-lock.json
	command -v npm >/dev/null || bash scripts/system-test-deps.sh
	cd sdk && npm ci --no-audit --no-fund --loglevel=error
	touch $@

sdk/dist/.built: sdk/node_modules/.package-lock.json $(SDK_SOURCES)
	cd sdk && npm run --silent build

# Apache Superset's own environment, from its lock file, cached per lock hash (dashboards/superset/install.sh).
.venv-superset/.installed: dashboards/superset/requirements.lock dashboards/superset/install.sh
	PYTHON=$(PYTHON) bash dashboards/superset/install.sh

install: $(BIN)/.installed panel/dist/index.html sdk/dist/.built .venv-superset/.installed

up: install
	$(BIN)/feelback up

test: install
	bash scripts/system-test-deps.sh
	cd panel && npm run check && npm test
	cd sdk && npm test --silent
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python -m bench.warehouse

clean:
	rm -rf .feelback $(VENV) .venv-superset
