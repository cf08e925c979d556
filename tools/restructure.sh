#!/usr/bin/env bash
# Module renames/moves + imports rewritten everywhere + ruff format (issue 15). Run on main, from any folder,
# after merging all branches; safe to re-run. Uses the project's venv when there is one (ruff).
# Usage: bash tools/restructure.sh            then: make test (or ruff, mypy, pytest) and commit.
set -euo pipefail
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
PY=python3
if [ -x .venv/bin/python ]; then PY=.venv/bin/python; fi
exec "$PY" tools/restructure.py "$@"
