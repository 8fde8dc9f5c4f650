# One virtualenv, created on demand; every target installs what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install test lint typecheck unit bench demo clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev,infra]"
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# The whole suite: lint, types, then tests in parallel on every core.
test: lint typecheck
	$(BIN)/pytest -n auto -p no:cacheprovider

unit: $(STAMP)
	$(BIN)/pytest tests/unit

bench: $(STAMP)
	@for b in tests/benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

demo: $(STAMP)
	@echo "make demo arrives with the local sandbox (issue: Local sandbox and make demo)." >&2; exit 2

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache
