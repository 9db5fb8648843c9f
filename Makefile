# Everything a new machine needs, from Python 3.11 up. `make demo` and `make test` are the two entry points.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench install clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/arrears demo

test: $(STAMP)
	bash scripts/test.sh

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy src/arrears/domain

bench: $(STAMP)
	$(BIN)/arrears bench import --rows 1000000
	$(BIN)/python benchmarks/daily_run.py

clean:
	rm -rf $(VENV) arrears.db .pytest_cache .mypy_cache .ruff_cache
