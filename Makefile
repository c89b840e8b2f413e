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

install: $(BIN)/.installed

up: install
	$(BIN)/feelback up

test: install
	bash scripts/system-test-deps.sh
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python -m bench.warehouse

clean:
	rm -rf .feelback $(VENV)
