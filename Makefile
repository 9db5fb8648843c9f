# Everything a new machine needs, from Python 3.11 up. `make demo` and `make test` are the two entry points.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
RUNTIME := $(VENV)/.runtime-installed
DEV     := $(VENV)/.dev-installed

.PHONY: demo readme-demo test lint bench reliability install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# What the product needs to run (requirements.lock, pinned).
$(RUNTIME): requirements.lock pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $(RUNTIME)

# Plus what tests, lint and the Spark engine need (requirements-dev.lock, pinned).
$(DEV): requirements-dev.lock $(RUNTIME)
	$(BIN)/python -m pip install -q -r requirements-dev.lock
	touch $(DEV)

install: $(DEV)

# The lab's comparison over 5 paired seeds (bootstrap intervals need several); 300 borrowers keep the whole
# target within 3 minutes on two cores (docs/simulation.md). out/*.json feed `make readme-demo`.
demo: $(RUNTIME)
	$(BIN)/arrears demo --data out/demo.json
	$(BIN)/arrears sim compare policies/jd-baitiao-11day.yaml policies/segmented.yaml \
		--days 90 --seeds 5 --borrowers 300 --out out/report.html --data out/compare.json

# The README's demo figures, rewritten from what the demo just printed (scripts/readme_demo.py).
readme-demo: demo
	$(BIN)/python scripts/readme_demo.py

test: $(DEV)
	bash scripts/test.sh

lint: $(DEV)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy src/arrears/domain
	$(BIN)/lint-imports

bench: $(DEV)
	$(BIN)/arrears bench import --rows 1000000
	$(BIN)/python benchmarks/daily_run.py
	bash scripts/postgres.sh
	ARREARS_TEST_PG_URL="$$(cat .pg_test_url)" $(BIN)/python benchmarks/full_run.py --accounts 1000000 --write-docs

# Faults and abuse at full size; each part writes its section of docs/reliability.md.
reliability: $(DEV)
	bash scripts/postgres.sh
	ARREARS_TEST_PG_URL="$$(cat .pg_test_url)" $(BIN)/python benchmarks/payment_webhook.py --write-docs
	ARREARS_TEST_PG_URL="$$(cat .pg_test_url)" $(BIN)/python benchmarks/webhook_instances.py --write-docs
	ARREARS_TEST_PG_URL="$$(cat .pg_test_url)" $(BIN)/python benchmarks/import_fuzz.py --files 1000 --write-docs
	ARREARS_TEST_PG_URL="$$(cat .pg_test_url)" $(BIN)/python benchmarks/dispatch_kill.py --write-docs

clean:
	rm -rf $(VENV) arrears.db .pytest_cache .mypy_cache .ruff_cache
