#!/usr/bin/env bash
# Runs the whole suite: lint and types, then pytest against SQLite and, where a server can be had, PostgreSQL.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

bash scripts/system-deps.sh || { [ "${CI:-}" = "true" ] && exit 1; }
bash scripts/postgres.sh || { echo "PostgreSQL could not be started"; [ "${CI:-}" = "true" ] && exit 1; }
if [ -f .pg_test_url ]; then export ARREARS_TEST_PG_URL="$(cat .pg_test_url)"; fi

$BIN/ruff check src tests benchmarks || exit 1
$BIN/ruff format --check src tests benchmarks || exit 1
$BIN/mypy src/arrears/domain || exit 1
$BIN/lint-imports || exit 1  # the layers (pyproject.toml [tool.importlinter])
$BIN/python scripts/architecture.py --check || exit 1  # docs/architecture.md shows the layers as they are

# Two workers (pytest-xdist; each has its own PostgreSQL database): the suite is much of it waiting on
# subprocesses, servers and the browser. PYTEST_WORKERS=0 runs it in one process.
$BIN/python -m pytest -n "${PYTEST_WORKERS:-2}" "$@"
rc=$?
if [ $rc -eq 5 ]; then echo "pytest collected no tests: treating as failure"; exit 1; fi
exit $rc
