# The two commands: `make run` starts everything, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PACKAGES := shared services/token-service services/directory services/notifications services/scim-api
STAMP := $(VENV)/.installed

.PHONY: run test test-sqlite test-postgres lint bench install clean browser

$(STAMP): $(foreach p,$(PACKAGES),$(p)/pyproject.toml) requirements-dev.txt bench/requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(foreach p,$(PACKAGES),-e ./$(p)) -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python -m shared.launcher

lint: $(STAMP)
	$(BIN)/ruff check .

browser:
	scripts/ensure-chromium

test-sqlite: $(STAMP) browser
	$(BIN)/python -m pytest

test-postgres: $(STAMP) browser
	scripts/with-postgres $(BIN)/python -m pytest

# The whole suite: lint, then every test on SQLite, then again on a throwaway PostgreSQL.
test: lint test-sqlite test-postgres

# The benchmark: ours, the peer and the ceiling, then the scale phases. Arguments through
# BENCH_ARGS, e.g. make bench BENCH_ARGS="--scale full --engine postgresql --levels 10000,100000".
bench: $(STAMP)
	$(BIN)/python -m pip install -q -r bench/requirements.txt
	$(BIN)/python -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var
