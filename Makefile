# TapFlow Metrics. `make run` and `make test` work on a fresh machine with Python 3.11+ and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install system-packages run test bench soak lint fmt mutation docker clean

# The engines the tests start for real: PostgreSQL's server from the system's packages (Debian's postgresql),
# installed once when its programs are missing (as root; otherwise the command to run is printed).
PG_CTL := $(shell command -v pg_ctl 2>/dev/null || ls /usr/lib/postgresql/*/bin/pg_ctl 2>/dev/null | tail -n 1)
# The web catalog's browser tests drive a real headless Chromium: Debian's chromium package, installed the same way.
CHROMIUM := $(shell command -v chromium 2>/dev/null || command -v chromium-browser 2>/dev/null)
MISSING  := $(if $(PG_CTL),,postgresql) $(if $(CHROMIUM),,chromium)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) system-packages

system-packages:
ifneq ($(strip $(MISSING)),)
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's $(strip $(MISSING)) for the engine and browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(MISSING) >/dev/null; \
	else \
		echo "missing: $(strip $(MISSING)); the engine and browser tests need them (sudo apt-get install $(strip $(MISSING)))"; \
	fi
endif

run: install
	$(BIN)/tapflow migrate
	$(BIN)/tapflow seed --if-empty
	$(BIN)/tapflow validate
	TAPFLOW_DEMO_MODE=true $(BIN)/tapflow serve --port $${TAPFLOW_PORT:-8000}

test: lint system-packages
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python bench/run.py
	$(BIN)/python bench/builds.py
	$(BIN)/python bench/engines.py

soak: install
	$(BIN)/python bench/soak.py

lint: install
	$(BIN)/ruff check app tests bench
	$(BIN)/ruff format --check app tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

fmt: install
	$(BIN)/ruff format app tests bench

# Mutation testing of app/compiler and app/definitions with the fast unit tests ([tool.mutmut] in
# pyproject.toml; docs/mutation.md has the score and the surviving mutants judged harmless). A fresh
# run each time (mutmut would keep earlier verdicts); two workers; about 40 minutes on two cores.
# Fails below MUTATION_MIN percent killed overall.
MUTATION_MIN ?= 80
export MUTATION_SUMMARY
define MUTATION_SUMMARY
import collections, glob, json, sys
from mutmut.stats import status_by_exit_code
counts = collections.defaultdict(collections.Counter)
for meta in glob.glob("mutants/app/**/*.py.meta", recursive=True):
    for code in json.load(open(meta))["exit_code_by_key"].values():
        status = "not checked" if code is None else status_by_exit_code[code]
        counts[meta.split("/")[2]][status] += 1
        counts["overall"][status] += 1
score = 0.0
for package, c in sorted(counts.items(), key=lambda kv: (kv[0] == "overall", kv[0])):
    total = sum(c.values())
    killed = c["killed"] + c["timeout"] + c["caught by type check"]
    score = 100 * killed / max(total, 1)
    print(f"{package}: {killed}/{total} killed ({score:.1f}%); " + ", ".join(f"{k} {v}" for k, v in sorted(c.items())))
sys.exit(0 if score >= float(sys.argv[1]) else f"mutation score {score:.1f}% is below {sys.argv[1]}%")
endef

mutation: install
	rm -rf mutants
	$(BIN)/mutmut run --max-children 2
	$(BIN)/mutmut results > mutants/survivors.txt || true
	@echo "not killed: mutants/survivors.txt (show one with: $(BIN)/mutmut show NAME)"
	@$(BIN)/python -c "$$MUTATION_SUMMARY" $(MUTATION_MIN)

docker:
	docker build -t tapflow-metrics .

clean:
	rm -rf $(VENV) tapflow.duckdb tapflow.duckdb.wal .pytest_cache
