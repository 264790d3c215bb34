#!/usr/bin/env bash
# Set up what the tests need, check style and types, run the whole suite.
# Extra arguments go to pytest (e.g. scripts/test.sh tests/appc -x).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --tests
.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check src tests benchmarks
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
