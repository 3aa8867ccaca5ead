# TapFlow Metrics. `make run` and `make test` work on a fresh machine with Python 3.11+ and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install run test bench soak lint fmt docker clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/tapflow migrate
	$(BIN)/tapflow seed --if-empty
	$(BIN)/tapflow validate
	$(BIN)/tapflow serve --port 8000

test: lint
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python bench/run.py

soak: install
	$(BIN)/python bench/soak.py

lint: install
	$(BIN)/ruff check app tests bench
	$(BIN)/ruff format --check app tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

fmt: install
	$(BIN)/ruff format app tests bench

docker:
	docker build -t tapflow-metrics .

clean:
	rm -rf $(VENV) tapflow.duckdb tapflow.duckdb.wal .pytest_cache
